"""Shared values of the Spark tests (a module of its own: two ``conftest`` modules cannot be
imported by name)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from linkmatch.encode import Encoded
from linkmatch.pseudonymise.keys import Key
from linkmatch.synth import SynthData

SPARK_KEY = Key.from_bytes(bytes(range(61, 93)), weak_ok=True)
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


def event_log_sizes(event_log_dir: Path) -> dict[Path, int]:
    """How far each event-log file has been written (to read only what a run adds)."""
    return {p: p.stat().st_size for p in event_log_dir.rglob("*") if p.is_file()}


def new_events(event_log_dir: Path, before: dict[Path, int], marker: str) -> str:
    """What Spark's event log (the Spark UI's source) gained since ``before``, once it holds
    ``marker``: Spark's listener writes asynchronously, so wait for it (up to 10 s)."""
    events = ""
    for _ in range(50):
        events = "".join(p.read_bytes()[before.get(p, 0):].decode(errors="replace")
                         for p in event_log_dir.rglob("*") if p.is_file())
        if marker in events:
            break
        time.sleep(0.2)
    return events
