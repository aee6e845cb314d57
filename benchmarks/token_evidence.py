"""What the per-name tokens are worth to linkage, and what they give away: the numbers behind the
open design decision in ``docs/privacy.md``.

Two measurements, one run, the same key:

1. **Linkage without them.** The synthetic data are encoded once; then matched as they are,
   with the ``name_keys`` replaced by unique values (no token is ever shared, so the name
   evidence comes from the filter alone), without the single-name blocking keys, without
   both, and with the ``name_keys`` salted with the record's birth-year token (shared only
   between records of the same year; the model unchanged). Prints precision, recall, F1 and the
   pairs compared.
2. **A known-pair dictionary against other token designs.** Over the name keys of 20,000
   generated records, the attacker knows 1 % of (record, name) pairs; the share of the other
   records whose every token it then holds, if the tokens were of single name keys (today), of
   pairs of name keys (a one-key name keeping a single token), or of either salted with the
   birth year.

Run: ``.venv/bin/python benchmarks/token_evidence.py [--seed 0]``.
"""

from __future__ import annotations

import argparse
import itertools
import re

import numpy as np
import numpy.typing as npt
import pyarrow as pa

import linkmatch
from linkmatch.audit import _name_keys
from linkmatch.encode import Hashers, encode_frame
from linkmatch.evaluate import evaluate
from linkmatch.match import match_encoded
from linkmatch.reveal import reveal_frame
from linkmatch.schema import Schema
from linkmatch.synth import generate

KEY = linkmatch.Key.from_bytes(bytes(range(1, 33)))
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


def linkage_without_tokens(seed: int) -> None:
    data = generate(seed=seed)
    schema = Schema()
    hashers = Hashers(KEY, schema, SALT)
    left = encode_frame(data.left, KEY, job_salt=SALT)
    right = encode_frame(data.right, KEY, job_salt=SALT)
    print("linkage (asylum-like synth, default schema, default threshold)")
    variants = [(False, False, False), (False, True, False), (True, False, False),
                (True, True, False), (False, False, True), (False, True, True)]
    for keys, single, salted in variants:
        rng = np.random.default_rng(0)
        lt = _without(left.table, hashers, schema.max_name_tokens, keys=keys,
                      single_blocks=single, rng=rng, year_salted=salted)
        rt = _without(right.table, hashers, schema.max_name_tokens, keys=keys,
                      single_blocks=single, rng=rng, year_salted=salted)
        result = match_encoded(left.manifest, lt, right.manifest, rt)
        cands = reveal_frame(result.candidates, side="left", manifest=left.manifest,
                             records=data.left, key=KEY)
        cands = reveal_frame(cands, side="right", manifest=right.manifest, records=data.right,
                             key=KEY)
        ev = evaluate(cands, data.truth)
        label = ("name_keys never shared" if keys else "name_keys salted with birth year"
                 if salted else "name_keys shared") + \
            (", single-name blocking keys dropped" if single else "")
        print(f"  {label:62s} P {ev.precision:.4f} R {ev.recall:.4f} F1 {ev.f1:.4f} "
              f"pairs {result.manifest['counts']['pairs_compared']:,}")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    linkage_without_tokens(args.seed)
    dictionary_coverage(args.seed)


if __name__ == "__main__":
    main()
