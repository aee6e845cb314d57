"""Dice coefficient of Bloom filters: a plain reference and a vectorised kernel.

Primitive. ``dice(a, b) = 2 |a ∧ b| / (|a| + |b|)``; two empty filters have Dice 0 (nothing to
agree on). Filters are rows of ``uint64`` words (see :mod:`linkmatch.pseudonymise.bloom`).

The fast kernel uses ``numpy.bitwise_count`` (hardware popcount) over pair batches; the reference
is pure Python ``int.bit_count``. A property test checks that both agree bit for bit.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["dice_pairs", "dice_pairs_reference", "popcounts", "to_words"]

_BATCH: Final = 1 << 18

Words = npt.NDArray[np.uint64]


def to_words(blooms: npt.NDArray[np.uint8] | bytes | list[bytes], num_bytes: int) -> Words:
    """Filters given as concatenated little-endian bytes → ``(n, num_bytes // 8)`` uint64 rows."""
    raw = b"".join(blooms) if isinstance(blooms, list) else blooms
    buf = np.frombuffer(raw, dtype="<u8")
    return buf.reshape(-1, num_bytes // 8).astype(np.uint64, copy=False)


def popcounts(words: Words) -> npt.NDArray[np.int32]:
    """Bits set per filter."""
    counts: npt.NDArray[np.int32] = np.bitwise_count(words).sum(axis=1, dtype=np.int32)
    return counts


def dice_pairs(
    left: Words,
    right: Words,
    left_index: npt.NDArray[np.intp],
    right_index: npt.NDArray[np.intp],
    *,
    left_counts: npt.NDArray[np.int32] | None = None,
    right_counts: npt.NDArray[np.int32] | None = None,
) -> npt.NDArray[np.float64]:
    """Dice of the pairs ``(left[left_index[k]], right[right_index[k]])``, vectorised in batches.

    Args:
        left, right: filters as uint64 rows of equal width.
        left_index, right_index: pair indices, same length.
        left_counts, right_counts: precomputed :func:`popcounts` (computed if omitted).
    """
    lc = popcounts(left) if left_counts is None else left_counts
    rc = popcounts(right) if right_counts is None else right_counts
    out = np.zeros(len(left_index), dtype=np.float64)
    for start in range(0, len(left_index), _BATCH):
        li = left_index[start : start + _BATCH]
        ri = right_index[start : start + _BATCH]
        inter = np.bitwise_count(left[li] & right[ri]).sum(axis=1, dtype=np.int32)
        denom = lc[li] + rc[ri]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + len(li)] = np.where(denom > 0, 2.0 * inter / denom, 0.0)
    return out


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
