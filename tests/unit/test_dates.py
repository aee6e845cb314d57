"""Unit tests for linkmatch.normalise.dates: formats, unknown parts, placeholders, calendars."""

from __future__ import annotations

import calendar
import dataclasses
import datetime

import pytest
from convertdate import coptic, persian

from linkmatch.errors import ConfigError, LinkmatchError
from linkmatch.normalise.dates import (
    FUTURE_DATE,
    IMPOSSIBLE_DATE,
    MONTH_OUT_OF_RANGE,
    REASONS,
    UNRECOGNISED_FORMAT,
    YEAR_OUT_OF_RANGE,
    BirthDate,
    DateParseError,
    alternative_readings,
    gregorian_from,
    parse_date,
    to_gregorian,
)

# A fixed "today" keeps every expectation independent of the day the tests run.
TODAY = datetime.date(2025, 6, 15)


def full(year: int, month: int, day: int) -> BirthDate:
    """A full date, defaulted exactly when it is a clerk placeholder."""
    return BirthDate(year, month, day, (month, day) in {(1, 1), (12, 31)})


def year_month(year: int, month: int) -> BirthDate:
    return BirthDate(year, month, None, True)


def year_only(year: int) -> BirthDate:
    return BirthDate(year, None, None, True)


VALID: list[tuple[str, BirthDate]] = [
    # The schema's formats.
    ("1990-05-12", full(1990, 5, 12)),
    ("1990-05", year_month(1990, 5)),
    ("1990", year_only(1990)),
    ("19900512", full(1990, 5, 12)),
    ("12-05-1990", full(1990, 5, 12)),
    ("12.05.1990", full(1990, 5, 12)),
    # Also accepted.
    ("12/05/1990", full(1990, 5, 12)),
    ("1990/05/12", full(1990, 5, 12)),
    ("1990.05.12", full(1990, 5, 12)),
    ("1990-5-1", full(1990, 5, 1)),
    ("1.5.1990", full(1990, 5, 1)),
    ("05.1990", year_month(1990, 5)),
    ("05/1990", year_month(1990, 5)),
    ("5-1990", year_month(1990, 5)),
    ("1990/05", year_month(1990, 5)),
    ("15031990", full(1990, 3, 15)),  # DDMMYYYY: YYYYMMDD would give year 1503
    ("  1990-05-12\t", full(1990, 5, 12)),
    ("\u00a012.05.1990\n", full(1990, 5, 12)),
    ("1990-05-12 00:00:00", full(1990, 5, 12)),
    ("1990-05-12T08:30:00Z", full(1990, 5, 12)),
    ("1990-05-12T08:30:00.000+03:00", full(1990, 5, 12)),
    ("12.05.1990 00:00", full(1990, 5, 12)),
    # Other digits and invisible characters from right-to-left documents.
    ("١٢/٠٥/١٩٩٠", full(1990, 5, 12)),
    ("١٩٩٠-٠٥-١٢", full(1990, 5, 12)),
    ("۱۹۹۰-۰۵-۱۲", full(1990, 5, 12)),
    ("۱۲.۰۵.۱۹۹۰", full(1990, 5, 12)),
    ("１９９０-０５-１２", full(1990, 5, 12)),
    ("\u200f12/05/1990\u200f", full(1990, 5, 12)),
    ("\u202b١٢/٠٥/١٩٩٠\u202c", full(1990, 5, 12)),
    ("\ufeff1990-05-12", full(1990, 5, 12)),
    # Unknown day or month: 00, 0, XX, X.
    ("1990-00-00", year_only(1990)),
    ("1990-05-00", year_month(1990, 5)),
    ("1990-00-12", year_only(1990)),  # a day without a month is no evidence
    ("00-05-1990", year_month(1990, 5)),
    ("00.00.1990", year_only(1990)),
    ("0.0.1990", year_only(1990)),
    ("XX.XX.1990", year_only(1990)),
    ("xx/xx/1990", year_only(1990)),
    ("Xx-05-1990", year_month(1990, 5)),
    ("X.5.1990", year_month(1990, 5)),
    ("15.XX.1990", year_only(1990)),
    ("1990-XX-XX", year_only(1990)),
    ("1990-XX", year_only(1990)),
    ("00.1990", year_only(1990)),
    ("19900000", year_only(1990)),
    ("19900500", year_month(1990, 5)),
    ("199005XX", year_month(1990, 5)),
    ("XXXX1990", year_only(1990)),
    ("۰۰/۰۰/۱۹۹۰", year_only(1990)),
    # Placeholders keep month and day but are defaulted; their neighbours are not.
    ("01.01.1990", BirthDate(1990, 1, 1, True)),
    ("1990-01-01", BirthDate(1990, 1, 1, True)),
    ("19900101", BirthDate(1990, 1, 1, True)),
    ("31/12/1990", BirthDate(1990, 12, 31, True)),
    ("1990-12-31", BirthDate(1990, 12, 31, True)),
    ("1990-01-02", BirthDate(1990, 1, 2, False)),
    ("02.01.1990", BirthDate(1990, 1, 2, False)),
    ("1990-12-30", BirthDate(1990, 12, 30, False)),
    ("1990-07-01", BirthDate(1990, 7, 1, False)),
    # Leap days and range boundaries.
    ("29.02.1992", full(1992, 2, 29)),
    ("2000-02-29", full(2000, 2, 29)),  # divisible by 400
    ("1900-01-01", BirthDate(1900, 1, 1, True)),
    ("2025-06-15", full(2025, 6, 15)),  # today
    ("2025-06", year_month(2025, 6)),  # this month
    ("2025", year_only(2025)),  # this year
]

MISSING: list[str | None] = [
    None,
    "",
    "   ",
    "\t\n",
    "\u200f",
    "unknown",
    "UNKNOWN",
    "Unknown ",
    "unbekannt",
    "n/a",
    "N/A",
    "nan",
    "NaT",
    "None",
    "null",
    "-",
    "?",
    "0",
    "XX",
    "XXXX",
    "0000",
    "0000-00-00",
    "00.00.0000",
    "XX.XX.XXXX",
    "xx/xx/xxxx",
    "00000000",
    "12.05.XXXX",  # day and month without a year cannot be represented: unknown
    "غير معروف",
    "نامعلوم",
]

INVALID: list[tuple[str, str]] = [
    ("1990-13-01", MONTH_OUT_OF_RANGE),
    ("12.13.1990", MONTH_OUT_OF_RANGE),
    ("2010-13-05", MONTH_OUT_OF_RANGE),
    ("12/25/1990", MONTH_OUT_OF_RANGE),  # US order is not guessed
    ("1990-13", MONTH_OUT_OF_RANGE),
    ("19901305", MONTH_OUT_OF_RANGE),
    ("30.02.1995", IMPOSSIBLE_DATE),
    ("29.02.1991", IMPOSSIBLE_DATE),
    ("1900-02-29", IMPOSSIBLE_DATE),  # divisible by 100, not by 400
    ("31.04.1990", IMPOSSIBLE_DATE),
    ("1990-06-31", IMPOSSIBLE_DATE),
    ("32.01.1990", IMPOSSIBLE_DATE),
    ("1899-12-31", YEAR_OUT_OF_RANGE),
    ("1370-01-01", YEAR_OUT_OF_RANGE),  # Solar Hijri, never read as Gregorian
    ("1370/01/01", YEAR_OUT_OF_RANGE),
    ("۱۳۷۰/۰۱/۰۱", YEAR_OUT_OF_RANGE),
    ("13700101", YEAR_OUT_OF_RANGE),
    ("01.01.1370", YEAR_OUT_OF_RANGE),
    ("1370", YEAR_OUT_OF_RANGE),
    ("0990-01-01", YEAR_OUT_OF_RANGE),
    ("2025-06-16", FUTURE_DATE),
    ("2025-07", FUTURE_DATE),
    ("2026", FUTURE_DATE),
    ("9999-12-31", FUTURE_DATE),
    ("12.05.90", UNRECOGNISED_FORMAT),  # two-digit years are not guessed
    ("90-05-12", UNRECOGNISED_FORMAT),
    ("May 1990", UNRECOGNISED_FORMAT),
    ("12 May 1990", UNRECOGNISED_FORMAT),
    ("1990 05 12", UNRECOGNISED_FORMAT),
    ("1990-05.12", UNRECOGNISED_FORMAT),  # mixed separators
    ("1990--05", UNRECOGNISED_FORMAT),
    ("1990-05-12-01", UNRECOGNISED_FORMAT),
    ("1x90-05-12", UNRECOGNISED_FORMAT),
    ("199005", UNRECOGNISED_FORMAT),
    ("+1990", UNRECOGNISED_FORMAT),
    ("1990-05 00:00", UNRECOGNISED_FORMAT),
    ("12.05.1990 tomorrow", UNRECOGNISED_FORMAT),
    ("²⁰²⁰", UNRECOGNISED_FORMAT),  # superscripts are digits to str.isdigit, not to int
    ("١٩٩٠x", UNRECOGNISED_FORMAT),
    ("1990-05-12\x00", UNRECOGNISED_FORMAT),
    ("abc", UNRECOGNISED_FORMAT),
    ("1990" * 20, UNRECOGNISED_FORMAT),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_formats(text: str, expected: BirthDate) -> None:
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize("text", MISSING)
def test_missing_values_are_none(text: str | None) -> None:
    assert parse_date(text, today=TODAY) is None


@pytest.mark.parametrize(("text", "reason"), INVALID)
def test_invalid_values_give_reason_without_value(text: str, reason: str) -> None:
    with pytest.raises(DateParseError) as excinfo:
        parse_date(text, today=TODAY)
    message = str(excinfo.value)
    assert message == reason
    assert excinfo.value.reason == reason
    assert text.strip() not in message
    assert not any(ch.isdigit() for ch in message)


def test_reasons_are_fixed_texts() -> None:
    assert {reason for _, reason in INVALID} == REASONS


def test_error_is_a_value_error_and_a_linkmatch_error() -> None:
    assert issubclass(DateParseError, ValueError)
    assert issubclass(DateParseError, LinkmatchError)
    with pytest.raises(ValueError, match=IMPOSSIBLE_DATE):
        parse_date("31.02.1990", today=TODAY)


def test_repeated_invalid_value_raises_every_time() -> None:
    """Failures are cached as reasons, not swallowed by the cache."""
    for _ in range(3):
        with pytest.raises(DateParseError, match=IMPOSSIBLE_DATE):
            parse_date("30.02.1995", today=TODAY)


def test_non_text_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_date(float("nan"), today=TODAY)  # type: ignore[arg-type]


@pytest.mark.parametrize("year", [1900, 1904, 1996, 1999, 2000, 2004, 2023, 2024])
def test_leap_days(year: int) -> None:
    text = f"29.02.{year}"
    if calendar.isleap(year):
        assert parse_date(text, today=TODAY) == full(year, 2, 29)
    else:
        with pytest.raises(DateParseError, match=IMPOSSIBLE_DATE):
            parse_date(text, today=TODAY)


def test_future_is_relative_to_today() -> None:
    assert parse_date("2025-06-16", today=datetime.date(2025, 6, 16)) == full(2025, 6, 16)
    with pytest.raises(DateParseError, match=FUTURE_DATE):
        parse_date("2025-06-16", today=datetime.date(2025, 6, 15))


def test_default_today_is_the_system_date() -> None:
    today = datetime.date.today()
    assert parse_date(today.isoformat()) == full(today.year, today.month, today.day)
    with pytest.raises(DateParseError, match=FUTURE_DATE):
        parse_date((today + datetime.timedelta(days=1)).isoformat())


def test_min_year_is_configurable() -> None:
    assert parse_date("1890-05-12", today=TODAY, min_year=1850) == full(1890, 5, 12)
    with pytest.raises(DateParseError, match=YEAR_OUT_OF_RANGE):
        parse_date("1890-05-12", today=TODAY)


# --------------------------------------------------------------------------- BirthDate


@pytest.mark.parametrize(
    "fields",
    [
        (1990, None, 5, True),  # day without month
        (1990, 13, None, True),
        (1990, 0, None, True),
        (1990, 2, 30, False),
        (1991, 2, 29, False),
        (0, None, None, True),
        (10000, None, None, True),
        (1990, None, None, False),  # partial must be defaulted
        (1990, 5, None, False),
    ],
)
def test_birthdate_rejects_invalid_fields(fields: tuple[int, int | None, int | None, bool]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        BirthDate(*fields)


def test_birthdate_helpers_and_immutability() -> None:
    date = full(1990, 5, 12)
    assert date.is_full
    assert date.to_date() == datetime.date(1990, 5, 12)
    assert not year_month(1990, 5).is_full
    assert year_month(1990, 5).to_date() is None
    assert len({date, full(1990, 5, 12)}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        date.year = 1991  # type: ignore[misc]


# --------------------------------------------------------------------------- calendars


def ethiopian_via_convertdate(year: int, month: int, day: int) -> datetime.date:
    """Independent reference: convertdate's Coptic calendar, 276 years behind the Ethiopian."""
    return datetime.date(*coptic.to_gregorian(year - 276, month, day))


@pytest.mark.parametrize(
    ("ethiopian", "gregorian"),
    [
        ((2016, 1, 1), (2023, 9, 12)),  # Enkutatash 2016 (after the leap year 2015)
        ((2017, 1, 1), (2024, 9, 11)),  # Enkutatash 2017
        ((2016, 4, 28), (2024, 1, 7)),  # Genna 2016
        ((1888, 6, 23), (1896, 3, 1)),  # battle of Adwa
        ((1983, 9, 20), (1991, 5, 28)),
    ],
)
def test_ethiopian_known_conversions(
    ethiopian: tuple[int, int, int], gregorian: tuple[int, int, int]
) -> None:
    assert ethiopian_via_convertdate(*ethiopian) == datetime.date(*gregorian)
    converted = to_gregorian(BirthDate(*ethiopian, defaulted=False), "ethiopian")
    assert (converted.year, converted.month, converted.day) == gregorian
    assert converted.defaulted == (ethiopian[1:] == (1, 1))


@pytest.mark.parametrize(
    ("persian_date", "gregorian"),
    [
        ((1370, 1, 1), (1991, 3, 21)),  # Nowruz 1370
        ((1357, 11, 22), (1979, 2, 11)),  # revolution day
        ((1375, 1, 1), (1996, 3, 20)),
        ((1403, 1, 1), (2024, 3, 20)),
        ((1404, 1, 1), (2025, 3, 21)),
        ((1403, 12, 30), (2025, 3, 20)),  # 1403 is a leap year
        ((1370, 3, 21), (1991, 6, 11)),
        ((1300, 7, 1), (1921, 9, 23)),
    ],
)
def test_persian_known_conversions(
    persian_date: tuple[int, int, int], gregorian: tuple[int, int, int]
) -> None:
    assert persian.to_gregorian(*persian_date) == gregorian
    converted = to_gregorian(BirthDate(*persian_date, defaulted=False), "persian")
    assert (converted.year, converted.month, converted.day) == gregorian


@pytest.mark.parametrize("year", [1365, 1403])
def test_persian_arithmetic_matches_convertdate_for_every_month(year: int) -> None:
    for month in range(1, 13):
        last = persian.month_length(year, month)
        for day in (1, last):
            converted = gregorian_from("persian", year, month, day)
            assert converted.to_date() == datetime.date(*persian.to_gregorian(year, month, day))


def test_gregorian_from_takes_dates_a_birthdate_cannot_hold() -> None:
    assert gregorian_from("ethiopian", 2010, 13, 5) == BirthDate(2018, 9, 10, False)
    assert gregorian_from("ethiopian", 1995, 2, 30).to_date() == ethiopian_via_convertdate(
        1995, 2, 30
    )
    assert gregorian_from("persian", 1370, 2, 31).to_date() == datetime.date(
        *persian.to_gregorian(1370, 2, 31)
    )
    assert gregorian_from("ethiopian", 2010, 13) == year_month(2018, 9)
    assert gregorian_from("persian", 1370, None, 12) == year_only(1991)  # day without month


def test_gregorian_from_gregorian_applies_the_parse_rules() -> None:
    assert gregorian_from("gregorian", 1990, 1, 1) == BirthDate(1990, 1, 1, True)
    assert gregorian_from("gregorian", 1990, 5, 12) == full(1990, 5, 12)
    assert gregorian_from("gregorian", 1990, None, 12) == year_only(1990)
    with pytest.raises(DateParseError, match=IMPOSSIBLE_DATE):
        gregorian_from("gregorian", 1990, 2, 30)
    with pytest.raises(DateParseError, match=MONTH_OUT_OF_RANGE):
        gregorian_from("ethiopian", 2010, 14, 1)
    with pytest.raises(DateParseError, match=YEAR_OUT_OF_RANGE):
        gregorian_from("persian", 0)
    with pytest.raises(ConfigError):
        gregorian_from("julian", 1990)  # type: ignore[arg-type]


def test_partial_dates_convert_by_their_middle() -> None:
    # Ethiopian 2016 runs from September 2023 to September 2024: mostly 2024.
    assert to_gregorian(year_only(2016), "ethiopian") == year_only(2024)
    # Meskerem 2016 runs 12 September - 11 October 2023: mostly September.
    assert to_gregorian(year_month(2016, 1), "ethiopian") == year_month(2023, 9)
    # Persian 1370 runs from March 1991 to March 1992: mostly 1991.
    assert to_gregorian(year_only(1370), "persian") == year_only(1991)
    # Farvardin 1370 runs 21 March - 20 April 1991: mostly April.
    assert to_gregorian(year_month(1370, 1), "persian") == year_month(1991, 4)
    assert to_gregorian(year_month(1370, 5), "persian") == year_month(1991, 8)


def test_conversion_keeps_and_adds_defaulted() -> None:
    assert to_gregorian(BirthDate(1370, 1, 1, False), "persian").defaulted
    assert not to_gregorian(BirthDate(1370, 3, 21, False), "persian").defaulted
    assert to_gregorian(BirthDate(1370, 3, 21, True), "persian").defaulted


def test_gregorian_is_identity() -> None:
    date = full(1990, 5, 12)
    assert to_gregorian(date, "gregorian") is date


@pytest.mark.parametrize(
    ("date", "calendar_name", "reason"),
    [
        (BirthDate(2016, 5, 31, False), "ethiopian", IMPOSSIBLE_DATE),  # 30-day months
        (BirthDate(1402, 12, 30, False), "persian", IMPOSSIBLE_DATE),  # 1402 is not leap
        (BirthDate(1370, 7, 31, False), "persian", IMPOSSIBLE_DATE),  # Mehr has 30 days
        (BirthDate(9999, 1, 1, True), "persian", YEAR_OUT_OF_RANGE),
        (BirthDate(9999, 1, 1, True), "ethiopian", YEAR_OUT_OF_RANGE),
    ],
)
def test_conversion_of_nonexistent_dates_fails(
    date: BirthDate, calendar_name: str, reason: str
) -> None:
    with pytest.raises(DateParseError) as excinfo:
        to_gregorian(date, calendar_name)  # type: ignore[arg-type]
    assert str(excinfo.value) == reason


def test_unknown_calendar_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        to_gregorian(full(1990, 5, 12), "hebrew")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- alternatives


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Ethiopian: month 13 (Pagume), 30 February, a year just below min_year.
        ("2010-13-05", (BirthDate(2018, 9, 10, False),)),
        ("05.13.2010", (BirthDate(2018, 9, 10, False),)),
        ("2011-13-06", (BirthDate(2019, 9, 11, False),)),  # 2011 E.C. is a leap year
        ("30.02.1995", (BirthDate(2002, 11, 9, False),)),
        ("1895-03-10", (BirthDate(1902, 11, 19, False),)),
        ("1895", (year_only(1903),)),
        ("00.13.2010", (year_month(2018, 9),)),
        # Solar Hijri.
        ("1370/01/01", (BirthDate(1991, 3, 21, True),)),
        ("۱۳۷۰/۰۱/۰۱", (BirthDate(1991, 3, 21, True),)),
        ("13700101", (BirthDate(1991, 3, 21, True),)),
        ("21.03.1370", (BirthDate(1991, 6, 11, False),)),
        ("1357/11/22", (BirthDate(1979, 2, 11, False),)),
        ("1370", (year_only(1991),)),
        ("1370-05", (year_month(1991, 8),)),
        ("XX.XX.1370", (year_only(1991),)),
    ],
)
def test_alternative_readings(text: str, expected: tuple[BirthDate, ...]) -> None:
    with pytest.raises(DateParseError):
        parse_date(text, today=TODAY)
    assert alternative_readings(text, today=TODAY) == expected


def test_alternative_readings_agree_with_convertdate() -> None:
    (reading,) = alternative_readings("2010-13-05", today=TODAY)
    assert reading.to_date() == ethiopian_via_convertdate(2010, 13, 5)
    (reading,) = alternative_readings("1995-02-30", today=TODAY)
    assert reading.to_date() == ethiopian_via_convertdate(1995, 2, 30)
    (reading,) = alternative_readings("1357/11/22", today=TODAY)
    assert reading.to_date() == datetime.date(*persian.to_gregorian(1357, 11, 22))


@pytest.mark.parametrize(
    "text",
    [
        "1990-05-12",  # plausible Gregorian: no reinterpretation
        "01.01.1990",
        "",
        "unknown",
        "abc",
        "12.05.90",
        "2010-13-06",  # 2010 E.C. is not a leap year: no Pagume 6
        "1990-13-45",  # invalid in every calendar
        "1370-12-31",  # Esfand never has 31 days, nor Ethiopian months
        "2030-01-01",  # future in every calendar
        "2017-13-05",  # Ethiopian reading (10 September 2025) is after TODAY
        "1250-01-01",  # Persian reading (1871) is before min_year
        "1880-01-01",  # Ethiopian reading (1887) is before min_year
        "1370" * 30,
    ],
)
def test_no_alternative_readings(text: str) -> None:
    assert alternative_readings(text, today=TODAY) == ()


def test_alternative_readings_follow_today_and_min_year() -> None:
    later = datetime.date(2026, 1, 1)
    assert alternative_readings("2017-13-05", today=later) == (BirthDate(2025, 9, 10, False),)
    assert alternative_readings("1250-01-01", today=TODAY, min_year=1850) == (
        BirthDate(1871, 3, 21, True),
    )


# --------------------------------------------------------------------------- caching


def test_repeated_strings_are_memoised() -> None:
    """Columns repeat a few thousand distinct values: a repeat must come from the cache.

    (Speed itself is measured in benchmarks, not asserted in unit tests.)
    """
    first = parse_date("17.05.1990", today=TODAY)
    again = parse_date("17.05.1990", today=TODAY)
    assert first == BirthDate(1990, 5, 17, False)
    assert again is first

