"""The plaintext scan shared by the tests that check an output holds no plain value."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def plain_values(frames: Iterable[pd.DataFrame]) -> set[str]:
    """Every non-empty value of the frames, and every word of three letters or more in them."""
    values: set[str] = set()
    for frame in frames:
        for col in frame.columns:
            for v in frame[col].astype(str):
                v = v.strip()
                if v:
                    values.add(v)
                    values.update(p for p in v.replace("-", " ").split() if len(p) >= 3)
    return values
