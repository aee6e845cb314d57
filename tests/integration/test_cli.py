"""End to end through the command line: synth → keygen → encode → match → reveal, link, evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ENV = {k: v for k, v in os.environ.items() if k != "LINKMATCH_KEY_FILE"}


def run(*args: str | Path, env: dict[str, str] | None = None,
        ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "linkmatch", *map(str, args)],
        capture_output=True, text=True, env=env or ENV, timeout=300, check=False,
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    run("synth", "--out", d / "data", "--seed", "3", "--left", "2000", "--right", "200")
    run("keygen", "--out", d / "linkage.key")
    return d


def test_three_party_flow_equals_link(workdir: Path) -> None:
    d, key = workdir, workdir / "linkage.key"
    run("encode", d / "data/left.csv", "--key-file", key, "--out", d / "A.lmenc")
    run("encode", d / "data/right.csv", "--key-file", key, "--out", d / "B.lmenc")
    run("match", d / "A.lmenc", d / "B.lmenc", "--out", d / "cand.csv")
    # the linkage unit's candidates are pseudonymous
    cand = pd.read_csv(d / "cand.csv", dtype=str)
    left_ids = set(pd.read_csv(d / "data/left.csv", dtype=str)["record_id"])
    assert len(cand) > 0
    assert not set(cand["left_id"]) & left_ids
    run("reveal", d / "cand.csv", "--side", "left", "--encoded", d / "A.lmenc",
        "--input", d / "data/left.csv", "--key-file", key, "--out", d / "rev_left.csv")
    run("reveal", d / "rev_left.csv", "--side", "right", "--encoded", d / "B.lmenc",
        "--input", d / "data/right.csv", "--key-file", key, "--out", d / "rev_both.csv")
    both = pd.read_csv(d / "rev_both.csv", dtype=str)
    assert set(both["left_id"]) <= left_ids
    run("link", d / "data/left.csv", d / "data/right.csv", "--key-file", key,
        "--out", d / "linked.csv")
    linked = pd.read_csv(d / "linked.csv", dtype=str)
    cols = ["left_id", "right_id", "score"]
    assert both[cols].sort_values(cols).values.tolist() == \
        linked[cols].sort_values(cols).values.tolist()
    manifest = json.loads((d / "linked.csv.manifest.json").read_text())
    assert manifest["counts"]["candidates"] == len(linked)
    assert key.read_text().splitlines()[-1] not in (d / "linked.csv.manifest.json").read_text()


def test_evaluate_reports_quality(workdir: Path) -> None:
    d = workdir
    key = d / "linkage.key"
    run("link", d / "data/left.csv", d / "data/right.csv", "--key-file", key,
        "--out", d / "all.csv", "--threshold", "0")
    proc = run("evaluate", d / "all.csv", "--truth", d / "data/truth.csv", "--threshold", "0.5",
               "--json", d / "ev.json", "--plots", d / "plots")
    ev = json.loads((d / "ev.json").read_text())
    # regression guard on a small, hard sample (measured 0.83 / 0.88 when written)
    assert ev["precision"] >= 0.75, proc.stdout
    assert ev["recall"] >= 0.8, proc.stdout
    assert (d / "plots/score_histogram.png").stat().st_size > 1000
    assert (d / "plots/precision_recall.png").stat().st_size > 1000


def test_different_keys_refused(workdir: Path) -> None:
    d = workdir
    run("keygen", "--out", d / "other.key")
    run("encode", d / "data/left.csv", "--key-file", d / "linkage.key", "--out", d / "K1.lmenc")
    run("encode", d / "data/right.csv", "--key-file", d / "other.key", "--out", d / "K2.lmenc")
    proc = run("match", d / "K1.lmenc", d / "K2.lmenc", "--out", d / "x.csv", ok=False)
    assert proc.returncode == 2
    assert "different keys" in proc.stderr
    assert not (d / "x.csv").exists()


def test_key_from_environment_and_never_from_argument(workdir: Path) -> None:
    d = workdir
    env = dict(ENV, LINKMATCH_KEY_FILE=str(d / "linkage.key"))
    run("encode", d / "data/right.csv", "--out", d / "env.lmenc", env=env)
    assert (d / "env.lmenc").exists()
    proc = run("encode", d / "data/right.csv", "--key", "00" * 32, "--out", d / "y.lmenc",
               ok=False)
    assert proc.returncode != 0
    proc = run("encode", d / "data/right.csv", "--out", d / "y.lmenc", ok=False)
    assert proc.returncode == 2
    assert "LINKMATCH_KEY_FILE" in proc.stderr


BAD_INPUTS = {
    "no_record_id.csv": (b"given_names,family_name\nAhmed,Khalil\n", "record_id"),
    "empty.csv": (b"", "empty"),
    "header_only.csv": (b"record_id,given_names\n", "no data rows"),
    "latin1.csv": ("record_id,given_names\n1,Jos\u00e9\n".encode("latin-1"), "UTF-8"),

}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_clear_error(workdir: Path, name: str) -> None:
    content, expected = BAD_INPUTS[name]
    path = workdir / name
    path.write_bytes(content)
    proc = run("encode", path, "--key-file", workdir / "linkage.key", "--out",
               workdir / "bad.lmenc", ok=False)
    assert proc.returncode == 1
    assert expected in proc.stderr
    assert name in proc.stderr
    assert "Traceback" not in proc.stderr
    for secret in ("Ahmed", "Khalil", "Jos", "Extra"):
        assert secret not in proc.stderr


def test_invalid_values_counted_never_shown(workdir: Path) -> None:
    path = workdir / "dates.csv"
    path.write_text("record_id,given_names,date_of_birth,sex\n"
                    "1,Ahmed,2023-02-30,M\n2,Samira,31/31/1990,Q\n3,Omar,1988-04-02,M\n")
    proc = run("encode", path, "--key-file", workdir / "linkage.key", "--out",
               workdir / "d.lmenc", "--rejects", workdir / "rejects.csv")
    assert "3 invalid value(s)" in proc.stderr
    assert proc.stderr.count("column 'date_of_birth'") == 2
    assert "1 × column 'sex'" in proc.stderr
    for value in ("2023-02-30", "31/31/1990", "Samira", "Ahmed"):
        assert value not in proc.stderr
    rejects = pd.read_csv(workdir / "rejects.csv")
    assert sorted(rejects["row"].tolist()) == [1, 2, 2]
    strict = run("encode", path, "--key-file", workdir / "linkage.key", "--out",
                 workdir / "s.lmenc", "--strict", ok=False)
    assert strict.returncode == 1
    assert "row 1" in strict.stderr
    assert "2023-02-30" not in strict.stderr


def test_match_with_name_bands(workdir: Path) -> None:
    """``--name-bands``: more pairs compared, the setting in the manifest, no value shown."""
    d, key = workdir, workdir / "linkage.key"
    for side, name in (("left", "NA"), ("right", "NB")):
        run("encode", d / f"data/{side}.csv", "--key-file", key, "--out", d / f"{name}.lmenc")
    plain = run("match", d / "NA.lmenc", d / "NB.lmenc", "--out", d / "nb0.csv")
    banded = run("match", d / "NA.lmenc", d / "NB.lmenc", "--out", d / "nb1.csv",
                 "--name-bands")
    m0 = json.loads((d / "nb0.csv.manifest.json").read_text())
    m1 = json.loads((d / "nb1.csv.manifest.json").read_text())
    assert m0["name_bands"] is None
    assert m1["name_bands"]["bands"] == 150
    assert m1["name_bands"]["cap_in_force"] == 2_000
    assert m1["counts"]["pairs_compared"] > m0["counts"]["pairs_compared"]
    assert len(pd.read_csv(d / "nb1.csv")) > 0
    names = set(pd.read_csv(d / "data/left.csv", dtype=str)["family_name"].dropna())
    for proc in (plain, banded):
        assert not any(n in proc.stderr + proc.stdout for n in names if len(n) > 3)
