"""Vectorised blocking gives exactly the reference's pairs, independent of chunk size."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.compare.blocking import (
    BlockIndex,
    bucket_of,
    candidate_pairs,
    candidate_pairs_reference,
    explode,
    key_lists,
    owned_pairs,
    owned_pairs_reference,
    pairs_blocked,
    pairs_blocked_reference,
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


@settings(max_examples=150, deadline=None)
@given(left=keys, right=keys, cap=st.integers(1, 40), budget=st.integers(1, 25))
def test_pair_chunks_are_the_pairs_in_bounded_chunks(left: list[list[int]],
                                                     right: list[list[int]], cap: int,
                                                     budget: int) -> None:
    """Chunks of whole left rows, in order: concatenated they are exactly ``pairs``; each
    holds at most the budget plus what its last row alone adds."""
    lk, lr = explode(pa.array(left, type=pa.list_(pa.int64())))
    rk, rr = explode(pa.array(right, type=pa.list_(pa.int64())))
    index = BlockIndex((lk, lr), (rk, rr), max_block_pairs=cap)
    whole_l, whole_r = index.pairs(lk, lr)
    chunks = list(index.pair_chunks(lk, lr, max_pairs=budget))
    got_l = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
    got_r = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0, np.int64)
    assert got_l.tolist() == whole_l.tolist()
    assert got_r.tolist() == whole_r.tolist()
    assert set(zip(got_l.tolist(), got_r.tolist(), strict=True)) == \
        candidate_pairs_reference(left, right, max_block_pairs=cap)
    seen_rows: set[int] = set()
    for cl, _ in chunks:
        rows = set(cl.tolist())
        assert not rows & seen_rows  # whole rows: a row never spans two chunks
        seen_rows |= rows
        per_row = np.bincount(cl)
        assert len(cl) - per_row.max() < budget  # the budget, plus the last row at most


big_keys = st.lists(st.lists(st.integers(-2**63, 2**63 - 1) | st.integers(1, 12), max_size=5),
                    min_size=1, max_size=25)


@settings(max_examples=150, deadline=None)
@given(left=big_keys, right=big_keys, buckets=st.integers(1, 9), data=st.data())
def test_owned_pairs_matches_reference(left: list[list[int]], right: list[list[int]],
                                       buckets: int, data: st.DataObject) -> None:
    pairs = data.draw(st.lists(st.tuples(st.integers(0, len(left) - 1),
                                         st.integers(0, len(right) - 1)), max_size=40))
    bucket = data.draw(st.integers(0, buckets - 1))
    sides = [key_lists(*explode(pa.array(s, type=pa.list_(pa.int64()))), len(s))
             for s in (left, right)]
    li = np.array([i for i, _ in pairs], dtype=np.int64)
    ri = np.array([j for _, j in pairs], dtype=np.int64)
    got = owned_pairs(li, ri, sides[0], sides[1], bucket, buckets)
    assert got.tolist() == owned_pairs_reference(pairs, left, right, bucket, buckets)


@settings(max_examples=100, deadline=None)
@given(left=keys, right=keys, buckets=st.integers(1, 7))
def test_buckets_partition_the_blocked_pairs(left: list[list[int]], right: list[list[int]],
                                             buckets: int) -> None:
    """Each blocked pair is owned by exactly one bucket, whatever the number of buckets."""
    want = candidate_pairs_reference(left, right, max_block_pairs=10**9)
    owners: dict[tuple[int, int], list[int]] = {}
    for b in range(buckets):
        sub_l = [[k for k in ks if bucket_of(np.array([k]), buckets)[0] == b] for ks in left]
        sub_r = [[k for k in ks if bucket_of(np.array([k]), buckets)[0] == b] for ks in right]
        met = sorted(candidate_pairs_reference(sub_l, sub_r, max_block_pairs=10**9))
        own = owned_pairs_reference(met, left, right, b, buckets)
        for pair, mine in zip(met, own, strict=True):
            if mine:
                owners.setdefault(pair, []).append(b)
    assert set(owners) == want
    assert all(len(bs) == 1 for bs in owners.values())


def test_bucket_of_spreads_keys_and_stays_in_range() -> None:
    keys_ = np.arange(0, 64_000, 64, dtype=np.int64)  # structured keys: low bits all zero
    b = bucket_of(keys_, 16)
    assert b.min() >= 0
    assert b.max() < 16
    counts = np.bincount(b, minlength=16)
    assert counts.min() > 0.7 * len(keys_) / 16  # the low bits alone would put all in bucket 0


@settings(max_examples=200, deadline=None)
@given(left=keys, right=keys, live=st.sets(st.integers(1, 12)), data=st.data())
def test_pairs_blocked_matches_reference(left: list[list[int]], right: list[list[int]],
                                         live: set[int], data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 40))
    li = data.draw(st.lists(st.integers(0, len(left) - 1), min_size=n, max_size=n))
    ri = data.draw(st.lists(st.integers(0, len(right) - 1), min_size=n, max_size=n))
    got = pairs_blocked(explode(pa.array(left, type=pa.list_(pa.int64()))),
                        explode(pa.array(right, type=pa.list_(pa.int64()))),
                        np.array(li, dtype=np.int64), np.array(ri, dtype=np.int64),
                        np.array(sorted(live), dtype=np.int64))
    assert got.tolist() == pairs_blocked_reference(left, right, li, ri, live)
