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
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from linkmatch.errors import ConfigError
from linkmatch.pseudonymise.keys import Key, KeyLike
from linkmatch.pseudonymise.prf import KeyedPRF
from linkmatch.schema import PERSON_COLUMNS

__all__ = ["MAX_DECOY_RATE", "check_rate", "decoy_ids", "decoy_pseudonyms", "make_decoys",
           "screen_frame"]

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
