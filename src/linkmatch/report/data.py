"""What a review page shows, computed from files: candidates, the match manifest, own records.

One small reader (:func:`read_review_candidates`) tolerates candidates files whose optional
evidence columns are missing or coarser than the fitted model knows: the page says where a
contribution cannot be computed instead of guessing. Per-field contributions come from the
manifest's fitted model (log2 m/u of each level), so they are the linkage unit's own numbers.

Privacy: the linkage unit's view and the truth view carry ids only when they are pseudonyms
(32 hex digits, what ``match`` writes); record ids of a ``link`` output are withheld. The
holder's view carries the holder's *own* plain records and the other side's pseudonyms, never
the other side's values: a file whose other side holds record ids is refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from linkmatch.disclosure import COARSE
from linkmatch.errors import ConfigError, InputDataError

__all__ = ["EVIDENCE", "OWN_COLUMNS", "Contributions", "contributions", "evidence_of",
           "expected_quality", "is_pseudonym", "level_bits", "own_records", "read_match_manifest",
           "read_review_candidates", "revealed_side"]

Side = Literal["left", "right"]

EVIDENCE: Final = (
    # (label on the page, comparison in the manifest's model, candidates column)
    ("name", "name", "name_level"),
    ("date", "dob", "dob_level"),
    ("sex", "sex", "sex"),
    ("nationality", "nationality", "nationality"),
    ("place", "place_of_birth", "place_of_birth"),
    ("document", "document", "document"),
    ("address", "address", "address"),
)
"""The fields of the waterfall, in its order after the prior."""

OWN_COLUMNS: Final = ("given_names", "family_name", "full_name", "date_of_birth", "sex",
                      "nationality", "place_of_birth", "document_number", "address")
"""Columns of the holder's own record shown beside a candidate (the person schema)."""

_PSEUDONYM: Final = re.compile(r"[0-9a-f]{32}")
_SATURATED: Final = 1e-12
"""A score this close to 0 or 1 has lost its log-odds to rounding: no remainder is computed."""
_COARSE_STEP: Final = 0.01
"""Coarse candidates' scores are rounded to this (:mod:`linkmatch.disclosure`)."""


def read_review_candidates(path: Path) -> pd.DataFrame:
    """Read a candidates file for review: ``left_id, right_id, score`` and what evidence it has.

    Evidence columns are optional (a coarser candidates file may omit ``name_score`` or a
    level column); ids are kept as text, evidence as text, scores as floats.

    Raises:
        InputDataError: unreadable file, a missing required column, or a score that is not a
            number in [0, 1] (file, row and column named, never the value).
    """
    label = str(path)
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError):
        raise InputDataError("cannot be read as a candidates file", file=label) from None
    for column in ("left_id", "right_id", "score"):
        if column not in frame.columns:
            raise InputDataError(f"has no {column!r} column", file=label)
    scores = pd.to_numeric(frame["score"], errors="coerce")
    bad = scores.isna() | (scores < 0) | (scores > 1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise InputDataError("score is not a number between 0 and 1", file=label, row=row,
                             column="score")
    out = frame.astype({c: str for c in frame.columns if c != "score"})
    out["score"] = scores.astype(np.float64)
    return out.reset_index(drop=True)


def read_match_manifest(candidates: Path) -> dict[str, Any] | None:
    """The manifest ``match`` or ``link`` wrote beside ``candidates`` (None if there is none)."""
    from linkmatch.io import read_candidates_manifest

    return read_candidates_manifest(candidates)


def is_pseudonym(values: pd.Series) -> npt.NDArray[np.bool_]:
    """Which ids are pseudonyms (32 lower-case hex digits), not holders' record ids."""
    return np.fromiter((bool(_PSEUDONYM.fullmatch(v)) for v in values.astype(str)),
                       dtype=bool, count=len(values))


@dataclass(frozen=True)
class Contributions:
    """Per-candidate contributions to the match weight, in bits (log2 of the odds).

    Attributes:
        fields: ``prior`` then the labels of :data:`EVIDENCE` and ``adjustment``.
        bits: one row per candidate, one column per field; NaN where it cannot be computed.
        levels: the level each candidate has per field of :data:`EVIDENCE` ("" if absent).
        notes: why a column could not be computed, per field (empty when it could).
    """

    fields: tuple[str, ...]
    bits: npt.NDArray[np.float64]
    levels: list[list[str]]
    notes: dict[str, str]
    adjustment_at_least: npt.NDArray[np.float64] | None = None
    """Where the score rounds to 1 and every part is known, the least the adjustment can be
    (the score's log2-odds is at least that of 1 minus half its rounding step); else NaN."""


def _log2_odds(score: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    inside = (score > _SATURATED) & (score < 1 - _SATURATED)
    safe = np.clip(score, _SATURATED, 1 - _SATURATED)
    return np.where(inside, np.log2(safe / (1 - safe)), np.nan)


def level_bits(model: dict[str, Any], evidence: str = "exact") -> dict[str, dict[str, float]]:
    """log2(m/u) of every level of every comparison in a manifest's model (missing: 0 bits).

    With ``evidence="coarse"`` (the candidates' default, :mod:`linkmatch.disclosure`), a
    coarsened column's values are classes of exact levels; a class's weight is
    log2(Σ m / Σ u) over the levels it stands for: the evidence the class itself carries, which
    lies between the weights of its members.
    """
    out: dict[str, dict[str, float]] = {}
    for comparison, levels in model.get("comparisons", {}).items():
        table = {"missing": 0.0, "": 0.0}
        for level, mu in levels.items():
            m, u = max(float(mu["m"]), 1e-12), max(float(mu["u"]), 1e-12)
            table[level] = math.log2(m / u)
        column = next((col for _, comp, col in EVIDENCE if comp == comparison), "")
        if evidence == "coarse" and column in COARSE:
            table = {"missing": 0.0, "": 0.0}
            classes: dict[str, tuple[float, float]] = {}
            for level, coarse in COARSE[column].items():
                if level in levels:
                    m, u = classes.get(coarse, (0.0, 0.0))
                    classes[coarse] = (m + float(levels[level]["m"]),
                                       u + float(levels[level]["u"]))
            for coarse, (m, u) in classes.items():
                table[coarse] = math.log2(max(m, 1e-12) / max(u, 1e-12))
        out[comparison] = table
    return out


def contributions(candidates: pd.DataFrame, model: dict[str, Any] | None,
                  evidence: str = "exact") -> Contributions:
    """Split each candidate's match weight into the prior and one part per field.

    The parts are the model's log2(m/u) of the level each field shows. What the level
    columns cannot explain — the name-frequency adjustment (a rare shared name weighs more)
    and the correction for fields that agree together among non-matches — is the
    ``adjustment``: the candidate's log2-odds minus the sum of the parts. It is NaN when a
    part is unknown, or when the score is 0 or 1 to its precision.

    ``evidence`` is the manifest's ``candidate_evidence``: with ``"coarse"`` a coarsened
    level's part is the weight of its class (:func:`level_bits`), and the adjustment also
    holds what the class does not tell of the exact level.
    """
    fields = ("prior", *(label for label, _, _ in EVIDENCE), "adjustment")
    n = len(candidates)
    bits = np.full((n, len(fields)), np.nan)
    levels: list[list[str]] = [[] for _ in range(n)]
    notes: dict[str, str] = {}
    if model is None:
        notes = {f: "no match manifest beside the candidates: the model is unknown"
                 for f in fields}
        for row in levels:
            row.extend("" for _ in EVIDENCE)
        return Contributions(fields, bits, levels, notes)
    lam = float(model.get("lambda", 0.0))
    if 0.0 < lam < 1.0:
        bits[:, 0] = math.log2(lam / (1 - lam))
    else:
        notes["prior"] = "the model has no prior"
    weights = level_bits(model, evidence)
    for j, (label, comparison, column) in enumerate(EVIDENCE, start=1):
        present = column in candidates.columns
        values = candidates[column].astype(str).tolist() if present else [""] * n
        for row, value in zip(levels, values, strict=True):
            row.append(value)
        if not present:
            notes[label] = f"the candidates have no {column!r} column"
            continue
        table = weights.get(comparison)
        if table is None:
            notes[label] = f"the model has no {comparison!r} comparison"
            continue
        bits[:, j] = np.array([table.get(v, np.nan) for v in values], dtype=np.float64)
        if np.isnan(bits[:, j]).any():
            notes[label] = "some levels are not levels of the fitted model (coarsened?)"
    explained = bits[:, :-1].sum(axis=1)
    score = candidates["score"].to_numpy(dtype=np.float64)
    bits[:, -1] = _log2_odds(score) - explained
    # a score that rounds to 1 still bounds the adjustment from below
    top = 1.0 - (_COARSE_STEP if evidence == "coarse" else _SATURATED) / 2
    at_least = np.where(score >= top, math.log2(top / (1 - top)) - explained, np.nan)
    if evidence == "coarse":  # 0.99 means [0.985, 0.995): its log2-odds is a range too
        bits[:, -1] = np.where(score >= top, np.nan, bits[:, -1])
    if np.isnan(bits[:, -1]).any():
        notes["adjustment"] = ("not computable where a part is unknown or the score is 0 or 1 "
                               "to its precision")
    return Contributions(fields, bits, levels, notes, at_least)


def evidence_of(manifest: dict[str, Any] | None) -> str:
    """What the candidates' evidence columns hold: ``"coarse"`` or ``"exact"`` levels.

    A manifest without the field predates coarse evidence: its levels are exact.
    """
    if manifest is None:
        return "exact"
    return str(manifest.get("candidate_evidence", "exact"))


def expected_persons(manifest: dict[str, Any]) -> float | None:
    """Matching person pairs the model expects among all pairs of the job (None: unknown).

    The prior is a share of all row pairs; aliases on the right are one person, so the
    count is ``lambda × left rows × right persons``.
    """
    model = manifest.get("model", {})
    counts = manifest.get("counts", {})
    lam = model.get("lambda")
    left, right = counts.get("left_rows"), counts.get("right_persons", counts.get("right_rows"))
    if lam is None or not left or not right:
        return None
    return float(lam) * float(left) * float(right)


def expected_quality(scores: npt.NDArray[np.float64], expected: float | None,
                     thresholds: Iterable[float]) -> Iterator[tuple[float, float, float | None]]:
    """Expected precision and recall at each threshold, from calibrated scores alone.

    A calibrated score is the probability that the pair is a match, so the expected number
    of matches among the candidates at or above ``t`` is the sum of their scores: precision
    is their mean, and recall that sum over the matches the model expects in all (None when
    unknown). No label is used. Thresholds below the lowest candidate's score cannot be
    judged: pairs below the match threshold were not kept.
    """
    order = np.sort(scores)[::-1]
    cumulative = np.cumsum(order)
    for t in thresholds:
        kept = int(np.searchsorted(-order, -t, side="right"))
        found = float(cumulative[kept - 1]) if kept else 0.0
        precision = found / kept if kept else 1.0
        recall = min(found / expected, 1.0) if expected else None
        yield float(t), precision, recall


def revealed_side(revealed: pd.DataFrame, side: Side | None, label: str) -> Side:
    """Which side a revealed file is the holder's, checking the other side is pseudonymous.

    Raises:
        ConfigError: the other side's ids are not pseudonyms (a ``link`` output, or the
            wrong file): its record ids would reach the holder's page.
    """
    left = is_pseudonym(revealed["left_id"])
    right = is_pseudonym(revealed["right_id"])
    if side is None:
        if right.all() and not left.all():
            side = "left"
        elif left.all() and not right.all():
            side = "right"
        else:
            raise ConfigError(f"{label}: cannot tell which side was revealed; give --side")
    other = right if side == "left" else left
    if not other.all():
        raise ConfigError(
            f"{label}: the {'right' if side == 'left' else 'left'} side's ids are not "
            "pseudonyms, so the holder's page would show the other side's record ids; use "
            "the output of `linkmatch reveal` for this holder only")
    return side


def own_records(path: Path, wanted: set[str]) -> dict[str, dict[str, str]]:
    """The holder's own plain values of the wanted record ids, streamed from its input.

    Aliases (several rows of one id) are shown together: distinct values joined by " / ".
    """
    from linkmatch.io import iter_person_chunks

    found: dict[str, dict[str, list[str]]] = {}
    for chunk in iter_person_chunks(path):
        ids = chunk["record_id"].astype(str).str.strip()
        keep = ids.isin(wanted).to_numpy()
        columns = [c for c in OWN_COLUMNS if c in chunk.columns]
        rows = chunk.loc[keep, columns].fillna("").astype(str).to_dict("records")
        for rid, values in zip(ids[keep], rows, strict=True):
            record = found.setdefault(str(rid), {c: [] for c in OWN_COLUMNS})
            for column in columns:
                value = values[column].strip()
                if value and value not in record[column]:
                    record[column].append(value)
    return {rid: {c: " / ".join(v) for c, v in rec.items()} for rid, rec in found.items()}
