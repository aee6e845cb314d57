"""Keys: generation, loading, strength and permission checks, derivation, fingerprint."""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path

import pytest

from linkmatch.errors import KeyMaterialError
from linkmatch.pseudonymise.keys import (
    GROUP_READ_ENV_VAR,
    KEY_ENV_VAR,
    Key,
    generate_key_file,
    load_key,
    weakness,
)


def test_keygen_writes_0600_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "linkage.key"
    key = generate_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_key(path)
    assert loaded.fingerprint == key.fingerprint
    assert len(key.fingerprint) == 16
    # the file holds the key in hex, the fingerprint is not the key
    secret_hex = next(ln for ln in path.read_text().splitlines() if not ln.startswith("#"))
    assert len(bytes.fromhex(secret_hex)) == 32
    assert key.fingerprint not in secret_hex


def test_keygen_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    first = generate_key_file(path)
    with pytest.raises(KeyMaterialError, match="refusing to overwrite"):
        generate_key_file(path)
    second = generate_key_file(path, overwrite=True)
    assert second.fingerprint != first.fingerprint


def test_short_key_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.key"
    path.write_text("ab" * 31 + "\n")
    path.chmod(0o600)
    with pytest.raises(KeyMaterialError, match="248 bits"):
        load_key(path)
    with pytest.raises(KeyMaterialError):
        Key.from_bytes(b"x" * 31)


def test_world_readable_key_refused(tmp_path: Path) -> None:
    path = tmp_path / "open.key"
    generate_key_file(path)
    path.chmod(0o644)
    with pytest.raises(KeyMaterialError, match="chmod 600"):
        load_key(path)


def test_bad_key_file_content_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "bad.key"
    path.write_text("not-a-key-zzzz-SECRETVALUE\n")
    path.chmod(0o600)
    with pytest.raises(KeyMaterialError) as info:
        load_key(path)
    assert "SECRETVALUE" not in str(info.value)


def test_key_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.key"
    key = generate_key_file(path)
    monkeypatch.setenv(KEY_ENV_VAR, str(path))
    assert load_key(None).fingerprint == key.fingerprint
    monkeypatch.delenv(KEY_ENV_VAR)
    with pytest.raises(KeyMaterialError, match=KEY_ENV_VAR):
        load_key(None)


def test_derived_keys_distinct_and_stable() -> None:
    key = Key.from_bytes(bytes(range(32)), weak_ok=True)
    labels = ["pseudonym", "bloom/name/text", "bloom/name/key", "token/dob", "block"]
    derived = {label: key.derive(label) for label in labels}
    assert len(set(derived.values())) == len(labels)
    again = Key.from_bytes(bytes(range(32)), weak_ok=True)
    assert again.derive("pseudonym") == derived["pseudonym"]
    assert bytes(range(32)) not in derived.values()


def test_key_never_shown_or_pickled() -> None:
    secret = os.urandom(32)
    key = Key.from_bytes(secret)
    assert secret.hex() not in repr(key)
    assert secret.hex() not in str(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_wipe_zeroises_and_blocks_use() -> None:
    key = Key.from_bytes(os.urandom(32))
    key.wipe()
    with pytest.raises(KeyMaterialError):
        key.derive("anything")


def test_pinned_fingerprint() -> None:
    # pinned: a change of derivation labels or HKDF salt must be deliberate
    key = Key.from_bytes(bytes(range(32)), weak_ok=True)
    assert key.fingerprint == PINNED_FINGERPRINT


PINNED_FINGERPRINT = "35649ada751bfeb4"


def test_key_id_travels_from_keygen_to_every_manifest(tmp_path: Path) -> None:
    """The key's id is in its file, in the encoded file's and the candidates' manifests; a
    rotated key gets a new id and fingerprint, and its encodings refuse to match the old."""
    import json

    from linkmatch.cli import main
    from linkmatch.synth import generate, write

    paths = write(generate(seed=2, n_left=300, n_right=40), tmp_path / "in")
    key_file = tmp_path / "k.key"
    log = ["--audit-log", str(tmp_path / "audit.jsonl")]
    assert main([*log, "keygen", "--out", str(key_file), "--id", "cter-asylum-2026.11"]) == 0
    assert load_key(key_file).key_id == "cter-asylum-2026.11"
    for side in ("left", "right"):
        assert main([*log, "encode", str(paths[side]), "--key-file", str(key_file), "--out",
                     str(tmp_path / f"{side}.lmenc")]) == 0
    assert main([*log, "match", str(tmp_path / "left.lmenc"), str(tmp_path / "right.lmenc"),
                 "--out", str(tmp_path / "c.csv")]) == 0
    from linkmatch.io import read_manifest

    assert read_manifest(tmp_path / "left.lmenc")["key_id"] == "cter-asylum-2026.11"
    match_manifest = json.loads((tmp_path / "c.csv.manifest.json").read_text())
    assert match_manifest["key_id"] == "cter-asylum-2026.11"
    assert match_manifest["key_fingerprint"] == load_key(key_file).fingerprint
    # rotation: a new key (new default id), and the old encodings refuse to match the new
    old = load_key(key_file)
    assert main([*log, "keygen", "--out", str(key_file), "--rotate"]) == 0
    new = load_key(key_file)
    assert new.key_id != old.key_id
    assert new.key_id is not None
    assert new.key_id.startswith("lm-")
    assert new.fingerprint != old.fingerprint
    assert main([*log, "encode", str(paths["right"]), "--key-file", str(key_file), "--out",
                 str(tmp_path / "right2.lmenc")]) == 0
    assert main([*log, "match", str(tmp_path / "left.lmenc"), str(tmp_path / "right2.lmenc"),
                 "--out", str(tmp_path / "c2.csv")]) == 2
    with pytest.raises(KeyMaterialError, match="key id"):
        Key.from_bytes(bytes(range(32)), key_id="no spaces allowed", weak_ok=True)
    assert main(["keygen", "--out", str(tmp_path / "x.key"), "--id", "bad id!"]) == 2


@pytest.mark.parametrize("mode", [0o640, 0o660, 0o604, 0o620])
def test_key_readable_or_writable_by_group_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "group.key"
    generate_key_file(path)
    path.chmod(mode)
    with pytest.raises(KeyMaterialError, match="chmod 600") as info:
        load_key(path, allow_group_read=False)
    assert path.read_text().splitlines()[1] not in str(info.value)


def test_read_only_key_accepted(tmp_path: Path) -> None:
    path = tmp_path / "ro.key"
    key = generate_key_file(path)
    path.chmod(0o400)
    loaded = load_key(path)
    assert loaded.fingerprint == key.fingerprint
    assert not loaded.from_group_readable_file


def test_group_read_only_with_explicit_setting(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mounted.key"
    key = generate_key_file(path)
    path.chmod(0o440)
    monkeypatch.delenv(GROUP_READ_ENV_VAR, raising=False)
    with pytest.raises(KeyMaterialError, match=GROUP_READ_ENV_VAR):
        load_key(path)
    monkeypatch.setenv(GROUP_READ_ENV_VAR, "1")
    loaded = load_key(path)
    assert loaded.fingerprint == key.fingerprint
    assert loaded.from_group_readable_file
    # the setting allows group *read* only: group write and anything for others stay refused
    for mode in (0o460, 0o444, 0o640 | 0o020):
        path.chmod(mode)
        with pytest.raises(KeyMaterialError):
            load_key(path)


def test_key_symlink_followed_and_target_checked(tmp_path: Path) -> None:
    target = tmp_path / "data" / "key"
    target.parent.mkdir()
    key = generate_key_file(target)
    link = tmp_path / "linkage.key"
    link.symlink_to(target)
    assert load_key(link).fingerprint == key.fingerprint
    target.chmod(0o644)
    with pytest.raises(KeyMaterialError, match="accessible to other users"):
        load_key(link)


def test_key_owned_by_another_user_refused(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "theirs.key"
    generate_key_file(path)
    real = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real + 1)
    with pytest.raises(KeyMaterialError, match="owned by another user"):
        load_key(path)


def test_key_checked_on_the_descriptor_it_is_read_from(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks and the read use one descriptor: a file swapped in after the open (here:
    the path replaced by a world-readable key as soon as it is opened) is never read."""
    path = tmp_path / "swap.key"
    key = generate_key_file(path)
    other = tmp_path / "other.key"
    generate_key_file(other)
    other.chmod(0o644)
    real_open = os.open

    def open_then_swap(name: object, flags: int, *args: int) -> int:
        fd = real_open(name, flags, *args)  # type: ignore[arg-type]
        if Path(str(name)) == path:
            os.replace(other, path)
        return fd

    monkeypatch.setattr(os, "open", open_then_swap)
    assert load_key(path).fingerprint == key.fingerprint


def test_not_a_regular_file_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(KeyMaterialError, match="not a regular file"):
        load_key(fifo)


@pytest.mark.parametrize("secret", [b"password" * 4, bytes(range(32)), bytes(range(64, 32, -1)),
                                    b"\x01\x02" * 16, b"abcd" * 8 + b"x"])
def test_obviously_weak_keys_refused(secret: bytes) -> None:
    assert weakness(secret) is not None
    with pytest.raises(KeyMaterialError, match="keygen"):
        Key.from_bytes(secret)


def test_weak_key_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "weak.key"
    path.write_text((b"password" * 4).hex() + "\n")
    path.chmod(0o600)
    with pytest.raises(KeyMaterialError, match="repeated") as info:
        load_key(path)
    assert (b"password" * 4).hex() not in str(info.value)


def test_random_keys_are_not_weak() -> None:
    for _ in range(200):
        assert weakness(os.urandom(32)) is None


def test_group_read_setting_is_recorded_in_the_audit_trail(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from linkmatch.cli import main
    from linkmatch.synth import generate

    generate(seed=4, n_left=30, n_right=5).left.to_csv(tmp_path / "people.csv", index=False)
    key_path = tmp_path / "mounted.key"
    generate_key_file(key_path)
    key_path.chmod(0o440)
    args = ["--audit-log", str(tmp_path / "audit.jsonl"), "encode", str(tmp_path / "people.csv"),
            "--key-file", str(key_path), "--out", str(tmp_path / "p.lmenc")]
    monkeypatch.delenv(GROUP_READ_ENV_VAR, raising=False)
    assert main(args) == 2
    monkeypatch.setenv(GROUP_READ_ENV_VAR, "1")
    assert main(args) == 0
    line = json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])
    assert line["key_file_group_readable"] is True
