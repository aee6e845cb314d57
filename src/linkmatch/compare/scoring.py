"""Fellegi–Sunter scoring with parameters estimated without labels (EM).

Model: a compared pair is a match with prior ``lambda_``; given match status, the comparison levels
are independent with probabilities ``m[c][level]`` (matches) and ``u[c][level]`` (non-matches).
The score of a pair is the posterior probability of a match::

    logit(score) = logit(lambda_) + Σ_c log(m[c][l_c] / u[c][l_c]) + frequency adjustment

Level 0 of every comparison ("missing") carries no evidence (m = u).

Estimation (Winkler 1988; as in splink): ``u`` starts from random pairs (nearly all non-matches),
``m`` from a prior guess; EM over the histogram of comparison patterns of the blocked pairs then
refines ``m``, ``u`` and ``lambda_``. EM runs on pattern counts, not on pairs, so its cost does not
grow with the number of pairs.

Frequency-aware names: agreement on name keys is scaled by how rare the shared keys are
(Winkler's term-frequency adjustment): the adjustment is ``-(Σ log2 f(key) - mean)`` bits over
the pairs of the level, so a level keeps its average weight, a shared rare name weighs more and a
shared "Mohammed" less. The frequencies are counted from the encodings (the linkage unit can
count tokens; it cannot read them).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from numba import njit

from linkmatch.compare.levels import (
    ALL_KEYS_LEVELS,
    COMPARISONS,
    DOB,
    NAME,
    NATIONALITY,
    WHOLE_NAME_LEVELS,
)

__all__ = ["PATTERN_CODES", "RARE_NAME_RECORDS", "TF_LEVELS", "FellegiSunter", "fit_em",
           "pattern_codes"]

_RADIX: Final = tuple(len(c.levels) for c in COMPARISONS)
# Prior knowledge of how the recorded dates of birth of one person differ between two
# registrations (a Dirichlet prior worth _M_PRIOR_PAIRS pairs, updated by the data). Without
# labels, "same name, date years apart" is ambiguous between a recording error and a namesake;
# EM alone cannot tell them apart, so the share of large date errors must come from knowledge
# of the registration process rather than from the data at hand. Order: DOB.levels.
_M_PRIOR: Final = {
    1: np.array([0.0, 0.50, 0.05, 0.01, 0.05, 0.05, 0.22, 0.05, 0.03, 0.04]),
}
_M_PRIOR_PAIRS: Final = 400.0
TF_LEVELS: Final = tuple(i for i, name in enumerate(NAME.levels)
                          if name not in ("missing", "different"))
_TF_CLIP: Final = 6.0
RARE_NAME_RECORDS: Final = 2.5
"""A shared name-key set held by at most this many records (in both files) counts as rare: in
practice only by the two records of the pair itself."""
_PSEUDO: Final = 0.5


def pattern_codes(levels: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Mixed-radix code of each row of comparison levels."""
    code = np.zeros(len(levels), dtype=np.int64)
    for j, radix in enumerate(_RADIX):
        code = code * radix + levels[:, j]
    return code


_NAME_STRIDE: Final = math.prod(_RADIX[1:])
"""Codes per name level: a pattern code's name level is ``code // _NAME_STRIDE``."""
PATTERN_CODES: Final = math.prod(_RADIX)
"""Number of comparison patterns (every pattern code is below it)."""


def _decode(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    out = np.zeros((len(codes), len(_RADIX)), dtype=np.int64)
    rest = codes.copy()
    for j in range(len(_RADIX) - 1, -1, -1):
        out[:, j] = rest % _RADIX[j]
        rest //= _RADIX[j]
    return out


def _prior_m() -> list[npt.NDArray[np.float64]]:
    """A prior guess of m: matches mostly agree, with realistic noise."""
    out = []
    for comp in COMPARISONS:
        k = len(comp.levels) - 1
        weights = np.linspace(2.0, 0.2, k) ** 2
        out.append(np.concatenate([[1.0], weights / weights.sum()]))
    return out


@dataclass
class FellegiSunter:
    """Fitted parameters. JSON-serialisable through :meth:`to_dict` (no personal data)."""

    lambda_: float
    m: list[npt.NDArray[np.float64]]
    u: list[npt.NDArray[np.float64]]
    tf_mean: dict[int, float] = field(default_factory=dict)
    iterations: int = 0
    joint_adjust: npt.NDArray[np.float64] | None = None
    """log2(u_independent / u_joint) per (name level, nationality, place, document level):
    corrects the independence assumption where non-matches that share names also tend to share
    nationality and place (see :func:`_joint_adjustment`)."""
    tf_counted: dict[int, dict[int, float]] = field(default_factory=dict)
    """Per name level and frequency bucket (:func:`tf_bucket`), the name-frequency adjustment
    counted from the data, which replaces the formula's ``tf_mean - tf`` there (see
    :func:`counted_rare_names`)."""

    def level_weights(self) -> list[npt.NDArray[np.float64]]:
        """log2(m/u) per comparison and level (0 for missing)."""
        out = []
        for m, u in zip(self.m, self.u, strict=True):
            w = np.log2(np.maximum(m, 1e-12) / np.maximum(u, 1e-12))
            w[0] = 0.0
            out.append(w)
        return out

    def log2_odds(self, levels: npt.NDArray[np.uint8],
                  name_tf: npt.NDArray[np.float64] | None = None) -> npt.NDArray[np.float64]:
        """Match log2-odds of each pair (prior included).

        The weights of every comparison pattern (a few tens of thousands) are summed once into
        a table read by each pair's pattern code, and the name-frequency adjustment is read
        from per-level tables: a few passes over the pairs instead of one per comparison and
        name level (84 ns per pair before). The same numbers, in the same order of addition,
        as :meth:`log2_odds_reference` (property-tested).
        """
        return self.log2_odds_codes(pattern_codes(levels), name_tf)

    def log2_odds_codes(self, codes: npt.NDArray[np.integer[Any]],
                        name_tf: npt.NDArray[np.float64] | None = None
                        ) -> npt.NDArray[np.float64]:
        """:meth:`log2_odds` of pairs given by their pattern codes (:func:`pattern_codes`).

        What a pair's score needs is its pattern code and its name frequency: a match stores
        these two numbers per pair in its first pass and scores from them in the second.
        """
        weights = self.level_weights()
        table = np.full(PATTERN_CODES, np.log2(self.lambda_ / (1.0 - self.lambda_)))
        every = _all_patterns()
        for j, w in enumerate(weights):
            table += w[every[:, j]]
        if self.joint_adjust is not None:
            table += self.joint_adjust[every[:, 0], every[:, 3], every[:, 4], every[:, 5]]
        total: npt.NDArray[np.float64] = table[codes]
        if name_tf is not None and self.tf_mean:
            mean = np.full(len(NAME.levels), np.nan)
            for lvl, value in self.tf_mean.items():
                mean[lvl] = value
            name_level = codes // _NAME_STRIDE  # the name is the code's leading digit
            at_mean = mean[name_level]
            has = ~np.isnan(at_mean)
            adjust = np.where(has, np.clip(at_mean - name_tf, -_TF_CLIP, _TF_CLIP), 0.0)
            if self.tf_counted:
                counted = np.full((len(NAME.levels), TF_BUCKETS), np.nan)
                for lvl, by_bucket in self.tf_counted.items():
                    for b, value in by_bucket.items():
                        counted[lvl, b] = value
                at_counted = counted[name_level, tf_bucket(name_tf)]
                adjust = np.where(has & ~np.isnan(at_counted), at_counted, adjust)
            total += adjust
        return total

    def log2_odds_reference(self, levels: npt.NDArray[np.uint8],
                            name_tf: npt.NDArray[np.float64] | None = None
                            ) -> npt.NDArray[np.float64]:
        """Plain reference of :meth:`log2_odds`: field by field, name level by name level."""
        weights = self.level_weights()
        total = np.full(len(levels), np.log2(self.lambda_ / (1.0 - self.lambda_)))
        for j, w in enumerate(weights):
            total += w[levels[:, j]]
        if self.joint_adjust is not None:
            total += self.joint_adjust[levels[:, 0], levels[:, 3], levels[:, 4], levels[:, 5]]
        if name_tf is not None and self.tf_mean:
            name_level = levels[:, 0]
            for lvl, mean in self.tf_mean.items():
                sel = name_level == lvl
                adjust = np.clip(mean - name_tf[sel], -_TF_CLIP, _TF_CLIP)
                counted = self.tf_counted.get(lvl)
                if counted:
                    bucket = tf_bucket(name_tf[sel])
                    for b, value in counted.items():
                        adjust[bucket == b] = value
                total[sel] += adjust
        return total

    def probability(self, levels: npt.NDArray[np.uint8],
                    name_tf: npt.NDArray[np.float64] | None = None,
                    extra_log2: npt.NDArray[np.float64] | None = None
                    ) -> npt.NDArray[np.float64]:
        """Posterior match probability of each pair (``extra_log2`` added to the log2-odds)."""
        return self.probability_codes(pattern_codes(levels), name_tf, extra_log2)

    def probability_codes(self, codes: npt.NDArray[np.integer[Any]],
                          name_tf: npt.NDArray[np.float64] | None = None,
                          extra_log2: npt.NDArray[np.float64] | None = None
                          ) -> npt.NDArray[np.float64]:
        """:meth:`probability` of pairs given by their pattern codes (:func:`pattern_codes`)."""
        odds = self.log2_odds_codes(codes, name_tf)
        if extra_log2 is not None:
            odds = odds + extra_log2
        return 1.0 / (1.0 + np.exp2(-np.clip(odds, -60, 60)))

    def to_state(self) -> dict[str, Any]:
        """Every fitted number, exactly (JSON floats round-trip), for resumable runs."""
        return {
            "lambda": self.lambda_,
            "m": [x.tolist() for x in self.m],
            "u": [x.tolist() for x in self.u],
            "tf_mean": {str(k): v for k, v in self.tf_mean.items()},
            "iterations": self.iterations,
            "joint_adjust": None if self.joint_adjust is None else self.joint_adjust.tolist(),
            "tf_counted": {str(k): {str(b): v for b, v in t.items()}
                           for k, t in self.tf_counted.items()},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FellegiSunter:
        """Rebuild a model from :meth:`to_state`."""
        joint = state.get("joint_adjust")
        return cls(
            lambda_=float(state["lambda"]),
            m=[np.asarray(x, dtype=np.float64) for x in state["m"]],
            u=[np.asarray(x, dtype=np.float64) for x in state["u"]],
            tf_mean={int(k): float(v) for k, v in state["tf_mean"].items()},
            iterations=int(state["iterations"]),
            joint_adjust=None if joint is None else np.asarray(joint, dtype=np.float64),
            tf_counted={int(k): {int(b): float(v) for b, v in t.items()}
                        for k, t in state.get("tf_counted", {}).items()},
        )

    def to_dict(self) -> dict[str, Any]:
        """Parameters as plain JSON (for the match manifest and review)."""
        return {
            "lambda": self.lambda_,
            "iterations": self.iterations,
            "comparisons": {
                comp.name: {
                    level: {"m": float(m[i]), "u": float(u[i])}
                    for i, level in enumerate(comp.levels) if i
                }
                for comp, m, u in zip(COMPARISONS, self.m, self.u, strict=True)
            },
            "name_frequency_mean_log2": {NAME.levels[k]: v for k, v in self.tf_mean.items()},
            "name_frequency_counted": {NAME.levels[k]: {f"2^-{b}": v for b, v in t.items()}
                                       for k, t in self.tf_counted.items()},
        }


TF_BUCKETS: Final = 64


@functools.lru_cache(maxsize=1)
def _all_patterns() -> npt.NDArray[np.int64]:
    """The levels of every pattern code, in code order."""
    return _decode(np.arange(PATTERN_CODES, dtype=np.int64))


def tf_bucket(name_tf: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Frequency bucket of a shared name: b where the frequency is in (2^-(b+1), 2^-b]."""
    out: npt.NDArray[np.int64] = np.clip(np.floor(-name_tf + 1e-9), 0, TF_BUCKETS - 1) \
        .astype(np.int64)
    return out


@dataclass(frozen=True)
class PatternSummary:
    """What pass 1 keeps of a chunk of compared pairs (all counts exact integers).

    Attributes:
        codes: each pair's pattern code (:func:`pattern_codes`).
        histogram: pairs per pattern code (codes with none left out).
        rare_histogram: the same, of the pairs sharing every key of a name whose frequency
            is at most ``2**rare_log2``.
        tf_sum, tf_n: per frequency-adjusted name level (:data:`TF_LEVELS`), the sum of the
            pairs' log2 name frequencies in fixed point (``tf_unit``) and their number.
        tf_hist: pairs sharing every key of a name, per (level, frequency bucket): code
            ``(level * TF_BUCKETS + bucket) * 4`` counts all, ``+ 1`` those with both dates,
            ``+ 2`` those with the same full date.
    """

    codes: npt.NDArray[np.int64]
    histogram: dict[int, int]
    rare_histogram: dict[int, int]
    tf_sum: dict[int, int]
    tf_n: dict[int, int]
    tf_hist: dict[int, int]


def _nonzero(counts: npt.NDArray[np.int64]) -> dict[int, int]:
    seen = np.flatnonzero(counts)
    return dict(zip(seen.tolist(), counts[seen].tolist(), strict=True))


def _bincount(codes: npt.NDArray[np.int64], size: int) -> dict[int, int]:
    return _nonzero(np.bincount(codes, minlength=size).astype(np.int64))


_EXACT_DATE: Final = DOB.levels.index("exact")
_ALL_KEYS_MASK: Final = np.isin(np.arange(len(NAME.levels)), ALL_KEYS_LEVELS)
_TF_LEVEL_MASK: Final = np.isin(np.arange(len(NAME.levels)), TF_LEVELS)
_TF_HIST_SIZE: Final = len(NAME.levels) * TF_BUCKETS * 4


def pattern_summary(levels: npt.NDArray[np.uint8], name_tf: npt.NDArray[np.float64],
                    rare_log2: float, tf_unit: float) -> PatternSummary:
    """Pass 1's counts of a chunk of pairs, in one compiled pass over them (the same numbers
    as :func:`pattern_summary_reference`, property-tested; its numpy passes, one per name
    level and histogram, took a quarter of pass 1).

    Args:
        levels: the pairs' comparison levels, (pairs, comparisons).
        name_tf: the pairs' log2 frequency of the shared name-key set.
        rare_log2: log2 of the largest frequency of a rare name.
        tf_unit: fixed point of the frequency sums.
    """
    n = len(levels)
    codes = np.empty(n, dtype=np.int64)
    hist = np.zeros(PATTERN_CODES, dtype=np.int64)
    rare = np.zeros(PATTERN_CODES, dtype=np.int64)
    tf_sum = np.zeros(len(NAME.levels), dtype=np.int64)
    tf_n = np.zeros(len(NAME.levels), dtype=np.int64)
    tf_hist = np.zeros(_TF_HIST_SIZE, dtype=np.int64)
    if n:
        _summary_kernel(np.ascontiguousarray(levels), np.ascontiguousarray(name_tf),
                        np.array(_RADIX, dtype=np.int64), _ALL_KEYS_MASK, _TF_LEVEL_MASK,
                        float(rare_log2), float(tf_unit), _EXACT_DATE, TF_BUCKETS,
                        codes, hist, rare, tf_sum, tf_n, tf_hist)
    return PatternSummary(
        codes=codes, histogram=_nonzero(hist), rare_histogram=_nonzero(rare),
        tf_sum={lvl: int(tf_sum[lvl]) for lvl in TF_LEVELS},
        tf_n={lvl: int(tf_n[lvl]) for lvl in TF_LEVELS}, tf_hist=_nonzero(tf_hist))


@njit(cache=True, nogil=True)
def _summary_kernel(levels: Any, name_tf: Any, radix: Any, all_keys: Any, tf_levels: Any,
                    rare_log2: float, tf_unit: float, exact: int, buckets: int, codes: Any,
                    hist: Any, rare: Any, tf_sum: Any, tf_n: Any,
                    tf_hist: Any) -> None:  # pragma: no cover - compiled
    n, k = levels.shape
    for i in range(n):
        code = 0
        for j in range(k):
            code = code * radix[j] + levels[i, j]
        codes[i] = code
        hist[code] += 1
        name = levels[i, 0]
        tf = name_tf[i]
        if tf_levels[name]:
            tf_sum[name] += np.int64(np.rint(tf * tf_unit))
            tf_n[name] += 1
        if all_keys[name]:
            if tf <= rare_log2:
                rare[code] += 1
            bucket = min(max(np.floor(-tf + 1e-9), 0.0), buckets - 1.0)
            at = (np.int64(name) * buckets + np.int64(bucket)) * 4
            tf_hist[at] += 1
            if levels[i, 1] != 0:
                tf_hist[at + 1] += 1
            if levels[i, 1] == exact:
                tf_hist[at + 2] += 1


def pattern_summary_reference(levels: npt.NDArray[np.uint8], name_tf: npt.NDArray[np.float64],
                              rare_log2: float, tf_unit: float) -> PatternSummary:
    """Plain numpy :func:`pattern_summary`, the reference for property tests."""
    codes = pattern_codes(levels)
    every = np.isin(levels[:, 0], ALL_KEYS_LEVELS)  # every key of a name shared
    tf_sum, tf_n = {}, {}
    for lvl in TF_LEVELS:
        sel = levels[:, 0] == lvl
        tf_sum[lvl] = int(np.rint(name_tf[sel] * tf_unit).astype(np.int64).sum())
        tf_n[lvl] = int(sel.sum())
    code = (levels[every, 0].astype(np.int64) * TF_BUCKETS + tf_bucket(name_tf[every])) * 4
    dob = levels[every, 1]
    tf_hist = np.bincount(code, minlength=_TF_HIST_SIZE) + \
        np.bincount(code[dob != 0] + 1, minlength=_TF_HIST_SIZE) + \
        np.bincount(code[dob == _EXACT_DATE] + 2, minlength=_TF_HIST_SIZE)
    return PatternSummary(
        codes=codes, histogram=_bincount(codes, PATTERN_CODES),
        rare_histogram=_bincount(codes[every & (name_tf <= rare_log2)], PATTERN_CODES),
        tf_sum=tf_sum, tf_n=tf_n, tf_hist=_nonzero(tf_hist.astype(np.int64)))


_COUNTED_MIN_PAIRS: Final = 20.0
_COUNTED_MIN_SAME_DATE: Final = 5


def counted_rare_names(model: FellegiSunter, levels: Sequence[int], blocked: Mapping[int, int],
                       reference: float, total_pairs: float) -> dict[int, dict[int, float]]:
    """Name-frequency adjustments of rare names, counted from the blocked pairs.

    The formula adjustment ``reference - log2 f`` assumes that a non-matching pair shares a
    name in proportion to the name's frequency f, down to the rarest. At the rare end it is not
    so: the frequency of a name key set is estimated by its rarest pair of keys and counts the
    pair's own two records, and people who share a rare name are often kin (a son named after
    his grandfather, cousins). At 200,000 × 10,000 (synthetic, seed 0), the pairs sharing every
    key of a name held by about two records had log2-odds of 3.8 on average where half of them
    were true pairs (0), and in the next, commoner bucket 0.4 where 24 % were true (-1.6).

    For the levels that blocking always catches, the blocked pairs can say it directly. Of the
    ``n`` pairs at level L whose shared name falls in frequency bucket b (:func:`tf_bucket`),
    the matches number about ``s / P(same date | match)`` · ``n / n_dated``, where ``s`` of them
    share a full date of birth (which non-matches nearly never do) and ``n_dated`` have dates
    on both sides; the rest are non-matches. The weight of (L, b) is then
    ``log2(P(L, b | match) / P(L, b | non-match))``, returned as the adjustment to add to
    ``log2(m_L / u_L)``. Only buckets rarer than ``reference`` (common names fill blocks
    skipped as too large, which the blocked pairs miss), with at least
    ``_COUNTED_MIN_SAME_DATE`` same-date pairs and ``_COUNTED_MIN_PAIRS`` non-matches; other
    buckets keep the formula.

    Args:
        model: the fitted model (its prior, m and u).
        levels: the name levels to count (all name keys shared).
        blocked: pair counts by ``(level * TF_BUCKETS + bucket) * 4 + kind``, kind 0: all
            pairs, 1: pairs with both dates, 2: pairs with the same full date.
        reference: the formula's reference, log2 of the mean name frequency.
        total_pairs: all pairs of the job.
    """
    n_match = model.lambda_ * total_pairs
    non_pairs = max(total_pairs - n_match, 1.0)
    same_date = float(model.m[1][DOB.levels.index("exact")])
    out: dict[int, dict[int, float]] = {}
    if n_match <= 0 or same_date <= 0:
        return out
    for lvl in levels:
        m_l, u_l = float(model.m[0][lvl]), float(model.u[0][lvl])
        if m_l <= 0 or u_l <= 0:
            continue
        table: dict[int, float] = {}
        for b in range(int(np.ceil(-reference)), TF_BUCKETS):
            code = (lvl * TF_BUCKETS + b) * 4
            n, dated, same = (blocked.get(code + k, 0) for k in range(3))
            if same < _COUNTED_MIN_SAME_DATE:
                continue
            matches = min(same / same_date * n / dated, float(n))
            rest = n - matches
            if rest < _COUNTED_MIN_PAIRS:
                continue
            weight = np.log2((matches / n_match) / (rest / non_pairs))
            table[b] = float(weight - np.log2(m_l / u_l))
        if table:
            out[lvl] = table
    return out


def _normalise(counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out = counts.astype(np.float64).copy()
    out[0] = 0.0
    total = out[1:].sum()
    out[1:] = out[1:] / total if total > 0 else 1.0 / (len(out) - 1)
    out[0] = 1.0
    return out


# Levels that (nearly) every pair reaching them is blocked for: their frequency among all pairs is
# counted exactly from the blocked pairs instead of estimated from a random sample, where they are
# too rare to be seen often (a random pair agreeing on two name keys is a one-in-10^4 event).
_COUNTED_LEVELS: Final = {
    0: WHOLE_NAME_LEVELS,
    1: (1,),  # dob exact (blocked through the full-date key)
    5: (1,),  # document agree (blocked through the document key)
}
# Nationality and place of birth are *not* independent of names among non-matches (people who
# share a name often share a country): their u is taken among pairs that agree on names, the
# pairs whose scores matter, instead of among random pairs.
_NAME_CONDITIONED: Final = (3, 4)
_NAME_AGREE: Final = WHOLE_NAME_LEVELS


def _em(lv: npt.NDArray[np.int64], counts: npt.NDArray[np.float64], fields: tuple[int, ...],
        m: list[npt.NDArray[np.float64]], u: list[npt.NDArray[np.float64]], *,
        fit_m: tuple[int, ...], fit_u: bool, max_iter: int,
        tol: float, lam0: float = 0.5, log_u_offset: npt.NDArray[np.float64] | None = None
        ) -> tuple[float, dict[int, npt.NDArray[np.float64]],
                   dict[int, npt.NDArray[np.float64]], int]:
    """EM over pattern counts on ``fields``; re-estimates m of ``fit_m`` (and u if ``fit_u``).

    ``log_u_offset`` (per pattern, with ``u`` fixed) turns the product of the per-field u into
    a joint one: log u_joint - Σ log u of each pattern.
    """
    assert log_u_offset is None or not fit_u
    lam = lam0
    cur_m = {j: m[j].copy() for j in fields}
    cur_u = {j: u[j].copy() for j in fields}
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        log_m = np.zeros(len(lv))
        log_u = np.zeros(len(lv)) if log_u_offset is None else log_u_offset.copy()
        for j in fields:
            log_m += np.log(cur_m[j][lv[:, j]])
            log_u += np.log(cur_u[j][lv[:, j]])
        a = np.log(lam) + log_m
        b = np.log1p(-lam) + log_u
        post = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        wm = counts * post
        wu = counts - wm
        lam_next = float(np.clip(wm.sum() / max(counts.sum(), 1e-12), 1e-6, 1 - 1e-6))
        delta = abs(lam_next - lam)
        for j in fields:
            k = len(COMPARISONS[j].levels)
            if j in fit_m:
                hist = np.bincount(lv[:, j], weights=wm, minlength=k).astype(np.float64)
                prior = _M_PRIOR.get(j)
                nxt = _normalise(hist + (prior * _M_PRIOR_PAIRS if prior is not None
                                         else _PSEUDO))
                delta = max(delta, float(np.abs(nxt - cur_m[j]).max()))
                cur_m[j] = nxt
            if fit_u:
                hist = np.bincount(lv[:, j], weights=wu, minlength=k).astype(np.float64)
                nxt = _normalise(hist + _PSEUDO)
                delta = max(delta, float(np.abs(nxt - cur_u[j]).max()))
                cur_u[j] = nxt
        lam = lam_next
        if delta < tol:
            break
    return lam, cur_m, cur_u, it


def _log_likelihood(lv: npt.NDArray[np.int64], counts: npt.NDArray[np.float64],
                    fields: tuple[int, ...], lam: float, m: dict[int, npt.NDArray[np.float64]],
                    u: dict[int, npt.NDArray[np.float64]],
                    log_u_offset: npt.NDArray[np.float64] | None = None) -> float:
    """Log-likelihood of the pattern counts under the two-class mixture."""
    log_m = np.zeros(len(lv))
    log_u = np.zeros(len(lv)) if log_u_offset is None else log_u_offset.copy()
    for j in fields:
        log_m += np.log(np.maximum(m[j][lv[:, j]], 1e-300))
        log_u += np.log(np.maximum(u[j][lv[:, j]], 1e-300))
    mix = np.logaddexp(np.log(lam) + log_m, np.log1p(-lam) + log_u)
    return float((counts * mix).sum())


def _em_best(lv: npt.NDArray[np.int64], counts: npt.NDArray[np.float64],
             fields: tuple[int, ...], m: list[npt.NDArray[np.float64]],
             u: list[npt.NDArray[np.float64]], *, fit_m: tuple[int, ...], max_iter: int,
             tol: float, strong: npt.NDArray[np.bool_],
             log_u_offset: npt.NDArray[np.float64] | None = None) -> tuple[
                 float, dict[int, npt.NDArray[np.float64]], int]:
    """EM from two starting points, keeping the fit of higher likelihood.

    The usual start (half the pairs are matches) finds the right fit when matches are a fair
    share of the pairs. In a large job they are not: among millions of pairs that share a birth
    date, a few thousand are the same person, and from that start EM can settle on "match" =
    "same sex and nationality", a fit in which names carry no evidence. The second start puts
    the share of matches at that of pairs whose names strongly agree (``strong``), near the
    truth; the likelihood decides between the two.
    """
    total = max(float(counts.sum()), 1e-12)
    share = float(np.clip(counts[strong].sum() / total, 1e-5, 0.5))
    best: tuple[float, float, dict[int, npt.NDArray[np.float64]], int] | None = None
    iterations = 0
    for lam0 in dict.fromkeys((0.5, share)):
        lam, new_m, _, it = _em(lv, counts, fields, m, u, fit_m=fit_m, fit_u=False,
                                max_iter=max_iter, tol=tol, lam0=lam0,
                                log_u_offset=log_u_offset)
        iterations += it
        cur_m = {j: (new_m[j] if j in new_m else m[j]) for j in fields}
        ll = _log_likelihood(lv, counts, fields, lam, cur_m, {j: u[j] for j in fields},
                             log_u_offset)
        if best is None or ll > best[0] + 1e-9 * abs(ll):
            best = (ll, lam, new_m, it)
    assert best is not None
    return best[1], best[2], iterations


def fit_em(
    pattern_count: dict[int, int],
    random_levels: npt.NDArray[np.uint8],
    *,
    total_pairs: int,
    rare_name_pattern_count: dict[int, int] | None = None,
    random_blocked: npt.NDArray[np.bool_] | None = None,
    max_iter: int = 200,
    tol: float = 1e-7,
) -> FellegiSunter:
    """Estimate u, m and the prior without labels.

    * ``u`` (how often non-matches reach each level) comes from random pairs, which are almost
      all non-matches; for the rare agreement levels that blocking always catches (two shared
      name keys, the same full date, the same document) it is counted exactly from the blocked
      pairs instead, plus, estimated from the random pairs that blocking does not reach, the
      pairs of blocks skipped as too large.
    * ``m`` comes from EM with ``u`` held fixed on two training subsets, each defined by agreement
      on one comparison and estimating the *other* comparisons (the splink recipe): among pairs
      with the same full date of birth, non-matches agree on names no more than random pairs do,
      so EM can separate matches there; and vice versa among pairs sharing all name keys.
    * the prior is the estimated number of matches over all pairs: matches among same-date pairs
      divided by the share of matches whose dates agree exactly.

    Args:
        pattern_count: number of blocked pairs per pattern code (:func:`pattern_codes`).
        random_levels: levels of randomly drawn pairs.
        total_pairs: number of all pairs (left rows × right rows).
        rare_name_pattern_count: pattern counts of the pairs sharing all name keys whose joint
            is held by at most ``RARE_NAME_RECORDS`` records (stage 2 below).
        random_blocked: for each random pair, whether blocking compares it. The counted
            levels' non-matches that blocking does not reach (a common name's block skipped as
            too large) are estimated from the random pairs that are not blocked; omitted, none.
        max_iter, tol: EM stopping rule.
    """
    codes = np.fromiter(pattern_count.keys(), dtype=np.int64, count=len(pattern_count))
    counts = np.fromiter(pattern_count.values(), dtype=np.float64, count=len(pattern_count))
    lv = _decode(codes) if len(codes) else np.zeros((0, len(_RADIX)), dtype=np.int64)
    u: list[npt.NDArray[np.float64]] = []
    for j, comp in enumerate(COMPARISONS):
        hist = np.bincount(random_levels[:, j], minlength=len(comp.levels)).astype(np.float64)
        # a level no random pair reached counts as half a pair: its u is below what the sample
        # can resolve, not zero (which weighted it by the sample's luck: a level seen 0 times
        # instead of 3 gained 17 bits and, for some keys, made every such pair a candidate)
        u.append(_normalise(np.maximum(hist, _PSEUDO)))
    # non-matches that share no name have the nationality and place of random pairs: stage 1
    # (pairs sharing a birth date, nearly all of them sharing no name in a large job) uses these
    u_random = [x.copy() for x in u]
    unblocked = ~random_blocked if random_blocked is not None else \
        np.zeros(len(random_levels), dtype=bool)
    if len(lv):
        agree = np.isin(lv[:, 0], _NAME_AGREE)
        if counts[agree].sum() >= 100:
            # the name-agreeing pairs of skipped blocks (the commonest names) are not among the
            # compared pairs; the random pairs that agree on names and are not blocked stand for
            # them, each worth total_pairs / len(random_levels) pairs
            skipped = unblocked & np.isin(random_levels[:, 0], _NAME_AGREE)
            per_random = total_pairs / max(len(random_levels), 1)
            for j in _NAME_CONDITIONED:
                k = len(COMPARISONS[j].levels)
                agree_hist = np.bincount(lv[agree, j], weights=counts[agree], minlength=k) + \
                    np.bincount(random_levels[skipped, j], minlength=k) * per_random
                u[j] = _normalise(agree_hist.astype(np.float64) + _PSEUDO)
    m = _prior_m()
    iterations = 0
    lam_by_subset: dict[int, tuple[float, float]] = {}
    # stage 1: among pairs with the same full date, u of the other comparisons is that of random
    # pairs; EM there gives m of names, sex, nationality, place and document.
    same_date = lv[:, 1] == 1 if len(lv) else np.zeros(0, dtype=bool)
    others = (0, 2, 3, 4, 5, 6)
    if counts[same_date].sum() >= 10:
        sub = lv[same_date]
        u_date = _same_date_u(sub, counts[same_date], u_random)
        offset = _same_date_offset(sub, counts[same_date], random_levels, u_date)
        strong = np.isin(sub[:, 0], _NAME_AGREE)
        lam_t, new_m, it = _em_best(sub, counts[same_date], others, m, u_date, fit_m=others,
                                    max_iter=max_iter, tol=tol, strong=strong,
                                    log_u_offset=offset)
        iterations += it
        # name levels that non-matches dominate: their own pairs give their joint u
        weak = _weak_levels(sub, counts[same_date], lam_t, new_m[0])
        if weak and offset is not None:
            _own_joint(offset, sub, counts[same_date], u_date, weak)
            lam_t, new_m, it = _em_best(sub, counts[same_date], others, m, u_date,
                                        fit_m=others, max_iter=max_iter, tol=tol,
                                        strong=strong, log_u_offset=offset)
            iterations += it
        for j, mj in new_m.items():
            m[j] = mj
        lam_by_subset[1] = (lam_t, float(counts[same_date].sum()))
    # stage 2: among pairs sharing all name keys *and* a rare name (held by at most
    # RARE_NAME_RECORDS records), few non-matches remain and their dates are those of random pairs;
    # nationality and place of non-matches are those of name-agreeing pairs (u above). With m of
    # nationality and place fixed from stage 1, EM gives m of the date levels and documents.
    if rare_name_pattern_count:
        rcodes = np.fromiter(rare_name_pattern_count.keys(), dtype=np.int64)
        rcounts = np.fromiter(rare_name_pattern_count.values(), dtype=np.float64)
        rlv = _decode(rcodes)
        if rcounts.sum() >= 10:
            _lam_n, new_m, _, it = _em(rlv, rcounts, (1, 3, 4, 5, 6), m, u, fit_m=(1, 5),
                                      fit_u=False, max_iter=max_iter, tol=tol)
            iterations += it
            m[1] = new_m[1]
            m[5] = new_m[5]
    # exact counts for the rare agreement levels, now that m is known (matches removed)
    n_match = _estimate_matches(m, lam_by_subset)
    non_match_pairs = max(total_pairs - n_match, 1.0)
    for j, levels in _COUNTED_LEVELS.items():
        for level in levels:
            blocked = float(counts[lv[:, j] == level].sum()) if len(lv) else 0.0
            exact = max(blocked - n_match * float(m[j][level]), _PSEUDO) / non_match_pairs
            # plus the pairs at this level that blocking never compares (a skipped block):
            # uncountable, so estimated from the random pairs that are not blocked
            exact += float(np.count_nonzero(unblocked & (random_levels[:, j] == level))) / \
                max(len(random_levels), 1)
            rest = 1.0 - exact
            rest_levels = [k for k in range(1, len(u[j])) if k != level]
            scale = rest / max(float(u[j][rest_levels].sum()), 1e-12)
            u[j][rest_levels] *= scale
            u[j][level] = exact
    lam = float(np.clip(n_match / max(total_pairs, 1), 1e-12, 0.5))
    joint = _joint_adjustment(lv, counts, random_levels, m, u, n_match, non_match_pairs,
                              unblocked)
    return FellegiSunter(lambda_=lam, m=m, u=u, iterations=iterations, joint_adjust=joint)


def _same_date_u(sub: npt.NDArray[np.int64], counts: npt.NDArray[np.float64],
                 u_random: list[npt.NDArray[np.float64]]) -> list[npt.NDArray[np.float64]]:
    """u of stage 1: how non-matches *born on the same day* compare, where the data show it.

    Random pairs give u of names (a shared birth date says nothing about a stranger's name), but
    not of sex, nationality, place or document: people born on one day are not a random draw of
    the population (in a 1,000,000 × 50,000 job, 63 % of the same-date pairs with different names
    had the same sex against 51 % of random pairs, through the age structure by sex). With random
    u, EM took that surplus for matches: a "match" class of 27 % of the same-date pairs, defined
    by sex alone, with names as no evidence (F1 0.45 instead of 0.59 for one key). The same-date
    pairs whose names differ completely are nearly all non-matches, so their levels give these
    u directly, once there are enough of them (:data:`_SAME_DATE_MIN_PAIRS`).
    """
    out = [x.copy() for x in u_random]
    strangers = sub[:, 0] == NAME.levels.index("different")
    if float(counts[strangers].sum()) < _SAME_DATE_MIN_PAIRS:
        return out
    for j in range(2, len(COMPARISONS)):  # not names (0), nor the date (1) that defines it
        k = len(COMPARISONS[j].levels)
        hist = np.bincount(sub[strangers, j], weights=counts[strangers], minlength=k)
        out[j] = _normalise(hist.astype(np.float64) + _PSEUDO)
    return out


_SAME_DATE_MIN_PAIRS: Final = 1000.0
_NATIONALITY: Final = COMPARISONS.index(NATIONALITY)
_CONDITIONAL_PSEUDO: Final = 50.0


def _same_date_offset(sub: npt.NDArray[np.int64], counts: npt.NDArray[np.float64],
                      random_levels: npt.NDArray[np.uint8],
                      u_date: list[npt.NDArray[np.float64]]) -> npt.NDArray[np.float64] | None:
    """Stage 1's non-matches as a joint distribution, not a product of fields (log offsets).

    The product of per-field u assumes that a stranger born on the same day agrees on sex,
    nationality, place and document independently, and on names independently of nationality.
    Neither holds: people of one nationality share names (a random pair of one nationality
    shared exactly one name key in 10 % of pairs, of two nationalities in 6 %, at 200,000 ×
    10,000), and among same-date strangers sex and nationality agree together more often than
    apart. EM took the surplus of such patterns for matches: at 200,000 × 10,000, m of "names
    different" came out at 0.14 and of "one key" at 0.14 (the true row pairs of the synthetic
    data: 0.084, mostly alias rows under another name, and 0.036), and the estimated number of
    matches at 10,067 against 7,675 true row pairs, so chance agreements of one common name
    scored too high. The offset replaces the product by (1) u of the name level given the
    nationality level, from the random pairs (shrunk towards u of the name level by
    ``_CONDITIONAL_PSEUDO`` pairs), times (2) the joint distribution of the other fields'
    levels among the same-date pairs whose names differ completely, re-weighted from those
    pairs' nationalities to all non-matches', once there are enough of them (otherwise that
    part stays a product). :func:`_own_joint` then refines the levels non-matches dominate.
    """
    if not len(sub) or not len(random_levels):
        return None
    k_name = len(COMPARISONS[0].levels)
    k_nat = len(COMPARISONS[_NATIONALITY].levels)
    name_all = np.bincount(random_levels[:, 0], minlength=k_name).astype(np.float64)
    u_name = np.maximum(name_all, _PSEUDO) / len(random_levels)
    log_ratio = np.zeros((k_name, k_nat))
    for a in range(1, k_nat):
        sel = random_levels[:, _NATIONALITY] == a
        cond = (np.bincount(random_levels[sel, 0], minlength=k_name) +
                _CONDITIONAL_PSEUDO * u_name) / (float(sel.sum()) + _CONDITIONAL_PSEUDO)
        log_ratio[:, a] = np.log(np.maximum(cond, 1e-12) / u_name)
    offset = log_ratio[sub[:, 0], sub[:, _NATIONALITY]]
    different = NAME.levels.index("different")
    strangers = sub[:, 0] == different
    if float(counts[strangers].sum()) >= _SAME_DATE_MIN_PAIRS:
        # the strangers' joint is that of pairs whose names differ, which under-represents
        # pairs of one nationality (they share names more often): P(rest) = P(rest | names
        # different) u(different) / u(different | nationality level)
        offset += _rest_log_ratio(sub, counts, strangers, u_date) - \
            log_ratio[different, sub[:, _NATIONALITY]]
    return offset


def _rest_log_ratio(sub: npt.NDArray[np.int64], counts: npt.NDArray[np.float64],
                    among: npt.NDArray[np.bool_], u_date: list[npt.NDArray[np.float64]]
                    ) -> npt.NDArray[np.float64]:
    """Per pattern: log of the joint frequency of its levels other than name and date among
    the pairs ``among``, less the log of the product of their ``u_date``.

    A missing field carries no evidence (m = u = 1), so the joint is taken within each pattern
    of missing fields, as the product is.
    """
    code = np.zeros(len(sub), dtype=np.int64)
    missing = np.zeros(len(sub), dtype=np.int64)
    product = np.zeros(len(sub))
    size = 1
    rest = range(2, len(COMPARISONS))
    for j in rest:
        k = len(COMPARISONS[j].levels)
        code = code * k + sub[:, j]
        missing = missing * 2 + (sub[:, j] == 0)
        size *= k
        product += np.log(u_date[j][sub[:, j]])
    joint = np.bincount(code[among], weights=counts[among], minlength=size)
    by_missing = np.bincount(missing[among], weights=counts[among], minlength=2 ** len(rest))
    frequency = np.maximum(joint[code], _PSEUDO) / np.maximum(by_missing[missing], 1.0)
    return np.asarray(np.log(frequency) - product, dtype=np.float64)


_WEAK_MIN_PAIRS: Final = 1000.0
_WEAK_MATCH_SHARE: Final = 0.05


def _weak_levels(sub: npt.NDArray[np.int64], counts: npt.NDArray[np.float64], lam: float,
                 m_name: npt.NDArray[np.float64]) -> list[int]:
    """Name levels whose same-date pairs are nearly all non-matches (by a first fit).

    A level qualifies when it holds at least ``_WEAK_MIN_PAIRS`` same-date pairs and the first
    fit puts fewer than ``_WEAK_MATCH_SHARE`` of them among the matches: in a large job,
    "one key shared" (thousands of people share a common given name with someone born the
    same day), not in a small one, where such pairs are few and many of them are matches.
    """
    total = float(counts.sum())
    out = []
    for level in range(1, len(NAME.levels)):
        if level in _NAME_AGREE:
            continue
        at = float(counts[sub[:, 0] == level].sum())
        if at >= _WEAK_MIN_PAIRS and lam * total * float(m_name[level]) < \
                _WEAK_MATCH_SHARE * at:
            out.append(level)
    return out


def _own_joint(offset: npt.NDArray[np.float64], sub: npt.NDArray[np.int64],
               counts: npt.NDArray[np.float64], u_date: list[npt.NDArray[np.float64]],
               levels: list[int]) -> None:
    """Set the offset of each weak name level's patterns from that level's own pairs.

    People who share one given name share its sex, and often its country and town, so among
    non-matches sharing one name key the other fields agree far more often than among
    strangers; the name-given-nationality correction does not capture sex, which the random
    pairs never observe. At 1,000,000 × 50,000, EM still put 22 % of the matches at "one key"
    (the true row pairs at 200,000 × 10,000: 3.6 %). Where a level's same-date pairs are
    nearly all non-matches (:func:`_weak_levels`), their own joint distribution of the other
    fields is that of the non-matches, taken within each pattern of missing fields.
    """
    for level in levels:
        at = sub[:, 0] == level
        offset[at] = _rest_log_ratio(sub, counts, at, u_date)[at]


_JOINT_FIELDS: Final = (3, 4, 5)  # nationality, place of birth, document
_JOINT_MIN_PAIRS: Final = 20.0


def _joint_adjustment(lv: npt.NDArray[np.int64], counts: npt.NDArray[np.float64],
                      random_levels: npt.NDArray[np.uint8], m: list[npt.NDArray[np.float64]],
                      u: list[npt.NDArray[np.float64]], n_match: float,
                      non_match_pairs: float, unblocked: npt.NDArray[np.bool_]
                      ) -> npt.NDArray[np.float64] | None:
    """Joint u of names with nationality, place and document, where the data can count it.

    Fellegi–Sunter multiplies per-field u, assuming that non-matches agree on each field
    independently. People who share a name often share a country and a town, so among
    name-agreeing non-matches nationality and place agree far more often than the product
    says, and scores of chance collisions of common names come out too high. For the name levels
    that blocking always catches (all or most name keys shared), every such pair is in the
    blocked set, so the *joint* frequency of (name level, nationality, place, document) among
    non-matches can be counted: blocked pairs of the combination, less the expected matches,
    over all non-matching pairs with the same pattern of missing fields (from random pairs).
    Pairs of a block skipped as too large (the commonest names) are not in the blocked set;
    their share is estimated from the random pairs that blocking does not reach (``unblocked``)
    and added. The returned array holds log2(u_independent / u_joint), added to the log-odds;
    combinations seen fewer than ``_JOINT_MIN_PAIRS`` times keep the independent model
    (adjustment 0).
    """
    if not len(lv):
        return None
    shape = (len(COMPARISONS[0].levels), *(len(COMPARISONS[j].levels) for j in _JOINT_FIELDS))
    adjust = np.zeros(shape, dtype=np.float64)
    rnd = random_levels[:, list(_JOINT_FIELDS)]
    n_random = max(len(rnd), 1)
    for name_level in WHOLE_NAME_LEVELS:
        sel = lv[:, 0] == name_level
        if not sel.any():
            continue
        sub = lv[sel][:, list(_JOINT_FIELDS)]
        rnd_unblocked = rnd[unblocked & (random_levels[:, 0] == name_level)]
        for combo in {tuple(int(x) for x in row) for row in sub}:
            hit = np.all(sub == combo, axis=1)
            blocked = float(counts[sel][hit].sum())
            missing = tuple(c == 0 for c in combo)
            p_missing = float(np.all((rnd == 0) == missing, axis=1).sum()) / n_random
            m_combo = float(m[0][name_level]) * p_missing
            u_indep = float(u[0][name_level])
            for j, level in zip(_JOINT_FIELDS, combo, strict=True):
                if level:
                    m_combo *= float(m[j][level])
                    u_indep *= float(u[j][level])
            non_match = blocked - n_match * m_combo
            if non_match < _JOINT_MIN_PAIRS or p_missing <= 0:
                continue
            skipped = float(np.all(rnd_unblocked == combo, axis=1).sum()) / n_random
            u_joint = (non_match / non_match_pairs + skipped) / p_missing
            adjust[(name_level, *combo)] = float(np.log2(u_indep / u_joint))
    return adjust


def _estimate_matches(m: list[npt.NDArray[np.float64]],
                      lam_by_subset: dict[int, tuple[float, float]]) -> float:
    """Expected number of matching pairs among all pairs, from a training subset.

    Matches found in the subset "same full date" (or, lacking dates, "same name keys"), divided
    by the share of all matches that fall in that subset.
    """
    if 1 in lam_by_subset:
        lam_t, size = lam_by_subset[1]
        return float(max(lam_t * size / max(float(m[1][1]), 0.05), 1.0))
    return 1.0
