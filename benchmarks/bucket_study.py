"""What bucket-scoped encoding would cost in storage and blocking, measured on today's keys.

``docs/privacy.md`` ("What is open") names the encoding that the T1 threat model calls for:
each holder places a record in keyed buckets (its blocking keys hashed with collisions into
``M`` buckets, keys too frequent in the holder's *own* file left out) and writes the record's
comparison evidence once per bucket. This script measures, on the blocking keys the encoder
writes today and without building that format, what it would cost:

* entries per row (each is a copy of the row's evidence: the storage multiplier);
* pairs compared (distinct (left row, right row) pairs sharing a bucket) and pairs completeness
  (true pairs sharing one), beside today's blocking (matching's cap on the unit's side);
* how much bucket sizes say: their coefficient of variation and largest size over the mean;
* a first attack on what a bucket shows (``--attack``), scored on the asylum side: each name
  token of an entry carries the holder's frequency class (log2 of its share of the holder's
  rows, the classes above ``2**CAP`` merged), and a token that three or more entries of the bucket
  hold shows its length (the size of its filter signature there). The unit guesses, per token,
  the most common name of its background with that class (and length): whole names of entries
  re-identified, and records with at least one such entry. A lower bound on what a bucket
  gives away, for the design, not a bar.

Run: ``.venv/bin/python benchmarks/bucket_study.py [--size 20000x2000] [--caps 0.002 0.01]
[--keys-per-bucket 1 4 16] [--attack -6 -8 0]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import numpy.typing as npt

from linkmatch.compare.blocking import BlockIndex, explode
from linkmatch.match import block_cap
from linkmatch.structure_attack import truth_by_row
from linkmatch.synth import generate

sys.path.insert(0, str(Path(__file__).parent))
from blocking import encoded_problem, rows_of

I64 = npt.NDArray[np.int64]


def _holder_keys(rows: I64, keys: I64, num_rows: int, cap_share: float) -> tuple[I64, I64]:
    """(row, key) entries whose key at most ``cap_share`` of the holder's rows hold (min. 2)."""
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    keep = counts[inverse.ravel()] <= max(2, int(cap_share * num_rows))
    return rows[keep], keys[keep]


def _entries(rows: I64, keys: I64, buckets: int) -> tuple[I64, I64]:
    """Distinct (row, bucket) entries: a key's bucket is the key modulo ``buckets``."""
    bucket = (keys.astype(np.uint64) % np.uint64(buckets)).astype(np.int64)
    pairs = np.unique(np.stack([rows, bucket], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _bucket_pairs(left: tuple[I64, I64], right: tuple[I64, I64], n_right: int) -> I64:
    """Distinct codes ``left_row * n_right + right_row`` of the pairs sharing a bucket."""
    lr, lb = left
    rr, rb = right
    order = np.argsort(rb, kind="stable")
    rr, rb = rr[order], rb[order]
    start = np.searchsorted(rb, lb, side="left")
    stop = np.searchsorted(rb, lb, side="right")
    lengths = stop - start
    rep_left = np.repeat(lr, lengths)
    offsets = np.repeat(start - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    right_rows = rr[np.arange(int(lengths.sum())) + offsets]
    return np.unique(rep_left * n_right + right_rows)


def _completeness(compared: I64, truth_codes: list[I64]) -> float:
    found = 0
    for codes in truth_codes:
        pos = np.minimum(np.searchsorted(compared, codes), len(compared) - 1)
        found += bool((compared[pos] == codes).any()) if len(compared) else False
    return found / max(len(truth_codes), 1)


def _classes(keys: list[tuple[str, ...]], cap: int = -6) -> dict[str, int]:
    """Each name key's frequency class: floor(log2 of its share of the rows), at most ``cap``."""
    counts = Counter(k for ks in keys for k in ks)
    return {k: min(math.floor(math.log2(c / max(len(keys), 1))), cap) for k, c in counts.items()}


def _class_attack(rows: I64, buckets: I64, row_keys: list[tuple[str, ...]],
                  background: list[tuple[str, ...]], cap: int) -> tuple[float, float, float]:
    """(entries, records, records singled out) whose whole name the class-and-length guess
    gets right (see the module docstring); classes above ``2 ** cap`` are merged."""
    holder = _classes(row_keys, cap)
    own = _classes(background, cap)
    popularity = Counter(k for ks in background for k in ks)
    by_class: dict[int, str] = {}
    by_class_length: dict[tuple[int, int], str] = {}
    for key, _ in popularity.most_common():
        by_class.setdefault(own[key], key)
        by_class_length.setdefault((own[key], len(key)), key)
    holders: Counter[tuple[int, str]] = Counter(
        (int(b), k) for r, b in zip(rows.tolist(), buckets.tolist(), strict=True)
        for k in row_keys[r])
    held = Counter(frozenset(ks) for ks in row_keys if ks)
    right_entries = entries = 0
    records: set[int] = set()
    for r, b in zip(rows.tolist(), buckets.tolist(), strict=True):
        keys = row_keys[r]
        if not keys:
            continue
        entries += 1
        guesses = [by_class_length.get((holder[k], len(k))) if holders[(b, k)] >= 3
                   else by_class.get(holder[k]) for k in keys]
        if all(g == k for g, k in zip(guesses, keys, strict=True)):
            right_entries += 1
            records.add(r)
    named = sum(1 for ks in row_keys if ks)
    single = sum(held[frozenset(row_keys[r])] <= 5 for r in records)
    return right_entries / max(entries, 1), len(records) / max(named, 1), single / max(named, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="20000x2000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--caps", nargs="+", type=float, default=[0.002, 0.01],
                        help="a key is left out by a holder when more than this share of its "
                             "own rows hold it")
    parser.add_argument("--keys-per-bucket", nargs="+", type=float, default=[1, 4, 16],
                        help="distinct keys of both files per bucket (sets M)")
    parser.add_argument("--attack", nargs="*", type=int, default=None, metavar="CAP",
                        help="also run the class-and-length attack on the asylum side's "
                             "buckets, frequency classes above 2**CAP merged (default -6; 0: "
                             "uncapped; -30: no class at all)")
    args = parser.parse_args()
    n_left, n_right = (int(x) for x in args.size.lower().split("x"))
    problem = encoded_problem(n_left, n_right, args.seed)
    left, right, truth_codes = problem.left, problem.right, problem.truth_codes
    n_l, n_r = left.table.num_rows, right.table.num_rows
    lk, rk = explode(left.table.column("block_keys")), explode(right.table.column("block_keys"))
    if args.attack is not None:  # the truth, for scoring; the unit's background of the same kind
        row_keys: list[tuple[str, ...]] = [()] * n_l
        by_id = rows_of(left.table, left.manifest,
                        problem.data.left["record_id"].astype(str).tolist())
        for rid, keys in zip(problem.data.left["record_id"].astype(str),
                             truth_by_row(problem.data.left), strict=True):
            row_keys[by_id[rid][0]] = keys[:8]
        background = truth_by_row(generate(seed=args.seed + 1, n_left=n_left,
                                           n_right=n_right).left)

    t0 = time.perf_counter()
    index = BlockIndex(lk, rk, max_block_pairs=block_cap(None, n_l))
    li, ri = index.pairs(*lk)
    today = np.unique(li * n_r + ri)
    print(f"{n_left:,} x {n_right:,} ({n_l:,} x {n_r:,} rows), seed {args.seed}")
    print(f"  today (unit-side cap): keys per row {len(lk[0]) / n_l:.1f} (left), "
          f"{len(rk[0]) / n_r:.1f} (right); pairs {len(today):,} "
          f"({len(today) / (n_l * n_r):.3%}); completeness "
          f"{_completeness(today, truth_codes):.2%} ({time.perf_counter() - t0:.0f} s)")
    distinct = len(np.union1d(lk[0], rk[0]))
    for cap in args.caps:
        hl = _holder_keys(lk[1], lk[0], n_l, cap)  # explode gives (keys, rows)
        hr = _holder_keys(rk[1], rk[0], n_r, cap)
        for per_bucket in args.keys_per_bucket:
            buckets = max(1, int(distinct / per_bucket))
            el, er = _entries(*hl, buckets), _entries(*hr, buckets)
            compared = _bucket_pairs(el, er, n_r)
            sizes = np.bincount(np.concatenate([el[1], er[1]]), minlength=buckets)
            sizes = sizes[sizes > 0]
            print(f"  holder cap {cap:.3f}, {per_bucket:g} keys per bucket (M = {buckets:,}): "
                  f"entries per row {len(el[0]) / n_l:.1f} / {len(er[0]) / n_r:.1f}; "
                  f"pairs {len(compared):,} ({len(compared) / (n_l * n_r):.3%}); "
                  f"completeness {_completeness(compared, truth_codes):.2%}; bucket sizes: "
                  f"CV {sizes.std() / sizes.mean():.2f}, max/mean "
                  f"{sizes.max() / sizes.mean():.1f}", flush=True)
            for class_cap in (args.attack or [-6]) if args.attack is not None else []:
                entries, records, single = _class_attack(*el, row_keys, background, class_cap)
                print(f"    class-and-length guess, classes above 2**{class_cap} merged: whole "
                      f"names of {entries:.2%} of entries, {records:.2%} of records "
                      f"({single:.2%} singled out)", flush=True)


if __name__ == "__main__":
    main()
