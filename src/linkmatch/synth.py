"""Synthetic asylum-like and counter-terrorism-reference-like person data, with ground truth.

Why a generator of our own: public benchmarks (FEBRL) are Anglo-Saxon names with keyboard typos,
while the hard part of this linkage is elsewhere — the same Arabic, Persian, Ge'ez, Somali or
Cyrillic name written by different clerks in different romanisations, naming structures in which the
"family name" is a father's or grandfather's name, dates that are partial, defaulted to 1 January or
swapped, and a reference list whose persons carry aliases. Matchers are tuned against this data and
then evaluated on data they never saw, so the generator aims to be *real* rather than convenient:

* **Real name material.** Arabic-script names come with the Latin spellings observed for them on
  Wikidata (``data/wd_arabic_name_tokens.tsv``, CC0): a clerk's spelling is either drawn from those
  observations (weighted by count) or produced by a clerk-style romaniser (English, French, German,
  Dutch, Turkish, Persian or scholarly conventions) from a scholarly transcription. Ge'ez, Somali,
  Turkish and Cyrillic names are embedded below with their variant spellings and native scripts.
  Name frequencies are skewed as in reality (Mohammed, Ahmed, Ali), so common-name collisions are a
  genuine danger for the matcher.
* **Real naming structures.** Arabic given + father's + grandfather's or tribal name, Afghans with
  a single name, Eritreans and Somalis with name chains and no family name, Ukrainians and Russians
  with patronymics and gendered surnames.
* **Labelled corruptions.** Every true pair records which of :data:`CORRUPTION_TYPES` separate the
  asylum record from the reference record it was derived from, so recall can be measured per type.
  Field noise that any sane normaliser absorbs (letter case, diacritics, date format, which name
  columns are filled, place-name spelling, empty optional fields) is *not* labelled.
* **Hard negatives.** Siblings and namesakes of reference persons sit in the asylum file as
  different persons and are listed, so precision can be measured where it hurts. With
  ``relatives_per_match`` whole households arrive: siblings, twins (same date and place),
  children (whose second name is the listed person's first: patronymic chains), parents and
  spouses of matched listed persons, as many per match as asked, with the family's names
  spelled alike and its dates defaulted alike; and some listed persons have a sibling on the
  list.

Layout of the output. ``right`` keeps each person's rows together, main entry first, persons in
random order: a pair labelled ``alias`` is one whose asylum record matches a later row of the id
(the main entry is a kunya, another family or given name, or another spelling), which is what a
matcher that looks only at the first row per id would miss. ``left`` rows and all ids are shuffled.
Unlabelled noise on every record: letter case, ASCII folding of diacritics, which of
given/family/full name is filled (and ``FAMILY, Given`` in reference full names), date format and
``00``/``XX`` for unknown parts, empty sex/nationality/place/date, a neighbouring or stateless
nationality code (``XXA`` as in ICAO 9303), place-name spellings, document numbers shown rarely
(and on both sides of a true pair rarely, then sometimes renewed or mistyped). ~1.5 % of unmatched
asylum records carry their name in its own script; a few per cent of siblings are twins.

Everything is driven by one :class:`random.Random` seeded with the caller's seed, and spelling
distributions are properties of the (fixed) name material, so the same seed gives identical frames
in every run and process. Nothing depends on hash randomisation or set order.
"""

from __future__ import annotations

import bisect
import functools
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Generic, TypeVar

import pandas as pd
from rapidfuzz import fuzz

from linkmatch.errors import ConfigError
from linkmatch.schema import PERSON_COLUMNS

__all__ = [
    "CORRUPTION_TYPES",
    "PERSON_COLUMNS",
    "SynthData",
    "generate",
    "main_synth",
    "write",
]

CORRUPTION_TYPES: Final[tuple[str, ...]] = (
    "transliteration",
    "typo",
    "order_swap",
    "missing_part",
    "default_date",
    "swapped_date",
    "year_off",
    "other_script",
    "alias",
)
"""Labels of the differences deliberately introduced between the two records of a true pair."""



_TRUTH_COLUMNS: Final = ("left_id", "right_id", "corruption")
_HARD_NEGATIVE_COLUMNS: Final = ("left_id", "right_id", "kind")
_REFERENCE_YEAR: Final = 2024
_DATA_FILE: Final = Path(__file__).parent / "data" / "wd_arabic_name_tokens.tsv"


@dataclass(frozen=True)
class SynthData:
    """One synthetic linkage problem with its ground truth.

    Attributes:
        left: Asylum-like file in the person schema; every value a ``str`` (``""`` when missing).
        right: Counter-terrorism-reference-like list in the person schema. Several rows with one
            ``record_id`` are aliases of one person.
        truth: ``left_id, right_id, corruption``: one row per true (left record, right person)
            pair; ``corruption`` is the ``;``-joined sorted set of :data:`CORRUPTION_TYPES`
            applied between the two, ``""`` if none.
        hard_negatives: ``left_id, right_id, kind``: pairs that look alike but are different
            persons. ``sibling`` and ``namesake`` always; with ``relatives_per_match`` also
            ``twin``, ``child``, ``parent``, ``spouse`` (relatives of the listed person) and
            ``listed_sibling`` (the listed person's sibling, also listed, against his record).
    """

    left: pd.DataFrame
    right: pd.DataFrame
    truth: pd.DataFrame
    hard_negatives: pd.DataFrame


# --------------------------------------------------------------------------------------------------
# Small utilities
# --------------------------------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class _Table(Generic[T]):
    """A weighted choice that costs one bisection per draw (the generator makes ~10^6 draws)."""

    items: tuple[T, ...]
    cum: tuple[float, ...]

    @staticmethod
    def of(pairs: Iterable[tuple[T, float]]) -> _Table[T]:
        items: list[T] = []
        cum: list[float] = []
        total = 0.0
        for item, weight in pairs:
            if weight <= 0:
                continue
            total += weight
            items.append(item)
            cum.append(total)
        if not items:
            raise ValueError("empty weighted table")
        return _Table(tuple(items), tuple(cum))

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


def _t(*pairs: tuple[str, float]) -> _Table[str]:
    return _Table.of(pairs)


def _chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def _weighted_order(rng: random.Random, weights: dict[str, float]) -> list[str]:
    """Weighted sampling without replacement (Efraimidis–Spirakis keys), in dict order for ties."""
    keyed = [(rng.random() ** (1.0 / w), k) for k, w in weights.items() if w > 0]
    keyed.sort(key=lambda kv: -kv[0])
    return [k for _, k in keyed]


def _visible(text: str) -> str:
    """What survives trivial normalisation (case, diacritics, hyphens): a difference must show here.

    Used to keep labels honest: a corruption that only changes what any normaliser removes would
    be labelled but invisible.
    """
    return " ".join(re.sub(r"[-/,]", " ", _fold(text).lower()).split())


def _fold(text: str) -> str:
    """Strip diacritics (``ü`` → ``u``), the way an ASCII-only keyboard or database does."""
    text = text.replace("ı", "i").replace("İ", "I").replace("ʿ", "").replace("ʾ", "")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --------------------------------------------------------------------------------------------------
# Clerk romanisation styles
# --------------------------------------------------------------------------------------------------

_STYLES: Final = ("english", "french", "german", "dutch", "turkish", "persian", "scholarly")

# Arabic-script graphemes in the scholarly transcription used below: long vowels ā ī ū, emphatics
# ḥ ṣ ḍ ṭ ẓ, ʿ (ʿayn), ʾ (hamza), ẗ (tāʾ marbūṭa), digraphs th dh kh gh sh, and the Persian letters
# p č ž g v. A doubled consonant is a geminate.
_AR_DIGRAPHS: Final = frozenset({"th", "dh", "kh", "gh", "sh"})
_AR_VOWELS: Final = frozenset({"a", "i", "u", "ā", "ī", "ū", "aẗ"})
_AR_SUN: Final = frozenset({"t", "th", "d", "dh", "r", "z", "s", "sh", "ṣ", "ḍ", "ṭ", "ẓ", "n"})

_AR_BASE: Final[dict[str, _Table[str]]] = {
    "th": _t(("th", 0.9), ("s", 0.1)),
    "dh": _t(("dh", 0.6), ("z", 0.4)),
    "ḥ": _t(("h", 1)),
    "ṣ": _t(("s", 1)),
    "ḍ": _t(("d", 0.85), ("dh", 0.15)),
    "ṭ": _t(("t", 1)),
    "ẓ": _t(("z", 0.6), ("dh", 0.4)),
    "ʿ": _t(("", 0.5), ("'", 0.3), ("a", 0.1), ("e", 0.1)),
    "ʾ": _t(("", 0.7), ("'", 0.2), ("e", 0.1)),
    "q": _t(("q", 0.65), ("k", 0.35)),
    "č": _t(("ch", 1)),
    "ž": _t(("zh", 1)),
    "ā": _t(("a", 0.92), ("aa", 0.08)),
    "ī": _t(("i", 0.6), ("ee", 0.35), ("ie", 0.05)),
    "ū": _t(("u", 0.55), ("oo", 0.25), ("ou", 0.2)),
    "i": _t(("i", 0.75), ("e", 0.25)),
    "u": _t(("u", 0.5), ("o", 0.5)),
    "ay": _t(("ay", 0.4), ("ai", 0.3), ("ei", 0.3)),
    "aw": _t(("aw", 0.6), ("ou", 0.2), ("au", 0.2)),
    "aẗ": _t(("a", 0.75), ("ah", 0.25)),
}

_AR_OVERRIDES: Final[dict[str, dict[str, _Table[str]]]] = {
    "english": {},
    "french": {
        "th": _t(("th", 0.8), ("t", 0.2)),
        "dh": _t(("dh", 0.6), ("d", 0.4)),
        "j": _t(("dj", 0.55), ("j", 0.45)),
        "sh": _t(("ch", 1)),
        "q": _t(("k", 0.6), ("q", 0.4)),
        "ū": _t(("ou", 1)),
        "u": _t(("ou", 0.5), ("o", 0.5)),
        "ī": _t(("i", 1)),
        "i": _t(("i", 0.7), ("e", 0.3)),
        "ā": _t(("a", 1)),
        "ay": _t(("ai", 0.5), ("ei", 0.3), ("ay", 0.2)),
        "aw": _t(("aou", 0.3), ("ao", 0.2), ("aw", 0.2), ("ou", 0.3)),
        "ʿ": _t(("", 0.6), ("'", 0.2), ("a", 0.2)),
        "aẗ": _t(("a", 1)),
        "č": _t(("tch", 1)),
        "ž": _t(("j", 1)),
    },
    "german": {
        "sh": _t(("sch", 1)),
        "j": _t(("dsch", 0.25), ("dj", 0.25), ("j", 0.5)),
        "kh": _t(("ch", 0.5), ("kh", 0.5)),
        "y": _t(("j", 0.6), ("y", 0.4)),
        "ū": _t(("u", 1)),
        "ī": _t(("i", 0.6), ("ie", 0.4)),
        "u": _t(("u", 0.6), ("o", 0.4)),
        "ay": _t(("ai", 0.5), ("ei", 0.5)),
        "aw": _t(("au", 1)),
        "q": _t(("k", 0.6), ("q", 0.4)),
        "aẗ": _t(("a", 1)),
        "č": _t(("tsch", 1)),
        "ž": _t(("sch", 1)),
    },
    "dutch": {
        "u": _t(("oe", 0.6), ("o", 0.4)),
        "ū": _t(("oe", 1)),
        "j": _t(("dj", 0.5), ("j", 0.5)),
        "y": _t(("j", 0.6), ("y", 0.4)),
        "sh": _t(("sj", 0.6), ("sh", 0.4)),
        "kh": _t(("ch", 0.6), ("kh", 0.4)),
        "ī": _t(("ie", 0.7), ("i", 0.3)),
        "ay": _t(("ei", 0.6), ("ai", 0.4)),
        "aw": _t(("au", 1)),
        "aẗ": _t(("a", 1)),
        "č": _t(("tsj", 1)),
    },
    "turkish": {
        "sh": _t(("ş", 0.6), ("s", 0.4)),
        "j": _t(("c", 1)),
        "č": _t(("ç", 0.6), ("c", 0.4)),
        "kh": _t(("h", 1)),
        "gh": _t(("ğ", 0.5), ("g", 0.5)),
        "q": _t(("k", 1)),
        "th": _t(("s", 1)),
        "dh": _t(("z", 1)),
        "ḍ": _t(("z", 1)),
        "ẓ": _t(("z", 1)),
        "w": _t(("v", 1)),
        "ū": _t(("u", 0.8), ("ü", 0.2)),
        "u": _t(("u", 0.5), ("ü", 0.2), ("o", 0.3)),
        "ī": _t(("i", 1)),
        "i": _t(("i", 1)),
        "ā": _t(("a", 1)),
        "ay": _t(("ey", 0.7), ("ay", 0.3)),
        "aw": _t(("ev", 0.5), ("av", 0.5)),
        "aẗ": _t(("e", 0.6), ("a", 0.4)),
        "ʿ": _t(("", 1)),
        "ʾ": _t(("", 1)),
    },
    "persian": {
        "u": _t(("o", 0.9), ("u", 0.1)),
        "i": _t(("e", 0.85), ("i", 0.15)),
        "ū": _t(("u", 0.5), ("oo", 0.35), ("ou", 0.15)),
        "ī": _t(("i", 0.75), ("ee", 0.25)),
        "ā": _t(("a", 0.95), ("aa", 0.05)),
        "ay": _t(("ey", 0.5), ("ei", 0.5)),
        "aw": _t(("ow", 0.6), ("av", 0.4)),
        "w": _t(("v", 0.8), ("w", 0.2)),
        "ḍ": _t(("z", 1)),
        "ẓ": _t(("z", 1)),
        "dh": _t(("z", 1)),
        "th": _t(("s", 1)),
        "q": _t(("gh", 0.55), ("q", 0.35), ("k", 0.1)),
        "ʿ": _t(("", 0.5), ("'", 0.2), ("e", 0.3)),
        "ʾ": _t(("", 0.5), ("e", 0.4), ("'", 0.1)),
        "aẗ": _t(("eh", 0.65), ("e", 0.2), ("a", 0.15)),
    },
    "scholarly": {
        "th": _t(("th", 1)),
        "dh": _t(("dh", 1)),
        "ḍ": _t(("d", 1)),
        "ẓ": _t(("z", 1)),
        "ʿ": _t(("'", 0.6), ("", 0.4)),
        "ʾ": _t(("'", 0.5), ("", 0.5)),
        "q": _t(("q", 1)),
        "ā": _t(("a", 1)),
        "ī": _t(("i", 1)),
        "ū": _t(("u", 1)),
        "i": _t(("i", 1)),
        "u": _t(("u", 1)),
        "ay": _t(("ay", 1)),
        "aw": _t(("aw", 1)),
        "aẗ": _t(("a", 0.6), ("ah", 0.4)),
    },
}

# Per style: probability that a geminate is written double, that an intervocalic s is doubled
# (French and German keep it voiceless that way: Youssef, Hussein), that the last short a becomes e
# (Levantine/Maghrebi/Turkish pronunciation: Ahmed, Mehmet), and that an article is assimilated.
_AR_KEEP_DOUBLE: Final = {"english": 0.7, "french": 0.85, "german": 0.8, "dutch": 0.7,
                          "turkish": 0.6, "persian": 0.5, "scholarly": 1.0}
_AR_DOUBLE_S: Final = {"english": 0.3, "french": 0.85, "german": 0.6, "dutch": 0.4,
                       "turkish": 0.0, "persian": 0.5, "scholarly": 0.0}
_AR_LAST_A_TO_E: Final = {"english": 0.25, "french": 0.35, "german": 0.25, "dutch": 0.3,
                          "turkish": 0.55, "persian": 0.1, "scholarly": 0.0}
_AR_FINAL_I: Final = {
    "english": _t(("i", 0.88), ("ee", 0.1), ("y", 0.02)),
    "french": _t(("i", 1)),
    "german": _t(("i", 0.9), ("ie", 0.1)),
    "dutch": _t(("ie", 0.5), ("i", 0.5)),
    "turkish": _t(("i", 1)),
    "persian": _t(("i", 0.9), ("ee", 0.1)),
    "scholarly": _t(("i", 1)),
}
_AR_SUN_ASSIMILATION: Final = {"english": 0.25, "french": 0.6, "german": 0.2, "dutch": 0.2,
                               "turkish": 0.9, "persian": 0.15, "scholarly": 0.0}
_AR_ARTICLE: Final[dict[str, _Table[str]]] = {
    "english": _t(("al-", 0.35), ("al ", 0.15), ("al", 0.1), ("el-", 0.05), ("", 0.35)),
    "french": _t(("el-", 0.3), ("el ", 0.15), ("el", 0.05), ("al-", 0.1), ("", 0.4)),
    "german": _t(("al-", 0.3), ("al ", 0.1), ("el-", 0.05), ("", 0.55)),
    "dutch": _t(("al-", 0.3), ("el ", 0.1), ("al ", 0.1), ("", 0.5)),
    "turkish": _t(("", 1)),
    "persian": _t(("", 0.9), ("al-", 0.1)),
    "scholarly": _t(("al-", 1)),
}
_AR_CONNECTOR_VOWEL: Final[dict[str, _Table[str]]] = {
    "english": _t(("u", 0.5), ("a", 0.25), ("e", 0.25)),
    "french": _t(("e", 0.8), ("a", 0.1), ("ou", 0.1)),
    "german": _t(("u", 0.5), ("e", 0.3), ("a", 0.2)),
    "dutch": _t(("oe", 0.3), ("e", 0.4), ("a", 0.3)),
    "turkish": _t(("u", 0.6), ("ü", 0.2), ("e", 0.2)),
    "persian": _t(("o", 0.5), ("u", 0.3), ("a", 0.2)),
    "scholarly": _t(("a", 1)),
}
# How "ʿabd al-raḥmān" is laid out: Abdulrahman | Abdul Rahman | Abdul-Rahman | Abd al-Rahman.
_AR_COMPOUND_MODE: Final[dict[str, _Table[str]]] = {
    "english": _t(("joined", 0.35), ("space", 0.35), ("hyphen", 0.1), ("article", 0.2)),
    "french": _t(("joined", 0.5), ("space", 0.35), ("hyphen", 0.05), ("article", 0.1)),
    "german": _t(("joined", 0.3), ("space", 0.4), ("hyphen", 0.1), ("article", 0.2)),
    "dutch": _t(("joined", 0.3), ("space", 0.5), ("hyphen", 0.2)),
    "turkish": _t(("joined", 0.95), ("space", 0.05)),
    "persian": _t(("joined", 0.45), ("space", 0.45), ("hyphen", 0.1)),
    "scholarly": _t(("article", 1)),
}
_AR_ALLAH: Final[dict[str, _Table[str]]] = {
    "english": _t(("ullah", 0.45), ("allah", 0.25), ("ulla", 0.1), (" allah", 0.1),
                  ("-ullah", 0.05), (" ullah", 0.05)),
    "french": _t(("allah", 0.45), ("ellah", 0.3), (" allah", 0.2), ("alla", 0.05)),
    "german": _t(("ullah", 0.4), ("allah", 0.4), (" allah", 0.2)),
    "dutch": _t(("oellah", 0.3), ("ullah", 0.4), ("allah", 0.3)),
    "turkish": _t(("ullah", 0.8), ("ulla", 0.2)),
    "persian": _t(("ollah", 0.35), ("ullah", 0.4), ("allah", 0.1), (" ullah", 0.15)),
    "scholarly": _t((" allah", 1)),
}
_AR_PREFIX: Final[dict[str, dict[str, _Table[str]]]] = {
    "bin": {
        "english": _t(("bin", 0.5), ("ben", 0.3), ("ibn", 0.2)),
        "french": _t(("ben", 0.9), ("ibn", 0.1)),
        "german": _t(("bin", 0.5), ("ben", 0.3), ("ibn", 0.2)),
        "dutch": _t(("ben", 0.5), ("bin", 0.5)),
        "turkish": _t(("bin", 0.6), ("ibn", 0.4)),
        "persian": _t(("bin", 0.7), ("ibn", 0.3)),
        "scholarly": _t(("ibn", 0.6), ("bin", 0.4)),
    },
    "bū": {
        "english": _t(("bu", 0.5), ("bou", 0.3), ("abu", 0.2)),
        "french": _t(("bou", 0.9), ("bu", 0.1)),
        "german": _t(("bu", 0.6), ("bou", 0.4)),
        "dutch": _t(("boe", 0.4), ("bou", 0.6)),
        "turkish": _t(("bu", 1)),
        "persian": _t(("bu", 1)),
        "scholarly": _t(("bu", 1)),
    },
    "abū": {
        "english": _t(("abu", 0.8), ("abou", 0.1), ("abo", 0.1)),
        "french": _t(("abou", 0.6), ("abu", 0.4)),
        "german": _t(("abu", 1)),
        "dutch": _t(("aboe", 0.3), ("abu", 0.7)),
        "turkish": _t(("ebu", 0.6), ("abu", 0.4)),
        "persian": _t(("abu", 0.6), ("abo", 0.4)),
        "scholarly": _t(("abu", 1)),
    },
}
_AR_PREFIX_JOIN: Final[dict[str, _Table[str]]] = {
    "bin": _t(("", 0.4), (" ", 0.5), ("-", 0.1)),
    "bū": _t(("", 0.7), (" ", 0.25), ("-", 0.05)),
    "abū": _t((" ", 0.9), ("", 0.05), ("-", 0.05)),
}
_SCHOLARLY_MARKS: Final = str.maketrans({"ḥ": "h", "ṣ": "s", "ḍ": "d", "ṭ": "t", "ẓ": "z",
                                          "ā": "a", "ī": "i", "ū": "u"})


def _ar_graphemes(word: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(word):
        if word[i:i + 2] in _AR_DIGRAPHS or word[i:i + 2] == "aẗ":
            out.append(word[i:i + 2])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def _ar_word(word: str, style: str, rng: random.Random, diacritics: bool, final: bool = True
             ) -> str:
    """Romanise one scholarly-transcribed Arabic/Persian word the way a clerk of ``style`` would.

    ``final`` is false for the head of a compound (the d of ʿAbd is not word-final in Turkish
    Abdurrahman, so it is not devoiced).
    """
    if diacritics:
        # Scholarly with marks (ALA-LC-like): keep the transcription, spell the digraphs.
        return word.replace("aẗ", "ah" if _chance(rng, 0.3) else "a")
    table = _AR_OVERRIDES[style]
    g = _ar_graphemes(word)
    n = len(g)
    last_short_a = -1
    for idx in range(n - 1, -1, -1):
        if g[idx] in _AR_VOWELS:
            if g[idx] == "a" and 0 < idx < n - 1 and g[idx - 1] not in ("ʿ", "ʾ"):
                last_short_a = idx
            break
    out: list[str] = []
    i = 0
    while i < n:
        c = g[i]
        prev = g[i - 1] if i > 0 else ""
        nxt = g[i + 1] if i + 1 < n else ""
        after = g[i + 2] if i + 2 < n else ""
        # Diphthongs: a + y/w closing a syllable (ḥusayn, zayd, fawzī).
        if c == "a" and nxt in ("y", "w") and after not in _AR_VOWELS and after != nxt:
            key = "a" + nxt
            out.append((table.get(key) or _AR_BASE[key]).pick(rng))
            i += 2
            continue
        if c in ("ʿ", "ʾ") and (i == 0 or nxt == ""):
            out.append("'" if style == "scholarly" and i == 0 and _chance(rng, 0.3) else "")
            i += 1
            continue
        if c == "a" and i == last_short_a and _chance(rng, _AR_LAST_A_TO_E[style]):
            out.append("e")
            i += 1
            continue
        onset = i == 0 or prev in _AR_VOWELS
        if c == "w" and style == "french" and nxt in _AR_VOWELS and onset:
            out.append("ou" if _chance(rng, 0.6) else "w")
            i += 1
            continue
        # A final -ī (nisba) is nearly always i: Jubouri, rarely Juburee.
        tab = _AR_FINAL_I[style] if c == "ī" and i == n - 1 else table.get(c) or _AR_BASE.get(c)
        s = tab.pick(rng) if tab is not None else c
        if style == "turkish" and final and i == n - 1:
            if c == "d" and _chance(rng, 0.8):
                s = "t"
            elif c == "b" and _chance(rng, 0.6):
                s = "p"
        if c not in _AR_VOWELS and nxt == c:  # geminate
            if _chance(rng, _AR_KEEP_DOUBLE[style]) and s:
                s = s + s if len(s) == 1 else s + s[-1] if s in ("sh", "ch") else s
            out.append(s)
            i += 2
            continue
        intervocalic = prev in _AR_VOWELS and nxt in _AR_VOWELS
        if c == "s" and intervocalic and _chance(rng, _AR_DOUBLE_S[style]):
            s = "ss"
        out.append(s)
        i += 1
    text = "".join(out)
    if style == "french" and n >= 2 and g[-1] == "n" and g[-2] in ("ā", "ī") and _chance(rng, 0.6):
        text += "e"  # Abderrahmane, Yassine, Slimane
    return text


def _ar_article(style: str, following: str, rng: random.Random, compound: bool) -> str:
    """The Arabic article as written before ``following`` (a scholarly word)."""
    art = _AR_ARTICLE[style].pick(rng)
    first = following[:2] if following[:2] in _AR_DIGRAPHS else following[:1]
    p_sun = _AR_SUN_ASSIMILATION[style] * (1.0 if compound else 0.3)
    if art and first in _AR_SUN and _chance(rng, p_sun):
        letter = _ar_word(first, style, rng, False)[:1] or "l"
        art = art[0] + letter + art[2:]  # al- → ar-, el → er
    return art


def _romanise_arabic(scholarly: str, style: str, rng: random.Random) -> str:
    """Romanise one scholarly-transcribed name unit (may hold several words) in clerk ``style``."""
    diacritics = style == "scholarly" and _chance(rng, 0.35)

    def word(w: str, final: bool = True) -> str:
        text = _ar_word(w, style, rng, diacritics, final)
        return text if diacritics else text.replace("ʿ", "'").translate(_SCHOLARLY_MARKS)

    words = scholarly.split(" ")
    pieces: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        article = ""
        if w.startswith("al-") and len(w) > 3:
            w = w[3:]
            article = _ar_article(style, w, rng, compound=False)
        if w in _AR_PREFIX and nxt:
            head = _AR_PREFIX[w][style].pick(rng)
            rest = _romanise_arabic(" ".join(words[i + 1:]), style, rng)
            joiner = " " if style == "scholarly" else _AR_PREFIX_JOIN[w].pick(rng)
            pieces.append(article + head + joiner + (rest if joiner else rest.replace(" ", "")))
            break
        if nxt == "allāh":
            head = word(w, final=False)
            if style == "persian" and head.endswith("h") and _chance(rng, 0.3):
                head = head[:-1]  # Zabiullah
            tail = _AR_ALLAH[style].pick(rng)
            if diacritics:
                tail = " allāh"
            pieces.append(article + head + tail)
            i += 2
            continue
        if nxt.startswith("al-"):
            second_scholarly = nxt[3:]
            head = word(w, final=False)
            second = word(second_scholarly)
            mode = _AR_COMPOUND_MODE[style].pick(rng)
            if mode == "article":
                art = _ar_article(style, second_scholarly, rng, compound=True) or "al-"
                pieces.append(article + head + " " + art + second)
            else:
                vowel = _AR_CONNECTOR_VOWEL[style].pick(rng)
                first = second_scholarly[:2] if second_scholarly[:2] in _AR_DIGRAPHS else (
                    second_scholarly[:1])
                consonant = "l"
                if first in _AR_SUN and _chance(rng, _AR_SUN_ASSIMILATION[style]):
                    consonant = second[:1] or "l"
                if head.endswith(("a", "e", "i", "o", "u")) and mode != "space":
                    vowel = ""  # Alaaddin, not Alaauddin
                connector = vowel + consonant
                if mode == "space" and w != "ʿabd":
                    # Salah Eddine, Nur Aldin: the article leans on the second word, while
                    # Abdul Rahman keeps it on the first.
                    pieces.append(article + head + " " + connector + second)
                else:
                    sep = {"joined": "", "space": " ", "hyphen": "-"}[mode]
                    pieces.append(article + head + connector + sep + second)
            i += 2
            continue
        if "-" in w:  # Persian joinable compound: muḥammad-riḍā → Mohammadreza / Mohammad Reza
            a, b = w.split("-", 1)
            sep = _t(("", 0.5), (" ", 0.4), ("-", 0.1)).pick(rng)
            pieces.append(article + word(a) + sep + word(b))
            i += 1
            continue
        pieces.append(article + word(w))
        i += 1
    return " ".join(pieces)


# Cyrillic: one table per romanisation scheme; a pair is (word-initial or after a vowel, elsewhere).
_CYR_BASE: Final[dict[str, str | tuple[str, str]]] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi",
    "є": "ye", "ґ": "g", "'": "", "ʼ": "",
}
_CYR_UK: Final[dict[str, str | tuple[str, str]]] = {"г": "h", "и": "y"}
_CYR_SCHEMES: Final[dict[str, dict[str, str | tuple[str, str]]]] = {
    # Ukrainian national system (2010): Oleksandr, Serhii, Yuliia.
    "uk_national": {"є": ("ye", "ie"), "ї": ("yi", "i"), "й": ("y", "i"), "ю": ("yu", "iu"),
                    "я": ("ya", "ia")},
    # Older English practice for Ukrainian: Serhiy, Andriy, Yuliya.
    "uk_bgn": {},
    # Russian BGN/PCGN: Sergey, Dmitriy, Yelena.
    "ru_bgn": {"е": ("ye", "e"), "ё": ("yo", "e")},
    # Russian passports since 2013 (ICAO 9303): Sergei, Dmitrii, Iuliia.
    "ru_icao": {"й": "i", "ю": "iu", "я": "ia", "ё": "e", "ъ": "ie"},
    "german": {"в": "w", "ж": "sch", "з": "s", "й": "j", "х": "ch", "ц": "z", "ч": "tsch",
               "ш": "sch", "щ": "schtsch", "ю": "ju", "я": "ja", "є": "je", "ї": "ji",
               "е": ("je", "e"), "ё": "jo"},
    "french": {"у": "ou", "ж": "j", "ш": "ch", "ч": "tch", "й": "ï", "ю": "iou", "я": "ia",
               "є": "ie", "ї": "ï", "ё": "io"},
    "scientific": {"ж": "ž", "х": "ch", "ц": "c", "ч": "č", "ш": "š", "щ": "šč", "й": "j",
                   "ю": "ju", "я": "ja", "є": "je", "ї": "ji", "ё": "ë", "ь": "ʹ", "э": "è"},
}
_CYR_VOWELS: Final = frozenset("аеёиіїоуыэюяєьъ'ʼ")
_CYR_STYLE_SCHEMES: Final[dict[str, dict[str, _Table[str]]]] = {
    "uk": {
        "english": _t(("uk_national", 0.45), ("uk_bgn", 0.35), ("simple", 0.2)),
        "german": _t(("german", 0.7), ("uk_national", 0.3)),
        "french": _t(("french", 0.6), ("uk_national", 0.4)),
        "scholarly": _t(("scientific", 0.6), ("uk_national", 0.4)),
    },
    "ru": {
        "english": _t(("ru_bgn", 0.4), ("ru_icao", 0.35), ("simple", 0.25)),
        "german": _t(("german", 0.7), ("ru_icao", 0.3)),
        "french": _t(("french", 0.6), ("ru_icao", 0.4)),
        "scholarly": _t(("scientific", 0.6), ("ru_bgn", 0.4)),
    },
}


def _romanise_cyrillic(text: str, lang: str, scheme: str, rng: random.Random) -> str:
    """Romanise a Cyrillic name in one scheme (``lang`` is ``uk`` or ``ru``: г is h or g)."""
    table = dict(_CYR_BASE)
    if lang == "uk":
        table.update(_CYR_UK)
    simple = scheme == "simple"
    table.update(_CYR_SCHEMES["uk_bgn" if simple and lang == "uk" else
                              "ru_bgn" if simple else scheme])
    out: list[str] = []
    low = text.lower()
    for i, ch in enumerate(low):
        initial = i == 0 or low[i - 1] in _CYR_VOWELS or low[i - 1] == " "
        nxt = low[i + 1] if i + 1 < len(low) else ""
        if ch == " ":
            out.append(" ")
            continue
        if scheme == "french" and ch == "г" and lang == "ru" and nxt in "еиі":
            out.append("gu")
            continue
        value = table.get(ch, ch)
        out.append(value if isinstance(value, str) else value[0 if initial else 1])
    result = "".join(out)
    if simple:
        if _chance(rng, 0.6):
            result = re.sub(r"iy\b", "y", result)
        if _chance(rng, 0.35):
            result = result.replace("ks", "x")
        if _chance(rng, 0.3):
            result = result.replace("kh", "h")
    return result


# --------------------------------------------------------------------------------------------------
# Name material
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Unit:
    """One name as a unit of meaning (one given name, one family name, one compound).

    ``key`` identifies it stably (it seeds its spelling table). ``system`` says how it is spelled:
    ``arabic`` (scholarly transcription + observed spellings), ``cyrillic``, ``geez``, ``somali``
    or ``turkish`` (explicit variant lists).
    """

    key: str
    system: str
    native: str = ""
    scholarly: str = ""
    variants: tuple[tuple[str, float], ...] = ()
    russian: str = ""
    weight: float = 1.0


def _entries(block: str) -> list[str]:
    """The entries of an embedded list: separated by ``;`` or new lines."""
    return [e.strip() for line in block.splitlines() for e in line.split(";") if e.strip()]


def _parse_arabic(block: str, prefix: str) -> list[_Unit]:
    """Entries ``scholarly|Arabic script|frequency``."""
    units = []
    for entry in _entries(block):
        scholarly, native, weight = (part.strip() for part in entry.split("|"))
        units.append(_Unit(key=f"{prefix}:{scholarly}", system="arabic", native=native,
                           scholarly=scholarly, weight=float(weight)))
    return units


def _parse_variants(block: str, system: str, prefix: str, *, own_script: bool = True
                    ) -> list[_Unit]:
    """Entries ``native|spelling:weight,spelling:weight|frequency``.

    With ``own_script`` false (Somali) the native form is Latin itself, so there is no other
    script to write the name in.
    """
    units = []
    for entry in _entries(block):
        native, spellings, weight = (part.strip() for part in entry.split("|"))
        variants = []
        for item in spellings.split(","):
            spelling, w = item.rsplit(":", 1)
            variants.append((spelling.strip(), float(w)))
        units.append(_Unit(key=f"{prefix}:{native}", system=system,
                           native=native if own_script else "", variants=tuple(variants),
                           weight=float(weight)))
    return units


_ARABIC_MALE: Final = """
muḥammad|محمد|100; aḥmad|أحمد|45; ʿalī|علي|35; maḥmūd|محمود|16; khālid|خالد|14; ḥasan|حسن|16
ḥusayn|حسين|14; ʿumar|عمر|14; ibrāhīm|إبراهيم|13; yūsuf|يوسف|13; muṣṭafā|مصطفى|12
ʿabd allāh|عبد الله|15; ʿabd al-raḥmān|عبد الرحمن|9; ʿabd al-karīm|عبد الكريم|4
ʿabd al-qādir|عبد القادر|4; ʿabd al-ʿazīz|عبد العزيز|5; ʿabd al-salām|عبد السلام|3
ʿabd al-ḥamīd|عبد الحميد|3; ʿabd al-nāṣir|عبد الناصر|2; ʿabd al-raḥīm|عبد الرحيم|3
ʿabd al-laṭīf|عبد اللطيف|2; ʿabd al-majīd|عبد المجيد|2; ʿabd al-wahhāb|عبد الوهاب|2
saʿīd|سعيد|7; ṣāliḥ|صالح|6; ʿuthmān|عثمان|5; ḥamzaẗ|حمزة|6; bilāl|بلال|5; jamāl|جمال|5
kamāl|كمال|3; walīd|وليد|5; samīr|سمير|4; ḥāmid|حامد|4; majīd|مجيد|3; rashīd|رشيد|4
ṭāriq|طارق|5; ziyād|زياد|4; sulaymān|سليمان|5; ismāʿīl|إسماعيل|6; yāsir|ياسر|5; anas|أنس|4
muʿādh|معاذ|3; fayṣal|فيصل|4; ʿammār|عمار|5; ʿimād|عماد|4; nabīl|نبيل|4; hānī|هاني|3
rāmī|رامي|4; bāsil|باسل|3; muhannad|مهند|4; ʿādil|عادل|4; jāsim|جاسم|4; qāsim|قاسم|4
ḥaydar|حيدر|3; ʿabbās|عباس|4; jaʿfar|جعفر|3; mahdī|مهدي|4; karīm|كريم|4; nāṣir|ناصر|4
ayman|أيمن|4; ʿīsā|عيسى|3; mūsā|موسى|4; ilyās|إلياس|2; idrīs|إدريس|3; yaḥyā|يحيى|4; ṣalāḥ|صلاح|3
ṣalāḥ al-dīn|صلاح الدين|2; nūr al-dīn|نور الدين|2; ʿalāʾ al-dīn|علاء الدين|2; fuʾād|فؤاد|2
riyāḍ|رياض|3; ghassān|غسان|2; ḥāzim|حازم|2; marwān|مروان|4; sufyān|سفيان|2; ʿāmir|عامر|3
ḥabīb|حبيب|2; murād|مراد|3; sāmī|سامي|3; fahd|فهد|2; manṣūr|منصور|3; ʿāṣim|عاصم|2; shādī|شادي|2
firās|فراس|3; wāʾil|وائل|3; ādam|آدم|2; isḥāq|إسحاق|2; amīn|أمين|3; yāsīn|ياسين|3; ayyūb|أيوب|2
riḍwān|رضوان|2; ḥakīm|حكيم|2; khalīl|خليل|3; ṣādiq|صادق|2; zakariyyā|زكريا|2; hishām|هشام|3
al-ṭayyib|الطيب|1; al-fātiḥ|الفاتح|1
"""

_ARABIC_FEMALE: Final = """
fāṭimaẗ|فاطمة|28; ʿāʾishaẗ|عائشة|10; maryam|مريم|14; zaynab|زينب|11; khadījaẗ|خديجة|9; nūr|نور|8
hudā|هدى|6; amīnaẗ|أمينة|5; salmā|سلمى|4; laylā|ليلى|6; rīm|ريم|3; ḥanān|حنان|4; samar|سمر|3
rāniyā|رانيا|3; asmāʾ|أسماء|5; sumayyaẗ|سمية|3; ranā|رنا|3; shaymāʾ|شيماء|3; ḥalīmaẗ|حليمة|3
ṣafāʾ|صفاء|3; manāl|منال|3; sāraẗ|سارة|5; hibaẗ|هبة|4; īmān|إيمان|5; yāsmīn|ياسمين|4
ghādaẗ|غادة|3; lubnā|لبنى|2; nādiyaẗ|نادية|3; wafāʾ|وفاء|2; rashā|رشا|2; suʿād|سعاد|3
khawlaẗ|خولة|2; raghad|رغد|2; jamīlaẗ|جميلة|2; hājar|هاجر|3; ʿabīr|عبير|2; rawān|روان|2
malak|ملك|2
"""

_ARABIC_FAMILY_LEVANT: Final = """
al-aḥmad|الأحمد|8; al-ḥasan|الحسن|6; al-ḥusayn|الحسين|5; al-ʿalī|العلي|6; al-muḥammad|المحمد|6
al-khaṭīb|الخطيب|4; al-ḥalabī|الحلبي|3; ḥaddād|حداد|4; al-ḥamad|الحمد|3; al-khalīl|الخليل|3
al-ʿumar|العمر|3; al-ibrāhīm|الإبراهيم|2; al-mūsā|الموسى|3; al-yūsuf|اليوسف|2
al-ʿabd allāh|العبد الله|3; al-ʿīsā|العيسى|2; al-ḥājj|الحاج|3; al-sayyid|السيد|3
al-najjār|النجار|3; al-ḥamawī|الحموي|2; al-ḥimṣī|الحمصي|2; al-kurdī|الكردي|3; al-ʿaṭṭār|العطار|2
al-ḥallāq|الحلاق|2; al-zuʿbī|الزعبي|2; al-ḥarīrī|الحريري|2; al-shāmī|الشامي|2; al-maṣrī|المصري|2
darwīsh|درويش|3; al-shaykh|الشيخ|2; al-ṣāliḥ|الصالح|3; al-ḥammūd|الحمود|2; ḥamdān|حمدان|3
jābir|جابر|2; khalīl|خليل|2; qāsim|قاسم|2
"""

_ARABIC_FAMILY_IRAQ: Final = """
al-jubūrī|الجبوري|5; al-dulaymī|الدليمي|4; al-ʿubaydī|العبيدي|4; al-tamīmī|التميمي|4
al-shammarī|الشمري|4; al-zubaydī|الزبيدي|3; al-sāʿidī|الساعدي|2; al-ʿanizī|العنزي|3
al-saʿdī|السعدي|2; al-rubayʿī|الربيعي|2; al-khazrajī|الخزرجي|2; al-mashhadānī|المشهداني|2
al-ʿazzāwī|العزاوي|2; al-baghdādī|البغدادي|2; al-mūsawī|الموسوي|2; al-ḥasanī|الحسني|2
al-kaʿbī|الكعبي|2; al-ʿānī|العاني|2
"""

_ARABIC_FAMILY_YEMEN: Final = """
al-ʿawlaqī|العولقي|2; al-yāfiʿī|اليافعي|2; al-ahdal|الأهدل|2; al-ḥaḍramī|الحضرمي|2
al-ʿadanī|العدني|2; al-sharʿabī|الشرعبي|2; al-maqṭarī|المقطري|2; al-ʿansī|العنسي|2
al-wādiʿī|الوادعي|2; al-ḥumaydī|الحميدي|2; al-ʿamūdī|العمودي|2
"""

_ARABIC_FAMILY_MAGHREB: Final = """
bin ʿalī|بن علي|4; bū zayd|بوزيد|3; al-ʿamrānī|العمراني|3; bilqāsim|بلقاسم|3; ḥaddād|حداد|3
sharīf|شريف|3; manṣūrī|منصوري|3; bin saʿīd|بن سعيد|2; ʿalawī|علوي|3; idrīsī|إدريسي|3
al-fāsī|الفاسي|2; tāzī|تازي|2; bin ʿabd allāh|بن عبد الله|2; ḥamdāwī|حمداوي|2; khalīfaẗ|خليفة|2
bū ʿazīz|بوعزيز|1; ṭrābulsī|طرابلسي|2; jabālī|جبالي|1; ḥammāmī|حمامي|2; saʿīdī|سعيدي|2
brāhīmī|براهيمي|2; bin yūsuf|بن يوسف|2; zarhūnī|زرهوني|1; bū khārī|بوخاري|1
"""

_ARABIC_NISBA: Final = """
al-shāmī|الشامي|3; al-ḥalabī|الحلبي|2; al-ʿirāqī|العراقي|3; al-maṣrī|المصري|2
al-tūnisī|التونسي|2; al-maghribī|المغربي|2; al-jazāʾirī|الجزائري|2; al-ṣūmālī|الصومالي|1
al-afghānī|الأفغاني|1; al-kurdī|الكردي|1; al-anṣārī|الأنصاري|2; al-muhājir|المهاجر|2
al-baghdādī|البغدادي|1; al-mawṣilī|الموصلي|1; al-yamanī|اليمني|1; al-sūdānī|السوداني|1
al-lībī|الليبي|1; al-shīshānī|الشيشاني|1; al-urdunī|الأردني|1; al-khurāsānī|الخراساني|1
"""

_KUNYA_EXTRA: Final = """
bakr|بكر|4; ʿubaydaẗ|عبيدة|2; muṣʿab|مصعب|2; qatādaẗ|قتادة|1; ṭalḥaẗ|طلحة|1; dujānaẗ|دجانة|1
ḥafṣ|حفص|1; jandal|جندل|1; ṣuhayb|صهيب|1
"""

# Persian/Dari/Pashto names, in Persian script; romanised with the Arabic machinery (the "persian"
# clerk style reads ḍ, ẓ, dh as z and th as s: riḍā → Reza, ʿuthmān → Osman).
_PERSIAN_MALE: Final = """
riḍā|رضا|10; amīr|امیر|8; ʿalī-riḍā|علیرضا|8; muḥammad-riḍā|محمدرضا|6; muḥammad-ʿalī|محمدعلی|3
jawād|جواد|5; mujtabā|مجتبی|3; muḥsin|محسن|5; kāẓim|کاظم|3; hādī|هادی|3; farhād|فرهاد|4
bahrām|بهرام|2; bahman|بهمن|2; kāmrān|کامران|2; rustam|رستم|2; jamshīd|جمشید|2; khusraw|خسرو|2
shahrām|شهرام|2; nīmā|نیما|2; umīd|امید|3; bihzād|بهزاد|2; ārash|آرش|2; paymān|پیمان|2
"""

_AFGHAN_MALE: Final = """
zalmay|زلمی|3; gul|گل|4; jān|جان|3; khān|خان|5; shāh|شاه|3; mīr|میر|3; walī|ولی|4; ghulām|غلام|6
sayyid|سید|5; dhabīḥ allāh|ذبیح الله|3; ḥikmat allāh|حکمت الله|2; samīʿ allāh|سمیع الله|3
raḥmat allāh|رحمت الله|3; ḥabīb allāh|حبیب الله|3; naqīb allāh|نقیب الله|2
iḥsān allāh|احسان الله|2; najīb allāh|نجیب الله|3; amān allāh|امان الله|2; asad allāh|اسد الله|2
ʿazīz allāh|عزیز الله|2; ʿināyat allāh|عنایت الله|2; sharīf|شریف|2; ʿabd al-wāḥid|عبد الواحد|2
ʿabd al-ghanī|عبد الغنی|2
"""

_PERSIAN_FEMALE: Final = """
zahrā|زهرا|8; maʿṣūmaẗ|معصومه|4; sakīnaẗ|سکینه|2; shīrīn|شیرین|3; parīsā|پریسا|2; nargis|نرگس|3
mīnā|مینا|2; firishtaẗ|فرشته|2; shabnam|شبنم|3; nīlūfar|نیلوفر|2; marḍiyaẗ|مرضیه|2
gulālay|گلالی|2
"""

_AFGHAN_FAMILY: Final = """
aḥmadzay|احمدزی|3; pūpalzay|پوپلزی|2; bārakzay|بارکزی|2; nūrzay|نورزی|2; ačakzay|اچکزی|2
yūsufzay|یوسفزی|2; stānikzay|ستانکزی|1; wardak|وردک|2; ṣāfī|صافی|2; sulṭānī|سلطانی|2
karīmī|کریمی|3; raḥīmī|رحیمی|3; ḥakīmī|حکیمی|2; muḥammadī|محمدی|4; ḥaydarī|حیدری|3
ḥusaynī|حسینی|4; naẓarī|نظری|2; riḍāʾī|رضایی|3; jaʿfarī|جعفری|2; amīrī|امیری|2; hāshimī|هاشمی|2
muhmand|مهمند|1
"""

_IRANIAN_FAMILY: Final = """
ḥusaynī|حسینی|6; aḥmadī|احمدی|5; muḥammadī|محمدی|5; riḍāʾī|رضایی|5; murādī|مرادی|3
karīmī|کریمی|3; jaʿfarī|جعفری|3; raḥīmī|رحیمی|3; hāshimī|هاشمی|3; qurbānī|قربانی|3
ṣādiqī|صادقی|3; ḥaydarī|حیدری|2; kāẓimī|کاظمی|2; mūsawī|موسوی|3; ṭāhirī|طاهری|2
sulaymānī|سلیمانی|2; akbarī|اکبری|3; rustamī|رستمی|2; naẓarī|نظری|2; ʿabbāsī|عباسی|3
zamānī|زمانی|2; salīmī|سلیمی|2; najafī|نجفی|2
"""

# Ge'ez-script names (Tigrinya, Amharic) with their Latin spellings.
_GEEZ_MALE: Final = """
ተስፋይ|tesfay:5,tesfai:3,tesfaye:2|8; ዮሃንስ|yohannes:6,yohanes:3,yohans:1,johannes:1|7
ሃይለ|haile:6,hayle:2|4; ተኽለ|tekle:5,tecle:2,tekla:1,tekele:1|4
በርሃነ|berhane:5,birhane:2,berhana:1,brhane:1|5; ኪዳነ|kidane:5,kidana:1,kedane:1|4
መሓሪ|mehari:5,mahari:2,mehary:1|4; ተወልደ|tewolde:4,tewelde:3|4; ሃብቶም|habtom:5,habtum:1|4
ግርማይ|girmay:4,ghirmay:3,girmai:2,germay:1|4; መስፍን|mesfin:5,mesfen:1|4
ሰለሙን|solomon:5,selemun:3,solomun:1|5; ዳዊት|dawit:6,dawet:1,dauit:1,davit:1|5
ሳሙኤል|samuel:6,samiel:1|4; ፊልሞን|filmon:5,filimon:2,philemon:1|4
ሚካኤል|michael:4,mikael:3,mikiel:1|4; ኣማኑኤል|amanuel:5,emanuel:2,amanual:1|5
ዮናስ|yonas:6,jonas:1,yonnas:1|5; ኣብርሃም|abraham:5,abrham:2,abreham:2|4; ነጋሽ|negash:5,nagash:1|3
ኣስመሮም|asmerom:5,asmarom:1|3; ኤፍሬም|efrem:5,ephrem:2,efriem:1|4
በረከት|bereket:6,berket:1,bereked:1|4; ፍፁም|futsum:4,fitsum:3,fitsom:1,fetsum:1|4
ክብሮም|kibrom:5,kebrom:2,kbrom:1|4; ጸጋይ|tsegay:5,tsegai:2,segay:1,tsgay:1|4
ጎይቶም|goitom:5,goytom:2|3; ዘርኣይ|zerai:4,zeray:2,zerei:1|3; ሄኖክ|henok:5,enoch:1|3
ተመስገን|temesgen:5,temesghen:1,temsgen:1|3; ኢሳያስ|isaias:3,isayas:3,esayas:2|2
ወልዱ|weldu:3,woldu:3|2; በየነ|beyene:5,beyenne:1|3; ኣፈወርቂ|afewerki:4,afwerki:3,afeworki:2|2
ኣርኣያ|araya:5,araia:2|3; ሩፋኤል|rufael:4,rafael:2|2; ኣሮን|aron:4,aaron:2|2
ገብረመድህን|gebremedhin:5,gebre medhin:2,g/medhin:2,ghebremedhin:2,gebremedin:1|4
ገብረማርያም|gebremariam:5,gebre mariam:2,g/mariam:2,ghebremariam:2,gebremaryam:1|4
ገብረሚካኤል|gebremichael:5,gebre michael:2,g/michael:1,ghebremicael:1,gebremikael:2|3
ገብረየሱስ|gebreyesus:4,ghebreyesus:3,gebre yesus:1,g/yesus:1,gebreiyesus:1|3
ገብረስላሴ|gebreselassie:4,gebre selassie:2,g/selassie:1,gebreslasie:1,ghebreslassie:2|3
ገብረሕይወት|gebrehiwet:4,gebrehiwot:3,g/hiwet:1,ghebrehiwet:2|3
ገብረእግዚአብሄር|gebregziabher:4,gebreegziabher:2,g/egziabher:2,gebregziabiher:1|3
ገብረክርስቶስ|gebrekristos:4,gebre kristos:1,g/kristos:1,ghebrechristos:1|2
ወልደሚካኤል|weldemichael:4,woldemichael:3,w/michael:2,welde mikael:1|3
ወልደማርያም|weldemariam:4,woldemariam:3,w/mariam:2,welde mariam:1|3
ወልደጊዮርጊስ|weldegiorgis:4,woldegiorgis:2,w/giorgis:1,weldeghiorghis:1|2
ሃብተማርያም|habtemariam:4,habte mariam:2,h/mariam:1,habtemaryam:1|3
ሃብተሚካኤል|habtemichael:4,habte michael:2,habtemikael:1|2
ተስፋማርያም|tesfamariam:5,tesfa mariam:2,tesfamaryam:1|3
ተስፋሚካኤል|tesfamichael:4,tesfamikael:2,tesfa michael:1|2
ተስፋጊዮርጊስ|tesfagiorgis:4,tesfaghiorghis:2,tesfa giorgis:1|2
ሃይለማርያም|hailemariam:4,haile mariam:2,hailemaryam:1,h/mariam:1|3
ሃይለሚካኤል|hailemichael:4,haile michael:1,hailemikael:1|2
ሃይለስላሴ|haileselassie:4,haile selassie:2,hailesilasie:1|2
ኪዳነማርያም|kidanemariam:4,kidane mariam:2,kidanemaryam:1|2
"""

_AMHARIC_MALE: Final = """
ጌታቸው|getachew:5,getachow:1,getacho:1|4; ዓለማየሁ|alemayehu:5,alemayhu:1,alemaiehu:1|3
በቀለ|bekele:6,bekelle:1|4; ከበደ|kebede:6,kebbede:1|4; አበበ|abebe:6,abbebe:1|4
ታደሰ|tadesse:5,tadese:2,taddesse:1|4; ሙሉጌታ|mulugeta:6,mulugheta:1|3; ጸጋዬ|tsegaye:5,tsegay:1|3
ግርማ|girma:6,germa:1|4; ደምሴ|demissie:4,demisse:2,demise:1|2
መኮንን|mekonnen:5,makonnen:2,mekonen:2|3; ተስፋዬ|tesfaye:6,tesfay:1|4
"""

_GEEZ_FEMALE: Final = """
ሄለን|helen:6,hellen:2|4; ሰናይት|senait:5,senayt:2,senaite:1|4; ሰላም|selam:5,salam:1|3; ሳባ|saba:6|3
ፍረወይኒ|freweini:4,frewoini:2,frewini:2|3; ሉዋም|luwam:4,luam:3|3
ዮርዳኖስ|yordanos:5,yordanose:1,jordanos:1|3; መብራት|mebrat:5,mebrhat:2,mibrat:1|3
ጸጋ|tsega:5,tsegga:1,sega:1|2; ራሄል|rahel:5,rachel:1,raheel:1|3; ዊንታ|winta:5|3
ፌቨን|feven:5,fiven:1,fevin:1|3; ሕይወት|hiwet:5,hiwot:3,hewet:1|3; ኣበባ|abeba:5|2
ትርሓስ|tirhas:4,terhas:2,tirhass:1|3; ኤልሳ|elsa:5|2; ኣስቴር|aster:4,ester:2|3; ሙሉ|mulu:5|2
ለምለም|lemlem:5|2; ብርኽቲ|birikti:4,berikti:2,brikti:2|3; ኣዜብ|azeb:5,aseb:1|2
ሳምራዊት|samrawit:4,semrawit:2|2; ትዕግስቲ|tigist:4,tigest:2,tegist:1|2; መሰረት|meseret:5,mesert:1|2
"""

# Somali names: Somali orthography (x = ḥ, c = ʿ, doubled vowels) first, then English spellings.
_SOMALI_MALE: Final = """
Maxamed|mohamed:6,maxamed:3,mohammed:2,mohamad:1,mahamed:1|40; Cabdi|abdi:6,cabdi:3|15
Cali|ali:7,cali:3|15; Axmed|ahmed:6,axmed:3,ahmad:1|15; Xasan|hassan:6,xasan:3,hasan:2|12
Xuseen|hussein:5,xuseen:3,hussen:1,husein:1|10
Cabdullaahi|abdullahi:6,cabdullaahi:3,abdulahi:2,abdillahi:1|12
Maxamuud|mohamud:5,maxamuud:3,mahmoud:1,mohamoud:1,mahamud:1|10
Faarax|farah:6,faarax:3,fara:1|8; Cumar|omar:6,cumar:3,umar:1|8
Yuusuf|yusuf:5,yuusuf:3,yousuf:1|8; Ismaaciil|ismail:6,ismaaciil:3,ismael:1|7
Ibraahim|ibrahim:6,ibraahim:3|7; Jaamac|jama:6,jaamac:3,jamac:1|7
Warsame|warsame:6,warsameh:1|5; Nuur|nur:5,nuur:3,noor:2|6; Aadan|adan:4,aden:3,aadan:3|7
Cismaan|osman:6,cismaan:3,othman:1|7; Khaliif|khalif:5,khaliif:3,kalif:1|4
Siciid|said:5,siciid:3,saeed:1,saciid:1|6; Shire|shire:6,shirreh:1|4
Guuleed|guled:6,guuleed:3|5; Diiriye|dirie:5,diiriye:3,diriye:2|3
Cawil|awil:5,cawil:3,awale:1|3; Xirsi|hirsi:6,xirsi:3|4; Muuse|musa:5,muuse:3,mousa:1|5
Abshir|abshir:6|3; Bashiir|bashir:6,bashiir:3|4; Mahad|mahad:6|4; Liibaan|liban:5,liibaan:3|3
Cabdiraxmaan|abdirahman:5,cabdiraxmaan:3,abdirahmaan:1,abdulrahman:1|8
Cabdulqaadir|abdikadir:4,abdulkadir:3,cabdulqaadir:3,abdiqadir:2|5
Cabdiwali|abdiweli:4,cabdiwali:3,abdiwali:2|4; Xaaji|haji:5,xaaji:3,hajji:1|3
Aweys|aweys:5,awees:1,uways:1|3; Daahir|dahir:6,daahir:3|3; Yaasiin|yasin:5,yaasiin:3|3
Cabdinaasir|abdinasir:5,cabdinaasir:3,abdinasser:1|3; Mukhtaar|mukhtar:5,mukhtaar:3|2
Xamza|hamza:5,xamza:3|3; Cigaal|egal:4,cigaal:3,igal:1|2; Samatar|samatar:5,samater:1|2
Bile|bile:5,bileh:1|2
"""

_SOMALI_FEMALE: Final = """
Faadumo|fadumo:5,faadumo:3,fatuma:2,fatima:1|15; Khadiija|khadija:5,khadiija:3,kadija:1|8
Hodan|hodan:6|5; Sahra|sahra:5,sahro:2,zahra:1|6; Xaawo|hawo:5,xaawo:3,hawa:2|6; Asli|asli:6|4
Ayaan|ayan:4,ayaan:4|4; Ifraax|ifrah:5,ifraax:2,ifra:1|3; Ubax|ubah:5,ubax:3|3; Sagal|sagal:6|3
Nimco|nimo:5,nimco:3,nimca:1|4; Deeqa|deqa:5,deeqa:3,deka:1|4
Maryan|maryan:5,maryam:2,mariam:1|6; Caasha|asha:5,caasha:3,aisha:1|6
Aamina|amina:5,aamina:3,amino:1|5; Filsan|filsan:6|2; Hibo|hibo:6|2; Idil|idil:6|2
Sucaad|suad:5,sucaad:3,suaad:1|3; Shukri|shukri:6|3; Muna|muna:5,mona:1|2
"""

_TURKISH_MALE: Final = """
Mehmet|30; Mustafa|20; Ahmet|18; Ali|18; Hüseyin|14; Hasan|14; İbrahim|12; İsmail|8; Osman|8
Yusuf|10; Murat|10; Ömer|8; Ramazan|6; Halil|6; Süleyman|6; Abdullah|6; Mahmut|5; Recep|4
Emre|6; Burak|4; Fatih|5; Kemal|4; Hakan|4; Orhan|3; Yasin|4; Muhammed|5; Serkan|3
"""

_TURKISH_FEMALE: Final = """
Fatma|15; Ayşe|12; Emine|10; Hatice|8; Zeynep|8; Elif|6; Meryem|5; Şerife|3; Zehra|4; Hülya|3
Esra|4; Özlem|3; Merve|4; Büşra|3; Songül|3
"""

_TURKISH_FAMILY: Final = """
Yılmaz|12; Kaya|10; Demir|10; Şahin|9; Çelik|9; Yıldız|8; Yıldırım|8; Öztürk|7; Aydın|7
Özdemir|7; Arslan|6; Doğan|6; Kılıç|6; Aslan|5; Çetin|5; Kara|5; Koç|5; Kurt|5; Özkan|4
Şimşek|4; Polat|4; Korkmaz|4; Erdoğan|3; Tekin|3; Güneş|3; Aktaş|3
"""

# Cyrillic: Ukrainian form | Russian form | weight (one form for Russian-only names).
_UKRAINIAN_MALE: Final = """
Олександр|Александр|12; Сергій|Сергей|10; Володимир|Владимир|8; Дмитро|Дмитрий|9
Андрій|Андрей|9; Микола|Николай|7; Юрій|Юрий|6; Олег|Олег|5; Іван|Иван|7; Віталій|Виталий|5
Максим|Максим|7; Павло|Павел|4; Петро|Пётр|4; Ігор|Игорь|5; Віктор|Виктор|5; Євген|Евгений|5
Василь|Василий|5; Михайло|Михаил|5; Денис|Денис|5; Роман|Роман|5; Артем|Артём|5; Богдан|Богдан|4
Тарас|Тарас|3; Олексій|Алексей|6; Анатолій|Анатолий|3
"""

_UKRAINIAN_FEMALE: Final = """
Олена|Елена|9; Тетяна|Татьяна|8; Наталія|Наталья|8; Ірина|Ирина|7; Світлана|Светлана|6
Оксана|Оксана|6; Юлія|Юлия|6; Анна|Анна|6; Марія|Мария|6; Катерина|Екатерина|6
Людмила|Людмила|4; Галина|Галина|4; Ольга|Ольга|6; Вікторія|Виктория|5; Дарія|Дарья|4
"""

_UKRAINIAN_FAMILY: Final = """
Шевченко|Шевченко|8; Коваленко|Коваленко|7; Бондаренко|Бондаренко|6; Ткаченко|Ткаченко|5
Кравченко|Кравченко|5; Мельник|Мельник|6; Бойко|Бойко|5; Ковальчук|Ковальчук|5; Коваль|Коваль|4
Олійник|Олейник|4; Лисенко|Лысенко|4; Марченко|Марченко|3; Мороз|Мороз|3; Петренко|Петренко|3
Савченко|Савченко|3; Руденко|Руденко|3; Шевчук|Шевчук|3; Поліщук|Полищук|3; Ткачук|Ткачук|3
Кравчук|Кравчук|3; Левченко|Левченко|3; Козак|Козак|2; Литвиненко|Литвиненко|3
Гончаренко|Гончаренко|3; Клименко|Клименко|3; Павленко|Павленко|3; Романенко|Романенко|2
Сидоренко|Сидоренко|2
"""

_RUSSIAN_MALE: Final = """
Иван|8; Сергей|9; Александр|10; Дмитрий|9; Андрей|8; Алексей|8; Николай|6; Владимир|7; Евгений|6
Максим|7; Михаил|6; Павел|5; Игорь|5; Олег|4; Юрий|5; Виктор|5; Роман|5; Артём|5; Денис|5
"""

_RUSSIAN_FEMALE: Final = """
Елена|9; Татьяна|8; Наталья|8; Ирина|7; Светлана|6; Ольга|7; Анна|7; Мария|7; Екатерина|6
Юлия|6
"""

_RUSSIAN_FAMILY: Final = """
Иванов|8; Смирнов|8; Кузнецов|7; Попов|6; Соколов|5; Лебедев|4; Козлов|4; Новиков|4; Морозов|4
Волков|4; Петров|5; Павлов|4; Фёдоров|3; Михайлов|3; Васильев|3
"""

# North Caucasus (Chechnya, Dagestan): Arabic-origin names in Russian documents — Magomed is
# Mohammed, Ibragim is Ibrahim; a classic counter-terrorism population.
_CAUCASUS_MALE: Final = """
Магомед|14; Ахмед|8; Рустам|6; Руслан|7; Ислам|6; Аслан|5; Зелимхан|4; Умар|6; Хамзат|4; Адам|4
Мурад|5; Саид|5; Шамиль|5; Ибрагим|5; Абдула|4; Мовсар|3; Хасан|4; Алихан|3
"""

_CAUCASUS_FEMALE: Final = """
Марьям|5; Хадижат|4; Патимат|4; Аминат|5; Зарема|4; Мадина|5; Луиза|3; Хава|3; Зайнаб|3
"""

_CAUCASUS_FAMILY: Final = """
Магомедов|10; Ахмедов|6; Умаров|5; Кадыров|3; Исмаилов|4; Алиев|6; Гаджиев|5; Абдуллаев|4
Идрисов|3; Мусаев|4; Хасанов|3; Гасанов|4; Рамазанов|4; Исаев|4; Алиханов|2; Байсаров|2
Магомадов|3
"""


def _parse_plain(block: str, system: str, prefix: str) -> list[_Unit]:
    """Entries ``native|frequency``, or ``Ukrainian|Russian|frequency`` for Cyrillic."""
    units = []
    for entry in _entries(block):
        parts = [part.strip() for part in entry.split("|")]
        if system == "cyrillic" and len(parts) == 3:
            units.append(_Unit(key=f"{prefix}:{parts[0]}", system="cyrillic", native=parts[0],
                               russian=parts[1], weight=float(parts[2])))
        elif system == "cyrillic":
            units.append(_Unit(key=f"{prefix}:{parts[0]}", system="cyrillic", native="",
                               russian=parts[0], weight=float(parts[1])))
        else:
            units.append(_Unit(key=f"{prefix}:{parts[0]}", system=system, native=parts[0],
                               weight=float(parts[1])))
    return units


def _feminine_cyrillic(unit: _Unit) -> _Unit:
    """Feminine form of a Slavic surname: Ivanov → Ivanova; -enko, -uk, -ko stay as they are."""

    def fem(name: str) -> str:
        if not name:
            return name
        if re.search(r"(ов|ев|ёв|ин|ын)$", name):
            return name + "а"
        if name.endswith("ський"):
            return name[:-5] + "ська"
        if name.endswith("ский"):
            return name[:-4] + "ская"
        return name

    native, russian = fem(unit.native), fem(unit.russian)
    if (native, russian) == (unit.native, unit.russian):
        return unit
    return replace(unit, key=unit.key + ":f", native=native, russian=russian)


def _patronymic_of(father: _Unit, sex: str) -> _Unit:
    """Patronymic from a father's Cyrillic given name (Сергій → Сергійович / Сергіївна)."""
    female = sex == "F"

    def ukrainian(name: str) -> str:
        if not name:
            return ""
        if name == "Микола":
            return "Миколаївна" if female else "Миколайович"
        if name.endswith("й"):
            return name[:-1] + ("ївна" if female else "йович")
        if name.endswith("о"):
            return name[:-1] + ("івна" if female else "ович")
        if name.endswith("ь"):
            return name[:-1] + "івна" if female else name + "ович"
        return name + ("івна" if female else "ович")

    def russian(name: str) -> str:
        special = {"Пётр": "Петр", "Павел": "Павл", "Михаил": "Михайл", "Лев": "Льв"}
        if name in special:
            return special[name] + ("овна" if female else "ович")
        if name == "Дмитрий":
            return "Дмитриевна" if female else "Дмитриевич"
        if name.endswith("ий"):
            return name[:-2] + ("ьевна" if female else "ьевич")
        if name.endswith(("ей", "ай")):
            return name[:-1] + ("евна" if female else "евич")
        if name.endswith("ь"):
            return name[:-1] + ("евна" if female else "евич")
        if name.endswith("а"):  # Абдула → Абдулаевич (Caucasus usage)
            return name + ("евна" if female else "евич")
        return name + ("овна" if female else "ович")

    return _Unit(key=f"patr:{sex}:{father.key}", system="cyrillic",
                 native=ukrainian(father.native), russian=russian(father.russian))


@dataclass(frozen=True)
class _Place:
    spellings: _Table[str]


def _parse_places(block: str) -> dict[str, tuple[_Place, ...]]:
    """``ISO3: Name/Variant/Variant; Name/Variant`` (continued on indented lines).

    The first spelling of each place is the most common one.
    """
    entries_by_code: dict[str, list[str]] = {}
    code = ""
    for line in block.strip().splitlines():
        match = re.match(r"^([A-Z]{3}):(.*)$", line)
        if match:
            code, line = match.group(1), match.group(2)
        entries_by_code.setdefault(code, []).extend(e for e in line.split(";") if e.strip())
    places: dict[str, tuple[_Place, ...]] = {}
    for code, entries in entries_by_code.items():
        parsed = []
        for entry in entries:
            names = [n.strip() for n in entry.split("/") if n.strip()]
            parsed.append(_Place(_Table.of((n, 3.0 if i == 0 else 1.0)
                                           for i, n in enumerate(names))))
        places[code] = tuple(parsed)
    return places


_PLACES: Final = _parse_places("""
SYR: Aleppo/Halab/Alep/Haleb/Halep; Damascus/Damas/Dimashq/Damaskus; Homs/Hims/Hums;
    Idlib/Idleb/Edlib; Hama/Hamah/Hamat; Deir ez-Zor/Deir Ezzor/Dayr al-Zawr/Deir Alzour/Der Ezor;
    Raqqa/Al-Raqqah/Rakka/Ar Raqqah; Latakia/Lattakia/Al-Ladhiqiyah; Daraa/Deraa/Dar'a;
    Al-Hasakah/Hasakah/Hassake/Hasaka; Qamishli/Kamishli/Al-Qamishli/Qamishly; Tartus/Tartous;
    Douma/Duma; Manbij/Menbij
IRQ: Baghdad/Bagdad/Bagdat; Mosul/Mossoul/Al-Mawsil/Musul; Basra/Basrah/Al-Basrah; Kirkuk/Karkuk;
    Erbil/Arbil/Hewler/Irbil; Fallujah/Falluja/Al-Fallujah; Ramadi/Ar-Ramadi/Al-Ramadi;
    Tikrit/Takrit; Najaf/An-Najaf/Al-Najaf; Sulaymaniyah/Sulaimani/Slemani/Suleimaniya;
    Tal Afar/Tall Afar/Telafer
AFG: Kabul/Kaboul; Herat/Hirat; Kandahar/Qandahar/Kandehar; Jalalabad/Jelalabad;
    Mazar-i-Sharif/Mazar-e Sharif/Mazar-e-Sharif/Mazari Sharif; Kunduz/Qunduz/Kondoz;
    Ghazni/Ghazna; Lashkar Gah/Lashkargah; Baghlan/Baglan; Pul-e Alam/Pul-i-Alam;
    Maidan Shahr/Maydan Shahr; Khost/Khowst
ERI: Asmara/Asmera; Keren/Cheren; Massawa/Mitsiwa/Massaua; Mendefera/Adi Ugri; Dekemhare/Dekamere;
    Barentu; Adi Keyh/Adi Keih; Tesseney/Teseney/Tessenei; Adi Quala/Adi Kwala
ETH: Addis Ababa/Addis Abeba/Adis Abeba; Mekelle/Mek'ele/Makale; Gondar/Gonder; Adwa/Adowa;
    Dire Dawa/Dire Daua; Bahir Dar/Bahar Dar; Humera
SOM: Mogadishu/Muqdisho/Mogadiscio/Mogadisho; Kismayo/Kismaayo/Chisimaio; Hargeisa/Hargeysa;
    Baidoa/Baydhabo; Beledweyne/Beledweyn/Beled Weyne/Baladweyne; Galkayo/Gaalkacyo;
    Bosaso/Boosaaso/Bossaso; Merca/Marka; Afgooye/Afgoye
IRN: Tehran/Teheran; Mashhad/Mashad/Meshed; Isfahan/Esfahan; Tabriz; Shiraz; Ahvaz/Ahwaz;
    Kermanshah; Zahedan; Qom/Ghom; Karaj
UKR: Kyiv/Kiev/Kiew/Kijev; Kharkiv/Kharkov/Charkiw; Odesa/Odessa;
    Dnipro/Dnipropetrovsk/Dnepropetrovsk; Donetsk/Donezk; Lviv/Lvov/Lemberg;
    Zaporizhzhia/Zaporozhye/Zaporizhia; Mariupol/Mariupil; Luhansk/Lugansk; Mykolaiv/Nikolaev
RUS: Moscow/Moskva/Moskou/Moskau; Grozny/Groznyy/Grosny; Makhachkala/Machatschkala/Makhatchkala;
    Nalchik/Naltschik; Khasavyurt/Chasawjurt; Saint Petersburg/St. Petersburg/Sankt-Peterburg;
    Kazan; Derbent; Urus-Martan; Gudermes
TUR: Istanbul/İstanbul; Ankara; Diyarbakır/Diyarbakir/Amed; Gaziantep/Antep;
    Şanlıurfa/Sanliurfa/Urfa; İzmir/Izmir; Konya; Mardin; Van; Batman; Adana; Kayseri
YEM: Sanaa/Sana'a/Sana; Aden/Adan; Taiz/Ta'izz/Taizz; Hodeidah/Al Hudaydah/Hudaida; Ibb;
    Mukalla/Al-Mukalla; Marib/Ma'rib
SDN: Khartoum/Khartum/Al-Khartum; Omdurman/Umm Durman; Port Sudan; Nyala;
    El Fasher/Al-Fashir/Al Fasher; El Geneina/Al-Junaynah/Geneina; Kassala; Wad Madani/Wad Medani;
    El Obeid/Al-Ubayyid
MAR: Casablanca/Dar el Beida; Rabat; Tanger/Tangier/Tanja; Fès/Fes/Fez; Marrakech/Marrakesh;
    Tétouan/Tetouan/Tetuan; Nador; Al Hoceima/Al Hoceïma/Alhucemas; Oujda/Ujda; Agadir;
    Meknès/Meknes
DZA: Alger/Algiers/El Djazair; Oran/Wahran; Constantine/Qacentina; Annaba; Blida; Sétif/Setif;
    Tizi Ouzou; Batna; Tlemcen; Béjaïa/Bejaia/Bougie
TUN: Tunis; Sfax/Safaqis; Sousse/Susa; Kairouan/Al-Qayrawan/Kairwan; Bizerte/Bizerta;
    Ben Guerdane/Ben Gardane; Gafsa
""")

_COUNTRY_NAMES: Final = {
    "SYR": ("Syria", "Syrian Arab Republic", "Syrie"), "IRQ": ("Iraq", "Irak"),
    "AFG": ("Afghanistan",), "ERI": ("Eritrea", "Erythrée"), "ETH": ("Ethiopia", "Ethiopië"),
    "SOM": ("Somalia", "Somalie"), "IRN": ("Iran",), "UKR": ("Ukraine", "Oekraïne"),
    "RUS": ("Russia", "Russian Federation"), "TUR": ("Turkey", "Türkiye"), "YEM": ("Yemen",),
    "SDN": ("Sudan", "Soudan"), "MAR": ("Morocco", "Maroc"), "DZA": ("Algeria", "Algérie"),
    "TUN": ("Tunisia", "Tunisie"),
}

# Passport-like number shapes per country: L = letter, # = digit.
_DOC_PATTERNS: Final = {
    "SYR": "N0#######", "IRQ": "A########", "AFG": "P0######", "ERI": "P0#####",
    "ETH": "EP#######", "SOM": "P00######", "IRN": "K########", "UKR": "LL######",
    "RUS": "7########", "TUR": "U########", "YEM": "0#######", "SDN": "P0#######",
    "MAR": "LL#######", "DZA": "#########", "TUN": "L######",
}


@dataclass(frozen=True)
class _Population:
    """A population: naming system, script, nationality, places and clerk habits."""

    code: str
    system: str
    script: str
    nationality: str
    neighbours: tuple[str, ...]
    styles_left: _Table[str]
    styles_right: _Table[str]
    passport_rate: float
    defaulted_dob_rate: float


_ARAB_LEFT: Final = _t(("english", 0.6), ("german", 0.12), ("turkish", 0.1), ("french", 0.06),
                       ("dutch", 0.05), ("scholarly", 0.02))
_ARAB_RIGHT: Final = _t(("english", 0.55), ("scholarly", 0.3), ("french", 0.08), ("german", 0.07))
_MAGHREB_LEFT: Final = _t(("french", 0.7), ("english", 0.2), ("dutch", 0.05), ("german", 0.05))
_MAGHREB_RIGHT: Final = _t(("french", 0.55), ("english", 0.25), ("scholarly", 0.2))
_PERSIAN_LEFT: Final = _t(("persian", 0.7), ("english", 0.25), ("german", 0.05))
_PERSIAN_RIGHT: Final = _t(("persian", 0.5), ("english", 0.35), ("scholarly", 0.15))
_LATIN_LEFT: Final = _t(("english", 0.8), ("german", 0.1), ("french", 0.1))
_LATIN_RIGHT: Final = _t(("english", 0.9), ("french", 0.1))
_TURKISH_LEFT: Final = _t(("turkish", 0.6), ("english", 0.3), ("german", 0.1))
_TURKISH_RIGHT: Final = _t(("turkish", 0.5), ("english", 0.5))
_CYR_LEFT: Final = _t(("english", 0.7), ("german", 0.15), ("french", 0.07), ("scholarly", 0.08))
_CYR_RIGHT: Final = _t(("english", 0.75), ("scholarly", 0.15), ("french", 0.1))

_POPULATIONS: Final = {
    p.code: p
    for p in (
        _Population("SYR", "levant", "arabic", "SYR", ("XXA", "PSE", "IRQ"), _ARAB_LEFT,
                    _ARAB_RIGHT, 0.45, 0.08),
        _Population("IRQ", "iraq", "arabic", "IRQ", ("SYR", "XXA", "IRN"), _ARAB_LEFT,
                    _ARAB_RIGHT, 0.5, 0.1),
        _Population("YEM", "yemen", "arabic", "YEM", ("SAU", "SOM"), _ARAB_LEFT, _ARAB_RIGHT,
                    0.3, 0.15),
        _Population("SDN", "sudan", "arabic", "SDN", ("SSD", "TCD"), _ARAB_LEFT, _ARAB_RIGHT,
                    0.3, 0.2),
        _Population("MAR", "maghreb", "arabic", "MAR", ("DZA", "ESP"), _MAGHREB_LEFT,
                    _MAGHREB_RIGHT, 0.6, 0.05),
        _Population("DZA", "maghreb", "arabic", "DZA", ("MAR", "FRA"), _MAGHREB_LEFT,
                    _MAGHREB_RIGHT, 0.6, 0.05),
        _Population("TUN", "maghreb", "arabic", "TUN", ("LBY", "DZA"), _MAGHREB_LEFT,
                    _MAGHREB_RIGHT, 0.6, 0.05),
        _Population("AFG", "afghan", "persian", "AFG", ("IRN", "PAK"), _PERSIAN_LEFT,
                    _PERSIAN_RIGHT, 0.2, 0.4),
        _Population("IRN", "iran", "persian", "IRN", ("AFG", "IRQ"), _PERSIAN_LEFT,
                    _PERSIAN_RIGHT, 0.6, 0.05),
        _Population("ERI", "eritrea", "geez", "ERI", ("ETH", "SDN"), _LATIN_LEFT, _LATIN_RIGHT,
                    0.1, 0.2),
        _Population("ETH", "ethiopia", "geez", "ETH", ("ERI", "SOM"), _LATIN_LEFT, _LATIN_RIGHT,
                    0.3, 0.2),
        _Population("SOM", "somali", "latin", "SOM", ("KEN", "ETH", "YEM"), _LATIN_LEFT,
                    _LATIN_RIGHT, 0.1, 0.3),
        _Population("TUR", "turkish", "latin", "TUR", ("SYR", "IRQ"), _TURKISH_LEFT,
                    _TURKISH_RIGHT, 0.8, 0.03),
        _Population("UKR", "ukrainian", "cyrillic", "UKR", ("RUS",), _CYR_LEFT, _CYR_RIGHT,
                    0.9, 0.02),
        _Population("RUS", "russian", "cyrillic", "RUS", ("UKR", "KAZ"), _CYR_LEFT, _CYR_RIGHT,
                    0.7, 0.02),
        _Population("RUS-CAU", "caucasus", "cyrillic", "RUS", ("GEO", "AZE"), _CYR_LEFT,
                    _CYR_RIGHT, 0.6, 0.08),
    )
}

# Asylum applications in the Netherlands (recent years, rounded) and a plausible CT reference list.
_LEFT_MIX: Final = _t(("SYR", 30), ("AFG", 12), ("TUR", 10), ("ERI", 8), ("IRQ", 6), ("SOM", 5),
                      ("YEM", 4), ("IRN", 4), ("SDN", 3), ("MAR", 4), ("DZA", 4), ("TUN", 1),
                      ("UKR", 3), ("RUS", 1), ("RUS-CAU", 2), ("ETH", 2))
_RIGHT_MIX: Final = _t(("SYR", 22), ("IRQ", 14), ("AFG", 8), ("SOM", 7), ("YEM", 6), ("MAR", 7),
                       ("DZA", 6), ("TUN", 4), ("RUS-CAU", 6), ("TUR", 5), ("SDN", 3), ("IRN", 3),
                       ("ERI", 2), ("ETH", 1), ("UKR", 2), ("RUS", 2))


@dataclass(frozen=True)
class _Lexicon:
    """All name pools, built once per process from the embedded lists (deterministic)."""

    pools: dict[str, _Table[_Unit]]
    units: dict[str, _Unit]
    observed: dict[str, _Table[str]]


_MULTIPLIERS: Final[dict[str, dict[str, float]]] = {
    "iraq": {"ḥaydar": 4, "ʿabbās": 3, "ḥusayn": 2, "ʿalī": 1.5, "jāsim": 2, "jaʿfar": 2,
             "mahdī": 2, "ʿudayy": 1},
    "maghreb": {"ʿabd al-qādir": 4, "rashīd": 2, "karīm": 2, "sufyān": 3, "riḍwān": 4,
                "ayyūb": 4, "ilyās": 3, "amīn": 4, "mahdī": 2, "yāsīn": 4, "murād": 3,
                "ḥakīm": 3, "yūsuf": 1.5, "nūr al-dīn": 3, "ṣalāḥ al-dīn": 2, "ḥamzaẗ": 2},
    "sudan": {"ādam": 5, "isḥāq": 4, "ʿuthmān": 3, "al-ṭayyib": 6, "al-fātiḥ": 5, "khalīl": 2,
              "yaḥyā": 2, "ṣādiq": 3},
    "yemen": {"ʿabd allāh": 2, "ṣāliḥ": 2, "ʿabd al-raḥmān": 1.5, "yaḥyā": 2},
    "persian": {"muḥammad": 0.6, "ʿalī": 1.2, "ḥusayn": 1.5, "ḥasan": 1.2, "mahdī": 2,
                "ʿabbās": 1.5, "ḥamīd": 1, "majīd": 1.5, "saʿīd": 1.5, "jaʿfar": 1},
}


# Arabic-origin names common in (Shia) Iran; Afghanistan (mostly Sunni) uses the wider Arabic list.
_IRANIAN_ARABIC_NAMES: Final = frozenset({
    "muḥammad", "ʿalī", "ḥusayn", "ḥasan", "aḥmad", "maḥmūd", "mahdī", "ʿabbās", "ḥāmid",
    "majīd", "saʿīd", "jaʿfar", "ibrāhīm", "yūsuf", "mūsā", "ʿīsā", "ismāʿīl", "karīm", "nāṣir",
    "manṣūr", "ṣādiq", "qāsim", "ḥabīb", "amīn", "ḥakīm", "khalīl", "murād", "ḥamzaẗ",
})


@functools.cache
def _lexicon() -> _Lexicon:
    ar_m = _parse_arabic(_ARABIC_MALE, "ar")
    ar_f = _parse_arabic(_ARABIC_FEMALE, "ar")
    pools: dict[str, _Table[_Unit]] = {}
    units: dict[str, _Unit] = {}

    def add(name: str, members: Sequence[_Unit], multipliers: dict[str, float] | None = None
            ) -> None:
        mult = multipliers or {}
        for unit in members:
            units.setdefault(unit.key, unit)
        pools[name] = _Table.of(
            (u, u.weight * mult.get(u.scholarly, 1.0)) for u in members)

    for system in ("levant", "iraq", "yemen", "sudan", "maghreb"):
        add(f"{system}:M", ar_m, _MULTIPLIERS.get(system))
        add(f"{system}:F", ar_f)
    add("levant:family", _parse_arabic(_ARABIC_FAMILY_LEVANT, "ar"))
    add("iraq:family", _parse_arabic(_ARABIC_FAMILY_IRAQ + _ARABIC_FAMILY_LEVANT, "ar"))
    add("yemen:family", _parse_arabic(_ARABIC_FAMILY_YEMEN, "ar"))
    add("maghreb:family", _parse_arabic(_ARABIC_FAMILY_MAGHREB, "ar"))
    add("nisba", _parse_arabic(_ARABIC_NISBA, "ar"))
    kunya_sons = [u for u in ar_m if u.weight >= 4] + _parse_arabic(_KUNYA_EXTRA, "ar")
    add("kunya", [replace(u, key="kunya:" + u.scholarly, scholarly="abū " + u.scholarly,
                          native="أبو " + u.native) for u in kunya_sons])

    persian_m = _parse_arabic(_PERSIAN_MALE, "fa")
    afghan_m = _parse_arabic(_AFGHAN_MALE, "fa")
    persian_f = _parse_arabic(_PERSIAN_FEMALE, "fa")
    shared_m = [u for u in ar_m if u.weight >= 3 and " al-" not in u.scholarly]
    iranian_arabic = [u for u in shared_m if u.scholarly in _IRANIAN_ARABIC_NAMES]
    add("iran:M", persian_m + iranian_arabic, _MULTIPLIERS["persian"])
    add("afghan:M", afghan_m + persian_m[:8] + shared_m + [
        u for u in ar_m if u.scholarly.startswith("ʿabd al-")], _MULTIPLIERS["persian"])
    add("afghan:M2", [u for u in afghan_m if u.scholarly in ("khān", "jān", "gul", "shāh")]
        + [u for u in ar_m if u.scholarly in ("muḥammad", "aḥmad", "ʿalī")])
    female_shared = [u for u in ar_f if u.scholarly in (
        "fāṭimaẗ", "maryam", "zaynab", "laylā", "khadījaẗ", "ḥalīmaẗ", "sumayyaẗ", "asmāʾ")]
    add("iran:F", persian_f + female_shared)
    add("afghan:F", persian_f + female_shared)
    add("iran:family", _parse_arabic(_IRANIAN_FAMILY, "fa"))
    add("afghan:family", _parse_arabic(_AFGHAN_FAMILY, "fa"))

    geez_m = _parse_variants(_GEEZ_MALE, "geez", "geez")
    add("eritrea:M", geez_m)
    add("eritrea:F", _parse_variants(_GEEZ_FEMALE, "geez", "geez"))
    add("ethiopia:M", geez_m + _parse_variants(_AMHARIC_MALE, "geez", "geez"))
    add("ethiopia:F", _parse_variants(_GEEZ_FEMALE, "geez", "geez"))
    add("somali:M", _parse_variants(_SOMALI_MALE, "somali", "so", own_script=False))
    add("somali:F", _parse_variants(_SOMALI_FEMALE, "somali", "so", own_script=False))
    add("turkish:M", _parse_plain(_TURKISH_MALE, "turkish", "tr"))
    add("turkish:F", _parse_plain(_TURKISH_FEMALE, "turkish", "tr"))
    add("turkish:family", _parse_plain(_TURKISH_FAMILY, "turkish", "tr"))
    add("ukrainian:M", _parse_plain(_UKRAINIAN_MALE, "cyrillic", "uk"))
    add("ukrainian:F", _parse_plain(_UKRAINIAN_FEMALE, "cyrillic", "uk"))
    add("ukrainian:family", _parse_plain(_UKRAINIAN_FAMILY, "cyrillic", "uk"))
    add("russian:M", _parse_plain(_RUSSIAN_MALE, "cyrillic", "ru"))
    add("russian:F", _parse_plain(_RUSSIAN_FEMALE, "cyrillic", "ru"))
    add("russian:family", _parse_plain(_RUSSIAN_FAMILY, "cyrillic", "ru"))
    add("caucasus:M", _parse_plain(_CAUCASUS_MALE, "cyrillic", "ru"))
    add("caucasus:F", _parse_plain(_CAUCASUS_FEMALE, "cyrillic", "ru"))
    add("caucasus:family", _parse_plain(_CAUCASUS_FAMILY, "cyrillic", "ru"))
    observed = _load_observed([u for u in units.values() if u.system == "arabic"])
    return _Lexicon(pools=pools, units=units, observed=observed)


# Letters a clerk of these populations' files plausibly types: French, Turkish and scholarly marks.
_LATIN_NAME: Final = re.compile(r"^[a-zâçéèêëîïôûüöşğıāīūḥṣḍṭẓʿ'\- ]+$")


_ARABIC_LETTERS: Final = str.maketrans({"ی": "ي", "ک": "ك", "ۀ": "ة"})


def _observed_key(native: str) -> str:
    """Arabic-script spelling as keyed in the TSV (Persian letters mapped to Arabic ones)."""
    return native.replace(" ", "").translate(_ARABIC_LETTERS)


def _load_observed(units: Sequence[_Unit]) -> dict[str, _Table[str]]:
    """Observed Latin spellings of single-word Arabic-script names, from the Wikidata-derived TSV.

    Only spellings that look like names and resemble the most frequent one are kept: the source
    aligns tokens automatically, so ``م ح م د`` also yields oddities that no clerk would write.
    """
    wanted = {_observed_key(u.native) for u in units if " " not in u.native and u.native}
    found: dict[str, list[tuple[str, int]]] = {}
    with _DATA_FILE.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            latin, arabic, occurrences = parts
            key = _observed_key(arabic)
            if key in wanted:
                found.setdefault(key, []).append(
                    (unicodedata.normalize("NFC", latin), int(occurrences)))
    tables: dict[str, _Table[str]] = {}
    for key in sorted(found):
        spellings = sorted(found[key], key=lambda sc: (-sc[1], sc[0]))
        top = _fold(spellings[0][0])
        kept = []
        for spelling, count in spellings:
            if not _LATIN_NAME.match(spelling):
                continue
            similarity = fuzz.ratio(_fold(spelling), top)
            if similarity >= 60 and (count >= 2 or similarity >= 75):
                kept.append((spelling, float(count)))
        if kept and sum(c for _, c in kept) >= 3:
            tables[key] = _Table.of(kept)
    return tables


# --------------------------------------------------------------------------------------------------
# Spelling a unit
# --------------------------------------------------------------------------------------------------

# How often a clerk's spelling of an Arabic-script name is one observed on Wikidata rather than the
# output of the clerk's own scheme; Persian and Turkish clerks follow their own habits more.
_P_OBSERVED: Final = {"english": 0.35, "french": 0.3, "german": 0.3, "dutch": 0.3,
                      "turkish": 0.1, "persian": 0.12, "scholarly": 0.15}
_SPELLING_SAMPLES: Final = 32
_TURKISH_TO_GERMAN: Final = str.maketrans({"ü": "ue", "ö": "oe", "Ü": "Ue", "Ö": "Oe"})
_P_TURKISH_FOLD: Final = {"turkish": 0.3, "english": 0.75, "german": 0.5, "french": 0.75,
                          "scholarly": 0.2, "persian": 0.8, "dutch": 0.7}


def _spell_fresh(unit: _Unit, style: str, rng: random.Random) -> str:
    if unit.system == "arabic":
        scholarly = unit.scholarly
        if unit.key.startswith("fa:") and style != "scholarly":
            # Persian and Afghan names are spelled as pronounced there, whatever the clerk's
            # conventions: Reza and Zabihullah, not Rida and Dhabihullah.
            scholarly = re.sub("dh|ḍ|ẓ", "z", scholarly).replace("th", "s")
            scholarly = "".join(
                {"i": "e", "u": "o"}.get(ch, ch) if _chance(rng, 0.8) else ch
                for ch in scholarly)
        return _romanise_arabic(scholarly, style, rng)
    if unit.system == "cyrillic":
        if unit.native and (not unit.russian or _chance(rng, 0.78)):
            text, lang = unit.native, "uk"
        else:
            text, lang = unit.russian, "ru"
        schemes = _CYR_STYLE_SCHEMES[lang]
        scheme = (schemes.get(style) or schemes["english"]).pick(rng)
        return _romanise_cyrillic(text, lang, scheme, rng)
    if unit.system == "turkish":
        text = unit.native.lower().replace("i̇", "i")
        if style == "german" and _chance(rng, 0.4):
            return _fold(text.translate(_TURKISH_TO_GERMAN))
        return _fold(text) if _chance(rng, _P_TURKISH_FOLD[style]) else text
    return _Table.of(unit.variants).pick(rng)


@functools.cache
def _spelling_table(unit: _Unit, style: str) -> _Table[str]:
    """The distribution of spellings a clerk of ``style`` produces for ``unit``.

    Sampled once from the romaniser with a generator seeded by the unit and style only: spelling
    habits are a property of the world, not of the data set, and this keeps every seed's output
    independent of which names happened to be spelled first.
    """
    if unit.system in ("geez", "somali"):
        return _Table.of(unit.variants)
    rng = random.Random(f"linkmatch.synth|{unit.key}|{style}")
    counts = Counter(_spell_fresh(unit, style, rng) for _ in range(_SPELLING_SAMPLES))
    return _Table.of(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _spell(unit: _Unit, style: str, rng: random.Random) -> str:
    if unit.system == "arabic" and " " not in unit.native:
        observed = _lexicon().observed.get(_observed_key(unit.native))
        if observed is not None and _chance(rng, _P_OBSERVED[style]):
            return observed.pick(rng)
    return _spelling_table(unit, style).pick(rng)


_PERSIAN_LETTERS: Final = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه"})
_HAMZA_ALEF: Final = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"})


def _has_native(unit: _Unit) -> bool:
    return unit.system in ("arabic", "geez", "cyrillic") and bool(unit.native or unit.russian)


def _native(unit: _Unit, script: str, rng: random.Random) -> str:
    """The unit in its own script, with the variation of people typing it (hamza dropped, ة → ه)."""
    if unit.system == "arabic":
        text = unit.native
        if script == "persian":
            text = text.translate(_PERSIAN_LETTERS)
        elif _chance(rng, 0.15):
            text = text.replace("ة", "ه")
        if _chance(rng, 0.3):
            text = text.translate(_HAMZA_ALEF)
        return text
    if unit.system == "cyrillic":
        if unit.native and unit.russian:
            return unit.native if _chance(rng, 0.8) else unit.russian
        return unit.native or unit.russian
    return unit.native


# --------------------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Dob:
    """A birth date as documented: ``precision`` is ``full``, ``month``, ``year`` or ``none``."""

    year: int
    month: int
    day: int
    precision: str


@dataclass(frozen=True)
class _Name:
    """A name as (role, unit) parts for the given-names and family-name columns."""

    given: tuple[tuple[str, _Unit], ...]
    family: tuple[tuple[str, _Unit], ...]

    def units(self) -> list[_Unit]:
        seen: dict[str, _Unit] = {}
        for _, unit in self.given + self.family:
            seen.setdefault(unit.key, unit)
        return list(seen.values())


@dataclass(frozen=True)
class _Latent:
    """The true person behind one or more records."""

    pop: _Population
    sex: str
    given: tuple[_Unit, ...]
    father: _Unit
    grandfather: _Unit
    family: _Unit | None
    given_roles: tuple[str, ...]
    family_roles: tuple[str, ...]
    dob: _Dob
    place: _Place | None
    nationality: str
    doc: str


_LAYOUTS: Final[dict[str, tuple[_Table[tuple[str, ...]], _Table[tuple[str, ...]]]]] = {
    # system: (given-column roles, family-column roles)
    "levant": (_Table.of([(("g0",), 0.65), (("g0", "father"), 0.35)]),
               _Table.of([(("family",), 0.9), (("father", "grandfather"), 0.1)])),
    "iraq": (_Table.of([(("g0",), 1.0)]),
             _Table.of([(("father", "grandfather"), 0.35), (("family",), 0.35),
                        (("father", "grandfather", "family"), 0.2), (("father", "family"), 0.1)])),
    "yemen": (_Table.of([(("g0",), 1.0)]),
              _Table.of([(("father", "grandfather", "family"), 0.3), (("family",), 0.4),
                         (("father", "family"), 0.3)])),
    "sudan": (_Table.of([(("g0",), 0.8), (("g0", "father"), 0.2)]),
              _Table.of([(("father", "grandfather"), 0.6), (("father",), 0.4)])),
    "maghreb": (_Table.of([(("g0",), 0.75), (("g0", "g1"), 0.25)]),
                _Table.of([(("family",), 1.0)])),
    "afghan": (_Table.of([(("g0",), 0.6), (("g0", "g1"), 0.4)]),
               _Table.of([(("family",), 0.35), (("father",), 0.4), ((), 0.25)])),
    "iran": (_Table.of([(("g0",), 0.85), (("g0", "g1"), 0.15)]),
             _Table.of([(("family",), 1.0)])),
    "eritrea": (_Table.of([(("g0",), 1.0)]),
                _Table.of([(("father",), 0.6), (("father", "grandfather"), 0.4)])),
    "ethiopia": (_Table.of([(("g0",), 1.0)]),
                 _Table.of([(("father",), 0.6), (("father", "grandfather"), 0.4)])),
    "somali": (_Table.of([(("g0",), 1.0)]),
               _Table.of([(("father", "grandfather"), 0.5), (("father",), 0.35),
                          (("grandfather",), 0.15)])),
    "turkish": (_Table.of([(("g0",), 0.8), (("g0", "g1"), 0.2)]),
                _Table.of([(("family",), 1.0)])),
    "ukrainian": (_Table.of([(("g0",), 0.5), (("g0", "patronymic"), 0.5)]),
                  _Table.of([(("family",), 1.0)])),
    "russian": (_Table.of([(("g0",), 0.5), (("g0", "patronymic"), 0.5)]),
                _Table.of([(("family",), 1.0)])),
    "caucasus": (_Table.of([(("g0",), 0.5), (("g0", "patronymic"), 0.5)]),
                 _Table.of([(("family",), 1.0)])),
}
_MUSLIM_SYSTEMS: Final = frozenset({"levant", "iraq", "yemen", "sudan", "maghreb", "afghan",
                                    "somali", "caucasus"})


def _pool(pop: _Population, role: str) -> _Table[_Unit]:
    return _lexicon().pools[f"{pop.system}:{role}"]


def _has_pool(pop: _Population, role: str) -> bool:
    return f"{pop.system}:{role}" in _lexicon().pools


def _other(table: _Table[_Unit], rng: random.Random, *avoid: _Unit | None) -> _Unit:
    keys = {a.key for a in avoid if a is not None}
    for _ in range(20):
        unit = table.pick(rng)
        if unit.key not in keys:
            return unit
    return table.pick(rng)


def _given_units(pop: _Population, sex: str, roles: tuple[str, ...], rng: random.Random,
                 avoid: _Unit | None = None) -> tuple[_Unit, ...]:
    first = _other(_pool(pop, sex), rng, avoid)
    if "g1" not in roles:
        return (first,)
    second_pool = _pool(pop, "M2") if pop.system == "afghan" and sex == "M" else _pool(pop, sex)
    return (first, _other(second_pool, rng, first))


def _family_for(pop: _Population, sex: str, rng: random.Random) -> _Unit | None:
    if not _has_pool(pop, "family"):
        return None
    unit = _pool(pop, "family").pick(rng)
    return _feminine_cyrillic(unit) if sex == "F" and unit.system == "cyrillic" else unit


def _random_dob(pop: _Population, rng: random.Random, *, reference: bool) -> _Dob:
    if reference:
        age = 20 + int(rng.gammavariate(2.2, 7.0))
    elif _chance(rng, 0.12):
        age = rng.randint(10, 17)
    else:
        age = 18 + int(rng.gammavariate(1.8, 8.0))
    year = _REFERENCE_YEAR - min(age, 72)
    month = rng.randint(1, 12)
    day = rng.randint(1, _days_in_month(year, month))
    roll = rng.random()
    if roll < pop.defaulted_dob_rate:
        # Documents issued without a known birthday: 1 January (Afghan tazkira) or year only.
        return _Dob(year, 1, 1, "full") if _chance(rng, 0.7) else _Dob(year, 0, 0, "year")
    if roll < pop.defaulted_dob_rate + 0.02:
        return _Dob(year, month, 0, "month")
    if roll < pop.defaulted_dob_rate + 0.03:
        return _Dob(0, 0, 0, "none")
    return _Dob(year, month, day, "full")


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


@functools.cache
def _place_table(nationality: str) -> _Table[_Place]:
    places = _PLACES[nationality]
    # Larger cities first in each list: weight them up.
    return _Table.of((p, float(len(places) - i)) for i, p in enumerate(places))


def _random_place(pop: _Population, rng: random.Random) -> _Place | None:
    return None if _chance(rng, 0.1) else _place_table(pop.nationality).pick(rng)


def _random_doc(nationality: str, rng: random.Random) -> str:
    pattern = _DOC_PATTERNS.get(nationality, "#########")
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(str(rng.randint(0, 9)))
        elif ch == "L":
            out.append(chr(ord("A") + rng.randint(0, 25)))
        else:
            out.append(ch)
    return "".join(out)


def _new_latent(pop: _Population, rng: random.Random, *, reference: bool) -> _Latent:
    sex = "M" if _chance(rng, 0.9 if reference else 0.68) else "F"
    given_layouts, family_layouts = _LAYOUTS[pop.system]
    given_roles = given_layouts.pick(rng)
    family_roles = family_layouts.pick(rng)
    if "father" in given_roles:
        family_roles = tuple(r for r in family_roles if r != "father") or ("grandfather",)
    family = _family_for(pop, sex, rng)
    if family is None:
        family_roles = tuple(r for r in family_roles if r != "family")
    nationality = pop.nationality
    if _chance(rng, 0.03):
        nationality = rng.choice(pop.neighbours)
    father = _pool(pop, "M").pick(rng)
    return _Latent(
        pop=pop,
        sex=sex,
        given=_given_units(pop, sex, given_roles, rng),
        father=father,
        grandfather=_other(_pool(pop, "M"), rng, father),
        family=family,
        given_roles=given_roles,
        family_roles=family_roles,
        dob=_random_dob(pop, rng, reference=reference),
        place=_random_place(pop, rng),
        nationality=nationality,
        doc=_random_doc(pop.nationality, rng) if _chance(rng, pop.passport_rate) else "",
    )


def _name_of(person: _Latent) -> _Name:
    def unit(role: str) -> _Unit:
        if role == "g0":
            return person.given[0]
        if role == "g1":
            return person.given[1]
        if role == "father":
            return person.father
        if role == "grandfather":
            return person.grandfather
        if role == "patronymic":
            return _patronymic_of(person.father, person.sex)
        assert person.family is not None
        return person.family

    return _Name(given=tuple((r, unit(r)) for r in person.given_roles),
                 family=tuple((r, unit(r)) for r in person.family_roles))


# --------------------------------------------------------------------------------------------------
# Records: what one clerk writes down about one person
# --------------------------------------------------------------------------------------------------

@dataclass
class _Spec:
    """Everything needed to write one row; corruptions edit it before it is rendered."""

    pop: _Population
    side: str
    name: _Name
    spelled: dict[str, str]
    style: str
    dob: _Dob
    sex: str
    nationality: str
    place: _Place | None
    doc: str
    native_script: bool = False
    typo: bool = False
    order_swap: bool = False
    alias: bool = False
    dob_corrupted: bool = False
    typo_avoid: frozenset[str] = frozenset()

    def copy(self) -> _Spec:
        return replace(self, spelled=dict(self.spelled))

    def fill(self, rng: random.Random) -> None:
        for unit in self.name.units():
            if unit.key not in self.spelled:
                self.spelled[unit.key] = _spell(unit, self.style, rng)


def _spec_for(person: _Latent, side: str, rng: random.Random) -> _Spec:
    pop = person.pop
    style = (pop.styles_left if side == "left" else pop.styles_right).pick(rng)
    spec = _Spec(pop=pop, side=side, name=_name_of(person), spelled={}, style=style,
                 dob=person.dob, sex=person.sex, nationality=person.nationality,
                 place=person.place, doc=person.doc)
    spec.fill(rng)
    return spec


_CASE: Final = {
    "left": _t(("title", 0.72), ("upper", 0.22), ("lower", 0.03), ("family_upper", 0.03)),
    "right": _t(("title", 0.45), ("upper", 0.35), ("family_upper", 0.2)),
}
_LAYOUT: Final = {
    "left": _t(("split", 0.55), ("split_full", 0.3), ("full_only", 0.15)),
    "right": _t(("split", 0.45), ("split_full", 0.3), ("full_only", 0.25)),
}
_UNKNOWN: Final = _t(("00", 0.7), ("XX", 0.3))
_FULL_FORMATS: Final = {
    "left": _t(("{Y}-{M}-{D}", 0.4), ("{D}-{M}-{Y}", 0.2), ("{D}.{M}.{Y}", 0.2),
               ("{Y}{M}{D}", 0.2)),
    "right": _t(("{Y}-{M}-{D}", 0.65), ("{D}.{M}.{Y}", 0.1), ("{Y}{M}{D}", 0.1),
                ("{D}-{M}-{Y}", 0.15)),
}
_MONTH_FORMATS: Final = _t(("{Y}-{M}", 0.4), ("{Y}-{M}-{U}", 0.25), ("{U}-{M}-{Y}", 0.15),
                           ("{U}.{M}.{Y}", 0.1), ("{Y}{M}{U}", 0.1))
_YEAR_FORMATS: Final = _t(("{Y}", 0.5), ("{Y}-{U}-{U}", 0.2), ("{U}-{U}-{Y}", 0.1),
                          ("{U}.{U}.{Y}", 0.1), ("{Y}{U}{U}", 0.1))


@dataclass(frozen=True)
class _Noise:
    sex_missing: float
    sex_flip: float
    nationality_missing: float
    nationality_neighbour: float
    place_present: float
    place_country: float
    dob_missing: float
    ascii_only: float


_NOISE: Final = {
    "left": _Noise(0.01, 0.003, 0.05, 0.02, 0.7, 0.06, 0.015, 0.25),
    "right": _Noise(0.08, 0.003, 0.12, 0.03, 0.45, 0.1, 0.02, 0.0),
    "alias": _Noise(0.15, 0.003, 0.3, 0.03, 0.15, 0.1, 0.05, 0.0),
}


def _format_dob(dob: _Dob, side: str, rng: random.Random) -> str:
    if dob.precision == "none":
        return ""
    if dob.precision == "full":
        template = _FULL_FORMATS["left" if side == "left" else "right"].pick(rng)
    elif dob.precision == "month":
        template = _MONTH_FORMATS.pick(rng)
    else:
        template = _YEAR_FORMATS.pick(rng)
    return template.format(Y=f"{dob.year:04d}", M=f"{dob.month:02d}", D=f"{dob.day:02d}",
                           U=_UNKNOWN.pick(rng))


_ARTICLE_TITLE: Final = re.compile(r"\b(Al|El|Ad|Ar|As|At|Az|Ash|Ed|Er|Es|Et)-")


def _title(text: str, rng: random.Random) -> str:
    out = []
    capital = True
    for ch in text:
        if capital and ch.isalpha() and ch.lower() != ch.upper():
            out.append(ch.upper())
            capital = False
        else:
            out.append(ch)
            if ch in " -/":
                capital = True
            elif ch.isalpha() and ch.lower() != ch.upper():
                capital = False
    result = "".join(out)
    if _chance(rng, 0.5):
        result = _ARTICLE_TITLE.sub(lambda m: m.group(1).lower() + "-", result)
    return result


_KEYBOARD: Final = {
    c: n for c, n in zip(
        "qwertyuiopasdfghjklzxcvbnm",
        ["wa", "qeas", "wrds", "etfd", "rygf", "tuhg", "yijh", "uokj", "iplk", "ol", "qszw",
         "awedxz", "serfcx", "drtgvc", "ftyhbv", "gyujnb", "huikmn", "jiolm", "kop", "asx",
         "zsdc", "xdfv", "cfgb", "vghn", "bhjm", "njk"], strict=True)
}
_SCRIPT_LETTERS: Final = {
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "cyrillic": "абвгдежзийклмнопрстуфхцчшщыьэюяіїє",
    "geez": "ሀለሐመረሰሸቀበተቸነአከወዐዘየደገጠጸፈፐሁሉሙሩሱቡቱኑኡኩዉዙዩዱጉ",
}


def _script_of(text: str) -> str:
    for ch in text:
        if "\u0600" <= ch <= "\u06ff":
            return "arabic"
        if "\u0400" <= ch <= "\u04ff":
            return "cyrillic"
        if "\u1200" <= ch <= "\u137f":
            return "geez"
    return "latin"


def _typo(token: str, rng: random.Random, avoid: frozenset[str] = frozenset()) -> str:
    """One keyboard slip: substitute (often a neighbouring key), delete, insert or transpose.

    ``avoid`` holds the other record's name parts: a slip that happens to restore them (Esmail
    mistyped back into Ismail) would leave a labelled typo invisible.
    """
    script = _script_of(token)
    for _ in range(10):
        if len(token) < 3:
            return token + token[-1:]
        pos = rng.randint(1, len(token) - 1) if _chance(rng, 0.85) else 0
        ch = token[pos]
        op = _t(("sub", 0.35), ("del", 0.25), ("ins", 0.2), ("swap", 0.2)).pick(rng)
        if script == "latin":
            lower = ch.lower()
            pool = _KEYBOARD.get(lower) if _chance(rng, 0.7) else None
            new = rng.choice(pool or "abcdefghijklmnopqrstuvwxyz")
            new = new.upper() if ch.isupper() else new
        else:
            new = rng.choice(_SCRIPT_LETTERS[script])
        if op == "sub":
            result = token[:pos] + new + token[pos + 1:]
        elif op == "del":
            result = token[:pos] + token[pos + 1:]
        elif op == "ins":
            result = token[:pos] + new + token[pos:]
        else:
            pos = min(pos, len(token) - 2)
            result = token[:pos] + token[pos + 1] + token[pos] + token[pos + 2:]
        visible = _visible(result) != _visible(token) and _visible(result) not in avoid
        if visible and result.strip() and " " not in (result[0], result[-1]):
            return result
    return token + token[-1]


def _render(spec: _Spec, rng: random.Random) -> dict[str, str]:
    """Write one row of the person schema from ``spec``, adding unlabelled clerk noise."""
    noise = _NOISE["alias" if spec.alias else spec.side]
    script = spec.pop.script
    native_cache: dict[str, str] = {}

    def text(unit: _Unit) -> str:
        if spec.native_script and _has_native(unit):
            if unit.key not in native_cache:
                native_cache[unit.key] = _native(unit, script, rng)
            return native_cache[unit.key]
        return spec.spelled[unit.key]

    given_tokens = [text(u) for _, u in spec.name.given]
    family_tokens = [text(u) for _, u in spec.name.family]
    if not spec.native_script or script == "cyrillic":
        if not spec.native_script and _chance(rng, noise.ascii_only):
            given_tokens = [_fold(t) for t in given_tokens]
            family_tokens = [_fold(t) for t in family_tokens]
        case = _CASE["left" if spec.side == "left" else "right"].pick(rng)
        if case == "upper":
            given_tokens = [t.upper() for t in given_tokens]
            family_tokens = [t.upper() for t in family_tokens]
        elif case == "lower":
            given_tokens = [t.lower() for t in given_tokens]
            family_tokens = [t.lower() for t in family_tokens]
        else:
            given_tokens = [_title(t, rng) for t in given_tokens]
            family_tokens = [(t.upper() if case == "family_upper" else _title(t, rng))
                             for t in family_tokens]
    if spec.typo:
        tokens = given_tokens + family_tokens
        candidates = [i for i, t in enumerate(tokens) if len(t) >= 3] or list(range(len(tokens)))
        i = rng.choice(candidates)
        parts = tokens[i].split(" ")
        j = max(range(len(parts)), key=lambda k: (len(parts[k]), -k)) if _chance(rng, 0.5) else (
            rng.randrange(len(parts)))
        parts[j] = _typo(parts[j], rng, spec.typo_avoid)
        tokens[i] = " ".join(parts)
        given_tokens, family_tokens = tokens[:len(given_tokens)], tokens[len(given_tokens):]
    given = " ".join(t for t in given_tokens if t)
    family = " ".join(t for t in family_tokens if t)
    if spec.order_swap:
        given, family = family, given
    layout = _LAYOUT["left" if spec.side == "left" else "right"].pick(rng)
    full = ""
    if layout == "split_full":
        full = f"{given} {family}".strip()
    elif layout == "full_only":
        if spec.side == "right" and family and _chance(rng, 0.3):
            full = f"{family}, {given}"
        else:
            full = f"{given} {family}".strip()
        given = family = ""

    dob_missing = not spec.dob_corrupted and _chance(rng, noise.dob_missing)
    dob = "" if dob_missing else _format_dob(spec.dob, spec.side, rng)
    sex = spec.sex
    if _chance(rng, noise.sex_missing):
        sex = ""
    elif _chance(rng, noise.sex_flip):
        sex = "F" if sex == "M" else "M"
    elif spec.side == "left" and _chance(rng, 0.001):
        sex = "X"
    nationality = spec.nationality
    if _chance(rng, noise.nationality_missing):
        nationality = ""
    elif _chance(rng, noise.nationality_neighbour):
        nationality = rng.choice(spec.pop.neighbours)
    place = ""
    if spec.place is not None and _chance(rng, noise.place_present):
        if _chance(rng, noise.place_country):
            place = rng.choice(_COUNTRY_NAMES[spec.pop.nationality])
        else:
            place = spec.place.spellings.pick(rng)
            if _chance(rng, 0.2):
                place = place.upper()
    return {
        "given_names": given,
        "family_name": family,
        "full_name": full,
        "date_of_birth": dob,
        "sex": sex,
        "nationality": nationality,
        "place_of_birth": place,
        "document_number": spec.doc,
    }


# --------------------------------------------------------------------------------------------------
# Corruptions between the two records of a true pair
# --------------------------------------------------------------------------------------------------

_CORRUPTION_WEIGHTS: Final = {
    "transliteration": 3.0, "missing_part": 1.6, "default_date": 1.5, "typo": 1.3,
    "year_off": 1.1, "order_swap": 1.1, "other_script": 1.5, "swapped_date": 2.4,
}
_CORRUPTION_COUNT: Final = _Table.of([(0, 0.12), (1, 0.33), (2, 0.33), (3, 0.22)])
# How many corruptions a true pair carries, per difficulty profile. "hard" (the default) stacks
# two or three differences on most pairs: a stress test. "typical" is closer to two registrations
# of one person by different agencies: most pairs differ in at most one respect.
_CORRUPTION_PROFILES: Final = {
    "hard": _CORRUPTION_COUNT,
    "typical": _Table.of([(0, 0.40), (1, 0.35), (2, 0.18), (3, 0.07)]),
}
PROFILES: Final = tuple(_CORRUPTION_PROFILES)
# Probability that a corruption lands on the reference record instead of the asylum record (only
# when the reference person has a single asylum record, so one label describes every pair).
_RIGHT_SIDE: Final = {"default_date": 0.4, "year_off": 0.3, "other_script": 0.35,
                      "missing_part": 0.25, "order_swap": 0.3, "typo": 0.2}
_EXCLUSIVE: Final = frozenset({frozenset({"swapped_date", "default_date"}),
                               frozenset({"transliteration", "other_script"})})
_DATE_CORRUPTIONS: Final = frozenset({"default_date", "swapped_date", "year_off"})
_ALIAS_SHARE: Final = 0.3
_ALIAS_CORRUPTION_SHARE: Final = 0.45


def _transliterate(spec: _Spec, rng: random.Random) -> bool:
    """Re-spell one, two or all name units as another clerk would."""
    units = spec.name.units()
    if spec.native_script or not units:
        return False
    how_many = _t(("1", 0.55), ("2", 0.3), ("all", 0.15)).pick(rng)
    count = len(units) if how_many == "all" else min(int(how_many), len(units))
    order = rng.sample(units, len(units))
    changed = 0
    for unit in order:
        if changed >= count:
            break
        current = _visible(spec.spelled[unit.key])
        for _ in range(12):
            style = spec.pop.styles_left.pick(rng) if _chance(rng, 0.6) else rng.choice(_STYLES)
            candidate = _spell(unit, style, rng)
            if _visible(candidate) != current:
                spec.spelled[unit.key] = candidate
                changed += 1
                break
    return changed > 0


def _drop_part(spec: _Spec, rng: random.Random) -> bool:
    """Drop a father's, grandfather's, second or patronymic name, or the whole family name."""
    name = spec.name
    options: list[tuple[tuple[str, int], float]] = []
    options += [(("given", i), 1.0) for i in range(1, len(name.given))]
    if len(name.family) >= 2:
        options += [(("family", i), 1.0) for i in range(len(name.family))]
    if name.family and name.given:
        options.append((("family_all", 0), 0.6))
    if not options:
        return False
    column, index = _Table.of(options).pick(rng)
    if column == "given":
        spec.name = _Name(name.given[:index] + name.given[index + 1:], name.family)
    elif column == "family":
        spec.name = _Name(name.given, name.family[:index] + name.family[index + 1:])
    else:
        spec.name = _Name(name.given, ())
    return True


def _default_date(spec: _Spec, rng: random.Random) -> bool:
    dob = spec.dob
    if dob.precision != "full" or (dob.month, dob.day) == (1, 1):
        return False
    kind = _t(("jan1", 0.4), ("year", 0.4), ("month", 0.2)).pick(rng)
    if kind == "jan1":
        spec.dob = _Dob(dob.year, 1, 1, "full")
    elif kind == "year":
        spec.dob = _Dob(dob.year, 0, 0, "year")
    else:
        spec.dob = _Dob(dob.year, dob.month, 0, "month")
    return True


def _swap_date(spec: _Spec, rng: random.Random) -> bool:
    dob = spec.dob
    if dob.precision != "full" or dob.day > 12 or dob.day == dob.month:
        return False
    spec.dob = _Dob(dob.year, dob.day, dob.month, "full")
    return True


def _year_off(spec: _Spec, rng: random.Random) -> bool:
    dob = spec.dob
    if dob.precision == "none":
        return False
    kind = _t(("1", 0.55), ("2", 0.2), ("digit", 0.15), ("transpose", 0.1)).pick(rng)
    year = dob.year
    if kind == "1":
        year += rng.choice((-1, 1))
    elif kind == "2":
        year += rng.choice((-2, 2))
    elif kind == "digit":
        digits = list(f"{year:04d}")
        pos = rng.choice((2, 3))
        digits[pos] = rng.choice([d for d in "0123456789" if d != digits[pos]])
        year = int("".join(digits))
    else:
        text = f"{year:04d}"
        year = int(text[:2] + text[3] + text[2])
    if year == dob.year or not 1930 <= year <= _REFERENCE_YEAR:
        year = dob.year + rng.choice((-1, 1))
    day = min(dob.day, _days_in_month(year, dob.month)) if dob.precision == "full" else dob.day
    spec.dob = _Dob(year, dob.month, day, dob.precision)
    return True


def _to_other_script(spec: _Spec, rng: random.Random) -> bool:
    units = spec.name.units()
    if spec.pop.script == "latin" or not units or not all(_has_native(u) for u in units):
        return False
    spec.native_script = True
    return True


def _set_typo(spec: _Spec, rng: random.Random) -> bool:
    if spec.typo or not spec.name.units():
        return False
    spec.typo = True
    return True


def _set_order_swap(spec: _Spec, rng: random.Random) -> bool:
    if spec.order_swap or not spec.name.given or not spec.name.family:
        return False
    spec.order_swap = True
    return True


_APPLY: Final[dict[str, Callable[[_Spec, random.Random], bool]]] = {
    "transliteration": _transliterate,
    "typo": _set_typo,
    "order_swap": _set_order_swap,
    "missing_part": _drop_part,
    "default_date": _default_date,
    "swapped_date": _swap_date,
    "year_off": _year_off,
    "other_script": _to_other_script,
}


def _corrupt(left: _Spec, right: _Spec, labels: list[str], wanted: int, right_ok: bool,
             rng: random.Random) -> None:
    """Apply up to ``wanted`` more corruption types to the pair, appending their labels."""
    for kind in _weighted_order(rng, _CORRUPTION_WEIGHTS):
        if len(labels) >= wanted:
            break
        # Keep every label visible: a swapped day/month vanishes behind a defaulted date, and a
        # re-spelling vanishes when one side is written in another script.
        if any(frozenset((kind, done)) in _EXCLUSIVE for done in labels):
            continue
        use_right = right_ok and kind in _RIGHT_SIDE and _chance(rng, _RIGHT_SIDE[kind])
        target = right if use_right else left
        if _APPLY[kind](target, rng):
            labels.append(kind)
            if kind in _DATE_CORRUPTIONS:
                target.dob_corrupted = True
    left.typo_avoid = frozenset(p for v in right.spelled.values() for p in _visible(v).split())
    right.typo_avoid = frozenset(p for v in left.spelled.values() for p in _visible(v).split())


# --------------------------------------------------------------------------------------------------
# Aliases of reference persons
# --------------------------------------------------------------------------------------------------

def _alias_spec(kind: str, person: _Latent, base: _Spec, rng: random.Random) -> _Spec | None:
    """Another row for the same reference person: a.k.a. spelling, kunya, other name, own script."""
    spec = replace(base.copy(), typo=False, order_swap=False, native_script=False, doc="",
                   alias=True)
    pop = person.pop
    name = base.name
    if kind == "spelling":
        style = rng.choice([s for s in _STYLES if s != base.style])
        spec.style = style
        spec.spelled = {}
        spec.fill(rng)
        if all(_visible(spec.spelled[k]) == _visible(v)
               for k, v in base.spelled.items() if k in spec.spelled):
            return None
    elif kind == "kunya":
        if pop.system not in _MUSLIM_SYSTEMS:
            return None
        lex = _lexicon()
        kunya = lex.pools["kunya"].pick(rng)
        family: tuple[tuple[str, _Unit], ...] = ()
        if _chance(rng, 0.65):
            family = (("family", lex.pools["nisba"].pick(rng)),)
        spec.name = _Name((("g0", kunya),), family)
        spec.style = pop.styles_right.pick(rng)
        spec.spelled = {}
        spec.fill(rng)
    elif kind == "family":
        if not name.family:
            return None
        roles = [r for r, _ in name.family]
        if "family" in roles and _has_pool(pop, "family"):
            old = dict(name.family)["family"]
            new = _other(_pool(pop, "family"), rng, old)
            if person.sex == "F" and new.system == "cyrillic":
                new = _feminine_cyrillic(new)
            target = "family"
        else:
            target = roles[0]
            new = _other(_pool(pop, "M"), rng, dict(name.family)[target])
        spec.name = _Name(name.given, tuple((r, new if r == target else u)
                                            for r, u in name.family))
        spec.fill(rng)
    elif kind == "given":
        if not name.given:
            return None
        new_given = _other(_pool(pop, person.sex), rng, name.given[0][1])
        spec.name = _Name((("g0", new_given), *name.given[1:]), name.family)
        spec.fill(rng)
    elif kind == "native" and not _to_other_script(spec, rng):
        return None
    if _chance(rng, 0.25) and spec.dob.precision != "none":
        # Reference lists often carry an alternative date of birth with an alias.
        if _chance(rng, 0.6):
            year = spec.dob.year + rng.choice((-2, -1, 1, 2))
            day = min(spec.dob.day, _days_in_month(year, max(spec.dob.month, 1)))
            spec.dob = replace(spec.dob, year=year, day=day)
        else:
            spec.dob = _Dob(spec.dob.year, 0, 0, "year")
    return spec


_PRIMARY_KINDS: Final = {"kunya": 0.35, "family": 0.35, "given": 0.2, "spelling": 0.1}
_ALIAS_KINDS: Final = {"spelling": 0.35, "kunya": 0.2, "family": 0.2, "given": 0.1, "native": 0.15}


def _aliases(person: _Latent, base: _Spec, count: int, kinds: dict[str, float],
             rng: random.Random) -> list[_Spec]:
    out: list[_Spec] = []
    for _ in range(count):
        for kind in _weighted_order(rng, kinds):
            spec = _alias_spec(kind, person, base, rng)
            if spec is not None:
                out.append(spec)
                break
    return out


# --------------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------------

_SIBLING_SHARE: Final = 0.2
_NAMESAKE_SHARE: Final = 0.2
_REPEAT_SHARE: Final = 0.05
_NATIVE_LEFT_SHARE: Final = 0.015


def _sibling(person: _Latent, rng: random.Random) -> _Latent:
    """A brother or sister: same father, grandfather, family and birthplace; born years apart."""
    sex = person.sex if _chance(rng, 0.6) else ("F" if person.sex == "M" else "M")
    given = _given_units(person.pop, sex, person.given_roles, rng, avoid=person.given[0])
    family = person.family
    if family is not None and family.system == "cyrillic" and sex != person.sex:
        base = _lexicon().units.get(family.key.removesuffix(":f"), family)
        family = _feminine_cyrillic(base) if sex == "F" else base
    if _chance(rng, 0.04) and person.dob.precision != "none":
        dob = person.dob  # a twin: only the given name tells them apart
    else:
        gap = rng.choice((-1, 1)) * rng.randint(1, 8)
        year = person.dob.year + gap if person.dob.precision != "none" else (
            _random_dob(person.pop, rng, reference=False).year)
        month = rng.randint(1, 12)
        dob = _Dob(year, month, rng.randint(1, _days_in_month(year, month)), "full")
        if person.dob.precision != "full" or (person.dob.month, person.dob.day) == (1, 1):
            dob = replace(person.dob, year=year)  # the same document habits for the whole family
    return replace(person, sex=sex, given=given, family=family, dob=dob,
                   doc=_random_doc(person.pop.nationality, rng) if person.doc else "")


def _namesake(person: _Latent, rng: random.Random) -> _Latent:
    """Someone else with the same full name, born years apart, often elsewhere."""
    fresh = _random_dob(person.pop, rng, reference=False)
    base_year = person.dob.year if person.dob.precision != "none" else fresh.year
    year = base_year + rng.choice((-1, 1)) * rng.randint(3, 25)
    year = min(max(year, 1950), _REFERENCE_YEAR - 16)
    if abs(year - base_year) < 3:
        year = base_year - rng.randint(3, 15)
    dob = replace(fresh, year=year) if fresh.precision != "none" else fresh
    if dob.precision == "full":
        dob = replace(dob, day=min(dob.day, _days_in_month(year, dob.month)))
    return replace(person, dob=dob, place=_random_place(person.pop, rng),
                   doc=_random_doc(person.pop.nationality, rng) if _chance(rng, 0.3) else "")


RELATIVE_KINDS: Final = ("sibling", "twin", "child", "parent", "spouse")
"""Relatives of a listed person that :func:`generate` can place in the asylum file."""

_RELATIVE_MIX: Final = _t(("sibling", 0.4), ("twin", 0.08), ("child", 0.22), ("parent", 0.12),
                          ("spouse", 0.18))
_SHARED_FAMILY_NAME_SYSTEMS: Final = frozenset({"turkish", "iran", "ukrainian", "russian",
                                                 "caucasus", "maghreb"})
"""Naming systems in which a wife carries her husband's family name."""


def _gendered_family(family: _Unit | None, sex: str) -> _Unit | None:
    """The family name a person of ``sex`` carries (Slavic surnames are gendered)."""
    if family is None or family.system != "cyrillic":
        return family
    base = _lexicon().units.get(family.key.removesuffix(":f"), family)
    return _feminine_cyrillic(base) if sex == "F" else base


def _family_dob(person: _Latent, year: int, rng: random.Random) -> _Dob:
    """A relative's date of birth in ``year``, written with the family's document habits.

    A family registered together often has every date defaulted the same way: the listed
    person's year-only or 1 January date makes the relative's one too, and a family with full
    dates still gets the shared 1 January now and then.
    """
    year = min(max(year, 1930), _REFERENCE_YEAR)
    if person.dob.precision in ("year", "month", "none"):
        return replace(person.dob, year=year) if person.dob.precision != "none" else person.dob
    if (person.dob.month, person.dob.day) == (1, 1) or _chance(rng, 0.1):
        return _Dob(year, 1, 1, "full")
    month = rng.randint(1, 12)
    return _Dob(year, month, rng.randint(1, _days_in_month(year, month)), "full")


def _relative(person: _Latent, kind: str, rng: random.Random) -> _Latent:
    """A relative of a listed person, as the asylum procedure records families arriving together.

    Siblings and twins share father, grandfather, family name and birthplace (a twin also the
    date of birth); a child's second name is the person's own first name (patronymic chains)
    and its third the person's father's; a parent is the person's father (or mother) one
    generation up; a spouse shares the family name where the naming system passes it on.
    """
    pop = person.pop
    if kind in ("sibling", "twin"):
        sex = rng.choice("MF")
        given = _given_units(pop, sex, person.given_roles, rng, avoid=person.given[0])
        if kind == "twin" and person.dob.precision != "none":
            dob = person.dob
        else:
            base = person.dob.year if person.dob.precision != "none" else \
                _random_dob(pop, rng, reference=False).year
            dob = _family_dob(person, base + rng.choice((-1, 1)) * rng.randint(1, 9), rng)
        return replace(person, sex=sex, given=given, dob=dob,
                       family=_gendered_family(person.family, sex),
                       doc=_random_doc(pop.nationality, rng) if person.doc else "")
    base = person.dob.year if person.dob.precision != "none" else \
        _random_dob(pop, rng, reference=True).year
    if kind == "child":
        sex = rng.choice("MF")
        father, grandfather = (person.given[0], person.father) if person.sex == "M" else (
            _pool(pop, "M").pick(rng), _pool(pop, "M").pick(rng))
        family = person.family if person.sex == "M" else _family_for(pop, sex, rng)
        return replace(person, sex=sex, given=_given_units(pop, sex, person.given_roles, rng),
                       father=father, grandfather=grandfather,
                       family=_gendered_family(family, sex),
                       dob=_family_dob(person, base + rng.randint(18, 38), rng),
                       place=person.place if _chance(rng, 0.6) else _random_place(pop, rng),
                       doc="")
    if kind == "parent":
        sex = rng.choice("MF")
        if sex == "M":
            given = (person.father, *_given_units(pop, sex, person.given_roles, rng)[1:])
            father, grandfather = person.grandfather, _pool(pop, "M").pick(rng)
        else:
            given = _given_units(pop, sex, person.given_roles, rng)
            father, grandfather = _pool(pop, "M").pick(rng), _pool(pop, "M").pick(rng)
        family = person.family if sex == "M" or pop.system in _SHARED_FAMILY_NAME_SYSTEMS \
            else _family_for(pop, sex, rng)
        return replace(person, sex=sex, given=given, father=father, grandfather=grandfather,
                       family=_gendered_family(family, sex),
                       dob=_family_dob(person, base - rng.randint(18, 40), rng),
                       doc=_random_doc(pop.nationality, rng) if person.doc else "")
    if kind == "spouse":
        sex = "F" if person.sex == "M" else "M"
        family = person.family if pop.system in _SHARED_FAMILY_NAME_SYSTEMS else \
            _family_for(pop, sex, rng)
        father = _pool(pop, "M").pick(rng)
        return replace(person, sex=sex, given=_given_units(pop, sex, person.given_roles, rng),
                       father=father, grandfather=_other(_pool(pop, "M"), rng, father),
                       family=_gendered_family(family, sex),
                       dob=_family_dob(person, base + rng.randint(-8, 8), rng),
                       place=_random_place(pop, rng),
                       doc=_random_doc(pop.nationality, rng) if person.doc else "")
    raise ConfigError(f"unknown relative kind {kind!r}")


def _relative_spec(relative: _Latent, base: _Spec, rng: random.Random) -> _Spec:
    """A relative's asylum record; the family's shared names are often spelled alike by the
    office that registered the family together."""
    spec = _spec_for(relative, "left", rng)
    if _chance(rng, 0.7):
        own = {u.key for u in relative.given}
        spec.spelled.update({k: v for k, v in base.spelled.items()
                             if k in spec.spelled and k not in own})
    _show_doc(spec, "left", rng)
    return spec


def _poisson(mean: float, rng: random.Random) -> int:
    """A Poisson draw (Knuth's method: means here are small)."""
    limit, count, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _show_doc(spec: _Spec, side: str, rng: random.Random) -> None:
    if spec.doc and not _chance(rng, 0.55 if side == "left" else 0.2):
        spec.doc = ""


def _pair_doc(left: _Spec, right: _Spec, rng: random.Random) -> None:
    """Document numbers of a true pair: rarely both shown; then mostly equal, else renewed/typo."""
    if not (left.doc and right.doc):
        return
    roll = rng.random()
    if roll < 0.15:
        left.doc = _random_doc(left.pop.nationality, rng)
    elif roll < 0.25:
        pos = rng.randrange(len(left.doc))
        digits = [d for d in "0123456789" if d != left.doc[pos]]
        left.doc = left.doc[:pos] + rng.choice(digits) + left.doc[pos + 1:]


def _frame(rows: list[dict[str, str]], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    return frame.fillna("").astype(str).reset_index(drop=True)


def generate(*, seed: int = 0, n_left: int = 20_000, n_right: int = 2_000,
             match_fraction: float = 0.5, profile: str = "hard",
             relatives_per_match: float = 0.0) -> SynthData:
    """Generate an asylum-like file, a reference list with aliases, and the ground truth.

    Args:
        seed: Same seed, same frames (in any process).
        n_left: Number of asylum records (rows of ``left``).
        n_right: Number of reference *persons*; ``right`` has more rows because ~30 % of persons
            carry 1–3 alias rows.
        match_fraction: Share of reference persons who also appear in the asylum file (once, or
            as two records of a repeat applicant). Capped by ``n_left``.
        profile: How many corruptions a true pair carries: "hard" (default: 12/33/33/22 % of
            pairs with 0/1/2/3) or "typical" (40/35/18/7 %). Everything else is the same.
        relatives_per_match: Mean number of relatives (:data:`RELATIVE_KINDS`: siblings, twins,
            children, parents, spouses) of each matched listed person who arrive with him and
            sit in the asylum file, each listed in ``hard_negatives`` with its kind; they take
            the place of unrelated asylum records (the file keeps ``n_left`` rows). With them,
            a few listed persons also have a sibling on the list. 0 (default) adds none and
            leaves every other record as it was.

    Returns:
        The frames; see :class:`SynthData`.

    Raises:
        ConfigError: A size is negative, ``match_fraction`` is outside [0, 1] or the profile
            is unknown.
    """
    problems = []
    if profile not in _CORRUPTION_PROFILES:
        problems.append(f"profile must be one of {list(PROFILES)}")
    corruption_count = _CORRUPTION_PROFILES.get(profile, _CORRUPTION_COUNT)
    if isinstance(n_left, bool) or not isinstance(n_left, int) or n_left < 0:
        problems.append("n_left must be a non-negative integer")
    if isinstance(n_right, bool) or not isinstance(n_right, int) or n_right < 0:
        problems.append("n_right must be a non-negative integer")
    if not 0.0 <= match_fraction <= 1.0:
        problems.append("match_fraction must be within [0, 1]")
    if not 0.0 <= relatives_per_match <= 100.0:
        problems.append("relatives_per_match must be within [0, 100]")
    if problems:
        raise ConfigError("; ".join(problems))

    rng = random.Random(seed)
    pops = _POPULATIONS
    refs = [_new_latent(pops[_RIGHT_MIX.pick(rng)], rng, reference=True) for _ in range(n_right)]
    n_match = min(round(match_fraction * n_right), n_left)
    matched = sorted(rng.sample(range(n_right), n_match))
    budget = n_left - n_match
    n_repeat = min(round(_REPEAT_SHARE * n_match), budget)
    repeats = set(rng.sample(matched, n_repeat))
    budget -= n_repeat
    n_sibling = min(round(_SIBLING_SHARE * n_right), budget // 3) if n_right else 0
    n_namesake = min(round(_NAMESAKE_SHARE * n_right), budget // 3) if n_right else 0
    n_random = budget - n_sibling - n_namesake
    matched_set = set(matched)

    left_specs: list[_Spec] = []
    right_specs: list[tuple[int, _Spec]] = []
    truth: list[tuple[int, int, str]] = []
    hard: list[tuple[int, int, str]] = []
    bases: list[_Spec] = []

    for index, person in enumerate(refs):
        records = (2 if index in repeats else 1) if index in matched_set else 0
        alias_count = 0
        if _chance(rng, _ALIAS_SHARE):
            alias_count = 1 + int(_chance(rng, 0.35)) + int(_chance(rng, 0.15))
        alias_pair = records > 0 and alias_count > 0 and _chance(rng, _ALIAS_CORRUPTION_SHARE)
        base = _spec_for(person, "right", rng)
        bases.append(base)
        truth_row = base.copy()
        _show_doc(truth_row, "right", rng)
        any_native_left = False
        for _ in range(records):
            left = replace(base.copy(), side="left", style=person.pop.styles_left.pick(rng),
                           doc=person.doc)
            _show_doc(left, "left", rng)
            labels = ["alias"] if alias_pair else []
            wanted = max(corruption_count.pick(rng), len(labels))
            _corrupt(left, truth_row, labels, wanted, records == 1, rng)
            any_native_left = any_native_left or left.native_script
            _pair_doc(left, truth_row, rng)
            left_specs.append(left)
            truth.append((len(left_specs) - 1, index, ";".join(sorted(labels))))
        alias_kinds = dict(_ALIAS_KINDS)
        if any_native_left or truth_row.native_script:
            alias_kinds.pop("native")
        if alias_pair:
            primaries = _aliases(person, base, 1, _PRIMARY_KINDS, rng)
            others = _aliases(person, base, alias_count - 1, alias_kinds, rng)
            rows = [*primaries, replace(truth_row, alias=True), *others]
        else:
            rows = [truth_row, *_aliases(person, base, alias_count, alias_kinds, rng)]
        right_specs.extend((index, spec) for spec in rows)

    if n_right:
        for index in rng.sample(range(n_right), n_sibling) if n_sibling <= n_right else [
                rng.randrange(n_right) for _ in range(n_sibling)]:
            sibling = _sibling(refs[index], rng)
            spec = _spec_for(sibling, "left", rng)
            if _chance(rng, 0.7):  # a family's name is usually spelled alike by one office
                spec.spelled.update({k: v for k, v in bases[index].spelled.items()
                                     if k in spec.spelled and k not in
                                     {u.key for u in sibling.given}})
            _show_doc(spec, "left", rng)
            left_specs.append(spec)
            hard.append((len(left_specs) - 1, index, "sibling"))
        popularity = _Table.of((i, refs[i].given[0].weight) for i in range(n_right))
        for _ in range(n_namesake):
            index = popularity.pick(rng)
            namesake = _namesake(refs[index], rng)
            spec = _spec_for(namesake, "left", rng)
            if _chance(rng, 0.6):
                spec.spelled.update(bases[index].spelled)
            _show_doc(spec, "left", rng)
            left_specs.append(spec)
            hard.append((len(left_specs) - 1, index, "namesake"))
    if relatives_per_match > 0:
        # households that arrive together: relatives of matched listed persons, in place of
        # unrelated records; and a few listed persons with a listed sibling
        family_rng = random.Random(f"{seed}:relatives")
        for index in matched:
            for _ in range(_poisson(relatives_per_match, family_rng)):
                if n_random <= 0:
                    break
                kind = _RELATIVE_MIX.pick(family_rng)
                relative = _relative(refs[index], kind, family_rng)
                left_specs.append(_relative_spec(relative, bases[index], family_rng))
                hard.append((len(left_specs) - 1, index, kind))
                n_random -= 1
        related = {ri for _, ri, _ in hard}  # keep the siblings and namesakes drawn above true
        unmatched = [i for i in range(n_right) if i not in matched_set and i not in related]
        for index in family_rng.sample(unmatched, min(len(unmatched), n_match // 10)):
            brother = family_rng.choice(matched)
            refs[index] = replace(_relative(refs[brother], "sibling", family_rng),
                                  given_roles=refs[index].given_roles
                                  if len(refs[index].given) == len(refs[brother].given)
                                  else refs[brother].given_roles)
            spec = _spec_for(refs[index], "right", family_rng)
            right_specs[:] = [(i, sp) for i, sp in right_specs if i != index]
            right_specs.append((index, spec))
            for li, _, _ in [t for t in truth if t[1] == brother]:
                hard.append((li, index, "listed_sibling"))
    for _ in range(n_random):
        person = _new_latent(pops[_LEFT_MIX.pick(rng)], rng, reference=False)
        spec = _spec_for(person, "left", rng)
        if _chance(rng, _NATIVE_LEFT_SHARE):
            _to_other_script(spec, rng)  # copied from a document as written there
        _show_doc(spec, "left", rng)
        left_specs.append(spec)

    left_ids = [f"A{i:07d}" for i in range(1, len(left_specs) + 1)]
    rng.shuffle(left_ids)
    right_ids = [f"R{i:06d}" for i in range(1, n_right + 1)]
    rng.shuffle(right_ids)

    left_rows = [{"record_id": left_ids[i], **_render(spec, rng)}
                 for i, spec in enumerate(left_specs)]
    rng.shuffle(left_rows)
    rows_by_person: list[list[dict[str, str]]] = [[] for _ in range(n_right)]
    for index, spec in right_specs:
        rows_by_person[index].append({"record_id": right_ids[index], **_render(spec, rng)})
    # Persons in random order; a person's rows stay together with the main entry first, as in
    # published lists, so "matched via an alias row" means "not via the first row of the id".
    rng.shuffle(rows_by_person)
    right_rows = [row for rows in rows_by_person for row in rows]

    truth_rows = sorted(({"left_id": left_ids[li], "right_id": right_ids[ri], "corruption": c}
                         for li, ri, c in truth), key=lambda r: (r["left_id"], r["right_id"]))
    hard_rows = sorted(({"left_id": left_ids[li], "right_id": right_ids[ri], "kind": k}
                        for li, ri, k in hard), key=lambda r: (r["left_id"], r["right_id"]))
    return SynthData(
        left=_frame(left_rows, PERSON_COLUMNS),
        right=_frame(right_rows, PERSON_COLUMNS),
        truth=_frame(truth_rows, _TRUTH_COLUMNS),
        hard_negatives=_frame(hard_rows, _HARD_NEGATIVE_COLUMNS),
    )


def write(data: SynthData, out_dir: Path) -> dict[str, Path]:
    """Write the four frames as UTF-8 CSV files into ``out_dir`` (created if needed), atomically.

    Each file is written to a temporary file beside it and renamed into place, so a reader never
    sees a half-written file and an interrupted run leaves the previous files intact.

    Returns:
        ``{"left": …/left.csv, "right": …/right.csv, "truth": …/truth.csv,
        "hard_negatives": …/hard_negatives.csv}``. Read them back with
        ``pd.read_csv(path, dtype=str, keep_default_na=False)`` to get equal frames.
    """
    from linkmatch.io import atomic_text  # the project's atomic write: temp file, fsync, rename

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {"left": data.left, "right": data.right, "truth": data.truth,
              "hard_negatives": data.hard_negatives}
    paths: dict[str, Path] = {}
    for name, frame in frames.items():
        path = out_dir / f"{name}.csv"
        with atomic_text(path) as handle:
            frame.to_csv(handle, index=False, lineterminator="\n")
        paths[name] = path
    return paths


def main_synth(out: Path, seed: int, n_left: int, n_right: int,
               profile: str = "hard", *, relatives_per_match: float = 0.0) -> dict[str, Path]:
    """Generate and write a data set: the body of ``linkmatch synth --out --seed --left --right``.

    Args:
        out: Output directory (created if needed).
        seed: Generator seed.
        n_left: Number of asylum records.
        n_right: Number of reference persons.
        profile: Corruption profile (see :func:`generate`).
        relatives_per_match: Relatives per matched listed person (see :func:`generate`).

    Returns:
        The written paths, as :func:`write` returns them.
    """
    return write(generate(seed=seed, n_left=n_left, n_right=n_right, profile=profile,
                          relatives_per_match=relatives_per_match), out)
