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

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from linkmatch.compare.levels import COMPARISONS, NAME

__all__ = ["FellegiSunter", "fit_em", "pattern_codes"]

_RADIX: Final = tuple(len(c.levels) for c in COMPARISONS)
_TF_LEVELS: Final = (NAME.levels.index("keys_all"), NAME.levels.index("keys_most"),
                     NAME.levels.index("one_key"))
_TF_CLIP: Final = 6.0
_PSEUDO: Final = 0.5


def pattern_codes(levels: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Mixed-radix code of each row of comparison levels."""
    code = np.zeros(len(levels), dtype=np.int64)
    for j, radix in enumerate(_RADIX):
        code = code * radix + levels[:, j]
    return code


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
        """Match log2-odds of each pair (prior included)."""
        weights = self.level_weights()
        total = np.full(len(levels), np.log2(self.lambda_ / (1.0 - self.lambda_)))
        for j, w in enumerate(weights):
            total += w[levels[:, j]]
        if name_tf is not None and self.tf_mean:
            name_level = levels[:, 0]
            for lvl, mean in self.tf_mean.items():
                sel = name_level == lvl
                total[sel] += np.clip(mean - name_tf[sel], -_TF_CLIP, _TF_CLIP)
        return total

    def probability(self, levels: npt.NDArray[np.uint8],
                    name_tf: npt.NDArray[np.float64] | None = None) -> npt.NDArray[np.float64]:
        """Posterior match probability of each pair."""
        odds = self.log2_odds(levels, name_tf)
        return 1.0 / (1.0 + np.exp2(-np.clip(odds, -60, 60)))

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
        }


def _normalise(counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    out = counts.copy()
    out[0] = 0.0
    total = out[1:].sum()
    out[1:] = out[1:] / total if total > 0 else 1.0 / (len(out) - 1)
    out[0] = 1.0
    return out


def fit_em(
    pattern_count: dict[int, int],
    random_levels: npt.NDArray[np.uint8],
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> FellegiSunter:
    """Estimate λ, m and u by EM over the histogram of comparison patterns.

    Args:
        pattern_count: number of blocked pairs per pattern code (:func:`pattern_codes`).
        random_levels: levels of randomly drawn pairs, to start ``u``.
        max_iter, tol: EM stopping rule (change of λ and of every parameter).
    """
    codes = np.fromiter(pattern_count.keys(), dtype=np.int64, count=len(pattern_count))
    counts = np.fromiter(pattern_count.values(), dtype=np.float64, count=len(pattern_count))
    lv = _decode(codes)
    u = []
    for j, comp in enumerate(COMPARISONS):
        hist = np.bincount(random_levels[:, j], minlength=len(comp.levels)).astype(np.float64)
        u.append(_normalise(hist + _PSEUDO))
    m = _prior_m()
    lam = 0.01
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        log_m = np.zeros(len(codes))
        log_u = np.zeros(len(codes))
        for j in range(len(COMPARISONS)):
            log_m += np.log(m[j][lv[:, j]])
            log_u += np.log(u[j][lv[:, j]])
        a = np.log(lam) + log_m
        b = np.log1p(-lam) + log_u
        post = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        wm = counts * post
        wu = counts * (1.0 - post)
        new_lam = float(np.clip(wm.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        new_m, new_u = [], []
        for j, comp in enumerate(COMPARISONS):
            k = len(comp.levels)
            hist_m = np.bincount(lv[:, j], weights=wm, minlength=k).astype(np.float64)
            hist_u = np.bincount(lv[:, j], weights=wu, minlength=k).astype(np.float64)
            new_m.append(_normalise(hist_m + _PSEUDO))
            new_u.append(_normalise(hist_u + _PSEUDO))
        delta = max(abs(new_lam - lam),
                    max(float(np.abs(a_ - b_).max()) for a_, b_ in zip(new_m, m, strict=True)),
                    max(float(np.abs(a_ - b_).max()) for a_, b_ in zip(new_u, u, strict=True)))
        lam, m, u = new_lam, new_m, new_u
        if delta < tol:
            break
    # EM labels its two classes arbitrarily; the match class is the one agreeing on names
    best = NAME.levels.index("keys_all")
    if m[0][best] < u[0][best]:
        m, u, lam = u, m, 1.0 - lam
    return FellegiSunter(lambda_=lam, m=m, u=u, iterations=it)
