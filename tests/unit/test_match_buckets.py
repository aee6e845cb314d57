"""The match passes by hashed buckets of blocking keys (Spark's co-group plan, without Spark)
give the local engine's candidates and model, whatever the number of buckets."""

from __future__ import annotations

import importlib

import pandas as pd
import pyarrow as pa
import pytest

import linkmatch
from linkmatch.compare.blocking import NameBands
from linkmatch.encode import encode_frame
from linkmatch.match import Job, final_candidates, match_encoded
from linkmatch.pseudonymise.keys import Key
from linkmatch.synth import SynthData

THRESHOLD = 0.2
MATCH_MODULE = importlib.import_module("linkmatch.match")  # linkmatch.match is the function


@pytest.fixture(scope="module")
def encoded(small_data: SynthData, key: Key) -> tuple[linkmatch.Encoded, linkmatch.Encoded]:
    return encode_frame(small_data.left, key), encode_frame(small_data.right, key)


def _by_buckets(left: linkmatch.Encoded, right: linkmatch.Encoded, *, buckets: int,
                chunk_rows: int, name_bands: NameBands | None = None
                ) -> tuple[pd.DataFrame, int, dict[str, object]]:
    """The three passes as an engine splitting the pairs by buckets runs them."""
    job = Job(left.manifest, right.manifest, right.table, threshold=THRESHOLD,
              max_block_pairs=50_000, name_bands=name_bands)
    table = left.table.replace_schema_metadata(None)
    batches = [table.slice(lo, chunk_rows) for lo in range(0, table.num_rows, chunk_rows)]
    job.plan([job.stats(b) for b in batches])
    slim = job.slim()  # what a bucket task holds: no right side
    assert not hasattr(slim, "right")

    def bucket_tables(side: pa.Table, b: int) -> pa.Table:
        rows, bs = slim.bucket_rows(side, buckets)
        return side.take(pa.array(rows[bs == b]))

    right_table = right.table.replace_schema_metadata(None)
    tables = [(bucket_tables(table, b), bucket_tables(right_table, b)) for b in range(buckets)]
    results = [slim.patterns(batch, k, pairs=False) for k, batch in enumerate(batches)]
    results += [slim.bucket_patterns(lt, rt, b, buckets) for b, (lt, rt) in enumerate(tables)
                if lt.num_rows and rt.num_rows]
    job.fit(results)
    slim.model = job.model
    parts = [slim.bucket_score(lt, rt, b, buckets) for b, (lt, rt) in enumerate(tables)
             if lt.num_rows and rt.num_rows]
    assert job.model is not None
    # the engines' last step: persons, then the evidence the holders agreed to disclose
    return (final_candidates(parts, False, job.candidate_evidence), sum(r.pairs for r in results),
            job.model.to_dict())


@pytest.mark.parametrize(("buckets", "chunk_rows"), [(1, 3000), (3, 1000), (16, 700)])
def test_bucket_passes_equal_the_batch_passes(encoded: tuple[linkmatch.Encoded, ...],
                                              buckets: int, chunk_rows: int) -> None:
    left, right = encoded
    want = match_encoded(left.manifest, left.table, right.manifest, right.table,
                         threshold=THRESHOLD, chunk_rows=1000, workers=1)
    got, pairs, model = _by_buckets(left, right, buckets=buckets, chunk_rows=chunk_rows)
    assert len(want.candidates) > 50
    pd.testing.assert_frame_equal(got, want.candidates)
    assert pairs == want.manifest["counts"]["pairs_compared"]
    assert model == want.manifest["model"]


def test_bucket_passes_in_small_chunks_equal_the_batch_passes(
        encoded: tuple[linkmatch.Encoded, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    """A bucket's pairs are compared a chunk at a time (bounded memory), with the same result."""
    left, right = encoded
    want = match_encoded(left.manifest, left.table, right.manifest, right.table,
                         threshold=THRESHOLD, chunk_rows=1000, workers=1)
    chunk = 50
    monkeypatch.setattr(MATCH_MODULE, "_CHUNK_PAIRS", chunk)
    got, pairs, model = _by_buckets(left, right, buckets=3, chunk_rows=1000)
    assert pairs > 3 * 20 * chunk  # so the buckets are compared in many chunks
    pd.testing.assert_frame_equal(got, want.candidates)
    assert pairs == want.manifest["counts"]["pairs_compared"]
    assert model == want.manifest["model"]


def test_bucket_passes_with_name_bands_equal_the_batch_passes(
        encoded: tuple[linkmatch.Encoded, ...]) -> None:
    """Band keys travel with a row to its buckets, as its encoded keys do: same candidates,
    pairs and model as the batch passes, which compare more pairs than without bands."""
    left, right = encoded
    bands = NameBands(bits=24, bands=20, cap=500)
    want = match_encoded(left.manifest, left.table, right.manifest, right.table,
                         threshold=THRESHOLD, chunk_rows=1000, workers=1,
                         max_block_pairs=50_000, name_bands=bands)
    without = match_encoded(left.manifest, left.table, right.manifest, right.table,
                            threshold=THRESHOLD, chunk_rows=1000, workers=1,
                            max_block_pairs=50_000)
    assert want.manifest["counts"]["pairs_compared"] > \
        without.manifest["counts"]["pairs_compared"]
    got, pairs, model = _by_buckets(left, right, buckets=5, chunk_rows=700, name_bands=bands)
    pd.testing.assert_frame_equal(got, want.candidates)
    assert pairs == want.manifest["counts"]["pairs_compared"]
    assert model == want.manifest["model"]
