"""Speed side by side: encoding records/s and Dice comparisons/s, linkmatch vs clkhash+anonlink.

Same synthetic person data for both: given name, surname, date of birth (the fields clkhash
encodes), and for linkmatch also its full person schema. Kernels: linkmatch's all-pairs
candidate kernel vs anonlink's accelerated Dice at threshold 0.8 on the same number of pairs,
plus linkmatch's gathered-pairs kernel (the one matching uses). clkhash and anonlink run in
their own environment (``benchmarks/setup_peers.sh``) as a subprocess of this script, on the
same machine, one after the other (never concurrently). Prints the ratios.

Encoding is timed two ways. One core: ``encode_frame`` in chunks (as one encode worker reads
them) against clkhash in memory with ``max_workers=1``. Every core, as a user runs each tool:
``encode_file`` from a CSV file to an encoded file (its default, one process per core) against
clkhash's ``generate_clk_from_csv`` from the same records as CSV (its default, one process per
core; it keeps the filters in memory, linkmatch writes and sorts its encoded file).

Run (3 min 13 s on 2 cores, peers included)::

    .venv/bin/python benchmarks/speed.py [--records 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import linkmatch
from linkmatch._parallel import default_workers
from linkmatch.compare.dice import dice_candidates, dice_pairs, kernel_threads, popcounts
from linkmatch.compare.levels import EncodedSide
from linkmatch.encode import DEFAULT_CHUNK_ROWS, encode_file, encode_frame
from linkmatch.schema import Schema
from linkmatch.synth import generate

sys.path.insert(0, str(Path(__file__).parent))
from quality import _splink_frame, peer_python

KEY = linkmatch.Key.from_bytes(bytes(range(9, 41)), weak_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS // default_workers(),
                        help="rows per encode_frame call (default: what each encode worker reads)")
    parser.add_argument("--kernel-left", type=int, default=4_000)
    parser.add_argument("--kernel-right", type=int, default=4_000)
    args = parser.parse_args()
    data = generate(seed=3, n_left=args.records, n_right=max(args.records // 20, 10))
    frame = data.left

    # the same three fields clkhash encodes (given name, surname, date of birth), then the
    # whole person schema of the generated data; one process, in chunks as an encode worker
    # reads them (its caches of distinct values carry over from chunk to chunk)
    three = frame[["record_id", "given_names", "family_name", "date_of_birth"]]
    encode_frame(frame.head(2000), KEY)  # warm-up (imports, dictionaries, compiled kernels)
    lm_encode = _chunked_rate(three, args.chunk_rows)
    lm_encode_all = _chunked_rate(frame, args.chunk_rows)
    # the kernels compare plain (unhardened) filters, like anonlink's CLKs: a balanced filter
    # has the same weight as every other, so bit-count pruning (which anonlink does too) has
    # nothing to prune, and Dice ≥ 0.8 means something else on it (see docs/privacy.md)
    side = EncodedSide(encode_frame(frame, KEY, schema=Schema().unhardened()).table)
    n_l, n_r = args.kernel_left, args.kernel_right
    left, right = side.bloom[:n_l], side.bloom[n_l:n_l + n_r]
    dice_candidates(left[:50], right[:50], 0.8)  # compile (or load the cached machine code)
    # each kernel's best of three calls, as for anonlink's (a call is a fraction of a second,
    # and a single timing of it varied by up to 2x between runs)
    lm_kernel = _best_rate(n_l * n_r, lambda: dice_candidates(left, right, 0.8))
    li = np.repeat(np.arange(n_l, dtype=np.intp), n_r)
    ri = np.tile(np.arange(n_l, n_l + n_r, dtype=np.intp), n_l)
    counts = popcounts(side.bloom)
    lm_pairs = _best_rate(len(li), lambda: dice_pairs(side.bloom, side.bloom, li, ri,
                                                       left_counts=counts, right_counts=counts))

    result = {"records": len(frame), "kernel_threads": kernel_threads(),
              "linkmatch_records_per_s": lm_encode,
              "linkmatch_records_per_s_all_fields": lm_encode_all,
              "linkmatch_comparisons_per_s": lm_kernel,
              "linkmatch_gathered_pairs_per_s": lm_pairs}
    with tempfile.TemporaryDirectory() as tmp:
        # both cores, as a user runs it: a CSV file in, an encoded file out (`encode_file`,
        # one process per core, the default)
        source = Path(tmp) / "three.csv"
        three.to_csv(source, index=False)
        t0 = time.perf_counter()
        encode_file(source, Path(tmp) / "three.lme", KEY)
        result["linkmatch_file_records_per_s"] = len(frame) / (time.perf_counter() - t0)
        result["linkmatch_encode_workers"] = default_workers()
    python = peer_python()
    if python is not None:
        prep = _splink_frame(frame)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "people.csv"
            prep.assign(
                given=prep["first_name"].fillna(""), surname=prep["surname"].fillna(""),
                dob=prep["dob"].fillna("").str.replace("-", "", regex=False),
            )[["given", "surname", "dob"]].to_csv(path, index=False)
            proc = subprocess.run(
                [python, str(Path(__file__).parent / "peers" / "clk_speed.py"), str(path),
                 str(n_l), str(n_r)],
                capture_output=True, text=True, check=True,
                env=dict(os.environ, PEER_SECRET=secrets.token_hex(32),
                         PYTHONPATH=str(Path(__file__).parent / "peers")),
            )
        peer = json.loads(proc.stdout.strip().splitlines()[-1])
        result.update(peer)
        result["encode_ratio_one_core"] = lm_encode / peer["clkhash_one_core_records_per_s"]
        result["encode_ratio_vs_clkhash"] = (result["linkmatch_file_records_per_s"]
                                             / peer["clkhash_file_records_per_s"])
        result["kernel_ratio_vs_anonlink"] = lm_kernel / peer["anonlink_comparisons_per_s"]
    for name, value in result.items():
        print(f"{name:32} {value:,.2f}" if isinstance(value, float) else f"{name:32} {value}")


def _best_rate(work: int, call: Callable[[], object], repeats: int = 3) -> float:
    """The best of ``repeats`` timed calls, as work done per second."""
    best = 0.0
    for _ in range(repeats):
        t1 = time.perf_counter()
        call()
        best = max(best, work / (time.perf_counter() - t1))
    return best


def _chunked_rate(frame: pd.DataFrame, chunk_rows: int) -> float:
    """Records/s of ``encode_frame`` over ``frame`` in chunks (one process)."""
    t0 = time.perf_counter()
    for start in range(0, len(frame), chunk_rows):
        encode_frame(frame.iloc[start:start + chunk_rows], KEY)
    return len(frame) / (time.perf_counter() - t0)


if __name__ == "__main__":
    main()
