"""The column-wise encoder gives exactly what the row-by-row reference gives: same table (every
column, every byte), same manifest counts and digest, same validation report."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkmatch.encode import encode_frame
from linkmatch.encode_reference import encode_frame_reference
from linkmatch.errors import InputDataError
from linkmatch.pseudonymise.keys import Key
from linkmatch.schema import Schema
from linkmatch.synth import generate

KEY = Key.from_bytes(bytes(range(7, 39)), weak_ok=True)
SALT = bytes(range(16))
TODAY = dt.date(2026, 11, 29)

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=25)
names = st.one_of(text, st.sampled_from([
    "Mohammed Ali", "Abd al-Rahman", "Gebre Medhin", "Олександр", "محمد", "Haji Sayed",
    "bin Laden", "  ", "Md", "a" * 1001, "Ab"]))
dates = st.one_of(text, st.sampled_from([
    "", "1990-05-17", "17.05.1990", "1990", "31-12-1985", "2001-02-30", "XX.XX.1977",
    "1990-49-17", "19900517", "00.00.1980", "2031-01-01", "1380/05/12"]))
records = st.lists(
    st.fixed_dictionaries({
        "record_id": st.one_of(st.sampled_from(["a", "b", " ", "", "c ", "x" * 1001]), text),
        "given_names": names,
        "family_name": names,
        "full_name": st.one_of(st.just(""), names),
        "date_of_birth": dates,
        "sex": st.sampled_from(["", "M", "f", "q", "Female", "U"]),
        "nationality": st.sampled_from(["", "SYR", "afg", "12", "ER"]),
        "place_of_birth": st.one_of(st.just(""), names),
        "document_number": st.sampled_from(["", "N123", "--", "n 123", "AB-99"]),
        "address": st.sampled_from(["", "8 Stanley Street, Winston Hills", "AZC Ter Apel",
                                    "Ter Apel AZC 1", "street street"]),
    }),
    min_size=0, max_size=12,
)


def _assert_same(frame: pd.DataFrame, **kwargs: object) -> None:
    fast = encode_frame(frame, KEY, job_salt=SALT, today=TODAY, **kwargs)  # type: ignore[arg-type]
    ref = encode_frame_reference(frame, KEY, job_salt=SALT, today=TODAY,
                                 **kwargs)  # type: ignore[arg-type]
    assert fast.table.schema.equals(ref.table.schema)
    for column in ref.table.column_names:
        assert fast.table.column(column).equals(ref.table.column(column)), column
    assert fast.manifest["counts"] == ref.manifest["counts"]
    assert fast.manifest["content_sha256"] == ref.manifest["content_sha256"]
    assert fast.report.issues == ref.report.issues
    assert fast.report.to_dict() == ref.report.to_dict()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records)
def test_fast_encoder_equals_reference(rows: list[dict[str, str]]) -> None:
    frame = pd.DataFrame(rows) if rows else pd.DataFrame({"record_id": []})
    _assert_same(frame)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records)
def test_strict_mode_raises_the_same_first_issue(rows: list[dict[str, str]]) -> None:
    frame = pd.DataFrame(rows) if rows else pd.DataFrame({"record_id": []})
    errors = []
    for encoder in (encode_frame, encode_frame_reference):
        try:
            encoder(frame, KEY, job_salt=SALT, today=TODAY, strict=True)
            errors.append(None)
        except InputDataError as exc:
            errors.append(str(exc))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("profile", ["hard", "typical"])
def test_fast_encoder_equals_reference_on_generated_data(profile: str) -> None:
    data = generate(seed=11, n_left=1500, n_right=300, profile=profile)
    _assert_same(data.left)
    _assert_same(data.right)


def test_missing_values_and_non_text_types() -> None:
    frame = pd.DataFrame({
        "record_id": [1, 2, 3, None],
        "given_names": ["Ali", None, float("nan"), "Omar"],
        "family_name": [pd.NA, "Hassan", "Hassan", ""],
        "date_of_birth": [19900517, "1990", None, "1990-05-17"],
        "sex": ["M", None, "F", "X"],
    })
    _assert_same(frame)


def test_file_row_numbers_and_ragged_rows() -> None:
    from linkmatch.io import RAGGED_ROWS, ROW_NUMBERS

    frame = pd.DataFrame({"record_id": ["a", "", "c"], "given_names": ["Ali", "Omar", "\x00"],
                          "date_of_birth": ["1990-13-01", "", "1990"]})
    frame.attrs[ROW_NUMBERS] = [2, 4, 7]
    frame.attrs[RAGGED_ROWS] = [(3, "row has 5 fields; the header has 3")]
    _assert_same(frame)


HARDENED = [Schema(name_bits=256, name_balance=True),
            Schema(name_bits=512, name_xor_fold=True, name_blip=0.05),
            Schema(name_bits=256, name_xor_fold=True, name_balance=True, name_blip=0.1),
            Schema(name_bits=256, name_xor_fold=True, name_balance=True,
                   name_salt="birth_year")]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, which=st.integers(0, len(HARDENED) - 1))
def test_hardened_fast_encoder_equals_reference(rows: list[dict[str, str]], which: int) -> None:
    frame = pd.DataFrame(rows) if rows else pd.DataFrame({"record_id": []})
    _assert_same(frame, schema=HARDENED[which])


@pytest.mark.parametrize("which", [2, 3])
def test_hardened_encoder_equals_reference_on_generated_data(which: int) -> None:
    data = generate(seed=12, n_left=300, n_right=60)
    _assert_same(data.left, schema=HARDENED[which])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 30), data=st.data())
def test_sorted_lists_kernel_equals_reference(n: int, data: st.DataObject) -> None:
    from linkmatch.encode import _sorted_lists, sorted_lists_reference

    size = data.draw(st.integers(0, 120))
    rows = data.draw(st.lists(st.integers(0, n - 1), min_size=size, max_size=size))
    keys = data.draw(st.lists(st.one_of(st.integers(-4, 4), st.integers(-(2**63), 2**63 - 1)),
                              min_size=size, max_size=size))
    offsets, flat = _sorted_lists(n, np.array(rows, dtype=np.int64),
                                  np.array(keys, dtype=np.int64))
    got = [flat[offsets[r]:offsets[r + 1]].tolist() for r in range(n)]
    assert got == sorted_lists_reference(n, rows, keys)


def test_value_store_across_chunks_and_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks encoded one after another (the value store warm, then emptied when full) give
    what the reference gives for each chunk on its own."""
    import importlib

    encode_module = importlib.import_module("linkmatch.encode")  # the package exports encode()

    left = generate(seed=12, n_left=900, n_right=10).left
    chunks = [left.iloc[i:i + 300] for i in range(0, 900, 300)]
    encode_module._VALUE_STORES.clear()
    for chunk in chunks:
        _assert_same(chunk)
    store = encode_module._VALUE_STORES[0]
    assert len(store.index) > 300  # the chunks' date strings were kept
    blooms = len(store.token_blooms)
    assert blooms > 350  # the chunks' name tokens' filters were kept
    monkeypatch.setattr(encode_module, "_VALUE_STORE_LIMIT", 350)
    for chunk in chunks[::-1]:
        _assert_same(chunk)
        assert len(store.index) <= 350
        assert len(store.token_blooms) < blooms  # emptied before the chunk, then refilled


def test_encoding_restores_the_garbage_collector_state() -> None:
    import gc

    frame = generate(seed=13, n_left=50, n_right=10).left
    assert gc.isenabled()
    encode_frame(frame, KEY, job_salt=SALT, today=TODAY)
    assert gc.isenabled()
    gc.disable()
    try:
        encode_frame(frame, KEY, job_salt=SALT, today=TODAY)
        assert not gc.isenabled()
    finally:
        gc.enable()


@settings(max_examples=100, deadline=None)
@given(prefixes=st.lists(st.binary(min_size=16, max_size=16), max_size=60),
       start=st.integers(0, 5))
def test_bucket_cuts_equal_searching_the_strings(prefixes: list[bytes], start: int) -> None:
    import importlib

    import pyarrow as pa

    encode_module = importlib.import_module("linkmatch.encode")
    pids = sorted(p.hex() for p in prefixes)
    array = pa.array(["0" * 32] * start + pids, type=pa.string()).slice(start)
    got = encode_module._bucket_cuts(pa.chunked_array([array], type=pa.string()))
    bounds = np.asarray(encode_module._BUCKET_BOUNDS, dtype=object)
    expected = [0, *np.searchsorted(np.asarray(pids, dtype=object), bounds).tolist(), len(pids)]
    assert got == expected


def test_encodings_in_threads_share_the_value_store_safely(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads encoding at once (the store small, so that it is emptied while they run) give
    the tables each chunk gives alone."""
    import importlib
    from concurrent.futures import ThreadPoolExecutor

    encode_module = importlib.import_module("linkmatch.encode")
    left = generate(seed=14, n_left=1200, n_right=10).left
    chunks = [left.iloc[i:i + 150] for i in range(0, 1200, 150)]
    alone = [encode_frame_reference(c, KEY, job_salt=SALT, today=TODAY).table for c in chunks]
    monkeypatch.setattr(encode_module, "_VALUE_STORE_LIMIT", 200)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(
            lambda c: encode_frame(c, KEY, job_salt=SALT, today=TODAY).table, chunks * 3))
    for i, table in enumerate(together):
        assert table.equals(alone[i % len(chunks)])
