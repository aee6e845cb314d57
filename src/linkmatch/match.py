"""Linkage-unit side: match two encoded files (block → compare → score → candidates).

The linkage unit holds no key. It checks that both files were encoded with the same key and schema
(through their fingerprints), blocks on the keyed blocking keys, compares token levels and Dice of
the name filters, fits a Fellegi–Sunter model by EM on the data itself, and returns candidate pairs
above the threshold only, one row per (left person, right person) with the best score over their
aliases. It never writes the full similarity table.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from linkmatch._version import __version__
from linkmatch.compare.blocking import BlockIndex, candidate_pairs, explode
from linkmatch.compare.levels import (
    COMPARISONS,
    NAME,
    EncodedSide,
    NameFrequencies,
    PairEvidence,
    compare_pairs,
)
from linkmatch.compare.scoring import (
    RARE_NAME_RECORDS,
    TF_LEVELS,
    FellegiSunter,
    fit_em,
    pattern_codes,
)
from linkmatch.errors import ConfigError, EncodingMismatchError
from linkmatch.io import ENCODED_FORMAT, write_json, write_table

__all__ = ["DEFAULT_THRESHOLD", "MatchResult", "assign_one_to_one", "match_encoded"]

DEFAULT_THRESHOLD: Final = 0.5
"""Posterior probability above which a pair is a candidate: the decision that minimises the
expected number of errors when the score is calibrated; review weighs false and missed matches."""

DEFAULT_MAX_BLOCK_PAIRS: Final = 50_000
DEFAULT_CHUNK_ROWS: Final = 50_000
_RANDOM_PAIRS: Final = 200_000
_RANDOM_SEED: Final = 20261129
_CACHE_PAIRS: Final = 20_000_000

CANDIDATE_COLUMNS: Final = (
    "left_id", "right_id", "score", "name_score", "dob_level", "name_level", "sex",
    "nationality", "place_of_birth", "document", "address",
)


@dataclass(frozen=True)
class MatchResult:
    """Candidates (pseudonymous ids) and the run's manifest (counts, model, fingerprints)."""

    candidates: pd.DataFrame
    manifest: dict[str, Any]


def check_compatible(left: dict[str, Any], right: dict[str, Any]) -> None:
    """Refuse two encodings that cannot be compared, saying why.

    Raises:
        EncodingMismatchError: different format version, key or schema.
    """
    for side, man in (("left", left), ("right", right)):
        if man.get("format") != ENCODED_FORMAT:
            raise EncodingMismatchError(
                f"the {side} file has format {man.get('format')!r}; expected {ENCODED_FORMAT!r}"
            )
    if left.get("key_fingerprint") != right.get("key_fingerprint"):
        raise EncodingMismatchError(
            "the two files were encoded with different keys (key fingerprints "
            f"{left.get('key_fingerprint')} and {right.get('key_fingerprint')}); both holders "
            "must encode with the same linkage key"
        )
    if left.get("schema_fingerprint") != right.get("schema_fingerprint"):
        raise EncodingMismatchError(
            "the two files were encoded with different schemas (schema fingerprints differ); "
            "both holders must use the same linkmatch schema settings"
        )


# Name levels at which a pair shares (nearly) a whole name: their frequency reference is that of
# a record's whole name (see _match_reference_log2).
_WHOLE_NAME_LEVELS: Final = (NAME.levels.index("keys_all"), NAME.levels.index("keys_most"))


def _match_reference_log2(left: EncodedSide, right: EncodedSide,
                          frequencies: NameFrequencies) -> float | None:
    """Reference of the term-frequency adjustment of whole-name levels: log2 E_records[f(name)].

    The adjustment turns the level weight log2(m/u) into the weight of the shared value v,
    log2(m_v/u_v). A match shares a value in proportion to its frequency f_v, a random
    non-matching pair in proportion to f_v², so u = Σ f_v² = E_{v~records}[f_v] and
    log2(m_v/u_v) = log2(m/u) + log2(E_records[f]) - log2(f_v). The reference is the
    *record*-weighted mean of f, not the mean of log f over the level's pairs: those pairs are
    mostly non-matches, which over-represent common names (weight f², not f), so that mean gives
    a common name no penalty at all while it is, in fact, the typical chance coincidence.
    f_v is estimated as in ``name_tf`` (:class:`NameFrequencies`), for the record's whole name.
    """
    parts = []
    for side in (left, right):
        named = side.name_count > 0
        keys = side.name_keys[named]
        rec = frequencies.set_log2(keys, keys != 0)
        # one value per person: alias rows of one person are one draw of a name
        _, person = np.unique(side.pid[side.name_count > 0], return_inverse=True)
        person = person.ravel()
        sums = np.bincount(person, weights=np.exp2(rec))
        parts.append(np.log2(sums / np.maximum(np.bincount(person), 1)))
    tf = np.concatenate(parts) if parts else np.zeros(0)
    if not len(tf):
        return None
    return float(np.log2(np.mean(np.exp2(tf))))


def match_encoded(
    left_manifest: dict[str, Any],
    left_table: pa.Table,
    right_manifest: dict[str, Any],
    right_table: pa.Table,
    *,
    threshold: float | None = None,
    max_block_pairs: int = DEFAULT_MAX_BLOCK_PAIRS,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    one_to_one: bool = False,
    checkpoint: Path | None = None,
) -> MatchResult:
    """Match two encoded tables; see the module docstring.

    Args:
        left_manifest, left_table, right_manifest, right_table: the two encodings.
        threshold: minimum score of a candidate (default :data:`DEFAULT_THRESHOLD`); 0 returns
            every compared pair.
        max_block_pairs: blocks with more pairs than this are skipped (counted).
        chunk_rows: left rows compared per chunk (bounds memory).
        one_to_one: keep at most one candidate per left person and per right person, chosen
            greedily by descending score (for files known to hold each person once).
        checkpoint: a private directory for resumable runs: the fitted model and each chunk's
            candidates are kept there as they are done, and reused by a later call with the
            same inputs and parameters (so a killed run resumes where it stopped, with
            identical results). The caller removes it after success.

    Raises:
        EncodingMismatchError: the files cannot be compared.
        ConfigError: invalid parameters.
    """
    started = time.perf_counter()
    threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    if not 0.0 <= threshold <= 1.0 or threshold != threshold:
        raise ConfigError("threshold must be between 0 and 1")
    if max_block_pairs < 1 or chunk_rows < 1:
        raise ConfigError("max_block_pairs and chunk_rows must be positive")
    check_compatible(left_manifest, right_manifest)
    name_bytes = int(left_manifest["schema"]["name_bits"]) // 8
    left = EncodedSide(left_table, name_bytes=name_bytes)
    right = EncodedSide(right_table, name_bytes=name_bytes)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    lkeys, lrows = explode(left_table.column("block_keys"))
    index = BlockIndex((lkeys, lrows), explode(right_table.column("block_keys")),
                       max_block_pairs=max_block_pairs)
    frequencies = NameFrequencies(left, right)
    rare_log2 = float(np.log2(RARE_NAME_RECORDS / max(left.size + right.size, 1)))
    timings["index"] = time.perf_counter() - t0

    inputs = {
        "left": left_manifest.get("content_sha256"),
        "right": right_manifest.get("content_sha256"),
        "threshold": threshold,
        "max_block_pairs": max_block_pairs,
        "chunk_rows": chunk_rows,
        "library_version": __version__,
    }
    resumed = _load_state(checkpoint, inputs)
    cache: list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64], PairEvidence]] | None
    cache = None
    if resumed is not None:
        model, pairs_compared = resumed
        timings["compare"] = timings["model"] = 0.0
    else:
        # pass 1: comparison patterns of every blocked pair ------------------------------------
        t0 = time.perf_counter()
        histogram: Counter[int] = Counter()
        rare_histogram: Counter[int] = Counter()
        tf_sum: dict[int, float] = {}
        tf_n: dict[int, int] = {}
        cache = []
        cached = 0
        pairs_compared = 0
        for k, (li, ri) in enumerate(candidate_pairs(index, lkeys, lrows, chunk_rows=chunk_rows,
                                                     num_left=left.size)):
            if not len(li):
                continue
            ev = compare_pairs(left, right, li, ri, frequencies)
            pairs_compared += len(li)
            pcodes = pattern_codes(ev.levels)
            codes, counts = np.unique(pcodes, return_counts=True)
            histogram.update(dict(zip(codes.tolist(), counts.tolist(), strict=True)))
            rare = (ev.levels[:, 0] == NAME.levels.index("keys_all")) & \
                (ev.name_tf <= rare_log2)
            codes, counts = np.unique(pcodes[rare], return_counts=True)
            rare_histogram.update(dict(zip(codes.tolist(), counts.tolist(), strict=True)))
            for lvl in TF_LEVELS:
                sel = ev.levels[:, 0] == lvl
                tf_sum[lvl] = tf_sum.get(lvl, 0.0) + float(ev.name_tf[sel].sum())
                tf_n[lvl] = tf_n.get(lvl, 0) + int(sel.sum())
            if cache is not None:
                cached += len(li)
                if cached <= _CACHE_PAIRS:
                    cache.append((k, li, ri, ev))
                else:
                    cache = None  # too many to keep: pass 2 recomputes them chunk by chunk
        timings["compare"] = time.perf_counter() - t0

        # model ----------------------------------------------------------------------------
        t0 = time.perf_counter()
        rng = np.random.default_rng(_RANDOM_SEED)
        n_random = min(_RANDOM_PAIRS, left.size * right.size)
        rl = left.content_order()[rng.integers(0, left.size, n_random)] if left.size \
            else np.zeros(0, dtype=np.int64)
        rr = right.content_order()[rng.integers(0, right.size, n_random)] if right.size \
            else np.zeros(0, dtype=np.int64)
        random_levels = compare_pairs(left, right, rl.astype(np.int64),
                                      rr.astype(np.int64)).levels
        if histogram:
            model = fit_em(dict(histogram), random_levels, total_pairs=left.size * right.size,
                           rare_name_pattern_count=dict(rare_histogram))
        else:
            model = fit_em({0: 1}, random_levels, total_pairs=left.size * right.size,
                           max_iter=1)
        model.tf_mean = {lvl: tf_sum[lvl] / tf_n[lvl] for lvl in tf_sum if tf_n[lvl]}
        reference = _match_reference_log2(left, right, frequencies)
        if reference is not None:
            for lvl in _WHOLE_NAME_LEVELS:
                if lvl in model.tf_mean:
                    model.tf_mean[lvl] = reference
        timings["model"] = time.perf_counter() - t0
        _save_state(checkpoint, inputs, model, pairs_compared)

    # pass 2: scores, candidates above the threshold, one checkpointed part per chunk ---------
    t0 = time.perf_counter()
    parts: list[pd.DataFrame] = []
    # the evidence kept from pass 1 when it fitted in memory, otherwise blocking and comparing
    # again chunk by chunk (chunk numbers are the same either way)
    source: Iterable[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64],
                           PairEvidence | None]]
    source = cache if cache is not None else (
        (k, li, ri, None) for k, (li, ri) in enumerate(
            candidate_pairs(index, lkeys, lrows, chunk_rows=chunk_rows, num_left=left.size))
        if len(li))
    for k, li, ri, kept in source:
        part_path = checkpoint / f"part-{k:06d}.parquet" if checkpoint is not None else None
        if part_path is not None and part_path.exists():
            parts.append(pd.read_parquet(part_path))
            continue
        ev = kept if kept is not None else compare_pairs(left, right, li, ri, frequencies)
        part = _candidates(left, right, li, ri, ev, model, threshold)
        if part_path is not None:
            write_table(part, part_path)
        parts.append(part)
    candidates = _group_persons(parts)
    if one_to_one:
        candidates = assign_one_to_one(candidates)
    timings["score"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started

    total_pairs = left.size * right.size
    manifest = {
        "operation": "match",
        "library_version": __version__,
        "format": ENCODED_FORMAT,
        "key_fingerprint": left_manifest.get("key_fingerprint"),
        "schema_fingerprint": left_manifest.get("schema_fingerprint"),
        "threshold": threshold,
        "one_to_one": one_to_one,
        "counts": {
            "left_rows": left.size,
            "right_rows": right.size,
            "left_persons": len(set(left.pid.tolist())),
            "right_persons": len(set(right.pid.tolist())),
            "pairs_compared": pairs_compared,
            "reduction_ratio": 1.0 - pairs_compared / total_pairs if total_pairs else 1.0,
            "block_keys_shared": index.stats.keys_shared,
            "block_keys_skipped": index.stats.keys_skipped,
            "candidates": len(candidates),
        },
        "model": model.to_dict(),
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    return MatchResult(candidates=candidates, manifest=manifest)


def _load_state(checkpoint: Path | None,
                inputs: dict[str, Any]) -> tuple[FellegiSunter, int] | None:
    """The model and pair count of an interrupted run with the same inputs, if any."""
    if checkpoint is None:
        return None
    path = checkpoint / "model.json"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if state.get("inputs") != inputs:
        return None
    return FellegiSunter.from_state(state["model"]), int(state["pairs_compared"])


def _save_state(checkpoint: Path | None, inputs: dict[str, Any], model: FellegiSunter,
                pairs_compared: int) -> None:
    if checkpoint is None:
        return
    checkpoint.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in checkpoint.glob("part-*.parquet"):
        stale.unlink()  # parts of another model are not ours
    write_json({"inputs": inputs, "model": model.to_state(), "pairs_compared": pairs_compared},
               checkpoint / "model.json")


def _candidates(left: EncodedSide, right: EncodedSide, li: npt.NDArray[np.int64],
                ri: npt.NDArray[np.int64], ev: PairEvidence, model: FellegiSunter,
                threshold: float) -> pd.DataFrame:
    score = model.probability(ev.levels, ev.name_tf)
    keep = score >= threshold
    lv = ev.levels[keep]
    data: dict[str, Any] = {
        "left_id": left.pid[li[keep]],
        "right_id": right.pid[ri[keep]],
        "score": score[keep],
        "name_score": np.round(ev.name_score[keep], 4),
    }
    names = {"name": "name_level", "dob": "dob_level", "place_of_birth": "place_of_birth"}
    for j, comp in enumerate(COMPARISONS):
        labels = np.asarray(comp.levels, dtype=object)
        data[names.get(comp.name, comp.name)] = labels[lv[:, j]]
    return pd.DataFrame(data)


def assign_one_to_one(frame: pd.DataFrame) -> pd.DataFrame:
    """Greedy one-to-one assignment over candidates sorted by descending score.

    Each person appears at most once on each side: the best-scoring pair wins and removes both
    persons from further pairs (as anonlink's greedy solver). Only for files in which every
    person is recorded once; an asylum file with repeat applicants is not such a file.
    """
    used_left: set[str] = set()
    used_right: set[str] = set()
    keep = []
    for i, (left_id, right_id) in enumerate(zip(frame["left_id"], frame["right_id"],
                                                strict=True)):
        if left_id in used_left or right_id in used_right:
            continue
        used_left.add(left_id)
        used_right.add(right_id)
        keep.append(i)
    return frame.iloc[keep].reset_index(drop=True)


def _group_persons(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per (left person, right person): the best-scoring alias pair; sorted."""
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CANDIDATE_COLUMNS})
    frame = pd.concat(parts, ignore_index=True)
    frame["score"] = frame["score"].round(6)
    frame = frame.sort_values(["score", "name_score", "left_id", "right_id"],
                              ascending=[False, False, True, True], kind="mergesort")
    frame = frame.drop_duplicates(["left_id", "right_id"], keep="first")
    return frame.loc[:, list(CANDIDATE_COLUMNS)].reset_index(drop=True)
