"""CSV chunks are read a batch of rows at a time: the same chunks, row numbers, rejected rows
and errors as reading them row by row (the specification, written out below)."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.errors import InputDataError
from linkmatch.io import (
    FRACTION_READ,
    RAGGED_ROWS,
    ROW_NUMBERS,
    _decoded_lines,
    _iter_csv,
    normalise_columns,
    text_person_columns,
)

HEADER = "record_id,given_names,date_of_birth\n"
lines = st.sampled_from([
    "A1,Ali,1990\n", "A2,,\n", "A3,Omar\n", "A4,a,b,c\n", "\n", "\r\n", "A5,Ali,1990\r\n",
    'A6,"Hassan, Ali",1980\n', 'A7,"two\nlines",1970\n', 'A8,"open\n', '"q"x,1,2\n',
    "A9, ,  \n", ",,\n", "A10,é,2001", "A11,x\ry,1\n",
])
contents = st.lists(lines, max_size=30).map(lambda rows: HEADER + "".join(rows))


def _row_by_row(path: Path, chunk_rows: int) -> list[Any]:
    """The chunks as the reader made them one row at a time (before batches)."""
    position = [0.0]
    reader = csv.reader(_decoded_lines(path, "people.csv", position), strict=True)
    out: list[Any] = []
    data_row = 0
    try:
        header = [h.strip() for h in next(reader)]
        width = len(header)
        rows: list[list[str]] = []
        numbers: list[int] = []
        ragged: list[tuple[int, str]] = []
        for row in reader:
            if not row:
                continue
            data_row += 1
            if len(row) != width:
                ragged.append((data_row, f"has {len(row)} fields where the header has {width}; "
                                         "row skipped"))
            else:
                rows.append(row)
                numbers.append(data_row)
            if len(rows) >= chunk_rows:
                out.append((rows, numbers, ragged, position[0]))
                rows, numbers, ragged = [], [], []
        if rows or ragged or not out:
            out.append((rows, numbers, ragged, 1.0))
    except csv.Error:
        out.append(f"is not well-formed CSV near data row {data_row + 1} (unbalanced quotes?)")
    return out


def _batched(path: Path, chunk_rows: int) -> list[Any]:
    out: list[Any] = []
    try:
        for frame in _iter_csv(path, "people.csv", chunk_rows):
            out.append((frame.to_numpy().tolist(), list(frame.attrs[ROW_NUMBERS]),
                        frame.attrs[RAGGED_ROWS], frame.attrs[FRACTION_READ]))
    except InputDataError as exc:
        out.append(str(exc).split(": ", 1)[-1])
    return out


@settings(max_examples=400, deadline=None)
@given(content=contents, chunk_rows=st.sampled_from([1, 2, 3, 5, 1000]))
def test_batched_chunks_equal_row_by_row(content: str, chunk_rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "people.csv"
        path.write_text(content, encoding="utf-8")
        expected = _row_by_row(path, chunk_rows)
        got = _batched(path, chunk_rows)
        if isinstance(expected[-1], str):  # an error: the same message, after the same chunks
            assert isinstance(got[-1], str)
            assert got[-1].endswith(expected[-1])
            assert got[:-1] == expected[:-1]
        else:
            assert got == expected


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_text_columns_equal_normalised_columns(data: st.DataObject) -> None:
    columns = data.draw(st.lists(st.sampled_from(
        ["record_id", "given_names", "family_name", "date_of_birth", "sex", "extra"]),
        unique=True, min_size=1))
    n = data.draw(st.integers(0, 5))
    cells = st.text(alphabet="aé 1-,", max_size=4)
    frame = pd.DataFrame({c: data.draw(st.lists(cells, min_size=n, max_size=n))
                          for c in columns}, dtype=object)
    fast, slow = text_person_columns(frame), normalise_columns(frame)
    assert list(fast.columns) == list(slow.columns)
    assert fast.to_numpy().tolist() == slow.to_numpy().tolist()
