"""The ``linkmatch`` command: thin subcommands that parse, call a recipe, and write atomically.

Secrets never come from an argument: ``--key-file FILE`` or the ``LINKMATCH_KEY_FILE``
environment variable. Messages name files, rows and columns, never values or keys. Exit codes:
0 success, 1 invalid values under ``--strict`` or bad input, 2 usage or configuration error,
3 unexpected internal error.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from linkmatch._version import __version__

if TYPE_CHECKING:
    from linkmatch.io import ValidationReport
    from linkmatch.pseudonymise.keys import Key
from linkmatch.errors import (
    ConfigError,
    EncodingMismatchError,
    InputDataError,
    KeyMaterialError,
    LinkmatchError,
)

log = logging.getLogger("linkmatch")


def escape_controls(text: str) -> str:
    """``text`` with every control or otherwise unprintable character shown as an escape
    (``\\n``, ``\\x1b``): a string from a file (a manifest field, a path) can then neither start a
    forged log line nor send terminal escape sequences."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


class _EscapingFormatter(logging.Formatter):
    """Formats each message with its control characters escaped (:func:`escape_controls`)."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(super().format(record))


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_EscapingFormatter("linkmatch: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a positive whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def _key_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key-file", type=Path, default=None,
                   help="linkage key file (default: $LINKMATCH_KEY_FILE)")


def _match_args(p: argparse.ArgumentParser) -> None:
    """Options shared by ``match`` and ``link``."""
    p.add_argument("--threshold", type=_threshold, default=None)
    p.add_argument("--max-block-pairs", type=_positive, default=None,
                   help="skip blocking keys whose block holds more pairs than this (default: "
                        "the left file's row count, at least 50,000)")
    p.add_argument("--one-to-one", action="store_true",
                   help="at most one candidate per person on each side (greedy by score)")
    p.add_argument("--name-bands", action="store_true",
                   help="also block on bands of the name filters (LSH): more true pairs "
                        "found, more pairs compared, lower precision (off by default)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from OUT.work (same inputs and options)")
    p.add_argument("--workers", type=_positive, default=None,
                   help="processes comparing in parallel (default: one per core)")
    p.add_argument("--chunk-rows", type=_positive, default=None,
                   help="left rows compared per batch (bounds memory; default 50000)")
    # Spark engine (linkmatch.engines.spark)
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="where the comparisons run: this machine (default) or Apache Spark "
                        "(pip install 'linkmatch[spark]'); the candidates are the same")
    p.add_argument("--spark-master", default=None, metavar="URL",
                   help="Spark master for --engine spark (default local[2]; e.g. yarn, "
                        "k8s://https://HOST:443); other settings from spark-defaults.conf")
    p.add_argument("--spark-plan", choices=("auto", "broadcast", "cogroup"), default=None,
                   help="--engine spark: broadcast the right side to every task, or co-group "
                        "both sides on hashed buckets of their blocking keys (auto: broadcast "
                        "if the right side is under 2 GiB); the candidates are the same")
    p.add_argument("--spark-buckets", type=_positive, default=None, metavar="N",
                   help="--engine spark, co-group plan: number of buckets (default from the "
                        "right side's size)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (public for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="linkmatch",
        description="Privacy-preserving record linkage: encode, match, reveal, link.",
    )
    parser.add_argument("--version", action="version", version=f"linkmatch {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument(
        "--audit-log", type=Path, default=None,
        help="append one JSON line per encode/match/reveal/link run (default: "
             "$LINKMATCH_AUDIT_LOG, else linkmatch-audit.jsonl beside the output, or in the "
             "current directory when the output is a cluster URI)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("keygen", help="write a new random 256-bit linkage key (mode 0600)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--rotate", action="store_true",
                   help="replace an existing key file (old encodings will no longer match)")
    p.add_argument("--signing", action="store_true",
                   help="write a holder's Ed25519 signing key instead (OUT, mode 0600) and its "
                        "public key (OUT.pub, for the linkage unit's --trust)")
    p.add_argument("--id", dest="key_id", default=None, metavar="ID",
                   help="the key's name, recorded with its fingerprint in every manifest "
                        "(letters, digits, . _ -; default lm-YYYYMMDD-<random>)")

    p = sub.add_parser("encode", help="holder: pseudonymise a person file")
    p.add_argument("input", help="person file (CSV or Parquet; with --engine spark a Parquet "
                                 "table, also as a cluster URI: hdfs://, s3a://, file://)")
    _key_arg(p)
    p.add_argument("--out", required=True,
                   help="encoded file (.lmenc); with --engine spark also a cluster URI")
    p.add_argument("--strict", action="store_true", help="fail on the first invalid value")
    p.add_argument("--rejects", type=Path, help="write rejected values (file,row,column,reason)")
    p.add_argument("--chunk-rows", type=_positive, default=200_000,
                   help="input rows encoded at a time (bounds memory; default 200000)")
    p.add_argument("--decoys", type=float, default=0.0, metavar="RATE",
                   help="add decoy records, RATE per real record (0-1; default 0): the "
                        "linkage unit cannot tell them from real ones; screen the candidates "
                        "(linkmatch screen) before the other holder reveals")
    p.add_argument("--workers", type=_positive, default=None,
                   help="encoding processes (default: one per core; one with --decoys); the "
                        "encoded file is the same for any number")
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="encode on this machine (default) or on Apache Spark, where a Parquet "
                        "table lives: the same encoded file; tasks get sub-keys, never the key")
    p.add_argument("--spark-master", default=None, metavar="URL",
                   help="Spark master for --engine spark (default local[2])")
    p.add_argument("--signing-key-file", type=Path, default=None, metavar="FILE",
                   help="this holder's Ed25519 signing key (linkmatch keygen --signing): the "
                        "encoded file is signed, so that the linkage unit can refuse files no "
                        "holder made (default: $LINKMATCH_SIGNING_KEY_FILE, else unsigned)")

    p = sub.add_parser("match", help="linkage unit: match two encoded files (no key needed)")
    p.add_argument("left", help="encoded file (with --engine spark also a cluster URI: "
                                "hdfs://, s3a://, abfss://, file://)")
    p.add_argument("right", help="encoded file (a path or, with --engine spark, a URI)")
    p.add_argument("--out", required=True,
                   help="candidates (.csv or .parquet); with --engine spark also a cluster "
                        "URI, written there as a Parquet dataset by partition")
    p.add_argument("--trust", type=Path, action="append", default=None, metavar="PUBKEY",
                   help="a holder's public key (OUT.pub of linkmatch keygen --signing); "
                        "repeat for each holder. Both files must then be signed by a trusted "
                        "key, else they are refused. Without it, files are matched unverified "
                        "and the candidates' manifest says \"authenticated\": false")
    _match_args(p)

    p = sub.add_parser("reveal", help="holder: map its own pseudonyms back to record ids")
    p.add_argument("candidates", type=Path)
    p.add_argument("--side", choices=("left", "right"), required=True)
    p.add_argument("--encoded", type=Path, required=True, help="this holder's encoded file")
    p.add_argument("--input", type=Path, required=True, help="this holder's person file")
    _key_arg(p)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--allow-missing-manifest", action="store_true",
                   help="reveal candidates that have no manifest beside them (CANDIDATES"
                        ".manifest.json): nothing then shows that they were made from your "
                        "encoded file or that the other holder screened its decoys; only when "
                        "you know the other side used none")

    p = sub.add_parser("screen", help="holder with decoys: remove its decoys from the "
                                      "candidates (pseudonymous) before the other side reveals")
    p.add_argument("candidates", type=Path)
    p.add_argument("--side", choices=("left", "right"), required=True)
    p.add_argument("--encoded", type=Path, required=True, help="this holder's encoded file")
    _key_arg(p)
    p.add_argument("--out", type=Path, required=True,
                   help="screened candidates (.csv or .parquet), still pseudonymous")
    p.add_argument("--allow-missing-manifest", action="store_true",
                   help="screen candidates that have no manifest beside them")

    p = sub.add_parser("link", help="encode, match and reveal both files in one process")
    p.add_argument("left", type=Path)
    p.add_argument("right", type=Path)
    _key_arg(p)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--decoys", type=float, default=0.0, metavar="RATE",
                   help="decoy records per real record in both encodings (0-1; default 0); "
                        "each side's decoys are left out when it reveals")
    _match_args(p)

    p = sub.add_parser("synth", help="generate synthetic asylum-like and reference data")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--left", type=_positive, default=20_000, help="asylum records")
    p.add_argument("--right", type=_positive, default=2_000, help="reference persons")
    p.add_argument("--profile", choices=("hard", "typical"), default="hard",
                   help="corruptions per true pair: hard (default) or typical")
    p.add_argument("--relatives-per-match", type=float, default=0.0, metavar="N",
                   help="mean number of relatives (siblings, twins, children, parents, spouses) "
                        "of each matched listed person in the asylum file, listed in "
                        "hard_negatives.csv with their kind (default: 0)")

    p = sub.add_parser("demo", help="built-in synthetic data, end to end, with a summary")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="where to keep the demo files (default: a new temporary directory)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--left", type=_positive, default=20_000)
    p.add_argument("--right", type=_positive, default=2_000)
    p.add_argument("--profile", choices=("hard", "typical"), default="hard",
                   help="corruptions per true pair in the generated data (default: hard)")

    p = sub.add_parser("audit", help="measure attacks a linkage unit could run on an encoding")
    p.add_argument("encoded", type=Path, help="encoded file whose settings are audited")
    p.add_argument("--records", type=_positive, default=20_000,
                   help="size of the simulated population attacked")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--known-fraction", type=_threshold, default=0.01,
                   help="share of (record, name) pairs the pattern-mining attacker already "
                        "holds (default: 0.01)")
    p.add_argument("--background", type=Path, default=None, metavar="FILE",
                   help="a plain person file (CSV or Parquet: names, dates of birth) to attack "
                        "instead of the generator's population: split at random into the "
                        "records attacked and the attacker's background knowledge")
    p.add_argument("--no-linkage-cost", action="store_true",
                   help="skip measuring the F1 cost of the hardening (two links of the "
                        "synthetic data, a few seconds)")
    p.add_argument("--json", type=Path, default=None, help="write the figures as JSON")

    p = sub.add_parser("evaluate", help="precision, recall and F1 of candidates vs truth")
    p.add_argument("candidates", type=Path)
    p.add_argument("--truth", type=Path, required=True)
    p.add_argument("--hard-negatives", type=Path, default=None)
    p.add_argument("--threshold", type=_threshold, default=None)
    p.add_argument("--plots", type=Path, default=None, help="directory for PNG plots")
    p.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    p.add_argument("--report", type=Path, default=None, metavar="HTML",
                   help="write a review page with the quality measured on the truth file")

    from linkmatch.report.command import add_parser as add_report_parser

    add_report_parser(sub)
    return parser


# ------------------------------------------------------------------------------ subcommands


def _cmd_keygen(args: argparse.Namespace) -> int:
    from linkmatch.pseudonymise.keys import generate_key_file
    from linkmatch.pseudonymise.signing import generate_signing_key_file

    if args.signing:
        if args.key_id is not None:
            raise ConfigError("--id names a linkage key; a signing key is named by its "
                              "fingerprint")
        public = generate_signing_key_file(args.out, overwrite=args.rotate)
        log.info("wrote a new Ed25519 signing key to %s (mode 0600) and its public key to "
                 "%s.pub (give it to the linkage unit), fingerprint %s", args.out, args.out,
                 public.fingerprint)
        return 0
    key = generate_key_file(args.out, overwrite=args.rotate, key_id=args.key_id)
    log.info("wrote a new 256-bit key to %s (mode 0600), id %s, fingerprint %s", args.out,
             key.key_id, key.fingerprint)
    return 0


def _report_validation(report: ValidationReport, label: str) -> None:
    if report.rows_rejected:
        log.warning("%s: %d row(s) rejected", label, report.rows_rejected)
    lines = report.summary_lines()
    if lines:
        log.warning("%s: %d invalid value(s), treated as missing:", label, report.total_issues)
        for line in lines:
            log.warning("  %s", line)


def _cmd_encode(args: argparse.Namespace) -> int:
    from linkmatch.encode import encode_file
    from linkmatch.progress import Progress
    from linkmatch.pseudonymise.keys import load_key
    from linkmatch.pseudonymise.signing import load_signing_key

    key = load_key(args.key_file)
    signing_key = load_signing_key(args.signing_key_file)
    t0 = time.perf_counter()
    if args.engine != "spark":
        if args.spark_master is not None:
            raise ConfigError("--spark-master needs --engine spark")
        if _is_uri(args.input) or _is_uri(args.out):
            raise ConfigError("cluster URIs (hdfs://, s3a://, ...) need --engine spark; the "
                              "local engine reads and writes local or mounted paths")
        args.input, args.out = Path(args.input), Path(args.out)
        progress = Progress(log, "encode")
        try:
            enc = encode_file(args.input, args.out, key, strict=args.strict,
                              chunk_rows=args.chunk_rows, decoys=args.decoys,
                              progress=progress, workers=args.workers,
                              signing_key=signing_key)
        finally:
            progress.close()
    else:
        from linkmatch.engines import require_spark

        if args.decoys:
            raise ConfigError("decoys are added by the local engine only (their numbering "
                              "spans the whole file); encode with --engine local")
        if args.workers is not None:
            raise ConfigError("--workers applies to the local engine; Spark's parallelism is "
                              "its executors'")
        require_spark()
        from linkmatch.engines.spark_encode import encode_file as spark_encode_file
        from linkmatch.progress import PhaseProgress

        args.input = args.input if _is_uri(args.input) else Path(args.input)
        args.out = args.out if _is_uri(args.out) else Path(args.out)
        phases = PhaseProgress(log, command="encode",
                               units={"encode": "tasks", "sort": "tasks", "write": "rows"})
        try:
            enc = spark_encode_file(args.input, args.out, key, master=args.spark_master,
                                    strict=args.strict, progress=phases,
                                    signing_key=signing_key)
        finally:
            phases.close()
    _report_validation(enc.report, str(args.input))
    if args.rejects:
        enc.report.write_rejects(args.rejects)
    counts = enc.manifest["counts"]
    seconds = time.perf_counter() - t0
    decoys = int(counts.get("decoy_rows", 0))
    log.info("encoded %d of %d rows (%d persons)%s in %.1f s (%.0f rows/s) → %s (key %s)",
             counts["rows_encoded"] - decoys, counts["rows_read"], counts["persons"] - decoys,
             f" and {decoys} decoy records" if decoys else "", seconds,
             counts["rows_read"] / max(seconds, 1e-9), args.out, key.fingerprint)
    _audit(args, "encode", inputs=[args.input], outputs=[args.out], counts=counts,
           parameters={"strict": args.strict, "schema": enc.manifest["schema_fingerprint"],
                       "engine": args.engine},
           key_fingerprint=key.fingerprint, key=key,
           content={args.out: enc.manifest["content_sha256"]},
           extra={"signer": signing_key.fingerprint if signing_key else None})
    return 0


def _audit(args: argparse.Namespace, operation: str, *, inputs: Sequence[Path | str],
           outputs: Sequence[Path | str], counts: dict[str, Any], parameters: dict[str, Any],
           key_fingerprint: str | None,
           content: dict[Path | str, str] | None = None, key: Key | None = None,
           extra: dict[str, Any] | None = None) -> None:
    """One line in the audit trail: who did what to which files (by digest), never values.

    A local file is named with the SHA-256 of its bytes; a cluster URI (which the driver does
    not read whole) with the digest of its content from ``content``: an encoded file's
    content digest (checked against its manifest by the run), candidates' CSV digest.
    """
    import datetime as dt

    from linkmatch.io import append_audit, file_sha256

    def entry(p: Path | str) -> dict[str, Any]:
        if _is_uri(p):
            return {"file": str(p), "content_sha256": (content or {}).get(p)}
        return {"file": str(p), "sha256": file_sha256(p)}

    default = Path("linkmatch-audit.jsonl") if _is_uri(args.out) else \
        Path(args.out).with_name("linkmatch-audit.jsonl")
    path = args.audit_log or os.environ.get("LINKMATCH_AUDIT_LOG") or default
    append_audit(path, {
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "operation": operation,
        "library_version": __version__,
        "inputs": [entry(p) for p in inputs],
        "outputs": [entry(p) for p in outputs],
        "counts": counts,
        "parameters": parameters,
        "key_fingerprint": key_fingerprint,
        # the key file was accepted under LINKMATCH_KEY_GROUP_READ=1 (a group-readable mount)
        **({"key_file_group_readable": True}
           if key is not None and key.from_group_readable_file else {}),
        **(extra or {}),
    })


def _write_candidates(frame: pd.DataFrame, manifest: dict[str, Any], out: Path) -> None:
    from linkmatch.io import csv_safe, manifest_beside, write_json, write_table

    write_table(frame if _is_parquet(out) else csv_safe(frame), out)
    write_json(manifest, manifest_beside(out))


def _match_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"one_to_one": args.one_to_one}
    if args.name_bands:
        options["name_bands"] = True
    if args.max_block_pairs is not None:
        options["max_block_pairs"] = args.max_block_pairs
    if args.chunk_rows is not None:
        options["chunk_rows"] = args.chunk_rows
    if args.workers is not None:
        options["workers"] = args.workers
    # Spark engine (linkmatch.engines.spark)
    spark_options = {"spark_master": args.spark_master, "plan": args.spark_plan,
                     "buckets": args.spark_buckets}
    if args.engine != "local":
        options["engine"] = args.engine
        options.update({k: v for k, v in spark_options.items() if v is not None})
    elif any(v is not None for v in spark_options.values()):
        raise ConfigError("--spark-master, --spark-plan and --spark-buckets need --engine spark")
    return options


def _is_uri(location: str | Path) -> bool:
    """A cluster location (``scheme://…``), as opposed to a local or mounted path."""
    return "://" in str(location)


def _work_dir(args: argparse.Namespace) -> Path:
    """OUT.work: checkpoints of a run in progress (private; removed after success)."""
    work: Path = args.out.with_name(args.out.name + ".work")
    if work.exists() and not args.resume:
        shutil.rmtree(work)
    if args.resume and work.exists():
        log.info("resuming from %s", work)
    return work


def _cmd_match(args: argparse.Namespace) -> int:
    from linkmatch.api import match
    from linkmatch.progress import PhaseProgress
    from linkmatch.pseudonymise.signing import load_trusted_key

    options = _match_options(args)
    if args.trust:
        options["trusted"] = [load_trusted_key(path) for path in args.trust]
    cluster_out = _is_uri(args.out)
    if any(_is_uri(x) for x in (args.left, args.right, args.out)) and args.engine != "spark":
        raise ConfigError("cluster URIs (hdfs://, s3a://, ...) need --engine spark; the local "
                          "engine reads and writes local or mounted paths")
    left = args.left if _is_uri(args.left) else Path(args.left)
    right = args.right if _is_uri(args.right) else Path(args.right)
    work: Path | None = None
    if cluster_out:
        if args.resume:
            raise ConfigError("--resume keeps its checkpoint beside --out: it needs a local "
                              "--out")
        options["out"] = args.out  # Spark writes it, by partition, on the cluster's storage
    else:
        args.out = Path(args.out)
        work = _work_dir(args)
    progress = PhaseProgress(log)
    try:
        result = match(left, right, threshold=args.threshold, checkpoint=work,
                       progress=progress, **options)
    finally:
        progress.close()
    if work is not None:
        _write_candidates(result.candidates, result.manifest, args.out)
        shutil.rmtree(work, ignore_errors=True)
    c = result.manifest["counts"]
    secs = result.manifest["seconds"]
    log.info("compared %d pairs (%.4f %% of all), %d candidates in %.1f s (statistics %.1f, "
             "compare %.1f, model %.1f, score %.1f; %d workers) → %s",
             c["pairs_compared"], 100 * (1 - c["reduction_ratio"]), c["candidates"],
             secs["total"], secs["index"], secs["compare"], secs["model"], secs["score"],
             result.manifest["workers"], args.out)
    if not result.manifest["authenticated"]:
        log.warning("the encoded files' origin was not verified (no --trust): any file with "
                    "a valid layout was matched; give the holders' public keys with --trust "
                    "to refuse files no holder signed")
    inputs = result.manifest["input_content_sha256"]
    _audit(args, "match", inputs=[args.left, args.right], outputs=[args.out], counts=c,
           parameters={"threshold": result.manifest["threshold"],
                       **{k: v for k, v in options.items() if k not in ("out", "trusted")},
                       "authenticated": result.manifest["authenticated"],
                       "signers": result.manifest["signers"]},
           key_fingerprint=result.manifest["key_fingerprint"],
           content={args.left: inputs["left"], args.right: inputs["right"],
                    args.out: _candidates_sha256(result.candidates)})
    return 0


def _candidates_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 of the candidates as the CSV the local engine writes (what a dataset on
    cluster storage holds, whatever its part files)."""
    import hashlib

    return hashlib.sha256(frame.to_csv(index=False, lineterminator="\n").encode()).hexdigest()


def _read_candidates(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype={"left_id": str, "right_id": str},
                           keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError):
        raise InputDataError("cannot be read as a candidates file", file=str(path)) from None


def _cmd_reveal(args: argparse.Namespace) -> int:
    from linkmatch.api import reveal
    from linkmatch.decoys import with_screening
    from linkmatch.io import csv_safe, manifest_beside, read_manifest, write_json, write_table
    from linkmatch.pseudonymise.keys import load_key
    from linkmatch.reveal import check_candidates

    key = load_key(args.key_file)
    frame = _read_candidates(args.candidates)
    candidates_manifest = _candidates_manifest(args.candidates, args.allow_missing_manifest)
    screened: set[str] = set()
    if candidates_manifest is not None:
        screened = check_candidates(frame, candidates_manifest, side=args.side,
                                    manifest=read_manifest(args.encoded), key=key,
                                    source=str(args.candidates))
    out = reveal(frame, side=args.side, encoded=args.encoded, records=args.input, key=key)
    if not _is_parquet(args.out):
        out = csv_safe(out)
    write_table(out, args.out)
    if candidates_manifest is not None:
        # this side's decoys are out of ``out`` (reveal screens its own side): say so, keyed
        manifest = with_screening(candidates_manifest, out, screened | {args.side}, key)
        manifest.setdefault("counts", {})["candidates"] = len(out)
        write_json(manifest, manifest_beside(args.out))
    dropped = int(out.attrs.get("decoys_screened", 0))
    log.info("revealed %d %s id(s) → %s%s", len(out), args.side, args.out,
             f" ({dropped} pair(s) with own decoys left out)" if dropped else "")
    _audit(args, "reveal", inputs=[args.candidates, args.encoded, args.input],
           outputs=[args.out], counts={"candidates": len(out), "decoys_screened": dropped},
           parameters={"side": args.side,
                       "candidates_manifest": candidates_manifest is not None},
           key_fingerprint=key.fingerprint, key=key)
    return 0


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in {".parquet", ".pq"}


def _candidates_manifest(path: Path, allow_missing: bool) -> dict[str, Any] | None:
    """The manifest written beside a candidates file.

    Without it nothing shows which encoded files the candidates come from or that the other
    holder screened its decoys, so it is required unless ``allow_missing`` (then None).
    """
    from linkmatch.io import manifest_beside, read_candidates_manifest

    data = read_candidates_manifest(path)
    if data is None:
        beside = manifest_beside(path)
        if not allow_missing:
            raise ConfigError(
                f"no manifest beside {path} ({beside.name}): it is needed to check that the "
                "candidates were made from your encoded file and that the other holder "
                "screened its decoys; ask for it with the candidates (or, knowing that the "
                "other side used no decoys, pass --allow-missing-manifest)")
        log.warning("no manifest beside %s: not checked that the candidates come from your "
                    "encoded file, nor that the other holder screened its decoys", path)
    return data


def _cmd_screen(args: argparse.Namespace) -> int:
    from linkmatch.decoys import screen_frame, verified_screening, with_screening
    from linkmatch.io import csv_safe, manifest_beside, read_manifest, write_json, write_table
    from linkmatch.pseudonymise.keys import load_key
    from linkmatch.reveal import check_holder

    key = load_key(args.key_file)
    frame = _read_candidates(args.candidates)
    encoded = read_manifest(args.encoded)
    check_holder(encoded, key)
    manifest = _candidates_manifest(args.candidates, args.allow_missing_manifest) or {}
    digests = manifest.get("input_content_sha256")
    if manifest and (not isinstance(digests, dict)
                     or digests.get(args.side) != encoded.get("content_sha256")):
        raise EncodingMismatchError(
            f"{args.candidates}: the candidates were not made from this encoded file (the "
            f"linkage unit's record of the {args.side} file's content differs from this "
            "file's); screen with the encoded file that was sent to the linkage unit")
    before = verified_screening(manifest, frame, key) if manifest else set()
    out, dropped = screen_frame(frame, side=args.side, manifest=encoded, key=key)
    if not _is_parquet(args.out):
        out = csv_safe(out)
    manifest = with_screening(manifest, out, before | {args.side}, key)
    manifest.setdefault("counts", {})["candidates"] = len(out)
    write_table(out, args.out)
    write_json(manifest, manifest_beside(args.out))
    log.info("screened the %s side: %d of %d candidate pair(s) held one of your decoys and "
             "were removed → %s", args.side, dropped, len(frame), args.out)
    _audit(args, "screen", inputs=[args.candidates, args.encoded], outputs=[args.out],
           counts={"candidates": len(out), "decoys_screened": dropped},
           parameters={"side": args.side}, key_fingerprint=key.fingerprint, key=key)
    return 0


def _cmd_link(args: argparse.Namespace) -> int:
    from linkmatch.api import link
    from linkmatch.io import ValidationReport
    from linkmatch.pseudonymise.keys import load_key

    key = load_key(args.key_file)
    t0 = time.perf_counter()
    work = _work_dir(args)
    out = link(args.left, args.right, key=key, threshold=args.threshold, checkpoint=work,
               decoys=args.decoys, **_match_options(args))
    meta = out.attrs.pop("linkmatch")
    _report_validation(ValidationReport.from_dict(meta["report_left"]), str(args.left))
    _report_validation(ValidationReport.from_dict(meta["report_right"]), str(args.right))
    _write_candidates(out, meta["match"], args.out)
    shutil.rmtree(work, ignore_errors=True)
    c = meta["match"]["counts"]
    log.info("linked %d × %d rows: %d pairs compared, %d candidates in %.1f s → %s",
             c["left_rows"], c["right_rows"], c["pairs_compared"], c["candidates"],
             time.perf_counter() - t0, args.out)
    _audit(args, "link", inputs=[args.left, args.right], outputs=[args.out], counts=c,
           parameters={"threshold": meta["match"]["threshold"], **_match_options(args)},
           key_fingerprint=key.fingerprint, key=key)
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from linkmatch.synth import main_synth

    paths = main_synth(args.out, args.seed, args.left, args.right, args.profile,
                       relatives_per_match=args.relatives_per_match)
    for name, path in paths.items():
        log.info("wrote %s → %s", name, path)
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from linkmatch.audit import linkage_cost, simulate
    from linkmatch.io import read_encoded, read_person_table, write_json
    from linkmatch.schema import Schema

    manifest, _ = read_encoded(args.encoded)
    schema = Schema.from_dict(manifest["schema"])
    counts = manifest.get("counts", {})
    decoy_rows = int(counts.get("decoy_rows", 0))
    real_rows = int(counts.get("rows_encoded", 0)) - decoy_rows
    decoys = min(decoy_rows / real_rows, 1.0) if decoy_rows and real_rows > 0 else 0.0
    population = read_person_table(args.background) if args.background else None
    result = simulate(schema=schema, records=args.records, seed=args.seed,
                      known_fraction=args.known_fraction, decoys=decoys, population=population)
    cost = None if args.no_linkage_cost else linkage_cost(schema, decoys=decoys, seed=args.seed)
    figures = {"encoded_file": str(args.encoded), "schema_fingerprint": schema.fingerprint,
               "decoys_per_record": round(decoys, 6),
               "population": str(args.background) if args.background else "generator",
               **result.threat_models(),
               "simulated": result.to_dict(),
               "linkage_cost": {k: round(v, 6) for k, v in cost.items()} if cost else None}
    # shares and counts only: never a name, date or id
    print("linkmatch audit: attacks a linkage unit could run on encodings with these settings")
    origin = "records drawn from the given file" if args.background else "simulated population"
    print(f"  ({origin}: {result.records:,} records, attacker knows the name "
          "distribution but not the key" + (f"; {decoys:.2f} decoys per record, as in the file"
                                            if decoys else "") + ")")
    models = result.threat_models()
    print(f"  T1, curious unit (no key, no known pair): whole names re-identified one-to-one "
          f"{models['t1.whole_names_one_to_one']:.1%}, singled out "
          f"{models['t1.singled_out']:.1%} (worst attack)")
    print(f"    structure-aware attack (own encoding of the background, slots, nationality, "
          f"years, length class, co-occurrence and similarity graphs): whole names "
          f"{models['t1.structure.whole_names_one_to_one']:.1%}, singled out "
          f"{models['t1.structure.singled_out']:.1%}")
    print(f"  T2, adaptive unit ({result.known_records:,} known pairs): whole names one-to-one "
          f"{models['t2.whole_names_one_to_one']:.1%}, singled out "
          f"{models['t2.singled_out']:.1%} (worst attack)")
    print(f"  name-key tokens re-identified by frequency alignment: "
          f"{result.tokens_reidentified:.1%} of occurrences")
    print(f"  records whose whole name is re-identified: one-to-one "
          f"{result.records_name_reidentified_one_to_one:.1%}, one-to-few "
          f"{result.records_name_reidentified_one_to_few:.1%}")
    print(f"  blocking-key tokens re-identified by frequency alignment: "
          f"{result.block_tokens_reidentified:.1%} of occurrences; whole names one-to-one "
          f"{result.block_records_reidentified_one_to_one:.1%}, one-to-few "
          f"{result.block_records_reidentified_one_to_few:.1%}")
    print(f"  name filter ({result.name_filter_bits:,} bits) pattern mining, attacker holding "
          f"{result.known_records:,} known (record, name) pairs; of the other "
          f"{result.bloom_records:,} records:")
    print(f"    name tokens re-identified: {result.bloom_tokens_reidentified:.1%} of "
          f"occurrences; whole names re-identified: one-to-one "
          f"{result.bloom_records_reidentified_one_to_one:.1%}, one-to-few "
          f"{result.bloom_records_reidentified_one_to_few:.1%}")
    if decoys:
        print(f"    of its one-to-one claims, {result.bloom_claims_on_decoys:.1%} name a decoy "
              "(a claim the attacker cannot tell from the others)")
    print(f"    name-key tokens read off those known pairs: "
          f"{result.dictionary_tokens_reidentified:.1%} of occurrences; whole names one-to-one "
          f"{result.dictionary_records_reidentified_one_to_one:.1%}")
    print(f"  all attacks combined (same records): tokens re-identified "
          f"{result.combined_tokens_reidentified:.1%}, whole names one-to-one "
          f"{result.combined_records_reidentified_one_to_one:.1%}")
    print(f"  bits set vs name length (Spearman), balancing undone from the complement "
          f"columns: {result.bitcount_length_spearman:.2f}")
    if cost:
        print(f"  linkage F1 on the project's synthetic data: {cost['f1']:.4f} with these "
              f"settings, {cost['f1_unhardened']:.4f} with no hardening (change "
              f"{cost['f1_change']:+.4f})")
    if args.json:
        write_json(figures, args.json)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from linkmatch.evaluate import evaluate, plot
    from linkmatch.io import write_json

    cands = _read_candidates(args.candidates)
    truth = _read_candidates(args.truth)
    if "decision" in truth.columns:
        return _evaluate_decisions(args, cands, truth)
    hard = _read_candidates(args.hard_negatives) if args.hard_negatives else None
    ev = evaluate(cands, truth, threshold=args.threshold, hard_negatives=hard)
    _print_evaluation(ev.to_dict())
    if args.json:
        write_json(ev.to_dict(), args.json)
    if args.plots:
        try:
            for path in plot(cands, truth, args.plots, threshold=args.threshold or 0.5):
                print(f"plot: {path}")
        except ImportError:
            log.warning("plots need matplotlib: pip install 'linkmatch[plot]'")
    if args.report:
        from linkmatch.report.command import write_truth_page

        write_truth_page(args.candidates, truth, args.report, hard)
        print(f"report: {args.report}")
    return 0


def _evaluate_decisions(args: argparse.Namespace, cands: pd.DataFrame,
                        decisions: pd.DataFrame) -> int:
    """``evaluate --truth decisions.csv``: precision over the reviewed candidates."""
    from linkmatch.evaluate import evaluate_decisions
    from linkmatch.io import write_json

    if args.report or args.plots or args.hard_negatives:
        raise ConfigError("a decisions file judges reviewed candidates only: --report, --plots "
                          "and --hard-negatives need a truth file of true pairs")
    ev = evaluate_decisions(cands, decisions, threshold=args.threshold, label=str(args.truth))
    precision = "none decided" if ev.precision is None else f"{ev.precision:.4f}"
    print(f"reviewed at threshold {ev.threshold:g}: {ev.same} same person, {ev.not_same} not the "
          f"same, {ev.unsure} unsure, {ev.not_reviewed} not reviewed; precision over decided "
          f"candidates {precision}")
    print("  threshold  candidates  same  not_same  unsure  precision  same_kept")
    for row in ev.by_threshold:
        p = "-" if row["precision"] is None else f"{row['precision']:.4f}"
        k = "-" if row["same_kept"] is None else f"{row['same_kept']:.4f}"
        print(f"  {row['threshold']:>9g}  {row['candidates']:>10}  {row['same']:>4}  "
              f"{row['not_same']:>8}  {row['unsure']:>6}  {p:>9}  {k:>9}")
    if args.json:
        write_json(ev.to_dict(), args.json)
    return 0


def _print_evaluation(d: dict[str, Any]) -> None:
    print(f"precision {d['precision']:.4f}  recall {d['recall']:.4f}  F1 {d['f1']:.4f}  "
          f"(TP {d['true_positives']}, FP {d['false_positives']}, FN {d['false_negatives']})")
    for kind, rec in d["recall_by_corruption"].items():
        print(f"  recall {kind:<16} {rec:.4f}")
    if d["hard_negative_precision"] is not None:
        print(f"  hard negatives correctly left out: {d['hard_negative_precision']:.4f}")
    if d.get("calibration_error") is not None:
        print(f"  over the {d['candidates_given']:,} candidates given (every compared pair "
              f"only if matched with --threshold 0): calibration error "
              f"{d['calibration_error']:.4f}, scores "
              f"expect {d['expected_true_pairs']:,.0f} true pairs ({d['true_pairs']:,} are); "
              f"recall in the top {2 * d['true_pairs']:,}: "
              f"{d['recall_at_review_budget']:.4f}")
    for kind, counts in d.get("hard_negatives_by_kind", {}).items():
        print(f"    {kind:<16} returned {counts['returned']:>5} of {counts['listed']:>5}")


def _cmd_demo(args: argparse.Namespace) -> int:
    from linkmatch.api import encode, match, reveal
    from linkmatch.evaluate import evaluate
    from linkmatch.io import write_json, write_table
    from linkmatch.pseudonymise.keys import generate_key_file, load_key
    from linkmatch.report.command import demo_pages
    from linkmatch.synth import generate, write

    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="linkmatch-demo-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = generate(seed=args.seed, n_left=args.left, n_right=args.right, profile=args.profile)
    files = write(data, out_dir)
    t_gen = time.perf_counter() - t0
    key_path = out_dir / "demo.key"
    if not key_path.exists():
        generate_key_file(key_path)
    key = load_key(key_path)
    t1 = time.perf_counter()
    # the three parties' steps, so that each party's review page can be shown
    enc_left, enc_right = encode(data.left, key), encode(data.right, key)
    result = match(enc_left, enc_right)
    unit_out = out_dir / "match_candidates.csv"
    _write_candidates(result.candidates, result.manifest, unit_out)
    revealed = reveal(result.candidates, side="left", encoded=enc_left, records=data.left,
                      key=key)
    revealed_out = out_dir / "revealed_left.csv"
    write_table(revealed, revealed_out)
    cands = reveal(revealed, side="right", encoded=enc_right, records=data.right, key=key)
    cands = cands.sort_values(["score", "name_score", "left_id", "right_id"],
                              ascending=[False, False, True, True], kind="mergesort",
                              ignore_index=True)
    t_link = time.perf_counter() - t1
    out = out_dir / "candidates.csv"
    _write_candidates(cands, result.manifest, out)
    ev = evaluate(cands, data.truth, hard_negatives=data.hard_negatives)
    write_json(ev.to_dict(), out_dir / "evaluation.json")
    pages = demo_pages(out_dir, unit=unit_out, revealed=revealed_out, records=files["left"],
                       candidates=out, truth=data.truth, hard_negatives=data.hard_negatives)
    c = result.manifest["counts"]
    print("linkmatch demo: synthetic asylum file vs reference list (with aliases)")
    print(f"  left  (asylum)    {c['left_rows']:>9,} rows   {c['left_persons']:>9,} persons")
    print(f"  right (reference) {c['right_rows']:>9,} rows   {c['right_persons']:>9,} persons")
    print(f"  true pairs        {len(data.truth):>9,}")
    print(f"  pairs compared    {c['pairs_compared']:>9,} "
          f"({100 * (1 - c['reduction_ratio']):.3f} % of all pairs)")
    print(f"  candidates        {c['candidates']:>9,}  (threshold {result.manifest['threshold']})")
    print(f"  time              generate {t_gen:.1f} s, link {t_link:.1f} s "
          f"(encode + match + reveal)")
    _print_evaluation(ev.to_dict())
    print(f"  files in {out_dir}: left.csv, right.csv, truth.csv, candidates.csv, "
          "match_candidates.csv (the linkage unit's), revealed_left.csv (the asylum holder's), "
          "evaluation.json (demo.key is the demo's own key)")
    print("  review pages (open in a browser; no network needed):")
    for role, path in pages.items():
        print(f"    {role:<26} {path}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from linkmatch.report.command import run

    return run(args)


_COMMANDS = {
    "keygen": _cmd_keygen,
    "encode": _cmd_encode,
    "match": _cmd_match,
    "reveal": _cmd_reveal,
    "screen": _cmd_screen,
    "link": _cmd_link,
    "synth": _cmd_synth,
    "demo": _cmd_demo,
    "evaluate": _cmd_evaluate,
    "audit": _cmd_audit,
    "report": _cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``linkmatch`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.quiet)
    try:
        return _COMMANDS[args.command](args)
    except (KeyMaterialError, ConfigError, EncodingMismatchError) as exc:
        log.error("error: %s", exc)
        return 2
    except (InputDataError, LinkmatchError) as exc:
        log.error("error: %s", exc)
        return 1
    except KeyboardInterrupt:
        log.error("interrupted; no output was left half-written")
        return 130
    except Exception as exc:
        if os.environ.get("LINKMATCH_DEBUG") == "1":
            raise
        log.error(
            "internal error (%s). No output was left half-written. Please report this to the "
            "linkmatch maintainers with the command you ran (not the data); set "
            "LINKMATCH_DEBUG=1 to see the traceback on a machine cleared for the data.",
            type(exc).__name__,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
