"""The batch hardening transforms equal the bit-by-bit reference, and do what they promise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.errors import ConfigError
from linkmatch.pseudonymise.hardening import FilterHardener, stored_filter_bits
from linkmatch.schema import Schema

PERM_KEY = bytes(range(32))
BLIP_KEY = bytes(range(32, 64))


def _hardener(bits: int, fold: bool, balance: bool, blip: float) -> FilterHardener:
    return FilterHardener(PERM_KEY, BLIP_KEY, num_bits=bits, xor_fold=fold, balance=balance,
                          blip=blip)


@settings(max_examples=60, deadline=None)
@given(bits=st.sampled_from([128, 256, 512]), fold=st.booleans(), balance=st.booleans(),
       blip=st.sampled_from([0.0, 0.01, 0.1, 0.3]), rows=st.integers(0, 6),
       seed=st.integers(0, 2**32 - 1))
def test_batch_equals_reference(bits: int, fold: bool, balance: bool, blip: float, rows: int,
                                seed: int) -> None:
    rng = np.random.default_rng(seed)
    filters = rng.integers(0, 256, size=(rows, bits // 8), dtype=np.uint8)
    macs = rng.integers(0, 256, size=(rows, 16), dtype=np.uint8)
    h = _hardener(bits, fold, balance, blip)
    out = h.apply(filters, macs)
    assert out.shape == (rows, stored_filter_bits(bits, xor_fold=fold, balance=balance) // 8)
    for i in range(rows):
        assert out[i].tobytes() == h.apply_reference(filters[i].tobytes(), macs[i].tobytes())


SALT_KEY = bytes(range(64, 96))


@settings(max_examples=40, deadline=None)
@given(bits=st.sampled_from([128, 256]), fold=st.booleans(), balance=st.booleans(),
       salts=st.lists(st.integers(-1, 2030) | st.sampled_from([-1, 1990]), max_size=6),
       seed=st.integers(0, 2**32 - 1))
def test_salted_batch_equals_reference(bits: int, fold: bool, balance: bool, salts: list[int],
                                       seed: int) -> None:
    rng = np.random.default_rng(seed)
    filters = rng.integers(0, 256, size=(len(salts), bits // 8), dtype=np.uint8)
    macs = rng.integers(0, 256, size=(len(salts), 16), dtype=np.uint8)
    h = FilterHardener(PERM_KEY, BLIP_KEY, num_bits=bits, xor_fold=fold, balance=balance,
                       salt_key=SALT_KEY)
    out = h.apply(filters, macs, np.array(salts, dtype=np.int64))
    for i, salt in enumerate(salts):
        assert out[i].tobytes() == h.apply_reference(filters[i].tobytes(), macs[i].tobytes(),
                                                     salt)


def test_salt_keeps_same_year_filters_comparable_and_separates_years() -> None:
    """Same salt: a permutation, so Dice is unchanged; other salt: the bits land elsewhere."""
    rng = np.random.default_rng(3)
    a = (rng.random((1, 1024)) < 0.2)
    b = a.copy()
    b[0, rng.choice(1024, 20, replace=False)] ^= True  # a near variant
    filters = np.packbits(np.vstack([a, b, b]), axis=1, bitorder="little")
    h = FilterHardener(PERM_KEY, BLIP_KEY, num_bits=1024, salt_key=SALT_KEY)
    out = np.unpackbits(h.apply(filters, np.zeros((3, 16), np.uint8),
                                np.array([1990, 1990, 1991])), axis=1, bitorder="little")

    def dice(x: np.ndarray, y: np.ndarray) -> float:
        return float(2 * (x & y).sum() / (x.sum() + y.sum()))

    assert dice(out[0], out[1]) == pytest.approx(dice(a[0], b[0]))
    assert out[0].sum() == a.sum()
    assert dice(out[0], out[2]) < 0.4  # the same near variant under another year's salt
    with pytest.raises(ConfigError, match="salt value"):
        h.apply(filters, np.zeros((3, 16), np.uint8))


def test_balanced_filters_have_constant_weight() -> None:
    rng = np.random.default_rng(1)
    filters = np.zeros((50, 128), dtype=np.uint8)
    for i in range(50):  # filters of very different weights
        filters[i, : 2 * i + 1] = rng.integers(0, 256, size=2 * i + 1, dtype=np.uint8)
    out = _hardener(1024, False, True, 0.0).apply(filters, np.zeros((50, 16), np.uint8))
    weights = np.unpackbits(out, axis=1).sum(axis=1)
    assert (weights == 1024).all()


def test_blip_flips_at_the_stated_rate_and_depends_on_the_record() -> None:
    filters = np.zeros((400, 128), dtype=np.uint8)
    macs = np.random.default_rng(2).integers(0, 256, size=(400, 16), dtype=np.uint8)
    h = _hardener(1024, False, False, 0.1)
    out = h.apply(filters, macs)
    rate = np.unpackbits(out).mean()
    assert abs(rate - 26 / 256) < 0.005  # 0.1 is used as 26/256
    # same record, same noise (deterministic per job); other records, other noise
    assert (h.apply(filters[:3], macs[:3]) == out[:3]).all()
    assert (out[0] != out[1]).any()


def test_folding_halves_and_mixes() -> None:
    f = np.zeros((1, 32), dtype=np.uint8)
    f[0, 0] = 0b1
    f[0, 16] = 0b11
    out = _hardener(256, True, False, 0.0).apply(f, np.zeros((1, 16), np.uint8))
    assert out.shape == (1, 16)
    assert out[0, 0] == 0b10


def test_permutation_is_keyed() -> None:
    f = np.zeros((1, 32), dtype=np.uint8)
    f[0, 0] = 1
    a = _hardener(256, False, True, 0.0).apply(f, np.zeros((1, 16), np.uint8))
    b = FilterHardener(BLIP_KEY, PERM_KEY, num_bits=256, balance=True).apply(
        f, np.zeros((1, 16), np.uint8))
    assert (a != b).any()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigError):
        _hardener(1024, False, False, 0.5)
    with pytest.raises(ConfigError):
        _hardener(64, True, False, 0.0)
    with pytest.raises(ConfigError):
        Schema(name_bits=128, name_balance=True)
    with pytest.raises(ConfigError):
        Schema(name_blip=-0.1)
    assert Schema(name_xor_fold=True, name_balance=True).stored_name_bits == 1024
    assert Schema().unhardened() == Schema(name_xor_fold=False, name_balance=False)
