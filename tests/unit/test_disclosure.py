"""Candidates disclose coarse evidence unless both holders agreed on exact evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import linkmatch
from linkmatch.compare.levels import ADDRESS, DOB, NAME
from linkmatch.disclosure import COARSE, disclose
from linkmatch.encode import encode_frame
from linkmatch.errors import ConfigError, EncodingMismatchError
from linkmatch.pseudonymise.keys import Key
from linkmatch.schema import Schema
from linkmatch.synth import SynthData

EXACT = Schema(candidate_evidence="exact")


@pytest.fixture(scope="module")
def both(small_data: SynthData, key: Key) -> tuple[linkmatch.MatchResult,
                                                   linkmatch.MatchResult]:
    salt = bytes(16)
    runs = []
    for schema in (Schema(), EXACT):
        left = encode_frame(small_data.left, key, schema=schema, job_salt=salt)
        right = encode_frame(small_data.right, key, schema=schema, job_salt=salt)
        runs.append(linkmatch.match(left, right))
    return runs[0], runs[1]


def test_default_candidates_carry_coarse_evidence_only(
        both: tuple[linkmatch.MatchResult, linkmatch.MatchResult]) -> None:
    coarse, exact = both
    cand = coarse.candidates
    assert len(cand) > 50
    assert coarse.manifest["candidate_evidence"] == "coarse"
    assert exact.manifest["candidate_evidence"] == "exact"
    for column, mapping in COARSE.items():
        assert set(cand[column]) <= set(mapping.values()), column
    assert np.allclose(cand["score"], cand["score"].round(2))
    assert np.allclose(cand["name_score"] * 10, np.round(cand["name_score"] * 10))
    # exact evidence really is finer: more distinct values
    assert exact.candidates["name_score"].nunique() > cand["name_score"].nunique()
    assert exact.candidates["score"].nunique() > cand["score"].nunique()


def test_coarse_and_exact_candidates_are_the_same_pairs(
        both: tuple[linkmatch.MatchResult, linkmatch.MatchResult]) -> None:
    coarse, exact = both
    keys = ["left_id", "right_id"]
    merged = coarse.candidates.merge(exact.candidates, on=keys, suffixes=("", "_exact"))
    assert len(merged) == len(coarse.candidates) == len(exact.candidates)
    for column, mapping in COARSE.items():
        assert (merged[f"{column}_exact"].map(mapping) == merged[column]).all(), column
    assert np.allclose(merged["score"], merged["score_exact"], atol=0.005 + 1e-9)
    assert (merged["name_score"] <= merged["name_score_exact"] + 1e-9).all()
    assert (merged["name_score_exact"] - merged["name_score"] < 0.1).all()
    # the coarse order says nothing finer than the coarse score
    assert list(coarse.candidates["score"]) == sorted(coarse.candidates["score"], reverse=True)


def test_every_level_has_a_coarse_level() -> None:
    for column, comparison in (("name_level", NAME), ("dob_level", DOB),
                               ("address", ADDRESS)):
        assert set(COARSE[column]) == set(comparison.levels)


def test_holders_that_disagree_on_the_evidence_are_refused(small_data: SynthData,
                                                           key: Key) -> None:
    left = encode_frame(small_data.left.head(200), key)
    right = encode_frame(small_data.right.head(50), key, schema=EXACT)
    with pytest.raises(EncodingMismatchError):
        linkmatch.match(left, right)


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ConfigError):
        Schema(candidate_evidence="some")
    with pytest.raises(ConfigError):
        disclose(pd.DataFrame({"score": [0.5]}), "some")
