"""clkhash encoding and anonlink's Dice kernel, timed inside the peers' own environment.

Input: a CSV with columns ``given,surname,dob``. Prints one JSON line: clkhash records/s (warm:
the second of two runs) and anonlink comparisons/s of its accelerated Dice kernel (all pairs of
the first N left × M right CLKs at threshold 0.8). Secret from ``PEER_SECRET``.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time

import anonlink
from clk_anonlink import SCHEMA
from clkhash import clk
from clkhash.schema import from_json_dict


def main() -> None:
    path, n_left, n_right = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    schema = from_json_dict(SCHEMA)
    secret = os.environ["PEER_SECRET"]
    clk.generate_clks(rows[:1000], schema, secret)  # warm-up
    t0 = time.perf_counter()
    clks = clk.generate_clks(rows, schema, secret)
    encode_rate = len(rows) / (time.perf_counter() - t0)
    left, right = clks[:n_left], clks[n_left:n_left + n_right]
    t1 = time.perf_counter()
    anonlink.candidate_generation.find_candidate_pairs(
        [left, right], anonlink.similarities.dice_coefficient_accelerated, 0.8)
    kernel_rate = len(left) * len(right) / (time.perf_counter() - t1)
    print(json.dumps({"clkhash_records_per_s": encode_rate,
                      "anonlink_comparisons_per_s": kernel_rate}))


if __name__ == "__main__":
    main()
