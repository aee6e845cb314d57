"""Keyed tokens in batches: AES-CMAC (RFC 4493, NIST SP 800-38B) over millions of values at once.

Primitive. Encoding a million records needs tens of millions of keyed tokens. A keyed hash per
value from Python (``hmac.digest``: about 1.9 µs a call here, nearly all interpreter overhead)
would dominate the whole job, so tokens are AES-CMAC values computed *column-wise*: the CBC
chain of every message in a batch advances one block at a time through a single AES-ECB call of
``cryptography`` (OpenSSL, AES-NI) over the whole batch. ECB is used only as the block cipher
applied to independent blocks — it never encrypts data; the chaining, padding and sub-keys K1/K2
are CMAC's, and :class:`KeyedPRF` checks itself against ``cryptography``'s own
:class:`~cryptography.hazmat.primitives.cmac.CMAC` in the property tests (the reference path,
:meth:`KeyedPRF.mac`, *is* that class).

Why CMAC is a fit: AES-256-CMAC is a pseudo-random function on messages of any length (its
security reduces to AES being a pseudo-random permutation), like HMAC-SHA256; every purpose gets
its own 256-bit sub-key from HKDF (:meth:`linkmatch.pseudonymise.keys.Key.derive`), so equal
values give unrelated tokens across purposes. Composite tokens (a name key with a birth year, a
pair of name keys) are CMACs of the packed 64-bit integers, never of a reversible mix of tokens.

Tokens are positive ``int64`` values (1 … 2**63-1; ``0`` means "missing"): the first 8 bytes of
the MAC read big-endian, shifted right by one (and 0 mapped to 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["KeyedPRF", "pack_ints"]

_BLOCK: Final = 16
_RB: Final = 0x87  # CMAC's constant for 128-bit blocks
_MAX_BATCH_BLOCKS: Final = 1 << 20  # 16 MiB of AES input per call
_STRING_SLICE_BYTES: Final = 1 << 22

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


def _dbl(block: bytes) -> bytes:
    """Doubling in GF(2^128) (CMAC sub-key generation)."""
    value = int.from_bytes(block, "big") << 1
    if value >> 128:
        value = (value & ((1 << 128) - 1)) ^ _RB
    return value.to_bytes(16, "big")


def pack_ints(*values: int) -> bytes:
    """The message of a composite token: each value as a little-endian signed 64-bit integer."""
    return b"".join(int(v).to_bytes(8, "little", signed=True) for v in values)


def _to_token(macs: U8) -> I64:
    """First 8 MAC bytes, big-endian, >> 1; 0 → 1 (0 is reserved for "missing")."""
    head = np.ascontiguousarray(macs[:, :8]).view(">u8").ravel().astype(np.uint64)
    tok = (head >> np.uint64(1)).astype(np.int64)
    tok[tok == 0] = 1
    return tok


class KeyedPRF:
    """AES-256-CMAC under one purpose's sub-key: scalar (reference) and batch (fast) forms.

    Args:
        key: a 32-byte sub-key (from :meth:`Key.derive`).
    """

    __slots__ = ("_algorithm", "_cipher", "_k1", "_k2", "_key")

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("KeyedPRF needs a 32-byte sub-key")
        self._key = key
        self._algorithm = algorithms.AES(key)
        self._cipher = Cipher(self._algorithm, modes.ECB())  # noqa: S305 - block cipher only
        ell = self._ecb(bytes(_BLOCK))
        k1 = _dbl(ell)
        self._k1 = np.frombuffer(k1, dtype=np.uint8)
        self._k2 = np.frombuffer(_dbl(k1), dtype=np.uint8)

    # -- reference: cryptography's CMAC, one message at a time --------------------------------
    def mac(self, message: bytes) -> bytes:
        """AES-CMAC of one message (``cryptography``'s implementation)."""
        c = cmac.CMAC(self._algorithm)
        c.update(message)
        return c.finalize()

    def token(self, message: bytes) -> int:
        """The 63-bit token of one message (reference for :meth:`tokens`)."""
        return int.from_bytes(self.mac(message)[:8], "big") >> 1 or 1

    def token_str(self, value: str) -> int:
        """Token of a string (its UTF-8 bytes)."""
        return self.token(value.encode("utf-8"))

    def token_ints(self, *values: int) -> int:
        """Token of a tuple of 64-bit integers (see :func:`pack_ints`)."""
        return self.token(pack_ints(*values))

    # -- fast: the same MACs, column-wise ---------------------------------------------------
    def _ecb(self, data: bytes) -> bytes:
        enc = self._cipher.encryptor()
        return enc.update(data) + enc.finalize()

    def _encrypt_rows(self, blocks: U8) -> U8:
        out = np.empty_like(blocks)
        step = _MAX_BATCH_BLOCKS
        for lo in range(0, len(blocks), step):
            chunk = np.ascontiguousarray(blocks[lo:lo + step])
            out[lo:lo + step] = np.frombuffer(self._ecb(chunk.tobytes()), dtype=np.uint8) \
                .reshape(-1, _BLOCK)
        return out

    def _macs_equal_blocks(self, messages: U8, complete: npt.NDArray[np.bool_]) -> U8:
        """CMACs of messages already padded to ``nb`` whole blocks: ``(n, nb*16)`` bytes.

        ``complete`` says which messages filled their last block exactly (K1) and which were
        padded with 0x80 0… (K2).
        """
        n = len(messages)
        blocks = messages.reshape(n, -1, _BLOCK)
        last = blocks[:, -1, :] ^ np.where(complete[:, None], self._k1, self._k2)
        state = np.zeros((n, _BLOCK), dtype=np.uint8)
        nb = blocks.shape[1]
        for i in range(nb):
            block = last if i == nb - 1 else blocks[:, i, :]
            state = self._encrypt_rows(state ^ block)
        return state

    def macs_fixed(self, messages: U8) -> U8:
        """CMACs of ``n`` messages of equal length, given as an ``(n, length)`` byte matrix."""
        n, length = messages.shape
        nb = max(1, -(-length // _BLOCK))
        padded = np.zeros((n, nb * _BLOCK), dtype=np.uint8)
        padded[:, :length] = messages
        complete = length > 0 and length % _BLOCK == 0
        if not complete:
            padded[:, length] = 0x80
        return self._macs_equal_blocks(padded, np.full(n, complete))

    def tokens_ints(self, columns: I64 | Sequence[I64]) -> I64:
        """Tokens of rows of 64-bit integers: ``columns`` is ``(n, k)`` or a list of k arrays.

        Equal to ``token_ints(*row)`` for every row.
        """
        mat = np.column_stack(columns) if not isinstance(columns, np.ndarray) else columns
        mat = np.ascontiguousarray(np.asarray(mat, dtype="<i8"))
        if mat.ndim == 1:
            mat = mat[:, None]
        if not len(mat):
            return np.zeros(0, dtype=np.int64)
        return _to_token(self.macs_fixed(mat.view(np.uint8).reshape(len(mat), -1)))

    def macs_strings(self, values: pa.Array | pa.ChunkedArray | Sequence[str]) -> U8:
        """CMACs (16 bytes each) of the UTF-8 bytes of each string; nulls count as "".

        Strings are grouped by their number of blocks, each group advancing its CBC chains
        together, so the cost is a few numpy operations per block position, not per string.
        """
        arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else \
            pa.array(list(values), type=pa.string())
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        arr = pc.fill_null(arr.cast(pa.large_string()), "")
        n = len(arr)
        out = np.zeros((n, _BLOCK), dtype=np.uint8)
        if not n:
            return out
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1]
        data_buf = arr.buffers()[2]
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else \
            np.zeros(0, dtype=np.uint8)
        starts = offsets[:-1]
        lengths = offsets[1:] - starts
        nblocks = np.maximum(1, -(-lengths // _BLOCK))
        col = np.arange(_BLOCK * int(nblocks.max()))
        for nb in np.unique(nblocks).tolist():
            group = np.flatnonzero(nblocks == nb)
            width = nb * _BLOCK
            # moderate slices: a few MiB of temporaries each, reused from the allocator
            step = max(1, _STRING_SLICE_BYTES // width)
            for lo in range(0, len(group), step):
                rows = group[lo:lo + step]
                ln = lengths[rows]
                if len(data):
                    idx = starts[rows][:, None] + col[None, :width]
                    np.minimum(idx, len(data) - 1, out=idx)
                    padded = data.take(idx)
                    padded *= col[None, :width] < ln[:, None]
                else:
                    padded = np.zeros((len(rows), width), dtype=np.uint8)
                complete = (ln > 0) & (ln % _BLOCK == 0)
                pad_rows = np.flatnonzero(~complete)
                padded[pad_rows, ln[pad_rows]] = 0x80
                out[rows] = self._macs_equal_blocks(padded, complete)
        return out

    def tokens_strings(self, values: pa.Array | pa.ChunkedArray | Sequence[str]) -> I64:
        """Tokens of strings; equal to ``token_str(v)`` for every value."""
        return _to_token(self.macs_strings(values))

    def __repr__(self) -> str:
        return "KeyedPRF(<keyed>)"
