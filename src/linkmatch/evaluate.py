"""Quality of a candidates file against ground truth: precision, recall, F1, and plots.

Pairs are compared at the person level (``left_id``, ``right_id``). The truth file lists every true
pair; optional columns give the corruption types applied (recall per type). Plots (matplotlib,
optional extra ``linkmatch[plot]``) show what a reviewer would rather look at than read: the score
histograms of true and false pairs with the threshold marked, and the precision–recall curve.

A truth file may instead be a reviewer's decisions (the CSV the holder's review page saves:
``left_id, right_id, score, decision`` with ``same``, ``not_same`` or ``unsure``): then only
the reviewed candidates are judged (:func:`evaluate_decisions`), which measures precision and
shows what each threshold would keep, but not recall (pairs never proposed were not reviewed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from linkmatch.errors import InputDataError

__all__ = ["DECISIONS", "Evaluation", "ReviewedEvaluation", "calibration", "evaluate",
           "evaluate_decisions", "plot"]

DECISIONS = ("same", "not_same", "unsure")
"""The values of a decisions file's ``decision`` column."""


@dataclass(frozen=True)
class Evaluation:
    """Counts and rates at one threshold."""

    threshold: float
    true_positives: int
    false_positives: int
    false_negatives: int
    recall_by_corruption: dict[str, float]
    hard_negative_precision: float | None
    hard_negatives_by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per kind of look-alike (``sibling``, ``twin``, ``namesake``…): (returned, listed)."""
    calibration_error: float | None = None
    """Calibration error of the scores over every candidate given (:func:`calibration`)."""
    expected_true_pairs: float | None = None
    """The sum of every given candidate's score: what the scores expect to be true."""
    recall_at_review_budget: float | None = None
    """Recall within the 2 × (true pairs) best-scored candidates given: what analysts find
    when they read that many."""
    candidates_given: int = 0
    """Candidates the three figures above are computed over (whatever the threshold)."""

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing was returned."""
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 1.0 when there is nothing to find."""
        total = self.true_positives + self.false_negatives
        return self.true_positives / total if total else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "threshold": self.threshold,
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
            "f1": round(self.f1, 6),
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "recall_by_corruption": {k: round(v, 6) for k, v in
                                     self.recall_by_corruption.items()},
            "hard_negative_precision": None if self.hard_negative_precision is None
            else round(self.hard_negative_precision, 6),
            "calibration_error": _rounded(self.calibration_error),
            "expected_true_pairs": _rounded(self.expected_true_pairs),
            "true_pairs": self.true_positives + self.false_negatives,
            "recall_at_review_budget": _rounded(self.recall_at_review_budget),
            "candidates_given": self.candidates_given,
            "hard_negatives_by_kind": {
                kind: {"returned": returned, "listed": listed,
                       "left_out": round(1.0 - returned / listed, 6) if listed else None}
                for kind, (returned, listed) in self.hard_negatives_by_kind.items()},
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def calibration(scores: npt.NDArray[np.float64], is_true: npt.NDArray[np.bool_],
                bins: int = 10) -> tuple[float, list[tuple[float, float, int]]]:
    """Calibration error and the reliability table of scores against the truth.

    A score is meant as the probability that the pair is the same person, so among pairs
    scored about 0.8, about 80 % should be true. The table lists each non-empty one of
    ``bins`` equal-width score bins as (mean score, share true, pairs); the error is the mean
    of |mean score - share true| over those bins, each bin counting once. (Weighting the bins
    by pairs, as the usual "expected calibration error" does, lets the mass of compared pairs
    scored near 0 hide any error above: at 20,000 x 2,000 it is 0.0002 whatever the scores
    above 0.1 do.) Computed over *every* pair given: run it on the candidates of
    ``--threshold 0`` (all compared pairs) to judge the whole model.
    """
    if not len(scores):
        return 0.0, []
    index = np.minimum((scores * bins).astype(np.int64), bins - 1)
    table = []
    for b in range(bins):
        sel = index == b
        n = int(sel.sum())
        if n:
            table.append((float(scores[sel].mean()), float(is_true[sel].mean()), n))
    return float(np.mean([abs(mean - share) for mean, share, _ in table])), table


def _pairs(frame: pd.DataFrame, label: str) -> pd.Series:
    for col in ("left_id", "right_id"):
        if col not in frame.columns:
            raise InputDataError(f"has no {col!r} column", file=label)
    return frame["left_id"].astype(str) + "\x1f" + frame["right_id"].astype(str)


def evaluate(candidates: pd.DataFrame, truth: pd.DataFrame, *, threshold: float | None = None,
             hard_negatives: pd.DataFrame | None = None) -> Evaluation:
    """Score ``candidates`` (rows with ``score ≥ threshold``) against ``truth``.

    Args:
        candidates: ``left_id, right_id, score`` at least.
        truth: ``left_id, right_id`` of every true pair; optional ``corruption`` column with
            ";"-separated corruption types.
        threshold: only candidates scoring at least this count (default: all rows).
        hard_negatives: look-alike pairs that are *not* matches (relatives, namesakes); reported
            as the precision on those pairs (the share of them correctly left out) and, with a
            ``kind`` column, per kind: how many of them the candidates return.
    """
    true_keys = _pairs(truth, "<truth>")
    true = set(true_keys)
    every = _pairs(candidates, "<candidates>")
    scores: npt.NDArray[np.float64] = np.asarray(
        candidates["score"] if "score" in candidates.columns else np.ones(len(candidates)),
        dtype=np.float64)
    is_true = every.isin(true).to_numpy()
    error, _ = calibration(scores, is_true)
    budget = np.argsort(-scores, kind="stable")[:2 * len(true)]
    at_budget = float(is_true[budget].sum() / len(true)) if true else None
    cand = candidates
    if threshold is not None:
        cand = cand[cand["score"].astype(float) >= threshold]
    found = set(_pairs(cand, "<candidates>"))
    tp = len(found & true)
    by_type: dict[str, float] = {}
    if "corruption" in truth.columns:
        hits: dict[str, list[bool]] = {}
        for pair, corr in zip(true_keys, truth["corruption"].fillna("").astype(str), strict=True):
            for kind in (c for c in corr.split(";") if c):
                hits.setdefault(kind, []).append(pair in found)
        by_type = {k: float(np.mean(v)) for k, v in sorted(hits.items())}
    hard: float | None = None
    by_kind: dict[str, tuple[int, int]] = {}
    if hard_negatives is not None and len(hard_negatives):
        keys = _pairs(hard_negatives, "<hard negatives>")
        hn = set(keys) - true
        hard = 1.0 - len(hn & found) / len(hn) if hn else None
        if "kind" in hard_negatives.columns:
            groups: dict[str, set[str]] = {}
            for pair, kind in zip(keys, hard_negatives["kind"].astype(str), strict=True):
                if pair not in true:
                    groups.setdefault(kind, set()).add(pair)
            by_kind = {k: (len(v & found), len(v)) for k, v in sorted(groups.items())}
    return Evaluation(
        threshold=float(threshold) if threshold is not None else 0.0,
        true_positives=tp,
        false_positives=len(found - true),
        false_negatives=len(true - found),
        recall_by_corruption=by_type,
        hard_negative_precision=hard,
        hard_negatives_by_kind=by_kind,
        calibration_error=error if len(candidates) else None,
        expected_true_pairs=float(scores.sum()) if len(candidates) else None,
        recall_at_review_budget=at_budget,
        candidates_given=len(candidates),
    )


@dataclass(frozen=True)
class ReviewedEvaluation:
    """What reviewed decisions say about the candidates at several thresholds.

    Attributes:
        threshold: the threshold of the headline counts.
        same, not_same, unsure: reviewed candidates at or above it, by decision.
        not_reviewed: candidates at or above it with no decision.
        by_threshold: per threshold, the counts and the precision over decided candidates
            (``same / (same + not_same)``, unsure left out) and the share of the pairs judged
            the same that the threshold keeps.
    """

    threshold: float
    same: int
    not_same: int
    unsure: int
    not_reviewed: int
    by_threshold: list[dict[str, Any]]

    @property
    def precision(self) -> float | None:
        """Share of the decided candidates judged the same person (None: none decided)."""
        decided = self.same + self.not_same
        return self.same / decided if decided else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"threshold": self.threshold, "same": self.same, "not_same": self.not_same,
                "unsure": self.unsure, "not_reviewed": self.not_reviewed,
                "precision": None if self.precision is None else round(self.precision, 6),
                "by_threshold": self.by_threshold}


def evaluate_decisions(candidates: pd.DataFrame, decisions: pd.DataFrame, *,
                       threshold: float | None = None,
                       label: str = "<decisions>") -> ReviewedEvaluation:
    """Judge candidates by a reviewer's decisions (``left_id, right_id, decision``).

    Scores come from ``candidates``, so a decisions file cannot move a pair's score. The
    table by threshold helps choose one: raising it drops the pairs judged "not the same"
    below it (precision up) and those judged "same person" too (their share kept goes down).

    Raises:
        InputDataError: a decision that is not one of :data:`DECISIONS`, or a decided pair
            that is not in the candidates (row and column named, never the value).
    """
    if "decision" not in decisions.columns:
        raise InputDataError("has no 'decision' column", file=label)
    verdict = decisions["decision"].astype(str).str.strip()
    bad = ~verdict.isin(DECISIONS)
    if bad.any():
        raise InputDataError(f"decision must be one of {', '.join(DECISIONS)}", file=label,
                             row=int(np.flatnonzero(bad.to_numpy())[0]) + 1, column="decision")
    cand = _pairs(candidates, "<candidates>")
    score_of = dict(zip(cand, candidates["score"].astype(float), strict=True))
    keys = _pairs(decisions, label)
    unknown = ~keys.isin(score_of)
    if unknown.any():
        raise InputDataError(
            f"{int(unknown.sum())} decided pair(s) are not in the candidates file (first at row "
            f"{int(np.flatnonzero(unknown.to_numpy())[0]) + 1}); give the candidates the "
            "review page was made from", file=label, column="left_id")
    decided = dict(zip(keys, verdict, strict=True))
    scores = np.array(list(score_of.values()), dtype=np.float64)
    which = np.array([decided.get(k, "") for k in score_of], dtype=object)
    at = float(threshold) if threshold is not None else float(scores.min()) if len(scores) \
        else 0.0
    total_same = int((which == "same").sum())

    def counts(t: float) -> dict[str, Any]:
        kept = scores >= t
        same = int((which[kept] == "same").sum())
        not_same = int((which[kept] == "not_same").sum())
        return {"threshold": round(t, 6), "candidates": int(kept.sum()), "same": same,
                "not_same": not_same, "unsure": int((which[kept] == "unsure").sum()),
                "precision": round(same / (same + not_same), 6) if same + not_same else None,
                "same_kept": round(same / total_same, 6) if total_same else None}

    cuts = sorted({at, *(t for t in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99) if t > at)})
    head = counts(at)
    return ReviewedEvaluation(threshold=at, same=head["same"], not_same=head["not_same"],
                              unsure=head["unsure"],
                              not_reviewed=head["candidates"] - head["same"] -
                              head["not_same"] - head["unsure"],
                              by_threshold=[counts(t) for t in cuts])


def plot(candidates: pd.DataFrame, truth: pd.DataFrame, out_dir: Path, *,
         threshold: float) -> list[Path]:
    """Draw the score histograms and the precision–recall curve as PNG files.

    Raises:
        ImportError: matplotlib is not installed (``pip install linkmatch[plot]``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from linkmatch.io import atomic_path

    out_dir.mkdir(parents=True, exist_ok=True)
    true = set(_pairs(truth, "<truth>"))
    keys = _pairs(candidates, "<candidates>")
    is_true = keys.isin(true).to_numpy()
    scores = candidates["score"].astype(float).to_numpy()
    written: list[Path] = []

    fig, ax = plt.subplots(figsize=(7, 4))
    bins = [i / 40 for i in range(41)]
    ax.hist(scores[~is_true], bins=bins, alpha=0.6, label="false pairs", color="tab:red")
    ax.hist(scores[is_true], bins=bins, alpha=0.6, label="true pairs", color="tab:blue")
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:g}")
    ax.set_yscale("log")
    ax.set_xlabel("score (match probability)")
    ax.set_ylabel("pairs")
    ax.set_title("Scores of true and false candidate pairs")
    ax.legend()
    path = out_dir / "score_histogram.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append(path)

    order = np.argsort(-scores, kind="mergesort")
    tp = np.cumsum(is_true[order])
    precision = tp / np.arange(1, len(order) + 1)
    recall = tp / max(len(true), 1)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(recall, precision, color="tab:blue")
    at = scores[order] >= threshold
    if at.any():
        k = int(np.nonzero(at)[0][-1])
        ax.plot([recall[k]], [precision[k]], "o", color="black",
                label=f"threshold {threshold:g}: P={precision[k]:.3f} R={recall[k]:.3f}")
        ax.legend(loc="lower left")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.set_title("Precision–recall")
    path = out_dir / "precision_recall.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append(path)
    return written
