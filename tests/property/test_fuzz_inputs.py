"""Fuzz: arbitrary CSV bytes and arbitrary field values never crash encode and never leak."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkmatch.encode import encode_frame
from linkmatch.errors import InputDataError
from linkmatch.io import read_person_table
from linkmatch.pseudonymise.keys import Key

KEY = Key.from_bytes(bytes(range(40, 72)), weak_ok=True)
COLUMNS = ("record_id", "given_names", "family_name", "full_name", "date_of_birth", "sex",
           "nationality", "place_of_birth", "document_number")

any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                   max_size=40)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_give_a_table_or_a_clear_error(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(b"record_id,given_names,date_of_birth\n" + data)
    try:
        frame = read_person_table(path)
    except InputDataError as exc:
        message = str(exc)
        frame = None
    if frame is None:
        assert "fuzz.csv" in message  # the error names the file
        return
    enc = encode_frame(frame, KEY, source=str(path))
    counts = enc.manifest["counts"]
    assert counts["rows_encoded"] + counts["rows_rejected"] == counts["rows_read"]


# values wrapped in a marker no message text contains, so that a leak cannot be confused with
# a value that happens to be a word of a fixed message ("reco" in "empty record_id")
marked_text = any_text.map(lambda v: f"\u2603{v}\u2603" if v.strip() else v)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(*([marked_text] * len(COLUMNS))), min_size=1, max_size=6))
def test_arbitrary_values_are_encoded_or_counted_never_shown(
        rows: list[tuple[str, ...]]) -> None:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    enc = encode_frame(frame, KEY)
    counts = enc.manifest["counts"]
    assert counts["rows_encoded"] + counts["rows_rejected"] == len(rows)
    messages = " ".join(i.reason for i in enc.report.issues)
    assert "\u2603" not in messages
    for row in rows:
        for value in row:
            if len(value.strip()) >= 4:
                assert value not in messages
