"""The vectorised Dice kernel agrees with the textbook reference; Dice is symmetric, in [0, 1]."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.compare.dice import dice_pairs, dice_pairs_reference, to_words

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
