"""Progress of long commands: rows per second and time left, for people watching a batch job.

On a terminal, one status line is rewritten in place; otherwise (a log file, a scheduler) a plain
line is logged at most every ``interval`` seconds. Only counts and times are shown, never data.
``--quiet`` silences both (the logger's level is then WARNING).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

__all__ = ["PhaseProgress", "Progress"]


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """Reports ``phase``: items done, rate and ETA.

    Args:
        log: where plain lines go (and whose level decides whether anything is shown).
        phase: what is being counted ("encode", "match pass 1" …).
        unit: the counted items ("rows", "pairs" …).
        interval: minimum seconds between two plain log lines.
        stream: the terminal stream (stderr); a status line is used only if it is a TTY.
    """

    def __init__(self, log: logging.Logger, phase: str, unit: str = "rows", *,
                 interval: float = 10.0, stream: TextIO | None = None) -> None:
        self.log = log
        self.phase = phase
        self.unit = unit
        self.interval = interval
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()
        self._last = self.started  # plain lines: the first after `interval` seconds
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._drawn = False

    def line(self, done: int, fraction: float | None = None) -> str:
        """The status text for ``done`` items and the share of the work done (if known)."""
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        text = f"{self.phase}: {done:,} {self.unit} ({rate:,.0f} {self.unit}/s"
        if fraction is not None and 0 < fraction < 1:
            text += f", {fraction:.0%}, about {_duration(elapsed * (1 - fraction) / fraction)} left"
        return text + ")"

    def __call__(self, done: int, fraction: float | None = None) -> None:
        """Report progress (cheap to call often: it throttles itself)."""
        if not self.log.isEnabledFor(logging.INFO):
            return
        now = time.perf_counter()
        if self._tty:
            self.stream.write("\r\x1b[2K" + self.line(done, fraction))
            self.stream.flush()
            self._drawn = True
        elif now - self._last >= self.interval:
            self.log.info("%s", self.line(done, fraction))
            self._last = now

    def close(self) -> None:
        """End the status line (on a terminal)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


class PhaseProgress:
    """Progress of a job in phases of numbered batches: ``(phase, done, total)`` callbacks."""

    def __init__(self, log: logging.Logger, *, interval: float = 10.0,
                 stream: TextIO | None = None, command: str = "match",
                 units: dict[str, str] | None = None) -> None:
        self.log = log
        self.interval = interval
        self.stream = stream
        self.command = command
        self.units = units or {}  # the counted unit by phase (default: batches)
        self._current: Progress | None = None
        self._phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self._phase:
            self.close()
            self._phase = phase
            self._current = Progress(self.log, f"{self.command} {phase}",
                                     self.units.get(phase, "batches"),
                                     interval=self.interval, stream=self.stream)
        assert self._current is not None
        self._current(done, done / total if total else None)

    def close(self) -> None:
        """End the current phase's status line."""
        if self._current is not None:
            self._current.close()
            self._current = None
