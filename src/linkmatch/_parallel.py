"""How many worker processes a local step uses by default (shared by encode and match)."""

from __future__ import annotations

import os

__all__ = ["default_workers"]


def default_workers() -> int:
    """Worker processes by default: one per core (forking is only available on POSIX)."""
    if os.name != "posix":
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))
