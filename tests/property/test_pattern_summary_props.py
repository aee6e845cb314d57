"""Pass 1's compiled pattern summary equals the plain numpy one, count for count."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from linkmatch.compare.levels import COMPARISONS
from linkmatch.compare.scoring import (
    pattern_codes,
    pattern_summary,
    pattern_summary_reference,
)

# log2 name frequencies: 0 (nothing shared), whole numbers (bucket edges) and fractions
frequencies = st.one_of(st.just(0.0), st.integers(-70, 0).map(float),
                        st.floats(-70.0, 0.0, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), data=st.data(),
       rare_log2=st.floats(-30.0, 0.0, allow_nan=False))
def test_pattern_summary_matches_reference(seed: int, n: int, data: st.DataObject,
                                           rare_log2: float) -> None:
    rng = np.random.default_rng(seed)
    levels = np.stack([rng.integers(0, len(c.levels), size=n) for c in COMPARISONS],
                      axis=1).astype(np.uint8).reshape(n, len(COMPARISONS))
    tf = np.array(data.draw(st.lists(frequencies, min_size=n, max_size=n)), dtype=np.float64)
    got = pattern_summary(levels, tf, rare_log2, 2.0 ** 32)
    want = pattern_summary_reference(levels, tf, rare_log2, 2.0 ** 32)
    assert np.array_equal(got.codes, want.codes)
    assert np.array_equal(got.codes, pattern_codes(levels))
    assert got.histogram == want.histogram
    assert sum(got.histogram.values()) == n
    assert got.rare_histogram == want.rare_histogram
    assert got.tf_sum == want.tf_sum
    assert got.tf_n == want.tf_n
    assert got.tf_hist == want.tf_hist
