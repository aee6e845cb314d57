"""Holder side: turn the pseudonyms of *its own* side of a candidates file back into record ids.

Only the holder can do this: it recomputes the pseudonym of each of its record ids with the key
and the job salt from its encoded file's manifest, and looks the candidates' pseudonyms up. The
other side's pseudonyms stay as they are.

Given the candidates' manifest (``linkmatch reveal`` always gives it), the holder also checks
that the candidates were made from this very encoded file (the content digest the linkage unit
recorded for its side equals the digest in the holder's own, MAC-checked manifest) and that the
other side's decoys were screened (:func:`linkmatch.decoys.check_screening`). Pseudonyms are
checked to be what ``encode`` writes (32 lower-case hex digits) before any lookup.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from typing import Any, Final, Literal

import pandas as pd

from linkmatch.decoys import check_screening, screen_frame
from linkmatch.encode import manifest_mac, pseudonyms_hex
from linkmatch.errors import EncodingMismatchError, InputDataError
from linkmatch.pseudonymise.keys import Key

__all__ = ["PSEUDONYM", "check_candidates", "check_holder", "reveal_frame"]

PSEUDONYM: Final = re.compile(r"[0-9a-f]{32}")
"""What a record pseudonym is (hex of a 128-bit MAC), in candidates and encoded files."""


def check_holder(manifest: dict[str, Any], key: Key) -> None:
    """Check that ``key`` made this encoded file and that its manifest is unchanged.

    Raises:
        EncodingMismatchError: another key, or a manifest changed after encoding.
    """
    if manifest.get("key_fingerprint") != key.fingerprint:
        raise EncodingMismatchError(
            "the key does not match the encoded file (key fingerprints "
            f"{key.fingerprint} and {manifest.get('key_fingerprint')})"
        )
    if not hmac.compare_digest(str(manifest.get("manifest_mac", "")),
                               manifest_mac(key, manifest)):
        raise EncodingMismatchError(
            "the encoded file's manifest was changed after encoding (its keyed MAC does not "
            "verify); use the file as written by `linkmatch encode`"
        )

Side = Literal["left", "right"]


def check_candidates(candidates: pd.DataFrame, candidates_manifest: dict[str, Any], *,
                     side: Side, manifest: dict[str, Any], key: Key,
                     source: str = "<candidates>") -> set[str]:
    """Check candidates before ``side`` reveals them; returns the sides screened of decoys.

    Args:
        candidates: the candidates (this side's ids still pseudonyms).
        candidates_manifest: the manifest written beside them by ``match`` (then ``screen``
            or another holder's ``reveal``).
        side: this holder's side.
        manifest: this holder's encoded manifest (MAC-checked by :func:`check_holder`).
        key: the linkage key.
        source: name of the candidates file, for messages.

    Raises:
        EncodingMismatchError: the candidates were not made from this encoded file, or their
            screening claim does not verify.
        ConfigError: the other side's decoys may still be among them.
    """
    check_holder(manifest, key)
    digests = candidates_manifest.get("input_content_sha256")
    recorded = digests.get(side) if isinstance(digests, dict) else None
    if not isinstance(recorded, str) or not hmac.compare_digest(
            recorded, str(manifest.get("content_sha256", ""))):
        raise EncodingMismatchError(
            f"{source}: the candidates were not made from this encoded file (the linkage "
            f"unit's record of the {side} file's content differs from this file's); reveal "
            "with the encoded file that was sent to the linkage unit")
    return check_screening(candidates_manifest, candidates, side=side, key=key)


def reveal_frame(
    candidates: pd.DataFrame,
    *,
    side: Side,
    manifest: dict[str, Any],
    records: pd.DataFrame | Iterable[pd.DataFrame],
    key: Key,
    source: str = "<candidates>",
) -> pd.DataFrame:
    """Replace the pseudonyms in column ``{side}_id`` by the holder's record ids.

    Args:
        candidates: the linkage unit's candidates (pseudonymous ids).
        side: which side this holder is.
        manifest: the manifest of the holder's own encoded file (for the job salt).
        records: the holder's input (``record_id`` column), as one frame or as a stream of
            chunks (:func:`linkmatch.io.iter_person_chunks`): only the ids of candidates are
            kept, so a file of any size is revealed in bounded memory.
        key: the linkage key.
        source: name of the candidates file, for messages.

    Returns:
        The candidates with record ids on this side, without the pairs that hold one of this
        holder's decoys (their number is in ``attrs["decoys_screened"]``). Decoys of the
        *other* side must have been screened by that holder before (see
        :mod:`linkmatch.decoys`).

    Raises:
        EncodingMismatchError: the key is not the one the encoding was made with.
        InputDataError: candidates whose pseudonym is not one of this holder's records.
    """
    if side not in ("left", "right"):
        raise InputDataError("side must be 'left' or 'right'", file=source)
    column = f"{side}_id"
    if column not in candidates.columns:
        raise InputDataError(f"has no {column!r} column", file=source)
    check_holder(manifest, key)
    salt = str(manifest["job_salt"])
    candidates, screened = screen_frame(candidates, side=side, manifest=manifest, key=key)
    pids = candidates[column].astype(str)
    bad = ~pids.str.fullmatch(PSEUDONYM.pattern)
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0]) + 1
        raise InputDataError(
            f"{int(bad.sum())} {side} id(s) are not pseudonyms (32 lower-case hex digits; first "
            f"at row {first}); were these candidates made by `linkmatch match`?",
            file=source, column=column)
    wanted = set(pids.tolist())
    lookup: dict[str, str] = {}
    for chunk in ([records] if isinstance(records, pd.DataFrame) else records):
        record_ids = [t for t in (str(rid).strip()
                                  for rid in dict.fromkeys(chunk["record_id"].tolist())) if t]
        for pid, rid in zip(pseudonyms_hex(key, salt, record_ids), record_ids, strict=True):
            if pid in wanted:
                lookup[pid] = rid
    ids = pids.map(lookup)
    missing = ids.isna()
    if missing.any():
        first = int(missing.to_numpy().nonzero()[0][0]) + 1
        raise InputDataError(
            f"{int(missing.sum())} {side} pseudonym(s) are not records of this encoded file and "
            f"input (first at row {first}); were the candidates made from this encoding?",
            file=source,
            column=column,
        )
    out = candidates.copy()
    out[column] = ids.astype(str)
    out.attrs["decoys_screened"] = screened + int(candidates.attrs.get("decoys_screened", 0))
    return out
