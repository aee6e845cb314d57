"""Shared values of the Spark tests (a module of its own: two ``conftest`` modules cannot be
imported by name)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from linkmatch.encode import Encoded
from linkmatch.pseudonymise.keys import Key
from linkmatch.synth import SynthData

SPARK_KEY = Key.from_bytes(bytes(range(61, 93)))
"""The tests' linkage key (fixed, so that failures can be reproduced)."""

THRESHOLD = 0.2
"""Low, so that many candidates, near-threshold scores included, are compared engine to engine."""


@dataclass(frozen=True)
class EncodedFiles:
    """Generated data, its two encodings, and the encodings written as files."""

    data: SynthData
    left: Encoded
    right: Encoded
    left_path: Path
    right_path: Path
