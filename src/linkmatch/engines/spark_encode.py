"""Encoding on Spark: a holder's person table encoded where it lives, with sub-keys only.

Why: a holder whose records already live on the governed data platform (a Parquet table on
HDFS or S3) should not have to copy them to one machine to pseudonymise them. This runs the
local encoder (:func:`linkmatch.encode.encode_frame`) in Spark tasks, batch by batch, and
writes the same encoded file the local engine writes (:func:`linkmatch.encode.encode_file`):
the same rows, sorted by pseudonym, the same content digest, the same manifest but for its
time stamps, for any partitioning.

Secrets: the master key stays on the driver. Tasks receive a :class:`~linkmatch.pseudonymise.
keys.SubKeys` holding only the HKDF sub-keys the encoder derives for this schema (tokens,
filters, blocking keys, the job's pseudonym sub-key, the hardening permutations); the key that
MACs the manifest is not among them, since the driver writes the manifest, nor is the holder's
signing key. The sub-keys travel inside the task's code, not as a Spark broadcast variable:
PySpark writes every broadcast value, pickled, to a file in the driver's local directory and
executors hand it to their Python workers through files, in the clear unless
``spark.io.encryption.enabled`` is set; the task code (about a kilobyte here) is held in the
block managers' memory. A session this engine starts sets ``spark.io.encryption.enabled``, so
that anything evicted or spilled to a local disk is encrypted; a given session without it gets
a warning. Task names and job descriptions carry phase names only. An unexpected error in a
task is re-raised as a bare :class:`~linkmatch.errors.EngineError` naming its type only
(no message, no chained exception), because Spark writes a failed task's Python traceback to
the executor's log, the driver's log and the event log, and a message such as
``invalid literal for int(): 'Zubayda'`` would carry a value there.

Plan: Spark reads the Parquet table (with each row's number in the file, so that errors and
reports name the row as the local engine does); ``mapInArrow`` encodes each batch and also
returns the batch's validation report; the encoded rows are range-partitioned and sorted by
pseudonym and written by Spark to a hidden directory beside the output; the driver then
streams those parts in order into the one encoded file (content digest, person count,
manifest with its keyed MAC), written atomically, and removes the directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import pickle
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession
from pyspark.sql import functions as sf
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    ByteType,
    DataType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from linkmatch.encode import (
    _BUCKET_BOUNDS,
    ROW_GROUP_ROWS,
    EncodeSummary,
    Hashers,
    _manifest,
    encode_frame,
)
from linkmatch.engines.spark import _locations, poll_stages, session
from linkmatch.errors import ConfigError, EngineError, InputDataError, LinkmatchError
from linkmatch.io import (
    MANIFEST_KEY,
    ROW_NUMBERS,
    ContentDigest,
    RowNumbers,
    ValidationReport,
    atomic_path,
    normalise_columns,
)
from linkmatch.pseudonymise.keys import Key, SubKeys
from linkmatch.pseudonymise.signing import SigningKey, sign_manifest
from linkmatch.schema import PERSON_COLUMNS, Schema

__all__ = ["encode_file", "encoding_labels"]

_ROW: Final = "_linkmatch_row"
_KIND: Final = "_linkmatch_kind"  # 0: an encoded row, 1: a batch's report
_REPORT: Final = "_linkmatch_report"


class _Labels:
    """A stand-in key that records which sub-keys the encoder derives (and gives zeros)."""

    fingerprint = "0" * 16
    key_id = None

    def __init__(self) -> None:
        self.labels: list[str] = []

    def derive(self, label: str, length: int = 32) -> bytes:
        self.labels.append(label)
        return bytes(length)


def encoding_labels(schema: Schema) -> frozenset[str]:
    """The sub-key labels the encoder derives for ``schema`` (and no other).

    Found by building the encoder's keyed primitives on a recording stand-in key, so the list
    cannot drift from what :class:`linkmatch.encode.Hashers` uses.
    """
    recorder = _Labels()
    Hashers(recorder, schema, bytes(16))
    return frozenset(recorder.labels)


def encode_file(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    key: Key,
    *,
    spark: SparkSession | None = None,
    master: str | None = None,
    schema: Schema | None = None,
    strict: bool = False,
    job_salt: bytes | None = None,
    today: dt.date | None = None,
    partitions: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    signing_key: SigningKey | None = None,
) -> EncodeSummary:
    """Encode a Parquet person table on Spark into an encoded file, as the local engine would.

    Args:
        source: the person table (Parquet: a file or a directory of parts), a path or a cluster
            URI (``hdfs://``, ``s3a://``, ...).
        out: the encoded file to write (a local path, or a URI pyarrow can write to).
        key: the linkage key; it stays on the driver (tasks get sub-keys only).
        spark, master: as for :func:`linkmatch.engines.spark.match_files`.
        schema, strict, job_salt, today: as for :func:`linkmatch.encode.encode_file`.
        partitions: partitions of the sorted output (default: Spark's parallelism).
        progress: called with (phase, done, in all): Spark tasks of the ``encode`` and
            ``sort`` phases, then rows of the driver's ``write`` phase.

    Raises:
        ConfigError: the source is not Parquet.
        InputDataError: the table cannot be used, or (``strict``) a value is invalid.
        EngineError: the Spark job failed on every attempt; nothing was written.
    """
    started = time.perf_counter()
    schema = schema or Schema()
    salt = job_salt if job_salt is not None else secrets.token_bytes(16)
    today = today or dt.date.today()
    label = os.fspath(source)
    if not label.rstrip("/").lower().endswith((".parquet", ".pq")):
        raise ConfigError("encoding on Spark reads Parquet tables (name ending in .parquet); "
                          "encode a CSV file with the local engine")
    source_spark, _ = _locations(source)
    sub_keys = SubKeys(key, encoding_labels(schema))
    empty = encode_frame(pd.DataFrame({"record_id": pd.Series([], dtype=object)}), sub_keys,
                         schema=schema, job_salt=salt, today=today, _digest=False)
    file_schema = empty.table.schema.remove_metadata()
    with session(spark, master, encrypt_local_disk=True) as active:
        sc = active.sparkContext
        try:
            frame = active.read.parquet(source_spark)
        except (PySparkException, Py4JError):
            raise InputDataError("cannot be read as Parquet (missing or damaged?)",
                                 file=label) from None
        columns = [c for c in frame.columns if c in PERSON_COLUMNS]
        if "record_id" not in columns:
            raise InputDataError("has no 'record_id' column", file=label)
        frame = frame.select(*[sf.col(c).cast("string").alias(c) for c in columns],
                             sf.col("_metadata.row_index").alias(_ROW))
        task = functools.partial(_encode_task, keys=sub_keys, schema=schema, salt=salt,
                                 today=today, strict=strict, source=label,
                                 file_schema=file_schema)
        group = f"linkmatch-{uuid.uuid4().hex[:12]}"
        encoded = frame.mapInArrow(task, _task_schema(file_schema)).persist()
        target, hidden = _hidden_beside(out)
        try:
            sc.setJobGroup(f"{group}-encode", "linkmatch encode: encode batches")
            with _poll(sc, f"{group}-encode", "encode", progress):
                report, rows_read = _reports(encoded, label)
            sc.setJobGroup(f"{group}-sort", "linkmatch encode: sort by pseudonym")
            data = encoded.where(sf.col(_KIND) == 0).drop(_KIND, _REPORT)
            with _poll(sc, f"{group}-sort", "sort", progress):
                data.repartitionByRange(partitions or max(sc.defaultParallelism, 1), "pid") \
                    .sortWithinPartitions("pid").write.parquet(hidden)
            manifest = _write_file(hidden, target, out, key, schema, salt, report, rows_read,
                                   started, file_schema, progress, signing_key)
        except (PySparkException, Py4JError) as exc:
            raise EngineError("the Spark job failed while encoding (a task failed on every "
                              "attempt or the cluster stopped the job); nothing was written. "
                              "Spark's logs say why (on a machine cleared for the data)") \
                from exc
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
            sc.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
            encoded.unpersist(blocking=False)
            _remove(hidden)
    return EncodeSummary(manifest=manifest, report=report)


# ------------------------------------------------------------------------------- driver side


@contextlib.contextmanager
def _poll(sc: Any, group: str, phase: str,
          progress: Callable[[str, int, int], None] | None) -> Iterator[None]:
    """Report a phase's Spark tasks done, once a second, while its jobs run."""
    if progress is None:
        yield
        return

    def step(stages: list[Any]) -> None:
        total = sum(s.numTasks for s in stages)
        if total:
            progress(phase, sum(s.numCompletedTasks for s in stages), total)

    with poll_stages(sc, group, step):
        yield


def _hidden_beside(out: str | os.PathLike[str]) -> tuple[str, str]:
    """(the output's location for pyarrow, a hidden sibling directory URI for Spark's parts)."""
    spark_uri, arrow_location = _locations(out)
    name = f".{spark_uri.rstrip('/').rsplit('/', 1)[-1]}.linkmatch-{uuid.uuid4().hex}"
    return arrow_location, f"{spark_uri.rstrip('/').rsplit('/', 1)[0]}/{name}"


def _remove(uri: str) -> None:
    """Remove the hidden parts directory (local or cluster storage), quietly."""
    if uri.startswith("file:"):
        shutil.rmtree(Path(uri.removeprefix("file:")), ignore_errors=True)
        return
    with contextlib.suppress(Exception):
        import pyarrow.fs as pafs

        fs, path = pafs.FileSystem.from_uri(uri)
        fs.delete_dir(path)


def _reports(encoded: Any, label: str) -> tuple[ValidationReport, int]:
    """The batches' reports merged in row order; the first invalid value in strict mode."""
    parts = [pickle.loads(row[_REPORT])  # noqa: S301 -- written by our own tasks
             for row in encoded.where(sf.col(_KIND) == 1).select(_REPORT).collect()]
    errors = [value for ok, value in parts if not ok]
    if errors:
        raise min(errors, key=lambda e: getattr(e, "row", None) or 0)
    report = ValidationReport()
    rows_read = 0
    # (first row, report, rows) per batch, merged in the file's row order
    for _, part, count in sorted((value for _, value in parts), key=lambda v: v[0]):
        report.merge(part)
        rows_read += count
    if rows_read == 0:
        raise InputDataError("has a header but no data rows", file=label)
    report.rows_read = rows_read
    return report, rows_read


def _write_file(parts_uri: str, target: str, out: str | os.PathLike[str], key: Key,
                schema: Schema, salt: bytes, report: ValidationReport, rows_read: int,
                started: float, file_schema: pa.Schema,
                progress: Callable[[str, int, int], None] | None = None,
                signing_key: SigningKey | None = None) -> dict[str, Any]:
    """Stream Spark's sorted parts into the one encoded file, as :func:`encode_file` writes it.

    Two passes over the parts, as the local engine's two passes over its buckets: the content
    digest and counts first (the manifest holds them), then the rows under the manifest, cut
    into the local engine's 64 pseudonym buckets so that row groups fall where its fall.
    """
    import pyarrow.dataset as ds

    dataset = ds.dataset(parts_uri.removeprefix("file:") if parts_uri.startswith("file:")
                         else parts_uri, format="parquet")
    files = sorted(dataset.files)

    def batches() -> Iterator[pa.Table]:
        for path in files:
            part = pq.ParquetFile(path, filesystem=dataset.filesystem, pre_buffer=False)
            for batch in part.iter_batches(batch_size=65_536):
                yield pa.Table.from_batches([batch]).select(file_schema.names).cast(file_schema)

    digest = ContentDigest()
    rows = persons = 0
    last: str | None = None
    for table in batches():
        pids = table.column("pid").to_numpy(zero_copy_only=False)
        if len(pids):
            if last is not None and pids[0] < last:
                raise EngineError("Spark returned the encoded rows out of order")
            persons += int(np.count_nonzero(pids[1:] != pids[:-1]) + (pids[0] != last))
            last = str(pids[-1])
        rows += table.num_rows
        digest.update(table)
    manifest = _manifest(key, schema, salt, report, rows, persons, started, digest.hexdigest())
    if signing_key is not None:  # signed on the driver: the signing key never reaches a task
        manifest = sign_manifest(manifest, signing_key)
    meta = {MANIFEST_KEY: json.dumps(manifest, sort_keys=True).encode()}
    with _output(out, target) as sink, \
            pq.ParquetWriter(sink, file_schema.with_metadata(meta), compression="zstd") as writer:
        bucket = -1
        pending: list[pa.Table] = []
        written = 0
        for table in batches():
            written += table.num_rows
            if progress is not None:
                progress("write", written, rows)
            pids = np.asarray(table.column("pid").to_pylist(), dtype=object)
            which = np.searchsorted(np.asarray(_BUCKET_BOUNDS, dtype=object), pids,
                                    side="right")
            cuts = np.flatnonzero(np.r_[True, which[1:] != which[:-1], True])
            for lo, hi in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
                if int(which[lo]) != bucket and pending:
                    writer.write_table(pa.concat_tables(pending).replace_schema_metadata(meta),
                                       row_group_size=ROW_GROUP_ROWS)
                    pending = []
                bucket = int(which[lo])
                pending.append(table.slice(lo, hi - lo))
        if pending:
            writer.write_table(pa.concat_tables(pending).replace_schema_metadata(meta),
                               row_group_size=ROW_GROUP_ROWS)
        if rows == 0:
            writer.write_table(file_schema.with_metadata(meta).empty_table())
    return manifest


@contextlib.contextmanager
def _output(out: str | os.PathLike[str], target: str) -> Iterator[Any]:
    """Where the encoded file is written: a local temporary file renamed into place, or a
    hidden object on cluster storage moved into place once complete."""
    if "://" not in os.fspath(out):
        with atomic_path(target) as tmp:
            yield str(tmp)
        return
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(target)
    parent, name = path.rsplit("/", 1) if "/" in path else ("", path)
    hidden = f"{parent}/.{name}.linkmatch-{uuid.uuid4().hex}" if parent else f".{name}.tmp"
    try:
        with fs.open_output_stream(hidden) as stream:
            yield stream
        fs.move(hidden, path)
    except BaseException:
        with contextlib.suppress(Exception):
            fs.delete_file(hidden)
        raise


# -------------------------------------------------------------------------------- task side


def _spark_type(arrow_type: pa.DataType) -> DataType:
    if pa.types.is_string(arrow_type):
        return StringType()
    if pa.types.is_fixed_size_binary(arrow_type) or pa.types.is_binary(arrow_type):
        return BinaryType()
    if pa.types.is_boolean(arrow_type):
        return BooleanType()
    if pa.types.is_int64(arrow_type):
        return LongType()
    if pa.types.is_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type):
        return ArrayType(LongType())
    raise TypeError(f"no Spark type for {arrow_type}")  # pragma: no cover - fixed schema


def _task_schema(file_schema: pa.Schema) -> StructType:
    """What a task returns: the encoded columns, plus the row kind and a batch's report."""
    fields = [StructField(f.name, _spark_type(f.type), nullable=True) for f in file_schema]
    return StructType([*fields, StructField(_KIND, ByteType(), nullable=False),
                       StructField(_REPORT, BinaryType(), nullable=True)])


def _arrow_for_spark(table: pa.Table) -> pa.Table:
    """The encoded table in the Arrow types Spark expects (no fixed sizes)."""
    cast = []
    for f in table.schema:
        if pa.types.is_fixed_size_binary(f.type):
            cast.append(pa.field(f.name, pa.binary()))
        elif pa.types.is_fixed_size_list(f.type) or pa.types.is_list(f.type):
            cast.append(pa.field(f.name, pa.list_(pa.int64())))
        else:
            cast.append(f)
    return table.cast(pa.schema(cast))


def _encode_task(batches: Iterable[pa.RecordBatch], *, keys: SubKeys, schema: Schema,
                 salt: bytes, today: dt.date, strict: bool, source: str,
                 file_schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """One Spark task: encode each batch, then send the batch's validation report.

    An unexpected error is re-raised without its message or chained exception (see the module
    docstring): Spark logs a failed task's traceback where personal values must not go.
    """
    try:
        yield from _encode_batches(batches, keys, schema, salt, today, strict, source,
                                   file_schema)
    except LinkmatchError:
        raise  # value-free by contract
    except Exception as exc:
        raise EngineError(f"encoding a batch failed with an unexpected {type(exc).__name__}; "
                          "the message is withheld (it may hold a value)") from None


def _encode_batches(batches: Iterable[pa.RecordBatch], sub_keys: SubKeys, schema: Schema,
                    salt: bytes, today: dt.date, strict: bool, source: str,
                    file_schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The body of :func:`_encode_task`."""
    spark_names = [*file_schema.names, _KIND, _REPORT]
    for record_batch in batches:
        if not record_batch.num_rows:
            continue
        table = pa.Table.from_batches([record_batch])
        numbers = table.column(_ROW).to_numpy().astype(np.int64) + 1
        frame = normalise_columns(table.drop_columns([_ROW]).to_pandas())
        frame.attrs[ROW_NUMBERS] = RowNumbers(numbers)
        try:
            enc = encode_frame(frame, sub_keys, schema=schema, source=source, strict=strict,
                               job_salt=salt, today=today, _digest=False)
        except LinkmatchError as exc:  # a property of the data: the same on every attempt
            payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
        else:
            rows = _arrow_for_spark(enc.table.replace_schema_metadata(None))
            n = rows.num_rows
            if n:
                yield from pa.Table.from_arrays(
                    [*rows.columns, pa.array(np.zeros(n, np.int8)), pa.nulls(n, pa.binary())],
                    names=spark_names).combine_chunks().to_batches()
            enc.report.rows_read = len(frame)
            payload = pickle.dumps((True, (int(numbers.min()), enc.report, len(frame))),
                                   protocol=pickle.HIGHEST_PROTOCOL)
        report_row = [pa.nulls(1, t) for t in _arrow_for_spark(file_schema.empty_table())
                      .schema.types]
        yield pa.RecordBatch.from_arrays(
            [*report_row, pa.array([1], pa.int8()), pa.array([payload], pa.binary())],
            names=spark_names)

