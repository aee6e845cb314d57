"""EM finds the matches among many same-date non-matches (a large job's training subset)."""

from __future__ import annotations

import numpy as np

from linkmatch.compare.levels import COMPARISONS, DOB, NAME, NATIONALITY, SEX
from linkmatch.compare.scoring import FellegiSunter, fit_em, pattern_codes

# The name-level probabilities below list these levels, in this order; the others (spelling
# sub-levels of "all / most keys shared") get none.
_LISTED: tuple[str, ...] = ("missing", "keys_all", "keys_most", "fuzzy_90", "fuzzy_80",
                            "fuzzy_70", "fuzzy_60", "fuzzy_50", "one_key", "different")


def _name_p(listed: list[float]) -> list[float]:
    out = [0.0] * len(NAME.levels)
    for label, p in zip(_LISTED, listed, strict=True):
        out[NAME.levels.index(label)] = p
    return out


def _levels(rng: np.random.Generator, n: int, *, name: list[float], dob: int | None,
            sex: list[float], nat: list[float]) -> np.ndarray:
    out = np.zeros((n, len(COMPARISONS)), dtype=np.uint8)
    out[:, 0] = rng.choice(len(NAME.levels), size=n, p=_name_p(name))
    out[:, 1] = dob if dob is not None else rng.choice([7, 8, 9], size=n, p=[0.05, 0.05, 0.9])
    out[:, 2] = rng.choice(len(SEX.levels), size=n, p=sex)
    out[:, 3] = rng.choice(len(NATIONALITY.levels), size=n, p=nat)
    return out


def _fit(blocked: np.ndarray, random: np.ndarray) -> FellegiSunter:
    """The model fitted on the pattern counts of ``blocked`` pairs, out of 10^10 pairs."""
    codes, counts = np.unique(pattern_codes(blocked), return_counts=True)
    return fit_em(dict(zip(codes.tolist(), counts.tolist(), strict=True)), random,
                  total_pairs=10**10)


def test_same_date_matches_found_when_they_are_few() -> None:
    rng = np.random.default_rng(3)
    # names of non-matches: mostly different, some weak agreement (fuzzy 50-70, one key)
    random_name = [0, 0.0, 0.0, 0.0, 0.0, 0.01, 0.03, 0.05, 0.04, 0.87]
    match_name = [0, 0.75, 0.10, 0.03, 0.03, 0.03, 0.02, 0.02, 0.01, 0.01]
    random = _levels(rng, 200_000, name=random_name, dob=None, sex=[1.0, 0, 0],
                     nat=[0.1, 0.35, 0.55])
    exact = DOB.levels.index("exact")
    # blocked pairs sharing a birth date: 300,000 non-matches (same sex half the time), 1,500
    # matches; pairs sharing all name keys are also blocked outside the subset
    non = _levels(rng, 300_000, name=random_name, dob=exact, sex=[0.1, 0.45, 0.45],
                  nat=[0.1, 0.35, 0.55])
    matches = _levels(rng, 1_500, name=match_name, dob=exact, sex=[0.05, 0.94, 0.01],
                      nat=[0.05, 0.9, 0.05])
    model = _fit(np.vstack([non, matches]), random)
    m_name = model.m[0]
    assert m_name[NAME.levels.index("keys_all")] > 0.5
    assert m_name[NAME.levels.index("different")] < 0.3  # not u (0.87): names carry evidence
    # matches in the subset: near the 1,500 planted, not the 300,000 pairs (the prior then
    # scales them by the share of matches whose dates agree exactly, m(exact))
    found = model.lambda_ * 10**10 * model.m[1][DOB.levels.index("exact")]
    assert 1_000 < found < 3_000


def test_a_level_no_random_pair_reached_is_not_weighted_by_luck() -> None:
    """u of a name level seen 0 times among the random pairs is half a pair's share, not ~0:
    whether the sample held 0 or 3 such pairs must not move its weight by many bits (it once
    made every pair at that level a candidate, for some keys)."""
    rng = np.random.default_rng(5)
    random_name = [0, 0.0, 0.0, 0.0, 0.0, 0.01, 0.03, 0.05, 0.04, 0.87]
    fuzzy_90 = NAME.levels.index("fuzzy_90")
    base = _levels(rng, 200_000, name=random_name, dob=None, sex=[1.0, 0, 0],
                   nat=[0.1, 0.35, 0.55])
    blocked = {int(c): 10 for c in np.unique(pattern_codes(base[:2000]))}
    weights = []
    for seen in (0, 3):
        random = base.copy()
        random[:seen, 0] = fuzzy_90
        model = fit_em(blocked, random, total_pairs=10**9)
        u = float(model.u[0][fuzzy_90])
        assert u >= 0.5 / len(random) * 0.9
        weights.append(np.log2(u))
    assert abs(weights[1] - weights[0]) < 3.0  # log2(3 / 0.5) ≈ 2.6 bits, not 17


def test_same_date_non_matches_sharing_sex_more_often_are_not_taken_for_matches() -> None:
    """People born on one day are not a random draw: in a large job, same-date pairs with
    different names had the same sex 63 % of the time against 51 % of random pairs. With the
    random pairs' u, EM once made "same sex" the match class (27 % of the subset) and names no
    evidence; stage 1 takes these u from the same-date pairs whose names differ."""
    rng = np.random.default_rng(11)
    random_name = [0, 0.0, 0.0, 0.0, 0.0, 0.01, 0.03, 0.05, 0.04, 0.87]
    match_name = [0, 0.45, 0.10, 0.03, 0.03, 0.05, 0.06, 0.08, 0.10, 0.10]
    random = _levels(rng, 200_000, name=random_name, dob=None, sex=[0.0, 0.51, 0.49],
                     nat=[0.2, 0.1, 0.7])
    exact = DOB.levels.index("exact")
    non = _levels(rng, 400_000, name=random_name, dob=exact, sex=[0.12, 0.56, 0.32],
                  nat=[0.2, 0.1, 0.7])
    matches = _levels(rng, 1_500, name=match_name, dob=exact, sex=[0.05, 0.94, 0.01],
                      nat=[0.1, 0.85, 0.05])
    model = _fit(np.vstack([non, matches]), random)
    m_name = model.m[0]
    assert m_name[NAME.levels.index("different")] < 0.3  # names carry evidence
    found = model.lambda_ * 10**10 * model.m[1][DOB.levels.index("exact")]
    assert 1_000 < found < 3_000  # near the 1,500 planted, not a share of the 400,000


def test_pairs_of_skipped_blocks_count_in_the_exact_u() -> None:
    """u of "all name keys shared" is counted from the compared pairs; the pairs of a block
    skipped as too large (the commonest names) are not among them and are estimated from the
    random pairs that blocking does not reach. Left out, u was half the truth at 200,000 ×
    10,000 and every common-name pair scored too high."""
    rng = np.random.default_rng(7)
    random_name = [0, 0.004, 0.0, 0.0, 0.0, 0.01, 0.03, 0.05, 0.04, 0.866]
    random = _levels(rng, 200_000, name=random_name, dob=None, sex=[0.0, 0.5, 0.5],
                     nat=[0.1, 0.35, 0.55])
    exact = DOB.levels.index("exact")
    blocked_pairs = np.vstack([
        _levels(rng, 50_000, name=random_name, dob=exact, sex=[0.0, 0.5, 0.5],
                nat=[0.1, 0.35, 0.55]),
        _levels(rng, 500, name=[0, 0.8, 0.1, 0, 0, 0, 0, 0, 0.05, 0.05], dob=exact,
                sex=[0.0, 0.95, 0.05], nat=[0.05, 0.9, 0.05]),
    ])
    codes, counts = np.unique(pattern_codes(blocked_pairs), return_counts=True)
    histogram = dict(zip(codes.tolist(), counts.tolist(), strict=True))
    keys_all = NAME.levels.index("keys_all")
    at_level = random[:, 0] == keys_all
    everything = np.ones(len(random), dtype=bool)
    u_default = fit_em(histogram, random, total_pairs=10**9).u[0][keys_all]
    u_blocked = fit_em(histogram, random, total_pairs=10**9,
                       random_blocked=everything).u[0][keys_all]
    u_skipped = fit_em(histogram, random, total_pairs=10**9,
                       random_blocked=~at_level).u[0][keys_all]
    assert u_default == u_blocked  # without the flags, every random pair counts as blocked
    assert at_level.sum() > 500
    # equal up to the renormalisation of the half-pair floor of levels no random pair reached
    assert np.isclose(u_skipped - u_blocked, at_level.mean(), rtol=1e-4)


def _dependent_non_matches(rng: np.random.Generator, n: int, dob: int | None,
                           sex_observed: bool) -> np.ndarray:
    """Non-matches whose names depend on nationality (and sex on nationality), as in a
    population where each nationality has its own names and sex ratio."""
    out = np.zeros((n, len(COMPARISONS)), dtype=np.uint8)
    same_nat = rng.random(n) < 0.12
    out[:, 3] = np.where(same_nat, NATIONALITY.levels.index("agree"),
                         NATIONALITY.levels.index("disagree"))
    weak = [0, 0.0, 0.0, 0.0, 0.0, 0.005, 0.02, 0.04, 0.06, 0.875]
    close = [0, 0.002, 0.002, 0.0, 0.001, 0.02, 0.07, 0.10, 0.17, 0.635]
    out[:, 0] = np.where(same_nat, rng.choice(len(NAME.levels), size=n, p=_name_p(close)),
                         rng.choice(len(NAME.levels), size=n, p=_name_p(weak)))
    out[:, 1] = dob if dob is not None else rng.choice([7, 8, 9], size=n, p=[0.05, 0.05, 0.9])
    if sex_observed:
        same_sex = rng.random(n) < np.where(same_nat, 0.8, 0.55)
        out[:, 2] = np.where(same_sex, SEX.levels.index("agree"), SEX.levels.index("disagree"))
    return out


def test_names_that_go_with_nationality_are_not_taken_for_matches() -> None:
    """People of one nationality share names: among non-matches, one shared name key comes with
    a shared nationality (and sex) far more often than the product of the fields says. With the
    product, EM put that surplus into the match class (m of "one key" 0.14 and of "names
    different" 0.14 at 200,000 × 10,000, where the true pairs have 0.04 and 0.09), so chance
    agreement on one common name scored too high. Stage 1 now uses the non-matches' joint
    distribution: u of names given the nationality level (random pairs) and the other fields'
    joint levels among the same-date pairs whose names differ."""
    rng = np.random.default_rng(13)
    random = _dependent_non_matches(rng, 200_000, None, sex_observed=False)
    exact = DOB.levels.index("exact")
    non = _dependent_non_matches(rng, 400_000, exact, sex_observed=True)
    match_name = [0, 0.60, 0.12, 0.03, 0.05, 0.06, 0.06, 0.04, 0.02, 0.02]
    matches = _levels(rng, 2_000, name=match_name, dob=exact, sex=[0.0, 0.99, 0.01],
                      nat=[0.0, 0.93, 0.07])
    model = _fit(np.vstack([non, matches]), random)
    m_name = model.m[0]
    assert m_name[NAME.levels.index("one_key")] < 0.05  # planted 0.02
    assert m_name[NAME.levels.index("different")] < 0.05  # planted 0.02
    assert m_name[NAME.levels.index("keys_all")] > 0.5  # planted 0.60
    found = model.lambda_ * 10**10 * model.m[1][exact]
    assert 1_500 < found < 2_600  # near the 2,000 planted


def test_name_conditioned_u_counts_the_pairs_of_skipped_blocks() -> None:
    """u of nationality among name-agreeing pairs adds the name-agreeing random pairs that
    blocking does not reach (a skipped block), each worth total_pairs / random pairs."""
    rng = np.random.default_rng(17)
    random = _levels(rng, 100_000, name=[0, 0.01, 0.0, 0.0, 0.0, 0.01, 0.03, 0.05, 0.04, 0.86],
                     dob=None, sex=[1.0, 0, 0], nat=[0.1, 0.3, 0.6])
    keys_all = NAME.levels.index("keys_all")
    agree = NATIONALITY.levels.index("agree")
    blocked = np.vstack([
        _levels(rng, 5_000, name=[0, 1.0, 0, 0, 0, 0, 0, 0, 0, 0], dob=None, sex=[1.0, 0, 0],
                nat=[0.0, 0.9, 0.1]),
        _levels(rng, 20_000, name=[0, 0.0, 0, 0, 0, 0.1, 0.1, 0.2, 0.2, 0.4], dob=None,
                sex=[1.0, 0, 0], nat=[0.1, 0.3, 0.6]),
    ])
    codes, counts = np.unique(pattern_codes(blocked), return_counts=True)
    histogram = dict(zip(codes.tolist(), counts.tolist(), strict=True))
    skipped = random[:, 0] == keys_all
    total = 10**7
    u_all_blocked = fit_em(histogram, random, total_pairs=total,
                           random_blocked=np.ones(len(random), dtype=bool)).u[3]
    u_skipped = fit_em(histogram, random, total_pairs=total, random_blocked=~skipped).u[3]
    nat_blocked = np.bincount(blocked[:, 3], minlength=3).astype(float)
    nat_blocked[:] = np.bincount(blocked[blocked[:, 0] == keys_all, 3], minlength=3)
    extra = np.bincount(random[skipped, 3], minlength=3) * (total / len(random))
    expected = (nat_blocked + extra + 0.5)[1:]
    assert np.isclose(u_skipped[agree], expected[0] / expected.sum(), rtol=1e-9)
    assert not np.isclose(u_skipped[agree], u_all_blocked[agree])
