"""clkhash encoding and anonlink's Dice kernel, timed inside the peers' own environment.

Input: a CSV with columns ``given,surname,dob``. Prints one JSON line: clkhash records/s (warm:
after a first run of 1,000 rows) in memory on every core (its default), in memory on one core
and from the CSV file on every core; and anonlink comparisons/s of its accelerated Dice kernel
(all pairs of the first N left × M right CLKs at threshold 0.8). Secret from ``PEER_SECRET``.
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
    clks = clk.generate_clks(rows, schema, secret)  # one process per core (clkhash's default)
    encode_rate = len(rows) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    clk.generate_clks(rows, schema, secret, max_workers=1)
    one_core_rate = len(rows) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as fh:
        clk.generate_clk_from_csv(fh, secret, schema, progress_bar=False)
    file_rate = len(rows) / (time.perf_counter() - t0)
    left, right = clks[:n_left], clks[n_left:n_left + n_right]
    # the kernel's best of three calls, as for linkmatch's kernel (one call is a fraction of
    # a second, and a single timing of it varied by up to 2x between runs)
    kernel_rate = 0.0
    for _ in range(3):
        t1 = time.perf_counter()
        anonlink.candidate_generation.find_candidate_pairs(
            [left, right], anonlink.similarities.dice_coefficient_accelerated, 0.8)
        kernel_rate = max(kernel_rate, len(left) * len(right) / (time.perf_counter() - t1))
    print(json.dumps({"clkhash_records_per_s": encode_rate,
                      "clkhash_one_core_records_per_s": one_core_rate,
                      "clkhash_file_records_per_s": file_rate,
                      "anonlink_comparisons_per_s": kernel_rate}))


if __name__ == "__main__":
    main()
