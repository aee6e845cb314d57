"""Encoded files hold no plain value: every column and the manifest are checked."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from plaintext import plain_values

from linkmatch.encode import encode_frame
from linkmatch.io import read_encoded, write_encoded
from linkmatch.pseudonymise.keys import Key
from linkmatch.synth import SynthData


def test_no_plain_value_in_encoded_file(small_data: SynthData, key: Key, tmp_path: Path) -> None:
    enc = encode_frame(small_data.left, key)
    path = tmp_path / "left.lmenc"
    write_encoded(enc.table, enc.manifest, path)
    manifest, table = read_encoded(path)
    plain = plain_values([small_data.left, small_data.right])
    # column types: only keyed integers, fixed-size binary filters, flags and hex pseudonyms
    allowed = (pa.int64(), pa.bool_(), pa.string())
    for field in table.schema:
        t = field.type
        if pa.types.is_fixed_size_list(t) or pa.types.is_list(t):
            assert t.value_type == pa.int64(), field.name
        elif pa.types.is_fixed_size_binary(t):
            assert field.name in ("name_bf", "address_bf")
        else:
            assert t in allowed, field.name
    # no cell equals a plain value; the pseudonym column is 32 hex digits only
    for name in table.column_names:
        cells = table.column(name).to_pylist()
        if name == "pid":
            assert all(len(c) == 32 and set(c) <= set("0123456789abcdef") for c in cells)
        flat = [x for c in cells for x in (c if isinstance(c, list) else [c])]
        assert not (set(map(str, flat)) & plain), name
        if name in ("name_bf", "address_bf"):
            blob = b"".join(cells)
            assert not any(v.encode() in blob for v in plain if len(v) >= 5)
    text = json.dumps(manifest)
    leaked = [v for v in plain if len(v) >= 5 and v in text]
    assert not leaked
    assert manifest["key_fingerprint"] == key.fingerprint
    assert manifest["counts"]["rows_read"] == len(small_data.left)


def test_encoding_rows_sorted_by_pseudonym(small_data: SynthData, key: Key) -> None:
    pids = encode_frame(small_data.left.head(200), key).table.column("pid").to_pylist()
    assert pids == sorted(pids)


def test_pseudonyms_salted_per_job(small_data: SynthData, key: Key) -> None:
    a = encode_frame(small_data.left.head(50), key)
    b = encode_frame(small_data.left.head(50), key)
    assert not set(a.table.column("pid").to_pylist()) & set(b.table.column("pid").to_pylist())
    # everything but the pseudonyms is deterministic per key
    for col in ("name_bf", "name_keys", "dob_full", "block_keys"):
        assert sorted(map(str, a.table.column(col).to_pylist())) == \
            sorted(map(str, b.table.column(col).to_pylist()))
