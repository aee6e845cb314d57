"""The vectorised Dice kernel agrees with the textbook reference; Dice is symmetric, in [0, 1]."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.compare.dice import (
    dice_candidates,
    dice_candidates_reference,
    dice_pairs,
    dice_pairs_reference,
    to_words,
)

NUM_BYTES = 32

filters = st.lists(st.binary(min_size=NUM_BYTES, max_size=NUM_BYTES), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(left=filters, right=filters, data=st.data())
def test_fast_equals_reference(left: list[bytes], right: list[bytes], data: st.DataObject) -> None:
    pairs = data.draw(st.lists(st.tuples(st.integers(0, len(left) - 1),
                                         st.integers(0, len(right) - 1)), max_size=40))
    li = np.array([p[0] for p in pairs], dtype=np.intp)
    ri = np.array([p[1] for p in pairs], dtype=np.intp)
    fast = dice_pairs(to_words(left, NUM_BYTES), to_words(right, NUM_BYTES), li, ri)
    ref = dice_pairs_reference(left, right, pairs)
    assert fast.tolist() == ref


@settings(max_examples=200, deadline=None)
@given(a=st.binary(min_size=NUM_BYTES, max_size=NUM_BYTES),
       b=st.binary(min_size=NUM_BYTES, max_size=NUM_BYTES))
def test_symmetric_bounded_identity(a: bytes, b: bytes) -> None:
    words = to_words([a, b], NUM_BYTES)
    i0, i1 = np.array([0], dtype=np.intp), np.array([1], dtype=np.intp)
    ab = dice_pairs(words, words, i0, i1)[0]
    ba = dice_pairs(words, words, i1, i0)[0]
    aa = dice_pairs(words, words, i0, i0)[0]
    assert ab == ba
    assert 0.0 <= ab <= 1.0
    assert aa == (1.0 if any(a) else 0.0)


def _sparse(draw_bytes: bytes, density_mask: bytes) -> bytes:
    return bytes(x & y for x, y in zip(draw_bytes, density_mask, strict=True))


similar_filters = st.lists(
    st.tuples(st.binary(min_size=NUM_BYTES, max_size=NUM_BYTES),
              st.binary(min_size=NUM_BYTES, max_size=NUM_BYTES)).map(lambda t: _sparse(*t)),
    min_size=0, max_size=25)


@settings(max_examples=150, deadline=None)
@given(left=similar_filters, right=similar_filters,
       threshold=st.sampled_from([0.05, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0]),
       data=st.data())
def test_candidates_equal_reference(left: list[bytes], right: list[bytes], threshold: float,
                                    data: st.DataObject) -> None:
    # copies and near-copies of left filters on the right, so that candidates exist
    for f in data.draw(st.lists(st.sampled_from(left), max_size=25)) if left else []:
        flip = data.draw(st.integers(0, NUM_BYTES * 8 - 1))
        right = [*right, f, (int.from_bytes(f, "little") ^ (1 << flip)).to_bytes(NUM_BYTES,
                                                                                "little")]
    words_l = to_words(left, NUM_BYTES) if left else np.zeros((0, NUM_BYTES // 8), np.uint64)
    words_r = to_words(right, NUM_BYTES) if right else np.zeros((0, NUM_BYTES // 8), np.uint64)
    li, ri, dice = dice_candidates(words_l, words_r, threshold)
    ref = dice_candidates_reference(left, right, threshold)
    assert list(zip(li.tolist(), ri.tolist(), dice.tolist(), strict=True)) == ref


def test_candidates_beyond_the_first_pass_capacity() -> None:
    rng = np.random.default_rng(5)
    one = rng.integers(0, 256, size=NUM_BYTES, dtype=np.uint8).tobytes()
    left = [one, bytes(NUM_BYTES)]
    right = [one] * 40 + [bytes(NUM_BYTES)]  # 40 identical candidates for row 0 (cap is 16)
    li, ri, dice = dice_candidates(to_words(left, NUM_BYTES), to_words(right, NUM_BYTES), 0.9)
    assert li.tolist() == [0] * 40
    assert ri.tolist() == list(range(40))
    assert set(dice.tolist()) == {1.0}
