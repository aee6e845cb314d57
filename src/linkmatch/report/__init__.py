"""Review pages: one self-contained HTML file per job, for analysts and data-protection officers.

``linkmatch report`` writes the linkage unit's view (pseudonymous) or, given a holder's revealed
candidates and its own input, the holder's view; ``linkmatch evaluate --report`` writes the
view with quality measured on a truth file. Modules: :mod:`~linkmatch.report.data` (reading and
per-field contributions), :mod:`~linkmatch.report.truth` (measured quality),
:mod:`~linkmatch.report.charts` (SVG), :mod:`~linkmatch.report.page` (the HTML).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from linkmatch.errors import ConfigError
from linkmatch.report.data import (
    Side,
    own_records,
    read_match_manifest,
    read_review_candidates,
    revealed_side,
)
from linkmatch.report.page import ReviewInput, write
from linkmatch.report.truth import summarise_truth

__all__ = ["ReviewInput", "review_input", "write_report"]


def review_input(candidates: Path, *, revealed: Path | None = None, records: Path | None = None,
                 side: Side | None = None, truth: pd.DataFrame | None = None,
                 hard_negatives: pd.DataFrame | None = None) -> ReviewInput:
    """Read and check what a page shows; which view follows from what is given.

    Args:
        candidates: the linkage unit's candidates (its manifest beside it gives the model).
        revealed: this holder's ``reveal`` output of those candidates (holder's view).
        records: this holder's own input file (holder's view; with ``revealed``).
        side: the holder's side; by default the side whose ids are not pseudonyms.
        truth: true pairs (truth view).
        hard_negatives: look-alike pairs that are not matches (truth view).

    Raises:
        ConfigError: ``revealed`` without ``records`` (or the reverse), a revealed file whose
            other side is not pseudonymous, or one that is not from these candidates.
        InputDataError: an unreadable file or a missing column.
    """
    frame = read_review_candidates(candidates)
    manifest = read_match_manifest(candidates)
    if (revealed is None) != (records is None):
        raise ConfigError("the holder's view needs both --revealed and --input")
    if revealed is not None and records is not None:
        if truth is not None:
            raise ConfigError("a truth file and the holder's view do not go together")
        own = read_review_candidates(revealed)
        chosen = revealed_side(own, side, str(revealed))
        other = "right_id" if chosen == "left" else "left_id"
        if not set(own[other]) <= set(frame[other]):
            raise ConfigError(f"{revealed}: its {other} pseudonyms are not those of "
                              f"{candidates}; give the candidates this file was revealed from")
        wanted = set(own[f"{chosen}_id"])
        return ReviewInput(view="holder", candidates=own, manifest=manifest,
                           source=revealed.name, side=chosen,
                           own=own_records(records, wanted))
    if truth is not None:
        threshold = float(manifest["threshold"]) if manifest and manifest.get("threshold") \
            is not None else 0.0
        summary = summarise_truth(frame, truth, threshold, hard_negatives)
        return ReviewInput(view="truth", candidates=frame, manifest=manifest,
                           source=candidates.name, truth=summary)
    return ReviewInput(view="unit", candidates=frame, manifest=manifest, source=candidates.name)


def write_report(out: Path, review: ReviewInput) -> int:
    """Write the page to ``out`` (atomically); returns its size in bytes."""
    return write(review, out)
