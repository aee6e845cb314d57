"""``linkmatch match/link --engine spark`` on the command line: byte-identical candidates to the
local engine, no key for matching, nothing secret or personal in what Spark records, and no
output that looks complete from a job that could not finish."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from spark_data import SPARK_KEY, EncodedFiles, event_log_sizes, new_events

from linkmatch.cli import build_parser, main
from linkmatch.engines import spark as spark_engine
from linkmatch.pseudonymise.keys import generate_key_file, load_key
from linkmatch.synth import generate, write


def _outputs(folder: Path) -> list[str]:
    """Files in ``folder`` a reader could take for a result (temporary parts included)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".work"))


def test_match_on_spark_is_byte_identical_and_needs_no_key(
        spark: SparkSession, encoded_files: EncodedFiles, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINKMATCH_KEY_FILE", raising=False)  # the linkage unit holds no key
    files = [str(encoded_files.left_path), str(encoded_files.right_path)]
    audit = ["--audit-log", str(tmp_path / "audit.jsonl")]
    local, on_spark = tmp_path / "local.csv", tmp_path / "spark.csv"
    assert main([*audit, "match", *files, "--out", str(local), "--workers", "1"]) == 0
    assert main([*audit, "match", *files, "--out", str(on_spark), "--engine", "spark",
                 "--chunk-rows", "600"]) == 0
    assert on_spark.read_bytes() == local.read_bytes()
    assert len(local.read_text().splitlines()) > 20
    manifest = json.loads((tmp_path / "spark.csv.manifest.json").read_text())
    assert manifest["engine"] == "spark"
    assert manifest["batches"] == 5
    # `match` has no way to take a key, so no key can reach Spark through it
    parsed = build_parser().parse_args(["match", *files, "--out", "x.csv", "--engine", "spark"])
    assert not hasattr(parsed, "key_file")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["match", *files, "--out", "x.csv", "--key-file", "k.key"])
    runs = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert runs[-1]["parameters"]["engine"] == "spark"
    assert runs[-1]["key_fingerprint"] == SPARK_KEY.fingerprint  # of the files, not a key held


def test_link_on_spark_is_byte_identical_and_shows_spark_nothing_personal(
        spark: SparkSession, event_log_dir: Path, tmp_path: Path) -> None:
    data = generate(seed=11, n_left=1500, n_right=200)
    inputs = write(data, tmp_path / "in")
    key_file = tmp_path / "linkage.key"
    generate_key_file(key_file)
    common = ["link", str(inputs["left"]), str(inputs["right"]), "--key-file", str(key_file)]
    local, on_spark = tmp_path / "local.csv", tmp_path / "spark.csv"
    assert main(["-q", *common, "--out", str(local), "--workers", "1"]) == 0
    before = event_log_sizes(event_log_dir)
    assert main(["-q", *common, "--out", str(on_spark), "--engine", "spark",
                 "--chunk-rows", "400"]) == 0
    assert on_spark.read_bytes() == local.read_bytes()
    assert len(local.read_text().splitlines()) > 20
    # what Spark recorded of the run (jobs, stages, plans, task names: the Spark UI's source);
    # its listener writes asynchronously, so wait for the last pass to be there
    events = new_events(event_log_dir, before, "linkmatch match: score")
    assert "linkmatch match: score" in events  # the log does hold this run
    secret = load_key(key_file)._secret  # the test looks for the key itself
    assert bytes(secret).hex() not in events.lower()
    names = {v for v in data.left["family_name"].tolist() + data.right["family_name"].tolist()
             if isinstance(v, str) and len(v) >= 6}
    assert names
    assert not [name for name in names if f'"{name}"' in events or f" {name} " in events]
    assert not any(str(rid) in events for rid in data.left["record_id"].head(50))
    docs = [d for d in data.left["document_number"].tolist() if isinstance(d, str) and d]
    assert docs
    assert not any(doc in events for doc in docs)


def test_a_job_that_cannot_finish_leaves_no_output_and_resumes(
        spark: SparkSession, encoded_files: EncodedFiles, tmp_path: Path) -> None:
    files = [str(encoded_files.left_path), str(encoded_files.right_path)]
    out = tmp_path / "out" / "candidates.csv"
    out.parent.mkdir()
    args = ["--audit-log", str(tmp_path / "audit.jsonl"), "match", *files, "--out", str(out),
            "--engine", "spark", "--chunk-rows", "1000"]
    spark.sparkContext.setLocalProperty(spark_engine.FAULT_PROPERTY, "score")
    try:
        assert main(args) == 1  # every attempt of a score task fails
    finally:
        spark.sparkContext.setLocalProperty(spark_engine.FAULT_PROPERTY, "")
    assert _outputs(out.parent) == []  # no candidates, no manifest, no half-written file
    assert not (tmp_path / "audit.jsonl").exists()  # and no claim that the run happened
    assert (out.parent / "candidates.csv.work" / "model.json").exists()  # the fitted model
    assert main([*args, "--resume"]) == 0
    local = tmp_path / "local.csv"
    assert main(["--audit-log", str(tmp_path / "audit.jsonl"), "match", *files,
                 "--out", str(local), "--workers", "1"]) == 0
    assert out.read_bytes() == local.read_bytes()
    assert _outputs(out.parent) == ["candidates.csv", "candidates.csv.manifest.json"]


def test_without_pyspark_the_cli_says_how_to_install_it(
        encoded_files: EncodedFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now fails
    monkeypatch.delitem(sys.modules, "linkmatch.engines.spark")
    out = tmp_path / "c.csv"
    code = main(["match", str(encoded_files.left_path), str(encoded_files.right_path),
                 "--out", str(out), "--engine", "spark"])
    assert code == 2
    assert "pip install 'linkmatch[spark]'" in capsys.readouterr().err
    assert not out.exists()


def test_spark_master_without_the_spark_engine_is_a_usage_error(
        encoded_files: EncodedFiles, tmp_path: Path) -> None:
    assert main(["match", str(encoded_files.left_path), str(encoded_files.right_path),
                 "--out", str(tmp_path / "c.csv"), "--spark-master", "local[2]"]) == 2


def test_match_with_cluster_uris_writes_a_dataset_by_partition_atomically(
        spark: SparkSession, encoded_files: EncodedFiles, tmp_path: Path) -> None:
    """URIs in and out (file:// stands for hdfs:// or s3a://), on the co-group plan: the
    dataset holds the local engine's candidates in order, with the manifest, published whole;
    the audit line names the URIs by content digest; an existing dataset is not overwritten."""
    import hashlib

    import pandas as pd

    audit = ["--audit-log", str(tmp_path / "audit.jsonl")]
    local = tmp_path / "local.csv"
    assert main([*audit, "match", str(encoded_files.left_path), str(encoded_files.right_path),
                 "--out", str(local), "--workers", "1"]) == 0
    uris = [encoded_files.left_path.resolve().as_uri(),
            encoded_files.right_path.resolve().as_uri()]
    target = tmp_path / "cluster" / "candidates.parquet"
    target.parent.mkdir()
    args = [*audit, "match", *uris, "--out", target.as_uri(), "--engine", "spark",
            "--spark-plan", "cogroup", "--spark-buckets", "5", "--chunk-rows", "1000"]
    assert main(args) == 0
    assert sorted(p.name for p in target.parent.iterdir()) == ["candidates.parquet"]
    parts = sorted(p.name for p in target.iterdir() if p.name.startswith("part-"))
    assert parts
    got = pd.read_parquet(target)
    want = pd.read_csv(local, dtype={"left_id": str, "right_id": str}, keep_default_na=False)
    assert got.to_csv(index=False, lineterminator="\n").encode() == local.read_bytes()
    assert len(got) == len(want) > 20
    manifest = json.loads((target / spark_engine.MANIFEST_NAME).read_text())
    assert manifest["spark"]["plan"] == "cogroup"
    assert manifest["spark"]["buckets"] == 5
    assert (target / "_SUCCESS").exists()
    run = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert run["outputs"] == [{"file": target.as_uri(), "content_sha256":
                               hashlib.sha256(local.read_bytes()).hexdigest()}]
    assert run["inputs"][0]["content_sha256"] == encoded_files.left.manifest["content_sha256"]
    assert "out" not in run["parameters"]
    # a second run refuses to overwrite, and leaves nothing behind
    assert main(args) == 2
    assert sorted(p.name for p in target.parent.iterdir()) == ["candidates.parquet"]


def test_cluster_uris_need_the_spark_engine(encoded_files: EncodedFiles,
                                            tmp_path: Path) -> None:
    out = tmp_path / "c.parquet"
    assert main(["match", encoded_files.left_path.resolve().as_uri(),
                 str(encoded_files.right_path), "--out", str(out)]) == 2
    assert main(["match", str(encoded_files.left_path), str(encoded_files.right_path),
                 "--out", out.as_uri(), "--spark-plan", "cogroup"]) == 2
    assert not out.exists()
