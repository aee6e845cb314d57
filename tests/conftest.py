"""Shared fixtures: small generated data sets and keys (the project's own generator)."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkmatch.pseudonymise.keys import Key, generate_key_file
from linkmatch.synth import SynthData, generate


@pytest.fixture(scope="session")
def small_data() -> SynthData:
    """A small asylum-like file and reference list with ground truth."""
    return generate(seed=7, n_left=3_000, n_right=300)


@pytest.fixture(scope="session")
def key() -> Key:
    return Key.from_bytes(bytes(range(100, 132)), weak_ok=True)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "linkage.key"
    generate_key_file(path)
    return path
