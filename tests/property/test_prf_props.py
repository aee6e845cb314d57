"""The batch forms of KeyedPRF agree with cryptography's CMAC, value by value."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.pseudonymise.prf import KeyedPRF

keys = st.binary(min_size=32, max_size=32)
texts = st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                         max_size=70), max_size=40)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@settings(max_examples=80, deadline=None)
@given(key=keys, values=texts, offset=st.integers(0, 3))
def test_string_tokens_agree(key: bytes, values: list[str], offset: int) -> None:
    prf = KeyedPRF(key)
    arr = pa.array(["pad"] * offset + values, type=pa.string()).slice(offset)  # sliced arrays
    assert prf.tokens_strings(arr).tolist() == [prf.token_str(v) for v in values]
    macs = prf.macs_strings(values)
    assert [bytes(m) for m in macs] == [prf.mac(v.encode()) for v in values]


@settings(max_examples=80, deadline=None)
@given(key=keys, rows=st.lists(st.lists(ints, min_size=3, max_size=3), min_size=1,
                               max_size=30), width=st.integers(1, 3))
def test_integer_tokens_agree(key: bytes, rows: list[list[int]], width: int) -> None:
    prf = KeyedPRF(key)
    mat = np.array([r[:width] for r in rows], dtype=np.int64)
    assert prf.tokens_ints(mat).tolist() == [prf.token_ints(*r[:width]) for r in rows]


@settings(max_examples=30, deadline=None)
@given(key=keys, value=st.text(max_size=20))
def test_tokens_positive_and_keyed(key: bytes, value: str) -> None:
    tok = KeyedPRF(key).token_str(value)
    assert 1 <= tok < 2**63
    other = bytes([key[0] ^ 1]) + key[1:]
    assert KeyedPRF(other).token_str(value) != tok
