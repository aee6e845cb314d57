"""The Spark engine: the same match job as Apache Spark tasks, where the data lives.

Why Spark drives the existing core instead of re-implementing it: the candidates must be the same
pair for pair and score for score as the local engine's, and the simplest way to guarantee that
is to run the same code on the same batches. :class:`linkmatch.match.Job` already splits the
work into per-batch functions with results merged in batch order by exact (integer) sums; this
module only moves those functions into Spark tasks.

The plan (``linkmatch match A B --engine spark``):

1. The driver reads the two manifests (file footers) and the right side (the reference list,
   the smaller file), prepares the :class:`~linkmatch.match.Job` and *broadcasts* it, if the
   right table is under ``max_broadcast_bytes`` (else the co-group plan, below).
2. Spark reads the left file with its own Parquet reader (HDFS, S3, a shared disk). Each row
   keeps its row number in the file (Parquet's ``_metadata.row_index``); batch ``k`` is rows
   ``[k·chunk_rows, (k+1)·chunk_rows)``, exactly the batches of the local engine for the same
   ``chunk_rows``. The rows are shuffled once so that each batch sits whole in one partition
   (partitions hold whole batches, any number of them), sorted by (batch, row), and kept
   (``persist``) for the three passes: Spark's partitioning never changes what a batch is.
3. Three passes of ``mapInArrow`` (statistics, compare, score) call ``job.stats``,
   ``job.patterns`` and ``job.score`` on each batch, cast back to the file's Arrow types. A task
   returns one small row per batch: (batch, content digest of the rows it saw, pickled result).
   The driver collects them in batch order and calls ``job.plan`` and ``job.fit`` between the
   passes, broadcasting only the attributes these changed; the candidates of pass 2 (few) are
   merged with the local engine's own ``group_persons``.

Correctness checks that are cheap enough to run always: the driver streams the left file once
itself (in a thread, while pass 0 runs) to check the manifest's content digest — so a changed or
damaged file is refused, as by the local engine — and to compute each batch's digest; every task
of every pass reports the digest of the rows it was given, and any difference (a file changed
during the run, a row lost or duplicated by the platform) stops the job. A task whose batch is
incomplete or out of order fails.

Faults: a task that fails (lost executor, out of memory, a transient storage error) is retried
by Spark (``spark.task.maxFailures``); its result depends only on its batch and on broadcast
values, so the retry returns the same result. A property of the data (an unsorted file) is not
retried: it is returned as an error and raised on the driver. A job that cannot finish raises
:class:`~linkmatch.engines.EngineError` and writes nothing.

Secrets: matching needs no key, and nothing here sees one. Task names, job descriptions, plans
and logs carry phase names and counts only; the broadcast holds the right side's encodings and
the public manifests. Encoding, the only step that needs the key, runs on Spark in
:mod:`linkmatch.engines.spark_encode` with derived sub-keys only (or locally, by default).

The co-group plan (``plan="cogroup"``, or ``"auto"`` above ``max_broadcast_bytes``): the tasks
get the job *without* its right side (:meth:`~linkmatch.match.Job.slim`: global values only —
the right side's distinct keys, name-key counts, the skip decisions, the model). After pass 0
both sides are sent to hashed buckets of their *live* blocking keys (shared by both sides and
not skipped: one common name never fills a bucket, and a key is hashed again, never used raw),
each row once per bucket it has a key in; ``cogroup(...).applyInArrow`` then compares one
bucket per call, each pair in the one bucket that owns it (the smallest bucket among the keys
the two records share, :func:`~linkmatch.compare.blocking.owned_pairs`). The batch part of
pass 1 (persons' name frequencies, the random-pair sample) still runs per batch. Pattern counts
are integer sums and the candidates are merged by ``group_persons``, so the results are the
broadcast plan's and the local engine's, whatever the number of buckets.

Output on cluster storage (``out=``): :func:`write_candidates` has Spark write the candidates
by partition into a hidden directory beside the target and publishes it with one rename.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import logging
import math
import os
import pickle
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from py4j.protocol import Py4JError
from pyspark import Broadcast, StorageLevel, TaskContext
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql.types import LongType, StructField, StructType

from linkmatch._version import __version__
from linkmatch.compare.blocking import NameBands
from linkmatch.errors import ConfigError, EngineError, InputDataError, LinkmatchError
from linkmatch.io import ContentDigest, read_encoded, read_manifest
from linkmatch.match import (
    DEFAULT_CHUNK_ROWS,
    Job,
    MatchResult,
    ProgressFn,
    bands_option,
    bands_setting,
    check_compatible,
    check_options,
    final_candidates,
    load_state,
    save_state,
)

__all__ = ["DEFAULT_MASTER", "DEFAULT_MAX_BROADCAST_BYTES", "FAULT_PROPERTY", "MANIFEST_NAME",
           "PLANS", "Plan", "match_encoded", "match_files", "session", "write_candidates"]

log = logging.getLogger("linkmatch")

_KEY_COLUMNS: Final = ("block_keys", "name_bf", "nat")  # keys; name bands (within nationality)

DEFAULT_MASTER: Final = "local[2]"
"""Master of a session the engine starts itself: two local cores (as the issue asks)."""

DEFAULT_MAX_BROADCAST_BYTES: Final = 2 * 1024 ** 3
"""Largest right table (Arrow bytes in memory) that is broadcast: about two million reference
rows. Each executor's Python worker holds about three times this (the table, its prepared
arrays and the block index), so raise it only with the memory to match."""

FAULT_PROPERTY: Final = "linkmatch.test.failTask"
"""Spark local property of the fault-injection hook used by the tests: ``PHASE`` fails every
attempt of every task of that phase, ``PHASE:FLAG_FILE`` fails the one attempt that creates
``FLAG_FILE`` (the first). Unset in normal runs, where the hook does nothing."""

DEFAULT_LOCAL_DRIVER_MEMORY: Final = "4g"
"""Java heap of a local session the engine starts (``$LINKMATCH_SPARK_DRIVER_MEMORY``
overrides): in local mode it holds the executors too."""

PHASES: Final = ("statistics", "compare", "score")

_ROW: Final = "_linkmatch_row"
_BATCH: Final = "_linkmatch_batch"
_PART: Final = "_linkmatch_partition"
_BUCKET: Final = "_linkmatch_bucket"
_RESULT_SCHEMA: Final = "batch long, digest string, payload binary"
_BUCKET_RESULT_SCHEMA: Final = "bucket long, payload binary"

Plan = Literal["auto", "broadcast", "cogroup"]
PLANS: Final = ("auto", "broadcast", "cogroup")

RIGHT_ROWS_PER_BUCKET: Final = 20_000
"""Right rows per bucket the default bucket count aims at on the co-group plan: a bucket task
holds its rows of both sides and their pairs' evidence (a few hundred MB at most)."""


# ----------------------------------------------------------------------------------- session


@contextlib.contextmanager
def session(spark: SparkSession | None = None,
            master: str | None = None) -> Iterator[SparkSession]:
    """The SparkSession to run on: ``spark`` if given, else the active one, else a new one.

    A session this function starts is stopped when the block ends; a given or already running
    one is left running (it belongs to the caller). For a new ``local`` session the Python
    workers are this interpreter (so they import the same linkmatch), unless ``PYSPARK_PYTHON``
    says otherwise, and nothing listens beyond loopback; on a cluster the executors' Python and
    everything else come from the cluster's configuration (see docs/scale-out.md).
    """
    if spark is not None:
        yield spark
        return
    active = SparkSession.getActiveSession()
    if active is not None:
        if master and active.sparkContext.master != master:
            log.warning("using the running Spark session (master %s), not %s",
                        _master_kind(active.sparkContext.master or ""), _master_kind(master))
        yield active
        return
    master = master or DEFAULT_MASTER
    # the CLI reports progress per phase itself; Spark's console bar would write over it
    builder = SparkSession.builder.appName("linkmatch").master(master) \
        .config("spark.ui.showConsoleProgress", "false")
    local = master.startswith("local")
    if local:
        # a machine holding the data opens no port to the network for a run nobody watches:
        # the driver listens on loopback only and the web UI (all interfaces) stays off
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1") \
            .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false")
        # local mode runs the executors in the driver's JVM, whose 1 GiB default heap cannot
        # shuffle a million encoded rows (measured: out of memory at 1,000,000 × 50,000)
        builder = builder.config("spark.driver.memory", os.environ.get(
            "LINKMATCH_SPARK_DRIVER_MEMORY", DEFAULT_LOCAL_DRIVER_MEMORY))
    saved = os.environ.get("PYSPARK_PYTHON")
    if local and saved is None:
        os.environ["PYSPARK_PYTHON"] = sys.executable  # read once, when the context starts
    try:
        started = builder.getOrCreate()
    finally:
        if saved is None:
            os.environ.pop("PYSPARK_PYTHON", None)
    try:
        yield started
    finally:
        started.stop()


# ------------------------------------------------------------------------------ entry points


def match_files(
    left: str | os.PathLike[str],
    right: str | os.PathLike[str],
    *,
    spark: SparkSession | None = None,
    master: str | None = None,
    threshold: float | None = None,
    max_block_pairs: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    one_to_one: bool = False,
    name_bands: bool | NameBands = False,
    checkpoint: Path | None = None,
    partitions: int | None = None,
    max_broadcast_bytes: int = DEFAULT_MAX_BROADCAST_BYTES,
    plan: Plan = "auto",
    buckets: int | None = None,
    progress: ProgressFn | None = None,
    out: str | os.PathLike[str] | None = None,
) -> MatchResult:
    """Match two encoded files on Spark; same options and candidates as the local engine.

    Args:
        left: the large encoded file, read by Spark's Parquet reader: a local path (which then
            must be visible to every executor, as on ``local`` masters or a shared disk) or a
            URI (``hdfs://``, ``s3a://``, ``abfss://``, ...). The driver also reads it once,
            through pyarrow, to check its content digest.
        right: the smaller encoded file (a path or URI, as ``left``), read by the driver;
            broadcast, or read by Spark too on the co-group plan.
        spark: a running SparkSession to use (left running); default: the active session, or
            a new one on ``master`` stopped at the end.
        master: master URL of a new session (default :data:`DEFAULT_MASTER`).
        threshold, max_block_pairs, chunk_rows, one_to_one, name_bands: as
            :func:`linkmatch.match.match_files`; results do not depend on ``chunk_rows``.
            On the co-group plan, a row goes to the bucket of each of its live keys, and
            with ``name_bands`` it has up to that many more keys: the shuffle grows.
        checkpoint: private directory for the fitted model; a later call with the same inputs
            skips the compare pass (candidates are recomputed: they are cheap).
        partitions: Spark partitions of the left side (default: one per batch); results do not
            depend on it.
        max_broadcast_bytes: largest right table broadcast (Arrow bytes in memory); above
            it, ``plan="auto"`` co-groups.
        plan: ``"broadcast"`` (the right side to every task), ``"cogroup"`` (both sides
            shuffled to hashed buckets of their blocking keys), or ``"auto"``: broadcast when
            the right side is under ``max_broadcast_bytes``. The candidates are the same.
        buckets: number of buckets of the co-group plan (default: from the right side's size
            and Spark's parallelism); results do not depend on it.
        progress: called with (phase, batches done, batches in all).
        out: where Spark writes the candidates, on the cluster's storage (``hdfs://``,
            ``s3a://``, ``file://`` or a path): a Parquet dataset (a directory of part files,
            one per partition, and the run's manifest, ``_linkmatch.manifest.json``),
            committed by one rename once complete (see :func:`write_candidates`).

    Raises:
        EncodingMismatchError: the files cannot be compared.
        InputDataError: a file is damaged, changed since encoding, or not an encoded file.
        ConfigError: invalid parameters, or ``plan="broadcast"`` with a right side over
            ``max_broadcast_bytes``.
        EngineError: the Spark job failed on every attempt; nothing was produced.
    """
    threshold = check_options(threshold, max_block_pairs, chunk_rows)
    _check_partitions(partitions)
    _check_out(out)
    left_spark, left_arrow = _locations(left)
    right_spark, right_arrow = _locations(right)
    left_manifest = read_manifest(left_arrow)
    right_manifest, right_table = read_encoded(right_arrow)
    check_compatible(left_manifest, right_manifest)
    cogroup = _choose_plan(plan, right_table, max_broadcast_bytes, buckets)
    job = Job(left_manifest, right_manifest, right_table, threshold=threshold,
              max_block_pairs=max_block_pairs, name_bands=bands_option(name_bands))
    footer = pq.read_metadata(left_arrow)
    schema = footer.schema.to_arrow_schema().remove_metadata()
    rows = footer.num_rows

    def digests(stop: threading.Event) -> list[str]:
        return _file_digests(left_arrow, left_manifest, chunk_rows, stop)

    with session(spark, master) as active:
        frame = active.read.parquet(left_spark).select(
            *schema.names, sf.col("_metadata.row_index").alias(_ROW))
        right_side = None
        if cogroup:
            right_schema = right_table.schema.remove_metadata()
            right_side = _Right(active.read.parquet(right_spark).select(
                *right_schema.names, sf.col("_metadata.row_index").alias(_ROW)), right_schema)
        result = _Run(active, job, _Left(frame, schema, rows, digests), chunk_rows=chunk_rows,
                      partitions=partitions, progress=progress, right=right_side,
                      buckets=buckets).run(one_to_one, checkpoint)
        if out is not None:
            write_candidates(active, result, out)
        return result


def match_encoded(
    left_manifest: dict[str, Any],
    left_table: pa.Table,
    right_manifest: dict[str, Any],
    right_table: pa.Table,
    *,
    spark: SparkSession | None = None,
    master: str | None = None,
    threshold: float | None = None,
    max_block_pairs: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    one_to_one: bool = False,
    name_bands: bool | NameBands = False,
    checkpoint: Path | None = None,
    partitions: int | None = None,
    max_broadcast_bytes: int = DEFAULT_MAX_BROADCAST_BYTES,
    plan: Plan = "auto",
    buckets: int | None = None,
    progress: ProgressFn | None = None,
    out: str | os.PathLike[str] | None = None,
) -> MatchResult:
    """Match two encoded tables held by the driver on Spark (``linkmatch link --engine spark``).

    The left table is handed to Spark from the driver's memory (``createDataFrame``), so this
    suits tables that fit on the driver; files on cluster storage go through
    :func:`match_files`. Options as there.
    """
    _check_out(out)
    threshold = check_options(threshold, max_block_pairs, chunk_rows)
    _check_partitions(partitions)
    check_compatible(left_manifest, right_manifest)
    cogroup = _choose_plan(plan, right_table, max_broadcast_bytes, buckets)
    job = Job(left_manifest, right_manifest, right_table, threshold=threshold,
              max_block_pairs=max_block_pairs, name_bands=bands_option(name_bands))
    table = left_table.replace_schema_metadata(None)
    rows = table.num_rows

    def digests(stop: threading.Event) -> list[str]:
        return [ContentDigest().update(table.slice(lo, chunk_rows)).hexdigest()
                for lo in range(0, rows, chunk_rows) if not stop.is_set()]

    with session(spark, master) as active:
        numbered = table.append_column(_ROW, pa.array(np.arange(rows, dtype=np.int64)))
        frame = active.createDataFrame(numbered)
        right_side = None
        if cogroup:
            right_schema = right_table.schema.remove_metadata()
            right_side = _Right(active.createDataFrame(
                right_table.replace_schema_metadata(None).append_column(
                    _ROW, pa.array(np.arange(right_table.num_rows, dtype=np.int64)))),
                right_schema)
        result = _Run(active, job, _Left(frame, table.schema, rows, digests),
                      chunk_rows=chunk_rows, partitions=partitions, progress=progress,
                      right=right_side, buckets=buckets).run(one_to_one, checkpoint)
        if out is not None:
            write_candidates(active, result, out)
        return result


# ------------------------------------------------------------------- output on cluster storage

MANIFEST_NAME: Final = "_linkmatch.manifest.json"
"""The run's manifest inside a candidates dataset (a leading ``_``: Parquet readers skip it)."""

CANDIDATES_PER_PART: Final = 100_000
"""Candidates per part file of a dataset written on cluster storage."""


def write_candidates(spark: SparkSession, result: MatchResult,
                     out: str | os.PathLike[str]) -> None:
    """Write candidates and manifest as a Parquet dataset on the cluster's storage, atomically.

    Spark's writer puts one part file per partition (in candidate order) into a hidden
    directory beside ``out`` (``.NAME.linkmatch-…``, which readers skip), the manifest is
    added, and one file-system rename publishes the whole. A run that fails before the rename
    deletes the hidden directory; one killed outright leaves only it, never a dataset at
    ``out``. On HDFS (and ABFS with hierarchical namespace) the rename is atomic; on S3 it is a
    copy, so readers there should wait for the manifest: it is the last file of a complete
    dataset, and a dataset without it is incomplete.

    Raises:
        ConfigError: ``out`` exists already (nothing on cluster storage is overwritten).
        EngineError: Spark or the file system failed; nothing was published.
    """
    from linkmatch.match import CANDIDATE_COLUMNS

    target, _ = _locations(out)
    sc = spark.sparkContext
    jvm = sc._jvm  # Hadoop's FileSystem API is only reachable through py4j
    conf = sc._jsc.hadoopConfiguration()
    assert jvm is not None
    final = jvm.org.apache.hadoop.fs.Path(target)
    fs = final.getFileSystem(conf)
    if fs.exists(final):
        raise ConfigError(f"{os.fspath(out)} exists; linkmatch does not overwrite a dataset on "
                          "cluster storage: remove it or choose another name")
    hidden = jvm.org.apache.hadoop.fs.Path(final.getParent(),
                                           f".{final.getName()}.linkmatch-{uuid.uuid4().hex}")
    frame = result.candidates
    types = {"score": "double", "name_score": "double"}
    ddl = ", ".join(f"{name} {types.get(name, 'string')}" for name in CANDIDATE_COLUMNS)
    parts = max(1, math.ceil(len(frame) / CANDIDATES_PER_PART))
    try:
        # numSlices keeps the rows in order: part k holds the k-th slice of the sorted frame
        rdd = sc.parallelize(list(frame.itertuples(index=False, name=None)), parts)
        spark.createDataFrame(rdd, ddl).write.parquet(hidden.toString())
        stream = fs.create(jvm.org.apache.hadoop.fs.Path(hidden, MANIFEST_NAME), False)
        try:
            stream.write(bytearray(json.dumps(result.manifest, indent=2,
                                              sort_keys=True).encode() + b"\n"))
        finally:
            stream.close()
        if not fs.rename(hidden, final):
            raise EngineError(f"the file system refused to publish {os.fspath(out)} (rename "
                              "failed); nothing was published")
    except (PySparkException, Py4JError) as exc:
        with contextlib.suppress(Py4JError):
            fs.delete(hidden, True)
        raise EngineError(f"writing the candidates to {os.fspath(out)} failed; nothing was "
                          "published") from exc
    except BaseException:
        with contextlib.suppress(Py4JError):
            fs.delete(hidden, True)
        raise


def _check_out(out: str | os.PathLike[str] | None) -> None:
    if out is not None and not os.fspath(out).rstrip("/").endswith((".parquet", ".pq")):
        raise ConfigError("candidates on cluster storage are a Parquet dataset: name it "
                          "NAME.parquet")


# ---------------------------------------------------------------------------- driver side


@dataclass(frozen=True)
class _Left:
    """The left side as Spark reads it and as the driver checks it."""

    frame: DataFrame  # the encoded columns and _ROW, the row's number in the file
    schema: pa.Schema  # the Arrow types the batch functions expect
    rows: int
    digests: Callable[[threading.Event], list[str]]  # per batch, from the driver's own read


@dataclass(frozen=True)
class _Right:
    """The right side as Spark reads it, for the co-group plan."""

    frame: DataFrame  # the encoded columns and _ROW
    schema: pa.Schema  # its Arrow types


class _Run:
    """One job on one session: the passes, the broadcasts, and what they must agree on."""

    def __init__(self, spark: SparkSession, job: Job, left: _Left, *, chunk_rows: int,
                 partitions: int | None, progress: ProgressFn | None,
                 right: _Right | None = None, buckets: int | None = None) -> None:
        self.spark = spark
        self.sc = spark.sparkContext
        self.right = right  # set: the co-group plan
        self.buckets = buckets or _default_buckets(job, self.sc.defaultParallelism)
        self.job = job
        self.left = left
        self.chunk_rows = chunk_rows
        self.batches = math.ceil(left.rows / chunk_rows)
        self.partitions = partitions or max(self.batches, 1)
        self.progress = progress
        self.group = f"linkmatch-{uuid.uuid4().hex[:12]}"
        self.broadcasts: list[Broadcast[Any]] = []
        self.result_bytes: dict[str, int] = {}  # pickled results collected, by phase
        self.broadcast_bytes: dict[str, int] = {}  # pickled job, plan and model sent

    def run(self, one_to_one: bool, checkpoint: Path | None) -> MatchResult:
        """Passes 0–2 and the merge; Spark's resources are released however it ends."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        job = self.job
        cogroup = self.right is not None
        grouped = self.left.frame \
            .withColumn(_BATCH, sf.expr(f"{_ROW} div {self.chunk_rows}")) \
            .withColumn(_PART, _round_robin(self.spark, sf.col(_BATCH), self.partitions)) \
            .repartition(self.partitions, _PART).sortWithinPartitions(_BATCH, _ROW) \
            .drop(_PART).persist(StorageLevel.MEMORY_AND_DISK)
        bucketed: tuple[DataFrame, DataFrame] | None = None
        stop = threading.Event()
        try:
            # on the co-group plan the tasks get the job without its right side
            view = job.slim() if cogroup else job
            before = _fingerprints(view)
            base = self._broadcast("job", view, sum(size for _, size in before.values()))
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="linkmatch-digest") as pool:
                expected_future = pool.submit(self.left.digests, stop)
                try:
                    stats = self._pass(grouped, "statistics", (base,), None)
                except BaseException:
                    stop.set()
                    raise
                expected = expected_future.result()
            self._check_digests("statistics", stats, expected)
            job.plan([result for _, result in stats])
            del stats
            view = job.slim() if cogroup else job
            planned = self._broadcast("plan", *_delta(view, before))
            timings["index"] = time.perf_counter() - t0
            inputs = {
                "left": job.left_manifest.get("content_sha256"),
                "right": job.right_manifest.get("content_sha256"),
                "threshold": job.threshold,
                "max_block_pairs": job.max_block_pairs,
                "name_bands": bands_setting(job.name_bands),
                "chunk_rows": [min(self.chunk_rows, job.left_rows)] if job.left_rows else [],
                "batches": self.batches,
                "library_version": __version__,
            }
            resumed = load_state(checkpoint, inputs)
            after_plan = _fingerprints(view)
            if resumed is not None:
                job.model, pairs_compared = resumed
                timings["compare"] = timings["model"] = 0.0
            else:
                t0 = time.perf_counter()
                if not cogroup:
                    patterns = [result for _, result in
                                self._pass(grouped, "compare", (base, planned), expected)]
                else:
                    # the batch part (persons, random-pair sample), then the pairs by bucket
                    patterns = [result for _, result in
                                self._pass(grouped, "compare", (base, planned), expected,
                                           work="persons")]
                    bucketed = self._bucketed(grouped, (base, planned))
                    patterns += self._bucket_pass(*bucketed, "compare", (base, planned))
                timings["compare"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                pairs_compared = sum(result.pairs for result in patterns)
                job.fit(patterns)
                del patterns
                timings["model"] = time.perf_counter() - t0
                assert job.model is not None
                save_state(checkpoint, inputs, job.model, pairs_compared)
            view = job.slim() if cogroup else job
            fitted = self._broadcast("model", *_delta(view, after_plan))
            t0 = time.perf_counter()
            if not cogroup:
                parts = [part for _, part in
                         self._pass(grouped, "score", (base, planned, fitted), expected)]
            else:
                bucketed = bucketed or self._bucketed(grouped, (base, planned))
                parts = self._bucket_pass(*bucketed, "score", (base, planned, fitted))
            candidates = final_candidates(parts, one_to_one, job.candidate_evidence)
            timings["score"] = time.perf_counter() - t0
        finally:
            stop.set()
            grouped.unpersist(blocking=False)
            for frame in bucketed or ():
                frame.unpersist(blocking=False)
            for broadcast in self.broadcasts:
                broadcast.destroy(blocking=False)
        timings["total"] = time.perf_counter() - started
        return MatchResult(candidates=candidates,
                           manifest=self._manifest(candidates, pairs_compared, one_to_one,
                                                   timings))

    def _bucketed(self, grouped: DataFrame,
                  state: tuple[Broadcast[Any], ...]) -> tuple[DataFrame, DataFrame]:
        """Both sides, each row once per bucket of its live blocking keys (kept for 2 passes)."""
        assert self.right is not None
        out = []
        # the columns a row's keys come from, in the files' Arrow types (as every task reads)
        key_schema = pa.schema([self.left.schema.field(name) for name in _KEY_COLUMNS])
        for frame in (grouped.drop(_BATCH), self.right.frame):
            task = functools.partial(_bucketise, state=state, buckets=self.buckets,
                                     schema=key_schema)
            spark_schema = StructType([*frame.schema.fields,
                                       StructField(_BUCKET, LongType(), nullable=False)])
            out.append(frame.mapInArrow(task, spark_schema)
                       .persist(StorageLevel.MEMORY_AND_DISK))
        return out[0], out[1]

    def _bucket_pass(self, left: DataFrame, right: DataFrame, phase: str,
                     state: tuple[Broadcast[Any], ...]) -> list[Any]:
        """One pass over all buckets (co-group plan): the results, in bucket order."""
        assert self.right is not None
        task = functools.partial(_bucket_task, phase=phase, state=state,
                                 schemas=(self.left.schema, self.right.schema),
                                 buckets=self.buckets)
        cogrouped = left.groupBy(_BUCKET).cogroup(right.groupBy(_BUCKET)) \
            .applyInArrow(task, _BUCKET_RESULT_SCHEMA)
        rows = self._collect(cogrouped, phase, f"{self.buckets} buckets")
        self.result_bytes[f"{phase}-buckets"] = sum(len(row["payload"]) for row in rows)
        by_bucket: dict[int, Any] = {}
        for row in rows:
            number = int(row["bucket"])
            if number in by_bucket or not 0 <= number < self.buckets:
                raise EngineError(f"Spark returned bucket {number} twice or out of range in "
                                  f"phase {phase!r}")
            by_bucket[number] = _unpickle(row["payload"])
        if self.progress is not None:
            self.progress(phase, self.batches, self.batches)
        return [by_bucket[k] for k in sorted(by_bucket)]

    def _collect(self, frame: DataFrame, phase: str, what: str) -> list[Any]:
        """Run a pass's Spark job under its job group; a failed job is an EngineError."""
        self.sc.setJobGroup(f"{self.group}-{phase}", f"linkmatch match: {phase} ({what})")
        try:
            with self._progress_poller(phase):
                return frame.collect()
        except (PySparkException, Py4JError) as exc:
            raise EngineError(
                f"the Spark job failed in phase {phase!r}: a task failed on every attempt "
                "(spark.task.maxFailures) or the cluster stopped the job; nothing was written. "
                "Spark's driver and executor logs say why (on a machine cleared for the "
                "data)") from exc
        finally:
            self.sc.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
            self.sc.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]

    def _broadcast(self, name: str, value: Any, size: int) -> Broadcast[Any]:
        broadcast = self.sc.broadcast(value)
        self.broadcasts.append(broadcast)
        self.broadcast_bytes[name] = size
        return broadcast

    def _pass(self, grouped: DataFrame, phase: str, state: tuple[Broadcast[Any], ...],
              expected: Sequence[str] | None, *, work: str | None = None
              ) -> list[tuple[str, Any]]:
        """One pass over all batches: (digest, result) per batch, in batch order.

        ``work`` names the tasks' function when it is not the phase's own (the co-group plan's
        batch part of the compare phase).
        """
        task = functools.partial(_task, phase=work or phase, state=state,
                                 schema=self.left.schema, chunk_rows=self.chunk_rows,
                                 rows=self.left.rows)
        if self.progress is not None:
            self.progress(phase, 0, self.batches)
        rows = self._collect(grouped.mapInArrow(task, _RESULT_SCHEMA), phase,
                             f"{self.batches} batches")
        self.result_bytes[work or phase] = sum(len(row["payload"]) for row in rows)
        by_batch: dict[int, tuple[str, Any]] = {}
        for row in rows:
            number = int(row["batch"])
            if number in by_batch:
                raise EngineError(f"Spark returned batch {number} twice in phase {phase!r}")
            by_batch[number] = (str(row["digest"]), _unpickle(row["payload"]))
        if sorted(by_batch) != list(range(self.batches)):
            raise EngineError(f"Spark returned {len(by_batch)} of {self.batches} batches in "
                              f"phase {phase!r}")
        results = [by_batch[k] for k in range(self.batches)]
        if expected is not None:
            self._check_digests(phase, results, expected)
        if self.progress is not None and work is None:
            self.progress(phase, self.batches, self.batches)
        return results

    def _check_digests(self, phase: str, results: Sequence[tuple[str, Any]],
                       expected: Sequence[str]) -> None:
        """The rows each task saw are the rows the driver read (no file change, no loss)."""
        seen = [digest for digest, _ in results]
        if seen != list(expected):
            bad = next((k for k, (a, b) in enumerate(zip(seen, expected, strict=False))
                        if a != b), min(len(seen), len(expected)))
            raise InputDataError(
                f"the rows Spark read for batch {bad} in phase {phase!r} differ from the file "
                "the driver checked (was the file changed during the run?); nothing was "
                "written")

    @contextlib.contextmanager
    def _progress_poller(self, phase: str) -> Iterator[None]:
        """Report batches done while a pass runs (Spark's tasks done, scaled to batches)."""
        if self.progress is None or self.batches <= 1:
            yield
            return
        progress = self.progress
        reported = 0

        def step(stages: list[Any]) -> None:
            nonlocal reported
            stage = stages[-1] if stages else None
            if stage is None or not stage.numTasks:
                return
            batches = self.batches * stage.numCompletedTasks // stage.numTasks
            if reported < batches < self.batches:
                reported = batches
                progress(phase, batches, self.batches)

        with poll_stages(self.sc, f"{self.group}-{phase}", step):
            yield

    def _manifest(self, candidates: Any, pairs_compared: int, one_to_one: bool,
                  timings: dict[str, float]) -> dict[str, Any]:
        """The run's manifest: the local engine's fields, plus how Spark ran it."""
        master = self.sc.master or ""
        return {
            **self.job.manifest(candidates, pairs_compared, one_to_one),
            "engine": "spark",
            "spark": {
                "version": self.spark.version,
                "master": _master_kind(master),
                "partitions": self.partitions,
                "plan": "cogroup" if self.right is not None else "broadcast",
                "buckets": self.buckets if self.right is not None else None,
                "broadcast_bytes": self.broadcast_bytes,
                "result_bytes": self.result_bytes,
            },
            "workers": self.sc.defaultParallelism,
            "batches": self.batches,
            "seconds": {k: round(v, 3) for k, v in timings.items()},
        }


@contextlib.contextmanager
def poll_stages(sc: Any, group: str, step: Callable[[list[Any]], None]) -> Iterator[None]:
    """While the block runs, call ``step`` once a second with the stages (Spark's stage infos,
    in stage order) of the jobs of job group ``group``: what progress reports are made of."""
    done = threading.Event()
    tracker = sc.statusTracker()

    def poll() -> None:
        while not done.wait(1.0):
            ids = sorted(stage for job in tracker.getJobIdsForGroup(group)
                         if (info := tracker.getJobInfo(job)) is not None
                         for stage in info.stageIds)
            step([info for stage in ids if (info := tracker.getStageInfo(stage)) is not None])

    thread = threading.Thread(target=poll, name="linkmatch-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _master_kind(master: str) -> str:
    """The kind of a master URL only (local, yarn, k8s, spark): a URL may carry a host name or
    credentials, which belong in no log or manifest."""
    return master.split("[", 1)[0].split(":", 1)[0]


def _fingerprints(job: Job) -> dict[str, tuple[bytes, int]]:
    """Digest and pickled size of each attribute of the job, to see which ones a step changed.

    By content, not identity, so that an attribute changed in place is sent again too.
    """
    out = {}
    for name, value in vars(job).items():
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        out[name] = (hashlib.sha256(data).digest(), len(data))
    return out


def _delta(job: Job, before: dict[str, tuple[bytes, int]]) -> tuple[dict[str, Any], int]:
    """The attributes ``plan`` or ``fit`` changed (all the tasks need besides the base job),
    and their pickled size.

    Broadcasting only these keeps the right side (the large part of a job) to one broadcast,
    without this engine knowing which attributes the core sets in which step.
    """
    changed = {name: size for name, (digest, size) in _fingerprints(job).items()
               if before.get(name, (b"", 0))[0] != digest}
    return {name: getattr(job, name) for name in changed}, sum(changed.values())


def _round_robin(spark: SparkSession, batch: Column, partitions: int) -> Column:
    """A partitioning key that sends batch ``k`` to partition ``k mod partitions``, exactly.

    Spark hash-partitions by ``pmod(hash(key), partitions)``; partitioning by the batch number
    itself lets batches collide (two batches in one partition, none in another: half the
    cores idle on a two-batch job). So for each partition ``r`` a small Spark job finds a value
    ``v_r`` whose hash lands in ``r`` — with Spark's own ``hash``, the function its
    partitioner uses — and batch ``k`` is keyed by ``v_{k mod partitions}``. Only the balance
    depends on this: a batch's rows share one key, so a batch is whole in one partition anyway.
    """
    if partitions == 1:
        return sf.lit(0)
    probe = spark.range(0, 64 * partitions) \
        .select("id", sf.pmod(sf.hash("id"), sf.lit(partitions)).alias("target")) \
        .groupBy("target").agg(sf.min("id").alias("id")).collect()
    found = {int(row["target"]): int(row["id"]) for row in probe}
    values = [found.get(r, r) for r in range(partitions)]  # a miss (≈ never) only unbalances
    # longs, as probed: Spark hashes an int and a long of the same value differently
    return sf.element_at(sf.array(*[sf.lit(v).cast("long") for v in values]),
                         (sf.pmod(batch, sf.lit(partitions)) + 1).cast("int"))


def _check_partitions(partitions: int | None) -> None:
    if partitions is not None and partitions < 1:
        raise ConfigError("partitions must be a positive whole number")


def _choose_plan(plan: str, right_table: pa.Table, limit: int, buckets: int | None) -> bool:
    """Whether the job runs on the co-group plan; refuse options that do not fit."""
    if plan not in PLANS:
        raise ConfigError(f"plan must be one of {', '.join(PLANS)}")
    if buckets is not None and buckets < 1:
        raise ConfigError("buckets must be a positive whole number")
    size = right_table.nbytes
    if plan == "broadcast" and size > limit:
        raise ConfigError(
            f"the right (reference) side is {size / 2**20:,.0f} MiB in memory, over the Spark "
            f"engine's broadcast limit of {limit / 2**20:,.0f} MiB (max_broadcast_bytes): use "
            "plan 'cogroup' (or 'auto'), or raise the limit if every executor has about three "
            "times that memory")
    return plan == "cogroup" or (plan == "auto" and size > limit)


def _default_buckets(job: Job, parallelism: int) -> int:
    """Buckets of the co-group plan: two per core at least, and about
    :data:`RIGHT_ROWS_PER_BUCKET` right rows per bucket (a record is in several buckets)."""
    return max(2 * max(parallelism, 1), math.ceil(int(job.right.size) / RIGHT_ROWS_PER_BUCKET))


def _locations(path: str | os.PathLike[str]) -> tuple[str, str]:
    """(location for Spark, location for pyarrow on the driver) of one file.

    A local path becomes a ``file:`` URI for Spark, which would otherwise resolve it on the
    cluster's default file system (HDFS) while the driver read the local file. Hadoop's
    ``s3a://`` is pyarrow's ``s3://``.
    """
    text = os.fspath(path)
    if "://" not in text:
        local = Path(text).resolve()
        return local.as_uri(), str(local)
    scheme, rest = text.split("://", 1)
    return text, f"s3://{rest}" if scheme in {"s3a", "s3n"} else text


def _file_digests(path: str, manifest: dict[str, Any], chunk_rows: int,
                  stop: threading.Event) -> list[str]:
    """Check the file's content digest against its manifest; the digest of each batch.

    Raises:
        InputDataError: the content does not match the manifest.
    """
    whole = ContentDigest()
    parts: list[str] = []
    current, filled = ContentDigest(), 0
    # pre_buffer off: else the reader keeps what it pre-fetched, growing with the file
    for batch in pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=65_536):
        if stop.is_set():
            return []
        whole.update(batch)
        start = 0
        while start < batch.num_rows:
            take = min(chunk_rows - filled, batch.num_rows - start)
            current.update(batch.slice(start, take))
            start += take
            filled += take
            if filled == chunk_rows:
                parts.append(current.hexdigest())
                current, filled = ContentDigest(), 0
    if filled:
        parts.append(current.hexdigest())
    if whole.hexdigest() != manifest.get("content_sha256"):
        raise InputDataError(
            "content does not match its manifest (changed or damaged since it was encoded); "
            "ask the holder for a fresh copy", file=path)
    return parts


# ------------------------------------------------------------------------------ task side


def _task(batches: Iterable[pa.RecordBatch], *, phase: str, state: tuple[Broadcast[Any], ...],
          schema: pa.Schema, chunk_rows: int, rows: int) -> Iterator[pa.RecordBatch]:
    """One Spark task: the phase's function over each whole batch in this partition.

    Yields one row per batch: its number, the digest of its rows, and the pickled result (or the
    :class:`LinkmatchError` it raised: an error of the data is the same on every attempt, so it
    is reported to the driver rather than retried).
    """
    job = _state_job(state)
    for number, table in _whole_batches(batches, schema, chunk_rows, rows):
        _inject_fault(phase)
        digest = ContentDigest().update(table).hexdigest()
        try:
            if phase == "statistics":
                result: Any = job.stats(table)
            elif phase == "compare":
                result = job.patterns(table, number)
            elif phase == "persons":
                result = job.patterns(table, number, pairs=False)
            else:
                result = job.score(table)
            payload = pickle.dumps((True, result), protocol=pickle.HIGHEST_PROTOCOL)
        except LinkmatchError as exc:
            payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
        yield pa.RecordBatch.from_arrays(
            [pa.array([number], pa.int64()), pa.array([digest], pa.string()),
             pa.array([payload], pa.binary())], names=["batch", "digest", "payload"])


def _unpickle(payload: bytes) -> Any:
    """A task's result, or the data error it reported (raised here, on the driver)."""
    ok, value = pickle.loads(payload)  # noqa: S301 -- written by our own tasks
    if not ok:
        raise value
    return value


def _state_job(state: tuple[Broadcast[Any], ...]) -> Job:
    """The job a task works with: the broadcast base and the attributes later steps set."""
    job: Job = copy.copy(state[0].value)  # shallow: the broadcast value itself stays as it is
    for delta in state[1:]:
        job.__dict__.update(delta.value)
    return job


def _bucketise(batches: Iterable[pa.RecordBatch], *, state: tuple[Broadcast[Any], ...],
               buckets: int, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Each row once per bucket of its live blocking keys, with the bucket's number."""
    job = _state_job(state)
    for record_batch in batches:
        if not record_batch.num_rows:
            continue
        table = pa.Table.from_batches([record_batch]).select(schema.names).cast(schema)
        rows, numbers = job.bucket_rows(table, buckets)
        if not len(rows):
            continue
        out = record_batch.take(pa.array(rows, pa.int64()))
        yield out.append_column(_BUCKET, pa.array(numbers, pa.int64()))


def _bucket_task(key: tuple[pa.Scalar, ...], left: pa.Table, right: pa.Table, *, phase: str,
                 state: tuple[Broadcast[Any], ...], schemas: tuple[pa.Schema, pa.Schema],
                 buckets: int) -> pa.Table:
    """One bucket of the co-group plan: its pattern counts (compare) or candidates (score)."""
    bucket = int(key[0].as_py())
    _inject_fault(phase)
    if not left.num_rows or not right.num_rows:
        return pa.table({"bucket": pa.array([], pa.int64()),
                         "payload": pa.array([], pa.binary())})
    job = _state_job(state)
    # in row order, in the files' Arrow types: the same input whatever the shuffle did
    lt, rt = (table.sort_by(_ROW).select(schema.names).cast(schema)
              for table, schema in zip((left, right), schemas, strict=True))
    try:
        if phase == "compare":
            result: Any = job.bucket_patterns(lt, rt, bucket, buckets)
        else:
            result = job.bucket_score(lt, rt, bucket, buckets)
        payload = pickle.dumps((True, result), protocol=pickle.HIGHEST_PROTOCOL)
    except LinkmatchError as exc:
        payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
    return pa.table({"bucket": pa.array([bucket], pa.int64()),
                     "payload": pa.array([payload], pa.binary())})


def _whole_batches(batches: Iterable[pa.RecordBatch], schema: pa.Schema, chunk_rows: int,
                   rows: int) -> Iterator[tuple[int, pa.Table]]:
    """Regroup a partition's Arrow record batches (sorted by batch, row) into whole batches."""
    pending: list[pa.RecordBatch] = []
    current = -1
    for record_batch in batches:
        if not record_batch.num_rows:
            continue
        numbers = record_batch.column(_BATCH).to_numpy()
        cuts = np.flatnonzero(numbers[1:] != numbers[:-1]) + 1
        for lo, hi in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(numbers)].tolist(),
                          strict=True):
            number = int(numbers[lo])
            if number != current:
                if pending:
                    yield current, _assemble(pending, current, schema, chunk_rows, rows)
                pending, current = [], number
            pending.append(record_batch.slice(lo, hi - lo))
    if pending:
        yield current, _assemble(pending, current, schema, chunk_rows, rows)


def _assemble(parts: list[pa.RecordBatch], number: int, schema: pa.Schema, chunk_rows: int,
              rows: int) -> pa.Table:
    """Batch ``number`` in the file's Arrow types, after checking it is whole and in order."""
    table = pa.Table.from_batches(parts)
    start = number * chunk_rows
    if not np.array_equal(table.column(_ROW).to_numpy(),
                          np.arange(start, min(start + chunk_rows, rows), dtype=np.int64)):
        raise EngineError(f"batch {number} reached its task incomplete or out of order")
    return table.select(schema.names).cast(schema)


def _inject_fault(phase: str) -> None:
    """Testing hook: fail this task attempt if the job's :data:`FAULT_PROPERTY` asks for it.

    It raises an ordinary exception (not a :class:`LinkmatchError`) so that Spark treats it as
    the transient failures it stands for, and retries the task.
    """
    context = TaskContext.get()
    spec = context.getLocalProperty(FAULT_PROPERTY) if context is not None else None
    if not spec:
        return
    target, _, flag = spec.partition(":")
    if target != phase:
        return
    if flag:
        try:
            os.close(os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return  # the failure was injected already: this attempt runs normally
    assert context is not None
    raise RuntimeError(f"linkmatch: injected task failure in phase {phase!r} "
                       f"(attempt {context.attemptNumber()})")
