"""Encoding a Parquet person table: the local engine vs Spark ``local[2]``, side by side.

The table: the project's synthetic asylum file (``--rows`` records, seed 1), written once as
Parquet (kept in ``--work`` for reruns). Then, one after the other on the same machine, under
one key and one job salt: :func:`linkmatch.encode.encode_file` (the local engine, one process)
and :func:`linkmatch.engines.spark_encode.encode_file` on a ``local[2]`` session started for the
run. Prints wall time, records/s and whether the two encoded files hold the same rows (their
content digests, which cover every row in order, are compared).

Run: ``.venv/bin/python benchmarks/spark_encode.py --rows 1000000`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import linkmatch
from linkmatch.encode import encode_file
from linkmatch.synth import generate

KEY = linkmatch.Key.from_bytes(bytes(range(21, 53)), weak_ok=True)
SALT = bytes(range(16))
TODAY = dt.date(2026, 11, 29)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "linkmatch-spark-encode")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    table = args.work / f"people-{args.rows}.parquet"
    if not table.exists():
        generate(seed=1, n_left=args.rows, n_right=10).left.to_parquet(table, index=False)

    t0 = time.perf_counter()
    local = encode_file(table, args.work / "local.lmenc", KEY, job_salt=SALT, today=TODAY)
    local_s = time.perf_counter() - t0

    from linkmatch.engines.spark import session
    from linkmatch.engines.spark_encode import encode_file as spark_encode_file

    t0 = time.perf_counter()
    with session(master=args.master) as spark:
        started = time.perf_counter()
        remote = spark_encode_file(table, args.work / "spark.lmenc", KEY, spark=spark,
                                   job_salt=SALT, today=TODAY)
        inside = time.perf_counter() - started
    spark_s = time.perf_counter() - t0
    same = local.manifest["content_sha256"] == remote.manifest["content_sha256"]
    print(f"{args.rows:,} rows; same encoded rows (content digest): {'yes' if same else 'NO'}")
    print("| engine | wall | records/s |")
    print("|---|---:|---:|")
    print(f"| local (encode_file, one process) | {local_s:.1f} s | {args.rows / local_s:,.0f} |")
    print(f"| Spark {args.master} (session start and stop included) | {spark_s:.1f} s | "
          f"{args.rows / spark_s:,.0f} |")
    print(f"| Spark {args.master}, encoding only | {inside:.1f} s | {args.rows / inside:,.0f} |")


if __name__ == "__main__":
    main()
