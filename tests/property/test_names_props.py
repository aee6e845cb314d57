"""Property tests for linkmatch.normalise.names: robustness, token shape, idempotence."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from linkmatch.normalise import names
from linkmatch.normalise.names import fold, name_tokens, variant_key

TEXT_RE = re.compile("[a-z]+")
KEY_RE = re.compile("[a-z0-9]+")
FOLDED_RE = re.compile("([a-z]+( [a-z]+)*)?")

# Latin-script names as clerks type them: letters with and without accents, separators,
# ayn/hamza marks, Ethiopian slashes, dots of abbreviations.
latin_letters = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    + list("áàâäãåçéèêëíìîïñóòôöõøúùûüýÿşšžčćğıłßæœđðþ")
    + list("ḥṣṭẓāīūʿʾ")
)
separators = st.sampled_from([" ", "-", "'", "’", "/", ".", ",", "  "])
latin_words = st.lists(latin_letters, min_size=1, max_size=12).map("".join)
known_words = st.sampled_from(
    [
        "Abd", "al", "el", "ul", "Abdul", "Abdi", "Rahman", "Allah", "ullah", "Abu", "Bakr",
        "bin", "ibn", "ben", "bint", "Ould", "Gebre", "G", "W", "Haile", "Mariam", "Medhin",
        "Eddine", "Din", "Haq", "Haji", "Sheikh", "Sayed", "Md", "Mohd", "Cabdi", "Xasan",
        "Alireza", "Ghulam", "Nasrullah", "Fazlur", "Maxamed", "Mohammed", "Hussein", "ar",
        "Rashid", "Alrashid", "Tesfaye", "Yevhen", "Serhii",
    ]
)  # fmt: skip
latin_names = st.lists(
    st.tuples(st.one_of(latin_words, known_words), separators), min_size=1, max_size=6
).map(lambda parts: "".join(w + s for w, s in parts))


def key_list(given_: str | None, family: str | None = None) -> list[str]:
    return [t.key for t in name_tokens(given_, family)]


@given(st.text(max_size=300))
@example("\x00")
@example("\u200f\u200e\u202b")
@example("😀🙂👨‍👩‍👧")
@example("محمد\u200fبن\x00سلمان")
@example("a" * 10_000)
@example("abu " * 2_500)
@example("عبد" * 3_000)
@example("ab" + "ul" * 4_000 + "lah")
@example("Mohammed " * 1_200)
@example("\ud7ff\U0010ffff\ufeff\ufffd")
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_never_raises_and_tokens_are_well_formed(text: str) -> None:
    for tokens in (name_tokens(text, text, text), name_tokens(text, None), name_tokens(None, text)):
        for tok in tokens:
            assert TEXT_RE.fullmatch(tok.text), tok
            assert KEY_RE.fullmatch(tok.key), tok
            assert tok.kind in ("name", "particle", "title")
        assert len({t.key for t in tokens}) == len(tokens)  # deduplicated by key
    assert FOLDED_RE.fullmatch(fold(text))


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=2_000, max_size=10_000))
@settings(
    max_examples=15,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    deadline=None,
)
def test_long_text_never_raises(text: str) -> None:
    for tok in name_tokens(text, None):
        assert TEXT_RE.fullmatch(tok.text)
        assert KEY_RE.fullmatch(tok.key)


@given(latin_names)
@example("G/Medhin Abd-al-Rahman")
@example("Md. Abdullahi bin Ali")
@example("W/ro Almaz Haile Mariam")
@settings(deadline=None)
def test_folding_first_changes_no_key(text: str) -> None:
    assert key_list(fold(text)) == key_list(text)
    assert fold(fold(text)) == fold(text)


@given(latin_names, latin_names)
@settings(deadline=None)
def test_swapping_parts_gives_the_same_bag(first: str, second: str) -> None:
    assert set(key_list(first, second)) == set(key_list(second, first))


@given(st.text(max_size=60))
@example("Олександр Шевченко")
@example("ገብረመድህን ተስፋዬ")
@example("عبد الرحمن بن علي")
@settings(deadline=None)
def test_deterministic(text: str) -> None:
    first = (fold(text), name_tokens(text, None))
    names._clear_caches()
    assert (fold(text), name_tokens(text, None)) == first


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=30))
def test_variant_key_of_a_token(token: str) -> None:
    key = variant_key(token)
    assert KEY_RE.fullmatch(key) if token else key == ""
    assert variant_key(token) == key


@given(st.lists(st.sampled_from(["Mohammed", "Muhammad", "Mohamed", "Mohd", "محمد"]), min_size=1))
def test_one_token_however_often_a_name_repeats(spellings: list[str]) -> None:
    assert len(name_tokens(" ".join(spellings), None)) == 1
