"""Dice coefficient of Bloom filters: compiled kernels and a plain reference.

Primitive. ``dice(a, b) = 2 |a ∧ b| / (|a| + |b|)``; two empty filters have Dice 0 (nothing to
agree on). Filters are rows of ``uint64`` words (see :mod:`linkmatch.pseudonymise.bloom`).

Two kernels, compiled with numba to machine code that uses the CPU's popcount instruction:

* :func:`dice_pairs` — Dice of given pairs (the blocked pairs of a match), gathered by index,
  on one thread (matching parallelises over batches in processes instead);
* :func:`dice_candidates` — all pairs of two filter sets at or above a threshold, the job of
  anonlink's candidate generation, on every core. The right side is sorted by bit count once,
  and for each left filter only the right filters whose bit count can reach the threshold are
  compared: ``dice ≤ 2·min(|a|, |b|) / (|a| + |b|)``, so ``|b|`` must lie in
  ``[|a|·t/(2-t), |a|·(2-t)/t]``.

Both decide "Dice ≥ t" as ``2·|a∧b| ≥ t·(|a|+|b|)`` in the same float arithmetic, and
:func:`dice_pairs_reference` (pure Python ``int.bit_count``) is the reference property tests
hold them to, bit for bit.
"""

from __future__ import annotations

from typing import Any, Final

import numba
import numpy as np
import numpy.typing as npt
from numba import njit, prange, types
from numba.extending import intrinsic

__all__ = ["dice_candidates", "dice_candidates_reference", "dice_pairs", "dice_pairs_reference",
           "popcounts", "to_words"]

Words = npt.NDArray[np.uint64]
_CAP: Final = 16  # candidates kept per left row in the first pass; fuller rows are redone


def to_words(blooms: npt.NDArray[np.uint8] | bytes | list[bytes], num_bytes: int) -> Words:
    """Filters given as concatenated little-endian bytes → ``(n, num_bytes // 8)`` uint64 rows."""
    raw = b"".join(blooms) if isinstance(blooms, list) else blooms
    buf = np.frombuffer(raw, dtype="<u8")
    return buf.reshape(-1, num_bytes // 8).astype(np.uint64, copy=False)


def popcounts(words: Words) -> npt.NDArray[np.int32]:
    """Bits set per filter."""
    counts: npt.NDArray[np.int32] = np.bitwise_count(words).sum(axis=1, dtype=np.int32)
    return counts


@intrinsic
def _popcount64(typingctx: Any, x: Any) -> Any:
    """The CPU's population count of a 64-bit word (LLVM ``ctpop``)."""
    sig = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return sig, codegen


@njit(cache=True, nogil=True)
def _intersection(a: Any, i: int, b: Any, j: int) -> int:
    inter = 0
    for k in range(a.shape[1]):
        inter += _popcount64(a[i, k] & b[j, k])  # type: ignore[call-arg]
    return inter


@njit(cache=True, nogil=True)
def _dice_pairs_kernel(left: Any, right: Any, li: Any, ri: Any, lc: Any, rc: Any,
                       out: Any) -> None:  # pragma: no cover - compiled
    # one thread: matching runs batches in worker processes, which must not inherit a
    # running thread pool (fork), and the gather is bound by memory more than by popcounts
    for p in range(len(li)):
        i = li[p]
        j = ri[p]
        total = lc[i] + rc[j]
        if total > 0:
            out[p] = 2.0 * _intersection(left, i, right, j) / total
        else:
            out[p] = 0.0


def dice_pairs(
    left: Words,
    right: Words,
    left_index: npt.NDArray[np.integer[Any]],
    right_index: npt.NDArray[np.integer[Any]],
    *,
    left_counts: npt.NDArray[np.int32] | None = None,
    right_counts: npt.NDArray[np.int32] | None = None,
) -> npt.NDArray[np.float64]:
    """Dice of the pairs ``(left[left_index[k]], right[right_index[k]])``.

    Args:
        left, right: filters as uint64 rows of equal width.
        left_index, right_index: pair indices, same length.
        left_counts, right_counts: precomputed :func:`popcounts` (computed if omitted).
    """
    lc = popcounts(left) if left_counts is None else left_counts
    rc = popcounts(right) if right_counts is None else right_counts
    out = np.zeros(len(left_index), dtype=np.float64)
    if len(out):
        _dice_pairs_kernel(np.ascontiguousarray(left), np.ascontiguousarray(right),
                           np.asarray(left_index, dtype=np.int64),
                           np.asarray(right_index, dtype=np.int64),
                           lc.astype(np.int64), rc.astype(np.int64), out)
    return out


@njit(parallel=True, cache=True, nogil=True)
def _candidates_kernel(left: Any, right: Any, lc: Any, rc_sorted: Any, order: Any,
                       threshold: float, found: Any, best_j: Any,
                       best_d: Any) -> None:  # pragma: no cover - compiled
    cap = best_j.shape[1]
    n_right = len(rc_sorted)
    for i in prange(left.shape[0]):
        a = lc[i]
        # bit counts of the right filters that can reach the threshold with this one
        if threshold > 0.0:
            lo = np.ceil(a * threshold / (2.0 - threshold) - 1e-9)
            hi = np.floor(a * (2.0 - threshold) / threshold + 1e-9)
        else:
            lo = 0.0
            hi = 1e18
        start = np.searchsorted(rc_sorted, lo, side="left")
        stop = np.searchsorted(rc_sorted, hi, side="right")
        count = 0
        for s in range(start, min(stop, n_right)):
            j = order[s]
            total = a + rc_sorted[s]
            if total == 0:
                continue
            inter = _intersection(left, i, right, j)
            if 2.0 * inter >= threshold * total:
                if count < cap:
                    best_j[i, count] = j
                    best_d[i, count] = 2.0 * inter / total
                count += 1
        found[i] = count


def dice_candidates(
    left: Words,
    right: Words,
    threshold: float,
    *,
    left_counts: npt.NDArray[np.int32] | None = None,
    right_counts: npt.NDArray[np.int32] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """All pairs with Dice ≥ ``threshold`` (``0 < threshold ≤ 1``), sorted by (left, right).

    Returns:
        Left indices, right indices and Dice of the candidate pairs.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    lc = (popcounts(left) if left_counts is None else left_counts).astype(np.int64)
    rc = (popcounts(right) if right_counts is None else right_counts).astype(np.int64)
    order = np.argsort(rc, kind="stable").astype(np.int64)
    rc_sorted = rc[order]
    left = np.ascontiguousarray(left)
    right = np.ascontiguousarray(right)
    found = np.zeros(len(left), dtype=np.int64)
    best_j = np.zeros((len(left), _CAP), dtype=np.int64)
    best_d = np.zeros((len(left), _CAP), dtype=np.float64)
    if len(left) and len(right):
        _candidates_kernel(left, right, lc, rc_sorted, order, float(threshold), found,
                           best_j, best_d)
    full = np.flatnonzero(found > _CAP)
    if len(full):  # rows with more candidates than the first pass kept: redo them, wider
        width = int(found[full].max())
        sub_found = np.zeros(len(full), dtype=np.int64)
        sub_j = np.zeros((len(full), width), dtype=np.int64)
        sub_d = np.zeros((len(full), width), dtype=np.float64)
        _candidates_kernel(left[full], right, lc[full], rc_sorted, order, float(threshold),
                           sub_found, sub_j, sub_d)
    rows = np.repeat(np.arange(len(left), dtype=np.int64), np.minimum(found, _CAP))
    keep = np.arange(_CAP)[None, :] < np.minimum(found, _CAP)[:, None]
    li, ri, dice = rows, best_j[keep], best_d[keep]
    if len(full):
        small = ~np.isin(li, full)
        sub_keep = np.arange(sub_j.shape[1])[None, :] < sub_found[:, None]
        li = np.concatenate([li[small], np.repeat(full, sub_found)])
        ri = np.concatenate([ri[small], sub_j[sub_keep]])
        dice = np.concatenate([dice[small], sub_d[sub_keep]])
    sort = np.lexsort((ri, li))
    return li[sort], ri[sort], dice[sort]


def dice_pairs_reference(
    left: list[bytes], right: list[bytes], pairs: list[tuple[int, int]]
) -> list[float]:
    """Textbook Dice on filters given as bytes: the reference for :func:`dice_pairs`."""
    out: list[float] = []
    for i, j in pairs:
        a = int.from_bytes(left[i], "little")
        b = int.from_bytes(right[j], "little")
        total = a.bit_count() + b.bit_count()
        out.append(2.0 * (a & b).bit_count() / total if total else 0.0)
    return out


def dice_candidates_reference(left: list[bytes], right: list[bytes],
                              threshold: float) -> list[tuple[int, int, float]]:
    """Every pair compared, no pruning: the reference for :func:`dice_candidates`."""
    out = []
    for i, a_bytes in enumerate(left):
        a = int.from_bytes(a_bytes, "little")
        for j, b_bytes in enumerate(right):
            b = int.from_bytes(b_bytes, "little")
            total = a.bit_count() + b.bit_count()
            if total and 2.0 * (a & b).bit_count() >= threshold * total:
                out.append((i, j, 2.0 * (a & b).bit_count() / total))
    return out


def kernel_threads() -> int:
    """Threads the compiled kernels run on (numba's setting, all cores by default)."""
    return int(numba.get_num_threads())
