"""Hardening of the record-level name Bloom filter: XOR folding, balancing and BLIP.

Primitive. A keyed Bloom filter hides *which* bits a q-gram sets, but not the filter's
structure: an adversary holding the encodings can count bits (a filter's weight grows with the
length of the name) and, given some known (record, name) pairs, learn which positions each
q-gram sets ("pattern mining"). The transforms here change what the linkage unit sees while
keeping the Dice similarity of two filters meaningful. They run after the filter is built and
before it is written, in this order:

0. **Salting with a stable field** (optional; the record's birth year): the filter's bits are
   permuted under a keyed permutation chosen by the salt value, which is the same as entering
   every q-gram at positions keyed with the salt. Filters of records with the same salt
   compare as before; an attacker's q-gram → position knowledge learned from known records of
   one year says nothing about another year, so pattern mining needs known pairs *per year*.
   Filters of records with different salts no longer compare (their Dice is that of unrelated
   filters): a pair whose birth years differ keeps only its name tokens as name evidence.
1. **XOR folding** (Schnell, Borgs & Encheva 2016): the two halves of the filter are XOR-ed into
   one of half the length. Each stored bit mixes two positions, so a stored bit no longer says
   that a given q-gram is present.
2. **Balancing** (Berger & Schnell): the filter is concatenated with its complement and the
   bits are permuted under a keyed permutation. Every balanced filter has exactly half its
   bits set; Dice of two balanced filters is ``1 - hamming / length``, a monotone function of
   the original Hamming distance. The constant weight does not hide the length from a unit
   that holds many filters: every stored position has a complement column (set exactly where
   the other is not), so keeping the sparser column of each pair gives the filter back, and
   with it the weight (:func:`linkmatch.structure_attack.unbalanced_weight`; the audit measures
   it).
3. **BLIP** (bit flipping; Schnell & Borgs 2016, after randomised response): each stored bit is
   flipped with probability ``blip``, from a keyed pseudo-random stream seeded by the record's
   pseudonym MAC. The noise is independent between the two holders, so two encodings of the
   same name differ in a few bits, and the attacker's positions learned from known pairs are
   blurred. Deterministic per job: re-encoding a file under the same key and job salt gives
   the same output. The noise follows the job's pseudonyms, so two jobs over the same file
   are noised independently: an adversary holding the encodings of many jobs could average
   the noise away. BLIP is therefore an option, not a default (see ``docs/privacy.md``).

Each transform is given twice: :meth:`FilterHardener.apply` works on whole matrices of filters
with numpy and one AES call per batch, :meth:`FilterHardener.apply_reference` transforms one
filter bit by bit; property tests require both to agree exactly. The attacks that measure what
these transforms buy (and what they do not) are in :mod:`linkmatch.audit`; the measured effect
of each option is in ``docs/privacy.md``.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from numba import njit

from linkmatch.errors import ConfigError
from linkmatch.pseudonymise.prf import KeyedPRF

__all__ = ["BLIP_RESOLUTION", "FilterHardener", "stored_filter_bits"]

BLIP_RESOLUTION: Final = 256
"""BLIP flips a bit when one keystream byte is below ``round(blip * 256)``: the flip
probability is used in steps of 1/256."""
_BATCH_ROWS: Final = 8192

U8 = npt.NDArray[np.uint8]


@njit(cache=True, nogil=True)
def _permute_rows(filters: Any, perms: Any, which: Any,
                  out: Any) -> None:  # pragma: no cover - compiled
    """Output bit ``j`` of row ``r`` = bit ``perms[which[r], j]`` of the row."""
    nbits = filters.shape[1] * 8
    bits = np.empty(nbits, dtype=np.uint8)
    for r in range(filters.shape[0]):
        for i in range(nbits):
            bits[i] = (filters[r, i >> 3] >> (i & 7)) & 1
        perm = perms[which[r]]
        for b in range(filters.shape[1]):
            byte = 0
            for k in range(8):
                byte |= bits[perm[8 * b + k]] << k
            out[r, b] = byte


@njit(cache=True, nogil=True)
def _balance_rows(filters: Any, source: Any, complement: Any,
                  out: Any) -> None:  # pragma: no cover - compiled
    """Output bit ``j`` of each row = bit ``source[j]`` of the row, inverted if
    ``complement[j]``: the filter and its complement under the permutation, in one pass."""
    nbits = filters.shape[1] * 8
    bits = np.empty(nbits, dtype=np.uint8)
    for r in range(filters.shape[0]):
        for i in range(nbits):
            bits[i] = (filters[r, i >> 3] >> (i & 7)) & 1
        for b in range(out.shape[1]):
            byte = 0
            for k in range(8):
                j = 8 * b + k
                byte |= (bits[source[j]] ^ complement[j]) << k
            out[r, b] = byte


def stored_filter_bits(num_bits: int, *, xor_fold: bool, balance: bool) -> int:
    """Length of the stored filter after folding (halves it) and balancing (doubles it)."""
    bits = num_bits // 2 if xor_fold else num_bits
    return bits * 2 if balance else bits


class FilterHardener:
    """The hardening transforms of one job, under their own sub-keys.

    Args:
        permutation_key: 32-byte sub-key of the balancing permutation.
        blip_key: 32-byte sub-key of the BLIP keystream.
        num_bits: length of the filters given to :meth:`apply` (a multiple of 128).
        xor_fold: fold the filter once.
        balance: append the complement and permute.
        blip: flip probability per stored bit, in [0, 0.5).
        salt_key: 32-byte sub-key of the salt permutations; given, :meth:`apply` takes each
            record's salt value (an integer: the birth year, -1 for none) and permutes the
            filter by it first.
    """

    __slots__ = ("_blip_cipher", "_complement", "_flip_below", "_perm_prf", "_salt_perms",
                 "_salt_prf", "_source", "balance", "num_bits", "stored_bits", "xor_fold")

    def __init__(self, permutation_key: bytes, blip_key: bytes, *, num_bits: int,
                 xor_fold: bool = False, balance: bool = False, blip: float = 0.0,
                 salt_key: bytes | None = None) -> None:
        if num_bits < 128 or num_bits % 128:
            raise ConfigError("hardened filters need a length that is a multiple of 128 bits")
        if not 0.0 <= blip < 0.5:
            raise ConfigError("the BLIP flip probability must be in [0, 0.5)")
        self.num_bits = num_bits
        self.xor_fold = xor_fold
        self.balance = balance
        self.stored_bits = stored_filter_bits(num_bits, xor_fold=xor_fold, balance=balance)
        self._flip_below = round(blip * BLIP_RESOLUTION)
        # a keyed permutation: positions ordered by their keyed tokens (ties are broken by
        # position, so the order is total)
        self._perm_prf = KeyedPRF(permutation_key)
        idx = np.arange(self.stored_bits, dtype=np.int64)
        perm = np.lexsort((idx, self._perm_prf.tokens_ints(idx))) if balance else idx
        # stored bit j is bit _source[j] of the (folded) filter, inverted where _complement[j]
        half = max(self.stored_bits // 2, 1)
        self._source = (perm % half).astype(np.int64)
        self._complement = (perm >= half).astype(np.uint8)
        # ECB as the raw block cipher over distinct counter blocks (a CTR keystream)
        self._blip_cipher = Cipher(algorithms.AES(blip_key), modes.ECB())  # noqa: S305
        self._salt_prf = KeyedPRF(salt_key) if salt_key is not None else None
        self._salt_perms: dict[int, npt.NDArray[np.int64]] = {}

    @property
    def active(self) -> bool:
        """Whether any transform changes the filter."""
        return self.xor_fold or self.balance or self._flip_below > 0 or self.salted

    @property
    def salted(self) -> bool:
        """Whether filters are permuted by a salt value first."""
        return self._salt_prf is not None

    def salt_permutation(self, value: int) -> npt.NDArray[np.int64]:
        """The permutation of salt ``value``: output bit ``j`` is input bit ``perm[j]``;
        positions ordered by the keyed token of (value, position), ties by position."""
        perm = self._salt_perms.get(value)
        if perm is None:
            assert self._salt_prf is not None
            idx = np.arange(self.num_bits, dtype=np.int64)
            tokens = self._salt_prf.tokens_ints([np.full(self.num_bits, value, np.int64), idx])
            perm = np.lexsort((idx, tokens)).astype(np.int64)
            self._salt_perms[value] = perm
        return perm

    # -- fast -------------------------------------------------------------------------------
    def apply(self, filters: U8, record_macs: U8,
              salts: npt.NDArray[np.int64] | None = None) -> U8:
        """Harden ``n`` filters (``(n, num_bits // 8)`` bytes; bit ``i`` is bit ``i % 8`` of byte
        ``i // 8``), each with its record's 16-byte pseudonym MAC (and salt value, when
        salted). Returns ``(n, stored // 8)``.
        """
        if self.salted and (salts is None or len(salts) != len(filters)):
            raise ConfigError("a salted hardener needs one salt value per filter")
        out = np.empty((len(filters), self.stored_bits // 8), dtype=np.uint8)
        for lo in range(0, len(filters), _BATCH_ROWS):
            out[lo:lo + _BATCH_ROWS] = self._apply_batch(
                filters[lo:lo + _BATCH_ROWS], record_macs[lo:lo + _BATCH_ROWS],
                salts[lo:lo + _BATCH_ROWS] if salts is not None else None)
        return out

    def _apply_batch(self, filters: U8, macs: U8, salts: npt.NDArray[np.int64] | None) -> U8:
        f = np.ascontiguousarray(filters, dtype=np.uint8)
        if self.salted:
            assert salts is not None
            values, which = np.unique(np.asarray(salts, dtype=np.int64), return_inverse=True)
            perms = np.stack([self.salt_permutation(int(v)) for v in values.tolist()]) \
                if len(values) else np.zeros((0, self.num_bits), dtype=np.int64)
            salted = np.empty_like(f)
            _permute_rows(f, perms, which.ravel().astype(np.int64), salted)
            f = salted
        if self.xor_fold:
            half = f.shape[1] // 2
            f = f[:, :half] ^ f[:, half:]
        if self.balance:
            out = np.empty((len(f), self.stored_bits // 8), dtype=np.uint8)
            _balance_rows(f, self._source, self._complement, out)
            f = out
        if self._flip_below:
            stream = self._keystream(macs)
            flips = np.packbits(stream < self._flip_below, axis=1, bitorder="little")
            f = f ^ flips
        return f

    def _keystream(self, macs: U8) -> U8:
        """One keystream byte per stored bit and record: block ``j`` of a record is
        ``AES(key, mac[:8] || j)`` with ``j`` big-endian in 8 bytes."""
        n = len(macs)
        nblocks = self.stored_bits // 16
        blocks = np.zeros((n, nblocks, 16), dtype=np.uint8)
        blocks[:, :, :8] = macs[:, None, :8]
        blocks[:, :, 8:] = np.arange(nblocks, dtype=">u8").view(np.uint8).reshape(nblocks, 8)
        enc = self._blip_cipher.encryptor()
        data = enc.update(blocks.tobytes()) + enc.finalize()
        return np.frombuffer(data, dtype=np.uint8).reshape(n, self.stored_bits)

    # -- reference --------------------------------------------------------------------------
    def apply_reference(self, bloom: bytes, record_mac: bytes, salt: int | None = None) -> bytes:
        """The same transforms on one filter, bit by bit (the specification of :meth:`apply`)."""
        bits = [(bloom[i // 8] >> (i % 8)) & 1 for i in range(len(bloom) * 8)]
        if self._salt_prf is not None:
            if salt is None:
                raise ConfigError("a salted hardener needs the filter's salt value")
            order = sorted(range(len(bits)),
                           key=lambda i: (self._salt_prf.token_ints(salt, i), i))  # type: ignore[union-attr]
            bits = [bits[i] for i in order]
        if self.xor_fold:
            half = len(bits) // 2
            bits = [bits[i] ^ bits[half + i] for i in range(half)]
        if self.balance:
            doubled = bits + [1 - b for b in bits]
            order = sorted(range(len(doubled)),
                           key=lambda i: (self._perm_prf.token_ints(i), i))
            bits = [doubled[i] for i in order]
        if self._flip_below:
            for j in range(len(bits) // 16):
                enc = self._blip_cipher.encryptor()
                block = enc.update(record_mac[:8] + j.to_bytes(8, "big")) + enc.finalize()
                for k in range(16):
                    if block[k] < self._flip_below:
                        bits[16 * j + k] ^= 1
        out = bytearray(len(bits) // 8)
        for i, b in enumerate(bits):
            out[i // 8] |= b << (i % 8)
        return bytes(out)

    def __repr__(self) -> str:
        return (f"FilterHardener(num_bits={self.num_bits}, xor_fold={self.xor_fold}, "
                f"balance={self.balance}, blip={self._flip_below}/{BLIP_RESOLUTION}, "
                f"salted={self.salted}, <keyed>)")
