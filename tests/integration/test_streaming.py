"""Streaming encode: a file encoded chunk by chunk through private buckets is the same file as
the whole table encoded at once (rows, order, digest, report), for CSV and Parquet input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from linkmatch.encode import encode_file, encode_frame
from linkmatch.errors import InputDataError
from linkmatch.io import MANIFEST_KEY, iter_person_chunks, read_encoded, read_person_table
from linkmatch.pseudonymise.keys import Key
from linkmatch.synth import generate

KEY = Key.from_bytes(bytes(range(3, 35)), weak_ok=True)
SALT = bytes(range(16))
TODAY = dt.date(2026, 11, 29)


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    frame = generate(seed=21, n_left=2500, n_right=100).left
    frame.loc[7, "date_of_birth"] = "1990-49-17"  # an invalid value, counted with its row
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(("chunk_rows", "workers"), [(1, 1), (333, 1), (10_000, 1), (1, 2),
                                                     (333, 2), (10_000, 2)])
def test_streamed_file_equals_whole_encoding(people: pd.DataFrame, tmp_path: Path,
                                             suffix: str, chunk_rows: int, workers: int) -> None:
    """Any chunk size, one process or two: the whole table's encoding."""
    if chunk_rows == 1:
        people = people.head(60)
    source = tmp_path / f"people{suffix}"
    if suffix == ".csv":
        people.to_csv(source, index=False)
    else:
        people.to_parquet(source, index=False)
    out = tmp_path / "people.lmenc"
    seen: list[tuple[int, float]] = []
    summary = encode_file(source, out, KEY, job_salt=SALT, today=TODAY,
                          chunk_rows=chunk_rows, progress=lambda n, f: seen.append((n, f)),
                          workers=workers)
    whole = encode_frame(read_person_table(source), KEY, job_salt=SALT, today=TODAY,
                         source=str(source))
    manifest, table = read_encoded(out)
    assert table.equals(whole.table)
    assert manifest == summary.manifest
    assert manifest["content_sha256"] == whole.manifest["content_sha256"]
    assert manifest["counts"] == whole.manifest["counts"]
    assert summary.report.issues == whole.report.issues
    assert summary.report.to_dict() == whole.report.to_dict()
    assert [n for n, _ in seen] == sorted(n for n, _ in seen)
    assert seen[-1] == (len(people), 1.0)
    assert not list(tmp_path.glob(".*buckets"))  # private buckets removed
    # the manifest, written after the rows, is also in the Arrow schema stored in the footer,
    # so that pyarrow reads it with the table (and keeps it if it writes the table again)
    stored = pq.read_table(out).schema.metadata[MANIFEST_KEY]
    assert json.loads(stored) == manifest


def test_a_single_chunk_is_encoded_without_workers(people: pd.DataFrame, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of one chunk is encoded in the calling process (a worker would only add its
    start-up), into the same file; two chunks still go to the workers."""
    import multiprocessing

    started: list[str] = []
    real = multiprocessing.get_context

    def counted(method: str | None = None) -> Any:
        started.append(str(method))
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", counted)
    source = tmp_path / "p.csv"
    people.head(500).to_csv(source, index=False)
    whole = encode_frame(read_person_table(source), KEY, job_salt=SALT, today=TODAY,
                         source=str(source))
    one = encode_file(source, tmp_path / "one.lmenc", KEY, job_salt=SALT, today=TODAY,
                      chunk_rows=1_000, workers=2)
    assert started == []
    assert one.manifest["content_sha256"] == whole.manifest["content_sha256"]
    two = encode_file(source, tmp_path / "two.lmenc", KEY, job_salt=SALT, today=TODAY,
                      chunk_rows=998, workers=2)  # 499 rows a chunk: two chunks
    assert started == ["fork"]
    assert two.manifest["content_sha256"] == whole.manifest["content_sha256"]


def test_ragged_rows_keep_their_file_row_numbers_across_chunks(tmp_path: Path) -> None:
    source = tmp_path / "p.csv"
    lines = ["record_id,given_names,date_of_birth"]
    for i in range(1, 21):
        lines.append(f"r{i},Ali,1990" if i % 7 else f"r{i},Ali,1990,extra")
    source.write_text("\n".join(lines) + "\n")
    chunks = list(iter_person_chunks(source, chunk_rows=4))
    ragged = [row for c in chunks for row, _ in c.attrs["linkmatch_rejected_rows"]]
    numbers = [n for c in chunks for n in c.attrs["linkmatch_row_numbers"]]
    assert ragged == [7, 14]
    assert numbers == [i for i in range(1, 21) if i % 7]
    summary = encode_file(source, tmp_path / "p.lmenc", KEY, chunk_rows=4)
    assert summary.report.rows_rejected == 2
    assert [i.row for i in summary.report.issues] == [7, 14]


def test_failed_encode_leaves_no_output_and_no_buckets(tmp_path: Path) -> None:
    source = tmp_path / "p.csv"
    source.write_bytes(b"record_id,given_names\n" + b"r1,Ali\n" * 50 + b"r2,\xff\n")
    out = tmp_path / "p.lmenc"
    with pytest.raises(Exception, match="not valid UTF-8"):
        encode_file(source, out, KEY, chunk_rows=10)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]


def test_parallel_strict_encoding_stops_at_the_first_invalid_value(people: pd.DataFrame,
                                                                  tmp_path: Path) -> None:
    """Two processes, two invalid values in different chunks: the first one in the file is the
    error, as with one process, and nothing is written."""
    frame = people.copy()
    frame.loc[2000, "date_of_birth"] = "1985-13-40"
    source = tmp_path / "p.csv"
    frame.to_csv(source, index=False)
    errors = []
    for workers in (1, 2):
        with pytest.raises(InputDataError) as info:
            encode_file(source, tmp_path / f"o{workers}.lmenc", KEY, strict=True,
                        chunk_rows=400, workers=workers, today=TODAY)
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert "row 8" in errors[0]
    assert not list(tmp_path.glob("o*.lmenc"))
