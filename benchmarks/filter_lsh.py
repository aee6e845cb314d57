"""Blocking on bands of the name filters (``name_bands``): pairs completeness, pairs, quality.

Issue 4 asks blocking to keep 99.5 % of the true pairs while comparing at most 1 % of all
pairs; the keyed keys alone keep about 97.5 % (``blocking.py``). The true pairs they miss carry
compounded corruptions, yet their name filters stay close (Dice median about 0.85). The
linkage unit holds those filters, so it can block on them too: the opt-in ``name_bands`` of
matching (:class:`linkmatch.compare.blocking.NameBands`, bit-sampling LSH: ``b`` bands of ``r``
bits sampled from the balanced name filter, a band's block skipped above ``cap`` pairs; by
default within the record's nationality).

For each setting this builds the blocks exactly as matching does (:class:`linkmatch.match.Job`)
and prints the pairs compared and the pairs completeness with and without the bands; with
``--quality`` it also links the data with and without the default bands (``linkmatch.link``,
two workers) and prints precision, recall, F1, look-alikes left out and the wall time.

Run: ``.venv/bin/python benchmarks/filter_lsh.py [--size 200000x10000]
[--settings 24,150,auto 32,150,auto,plain] [--quality]`` (r,b,cap[,plain] each; 200,000 x
10,000: about a minute per setting, 6 GiB; ``--quality`` a few minutes more).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import numpy.typing as npt

import linkmatch
from blocking import encoded_problem
from linkmatch.compare.blocking import NameBands
from linkmatch.encode import Encoded
from linkmatch.evaluate import evaluate
from linkmatch.match import DEFAULT_THRESHOLD, Job

I64 = npt.NDArray[np.int64]


def blocked_codes(left: Encoded, right: Encoded, bands: NameBands | None) -> I64:
    """Pair codes (left row * right rows + right row) that matching compares, sorted."""
    job = Job(left.manifest, right.manifest, right.table, threshold=DEFAULT_THRESHOLD,
              max_block_pairs=None, name_bands=bands)
    job.plan([job.stats(left.table)])
    assert job.index is not None
    li, ri = job.index.pairs(*job.keys(left.table))
    return np.asarray(li * right.table.num_rows + ri, dtype=np.int64)  # sorted and distinct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="200000x10000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", nargs="+", default=["24,150,auto", "32,150,auto,plain"],
                        help="bits,bands,cap[,plain] per setting (cap 'auto': the default, "
                             "scaled; 'plain': bands across nationalities)")
    parser.add_argument("--quality", action="store_true",
                        help="also link with and without the default bands")
    args = parser.parse_args()
    n_left, n_right = (int(x) for x in args.size.lower().split("x"))
    problem = encoded_problem(n_left, n_right, args.seed)
    data, left, right = problem.data, problem.left, problem.right
    n_l, n_r = left.table.num_rows, right.table.num_rows
    true_codes = np.concatenate(problem.truth_codes)
    true_owner = np.repeat(np.arange(len(problem.truth_codes)),
                           [len(c) for c in problem.truth_codes])
    n_true, total = len(data.truth), n_l * n_r

    def completeness(pairs: I64) -> float:
        pos = np.minimum(np.searchsorted(pairs, true_codes), max(len(pairs) - 1, 0))
        hit = pairs[pos] == true_codes if len(pairs) else np.zeros(len(true_codes), bool)
        return len(np.unique(true_owner[hit])) / n_true

    keys = blocked_codes(left, right, None)
    print(f"{n_left:,} x {n_right:,} ({n_r:,} rows with aliases), seed {args.seed}: keys "
          f"{len(keys) / total:.3%} of pairs, pairs completeness {completeness(keys):.2%}")
    for setting in args.settings:
        bits_text, bands_text, cap_text, *plain = setting.split(",")
        bits, bands = int(bits_text), int(bands_text)
        cap = None if cap_text == "auto" else int(cap_text)
        t0 = time.perf_counter()
        setting_ = NameBands(bits=bits, bands=bands, cap=cap, nationality=plain != ["plain"])
        both = blocked_codes(left, right, setting_)
        print(f"  {bits} bits x {bands} bands, cap {setting_.cap_for(n_l):,}"
              f"{' (auto)' if cap is None else ''}"
              f"{' within nationality' if setting_.nationality else ''}: with the keys "
              f"{len(both) / total:.3%} of pairs ({completeness(both):.2%}); "
              f"{time.perf_counter() - t0:.0f} s")
    if args.quality:
        key = linkmatch.Key.from_bytes(bytes(range(32)), weak_ok=True)
        for name_bands in (False, True):
            t0 = time.perf_counter()
            found = linkmatch.link(data.left, data.right, key=key, name_bands=name_bands,
                                   workers=2)
            seconds = time.perf_counter() - t0
            r = evaluate(found, data.truth, hard_negatives=data.hard_negatives)
            pairs = found.attrs["linkmatch"]["match"]["counts"]["pairs_compared"]
            print(f"  link, name_bands={name_bands}: precision {r.precision:.4f}, recall "
                  f"{r.recall:.4f}, F1 {r.f1:.4f}, look-alikes left out "
                  f"{r.hard_negative_precision:.4f}; {pairs:,} pairs; {seconds:.1f} s")


if __name__ == "__main__":
    main()
