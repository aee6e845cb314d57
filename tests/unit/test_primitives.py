"""Schema, keyed tokens, keyed Bloom filters and atomic writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from linkmatch.errors import ConfigError
from linkmatch.io import atomic_path, write_table
from linkmatch.pseudonymise.bloom import BloomEncoder, qgrams
from linkmatch.pseudonymise.prf import KeyedPRF
from linkmatch.schema import Schema


def test_schema_roundtrip_and_validation() -> None:
    schema = Schema()
    assert Schema.from_json(schema.to_json()) == schema
    assert Schema.from_json(schema.to_json()).fingerprint == schema.fingerprint
    assert Schema(name_bits=512).fingerprint != schema.fingerprint
    with pytest.raises(ConfigError) as info:
        Schema(name_bits=1000, qgram=9)
    assert "name_bits" in str(info.value)
    assert "qgram" in str(info.value)  # all problems reported at once
    with pytest.raises(ConfigError):
        Schema.from_dict({"bogus": 1})
    salted = Schema(name_salt="birth_year")
    assert salted.hardened
    assert salted.fingerprint != schema.fingerprint
    assert salted.unhardened().name_salt == "none"
    with pytest.raises(ConfigError, match="name_salt must be one of none, birth_year"):
        Schema(name_salt="nationality")


def test_tokens_keyed_positive_and_separated() -> None:
    a = KeyedPRF(b"a" * 32)
    b = KeyedPRF(b"b" * 32)
    assert a.token_ints(1990, 5, 17) == a.token_ints(1990, 5, 17)
    assert a.token_ints(1990, 5, 17) != b.token_ints(1990, 5, 17)
    assert a.token_ints(1990, 5, 17) != a.token_ints(1990, 17, 5)
    assert a.token_ints(1) != a.token_ints(1, 0)  # fixed-width packing: no ambiguity
    assert all(0 < a.token_str(str(i)) < 2**63 for i in range(200))


def test_bloom_keyed_and_order_free() -> None:
    enc = BloomEncoder(b"k" * 32, num_bits=256, num_hashes=5)
    other = BloomEncoder(b"j" * 32, num_bits=256, num_hashes=5)
    grams = qgrams("yusuf")
    assert grams == ["_y", "yu", "us", "su", "uf", "f_"]
    assert enc.encode(grams) == enc.encode(reversed(grams))
    assert enc.encode(grams) != other.encode(grams)
    assert 0 < enc.encode(grams).bit_count() <= 5 * len(grams)
    assert len(enc.to_bytes(enc.encode(grams))) == 32
    with pytest.raises(ConfigError):
        BloomEncoder(b"k" * 32, num_bits=1000)
    with pytest.raises(ConfigError):
        BloomEncoder(b"k" * 32, num_hashes=0)


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    def crash_mid_write() -> None:
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        crash_mid_write()
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    write_table(pd.DataFrame({"a": [1, 2]}), target)
    assert target.read_text() == "a\n1\n2\n"
