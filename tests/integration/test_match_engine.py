"""The matching core gives the same candidates however the left side is batched, in one
process or several, from memory or streamed from a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from linkmatch.encode import Encoded, encode_frame
from linkmatch.errors import InputDataError
from linkmatch.io import write_encoded
from linkmatch.match import match_encoded, match_files
from linkmatch.pseudonymise.keys import Key
from linkmatch.synth import generate

KEY = Key.from_bytes(bytes(range(11, 43)))


@pytest.fixture(scope="module")
def encoded() -> tuple[Encoded, Encoded]:
    data = generate(seed=5, n_left=3000, n_right=400)
    return encode_frame(data.left, KEY), encode_frame(data.right, KEY)


@pytest.fixture(scope="module")
def reference(encoded: tuple[Encoded, Encoded]) -> pd.DataFrame:
    left, right = encoded
    return match_encoded(left.manifest, left.table, right.manifest, right.table,
                         threshold=0.2).candidates


@pytest.mark.parametrize(("chunk_rows", "workers"), [(3000, 1), (257, 1), (1000, 2), (97, 2)])
def test_candidates_do_not_depend_on_batches_or_workers(
        encoded: tuple[Encoded, Encoded], reference: pd.DataFrame, chunk_rows: int,
        workers: int) -> None:
    left, right = encoded
    got = match_encoded(left.manifest, left.table, right.manifest, right.table, threshold=0.2,
                        chunk_rows=chunk_rows, workers=workers).candidates
    assert len(reference) > 50
    pd.testing.assert_frame_equal(got, reference)


def test_streamed_files_give_the_same_candidates(encoded: tuple[Encoded, Encoded],
                                                 reference: pd.DataFrame,
                                                 tmp_path: Path) -> None:
    left, right = encoded
    write_encoded(left.table, left.manifest, tmp_path / "l.lmenc")
    write_encoded(right.table, right.manifest, tmp_path / "r.lmenc")
    phases: list[tuple[str, int, int]] = []
    result = match_files(tmp_path / "l.lmenc", tmp_path / "r.lmenc", threshold=0.2,
                         chunk_rows=700, workers=2,
                         progress=lambda phase, done, total: phases.append((phase, done, total)))
    pd.testing.assert_frame_equal(result.candidates, reference)
    assert {p for p, _, _ in phases} == {"statistics", "compare", "score"}
    assert ("score", 5, 5) in phases
    assert result.manifest["counts"]["left_persons"] == left.manifest["counts"]["persons"]


def test_unsorted_left_side_is_refused(encoded: tuple[Encoded, Encoded]) -> None:
    left, right = encoded
    shuffled = left.table.take(pa.array(list(range(left.table.num_rows))[::-1]))
    with pytest.raises(InputDataError, match="not sorted by pseudonym"):
        match_encoded(left.manifest, shuffled, right.manifest, right.table, chunk_rows=500)
