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
- keys shorter than 256 bits are refused, and so are key files that other users may read;
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
    "KEY_ENV_VAR",
    "KEY_ID",
    "MIN_KEY_BYTES",
    "Key",
    "KeyLike",
    "SubKeys",
    "generate_key_file",
    "hkdf_sha256",
    "load_key",
]

MIN_KEY_BYTES: Final = 32
KEY_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""What a key id may be: a short name, safe in file headers, manifests and logs."""
"""Keys under 256 bits are refused: linkage secrets protect personal data for years."""

KEY_ENV_VAR: Final = "LINKMATCH_KEY_FILE"
"""Environment variable naming the key *file* (never the key itself)."""

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

    __slots__ = ("_cache", "_fingerprint", "_key_id", "_secret")

    def __init__(self, secret: bytes | bytearray, *, key_id: str | None = None) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise KeyMaterialError(
                f"the key has {len(secret) * 8} bits; at least {MIN_KEY_BYTES * 8} are required "
                "(create one with `linkmatch keygen --out FILE`)"
            )
        if len(set(secret)) == 1:
            raise KeyMaterialError("the key is a single repeated byte; create a random one")
        if key_id is not None and not KEY_ID.fullmatch(key_id):
            raise KeyMaterialError("a key id is 1 to 64 letters, digits, '.', '_' or '-'")
        self._secret = bytearray(secret)
        self._cache: dict[str, bytes] = {}
        self._fingerprint = self.derive(_FINGERPRINT_LABEL).hex()[:16]
        self._key_id = key_id

    @classmethod
    def from_bytes(cls, secret: bytes | bytearray, *, key_id: str | None = None) -> Key:
        """Wrap raw secret bytes (at least 32), optionally with the key's id."""
        return cls(secret, key_id=key_id)

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


def load_key(path: str | os.PathLike[str] | None = None) -> Key:
    """Load a key from ``path`` or, if it is None, from the file named by ``LINKMATCH_KEY_FILE``.

    Raises:
        KeyMaterialError: the file is missing, readable or writable by other users, not in the
            key format, or holds fewer than 256 bits.
    """
    key_path = _key_path(path)
    try:
        st = key_path.stat()
    except OSError:
        raise KeyMaterialError(f"key file {key_path} cannot be read (does it exist?)") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyMaterialError(f"key file {key_path} is not a regular file")
    if st.st_mode & (stat.S_IROTH | stat.S_IWOTH):
        raise KeyMaterialError(
            f"key file {key_path} is accessible to other users; run `chmod 600 {key_path}`"
        )
    try:
        text = key_path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
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
        return Key(secret, key_id=key_id)
    except KeyMaterialError as exc:
        raise KeyMaterialError(f"key file {key_path}: {exc}") from None
    finally:
        for i in range(len(secret)):
            secret[i] = 0


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
