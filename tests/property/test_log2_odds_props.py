"""The table-driven log-odds equal the field-by-field reference, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.compare.levels import COMPARISONS, NAME
from linkmatch.compare.scoring import TF_BUCKETS, FellegiSunter


@st.composite
def models(draw: st.DrawFn) -> tuple[FellegiSunter, np.ndarray, np.ndarray]:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sizes = [len(c.levels) for c in COMPARISONS]
    m = [rng.dirichlet(np.ones(k)) for k in sizes]
    u = [rng.dirichlet(np.ones(k)) for k in sizes]
    tf_levels = draw(st.sets(st.integers(1, len(NAME.levels) - 1)))
    tf_mean = {lvl: float(rng.uniform(-12, -2)) for lvl in sorted(tf_levels)}
    counted = {lvl: {int(b): float(rng.normal(0, 3))
                     for b in rng.choice(TF_BUCKETS, size=int(rng.integers(1, 6)), replace=False)}
               for lvl in draw(st.sets(st.integers(1, len(NAME.levels) - 1)))}
    joint = rng.normal(0, 1, size=(sizes[0], sizes[3], sizes[4], sizes[5])) \
        if draw(st.booleans()) else None
    model = FellegiSunter(lambda_=float(rng.uniform(1e-9, 0.4)), m=m, u=u, tf_mean=tf_mean,
                          joint_adjust=joint, tf_counted=counted)
    n = draw(st.integers(0, 300))
    levels = np.stack([rng.integers(0, k, size=n) for k in sizes], axis=1).astype(np.uint8) \
        if n else np.zeros((0, len(sizes)), dtype=np.uint8)
    name_tf = -rng.uniform(0, 70, size=n)
    return model, levels, name_tf


@settings(max_examples=200, deadline=None)
@given(case=models(), with_tf=st.booleans())
def test_table_log_odds_equal_reference(case: tuple[FellegiSunter, np.ndarray, np.ndarray],
                                        with_tf: bool) -> None:
    model, levels, name_tf = case
    tf = name_tf if with_tf else None
    fast = model.log2_odds(levels, tf)
    slow = model.log2_odds_reference(levels, tf)
    assert fast.shape == slow.shape
    assert np.array_equal(fast, slow)
