"""The matching core gives the same candidates however the left side is batched, in one
process or several, from memory or streamed from a file."""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from linkmatch.encode import Encoded, encode_frame
from linkmatch.errors import EncodedFileError
from linkmatch.io import write_encoded
from linkmatch.match import match_encoded, match_files
from linkmatch.pseudonymise.keys import Key
from linkmatch.synth import generate

KEY = Key.from_bytes(bytes(range(11, 43)), weak_ok=True)
match_module = importlib.import_module("linkmatch.match")


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


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("budget", ["none", "one batch", "all"])
def test_spilled_pairs_give_the_same_candidates(
        encoded: tuple[Encoded, Encoded], reference: pd.DataFrame, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, workers: int, budget: str) -> None:
    """Pass 2 scores the pairs pass 1 spilled and compares again only those it keeps: the
    candidates are those of comparing every pair again, whatever share of the batches the
    disk budget lets spill; the private spill directory is gone after the run."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sizes = {"none": 0, "one batch": 1, "all": 2 ** 40}
    monkeypatch.setattr(match_module, "spill_budget", lambda directory: sizes[budget])
    spilled: list[Path] = []
    real_score = match_module.Job.score

    def score(job: match_module.Job, batch: pa.Table, spill: Path | None = None
              ) -> pd.DataFrame:
        if spill is not None:
            spilled.append(spill)
        return real_score(job, batch, spill)

    monkeypatch.setattr(match_module.Job, "score", score)
    # what a killed run left (its process is gone) is removed; another live run's is not
    (tmp_path / "linkmatch-pairs-999999999-x1").mkdir()
    (tmp_path / "linkmatch-pairs-999999999-x1" / "pairs-000000").write_bytes(b"x")
    live = tmp_path / f"linkmatch-pairs-{os.getppid()}-x2"
    live.mkdir()
    left, right = encoded
    got = match_encoded(left.manifest, left.table, right.manifest, right.table, threshold=0.2,
                        chunk_rows=500, workers=workers).candidates
    pd.testing.assert_frame_equal(got, reference)
    if workers == 1:  # (workers score in their own processes, out of the test's sight)
        assert len(spilled) == {"none": 0, "one batch": 1, "all": 6}[budget]
    assert list(tmp_path.iterdir()) == [live]


def test_pair_spill_reads_back_what_it_wrote_and_drops_failed_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    chunks = []
    with match_module.PairSpill(tmp_path / "pairs-000000") as spill:
        for n in (0, 5, 1000):
            chunk = (rng.integers(0, 2 ** 31 - 1, n), rng.integers(0, 2 ** 31 - 1, n),
                     rng.integers(0, 2 ** 16, n), -rng.random(n) * 40)
            spill.write(*chunk)
            chunks.append(chunk)
    got = list(match_module.read_spill(tmp_path / "pairs-000000"))
    assert len(got) == len(chunks)
    for read, wrote in zip(got, chunks, strict=True):
        for a, b in zip(read, wrote, strict=True):
            assert np.array_equal(a, b)
    # an error while the batch is spilled: nothing is left, whole or partial
    def fail_midway() -> None:
        with match_module.PairSpill(tmp_path / "pairs-000001") as spill:
            spill.write(*chunks[1])
            raise KeyError("stop")

    with pytest.raises(KeyError):
        fail_midway()
    # a full disk: the batch is dropped (pass 2 compares it again), not an error
    with match_module.PairSpill(tmp_path / "pairs-000002") as spill:
        assert spill._fh is not None
        spill._fh.close()
        spill._fh = _FullDisk()  # type: ignore[assignment]
        spill.write(*chunks[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs-000000"]


class _FullDisk:
    def write(self, data: object) -> int:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        pass


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
    with pytest.raises(EncodedFileError, match="not sorted by pseudonym"):
        match_encoded(left.manifest, shuffled, right.manifest, right.table, chunk_rows=500)
