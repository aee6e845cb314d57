"""Relatives against the same person: precision, recall and the relatives scored as matches.

Families arrive together, so the people in an asylum file most like a listed person are his
siblings, twins, children, parents and spouse. This generates the asylum-like data with
``relatives_per_match`` relatives per matched listed person (``linkmatch.synth.generate``),
links it with the default settings under one key, and prints, per size and rate:

* precision, recall and F1 at the default threshold;
* recall when analysts read the top 2 × (number of true pairs) candidates (a review budget);
* the calibration error over every compared pair (:func:`linkmatch.evaluate.calibration`),
  and the number of true pairs the scores' sum expects;
* per kind of look-alike, how many of the listed pairs score at or above the threshold.

Run: ``.venv/bin/python benchmarks/relatives.py [--sizes 20000x2000 200000x5000]
[--relatives 0 3 10] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import time

import linkmatch
from linkmatch.evaluate import evaluate
from linkmatch.synth import generate

KEY = linkmatch.Key.from_bytes(bytes.fromhex(
    "8f3c2a71d94e0b65c7a1f3e82d09b4c6e5a7f1d3b2c4e6a8f0d1c3b5a7e9f2d4"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["20000x2000"])
    parser.add_argument("--relatives", nargs="+", type=float, default=[0.0, 3.0, 10.0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for size in args.sizes:
        n_left, n_right = (int(x) for x in size.lower().split("x"))
        for rate in args.relatives:
            data = generate(seed=args.seed, n_left=n_left, n_right=n_right,
                            relatives_per_match=rate)
            start = time.perf_counter()
            candidates = linkmatch.link(data.left, data.right, key=KEY, threshold=0.0)
            seconds = time.perf_counter() - start
            ev = evaluate(candidates, data.truth, threshold=0.5,
                          hard_negatives=data.hard_negatives)
            print(f"{n_left:,} x {n_right:,}, {rate:g} relatives per match "
                  f"({len(data.truth):,} true pairs, {seconds:.0f} s): P {ev.precision:.4f} "
                  f"R {ev.recall:.4f} F1 {ev.f1:.4f}; recall in the top "
                  f"{2 * len(data.truth):,} {ev.recall_at_review_budget:.4f}; calibration "
                  f"error {ev.calibration_error:.4f}, scores expect "
                  f"{ev.expected_true_pairs:,.0f} true pairs", flush=True)
            print("    look-alikes scored >= 0.5: " + ", ".join(
                f"{kind} {returned}/{listed}"
                for kind, (returned, listed) in ev.hard_negatives_by_kind.items()), flush=True)


if __name__ == "__main__":
    main()
