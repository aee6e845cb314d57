"""Local processes: how many workers a step uses by default, and whether a process still runs
(shared by encode and match)."""

from __future__ import annotations

import os

__all__ = ["default_workers", "process_alive"]


def default_workers() -> int:
    """Worker processes by default: one per core (forking is only available on POSIX)."""
    if os.name != "posix":
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine.

    Work directories are named after the process that made them, so that those of runs that
    were killed (SIGKILL leaves no time to clean up) are found and removed by the next run.
    Another user's process counts as alive (its directory is not ours to remove).
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
