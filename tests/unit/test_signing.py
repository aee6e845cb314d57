"""Holder signatures: the linkage unit refuses files no trusted holder signed."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from linkmatch.cli import main
from linkmatch.encode import encode_file
from linkmatch.errors import EncodedFileError, KeyMaterialError
from linkmatch.io import content_digest, read_encoded, read_manifest, write_encoded
from linkmatch.pseudonymise.keys import generate_key_file, load_key
from linkmatch.pseudonymise.signing import (
    load_signing_key,
    load_trusted_key,
    verify_manifest,
)
from linkmatch.reveal import check_holder
from linkmatch.synth import generate, write


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("signed")
    paths = write(generate(seed=9, n_left=500, n_right=60), d / "in")
    generate_key_file(d / "k.key")
    log = ["--audit-log", str(d / "audit.jsonl")]
    for holder in ("A", "B", "M"):
        assert main([*log, "keygen", "--signing", "--out", str(d / f"{holder}.sign")]) == 0
    for holder, side in (("A", "left"), ("B", "right")):
        assert main([*log, "encode", str(paths[side]), "--key-file", str(d / "k.key"),
                     "--signing-key-file", str(d / f"{holder}.sign"), "--out",
                     str(d / f"{holder}.lmenc")]) == 0
    assert main([*log, "encode", str(paths["right"]), "--key-file", str(d / "k.key"),
                 "--out", str(d / "unsigned.lmenc")]) == 0
    return {"dir": d, "key": d / "k.key", "right": paths["right"]}


def _match(d: Path, left: str, right: str, out: str, *trust: str) -> int:
    args = [arg for name in trust for arg in ("--trust", str(d / f"{name}.sign.pub"))]
    return main(["--audit-log", str(d / "audit.jsonl"), "match", str(d / left), str(d / right),
                 "--out", str(d / out), "--workers", "1", *args])


def test_keygen_signing_writes_private_0600_and_public(signed: dict[str, Path]) -> None:
    d = signed["dir"]
    assert stat.S_IMODE((d / "A.sign").stat().st_mode) == 0o600
    assert b"PRIVATE" in (d / "A.sign").read_bytes()
    assert b"PUBLIC KEY" in (d / "A.sign.pub").read_bytes()
    assert load_signing_key(d / "A.sign") is not None
    (d / "A.sign").chmod(0o640)  # the signing key is loaded with the linkage key's checks
    try:
        with pytest.raises(KeyMaterialError, match="chmod 600"):
            load_signing_key(d / "A.sign", allow_group_read=False)
    finally:
        (d / "A.sign").chmod(0o600)


def test_trusted_signed_files_match_and_are_recorded(signed: dict[str, Path]) -> None:
    d = signed["dir"]
    assert _match(d, "A.lmenc", "B.lmenc", "ok.csv", "A", "B") == 0
    manifest = json.loads((d / "ok.csv.manifest.json").read_text())
    assert manifest["authenticated"] is True
    assert manifest["signers"] == {"left": load_trusted_key(d / "A.sign.pub").fingerprint,
                                   "right": load_trusted_key(d / "B.sign.pub").fingerprint}
    run = json.loads((d / "audit.jsonl").read_text().splitlines()[-1])
    assert run["operation"] == "match"
    assert run["parameters"]["authenticated"] is True
    # the holder's keyed MAC still verifies on a signed manifest (reveal works)
    check_holder(read_manifest(d / "A.lmenc"), load_key(signed["key"]))


def test_unsigned_or_untrusted_files_refused(signed: dict[str, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    d = signed["dir"]
    assert _match(d, "A.lmenc", "unsigned.lmenc", "unsigned.csv", "A", "B") == 2
    assert "is not signed" in capsys.readouterr().err
    assert _match(d, "A.lmenc", "B.lmenc", "untrusted.csv", "A", "M") == 2
    assert "not trusted" in capsys.readouterr().err
    assert not (d / "unsigned.csv").exists()
    assert not (d / "untrusted.csv").exists()


def test_file_changed_after_signing_refused(signed: dict[str, Path]) -> None:
    d = signed["dir"]
    manifest, table = read_encoded(d / "B.lmenc")
    edited = table.slice(1)  # a row dropped, the digest recomputed, the signature kept
    write_encoded(edited, dict(manifest, content_sha256=content_digest(edited)),
                  d / "edited.lmenc")
    with pytest.raises(EncodedFileError, match="does not verify"):
        verify_manifest(read_manifest(d / "edited.lmenc"),
                        [load_trusted_key(d / "B.sign.pub")], "edited.lmenc")
    assert _match(d, "A.lmenc", "edited.lmenc", "edited.csv", "A", "B") == 2


def test_without_trust_match_runs_unauthenticated_and_warns(
        signed: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    d = signed["dir"]
    capsys.readouterr()
    assert _match(d, "A.lmenc", "unsigned.lmenc", "open.csv") == 0
    assert "not verified" in capsys.readouterr().err
    manifest = json.loads((d / "open.csv.manifest.json").read_text())
    assert manifest["authenticated"] is False
    assert manifest["signers"] == {"left": None, "right": None}


def test_signing_key_from_environment(signed: dict[str, Path], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    d = signed["dir"]
    monkeypatch.setenv("LINKMATCH_SIGNING_KEY_FILE", str(d / "B.sign"))
    signing_key = load_signing_key()
    assert signing_key is not None
    assert str(d) not in repr(signing_key)
    encode_file(signed["right"], tmp_path / "env.lmenc", load_key(signed["key"]), workers=1,
                signing_key=signing_key)
    signer = verify_manifest(read_manifest(tmp_path / "env.lmenc"),
                             [load_trusted_key(d / "B.sign.pub")], "env.lmenc")
    assert signer == signing_key.fingerprint
    monkeypatch.delenv("LINKMATCH_SIGNING_KEY_FILE")
    assert load_signing_key() is None
    with pytest.raises(KeyMaterialError, match="not a PEM private key"):
        load_signing_key(signed["key"])
