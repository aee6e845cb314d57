"""A reference person with several distinct rows (aliases) has its odds divided by their number:
the best of k rows of a non-match reaches a level k times as often as one row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from linkmatch.compare.levels import EncodedSide
from linkmatch.encode import encode_frame
from linkmatch.match import Job, PersonRows, _person_rows
from linkmatch.pseudonymise.keys import Key
from linkmatch.synth import SynthData

_COLUMNS = ("record_id", "given_names", "family_name", "date_of_birth", "sex", "nationality")


def _frame(rows: list[tuple[str, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(_COLUMNS))


def test_rows_that_compare_alike_count_once(key: Key) -> None:
    right = _frame([
        ("R1", "Ahmad", "Karimi", "1990-05-17", "M", "AFG"),
        ("R1", "AHMAD", "KARIMI", "17.05.1990", "M", "AFG"),  # the same content, other form
        ("R1", "Yusuf", "Nuri", "1990-05-17", "M", "AFG"),  # an alias
        ("R1", "Yusuf", "Nuri", "1989", "M", "AFG"),  # the alias with another date
        ("R2", "Maryam", "Hosseini", "1985-01-20", "F", "IRN"),
    ])
    enc = encode_frame(right, key)
    side = EncodedSide(enc.table)
    rows = _person_rows(side)
    per_row = rows.of(side.pid)
    by_pid = dict(zip(side.pid.tolist(), per_row.tolist(), strict=True))
    assert sorted(by_pid.values()) == [1, 3]  # R2: one row; R1: three distinct of four
    assert len(rows.pids) == 1  # only persons with more than one distinct row are listed
    assert PersonRows(pids=np.zeros(0, dtype=object), rows=np.zeros(0, np.int64)).of(
        side.pid).tolist() == [1] * side.size


def _with_pids(table: pa.Table, pids: list[str]) -> pa.Table:
    return table.set_column(table.schema.get_field_index("pid"), "pid",
                            pa.array(pids, type=table.schema.field("pid").type))


def test_a_persons_odds_are_divided_by_its_distinct_rows(small_data: SynthData,
                                                         key: Key) -> None:
    """The same pairs, the same model: once with the reference persons' rows under their shared
    pseudonym, once with every row its own person. Each pair's log2-odds differ by exactly
    log2 of its person's distinct rows."""
    el = encode_frame(small_data.left, key)
    er = encode_frame(small_data.right, key)
    pids = er.table.column("pid").to_pylist()
    # a pseudonym of its own per row (32 hex digits, as the unit requires), sorting like the
    # shared ones
    own = [f"{p[:26]}{i:06x}" for i, p in enumerate(pids)]
    shared_pid = dict(zip(own, pids, strict=True))
    runs = []
    model = None
    for table in (er.table, _with_pids(er.table, own)):
        job = Job(el.manifest, er.manifest, table, threshold=0.05, max_block_pairs=50_000)
        batch = el.table.replace_schema_metadata(None)
        job.plan([job.stats(batch)])
        model = model or job.fit([job.patterns(batch, 0)])
        job.model = model
        runs.append(job.score(batch))
    shared, alone = runs
    k = dict(zip(pids, _person_rows(EncodedSide(er.table)).of(np.asarray(pids, dtype=object))
                 .tolist(), strict=True))
    assert max(k.values()) >= 3  # the small data have persons with aliases
    alone = alone.assign(right_id=alone["right_id"].map(shared_pid))
    got = shared.groupby(["left_id", "right_id"])["score"].apply(sorted)
    want = alone.assign(score=[
        1.0 / (1.0 + 2.0 ** -(float(np.log2(s / (1 - s))) - np.log2(k[r])))
        for s, r in zip(alone["score"], alone["right_id"], strict=True)])
    want = want[want["score"] >= 0.05].groupby(["left_id", "right_id"])["score"].apply(sorted)
    assert got.index.equals(want.index)
    for a, b in zip(got.tolist(), want.tolist(), strict=True):
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12)
    several = [r for r in got.index.get_level_values(1) if k[r] > 1]
    assert several  # the check covered persons with more than one row
