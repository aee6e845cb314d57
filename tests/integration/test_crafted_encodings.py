"""Crafted encoded files: every column mutated (width, type, nulls, out-of-range values, row
groups), the content digest recomputed as an attacker would, and the linkage unit must refuse
each one cleanly (exit 2, naming the file and the column) before any comparison kernel runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from linkmatch.cli import main
from linkmatch.encode import encode_file
from linkmatch.errors import EncodedFileError, EncodingMismatchError, InputDataError
from linkmatch.io import content_digest, read_encoded, read_manifest, write_encoded
from linkmatch.layout import encoded_types, max_block_keys
from linkmatch.pseudonymise.keys import generate_key_file, load_key
from linkmatch.schema import Schema
from linkmatch.synth import generate, write

Mutation = Callable[[pa.Array], pa.Array | None]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("crafted")
    paths = write(generate(seed=11, n_left=400, n_right=60), d / "in")
    generate_key_file(d / "k.key")
    key = load_key(d / "k.key")
    encode_file(paths["left"], d / "A.lmenc", key, workers=1)
    encode_file(paths["right"], d / "B.lmenc", key, workers=1)
    return {"dir": d, "A": d / "A.lmenc", "B": d / "B.lmenc"}


def _narrower(arr: pa.Array) -> pa.Array:
    """The same column one width or integer size smaller."""
    t = arr.type
    n = len(arr)
    if pa.types.is_fixed_size_binary(t):
        raw = np.frombuffer(arr.buffers()[1], dtype=np.uint8)[:n * t.byte_width]
        cut = np.ascontiguousarray(raw.reshape(n, t.byte_width)[:, :8])
        return pa.FixedSizeBinaryArray.from_buffers(pa.binary(8), n,
                                                    [None, pa.py_buffer(cut.tobytes())])
    if pa.types.is_fixed_size_list(t):
        flat = arr.flatten().to_numpy().reshape(n, t.list_size)
        return pa.FixedSizeListArray.from_arrays(pa.array(flat[:, :1].ravel()), 1)
    if pa.types.is_list(t):
        return arr.cast(pa.list_(pa.int32()), safe=False)
    if t == pa.int64():
        return arr.cast(pa.int32(), safe=False)
    if t == pa.bool_():
        return arr.cast(pa.int8())
    return arr.cast(pa.large_string())


def _other_type(arr: pa.Array) -> pa.Array:
    """The same values as another type (text, variable-width binary or lists)."""
    t = arr.type
    if pa.types.is_fixed_size_binary(t):
        return arr.cast(pa.binary())
    if pa.types.is_fixed_size_list(t):
        return arr.cast(pa.list_(t.value_type))
    if pa.types.is_list(t):
        return pa.array([[str(v) for v in row] for row in arr.to_pylist()],
                        type=pa.list_(pa.string()))
    if t == pa.string():
        return arr.cast(pa.binary())
    return arr.cast(pa.string())


def _with_null(arr: pa.Array) -> pa.Array:
    return pa.concat_arrays([pa.nulls(1, arr.type), arr.slice(1)])


def _struct(arr: pa.Array) -> pa.Array:
    return pa.StructArray.from_arrays([arr], names=["nested"])


MUTATIONS: dict[str, Mutation] = {"narrower": _narrower, "other_type": _other_type,
                                  "null": _with_null, "nested": _struct,
                                  "missing": lambda arr: None}
SCHEMA = Schema()


def _craft(source: Path, target: Path,
           change: Callable[[pa.Table], pa.Table], **write_options: int) -> None:
    """``source`` changed by ``change``, its content digest recomputed, written to ``target``."""
    manifest, table = read_encoded(source)
    table = change(table)
    manifest = dict(manifest, content_sha256=content_digest(table))
    if write_options:
        meta = {b"linkmatch.manifest": json.dumps(manifest, sort_keys=True).encode()}
        pq.write_table(table.replace_schema_metadata(meta), target, **write_options)
    else:
        write_encoded(table, manifest, target)


def _column_change(name: str, mutation: Mutation) -> Callable[[pa.Table], pa.Table]:
    def change(table: pa.Table) -> pa.Table:
        index = table.schema.get_field_index(name)
        new = mutation(table.column(name).combine_chunks())
        if new is None:
            return table.remove_column(index)
        return table.set_column(index, name, new)
    return change


def _match(files: dict[str, Path], left: Path, right: Path, out: Path,
           capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--audit-log", str(files["dir"] / "audit.jsonl"), "match", str(left),
                 str(right), "--out", str(out), "--workers", "1", "--threshold", "0.2"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
@pytest.mark.parametrize("column", list(encoded_types(SCHEMA)))
def test_crafted_column_refused_on_either_side(files: dict[str, Path], column: str,
                                               mutation: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    d = files["dir"]
    crafted = d / f"{column}-{mutation}.lmenc"
    _craft(files["A"], crafted, _column_change(column, MUTATIONS[mutation]))
    # as the right file (read whole by the unit)
    with pytest.raises(EncodedFileError) as info:
        read_encoded(crafted)
    assert info.value.column == column
    assert info.value.file == str(crafted)
    # as the left file (streamed), through the command line
    out = d / f"{column}-{mutation}.csv"
    code, err = _match(files, crafted, files["B"], out, capsys)
    assert code == 2, err
    assert str(crafted) in err
    assert repr(column) in err
    assert "internal error" not in err
    assert not out.exists()


@pytest.mark.parametrize("case", ["pid_not_hex", "pid_long", "block_keys_too_many",
                                  "name_keys_null_inside", "extra_column"])
def test_crafted_values_refused(files: dict[str, Path], case: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    def change(table: pa.Table) -> pa.Table:
        n = table.num_rows
        if case.startswith("pid"):
            pids = table.column("pid").to_pylist()
            pids[0] = pids[0].upper() if case == "pid_not_hex" else pids[0] + "00"
            return table.set_column(0, "pid", pa.array(pids, type=pa.string()))
        if case == "block_keys_too_many":
            rows = table.column("block_keys").to_pylist()
            rows[3] = list(range(1, max_block_keys(SCHEMA) + 2))
            i = table.schema.get_field_index("block_keys")
            return table.set_column(i, "block_keys", pa.array(rows, type=pa.list_(pa.int64())))
        if case == "name_keys_null_inside":
            flat = table.column("name_keys").combine_chunks().flatten().to_pylist()
            flat[0] = None
            arr = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.int64()),
                                                    SCHEMA.max_name_tokens)
            return table.set_column(table.schema.get_field_index("name_keys"), "name_keys", arr)
        return table.append_column("extra", pa.array(np.zeros(n, dtype=np.int64)))

    d = files["dir"]
    crafted = d / f"{case}.lmenc"
    _craft(files["B"], crafted, change)
    with pytest.raises(EncodedFileError):
        read_encoded(crafted)
    code, err = _match(files, files["A"], crafted, d / f"{case}.csv", capsys)
    assert code == 2, err
    assert str(crafted) in err


def test_row_groups_bounded_and_resized_files_still_match(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    d = files["dir"]
    small_groups, one_group = d / "small_groups.lmenc", d / "one_group.lmenc"
    _craft(files["A"], small_groups, lambda t: t, row_group_size=7)
    _craft(files["A"], one_group, lambda t: t, row_group_size=1 << 20)
    # row groups of any size up to the bound are the same file to the unit
    codes = [_match(files, left, files["B"], d / f"rg-{left.stem}.csv", capsys)[0]
             for left in (files["A"], small_groups, one_group)]
    assert codes == [0, 0, 0]
    frames = [pd.read_csv(d / f"rg-{left.stem}.csv")
              for left in (files["A"], small_groups, one_group)]
    assert frames[0].equals(frames[1])
    assert frames[0].equals(frames[2])
    # a row group over the bound is refused before its rows are read
    monkeypatch.setattr("linkmatch.io.MAX_ROW_GROUP_ROWS", 100)
    with pytest.raises(EncodedFileError, match="row group"):
        read_encoded(one_group)
    code, err = _match(files, one_group, files["B"], d / "rg-big.csv", capsys)
    assert code == 2, err


@pytest.mark.parametrize(("field", "value"), [
    ("key_fingerprint", "0123456789abcdef\n\x1b[31mlinkmatch: forged line"),
    ("schema_fingerprint", "zz"),
    ("job_salt", 7),
    ("key_id", "id with\nnewline"),
    ("counts", {"rows_read": -1}),
    ("schema", {"name_bits": 8}),
])
def test_crafted_manifest_fields_refused_unechoed(files: dict[str, Path], field: str,
                                                  value: object,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    d = files["dir"]
    manifest = read_manifest(files["B"])
    _, table = read_encoded(files["B"])
    crafted = d / f"manifest-{field}.lmenc"
    write_encoded(table, dict(manifest, **{field: value}), crafted)
    with pytest.raises(EncodedFileError):
        read_manifest(crafted)
    code, err = _match(files, files["A"], crafted, d / f"manifest-{field}.csv", capsys)
    assert code == 2, err
    for shown in ("\x1b", "forged", "newline"):
        assert shown not in err


def test_schema_that_disagrees_with_its_fingerprint_refused(files: dict[str, Path]) -> None:
    manifest = read_manifest(files["B"])
    _, table = read_encoded(files["B"])
    crafted = files["dir"] / "schema-swap.lmenc"
    schema = dict(manifest["schema"], name_bits=2048)  # wider filters, same fingerprint
    write_encoded(table, dict(manifest, schema=schema), crafted)
    with pytest.raises(EncodedFileError, match="fingerprint"):
        read_manifest(crafted)


def test_crafted_in_memory_tables_refused(files: dict[str, Path]) -> None:
    """The library path (``match_encoded``) checks tables as the file path does."""
    from linkmatch.match import match_encoded

    lm, lt = read_encoded(files["A"])
    rm, rt = read_encoded(files["B"])
    narrow = _column_change("address_bf", _narrower)
    with pytest.raises(EncodedFileError, match="address_bf"):
        match_encoded(lm, narrow(lt), rm, rt)
    with pytest.raises(EncodedFileError, match="dob_masks"):
        match_encoded(lm, lt, rm, _column_change("dob_masks", _narrower)(rt))
    assert issubclass(EncodedFileError, EncodingMismatchError)
    assert not issubclass(EncodedFileError, InputDataError)
    assert pc.all(pc.match_substring_regex(lt.column("pid"), "^[0-9a-f]{32}$")).as_py()


def test_huge_filter_width_refused_before_rows_are_read(files: dict[str, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A few KB of zeros compress to nothing: a crafted width (here 64 KiB per filter) must be
    refused from the footer, before a row group is read into memory."""
    manifest, table = read_encoded(files["B"])
    n = table.num_rows
    wide = pa.FixedSizeBinaryArray.from_buffers(pa.binary(65_536), n,
                                                [None, pa.py_buffer(bytes(65_536 * n))])
    table = table.set_column(table.schema.get_field_index("name_bf"), "name_bf", wide)
    crafted = files["dir"] / "wide.lmenc"
    write_encoded(table, dict(manifest, content_sha256=content_digest(table)), crafted)
    assert crafted.stat().st_size < 200_000  # far smaller than the filters it declares

    def no_rows(*args: object, **kwargs: object) -> None:
        raise AssertionError("a row group was read before the footer was checked")

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", no_rows)
    with pytest.raises(EncodedFileError, match="name_bf"):
        read_encoded(crafted)


def test_printed_strings_cannot_forge_log_lines(files: dict[str, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    forged = files["dir"] / "x.lmenc\nlinkmatch: \x1b[32mall files verified"
    code, err = _match(files, forged, files["B"], files["dir"] / "forged.csv", capsys)
    assert code != 0
    assert "\x1b" not in err
    lines = err.splitlines()
    assert len(lines) == 1  # the newline in the name is shown escaped, not obeyed
    assert "\\nlinkmatch: \\x1b[32mall files verified" in lines[0]


def test_compressible_wide_file_refused_from_its_footer(files: dict[str, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The widest schema allowed, its fingerprint recomputed, filters of zeros: the file is a
    few kilobytes and would decode to hundreds of times its size. Refused from the footer."""
    schema = Schema(name_bits=65_536)
    manifest = read_manifest(files["B"])
    _, table = read_encoded(files["B"])
    rows = 1_200
    table = pa.concat_tables([table] * (rows // table.num_rows + 1)).slice(0, rows)
    columns = {}
    for name, kind in encoded_types(schema).items():
        if pa.types.is_fixed_size_binary(kind):
            columns[name] = pa.FixedSizeBinaryArray.from_buffers(
                kind, rows, [None, pa.py_buffer(bytes(kind.byte_width * rows))])
        else:
            columns[name] = table.column(name)
    crafted_table = pa.table(columns)
    crafted = files["dir"] / "bomb.lmenc"
    write_encoded(crafted_table, dict(manifest, schema=schema.to_dict(),
                                      schema_fingerprint=schema.fingerprint,
                                      content_sha256=content_digest(crafted_table)), crafted)

    def no_rows(*args: object, **kwargs: object) -> None:
        raise AssertionError("a row group was read before the footer was checked")

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", no_rows)
    with pytest.raises(EncodedFileError, match="times its size"):
        read_encoded(crafted)
