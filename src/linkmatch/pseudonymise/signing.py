"""Holder signatures: Ed25519 keys with which each holder signs its encoded files' manifests.

Why: the linkage unit holds no linkage key, so it cannot check the keyed manifest MAC, and the
content digest is unkeyed: without more, anyone who can hand the unit a file can make one that
it matches (a crafted file, or a file of someone who is not a holder). With signatures, each
holder signs the manifest of every file it encodes (the manifest holds the content digest, so
the signature covers every row), the unit holds the holders' *public* keys only
(``linkmatch match --trust A.sign.pub --trust B.sign.pub``) and refuses any file no trusted
holder signed. A signing key is a secret like the linkage key, loaded with the same checks
(:func:`linkmatch.pseudonymise.keys.read_protected_file`); it is a different key, held by one
holder, so the other holder cannot sign in its name.

Formats: the private key is PKCS#8 PEM (``linkmatch keygen --signing --out A.sign``, mode
0600), the public key SubjectPublicKeyInfo PEM beside it (``A.sign.pub``). A manifest's
signature is ``{"algorithm": "ed25519", "key": <fingerprint>, "value": <hex>}`` under the
manifest's ``signature`` field, over the canonical JSON of every other field (the keyed
``manifest_mac`` included). The fingerprint is the first 16 hex digits of the SHA-256 of the
raw public key: public, it only names which key signed.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from linkmatch.errors import EncodedFileError, KeyMaterialError
from linkmatch.pseudonymise.keys import read_protected_file

__all__ = ["SIGNATURE_FIELD", "SIGNING_KEY_ENV_VAR", "SigningKey", "TrustedKey",
           "generate_signing_key_file", "load_signing_key", "load_trusted_key",
           "sign_manifest", "verify_manifest"]

SIGNING_KEY_ENV_VAR: Final = "LINKMATCH_SIGNING_KEY_FILE"
"""Environment variable naming a holder's signing key *file* (never the key itself)."""
SIGNATURE_FIELD: Final = "signature"
"""The manifest field that holds the signature (left out of what is signed and MAC'd)."""
_ALGORITHM: Final = "ed25519"
_MAX_PUBLIC_KEY_BYTES: Final = 4096


def _fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def signed_body(manifest: dict[str, Any]) -> bytes:
    """What a signature covers: the manifest without its signature, as canonical JSON."""
    body = {k: v for k, v in manifest.items() if k != SIGNATURE_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True, repr=False)
class SigningKey:
    """A holder's Ed25519 private key (from :func:`load_signing_key`); never printed."""

    private: Ed25519PrivateKey
    fingerprint: str

    def __repr__(self) -> str:
        return f"SigningKey(fingerprint={self.fingerprint!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("signing keys cannot be pickled")


@dataclass(frozen=True)
class TrustedKey:
    """A holder's Ed25519 public key, trusted by the linkage unit (:func:`load_trusted_key`)."""

    public: Ed25519PublicKey
    fingerprint: str


def generate_signing_key_file(path: str | os.PathLike[str], *,
                              overwrite: bool = False) -> TrustedKey:
    """Write a new Ed25519 private key to ``path`` (mode 0600) and its public key to
    ``path.pub``, both atomically; returns the public key.

    Raises:
        KeyMaterialError: the file exists and ``overwrite`` is False.
    """
    target = Path(path)
    public_path = target.with_name(target.name + ".pub")
    if target.exists() and not overwrite:
        raise KeyMaterialError(f"{target} exists; refusing to overwrite a key (use --rotate)")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = private.public_key()
    public_pem = public.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    for data, dest, mode in ((pem, target, 0o600), (public_pem, public_path, 0o644)):
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return TrustedKey(public=public, fingerprint=_fingerprint(public))


def load_signing_key(path: str | os.PathLike[str] | None = None, *,
                     allow_group_read: bool | None = None) -> SigningKey | None:
    """Load a holder's signing key from ``path`` or from ``LINKMATCH_SIGNING_KEY_FILE``; None if
    neither is given (the file is then not signed).

    The file is checked as the linkage key file is (owner, mode 0600 or 0400, checked on the
    descriptor it is read from).

    Raises:
        KeyMaterialError: the file is missing, badly protected, or not an Ed25519 private key.
    """
    if path is None:
        env = os.environ.get(SIGNING_KEY_ENV_VAR)
        if not env:
            return None
        path = env
    key_path = Path(path)
    raw, _ = read_protected_file(key_path, "signing key file", allow_group_read=allow_group_read)
    try:
        private = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError):
        raise KeyMaterialError(f"signing key file {key_path} is not a PEM private key "
                               "(create one with `linkmatch keygen --signing --out FILE`)") \
            from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyMaterialError(f"signing key file {key_path} is not an Ed25519 key")
    return SigningKey(private=private, fingerprint=_fingerprint(private.public_key()))


def load_trusted_key(path: str | os.PathLike[str]) -> TrustedKey:
    """Load a holder's public key (``A.sign.pub``) for the linkage unit to trust.

    Raises:
        KeyMaterialError: missing, or not an Ed25519 public key in PEM.
    """
    key_path = Path(path)
    try:
        with key_path.open("rb") as fh:
            raw = fh.read(_MAX_PUBLIC_KEY_BYTES + 1)
    except OSError:
        raise KeyMaterialError(f"public key file {key_path} cannot be read (does it exist?)") \
            from None
    try:
        if len(raw) > _MAX_PUBLIC_KEY_BYTES:
            raise ValueError
        public = serialization.load_pem_public_key(raw)
    except (ValueError, TypeError):
        raise KeyMaterialError(f"public key file {key_path} is not a PEM public key") from None
    if not isinstance(public, Ed25519PublicKey):
        raise KeyMaterialError(f"public key file {key_path} is not an Ed25519 key")
    return TrustedKey(public=public, fingerprint=_fingerprint(public))


def sign_manifest(manifest: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """A copy of ``manifest`` with its signature (over every other field)."""
    value = key.private.sign(signed_body(manifest)).hex()
    return {**manifest, SIGNATURE_FIELD: {"algorithm": _ALGORITHM, "key": key.fingerprint,
                                          "value": value}}


def verify_manifest(manifest: dict[str, Any], trusted: Sequence[TrustedKey],
                    label: str) -> str:
    """Check that a trusted holder signed this manifest; returns the signer's fingerprint.

    Raises:
        EncodedFileError: unsigned, signed by a key not trusted, or a signature that does not
            verify (the manifest, or through its content digest the rows, changed after
            signing).
    """
    signature = manifest.get(SIGNATURE_FIELD)
    if not isinstance(signature, dict):
        raise EncodedFileError("is not signed; the linkage unit accepts only files signed by "
                               "a trusted holder (encode with --signing-key-file)", file=label,
                               column=SIGNATURE_FIELD)
    by = {t.fingerprint: t for t in trusted}
    signer = by.get(str(signature.get("key")))
    if signer is None or signature.get("algorithm") != _ALGORITHM:
        raise EncodedFileError("is signed by a key that is not trusted (--trust)", file=label,
                               column=SIGNATURE_FIELD)
    try:
        signer.public.verify(bytes.fromhex(str(signature.get("value"))), signed_body(manifest))
    except (InvalidSignature, ValueError):
        raise EncodedFileError("has a signature that does not verify: the file changed after "
                               "its holder signed it", file=label,
                               column=SIGNATURE_FIELD) from None
    return signer.fingerprint
