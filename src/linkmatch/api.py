"""The recipes: ``encode``, ``match``, ``reveal`` and ``link`` with safe defaults.

These are the calls a data engineer uses; the primitives they are built from live in
:mod:`linkmatch.pseudonymise` and :mod:`linkmatch.compare`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from linkmatch.decoys import check_rate
from linkmatch.encode import Encoded, EncodeSummary, encode_file, encode_frame
from linkmatch.engines import Engine, check_engine, require_spark
from linkmatch.errors import ConfigError, LinkmatchError
from linkmatch.io import (
    ValidationReport,
    file_sha256,
    iter_person_chunks,
    read_encoded,
    read_manifest,
    read_person_table,
    write_encoded,
    write_json,
)
from linkmatch.match import MatchResult, match_encoded, match_files
from linkmatch.pseudonymise.keys import Key
from linkmatch.reveal import Side, check_candidates, reveal_frame
from linkmatch.schema import Schema

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["encode", "link", "match", "reveal"]

PathLike = str | os.PathLike[str]


def _records(data: pd.DataFrame | PathLike) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        return data, "<dataframe>"
    return read_person_table(data), str(data)


def _encoded(data: Encoded | PathLike) -> tuple[dict[str, Any], Any]:
    if isinstance(data, Encoded):
        return data.manifest, data.table
    return read_encoded(data)


def encode(data: pd.DataFrame | PathLike, key: Key, *, schema: Schema | None = None,
           strict: bool = False, decoys: float = 0.0) -> Encoded:
    """Encode one holder's records (a DataFrame or a CSV/Parquet path) under ``key``.

    Write the result with :func:`linkmatch.io.write_encoded` or ``linkmatch encode``.
    ``decoys`` adds that many decoy records per real record (see :mod:`linkmatch.decoys`):
    :func:`reveal` leaves out the pairs that hold this holder's own decoys, and the other
    holder must reveal only candidates screened with :func:`linkmatch.decoys.screen_frame`.
    """
    frame, source = _records(data)
    return encode_frame(frame, key, schema=schema, source=source, strict=strict, decoys=decoys)


def match(left: Encoded | PathLike, right: Encoded | PathLike, *,
          threshold: float | None = None, engine: Engine = "local",
          spark: SparkSession | None = None, spark_master: str | None = None,
          **options: Any) -> MatchResult:
    """Match two encodings (in memory or ``.lmenc`` paths); no key needed.

    Returns candidates with pseudonymous ids; see :func:`linkmatch.match.match_encoded` for the
    options. Two paths are matched streaming the left file (:func:`linkmatch.match.match_files`,
    one worker process per core by default).

    ``engine="spark"`` runs the same job on Apache Spark (``pip install 'linkmatch[spark]'``),
    with the same candidates: on ``spark``, a running ``SparkSession`` (left running), else on
    a new session on ``spark_master`` (default ``local[2]``); paths may then be cluster URIs.
    See :mod:`linkmatch.engines.spark` for its options (``partitions``,
    ``max_broadcast_bytes``).
    """
    if _engine(engine, spark, spark_master, options) == "spark":
        from linkmatch.engines import spark as spark_engine

        if not isinstance(left, Encoded) and not isinstance(right, Encoded):
            return spark_engine.match_files(left, right, threshold=threshold, spark=spark,
                                            master=spark_master, **options)
        lm, lt = _encoded(left)
        rm, rt = _encoded(right)
        return spark_engine.match_encoded(lm, lt, rm, rt, threshold=threshold, spark=spark,
                                          master=spark_master, **options)
    if not isinstance(left, Encoded) and not isinstance(right, Encoded):
        return match_files(left, right, threshold=threshold, **options)
    lm, lt = _encoded(left)
    rm, rt = _encoded(right)
    return match_encoded(lm, lt, rm, rt, threshold=threshold, **options)


# -- engines ------------------------------------------------------------------------------------
def _engine(engine: str, spark: SparkSession | None, spark_master: str | None,
            options: dict[str, Any]) -> Engine:
    """Check the engine and its options; for Spark, that PySpark is installed."""
    chosen = check_engine(engine)
    if chosen == "local":
        if spark is not None or spark_master is not None:
            raise ConfigError("a Spark session or master is given but the engine is 'local'; "
                              "pass engine='spark' to run on Spark")
        return chosen
    if options.get("workers") is not None:
        raise ConfigError("workers applies to the local engine; Spark's parallelism is its "
                          "executors' (a master like local[4], or the cluster's settings)")
    options.pop("workers", None)
    require_spark()
    return chosen


def reveal(candidates: pd.DataFrame, *, side: Side, encoded: Encoded | PathLike,
           records: pd.DataFrame | PathLike, key: Key,
           candidates_manifest: dict[str, Any] | None = None) -> pd.DataFrame:
    """Map this holder's pseudonyms in ``candidates`` back to its record ids.

    Paths are streamed: the encoded file's manifest is read from its footer, and the records
    chunk by chunk, keeping only the candidates' ids, so files of any size fit in memory.

    With ``candidates_manifest`` (the linkage unit's ``result.manifest``, or the JSON beside a
    candidates file), the candidates are first checked to come from this encoded file and to
    be screened of the other side's decoys (:func:`linkmatch.reveal.check_candidates`), as
    ``linkmatch reveal`` always does.
    """
    manifest = encoded.manifest if isinstance(encoded, Encoded) else read_manifest(encoded)
    if candidates_manifest is not None:
        check_candidates(candidates, candidates_manifest, side=side, manifest=manifest, key=key)
    if isinstance(records, pd.DataFrame):
        return reveal_frame(candidates, side=side, manifest=manifest, records=records, key=key)
    return reveal_frame(candidates, side=side, manifest=manifest,
                        records=iter_person_chunks(records), key=key)


def link(left: pd.DataFrame | PathLike, right: pd.DataFrame | PathLike, *, key: Key,
         threshold: float | None = None, schema: Schema | None = None,
         checkpoint: Path | None = None, engine: Engine = "local",
         spark: SparkSession | None = None, spark_master: str | None = None,
         decoys: float = 0.0, **options: Any) -> pd.DataFrame:
    """Encode, match and reveal both sides in one process.

    For a party that may hold both files, and for tests, the demo and benchmarks. Returns the
    candidates with the holders' own ``record_id`` s, sorted by descending score; the run's
    manifest and validation reports are in ``result.attrs["linkmatch"]``.

    Two paths are linked streaming, in memory that does not grow with the files: each is
    encoded chunk by chunk into the checkpoint directory (or a private temporary one), the
    encodings are matched streaming the left one, and each side is revealed from its file read
    chunk by chunk. DataFrames are linked in memory.

    With ``checkpoint`` (a private directory), the encodings, the fitted model and each chunk's
    candidates are kept there as they are done; a later call with the same inputs reuses them,
    so a killed run resumes with identical results. The caller removes the directory after
    success.

    ``engine="spark"`` (with ``spark`` or ``spark_master``, as for :func:`match`) matches on
    Spark; encoding, which needs the key, and revealing stay in this process: the key never
    reaches the cluster.

    ``decoys`` adds decoy records to both encodings (per real record; see
    :mod:`linkmatch.decoys`); each side's reveal leaves out the pairs holding its decoys.
    """
    chosen = _engine(engine, spark, spark_master, options)
    decoys = check_rate(decoys)
    if not isinstance(left, pd.DataFrame) and not isinstance(right, pd.DataFrame):
        return _link_files(Path(left), Path(right), key=key, threshold=threshold,
                           schema=schema, checkpoint=checkpoint, engine=chosen, spark=spark,
                           spark_master=spark_master, options=options, decoys=decoys)
    left_frame, left_source = _records(left)
    right_frame, right_source = _records(right)
    enc_left = _encode_once(left_frame, key, schema, left_source, checkpoint, "left", decoys)
    enc_right = _encode_once(right_frame, key, schema, right_source, checkpoint, "right",
                             decoys)
    match_checkpoint = checkpoint / "match" if checkpoint else None
    if chosen == "spark":
        from linkmatch.engines import spark as spark_engine

        result = spark_engine.match_encoded(
            enc_left.manifest, enc_left.table, enc_right.manifest, enc_right.table,
            threshold=threshold, checkpoint=match_checkpoint, spark=spark,
            master=spark_master, **options)
    else:
        result = match_encoded(enc_left.manifest, enc_left.table, enc_right.manifest,
                               enc_right.table, threshold=threshold,
                               checkpoint=match_checkpoint, **options)
    out = reveal_frame(result.candidates, side="left", manifest=enc_left.manifest,
                       records=left_frame, key=key)
    out = reveal_frame(out, side="right", manifest=enc_right.manifest, records=right_frame,
                       key=key)
    # ties were ordered by pseudonym, which changes with every job's salt: order by record id
    out = out.sort_values(["score", "name_score", "left_id", "right_id"],
                          ascending=[False, False, True, True], kind="mergesort",
                          ignore_index=True)
    out.attrs["linkmatch"] = {
        "match": result.manifest,
        "encode_left": enc_left.manifest,
        "encode_right": enc_right.manifest,
        "report_left": enc_left.report.to_dict(),
        "report_right": enc_right.report.to_dict(),
    }
    return out


def _link_files(left: Path, right: Path, *, key: Key, threshold: float | None,
                schema: Schema | None, checkpoint: Path | None, engine: Engine,
                spark: SparkSession | None, spark_master: str | None,
                options: dict[str, Any], decoys: float = 0.0) -> pd.DataFrame:
    """:func:`link` for two files: encode_file, match_files, streamed reveal."""
    work = checkpoint if checkpoint is not None else Path(tempfile.mkdtemp(prefix="linkmatch-"))
    try:
        work.mkdir(mode=0o700, parents=True, exist_ok=True)
        encoded = {side: _encode_file_once(path, key, schema, work, side, decoys)
                   for side, path in (("left", left), ("right", right))}
        paths = (work / "left.lmenc", work / "right.lmenc")
        if engine == "spark":
            from linkmatch.engines import spark as spark_engine

            result = spark_engine.match_files(*paths, threshold=threshold,
                                              checkpoint=work / "match", spark=spark,
                                              master=spark_master, **options)
        else:
            result = match_files(*paths, threshold=threshold, checkpoint=work / "match",
                                 **options)
        out = reveal_frame(result.candidates, side="left", manifest=encoded["left"].manifest,
                           records=iter_person_chunks(left), key=key, source=str(left))
        out = reveal_frame(out, side="right", manifest=encoded["right"].manifest,
                           records=iter_person_chunks(right), key=key, source=str(right))
    finally:
        if checkpoint is None:
            shutil.rmtree(work, ignore_errors=True)
    out = out.sort_values(["score", "name_score", "left_id", "right_id"],
                          ascending=[False, False, True, True], kind="mergesort",
                          ignore_index=True)
    out.attrs["linkmatch"] = {
        "match": result.manifest,
        "encode_left": encoded["left"].manifest,
        "encode_right": encoded["right"].manifest,
        "report_left": encoded["left"].report.to_dict(),
        "report_right": encoded["right"].report.to_dict(),
    }
    return out


def _encode_file_once(path: Path, key: Key, schema: Schema | None, work: Path,
                      side: str, decoys: float = 0.0) -> EncodeSummary:
    """Encode a file into ``work``, or reuse the encoding of the same file kept there."""
    out, meta = work / f"{side}.lmenc", work / f"{side}.json"
    digest = file_sha256(path)
    schema_fp = (schema or Schema()).fingerprint
    try:
        saved = json.loads(meta.read_text(encoding="utf-8"))
        if saved.get("input") == digest and saved.get("key") == key.fingerprint and \
                saved.get("schema") == schema_fp and saved.get("decoys", 0.0) == decoys:
            return EncodeSummary(manifest=read_manifest(out),
                                 report=ValidationReport.from_dict(saved["report"]))
    except (OSError, ValueError, KeyError, LinkmatchError):
        pass  # nothing usable kept: encode afresh
    summary = encode_file(path, out, key, schema=schema, decoys=decoys)
    write_json({"input": digest, "key": key.fingerprint, "schema": schema_fp,
                "decoys": decoys, "report": summary.report.to_dict()}, meta)
    return summary


def _frame_digest(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(frame.columns).encode()).hexdigest()


def _encode_once(frame: pd.DataFrame, key: Key, schema: Schema | None, source: str,
                 checkpoint: Path | None, side: str, decoys: float = 0.0) -> Encoded:
    """Encode, or reuse the encoding of the same input kept in ``checkpoint``."""
    if checkpoint is None:
        return encode_frame(frame, key, schema=schema, source=source, decoys=decoys)
    checkpoint.mkdir(mode=0o700, parents=True, exist_ok=True)
    path, meta = checkpoint / f"{side}.lmenc", checkpoint / f"{side}.json"
    digest = _frame_digest(frame)
    try:
        saved = json.loads(meta.read_text(encoding="utf-8"))
        if saved.get("input") == digest and saved.get("key") == key.fingerprint and \
                saved.get("decoys", 0.0) == decoys:
            manifest, table = read_encoded(path)
            return Encoded(table=table, manifest=manifest,
                           report=ValidationReport.from_dict(saved["report"]))
    except (OSError, ValueError, KeyError, LinkmatchError):
        pass  # nothing usable kept: encode afresh
    encoded = encode_frame(frame, key, schema=schema, source=source, decoys=decoys)
    write_encoded(encoded.table, encoded.manifest, path)
    write_json({"input": digest, "key": key.fingerprint, "decoys": decoys,
                "report": encoded.report.to_dict()}, meta)
    return encoded
