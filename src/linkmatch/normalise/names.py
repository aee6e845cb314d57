"""Personal names -> folded tokens with transliteration-tolerant variant keys.

PLACEHOLDER DOCSTRING (final numbers are filled in after measurement).
"""

from __future__ import annotations

import functools
import random
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
        text: folded Latin spelling, ``[a-z]+`` (q-grams of it feed the Bloom filters).
        key: variant key, ``[a-z0-9]+``: spelling variants of one name share it.
        kind: ``"name"``, ``"particle"`` (a patronymic link word such as *bin*) or ``"title"``
            (an honorific such as *haji*; low evidential weight, but kept).
    """

    text: str
    key: str
    kind: TokenKind


# ==================================================================================================
# Tunable rule switches (chosen by measurement with benchmarks/name_keys.py; see module docstring)
# ==================================================================================================

_RULES: dict[str, object] = {
    "collapse_vowels": False,  # collapse doubled vowels in fold (ee -> e) as well as consonants
    "single_i_long": False,  # a lone i between the last two consonants marks a long vowel
    "single_u_long": False,  # a lone u / o there marks a long vowel
    "th": "t",  # class of Latin/Arabic "th"
    "g": "k",  # class of g: "g" (own), "j" (= j), "k" (= k/q)
    "gh": "k",  # class of gh / غ
    "v": "w",  # class of v: "w" or "f"
    "p": "b",  # class of p: "p" or "b"
    "ch": "x",  # class of ch: "x" (= sh) or "k"
    "kh": "h",  # class of kh: "h" or "k"
    "alef_maksura": "a",  # Arabic ى read as "a" (final alef) or "y"
    "initial_marker": True,  # keys of vowel-initial names start with "a"
    "final_marker": True,  # final -i/-y and -o/-u leave "y" / "w" at the end of the key
    "ts": "c",  # class of ts / tz / ц
    "ye_initial": True,  # initial ye/ie before v, l, k, g, f counts as a vowel (Yevgeny = Evgeny)
    "iu_glide": False,
    "y_slot": False,
    "y_vowel": True,  # a non-initial y is a vowel letter (Arabic medial ي never shows either)  # a long i of the final syllable leaves "y" (Hussein vs Hassan)
    "u_glide": True,  # u between a consonant and a, i, o is a glide (Luis, Fuad = فؤاد)
    "dz": True,  # d and z one class (ض is d or z or dh: Reda = Reza = Ridha, Ramadan = Ramazan)
    "u_after_cluster": True,  # lone u/o after two adjacent consonants is long (Mahmud, Mansur)  # i / ou before a vowel after a consonant is a glide (Ziad = Ziyad)
}


# ==================================================================================================
# Script folding
# ==================================================================================================

_ARABIC_HARAKAT: Final = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_LETTER: Final = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_CYRILLIC: Final = re.compile("[\u0400-\u04ff]")
_ETHIOPIC: Final = re.compile("[\u1200-\u139f\u2d80-\u2ddf\uab00-\uab2f]")

# Arabic-script letters merged before anything else: spelling variants of one letter, and the
# Persian, Pashto, Urdu and Maghrebi letters, so that one name written in any of these
# orthographies reaches the same skeleton.
_ARABIC_MERGE: Final = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ٲ": "ا",
        "ٳ": "ا",
        "ی": "ي",
        "ې": "ي",
        "ۍ": "ي",
        "ێ": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ۆ": "و",
        "ۇ": "و",
        "ۈ": "و",
        "ۋ": "و",
        "ء": "",
        "ک": "ك",
        "ڪ": "ك",
        "ګ": "ك",
        "ھ": "ه",
        "ہ": "ه",
        "ە": "ه",
        "ۀ": "ه",
        "ۃ": "ة",
        "ڤ": "ف",
        "ڥ": "ف",
        "ڨ": "ق",
        "ٹ": "ت",
        "ټ": "ت",
        "ډ": "د",
        "ڈ": "د",
        "ړ": "ر",
        "ڑ": "ر",
        "ڼ": "ن",
        "ں": "ن",
        "ښ": "ش",
        "ږ": "ژ",
        "ځ": "ز",
        "څ": "س",
        "ڭ": "گ",
        "\u200c": "",
        "\u200d": "",
    }
)

# Arabic-script letters -> the Latin letters used by the key rules. anyascii gives the same for
# most; the table makes the skeleton independent of anyascii's choices for the letters that
# matter (ayn and hamza marks, Persian letters).
_ARABIC_LATIN: Final = {
    "ا": "",
    "ب": "b",
    "پ": "p",
    "ت": "t",
    "ث": "th",
    "ج": "j",
    "چ": "ch",
    "ح": "h",
    "خ": "kh",
    "د": "d",
    "ذ": "dh",
    "ر": "r",
    "ز": "z",
    "ژ": "zh",
    "س": "s",
    "ش": "sh",
    "ص": "s",
    "ض": "d",
    "ط": "t",
    "ظ": "z",
    "ع": "",
    "غ": "gh",
    "ف": "f",
    "ق": "q",
    "ك": "k",
    "گ": "g",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    "ة": "",
    "و": "w",
    "ي": "y",
    "ى": "",
}

_CYR_COMMON: Final = {
    "а": "a",
    "б": "b",
    "в": "v",
    "д": "d",
    "ж": "zh",
    "з": "z",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ь": "",
    "ъ": "",
    "'": "",
    "’": "",
    "ʼ": "",
}
# Russian: the ICAO 9303 passport romanisation (e, not ye; i for й).
_CYR_RU: Final = {
    **_CYR_COMMON,
    "г": "g",
    "е": "e",
    "ё": "e",
    "и": "i",
    "й": "i",
    "ы": "y",
    "э": "e",
    "ю": "iu",
    "я": "ia",
}
# Ukrainian: the official romanisation of 2010 (Cabinet resolution 55), used in passports.
_CYR_UK: Final = {
    **_CYR_COMMON,
    "г": "h",
    "ґ": "g",
    "е": "e",
    "є": "ie",
    "и": "y",
    "і": "i",
    "ї": "i",
    "й": "i",
    "ю": "iu",
    "я": "ia",
}
_CYR_UK_INITIAL: Final = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_UKRAINIAN_MARK: Final = frozenset("іїєґ")

# Latin letters whose decomposition does not remove the mark, or whose usual transliteration
# differs from the bare base letter (Turkish, Kurdish, Albanian, Slavic, Romanian sh / ch / zh).
_LATIN_SPECIAL: Final = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ş": "sh",
        "ș": "sh",
        "š": "sh",
        "ç": "ch",
        "č": "ch",
        "ć": "ch",
        "ž": "zh",
        "ţ": "ts",
        "ț": "ts",
        "ħ": "h",
        "ŋ": "ng",
        "ĸ": "q",
        "ſ": "s",
    }
)

# Marks of ayn and hamza in Latin transliterations: removed (the key cannot rely on them).
_APOSTROPHES: Final = frozenset("'`´ʹʻʼʽʾʿˈˊˋ‘’‛′")

# Ethiopian naming: "G/Medhin" is Gebre Medhin, "W/Mariam" Wolde Mariam, "W/ro" the title
# Woizero. Expanded while folding, because the slash is gone afterwards.
_SLASH_ABBREV: Final = re.compile(r"(?<![a-z])([gwhkt]|w/ro|w/rt|w/t)\s*/\s*(?=[a-z])")
_SLASH_EXPAND: Final = {"g": "gebre ", "w": "wolde ", "h": "haile ", "k": "kidane ", "t": "tekle "}
_SLASH_TITLES: Final = re.compile(r"(?<![a-z])w\s*/\s*(ro|rt|t)(?![a-z])")


def _collapse(text: str) -> str:
    """Collapse doubled letters (consonants always; vowels only if the rule says so)."""
    if _RULES["collapse_vowels"]:
        return re.sub(r"([a-z])\1+", r"\1", text)
    return re.sub(r"([b-df-hj-np-tv-z])\1+", r"\1", re.sub(r"([aeiou])\1{2,}", r"\1\1", text))


class _Word(NamedTuple):
    """A folded word; ``arabic`` keeps the cleaned Arabic spelling when it came from that script."""

    text: str
    arabic: str | None


def _clean_arabic(word: str) -> str:
    """Remove vowel signs and tatweel and merge letter variants of an Arabic-script word."""
    word = _ARABIC_HARAKAT.sub("", word)
    # an initial hamzated alef stays apart from the bare alef of the article: ألبرت (Albert) and
    # إلهام (Elham) do not begin with al-, الرشيد does
    initial = "أ" if word[:1] in ("أ", "إ", "آ") else ""
    word = initial + word[len(initial) :].translate(_ARABIC_MERGE)
    return "".join(ch for ch in word if "\u0600" <= ch <= "\u06ff")


def _arabic_skeleton(word: str) -> str:
    """Latin consonant skeleton of a cleaned Arabic-script word (letters the key rules read)."""
    out = []
    maksura = "y" if _RULES["alef_maksura"] == "y" else ""
    for ch in word:
        if ch == "ى":
            out.append(maksura)
        else:
            out.append(_ARABIC_LATIN.get(ch, anyascii(ch).lower()))
    return re.sub("[^a-z]", "", "".join(out))


def _cyrillic_to_latin(word: str) -> str:
    """Transliterate one Cyrillic word (Ukrainian if it has a Ukrainian-only letter)."""
    low = word.lower()
    ukrainian = any(ch in _UKRAINIAN_MARK for ch in low)
    table = _CYR_UK if ukrainian else _CYR_RU
    out = []
    for i, ch in enumerate(low):
        if ukrainian and i == 0 and ch in _CYR_UK_INITIAL:
            out.append(_CYR_UK_INITIAL[ch])
        elif ch in table:
            out.append(table[ch])
        else:
            out.append(anyascii(ch).lower())
    return "".join(out)


def _ethiopic_to_latin(word: str) -> str:
    """Transliterate a Ge'ez-script word with anyascii and resolve its glottal marks.

    anyascii writes the glottal stop (alef, ayin) as ' or `; before a consonant it stands for a
    vowel-initial syllable (እግዚ -> 'gzi -> egzi), elsewhere it is an ejective mark or a hiatus.
    """
    latin = anyascii(word).lower()
    latin = re.sub(r"['`](?=[bcdfghjklmnpqrstvwxyz])", "e", latin)
    return re.sub(r"['`]", "", latin)


def _fold_latin(word: str) -> str:
    """Fold a Latin-script (or already transliterated) word to [a-z]*."""
    word = word.lower().translate(_LATIN_SPECIAL)
    word = unicodedata.normalize("NFKD", word)
    word = "".join(ch for ch in word if not unicodedata.combining(ch) and ch not in _APOSTROPHES)
    word = word.translate(_LATIN_SPECIAL)
    if not word.isascii():
        word = anyascii(word).lower()
    return re.sub("[^a-z]", "", word)


def _split_runs(text: str) -> Iterator[tuple[str, str]]:
    """Split text into (script, word) runs; separators and non-letters end a word."""
    buf: list[str] = []
    script = ""
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in _APOSTROPHES and script in ("latin", "ethiopic"):
            buf.append(ch)
            continue
        if cat[0] not in "LM":
            if buf:
                yield script, "".join(buf)
                buf = []
            script = ""
            continue
        if _ARABIC_LETTER.match(ch):
            s = "arabic"
        elif _CYRILLIC.match(ch):
            s = "cyrillic"
        elif _ETHIOPIC.match(ch):
            s = "ethiopic"
        elif cat[0] == "M":
            s = script or "latin"
        else:
            s = "latin"
        if buf and s != script:
            yield script, "".join(buf)
            buf = []
        script = s
        buf.append(ch)
    if buf:
        yield script, "".join(buf)


@functools.lru_cache(maxsize=1 << 17)
def _fold_words(text: str) -> tuple[_Word, ...]:
    """Fold raw text into words; Arabic-script words keep their cleaned spelling for the key."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    text = text.casefold()
    text = _SLASH_TITLES.sub(lambda m: " woizero " if m.group(1) in ("ro", "rt") else " woizerit ", text)
    text = _SLASH_ABBREV.sub(lambda m: " " + _SLASH_EXPAND[m.group(1)], text)
    words: list[_Word] = []
    for script, raw in _split_runs(text):
        if script == "arabic":
            cleaned = _clean_arabic(raw)
            if cleaned:
                words.extend(_arabic_words(cleaned))
            continue
        if script == "cyrillic":
            latin = _cyrillic_to_latin(raw)
        elif script == "ethiopic":
            latin = _ethiopic_to_latin(raw)
        else:
            latin = raw
        folded = _collapse(_fold_latin(latin))
        if folded:
            words.append(_Word(folded, None))
    return tuple(words)


def fold(text: str) -> str:
    """Fold a name in any script to lowercase ASCII words separated by single spaces.

    NFKC, casefolding, accents removed (Turkish/Slavic ş, š, ç, č, ž become sh, ch, zh, the way
    clerks spell them), ayn/hamza apostrophes removed, punctuation and hyphens turned into word
    breaks, doubled consonants collapsed. Arabic, Persian and Pashto script is cleaned (vowel
    signs, tatweel, letter variants) and spelled in its most frequent Latin form when the bundled
    dictionary knows it, else as its consonant skeleton; the article ال becomes the word "al".
    Cyrillic follows the passport romanisations (Ukrainian 2010, ICAO for Russian); Ge'ez goes
    through anyascii. ``G/Medhin`` becomes ``gebre medhin`` (Ethiopian abbreviations use the
    slash, which is gone afterwards).

    Args:
        text: raw name text, any script.

    Returns:
        Folded text: words of ``[a-z]+`` separated by single spaces (empty if no letters).
    """
    return " ".join(w.text for w in _fold_words(text))


# ==================================================================================================
# Arabic-script words
# ==================================================================================================

_AR_ARTICLE: Final = "ال"
# words that begin with ال but whose ال is not the article (Persian given names mostly)
_AR_NOT_ARTICLE: Final = frozenset(
    ["الله", "الياس", "الهام", "الهه", "الناز", "الميرا", "البرز", "الماس", "الوند", "الينا", "الكسندر"]
)
_AR_FUNCTION: Final = {
    "عبد": "abd",
    "ابو": "abu",
    "بن": "bin",
    "ابن": "bin",
    "بنت": "bint",
    "ولد": "ould",
    "الله": "allah",
    "غلام": "ghulam",
}
_AR_TAILS: Final = {"الله": "allah", "الدين": "din", "الحق": "haq", "الاسلام": "islam", "الهدى": "huda"}
_AR_TITLES: Final = {
    "حاج": "haji",
    "حاجي": "haji",
    "الحاج": "haji",
    "شيخ": "sheikh",
    "الشيخ": "sheikh",
    "سيد": "sayed",
    "السيد": "sayed",
    "ملا": "mullah",
    "مولوي": "mawlawi",
    "مولانا": "mawlana",
    "ميرزا": "mirza",
    "دكتور": "dr",
    "مفتي": "mufti",
    "قاري": "qari",
    "استاد": "ustad",
    "خانم": "khanum",
}
_AR_PERSIAN_HEADS: Final = ("علي", "امير", "محمد", "مير")
_AR_PERSIAN_TAILS: Final = frozenset(
    [
        "رضا",
        "حسين",
        "علي",
        "اكبر",
        "اصغر",
        "محمد",
        "جواد",
        "جعفر",
        "مهدي",
        "صادق",
        "تقي",
        "نقي",
        "باقر",
        "كاظم",
        "حسن",
        "ابراهيم",
        "اسماعيل",
        "هادي",
        "كريم",
        "رحيم",
    ]
)


def _arabic_words(word: str) -> list[_Word]:
    """Split one cleaned Arabic-script word into words the particle logic understands.

    The joined spellings of compounds (عبدالرحمن, نصرالله, نورالدين, ابوبكر, علیرضا) are split
    into their parts, and the article ال (written with a bare alef) into its own word, so that
    the same rules serve ``Abd al-Rahman`` in any script and any spacing.
    """
    merged = word
    plain = "ا" + word[1:] if word.startswith("أ") else word  # أبو = ابو for function words
    if plain in _AR_TITLES:
        return [_Word(_AR_TITLES[plain], plain)]
    if merged in _AR_TITLES:
        return [_Word(_AR_TITLES[merged], merged)]
    for tail, name in _AR_TAILS.items():
        if merged == tail:
            return [_Word(name, merged)]
        if merged.endswith(tail) and len(merged) - len(tail) >= 2:
            head = merged[: -len(tail)]
            if name == "allah" and head.endswith("ة"):
                head = head[:-1] + "ت"  # construct state: رحمة الله -> rahmat allah
            return [*_arabic_words(head), _Word(name, tail)]
    if plain in _AR_FUNCTION:
        return [_Word(_AR_FUNCTION[plain], plain)]
    for prefix in ("عبد", "ابو", "غلام"):
        if plain.startswith(prefix) and len(plain) - len(prefix) >= 2:
            return [_Word(_AR_FUNCTION[prefix], prefix), *_arabic_words(plain[len(prefix) :])]
    if (
        merged.startswith(_AR_ARTICLE)
        and len(merged) >= 4
        and merged not in _AR_NOT_ARTICLE
        and merged not in _dicts().not_article
    ):
        return [_Word("al", _AR_ARTICLE), *_arabic_words(merged[2:])]
    for head in _AR_PERSIAN_HEADS:
        if plain.startswith(head) and plain[len(head) :] in _AR_PERSIAN_TAILS:
            return [_arabic_name_word(head), _arabic_name_word(plain[len(head) :])]
    return [_arabic_name_word(merged)]


def _arabic_name_word(word: str) -> _Word:
    """A plain Arabic-script name word: Latin text from the dictionary, else the skeleton."""
    text = _vocalised().get(word) or _arabic_skeleton(word)
    return _Word(_collapse(text) or "a", word)


# ==================================================================================================
# Variant key rules
# ==================================================================================================

_VOWELS: Final = frozenset("aeiou")
_CONS_UNITS: Final = re.compile(
    r"tsch|sch|tch|tsh|dzh|sh|ch|zh|kh|gh|th|dh|ph|dj|dz|ts|tz|ck|qu(?=[ei])|[bcdfghjklmnpqrstvxzyw]"
)


def _unit_class(unit: str, nxt: str) -> str:
    """Consonant class letter of one consonant unit (nxt: the following letter, for c)."""
    r = _RULES
    simple = {
        "tsch": "x",
        "sch": "x",
        "tch": "x",
        "tsh": "x",
        "sh": "x",
        "dzh": "j",
        "zh": "j",
        "dj": "j",
        "dz": "z",
        "dh": "z",
        "ph": "f",
        "ck": "k",
        "qu": "k",
        "q": "k",
        "k": "k",
        "j": "j",
        "z": "z",
        "s": "s",
        "x": "ks",
    }
    if unit in simple:
        cls = simple[unit]
        return "d" if cls == "z" and _RULES["dz"] else cls
    if unit == "ch":
        return str(r["ch"])
    if unit == "kh":
        return str(r["kh"])
    if unit == "gh":
        return str(r["gh"])
    if unit == "th":
        return str(r["th"])
    if unit == "d" and r["dz"]:
        return "d"
    if unit in ("ts", "tz"):
        return str(r["ts"])
    if unit == "g":
        return str(r["g"])
    if unit == "v":
        return str(r["v"])
    if unit == "p":
        return str(r["p"])
    if unit == "c":
        return "s" if nxt[:1] in ("e", "i", "y") else "k"
    return unit


_SOMALI_CTX: Final = re.compile(r"aa|ee|ii|oo|uu")
_SOMALI_C_INITIAL: Final = re.compile(
    r"^c(?=abd|abb|aa|ii|uu|ism|usm|umar|ali$|aliyo|awil|awo$|iise|ilm|igaal|aydiid|adan$|asha$|aasha)"
)
_X_NOT_H_INITIAL: Final = re.compile(r"^x(?:av|ab|en|an|im|io|ia|ie|in|iu|i$|u$|ue|un)")


def _somali(token: str) -> str:
    """Resolve Somali x (= ḥ) and c (= ʿ) where the spelling shows it is Somali.

    Somali orthography writes ḥ as x (Xasan, Maxamed) and ʿayn as c (Cabdi, Cali); elsewhere x is
    ks and c is k or s. A token is read as Somali when it has a doubled vowel (long vowels are
    written double in Somali), or by the shapes of the commonest Somali names.
    """
    if "x" not in token and "c" not in token:
        return token
    somali = bool(_SOMALI_CTX.search(token))
    if "c" in token:
        if _SOMALI_C_INITIAL.match(token) or (somali and token.startswith("c") and token[1:2] in _VOWELS):
            token = token[1:]
        if somali:
            token = re.sub(r"(?<=[aeiou])c(?![hk])", "", token)
    if "x" in token:
        if somali:
            token = token.replace("x", "h")
        else:
            if token.startswith("x") and len(token) >= 4 and not _X_NOT_H_INITIAL.match(token):
                token = "h" + token[1:]
            token = re.sub(r"x(?=a?m)", "h", token)
    return token


def _vowel_class(run: str) -> str:
    """Length class of a vowel run inside a name: "y" (long i), "w" (long u) or "" (short)."""
    if "y" in run or any(d in run for d in ("ee", "ii", "ei", "ai", "ie", "ae")):
        return "y"
    if "w" in run or any(d in run for d in ("oo", "uu", "ou")):
        return "w"
    if _RULES["single_i_long"] and run == "i":
        return "y"
    if _RULES["single_u_long"] and run in ("u", "o"):
        return "w"
    return ""


def _final_class(run: str) -> str:
    """Class of a name-final vowel run: -i/-y/-ee/-ie give "y", -o/-u give "w", -a/-e nothing."""
    if not run:
        return ""
    last = run[-1]
    if last in "iy" or run in ("ee", "ie") or run.endswith("ia"):
        return "y"  # -ia / -iya: Nadia = نادية, Yahia = يحيى
    if last in "ouw":
        return "w"
    if "y" in run:
        return "y"  # Tesfaye = Tesfay
    return ""


# An element is (is_consonant, value): value is a class letter for a consonant ("H" is a literal
# h, which may be silent at the end) and the vowel letters of a run for a vowel.
_Element = tuple[bool, str]


def _key_from_elements(elements: list[_Element], *, silent_final_h: bool) -> str:
    """Assemble a key from consonant classes and vowel runs; see variant_key for the scheme."""
    merged: list[_Element] = []
    for is_c, val in elements:
        if merged and merged[-1][0] == is_c and (not is_c or merged[-1][1] == val):
            if not is_c:
                merged[-1] = (False, merged[-1][1] + val)
            continue  # adjacent repeats of one class (ck, dt, hh) are one sound
        merged.append((is_c, val))
    cons_idx = [i for i, (is_c, _) in enumerate(merged) if is_c]
    out: list[str] = []
    if _RULES["initial_marker"] and merged and not merged[0][0]:
        out.append("a")
    if not cons_idx:
        final = _final_class(merged[0][1]) if merged and merged[0][1] else ""
        return "".join(out) + final
    last = cons_idx[-1]
    silent = (
        silent_final_h
        and merged[last][1] == "H"
        and last == len(merged) - 1
        and len(cons_idx) > 1
    )
    prev = cons_idx[-2] if len(cons_idx) > 1 else -1
    for i, (is_c, val) in enumerate(merged):
        if is_c:
            if i == last and silent:
                continue  # Saleh = صالح, Fatimah = فاطمة: a final h may or may not be written
            if i == last and val == "t":
                val = "d"  # final devoicing: Ahmet = Ahmed, Mehmet = Mehmed
            out.append(val.lower())
        elif 0 <= prev < i < last:
            cls = _vowel_class(val)  # long vowel of the final syllable: Mahmoud, Hussein
            if (
                not cls
                and _RULES["u_after_cluster"]
                and val in ("u", "o")
                and len(cons_idx) > 2
                and cons_idx[-3] == prev - 1
            ):
                cls = "w"  # maf'ul: Mahmud, Mansur, Mahbub (but Yusuf, Yunus stay short)
            if cls == "y" and not _RULES["y_slot"] or cls == "w" and not _RULES.get("w_slot", True):
                cls = ""
            out.append(cls)
        elif i > last and _RULES["final_marker"]:
            out.append(_final_class(val))
    # a long-vowel mark next to the same consonant letter is one sound (Dawood: w + oo)
    return re.sub(r"([wy])\1+", r"\1", "".join(out))


def _latin_elements(token: str) -> list[_Element]:
    """Consonant units and vowel runs of a folded Latin token."""
    elements: list[_Element] = []
    i = 0
    n = len(token)
    run: list[str] = []
    while i < n:
        ch = token[i]
        nxt = token[i + 1] if i + 1 < n else ""
        if ch in _VOWELS:
            if (
                _RULES["iu_glide"]
                and ch == "i"
                and nxt in _VOWELS
                and nxt != "i"
                and not run
                and elements
                and elements[-1][0]
                and i + 2 < n
            ):
                # i between a consonant and a vowel is a glide: Ziad = Ziyad, Tatiana = Tatyana
                elements.append((True, "y"))
                i += 1
                continue
            if (
                _RULES["u_glide"]
                and ch == "u"
                and nxt in ("a", "i", "o")
                and not run
                and elements
                and elements[-1][0]
                and i + 2 < n
            ):
                elements.append((True, "w"))
                i += 1
                continue
            run.append(ch)
            i += 1
            continue
        if ch in "yw" and nxt in _VOWELS and (ch == "w" or i == 0 or not _RULES["y_vowel"]):
            if run:
                elements.append((False, "".join(run)))
                run = []
            elements.append((True, ch))  # y / w before a vowel is a consonant
            i += 1
            continue
        if ch in "yw":
            run.append(ch)
            i += 1
            continue
        m = _CONS_UNITS.match(token, i)
        unit = m.group(0) if m else ch
        if run:
            elements.append((False, "".join(run)))
            run = []
        after = token[i + len(unit) : i + len(unit) + 2]
        if unit == "h":
            elements.append((True, "H"))
        else:
            for c in _unit_class(unit, after):
                elements.append((True, c))
        i += len(unit)
    if run:
        elements.append((False, "".join(run)))
    return elements


def _rule_key_latin(token: str) -> str:
    """Variant key of one folded Latin token by the rules alone (no dictionary)."""
    if not token:
        return ""
    token = _somali(token)
    if _RULES["ye_initial"]:
        token = re.sub(r"^[yi]e(?=[vlkgf])", "e", token)
    token = re.sub(r"ou(?=[aei])", "w", token)  # French ou before a vowel: Oualid, Marouane
    token = re.sub(r"^ch(?=[rl])|ch(?=ae)", "k", token)  # Christian, Michael
    key = _key_from_elements(_latin_elements(token), silent_final_h=True)
    return key or "a"


def _rule_key_arabic(word: str) -> str:
    """Variant key of one cleaned Arabic-script word.

    Arabic writes consonants and long vowels only, so the key reads the skeleton with the same
    rules as Latin: initial alef or ayn marks a vowel-initial name, medial و / ي are long
    vowels (a mark only in the final syllable), final ي / و give the final mark, initial و / ي
    are consonants, a final ح / ه may be silent like a Latin final h.
    """
    if not word:
        return ""
    if word == "عمرو":
        word = "عمر" + "​"[:0]  # Amr: the final waw is a spelling convention, not a vowel
        return "amr"
    elements: list[_Element] = []
    if word[0] in ("ا", "أ", "ع"):
        elements.append((False, "a"))
    # alef (long a) and ayn are vowels here: they keep the consonants around them apart
    letters: list[str] = []
    for idx, ch in enumerate(word):
        if ch in ("ا", "أ", "ع"):
            if idx:
                letters.append("a")
            continue
        lat = _arabic_skeleton(ch)
        if lat:
            letters.append(lat)
    for i, lat in enumerate(letters):
        if lat == "a":
            elements.append((False, ""))
            continue
        consonantal_w = lat == "w" and letters[i + 1 : i + 2] == ["a"]  # وا: Jawad, Marwan
        if lat in ("y", "w") and elements and not consonantal_w:
            elements.append((False, lat))
            continue
        if lat == "h":
            elements.append((True, "H"))
            continue
        after = letters[i + 1] if i + 1 < len(letters) else ""
        m = _CONS_UNITS.match(lat)
        unit = m.group(0) if m else lat
        for c in _unit_class(unit, after):
            elements.append((True, c))
    return _key_from_elements(elements, silent_final_h=len(word) >= 3) or "a"


# Ukrainian and Russian forms of one given name that the letter rules cannot merge (Г is h in
# Ukrainian, g in Russian; final -o; different vowels), mapped to one canonical spelling.
_SLAVIC_EQUIV: Final = {
    **dict.fromkeys(["serhii", "serhiy", "serhij", "sergii", "sergiy", "sergei", "sergej"], "sergey"),
    **dict.fromkeys(["ihor", "ihor"], "igor"),
    **dict.fromkeys(["olha"], "olga"),
    **dict.fromkeys(["oleh"], "oleg"),
    **dict.fromkeys(["hlib"], "gleb"),
    **dict.fromkeys(
        ["yevhen", "ievhen", "yevhenii", "yevheniy", "evhen", "ievgen", "yevgen", "evgen", "jewgeni"],
        "evgeny",
    ),
    **dict.fromkeys(["yevheniia", "yevheniya", "evheniia"], "evgenia"),
    **dict.fromkeys(["yehor", "iehor"], "egor"),
    **dict.fromkeys(["bohdan"], "bogdan"),
    **dict.fromkeys(["hryhorii", "hryhoriy", "hrihorii", "hryhorij"], "grigory"),
    **dict.fromkeys(["heorhii", "heorhiy", "heorhij"], "georgy"),
    **dict.fromkeys(["halyna", "halina"], "galina"),
    **dict.fromkeys(["mykhailo", "mykhaylo", "mykhajlo", "mikhailo"], "mikhail"),
    **dict.fromkeys(["mykola", "mikola"], "nikolay"),
    **dict.fromkeys(["dmytro", "dmitro"], "dmitry"),
    **dict.fromkeys(["petro"], "petr"),
    **dict.fromkeys(["pavlo"], "pavel"),
    **dict.fromkeys(["vasyl", "vasil"], "vasily"),
    **dict.fromkeys(["kateryna", "katerina", "yekaterina"], "ekaterina"),
    **dict.fromkeys(["danylo", "danilo"], "daniil"),
    **dict.fromkeys(["fedir"], "fedor"),
    **dict.fromkeys(["hennadii", "hennadiy"], "gennady"),
}


def _slavic(token: str) -> str:
    return _SLAVIC_EQUIV.get(token, token)


# ==================================================================================================
# Variant dictionary (wd_arabic_name_tokens.tsv): Latin spelling -> key of its Arabic spelling
# ==================================================================================================

_DATA_FILE: Final = "wd_arabic_name_tokens.tsv"


def _read_rows() -> list[tuple[str, str, int]]:
    """Rows of the bundled TSV: (Latin spelling, Arabic letters joined, count)."""
    text = resources.files("linkmatch.data").joinpath(_DATA_FILE).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or not parts[2].isdigit():
            continue
        rows.append((parts[0], parts[1].replace(" ", ""), int(parts[2])))
    return rows


class _Dictionaries(NamedTuple):
    variant: dict[str, str]  # folded Latin spelling -> key (only where the rules disagree)
    arabic: dict[str, str]  # cleaned Arabic spelling -> key (only where the rules disagree)
    vocal: dict[str, str]  # cleaned Arabic spelling -> its commonest folded Latin spelling
    not_article: frozenset[str]  # Arabic spellings whose initial ال is part of the name (Alex)
    latin_forms: frozenset[str]  # every folded Latin spelling of the file
    al_forms: frozenset[str]  # Latin spellings of Arabic spellings that begin with the article


_EMPTY_DICTS: Final = _Dictionaries({}, {}, {}, frozenset(), frozenset(), frozenset())


def _plain_latin(spelling: str) -> str | None:
    """The folded form of a Latin spelling if it folds to one plain name word, else None."""
    words = _fold_words(spelling)
    if len(words) != 1 or words[0].arabic is not None:
        return None
    comps = _decompose(words[0])
    if len(comps) != 1 or comps[0].role != "name":
        return None
    return comps[0].text


def build_dictionaries(
    rows: Iterable[tuple[str, str, int]], *, min_count: int = 2
) -> _Dictionaries:
    """Build the variant dictionaries from (Latin spelling, Arabic spelling, count) rows.

    Each Arabic spelling gets one canonical key: the rule key most of its Latin spellings have
    (count-weighted). Latin spellings whose rule key differs (Mehmet, Hocine, Othman) and the
    Arabic spelling itself, if its own rule key differs, map to it. Keeping the canonical key in
    the space of the Latin rule keys matters: a spelling the file never saw still gets its rule
    key, which is the majority's key whenever the majority spelling is regular. A Latin
    spelling maps only when one Arabic spelling accounts for most of its occurrences.

    Args:
        rows: (Latin spelling, Arabic spelling, count) triples.
        min_count: rows seen fewer times are ignored for the keys (too noisy).

    Returns:
        The dictionaries.
    """
    latin_to_ar: dict[str, Counter[str]] = defaultdict(Counter)
    ar_to_latin: dict[str, Counter[str]] = defaultdict(Counter)
    latin_forms: set[str] = set()
    folded_of: dict[str, str | None] = {}
    for latin, arabic, count in rows:
        folded = folded_of.get(latin, "")
        if folded == "":
            folded = folded_of[latin] = _plain_latin(latin)
        if not folded:
            continue
        latin_forms.add(folded)
        if count < min_count:
            continue
        cleaned = _clean_arabic(arabic)
        if cleaned:
            latin_to_ar[folded][cleaned] += count
            ar_to_latin[cleaned][folded] += count
    rule_key = {latin: _rule_key_latin(_slavic(latin)) for latin in latin_to_ar}
    canon: dict[str, str] = {}
    for arabic, counter in ar_to_latin.items():
        votes: Counter[str] = Counter()
        for latin, count in counter.items():
            votes[rule_key[latin]] += count
        canon[arabic] = votes.most_common(1)[0][0]
    variant: dict[str, str] = {}
    for latin, counter in latin_to_ar.items():
        arabic, top = counter.most_common(1)[0]
        if top * 2 > sum(counter.values()) and canon[arabic] != rule_key[latin]:
            variant[latin] = canon[arabic]
    arabic_keys: dict[str, str] = {}
    for arabic, key in canon.items():
        own = _arabic_plain_key(arabic)
        if own and own != key:
            arabic_keys[arabic] = key
    vocal = {ar: c.most_common(1)[0][0] for ar, c in ar_to_latin.items()}
    not_article = _not_article(ar_to_latin)
    al_forms = frozenset(
        latin
        for latin, counter in latin_to_ar.items()
        if latin[:2] in ("al", "el")
        and (ar := counter.most_common(1)[0][0]).startswith(_AR_ARTICLE)
        and ar not in not_article
    )
    return _Dictionaries(
        variant, arabic_keys, vocal, not_article, frozenset(latin_forms), al_forms
    )


def _not_article(ar_to_latin: dict[str, Counter[str]]) -> frozenset[str]:
    """Arabic spellings beginning with ال whose Latin forms say the ال belongs to the name.

    Western names written in Arabic script (اليكس Alex, الان Alan) begin with a bare alef and
    lam like the article. For each such spelling, the commonest Latin form decides: if the key
    of the whole Arabic word is closer to it than the key of the word without ال is (to it or
    to it without a leading al-/el-), the ال is kept.
    """
    out = set()
    for arabic, counter in ar_to_latin.items():
        if not arabic.startswith(_AR_ARTICLE) or len(arabic) < 4:
            continue
        latin = counter.most_common(1)[0][0]
        whole = _rule_key_arabic(arabic)
        rest = _rule_key_arabic(arabic[2:])
        lat = _rule_key_latin(latin)
        stripped = _rule_key_latin(re.sub(r"^[aeiou]l", "", latin) or latin)
        d_name = Levenshtein.distance(whole, lat)
        d_article = min(Levenshtein.distance(rest, lat), Levenshtein.distance(rest, stripped))
        if d_name < d_article:
            out.add(arabic)
    return frozenset(out)


def _arabic_plain_key(arabic: str) -> str:
    """Key of an Arabic spelling that is one plain name word ("" if it is anything else)."""
    words = _arabic_words_raw(arabic)
    if len(words) != 1:
        return ""
    return _rule_key_arabic(words[0])


def _arabic_words_raw(arabic: str) -> list[str]:
    """The Arabic name words of a spelling when it is a single plain name, else []."""
    saved = _DICT_STATE.get("building")
    _DICT_STATE["building"] = True
    try:
        words = _arabic_words(arabic)
    finally:
        _DICT_STATE["building"] = saved
    if len(words) == 1 and words[0].arabic is not None and _role_of(words[0]) == "name":
        return [words[0].arabic]
    return []


_DICT_STATE: dict[str, object] = {"use": True}
_DICTS: dict[str, _Dictionaries] = {}


def _dicts() -> _Dictionaries:
    """The dictionaries, built on first use (lazily: most callers never need them)."""
    if not _RULES.get("use_dictionary", True) or _DICT_STATE.get("building"):
        return _EMPTY_DICTS
    got = _DICTS.get("default")
    if got is None:
        _DICT_STATE["building"] = True
        try:
            got = build_dictionaries(_read_rows())
        finally:
            _DICT_STATE["building"] = False
        _DICTS["default"] = got
    return got


def _vocalised() -> dict[str, str]:
    return _dicts().vocal


def _variant_dict() -> dict[str, str]:
    return _dicts().variant


@functools.lru_cache(maxsize=1 << 17)
def variant_key(token: str) -> str:
    """Variant key of one folded token: spelling variants of a name share it.

    The key is a consonant skeleton with consonant classes, as Arabic script writes names
    (consonants and long vowels only), so Latin spellings meet the Arabic spelling and each
    other:

    * vowels are dropped; a vowel-initial name starts with ``a`` (Ali -> ``aly``, Lee -> ``ly``);
    * a long vowel of the final syllable stays as ``y`` / ``w`` (Mahmoud ``mhmwd`` vs Mohamed
      ``mhmd``; Hussein ``hsyn`` vs Hassan ``hsn``); a final -i / -y or -o / -u leaves ``y`` /
      ``w``;
    * consonant classes: sh = ch = sch = ş (``x``); kh = h; q = k = hard c = ck; gh = k;
      j = dj = zh; dh = z = ẓ; ph = f; v = w; ts = tz = ц (``c``); soft c = s; final t = d;
    * Somali x (= ḥ) and c (= ʿ) are read as such where the token looks Somali;
    * repeats collapse after classing.

    Then a dictionary built from real Latin/Arabic name pairs maps spellings the rules miss
    (Mehmet, Hocine, ...) to the key of their Arabic spelling.

    Args:
        token: one folded word (``[a-z]+``, as produced by :func:`fold`).

    Returns:
        The key, ``[a-z0-9]+``; empty only for an empty token.
    """
    if not token:
        return ""
    token = _slavic(token)
    hit = _variant_dict().get(token)
    if hit is not None:
        return hit
    return _rule_key_latin(token)


# ==================================================================================================
# Particles, compounds and titles
# ==================================================================================================


def _variants(*spellings: str) -> frozenset[str]:
    """Spellings as fold leaves them (doubled consonants collapsed)."""
    return frozenset(_collapse(s) for s in spellings)


_TITLES: Final = {
    **dict.fromkeys(
        ["haji", "hajji", "hadji", "haj", "hajj", "hadj", "alhaji", "alhaj", "alhajji", "elhadj"],
        "haji",
    ),
    **dict.fromkeys(["hajja", "hajjah", "hajia", "hadja", "alhaja"], "hajja"),
    **dict.fromkeys(["mullah", "mulla", "molla", "mollah", "mula", "mulah"], "mullah"),
    **dict.fromkeys(
        ["sheikh", "shaikh", "shaykh", "sheik", "shaik", "cheikh", "sheekh", "shiekh", "shekh"],
        "sheikh",
    ),
    **dict.fromkeys(["sheikha", "shaikha", "shaykha", "cheikha"], "sheikha"),
    **dict.fromkeys(
        ["sayed", "sayyid", "syed", "sayyed", "seyed", "seyyed", "sayid", "seyyid", "sayd", "seid"],
        "sayed",
    ),
    **dict.fromkeys(["sayeda", "sayyida", "syeda", "seyedeh", "seyyedeh", "sayyidah"], "sayeda"),
    **dict.fromkeys(
        ["mawlawi", "mawlavi", "maulvi", "molvi", "moulavi", "maulawi", "mowlawi", "molavi", "mawlvi"],
        "mawlawi",
    ),
    **dict.fromkeys(["maulana", "mawlana", "moulana", "mowlana"], "mawlana"),
    **dict.fromkeys(["mirza", "mirzo"], "mirza"),
    **dict.fromkeys(["mufti"], "mufti"),
    **dict.fromkeys(["qari", "qaari"], "qari"),
    **dict.fromkeys(["ustad", "ustaz", "ustadh", "ostad"], "ustad"),
    **dict.fromkeys(["khanum", "khanom", "khanim"], "khanum"),
    **dict.fromkeys(["dr", "doctor", "doktor", "dkt"], "dr"),
    **dict.fromkeys(["mr", "mister", "herr", "monsieur"], "mr"),
    **dict.fromkeys(["mrs", "ms", "miss", "mme", "mlle", "madame", "frau"], "mrs"),
    **dict.fromkeys(["prof", "professor"], "prof"),
    **dict.fromkeys(["eng", "engineer"], "eng"),
    **dict.fromkeys(["ato"], "ato"),
    **dict.fromkeys(["woizero", "weyzero", "woyzero", "wro"], "woizero"),
    **dict.fromkeys(["woizerit", "weyzerit"], "woizerit"),
}
_TITLE_FORMS: Final = {_collapse(k): v for k, v in _TITLES.items()}

_ARTICLES: Final = _variants("al", "el", "ul", "il", "ol")
_SUN_ARTICLES: Final = _variants(
    "ad", "ed", "ud", "ar", "er", "ur", "as", "es", "us", "at", "et", "ut", "an", "en", "un",
    "az", "ez", "uz", "ash", "esh", "ush", "ath", "adh", "ats",
)
_LINKS: Final = {
    **dict.fromkeys(_variants("bin", "ben", "ibn", "ebn", "bn", "ibnu", "bini"), "bin"),
    **dict.fromkeys(_variants("bint", "binti", "bent", "bte"), "bint"),
    **dict.fromkeys(_variants("ould", "wuld", "walad", "wad", "ag"), "ould"),
}
_ABD_HARD: Final = _variants(
    "abd", "abdul", "abdel", "abdal", "abdol", "abdil", "abdur", "abder", "abdar", "abdus", "abdes",
    "abdas", "abdun", "abden", "abdoul", "abdoel", "abdulla"[:0] or "abdull",
)
_ABD_SOFT: Final = _variants("abdi", "abdu", "abdo", "abdou", "abdy")
_ABU: Final = _variants("abu", "abou", "abo", "aboo", "abul", "abol", "aboul", "abou", "bou")
_GHULAM: Final = _variants("ghulam", "gholam", "golam", "gulam", "ghulom", "gholom", "ghoulam")
_GEEZ_HARD: Final = {
    **dict.fromkeys(
        _variants("gebre", "gebra", "gabre", "gabra", "ghebre", "ghebra", "gebri", "gbre", "gebere"),
        "gebre",
    ),
    **dict.fromkeys(
        _variants("wolde", "welde", "walde", "wolda", "walda", "wold", "weld", "wolday"), "wolde"
    ),
}
_GEEZ_SOFT: Final = {
    **dict.fromkeys(_variants("haile", "hayle", "haila", "hayla"), "haile"),
    **dict.fromkeys(_variants("tesfa", "tesfe"), "tesfa"),
    **dict.fromkeys(_variants("kidane", "kidana", "kidanu"), "kidane"),
    **dict.fromkeys(_variants("habte", "habta", "hapte"), "habte"),
    **dict.fromkeys(_variants("zere", "zera", "zeray", "zerea"), "zere"),
    **dict.fromkeys(_variants("berhane", "birhane", "brhane", "berhana"), "berhane"),
    **dict.fromkeys(_variants("tekle", "tekla", "tekele", "takla", "tekl"), "tekle"),
    **dict.fromkeys(_variants("fikre", "fkre", "fikra", "fiqre"), "fikre"),
    **dict.fromkeys(_variants("sahle", "sahla", "sahl"), "sahle"),
    **dict.fromkeys(_variants("g"), "gebre"),
    **dict.fromkeys(_variants("w"), "wolde"),
    **dict.fromkeys(_variants("h"), "haile"),
    **dict.fromkeys(_variants("k"), "kidane"),
    **dict.fromkeys(_variants("t"), "tekle"),
}
# Second parts of Ethiopian/Eritrean theophoric compounds (Gebre Medhin, Haile Mariam ...).
_GEEZ_TAILS: Final = _variants(
    "mariam", "maryam", "mariyam", "maryame", "michael", "mikael", "mikail", "mikiel", "mikhael",
    "mikaele", "michel", "selassie", "selasie", "silassie", "sellassie", "slase", "selase",
    "sellasie", "silasie", "sillasie", "selasse", "medhin", "medhn", "medihin", "medhen",
    "medhane", "medhanie", "egziabher", "egzabher", "egziabiher", "egziabeher", "igziabher",
    "gziabher", "ezgiabher", "egzi", "ezgi", "kidan", "hiwet", "hiwot", "yesus", "iyesus",
    "eyesus", "iyasus", "giorgis", "georgis", "ghiorghis", "giyorgis", "gorgis", "ghiorgis",
    "kristos", "christos", "krstos", "kirstos", "amlak", "ab", "gabriel", "gebriel", "yohannes",
    "yohanes", "tensae", "tinsae", "tnsae", "haimanot", "haymanot", "tsion", "tseyon", "zion",
    "tsiyon", "alem", "berhan", "birhan", "meskel", "mesqel", "libanos", "sadik", "tsadik",
    "hawariat", "aregay", "aregawi", "egziher", "gziher", "emanuel", "amanuel",
)
# Second parts of Arabic theophoric compounds written as one name: X al-Din, X ul-Haq ...
_TAIL_FORMS: Final = {
    **dict.fromkeys(
        _variants("allah", "ullah", "ollah", "ulla", "olla", "alla", "llah", "lah", "ellah", "illah",
                  "ullahi", "allahi", "lahi"),
        "allah",
    ),
    **dict.fromkeys(
        _variants("din", "deen", "dine", "ddin", "ddine", "eddine", "eddin", "uddin", "addin",
                  "iddin", "oddin", "eldin", "aldin", "uldin", "eddeen", "uddeen", "edin", "udin"),
        "din",
    ),
    **dict.fromkeys(_variants("haq", "haque", "huq", "haqq", "hak", "hague"), "haq"),
    **dict.fromkeys(_variants("islam", "islaam"), "islam"),
    **dict.fromkeys(_variants("huda", "hoda", "houda"), "huda"),
}
_TAIL_TEXT: Final = {"allah": "ullah", "din": "uddin", "haq": "ulhaq", "islam": "ulislam",
                     "huda": "ulhuda", "rahman": "urrahman"}
_TAIL_KEY: Final = {"allah": "lh", "din": "dn", "haq": "hk", "islam": "slm", "huda": "hd",
                    "rahman": "rhmn"}
# joined: X + article + tail as one word ("nasrullah", "salahuddin", "ziaulhaq", "fazlurrahman")
_JOINED_TAIL: Final = re.compile(
    r"^(?P<head>[a-z]{3,}?)(?:"
    r"(?P<allah>[aeiou]l+a+h?i?)"
    r"|(?P<din>(?:[aeiou]l|[aeiou])d+(?:i|ee|ii)ne?)"
    r"|(?P<haq>[aeiou]lh(?:aq|aque|uq|aqq))"
    r"|(?P<islam>[aeiou]lislaa?m)"
    r"|(?P<huda>[aeiou]lh(?:uda|oda))"
    r"|(?P<rahman>[aeiou]r+(?:a|e)h?m(?:a|aa)ne?))$"
)
_JOINED_TAIL_EXCEPT: Final = _variants(
    "claudine", "geraldine", "bernardine", "gerardine", "paladin", "blondine", "godine",
    "stella", "della", "bella", "calla", "nella", "ella", "gabriella", "isabella", "marcella",
    "daniella", "mirella", "graziella", "ornella", "rafaella", "raffaella", "arabella", "donatella",
    "estrella", "fenella", "antonella", "manuella", "mariella", "micaella", "pamella", "priscilla",
    "camilla", "drusilla", "cirilla", "attila", "ursula", "paula", "ulla", "olla", "pula",
    "abdulla", "abdalla", "fadila", "nabila", "jamila", "jamilla", "camila", "lila", "leila",
    "leilah", "delilah", "lailah", "laila", "layla", "fadilah", "nabilah", "jamilah", "aqila",
    "akila", "adila", "adilah", "khalila", "halila", "salila", "shakila", "shakilah", "wakila",
    "gala", "hala", "shala", "shallah", "mullah", "mulla", "killah", "zillah", "tallah",
    "attallah", "fatallah",
)
# God's names after Abd (Abd al-Rahman, Abd al-Karim ...): tells "Abdi Rahman" (one name) from
# "Abdi Hassan" (two names) and "Abdul-atif" from "Abdu-latif".
_DIVINE: Final = _variants(
    "rahman", "rahim", "karim", "kareem", "aziz", "qadir", "kadir", "qader", "kader", "gadir",
    "razak", "razaq", "razzaq", "rizak", "latif", "lateef", "majid", "majeed", "hamid", "hameed",
    "salam", "salaam", "malik", "wahab", "wahhab", "hakim", "halim", "jabbar", "ghani", "fattah",
    "fatah", "basit", "hadi", "nasir", "nasser", "naser", "wahid", "samad", "qayyum", "qayum",
    "kayum", "hafiz", "baqi", "rauf", "raouf", "ghafur", "ghafoor", "ghaffar", "jalil", "jaleel",
    "jawad", "mannan", "muttalib", "mutalib", "ilah", "mumin", "momin", "muhsin", "mohsen",
    "qahhar", "kahar", "sattar", "wadud", "khaliq", "bari", "haq", "hay", "hayy", "kabir",
    "azim", "azeem", "alim", "aleem", "sabur", "shakur", "shakoor", "wali", "matin", "rashid",
    "quddus", "kuddus", "nur", "noor", "nour", "rab", "moneim", "munim", "mun'im", "muti",
    "nabi", "hussein", "hussain", "zahra", "amir", "ameer", "rasul", "rasool", "sami", "samie",
    "ahad", "wakil", "wakeel", "majid", "wahed", "allah", "lah", "lahi", "mutalib", "baset",
    "hakeem", "hameed", "ghafar", "kareem", "raheem", "rahim", "raxmaan", "rahmaan", "rehman",
    "fatah", "aal", "salam", "qawi", "kawi", "mughni", "jalal", "jamal", "hamid", "hamed",
    "kafi", "mubdi", "shafi", "shafee", "samie", "basir", "basit", "latif", "mohaimen",
)
_PERSIAN_HEADS: Final = _variants(
    "ali", "amir", "mohammad", "mohamad", "muhammad", "mohammed", "mohamed", "mir", "mohamadali",
)
_PERSIAN_TAILS: Final = _variants(
    "reza", "reda", "riza", "hossein", "hosein", "hussain", "hussein", "husain", "ali",
    "akbar", "asghar", "askar", "mohammad", "mohamad", "muhammad", "javad", "jawad", "jafar",
    "jaafar", "mahdi", "mehdi", "sadegh", "sadeq", "sadiq", "taghi", "taqi", "naghi", "naqi",
    "bagher", "baqer", "baqir", "kazem", "kazim", "hasan", "hassan", "ebrahim", "ibrahim",
    "esmail", "ismail", "hadi", "karim", "rahim", "amin", "asadollah",
)
_ABBREVIATIONS: Final = {
    **dict.fromkeys(_variants("md", "mohd", "muhd", "mhd", "moh", "muh", "mmd"), "muhammad"),
    "brahim": "ibrahim",  # Maghrebi short form
}


class _Comp(NamedTuple):
    """A component of a name: one role, its folded text and (for Arabic script) its spelling."""

    role: str  # name | title | article | link | prefix | softprefix | tail
    text: str  # folded or canonical text
    arabic: str | None  # cleaned Arabic spelling (key from the Arabic rules), else None
    canon: str = ""  # canonical form (prefixes, tails, titles, links)


def _role_of(word: _Word) -> str:
    comps = _decompose(word)
    return comps[0].role if len(comps) == 1 else "compound"


def _decompose(word: _Word) -> list[_Comp]:
    """Components of one folded word: roles of function words, joined compounds split."""
    text = word.text
    if word.arabic is not None:
        return [_arabic_comp(word)]
    if text in _TITLE_FORMS:
        return [_Comp("title", text, None, _TITLE_FORMS[text])]
    if text in _ABBREVIATIONS:
        return [_Comp("name", _ABBREVIATIONS[text], None)]
    if text in _ARTICLES or text in _SUN_ARTICLES:
        return [_Comp("article", text, None)]
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
    return _split_joined(text)


def _arabic_comp(word: _Word) -> _Comp:
    """Component of a word that came from Arabic script (already split by _arabic_words)."""
    ar = word.arabic or ""
    text = word.text
    if ar in _AR_TITLES:
        return _Comp("title", text, None, _AR_TITLES[ar])
    if ar == _AR_ARTICLE:
        return _Comp("article", "al", None)
    if ar in _AR_TAILS:
        return _Comp("tail", text, None, _AR_TAILS[ar])
    if ar in _AR_FUNCTION:
        canon = _AR_FUNCTION[ar]
        if canon in ("bin", "bint", "ould"):
            return _Comp("link", canon, None, canon)
        if canon == "allah":
            return _Comp("tail", "allah", None, "allah")
        return _Comp("prefix", canon, None, canon)
    return _Comp("name", text, ar)


_ABD_JOINED: Final = re.compile(r"^abd(?P<rest>[a-z]*)$")
_ABU_JOINED: Final = re.compile(r"^(?:abu|abou|abo|aboo)(?P<art>l)?(?P<rest>[b-df-hj-np-tv-z][a-z]{2,})$")
_GHULAM_JOINED: Final = re.compile(r"^(?:ghulam|gholam|golam|gulam|ghoulam)(?P<rest>[a-z]{3,})$")
_GEEZ_JOINED: Final = re.compile(
    r"^(?P<pre>gebre|gebra|gabre|gabra|ghebre|ghebra|gebri|gbre|wolde|welde|walde|wolda|walda|"
    r"wold|weld|haile|hayle|tesfa|kidane|habte|zere|berhane|birhane|brhane|tekle|fikre|fkre|sahle)"
    r"(?P<rest>[a-z]{2,})$"
)


@functools.lru_cache(maxsize=1 << 16)
def _split_joined(text: str) -> list[_Comp]:
    """Split a joined Latin compound (Abdulrahman, Abubakar, Gebremedhin, Nasrullah, Alireza)."""
    m = _ABD_JOINED.match(text)
    if m and m.group("rest") and text not in _ABD_SOFT:
        rest = _abd_rest(m.group("rest"))
        if rest is not None:
            return [_Comp("prefix", "abd", None, "abd"), *rest]
    m = _ABU_JOINED.match(text)
    if m:
        return [_Comp("prefix", "abu", None, "abu"), *_split_joined(m.group("rest"))]
    m = _GHULAM_JOINED.match(text)
    if m:
        return [_Comp("prefix", "ghulam", None, "ghulam"), *_split_joined(m.group("rest"))]
    m = _GEEZ_JOINED.match(text)
    if m:
        pre = _collapse(m.group("pre"))
        rest = m.group("rest")
        canon = _GEEZ_HARD.get(pre) or _GEEZ_SOFT.get(pre, "")
        hard = pre in _GEEZ_HARD
        if canon and (hard and len(rest) >= 3 or rest in _GEEZ_TAILS):
            return [_Comp("prefix", pre, None, canon), _Comp("name", rest, None)]
    if text not in _JOINED_TAIL_EXCEPT:
        m = _JOINED_TAIL.match(text)
        if m:
            head = m.group("head")
            tail = next(k for k in ("allah", "din", "haq", "islam", "huda", "rahman") if m.group(k))
            if tail != "rahman" or head.endswith(("b", "l", "t", "z", "f")):
                return [*_split_joined(head), _Comp("tail", tail, None, tail)]
    if text[:2] in ("al", "el") and len(text) >= 6 and text[2] not in _VOWELS:
        dicts = _dicts()
        rest = text[2:]
        if text in dicts.al_forms or (
            text not in dicts.latin_forms and rest in dicts.latin_forms
        ):
            # joined article (Alrashid, Elsayed): the file shows it, or the rest is a known name
            return [_Comp("article", text[:2], None), *_split_joined(rest)]
    for head in _PERSIAN_HEADS:
        if text.startswith(head) and len(text) - len(head) >= 3:
            rest = text[len(head) :]
            if rest in _PERSIAN_TAILS:
                return [_Comp("name", head, None), _Comp("name", rest, None)]
    return [_Comp("name", text, None)]


def _skeleton_eq(a: str, b: str) -> bool:
    return re.sub("[aeiouyw]", "", _rule_key_latin(a)) == re.sub("[aeiouyw]", "", _rule_key_latin(b))


@functools.lru_cache(maxsize=1)
def _divine_skeletons() -> frozenset[str]:
    return frozenset(re.sub("[aeiouyw]", "", _rule_key_latin(d)) for d in _DIVINE)


def _is_divine(text: str) -> bool:
    return re.sub("[aeiouyw]", "", _rule_key_latin(text)) in _divine_skeletons()


def _abd_rest(s: str) -> list[_Comp] | None:
    """Parse what follows "abd" in a joined word: [tail allah] or [name X]; None if not abd-X.

    The article may be written ul/el/al/il/ol, assimilated (ur-, us-, but fold collapsed the
    doubled letter) or left out (Abdirahman); where two readings are possible (abdulatif: al-Atif
    or al-Latif?) the one that gives a name of God wins.
    """
    if re.fullmatch(r"[aeiou]?l+a+h?i?", s):
        return [_Comp("tail", "allah", None, "allah")]
    candidates: list[str] = []
    if len(s) >= 3 and s[0] in _VOWELS and s[1] == "l":
        candidates.append(s[2:])  # abd + ul + X
    if len(s) >= 3 and s[0] in _VOWELS:
        candidates.append(s[1:])  # abd + u + X (assimilated or linking vowel)
    if s and s[0] not in _VOWELS:
        candidates.append(s)  # abd + X
    candidates = [c for c in candidates if len(c) >= 3]
    if not candidates:
        return None
    chosen = next((c for c in candidates if _is_divine(c)), candidates[0])
    return _split_joined(chosen) if chosen else None


# ==================================================================================================
# Grouping components into tokens
# ==================================================================================================


def _comp_key(comp: _Comp) -> str:
    if comp.arabic is not None:
        return _dicts().arabic.get(comp.arabic) or _rule_key_arabic(comp.arabic)
    return variant_key(comp.text)


def _strip_a(key: str) -> str:
    """Key of a compound's second part: its vowel-initial mark dropped (joined or split alike)."""
    return key[1:] if len(key) > 1 and key[0] == "a" else key


_PREFIX_TEXT: Final = {"abd": "abdul", "abu": "abu", "ghulam": "ghulam"}


def _prefix_key(canon: str) -> str:
    return {"abd": "abd", "abu": "abw"}.get(canon) or _rule_key_latin(canon)


def _group(comps: list[_Comp]) -> list[NameToken]:
    """Group the components of one name part into tokens (see name_tokens for the rules)."""
    out: list[NameToken] = []
    i = 0
    n = len(comps)
    while i < n:
        tok, i = _group_one(comps, i)
        if tok is not None:
            out.append(tok)
    return out


def _next_name(comps: list[_Comp], i: int) -> int:
    """Index of the next component after skipping articles (n if none)."""
    while i < len(comps) and comps[i].role == "article":
        i += 1
    return i


def _group_one(comps: list[_Comp], i: int) -> tuple[NameToken | None, int]:
    n = len(comps)
    c = comps[i]
    if c.role == "title":
        return NameToken(c.canon, _rule_key_latin(c.canon), "title"), i + 1
    if c.role == "article":
        j = _next_name(comps, i + 1)
        sun_ok = c.text in _ARTICLES or (
            j < n and comps[j].text[:1] == c.text[1:2] and comps[j].arabic is None
        ) or (j < n and comps[j].arabic is not None)
        if j < n and sun_ok:
            return None, i + 1  # the article belongs to the next name and says nothing itself
        return _name_token(c), i + 1
    if c.role == "link":
        if i + 1 < n:
            return NameToken(c.canon, c.canon, "particle"), i + 1
        return NameToken(c.text, c.canon, "name"), i + 1  # "Ben" alone is a name
    if c.role in ("prefix", "softprefix"):
        j = _next_name(comps, i + 1)
        if j < n and comps[j].role in ("name", "tail", "prefix", "softprefix") and _prefix_fits(c, comps[j]):
            rest, k = _group_one(comps, j)
            if rest is not None and rest.kind == "name":
                text = _PREFIX_TEXT.get(c.canon, c.canon) + (
                    "lah" if rest.text == "ullah" and c.canon == "abd" else rest.text
                )
                key = _prefix_key(c.canon) + _strip_a(rest.key)
                return NameToken(_collapse(text), key, "name"), k
        if c.canon == "abd" and c.role == "prefix":
            return NameToken(c.text, "abd", "name"), i + 1
        return _with_tails(comps, i + 1, _name_token(c))
    if c.role == "tail":
        return _with_tails(comps, i + 1, NameToken(_TAIL_TEXT.get(c.canon, c.text).lstrip("u"),
                                                   _TAIL_KEY.get(c.canon, "a"), "name"))
    # a plain name; "Fazlur Rahman", "Ikramul Haq": the article hangs on the first word
    if i + 1 < n and comps[i + 1].arabic is None and c.arabic is None:
        nxt = comps[i + 1]
        tail = nxt.canon if nxt.role == "tail" else ("rahman" if _skeleton_eq(nxt.text, "rahman") else "")
        m = re.fullmatch(r"([a-z]{3,}?)([aeiou][lrsdtnz]|[aeiou]sh)", c.text)
        if tail and m:
            head = _Comp("name", m.group(1), None)
            base = _name_token(head)
            return _attach(base, tail), i + 2
    return _with_tails(comps, i + 1, _name_token(c))


def _prefix_fits(prefix: _Comp, nxt: _Comp) -> bool:
    """Whether a prefix joins the next component (soft prefixes only before their tails)."""
    if prefix.role == "prefix":
        return True
    if prefix.canon == "abd":
        return nxt.role == "tail" or _is_divine(nxt.text) or (
            nxt.arabic is not None and _rule_key_arabic(nxt.arabic) in _divine_keys_arabic()
        )
    return nxt.text in _GEEZ_TAILS


@functools.lru_cache(maxsize=1)
def _divine_keys_arabic() -> frozenset[str]:
    return frozenset(_rule_key_latin(d) for d in _DIVINE)


def _with_tails(comps: list[_Comp], j: int, base: NameToken) -> tuple[NameToken, int]:
    """Attach following theophoric tails (al-Din, Allah, ul-Haq ...) to a name token."""
    while True:
        k = _next_name(comps, j)
        if k < len(comps) and comps[k].role == "tail":
            base = _attach(base, comps[k].canon)
            j = k + 1
            continue
        if k < len(comps) and k > j and comps[k].role == "name" and _skeleton_eq(comps[k].text, "rahman"):
            base = _attach(base, "rahman")  # Fazl al-Rahman: with the article only
            j = k + 1
            continue
        return base, j


def _attach(base: NameToken, tail: str) -> NameToken:
    text = _collapse(base.text + _TAIL_TEXT[tail])
    return NameToken(text, base.key + _TAIL_KEY[tail], "name")


def _name_token(c: _Comp) -> NameToken:
    if c.role == "tail":
        return NameToken(c.canon, _TAIL_KEY.get(c.canon, "a"), "name")
    return NameToken(c.text, _comp_key(c) or "a", "name")


@functools.lru_cache(maxsize=1 << 17)
def _part_tokens(part: str) -> tuple[NameToken, ...]:
    """Tokens of one name part (cached: parts repeat across records)."""
    comps: list[_Comp] = []
    for word in _fold_words(part):
        comps.extend(_decompose(word))
    return tuple(_group(comps))


@functools.lru_cache(maxsize=1 << 17)
def name_tokens(
    given: str | None, family: str | None, full: str | None = None
) -> tuple[NameToken, ...]:
    """Tokens of a person's name: one bag over given names, family name and full name.

    Order: given, then family, then the tokens of ``full`` whose key is not present already;
    a token whose key was seen earlier is dropped. Empty or missing parts give nothing.

    Particles and compounds:

    * the article (al-, el-, ul-, ar-/as-/ad-... before their letter, ال) is absorbed by the
      following name: clerks write *al-Rashid*, *Al Rashid* and *Rashid* for the same person,
      and "al" alone carries no evidence;
    * *Abd* + name is one token (Abd al-Rahman = Abdul Rahman = Abdurrahman = Abderrahmane =
      Cabdiraxmaan), as is X + Allah (Abdullah = Abd Allah; Nasrullah = Nasr Allah), X + al-Din
      (Salahuddin = Salah al-Din), X + ul-Haq, X + ul-Islam, X + ul-Huda and X + ur-Rahman;
    * *Abu* + name is one token: a kunya (Abu Bakr) is a name in its own right;
    * *bin*, *ibn*, *ben*, *bint*, *ould* followed by a name are emitted as ``kind="particle"``
      (canonical text and key "bin", "bint", "ould"; they never collide with a name key, which
      has no vowels but a leading "a"): a patronymic link says "the next word is the father",
      useful structure for scoring but no identity of its own; last in a part (*Ben*) they are
      names;
    * Ge'ez prefixes join the following name (Gebremedhin = Gebre Medhin = G/Medhin = ገብረመድህን);
      *haile*, *kidane*, *tekle*, *berhane*... only before a saint's or God's name (Haile
      Gebrselassie stays two names);
    * Persian joined compounds of two names are split (Alireza = Ali Reza);
    * titles (haji, mullah, sheikh, sayed, mawlawi, dr...) get ``kind="title"`` with a
      canonical text.

    Args:
        given: given name(s), any script.
        family: family name(s), any script.
        full: optional full name; only its tokens not already present are added.

    Returns:
        The tokens, deduplicated by key.
    """
    out: list[NameToken] = []
    seen: set[str] = set()
    for part in (given, family, full):
        if not part or not part.strip():
            continue
        for tok in _part_tokens(part):
            if tok.key not in seen:
                seen.add(tok.key)
                out.append(tok)
    return tuple(out)


def _unused() -> None:  # pragma: no cover - keeps imports referenced while drafting
    random.random()


def _clear_caches() -> None:
    """Forget memoised results (tests and benchmarks that switch rules or dictionaries)."""
    for fn in (_fold_words, variant_key, _split_joined, _part_tokens, name_tokens,
               _divine_skeletons, _divine_keys_arabic):
        fn.cache_clear()
