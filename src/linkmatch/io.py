"""Reading person files with validation, atomic writes, and the encoded-file format.

Read side: CSV (UTF-8, with or without BOM) or Parquet, every column as text. Problems are
reported by file, row and column, never by value. A problem with the whole file (missing, empty,
not UTF-8, no ``record_id`` column, ragged rows) is an :class:`InputDataError`; a problem with one
value is counted in a :class:`ValidationReport` and the value treated as missing (or, with
``strict``, raised).

Write side: every output goes to a temporary file in the target directory, is flushed and synced,
then renamed over the final name, so a crash leaves either the old file, no file, or the complete
new one, never a truncated file under the final name.

Encoded files (``.lmenc``) are Parquet files whose key-value metadata holds the manifest as JSON
under ``linkmatch.manifest``.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import hashlib
import itertools
import json
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from linkmatch.errors import EncodedFileError, InputDataError
from linkmatch.layout import (
    MAX_EXPANSION,
    MAX_ROW_GROUP_BYTES,
    MAX_ROW_GROUP_ROWS,
    check_arrow_schema,
    check_manifest,
    check_table,
    fixed_row_bytes,
    manifest_schema,
)
from linkmatch.schema import PERSON_COLUMNS, REQUIRED_COLUMNS, Schema

__all__ = [
    "ENCODED_FORMAT",
    "Issue",
    "ValidationReport",
    "atomic_path",
    "csv_safe",
    "iter_person_chunks",
    "read_encoded",
    "read_person_table",
    "write_encoded",
    "write_table",
]

ENCODED_FORMAT: Final = "linkmatch-encoded/6"
"""Version 3: the name filter is stored folded and balanced by default (schema settings).
Version 4: titles (haji, sheikh, ...) enter the name filter with the names (low weight: they are
still not name keys), so filters of titled names differ from version 3's. Version 5: the name +
day-and-month blocking key. Version 6: a title word last in its name part or alone in it
(Mohammad | Syed) is a name, with a name key: keys and blocking keys of such names differ."""
class RowNumbers:
    """The file row numbers of a frame's rows, kept in ``DataFrame.attrs``: an immutable int64
    array that copying shares (pandas deep-copies ``attrs`` on every operation, which for a
    plain list of a chunk's 200,000 numbers cost more than the whole encoding)."""

    __slots__ = ("array",)

    def __init__(self, numbers: Any) -> None:
        self.array = np.asarray(numbers, dtype=np.int64)
        self.array.flags.writeable = False

    def __deepcopy__(self, memo: dict[int, Any]) -> RowNumbers:
        return self

    def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
        return self.array if dtype is None else self.array.astype(dtype)

    def __len__(self) -> int:
        return len(self.array)

    def __iter__(self) -> Iterator[int]:
        return iter(self.array.tolist())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RowNumbers) and np.array_equal(self.array, other.array)

    __hash__ = None  # type: ignore[assignment]


ROW_NUMBERS: Final = "linkmatch_row_numbers"
"""``DataFrame.attrs`` key: the file's data-row number of each kept row (rows may be skipped)."""
RAGGED_ROWS: Final = "linkmatch_rejected_rows"
"""``DataFrame.attrs`` key: (data-row number, reason) of rows rejected while reading."""
FRACTION_READ: Final = "linkmatch_fraction_read"
"""``DataFrame.attrs`` key of a streamed chunk: the share of the input read so far (for ETAs)."""
_ALL_TEXT: Final = "linkmatch_all_text"  # a chunk whose cells are all str (CSV)
MANIFEST_KEY: Final = b"linkmatch.manifest"
_FORMAT_NAME: Final = re.compile(r"linkmatch-encoded/[0-9]{1,4}")
_MAX_ISSUES_KEPT: Final = 10_000
_MAX_FIELD_BYTES: Final = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Issue:
    """One rejected value or row: where and why, never what."""

    file: str
    row: int
    column: str
    reason: str


@dataclass
class ValidationReport:
    """Counts of rejected rows and values, plus the first issues in detail."""

    rows_read: int = 0
    rows_rejected: int = 0
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    issues: list[Issue] = field(default_factory=list)

    def add(self, issue: Issue) -> None:
        """Count an issue (and keep its details while under the cap)."""
        self.counts[(issue.column, issue.reason)] += 1
        if len(self.issues) < _MAX_ISSUES_KEPT:
            self.issues.append(issue)

    def merge(self, other: ValidationReport) -> None:
        """Add another report's counts and details (the report of the next chunk of a file)."""
        self.rows_read += other.rows_read
        self.rows_rejected += other.rows_rejected
        self.counts.update(other.counts)
        room = _MAX_ISSUES_KEPT - len(self.issues)
        self.issues.extend(other.issues[:max(room, 0)])

    @property
    def total_issues(self) -> int:
        """Number of issues counted."""
        return sum(self.counts.values())

    def summary_lines(self) -> list[str]:
        """Human-readable summary, one line per (column, reason)."""
        return [
            f"{count} × column {column!r}: {reason}"
            for (column, reason), count in sorted(self.counts.items())
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (counts only)."""
        return {
            "rows_read": self.rows_read,
            "rows_rejected": self.rows_rejected,
            "invalid_values": [
                {"column": c, "reason": r, "count": n} for (c, r), n in sorted(self.counts.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        """Rebuild the counts from :meth:`to_dict` (the per-row details are not kept there)."""
        report = cls(rows_read=int(data["rows_read"]), rows_rejected=int(data["rows_rejected"]))
        for item in data["invalid_values"]:
            report.counts[(item["column"], item["reason"])] = int(item["count"])
        return report

    def write_rejects(self, path: Path) -> None:
        """Write the detailed issues (file, row, column, reason) as CSV, atomically."""
        frame = pd.DataFrame(
            [(i.file, i.row, i.column, i.reason) for i in self.issues],
            columns=["file", "row", "column", "reason"],
        )
        write_table(frame, path)


# ----------------------------------------------------------------------------------- reading


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector, then restore its state.

    Encoding and reading allocate hundreds of thousands of small objects (tuples, strings,
    a list per CSV row) and create few reference cycles (collected once the collector runs
    again); each collection the allocations trigger would walk every object alive, the
    normalisers' memo caches included. Pausing it made warm 100,000-row encoding chunks
    6-21 % faster, and reading a million CSV rows 2.4 s → 1.7 s.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _opened(path: Path, label: str) -> tuple[IO[bytes], int]:
    """The input file opened for reading bytes, and its size (at least 1)."""
    try:
        fh = path.open("rb")
    except OSError:
        raise InputDataError("cannot be read (does it exist?)", file=label) from None
    return fh, max(path.stat().st_size, 1)


def _decoded_lines(path: Path, label: str, position: list[float],
                   block_bytes: int = 1 << 22) -> Iterator[str]:
    """The file's lines, decoded as UTF-8 (line endings kept, BOM removed).

    Errors name the line, never its content: invalid UTF-8 and NUL bytes (a binary file).
    Read, checked and decoded in blocks of whole lines (about ``block_bytes``): line by line
    it cost 2.2 s per million lines, in the process that also feeds the encoding workers.
    Lines end at b"\\n" only, as a binary file's lines do, and the lines before a bad one
    are yielded before its error is raised (tested equal to :func:`_decoded_lines_by_line`).
    ``position`` is the share of the file read, at the end of the current block.
    """
    fh, size = _opened(path, label)
    done = 0
    first_line = 1  # number of the block's first line
    pieces: list[bytes] = []  # read, not yet decoded: no line end among them
    with fh:
        while True:
            data = fh.read(block_bytes)
            if data and b"\n" not in data:  # a line longer than a block: read on
                pieces.append(data)
                continue
            buffer = b"".join([*pieces, data])
            if not buffer:
                return
            cut = buffer.rfind(b"\n") + 1 if data else len(buffer)
            block, rest = buffer[:cut], buffer[cut:]
            pieces = [rest] if rest else []
            done += len(block)
            position[0] = done / size
            text, error = _decoded_block(block, first_line, label)
            lines = text.split("\n")
            last_ends = lines[-1] == ""  # else the file's last line, without a line end
            if last_ends:
                lines.pop()
            if first_line == 1 and lines:
                lines[0] = lines[0].removeprefix("\ufeff")
            for k in range(len(lines) - (0 if last_ends else 1)):
                lines[k] += "\n"
            yield from lines
            if error is not None:
                raise error
            first_line += len(lines)
            if not data:
                return


def _decoded_block(block: bytes, first_line: int,
                   label: str) -> tuple[str, InputDataError | None]:
    """A block of whole lines decoded; at a bad line, the lines before it and its error.

    The line-by-line reading checks a line for a NUL byte before decoding it, so on one line
    the NUL byte is the error reported.
    """
    nul = block.find(b"\x00")
    head = block if nul < 0 else block[:block.rfind(b"\n", 0, nul) + 1]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = head.rfind(b"\n", 0, exc.start) + 1
        line = first_line + head.count(b"\n", 0, start)
        return head[:start].decode("utf-8"), InputDataError(
            f"is not valid UTF-8 (first bad byte on line {line}); re-export the file as UTF-8",
            file=label, row=max(line - 1, 0) or None)
    if nul < 0:
        return text, None
    line = first_line + head.count(b"\n")
    return text, InputDataError(f"contains a NUL byte (line {line}); is it a CSV file?",
                                file=label)


def _decoded_lines_by_line(path: Path, label: str, position: list[float]) -> Iterator[str]:
    """Plain reference of :func:`_decoded_lines`: the file read and decoded line by line.

    Errors name the line, never its content: invalid UTF-8 and NUL bytes (a binary file).
    """
    fh, size = _opened(path, label)
    done = 0
    with fh:
        for number, raw in enumerate(fh, start=1):
            done += len(raw)
            position[0] = done / size
            if b"\x00" in raw:
                raise InputDataError(f"contains a NUL byte (line {number}); is it a CSV file?",
                                     file=label)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputDataError(
                    f"is not valid UTF-8 (first bad byte on line {number}); re-export the file "
                    "as UTF-8",
                    file=label,
                    row=max(number - 1, 0) or None,
                ) from None
            yield line.removeprefix("\ufeff") if number == 1 else line


def _iter_csv(path: Path, label: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Chunks of a CSV file as text frames, with file row numbers and rejected ragged rows.

    Read as a stream: memory holds one chunk, whatever the file's size.
    """
    # values far over any person field are read whole, then rejected per value by encode
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_FIELD_BYTES))
    position = [0.0]
    lines = _decoded_lines(path, label, position)
    reader = csv.reader(lines, strict=True)
    data_row = 0
    try:
        header = None
        for row in reader:
            if any(cell.strip() for cell in row):
                header = row
                break
        if header is None:
            raise InputDataError("is empty; expected a header row with at least 'record_id'",
                                 file=label)
        width = len(header)
        header = [h.strip() for h in header]
        _with_header(pd.DataFrame(), header, label)
        rows: list[list[str]] = []
        row_numbers: list[int] = []
        ragged: list[tuple[int, str]] = []
        emitted = False
        while True:
            # the rows the chunk still needs, taken at once (collector paused: a list per row),
            # and looked at one by one only in a batch with a blank line or a row of the wrong
            # width; with text_person_columns, a million rows read in 1.7 s instead of 3.2 s
            batch: list[list[str]] = []
            try:
                with gc_paused():
                    batch.extend(itertools.islice(reader, chunk_rows - len(rows)))
            except csv.Error:
                data_row += sum(1 for row in batch if row)  # for the error's row number
                raise
            if all(len(row) == width for row in batch):
                rows.extend(batch)
                row_numbers.extend(range(data_row + 1, data_row + len(batch) + 1))
                data_row += len(batch)
            else:
                for row in batch:
                    if not row:
                        continue  # blank line: not a data row
                    data_row += 1
                    if len(row) != width:
                        ragged.append((data_row, f"has {len(row)} fields where the header has "
                                                 f"{width}; row skipped"))
                    else:
                        rows.append(row)
                        row_numbers.append(data_row)
            if len(rows) >= chunk_rows:
                yield _chunk(rows, header, row_numbers, ragged, position[0])
                emitted = True
                rows, row_numbers, ragged = [], [], []
            elif not batch:
                break
        if rows or ragged or not emitted:
            yield _chunk(rows, header, row_numbers, ragged, 1.0)
    except csv.Error:
        raise InputDataError(
            f"is not well-formed CSV near data row {data_row + 1} (unbalanced quotes?)",
            file=label,
        ) from None


def _chunk(rows: list[list[str]], header: list[str], row_numbers: list[int],
           ragged: list[tuple[int, str]], fraction: float) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else \
        pd.DataFrame({h: pd.Series([], dtype=object) for h in header})
    frame.attrs[ROW_NUMBERS] = RowNumbers(row_numbers)
    frame.attrs[RAGGED_ROWS] = list(ragged)
    frame.attrs[FRACTION_READ] = fraction
    frame.attrs[_ALL_TEXT] = True
    return frame


def _with_header(frame: pd.DataFrame, header: list[str], label: str) -> pd.DataFrame:
    dup = [i + 1 for i, h in enumerate(header) if header.count(h) > 1]
    if dup:
        # positions, not names: a file without a header row would show its first record here
        raise InputDataError(f"has duplicated header names (columns {dup})", file=label)
    for req in REQUIRED_COLUMNS:
        if req not in header:
            raise InputDataError(
                f"has no {req!r} column; the header must include {req!r} and any of "
                f"{list(PERSON_COLUMNS[1:])}",
                file=label,
            )
    return frame


def _iter_parquet(path: Path, label: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    try:
        # pre_buffer off: else the reader keeps every row group it pre-fetched until it is
        # closed, and a streamed file's memory grows with its size
        file = pq.ParquetFile(path, pre_buffer=False)
    except OSError:
        raise InputDataError("cannot be read as Parquet (missing or damaged?)", file=label) \
            from None
    except pa.ArrowException:
        raise InputDataError("cannot be read as Parquet (damaged?)", file=label) from None
    header = list(file.schema_arrow.names)
    _with_header(pd.DataFrame(), header, label)
    wanted = [c for c in header if c in PERSON_COLUMNS]
    for column in wanted:
        if not _scalar_type(file.schema_arrow.field(column).type):
            raise InputDataError(
                "holds nested or binary values (lists, structs, maps, bytes); a person column "
                "must hold text, numbers or dates", file=label, column=column)
    first = 0
    emitted = False
    try:
        for batch in file.iter_batches(batch_size=chunk_rows, columns=wanted):
            frame = batch.to_pandas()
            frame.attrs[ROW_NUMBERS] = RowNumbers(np.arange(first + 1, first + len(frame) + 1))
            frame.attrs[RAGGED_ROWS] = []
            first += len(frame)
            frame.attrs[FRACTION_READ] = first / max(file.metadata.num_rows, 1)
            emitted = True
            yield frame
    except (OSError, pa.ArrowException):
        raise InputDataError(f"cannot be read as Parquet after row {first} (damaged?)",
                             file=label) from None
    if not emitted:
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in wanted})
        frame.attrs[ROW_NUMBERS] = RowNumbers([])
        frame.attrs[RAGGED_ROWS] = []
        yield frame


def _scalar_type(t: pa.DataType) -> bool:
    """Whether a Parquet column's values can be read as text (one scalar per cell)."""
    if pa.types.is_dictionary(t):
        return _scalar_type(t.value_type)
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
                or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_date(t)
                or pa.types.is_timestamp(t) or pa.types.is_null(t) or pa.types.is_decimal(t)
                or getattr(pa.types, "is_string_view", lambda _: False)(t))


def iter_person_chunks(path: str | os.PathLike[str],
                       chunk_rows: int = 200_000) -> Iterator[pd.DataFrame]:
    """Read a person file (CSV or Parquet) as a stream of text frames of ``chunk_rows`` rows.

    Each frame carries the file's data-row numbers of its rows (``attrs[ROW_NUMBERS]``) and the
    rows rejected while reading (``attrs[RAGGED_ROWS]``). Columns of the person schema that are
    absent are added empty; other columns are dropped here, so they never reach an encoding.

    Raises:
        InputDataError: the file cannot be used as a whole (raised when reached: a damaged
            line late in a file is found when the stream gets there).
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    p = Path(path)
    label = str(p)
    chunks = _iter_parquet(p, label, chunk_rows) if p.suffix.lower() in {".parquet", ".pq"} \
        else _iter_csv(p, label, chunk_rows)
    seen_rows = 0
    for frame in chunks:
        seen_rows += len(frame) + len(frame.attrs.get(RAGGED_ROWS, []))
        if seen_rows == 0:
            raise InputDataError("has a header but no data rows", file=label)
        # a CSV chunk holds str cells only: its columns need no conversion, only selecting
        out = text_person_columns(frame) if frame.attrs.get(_ALL_TEXT) else \
            normalise_columns(frame)
        out.attrs.update(frame.attrs)
        out.attrs.pop(_ALL_TEXT, None)
        yield out


def read_person_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a whole person file (CSV or Parquet) as text columns (see :func:`iter_person_chunks`).

    Raises:
        InputDataError: the file cannot be used as a whole.
    """
    chunks = list(iter_person_chunks(path, chunk_rows=1 << 62))
    return chunks[0]


def column_codes(frame: pd.DataFrame, column: str) -> tuple[npt.NDArray[np.int64], list[str]]:
    """A person-schema column as codes into its distinct values as text ("" for missing).

    Values repeat heavily (names, dates, codes), so work on the distinct values and gather
    the results by code. Distinct raw values may give equal text (1 and "1"); that is harmless.
    """
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=np.int64), [""]
    codes, uniques = pd.factorize(frame[column], sort=False, use_na_sentinel=True)
    # the NA sentinel keeps missing values out of ``uniques``
    text = [u if type(u) is str else str(u) for u in uniques]
    codes = codes.astype(np.int64)
    if (codes < 0).any():
        codes[codes < 0] = len(text)
        text.append("")
    if not text:
        text = [""]
    return codes, text


def text_person_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`normalise_columns` of a frame whose cells are all ``str`` (a CSV chunk).

    Such cells are their own text, so the columns are selected as they are, without the
    per-value conversion (0.15 s instead of 0.89 s per million rows, in the process that feeds
    the encoding workers); an absent column is added empty. Tested equal to
    :func:`normalise_columns`.
    """
    n = len(frame)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    for col in PERSON_COLUMNS:
        if col in frame.columns:
            out[col] = frame[col].to_numpy(dtype=object)
        else:
            out[col] = np.full(n, "", dtype=object)
    return out


def normalise_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The person-schema columns of ``frame`` as text ("" for missing), in schema order."""
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for col in PERSON_COLUMNS:
        codes, text = column_codes(frame, col)
        out[col] = np.asarray(text, dtype=object)[codes] if len(frame) else []
    return out


# ----------------------------------------------------------------------------------- writing


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    The caller writes the temporary file completely; it is synced to disk and renamed only when
    the block exits without an exception, otherwise removed.

    The temporary file is created empty with mode 0600 before the caller writes to it (writers
    that open it again truncate it and keep its mode), and set to 0600 again before the rename:
    outputs (revealed ids, encoded files, rejects) are readable by their owner only, whatever
    the umask, like the key and the audit trail.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fchmod(fd, 0o600)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_text(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """An atomically written text file (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        yield fh


FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
"""How a cell that a spreadsheet would run as a formula starts (OWASP, CSV injection)."""


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text cells that a spreadsheet would read as a formula made inert.

    Candidates carry the linkage unit's columns and the holders' record ids; a cell starting
    with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by common
    spreadsheets when the CSV is opened there. Such cells get a leading ``'`` (the usual
    neutralisation: shown as text, and the ``'`` tells the reader it was added). Numbers and
    other cells are unchanged; the frame's ``attrs`` are kept.
    """
    out = frame
    for column in frame.columns:
        series = frame[column]
        if series.dtype != object and not pd.api.types.is_string_dtype(series.dtype):
            continue
        text = series.astype(str)
        risky = series.map(lambda v: isinstance(v, str)) & text.str.startswith(FORMULA_PREFIXES)
        if risky.any():
            if out is frame:
                out = frame.copy()
            out[column] = series.where(~risky, "'" + text)
    return out


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table as CSV or Parquet (by suffix), atomically; CSV cells that a spreadsheet
    would run as formulas are made inert (:func:`csv_safe`)."""
    with atomic_path(path) as tmp:
        if Path(path).suffix.lower() in {".parquet", ".pq"}:
            frame.to_parquet(tmp, index=False)
        else:
            csv_safe(frame).to_csv(tmp, index=False, lineterminator="\n")


def write_json(data: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write JSON atomically."""
    with atomic_text(path) as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")


class ContentDigest:
    """SHA-256 over the column names, types and values of an encoded table, fed batch by batch.

    Canonical (independent of batching, chunking, buffer layout and compression), so the digest
    written by ``encode`` is found again after a Parquet round trip and by a reader that
    streams the file in batches of any size; any change of a value, a row or a column (damage
    or tampering) changes it. Each column is hashed as one or two byte streams (its values; for
    lists and strings also their lengths), which concatenate across batches. It is unkeyed: it
    lets the linkage unit, which holds no key, detect damage and naive edits; the keyed
    ``manifest_mac`` lets holders detect deliberate ones.
    """

    def __init__(self) -> None:
        self.rows = 0
        self._kinds: dict[str, str] | None = None
        self._streams: dict[tuple[str, str], Any] = {}

    def update(self, table: pa.Table | pa.RecordBatch) -> ContentDigest:
        """Add the next rows (same columns and types as before)."""
        kinds = {name: _kind(table.schema.field(name).type) for name in table.schema.names}
        if self._kinds is None:
            self._kinds = kinds
        elif kinds != self._kinds:
            raise ValueError("batches of one table must have the same columns and types")
        self.rows += table.num_rows
        for name in sorted(kinds):
            column = table.column(name)
            if isinstance(column, pa.ChunkedArray):
                column = column.combine_chunks()
            for part, data in _column_bytes(column):
                stream = self._streams.get((name, part))
                if stream is None:
                    stream = self._streams[(name, part)] = hashlib.sha256()
                stream.update(data)
        return self

    def hexdigest(self) -> str:
        """The digest of all rows added so far."""
        h = hashlib.sha256(str(self.rows).encode())
        for name, kind in sorted((self._kinds or {}).items()):
            h.update(f"\x00{name}\x00{kind}\x00".encode())
            for part in ("lengths", "values"):
                stream = self._streams.get((name, part))
                h.update(stream.digest() if stream is not None else
                         hashlib.sha256().digest())
        return h.hexdigest()


def _kind(t: pa.DataType) -> str:
    if pa.types.is_fixed_size_list(t):
        return f"fixed_size_list<{t.value_type}>[{t.list_size}]"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{t.value_type}>"  # the child field's name differs across writers
    if pa.types.is_large_string(t):
        return "string"
    return str(t)


def _column_bytes(column: pa.Array) -> Iterator[tuple[str, bytes]]:
    t = column.type
    if pa.types.is_fixed_size_list(t):
        yield "values", column.flatten().to_numpy(zero_copy_only=False).tobytes()
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        yield "lengths", pc.list_value_length(column).cast(pa.int64()).to_numpy(
            zero_copy_only=False).tobytes()
        yield "values", pc.list_flatten(column).to_numpy(zero_copy_only=False).tobytes()
    elif pa.types.is_fixed_size_binary(t):
        width = t.byte_width
        raw = column.buffers()[1]
        if raw is not None:
            yield "values", raw[column.offset * width:(column.offset + len(column)) * width] \
                .to_pybytes()
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        yield "lengths", pc.binary_length(column).cast(pa.int64()).to_numpy(
            zero_copy_only=False).tobytes()
        offsets = np.frombuffer(column.buffers()[1],
                                dtype=np.int32 if pa.types.is_string(t) else np.int64)
        offsets = offsets[column.offset:column.offset + len(column) + 1]
        data = column.buffers()[2]
        if data is not None and len(offsets):
            yield "values", data[int(offsets[0]):int(offsets[-1])].to_pybytes()
    else:
        yield "values", column.to_numpy(zero_copy_only=False).tobytes()


def content_digest(table: pa.Table) -> str:
    """The :class:`ContentDigest` of a whole table."""
    return ContentDigest().update(table).hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in blocks (for the audit trail: which file, not what)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def append_audit(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Append one JSON line to an audit log (one ``write`` on an ``O_APPEND`` descriptor).

    The record holds operations, file digests, counts, parameters and key fingerprints only:
    never a personal value or a key.
    """
    line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_encoded(table: pa.Table, manifest: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write an encoded table with its manifest, atomically."""
    meta = dict(table.schema.metadata or {})
    meta[MANIFEST_KEY] = json.dumps(manifest, sort_keys=True).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_encoded(path: str | os.PathLike[str]) -> tuple[dict[str, Any], pa.Table]:
    """Read an encoded file: its manifest and table, checked before any comparison uses them.

    The manifest's fields and the footer's column types are checked first (no row read yet),
    then the rows a row group at a time, each checked (:func:`linkmatch.layout.check_table`)
    before the next is read, so a crafted file is refused before it can claim much memory;
    last, the content digest.

    Raises:
        InputDataError: not a linkmatch encoded file, damaged, or changed since encoding.
        EncodedFileError: columns, values or manifest fields not shaped as ``encode`` writes.
    """
    label = str(path)
    manifest = read_manifest(path)
    schema = manifest_schema(manifest, label)
    try:
        file = pq.ParquetFile(path, pre_buffer=False)
        check_row_groups(file, schema, label, size=_size(path))
        parts = []
        for group in range(file.num_row_groups):
            part = file.read_row_group(group).replace_schema_metadata(None)
            check_table(part, schema, label)
            parts.append(part)
    except (OSError, pa.ArrowException):
        raise InputDataError("is not a readable encoded file (.lmenc)", file=label) from None
    table = pa.concat_tables(parts) if parts else \
        file.schema_arrow.empty_table().replace_schema_metadata(None)
    if manifest.get("content_sha256") != content_digest(table):
        raise InputDataError(
            "content does not match its manifest (changed or damaged since it was encoded); "
            "ask the holder for a fresh copy",
            file=label,
        )
    return manifest, table


def _size(path: str | os.PathLike[str]) -> int | None:
    """A local file's size (None for anything else: the bound then needs no size)."""
    try:
        return os.stat(path).st_size
    except (OSError, TypeError, ValueError):
        return None


def check_row_groups(file: pq.ParquetFile, schema: Schema, label: str,
                     size: int | None = None) -> None:
    """Check an encoded file's footer before reading rows: its columns and their types, row
    groups no larger than :data:`linkmatch.layout.MAX_ROW_GROUP_ROWS` rows and
    :data:`linkmatch.layout.MAX_ROW_GROUP_BYTES` decoded, and (given the file's ``size``) no
    more than :data:`linkmatch.layout.MAX_EXPANSION` times its size decoded.

    Raises:
        EncodedFileError: naming the file and the column.
    """
    check_arrow_schema(file.schema_arrow, schema, label)
    meta = file.metadata
    row_bytes = fixed_row_bytes(schema)
    for group in range(meta.num_row_groups):
        rows = meta.row_group(group).num_rows
        if rows > MAX_ROW_GROUP_ROWS:
            raise EncodedFileError(f"has a row group of more than {MAX_ROW_GROUP_ROWS:,} rows "
                                   "(encode writes 65,536)", file=label)
        if max(rows * row_bytes, meta.row_group(group).total_byte_size) > MAX_ROW_GROUP_BYTES:
            raise EncodedFileError("has a row group that would decode to more than "
                                   f"{MAX_ROW_GROUP_BYTES >> 30} GiB", file=label)
    if size is not None and meta.num_rows * row_bytes > max(16 << 20, MAX_EXPANSION * size):
        raise EncodedFileError(f"would decode to more than {MAX_EXPANSION} times its size, "
                               "which no encoded file does (a crafted, compressible file)",
                               file=label)


def manifest_beside(path: str | os.PathLike[str]) -> Path:
    """Where ``match``, ``link``, ``screen`` and ``reveal`` write the manifest of an output."""
    out = Path(path)
    return out.with_name(out.name + ".manifest.json")


def read_candidates_manifest(candidates: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest beside a candidates file (:func:`manifest_beside`); None if there is none.

    Raises:
        InputDataError: it cannot be read, or is not a JSON object.
    """
    beside = manifest_beside(candidates)
    if not beside.exists():
        return None
    try:
        data = json.loads(beside.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputDataError("cannot be read as a candidates manifest", file=str(beside)) \
            from None
    if not isinstance(data, dict):
        raise InputDataError("is not a candidates manifest", file=str(beside))
    return data


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of an encoded file (from the Parquet footer), checked for format only.

    Raises:
        InputDataError: not a linkmatch encoded file of this format.
    """
    label = str(path)
    try:
        raw = (pq.ParquetFile(path).metadata.metadata or {}).get(MANIFEST_KEY)
    except (OSError, pa.ArrowException):
        raise InputDataError("is not a readable encoded file (.lmenc)", file=label) from None
    if raw is None:
        raise InputDataError("has no linkmatch manifest; was it made by `linkmatch encode`?",
                             file=label)
    try:
        manifest = json.loads(raw)
    except json.JSONDecodeError:
        raise InputDataError("has a damaged manifest", file=label) from None
    if not isinstance(manifest, dict) or manifest.get("format") != ENCODED_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        shown = repr(found) if isinstance(found, str) and _FORMAT_NAME.fullmatch(found) else \
            "an unknown one"
        raise InputDataError(
            f"has format {shown}; this linkmatch reads {ENCODED_FORMAT!r}",
            file=label,
        )
    check_manifest(manifest, label)
    return manifest
