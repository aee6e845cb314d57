"""Progress lines: counts, rate and time left; throttled in logs; silent when quiet."""

from __future__ import annotations

import io
import logging

import pytest

from linkmatch.progress import PhaseProgress, Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_line_has_rate_and_eta() -> None:
    p = Progress(logging.getLogger("t"), "encode")
    p.started -= 10.0  # as if 10 s had passed
    text = p.line(50_000, 0.25)
    assert text.startswith("encode: 50,000 rows (")
    assert "rows/s" in text
    assert "25%" in text
    assert "30s left" in text


def test_terminal_gets_one_rewritten_line() -> None:
    log = logging.getLogger("linkmatch-test-tty")
    log.setLevel(logging.INFO)
    stream = _Tty()
    p = Progress(log, "encode", stream=stream)
    p(10, 0.1)
    p(20, 0.2)
    p.close()
    out = stream.getvalue()
    assert out.count("\r\x1b[2K") == 2
    assert out.endswith("\n")


def test_logs_are_throttled_and_quiet_silences(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("linkmatch-test-log")
    log.setLevel(logging.INFO)
    p = Progress(log, "encode", interval=0.0, stream=io.StringIO())
    with caplog.at_level(logging.INFO, logger="linkmatch-test-log"):
        p(1)
        p(2)
    assert [r.message.split(" (")[0] for r in caplog.records] == ["encode: 1 rows",
                                                                   "encode: 2 rows"]
    caplog.clear()
    slow = Progress(log, "encode", interval=3600.0, stream=io.StringIO())
    quiet = logging.getLogger("linkmatch-test-quiet")
    quiet.setLevel(logging.WARNING)
    with caplog.at_level(logging.INFO, logger="linkmatch-test-log"):
        slow(1)
        Progress(quiet, "encode", interval=0.0, stream=_Tty())(1)
    assert caplog.records == []


def test_phases_are_reported_in_turn() -> None:
    log = logging.getLogger("linkmatch-test-phase")
    log.setLevel(logging.INFO)
    stream = _Tty()
    p = PhaseProgress(log, stream=stream)
    p("statistics", 1, 2)
    p("compare", 1, 2)
    p.close()
    out = stream.getvalue()
    assert "match statistics: 1 batches" in out
    assert "match compare: 1 batches" in out
