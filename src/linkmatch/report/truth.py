"""What a truth file adds to the review page: measured quality instead of expected quality.

A truth file (``left_id, right_id`` of every true pair, optional ``corruption``) is the
evaluator's, on test or reviewed data. From it the page draws the precision–recall curve, the
reliability diagram (are the scores calibrated?), recall by corruption type and the share of
look-alike pairs (siblings, namesakes) correctly left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from linkmatch.evaluate import Evaluation, evaluate

__all__ = ["TruthSummary", "summarise_truth"]


def _keys(frame: pd.DataFrame) -> pd.Series:
    return frame["left_id"].astype(str) + "\x1f" + frame["right_id"].astype(str)


@dataclass(frozen=True)
class TruthSummary:
    """Measured quality of a candidates file against a truth file.

    Attributes:
        is_true: per candidate (in the candidates' order), whether the pair is in the truth.
        recall: recall after each candidate, candidates ranked by descending score.
        precision: precision after each candidate, same ranking.
        evaluation: counts and rates at the chosen threshold (with recall by corruption type
            and the share of look-alikes left out, when known).
    """

    is_true: npt.NDArray[np.bool_]
    recall: npt.NDArray[np.float64]
    precision: npt.NDArray[np.float64]
    evaluation: Evaluation


def summarise_truth(candidates: pd.DataFrame, truth: pd.DataFrame, threshold: float,
                    hard_negatives: pd.DataFrame | None = None) -> TruthSummary:
    """Rank the candidates by score and count them against the truth file."""
    true = set(_keys(truth))
    is_true = _keys(candidates).isin(true).to_numpy()
    scores = candidates["score"].to_numpy(dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")
    hits = np.cumsum(is_true[order])
    precision = hits / np.arange(1, len(order) + 1)
    recall = hits / max(len(true), 1)
    ev = evaluate(candidates, truth, threshold=threshold, hard_negatives=hard_negatives)
    return TruthSummary(is_true=is_true, recall=recall.astype(np.float64),
                        precision=precision.astype(np.float64), evaluation=ev)


def thinned(values: npt.NDArray[np.float64], most: int = 400) -> npt.NDArray[np.float64]:
    """At most ``most`` evenly spaced points of a curve, the last one kept (a small SVG)."""
    if len(values) <= most:
        return values
    index = np.unique(np.linspace(0, len(values) - 1, most).round().astype(np.int64))
    return values[index]
