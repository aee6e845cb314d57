"""The fast paths of name and date normalisation agree with the general code they shortcut.

``names._part_tokens`` reads plain ASCII parts word by word (memoised per word) and groups only
the runs of words that may bind; ``names._part_tokens_general`` folds and groups the whole part.
``dates._split_fast`` reads the commonest full-date shapes directly; ``dates._split`` reads
everything. Each pair must give the same result on every input, so these tests compare them on
generated strings shaped to hit the boundaries: function words (articles, particles, prefixes,
tails, titles), joined compounds, Rahman after an -ur word, apostrophes and slashes; and digit
strings of the fast shapes with zeros, X, other separators, other digits and padding.
"""

from __future__ import annotations

import datetime
import string
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from linkmatch.normalise import dates, names
from linkmatch.normalise.names import NameToken

# Words whose components bind across word boundaries, and plain names around them.
FUNCTION_WORDS = [
    "al", "el", "ul", "ar", "as", "ad", "ash", "ur", "bin", "ibn", "ben", "bint", "ould", "abd",
    "abdul", "abdel", "abdi", "abdu", "abu", "abou", "ghulam", "gebre", "wolde", "haile",
    "tesfa", "kidane", "tekle", "allah", "ullah", "din", "eddine", "uddin", "haq", "islam",
    "huda", "rahman", "rehman", "raxmaan", "rahim", "aziz", "latif", "haji", "sheikh", "sayed",
    "dr", "mr", "md", "mohd", "g", "w", "ro",
]  # fmt: skip
COMPOUNDS = [
    "abdulrahman", "abdelaziz", "abdullah", "abubakar", "nasrullah", "najibollah", "fazlur",
    "ikramul", "salahuddin", "nooruddin", "gebremedhin", "gebreegziabher", "woldemariam",
    "hailesilassie", "tesfamikael", "alireza", "mohammadreza", "alrashid", "elsayed",
    "almohamed", "abdirahman", "cabdiraxmaan", "rahmatullah", "zillah", "stella",
]  # fmt: skip
PLAIN_NAMES = [
    "mohammed", "ali", "hassan", "hussein", "fatima", "ahmed", "omar", "yusuf", "maxamed",
    "xasan", "mariam", "medhin", "selassie", "tayyib", "rashid", "oleksandr", "serhii", "jean",
    "o'brien", "sa'id", "ba`al", "x", "aa",
]  # fmt: skip
SEPARATORS = [" ", "  ", "-", "'", "`", ".", ",", "/", " / ", "_", "1", "\t", "\x00"]

ascii_words = st.text(alphabet=string.ascii_letters + "'`", min_size=1, max_size=10)
words = st.one_of(
    st.sampled_from(FUNCTION_WORDS + COMPOUNDS + PLAIN_NAMES),
    ascii_words,
).map(lambda w: w.upper() if len(w) % 3 == 0 else w.capitalize() if len(w) % 3 == 1 else w)
name_parts = st.lists(
    st.tuples(words, st.sampled_from(SEPARATORS)), min_size=0, max_size=7
).map(lambda parts: "".join(w + s for w, s in parts))
# Few words, so that the pairs that bind (Fazlur Rahman, Abdul Aziz, al-Din) come up often.
BINDING = ["fazlur", "ikramul", "rahman", "abdul", "abdi", "abu", "al", "bin", "allah", "din"]
binding_parts = st.lists(
    st.tuples(st.sampled_from(BINDING), st.sampled_from([" ", "-", ""])), min_size=1, max_size=5
).map(lambda parts: "".join(w + s for w, s in parts))
any_text = st.one_of(
    name_parts,
    st.text(alphabet=string.printable, max_size=40),
    st.text(max_size=20),
)


def _name_tokens_reference(part: str) -> tuple[NameToken, ...]:
    """name_tokens(part, None) through the general path only, deduplicated by key."""
    if not part or part.isspace():
        return ()
    seen: set[str] = set()
    out = []
    for tok in names._part_tokens_general(part):
        if tok.key not in seen:
            seen.add(tok.key)
            out.append(tok)
    return tuple(out)


@contextmanager
def _rules_only() -> Iterator[None]:
    saved = names._dicts()
    names._use_dictionaries(None)
    try:
        yield
    finally:
        names._use_dictionaries(saved)


@given(part=any_text)
@example("Fazlur Rahman")
@example("Abdul Rahman al-Rashid")
@example("Salah al Din")
@example("Nasr Allah bin Laden")
@example("Abu Abd Allah")
@example("Abdi Hassan Abdi")
@example("Gebre Medhin Wolde")
@example("al al al")
@example("bin")
@example("G/Medhin W/ro")
@example("Ikramul  haq")
@example("x'")
@example("")
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=400)
def test_part_tokens_fast_path_equals_general(part: str) -> None:
    assert names._part_tokens.__wrapped__(part) == names._part_tokens_general(part)
    assert names.name_tokens.__wrapped__(part, None) == _name_tokens_reference(part)


@given(part=binding_parts)
@settings(deadline=None, max_examples=300)
def test_part_tokens_fast_path_equals_general_binding_words(part: str) -> None:
    assert names._part_tokens.__wrapped__(part) == names._part_tokens_general(part)


@given(part=name_parts)
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=100)
def test_part_tokens_fast_path_equals_general_rules_only(part: str) -> None:
    with _rules_only():
        assert names._part_tokens.__wrapped__(part) == names._part_tokens_general(part)


@given(part=name_parts, family=st.sampled_from([None, "", " ", "Ali", "al-Rashid"]))
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None, max_examples=100)
def test_one_part_shortcut_equals_bag_of_parts(part: str, family: str | None) -> None:
    # name_tokens returns one part's tokens directly when they need no deduplication
    expected = _name_tokens_reference(part)
    if family and not family.isspace():
        keys = {t.key for t in expected}
        expected += tuple(t for t in _name_tokens_reference(family) if t.key not in keys)
    assert names.name_tokens.__wrapped__(part, family) == expected


# --------------------------------------------------------------------------------- dates

digits = st.text(alphabet="0123456789", min_size=1, max_size=4)
date_chars = st.sampled_from(list("0123456789") * 4 + list("xX-./ :T٠٩۵０") + ["\u200f"])
date_like = st.one_of(
    st.builds(
        lambda a, s1, b, s2, c: a + s1 + b + s2 + c,
        digits,
        st.sampled_from(["-", ".", "/", ""]),
        digits,
        st.sampled_from(["-", ".", "/", ""]),
        digits,
    ),
    st.text(alphabet=date_chars, max_size=12),
    st.dates(min_value=datetime.date(1, 1, 1)).map(
        lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}"
    ),
)
todays = st.dates(min_value=datetime.date(1800, 1, 1), max_value=datetime.date(2100, 12, 31))
min_years = st.sampled_from([1, 1000, 1800, 1900, 1950, 2000])


@given(text=date_like, today=todays, min_year=min_years)
@example(text="1990-05-12", today=datetime.date(2026, 11, 29), min_year=1900)
@example(text="12.05.1990", today=datetime.date(2026, 11, 29), min_year=1900)
@example(text="31121990", today=datetime.date(2026, 11, 29), min_year=1900)
@example(text="13901231", today=datetime.date(2026, 11, 29), min_year=1900)
@example(text="1990-05.12", today=datetime.date(2026, 11, 29), min_year=1900)
@example(text="1990-00-12", today=datetime.date(2026, 11, 29), min_year=1900)
@settings(deadline=None, max_examples=500)
def test_split_fast_equals_split(text: str, today: datetime.date, min_year: int) -> None:
    fast = dates._split_fast(text, today, min_year)
    if fast is not None:
        assert fast == dates._split(dates._normalise(text), today, min_year)


def _gregorian_reference(
    raw: tuple[int, int | None, int | None], today: datetime.date, min_year: int
) -> dates.BirthDate | str:
    """The Gregorian check as first written (one tuple comparison for the future test)."""
    year, month, day = raw
    if year < min_year:
        return dates.YEAR_OUT_OF_RANGE
    if year > today.year:
        return dates.FUTURE_DATE
    if month is not None and not 1 <= month <= 12:
        return dates.MONTH_OUT_OF_RANGE
    if month is not None and day is not None and day > dates._days_in_month(year, month):
        return dates.IMPOSSIBLE_DATE
    if (year, month or 0, day or 0) > (today.year, today.month, today.day):
        return dates.FUTURE_DATE
    return dates.BirthDate(year, month, day, day is None or (month, day) in dates.PLACEHOLDER_DAYS)


@given(
    year=st.integers(1, 9999),
    month=st.one_of(st.none(), st.integers(1, 14)),
    day=st.one_of(st.none(), st.integers(1, 32)),
    today=todays,
    min_year=min_years,
)
@settings(deadline=None, max_examples=500)
def test_gregorian_equals_reference(
    year: int, month: int | None, day: int | None, today: datetime.date, min_year: int
) -> None:
    if month is None:
        day = None
    raw = (year, month, day)
    assert dates._gregorian(raw, today, min_year) == _gregorian_reference(raw, today, min_year)
