"""The linkage key: generation, loading, strength checks, sub-key derivation and fingerprint.

This is a *primitive* module. Both data holders share one secret of at least 256 bits; the linkage
unit never holds it. Every purpose (record pseudonyms, each field's encoding, blocking keys, the
fingerprint) gets its own sub-key derived with HKDF-SHA256 (RFC 5869) under a distinct label, so
that an output of one purpose can never be replayed as another, and so that a process which needs
only one sub-key (an encoding task on a cluster) never needs the master secret.

Key file format: one line of 64 (or more) hexadecimal characters, optionally preceded by comment
lines starting with ``#``. ``linkmatch keygen`` writes it with file mode 0600.

Security properties kept here:
- a key is never printed: :class:`Key` has a ``repr`` that shows only the fingerprint and refuses
  to be pickled; error messages name the file, never its content;
- keys shorter than 256 bits are refused, and so are the obviously weak ones (a repeated pattern,
  a run of sequential bytes): the fingerprint is published in every manifest, so anyone can test
  a guessed key offline against it. Keys come from ``linkmatch keygen`` or a KMS, never from a
  password or a hand-typed value;
- a key file is read through one descriptor and checked on that descriptor (``fstat``), so no
  other file can be swapped in between the check and the read. It must be a regular file owned
  by the caller with no permission for group or others (mode 0600 or 0400). A symlink is
  followed (Kubernetes mounts secrets as symlinks) and its target obeys the same rule. Where a
  platform's secret mount can only grant the group (Kubernetes ``fsGroup``), the setting
  ``LINKMATCH_KEY_GROUP_READ=1`` (or ``allow_group_read=True``) accepts exactly that: group
  read, no group write, nothing for others, owned by the caller or root, in one of the
  caller's groups; the key then says so (:attr:`Key.from_group_readable_file`) and the audit
  trail records it;
- the master secret is held in a ``bytearray`` that :meth:`Key.wipe` overwrites ("where Python
  allows": copies made by ``hmac``/``cryptography`` internals cannot be reached).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final, NoReturn, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from linkmatch.errors import KeyMaterialError

__all__ = [
    "GROUP_READ_ENV_VAR",
    "KEY_ENV_VAR",
    "KEY_ID",
    "MIN_KEY_BYTES",
    "Key",
    "KeyLike",
    "SubKeys",
    "generate_key_file",
    "hkdf_sha256",
    "load_key",
    "read_protected_file",
    "weakness",
]

MIN_KEY_BYTES: Final = 32
KEY_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""What a key id may be: a short name, safe in file headers, manifests and logs."""
"""Keys under 256 bits are refused: linkage secrets protect personal data for years."""

KEY_ENV_VAR: Final = "LINKMATCH_KEY_FILE"
"""Environment variable naming the key *file* (never the key itself)."""

GROUP_READ_ENV_VAR: Final = "LINKMATCH_KEY_GROUP_READ"
"""Set to ``1`` to accept key files the owner's group may read (secret mounts with ``fsGroup``)."""

_MAX_KEY_FILE_BYTES: Final = 64 * 1024
_MIN_DISTINCT_BYTES: Final = 8

_HKDF_SALT: Final = b"linkmatch/v1/hkdf-salt"
_FINGERPRINT_LABEL: Final = "fingerprint"


def hkdf_sha256(secret: bytes, *, info: bytes, length: int = 32, salt: bytes = _HKDF_SALT) -> bytes:
    """Derive ``length`` bytes from ``secret`` with HKDF-SHA256 (RFC 5869).

    A thin wrapper over ``cryptography`` so that the known-answer tests can pin it against the
    RFC vectors.
    """
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret)


class Key:
    """A linkage secret of at least 256 bits.

    Create one with :func:`load_key`, :meth:`from_bytes` or :meth:`from_callback` (a KMS/HSM hook).
    Sub-keys for each purpose come from :meth:`derive`; the master secret never leaves the object.
    """

    __slots__ = ("_cache", "_fingerprint", "_group_readable", "_key_id", "_secret")

    def __init__(self, secret: bytes | bytearray, *, key_id: str | None = None,
                 weak_ok: bool = False) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise KeyMaterialError(
                f"the key has {len(secret) * 8} bits; at least {MIN_KEY_BYTES * 8} are required "
                "(create one with `linkmatch keygen --out FILE`)"
            )
        if len(set(secret)) == 1:
            raise KeyMaterialError("the key is a single repeated byte; create a random one")
        problem = None if weak_ok else weakness(secret)
        if problem is not None:
            raise KeyMaterialError(
                f"the key is {problem}: anyone could guess it and test the guess against its "
                "published fingerprint; create one with `linkmatch keygen` or a KMS")
        if key_id is not None and not KEY_ID.fullmatch(key_id):
            raise KeyMaterialError("a key id is 1 to 64 letters, digits, '.', '_' or '-'")
        self._secret = bytearray(secret)
        self._cache: dict[str, bytes] = {}
        self._fingerprint = self.derive(_FINGERPRINT_LABEL).hex()[:16]
        self._key_id = key_id
        self._group_readable = False

    @classmethod
    def from_bytes(cls, secret: bytes | bytearray, *, key_id: str | None = None,
                   weak_ok: bool = False) -> Key:
        """Wrap raw secret bytes (at least 32), optionally with the key's id.

        ``weak_ok`` accepts a patterned secret (``bytes(range(32))``): for known-answer tests
        and fixed test keys only, never for personal data.
        """
        return cls(secret, key_id=key_id, weak_ok=weak_ok)

    @classmethod
    def from_callback(cls, fetch: Callable[[], bytes | bytearray], *,
                      key_id: str | None = None) -> Key:
        """Obtain the secret from a key-management callback (KMS, HSM export, vault client);
        ``key_id`` is the KMS's name for the key version, recorded in every manifest."""
        return cls(fetch(), key_id=key_id)

    @classmethod
    def generate(cls) -> Key:
        """A fresh random 256-bit key (``secrets.token_bytes``)."""
        return cls(secrets.token_bytes(MIN_KEY_BYTES))

    @property
    def fingerprint(self) -> str:
        """A short, keyed, one-way identifier of the key (16 hex digits) for manifests."""
        return self._fingerprint

    @property
    def key_id(self) -> str | None:
        """The key's given name (``linkmatch keygen --id``, or the KMS's), if it has one: says
        which key generation a file was made under, next to the fingerprint that proves it."""
        return self._key_id

    @property
    def from_group_readable_file(self) -> bool:
        """Whether the key was loaded from a group-readable file under the explicit setting
        (:data:`GROUP_READ_ENV_VAR`): the audit trail records it."""
        return self._group_readable

    def derive(self, label: str, length: int = 32) -> bytes:
        """The sub-key for one purpose, e.g. ``"pseudonym"``, ``"bloom/name"``, ``"block"``.

        Distinct labels give independent keys (HKDF), so a token of one field or purpose says
        nothing about another.
        """
        cache_key = f"{label}\x00{length}"
        cached = self._cache.get(cache_key)
        if cached is None:
            if not self._secret:
                raise KeyMaterialError("this key has been wiped")
            cached = hkdf_sha256(bytes(self._secret), info=f"linkmatch/v1/{label}".encode(),
                                 length=length)
            self._cache[cache_key] = cached
        return cached

    def wipe(self) -> None:
        """Overwrite the master secret and drop derived sub-keys (best effort in Python)."""
        for i in range(len(self._secret)):
            self._secret[i] = 0
        self._secret = bytearray()
        self._cache.clear()

    def __repr__(self) -> str:
        return f"Key(id={self._key_id!r}, fingerprint={self._fingerprint!r})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("linkmatch keys cannot be pickled; pass derived sub-keys instead")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Key):
            return NotImplemented
        return hmac.compare_digest(self._fingerprint, other._fingerprint)

    def __hash__(self) -> int:
        return hash(self._fingerprint)


class SubKeys:
    """Some sub-keys of a :class:`Key`, without the master secret: what a remote task needs.

    An engine that encodes on other machines (Spark executors) ships one of these instead of
    the key: :meth:`derive` serves the labels it was issued for and refuses any other, so a
    task, its memory, or a pickle of it never holds the master secret nor a sub-key it does not
    use. It is picklable on purpose (that is how it travels); keep it out of logs like a key.
    """

    __slots__ = ("_fingerprint", "_key_id", "_keys")

    def __init__(self, key: Key, labels: Iterable[str]) -> None:
        self._keys = {label: key.derive(label) for label in labels}
        self._fingerprint = key.fingerprint
        self._key_id = key.key_id

    @property
    def key_id(self) -> str | None:
        """The id of the key these sub-keys come from."""
        return self._key_id

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the key these sub-keys come from."""
        return self._fingerprint

    @property
    def labels(self) -> frozenset[str]:
        """The purposes these sub-keys serve."""
        return frozenset(self._keys)

    def derive(self, label: str, length: int = 32) -> bytes:
        """The issued sub-key for ``label`` (as :meth:`Key.derive` gives it)."""
        if length != 32 or label not in self._keys:
            raise KeyMaterialError(f"no sub-key for {label!r} was issued to this task")
        return self._keys[label]

    def __getstate__(self) -> tuple[dict[str, bytes], str, str | None]:
        return self._keys, self._fingerprint, self._key_id

    def __setstate__(self, state: tuple[dict[str, bytes], str, str | None]) -> None:
        self._keys, self._fingerprint, self._key_id = state

    def __repr__(self) -> str:
        return f"SubKeys({len(self._keys)} sub-keys of key {self._fingerprint})"

    __str__ = __repr__


class KeyLike(Protocol):
    """A :class:`Key` or :class:`SubKeys`: what the encoders need (``derive``, ``fingerprint``)."""

    @property
    def fingerprint(self) -> str: ...

    @property
    def key_id(self) -> str | None: ...

    def derive(self, label: str, length: int = 32) -> bytes: ...


def _key_path(path: str | os.PathLike[str] | None) -> Path:
    if path is None:
        env = os.environ.get(KEY_ENV_VAR)
        if not env:
            raise KeyMaterialError(
                f"no key given: pass --key-file FILE or set {KEY_ENV_VAR} to the key file's path"
            )
        return Path(env)
    return Path(path)


def weakness(secret: bytes | bytearray) -> str | None:
    """Why ``secret`` is obviously weak (a repeated pattern, sequential bytes, few distinct
    byte values), or None.

    A random 32-byte key has about 30 distinct byte values and no pattern; these shapes come
    from passwords and hand-made test keys (``b"password" * 4``, ``bytes(range(32))``), which an
    attacker tries first against the published fingerprint.
    """
    data = bytes(secret)
    n = len(data)
    for period in range(1, n // 2 + 1):
        if data == (data[:period] * (n // period + 1))[:n]:
            return f"a pattern of {period} byte(s) repeated"
    steps = {(data[i + 1] - data[i]) % 256 for i in range(n - 1)}
    if len(steps) == 1:
        return "a run of sequential bytes"
    if len(set(data)) < _MIN_DISTINCT_BYTES:
        return f"made of fewer than {_MIN_DISTINCT_BYTES} distinct byte values"
    return None


def _group_read_setting(allow_group_read: bool | None) -> bool:
    if allow_group_read is not None:
        return allow_group_read
    return os.environ.get(GROUP_READ_ENV_VAR, "").strip() == "1"


def read_protected_file(path: Path, what: str, *,
                        allow_group_read: bool | None = None) -> tuple[bytes, bool]:
    """The bytes of a secret file, checked on the descriptor they are read from.

    The file is opened once (a symlink is followed: its target is what is checked) and
    ``fstat`` on that descriptor decides, so nothing can be swapped in between the check and
    the read. Accepted: a regular file owned by the caller, with no permission for group or
    others; with ``allow_group_read`` (default: :data:`GROUP_READ_ENV_VAR` set to ``1``), also
    group read (no group write, nothing for others) of a file owned by the caller or root
    whose group is one of the caller's (a Kubernetes secret mounted with ``fsGroup``).

    Returns:
        The content, and whether the group-read allowance was needed to accept it.

    Raises:
        KeyMaterialError: missing, not a regular file, owned by another user, too permissive,
            or larger than any key file (the message names the file, never its content).
    """
    group_ok = _group_read_setting(allow_group_read)
    flags = os.O_RDONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise KeyMaterialError(f"{what} {path} cannot be read (does it exist?)") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyMaterialError(f"{what} {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        uid = os.geteuid()
        private = st.st_uid == uid and mode & 0o077 == 0
        group_read = (group_ok and not private and st.st_uid in (uid, 0)
                      and mode & 0o037 == 0
                      and st.st_gid in {os.getegid(), *os.getgroups()})
        if not private and not group_read:
            if st.st_uid != uid and not (group_ok and st.st_uid == 0):
                raise KeyMaterialError(
                    f"{what} {path} is owned by another user; it must belong to the user "
                    "running linkmatch")
            raise KeyMaterialError(
                f"{what} {path} is accessible to other users (group or others); run "
                f"`chmod 600 {path}`" + ("" if group_ok else
                                         f" (or, for a secret mount that only grants the group, "
                                         f"set {GROUP_READ_ENV_VAR}=1)"))
        if st.st_size > _MAX_KEY_FILE_BYTES:
            raise KeyMaterialError(f"{what} {path} is too large to be a linkmatch key file")
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 65_536):
            chunks.append(chunk)
            size += len(chunk)
            if size > _MAX_KEY_FILE_BYTES:
                raise KeyMaterialError(f"{what} {path} is too large to be a linkmatch key file")
        return b"".join(chunks), group_read
    finally:
        os.close(fd)


def load_key(path: str | os.PathLike[str] | None = None, *,
             allow_group_read: bool | None = None) -> Key:
    """Load a key from ``path`` or, if it is None, from the file named by ``LINKMATCH_KEY_FILE``.

    The file is checked as :func:`read_protected_file` says (``allow_group_read`` as there).

    Raises:
        KeyMaterialError: the file is missing, not owned by the caller, accessible to other
            users, not in the key format, weak, or holds fewer than 256 bits.
    """
    key_path = _key_path(path)
    raw, group_read = read_protected_file(key_path, "key file",
                                          allow_group_read=allow_group_read)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyMaterialError(f"key file {key_path} is not a linkmatch key file") from None
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    header = next((ln for ln in text.splitlines() if ln.lstrip().startswith("#")), "")
    found = re.search(r"\bid ([A-Za-z0-9._-]{1,64})(?:,|\s|$)", header)
    key_id = found.group(1) if found else None
    if len(lines) != 1:
        raise KeyMaterialError(
            f"key file {key_path} must hold exactly one line of hexadecimal key material"
        )
    try:
        secret = bytearray.fromhex(lines[0])
    except ValueError:
        raise KeyMaterialError(f"key file {key_path} is not hexadecimal") from None
    try:
        key = Key(secret, key_id=key_id)
    except KeyMaterialError as exc:
        raise KeyMaterialError(f"key file {key_path}: {exc}") from None
    finally:
        for i in range(len(secret)):
            secret[i] = 0
    key._group_readable = group_read
    return key


def generate_key_file(path: str | os.PathLike[str], *, overwrite: bool = False,
                      key_id: str | None = None) -> Key:
    """Write a new random 256-bit key to ``path`` with mode 0600, atomically.

    The file is created under a temporary name with mode 0600 from the start (never briefly
    world-readable), then renamed into place. Its header line names the key's id (``key_id``,
    default ``lm-YYYYMMDD-`` and 8 random hex digits: a rotated key gets a new one) and
    fingerprint; manifests record both.

    Raises:
        KeyMaterialError: the file exists and ``overwrite`` is False.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise KeyMaterialError(f"{target} exists; refusing to overwrite a key (use --rotate)")
    secret = bytearray(secrets.token_bytes(MIN_KEY_BYTES))
    if key_id is None:
        key_id = f"lm-{dt.date.today():%Y%m%d}-{secrets.token_hex(4)}"
    key = Key(secret, key_id=key_id)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"# linkmatch key v1, id {key_id}, fingerprint {key.fingerprint}\n"
                     f"{secret.hex()}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for i in range(len(secret)):
            secret[i] = 0
    return key


def sha256_hex(data: bytes) -> str:
    """Plain SHA-256 digest, for *public* material only (schemas, file contents), never values."""
    return hashlib.sha256(data).hexdigest()
