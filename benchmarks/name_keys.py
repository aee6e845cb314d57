"""Measure the name variant keys on real Latin/Arabic name pairs (wd_arabic_name_tokens.tsv).

Reports, for the rules alone, the rules plus the bundled variant dictionary (in-sample) and the
rules plus a dictionary built on a random half of the Arabic spellings (evaluated on the other
half, the honest figure):

* variant recall (pairs): over Arabic spellings with at least two Latin forms seen at least twice,
  the count-weighted fraction of pairs of Latin forms whose keys are equal;
* variant recall (to Arabic): the count-weighted fraction of those Latin forms whose key equals
  the key of the Arabic spelling itself (Arabic script reaching Latin records);
* unseen spelling of a seen name (leave one out): for each Latin spelling X of an Arabic
  spelling with at least two, whether X's rule key (what a spelling the dictionary never saw
  gets) equals the dictionary's key worked out without X;
* false merges: the count-weighted fraction of pairs of Latin tokens with *different* Arabic
  spellings (and different folded spellings) whose keys collide;
* speed: warm name_tokens calls per second, dictionary load time.

"Arabic-origin" rows keep only Arabic spellings with a letter Western names written in Arabic
script do not use (or the article): the names this module is tuned for. The held-out split is by
Arabic spelling and varies with ``--seed`` (heavy groups such as John/جون fall on either side).

Run: ``.venv/bin/python benchmarks/name_keys.py [--seed 1]``
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from linkmatch.normalise import names

Row = tuple[str, str, int]

# Letters that Western names written in Arabic script do not use: a spelling with one of them (or
# with the article) is an Arabic-origin name, the population this module is tuned for.
_ARABIC_ORIGIN_LETTERS = frozenset("عحخصضطظقذثءئؤغ")


def arabic_origin(arabic: str) -> bool:
    return arabic.startswith("ال") or any(ch in _ARABIC_ORIGIN_LETTERS for ch in arabic)


def _token_key(value: str) -> str:
    """Key of one spelling as the encoder sees it: the keys of its name tokens joined."""
    return "+".join(t.key for t in names.name_tokens(value, None) if t.kind != "title")


def _reset(dictionaries: names._Dictionaries | None) -> None:
    names._use_dictionaries(dictionaries)


def variant_recall(rows: Sequence[Row], key: Callable[[str], str]) -> tuple[float, float, int]:
    """(pairwise recall, recall to the Arabic key, number of Arabic spellings evaluated)."""
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    for latin, arabic, count in rows:
        if count >= 2:
            groups[arabic][latin] += count
    agree = total = 0.0
    to_ar = to_ar_total = 0.0
    n_groups = 0
    for arabic, forms in groups.items():
        if len(forms) < 2:
            continue
        n_groups += 1
        akey = key(arabic)
        items = [(key(latin), c) for latin, c in forms.items()]
        for i, (ki, ci) in enumerate(items):
            to_ar_total += ci
            to_ar += ci if ki == akey else 0
            for kj, cj in items[i + 1 :]:
                total += ci * cj
                agree += ci * cj if ki == kj else 0
    return agree / total, to_ar / to_ar_total, n_groups


def false_merges(rows: Sequence[Row], key: Callable[[str], str]) -> float:
    """Count-weighted rate of key collisions between tokens of different Arabic spellings.

    Exact (no sampling): pairs with equal key, minus those with the same Arabic spelling or the
    same folded Latin spelling (no key could separate those), by inclusion-exclusion.
    """
    m_k: Counter[str] = Counter()
    m_ka: Counter[tuple[str, str]] = Counter()
    m_kt: Counter[tuple[str, str]] = Counter()
    m_kat: Counter[tuple[str, str, str]] = Counter()
    m_a: Counter[str] = Counter()
    m_t: Counter[str] = Counter()
    m_at: Counter[tuple[str, str]] = Counter()
    n = 0
    for latin, arabic, count in rows:
        if count < 2:
            continue
        text = names.fold(latin)
        if not text:
            continue
        k = key(latin)
        n += count
        m_k[k] += count
        m_ka[k, arabic] += count
        m_kt[k, text] += count
        m_kat[k, arabic, text] += count
        m_a[arabic] += count
        m_t[text] += count
        m_at[arabic, text] += count

    def sq(c: Counter[object]) -> float:
        return float(sum(v * v for v in c.values()))

    same_key = sq(m_k) - sq(m_ka) - sq(m_kt) + sq(m_kat)  # type: ignore[arg-type]
    all_pairs = n * n - sq(m_a) - sq(m_t) + sq(m_at)  # type: ignore[arg-type]
    return same_key / all_pairs


def unseen_spelling_reach(rows: Sequence[Row], dictionaries: names._Dictionaries
                          ) -> tuple[float, float]:
    """Leave one spelling out: how often a Latin spelling the dictionary never saw still meets
    the spellings it did see.

    For each Arabic spelling with at least two Latin spellings and each of these, X: the
    dictionary's key for the Arabic spelling is worked out from the other Latin spellings only
    (:func:`names.canonical_of`), and X gets its rule key, as an unseen spelling does. Returns
    the share of (Arabic spelling, X) with equal keys, unweighted (unseen spellings are rare
    ones) and over Arabic-origin spellings only.
    """
    hit = total = origin_hit = origin_total = 0
    for arabic, forms in dictionaries.forms.items():
        if len(forms) < 2:
            continue
        for x in forms:
            others = {latin: c for latin, c in forms.items() if latin != x}
            ok = names._rule_key_latin(names._SLAVIC_EQUIV.get(x, x)) == \
                names.canonical_of(others)
            hit += ok
            total += 1
            if arabic_origin(arabic):
                origin_hit += ok
                origin_total += 1
    return hit / total, origin_hit / origin_total


def report(label: str, rows: Sequence[Row]) -> None:
    recall, to_arabic, n_groups = variant_recall(rows, _token_key)
    merges = false_merges(rows, _token_key)
    print(
        f"{label:<49} recall {recall:6.1%}  to-Arabic {to_arabic:6.1%}  "
        f"false merges {merges:5.2%}  ({n_groups} Arabic spellings)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rows = [(lat, names._clean_arabic(ar), c) for lat, ar, c in names._read_rows()]
    rows = [r for r in rows if r[1]]

    t0 = time.perf_counter()
    full_dict = names._build_dictionaries(names._read_rows())
    load = time.perf_counter() - t0

    origin = [r for r in rows if arabic_origin(r[1])]
    _reset(None)
    report("rules only, all data", rows)
    report("rules only, Arabic-origin spellings", origin)
    _reset(full_dict)
    report("rules + dictionary, all data (in-sample)", rows)
    report("rules + dictionary, Arabic-origin (in-sample)", origin)

    reach, reach_origin = unseen_spelling_reach(rows, full_dict)
    print(f"{'unseen spelling of a seen name, leave one out':<49} reach {reach:6.1%}  "
          f"Arabic-origin {reach_origin:6.1%}")

    spellings = sorted({ar for _, ar, _ in rows})
    random.Random(args.seed).shuffle(spellings)
    train_set = set(spellings[: len(spellings) // 2])
    train = [r for r in rows if r[1] in train_set]
    test = [r for r in rows if r[1] not in train_set]
    test_origin = [r for r in test if arabic_origin(r[1])]
    _reset(None)
    report("rules only, held-out half", test)
    report("rules only, held-out half, Arabic-origin", test_origin)
    _reset(names._build_dictionaries(train))
    report("rules + dictionary of other half, held-out", test)
    report("rules + dict. of other half, held-out, Ar.-orig.", test_origin)

    # speed
    names._STATE["dictionaries"] = None
    names._ENABLED["dictionary"] = True
    names._clear_caches()
    t0 = time.perf_counter()
    names._dicts()
    cold_load = time.perf_counter() - t0
    sample = [(lat, None) for lat, _, c in rows if c >= 5][:2000]
    t0 = time.perf_counter()
    for given, family in sample:
        names.name_tokens(given, family)
    cold = (time.perf_counter() - t0) / len(sample)
    reps = 50
    t0 = time.perf_counter()
    for _ in range(reps):
        for given, family in sample:
            names.name_tokens(given, family)
    warm = (time.perf_counter() - t0) / (reps * len(sample))
    print(
        f"dictionary build {load * 1000:.0f} ms (lazy load {cold_load * 1000:.0f} ms); "
        f"name_tokens cold {cold * 1e6:.1f} us/call, warm {1 / warm:,.0f} calls/s"
    )


if __name__ == "__main__":
    main()
