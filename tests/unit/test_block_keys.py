"""Blocking keys: which record pairs can meet at all (see ``linkmatch.encode``, ``block_keys``)."""

from __future__ import annotations

import pandas as pd
import pytest

from linkmatch.encode import encode_frame
from linkmatch.encode_reference import encode_frame_reference
from linkmatch.pseudonymise.keys import Key

KEY = Key.from_bytes(bytes(range(7, 39)))
SALT = bytes(16)


def _shared(encoder: object, dob_a: str, dob_b: str, name: str = "Waleed Hamdawi") -> int:
    frame = pd.DataFrame({"record_id": ["a", "b"], "given_names": [name, name],
                          "family_name": ["", ""], "date_of_birth": [dob_a, dob_b]})
    table = encoder(frame, KEY, job_salt=SALT).table  # type: ignore[operator]
    a, b = (set(keys) for keys in table.column("block_keys").to_pylist())
    return len(a & b)


@pytest.mark.parametrize("encoder", [encode_frame, encode_frame_reference])
def test_a_wrong_year_with_the_same_day_and_month_still_blocks_by_name(encoder: object) -> None:
    # 1943 for 1983: no year key is shared, but every name key with day and month is (two
    # name keys here), on top of the keys both records have whatever their dates
    base = _shared(encoder, "1943-10-13", "1983-11-13")
    assert _shared(encoder, "1943-10-13", "1983-10-13") == base + 2
    # the same for a date written in another order
    assert _shared(encoder, "13.10.1943", "1983-10-13") == base + 2


@pytest.mark.parametrize("encoder", [encode_frame, encode_frame_reference])
def test_default_and_partial_dates_give_no_day_and_month_key(encoder: object) -> None:
    # 1 January is a default date: it says nothing about the person, so it must not block
    base = _shared(encoder, "1943-02-01", "1983-03-01")
    assert _shared(encoder, "1943-01-01", "1983-01-01") == base
    assert _shared(encoder, "1943-10", "1983-10") == base
