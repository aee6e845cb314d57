"""clkhash + anonlink on the same person fields, run inside the peers' own environment.

clkhash pins an old ``cryptography``, so the peers live in their own virtual environment
(``benchmarks/setup_peers.sh``); ``benchmarks/quality.py`` and ``benchmarks/speed.py`` call
this script with that environment's Python. Input: two CSV files with columns
``given,surname,dob`` (dob as YYYYMMDD or empty). Output: JSON lines on stdout, one per
threshold, with the solved pairs (row indices). The secret comes from the environment
(``PEER_SECRET``), never from the command line.

Settings follow clkhash's documented example schema (bigrams of names, positional unigrams of
the date, 1024-bit CLKs) and anonlink's greedy solver.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time

import anonlink
from clkhash import clk
from clkhash.schema import from_json_dict

# the salt of clkhash's documented example schema
KDF_SALT = ("SCbL2zHNnmsckfzchsNkZY9XoHk96P/G5nUBrM7ybymlEFsMV6PAeDZCNp3rfNUPCtLDMOGQHG4pCQpfhiHC"
            "yA==")
SCHEMA = {
    "version": 3,
    "clkConfig": {
        "l": 1024,
        "kdf": {"type": "HKDF", "hash": "SHA256", "keySize": 64, "salt": KDF_SALT,
                "info": "c2NoZW1hX2V4YW1wbGU="},
    },
    "features": [
        {"identifier": "given", "format": {"type": "string", "encoding": "utf-8"},
         "hashing": {"comparison": {"type": "ngram", "n": 2},
                     "strategy": {"bitsPerToken": 15}, "hash": {"type": "blakeHash"}}},
        {"identifier": "surname", "format": {"type": "string", "encoding": "utf-8"},
         "hashing": {"comparison": {"type": "ngram", "n": 2},
                     "strategy": {"bitsPerToken": 15}, "hash": {"type": "blakeHash"}}},
        {"identifier": "dob", "format": {"type": "string", "encoding": "utf-8"},
         "hashing": {"comparison": {"type": "ngram", "n": 1, "positional": True},
                     "strategy": {"bitsPerToken": 30}, "hash": {"type": "blakeHash"}}},
    ],
}


def read(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[1:]


def main() -> None:
    left_path, right_path = sys.argv[1], sys.argv[2]
    thresholds = [float(x) for x in sys.argv[3].split(",")]
    secret = os.environ["PEER_SECRET"]
    schema = from_json_dict(SCHEMA)
    t0 = time.perf_counter()
    left = clk.generate_clks(read(left_path), schema, secret)
    right = clk.generate_clks(read(right_path), schema, secret)
    encode_seconds = time.perf_counter() - t0
    for threshold in thresholds:
        t1 = time.perf_counter()
        candidates = anonlink.candidate_generation.find_candidate_pairs(
            [left, right], anonlink.similarities.dice_coefficient_accelerated, threshold)
        groups = anonlink.solving.greedy_solve(candidates)
        pairs = []
        for group in groups:
            members = sorted(group)
            if len(members) == 2 and members[0][0] == 0 and members[1][0] == 1:
                pairs.append((members[0][1], members[1][1]))
        print(json.dumps({"threshold": threshold, "pairs": pairs,
                          "encode_seconds": encode_seconds,
                          "match_seconds": time.perf_counter() - t1}))


if __name__ == "__main__":
    main()
