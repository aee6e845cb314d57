"""Keyed blocking: which pairs are compared at all.

Each record carries keyed blocking keys (see :mod:`linkmatch.encode`); two records are compared
when they share at least one. A key shared by very many pairs (a common name on its own) would
swamp the job and carries little evidence, so a key whose block holds more than
``max_block_pairs`` pairs is skipped; the records in it still meet through their other, more
specific keys (name pairs, name with birth year, full date). Skipped keys are counted and reported.

The decision which keys to skip is taken on global counts before any chunking, so the candidate
set does not depend on chunk sizes or on the number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

__all__ = ["BlockIndex", "BlockingStats", "bucket_of", "candidate_pairs",
           "candidate_pairs_reference", "key_lists", "owned_pairs", "owned_pairs_reference",
           "pairs_blocked", "pairs_blocked_reference"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class BlockingStats:
    """What blocking did: counts only."""

    keys_shared: int
    keys_skipped: int
    pairs_skipped_in_big_blocks: int


def explode(block_keys: pa.ChunkedArray | pa.Array) -> tuple[IntArray, IntArray]:
    """(key, row) arrays of a list<int64> column of blocking keys."""
    arr = block_keys.combine_chunks() if isinstance(block_keys, pa.ChunkedArray) else block_keys
    rows = pc.list_parent_indices(arr).to_numpy().astype(np.int64)
    keys = pc.list_flatten(arr).to_numpy().astype(np.int64)
    return keys, rows


class BlockIndex:
    """The right side's blocking keys, sorted for lookup, plus the block-size filter.

    Args:
        left_keys, right_keys: exploded (key, row) arrays of both sides.
        max_block_pairs: skip keys whose block would hold more pairs than this.
    """

    def __init__(self, left: tuple[IntArray, IntArray], right: tuple[IntArray, IntArray],
                 *, max_block_pairs: int) -> None:
        lk, lr = left
        if len(lk):
            lk = np.unique(np.stack([lk, lr], axis=1), axis=0)[:, 0]
        ukeys_r = np.unique(right[0])
        pos = np.clip(np.searchsorted(ukeys_r, lk), 0, max(len(ukeys_r) - 1, 0))
        hit = ukeys_r[pos] == lk if len(ukeys_r) else np.zeros(len(lk), dtype=bool)
        left_counts = np.bincount(pos[hit], minlength=len(ukeys_r)).astype(np.int64)
        self._build(right, left_counts, max_block_pairs)

    @classmethod
    def from_counts(cls, right: tuple[IntArray, IntArray], left_counts: IntArray, *,
                    max_block_pairs: int) -> BlockIndex:
        """From the right side's keys and, for each of its distinct keys (sorted), the number
        of left records holding it: what a streamed left file yields batch by batch."""
        out = cls.__new__(cls)
        out._build(right, left_counts, max_block_pairs)
        return out

    def _build(self, right: tuple[IntArray, IntArray], left_counts: IntArray,
               max_block_pairs: int) -> None:
        rk, rr = right
        # deduplicate (key, row) so that a repeated key in one record counts once
        r_pairs = np.unique(np.stack([rk, rr], axis=1), axis=0) if len(rk) else \
            np.zeros((0, 2), dtype=np.int64)
        self.right_keys = r_pairs[:, 0].copy()
        self.right_rows = r_pairs[:, 1].copy()
        ukeys_r, counts_r = np.unique(self.right_keys, return_counts=True)
        shared = left_counts > 0
        sizes = left_counts.astype(np.int64) * counts_r.astype(np.int64)
        big = sizes > max_block_pairs
        self.skipped_keys = np.sort(ukeys_r[big])
        self.stats = BlockingStats(
            keys_shared=int(shared.sum()),
            keys_skipped=int(big.sum()),
            pairs_skipped_in_big_blocks=int(sizes[big].sum()),
        )
        keep = ~np.isin(self.right_keys, self.skipped_keys)
        self.right_keys = self.right_keys[keep]
        self.right_rows = self.right_rows[keep]
        # right_keys is sorted (np.unique sorted by key, then row)

    def pairs(self, left_keys: IntArray, left_rows: IntArray) -> tuple[IntArray, IntArray]:
        """Distinct (left row, right row) pairs sharing a kept key, sorted by (left, right).

        ``left_rows`` must be grouped by row (as :func:`explode` gives them). The blocks are
        walked in compiled code that drops repeated pairs with a per-right-row stamp instead
        of sorting all pairs.
        """
        empty = np.zeros(0, dtype=np.int64)
        # without a budget there is one chunk, or none when no pair is blocked
        return next(self.pair_chunks(left_keys, left_rows, max_pairs=None), (empty, empty))

    def pair_chunks(self, left_keys: IntArray, left_rows: IntArray, *,
                    max_pairs: int | None) -> Iterator[tuple[IntArray, IntArray]]:
        """The pairs of :meth:`pairs` in chunks of whole left rows, in order.

        Each chunk holds at most about ``max_pairs`` pairs (more only when one left row alone
        reaches more; ``None``: one chunk). What a batch of left rows compares grows with its
        rows times the blocks they fall in, and with the block cap growing with the job, a
        batch of 50,000 rows reached 12.8 million pairs at 10,000,000 × 50,000 (the peak memory
        of matching went from 1.5 to 3.0 GiB); bounding the pairs compared at once bounds it
        whatever the data. Concatenated, the chunks are exactly :meth:`pairs`.
        """
        if len(self.skipped_keys):
            pos = np.minimum(np.searchsorted(self.skipped_keys, left_keys),
                             len(self.skipped_keys) - 1)
            keep = self.skipped_keys[pos] != left_keys
            left_keys, left_rows = left_keys[keep], left_rows[keep]
        start = np.searchsorted(self.right_keys, left_keys, side="left").astype(np.int64)
        stop = np.searchsorted(self.right_keys, left_keys, side="right").astype(np.int64)
        sizes = stop - start
        if not len(sizes) or int(sizes.sum()) == 0:
            return
        rows = np.ascontiguousarray(left_rows, dtype=np.int64)
        right_rows = np.ascontiguousarray(self.right_rows, dtype=np.int64)
        num_right = int(self.right_rows.max(initial=0)) + 1
        # entry offsets of each left row; a chunk is a run of whole rows whose upper bound of
        # pairs (the sum of their block sizes) starts below a multiple of max_pairs
        first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        bounds = np.r_[first, len(rows)]
        if max_pairs is None:
            cuts = np.array([0, len(first)], dtype=np.int64)
        else:
            row_pairs = np.add.reduceat(sizes, first)
            before = np.cumsum(row_pairs) - row_pairs
            group = before // max(int(max_pairs), 1)
            cuts = np.r_[0, np.flatnonzero(np.diff(group)) + 1, len(first)]
        for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
            lo, hi = int(bounds[a]), int(bounds[b])
            total = int(sizes[lo:hi].sum())
            if total:
                yield _walk_blocks(rows[lo:hi], start[lo:hi], stop[lo:hi], right_rows,
                                   num_right, total)


@njit(cache=True, nogil=True)
def _walk_blocks(rows: Any, start: Any, stop: Any, right_rows: Any, num_right: int,
                 total: int) -> tuple[Any, Any]:  # pragma: no cover - compiled
    out_l = np.empty(total, dtype=np.int64)
    out_r = np.empty(total, dtype=np.int64)
    stamp = np.full(num_right, -1, dtype=np.int64)
    m = 0
    e = 0
    n = len(rows)
    while e < n:
        row = rows[e]
        first = m
        while e < n and rows[e] == row:
            for s in range(start[e], stop[e]):
                j = right_rows[s]
                if stamp[j] != row:
                    stamp[j] = row
                    out_l[m] = row
                    out_r[m] = j
                    m += 1
            e += 1
        out_r[first:m].sort()
    return out_l[:m], out_r[:m]


def candidate_pairs(index: BlockIndex, left_keys: IntArray, left_rows: IntArray,
                    *, chunk_rows: int, num_left: int) -> Iterator[tuple[IntArray, IntArray]]:
    """Candidate pairs in chunks of left rows, each chunk's pairs sorted and distinct."""
    order = np.argsort(left_rows, kind="stable")
    lk, lr = left_keys[order], left_rows[order]
    for lo in range(0, num_left, chunk_rows):
        a = np.searchsorted(lr, lo, side="left")
        b = np.searchsorted(lr, lo + chunk_rows, side="left")
        yield index.pairs(lk[a:b], lr[a:b])


def candidate_pairs_reference(
    left: list[list[int]], right: list[list[int]], *, max_block_pairs: int
) -> set[tuple[int, int]]:
    """Plain-Python blocking with the same semantics, the reference for property tests."""
    from collections import defaultdict

    lmap: dict[int, set[int]] = defaultdict(set)
    rmap: dict[int, set[int]] = defaultdict(set)
    for i, keys in enumerate(left):
        for k in keys:
            lmap[k].add(i)
    for j, keys in enumerate(right):
        for k in keys:
            rmap[k].add(j)
    out: set[tuple[int, int]] = set()
    for k, lrows in lmap.items():
        rrows = rmap.get(k)
        if not rrows:
            continue
        if len(lrows) * len(rrows) > max_block_pairs:
            continue
        out.update((i, j) for i in lrows for j in rrows)
    return out


def pairs_blocked(left: tuple[IntArray, IntArray], right: tuple[IntArray, IntArray],
                  li: IntArray, ri: IntArray, live: IntArray) -> npt.NDArray[np.bool_]:
    """Which of the pairs ``(li[p], ri[p])`` share a key of ``live`` (sorted), i.e. are compared.

    For the random-pair sample of the model: the pairs that blocking does *not* reach (their
    every shared key skipped as too common, or none shared) are the part of a level's count that
    cannot be counted from the compared pairs. ``left`` and ``right`` are exploded (key, row)
    arrays (:func:`explode`); the pairs may repeat rows. Each side's live keys are listed per
    row (:func:`key_lists`), and a compiled walk merges the two rows' lists of each pair.
    """
    n = len(li)
    out = np.zeros(n, dtype=np.bool_)
    if n == 0 or not len(live):
        return out
    lists = []
    for (keys, rows), pick in ((left, li), (right, ri)):
        pos = np.minimum(np.searchsorted(live, keys), len(live) - 1)
        keep = live[pos] == keys
        size = int(max(int(rows.max(initial=-1)), int(pick.max(initial=-1))) + 1)
        lists.append(key_lists(keys[keep], rows[keep], size))
    _share_a_key(lists[0][0], lists[0][1], lists[1][0], lists[1][1],
                 np.ascontiguousarray(li, dtype=np.int64),
                 np.ascontiguousarray(ri, dtype=np.int64), out)
    return out


@njit(cache=True, nogil=True)
def _share_a_key(l_off: Any, l_keys: Any, r_off: Any, r_keys: Any, li: Any, ri: Any,
                 out: Any) -> None:  # pragma: no cover - compiled
    for p in range(len(li)):
        a, a_end = l_off[li[p]], l_off[li[p] + 1]
        b, b_end = r_off[ri[p]], r_off[ri[p] + 1]
        while a < a_end and b < b_end:
            if l_keys[a] == r_keys[b]:
                out[p] = True
                break
            if l_keys[a] < r_keys[b]:
                a += 1
            else:
                b += 1


def pairs_blocked_reference(left: list[list[int]], right: list[list[int]], li: list[int],
                            ri: list[int], live: set[int]) -> list[bool]:
    """Plain-Python :func:`pairs_blocked` over key lists per row, the reference for tests."""
    return [bool(set(left[i]) & set(right[j]) & live) for i, j in zip(li, ri, strict=True)]


# ------------------------------------------------------------------- hashed buckets (co-group)
#
# An engine that cannot hold the whole right side in every task (Spark's co-group plan) splits
# the work by *buckets* of blocking keys: bucket ``b`` holds every key whose hash lands in ``b``,
# with every left and right record holding such a key. A pair sharing keys in several buckets
# is met in each of them; it is compared in one only, its *owner*: the smallest bucket among the
# keys the two records share. The union over buckets is then exactly the pair set of
# :meth:`BlockIndex.pairs`, each pair once, whatever the number of buckets.

_MIX1: Final = np.uint64(0xBF58476D1CE4E5B9)
_MIX2: Final = np.uint64(0x94D049BB133111EB)


def bucket_of(keys: IntArray, buckets: int) -> IntArray:
    """Bucket (``0 <= b < buckets``) of each blocking key.

    The keys are keyed hashes already; they are mixed once more (the SplitMix64 finaliser) so
    that no structure a key derivation might leave in the low bits decides the bucket. A
    bucket holds many keys, never one raw value's records alone unless by chance, and the skew
    of a common value is already capped by the skipped-key rule.
    """
    x = np.asarray(keys, dtype=np.int64).view(np.uint64).copy()
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= _MIX1
        x ^= x >> np.uint64(27)
        x *= _MIX2
        x ^= x >> np.uint64(31)
    return (x % np.uint64(buckets)).astype(np.int64)


def key_lists(keys: IntArray, rows: IntArray, num_rows: int) -> tuple[IntArray, IntArray]:
    """(offsets, keys) of each row's distinct keys in ascending order (CSR form)."""
    order = np.lexsort((keys, rows))
    k, r = keys[order], rows[order]
    if len(k):
        first = np.r_[True, (k[1:] != k[:-1]) | (r[1:] != r[:-1])]
        k, r = k[first], r[first]
    offsets = np.searchsorted(r, np.arange(num_rows + 1, dtype=np.int64)).astype(np.int64)
    return offsets, np.ascontiguousarray(k, dtype=np.int64)


def owned_pairs(li: IntArray, ri: IntArray, left: tuple[IntArray, IntArray],
                right: tuple[IntArray, IntArray], bucket: int,
                buckets: int) -> npt.NDArray[np.bool_]:
    """Which pairs bucket ``bucket`` owns: the smallest bucket of their shared keys is it.

    Args:
        li, ri: the pairs, as row numbers of the two sides.
        left, right: each side's keys per row, as :func:`key_lists` gives them (only the keys
            that may block: shared by both sides and not skipped).
        bucket, buckets: this bucket and the number of buckets.
    """
    if not len(li):
        return np.zeros(0, dtype=np.bool_)
    return np.asarray(_owned(np.ascontiguousarray(li, dtype=np.int64),
                             np.ascontiguousarray(ri, dtype=np.int64), left[0], left[1],
                             right[0], right[1], bucket, buckets), dtype=np.bool_)


@njit(cache=True, nogil=True)
def _owned(li: Any, ri: Any, l_off: Any, l_keys: Any, r_off: Any, r_keys: Any, bucket: int,
           buckets: int) -> Any:  # pragma: no cover - compiled
    out = np.zeros(len(li), dtype=np.bool_)
    nb = np.uint64(buckets)
    for p in range(len(li)):
        a, a_end = l_off[li[p]], l_off[li[p] + 1]
        b, b_end = r_off[ri[p]], r_off[ri[p] + 1]
        best = np.int64(buckets)
        while a < a_end and b < b_end:
            ka, kb = l_keys[a], r_keys[b]
            if ka < kb:
                a += 1
            elif kb < ka:
                b += 1
            else:
                x = np.uint64(ka)
                x ^= x >> np.uint64(30)
                x *= np.uint64(0xBF58476D1CE4E5B9)
                x ^= x >> np.uint64(27)
                x *= np.uint64(0x94D049BB133111EB)
                x ^= x >> np.uint64(31)
                owner = np.int64(x % nb)
                if owner < best:
                    best = owner
                a += 1
                b += 1
        out[p] = best == bucket
    return out


def owned_pairs_reference(pairs: list[tuple[int, int]], left: list[list[int]],
                          right: list[list[int]], bucket: int, buckets: int) -> list[bool]:
    """Plain-Python ownership, the reference for property tests."""
    out = []
    for i, j in pairs:
        shared = set(left[i]) & set(right[j])
        owners = [int(bucket_of(np.array([k], dtype=np.int64), buckets)[0]) for k in shared]
        out.append(bool(owners) and min(owners) == bucket)
    return out
