"""Encoding with one process and with one per core: wall time and peak memory, side by side.

The input: the project's synthetic asylum file (``--rows`` records, seed 0) as CSV, as holders
have it (kept in ``--work`` for reruns). ``linkmatch encode`` runs on it twice, one after the
other, with ``--workers 1`` and ``--workers 2``; each run is measured as ``scale.py`` measures:
wall time, and the peak proportional set size (PSS) of the command's whole process tree,
sampled every 0.2 s. Prints records/s and peak memory. (Each run draws its own job salt, so the
two files differ; that any number of workers gives the same file under one salt is what
``tests/integration/test_streaming.py`` checks.)

Run: ``.venv/bin/python benchmarks/encode_workers.py --rows 1000000`` (about 3 minutes);
``--replicate 10 --workers 2`` encodes the file ten times over (10,000,000 rows, record ids
suffixed, as ``scale.py --replicate`` does) with two processes only (about 5 minutes).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from linkmatch.io import read_manifest
from linkmatch.pseudonymise.keys import generate_key_file
from linkmatch.synth import generate
from scale import measured, replicate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "linkmatch-encode-workers")
    parser.add_argument("--replicate", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    work = args.work / f"rows-{args.rows}"
    work.mkdir(parents=True, exist_ok=True)
    source = work / "left.csv"  # the name scale.replicate reads
    if not source.exists():
        tmp = work / "left.part"
        generate(seed=0, n_left=args.rows, n_right=10).left.to_csv(tmp, index=False)
        tmp.replace(source)
    if args.replicate > 1:
        source = replicate(work, args.replicate)
    key = work / "linkage.key"
    if not key.exists():
        generate_key_file(key)
    env = {**os.environ, "LINKMATCH_AUDIT_LOG": str(work / "audit.jsonl")}
    print(f"{args.rows * args.replicate:,} rows (CSV)")
    print("| workers | wall | records/s | peak PSS (process tree) |")
    print("|---:|---:|---:|---:|")
    for workers in args.workers:
        out = work / f"w{workers}.lmenc"
        seconds, peak, _ = measured([sys.executable, "-m", "linkmatch", "-q", "encode",
                                     str(source), "--key-file", str(key), "--out", str(out),
                                     "--workers", str(workers)], env=env)
        rows = read_manifest(out)["counts"]["rows_encoded"]
        print(f"| {workers} | {seconds:.1f} s | {rows / seconds:,.0f} | {peak:,} MiB |")


if __name__ == "__main__":
    main()
