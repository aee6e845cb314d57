"""Robustness: every kind of bad input gets a clear answer, nothing leaks, crashes leave no
half-written output, tampered or mismatched encodings are refused."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import linkmatch
from linkmatch.cli import main
from linkmatch.pseudonymise.keys import Key, generate_key_file
from linkmatch.synth import SynthData

GOOD_HEADER = "record_id,given_names,family_name,date_of_birth,sex,nationality\n"
SECRET_VALUES = ("Zubayda", "Qasimova", "1987-03-14", "R-77-SECRET")

# name → (file bytes, expected exit code without --strict, text expected in the log,
#          rows encoded)
ROW = "1,Zubayda,Qasimova,1987-03-14,F,AFG\n"


def _csv(*rows: str, header: str = GOOD_HEADER) -> bytes:
    return (header + "".join(rows)).encode()


CSV_CASES: dict[str, tuple[bytes, int, str, int]] = {
    "bom": (_csv(ROW, header="\ufeff" + GOOD_HEADER), 0, "encoded 1 of 1 rows", 1),
    "crlf": (_csv(ROW).replace(b"\n", b"\r\n"), 0, "encoded 1 of 1 rows", 1),
    "quoted": (_csv('1,"Zubayda, Amina","Qasimova\nQ",1987-03-14,F,AFG\n'), 0,
               "encoded 1 of 1 rows", 1),
    "non_utf8": (GOOD_HEADER.encode() + "1,Zubayda,Qas\u00efmova,1987-03-14,F,AFG\n"
                 .encode("latin-1"), 1, "not valid UTF-8", 0),
    "nul": (GOOD_HEADER.encode() + b"1,Zub\x00ayda,Qasimova,1987-03-14,F,AFG\n", 1,
            "NUL byte", 0),
    "no_record_id": (b"given_names,family_name\nZubayda,Qasimova\n", 1, "no 'record_id'", 0),
    "dup_header": (b"record_id,given_names,given_names\n1,Zubayda,Qasimova\n", 1,
                   "duplicated header", 0),
    "empty": (b"", 1, "is empty", 0),
    "header_only": (_csv(), 1, "no data rows", 0),
    "huge_value": (GOOD_HEADER.encode() + b"1," + b"Zubayda" * 150_000
                   + b",Qasimova,1987-03-14,F,AFG\n", 0, "longer than 1000 characters", 1),
    "control_rtl_emoji": (_csv("1,\u200fZubayda\u0007 \U0001F600,"
                               "Qasimova \u0642\u0627\u0633\u0645,1987-03-14,F,AFG\n"), 0,
                          "encoded 1 of 1 rows", 1),
    "impossible_dates": (_csv("1,Zubayda,Qasimova,2023-02-30,F,AFG\n",
                              "2,Zubayda,Qasimova,31/31/1990,F,AFG\n",
                              "3,Zubayda,Qasimova,2999-01-01,F,AFG\n",
                              "4,Zubayda,Qasimova,-1987,F,AFG\n",
                              "5,Zubayda,Qasimova,1066-10-14,F,AFG\n"), 0,
                         "5 invalid value(s)", 5),
    "codes_outside_sets": (_csv("1,Zubayda,Qasimova,1987-03-14,Q,Afghanistan\n"), 0,
                           "2 invalid value(s)", 1),
    "duplicates": (_csv(ROW, ROW, ROW), 0, "encoded 3 of 3 rows (1 persons)", 3),
    "wrong_width": (_csv("1,Zubayda,Qasimova,1987-03-14,F,AFG,EXTRA\n",
                         "2,Zubayda,Qasimova,1987-03-14,F,AFG\n"), 0, "1 row(s) rejected", 1),
    "unbalanced_quotes": (_csv('1,"Zubayda,Qasimova,1987-03-14,F,AFG\n'), 1,
                          "not well-formed CSV", 0),
    "empty_record_id": (_csv(",Zubayda,Qasimova,1987-03-14,F,AFG\n",
                             "2,Zubayda,Qasimova,1987-03-14,F,AFG\n"), 0,
                        "1 row(s) rejected", 1),
}


@pytest.fixture(scope="module")
def key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "linkage.key"
    generate_key_file(path)
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _assert_no_secrets(text: str, key_path: Path) -> None:
    for value in SECRET_VALUES:
        assert value not in text
    assert key_path.read_text().splitlines()[-1] not in text
    assert "Traceback" not in text


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_every_bad_csv_gets_a_clear_answer(case: str, tmp_path: Path, key_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    content, expected_code, expected_text, rows_encoded = CSV_CASES[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(content)
    out = tmp_path / "out.lmenc"
    code, log = _run(capsys, "encode", path, "--key-file", key_path, "--out", out,
                     "--rejects", tmp_path / "rejects.csv")
    assert code == expected_code, log
    assert expected_text in log
    _assert_no_secrets(log, key_path)
    if code == 0:
        assert pq.read_metadata(out).num_rows == rows_encoded
        rejects = tmp_path / "rejects.csv"
        if rejects.exists():
            _assert_no_secrets(rejects.read_text(), key_path)
        strict_code, strict_log = _run(capsys, "encode", path, "--key-file", key_path,
                                       "--out", tmp_path / "strict.lmenc", "--strict")
        if "invalid value" in log or "rejected" in log:
            assert strict_code == 1
            assert "row " in strict_log
        else:
            assert strict_code == 0
        _assert_no_secrets(strict_log, key_path)
    else:
        assert not out.exists()


PARQUET_CASES: dict[str, tuple[pa.Table | bytes, int, str]] = {
    "typed_columns": (pa.table({"record_id": [1, 2], "given_names": ["Zubayda", None],
                                "date_of_birth": [19870314, None], "sex": ["F", None]}), 0,
                      "encoded 2 of 2 rows"),
    "no_record_id": (pa.table({"given_names": ["Zubayda"]}), 1, "no 'record_id'"),
    "no_rows": (pa.table({"record_id": pa.array([], type=pa.string())}), 1, "no data rows"),
    "damaged": (b"PAR1 this is not parquet", 1, "cannot be read as Parquet"),
    "nested_list": (pa.table({"record_id": ["1"], "given_names": [["Zubayda", "Omar"]]}), 1,
                    "column 'given_names': holds nested"),
    "nested_struct": (pa.table({"record_id": ["1"], "family_name": [{"a": "Qasimova"}]}), 1,
                      "column 'family_name': holds nested"),
    "nested_map": (pa.table({"record_id": ["1"], "date_of_birth": pa.array(
        [[("d", "1987")]], type=pa.map_(pa.string(), pa.string()))}), 1,
                   "column 'date_of_birth': holds nested"),
}


@pytest.mark.parametrize("case", sorted(PARQUET_CASES))
def test_every_bad_parquet_gets_a_clear_answer(case: str, tmp_path: Path, key_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    content, expected_code, expected_text = PARQUET_CASES[case]
    path = tmp_path / f"{case}.parquet"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        pq.write_table(content, path)
    code, log = _run(capsys, "encode", path, "--key-file", key_path, "--out",
                     tmp_path / "out.lmenc")
    assert code == expected_code, log
    assert expected_text in log
    _assert_no_secrets(log, key_path)


def _encoded_pair(tmp_path: Path, key_path: Path,
                  capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, Path]:
    left = tmp_path / "left.csv"
    left.write_text(GOOD_HEADER + "1,Zubayda,Qasimova,1987-03-14,F,AFG\n"
                    "2,Omar,Haddad,1990-01-02,M,SYR\n")
    right = tmp_path / "right.csv"
    right.write_text(GOOD_HEADER + "R-77-SECRET,Zubaida,Kasimova,1987-03-14,F,AFG\n")
    for src, dst in ((left, "A.lmenc"), (right, "B.lmenc")):
        code, log = _run(capsys, "encode", src, "--key-file", key_path, "--out",
                         tmp_path / dst)
        assert code == 0, log
    return tmp_path / "A.lmenc", tmp_path / "B.lmenc", left


def test_tampered_content_refused(tmp_path: Path, key_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    a, b, _ = _encoded_pair(tmp_path, key_path, capsys)
    table = pq.read_table(a)
    dob = table.column("dob_full").to_pylist()
    dob[0] = dob[0] + 1 if dob[0] else 12345
    pq.write_table(table.set_column(table.column_names.index("dob_full"), "dob_full",
                                    pa.array(dob, type=pa.int64())), a)
    code, log = _run(capsys, "match", a, b, "--out", tmp_path / "c.csv")
    assert code == 1
    assert "content does not match its manifest" in log
    assert not (tmp_path / "c.csv").exists()


def test_tampered_manifest_refused_by_holder(tmp_path: Path, key_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    a, b, left = _encoded_pair(tmp_path, key_path, capsys)
    code, log = _run(capsys, "match", a, b, "--out", tmp_path / "c.csv", "--threshold", "0")
    assert code == 0, log
    table = pq.read_table(a)
    meta = dict(table.schema.metadata)
    manifest = json.loads(meta[b"linkmatch.manifest"])
    manifest["counts"]["rows_read"] += 1000  # an edit the content digest does not cover
    meta[b"linkmatch.manifest"] = json.dumps(manifest).encode()
    pq.write_table(table.replace_schema_metadata(meta), a)
    code, log = _run(capsys, "reveal", tmp_path / "c.csv", "--side", "left", "--encoded", a,
                     "--input", left, "--key-file", key_path, "--out", tmp_path / "r.csv")
    assert code == 2
    assert "manifest was changed" in log
    assert not (tmp_path / "r.csv").exists()


def test_other_format_version_refused(tmp_path: Path, key_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    a, b, _ = _encoded_pair(tmp_path, key_path, capsys)
    table = pq.read_table(a)
    meta = dict(table.schema.metadata)
    manifest = json.loads(meta[b"linkmatch.manifest"])
    manifest["format"] = "linkmatch-encoded/9"
    meta[b"linkmatch.manifest"] = json.dumps(manifest).encode()
    pq.write_table(table.replace_schema_metadata(meta), a)
    code, log = _run(capsys, "match", a, b, "--out", tmp_path / "c.csv")
    assert code == 1
    assert "linkmatch-encoded/9" in log


def test_no_value_or_key_in_any_output(tmp_path: Path, key_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Every command's messages, manifests and rejects are free of values and of the key;
    candidates name records only by pseudonym (match) or by the holder's own ids (reveal)."""
    a, b, left = _encoded_pair(tmp_path, key_path, capsys)
    logs = []
    for argv in (
        ("match", a, b, "--out", tmp_path / "c.csv", "--threshold", "0"),
        ("reveal", tmp_path / "c.csv", "--side", "left", "--encoded", a, "--input", left,
         "--key-file", key_path, "--out", tmp_path / "r.csv"),
        ("link", left, tmp_path / "right.csv", "--key-file", key_path, "--out",
         tmp_path / "l.csv"),
        ("evaluate", tmp_path / "l.csv", "--truth", tmp_path / "l.csv"),
    ):
        code, log = _run(capsys, *argv)
        assert code == 0, log
        logs.append(log)
    texts = logs + [p.read_text(errors="replace") for p in tmp_path.glob("*.json")]
    texts.append(json.dumps({k.decode(): v.decode() for k, v in
                             pq.read_table(a).schema.metadata.items()}))
    texts.append((tmp_path / "c.csv").read_text())
    for text in texts:
        _assert_no_secrets(text, key_path)
    for name in ("r.csv", "l.csv"):  # revealed outputs hold ids, never names or dates
        text = (tmp_path / name).read_text()
        for value in SECRET_VALUES[:3]:
            assert value not in text


def test_killed_link_leaves_no_partial_output_and_resumes(tmp_path: Path,
                                                          key_path: Path) -> None:
    """SIGKILL at random moments (12 times): the output is absent or complete, never
    truncated; ``--resume`` then finishes with exactly the uninterrupted result.

    (12, not the 20 of before: each attempt starts two processes, and the 20 took two of the
    suite's seven minutes on a slow day.)"""
    subprocess.run([sys.executable, "-m", "linkmatch", "-q", "synth", "--out", tmp_path / "d",
                    "--left", "2000", "--right", "200", "--seed", "5"], check=True)
    env = {k: v for k, v in os.environ.items() if k != "LINKMATCH_KEY_FILE"}
    argv = [sys.executable, "-m", "linkmatch", "-q", "link", str(tmp_path / "d/left.csv"),
            str(tmp_path / "d/right.csv"), "--key-file", str(key_path)]
    reference = tmp_path / "reference.csv"
    subprocess.run([*argv, "--out", str(reference)], check=True, env=env)
    expected = pd.read_csv(reference, dtype=str)
    assert not (tmp_path / "reference.csv.work").exists()  # checkpoints removed on success
    rng = random.Random(11)
    complete = resumed = 0
    for attempt in range(12):
        out = tmp_path / f"out{attempt}.csv"
        proc = subprocess.Popen([*argv, "--out", str(out)], env=env)
        time.sleep(rng.uniform(0.3, 3.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for part in tmp_path.glob(f".out{attempt}.csv*"):
            assert part.name.endswith(".part")  # temp files only, never the final name
        if out.exists():
            complete += 1
        else:
            subprocess.run([*argv, "--out", str(out), "--resume"], check=True, env=env)
            resumed += 1
        pd.testing.assert_frame_equal(pd.read_csv(out, dtype=str), expected)
    assert resumed >= 3  # most kills land mid-run (start-up alone takes over a second)
    assert complete + resumed == 12


def test_resume_reuses_finished_chunks(small_data: SynthData, key: Key,
                                       tmp_path: Path) -> None:
    work = tmp_path / "work"
    first = linkmatch.link(small_data.left, small_data.right, key=key, checkpoint=work,
                           chunk_rows=400)
    parts = sorted((work / "match").glob("part-*.parquet"))
    assert len(parts) >= 5
    kept = {p: p.stat().st_mtime_ns for p in parts[::2]}
    for p in parts[1::2]:
        p.unlink()  # as if the run had been killed before these chunks
    again = linkmatch.link(small_data.left, small_data.right, key=key, checkpoint=work,
                           chunk_rows=400)
    pd.testing.assert_frame_equal(first, again)
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())  # reused, not redone
    other = linkmatch.link(small_data.left, small_data.right, key=key, checkpoint=work,
                           chunk_rows=400, threshold=0.9)  # other options: not reused
    assert len(other) < len(first)


def test_audit_trail_one_line_per_run_without_values(tmp_path: Path, key_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from linkmatch.io import file_sha256

    log = tmp_path / "audit.jsonl"
    a, b, left = _encoded_pair(tmp_path, key_path, capsys)  # two encodes, default log location
    default_log = tmp_path / "linkmatch-audit.jsonl"
    assert [json.loads(x)["operation"] for x in default_log.read_text().splitlines()] == \
        ["encode", "encode"]
    for argv in (
        ("--audit-log", log, "match", a, b, "--out", tmp_path / "c.csv", "--threshold", "0"),
        ("--audit-log", log, "reveal", tmp_path / "c.csv", "--side", "left", "--encoded", a,
         "--input", left, "--key-file", key_path, "--out", tmp_path / "r.csv"),
        ("--audit-log", log, "link", left, tmp_path / "right.csv", "--key-file", key_path,
         "--out", tmp_path / "l.csv"),
    ):
        code, text = _run(capsys, *argv)
        assert code == 0, text
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [x["operation"] for x in lines] == ["match", "reveal", "link"]
    assert lines[0]["outputs"][0]["sha256"] == file_sha256(tmp_path / "c.csv")
    assert lines[1]["inputs"][2]["sha256"] == file_sha256(left)
    assert all(x["key_fingerprint"] for x in lines)
    _assert_no_secrets(log.read_text() + default_log.read_text(), key_path)


@pytest.mark.slow
def test_killed_encode_leaves_bucket_folder_removed_by_next_run(tmp_path: Path,
                                                                key_path: Path) -> None:
    """SIGKILL while encode holds its bucket folder (pseudonymous rows of the whole input):
    the next run writing the same output removes it."""
    subprocess.run([sys.executable, "-m", "linkmatch", "-q", "synth", "--out", tmp_path / "d",
                    "--left", "40000", "--right", "10", "--seed", "6"], check=True)
    env = {k: v for k, v in os.environ.items() if k != "LINKMATCH_KEY_FILE"}
    out = tmp_path / "A.lmenc"
    argv = [sys.executable, "-m", "linkmatch", "-q", "encode", str(tmp_path / "d/left.csv"),
            "--key-file", str(key_path), "--out", str(out), "--chunk-rows", "5000",
            "--workers", "1"]
    proc = subprocess.Popen(argv, env=env)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".A.lmenc.*.buckets/*.arrow")):
        assert proc.poll() is None, "encode ended before its bucket folder was seen"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left_behind = list(tmp_path.glob(".A.lmenc.*.buckets"))
    assert len(left_behind) == 1
    assert left_behind[0].name.startswith(f".A.lmenc.{proc.pid}-")
    assert not out.exists()
    subprocess.run([*argv[:-4], "--chunk-rows", "50000"], check=True, env=env)
    assert out.exists()
    assert not list(tmp_path.glob(".A.lmenc.*.buckets"))
