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

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from linkmatch.errors import ConfigError, InputDataError

__all__ = ["BlockIndex", "BlockingStats", "KeyIndex", "NameBands", "band_keys",
           "band_keys_reference", "bucket_of", "candidate_pairs", "candidate_pairs_reference",
           "distinct_pairs", "find_reference", "in_sorted", "key_lists", "key_lists_reference",
           "owned_pairs", "owned_pairs_reference", "pairs_blocked", "pairs_blocked_reference"]

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


def in_sorted(keys: IntArray, sorted_set: IntArray) -> npt.NDArray[np.bool_]:
    """Which ``keys`` are in the sorted array ``sorted_set``."""
    return find_reference(sorted_set, keys) >= 0


def distinct_pairs(keys: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """The distinct (key, row) pairs, sorted by key then row (``np.unique(axis=0)`` of the
    stacked pairs, which is 6 times slower: it sorts them as opaque records)."""
    keys = np.asarray(keys, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    order = np.lexsort((rows, keys))
    k, r = keys[order], rows[order]
    if len(k):
        first = np.r_[True, (k[1:] != k[:-1]) | (r[1:] != r[:-1])]
        k, r = k[first], r[first]
    return k, r


class KeyIndex:
    """The sorted distinct ``keys``, with a hash table to find many unsorted keys among them.

    A binary search per key (``np.searchsorted``) through a large sorted array costs a cache
    miss per step: with the name bands, the lookups of a 200,000 × 10,000 job's keys took 23 s
    of its 56. This open-addressing table (at most half full, keys placed by the SplitMix64
    finaliser, linear probing) answers with about one memory access per key.
    """

    def __init__(self, keys: IntArray) -> None:
        self.keys = np.unique(np.asarray(keys, dtype=np.int64))
        size = 1 << max(4, int(2 * max(len(self.keys), 1) - 1).bit_length())
        # int32 positions: half the memory (32 MiB for 3.5 million keys)
        self.slots = np.full(size, -1, dtype=np.int32 if len(self.keys) < 2**31 else np.int64)
        _index_insert(self.slots, self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def find(self, keys: IntArray) -> IntArray:
        """The position of each key in :attr:`keys`, or -1 where it is not there."""
        return np.asarray(_index_find(self.slots, self.keys,
                                      np.ascontiguousarray(keys, dtype=np.int64)),
                          dtype=np.int64)

    def contains(self, keys: IntArray) -> npt.NDArray[np.bool_]:
        """Which ``keys`` are in the index (as :func:`in_sorted` on :attr:`keys`)."""
        return self.find(keys) >= 0


def find_reference(sorted_keys: IntArray, keys: IntArray) -> IntArray:
    """:meth:`KeyIndex.find` by binary search, the reference for property tests."""
    if not len(sorted_keys):
        return np.full(len(keys), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.where(sorted_keys[pos] == keys, pos, -1).astype(np.int64)


@njit(cache=True, nogil=True)
def _mix64(x: Any) -> Any:  # pragma: no cover - compiled
    """The SplitMix64 finaliser of a uint64 (a bijection), as :func:`bucket_of` in numpy."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


@njit(cache=True, nogil=True)
def _slot(key: Any, mask: Any) -> Any:  # pragma: no cover - compiled
    return np.int64(_mix64(np.uint64(key)) & mask)


@njit(cache=True, nogil=True)
def _index_insert(slots: Any, keys: Any) -> None:  # pragma: no cover - compiled
    mask = np.uint64(len(slots) - 1)
    for i in range(len(keys)):  # distinct keys
        s = _slot(keys[i], mask)
        while slots[s] >= 0:
            s = (s + 1) & np.int64(mask)
        slots[s] = i


@njit(cache=True, nogil=True)
def _index_find(slots: Any, stored: Any, keys: Any) -> Any:  # pragma: no cover - compiled
    mask = np.uint64(len(slots) - 1)
    out = np.full(len(keys), -1, dtype=np.int64)
    for i in range(len(keys)):
        s = _slot(keys[i], mask)
        while slots[s] >= 0:
            if stored[slots[s]] == keys[i]:
                out[i] = slots[s]
                break
            s = (s + 1) & np.int64(mask)
    return out


class BlockIndex:
    """The right side's blocking keys, sorted for lookup, plus the block-size filter.

    Only the live keys (held by both sides, block not skipped) are indexed: :attr:`lookup`
    finds them, and its ``keys`` are they, sorted.

    Args:
        left_keys, right_keys: exploded (key, row) arrays of both sides.
        max_block_pairs: skip keys whose block would hold more pairs than this.
        band_keys, band_cap: keys (sorted) with a cap of their own, the name filters' bands
            (:func:`band_keys`): a band is weaker evidence than a keyed name key, so its
            block is skipped at a much smaller size.
    """

    def __init__(self, left: tuple[IntArray, IntArray], right: tuple[IntArray, IntArray],
                 *, max_block_pairs: int, band_keys: IntArray | None = None,
                 band_cap: int = 0) -> None:
        lk = distinct_pairs(*left)[0]
        ukeys_r = np.unique(right[0])
        pos = np.clip(np.searchsorted(ukeys_r, lk), 0, max(len(ukeys_r) - 1, 0))
        hit = ukeys_r[pos] == lk if len(ukeys_r) else np.zeros(len(lk), dtype=bool)
        left_counts = np.bincount(pos[hit], minlength=len(ukeys_r)).astype(np.int64)
        self._build(right, left_counts, max_block_pairs, band_keys, band_cap)

    @classmethod
    def from_counts(cls, right: tuple[IntArray, IntArray], left_counts: IntArray, *,
                    max_block_pairs: int, band_keys: IntArray | None = None,
                    band_cap: int = 0) -> BlockIndex:
        """From the right side's keys and, for each of its distinct keys (sorted), the number
        of left records holding it: what a streamed left file yields batch by batch."""
        out = cls.__new__(cls)
        out._build(right, left_counts, max_block_pairs, band_keys, band_cap)
        return out

    def _build(self, right: tuple[IntArray, IntArray], left_counts: IntArray,
               max_block_pairs: int, band_keys: IntArray | None, band_cap: int) -> None:
        # deduplicate (key, row) so that a repeated key in one record counts once
        keys_r, rows_r = distinct_pairs(*right)
        ukeys_r, counts_r = np.unique(keys_r, return_counts=True)
        shared = left_counts > 0
        sizes = left_counts.astype(np.int64) * counts_r.astype(np.int64)
        big = sizes > max_block_pairs
        if band_keys is not None and len(band_keys):
            big |= in_sorted(ukeys_r, band_keys) & (sizes > band_cap)
        self.stats = BlockingStats(
            keys_shared=int(shared.sum()),
            keys_skipped=int(big.sum()),
            pairs_skipped_in_big_blocks=int(sizes[big].sum()),
        )
        # only the *live* keys are kept (held by both sides, not skipped): most of the right
        # side's keys (with the name bands, nearly all its bands) meet no left record, and
        # the index is held by every worker. A live key's block is a run of right_rows.
        live = shared & ~big
        self.lookup = KeyIndex(ukeys_r[live])  # its keys: the live keys, sorted
        entry_live = np.repeat(live, counts_r)
        self.right_rows = rows_r[entry_live]  # sorted by key, then row
        self.block_start = np.r_[0, np.cumsum(counts_r[live])].astype(np.int64)

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
        at = self.lookup.find(left_keys)
        found = at >= 0  # a live key: the right side holds it and its block is not skipped
        at = at[found]
        start, stop = self.block_start[at], self.block_start[at + 1]
        left_rows = left_rows[found]
        sizes = stop - start
        if not len(sizes):
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
    left: list[list[int]], right: list[list[int]], *, max_block_pairs: int,
    band_keys: set[int] | None = None, band_cap: int = 0,
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
        cap = band_cap if band_keys is not None and k in band_keys else max_block_pairs
        if len(lrows) * len(rrows) > min(cap, max_block_pairs):
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
    live_index = KeyIndex(live)
    for (keys, rows), pick in ((left, li), (right, ri)):
        keep = live_index.contains(keys)
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


# ------------------------------------------------------------ bands of the name filters (LSH)
#
# The keyed name keys miss true pairs whose names carry compounded corruptions (a missing part
# *and* a typo or another transliteration) although their name filters stay close (Dice median
# about 0.85, ``benchmarks/filter_lsh.py``). Bit-sampling LSH finds such pairs: a band is ``r``
# bits sampled from the name filter, and two balanced filters (about half their bits set)
# agree in a sampled bit with probability about their Dice, so one band meets a pair of Dice
# ``d`` with probability ``d ** r`` and ``b`` bands with ``1 - (1 - d ** r) ** b``. The linkage
# unit computes the bands from the filters it holds; they are keyed already (the filters are),
# so the sampled positions need no secret, and no plain value is hashed.


@dataclass(frozen=True)
class NameBands:
    """Bit-sampling LSH of the name filters as extra blocking keys (opt-in).

    The default setting was measured with ``benchmarks/filter_lsh.py`` (format 6): at 200,000
    × 10,000 the keys alone kept 97.54 % of the true pairs at 0.957 % of all pairs, keys and
    bands 98.91 % at 1.146 % (24 bits within nationality, cap 2,000); 32-bit bands across
    nationalities, the first default, 98.30 % at 1.117 %, and at 1,000,000 × 50,000 (keys
    alone 95.20 % at 0.357 %) 96.26 % at 0.413 % (cap 2,000), 96.72 % at 0.469 % (cap
    10,000), 97.01 % at 0.543 % (cap 50,000). A fixed cap skips more bands as the job grows,
    so by default it grows with the left side, as the keys' cap does (:meth:`cap_for`).

    Attributes:
        bits: bits per band (at most 32): fewer bits meet more distant filters and more pairs.
        bands: bands per record.
        cap: a band's block holding more pairs than this is skipped: a band shared by many
            records is a common name, which the keys with the birth year cover. ``None``:
            one pair per 100 left records, at least 2,000.
        seed: draws the sampled positions; both sides use the same.
        nationality: bands meet only within a nationality (the keyed nationality token is
            mixed into each band key; records without one meet among themselves): a block
            holds about a fifth of the records, so a band can sample fewer bits (meet more
            distant spellings) for the same number of pairs.
    """

    bits: int = 24
    bands: int = 150
    cap: int | None = None
    seed: int = 20261130
    nationality: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 32 or self.bands < 1 or \
                (self.cap is not None and self.cap < 1):
            raise ConfigError("name bands need 1-32 bits, at least one band and a positive cap")

    def cap_for(self, left_rows: int) -> int:
        """The cap in force for a job with ``left_rows`` left records."""
        return self.cap if self.cap is not None else max(2_000, left_rows // 100)

    def positions(self, width_bits: int) -> IntArray:
        """The sampled bit positions, (bands, bits), each band's distinct (read-only: drawn
        once per setting and width, not for every slice of rows)."""
        if self.bits > width_bits:
            raise ConfigError("a band cannot sample more bits than the name filter has")
        return _positions(self, width_bits)


@functools.lru_cache(maxsize=16)
def _positions(bands: NameBands, width_bits: int) -> IntArray:
    rng = np.random.default_rng(bands.seed)
    out = np.stack([rng.choice(width_bits, bands.bits, replace=False)
                    for _ in range(bands.bands)]).astype(np.int64)
    out.setflags(write=False)
    return out


def _filter_bytes(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.uint8]:
    """A fixed-size binary column as a (rows, bytes) array."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width = arr.type.byte_width
    if arr.null_count:
        raise InputDataError("an encoded file has rows without a name filter; use the file "
                             "as written by `linkmatch encode`")
    raw = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
    start = arr.offset * width
    return raw[start:start + len(arr) * width].reshape(len(arr), width)


def band_keys(column: pa.ChunkedArray | pa.Array, bands: NameBands,
              nationality: IntArray | None = None) -> tuple[IntArray, IntArray]:
    """(key, row) of each record's band keys, grouped by row, bands in order.

    A record with an empty filter (no name) gets none. A band key is the band's number and
    its sampled bits, mixed by the SplitMix64 finaliser: a bijection, so two bands never share
    a key and a band key meets a keyed blocking key (64 random bits) with probability 2^-64.
    With ``bands.nationality``, the record's nationality token (``nationality``, one per
    row; 0 for none) is mixed in first, so that bands meet only within a nationality, and
    records without one among themselves.
    """
    filters = _filter_bytes(column)
    pos = bands.positions(filters.shape[1] * 8)
    byte = np.ascontiguousarray(pos >> 3)
    shift = np.ascontiguousarray(7 - (pos & 7))  # bit 0 of a byte is its most significant
    named = filters.any(axis=1)
    rows = np.flatnonzero(named).astype(np.int64)
    if bands.nationality and nationality is not None:
        nat = np.ascontiguousarray(nationality, dtype=np.int64)
        if len(nat) != len(filters):
            raise ValueError("one nationality token per name filter")
    else:
        nat = np.zeros(len(filters), dtype=np.int64)
    keys = _band_kernel(np.ascontiguousarray(filters), rows, byte, shift, nat)
    return keys, np.repeat(rows, bands.bands)


@njit(cache=True, nogil=True)
def _band_kernel(filters: Any, rows: Any, byte: Any, shift: Any,
                 nat: Any) -> Any:  # pragma: no cover - compiled
    n_bands, n_bits = byte.shape
    out = np.empty(len(rows) * n_bands, dtype=np.int64)
    m = 0
    for row in rows:
        f = filters[row]
        salt = _mix64(np.uint64(nat[row])) if nat[row] != 0 else np.uint64(0)
        for b in range(n_bands):
            v = np.uint64(0)
            for k in range(n_bits):
                v = (v << np.uint64(1)) | np.uint64((f[byte[b, k]] >> shift[b, k]) & 1)
            out[m] = np.int64(_mix64(((np.uint64(b) << np.uint64(32)) | v) ^ salt))
            m += 1
    return out


def band_keys_reference(filters: list[bytes], bands: NameBands,
                        nationality: list[int] | None = None) -> list[list[int]]:
    """Plain-Python :func:`band_keys` (keys per row), the reference for property tests."""
    mask = (1 << 64) - 1

    def mix(x: int) -> int:
        x ^= x >> 30
        x = (x * 0xBF58476D1CE4E5B9) & mask
        x ^= x >> 27
        x = (x * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    out: list[list[int]] = []
    for row, f in enumerate(filters):
        keys: list[int] = []
        nat = nationality[row] if bands.nationality and nationality is not None else 0
        salt = mix(nat & mask) if nat else 0
        if any(f):
            for b, band in enumerate(bands.positions(len(f) * 8).tolist()):
                v = 0
                for p in band:
                    v = (v << 1) | ((f[p // 8] >> (7 - p % 8)) & 1)
                x = mix(((b << 32) | v) ^ salt)
                keys.append(x - (1 << 64) if x >= 1 << 63 else x)
        out.append(keys)
    return out


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
    """(offsets, keys) of each row's distinct keys in ascending order (CSR form).

    Keys grouped by row (as :func:`explode` and the job's keys give them) are sorted row by
    row in compiled code: a global sort of 30 million keys took 4.5 s of a job's random-pair
    test with the name bands. Other input is sorted as a whole (:func:`key_lists_reference`).
    """
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    if len(rows) and not bool(np.all(rows[1:] >= rows[:-1])):
        return key_lists_reference(keys, rows, num_rows)
    offsets = np.searchsorted(rows, np.arange(num_rows + 1, dtype=np.int64)).astype(np.int64)
    out_offsets, out_keys = _sorted_per_row(keys, offsets)
    return np.asarray(out_offsets, dtype=np.int64), np.asarray(out_keys, dtype=np.int64)


@njit(cache=True, nogil=True)
def _sorted_per_row(keys: Any, offsets: Any) -> tuple[Any, Any]:  # pragma: no cover
    out = np.empty(len(keys), dtype=np.int64)
    out_offsets = np.zeros(len(offsets), dtype=np.int64)
    m = 0
    for r in range(len(offsets) - 1):
        seg = np.sort(keys[offsets[r]:offsets[r + 1]])
        for i in range(len(seg)):
            if i == 0 or seg[i] != seg[i - 1]:
                out[m] = seg[i]
                m += 1
        out_offsets[r + 1] = m
    return out_offsets, out[:m]


def key_lists_reference(keys: IntArray, rows: IntArray,
                        num_rows: int) -> tuple[IntArray, IntArray]:
    """:func:`key_lists` by one global sort, for keys in any order; the reference for tests."""
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
                owner = np.int64(_mix64(np.uint64(ka)) % nb)
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
