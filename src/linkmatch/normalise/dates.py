"""Parse dates of birth as clerks write them, and read them in the calendars they came from.

Dates of birth of asylum seekers are rarely clean: often only the year is known, and the
unknown day and month are written as ``00`` or ``XX`` or replaced by a placeholder (1 January,
31 December); documents from Ethiopia and Eritrea use the Ethiopian calendar, documents from
Iran and Afghanistan the Solar Hijri (Persian) one, and the numbers are copied as written.
This module turns such text into a :class:`BirthDate` that says exactly how much of it is
evidence, so that the matcher can compare dates by *level* (exact, swapped, year only, ...)
instead of trusting an invented day.

Decision rules, and why:

* **Formats.** ``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``, ``YYYYMMDD``, ``DD-MM-YYYY`` and
  ``DD.MM.YYYY`` (the schema contract), plus ``DD/MM/YYYY``, ``YYYY/MM/DD``, ``YYYY.MM.DD``,
  ``MM-YYYY`` / ``MM.YYYY`` / ``MM/YYYY``, and a trailing time of day (``1990-05-12 00:00:00``,
  as pandas and spreadsheets export dates). The position of the four-digit year decides the
  order, so a parse is never ambiguous. ``DDMMYYYY`` is read only when ``YYYYMMDD`` cannot be
  (its year is out of range and the last four digits are a year in range): for years of birth
  after 1231 the two readings can never both be valid dates, so this costs nothing. Two-digit
  years, month names and US ``MM/DD/YYYY`` order are *not* guessed: inventing a century or an
  order would turn a clerk's ambiguity into false evidence. A US-order date with a day above 12
  fails with ``month out of range``; day/month swaps between two *valid* dates are the matcher's
  business.
* **Digits and noise.** Arabic-Indic (``٠``–``٩``), Persian (``۰``–``۹``) and full-width digits
  become ASCII; surrounding whitespace and invisible format characters (RTL/LTR marks, byte order
  mark, zero-width space), which come along when text is copied from right-to-left documents, are
  dropped. Only ASCII ``0-9`` count as digits afterwards (``str.isdigit`` would accept superscripts
  that ``int`` rejects).
* **Unknown parts.** ``0``/``00`` or ``X``/``XX`` (any case) mark an unknown day or month. A known
  day with an unknown month says nothing on its own, so the day is dropped too. An unknown year
  (``0000``, ``XXXX``), an empty or whitespace-only value and words such as ``unknown``, ``n/a``,
  ``none``, ``nan`` give ``None`` (missing, not an error): the holder said it does not know.
* **Placeholders.** A date with an unknown part, and the full dates 1 January and 31 December
  (the placeholders clerks enter when only the year is known), have ``defaulted=True``. They keep
  their month and day (they are what the record says) but the matcher must treat them as year-only
  evidence: two people "born" on 1 January of the same year are not thereby the same person.
* **Validity.** The year must lie in ``[min_year, today.year]``; month 1-12; the day must exist in
  that month (29 February only in leap years); the date must not be after ``today``. A value that
  fails raises :class:`DateParseError` with the *reason* only, never the value, because error
  texts end up in logs that are not cleared for personal data.
* **Other calendars are never silently accepted as Gregorian.** A Solar Hijri year (about
  1280-1405) is below ``min_year`` and fails with ``year out of range``;
  :func:`alternative_readings` then offers its Persian reading. A date that is impossible as
  Gregorian but valid Ethiopian (month 13 = Pagume, day 30 of February, a year up to 8 below
  ``min_year``) fails likewise and gets its Ethiopian reading. A date that *is* plausible
  Gregorian gets no alternative here (the string alone cannot tell); a caller who knows the
  document's calendar uses :func:`to_gregorian` (or :func:`gregorian_from`) directly.
* **Partial dates in other calendars.** A year-only date maps to the Gregorian year holding the
  middle of that year (Ethiopian ``Y`` -> ``Y + 8``, Persian ``Y`` -> ``Y + 621``: most of the year
  lies there); a year-month date maps to the Gregorian month holding the middle of that month
  (Ethiopian months start around the 10th, Persian ones around the 21st, so each month overlaps
  two Gregorian months and the middle picks the larger share). Both stay ``defaulted``.
  The 1st of the 1st month (Meskerem 1, Farvardin 1 = Nowruz) is that calendar's clerk
  placeholder, so a reading of it is ``defaulted`` too.

Calendar arithmetic comes from ``convertdate``. Its 2.5 release has no ``ethiopian`` module, but its
Coptic calendar has the same months (12 x 30 days + Pagume of 5 or 6), the same leap rule and an
epoch exactly 276 years later (Era of Martyrs vs. Amete Mihret), so Ethiopian ``Y`` = Coptic
``Y - 276`` (checked: 1 Meskerem 2016 = 12 September 2023). Its Persian calendar is astronomical
(the day of the March equinox at Tehran); for every year 1280-1419 (1901-2041) it gives the same
Nowruz as the arithmetic (``jalaali``) rule that Iranian software follows, while for some years
before 1280 the two differ by a day. It is slow (pymeeus), so only the Gregorian date of Nowruz
is computed, once per year, and the rest is day arithmetic.

Speed: parsing is memoised per (string, today, min_year), and failures are cached as well as
successes, so a column of repeated values costs a dictionary lookup per row. A distinct value
of the commonest shapes (``YYYY-MM-DD``, ``DD.MM.YYYY``, ``DD-MM-YYYY``, a plausible
``YYYYMMDD``, all ASCII digits) is read by ``_split_fast`` without the general clean-up and
pattern tests, which it must agree with (property-tested): about 2.3 microseconds per distinct
date of ``synth.generate(seed=3, n_left=100_000)``, cold, against about 5.4 before.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from convertdate import coptic, persian

from linkmatch.errors import ConfigError, LinkmatchError

__all__ = [
    "FUTURE_DATE",
    "IMPOSSIBLE_DATE",
    "MONTH_OUT_OF_RANGE",
    "PLACEHOLDER_DAYS",
    "REASONS",
    "UNRECOGNISED_FORMAT",
    "YEAR_OUT_OF_RANGE",
    "BirthDate",
    "Calendar",
    "DateParseError",
    "alternative_readings",
    "gregorian_from",
    "parse_date",
    "to_gregorian",
]

Calendar = Literal["gregorian", "ethiopian", "persian"]

UNRECOGNISED_FORMAT: Final = "unrecognised format"
MONTH_OUT_OF_RANGE: Final = "month out of range"
IMPOSSIBLE_DATE: Final = "impossible date"
YEAR_OUT_OF_RANGE: Final = "year out of range"
FUTURE_DATE: Final = "date in the future"
#: Every message a :class:`DateParseError` can carry: fixed texts, so none can hold a value.
REASONS: Final = frozenset(
    {UNRECOGNISED_FORMAT, MONTH_OUT_OF_RANGE, IMPOSSIBLE_DATE, YEAR_OUT_OF_RANGE, FUTURE_DATE}
)

#: (month, day) pairs that clerks enter when only the year is known.
PLACEHOLDER_DAYS: Final = frozenset({(1, 1), (12, 31)})

_MIN_YEAR_DEFAULT: Final = 1900
# Longer input cannot be a date; refusing it early keeps huge strings out of the caches.
_MAX_LEN: Final = 64
_ETHIOPIAN_TO_COPTIC_YEARS: Final = 276
# Calendars tried by alternative_readings, with their approximate year offset to Gregorian.
_YEAR_OFFSETS: Final = (("ethiopian", 8), ("persian", 621))
_DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class DateParseError(LinkmatchError, ValueError):
    """A date of birth cannot be read.

    The message is one of :data:`REASONS` and never contains the value, so it can be logged and
    counted per file, row and column.

    Args:
        reason: why the value was rejected (one of :data:`REASONS`).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and _is_leap(year):
        return 29
    return _DAYS_IN_MONTH[month - 1]


@dataclass(frozen=True, slots=True)
class BirthDate:
    """A Gregorian date of birth, possibly partial.

    Attributes:
        year: the year (always known: a date without a year is treated as missing).
        month: 1-12, or ``None`` when unknown.
        day: day of the month, or ``None`` when unknown (always ``None`` when ``month`` is).
        defaulted: ``True`` when day or month is unknown or is a known placeholder (1 January,
            31 December). Only the year (and the month, if given) is then evidence; the matcher
            must not score agreement on the placeholder day.

    Raises:
        ValueError: if the fields do not form a real Gregorian (partial) date. Checking here
            means that every consumer can rely on ``datetime.date(year, month, day)`` working.
    """

    year: int
    month: int | None
    day: int | None
    defaulted: bool

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999:
            raise ValueError(YEAR_OUT_OF_RANGE)
        if self.month is None:
            if self.day is not None:
                raise ValueError("day given without month")
            if not self.defaulted:
                raise ValueError("a partial date must be defaulted")
            return
        if not 1 <= self.month <= 12:
            raise ValueError(MONTH_OUT_OF_RANGE)
        if self.day is None:
            if not self.defaulted:
                raise ValueError("a partial date must be defaulted")
            return
        if not 1 <= self.day <= _days_in_month(self.year, self.month):
            raise ValueError(IMPOSSIBLE_DATE)

    @property
    def is_full(self) -> bool:
        """Whether year, month and day are all known (placeholder or not)."""
        return self.day is not None

    def to_date(self) -> datetime.date | None:
        """The full date as a :class:`datetime.date`, or ``None`` for a partial date."""
        if self.month is None or self.day is None:
            return None
        return datetime.date(self.year, self.month, self.day)


# --------------------------------------------------------------------------- text clean-up

_TRANSLATION: Final[dict[int, int | None]] = {
    **{0x0660 + i: 0x30 + i for i in range(10)},  # Arabic-Indic digits
    **{0x06F0 + i: 0x30 + i for i in range(10)},  # Extended Arabic-Indic (Persian, Urdu) digits
    **{0xFF10 + i: 0x30 + i for i in range(10)},  # full-width digits
    # Invisible format characters carried along from right-to-left documents.
    **dict.fromkeys((0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0xFEFF)),
    **dict.fromkeys(range(0x202A, 0x202F)),
    **dict.fromkeys(range(0x2066, 0x206A)),
}

_UNKNOWN_WORDS: Final = frozenset(
    {
        "", "-", "--", "?", "??", ".", "/", "0", "x", "xx", "xxxx",
        "unknown", "unk", "unkn", "n/a", "n.a.", "na", "n/k", "nk", "none", "null", "nil",
        "nan", "nat", "<na>", "unbekannt", "inconnu", "inconnue", "desconocido",
        "غير معروف", "نامعلوم", "مجهول",
    }
)  # fmt: skip

_SEPARATED = re.compile(r"([0-9xX]+)([-./])([0-9xX]+)(?:\2([0-9xX]+))?", re.ASCII)
_COMPACT = re.compile(r"[0-9xX]{8}", re.ASCII)
_YEAR_ONLY = re.compile(r"[0-9]{4}|[xX]{4}", re.ASCII)
_TIME_SUFFIX = re.compile(
    r"[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"  # hh:mm[:ss[.fff]]
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?\Z",  # [zone]
    re.ASCII,
)

# A raw reading of the text: (year, month, day), None = unknown, not yet validated.
_Raw = tuple[int, int | None, int | None]


def _normalise(text: str) -> str:
    return text.translate(_TRANSLATION).strip()


def _token_ok(token: str) -> bool:
    """A token is all digits or all X: ``1x`` is not a date part."""
    return token.isdigit() or token.strip("xX") == ""


def _value(token: str) -> int | None:
    """Numeric value of a well-formed token; ``None`` for unknown (all zeros or all X)."""
    if not token.isdigit():
        return None
    value = int(token)
    return value if value else None


def _raw(year: str, month: str | None, day: str | None) -> _Raw | str | None:
    """Assemble checked tokens into a raw reading; ``None`` when the year is unknown."""
    parts = [t for t in (year, month, day) if t is not None]
    if not all(_token_ok(t) for t in parts):
        return UNRECOGNISED_FORMAT
    y = _value(year)
    if y is None:
        return None
    m = _value(month) if month is not None else None
    d = _value(day) if day is not None and m is not None else None
    return (y, m, d)


def _split(text: str, today: datetime.date, min_year: int) -> _Raw | str | None:
    """Read the year, month and day of normalised text without judging the calendar.

    Returns:
        The raw reading, ``None`` for an unknown value, or a reason string when the text is not
        in any supported format.
    """
    if text.casefold() in _UNKNOWN_WORDS:
        return None
    suffix = _TIME_SUFFIX.search(text)
    timed = suffix is not None
    if suffix is not None:
        text = text[: suffix.start()]
    match = _SEPARATED.fullmatch(text)
    if match is not None:
        first, _, second, third = match.groups()
        if third is not None:
            if len(first) == 4 and len(second) <= 2 and len(third) <= 2:
                return _raw(first, second, third)
            if len(first) <= 2 and len(second) <= 2 and len(third) == 4:
                return _raw(third, second, first)
        elif not timed:
            if len(first) == 4 and len(second) <= 2:
                return _raw(first, second, None)
            if len(first) <= 2 and len(second) == 4:
                return _raw(second, first, None)
        return UNRECOGNISED_FORMAT
    if timed:
        return UNRECOGNISED_FORMAT
    if _YEAR_ONLY.fullmatch(text):
        return _raw(text, None, None)
    if _COMPACT.fullmatch(text):
        return _split_compact(text, today, min_year)
    return UNRECOGNISED_FORMAT


def _split_compact(text: str, today: datetime.date, min_year: int) -> _Raw | str | None:
    """Read eight characters as ``YYYYMMDD``, or as ``DDMMYYYY`` when only that makes sense."""
    ymd = (text[:4], text[4:6], text[6:])
    dmy = (text[4:], text[2:4], text[:2])
    readings = [r for r in (ymd, dmy) if all(_token_ok(t) for t in r)]

    def year_of(reading: tuple[str, str, str]) -> int:
        return int(reading[0]) if reading[0].isdigit() else 0

    for plausible in (
        lambda y: min_year <= y <= today.year,
        lambda y: y >= 1000,  # a year in another calendar, or merely out of range
        lambda y: True,
    ):
        for reading in readings:
            if plausible(year_of(reading)):
                return _raw(*reading)
    return UNRECOGNISED_FORMAT


# --------------------------------------------------------------------------- Gregorian parse


def _gregorian(raw: _Raw, today: datetime.date, min_year: int) -> BirthDate | str:
    """Validate a raw reading as a Gregorian birth date; return it or the reason it fails."""
    year, month, day = raw
    if year < min_year:
        return YEAR_OUT_OF_RANGE
    if year > today.year:
        return FUTURE_DATE
    if month is not None:
        if not 1 <= month <= 12:
            return MONTH_OUT_OF_RANGE
        if day is not None and day > _days_in_month(year, month):
            return IMPOSSIBLE_DATE
    # the year is at most today's here: only this year's dates can lie in the future
    if year == today.year and (month or 0, day or 0) > (today.month, today.day):
        return FUTURE_DATE
    defaulted = day is None or (month, day) in PLACEHOLDER_DAYS
    return _birth_date(year, month, day, defaulted)


@lru_cache(maxsize=1 << 16)
def _birth_date(year: int, month: int | None, day: int | None, defaulted: bool) -> BirthDate:
    """One shared (immutable) BirthDate per date.

    A file writes one date in several ways (``1990-05-12``, ``12.05.1990``, ``19900512``), and
    building and checking a frozen dataclass costs more than this lookup.
    """
    return BirthDate(year, month, day, defaulted)


_FAST_SEPARATORS: Final = "-./"


def _split_fast(text: str, today: datetime.date, min_year: int) -> _Raw | None:
    """Read the commonest shapes of a full date directly, or give ``None`` for anything else.

    ``YYYY-MM-DD`` and ``DD-MM-YYYY`` with one of ``-./`` twice, and ``YYYYMMDD`` whose year is
    plausible, all ASCII digits, no part zero, nothing around them: most dates of a file.
    :func:`_split` reads these exactly so (a plausible ``YYYYMMDD`` year wins over ``DDMMYYYY``);
    this skips its clean-up and pattern tests. ``None`` means "use :func:`_split`", never
    "unknown"; the property tests check that both agree.
    """
    if not text.isascii():
        return None
    size = len(text)
    if size == 10:
        sep = text[4]
        if sep in _FAST_SEPARATORS and text[7] == sep:
            year, month, day = text[:4], text[5:7], text[8:]
        else:
            sep = text[2]
            if sep not in _FAST_SEPARATORS or text[5] != sep:
                return None
            day, month, year = text[:2], text[3:5], text[6:]
    elif size == 8:
        year, month, day = text[:4], text[4:6], text[6:]
    else:
        return None
    if not (year.isdigit() and month.isdigit() and day.isdigit()):  # ASCII: only 0-9
        return None
    y, m, d = int(year), int(month), int(day)
    if not (y and m and d) or (size == 8 and not min_year <= y <= today.year):
        return None
    return (y, m, d)


@lru_cache(maxsize=1 << 17)
def _parse_cached(text: str, today: datetime.date, min_year: int) -> BirthDate | str | None:
    raw = _split_fast(text, today, min_year) or _split(_normalise(text), today, min_year)
    if raw is None or isinstance(raw, str):
        return raw
    return _gregorian(raw, today, min_year)


def parse_date(
    text: str | None,
    *,
    today: datetime.date | None = None,
    min_year: int = _MIN_YEAR_DEFAULT,
) -> BirthDate | None:
    """Parse a date of birth written in the Gregorian calendar.

    See the module docstring for the accepted formats and the decision rules.

    Args:
        text: the value as found in the input file.
        today: the reference date for "in the future" (default: the system date). Pass it for
            reproducible runs and tests.
        min_year: the earliest plausible year of birth. Also what separates Gregorian years from
            Solar Hijri ones (about 1280-1405), which must not be read as Gregorian.

    Returns:
        ``None`` for a missing or explicitly unknown value; otherwise the date, with
        ``defaulted=True`` when only its year (and month) are evidence.

    Raises:
        DateParseError: the value is not a plausible Gregorian date of birth. The message is the
            reason only, never the value.
        TypeError: ``text`` is neither a string nor ``None`` (a caller bug, e.g. a float NaN
            from pandas that should have been mapped to ``None``).
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError("a date of birth must be a string or None")
    if len(text) > _MAX_LEN:
        raise DateParseError(UNRECOGNISED_FORMAT)
    result = _parse_cached(text, today or datetime.date.today(), min_year)
    if isinstance(result, str):
        raise DateParseError(result)
    return result


# --------------------------------------------------------------------------- other calendars


@lru_cache(maxsize=4096)
def _nowruz(year: int) -> datetime.date:
    """Gregorian date of 1 Farvardin of a Solar Hijri year (slow: astronomical, so cached)."""
    try:
        return datetime.date(*persian.to_gregorian(year, 1, 1))
    except (ValueError, OverflowError):
        raise DateParseError(YEAR_OUT_OF_RANGE) from None


def _persian_month_length(year: int, month: int) -> int:
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return (_nowruz(year + 1) - _nowruz(year)).days - 336


def _persian_to_date(year: int, month: int, day: int) -> datetime.date:
    offset = (month - 1) * 31 if month <= 7 else 186 + (month - 7) * 30
    return _nowruz(year) + datetime.timedelta(days=offset + day - 1)


def _ethiopian_month_length(year: int, month: int) -> int:
    if month <= 12:
        return 30
    return 6 if year % 4 == 3 else 5


def _ethiopian_to_date(year: int, month: int, day: int) -> datetime.date:
    return datetime.date(*coptic.to_gregorian(year - _ETHIOPIAN_TO_COPTIC_YEARS, month, day))


@lru_cache(maxsize=1 << 14)
def _convert(
    calendar: str, year: int, month: int | None, day: int | None, defaulted: bool
) -> BirthDate:
    """Convert a raw (possibly partial) date from ``calendar``; raise DateParseError if invalid."""
    if calendar == "ethiopian":
        months, length, to_date = 13, _ethiopian_month_length, _ethiopian_to_date
    else:
        months, length, to_date = 12, _persian_month_length, _persian_to_date
    if month is not None and not 1 <= month <= months:
        raise DateParseError(MONTH_OUT_OF_RANGE)
    if month is not None and day is not None and not 1 <= day <= length(year, month):
        raise DateParseError(IMPOSSIBLE_DATE)
    try:
        if month is None:
            # The Gregorian year holding the middle of the year.
            return BirthDate(to_date(year, 7, 1).year, None, None, True)
        if day is None:
            # The Gregorian month holding the middle of the month.
            middle = to_date(year, month, (length(year, month) + 1) // 2)
            return BirthDate(middle.year, middle.month, None, True)
        converted = to_date(year, month, day)
    except (ValueError, OverflowError):  # outside datetime's years 1-9999, or pymeeus' range
        raise DateParseError(YEAR_OUT_OF_RANGE) from None
    return BirthDate(
        converted.year, converted.month, converted.day, defaulted or (month, day) == (1, 1)
    )


def to_gregorian(date: BirthDate, calendar: Calendar) -> BirthDate:
    """Convert a date read in ``calendar`` to the Gregorian calendar.

    A full date converts day for day. A partial date keeps its precision: a year-month date
    becomes the Gregorian month holding the middle of that month, a year-only date the Gregorian
    year holding the middle of that year; both stay ``defaulted``. A full date stays ``defaulted``
    if it was, and becomes so when it is the 1st of the 1st month (Meskerem 1, Nowruz), the
    placeholder of those calendars.

    A :class:`BirthDate` must be a valid Gregorian (partial) date, so some dates of the other
    calendars cannot be passed here: Pagume (month 13), the 30th of the 2nd month, Persian 31
    Ordibehesht, Tir or Shahrivar. :func:`gregorian_from` takes plain numbers for those, and
    :func:`alternative_readings` reads them from text.

    Args:
        date: the date with the numbers as written in ``calendar``.
        calendar: the calendar the numbers were written in; ``"gregorian"`` returns ``date``.

    Returns:
        The Gregorian date.

    Raises:
        DateParseError: the date does not exist in ``calendar`` (e.g. Persian Esfand 30 in a
            common year, any day 31 in the Ethiopian calendar) or converts outside years 1-9999.
        ConfigError: ``calendar`` is not one of the supported calendars.
    """
    if calendar == "gregorian":
        return date
    return gregorian_from(calendar, date.year, date.month, date.day, defaulted=date.defaulted)


def gregorian_from(
    calendar: Calendar,
    year: int,
    month: int | None = None,
    day: int | None = None,
    *,
    defaulted: bool = False,
) -> BirthDate:
    """Convert plain (possibly partial) date numbers written in ``calendar`` to Gregorian.

    The same conversion as :func:`to_gregorian`, for dates that cannot be held in a
    :class:`BirthDate` first (see there). A day without a month is dropped, as in
    :func:`parse_date`; a partial result is always ``defaulted``.

    Args:
        calendar: the calendar the numbers were written in.
        year: the year in that calendar.
        month: the month in that calendar (1-13 for Ethiopian), or ``None`` if unknown.
        day: the day of the month, or ``None`` if unknown.
        defaulted: whether the day and month are known to be placeholders.

    Returns:
        The Gregorian date.

    Raises:
        DateParseError: the date does not exist in ``calendar`` or falls outside years 1-9999.
        ConfigError: ``calendar`` is not one of the supported calendars.
    """
    if month is None:
        day = None
    if not 1 <= year <= 9999:
        raise DateParseError(YEAR_OUT_OF_RANGE)
    if calendar == "gregorian":
        if month is not None and not 1 <= month <= 12:
            raise DateParseError(MONTH_OUT_OF_RANGE)
        if month is not None and day is not None and not 1 <= day <= _days_in_month(year, month):
            raise DateParseError(IMPOSSIBLE_DATE)
        placeholder = day is None or (month, day) in PLACEHOLDER_DAYS
        return BirthDate(year, month, day, defaulted or placeholder)
    if calendar not in ("ethiopian", "persian"):
        raise ConfigError("unknown calendar; use 'gregorian', 'ethiopian' or 'persian'")
    return _convert(calendar, year, month, day, defaulted)


@lru_cache(maxsize=1 << 14)
def _alternatives_cached(text: str, today: datetime.date, min_year: int) -> tuple[BirthDate, ...]:
    if not isinstance(_parse_cached(text, today, min_year), str):
        return ()  # a plausible Gregorian date or a missing value: nothing to reinterpret
    raw = _split(_normalise(text), today, min_year)
    if raw is None or isinstance(raw, str):
        return ()
    year, month, day = raw
    readings: list[BirthDate] = []
    for calendar, offset in _YEAR_OFFSETS:
        if not min_year - 1 <= year + offset <= today.year + 1:
            continue  # cannot convert to a plausible year; skip the (slow) conversion
        try:
            reading = _convert(calendar, year, month, day, day is None)
        except DateParseError:
            continue
        if isinstance(_gregorian((reading.year, reading.month, reading.day), today, min_year), str):
            continue  # implausible in this calendar too
        readings.append(reading)
    return tuple(readings)


def alternative_readings(
    date_text: str,
    *,
    today: datetime.date | None = None,
    min_year: int = _MIN_YEAR_DEFAULT,
) -> tuple[BirthDate, ...]:
    """Gregorian readings of a date that fails as Gregorian but is valid in another calendar.

    Tried only when :func:`parse_date` rejects the text: a Solar Hijri year (about 1280-1405),
    an Ethiopian month 13 (Pagume) or 30th of the 2nd month (Tikimt), an Ethiopian year up to
    8 years below ``min_year``. A reading is kept only if the converted date is itself plausible
    (in ``[min_year, today]``), which is what tells the calendars apart: the Ethiopian and
    Persian year ranges that convert to plausible birth years do not overlap.

    Args:
        date_text: the value as found in the input file (same formats as :func:`parse_date`).
        today: the reference date (default: the system date).
        min_year: the earliest plausible year of birth.

    The readings are hypotheses, not facts: ``30.02.1995`` is more often a typing slip than an
    Ethiopian date. The matcher should score them below a direct agreement, or use them only for
    records whose nationality uses that calendar (Ethiopia, Eritrea; Iran, Afghanistan).

    Returns:
        The plausible readings, Ethiopian first, then Persian; empty if the text is a plausible
        Gregorian date, missing, unreadable, or invalid in every calendar. Never raises on bad
        text.
    """
    if not isinstance(date_text, str) or len(date_text) > _MAX_LEN:
        return ()
    return _alternatives_cached(date_text, today or datetime.date.today(), min_year)
