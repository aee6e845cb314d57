"""Vectorised blocking gives exactly the reference's pairs, independent of chunk size."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.compare.blocking import (
    BlockIndex,
    KeyIndex,
    NameBands,
    band_keys,
    band_keys_reference,
    bucket_of,
    candidate_pairs,
    candidate_pairs_reference,
    distinct_pairs,
    explode,
    find_reference,
    in_sorted,
    key_lists,
    key_lists_reference,
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


filters = st.integers(1, 6).flatmap(
    lambda width: st.lists(st.binary(min_size=width, max_size=width), min_size=1, max_size=12))


@settings(max_examples=150, deadline=None)
@given(rows=filters, bits=st.integers(1, 32), bands=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1), by_nationality=st.booleans(), data=st.data())
def test_band_keys_match_reference(rows: list[bytes], bits: int, bands: int, seed: int,
                                   by_nationality: bool, data: st.DataObject) -> None:
    """The compiled bands equal the plain ones: keys grouped by row, none for an empty filter;
    with nationality, a row without one keeps the plain bands."""
    if bits > len(rows[0]) * 8:
        bits = len(rows[0]) * 8
    nat = data.draw(st.lists(st.integers(-2**63, 2**63 - 1) | st.just(0),
                             min_size=len(rows), max_size=len(rows)))
    setting = NameBands(bits=bits, bands=bands, cap=10, seed=seed, nationality=by_nationality)
    column = pa.array(rows, type=pa.binary(len(rows[0])))
    got_k, got_r = band_keys(column, setting, np.array(nat, dtype=np.int64))
    want = band_keys_reference(rows, setting, nat)
    assert got_r.tolist() == [i for i, ks in enumerate(want) for _ in ks]
    assert got_k.tolist() == [k for ks in want for k in ks]
    plain = band_keys_reference(rows, NameBands(bits=bits, bands=bands, cap=10, seed=seed,
                                                nationality=False))
    for ks, raw, flat, n in zip(want, rows, plain, nat, strict=True):
        assert len(set(ks)) == len(ks) == (bands if any(raw) else 0)
        assert (ks == flat) == (not by_nationality or n == 0 or not any(raw))
    # a slice of the column gives the slice's bands (the Arrow offset is honoured)
    if len(rows) > 2:
        sk, _ = band_keys(column.slice(1), setting, np.array(nat[1:], dtype=np.int64))
        assert sk.tolist() == [k for ks in want[1:] for k in ks]


@settings(max_examples=150, deadline=None)
@given(members=st.lists(st.integers(-2**63, 2**63 - 1) | st.integers(-5, 5), max_size=60),
       probes=st.lists(st.integers(-2**63, 2**63 - 1) | st.integers(-5, 5), max_size=60))
def test_key_index_matches_binary_search(members: list[int], probes: list[int]) -> None:
    index = KeyIndex(np.array(members, dtype=np.int64))
    sorted_members = np.unique(np.array(members, dtype=np.int64))
    probe = np.array(probes + members, dtype=np.int64)
    assert index.find(probe).tolist() == find_reference(sorted_members, probe).tolist()
    assert index.contains(probe).tolist() == in_sorted(probe, sorted_members).tolist()
    assert index.keys.tolist() == sorted_members.tolist()
    assert len(index) == len(sorted_members)


@settings(max_examples=150, deadline=None)
@given(lists=st.lists(st.lists(st.integers(-2**63, 2**63 - 1) | st.integers(0, 4),
                               max_size=6), max_size=12),
       extra_rows=st.integers(0, 3))
def test_key_lists_per_row_match_one_sort(lists: list[list[int]], extra_rows: int) -> None:
    """Keys grouped by row (the compiled per-row sort) and shuffled (one global sort) give
    the reference's lists."""
    k, r = explode(pa.array(lists, type=pa.list_(pa.int64())))
    n = len(lists) + extra_rows
    want = key_lists_reference(k, r, n)
    got = key_lists(k, r, n)
    assert got[0].tolist() == want[0].tolist()
    assert got[1].tolist() == want[1].tolist()
    perm = np.random.default_rng(len(k)).permutation(len(k))
    shuffled = key_lists(k[perm], r[perm], n)
    assert shuffled[1].tolist() == want[1].tolist()
    for row, keys_ in enumerate(lists):
        assert want[1][want[0][row]:want[0][row + 1]].tolist() == sorted(set(keys_))


@settings(max_examples=150, deadline=None)
@given(left=keys, right=keys, cap=st.integers(1, 40), band_cap=st.integers(1, 40),
       bands=st.sets(st.integers(1, 12)))
def test_band_cap_matches_reference(left: list[list[int]], right: list[list[int]], cap: int,
                                    band_cap: int, bands: set[int]) -> None:
    """Keys of the band set are skipped above their own cap, the others above the cap."""
    lk, lr = explode(pa.array(left, type=pa.list_(pa.int64())))
    index = BlockIndex((lk, lr), explode(pa.array(right, type=pa.list_(pa.int64()))),
                       max_block_pairs=cap, band_keys=np.array(sorted(bands), dtype=np.int64),
                       band_cap=band_cap)
    li, ri = index.pairs(lk, lr)
    assert set(zip(li.tolist(), ri.tolist(), strict=True)) == candidate_pairs_reference(
        left, right, max_block_pairs=cap, band_keys=bands, band_cap=band_cap)


@settings(max_examples=100, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(-2**63, 2**63 - 1) | st.integers(0, 3),
                                st.integers(0, 5)), max_size=40))
def test_distinct_pairs_match_unique_rows(pairs: list[tuple[int, int]]) -> None:
    keys_ = np.array([k for k, _ in pairs], dtype=np.int64)
    rows = np.array([r for _, r in pairs], dtype=np.int64)
    got_k, got_r = distinct_pairs(keys_, rows)
    assert list(zip(got_k.tolist(), got_r.tolist(), strict=True)) == sorted(set(pairs))


@settings(max_examples=100, deadline=None)
@given(a=st.lists(st.lists(st.integers(0, 50), max_size=4), min_size=1, max_size=10),
       data=st.data())
def test_by_row_puts_each_rows_keys_together(a: list[list[int]], data: st.DataObject) -> None:
    """The job's encoded keys and its name bands, each grouped by row, merged grouped by row:
    a row's encoded keys first, then its bands, each in their order."""
    from importlib import import_module

    by_row = import_module("linkmatch.match")._by_row
    b = data.draw(st.lists(st.lists(st.integers(100, 150), max_size=4), min_size=len(a),
                           max_size=len(a)))
    ka, ra = explode(pa.array(a, type=pa.list_(pa.int64())))
    kb, rb = explode(pa.array(b, type=pa.list_(pa.int64())))
    keys_, rows = by_row(ka, ra, kb, rb, len(a))
    assert rows.tolist() == sorted(rows.tolist())
    for r in range(len(a)):
        assert keys_[rows == r].tolist() == a[r] + b[r]
