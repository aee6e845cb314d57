"""Encoding on Spark: the local engine's encoded file from a Parquet table, with sub-keys only
in the tasks, the local engine's errors and reports, and nothing secret in what Spark keeps."""

from __future__ import annotations

import datetime as dt
import json
import pickle
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from spark_data import SPARK_KEY, event_log_sizes, new_events

from linkmatch.cli import main
from linkmatch.encode import encode_file
from linkmatch.engines.spark_encode import encode_file as spark_encode_file
from linkmatch.engines.spark_encode import encoding_labels
from linkmatch.errors import ConfigError, InputDataError
from linkmatch.io import read_encoded
from linkmatch.pseudonymise.keys import SubKeys, generate_key_file, load_key
from linkmatch.schema import Schema
from linkmatch.synth import generate

SALT = bytes(range(16))
TODAY = dt.date(2026, 11, 29)


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,500 generated asylum records as a Parquet table, with a few invalid values."""
    frame = generate(seed=9, n_left=2500, n_right=200).left
    frame.loc[7, "date_of_birth"] = "31.02.1990"
    frame.loc[1200, "date_of_birth"] = "31.04.1985"
    path = tmp_path_factory.mktemp("spark-encode") / "people.parquet"
    frame.to_parquet(path, index=False, row_group_size=700)
    return path


@pytest.mark.parametrize("partitions", [1, 3])
def test_spark_writes_the_local_engines_encoded_file(spark: SparkSession, people: Path,
                                                     tmp_path: Path, partitions: int) -> None:
    local = encode_file(people, tmp_path / "local.lmenc", SPARK_KEY, job_salt=SALT,
                        today=TODAY)
    calls: list[tuple[str, int, int]] = []
    remote = spark_encode_file(people, tmp_path / "spark.lmenc", SPARK_KEY, spark=spark,
                               job_salt=SALT, today=TODAY, partitions=partitions,
                               progress=lambda *call: calls.append(call))
    assert calls[-1] == ("write", 2500, 2500)  # the driver's pass reports rows written
    lm, lt = read_encoded(tmp_path / "local.lmenc")
    sm, st = read_encoded(tmp_path / "spark.lmenc")
    assert st.equals(lt)
    assert lt.num_rows == 2500
    for field in ("content_sha256", "counts", "schema", "key_fingerprint", "job_salt",
                  "format"):
        assert sm[field] == lm[field], field
    assert remote.report.to_dict() == local.report.to_dict()
    assert remote.report.total_issues >= 2  # the invalid values, named by row as locally
    rows = {i.row for i in remote.report.issues}
    assert {8, 1201} <= rows
    assert pq.ParquetFile(tmp_path / "spark.lmenc").metadata.num_row_groups == \
        pq.ParquetFile(tmp_path / "local.lmenc").metadata.num_row_groups
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local.lmenc", "spark.lmenc"]


def test_tasks_get_sub_keys_only(spark: SparkSession, people: Path) -> None:
    labels = encoding_labels(Schema())
    assert "pseudonym" in labels
    assert "bloom/name/text" in labels
    assert "manifest-mac" not in labels  # the driver MACs the manifest; tasks cannot
    shipped = pickle.dumps(SubKeys(SPARK_KEY, labels))
    assert bytes(SPARK_KEY._secret) not in shipped  # the master secret never travels
    with pytest.raises(TypeError):
        pickle.dumps(SPARK_KEY)
    salted = encoding_labels(Schema(name_salt="birth_year"))
    assert salted - labels == {"harden/name/salt"}


def test_strict_mode_stops_at_the_first_invalid_value_as_locally(
        spark: SparkSession, people: Path, tmp_path: Path) -> None:
    with pytest.raises(InputDataError) as local:
        encode_file(people, tmp_path / "l.lmenc", SPARK_KEY, strict=True, today=TODAY)
    with pytest.raises(InputDataError) as remote:
        spark_encode_file(people, tmp_path / "s.lmenc", SPARK_KEY, spark=spark, strict=True,
                          today=TODAY)
    assert str(remote.value) == str(local.value)
    assert remote.value.row == 8
    assert not list(tmp_path.iterdir())


def test_cli_encodes_on_spark_and_refuses_what_it_cannot(
        spark: SparkSession, event_log_dir: Path, people: Path, tmp_path: Path) -> None:
    key_file = tmp_path / "k.key"
    generate_key_file(key_file)
    log = ["--audit-log", str(tmp_path / "audit.jsonl")]
    before = event_log_sizes(event_log_dir)
    assert main([*log, "encode", people.resolve().as_uri(), "--key-file", str(key_file),
                 "--out", str(tmp_path / "a.lmenc"), "--engine", "spark"]) == 0
    manifest, table = read_encoded(tmp_path / "a.lmenc")
    assert table.num_rows == 2500
    assert manifest["key_fingerprint"] == load_key(key_file).fingerprint
    run = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert run["parameters"]["engine"] == "spark"
    assert run["outputs"][0]["sha256"]
    assert main([*log, "encode", str(people), "--key-file", str(key_file), "--out",
                 str(tmp_path / "b.lmenc"), "--engine", "spark", "--decoys", "0.1"]) == 2
    csv = tmp_path / "people.csv"
    pd.read_parquet(people).to_csv(csv, index=False)
    assert main([*log, "encode", str(csv), "--key-file", str(key_file), "--out",
                 str(tmp_path / "c.lmenc"), "--engine", "spark"]) == 2
    assert main([*log, "encode", people.resolve().as_uri(), "--key-file", str(key_file),
                 "--out", str(tmp_path / "d.lmenc")]) == 2
    assert not any((tmp_path / n).exists() for n in ("b.lmenc", "c.lmenc", "d.lmenc"))
    # nothing secret or personal in what Spark recorded of the run
    events = new_events(event_log_dir, before, "linkmatch encode: sort by pseudonym")
    assert "linkmatch encode: sort by pseudonym" in events
    secret = load_key(key_file)._secret
    assert bytes(secret).hex() not in events.lower()
    frame = pd.read_parquet(people)
    names = {v for v in frame["family_name"] if isinstance(v, str) and len(v) >= 6}
    assert not [n for n in names if f'"{n}"' in events or f" {n} " in events]


def test_csv_sources_are_refused_before_spark_runs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Parquet"):
        spark_encode_file(tmp_path / "people.csv", tmp_path / "x.lmenc", SPARK_KEY)


def test_sub_keys_are_not_a_spark_broadcast(spark: SparkSession, people: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """PySpark writes broadcast values, pickled, to local files: the sub-keys travel in the
    task code instead, so encoding runs with broadcasting made impossible."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("encoding must not broadcast its sub-keys")

    monkeypatch.setattr(type(spark.sparkContext), "broadcast", refuse)
    summary = spark_encode_file(people, tmp_path / "s.lmenc", SPARK_KEY, spark=spark,
                                today=TODAY)
    assert summary.manifest["counts"]["rows_read"] == 2500


def test_unexpected_task_error_carries_no_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spark logs a failed task's traceback (executor log, driver log, event log): an
    unexpected error leaves the task with its type only, no message, no chained exception."""
    import traceback

    import pyarrow as pa

    from linkmatch.engines import spark_encode
    from linkmatch.errors import EngineError

    frame = generate(seed=3, n_left=20, n_right=5).left
    value = str(frame.loc[0, "family_name"])

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError(f"invalid literal for int() with base 10: {value!r}")

    monkeypatch.setattr(spark_encode, "encode_frame", broken)
    batch = pa.RecordBatch.from_pandas(
        frame.astype(str).assign(**{spark_encode._ROW: range(len(frame))}), preserve_index=False)
    with pytest.raises(EngineError) as info:
        list(spark_encode._encode_task(
            iter([batch]), keys=SubKeys(SPARK_KEY, encoding_labels(Schema())),
            schema=Schema(), salt=SALT, today=TODAY, strict=False, source="people.parquet",
            file_schema=pa.schema([])))
    shown = "".join(traceback.format_exception(info.value))
    assert "ValueError" in str(info.value)
    assert value not in shown
    assert "invalid literal" not in shown
