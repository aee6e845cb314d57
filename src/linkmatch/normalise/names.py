"""Personal names -> folded tokens whose variant keys agree across transliterations.

Records of one person arrive spelled by different clerks from Arabic, Persian, Pashto, Somali,
Tigrinya/Amharic (Ge'ez) and Ukrainian/Russian (Cyrillic): Mohammed / Muhammad / Mehmet / محمد,
Hussein / Hossein / Hüseyin / Xuseen, Oleksandr / Aleksandr / Олександр. Before names are keyed
(HMAC tokens, Bloom filters), this module turns each name into tokens with

* ``text``: the folded Latin spelling (``[a-z]+``; its q-grams feed the Bloom filters), and
* ``key``: a variant key, a consonant skeleton with consonant classes, which spelling variants
  of a name share, so that they still meet after keyed hashing.

Why a consonant skeleton: Arabic script writes consonants and long vowels only (anyascii gives
محمد -> "mhmd"), and Latin spellings of one name differ mostly in their vowels, so the key
keeps consonants (in classes that absorb the usual transliteration choices) and the few vowel
facts that Arabic script writes and Latin spellings agree on. See :func:`variant_key`.

Measured on ``wd_arabic_name_tokens.tsv`` (real Latin <-> Arabic name spellings from Wikidata,
bundled, CC0) with ``.venv/bin/python benchmarks/name_keys.py --seed 1`` (and ``--seed 2``):

================================================  ===========  =========  ============
                                                  pair recall  to Arabic  false merges
================================================  ===========  =========  ============
rules only, all data                                 71.3 %      69.6 %      0.06 %
rules only, Arabic-origin spellings                  94.6 %      80.6 %      0.08 %
rules + dictionary, all data (in-sample)             99.0 %      99.2 %      0.06 %
rules + dictionary, Arabic-origin (in-sample)        98.1 %      97.1 %      0.09 %
held-out half, rules only (seed 1 / seed 2)       67.5 / 82.0  70.8 / 67.8  0.03 / 0.07
held-out half, + dictionary of the other half     67.1 / 82.0  70.8 / 67.8  0.03 / 0.07
held-out, Arabic-origin, rules (= + dictionary)   94.8 / 94.6  87.9 / 78.8  0.06 / 0.09
================================================  ===========  =========  ============

*pair recall*: over the 2,139 Arabic spellings with several Latin forms seen at least twice, the
count-weighted share of pairs of Latin forms with equal keys; *to Arabic*: share of those Latin
forms whose key equals the key of the Arabic-script spelling; *false merges*: count-weighted
share of pairs of tokens with different Arabic spellings (and different folded spellings) whose
keys collide. "Arabic-origin" spellings contain a letter Western names written in Arabic script
do not use (ع ح خ ص ض ط ظ ق ذ ث غ ء) or the article; the whole file is dominated by Western
names in Arabic script (John/جون; Arabic script has no p, v, g), and most remaining misses are
Western name forms (Jacques/Jack, Georges/George). The dictionary learnt from the file fixes the
spellings it has seen (Mehmet, Hocine, Othman, Gamal, Alrashid) but adds nothing for unseen
names (held-out rows, split by Arabic spelling): it is a memory of common names, kept because
common names are most records. The rules were tuned while reading misses of the whole file, so
the held-out rows test the dictionary's generalisation, not the rules'.

Rule choices (each alternative measured alone against the rules during development, rules only,
all data / Arabic-origin): g in the class of k and q (g as its own class: to-Arabic -3.1 / -19.5
points; Arabic writes g as غ or ك and Persian گ becomes ك on Arabic keyboards); p = b (pair
recall -1.1 / 0 otherwise); long ī not marked (marking it: pair recall -2.2 / -1.9, to-Arabic
-22 / -23, because Latin writes Karim and Khalid alike and Arabic does not); long ū of the
final syllable marked (unmarked: false merges x1.7 and Mohamed = Mahmoud); v = w kept although
v = f scores +0.9 / +0.5 here, because Persian/Dari و is v or w in Latin (Vahid = Wahid, Javad
= Jawad) and this file over-represents Western names in Arabic script; doubled vowels kept
(collapsing them: neutral here), because Somali writes long vowels double and they show that x
and c are Somali (Xuseen, Jaamac). False merges stay below 0.1 % throughout, far under the 2-3 %
a coarse key would cost blocking.

Speed: the dictionary loads lazily in about 0.25 s (canonical keys are worked out per spelling
on first use); name_tokens is memoised per call and per part: about 10 million warm calls per
second. Distinct name parts are mostly new combinations of a few thousand words, so the work
per word (folding, compound splitting, keying, grouping) is memoised too, and a plain ASCII
part is read word by word from that memo, grouping together only the words that may bind
(``_part_tokens``; property-tested against the general path). On the distinct given and
family names of ``synth.generate(seed=3, n_left=100_000)``, cold: about 7 microseconds per
part, against about 17 before the per-word memo (same machine and measure).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Final, Literal, NamedTuple

from anyascii import anyascii
from rapidfuzz.distance import Levenshtein

__all__ = ["NameToken", "TokenKind", "fold", "name_tokens", "variant_key"]

TokenKind = Literal["name", "particle", "title"]


@dataclass(frozen=True, slots=True)
class NameToken:
    """One token of a personal name.

    Attributes:
        text: folded Latin spelling, ``[a-z]+`` (its q-grams feed the Bloom filters).
        key: variant key, ``[a-z0-9]+``: spelling variants of one name share it.
        kind: ``"name"``; ``"particle"`` for a patronymic link word (*bin*, *bint*, *ould*);
            ``"title"`` for an honorific before a name in its part (*haji*, *sheikh*, *dr*),
            which should get low weight downstream but is kept (it may be the only thing two
            records share); last in its part the same word is a ``"name"`` (a surname).
    """

    text: str
    key: str
    kind: TokenKind


_MAX_WORD: Final = 48  # longer "words" are not split into compound parts (no name is this long)

# ==================================================================================================
# Script folding
# ==================================================================================================

_ARABIC_HARAKAT: Final = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_BLOCKS: Final = re.compile(
    "[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]"
)
_CYRILLIC: Final = re.compile("[\u0400-\u04ff\u0500-\u052f]")
_ETHIOPIC: Final = re.compile("[\u1200-\u139f\u2d80-\u2ddf\uab00-\uab2f]")

# Spelling variants of one Arabic-script letter, and the Persian, Pashto, Urdu and Maghrebi
# letters, merged so that a name reaches one skeleton in any of these orthographies.
_ARABIC_MERGE: Final = str.maketrans(
    {
        **dict.fromkeys("أإآٱٲٳ", "ا"),
        **dict.fromkeys("یېۍێئ", "ي"),
        **dict.fromkeys("ؤۆۇۈۋ", "و"),
        **dict.fromkeys("کڪګ", "ك"),
        **dict.fromkeys("ھہەۀ", "ه"),
        **dict.fromkeys("ڤڥ", "ف"),
        **dict.fromkeys("ٹټ", "ت"),
        **dict.fromkeys("ډڈ", "د"),
        **dict.fromkeys("ړڑ", "ر"),
        **dict.fromkeys("ڼں", "ن"),
        "ۃ": "ة",
        "ڨ": "ق",
        "ښ": "ش",
        "ږ": "ژ",
        "ځ": "ز",
        "څ": "س",
        "ڭ": "گ",
        "ء": "",
    }
)
# Arabic-script letters -> Latin letters read by the key rules (ayn, hamza and alef give none;
# the key rules handle them as vowels).
_ARABIC_LATIN: Final = {
    "ا": "", "أ": "", "ع": "", "ة": "", "ى": "", "ب": "b", "پ": "p", "ت": "t", "ث": "th",
    "ج": "j", "چ": "ch", "ح": "h", "خ": "kh", "د": "d", "ذ": "dh", "ر": "r", "ز": "z", "ژ": "zh",
    "س": "s", "ش": "sh", "ص": "s", "ض": "d", "ط": "t", "ظ": "z", "غ": "gh", "ف": "f", "ق": "q",
    "ك": "k", "گ": "g", "ل": "l", "م": "m", "ن": "n", "ه": "h", "و": "w", "ي": "y",
}  # fmt: skip

_CYR_COMMON: Final = {
    "а": "a", "б": "b", "в": "v", "д": "d", "ж": "zh", "з": "z", "к": "k", "л": "l", "м": "m",
    "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh",
    "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ъ": "", "ў": "u", "ә": "a",
}  # fmt: skip
# Russian: the ICAO 9303 passport romanisation (e, not ye; i for й).
_CYR_RU: Final = {
    **_CYR_COMMON, "г": "g", "е": "e", "ё": "e", "и": "i", "й": "i", "ы": "y", "э": "e",
    "ю": "iu", "я": "ia",
}  # fmt: skip
# Ukrainian: the official romanisation of 2010 (Cabinet resolution 55), used in passports.
_CYR_UK: Final = {
    **_CYR_COMMON, "г": "h", "ґ": "g", "е": "e", "є": "ie", "и": "y", "і": "i", "ї": "i",
    "й": "i", "ю": "iu", "я": "ia",
}  # fmt: skip
_CYR_UK_INITIAL: Final = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_UKRAINIAN_LETTERS: Final = frozenset("іїєґ")

# Latin letters that do not decompose to their base letter, or whose usual transliteration is a
# digraph: Turkish, Kurdish, Albanian, Slavic and Romanian ş/š/ç/č/ž are sh/ch/zh for clerks.
_LATIN_SPECIAL: Final = str.maketrans(
    {
        "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
        "ı": "i", "ş": "sh", "ș": "sh", "š": "sh", "ç": "ch", "č": "ch", "ć": "ch", "ž": "zh",
        "ţ": "ts", "ț": "ts", "ħ": "h", "ŋ": "ng", "ĸ": "q", "ſ": "s",
    }
)  # fmt: skip
# Marks of ayn and hamza in Latin transliterations: removed (clerks rarely write them).
_APOSTROPHES: Final = frozenset("'`´ʹʻʼʽʾʿˈˊˋ‘’‛′")
_APOSTROPHE_RE: Final = re.compile("[" + "".join(sorted(_APOSTROPHES)) + "]")

# Ethiopian abbreviations use the slash (G/Medhin = Gebre Medhin, W/Mariam = Wolde Mariam,
# W/ro = Woizero): expanded while folding, because the slash is gone afterwards.
_SLASH_TITLE: Final = re.compile(r"(?<![^\W\d_])w\s*/\s*(ro|rt|t)(?![^\W\d_])")
_SLASH_PREFIX: Final = re.compile(r"(?<![^\W\d_])([gwhkt])\s*/\s*(?=[^\W\d_])")
_SLASH_EXPAND: Final = {"g": "gebre", "w": "wolde", "h": "haile", "k": "kidane", "t": "tekle"}

_DOUBLE_CONSONANT: Final = re.compile(r"([b-df-hj-np-tv-z])\1+")
_TRIPLE_VOWEL: Final = re.compile(r"([aeiou])\1{2,}")


@functools.lru_cache(maxsize=1 << 17)
def _collapse(text: str) -> str:
    """Collapse doubled consonants (Mohammed = Mohamed); keep doubled vowels.

    Doubled vowels stay: Somali writes long vowels double (Xuseen, Cabdullaahi) and they are
    what shows that a token's x and c are Somali.
    """
    if _TRIPLE_VOWEL.search(text):
        text = _TRIPLE_VOWEL.sub(_first_group_twice, text)
    return _DOUBLE_CONSONANT.sub(_first_group, text)


# Callables, not templates such as r"\1": re expands a template in Python code on every call,
# which made _collapse several times slower.
def _first_group(match: re.Match[str]) -> str:
    return match.group(1)


def _first_group_twice(match: re.Match[str]) -> str:
    return match.group(1) * 2


class _Word(NamedTuple):
    """A folded word; ``arabic`` keeps the cleaned spelling of a word from Arabic script."""

    text: str
    arabic: str | None


@functools.lru_cache(maxsize=1 << 16)
def _clean_arabic(word: str) -> str:
    """Remove vowel signs and tatweel and merge letter variants of an Arabic-script word.

    An initial hamzated alef stays apart from the bare alef of the article: ألبرت (Albert) and
    إلهام (Elham) do not begin with al-, الرشيد does.
    """
    word = _ARABIC_HARAKAT.sub("", word)
    initial = "أ" if word[:1] in ("أ", "إ", "آ") else ""
    word = initial + word[len(initial) :].translate(_ARABIC_MERGE)
    return "".join(ch for ch in word if "\u0600" <= ch <= "\u06ff")


_NOT_A_TO_Z: Final = re.compile("[^a-z]")
_GLOTTAL_BEFORE_CONSONANT: Final = re.compile(r"['`](?=[bcdfghjklmnpqrstvwxyz])")
_GLOTTAL: Final = re.compile(r"['`]")


@functools.lru_cache(maxsize=512)
def _arabic_letter(ch: str) -> str:
    """Latin letters of one cleaned Arabic-script letter."""
    if ch in _ARABIC_LATIN:
        return _ARABIC_LATIN[ch]
    return _NOT_A_TO_Z.sub("", anyascii(ch).lower())


def _arabic_skeleton(word: str) -> str:
    """Latin consonant skeleton of a cleaned Arabic-script word."""
    return "".join(_arabic_letter(ch) for ch in word)


def _cyrillic_to_latin(word: str) -> str:
    """Transliterate one Cyrillic word (as Ukrainian if it has a Ukrainian-only letter)."""
    low = word.lower()
    ukrainian = any(ch in _UKRAINIAN_LETTERS for ch in low)
    table = _CYR_UK if ukrainian else _CYR_RU
    out = []
    for i, ch in enumerate(low):
        if ukrainian and i == 0 and ch in _CYR_UK_INITIAL:
            out.append(_CYR_UK_INITIAL[ch])
        else:
            out.append(table[ch] if ch in table else anyascii(ch).lower())
    return "".join(out)


def _ethiopic_to_latin(word: str) -> str:
    """Transliterate a Ge'ez-script word with anyascii and resolve its glottal marks.

    anyascii writes the glottal stop (alef, ayin) as ' or `; before a consonant it stands for a
    vowel-initial syllable (እግዚ -> 'gzi -> egzi), elsewhere it marks an ejective or a hiatus.
    """
    latin = anyascii(word).lower()
    latin = _GLOTTAL_BEFORE_CONSONANT.sub("e", latin)
    return _GLOTTAL.sub("", latin)


def _fold_latin(word: str) -> str:
    """Fold a Latin-script (or already transliterated) word to ``[a-z]*``."""
    if word.isascii():
        return _NOT_A_TO_Z.sub("", word.lower())
    word = word.lower().translate(_LATIN_SPECIAL)
    word = unicodedata.normalize("NFKD", word)
    word = "".join(ch for ch in word if not unicodedata.combining(ch))
    word = word.translate(_LATIN_SPECIAL)
    if not word.isascii():
        word = anyascii(word).lower()
    return _NOT_A_TO_Z.sub("", word)


def _script(ch: str) -> str:
    """Script of one letter: the three non-Latin scripts the module reads, else Latin."""
    if _ARABIC_BLOCKS.match(ch):
        return "arabic"
    if _CYRILLIC.match(ch):
        return "cyrillic"
    if _ETHIOPIC.match(ch):
        return "ethiopic"
    return "latin"


@functools.lru_cache(maxsize=4096)
def _char_kind(ch: str) -> str:
    """``""`` for a character that is no letter or mark, ``"M"`` for a mark, else its script.

    Memoised: a name has few distinct characters, and the Unicode lookups per character were
    most of the cost of folding a name that is not plain ASCII.
    """
    cat = unicodedata.category(ch)[0]
    if cat == "M":
        return "M"
    if cat != "L":
        return ""
    return _script(ch)


def _split_runs(text: str) -> Iterator[tuple[str, str]]:
    """Split text into (script, word) runs; anything but letters and marks ends a word.

    Apostrophes inside a Latin word stay in it (fold removes them: Sa'id -> said).
    """
    buf: list[str] = []
    script = ""
    for ch in text:
        if ch in _APOSTROPHES and script == "latin":
            buf.append(ch)
            continue
        kind = _char_kind(ch)
        if not kind:
            if buf:
                yield script, "".join(buf)
                buf = []
            script = ""
            continue
        s = (script or "latin") if kind == "M" else kind
        if buf and s != script:
            yield script, "".join(buf)
            buf = []
        script = s
        buf.append(ch)
    if buf:
        yield script, "".join(buf)


_ASCII_WORDS: Final = re.compile(r"[a-z][a-z'`]*")
_TABLE_MAX: Final = 1 << 16  # code points remembered by _BLANKS (a name uses a handful)


class _BlankTable(dict[int, int]):
    """``str.translate`` table turning control, format and separator characters into spaces.

    Filled per code point on first sight (``__missing__``; a full table would cover all 1.1
    million code points): translating is several times faster than asking ``unicodedata`` for
    the category of every character of every name.
    """

    def __missing__(self, code: int) -> int:
        out = 0x20 if unicodedata.category(chr(code))[0] in "CZ" else code
        if len(self) < _TABLE_MAX:
            self[code] = out
        return out


_BLANKS: Final = _BlankTable()


@functools.lru_cache(maxsize=1 << 17)
def _fold_words(text: str) -> tuple[_Word, ...]:
    """Fold raw text into words; words from Arabic script keep their cleaned spelling."""
    if text.isascii():
        low = text.lower()
        if "/" in low:
            if not low.isprintable():
                low = "".join(ch if ch.isprintable() else " " for ch in low)
            low = _expand_slashes(low)
        return tuple(
            _Word(folded, None)
            for raw in _ASCII_WORDS.findall(low)
            if (folded := _collapse(raw.replace("'", "").replace("`", "")))
        )
    text = unicodedata.normalize("NFKC", text).translate(_BLANKS).casefold()
    if "/" in text:  # both slash patterns need one
        text = _expand_slashes(text)
    words: list[_Word] = []
    for script, raw in _split_runs(text):
        if script == "arabic":
            cleaned = _clean_arabic(raw)
            if cleaned:
                words.extend(_arabic_words(cleaned))
            continue
        folded = _fold_run(script, raw)
        if folded:
            words.append(_Word(folded, None))
    return tuple(words)


@functools.lru_cache(maxsize=1 << 16)
def _fold_run(script: str, raw: str) -> str:
    """Fold one Latin, Cyrillic or Ge'ez run of letters to ``[a-z]*``.

    Memoised: the same words recur in many names, and transliteration and Unicode
    decomposition cost far more than the lookup. Depends on no dictionary, so it stays valid
    while the dictionaries are built and when they are switched.
    """
    if script == "cyrillic":
        latin = _cyrillic_to_latin(raw)
    elif script == "ethiopic":
        latin = _ethiopic_to_latin(raw)
    else:
        latin = raw
    return _collapse(_fold_latin(_APOSTROPHE_RE.sub("", latin)))


def _expand_slashes(text: str) -> str:
    text = _SLASH_TITLE.sub(lambda m: " woizerit " if m.group(1) == "t" else " woizero ", text)
    return _SLASH_PREFIX.sub(lambda m: _SLASH_EXPAND[m.group(1)] + " ", text)


def fold(text: str) -> str:
    """Fold a name in any script to lowercase ASCII words separated by single spaces.

    NFKC, casefolding, accents removed (Turkish, Kurdish and Slavic ş/š, ç/č, ž become sh, ch,
    zh, as clerks spell them), ayn/hamza apostrophes removed, hyphens and other punctuation
    turned into word breaks, doubled consonants collapsed (doubled vowels kept: Somali long
    vowels). Arabic, Persian and Pashto script is cleaned (vowel signs, tatweel, letter variants),
    its article ال becomes the word "al", and each word is spelled in its commonest Latin form
    if the bundled dictionary knows it, else as its consonant skeleton (محمد -> "mohamed",
    unknown words -> "mhmd"). Cyrillic follows the passport romanisations (Ukrainian 2010, ICAO
    for Russian); Ge'ez goes through anyascii. ``G/Medhin`` becomes ``gebre medhin`` and
    ``W/ro`` ``woizero`` (Ethiopian abbreviations use the slash, which folding removes).

    Args:
        text: raw name text, any script.

    Returns:
        Words of ``[a-z]+`` separated by single spaces (empty if the text has no letters).
    """
    return " ".join(w.text for w in _fold_words(text))


# ==================================================================================================
# Arabic-script words
# ==================================================================================================

_AR_ARTICLE: Final = "ال"
# words beginning with a bare ال that is not the article (Persian given names, mostly)
_AR_NOT_ARTICLE: Final = frozenset(
    ["الله", "الياس", "الهام", "الهه", "الناز", "الميرا", "البرز", "الماس", "الوند", "الينا"]
)
_AR_TITLES: Final = {
    "حاج": "haji", "حاجي": "haji", "الحاج": "haji", "حجي": "haji", "شيخ": "sheikh",
    "الشيخ": "sheikh", "سيد": "sayed", "السيد": "sayed", "ملا": "mullah", "مولوي": "mawlawi",
    "مولانا": "mawlana", "ميرزا": "mirza", "دكتور": "doctor", "مفتي": "mufti", "قاري": "qari",
    "استاد": "ustad", "خانم": "khanum",
}  # fmt: skip
_AR_FUNCTION: Final = {
    "عبد": "abd", "ابو": "abu", "بن": "bin", "ابن": "bin", "بنت": "bint", "ولد": "ould",
    "غلام": "ghulam", "آل": "al",
}  # fmt: skip
_AR_TAILS: Final = {
    "الله": "allah", "الدين": "din", "الحق": "haq", "الاسلام": "islam", "الهدى": "huda",
}  # fmt: skip
_AR_PERSIAN_HEADS: Final = ("علي", "امير", "محمد", "مير")
_AR_PERSIAN_TAILS: Final = frozenset(
    [
        *("رضا", "حسين", "علي", "اكبر", "اصغر", "محمد", "جواد", "جعفر", "مهدي", "صادق", "تقي"),
        *("نقي", "باقر", "كاظم", "حسن", "ابراهيم", "اسماعيل", "هادي", "كريم", "رحيم"),
    ]
)


def _arabic_words(word: str) -> list[_Word]:
    """Split one cleaned Arabic-script word into the words the particle rules understand.

    The joined spellings of compounds (عبدالرحمن, نصرالله, نورالدين, ابوبكر, علیرضا) are split
    into their parts and the article ال (bare alef) into its own word, so that one set of rules
    serves ``Abd al-Rahman`` in any script and any spacing.
    """
    if len(word) > _MAX_WORD:
        return [_arabic_name_word(word)]
    plain = "ا" + word[1:] if word.startswith("أ") else word  # أبو = ابو, for function words
    if plain in _AR_TITLES:
        return [_Word(_AR_TITLES[plain], plain)]
    for tail, canon in _AR_TAILS.items():
        if word == tail:
            return [_Word(canon, tail)]
        if word.endswith(tail) and len(word) - len(tail) >= 2:
            head = word[: -len(tail)]
            if canon == "allah" and head.endswith("ة"):
                head = head[:-1] + "ت"  # construct state: رحمة الله = Rahmat Allah
            return [*_arabic_words(head), _Word(canon, tail)]
    if plain in _AR_FUNCTION:
        return [_Word(_AR_FUNCTION[plain], plain)]
    for prefix in ("عبد", "ابو", "غلام"):
        if plain.startswith(prefix) and len(plain) - len(prefix) >= 2:
            return [_Word(_AR_FUNCTION[prefix], prefix), *_arabic_words(plain[len(prefix) :])]
    if (
        word.startswith(_AR_ARTICLE)
        and len(word) >= 4
        and word not in _AR_NOT_ARTICLE
        and word not in _dicts().not_article
    ):
        return [_Word("al", _AR_ARTICLE), *_arabic_words(word[2:])]
    for head in _AR_PERSIAN_HEADS:
        if plain.startswith(head) and plain[len(head) :] in _AR_PERSIAN_TAILS:
            return [_arabic_name_word(head), _arabic_name_word(plain[len(head) :])]
    return [_arabic_name_word(word)]


def _arabic_name_word(word: str) -> _Word:
    """A plain Arabic-script name word: Latin text from the dictionary, else the skeleton."""
    text = _dicts().vocal.get(word) or _collapse(_arabic_skeleton(word))
    return _Word(text or "a", word)


# ==================================================================================================
# Variant key rules
# ==================================================================================================

_VOWELS: Final = frozenset("aeiou")
_CONSONANT_UNIT: Final = re.compile(
    r"tsch|sch|tch|tsh|dzh|sh|ch|zh|kh|gh|th|dh|ph|dj|dz|ts|tz|ck|qu(?=[ei])|[bcdfghjklmnpqrstvxz]"
)
# Consonant classes (measured, see the module docstring): one letter per class in the key.
_CLASS: Final = {
    "tsch": "x", "sch": "x", "tch": "x", "tsh": "x", "sh": "x", "ch": "x",
    "dzh": "j", "zh": "j", "dj": "j", "j": "j",
    "kh": "h", "h": "H",  # H: a literal h, which may be silent at the end (Saleh = صالح)
    "gh": "k", "g": "k", "q": "k", "k": "k", "ck": "k", "qu": "k",
    "th": "t", "t": "t", "d": "d", "dh": "d", "z": "d", "dz": "d",
    "ts": "c", "tz": "c",
    "ph": "f", "f": "f", "v": "w", "w": "w", "p": "b", "b": "b",
    "s": "s", "x": "ks", "l": "l", "m": "m", "n": "n", "r": "r", "y": "y",
}  # fmt: skip

_SOMALI_LONG_VOWEL: Final = re.compile(r"aa|ee|ii|oo|uu")
_SOMALI_C_INITIAL: Final = re.compile(
    r"^c(?=abd|abb|aa|ii|uu|ism|usm|umar|ali$|aliyo|awil|awo$|iise|ilm|igaal|aydiid|adan$|asha$)"
)
_X_NOT_H_INITIAL: Final = re.compile(r"^x(?:av|ab|en|an|im|io|ia|ie|in|iu|i$|u$|ue|un)")
_SOMALI_MEDIAL_C: Final = re.compile(r"(?<=[aeiou])c(?![hk])")
_X_BEFORE_M: Final = re.compile(r"x(?=a?m)")


def _somali(token: str) -> str:
    """Read Somali x (= ḥ) and c (= ʿ) as such where the spelling shows it is Somali.

    Somali orthography writes ḥ as x (Xasan, Maxamed) and ʿayn as c (Cabdi, Cali); elsewhere x
    is ks and c is k or s. A token counts as Somali if it has a doubled vowel (Somali long
    vowels) or the shape of a common Somali name; initial x before a vowel and x before
    (a)m (Axmed, Maxamed) are read as ḥ anyway (Xavier and Xenia excepted).
    """
    somali = bool(_SOMALI_LONG_VOWEL.search(token))
    if "c" in token:
        if _SOMALI_C_INITIAL.match(token) or (somali and token[0] == "c" and token[1:2] in _VOWELS):
            token = token[1:]
        if somali:
            token = _SOMALI_MEDIAL_C.sub("", token)
    if "x" in token:
        if somali:
            token = token.replace("x", "h")
        else:
            if token[0] == "x" and len(token) >= 4 and not _X_NOT_H_INITIAL.match(token):
                token = "h" + token[1:]
            token = _X_BEFORE_M.sub("h", token)
    if somali and token.endswith("o"):
        token = token[:-1] + "a"  # Somali -o of female names is Arabic -a: Xaliimo = Halima
    return token


def _long_vowel(run: str) -> str:
    """Long u of a vowel run inside a name ("w"), else "".

    Only ū counts: Latin spells it ou / oo / uu (Mahmoud, Mahmood) where Arabic writes و. Long
    ī is not marked: Latin writes Karim (كريم, long) and Khalid (خالد, short) alike, and
    marking it loses more than it gains (module docstring).
    """
    if "w" in run or "oo" in run or "uu" in run or "ou" in run:
        return "w"
    return ""


def _final_vowel(run: str) -> str:
    """Class of a name-final vowel run: -i/-y/-ee/-ia give "y", -o/-u give "w", -a/-e none."""
    if not run:
        return ""
    last = run[-1]
    if last in "iy" or run in ("ee", "ie") or run.endswith("ia"):
        return "y"  # Ali = علي, Nadia = نادية, Yahia = يحيى
    if last in "ouw":
        return "w"
    return "y" if "y" in run else ""  # Tesfaye = Tesfay


# An element is (is_consonant, value): a class letter for a consonant, the vowel letters of a
# run for a vowel ("" for an alef in Arabic script, which keeps consonants apart).
_Element = tuple[bool, str]


def _key_from_elements(elements: list[_Element], *, silent_final_h: bool) -> str:
    """Assemble a key from consonant classes and vowel runs (see variant_key for the scheme)."""
    merged: list[_Element] = []
    for is_c, val in elements:
        if merged and merged[-1][0] == is_c and (not is_c or merged[-1][1] == val):
            if not is_c:
                merged[-1] = (False, merged[-1][1] + val)
            continue  # adjacent repeats of one class (ck, dt, hh) are one sound
        merged.append((is_c, val))
    cons = [i for i, (is_c, _) in enumerate(merged) if is_c]
    out: list[str] = ["a"] if merged and not merged[0][0] else []
    if not cons:
        return "".join(out) + (_final_vowel(merged[0][1]) if merged else "")
    last = cons[-1]
    prev = cons[-2] if len(cons) > 1 else -1
    silent = silent_final_h and merged[last][1] == "H" and last == len(merged) - 1 and prev >= 0
    for i, (is_c, val) in enumerate(merged):
        if is_c:
            if i == last and silent:
                continue  # Saleh = صالح, Fatimah = فاطمة: a final h may or may not be written
            out.append("d" if i == last and val == "t" else val.lower())  # Ahmet = Ahmed
        elif 0 <= prev < i < last:
            mark = _long_vowel(val)  # the final syllable's long u: Mahmoud vs Mohamed
            if not mark and val in ("u", "o") and len(cons) > 2 and cons[-3] == prev - 1:
                mark = "w"  # maf'ul after two adjacent consonants: Mahmud, Mansur (not Yusuf)
            out.append(mark)
        elif i > last:
            out.append(_final_vowel(val))
    key = "".join(out)
    if "ww" in key or "yy" in key:
        key = key.replace("ww", "w").replace("yy", "y")  # Dawood: consonant w + long oo
    return key


def _latin_elements(token: str) -> list[_Element]:
    """Consonant classes and vowel runs of a folded Latin token.

    y and w before a vowel are consonants, except a non-initial y (Arabic script never shows a
    medial ي in the key either); u between a consonant and a, i, o is the glide w (Luis, Fuad).
    """
    elements: list[_Element] = []
    run: list[str] = []
    i = 0
    n = len(token)
    while i < n:
        ch = token[i]
        nxt = token[i + 1] if i + 1 < n else ""
        if ch in _VOWELS:
            if ch == "u" and nxt in ("a", "i", "o") and not run and elements and i + 2 < n:
                elements.append((True, "w"))
            else:
                run.append(ch)
            i += 1
            continue
        if ch in "yw":
            if nxt in _VOWELS and (ch == "w" or i == 0):
                if run:
                    elements.append((False, "".join(run)))
                    run = []
                elements.append((True, ch))
            else:
                run.append(ch)
            i += 1
            continue
        m = _CONSONANT_UNIT.match(token, i)
        unit = m.group(0) if m else ch
        if run:
            elements.append((False, "".join(run)))
            run = []
        i += len(unit)
        if unit == "c":
            cls = "s" if token[i : i + 1] in ("e", "i", "y") else "k"
        else:
            cls = _CLASS.get(unit, unit)
        elements.extend((True, c) for c in cls)
    if run:
        elements.append((False, "".join(run)))
    return elements


_YE_INITIAL: Final = re.compile(r"^[yi]e(?=[vlkgf])")
_IA_INITIAL: Final = re.compile(r"^i(?=[aou])")
_OU_GLIDE: Final = re.compile(r"ou(?=[aei])")
_CH_AS_K: Final = re.compile(r"^ch(?=[rl])|ch(?=ae)")


@functools.lru_cache(maxsize=1 << 17)
def _rule_key_latin(token: str) -> str:
    """Variant key of one folded Latin token by the rules alone (no dictionary)."""
    if not token:
        return ""
    if "x" in token or "c" in token or _SOMALI_LONG_VOWEL.search(token):
        token = _somali(token)
    if token[0] in "yi":
        token = _YE_INITIAL.sub("e", token)  # Yevgeny = Evgeny, Yelena = Elena
        token = _IA_INITIAL.sub("y", token)  # ICAO Iuliia = Yulia, Iaroslav = Yaroslav
    if "ou" in token:
        token = _OU_GLIDE.sub("w", token)  # French ou before a vowel: Oualid, Marouane, Edouard
    if "ch" in token:
        token = _CH_AS_K.sub("k", token)  # Christian, Michael
    return _key_from_elements(_latin_elements(token), silent_final_h=True) or "a"


def _rule_key_arabic(word: str) -> str:
    """Variant key of one cleaned Arabic-script word.

    The skeleton goes through the same classes as Latin: an initial alef or ayn makes the name
    vowel-initial, medial alef and ayn keep consonants apart, medial و and ي are long vowels
    (و marks the final syllable, like Latin ou; ي never), و before alef is a consonant (Jawad,
    Marwan), final ي / و give the final mark, initial و / ي are consonants, a final ح / ه may be
    silent like a Latin final h.
    """
    if not word:
        return ""
    if word == "عمرو":
        return "amr"  # Amr: the final waw only tells it from Omar in writing
    elements: list[_Element] = []
    letters: list[str] = []
    for idx, ch in enumerate(word):
        if ch in ("ا", "أ", "ع"):
            if idx:
                letters.append("a")
            else:
                elements.append((False, "a"))
            continue
        lat = _arabic_letter(ch)
        if lat:
            letters.append(lat)
    for i, lat in enumerate(letters):
        if lat == "a":
            elements.append((False, ""))
        elif lat in ("y", "w") and elements and (lat == "y" or letters[i + 1 : i + 2] != ["a"]):
            elements.append((False, lat))
        elif lat in ("y", "w"):
            elements.append((True, lat))
        else:
            for unit in _CONSONANT_UNIT.findall(lat):
                elements.extend((True, c) for c in _CLASS.get(unit, unit))
    return _key_from_elements(elements, silent_final_h=len(word) >= 3) or "a"


# Ukrainian and Russian forms of one given name that the letter rules cannot merge (Г is h in
# Ukrainian and g in Russian; Ukrainian -o), mapped to one spelling before keying.
_SLAVIC_EQUIV: Final = {
    **dict.fromkeys(["serhii", "serhiy", "serhij", "sergii", "sergiy", "sergei"], "sergey"),
    "ihor": "igor", "olha": "olga", "oleh": "oleg", "hlib": "gleb", "bohdan": "bogdan",
    **dict.fromkeys(
        ["yevhen", "ievhen", "yevhenii", "yevheniy", "evhen", "ievgen", "yevgen", "evgen"], "evgeny"
    ),
    **dict.fromkeys(["yevheniia", "yevheniya", "ievheniia"], "evgenia"),
    **dict.fromkeys(["yehor", "iehor"], "egor"),
    **dict.fromkeys(["hryhorii", "hryhoriy", "hrihorii", "hryhorij"], "grigory"),
    **dict.fromkeys(["heorhii", "heorhiy", "heorhij"], "georgy"),
    **dict.fromkeys(["halyna", "halina"], "galina"),
    **dict.fromkeys(["mykhailo", "mykhaylo", "mykhajlo", "mikhailo"], "mikhail"),
    **dict.fromkeys(["mykola", "mikola"], "nikolay"),
    **dict.fromkeys(["dmytro", "dmitro"], "dmitry"),
    "petro": "petr", "pavlo": "pavel", "vasyl": "vasily", "fedir": "fedor",
    **dict.fromkeys(["kateryna", "katerina", "yekaterina"], "ekaterina"),
    **dict.fromkeys(["danylo", "danilo"], "daniil"),
    **dict.fromkeys(["hennadii", "hennadiy"], "gennady"),
}  # fmt: skip


# ==================================================================================================
# Variant dictionary (wd_arabic_name_tokens.tsv)
# ==================================================================================================

_DATA_FILE: Final = "wd_arabic_name_tokens.tsv"


def _read_rows(min_count: int = 1) -> list[tuple[str, str, int]]:
    """Rows of the bundled file seen at least min_count times: (Latin, Arabic, count)."""
    text = resources.files("linkmatch.data").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2].isdigit() and int(parts[2]) >= min_count:
            rows.append((parts[0], parts[1].replace(" ", ""), int(parts[2])))
    return rows


class _Dictionaries(NamedTuple):
    top_arabic: dict[str, str]  # folded Latin spelling -> the Arabic spelling it mostly renders
    forms: dict[str, dict[str, int]]  # cleaned Arabic spelling -> its Latin spellings, counts
    canon: dict[str, str]  # cleaned Arabic spelling -> canonical key (filled on first use)
    vocal: dict[str, str]  # cleaned Arabic spelling -> its commonest folded Latin spelling
    not_article: frozenset[str]  # Arabic spellings whose initial ال belongs to the name (Alex)
    latin_forms: frozenset[str]  # folded Latin spellings seen at least twice
    al_forms: frozenset[str]  # Latin spellings of Arabic spellings that begin with the article


_EMPTY: Final = _Dictionaries({}, {}, {}, {}, frozenset(), frozenset(), frozenset())
_STATE: dict[str, _Dictionaries | None] = {"dictionaries": None}
_ENABLED: dict[str, bool] = {"dictionary": True, "building": False}


def _dicts() -> _Dictionaries:
    """The dictionaries, built from the bundled file on first use (empty while building)."""
    if not _ENABLED["dictionary"] or _ENABLED["building"]:
        return _EMPTY
    got = _STATE["dictionaries"]
    if got is None:
        got = _build_dictionaries(_read_rows(_MIN_COUNT))
        _STATE["dictionaries"] = got
    return got


def _one_latin_word(spelling: str) -> str | None:
    """Folded form of a spelling that folds to one Latin word, else None.

    Compounds (abdulrahman) are kept: they are never looked up, as the rules split them first.
    """
    if spelling.isascii() and spelling.isalpha():
        return _collapse(spelling.lower())
    words = _fold_words.__wrapped__(spelling)
    if len(words) != 1 or words[0].arabic is not None:
        return None
    return words[0].text


_MIN_COUNT: Final = 2


def _build_dictionaries(
    rows: Iterable[tuple[str, str, int]], *, min_count: int = _MIN_COUNT
) -> _Dictionaries:
    """Build the variant dictionaries from (Latin spelling, Arabic spelling, count) rows.

    Each Arabic spelling gets one canonical key: the rule key most of its Latin spellings have
    (count-weighted, worked out on first use); the spelling in Arabic script maps to it, and so
    do its Latin spellings (Mehmet, Hocine, Othman, whose rule keys differ). The canonical key
    stays in the space of the Latin rule keys on purpose: a spelling the file never saw still
    gets its rule key, which is the majority's key when the majority spelling is regular
    (mapping Latin spellings to the key of the Arabic script instead would split Vladimir from
    an unseen Wolodymyr, because Arabic writes v as ف). A Latin spelling maps only if one
    Arabic spelling accounts for most of its occurrences. Rows seen fewer than ``min_count``
    times are ignored (too noisy).

    Args:
        rows: (Latin spelling, Arabic spelling, count) triples.
        min_count: minimum count of a row.

    Returns:
        The dictionaries.
    """
    saved = _ENABLED["building"]
    _ENABLED["building"] = True  # the rules alone: no dictionary while building one
    try:
        return _build(rows, min_count)
    finally:
        _ENABLED["building"] = saved


def _build(rows: Iterable[tuple[str, str, int]], min_count: int) -> _Dictionaries:
    latin_to_ar: dict[str, Counter[str]] = defaultdict(Counter)
    ar_to_latin: dict[str, Counter[str]] = defaultdict(Counter)
    for latin, arabic, count in rows:
        if count < min_count:
            continue
        folded = _one_latin_word(latin)
        cleaned = _clean_arabic(arabic)
        if folded and cleaned:
            latin_to_ar[folded][cleaned] += count
            ar_to_latin[cleaned][folded] += count
    top_arabic: dict[str, str] = {}
    for latin, counter in latin_to_ar.items():
        arabic = _top(counter)
        if counter[arabic] * 2 > sum(counter.values()):
            top_arabic[latin] = arabic
    not_article = _not_article(ar_to_latin)
    al_forms = frozenset(
        latin
        for latin, arabic in top_arabic.items()
        if latin[:2] in ("al", "el")
        and arabic.startswith(_AR_ARTICLE)
        and arabic not in not_article
    )
    vocal = {arabic: _top(counter) for arabic, counter in ar_to_latin.items()}
    forms = {arabic: dict(counter) for arabic, counter in ar_to_latin.items()}
    return _Dictionaries(
        top_arabic, forms, {}, vocal, not_article, frozenset(latin_to_ar), al_forms
    )


def _canonical_key(dicts: _Dictionaries, arabic: str) -> str | None:
    """Canonical key of an Arabic spelling: the majority rule key of its Latin spellings."""
    got = dicts.canon.get(arabic)
    if got is None:
        forms = dicts.forms.get(arabic)
        if not forms:
            return None
        got = dicts.canon[arabic] = canonical_of(forms)
    return got


def canonical_of(forms: dict[str, int]) -> str:
    """The count-weighted majority rule key of Latin spellings (the dictionary's canonical key).

    Public for the leave-one-spelling-out measurement in ``benchmarks/name_keys.py``. Tried and
    left out: letting the key of the Arabic spelling itself win near a tie (within four fifths
    of the top count). It lifted the share of unseen spellings that reach the key from 73.6 % to
    74.2 %, but 30 spellings changed key, mostly Western names in Arabic script where it merged
    unrelated names (Bert with Bertin), and FEBRL4 person-only F1 fell by 0.0004.
    """
    votes: Counter[str] = Counter()
    for latin, count in forms.items():
        votes[_rule_key_latin(_SLAVIC_EQUIV.get(latin, latin))] += count
    return _top(votes)


def _top(counter: Counter[str]) -> str:
    """Most frequent item; ties go to the first seen (dict order), deterministically."""
    return max(counter, key=counter.__getitem__)


def _not_article(ar_to_latin: dict[str, Counter[str]]) -> frozenset[str]:
    """Arabic spellings beginning with ال whose Latin spellings say the ال belongs to the name.

    Western names in Arabic script (اليكس Alex, الان Alan) begin with a bare alef and lam like
    the article. The commonest Latin spelling decides: if the key of the whole Arabic word is
    closer to its key than the key of the word without ال is (to it, or to it without a leading
    al-/el-), the ال stays.
    """
    out = set()
    for arabic, counter in ar_to_latin.items():
        if not arabic.startswith(_AR_ARTICLE) or len(arabic) < 4:
            continue
        latin = _top(counter)
        lat = _rule_key_latin(latin)
        whole = _rule_key_arabic(arabic)
        rest = _rule_key_arabic(arabic[2:])
        stripped = _rule_key_latin(re.sub(r"^[aeiou]l", "", latin) or latin)
        d_article = min(Levenshtein.distance(rest, lat), Levenshtein.distance(rest, stripped))
        if Levenshtein.distance(whole, lat) < d_article:
            out.add(arabic)
    return frozenset(out)


@functools.lru_cache(maxsize=1 << 17)
def variant_key(token: str) -> str:
    """Variant key of one folded token: spelling variants of a name share it.

    The key is the consonant skeleton that Arabic script writes, reached from Latin spellings:

    * vowels are dropped; a vowel-initial name starts with ``a`` (Ali ``aly``, Lee ``ly``);
    * the long ū of the final syllable leaves ``w`` (Mahmoud ``mhmwd`` vs Mohamed ``mhmd``);
      long ī leaves nothing, so Hassan and Hussein share ``hsn`` (the Bloom-filter text still
      tells them apart); a final -i / -y / -ia leaves ``y``, a final -o / -u ``w``;
    * consonant classes: sh = ch = sch = ş (``x``); kh = h; g = gh = q = k = hard c (``k``);
      j = dj = zh; d = dh = z = ẓ (ض is d, z or dh: Reda = Reza = Ridha); th = t; ph = f;
      v = w; p = b; ts = tz = ц (``c``); soft c = s; x = ks; final t = d (Ahmet = Ahmed);
    * a final h may be silent (Saleh = صالح = Salih, Fatimah = Fatima);
    * Somali x (= ḥ) and c (= ʿ) are read as such where the token looks Somali;
    * Ukrainian forms map to Russian ones where letters cannot (Serhii = Sergey, Olha = Olga);
    * adjacent repeats collapse after classing.

    Then the bundled dictionary maps spellings the rules miss (Mehmet, Hocine, Othman) to the key
    of the majority spelling of their Arabic spelling.

    Args:
        token: one folded word (``[a-z]+``, as :func:`fold` produces).

    Returns:
        The key, ``[a-z]+``; empty only for an empty token.
    """
    if not token:
        return ""
    token = _SLAVIC_EQUIV.get(token, token)
    dicts = _dicts()
    arabic = dicts.top_arabic.get(token)
    hit = _canonical_key(dicts, arabic) if arabic is not None else None
    return hit or _rule_key_latin(token)


# ==================================================================================================
# Particles, compounds and titles
# ==================================================================================================


def _forms(spellings: str) -> frozenset[str]:
    """Whitespace-separated spellings as fold leaves them (doubled consonants collapsed)."""
    return frozenset(_collapse(s) for s in spellings.split())


def _forms_to(canon: str, spellings: str) -> dict[str, str]:
    return dict.fromkeys(_forms(spellings), canon)


# Titles: the canonical text is also the key (it has a vowel after its first letter, which a
# rule key never has, so a title never shares a key with a name: Sayed vs the name Said).
_TITLES: Final = {
    **_forms_to("haji", "haji hajji hadji haj hajj hadj alhaji alhaj alhajji elhadj hajji "
                        "xaaji xaji xajji"),  # Somali spells it Xaaji
    **_forms_to("hajja", "hajja hajjah hajia hadja alhaja"),
    **_forms_to("mullah", "mullah mulla molla mollah"),
    **_forms_to("sheikh", "sheikh shaikh shaykh sheik shaik cheikh sheekh shiekh shekh"),
    **_forms_to("sheikha", "sheikha shaikha shaykha cheikha"),
    **_forms_to("sayed", "sayed sayyid syed sayyed seyed seyyed sayid seyyid"),
    **_forms_to("sayeda", "sayeda sayyida syeda seyedeh seyyedeh sayyidah"),
    **_forms_to("mawlawi", "mawlawi mawlavi maulvi molvi moulavi maulawi mowlawi molavi"),
    **_forms_to("mawlana", "maulana mawlana moulana mowlana"),
    **_forms_to("mirza", "mirza mirzo"),
    **_forms_to("mufti", "mufti"),
    **_forms_to("qari", "qari qaari"),
    **_forms_to("ustad", "ustad ustaz ustadh ostad"),
    **_forms_to("khanum", "khanum khanom khanim"),
    **_forms_to("doctor", "dr doctor doktor"),
    **_forms_to("mister", "mr mister herr monsieur"),
    **_forms_to("missus", "mrs ms miss mme mlle madame frau"),
    **_forms_to("prof", "prof professor"),
    **_forms_to("eng", "eng engineer"),
    **_forms_to("ato", "ato"),
    **_forms_to("woizero", "woizero weyzero woyzero wro"),
    **_forms_to("woizerit", "woizerit weyzerit"),
}
_ABBREVIATIONS: Final = {
    **_forms_to("muhammad", "md mohd muhd mhd moh muh mmd"),
    "brahim": "ibrahim",  # Maghrebi short form
}
_ARTICLES: Final = _forms("al el ul il ol")
# the assimilated article (ar-Rashid, as-Sayed, ad-Din): only before its own letter
_SUN_ARTICLES: Final = _forms("ad ed ud ar er ur as es us at et ut an en un az ez uz ash esh ush")
_LINKS: Final = {
    **_forms_to("bin", "bin ben ibn ebn bn ibnu"),
    **_forms_to("bint", "bint binti bent bte"),
    **_forms_to("ould", "ould wuld walad wad"),
}
_ABD_HARD: Final = _forms(
    "abd abdul abdel abdal abdol abdil abdur abder abdar abdus abdes abdas abdun abden abdoul "
    "abdoel cabd cabdul"
)
_ABD_SOFT: Final = _forms("abdi abdu abdo abdou abdy cabdi")  # also names alone
_ABU: Final = _forms("abu abou abo aboo abul abol aboul bou")
_GHULAM: Final = _forms("ghulam gholam golam gulam ghulom gholom ghoulam")
_GEEZ_HARD: Final = {
    **_forms_to("gebre", "gebre gebra gabre gabra ghebre ghebra gebri gbre gebere"),
    **_forms_to("wolde", "wolde welde walde wolda walda wold weld"),
}
# Ge'ez prefixes that are also given names alone: they join only a saint's or God's name.
_GEEZ_SOFT: Final = {
    **_forms_to("haile", "haile hayle haila hayla"),
    **_forms_to("tesfa", "tesfa tesfe"),
    **_forms_to("kidane", "kidane kidana"),
    **_forms_to("habte", "habte habta hapte"),
    **_forms_to("zere", "zere zera zerea"),
    **_forms_to("berhane", "berhane birhane brhane berhana"),
    **_forms_to("tekle", "tekle tekla tekele takla"),
    **_forms_to("fikre", "fikre fkre fikra fiqre"),
    **_forms_to("sahle", "sahle sahla"),
    **_SLASH_EXPAND,  # "G. Medhin", "W Mariam": a lone initial before a saint's name
}
# Second parts of Ethiopian and Eritrean theophoric compounds, each spelling -> one canonical
# spelling (so that Gebre Selassie, Gebreselasie and ገብረሥላሴ meet exactly).
_GEEZ_TAILS: Final = {
    **_forms_to("mariam", "mariam maryam mariyam maryame"),
    **_forms_to("michael", "michael mikael mikail mikiel mikhael michel mikel"),
    **_forms_to(
        "selassie",
        "selassie selasie silassie sellassie slase selase sellasie silasie sillasie selasse "
        "silase",
    ),
    **_forms_to("medhin", "medhin medhn medihin medhen mehdin"),
    **_forms_to("medhane", "medhane medhanie medhanye"),
    **_forms_to(
        "egziabher",
        "egziabher egzabher egziabiher egziabeher igziabher gziabher ezgiabher egzi ezgi "
        "egziher gziher",
    ),
    **_forms_to("kidan", "kidan kidane"),
    **_forms_to("hiwet", "hiwet hiwot"),
    **_forms_to("yesus", "yesus iyesus eyesus iyasus"),
    **_forms_to("giorgis", "giorgis georgis ghiorghis giyorgis gorgis ghiorgis"),
    **_forms_to("kristos", "kristos christos krstos kirstos"),
    **_forms_to("amlak", "amlak"),
    **_forms_to("ab", "ab"),
    **_forms_to("gabriel", "gabriel gebriel"),
    **_forms_to("yohannes", "yohannes yohanes"),
    **_forms_to("tensae", "tensae tinsae tnsae"),
    **_forms_to("haimanot", "haimanot haymanot"),
    **_forms_to("tsion", "tsion tseyon zion tsiyon"),
    **_forms_to("alem", "alem"),
    **_forms_to("berhan", "berhan birhan"),
    **_forms_to("meskel", "meskel mesqel"),
    **_forms_to("libanos", "libanos"),
    **_forms_to("sadik", "sadik tsadik"),
    **_forms_to("hawariat", "hawariat"),
    **_forms_to("aregawi", "aregay aregawi"),
    **_forms_to("amanuel", "emanuel amanuel"),
}
_TAIL_FORMS: Final = {
    **_forms_to("allah", "allah ullah ollah ulla olla llah ellah illah ullahi allahi ullaahi"),
    **_forms_to(
        "din",
        "din deen dine ddin ddine eddine eddin uddin addin iddin oddin eldin aldin uldin eddeen "
        "uddeen",
    ),
    **_forms_to("haq", "haq haque huq haqq"),
    **_forms_to("islam", "islam islaam"),
    **_forms_to("huda", "huda hoda houda"),
}
# How a compound's second part is written and keyed, whatever the spelling.
_TAIL_TEXT: Final = {
    "allah": "ullah", "din": "uddin", "haq": "ulhaq", "islam": "ulislam", "huda": "ulhuda",
    "rahman": "urrahman",
}  # fmt: skip
_TAIL_KEY: Final = {
    "allah": "lh", "din": "dn", "haq": "hk", "islam": "slm", "huda": "hd", "rahman": "rhmn"
}  # fmt: skip
_JOINED_TAIL: Final = re.compile(
    r"^(?P<head>[a-z]{3,}?)(?:"
    r"(?P<allah>[aeiou]l+a+h?i?)"
    r"|(?P<din>(?:[aeiou]l|[aeiou])d+(?:i|ee|ii)ne?)"
    r"|(?P<haq>[aeiou]lh(?:aq|aque|uq|aqq))"
    r"|(?P<islam>[aeiou]lislaa?m)"
    r"|(?P<huda>[aeiou]lh(?:uda|oda))"
    r"|(?P<rahman>[aeiou]r+(?:a|e)h?maa?ne?))$"
)
# Words the pattern above would split by mistake (Western names ending in -ella, -dine ...).
_JOINED_TAIL_EXCEPT: Final = _forms(
    "claudine geraldine bernardine gerardine bernadine paladin blondine godine stella della "
    "bella calla nella ella gabriella isabella marcella daniella mirella graziella ornella "
    "rafaella raffaella arabella donatella estrella fenella antonella manuella mariella "
    "micaella pamella priscilla camilla drusilla cirilla attila ursula paula fadila nabila "
    "jamila jamilla camila lila leila leilah delilah lailah laila layla fadilah nabilah jamilah "
    "aqila akila adila adilah khalila halila shakila shakilah wakila gala hala shala killah "
    "zillah tallah"
)
# God's names after Abd: tell "Abdi Rahman" (one name) from "Abdi Hassan" (two names), and
# abdulatif (al-Latif) from abdulatif read as al-Atif.
_DIVINE: Final = _forms(
    "rahman rahim karim kareem aziz qadir kadir qader kader gadir razak razaq razzaq rizak latif "
    "lateef majid majeed hamid hameed salam salaam malik wahab wahhab hakim hakeem halim jabbar "
    "ghani fattah fatah basit baset hadi nasir nasser naser wahid wahed samad qayyum qayum kayum "
    "hafiz baqi rauf raouf ghafur ghafoor ghaffar ghafar jalil jaleel jawad mannan muttalib "
    "mutalib ilah mumin momin muhsin mohsen qahhar kahar sattar wadud khaliq bari haq hay hayy "
    "kabir azim azeem alim aleem sabur shakur shakoor wali matin rashid quddus kuddus nur noor "
    "nour rab moneim munim muti nabi hussein hussain zahra amir ameer rasul rasool sami samie "
    "ahad wakil wakeel raheem raxmaan rahmaan rehman qawi kawi mughni jalal jamal hamed kafi "
    "shafi basir mohaimen"
)
# Those of God's names that are rarely a person's own name: only they join Abdi / Abdu / Abdo
# written apart ("Abdi Hassan", "Abdi Omar" are a person and his father).
_DIVINE_SOFT: Final = _forms(
    "rahman rahmaan raxmaan rehman rahim raheem razak razaq razzaq rizak rizaq latif lateef "
    "qadir kadir qader kader gadir qaadir kaadir aziz casiis wahab wahhab salam salaam samad "
    "fattah fatah basit baset ghani ghafur ghafoor ghaffar ghafar jabbar qayyum qayum kayum "
    "mannan muttalib mutalib ilah sattar wadud khaliq qahhar kahar ahad baqi rauf raouf"
)
_PERSIAN_HEADS: Final = _forms("ali amir mohammad mohamad muhammad mohammed mir")
_PERSIAN_TAILS: Final = _forms(
    "reza reda riza hossein hosein hussain hussein husain ali akbar asghar askar mohammad "
    "mohamad muhammad javad jawad jafar jaafar mahdi mehdi sadegh sadeq sadiq taghi taqi naghi "
    "naqi bagher baqer baqir kazem kazim hasan hassan ebrahim ibrahim esmail ismail hadi karim "
    "rahim amin"
)


class _Comp(NamedTuple):
    """A component of a name part: its role, folded or canonical text and Arabic spelling."""

    role: str  # name | title | article | link | prefix | softprefix | tail
    text: str
    arabic: str | None = None  # cleaned Arabic spelling (keyed by the Arabic rules)
    canon: str = ""  # canonical form of a title, link, prefix or tail


def _arabic_comp(word: _Word) -> _Comp:
    """Component of a word from Arabic script (already split by _arabic_words)."""
    ar = word.arabic or ""
    if ar in _AR_TITLES:
        return _Comp("title", _AR_TITLES[ar], None, _AR_TITLES[ar])
    if ar == _AR_ARTICLE:
        return _Comp("article", "al")
    if ar in _AR_TAILS:
        return _Comp("tail", _AR_TAILS[ar], None, _AR_TAILS[ar])
    if ar in _AR_FUNCTION:
        canon = _AR_FUNCTION[ar]
        if canon in ("bin", "bint", "ould"):
            return _Comp("link", canon, None, canon)
        if canon == "al":
            return _Comp("article", "al")
        return _Comp("prefix", canon, None, canon)
    return _Comp("name", word.text, ar)


def _decompose(word: _Word) -> tuple[_Comp, ...]:
    """Components of one folded word: roles of function words, joined compounds split."""
    if word.arabic is not None:
        return (_arabic_comp(word),)
    return _decompose_cached(word.text)


@functools.lru_cache(maxsize=1 << 16)
def _decompose_cached(text: str) -> tuple[_Comp, ...]:
    return tuple(_decompose_latin(text, _dicts()))


def _decompose_latin(text: str, dicts: _Dictionaries) -> list[_Comp]:
    """Components of one folded Latin word (``dicts`` only for the joined article)."""
    if text in _TITLES:
        return [_Comp("title", _TITLES[text], None, _TITLES[text])]
    if text in _ABBREVIATIONS:
        return [_Comp("name", _ABBREVIATIONS[text])]
    if text in _ARTICLES or text in _SUN_ARTICLES:
        return [_Comp("article", text)]
    if text in _LINKS:
        return [_Comp("link", text, None, _LINKS[text])]
    if text in _ABD_HARD:
        return [_Comp("prefix", text, None, "abd")]
    if text in _ABD_SOFT:
        return [_Comp("softprefix", text, None, "abd")]
    if text in _ABU:
        return [_Comp("prefix", text, None, "abu")]
    if text in _GHULAM:
        return [_Comp("prefix", text, None, "ghulam")]
    if text in _GEEZ_HARD:
        return [_Comp("prefix", text, None, _GEEZ_HARD[text])]
    if text in _GEEZ_SOFT:
        return [_Comp("softprefix", text, None, _GEEZ_SOFT[text])]
    if text in _TAIL_FORMS:
        return [_Comp("tail", text, None, _TAIL_FORMS[text])]
    if len(text) > _MAX_WORD:
        return [_Comp("name", text)]
    return _split_joined(text, dicts)


_ABD_JOINED: Final = re.compile(r"^c?abd(?P<rest>[a-z]+)$")
_ABU_JOINED: Final = re.compile(
    r"^(?:abu|abou|abo|aboo)(?:l(?=[b-df-hj-np-tv-z]))?(?P<rest>[b-df-hj-np-tv-z][a-z]{2,})$"
)
_GHULAM_JOINED: Final = re.compile(r"^(?:ghulam|gholam|golam|gulam|ghoulam)(?P<rest>[a-z]{3,})$")
_GEEZ_JOINED: Final = re.compile(
    r"^(?P<pre>gebre|gebra|gabre|gabra|ghebre|ghebra|gebri|gbre|gebr|ghebr|gabr|wolde|welde|"
    r"walde|wolda|walda|wold|weld|haile|hayle|tesfa|kidane|habte|zere|berhane|birhane|brhane|"
    r"tekle|fikre|fkre|sahle)"
    r"(?P<rest>[a-z]{2,})$"
)
_ALLAH_REST: Final = re.compile(r"[aeiou]?l+a+h?i?")


def _split_joined(text: str, dicts: _Dictionaries) -> list[_Comp]:
    """Split a joined Latin compound: Abdulrahman, Abubakar, Gebremedhin, Nasrullah, Alireza."""
    m = _ABD_JOINED.match(text)
    if m and text not in _ABD_SOFT:
        rest = _abd_rest(m.group("rest"), dicts)
        if rest is not None:
            return [_Comp("prefix", "abd", None, "abd"), *rest]
    m = _ABU_JOINED.match(text)
    if m:
        return [_Comp("prefix", "abu", None, "abu"), *_split_joined(m.group("rest"), dicts)]
    m = _GHULAM_JOINED.match(text)
    if m:
        return [_Comp("prefix", "ghulam", None, "ghulam"), *_split_joined(m.group("rest"), dicts)]
    m = _GEEZ_JOINED.match(text)
    if m:
        pre, second = m.group("pre"), m.group("rest")
        if pre in _GEEZ_HARD and len(second) >= 3:
            return [_Comp("prefix", pre, None, _GEEZ_HARD[pre]), _Comp("name", second)]
        if second in _GEEZ_TAILS and (pre in _GEEZ_SOFT or pre in ("gebr", "ghebr", "gabr")):
            canon = _GEEZ_SOFT.get(pre) or "gebre"
            return [_Comp("softprefix", pre, None, canon), _Comp("name", second)]
    if text not in _JOINED_TAIL_EXCEPT:
        m = _JOINED_TAIL.match(text)
        if m:
            head = m.group("head")
            tail = next(k for k in _TAIL_TEXT if m.group(k))
            if tail != "rahman" or head[-1] not in _VOWELS:
                return [*_split_joined(head, dicts), _Comp("tail", tail, None, tail)]
    if text[:2] in ("al", "el") and len(text) >= 6 and text[2] not in _VOWELS:
        bare = text[2:]
        if text in dicts.al_forms or (text not in dicts.latin_forms and bare in dicts.latin_forms):
            # joined article (Alrashid, Elsayed): the file shows it, or the rest is a known name
            return [_Comp("article", text[:2]), *_split_joined(bare, dicts)]
    for head in _PERSIAN_HEADS:
        if text.startswith(head) and text[len(head) :] in _PERSIAN_TAILS:
            return [_Comp("name", head), _Comp("name", text[len(head) :])]
    return [_Comp("name", text)]


_KEY_VOWELS: Final = re.compile("[aeiouwy]")


@functools.lru_cache(maxsize=1 << 16)
def _consonants(text: str) -> str:
    """Consonants of the rule key of a folded token (memoised: asked per name part)."""
    return _KEY_VOWELS.sub("", _rule_key_latin(text))


@functools.lru_cache(maxsize=1)
def _divine_consonants() -> frozenset[str]:
    return frozenset(_consonants(d) for d in _DIVINE)


@functools.lru_cache(maxsize=1)
def _divine_soft_consonants() -> frozenset[str]:
    return frozenset(_consonants(d) for d in _DIVINE_SOFT)


def _is_divine(text: str) -> bool:
    return _consonants(text) in _divine_consonants()


def _abd_rest(s: str, dicts: _Dictionaries) -> list[_Comp] | None:
    """Parse what follows "abd" in a joined word: [allah], [X] or None (not Abd + name).

    The article may be written ul/el/al/il/ol, assimilated (ur-, us-; fold collapsed the doubled
    letter) or left out (Abdirahman); where two readings are possible (abdulatif: al-Atif or
    al-Latif?) the one giving a name of God wins.
    """
    if _ALLAH_REST.fullmatch(s):
        return [_Comp("tail", "allah", None, "allah")]
    candidates = []
    if len(s) >= 5 and s[0] in _VOWELS and s[1] == "l":
        candidates.append(s[2:])  # abd + ul + X
    if len(s) >= 4 and s[0] in _VOWELS:
        candidates.append(s[1:])  # abd + u + X (assimilated article or linking vowel)
    if len(s) >= 3 and s[0] not in _VOWELS:
        candidates.append(s)  # abd + X
    if not candidates:
        return None
    chosen = next((c for c in candidates if _is_divine(c)), candidates[0])
    return _split_joined(chosen, dicts)


# ==================================================================================================
# Grouping components into tokens
# ==================================================================================================

_PREFIX_TEXT: Final = {"abd": "abdul", "abu": "abu", "ghulam": "ghulam"}
_PREFIX_KEY: Final = {"abd": "abd", "abu": "abw"}


def _prefix_key(canon: str) -> str:
    return _PREFIX_KEY.get(canon) or _rule_key_latin(canon)


def _comp_key(comp: _Comp) -> str:
    if comp.arabic is not None:
        return _canonical_key(_dicts(), comp.arabic) or _rule_key_arabic(comp.arabic)
    return variant_key(comp.text)


def _strip_a(key: str) -> str:
    """Key of a compound's second part: its vowel-initial mark dropped (joined or split alike)."""
    return key[1:] if len(key) > 1 and key[0] == "a" else key


def _skip_articles(comps: list[_Comp], i: int) -> int:
    while i < len(comps) and comps[i].role == "article":
        i += 1
    return i


def _prefix_fits(prefix: _Comp, nxt: _Comp) -> bool:
    """Whether a prefix joins the next component (a soft prefix only before its partners)."""
    if nxt.role not in ("name", "tail"):
        return False
    if prefix.role == "prefix":
        return True
    if prefix.canon == "abd":
        if nxt.role == "tail":
            return True
        return _consonants(nxt.text) in _divine_soft_consonants()
    return nxt.text in _GEEZ_TAILS


def _geez_rest(prefix: _Comp, rest: _Comp) -> _Comp:
    """The second part of a Ge'ez compound in its canonical spelling, if it is a known one."""
    canon = _GEEZ_TAILS.get(rest.text) if prefix.canon not in _PREFIX_KEY else None
    return _Comp("name", canon) if canon and rest.arabic is None else rest


def _plain_token(c: _Comp) -> NameToken:
    """Token of a component standing alone (a prefix or tail without its partner is a name)."""
    if c.role == "name" and c.arabic is None:
        return _latin_name_token(c.text)
    if c.role == "tail":
        return NameToken(c.canon, _rule_key_latin(c.canon), "name")
    if c.role == "link":
        return NameToken(c.text, c.canon, "name")  # "Ben" alone is a given name
    if c.role == "prefix" and c.canon == "abd":
        return NameToken(c.text, "abd", "name")
    if c.role in ("prefix", "softprefix") and c.arabic is None and c.canon in _PREFIX_KEY:
        return NameToken(c.text, _rule_key_latin(c.text), "name")
    return NameToken(c.text, _comp_key(c) or "a", "name")


@functools.lru_cache(maxsize=1 << 16)
def _latin_name_token(text: str) -> NameToken:
    """Token of a plain Latin name (memoised: one word recurs in many distinct name parts)."""
    return NameToken(text, variant_key(text) or "a", "name")


def _attach(base: NameToken, tail: str) -> NameToken:
    """Join a theophoric second part (al-Din, Allah, ul-Haq ...) to a name token."""
    return NameToken(_collapse(base.text + _TAIL_TEXT[tail]), base.key + _TAIL_KEY[tail], "name")


_ARTICLE_SUFFIX: Final = re.compile(r"([a-z]{3,}?)u(?:sh|[lrsdtnz])")


_NAMING_ROLES: Final = frozenset({"name", "prefix", "softprefix", "tail"})
"""Roles of components that make a name of their own (or with their partner)."""


def _group(comps: list[_Comp]) -> list[NameToken]:
    """Group the components of one name part into tokens (rules in name_tokens)."""
    out: list[NameToken] = []
    n = len(comps)
    i = 0
    while i < n:
        c = comps[i]
        if c.role == "title":
            # An honorific stands before the name it honours (Haji Ahmed, Sayed Ali). Last in a
            # part, or alone in it (Mohammad | Syed), the same word is a family or father's
            # name: Syed, Sheikh, Mirza and Haji are common ones in South Asia and Somalia, and
            # dropping them would leave such a record one name key short. Its key stays the
            # canonical title, so every spelling agrees and it never meets a rule key (Said).
            honours = any(d.role in _NAMING_ROLES for d in comps[i + 1:])
            kind: TokenKind = "title" if honours else "name"
            out.append(NameToken(c.canon, c.canon, kind))
            i += 1
            continue
        if c.role == "article":
            j = _skip_articles(comps, i + 1)
            if j < n and (
                c.text in _ARTICLES
                or comps[j].arabic is not None
                or comps[j].text[:1] == c.text[1:2]
            ):
                i += 1  # the article belongs to the next name and says nothing itself
            else:
                out.append(_plain_token(c))
                i += 1
            continue
        if c.role == "link":
            out.append(NameToken(c.canon, c.canon, "particle") if i + 1 < n else _plain_token(c))
            i += 1
            continue
        # a chain of prefixes and the name they bind (Abu Abd Allah, Gebre Medhin, Abd al-X)
        prefixes: list[_Comp] = []
        while c.role in ("prefix", "softprefix"):
            j = _skip_articles(comps, i + 1)
            if j < n and comps[j].role in ("prefix", "softprefix") and c.role == "prefix":
                prefixes.append(c)
                i, c = j, comps[j]
                continue
            if j < n and _prefix_fits(c, comps[j]):
                prefixes.append(c)
                i, c = j, _geez_rest(c, comps[j])
            break
        if c.role in ("prefix", "softprefix"):
            base = _plain_token(c)  # dangling: "Abdul" at the end of a part
        elif c.role == "tail":
            text = _TAIL_TEXT[c.canon] if prefixes else c.canon  # Abd + Allah = "abdullah"
            base = NameToken(text, _TAIL_KEY[c.canon], "name")
        else:
            base = _plain_token(c)
            # "Fazlur Rahman", "Ikramul Haq": the article hangs on the first word
            if i + 1 < n and c.arabic is None and comps[i + 1].arabic is None:
                nxt = comps[i + 1]
                tail = nxt.canon if nxt.role == "tail" else ""
                if not tail and nxt.role == "name" and _consonants(nxt.text) == "rhmn":
                    tail = "rahman"
                m = _ARTICLE_SUFFIX.fullmatch(c.text)
                if tail and m:
                    base = _attach(_plain_token(_Comp("name", m.group(1))), tail)
                    i += 1
        i += 1
        # theophoric second parts that follow: Nasr Allah, Salah al-Din, Fazl al-Rahman
        while True:
            k = _skip_articles(comps, i)
            if k < n and comps[k].role == "tail":
                base = _attach(base, comps[k].canon)
                i = k + 1
            elif k > i and k < n and comps[k].role == "name" and _rahman(comps[k]):
                base = _attach(base, "rahman")
                i = k + 1
            else:
                break
        for p in reversed(prefixes):
            text = _PREFIX_TEXT.get(p.canon, p.canon)
            if p.canon == "abd" and base.text == "ullah":
                text = "abd"
            base = NameToken(
                _collapse(text + base.text), _prefix_key(p.canon) + _strip_a(base.key), "name"
            )
        out.append(base)
    return out


def _rahman(comp: _Comp) -> bool:
    if comp.arabic is not None:
        return _rule_key_arabic(comp.arabic) == "rhmn"
    return _consonants(comp.text) == "rhmn"


class _AsciiWord(NamedTuple):
    """What one lowercase ASCII word of a name part contributes, worked out once per word.

    Attributes:
        comps: its components, exactly as :func:`_decompose` gives them for the folded word.
        tokens: what :func:`_group` makes of those components alone.
        opens: its last component may take the next word into its token or decide by it
            (a prefix, an article, a particle, a title: *Abd* | *Allah*, *al* | *Rashid*,
            *bin* | *X*, *Haji* | *Ahmed*).
        closes: its first component may join the word before (a tail, an article that may
            carry one, or Rahman: *Nasr* | *Allah*, *Salah* | *al-Din*, *Fazlur* | *Rahman*).
    """

    comps: tuple[_Comp, ...]
    tokens: tuple[NameToken, ...]
    opens: bool
    closes: bool


_OPENING_ROLES: Final = frozenset(["prefix", "softprefix", "article", "link", "title"])
_CLOSING_ROLES: Final = frozenset(["tail", "article"])


@functools.lru_cache(maxsize=1 << 16)
def _ascii_word(raw: str) -> _AsciiWord:
    """Fold, decompose and group one lowercase ASCII word (as ``_fold_words`` finds it).

    Distinct name parts are mostly new combinations of a few thousand words, so the per-word
    work (folding, splitting compounds, keying, grouping) is memoised here, and a part costs
    little more than splitting it into words.
    """
    comps = _decompose_cached(_collapse(raw.replace("'", "").replace("`", "")))
    first = comps[0]
    closes = first.role in _CLOSING_ROLES or (
        first.role == "name" and _consonants(first.text) == "rhmn"
    )
    opens = comps[-1].role in _OPENING_ROLES
    return _AsciiWord(comps, tuple(_group(list(comps))), opens, closes)


@functools.lru_cache(maxsize=1 << 17)
def _part_tokens(part: str) -> tuple[NameToken, ...]:
    """Tokens of one name part (memoised: parts repeat across records).

    Fast path for an ASCII part without a slash (most parts): its words are read one by one
    through :func:`_ascii_word`, the same folding and decomposition as :func:`_fold_words`
    gives. :func:`_group` scans left to right and looks past a word only where that word opens
    or the next one closes (:class:`_AsciiWord`), so between any other two words the part
    splits into runs that group on their own: a run of one word reuses that word's tokens, a
    longer run is grouped. Anything else takes :func:`_part_tokens_general`, which the fast
    path must always agree with (property-tested).
    """
    if not part.isascii() or "/" in part:
        return _part_tokens_general(part)
    words = [_ascii_word(raw) for raw in _ASCII_WORDS.findall(part.lower())]
    if len(words) == 1:
        return words[0].tokens
    if len(words) == 2 and not (words[0].opens or words[1].closes):
        return words[0].tokens + words[1].tokens
    out: list[NameToken] = []
    start = 0
    for end in range(1, len(words) + 1):
        if end < len(words) and (words[end - 1].opens or words[end].closes):
            continue  # the two words may form one token: keep them in one run
        if end - start == 1:
            out.extend(words[start].tokens)
        else:
            out.extend(_group([c for w in words[start:end] for c in w.comps]))
        start = end
    return tuple(out)


def _part_tokens_general(part: str) -> tuple[NameToken, ...]:
    """Tokens of one name part in any script: fold into words, decompose, group."""
    comps: list[_Comp] = []
    for word in _fold_words(part):
        comps.extend(_decompose(word))
    return tuple(_group(comps))


@functools.lru_cache(maxsize=1 << 17)
def name_tokens(
    given: str | None, family: str | None, full: str | None = None
) -> tuple[NameToken, ...]:
    """Tokens of a person's name: one bag over given names, family name and full name.

    Order: given, then family, then the tokens of ``full`` whose key is not present yet; a
    token whose key was seen earlier is dropped. Empty, missing or blank parts give nothing.
    Each part is read on its own, so swapping given and family names gives the same bag.

    Particles and compounds:

    * the article (al-, el-, ul-; ar-, as-, ad- ... before their own letter; ال; آل) is
      absorbed by the following name: clerks write *al-Rashid*, *Al Rashid*, *Alrashid* and
      *Rashid* for one person, and "al" alone is no evidence;
    * *Abd* + name is one token (Abd al-Rahman = Abdul Rahman = Abdurrahman = Abderrahmane =
      Abdelrahman = Cabdiraxmaan = عبد الرحمن), as are X + Allah (Abdullah = Abd Allah;
      Nasrullah = Nasr Allah), X + al-Din (Salahuddin = Salah al-Din), X + ul-Haq, ul-Islam,
      ul-Huda and ur-Rahman (Fazlur Rahman); *Abdi*, *Abdu*, *Abdo* join only a name of God
      (Abdi Rahman, but Abdi Hassan is two names);
    * *Abu* + name is one token: a kunya (Abu Bakr = Abubakar) is a name in its own right;
    * *bin*, *ibn*, *ben*, *bint*, *ould* followed by a name are emitted as
      ``kind="particle"`` with canonical text and key "bin", "bint" or "ould" (never a name's
      key): a patronymic link says "the next word is the father", structure for scoring but no
      identity of its own, and clerks often drop it; last in a part (*Ben*), it is a name;
    * Ge'ez prefixes join the following name (Gebremedhin = Gebre Medhin = G/Medhin =
      ገብረመድህን; Wolde, Ghulam likewise); *Haile*, *Kidane*, *Tekle*, *Berhane*, *Tesfa*,
      *Habte* only before a saint's or God's name, as they are given names too;
    * joined Persian pairs of names are split (Alireza = Ali Reza, Mohammadreza);
    * Md, Mohd, Muhd are Muhammad; titles (haji, mullah, sheikh, sayed, mawlawi, mirza, dr,
      mr ...) before a name in their part get ``kind="title"`` with a canonical text, which is
      also their key; last in a part or alone (Mohammad | Syed) the word is a family or
      father's name: ``kind="name"``, with the same canonical text and key.

    Args:
        given: given name(s), any script.
        family: family name(s), any script.
        full: optional full name; only its tokens not already present are added.

    Returns:
        The tokens, deduplicated by key.
    """
    if not family and not full and given and not given.isspace():
        # one part (how the encoder asks): its tokens, unless two share a key
        tokens = _part_tokens(given)
        if len(tokens) < 2 or (len(tokens) == 2 and tokens[0].key != tokens[1].key):
            return tokens
    out: list[NameToken] = []
    seen: set[str] = set()
    for part in (given, family, full):
        if not part or part.isspace():
            continue
        for tok in _part_tokens(part):
            if tok.key not in seen:
                seen.add(tok.key)
                out.append(tok)
    return tuple(out)


def _clear_caches() -> None:
    """Forget memoised results (benchmarks and tests that switch the dictionary)."""
    for fn in (
        _fold_words,
        variant_key,
        _decompose_cached,
        _latin_name_token,
        _ascii_word,
        _part_tokens,
        name_tokens,
    ):
        fn.cache_clear()


def _use_dictionaries(dictionaries: _Dictionaries | None) -> None:
    """Use the given dictionaries (None: rules only) instead of the bundled ones."""
    _ENABLED["dictionary"] = dictionaries is not None
    _STATE["dictionaries"] = dictionaries
    _clear_caches()
