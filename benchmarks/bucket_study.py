"""What bucket-scoped encoding would cost in storage and blocking, measured on today's keys.

``docs/privacy.md`` ("What is open") names the encoding that the T1 threat model calls for:
each holder places a record in keyed buckets (its blocking keys hashed with collisions into
``M`` buckets, keys too frequent in the holder's *own* file left out) and writes the record's
comparison evidence once per bucket. This script measures, on the blocking keys the encoder
writes today and without building that format, what it would cost:

* entries per row (each is a copy of the row's evidence: the storage multiplier);
* pairs compared (distinct (left row, right row) pairs sharing a bucket) and pairs completeness
  (true pairs sharing one), beside today's blocking (matching's cap on the unit's side);
* how much bucket sizes say: their coefficient of variation and largest size over the mean.

Run: ``.venv/bin/python benchmarks/bucket_study.py [--size 20000x2000] [--caps 0.002 0.01]
[--keys-per-bucket 1 4 16]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from linkmatch.compare.blocking import BlockIndex, explode
from linkmatch.match import block_cap

sys.path.insert(0, str(Path(__file__).parent))
from blocking import encoded_problem

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="20000x2000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--caps", nargs="+", type=float, default=[0.002, 0.01],
                        help="a key is left out by a holder when more than this share of its "
                             "own rows hold it")
    parser.add_argument("--keys-per-bucket", nargs="+", type=float, default=[1, 4, 16],
                        help="distinct keys of both files per bucket (sets M)")
    args = parser.parse_args()
    n_left, n_right = (int(x) for x in args.size.lower().split("x"))
    problem = encoded_problem(n_left, n_right, args.seed)
    left, right, truth_codes = problem.left, problem.right, problem.truth_codes
    n_l, n_r = left.table.num_rows, right.table.num_rows
    lk, rk = explode(left.table.column("block_keys")), explode(right.table.column("block_keys"))

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


if __name__ == "__main__":
    main()
