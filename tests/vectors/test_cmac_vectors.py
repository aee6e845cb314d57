"""AES-256-CMAC known answers (NIST SP 800-38B, appendix D.3), for both forms of KeyedPRF:
``cryptography``'s CMAC (reference) and the column-wise batch computation used by encode."""

from __future__ import annotations

import numpy as np
import pytest

from linkmatch.pseudonymise.prf import KeyedPRF

KEY = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
MESSAGE = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
VECTORS = [
    (0, "028962f61b7bf89efc6b551f4667d983"),
    (16, "28a7023f452e8f82bd4bf28d8c37c35c"),
    (40, "aaf3d8f1de5640c232f5b169b9c911e6"),
    (64, "e1992190549f6ed5696a2c056c315410"),
]


@pytest.mark.parametrize(("length", "expected"), VECTORS)
def test_reference_cmac(length: int, expected: str) -> None:
    assert KeyedPRF(KEY).mac(MESSAGE[:length]).hex() == expected


@pytest.mark.parametrize(("length", "expected"), VECTORS)
def test_batch_cmac_fixed(length: int, expected: str) -> None:
    messages = np.frombuffer(MESSAGE[:length] * 3, dtype=np.uint8).reshape(3, length)
    macs = KeyedPRF(KEY).macs_fixed(messages)
    assert {bytes(m).hex() for m in macs} == {expected}


def test_batch_cmac_strings_all_lengths_at_once() -> None:
    # strings of different block counts in one batch; Latin-1 text gives the exact bytes
    texts = [MESSAGE[:length].decode("latin-1") for length, _ in VECTORS]
    prf = KeyedPRF(KEY)
    utf8 = [t.encode("utf-8") for t in texts]
    macs = prf.macs_strings(texts)
    assert [bytes(m) for m in macs] == [prf.mac(u) for u in utf8]
    ascii_only = [(t, e) for (_, e), t in zip(VECTORS, texts, strict=True) if t.isascii()]
    assert ascii_only[0][1] == VECTORS[0][1]  # the empty message


def test_token_is_the_mac_head() -> None:
    prf = KeyedPRF(KEY)
    assert prf.token(b"") == int("028962f61b7bf89e", 16) >> 1
