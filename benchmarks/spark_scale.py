"""Local engine vs Spark ``local[2]`` on the same match job: wall time, phases, same bytes.

The job: the project's synthetic asylum file (``--left`` records) against a reference list
(``--right`` persons), encoded once under one key (kept in ``--work`` for reruns), then matched
by the linkage unit's command twice, one run after the other on the same machine (never
concurrently):

* ``linkmatch match L R --out local.csv`` (local engine, one worker process per core), and
* ``linkmatch match L R --out spark.csv --engine spark --spark-master local[2]``.

Each row gives the command's wall time (process start to exit: for Spark this includes starting
and stopping the JVM and the Python workers) and the phases from the run's manifest; the last
column checks that both candidate files are byte-identical. With ``--warm``, one more row: the
same job twice through the Python API on one running Spark session, timing the second run (what
a notebook or a service that keeps its session pays; no JVM start, Python workers warm). Prints
a Markdown table for docs/scale-out.md (``--json`` writes the figures too).

Run (the small job of docs/scale-out.md, about a minute and a half on 2 cores)::

    .venv/bin/python benchmarks/spark_scale.py --left 100000 --right 5000

The large row of docs/scale-out.md (about 4 minutes on 2 cores, data generation included)::

    .venv/bin/python benchmarks/spark_scale.py --left 1000000 --right 50000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import linkmatch
from linkmatch.encode import encode_frame
from linkmatch.io import ENCODED_FORMAT, write_encoded
from linkmatch.synth import generate

KEY = linkmatch.Key.from_bytes(bytes(range(21, 53)), weak_ok=True)
LINKMATCH = [sys.executable, "-m", "linkmatch", "-q"]


def _encoded(work: Path, left: int, right: int, seed: int) -> tuple[Path, Path]:
    """The two encoded files of this size (made once per encoded format, then reused)."""
    folder = work / f"{left}x{right}-seed{seed}-{ENCODED_FORMAT.rsplit('/', 1)[-1]}"
    paths = folder / "left.lmenc", folder / "right.lmenc"
    if all(p.exists() for p in paths):
        return paths
    t0 = time.perf_counter()
    data = generate(seed=seed, n_left=left, n_right=right)
    for frame, path in ((data.left, paths[0]), (data.right, paths[1])):
        encoded = encode_frame(frame, KEY)
        write_encoded(encoded.table, encoded.manifest, path)
    print(f"generated and encoded {left:,} × {right:,} in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    return paths


def _run(name: str, command: list[str], out: Path) -> dict[str, Any]:
    """Run one match command; its wall time and its manifest's figures."""
    t0 = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "LINKMATCH_AUDIT_LOG": str(out.with_suffix(".audit"))})
    wall = time.perf_counter() - t0
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    return {"engine": name, "wall_seconds": round(wall, 1), "seconds": manifest["seconds"],
            "pairs_compared": manifest["counts"]["pairs_compared"],
            "candidates": manifest["counts"]["candidates"], "workers": manifest["workers"],
            "spark": manifest.get("spark")}


def _warm(left: Path, right: Path, master: str, local_out: Path) -> dict[str, Any]:
    """The Spark job run twice on one session; the second run's figures."""
    from linkmatch.engines.spark import session

    with session(master=master) as spark:
        for _ in range(2):
            result = linkmatch.match(left, right, engine="spark", spark=spark)
    manifest = result.manifest
    warm = result.candidates.to_csv(index=False, lineterminator="\n")
    return {"engine": f"spark {master}, warm session", "wall_seconds": None,
            "seconds": manifest["seconds"],
            "pairs_compared": manifest["counts"]["pairs_compared"],
            "candidates": len(result.candidates), "workers": manifest["workers"],
            "spark": manifest["spark"], "identical": warm.encode() == local_out.read_bytes()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--left", type=int, default=100_000)
    parser.add_argument("--right", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "linkmatch-spark-scale")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--warm", action="store_true",
                        help="also time a second run on one running Spark session")
    parser.add_argument("--cogroup", action="store_true",
                        help="also run Spark's co-group plan (--spark-plan cogroup), the plan "
                             "for a right side too large to broadcast")
    args = parser.parse_args()

    left, right = _encoded(args.work, args.left, args.right, args.seed)
    out_dir = left.parent
    local_out, spark_out = out_dir / "local.csv", out_dir / "spark.csv"
    rows = [
        _run("local", [*LINKMATCH, "match", str(left), str(right), "--out", str(local_out)],
             local_out),
        _run(f"spark {args.master}",
             [*LINKMATCH, "match", str(left), str(right), "--out", str(spark_out),
              "--engine", "spark", "--spark-master", args.master], spark_out),
    ]
    identical = local_out.read_bytes() == spark_out.read_bytes()
    if args.cogroup:
        cogroup_out = out_dir / "spark-cogroup.csv"
        rows.append(_run(f"spark {args.master}, co-group plan",
                         [*LINKMATCH, "match", str(left), str(right), "--out", str(cogroup_out),
                          "--engine", "spark", "--spark-master", args.master,
                          "--spark-plan", "cogroup"], cogroup_out))
        identical = identical and local_out.read_bytes() == cogroup_out.read_bytes()
    if args.warm:
        rows.append(_warm(left, right, args.master, local_out))
        identical = identical and rows[-1].pop("identical")
    print(f"\n{args.left:,} × {args.right:,} (seed {args.seed}), "
          f"{rows[0]['pairs_compared']:,} pairs compared, {rows[0]['candidates']:,} candidates; "
          f"candidate files byte-identical: {'yes' if identical else 'NO'}\n")
    print("| engine | wall (command) | match | statistics | compare | model | score |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        s = row["seconds"]
        wall = "–" if row["wall_seconds"] is None else f"{row['wall_seconds']:.1f} s"
        print(f"| {row['engine']} ({row['workers']} cores) | {wall} | "
              f"{s['total']:.1f} s | {s['index']:.1f} s | {s['compare']:.1f} s | "
              f"{s['model']:.1f} s | {s['score']:.1f} s |")
    for row in rows[1:]:
        spark = row["spark"]
        if spark:
            buckets = f", {spark['buckets']} buckets" if spark.get("buckets") else ""
            print(f"\n{row['engine']}: plan {spark.get('plan')}, {spark['partitions']} "
                  f"partitions{buckets}; broadcast (pickled) "
                  + ", ".join(f"{k} {v / 2**20:.1f} MiB"
                              for k, v in spark["broadcast_bytes"].items())
                  + "; results collected "
                  + ", ".join(f"{k} {v / 2**20:.1f} MiB"
                              for k, v in spark["result_bytes"].items()))
    if args.json:
        args.json.write_text(json.dumps({"left": args.left, "right": args.right,
                                         "seed": args.seed, "identical": identical,
                                         "runs": rows}, indent=2) + "\n")
    if not identical:
        sys.exit("the two engines' candidates differ")


if __name__ == "__main__":
    main()
