"""Vectorised blocking gives exactly the reference's pairs, independent of chunk size."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.compare.blocking import (
    BlockIndex,
    candidate_pairs,
    candidate_pairs_reference,
    explode,
)

keys = st.lists(st.lists(st.integers(1, 12), max_size=4), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(left=keys, right=keys, cap=st.integers(1, 40), chunk=st.integers(1, 31))
def test_blocking_matches_reference(left: list[list[int]], right: list[list[int]], cap: int,
                                    chunk: int) -> None:
    lk, lr = explode(pa.array(left, type=pa.list_(pa.int64())))
    index = BlockIndex((lk, lr), explode(pa.array(right, type=pa.list_(pa.int64()))),
                       max_block_pairs=cap)
    got: set[tuple[int, int]] = set()
    total = 0
    for li, ri in candidate_pairs(index, lk, lr, chunk_rows=chunk, num_left=len(left)):
        total += len(li)
        got.update(zip(li.tolist(), ri.tolist(), strict=True))
        assert np.all(np.diff(li * 1000 + ri) > 0)  # sorted, distinct
    assert total == len(got)
    assert got == candidate_pairs_reference(left, right, max_block_pairs=cap)
