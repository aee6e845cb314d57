"""The compiled pair comparison equals the numpy reference on every level, score and frequency.

Tables are drawn with tiny token alphabets so that every kind of (dis)agreement occurs: equal and
different dates, swapped and shifted ones, shared and missing name keys, empty filters."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.compare.blocking import BlockIndex, explode
from linkmatch.compare.levels import (
    EncodedSide,
    NameFrequencies,
    balanced_name_scale,
    compare_pairs,
    compare_pairs_reference,
)
from linkmatch.encode import encode_frame
from linkmatch.pseudonymise.keys import Key
from linkmatch.synth import generate

NAME_BYTES = 16
INT_COLUMNS = ("dob_full", "dob_swap", "dob_yp1", "dob_ym", "dob_y0", "dob_y1", "dob_y2",
               "dob_digits", "sex_dob", "nat", "doc")
FIXED = {"name_keys": 8, "dob_masks": 8, "dob_transposed": 7, "dob_alt": 2, "pob_keys": 4}


def _table(draw: st.DrawFn, rows: int) -> pa.Table:
    small = st.integers(0, 3)
    cols: dict[str, pa.Array] = {
        "pid": pa.array([f"{i:04d}" for i in range(rows)]),
        "block_keys": pa.array([[1]] * rows, type=pa.list_(pa.int64())),
        "dob_defaulted": pa.array(draw(st.lists(st.booleans(), min_size=rows, max_size=rows))),
    }
    for name in INT_COLUMNS:
        cols[name] = pa.array(draw(st.lists(small, min_size=rows, max_size=rows)),
                              type=pa.int64())
    for name, width in FIXED.items():
        flat = draw(st.lists(small, min_size=rows * width, max_size=rows * width))
        if name == "name_keys":  # distinct keys within a record, as encode writes them
            flat = [v if v not in flat[(i // width) * width:i] else 0
                    for i, v in enumerate(flat)]
        cols[name] = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.int64()), width)
    for name in ("name_bf", "address_bf"):
        raw = draw(st.lists(st.binary(min_size=NAME_BYTES, max_size=NAME_BYTES).map(
            lambda b: bytes(x & 0x0F for x in b)), min_size=rows, max_size=rows))
        cols[name] = pa.array(raw, type=pa.binary(NAME_BYTES))
    return pa.table(cols)


@st.composite
def sides(draw: st.DrawFn) -> tuple[pa.Table, pa.Table]:
    return _table(draw, draw(st.integers(1, 6))), _table(draw, draw(st.integers(1, 6)))


@settings(max_examples=150, deadline=None)
@given(tables=sides(), use_tf=st.booleans(),
       scale=st.sampled_from([1.0, 1.25, 2.0, 3.7]))
def test_kernel_equals_reference_on_drawn_tables(tables: tuple[pa.Table, pa.Table],
                                                 use_tf: bool, scale: float) -> None:
    lt, rt = tables
    left = EncodedSide(lt)
    right = EncodedSide(rt)
    li = np.repeat(np.arange(left.size), right.size)
    ri = np.tile(np.arange(right.size), left.size)
    freq = NameFrequencies(left, right) if use_tf else None
    fast = compare_pairs(left, right, li, ri, freq, name_scale=scale)
    ref = compare_pairs_reference(left, right, li, ri, freq, name_scale=scale)
    assert np.array_equal(fast.levels, ref.levels)
    assert np.array_equal(fast.name_score, ref.name_score)
    assert np.array_equal(fast.shared_name_keys, ref.shared_name_keys)
    assert np.array_equal(fast.name_tf, ref.name_tf)


def test_kernel_equals_reference_on_generated_data() -> None:
    data = generate(seed=9, n_left=1200, n_right=300)
    key = Key.from_bytes(bytes(range(5, 37)), weak_ok=True)
    lt, rt = encode_frame(data.left, key).table, encode_frame(data.right, key).table
    left, right = EncodedSide(lt), EncodedSide(rt)
    scale = balanced_name_scale(right)
    assert 1.2 < scale < 5.0  # balanced by default: the rescaling is in use
    rng = np.random.default_rng(1)
    li = rng.integers(0, left.size, 50_000)
    ri = rng.integers(0, right.size, 50_000)
    # and the blocked pairs, where most agreement levels occur
    index = BlockIndex(explode(lt.column("block_keys")), explode(rt.column("block_keys")),
                       max_block_pairs=50_000)
    bl, br = index.pairs(*explode(lt.column("block_keys")))
    assert len(bl) > 1000
    freq = NameFrequencies(left, right)
    for a, b in ((li, ri), (bl, br)):
        fast = compare_pairs(left, right, a, b, freq, name_scale=scale)
        ref = compare_pairs_reference(left, right, a, b, freq, name_scale=scale)
        assert np.array_equal(fast.levels, ref.levels)
        assert np.array_equal(fast.name_score, ref.name_score)
        assert np.array_equal(fast.name_tf, ref.name_tf)
