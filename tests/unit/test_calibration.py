"""Scores are meant as probabilities: the evaluation measures how far they are from it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkmatch.evaluate import calibration, evaluate


def _frames(scores: np.ndarray, is_true: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = [f"L{i}" for i in range(len(scores))]
    candidates = pd.DataFrame({"left_id": ids, "right_id": "R", "score": scores})
    truth = pd.DataFrame({"left_id": [i for i, t in zip(ids, is_true, strict=True) if t],
                          "right_id": "R"})
    return candidates, truth


def test_calibrated_scores_have_a_small_error_and_overconfident_ones_a_large_one() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(20_000)
    honest = rng.random(20_000) < scores  # true with the probability the score says
    error, table = calibration(scores, honest)
    assert error < 0.03
    assert len(table) == 10
    assert all(abs(mean - share) < 0.05 for mean, share, _ in table)
    boasting = np.minimum(1.0, scores * 1.8)  # the same pairs, scored too high
    assert calibration(boasting, honest)[0] > 0.15


def test_each_score_range_counts_once() -> None:
    # many pairs near 0 scored right do not hide a range scored far too high
    scores = np.concatenate([np.full(100_000, 0.01), np.full(100, 0.95)])
    is_true = np.concatenate([np.zeros(100_000, dtype=bool), np.zeros(100, dtype=bool)])
    error, table = calibration(scores, is_true)
    assert len(table) == 2
    assert error > 0.45


def test_evaluation_reports_calibration_expected_pairs_and_recall_at_a_budget() -> None:
    scores = np.array([0.99, 0.95, 0.9, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05])
    is_true = np.array([True, True, False, True, False, False, True, False, False, False])
    candidates, truth = _frames(scores, is_true)
    ev = evaluate(candidates, truth, threshold=0.5)
    assert ev.expected_true_pairs is not None
    assert np.isclose(ev.expected_true_pairs, scores.sum())
    # four true pairs: the budget is the eight best-scored candidates, which hold all four
    assert ev.recall_at_review_budget == 1.0
    assert ev.recall == 0.75  # the one at 0.3 is below the threshold
    assert ev.calibration_error is not None
    assert np.isclose(ev.calibration_error, calibration(scores, is_true)[0])
    summary = ev.to_dict()
    assert summary["true_pairs"] == 4
    assert summary["recall_at_review_budget"] == 1.0


def test_a_budget_smaller_than_the_truth_caps_recall() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    is_true = np.array([False, False, False, False, True, True])
    candidates, truth = _frames(scores, is_true)
    assert evaluate(candidates, truth).recall_at_review_budget == 0.0  # top 4 hold none
