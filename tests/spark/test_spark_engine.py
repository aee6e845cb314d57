"""The Spark engine gives the local engine's candidates, pair for pair and score for score,
whatever the batches and Spark's partitions; it survives a failed task; it refuses what the
local engine refuses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import SparkSession
from spark_data import THRESHOLD, EncodedFiles

import linkmatch
from linkmatch.compare.blocking import NameBands
from linkmatch.engines import spark as spark_engine
from linkmatch.errors import ConfigError, EncodedFileError, EngineError, InputDataError
from linkmatch.io import write_encoded
from linkmatch.match import match_encoded


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal as frames and as the bytes the CLI would write."""
    assert len(want) > 50
    pd.testing.assert_frame_equal(got, want)
    assert got.to_csv(index=False) == want.to_csv(index=False)


@pytest.mark.parametrize(("chunk_rows", "partitions"), [(3000, 1), (700, 3), (257, None)])
def test_files_give_local_candidates_for_any_batches_and_partitions(
        spark: SparkSession, encoded_files: EncodedFiles, local_candidates: pd.DataFrame,
        chunk_rows: int, partitions: int | None) -> None:
    phases: list[tuple[str, int, int]] = []
    result = spark_engine.match_files(
        encoded_files.left_path, encoded_files.right_path, spark=spark, threshold=THRESHOLD,
        chunk_rows=chunk_rows, partitions=partitions,
        progress=lambda phase, done, total: phases.append((phase, done, total)))
    _same(result.candidates, local_candidates)
    batches = -(-3000 // chunk_rows)
    assert result.manifest["batches"] == batches
    assert result.manifest["engine"] == "spark"
    assert result.manifest["counts"]["left_persons"] == \
        encoded_files.left.manifest["counts"]["persons"]
    for phase in spark_engine.PHASES:
        assert (phase, batches, batches) in phases


def test_tables_in_memory_through_the_public_api(
        spark: SparkSession, encoded_files: EncodedFiles) -> None:
    left, right = encoded_files.left, encoded_files.right
    want = match_encoded(left.manifest, left.table, right.manifest, right.table,
                         threshold=THRESHOLD, chunk_rows=1000).candidates
    got = linkmatch.match(left, right, engine="spark", spark=spark, threshold=THRESHOLD,
                          chunk_rows=1000, one_to_one=False)
    _same(got.candidates, want)


def test_a_failed_task_is_retried_with_identical_results(
        spark: SparkSession, encoded_files: EncodedFiles, local_candidates: pd.DataFrame,
        tmp_path: Path) -> None:
    flag = tmp_path / "failed-once"
    spark.sparkContext.setLocalProperty(spark_engine.FAULT_PROPERTY, f"compare:{flag}")
    try:
        result = spark_engine.match_files(encoded_files.left_path, encoded_files.right_path,
                                          spark=spark, threshold=THRESHOLD, chunk_rows=1000)
    finally:
        spark.sparkContext.setLocalProperty(spark_engine.FAULT_PROPERTY, "")
    assert flag.exists()  # one attempt of one compare task did fail; Spark ran it again
    _same(result.candidates, local_candidates)


def test_a_job_that_cannot_finish_raises_and_returns_nothing(
        spark: SparkSession, encoded_files: EncodedFiles) -> None:
    spark.sparkContext.setLocalProperty(spark_engine.FAULT_PROPERTY, "statistics")
    try:
        with pytest.raises(EngineError, match="failed in phase 'statistics'"):
            spark_engine.match_files(encoded_files.left_path, encoded_files.right_path,
                                     spark=spark, chunk_rows=1000)
    finally:
        spark.sparkContext.setLocalProperty(spark_engine.FAULT_PROPERTY, "")


def test_unsorted_left_side_is_refused_as_locally(
        spark: SparkSession, encoded_files: EncodedFiles) -> None:
    left, right = encoded_files.left, encoded_files.right
    shuffled = left.table.take(pa.array(list(range(left.table.num_rows))[::-1]))
    with pytest.raises(EncodedFileError, match="not sorted by pseudonym"):
        spark_engine.match_encoded(left.manifest, shuffled, right.manifest, right.table,
                                   spark=spark, chunk_rows=500)


def test_changed_left_file_is_refused(spark: SparkSession, encoded_files: EncodedFiles,
                                      tmp_path: Path) -> None:
    left = encoded_files.left
    doc = left.table.column("doc").to_numpy().copy()
    doc[17] ^= 1  # one token changed, manifest (and its content digest) kept
    changed = left.table.set_column(left.table.schema.get_field_index("doc"), "doc",
                                    pa.array(doc))
    write_encoded(changed, left.manifest, tmp_path / "changed.lmenc")
    with pytest.raises(InputDataError, match="does not match its manifest"):
        spark_engine.match_files(tmp_path / "changed.lmenc", encoded_files.right_path,
                                 spark=spark)


def test_right_side_over_the_broadcast_limit_is_co_grouped_with_local_candidates(
        spark: SparkSession, encoded_files: EncodedFiles, local_candidates: pd.DataFrame,
        tmp_path: Path) -> None:
    """Too large to broadcast: both sides go to hashed buckets of their keys; same candidates,
    and a failed bucket task is retried."""
    flag = tmp_path / "failed-once"
    spark.sparkContext.setLocalProperty(spark_engine.FAULT_PROPERTY, f"score:{flag}")
    try:
        result = spark_engine.match_files(
            encoded_files.left_path, encoded_files.right_path, spark=spark,
            threshold=THRESHOLD, chunk_rows=1000, max_broadcast_bytes=1024)
    finally:
        spark.sparkContext.setLocalProperty(spark_engine.FAULT_PROPERTY, "")
    assert flag.exists()
    _same(result.candidates, local_candidates)
    assert result.manifest["spark"]["plan"] == "cogroup"
    assert result.manifest["spark"]["buckets"] >= 4
    # the right side was not broadcast: only the job's global values (far smaller)
    assert result.manifest["spark"]["broadcast_bytes"]["job"] < \
        encoded_files.right.table.nbytes


@pytest.mark.parametrize("buckets", [1, 7])
def test_co_group_plan_in_memory_for_any_number_of_buckets(
        spark: SparkSession, encoded_files: EncodedFiles, buckets: int) -> None:
    left, right = encoded_files.left, encoded_files.right
    want = match_encoded(left.manifest, left.table, right.manifest, right.table,
                         threshold=THRESHOLD, chunk_rows=1000)
    got = spark_engine.match_encoded(left.manifest, left.table, right.manifest, right.table,
                                     spark=spark, threshold=THRESHOLD, chunk_rows=1000,
                                     plan="cogroup", buckets=buckets)
    _same(got.candidates, want.candidates)
    assert got.manifest["model"] == want.manifest["model"]
    assert got.manifest["counts"] == want.manifest["counts"]


def test_broadcast_plan_over_the_limit_is_refused_before_spark_runs(
        encoded_files: EncodedFiles) -> None:
    paths = (encoded_files.left_path, encoded_files.right_path)
    with pytest.raises(ConfigError, match=r"broadcast limit .* plan 'cogroup'"):
        spark_engine.match_files(*paths, max_broadcast_bytes=1024, plan="broadcast")
    with pytest.raises(ConfigError, match="plan must be one of"):
        spark_engine.match_files(*paths, plan="shuffle")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="buckets"):
        spark_engine.match_files(*paths, plan="cogroup", buckets=0)


def test_options_that_do_not_fit_the_engine_are_refused(encoded_files: EncodedFiles) -> None:
    paths = (encoded_files.left_path, encoded_files.right_path)
    with pytest.raises(ConfigError, match="workers applies to the local engine"):
        linkmatch.match(*paths, engine="spark", workers=2)
    with pytest.raises(ConfigError, match="engine is 'local'"):
        linkmatch.match(*paths, spark_master="local[2]")
    with pytest.raises(ConfigError, match="unknown engine"):
        linkmatch.match(*paths, engine="dask")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="partitions"):
        spark_engine.match_files(*paths, partitions=0)


def test_batches_are_spread_round_robin_over_partitions(spark: SparkSession) -> None:
    from pyspark.sql import functions as sf

    frame = spark.range(11).withColumn("key", spark_engine._round_robin(spark, sf.col("id"), 4))
    placed = frame.repartition(4, "key").select("id", sf.spark_partition_id().alias("part"))
    assert {(row["id"], row["part"]) for row in placed.collect()} == \
        {(k, k % 4) for k in range(11)}


def test_a_dataset_that_cannot_be_written_is_not_published(
        spark: SparkSession, encoded_files: EncodedFiles, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(EngineError, match="nothing was published"):
        spark_engine.match_files(encoded_files.left_path, encoded_files.right_path,
                                 spark=spark, chunk_rows=1000,
                                 out=(blocker / "c.parquet").as_uri())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-directory"]
    with pytest.raises(ConfigError, match="Parquet dataset"):
        spark_engine.match_files(encoded_files.left_path, encoded_files.right_path,
                                 spark=spark, out=(tmp_path / "c.csv").as_uri())


@pytest.mark.parametrize("plan", ["broadcast", "cogroup"])
def test_name_bands_give_local_candidates_on_both_plans(
        spark: SparkSession, encoded_files: EncodedFiles, plan: str) -> None:
    """The bands are computed from the filters in each task (a row's bands send it to their
    buckets on the co-group plan): the local engine's candidates, model and counts."""
    left, right = encoded_files.left, encoded_files.right
    bands = NameBands(bits=24, bands=20, cap=500)
    want = match_encoded(left.manifest, left.table, right.manifest, right.table,
                         threshold=THRESHOLD, chunk_rows=1000, name_bands=bands)
    got = spark_engine.match_encoded(left.manifest, left.table, right.manifest, right.table,
                                     spark=spark, threshold=THRESHOLD, chunk_rows=1000,
                                     plan=plan,  # type: ignore[arg-type]
                                     buckets=5, name_bands=bands)
    _same(got.candidates, want.candidates)
    assert got.manifest["model"] == want.manifest["model"]
    assert got.manifest["counts"] == want.manifest["counts"]
    assert got.manifest["name_bands"] == want.manifest["name_bands"] is not None
