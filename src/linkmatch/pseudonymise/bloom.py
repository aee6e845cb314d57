"""Keyed Bloom-filter encodings of names (cryptographic long-term keys, Schnell et al. 2009).

Primitive. Each q-gram of a value sets ``num_hashes`` bits of a ``num_bits`` filter. The bit
positions of a q-gram come from HMAC-SHA256 of the q-gram under the field's own sub-key: *keyed
random hashing* (Niedermeyer et al. 2014 showed that the classical double-hashing scheme with
MD5/SHA-1 lets an attacker recover q-grams from the bit patterns). An attacker without the key
cannot compute which bits a q-gram sets.

Privacy notes (measure them with the attack harness before changing defaults):
- the number of bits set grows with the number of q-grams, i.e. with name length;
- a filter of a single frequent name is open to frequency alignment; combining all name parts in
  one filter per record removes the one-to-one link between a filter and a single name.

Filters are ``numpy.uint64`` arrays of ``num_bits // 64`` words (bit ``i`` is bit ``i % 64`` of
word ``i // 64``), the layout the Dice kernels in :mod:`linkmatch.compare.dice` expect.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from linkmatch.errors import ConfigError

__all__ = ["BloomEncoder", "qgrams"]


def qgrams(text: str, q: int = 2, *, pad: str = "_") -> list[str]:
    """The q-grams of ``text`` padded at both ends, so that first and last letters count.

    >>> qgrams("ali")
    ['_a', 'al', 'li', 'i_']
    """
    if not text:
        return []
    padded = f"{pad * (q - 1)}{text}{pad * (q - 1)}"
    return [padded[i : i + q] for i in range(len(padded) - q + 1)]


class BloomEncoder:
    """Encodes sets of q-grams into keyed Bloom filters.

    Args:
        key: the field's sub-key.
        num_bits: filter length; a power of two between 64 and 65536, so that positions taken
            from the HMAC output modulo ``num_bits`` are unbiased.
        num_hashes: bits set per q-gram (1–64).
    """

    __slots__ = ("_cache", "_key", "num_bits", "num_hashes", "num_words")

    def __init__(self, key: bytes, *, num_bits: int = 1024, num_hashes: int = 8) -> None:
        if num_bits < 64 or num_bits > 65536 or num_bits & (num_bits - 1):
            raise ConfigError("num_bits must be a power of two between 64 and 65536")
        if not 1 <= num_hashes <= 64:
            raise ConfigError("num_hashes must be between 1 and 64")
        self._key = key
        self.num_bits = num_bits
        self.num_hashes = num_hashes
        self.num_words = num_bits // 64
        self._cache: dict[str, int] = {}

    def positions(self, gram: str) -> list[int]:
        """The bit positions a q-gram sets (keyed; may repeat, as in any Bloom filter)."""
        out: list[int] = []
        counter = 0
        while len(out) < self.num_hashes:
            digest = hmac.digest(self._key, f"{counter}\x1f{gram}".encode(), "sha256")
            for i in range(0, 32, 2):
                out.append(int.from_bytes(digest[i : i + 2], "big") % self.num_bits)
                if len(out) == self.num_hashes:
                    break
            counter += 1
        return out

    def gram_filter(self, gram: str) -> int:
        """The filter with just ``gram``'s bits set, as a Python int (memoised).

        Python ints make the OR of a few dozen filters per record cheap (one machine-level loop
        per OR instead of a numpy call); :meth:`to_words` turns the result into the array layout.
        """
        cached = self._cache.get(gram)
        if cached is None:
            cached = 0
            for pos in self.positions(gram):
                cached |= 1 << pos
            self._cache[gram] = cached
        return cached

    def encode(self, grams: Iterable[str]) -> int:
        """The filter of a set of q-grams (bitwise OR of their filters)."""
        out = 0
        for gram in grams:
            out |= self.gram_filter(gram)
        return out

    def to_bytes(self, bloom: int) -> bytes:
        """Little-endian bytes of a filter: bit ``i`` is bit ``i % 8`` of byte ``i // 8``."""
        return bloom.to_bytes(self.num_bits // 8, "little")

    def to_words(self, bloom: int) -> npt.NDArray[np.uint64]:
        """A filter as ``num_bits // 64`` little-endian ``uint64`` words."""
        return np.frombuffer(self.to_bytes(bloom), dtype="<u8").astype(np.uint64)

    def __repr__(self) -> str:
        return f"BloomEncoder(num_bits={self.num_bits}, num_hashes={self.num_hashes}, <keyed>)"
