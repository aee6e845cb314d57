"""Most name keys shared with different spellings is a weaker level than with the same spelling,
and rare names are weighed by what the blocked pairs count, not by the frequency formula alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from linkmatch.compare.levels import (
    ALL_KEYS_LEVELS,
    KEYS_SPELLING_CUTS,
    NAME,
    WHOLE_NAME_LEVELS,
    EncodedSide,
    compare_pairs,
    compare_pairs_reference,
)
from linkmatch.compare.scoring import (
    TF_BUCKETS,
    FellegiSunter,
    counted_rare_names,
    tf_bucket,
)
from linkmatch.encode import encode_frame, pseudonyms_hex
from linkmatch.pseudonymise.keys import Key

KEY = Key.from_bytes(bytes(range(90, 122)), weak_ok=True)


def _encode(names: list[tuple[str, str]]) -> EncodedSide:
    """The records encoded with the default (hardened) schema, in input order."""
    frame = pd.DataFrame({"record_id": [str(i) for i in range(len(names))],
                          "given_names": [g for g, _ in names],
                          "family_name": [f for _, f in names]})
    table = encode_frame(frame, KEY, job_salt=bytes(16)).table
    position = {p: i for i, p in enumerate(table.column("pid").to_pylist())}
    pids = pseudonyms_hex(KEY, bytes(16).hex(), list(frame["record_id"]))
    return EncodedSide(table.take([position[p] for p in pids]))


def _level(side: EncodedSide, a: int, b: int) -> str:
    li, ri = np.array([a]), np.array([b])
    fast = compare_pairs(side, side, li, ri)
    slow = compare_pairs_reference(side, side, li, ri)
    assert fast.levels[0, 0] == slow.levels[0, 0]
    return NAME.levels[int(fast.levels[0, 0])]


def test_shared_keys_are_split_by_spelling() -> None:
    side = _encode([("Hamid Abdulrahman", "Hassan"), ("Hamid Mustafa", "Hassan"),
                    ("Hamza Mustafa", "Husayn"), ("Hamid", "Hassan"), ("Hamza", "Husayn")])
    # two keys shared and one token each that the other lacks: "most keys"; spelt alike, the
    # stronger of its two levels ...
    assert _level(side, 0, 1) == "keys_most"
    # ... spelt apart (Hamid / Hamza and Hassan / Husayn share their skeletons but are other
    # names), the weaker
    assert _level(side, 0, 2) == "keys_most_far"
    # every key of the shorter name shared: one level, however spelt
    assert _level(side, 3, 4) == "keys_all"
    assert _level(side, 0, 3) == "keys_all"


def test_spelling_levels_partition_the_key_levels() -> None:
    for group, cuts in KEYS_SPELLING_CUTS.items():
        assert cuts[0][1] == 0.0  # every Dice falls in one sub-level
        assert [c for _, c in cuts] == sorted(c for _, c in cuts)
        assert NAME.levels.index(group) in WHOLE_NAME_LEVELS
    assert set(ALL_KEYS_LEVELS) < set(WHOLE_NAME_LEVELS)
    assert len(WHOLE_NAME_LEVELS) == sum(len(c) for c in KEYS_SPELLING_CUTS.values())


def test_tf_bucket_edges() -> None:
    tf = np.array([0.0, -0.5, -1.0, -1.0001, -16.7, -200.0])
    assert tf_bucket(tf).tolist() == [0, 0, 1, 1, 16, TF_BUCKETS - 1]


def _model(lambda_: float, m_name: float, u_name: float, m_exact: float) -> FellegiSunter:
    m = [np.full(len(NAME.levels), 0.01), np.array([1.0, m_exact] + [0.1] * 8)]
    u = [np.full(len(NAME.levels), 0.01), np.full(10, 0.1)]
    lvl = ALL_KEYS_LEVELS[0]
    m[0][lvl], u[0][lvl] = m_name, u_name
    return FellegiSunter(lambda_=lambda_, m=m, u=u)


def test_counted_rare_names_known_answer() -> None:
    """Worked by hand: 10^9 pairs, 2,000 matches (λ = 2e-6), m(same date) 0.5. In bucket 16,
    300 pairs at the level, 280 of them dated, 70 on the same date: 70 / 0.5 · 300 / 280 = 150
    matches, 150 non-matches. Weight log2((150 / 2,000) / (150 / (10^9 - 2,000))), less the
    level weight log2(0.4 / 1e-5)."""
    lvl = ALL_KEYS_LEVELS[0]
    model = _model(2e-6, 0.4, 1e-5, 0.5)
    code = (lvl * TF_BUCKETS + 16) * 4
    blocked = {code: 300, code + 1: 280, code + 2: 70,
               # bucket 15: too few same-date pairs to count (formula kept)
               code - 4: 50, code - 3: 50, code - 2: 4,
               # bucket 17: nearly all matches, too few non-matches left (formula kept)
               code + 4: 100, code + 5: 100, code + 6: 49}
    table = counted_rare_names(model, [lvl], blocked, reference=-8.0, total_pairs=1e9)
    expected = np.log2((150 / 2_000) / (150 / (1e9 - 2_000))) - np.log2(0.4 / 1e-5)
    assert table == {lvl: pytest.approx({16: expected})}
    # only buckets rarer than the reference are counted: a reference below them keeps them all
    assert counted_rare_names(model, [lvl], blocked, reference=-17.0, total_pairs=1e9) == {}


def test_counted_adjustment_replaces_the_formula_in_the_score() -> None:
    lvl = ALL_KEYS_LEVELS[0]
    model = _model(2e-6, 0.4, 1e-5, 0.5)
    model.tf_mean = {lvl: -8.0}
    levels = np.zeros((3, 7), dtype=np.uint8)
    levels[:, 0] = lvl
    name_tf = np.array([-16.5, -12.5, -16.2])
    before = model.log2_odds(levels, name_tf)
    model.tf_counted = {lvl: {16: -1.25}}
    after = model.log2_odds(levels, name_tf)
    assert after[1] == before[1]  # bucket 12: formula
    base = before[0] - min(-8.0 + 16.5, 6.0)
    assert after[0] == pytest.approx(base - 1.25)
    assert after[2] == pytest.approx(after[0])  # same bucket, same adjustment
    # the fitted numbers survive a checkpoint
    again = FellegiSunter.from_state(model.to_state())
    assert again.tf_counted == model.tf_counted
    assert np.array_equal(again.log2_odds(levels, name_tf), after)
