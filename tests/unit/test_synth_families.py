"""Households in the generator: relatives of listed persons look like them, and are listed."""

from __future__ import annotations

import pandas as pd
import pytest

import linkmatch
from linkmatch.evaluate import evaluate
from linkmatch.normalise.dates import parse_date
from linkmatch.normalise.names import name_tokens
from linkmatch.pseudonymise.keys import Key
from linkmatch.synth import RELATIVE_KINDS, SynthData, generate

KINDS = {*RELATIVE_KINDS, "namesake", "listed_sibling"}


@pytest.fixture(scope="module", params=[3, 8])
def families(request: pytest.FixtureRequest) -> SynthData:
    return generate(seed=request.param, n_left=4_000, n_right=400, relatives_per_match=3.0)


def _keys(row: pd.Series) -> set[str]:
    return {t.key for t in name_tokens(row["given_names"], row["family_name"], row["full_name"])
            if t.kind == "name"}


def _pairs(data: SynthData, kind: str) -> list[tuple[pd.Series, pd.Series]]:
    left = data.left.set_index("record_id")
    right = data.right.drop_duplicates("record_id").set_index("record_id")
    rows = data.hard_negatives[data.hard_negatives["kind"] == kind]
    return [(left.loc[lid], right.loc[rid]) for lid, rid in zip(rows["left_id"],
                                                                rows["right_id"], strict=True)]


def test_relatives_arrive_as_asked_and_are_listed(families: SynthData) -> None:
    assert len(families.left) == 4_000
    kinds = families.hard_negatives["kind"].value_counts()
    assert set(kinds.index) <= KINDS
    relatives = int(kinds.reindex(list(RELATIVE_KINDS), fill_value=0).sum()) - 80  # 80 siblings
    # about three relatives per matched listed person (Poisson), and more than the matches
    assert 2.0 * len(families.truth) < relatives < 4.0 * len(families.truth)
    truth = set(zip(families.truth["left_id"], families.truth["right_id"], strict=True))
    hard = set(zip(families.hard_negatives["left_id"], families.hard_negatives["right_id"],
                   strict=True))
    assert not truth & hard  # a relative is never the same person


def test_twins_share_the_date_of_birth(families: SynthData) -> None:
    same = []
    for left, right in _pairs(families, "twin"):
        a, b = parse_date(left["date_of_birth"]), parse_date(right["date_of_birth"])
        if a is not None and b is not None and a.year and b.year:
            same.append((a.year, a.month, a.day) == (b.year, b.month, b.day))
    # the listed row's own date is sometimes a corrupted reading of the person's (the
    # corruptions of a true pair may fall on the list's side)
    assert len(same) >= 10
    assert sum(same) / len(same) > 0.7


def test_siblings_and_twins_share_their_family_names(families: SynthData) -> None:
    pairs = _pairs(families, "twin") + _pairs(families, "sibling")
    shared = [bool(_keys(left) & _keys(right)) for left, right in pairs]
    assert len(shared) > 100
    assert sum(shared) / len(shared) > 0.8  # the rest: a name in another script, or dropped


def test_a_sons_child_carries_his_first_name(families: SynthData) -> None:
    pairs = [(left, right) for left, right in _pairs(families, "child") if right["sex"] == "M"]
    shared = [bool(_keys(left) & _keys(right)) for left, right in pairs]
    assert len(shared) > 20
    assert sum(shared) / len(shared) > 0.5


def test_no_relatives_leave_the_default_data_as_it_was() -> None:
    plain = generate(seed=5, n_left=1_000, n_right=100)
    same = generate(seed=5, n_left=1_000, n_right=100, relatives_per_match=0.0)
    for a, b in ((plain.left, same.left), (plain.right, same.right), (plain.truth, same.truth),
                 (plain.hard_negatives, same.hard_negatives)):
        pd.testing.assert_frame_equal(a, b)


def test_evaluation_counts_relatives_returned_by_kind(key: Key) -> None:
    data = generate(seed=4, n_left=2_000, n_right=200, relatives_per_match=4.0)
    candidates = linkmatch.link(data.left, data.right, key=key)
    ev = evaluate(candidates, data.truth, threshold=0.5, hard_negatives=data.hard_negatives)
    by_kind = ev.hard_negatives_by_kind
    assert set(by_kind) <= KINDS
    assert {"sibling", "child", "spouse"} <= set(by_kind)
    for returned, listed in by_kind.values():
        assert 0 <= returned <= listed
    listed = data.hard_negatives.drop_duplicates(["left_id", "right_id"])
    assert sum(n for _, n in by_kind.values()) >= len(listed) - 5  # pairs of two kinds: rare
    summary = ev.to_dict()["hard_negatives_by_kind"]
    assert all(0.0 <= v["left_out"] <= 1.0 for v in summary.values())
