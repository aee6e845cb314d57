"""CSV input is read in blocks of whole lines: the same lines, the same errors (line numbers
included) and the same lines before an error as reading the file line by line."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.errors import InputDataError
from linkmatch.io import _decoded_lines, _decoded_lines_by_line

pieces = st.sampled_from([b"a", b"\n", b"\r\n", b"\r", b",", b'"', b"\x00", b"\xff", b"\xc3",
                          b"\xc3\xa9", b"\xe2\x82\xac", b"\xef\xbb\xbf", b"\xd9\x85\xd8\xad",
                          b"record_id,given_names\n", b"x" * 9])
contents = st.lists(pieces, max_size=40).map(b"".join)


def _read(reader: object, path: Path, **kwargs: int) -> tuple[list[str], str | None, object]:
    position = [0.0]
    lines: list[str] = []
    try:
        for line in reader(path, "people.csv", position, **kwargs):  # type: ignore[operator]
            lines.append(line)
    except InputDataError as exc:
        return lines, str(exc), exc.row
    return lines, None, position[0]


@settings(max_examples=300, deadline=None)
@given(content=contents, block=st.sampled_from([1, 2, 3, 7, 64, 1 << 22]))
def test_block_reading_equals_line_by_line(content: bytes, block: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "people.csv"
        path.write_bytes(content)
        assert _read(_decoded_lines, path, block_bytes=block) == _read(_decoded_lines_by_line,
                                                                        path)


def test_missing_file_is_reported_alike(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    assert _read(_decoded_lines, path) == _read(_decoded_lines_by_line, path)
