"""End to end at scale, side by side: linkmatch vs splink vs clkhash+anonlink on one job.

The job: the project's synthetic asylum file (``--left`` records) against a reference list
(``--right`` persons, with aliases), from CSV files to candidates with real record ids. Each
tool runs in its own subprocess, one after the other (never concurrently), and is measured the
same way: wall time, and peak memory as the largest proportional set size (PSS) of the tool's
whole process tree, sampled every 0.2 s (PSS counts pages shared between worker processes once).

* linkmatch: the three-party workflow through the CLI — ``keygen``, ``encode`` both files,
  ``match`` (linkage unit, all cores), ``reveal`` both sides — as the users would run it.
* splink 4 (DuckDB, EM-trained as its tutorials do) on the plain preparation of
  ``quality.py``: folded names, ISO dates.
* clkhash + anonlink (keyed CLKs of given name, surname, date of birth; anonlink's candidate
  generation at 0.8), from the peers' environment (``benchmarks/setup_peers.sh``).

Run (about 15 minutes at the default size on 2 cores)::

    .venv/bin/python benchmarks/scale.py --left 1000000 --right 50000 --json scale.json

Generated data are kept in ``--work`` (default: ``linkmatch-scale`` in the temporary
directory) for reruns.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parent.parent
LINKMATCH = [sys.executable, "-m", "linkmatch"]


def _tree(pid: int) -> list[int]:
    """The process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _pss_kib(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def measured(argv: list[str], *, env: dict[str, str] | None = None,
             timeout: float | None = None) -> tuple[float, int, str]:
    """Run a command; return (seconds, peak PSS in MiB of its process tree, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _pss_kib(_tree(proc.pid)))
            stop.wait(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        stop.set()
        thread.join()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, peak // 1024, out


def generate_data(work: Path, left: int, right: int, seed: int, profile: str) -> None:
    marker = work / f"data-{left}-{right}-{seed}-{profile}.done"
    if marker.exists():
        return
    from linkmatch.synth import generate

    work.mkdir(parents=True, exist_ok=True)
    data = generate(seed=seed, n_left=left, n_right=right, profile=profile)
    data.left.to_csv(work / "left.csv", index=False)
    data.right.to_csv(work / "right.csv", index=False)
    data.truth.to_csv(work / "truth.csv", index=False)
    for old in work.glob("data-*.done"):
        old.unlink()
    marker.touch()


def replicate(work: Path, times: int) -> Path:
    """A copy of the job's left file ``times`` over, record ids suffixed (memory scaling: the
    same people many times over, as large as wanted, without generating them)."""
    import csv

    target = work / f"left-x{times}.csv"
    if target.exists():
        return target
    tmp = target.with_suffix(".part")
    with (work / "left.csv").open(encoding="utf-8", newline="") as src, \
            tmp.open("w", encoding="utf-8", newline="") as dst:
        rows = csv.reader(src)
        out = csv.writer(dst)
        header = next(rows)
        out.writerow(header)
        body = list(rows)
        rid = header.index("record_id")
        for k in range(times):
            for row in body:
                row = list(row)
                row[rid] = f"{row[rid]}-r{k}"
                out.writerow(row)
    tmp.replace(target)
    return target


def run_linkmatch(work: Path, workers: int | None, left: Path | None = None,
                  evaluate_truth: bool = True, name_bands: bool = False,
                  max_block_pairs: int | None = None) -> dict[str, Any]:
    from linkmatch.evaluate import evaluate

    left = left or work / "left.csv"
    key = work / "scale.key"
    key.unlink(missing_ok=True)
    steps: list[tuple[str, list[str]]] = [
        ("keygen", ["keygen", "--out", str(key)]),
        ("encode left", ["encode", str(left), "--key-file", str(key), "--out",
                         str(work / "A.lmenc")]),
        ("encode right", ["encode", str(work / "right.csv"), "--key-file", str(key), "--out",
                          str(work / "B.lmenc")]),
        ("match", ["match", str(work / "A.lmenc"), str(work / "B.lmenc"), "--out",
                   str(work / "cand.parquet"),
                   *(["--workers", str(workers)] if workers else []),
                   *(["--name-bands"] if name_bands else []),
                   *(["--max-block-pairs", str(max_block_pairs)] if max_block_pairs else [])]),
        ("reveal left", ["reveal", str(work / "cand.parquet"), "--side", "left", "--encoded",
                         str(work / "A.lmenc"), "--input", str(left),
                         "--key-file", str(key), "--out", str(work / "rev1.parquet")]),
        ("reveal right", ["reveal", str(work / "rev1.parquet"), "--side", "right",
                          "--encoded", str(work / "B.lmenc"), "--input",
                          str(work / "right.csv"), "--key-file", str(key), "--out",
                          str(work / "revealed.parquet")]),
    ]
    phases, phase_mib = {}, {}
    peak = 0
    for name, args in steps:
        seconds, mib, _ = measured([*LINKMATCH, "--quiet", "--audit-log",
                                    str(work / "audit.jsonl"), *args])
        phases[name] = round(seconds, 1)
        phase_mib[name] = mib
        peak = max(peak, mib)
    cands = pd.read_parquet(work / "revealed.parquet")
    figures: dict[str, Any] = {"precision": float("nan"), "recall": float("nan"),
                               "f1": float("nan")}
    if evaluate_truth:
        figures = evaluate(cands, pd.read_csv(work / "truth.csv", dtype=str)).to_dict()
    rows = sum(1 for _ in left.open(encoding="utf-8")) - 1
    return {"tool": "linkmatch (keyed, CLI, streaming)", "left_rows": rows,
            "candidates": len(cands), "seconds": sum(phases.values()),
            "peak_mib": peak, "phases": phases, "phase_peak_mib": phase_mib, **figures}


def run_splink_tool(work: Path) -> dict[str, Any]:
    seconds, mib, out = measured([sys.executable, __file__, "--tool", "splink", "--work",
                                  str(work)])
    return {**json.loads(out.strip().splitlines()[-1]), "seconds": seconds, "peak_mib": mib}


def run_clk_tool(work: Path) -> dict[str, Any]:
    seconds, mib, out = measured([sys.executable, __file__, "--tool", "clk", "--work",
                                  str(work)])
    return {**json.loads(out.strip().splitlines()[-1]), "seconds": seconds, "peak_mib": mib}


def _tool_main(tool: str, work: Path) -> None:
    """Inside a measured subprocess: one peer tool on the job's CSV files."""
    import quality

    left = pd.read_csv(work / "left.csv", dtype=str, keep_default_na=False)
    right = pd.read_csv(work / "right.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(work / "truth.csv", dtype=str)
    if tool == "splink":
        result = quality.run_splink(left, right, truth)
    else:
        os.environ.setdefault("PEER_SECRET", secrets.token_hex(32))
        quality.PEER_THRESHOLDS = (0.8,)
        result = quality.run_clk_anonlink(left, right, truth)[0]
    print(json.dumps({k: v for k, v in result.items() if k != "seconds"}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--left", type=int, default=1_000_000)
    parser.add_argument("--right", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", choices=("hard", "typical"), default="hard")
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "linkmatch-scale")
    parser.add_argument("--peers", default="splink,clk",
                        help="comma-separated peers to run (splink, clk; '' for none)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--name-bands", action="store_true",
                        help="linkmatch matches with --name-bands (blocking on the filters' bands)")
    parser.add_argument("--max-block-pairs", type=int, default=None,
                        help="linkmatch matches with this --max-block-pairs (default: its own)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--replicate", type=int, default=1,
                        help="memory scaling: the left file this many times over (ids "
                             "suffixed); linkmatch only, no quality figures")
    parser.add_argument("--tool", choices=("splink", "clk"), default=None,
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tool:
        _tool_main(args.tool, args.work)
        return
    t0 = time.perf_counter()
    generate_data(args.work, args.left, args.right, args.seed, args.profile)
    print(f"data ready in {time.perf_counter() - t0:.0f} s: {args.left:,} × {args.right:,} "
          f"({args.profile}, seed {args.seed})", flush=True)
    if args.replicate > 1:
        big = replicate(args.work, args.replicate)
        result = run_linkmatch(args.work, args.workers, left=big, evaluate_truth=False)
        print(json.dumps(result))
        if args.json:
            args.json.write_text(json.dumps({"right": args.right, "seed": args.seed,
                                             "replicate": args.replicate, "rows": [result]},
                                            indent=2))
        return
    rows = [run_linkmatch(args.work, args.workers, name_bands=args.name_bands,
                          max_block_pairs=args.max_block_pairs)]
    print(json.dumps(rows[-1]), flush=True)
    peers = [p for p in args.peers.split(",") if p]
    if "splink" in peers:
        rows.append(run_splink_tool(args.work))
        print(json.dumps(rows[-1]), flush=True)
    if "clk" in peers:
        rows.append(run_clk_tool(args.work))
        print(json.dumps(rows[-1]), flush=True)
    lm = rows[0]
    print(f"\n{'tool':42} {'seconds':>8} {'peak MiB':>9} {'P':>6} {'R':>6} {'F1':>6} "
          f"{'time vs lm':>10}")
    for r in rows:
        print(f"{r['tool']:42} {r['seconds']:8.1f} {r['peak_mib']:9d} {r['precision']:6.3f} "
              f"{r['recall']:6.3f} {r['f1']:6.3f} {r['seconds'] / lm['seconds']:10.2f}")
    print(f"linkmatch phases (s): {lm['phases']}")
    print(f"linkmatch phases (peak MiB): {lm['phase_peak_mib']}")
    if args.json:
        args.json.write_text(json.dumps({"left": args.left, "right": args.right,
                                         "seed": args.seed, "profile": args.profile,
                                         "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
