"""Decoy records: encoded records of nobody, that only their holder can tell from real ones.

Why: an adversary at the linkage unit who re-identifies an encoded record (by the attacks of
:mod:`linkmatch.audit`) cannot know whether it found a person or a decoy, and the file's counts
(of records, of each token) no longer are the holder's counts. A holder adds decoys at encoding
time (``linkmatch encode --decoys 0.1``: one decoy per ten records); the linkage unit cannot
recognise them, so it matches them like any record.

How they are made: each decoy takes every person field from a *different* real record of the
same input chunk, chosen by a keyed random generator, so every field keeps its distribution and
each decoy is a combination of real values that belongs to nobody. Its record id is derived
from the key and the job salt (``decoy-<keyed token>``), so its pseudonym is the pseudonym of
that id: the holder recomputes the decoys' pseudonyms from the key alone (no list of decoys is
stored anywhere), the linkage unit cannot.

The price, and the rule that comes with it: a decoy can match a real person of the other
holder. Such a candidate must never reach that holder's reveal step, or a real person would be
flagged for a record of nobody. So a holder that used decoys **screens** the candidates first
(:func:`screen_frame`, ``linkmatch screen``): the pairs holding one of its decoys are removed,
pseudonymously, before the other holder sees them; ``linkmatch reveal`` refuses candidates that
the other side's decoys have not been screened from, and :func:`linkmatch.link` screens both
sides itself. The number of decoys is public (``decoy_rows`` in the manifest): an adversary who
knows the decoy rate learns nothing more from it; which records they are stays secret.

The claims that guard the rule are keyed, so that the linkage unit, which relays them, can
neither forge nor drop them: the encoded manifest carries ``decoy_mac`` (the decoy count bound to
the file's content digest, :func:`decoy_count_mac`), which the unit copies into the candidates
manifest, and a holder that screens (or reveals, which screens its own side) signs the sides
screened so far together with the candidates it leaves (:func:`screening_mac`). A holder about
to reveal checks both with the shared key (:func:`check_screening`): candidates with pairs added
back after screening, or a screening claim or decoy count written by anyone without the key,
are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd

from linkmatch.errors import ConfigError, EncodingMismatchError
from linkmatch.pseudonymise.keys import Key, KeyLike
from linkmatch.pseudonymise.prf import KeyedPRF
from linkmatch.schema import PERSON_COLUMNS

__all__ = ["MAX_DECOY_RATE", "check_rate", "check_screening", "decoy_count_mac", "decoy_ids",
           "decoy_pseudonyms", "make_decoys", "pairs_digest", "screen_frame", "screening_mac",
           "verified_screening", "with_screening"]

MAX_DECOY_RATE: Final = 1.0
"""At most one decoy per real record."""


def check_rate(rate: float) -> float:
    """The decoy rate, checked: decoys per real record, in [0, :data:`MAX_DECOY_RATE`]."""
    if not isinstance(rate, int | float) or not 0.0 <= float(rate) <= MAX_DECOY_RATE:
        raise ConfigError(f"decoys must be a rate between 0 and {MAX_DECOY_RATE:g} (decoys per "
                          "real record)")
    return float(rate)


def _salt_int(salt: bytes) -> int:
    return int.from_bytes(salt[:8], "big") >> 1


def decoy_ids(key: KeyLike, salt: bytes, start: int, count: int) -> list[str]:
    """Record ids of decoys ``start`` … ``start + count - 1`` of a job (keyed, so unguessable)."""
    if count <= 0:
        return []
    prf = KeyedPRF(key.derive("decoy/ids"))
    numbers = np.arange(start, start + count, dtype=np.int64)
    tokens = prf.tokens_ints([np.full(count, _salt_int(salt), dtype=np.int64), numbers])
    return [f"decoy-{int(t):016x}" for t in tokens.tolist()]


def make_decoys(frame: pd.DataFrame, count: int, key: KeyLike, salt: bytes,
                start: int = 0) -> pd.DataFrame:
    """``count`` decoy records whose every field comes from another row of ``frame``.

    Args:
        frame: the holder's rows (person columns as text) to draw field values from.
        count: how many decoys.
        key, salt: the job's key and salt (the draw and the ids depend on both, so the linkage
            unit can reproduce neither).
        start: number of the first decoy (decoys of later chunks of one file continue the
            numbering, so that their ids stay distinct).
    """
    columns = [c for c in PERSON_COLUMNS if c != "record_id"]
    out: dict[str, Any] = {"record_id": decoy_ids(key, salt, start, count)}
    if count <= 0 or not len(frame):
        return pd.DataFrame({"record_id": out["record_id"][:0],
                             **{c: pd.Series([], dtype=object) for c in columns}})
    seed = KeyedPRF(key.derive("decoy/draw")).token_ints(_salt_int(salt), start)
    rng = np.random.default_rng(seed)
    for column in columns:
        values = frame[column] if column in frame.columns else \
            pd.Series([""] * len(frame), dtype=object)
        rows = rng.integers(0, len(frame), size=count)
        out[column] = values.iloc[rows].to_numpy(dtype=object)
    return pd.DataFrame(out)


def decoy_pseudonyms(key: Key, salt_hex: str, count: int) -> set[str]:
    """Pseudonyms of a job's first ``count`` decoys (what the holder screens with)."""
    from linkmatch.encode import pseudonyms_hex

    salt = bytes.fromhex(salt_hex)
    return set(pseudonyms_hex(key, salt_hex, decoy_ids(key, salt, 0, count)))


def screen_frame(candidates: pd.DataFrame, *, side: str, manifest: dict[str, Any],
                 key: Key) -> tuple[pd.DataFrame, int]:
    """The candidates without the pairs that hold one of this holder's decoys on ``side``.

    Args:
        candidates: the linkage unit's candidates (pseudonymous ids).
        side: this holder's side, ``"left"`` or ``"right"``.
        manifest: the manifest of this holder's encoded file.
        key: the linkage key.

    Returns:
        The screened candidates (still pseudonymous) and the number of pairs removed.
    """
    count = int(manifest.get("counts", {}).get("decoy_rows", 0))
    if count == 0 or not len(candidates):
        return candidates, 0
    decoys = decoy_pseudonyms(key, str(manifest["job_salt"]), count)
    is_decoy = candidates[f"{side}_id"].astype(str).isin(decoys)
    return candidates.loc[~is_decoy].reset_index(drop=True), int(is_decoy.sum())


_SIDES: Final = ("left", "right")


def decoy_count_mac(key: KeyLike, content_sha256: str, decoy_rows: int) -> str:
    """Keyed MAC of an encoded file's decoy count, bound to its content digest.

    Written by ``encode`` into the manifest (``decoy_mac``) and relayed by the linkage unit in
    the candidates manifest: the other holder checks with the shared key that the count it is
    told (zero included) is the one the holder wrote for that very file.
    """
    message = f"{content_sha256}\x00{int(decoy_rows)}".encode()
    return hmac.digest(key.derive("decoys/count"), message, "sha256").hex()


def pairs_digest(candidates: pd.DataFrame) -> str:
    """SHA-256 of the candidates' ``(left_id, right_id)`` pairs, in row order.

    What a screening claim is bound to: rows added after the claim change it.
    """
    h = hashlib.sha256()
    for left, right in zip(candidates["left_id"].astype(str), candidates["right_id"].astype(str),
                           strict=True):
        h.update(f"{left}\x1f{right}\x1e".encode())
    return h.hexdigest()


def screening_mac(key: KeyLike, screened: Iterable[str], inputs: Any, digest: str) -> str:
    """Keyed MAC of a screening claim: the sides screened, the job's inputs (their content
    digests) and the candidates left (:func:`pairs_digest`), under their own sub-key."""
    body = json.dumps({"screened": sorted(set(screened)), "inputs": inputs, "pairs": digest},
                      sort_keys=True, separators=(",", ":")).encode()
    return hmac.digest(key.derive("decoys/screen-claim"), body, "sha256").hex()


def with_screening(manifest: dict[str, Any], candidates: pd.DataFrame, screened: Iterable[str],
                   key: KeyLike) -> dict[str, Any]:
    """A copy of a candidates manifest that claims ``screened`` for ``candidates``, MAC'd."""
    out = dict(manifest)
    sides = sorted(set(screened))
    out["screened"] = sides
    out["screened_mac"] = screening_mac(key, sides, manifest.get("input_content_sha256"),
                                        pairs_digest(candidates))
    return out


def verified_screening(manifest: dict[str, Any], candidates: pd.DataFrame,
                       key: KeyLike) -> set[str]:
    """The sides a candidates manifest claims screened, once the claim's MAC verifies over
    these candidates (an empty claim needs no MAC).

    Raises:
        EncodingMismatchError: a claim that does not verify (the candidates or the manifest
            changed after screening, or the claim was made without the key).
    """
    claimed = manifest.get("screened", [])
    if not isinstance(claimed, list) or not all(s in _SIDES for s in claimed):
        raise EncodingMismatchError("the candidates manifest's screening claim is malformed")
    if not claimed:
        return set()
    expected = screening_mac(key, claimed, manifest.get("input_content_sha256"),
                             pairs_digest(candidates))
    if not hmac.compare_digest(str(manifest.get("screened_mac", "")), expected):
        raise EncodingMismatchError(
            "the candidates' screening claim does not verify: the candidates or their "
            "manifest changed after screening, or the claim was not made with the linkage "
            "key; ask for the file as the screening holder wrote it")
    return set(claimed)


def check_screening(manifest: dict[str, Any], candidates: pd.DataFrame, *, side: str,
                    key: Key) -> set[str]:
    """Check a candidates manifest's decoy claims before ``side`` reveals; the sides screened.

    The other side's decoy count must verify (:func:`decoy_count_mac`) and, if it is not zero
    or cannot be verified, the other side must have screened these very candidates (a
    screening claim whose MAC verifies over them).

    Raises:
        EncodingMismatchError: a screening claim that does not verify (changed after it was
            made, or made without the key).
        ConfigError: the other side's decoys may still be among the candidates.
    """
    screened = verified_screening(manifest, candidates, key)
    other = "left" if side == "right" else "right"
    if other in screened:
        return set(screened)
    counts = manifest.get("decoy_rows")
    macs = manifest.get("decoy_macs")
    digests = manifest.get("input_content_sha256")
    count = counts.get(other) if isinstance(counts, dict) else None
    mac = macs.get(other) if isinstance(macs, dict) else None
    digest = digests.get(other) if isinstance(digests, dict) else None
    known = isinstance(count, int) and not isinstance(count, bool) and count >= 0 \
        and isinstance(mac, str) and isinstance(digest, str) \
        and hmac.compare_digest(mac, decoy_count_mac(key, digest, count))
    if not known:
        raise ConfigError(
            f"the {other} holder's decoy count cannot be verified (its encoded file predates "
            f"keyed decoy counts, or the count was changed): ask the {other} holder to run "
            f"`linkmatch screen --side {other}` first")
    if count:
        raise ConfigError(
            f"the {other} holder's encoded file holds decoy records, and these candidates were "
            f"not screened by it: a decoy may be paired with one of your real records. Ask the "
            f"{other} holder to run `linkmatch screen --side {other}` first")
    return set(screened)
