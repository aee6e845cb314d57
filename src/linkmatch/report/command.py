"""The ``linkmatch report`` subcommand and the pages ``demo`` and ``evaluate --report`` write.

Kept beside the page code so that :mod:`linkmatch.cli` stays a list of thin subcommands.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from linkmatch.report import review_input, write_report

__all__ = ["add_parser", "demo_pages", "run", "write_truth_page"]

log = logging.getLogger("linkmatch")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report`` to the command's subparsers."""
    p = sub.add_parser(
        "report", help="one self-contained HTML review page (no network; prints to PDF)",
        description="The linkage unit's view (pseudonymous) of a candidates file; with "
                    "--revealed and --input, the holder's view: its own records beside each "
                    "candidate and a decision per candidate, saved as CSV for "
                    "`linkmatch evaluate --truth`.")
    p.add_argument("candidates", type=Path,
                   help="candidates from `linkmatch match` (its .manifest.json beside it)")
    p.add_argument("--out", type=Path, required=True, help="the HTML page to write")
    p.add_argument("--revealed", type=Path, default=None,
                   help="this holder's `linkmatch reveal` output of the same candidates")
    p.add_argument("--input", type=Path, default=None,
                   help="this holder's own person file (its plain records are shown)")
    p.add_argument("--side", choices=("left", "right"), default=None,
                   help="the holder's side (default: the side --revealed shows record ids of)")


def run(args: argparse.Namespace) -> int:
    """``linkmatch report``: read, check, write the page, say where it is."""
    review = review_input(args.candidates, revealed=args.revealed, records=args.input,
                          side=args.side)
    size = write_report(args.out, review)
    log.info("%s view of %d candidate(s) → %s (%.1f MB)", review.view, len(review.candidates),
             args.out, size / 1e6)
    return 0


def write_truth_page(candidates: Path, truth: pd.DataFrame, out: Path,
                     hard_negatives: pd.DataFrame | None) -> int:
    """``evaluate --report``: the unit's view plus quality measured on the truth file."""
    review = review_input(candidates, truth=truth, hard_negatives=hard_negatives)
    return write_report(out, review)


def demo_pages(out_dir: Path, *, unit: Path, revealed: Path, records: Path, candidates: Path,
               truth: pd.DataFrame, hard_negatives: pd.DataFrame) -> dict[str, Path]:
    """The demo's three review pages: the unit's, the left holder's, the evaluation."""
    pages = {"linkage unit": out_dir / "report_unit.html",
             "asylum holder (decisions)": out_dir / "report_holder_left.html",
             "evaluation (truth file)": out_dir / "report_evaluation.html"}
    write_report(pages["linkage unit"], review_input(unit))
    write_report(pages["asylum holder (decisions)"],
                 review_input(unit, revealed=revealed, records=records, side="left"))
    write_truth_page(candidates, truth, pages["evaluation (truth file)"], hard_negatives)
    return pages
