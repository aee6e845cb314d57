"""Blocking keys: which record pairs can meet at all (see ``linkmatch.encode``, ``block_keys``)."""

from __future__ import annotations

import pandas as pd
import pytest

from linkmatch.encode import encode_frame
from linkmatch.encode_reference import encode_frame_reference
from linkmatch.match import DEFAULT_MAX_BLOCK_PAIRS, block_cap, match_encoded
from linkmatch.pseudonymise.keys import Key

KEY = Key.from_bytes(bytes(range(7, 39)), weak_ok=True)
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


def test_the_block_cap_scales_with_the_left_side() -> None:
    assert block_cap(None, 10) == DEFAULT_MAX_BLOCK_PAIRS  # a floor for small jobs
    assert block_cap(None, 3_000_000) == 3_000_000  # one comparison per left row and key
    assert block_cap(7, 3_000_000) == 7  # an explicit cap is kept as given


def test_a_block_over_the_cap_is_skipped_and_the_cap_is_recorded() -> None:
    # 300 left and 200 right records of one name, born on one day: the name's block, its year
    # block and its date block hold 60,000 pairs each; the documents tell the people apart,
    # one shared document per pair blocks that pair alone
    n_left, n_right = 300, 200
    frame = pd.DataFrame({"given_names": "Waleed", "family_name": "",
                          "date_of_birth": "1983-10-13"}, index=range(n_left))
    left = frame.assign(record_id=[f"l{i}" for i in range(n_left)],
                        document_number=[f"D{i:05d}" for i in range(n_left)])
    right = frame.head(n_right).assign(record_id=[f"r{i}" for i in range(n_right)],
                                       document_number=[f"D{i:05d}" for i in range(n_right)])
    el, er = encode_frame(left, KEY), encode_frame(right, KEY)
    auto = match_encoded(el.manifest, el.table, er.manifest, er.table, threshold=0.0)
    assert auto.manifest["max_block_pairs"] == DEFAULT_MAX_BLOCK_PAIRS
    assert auto.manifest["counts"]["block_keys_skipped"] > 0
    assert auto.manifest["counts"]["pairs_compared"] == n_right  # only the document pairs
    wide = match_encoded(el.manifest, el.table, er.manifest, er.table, threshold=0.0,
                         max_block_pairs=n_left * n_right)
    assert wide.manifest["max_block_pairs"] == n_left * n_right
    assert wide.manifest["counts"]["block_keys_skipped"] == 0
    assert wide.manifest["counts"]["pairs_compared"] == n_left * n_right
