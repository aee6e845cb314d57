"""Property tests for linkmatch.normalise.dates: round trips, robustness, no value in errors."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from convertdate import coptic, persian
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkmatch.normalise.dates import (
    REASONS,
    YEAR_OUT_OF_RANGE,
    BirthDate,
    DateParseError,
    alternative_readings,
    parse_date,
    to_gregorian,
)

TODAY = datetime.date(2025, 6, 15)
MIN_YEAR = 1900
birth_dates = st.dates(min_value=datetime.date(MIN_YEAR, 1, 1), max_value=TODAY)

FULL_FORMATS: dict[str, Callable[[datetime.date], str]] = {
    "YYYY-MM-DD": lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}",
    "YYYYMMDD": lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}",
    "DD-MM-YYYY": lambda d: f"{d.day:02d}-{d.month:02d}-{d.year:04d}",
    "DD.MM.YYYY": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year:04d}",
    "DD/MM/YYYY": lambda d: f"{d.day:02d}/{d.month:02d}/{d.year:04d}",
    "YYYY/MM/DD": lambda d: f"{d.year:04d}/{d.month:02d}/{d.day:02d}",
    "D.M.YYYY": lambda d: f"{d.day}.{d.month}.{d.year:04d}",
    "isoformat": datetime.date.isoformat,
    "pandas timestamp": lambda d: f"{d.isoformat()} 00:00:00",
}
PARTIAL_FORMATS: dict[str, Callable[[datetime.date], str]] = {
    "YYYY-MM": lambda d: f"{d.year:04d}-{d.month:02d}",
    "MM.YYYY": lambda d: f"{d.month:02d}.{d.year:04d}",
    "YYYY-MM-00": lambda d: f"{d.year:04d}-{d.month:02d}-00",
    "XX.MM.YYYY": lambda d: f"XX.{d.month:02d}.{d.year:04d}",
    "YYYYMM00": lambda d: f"{d.year:04d}{d.month:02d}00",
}
YEAR_FORMATS: dict[str, Callable[[datetime.date], str]] = {
    "YYYY": lambda d: f"{d.year:04d}",
    "YYYY-00-00": lambda d: f"{d.year:04d}-00-00",
    "XX.XX.YYYY": lambda d: f"XX.XX.{d.year:04d}",
    "DD/00/YYYY": lambda d: f"{d.day:02d}/00/{d.year:04d}",  # day without month: dropped
}
DIGITS = {
    "ascii": str.maketrans("", ""),
    "arabic-indic": str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
    "persian": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
}
padding = st.sampled_from(["", " ", "\t", "  \n", "\u00a0", "\u200f", "\ufeff"])


@given(
    date=birth_dates,
    fmt=st.sampled_from(sorted(FULL_FORMATS)),
    digits=st.sampled_from(sorted(DIGITS)),
    left=padding,
    right=padding,
)
def test_full_dates_round_trip(
    date: datetime.date, fmt: str, digits: str, left: str, right: str
) -> None:
    text = left + FULL_FORMATS[fmt](date).translate(DIGITS[digits]) + right
    parsed = parse_date(text, today=TODAY, min_year=MIN_YEAR)
    assert parsed is not None
    assert (parsed.year, parsed.month, parsed.day) == (date.year, date.month, date.day)
    assert parsed.defaulted == ((date.month, date.day) in {(1, 1), (12, 31)})
    assert parsed.to_date() == date


@given(date=birth_dates, fmt=st.sampled_from(sorted(PARTIAL_FORMATS)))
def test_year_month_dates_round_trip(date: datetime.date, fmt: str) -> None:
    parsed = parse_date(PARTIAL_FORMATS[fmt](date), today=TODAY, min_year=MIN_YEAR)
    assert parsed == BirthDate(date.year, date.month, None, True)


@given(date=birth_dates, fmt=st.sampled_from(sorted(YEAR_FORMATS)))
def test_year_only_dates_round_trip(date: datetime.date, fmt: str) -> None:
    parsed = parse_date(YEAR_FORMATS[fmt](date), today=TODAY, min_year=MIN_YEAR)
    assert parsed == BirthDate(date.year, None, None, True)


def check_parse_outcome(text: str) -> None:
    """Parse arbitrary text: a date within bounds, None, or a DateParseError with a fixed reason."""
    try:
        parsed = parse_date(text, today=TODAY, min_year=MIN_YEAR)
    except DateParseError as exc:
        message = str(exc)
        assert message in REASONS
        assert not any(ch.isdigit() for ch in message)
        if len(text.strip()) >= 4:
            assert text.strip() not in message
        return
    if parsed is not None:
        assert MIN_YEAR <= parsed.year <= TODAY.year
        assert parsed.month is not None or parsed.day is None
        assert parsed.defaulted or parsed.day is not None
        full = parsed.to_date()
        assert full is None or full <= TODAY


def check_alternatives(text: str) -> None:
    for reading in alternative_readings(text, today=TODAY, min_year=MIN_YEAR):
        assert isinstance(reading, BirthDate)
        assert MIN_YEAR <= reading.year <= TODAY.year
        full = reading.to_date()
        assert full is None or full <= TODAY


hostile_chars = st.characters(codec=None, exclude_categories=["Cs"])
date_like = st.from_regex(r"\A[0-9xX٠-٩۰-۹ ./\-:T\u200f\x00]{0,14}\Z")
arbitrary_text = st.one_of(
    st.text(hostile_chars, max_size=40),
    date_like,
    st.builds(lambda a, b: a + b, date_like, st.text(hostile_chars, max_size=3)),
    st.sampled_from(["\x00", "\u202e1990-05-12", "🎂1990", "1990-05-12\U0001f382", "\r\n"]),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=8), st.integers(10, 20_000)),
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(text=arbitrary_text)
def test_arbitrary_text_never_crashes_or_leaks(text: str) -> None:
    check_parse_outcome(text)
    check_alternatives(text)


@given(
    year=st.integers(0, 99_999),
    month=st.integers(0, 99),
    day=st.integers(0, 99),
    sep=st.sampled_from(["-", ".", "/"]),
    day_first=st.booleans(),
)
def test_numeric_triples_never_crash(
    year: int, month: int, day: int, sep: str, day_first: bool
) -> None:
    parts = [f"{day:02d}", f"{month:02d}", f"{year:04d}"]
    text = sep.join(parts if day_first else parts[::-1])
    check_parse_outcome(text)
    check_alternatives(text)


@settings(max_examples=30, deadline=None)
@given(date=st.dates(min_value=datetime.date(MIN_YEAR, 1, 1), max_value=TODAY))
def test_persian_dates_read_back(date: datetime.date) -> None:
    year, month, day = persian.from_gregorian(date.year, date.month, date.day)
    text = f"{year:04d}/{month:02d}/{day:02d}"
    # A Solar Hijri date is never accepted as Gregorian...
    with pytest.raises(DateParseError, match=YEAR_OUT_OF_RANGE):
        parse_date(text, today=TODAY, min_year=MIN_YEAR)
    # ...but read back through its alternative reading.
    readings = alternative_readings(text, today=TODAY, min_year=MIN_YEAR)
    assert [r.to_date() for r in readings] == [date]
    assert readings[0].defaulted == ((month, day) == (1, 1))


@settings(deadline=None)
@given(date=birth_dates)
def test_ethiopian_dates_read_back(date: datetime.date) -> None:
    coptic_year, month, day = coptic.from_gregorian(date.year, date.month, date.day)
    year = coptic_year + 276
    text = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        parse_date(text, today=TODAY, min_year=MIN_YEAR)
    except DateParseError:
        # Impossible or implausible as Gregorian: the Ethiopian reading must be offered.
        readings = alternative_readings(text, today=TODAY, min_year=MIN_YEAR)
        assert [r.to_date() for r in readings] == [date]
    else:
        # Plausible as Gregorian: no guess from the string, but explicit conversion works.
        assert alternative_readings(text, today=TODAY, min_year=MIN_YEAR) == ()
        converted = to_gregorian(BirthDate(year, month, day, False), "ethiopian")
        assert converted.to_date() == date
