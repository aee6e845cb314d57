"""Keyed equality tokens: HMAC-SHA256 of a normalised value, truncated to 63 bits.

Primitive. A token lets the linkage unit test two values for equality without learning them. It
does *not* hide how often a value occurs: whoever holds many tokens can count them. That is why
low-entropy values (sex, a birth year on its own) are only ever tokenised together with something
else (see :mod:`linkmatch.encode`).

Tokens are positive ``int64`` values (1 … 2**63-1); ``0`` means "missing" in every token column, so
that vectorised comparisons need no separate null mask.

Why the standard library's :func:`hmac.digest` rather than ``cryptography``'s ``HMAC`` object here:
it is a one-shot call into OpenSSL without allocating a context object per value, about 3× faster
for the millions of short messages encoding produces. The known-answer tests check it against
RFC 4231 and against ``cryptography``'s implementation.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Final

__all__ = ["MISSING", "TokenHasher", "hmac_sha256"]

MISSING: Final = 0
_SEP: Final = "\x1f"  # unit separator: cannot occur in normalised values


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``message`` under ``key``."""
    return hmac.digest(key, message, "sha256")


class TokenHasher:
    """Maps normalised values to keyed 63-bit tokens, memoising repeated values.

    Args:
        key: the sub-key of one purpose (derived with HKDF); different purposes must use
            different hashers so that equal values give unrelated tokens across fields.
        cache_limit: values memoised; names and dates repeat heavily in real files.
    """

    __slots__ = ("_cache", "_cache_limit", "_key")

    def __init__(self, key: bytes, *, cache_limit: int = 1_000_000) -> None:
        self._key = key
        self._cache: dict[str, int] = {}
        self._cache_limit = cache_limit

    def token(self, *parts: object) -> int:
        """The token of the tuple ``parts`` (joined with a separator that values cannot hold)."""
        value = _SEP.join(str(p) for p in parts)
        tok = self._cache.get(value)
        if tok is None:
            digest = hmac.digest(self._key, value.encode("utf-8"), "sha256")
            tok = int.from_bytes(digest[:8], "big") >> 1 or 1
            if len(self._cache) < self._cache_limit:
                self._cache[value] = tok
        return tok

    def tokens(self, values: Iterable[str]) -> list[int]:
        """Tokens of several single values."""
        return [self.token(v) for v in values]

    def __repr__(self) -> str:
        return "TokenHasher(<keyed>)"
