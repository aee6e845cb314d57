"""HMAC-SHA256, the keyed hash of the few places that need one value at a time.

Primitive. Keyed *tokens* (equality tokens of names, dates, codes) are AES-CMAC values computed in
batches (:mod:`linkmatch.pseudonymise.prf`); HMAC-SHA256 remains where one value is hashed at a
time: Bloom-filter bit positions of each distinct q-gram, the per-job pseudonym key, the keyed
manifest MAC and HKDF. Tokens are positive ``int64`` values; ``0`` means "missing" in every token
column, so that vectorised comparisons need no separate null mask.

Why the standard library's :func:`hmac.digest` rather than ``cryptography``'s ``HMAC`` object: it
is a one-shot call into OpenSSL without allocating a context object per value. The known-answer
tests check it against RFC 4231.
"""

from __future__ import annotations

import hmac
from typing import Final

__all__ = ["MISSING", "hmac_sha256"]

MISSING: Final = 0


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) of ``message`` under ``key``."""
    return hmac.digest(key, message, "sha256")
