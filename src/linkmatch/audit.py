"""Privacy audit: attacks that a linkage unit (all encodings, no key) could run, measured.

The linkage unit may know the plain distribution of names and birth years in the population
(public registers, its own records, this project's generator), every public parameter (the
schema, the library's normalisation code) and, in the strongest threat model, a small share of
(record, name) pairs: its own records, or candidates revealed to it earlier. These attacks use
only that knowledge and the encoded file, and report how much they recover. Measuring needs the
truth, so :func:`simulate` encodes a synthetic population under a fresh key with the same schema
settings as the file audited and attacks that: what an attacker could do against this *kind* of
encoding. The truth is used only to score the attacks, never by them.

Attacks implemented:

* **frequency alignment of name-key tokens** (after Kuzu et al. 2011; Christen et al. 2018): the
  keyed token of a name's variant key is deterministic, so its frequency among the encodings
  mirrors the frequency of the key in the population. Ranking both and pairing rank for rank
  re-identifies the common tokens. Reported: the share of token occurrences re-identified
  correctly, and the share of records whose *whole* name (every token) is re-identified
  one-to-one.
* **known-pair dictionary of name-key tokens** (:func:`known_token_dictionary`): a token is
  the same wherever its name occurs, and the encoder lists a record's name keys in reading
  order (public code), so each known (record, name) pair tells the attacker the name behind
  every token of that record, and that name wherever else the token occurs. Common names are
  in nearly every handful of known records. Reported like the frequency attack, over the
  records the attacker did not know.
* **frequency alignment of blocking keys** (:func:`block_key_alignment`): the same on the
  ``block_keys`` column, whose single-name-key tokens are as deterministic. Composite blocking
  keys (pairs of names, name with year) only ever occur in records that also hold a more
  frequent single-key token, so tokens *dominated* that way are dropped before aligning.
* **pattern mining of the name Bloom filter** (:func:`pattern_mining`; in the line of Kroll
  and Steinmetzer 2015, Christen et al. 2017 and Vidanage et al. 2019, here with known
  plaintexts): holding a few known (record, name) pairs, the attacker learns which bit
  positions each q-gram sets, as a noisy Boolean factorisation of the known filters; then
  decides which background name tokens each other filter holds, and bootstraps on the records
  it explains best. Reported, over the records it did not know: token occurrences recovered,
  whole names re-identified one-to-one (its single guess is the record's set of name keys) and
  one-to-few (the set is among its ≤ ``few`` guesses).
* **combined**: per record, the union of the above. A token counts as recovered if any attack
  guessed it right one-to-one; a record's whole name is re-identified if every token of it is
  recovered by attacks that made no wrong one-to-one guess on that record (a frequency
  alignment's guess for another of its tokens, or a Bloom guess with a wrong name).
* **bit-count (length) attack**: the number of bits set in a name filter grows with the number
  of q-grams, so it reveals name length. A balanced filter's stored weight is constant, but
  every stored column has a complement column, so the unit keeps the sparser column of each
  pair and counts again (:func:`linkmatch.structure_attack.unbalanced_weight`). Reported:
  Spearman correlation between that weight and the number of letters of the name.
* **structure-aware attack** (:mod:`linkmatch.structure_attack`), T1 and T2: the unit encodes
  its background population with a key of its own and matches the file's name tokens to its
  own by count, slot, nationality, birth year, length class, co-occurrence and q-gram
  similarity graphs.

Every attack is reported per threat model by :meth:`AuditResult.threat_models` (stable dotted
keys, ``t1.<attack>.whole_names_one_to_one`` and so on; ``docs/privacy.md``).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from linkmatch.encode import Hashers, encode_frame, pseudonyms_hex
from linkmatch.errors import ConfigError
from linkmatch.io import normalise_columns
from linkmatch.normalise.names import name_tokens
from linkmatch.pseudonymise.bloom import qgrams
from linkmatch.pseudonymise.keys import Key
from linkmatch.schema import Schema
from linkmatch.structure_attack import (
    filter_bits,
    name_token_guesses,
    score_names,
    truth_by_row,
    unbalanced_weight,
)

__all__ = ["AuditResult", "block_key_alignment", "frequency_alignment", "known_token_dictionary",
           "linkage_cost", "pattern_mining", "salted_pattern_mining", "simulate"]

Token = tuple[str, str]
"""A name token as the attacker computes it from a plain name: (folded text, variant key)."""

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_ROW_CHUNK: Final = 2048
"""Filters scored per matrix product (bounds the memory of the score matrix)."""
_MIN_GAIN_RECORDS: Final = 2
"""A gram is credited with a bit position only if it explains the bit in two or more records:
one record cannot tell its grams apart."""
_MIN_TOKEN_FEATURES: Final = 0.6
"""Share of a token's grams whose positions must be known before the token is looked for."""
_MIN_TOKEN_POSITIONS: Final = 20
"""Fewer learned positions cannot tell a token from chance (a random filter sets half its
bits)."""
_MIN_NEW_BITS: Final = 4
"""Bits a token must newly explain in a filter to be added to the record's guess."""
_DETECT_MARGIN: Final = 0.1
"""Share of a token's positions that may be unset, beyond the flip rate, and the token still
counts as present (its learned positions are not perfect)."""
_SELECT_MARGIN: Final = 0.05
"""Self-training trusts a guess only if its tokens' shares are this close to ``1 - flip_rate``
and it leaves at most this share of the set bits unexplained (beyond unlearned grams and
flips); its labels are then tolerated as wrong as often, on top of the flip rate."""
_ALTERNATIVE_GAIN: Final = 0.75
"""An alternative token whose gain reaches this share of the chosen one's is a second guess."""
_FLIP_SLACK: Final = 1.5
"""Random flips set about ``flip_rate`` of the unset bits: allow half as many again."""
_MAX_ROUNDS: Final = 5
"""Self-training rounds at most (it converges in two or three on the default encoding)."""
_MAX_FLIP_RATE: Final = 0.25
"""Cap of the flip-rate estimate: filters flipped more than this carry too little to attack."""
_FLIP_QUANTILE: Final = 0.01
"""Quantile of the positions' set rates that estimates the flip rate (see ``flip_rate``)."""
_MAX_POSITION_RATE: Final = 0.5
"""Positions set in more filters than this are not used (see ``_PatternMiner``)."""


@dataclass(frozen=True)
class AuditResult:
    """Measured attack outcomes (shares in [0, 1], counts); no personal values.

    The first six fields are the frequency alignment of the ``name_keys`` column and the length
    attack, and ``block_*`` the frequency alignment of ``block_keys``, all over every record
    with a name. ``bloom_*`` (the pattern-mining attack, holding ``known_records`` known pairs,
    on filters of ``name_filter_bits`` bits as stored) and ``combined_*`` count only the
    ``bloom_records`` records with a name that the attacker did *not* know beforehand.
    """

    records: int
    token_occurrences: int
    tokens_reidentified: float
    records_name_reidentified_one_to_one: float
    records_name_reidentified_one_to_few: float
    bitcount_length_spearman: float
    block_tokens_reidentified: float
    block_records_reidentified_one_to_one: float
    block_records_reidentified_one_to_few: float
    known_records: int
    name_filter_bits: int
    bloom_records: int
    bloom_tokens_reidentified: float
    bloom_records_reidentified_one_to_one: float
    bloom_records_reidentified_one_to_few: float
    combined_tokens_reidentified: float
    combined_records_reidentified_one_to_one: float
    dictionary_tokens_reidentified: float
    dictionary_records_reidentified_one_to_one: float
    bloom_claims_on_decoys: float = 0.0
    structure_tokens_reidentified: float = 0.0
    structure_records_reidentified_one_to_one: float = 0.0
    structure_singled_out: float = 0.0
    known_structure_records_reidentified_one_to_one: float = 0.0
    known_structure_singled_out: float = 0.0
    frequency_singled_out: float = 0.0
    block_singled_out: float = 0.0
    dictionary_singled_out: float = 0.0
    bloom_singled_out: float = 0.0
    combined_singled_out: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    def threat_models(self) -> dict[str, float]:
        """The figures per threat model, under stable dotted keys (``docs/privacy.md``).

        ``t1.<attack>.*`` are attacks of a curious unit that holds no known pair;
        ``t2.<attack>.*`` those of an adaptive unit holding ``known_records`` known pairs
        (scored over the other records). ``t1.whole_names_one_to_one`` and
        ``t1.singled_out`` are the worst of the T1 attacks; the T2 summaries are the worst of
        every attack, since a T2 unit can run the T1 attacks too. A record is *singled out*
        when its whole name is re-identified and at most five records of the population hold
        that name.
        """
        t1 = {
            "frequency": (self.records_name_reidentified_one_to_one, self.frequency_singled_out),
            "block_frequency": (self.block_records_reidentified_one_to_one,
                                self.block_singled_out),
            "structure": (self.structure_records_reidentified_one_to_one,
                          self.structure_singled_out),
        }
        t2 = {
            "dictionary": (self.dictionary_records_reidentified_one_to_one,
                           self.dictionary_singled_out),
            "pattern_mining": (self.bloom_records_reidentified_one_to_one,
                               self.bloom_singled_out),
            "combined": (self.combined_records_reidentified_one_to_one,
                         self.combined_singled_out),
            "structure": (self.known_structure_records_reidentified_one_to_one,
                          self.known_structure_singled_out),
        }
        out: dict[str, float] = {}
        for model, attacks in (("t1", t1), ("t2", t2)):
            for attack, (whole, single) in attacks.items():
                out[f"{model}.{attack}.whole_names_one_to_one"] = round(whole, 6)
                out[f"{model}.{attack}.singled_out"] = round(single, 6)
        out["t1.structure.tokens_reidentified"] = round(self.structure_tokens_reidentified, 6)
        out["t1.length.spearman"] = round(self.bitcount_length_spearman, 6)
        everything = [*t1.values(), *t2.values()]
        out["t1.whole_names_one_to_one"] = round(max(w for w, _ in t1.values()), 6)
        out["t1.singled_out"] = round(max(s for _, s in t1.values()), 6)
        out["t2.whole_names_one_to_one"] = round(max(w for w, _ in everything), 6)
        out["t2.singled_out"] = round(max(s for _, s in everything), 6)
        out["t2.known_records"] = float(self.known_records)
        return out


def _record_tokens(frame: pd.DataFrame) -> list[list[Token]]:
    """Each record's identifying name tokens (public code: what the attacker computes too)."""
    return [[(t.text, t.key) for t in name_tokens(g, f, fu) if t.kind == "name"]
            for g, f, fu in zip(frame["given_names"], frame["family_name"], frame["full_name"],
                                strict=True)]


def _name_keys(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    return [tuple(dict.fromkeys(k for _, k in tokens)) for tokens in _record_tokens(frame)]


def _align_ranks(token_counts: Counter[int], plain_counts: Counter[str]) -> dict[int, list[str]]:
    """Token → plain candidates, pairing frequency ranks; a tie group gets all its ranks' keys."""
    tokens_ranked = token_counts.most_common()
    plain_ranked = [k for k, _ in plain_counts.most_common()]
    guesses: dict[int, list[str]] = {}
    start = 0
    while start < len(tokens_ranked):
        count = tokens_ranked[start][1]
        end = start
        while end < len(tokens_ranked) and tokens_ranked[end][1] == count:
            end += 1
        candidates = plain_ranked[start:end]
        for token, _ in tokens_ranked[start:end]:
            guesses[token] = candidates
        start = end
    return guesses


def frequency_alignment(table: pa.Table, background: pd.DataFrame) -> dict[int, list[str]]:
    """The attack itself: token → guessed plain keys, by aligning frequency ranks.

    Tokens whose count ties with others get all keys of the tied background ranks as
    candidates (one-to-few); a token with a distinct count gets one key (one-to-one).
    Uses only the encodings and the background population.
    """
    keys = table.column("name_keys").combine_chunks().flatten().to_numpy()
    token_counts = Counter(int(t) for t in keys if t)
    plain_counts = Counter(k for ks in _name_keys(background) for k in ks)
    return _align_ranks(token_counts, plain_counts)


def known_token_dictionary(table: pa.Table, known: Mapping[int, Sequence[Token]]
                           ) -> dict[int, list[str]]:
    """Token → name key, read off the known (record, name) pairs.

    The ``name_keys`` of a record hold the keyed tokens of its distinct name keys in reading
    order (:func:`linkmatch.encode.encode_frame`), so slot ``i`` of a known record is the token
    of its ``i``-th distinct key. Uses only the encodings and the known pairs.
    """
    column = table.column("name_keys").combine_chunks()
    width = column.type.list_size
    slots = column.flatten().to_numpy().reshape(-1, width)
    guesses: dict[int, list[str]] = {}
    for row, tokens in known.items():
        keys = list(dict.fromkeys(k for _, k in tokens))[:width]
        for slot, key in enumerate(keys):
            token = int(slots[row, slot])
            if token:
                guesses[token] = [key]
    return guesses


def block_key_alignment(table: pa.Table, background: pd.DataFrame) -> dict[int, list[str]]:
    """Frequency alignment on the ``block_keys`` column: token → guessed plain name keys.

    Every blocking-key token is counted over the records (each record lists a token once).
    A composite key (a pair of names, a name with a birth year, a variant with a year) occurs
    only in records that also hold the single-key token of its name, which is more frequent:
    a token all of whose records share a more frequent token is *dominated* and dropped, which
    leaves mostly the single-name-key tokens (and dates, documents and addresses, which
    interleave with the rarer names). The rest is aligned rank for rank with the plain
    frequencies of single name keys in the background population, as
    :func:`frequency_alignment` does. Uses only the encodings and the background population.
    """
    column = table.column("block_keys").combine_chunks()
    offsets = column.offsets.to_numpy().astype(np.int64)
    flat = column.values.to_numpy().astype(np.int64)
    if not len(flat):
        return {}
    offsets = offsets - offsets[0]
    lengths = np.diff(offsets)
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    uniques, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    record_sets = [set(inverse[offsets[i]:offsets[i + 1]].tolist()) for i in range(len(lengths))]
    by_token = np.argsort(inverse, kind="stable")
    starts = np.zeros(len(uniques) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    keep = np.ones(len(uniques), dtype=bool)
    for token in np.flatnonzero(counts >= 2).tolist():
        token_rows = rows[by_token[starts[token]:starts[token + 1]]]
        count = counts[token]
        common = {u for u in record_sets[token_rows[0]] if counts[u] > count}
        for row in token_rows[1:].tolist():
            if not common:
                break
            common &= record_sets[row]
        keep[token] = not common
    token_counts = Counter(dict(zip(uniques[keep].tolist(), counts[keep].tolist(), strict=True)))
    plain_counts = Counter(k for ks in _name_keys(background) for k in ks)
    return _align_ranks(token_counts, plain_counts)


# ------------------------------------------------------------------- pattern mining (Bloom)


def _allowed_misses(support: F32, flip_rate: float) -> F32:
    """Known filters holding a gram that may lack one of its bits (random flips), by support.

    About the 99th percentile of the binomial count of flipped-off bits, rounded down: 0 for
    exact filters and for grams seen in few filters, where one miss weighs too much.
    """
    if flip_rate <= 0:
        return np.zeros_like(support)
    spread = 2.5 * np.sqrt(support * flip_rate * (1 - flip_rate))
    allowed: F32 = np.floor(support * flip_rate + spread).astype(np.float32)
    return allowed


class _Explanation(NamedTuple):
    """What the attack concluded about one filter."""

    chosen: list[int]
    """Tokens (vocabulary indices) guessed present, in the order chosen."""
    alternatives: list[list[int]]
    """Per chosen token: it and the tokens of other keys that explained nearly as much."""
    explained: float
    """Share of the filter's (informative) set bits that the chosen tokens explain."""
    lowest_share: float
    """Lowest share of a chosen token's learned positions set in the filter."""


class _PatternMiner:
    """State of one pattern-mining attack: the filters, the vocabulary and its q-gram features.

    A *feature* is a q-gram of a token's text or of its variant key (the encoder hashes the two
    under different keys, so ``("t", "ab")`` and ``("k", "ab")`` set unrelated bits).
    """

    def __init__(self, bits: U8, vocabulary: Sequence[Token], qgram: int) -> None:
        self.bits = bits
        self.num_bits = bits.shape[1]
        self.vocabulary = list(vocabulary)
        self.token_index = {token: i for i, token in enumerate(self.vocabulary)}
        feature_ids: dict[tuple[str, str], int] = {}
        self.token_features: list[list[int]] = []
        for text, key in self.vocabulary:
            grams = [("t", g) for g in qgrams(text, qgram)] + [("k", g) for g in qgrams(key, qgram)]
            self.token_features.append(sorted({feature_ids.setdefault(f, len(feature_ids))
                                               for f in grams}))
        self.num_features = len(feature_ids)
        self.token_feature_matrix = np.zeros((len(self.vocabulary), self.num_features), np.float32)
        for i, features in enumerate(self.token_features):
            self.token_feature_matrix[i, features] = 1.0
        self.features_per_token = self.token_feature_matrix.sum(axis=1)
        # A position set in most filters says little when set, and in a balanced filter
        # (filter and complement, permuted) it is the complement of a rarely set one, which
        # the OR model of a Bloom filter does not describe: only the others are used.
        self.informative = bits.mean(axis=0) <= _MAX_POSITION_RATE
        informative_bits = bits * self.informative.astype(np.uint8)
        self.record_ints = [int.from_bytes(np.packbits(row, bitorder="little").tobytes(),
                                           "little") for row in informative_bits]
        self.bits_set = informative_bits.sum(axis=1, dtype=np.int64)

    # -- learning: which bits each feature sets ---------------------------------------------
    def feature_matrix(self, labels: Sequence[Sequence[int]]) -> BoolArray:
        """Records × features: which features the labelled tokens of each record hold."""
        out = np.zeros((len(labels), self.num_features), dtype=bool)
        for i, tokens in enumerate(labels):
            for token in tokens:
                out[i, self.token_features[token]] = True
        return out

    def flip_rate(self) -> float:
        """Estimated rate of random bit flips (BLIP), from how often the rarest positions are set.

        Without flips some positions of a filter are set by no common q-gram and are almost
        never set; flips set every position in a share ``f`` of the filters. So the 1st
        percentile of the positions' set rates estimates ``f`` (about 0.001 for exact filters,
        within 0.001 of ``f`` for rates of 0.01 to 0.05 on a few thousand filters). An adaptive
        attacker knows the hardening parameters; estimating them needs no such knowledge.
        """
        rates = self.bits.mean(axis=0)
        return min(float(np.quantile(rates, _FLIP_QUANTILE)), _MAX_FLIP_RATE)

    def learn(self, rows: I64, labels: Sequence[Sequence[int]], flip_rate: float) -> BoolArray:
        """Features × positions: the bits each feature sets, as a noisy Boolean factorisation.

        A bit of a filter is set when any of the record's features sets it (an OR). So a
        feature can set position ``p`` only if (nearly) every labelled filter holding it has
        ``p`` set ("consistent"); of the consistent features, the smallest set that explains
        the filters with ``p`` set is chosen greedily (most newly explained filters first).
        Greedy cover explains away features that merely co-occur with the true one: "oh"
        always comes with "mo" in the known Mohameds, but once "mo" explains those filters "oh"
        adds nothing, and the filters with "oh" and without "mo" show it does not set ``p``.
        """
        features = self.feature_matrix(labels)
        support = features.sum(axis=0).astype(np.float32)
        filters = self.bits[rows]
        unset = np.zeros((self.num_features, self.num_bits), dtype=np.float32)
        for lo in range(0, len(rows), _ROW_CHUNK):
            chunk = features[lo:lo + _ROW_CHUNK].astype(np.float32)
            unset += chunk.T @ (1.0 - filters[lo:lo + _ROW_CHUNK].astype(np.float32))
        allowed = _allowed_misses(support, flip_rate)
        consistent = ((unset <= allowed[:, None]) & (support[:, None] >= _MIN_GAIN_RECORDS)
                      & self.informative[None, :])
        positions = np.zeros((self.num_features, self.num_bits), dtype=bool)
        set_rows = filters.astype(bool)
        for p in np.flatnonzero(consistent.any(axis=0)).tolist():
            candidates = np.flatnonzero(consistent[:, p])
            cover = features[np.ix_(np.flatnonzero(set_rows[:, p]), candidates)]
            todo = np.ones(len(cover), dtype=bool)
            while True:
                gain = todo.astype(np.int64) @ cover
                best = int(np.argmax(gain)) if len(gain) else 0
                if not len(gain) or gain[best] < _MIN_GAIN_RECORDS:
                    break
                positions[candidates[best], p] = True
                todo &= ~cover[:, best]
                cover[:, best] = False
        return positions

    # -- detection: which tokens each filter holds -------------------------------------------
    def detect(self, positions: BoolArray, rows: I64, flip_rate: float) -> list[_Explanation]:
        """Which background tokens each filter of ``rows`` holds.

        A token is a candidate when the share of its learned positions set in the filter
        reaches ``1 - flip_rate - margin``. Candidates are then chosen greedily by the number of
        set bits they newly explain: a short name contained in a longer one ("Ali" in "Alia")
        or covered by two others ("Hamad" by "Muhamad" and "Hasan") explains nothing new once
        the true tokens are chosen. A candidate of another key that explains nearly as much as
        the chosen one is kept as an alternative guess.
        """
        learned = positions.any(axis=1).astype(np.float32)
        coverage = (self.token_feature_matrix @ learned) / np.maximum(self.features_per_token, 1)
        token_positions = (self.token_feature_matrix @ positions.astype(np.float32)) > 0
        num_positions = token_positions.sum(axis=1)
        usable = np.flatnonzero((coverage >= _MIN_TOKEN_FEATURES)
                                & (num_positions >= _MIN_TOKEN_POSITIONS))
        results: list[_Explanation] = []
        if not len(usable):
            return [_Explanation([], [], 0.0, 0.0) for _ in range(len(rows))]
        matrix = token_positions[usable].astype(np.float32).T
        position_ints = [int.from_bytes(np.packbits(token_positions[t], bitorder="little")
                                        .tobytes(), "little") for t in usable.tolist()]
        threshold = 1.0 - flip_rate - _DETECT_MARGIN
        for lo in range(0, len(rows), _ROW_CHUNK):
            chunk = rows[lo:lo + _ROW_CHUNK]
            shares = (self.bits[chunk].astype(np.float32) @ matrix) / num_positions[usable]
            for row, row_shares in zip(chunk.tolist(), shares, strict=True):
                hits = np.flatnonzero(row_shares >= threshold).tolist()
                results.append(self._explain(row, [(int(usable[j]), position_ints[j],
                                                    float(row_shares[j])) for j in hits]))
        return results

    def _explain(self, row: int, candidates: list[tuple[int, int, float]]) -> _Explanation:
        """Greedy explanation of one filter by candidate tokens (see :meth:`detect`)."""
        bits = self.record_ints[row]
        explains = {token: positions & bits for token, positions, _ in candidates}
        share = {token: s for token, _, s in candidates}
        explained = 0
        chosen: list[int] = []
        alternatives: list[list[int]] = []
        keys_chosen: set[str] = set()
        while explains:
            gains = {t: (e & ~explained).bit_count() for t, e in explains.items()}
            best = max(gains, key=lambda t: (gains[t], share[t], -t))
            if gains[best] < _MIN_NEW_BITS:
                break
            key = self.vocabulary[best][1]
            others: dict[str, int] = {}
            for t, g in sorted(gains.items(), key=lambda tg: (-tg[1], tg[0])):
                other_key = self.vocabulary[t][1]
                if (t != best and other_key != key and other_key not in keys_chosen
                        and g >= max(_MIN_NEW_BITS, _ALTERNATIVE_GAIN * gains[best])):
                    others.setdefault(other_key, t)
            chosen.append(best)
            alternatives.append([best, *others.values()])
            keys_chosen.add(key)
            explained |= explains.pop(best)
        fraction = explained.bit_count() / max(int(self.bits_set[row]), 1)
        lowest = min((share[t] for t in chosen), default=0.0)
        return _Explanation(chosen, alternatives, fraction, lowest)

    def confident(self, rows: I64, found: Sequence[_Explanation], positions: BoolArray,
                  flip_rate: float) -> tuple[I64, list[list[int]]]:
        """Records whose guess explains their filter: the next round's pseudo-known pairs.

        A guess is trusted when every chosen token is clearly present and the set bits it
        leaves unexplained are no more than the grams not learned yet, random flips and a small
        margin would leave. Such records teach the positions of grams that no known pair held.
        """
        sizes = positions.sum(axis=1)
        learned = set(np.flatnonzero(sizes).tolist())
        per_feature = float(np.median(sizes[sizes > 0])) if learned else 0.0
        flipped = _FLIP_SLACK * flip_rate * int(self.informative.sum())
        keep_rows: list[int] = []
        keep_labels: list[list[int]] = []
        for row, guess in zip(rows.tolist(), found, strict=True):
            if not guess.chosen or guess.lowest_share < 1.0 - flip_rate - _SELECT_MARGIN:
                continue
            features = {f for t in guess.chosen for f in self.token_features[t]}
            set_bits = int(self.bits_set[row])
            slack = (per_feature * len(features - learned) + _SELECT_MARGIN * set_bits
                     + flipped)
            if (1.0 - guess.explained) * set_bits <= slack:
                keep_rows.append(row)
                keep_labels.append(guess.chosen)
        return np.asarray(keep_rows, dtype=np.int64), keep_labels

    def guesses(self, alternatives: list[list[int]], few: int) -> list[frozenset[str]]:
        """Whole-name guesses (sets of variant keys), best first, at most ``few``."""
        if not alternatives:
            return []
        keys = [[self.vocabulary[t][1] for t in step] for step in alternatives]
        combos: list[tuple[int, ...]] = []
        if math.prod(len(k) for k in keys) <= 4096:
            combos = sorted(itertools.product(*(range(len(k)) for k in keys)),
                            key=lambda c: (sum(c), c))
        else:
            combos = [tuple(0 for _ in keys)]
        out: list[frozenset[str]] = []
        for combo in combos:
            guess = frozenset(k[i] for k, i in zip(keys, combo, strict=True))
            if guess not in out:
                out.append(guess)
            if len(out) == few:
                break
        return out


def pattern_mining(table: pa.Table, background: pd.DataFrame, known: Mapping[int, Sequence[Token]],
                   *, qgram: int = 2, few: int = 10) -> dict[int, list[frozenset[str]]]:
    """The pattern-mining attack on the name Bloom filter (column ``name_bf``).

    How the encoder builds the filter is public: every name token of a record enters one
    record-level filter twice, as the q-grams of its folded text and as the q-grams of its
    variant key, each q-gram setting a few keyed bit positions. The attacker lacks the key, so
    it learns the positions from the records whose names it knows:

    1. estimate the rate of random bit flips (BLIP) from the filters, and learn the positions
       of each q-gram from the known filters, tolerating that many flips;
    2. for every other filter, find the background name tokens whose learned positions are set
       (share of positions set, thresholded), and choose greedily those that explain the set
       bits;
    3. add the records explained best to the known ones and learn again (self-training), until
       the trusted set stops growing. Known pairs only start it: rare q-grams are learned
       from records re-identified on the way.

    A keyed permutation of bit positions changes nothing (positions are learned, not computed);
    with no known pair nothing is learned and nothing guessed.

    Args:
        table: the encoded records.
        background: a population with the same name distribution (plain).
        known: record (row of ``table``) → its name tokens, for the pairs the attacker holds.
        qgram: q-gram length (public schema parameter).
        few: at most this many whole-name guesses per record.

    Returns:
        Row → whole-name guesses (sets of variant keys), best first, for every row not in
        ``known`` that the attack guessed.
    """
    bits = filter_bits(table)
    vocabulary = sorted({t for tokens in _record_tokens(background) for t in tokens}
                        | {t for tokens in known.values() for t in tokens})
    miner = _PatternMiner(bits, vocabulary, qgram)
    known_rows = np.asarray(sorted(known), dtype=np.int64)
    known_labels = [[miner.token_index[t] for t in dict.fromkeys(known[r])]
                    for r in known_rows.tolist()]
    targets = np.setdiff1d(np.arange(len(bits), dtype=np.int64), known_rows)
    if not len(targets):
        return {}
    flip_rate = miner.flip_rate()
    positions = miner.learn(known_rows, known_labels, flip_rate)
    found = miner.detect(positions, targets, flip_rate)
    trusted = 0
    for _ in range(_MAX_ROUNDS):
        rows, labels = miner.confident(targets, found, positions, flip_rate)
        if len(rows) <= trusted * 1.01:
            break
        trusted = len(rows)
        # pseudo-labels are sometimes wrong: tolerate that as if it were extra bit flips
        positions = miner.learn(np.concatenate([known_rows, rows]), known_labels + labels,
                                flip_rate + _SELECT_MARGIN)
        found = miner.detect(positions, targets, flip_rate)
    out: dict[int, list[frozenset[str]]] = {}
    for row, guess in zip(targets.tolist(), found, strict=True):
        if guess.chosen:
            out[row] = miner.guesses(guess.alternatives, few)
    return out


def salted_pattern_mining(table: pa.Table, background: pd.DataFrame,
                          known: Mapping[int, Sequence[Token]], *, qgram: int = 2,
                          few: int = 10) -> dict[int, list[frozenset[str]]]:
    """Pattern mining adapted to filters salted with the birth year.

    That the filter is salted with the birth year is public, and the linkage unit can group
    the records by salt without the key: records of one birth year share the keyed year token
    (``dob_y0``), and records without a year have none. Each group is one q-gram → position
    mapping, so the attack runs group by group, with the known pairs that fall in the group.
    """
    salts = table.column("dob_y0").to_numpy()
    out: dict[int, list[frozenset[str]]] = {}
    for salt in np.unique(salts).tolist():
        rows = np.flatnonzero(salts == salt)
        local = {int(r): i for i, r in enumerate(rows.tolist())}
        group_known = {local[r]: tokens for r, tokens in known.items() if r in local}
        if not group_known:
            continue  # nothing to learn this group's mapping from
        found = pattern_mining(table.take(pa.array(rows)), background, group_known,
                               qgram=qgram, few=few)
        out.update({int(rows[i]): guesses for i, guesses in found.items()})
    return out


# ---------------------------------------------------------------------------------- simulation


def linkage_cost(schema: Schema, *, decoys: float = 0.0, seed: int = 0) -> dict[str, float]:
    """What the hardening in ``schema`` (and decoys) costs in linkage quality.

    Links the project's asylum-like synthetic data (``generate(seed)``: 20,000 records against
    2,000 persons with aliases) twice under one key, with these settings and with every
    hardening off, at the default threshold, and returns both F1 and the change.
    """
    from linkmatch.api import link
    from linkmatch.evaluate import evaluate
    from linkmatch.synth import generate

    data = generate(seed=seed)
    key = Key.generate()
    plain = evaluate(link(data.left, data.right, key=key, schema=schema.unhardened()),
                     data.truth).f1
    hardened = evaluate(link(data.left, data.right, key=key, schema=schema, decoys=decoys),
                        data.truth).f1
    return {"f1_unhardened": plain, "f1": hardened, "f1_change": hardened - plain}


def _split_population(population: pd.DataFrame, records: int,
                      seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A user's population split at random: (records attacked, the attacker's background)."""
    frame = normalise_columns(population)
    if len(frame) < 200:
        raise ConfigError("the background population needs at least 200 records")
    order = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    target = frame.iloc[order[:min(half, records)]].reset_index(drop=True)
    target["record_id"] = [f"r{i}" for i in range(len(target))]  # distinct: one per record
    return target, frame.iloc[order[half:]].reset_index(drop=True)


def simulate(*, schema: Schema | None = None, records: int = 20_000, seed: int = 0,
             few: int = 10, known_fraction: float = 0.01, decoys: float = 0.0,
             population: pd.DataFrame | None = None, key: Key | None = None) -> AuditResult:
    """Encode a synthetic population under a key and attack it (see module docstring).

    Args:
        schema: the encoding settings to audit (default: the built-in schema).
        records: size of the encoded population.
        seed: generator seed; the attacker's background population uses ``seed + 1``, so it
            knows the distribution, not the records. The known pairs are drawn with it too.
        few: largest candidate set that still counts as "one-to-few".
        known_fraction: share of the records with a name whose (record, name) pair the
            pattern-mining attacker holds (its own records, or revealed candidates).
        decoys: decoy records per real record in the encoding (:mod:`linkmatch.decoys`). The
            attacks run on all rows; the figures count real records, and
            ``bloom_claims_on_decoys`` is the share of the pattern-mining attack's one-to-one
            claims that name a decoy (a claim the attacker cannot tell from the others).
        population: a plain population of the user's (person columns: names and dates of
            birth at least) instead of the generator's: split at random into the records
            attacked (at most ``records``) and the attacker's background knowledge.
        key: the key to encode under (default: a fresh one). The figures vary a little from
            key to key; tests pass a fixed one to be reproducible.

    Raises:
        ConfigError: ``known_fraction`` is outside [0, 1], or ``population`` is too small.
    """
    from linkmatch.synth import generate

    if not 0.0 <= known_fraction <= 1.0:
        raise ConfigError("known_fraction must be within [0, 1]")
    if population is not None:
        target, background = _split_population(population, records, seed)
    else:
        target = generate(seed=seed, n_left=records, n_right=max(records // 20, 10)).left
        background = generate(seed=seed + 1, n_left=records,
                              n_right=max(records // 20, 10)).left
    key = key or Key.generate()
    schema = schema or Schema()
    salt = bytes(16)
    encoded = encode_frame(target, key, schema=schema, job_salt=salt, decoys=decoys)
    table = encoded.table

    # scoring only: which table row holds which record, from the key the attacker does not have
    target_tokens = _record_tokens(target)
    pid_order = {p: i for i, p in enumerate(table.column("pid").to_pylist())}
    pids = pseudonyms_hex(key, salt.hex(), [str(r) for r in target["record_id"]])
    row_tokens: dict[int, list[Token]] = {}
    row_letters = np.zeros(table.num_rows)
    for pid, tokens in zip(pids, target_tokens, strict=True):
        row = pid_order.get(pid)
        if row is not None:
            row_tokens[row] = tokens
            row_letters[row] = sum(len(text) for text, _ in tokens)
    truth = {row: tuple(dict.fromkeys(k for _, k in tokens))
             for row, tokens in row_tokens.items() if tokens}

    # the attacker's known pairs: a random share of the records with a name
    rng = np.random.default_rng(seed)
    named = np.asarray(sorted(truth), dtype=np.int64)
    num_known = round(known_fraction * len(named))
    known_rows = sorted(rng.choice(named, size=num_known, replace=False).tolist())
    known = {row: row_tokens[row] for row in known_rows}

    name_token, block_token = _true_tokens(Hashers(key, schema, salt),
                                           {k for keys in truth.values() for k in keys})

    name_scores = _score_tokens(truth, frequency_alignment(table, background), name_token,
                                schema.max_name_tokens, few)
    block_scores = _score_tokens(truth, block_key_alignment(table, background), block_token,
                                 schema.max_name_tokens, few)
    # the attacker knows the public parameters: salted filters are mined salt group by group
    mine = salted_pattern_mining if schema.name_salt != "none" else pattern_mining
    bloom = mine(table, background, known, qgram=schema.qgram, few=few)
    known_set = set(known_rows)
    unknown_truth = {row: keys for row, keys in truth.items() if row not in known_set}
    dictionary_scores = _score_tokens(unknown_truth, known_token_dictionary(table, known),
                                      name_token, schema.max_name_tokens, few)

    # structure-aware attacks (T1: no known pair; T2: the same known pairs)
    own_table, own_names = _attacker_encoding(background, schema, seed)
    structure = score_names(truth, name_token, name_token_guesses(table, own_table, own_names),
                            max_tokens=schema.max_name_tokens)
    known_structure = score_names(
        truth, name_token, name_token_guesses(table, own_table, own_names,
                                              known={row: truth[row] for row in known_rows}),
        rows=[row for row in truth if row not in known_set], max_tokens=schema.max_name_tokens)

    # Bloom and combined figures: records the attacker did not know
    scored = [row for row in named.tolist() if row not in known_set]
    bloom_hits = bloom_one = bloom_few = 0
    combined_hits = combined_one = occurrences = 0
    bloom_whole: list[int] = []
    combined_whole: list[int] = []
    for row in scored:
        keys = frozenset(truth[row])
        occurrences += len(keys)
        guesses = bloom.get(row, [])
        main = guesses[0] if guesses else frozenset()
        bloom_hits += len(keys & main)
        bloom_one += main == keys
        if main == keys:
            bloom_whole.append(row)
        bloom_few += keys in guesses
        # a token counts if any attack guessed it right one-to-one; a record, if its tokens
        # are all covered by attacks that made no wrong one-to-one guess on it
        attacks = [(set(keys & main), bool(main - keys))]
        attacks += [(scores.right[row], row in scores.wrong)
                    for scores in (name_scores, block_scores, dictionary_scores)]
        combined_hits += len(keys & set().union(*(right for right, _ in attacks)))
        whole = keys <= set().union(*(right for right, wrong in attacks if not wrong))
        combined_one += whole
        if whole:
            combined_whole.append(row)

    # decoys (rows of no real record): the share of the attack's one-to-one claims on them
    claims = [row for row, guesses in bloom.items() if guesses]
    on_decoys = sum(row not in row_tokens for row in claims)

    # over the records with a name: a record without one has an empty filter, and that its
    # name is missing is no secret (its name_keys are empty too)
    with_name = row_letters > 0
    # the weight as the unit reads it: balancing undone from the complement columns
    rho = _spearman(unbalanced_weight(filter_bits(table))[with_name], row_letters[with_name])
    width = schema.max_name_tokens
    return AuditResult(
        records=name_scores.records,
        token_occurrences=name_scores.occurrences,
        tokens_reidentified=_share(name_scores.correct, name_scores.occurrences),
        records_name_reidentified_one_to_one=_share(name_scores.one_to_one, name_scores.records),
        records_name_reidentified_one_to_few=_share(name_scores.one_to_few, name_scores.records),
        bitcount_length_spearman=rho,
        block_tokens_reidentified=_share(block_scores.correct, block_scores.occurrences),
        block_records_reidentified_one_to_one=_share(block_scores.one_to_one,
                                                    block_scores.records),
        block_records_reidentified_one_to_few=_share(block_scores.one_to_few,
                                                    block_scores.records),
        known_records=len(known_rows),
        name_filter_bits=int(table.schema.field("name_bf").type.byte_width) * 8,
        bloom_records=len(scored),
        bloom_tokens_reidentified=_share(bloom_hits, occurrences),
        bloom_records_reidentified_one_to_one=_share(bloom_one, len(scored)),
        bloom_records_reidentified_one_to_few=_share(bloom_few, len(scored)),
        combined_tokens_reidentified=_share(combined_hits, occurrences),
        combined_records_reidentified_one_to_one=_share(combined_one, len(scored)),
        dictionary_tokens_reidentified=_share(dictionary_scores.correct,
                                              dictionary_scores.occurrences),
        dictionary_records_reidentified_one_to_one=_share(dictionary_scores.one_to_one,
                                                          dictionary_scores.records),
        bloom_claims_on_decoys=_share(on_decoys, len(claims)),
        structure_tokens_reidentified=structure.tokens_reidentified,
        structure_records_reidentified_one_to_one=structure.whole_names_one_to_one,
        structure_singled_out=structure.singled_out,
        known_structure_records_reidentified_one_to_one=known_structure.whole_names_one_to_one,
        known_structure_singled_out=known_structure.singled_out,
        frequency_singled_out=_singled_out(truth, name_scores.whole, name_scores.records, width),
        block_singled_out=_singled_out(truth, block_scores.whole, block_scores.records, width),
        dictionary_singled_out=_singled_out(truth, dictionary_scores.whole,
                                            dictionary_scores.records, width),
        bloom_singled_out=_singled_out(truth, bloom_whole, len(scored), width),
        combined_singled_out=_singled_out(truth, combined_whole, len(scored), width),
    )


def _true_tokens(hashers: Hashers, keys: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Scoring only: each name key's ``name_keys`` token and single-key ``block_keys`` token.

    Mirrors :func:`linkmatch.encode._name_block_keys` (the "n" blocking key is the block PRF
    of the name-key token); a test checks that every record's tokens are in its row.
    """
    ordered = sorted(keys)
    if not ordered:
        return {}, {}
    name_tokens_ = hashers.name.tokens_strings(ordered)
    block_tokens = hashers.block_n.tokens_ints(name_tokens_)
    return (dict(zip(ordered, name_tokens_.tolist(), strict=True)),
            dict(zip(ordered, block_tokens.tolist(), strict=True)))


def _spearman(x: npt.NDArray[Any], y: npt.NDArray[Any]) -> float:
    """Spearman correlation (Pearson on ranks; pandas' "spearman" would need scipy).

    0 when either side is constant: balanced filters all have the same number of bits set,
    which then says nothing about the name's length.
    """
    rx = pd.Series(x).rank().to_numpy()
    ry = pd.Series(y).rank().to_numpy()
    if len(rx) < 2 or rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _share(count: int, total: int) -> float:
    return count / max(total, 1)


@dataclass(frozen=True)
class _TokenScores:
    """Scores of a per-token attack, and per record the keys it guessed one-to-one."""

    records: int
    occurrences: int
    correct: int
    one_to_one: int
    one_to_few: int
    right: dict[int, set[str]]
    wrong: set[int]
    whole: set[int]  # records whose whole name was guessed right one-to-one


def _score_tokens(truth: Mapping[int, tuple[str, ...]], guesses: Mapping[int, list[str]],
                  token_of: Mapping[str, int], max_tokens: int, few: int) -> _TokenScores:
    """Score token → candidates guesses against the truth (the encoder keeps ``max_tokens``).

    ``right`` holds, per record, the keys guessed right one-to-one; ``wrong`` the records with
    a wrong one-to-one guess (a tie's candidate list is no guess, so never wrong).
    """
    occurrences = correct = one_to_one = one_to_few = records = 0
    right: dict[int, set[str]] = {}
    wrong: set[int] = set()
    whole: set[int] = set()
    for row, keys in truth.items():
        kept = keys[:max_tokens]
        right[row] = set()
        if not kept:
            continue
        records += 1
        all_exact = all_few = True
        for k in kept:
            candidates = guesses.get(token_of[k], [])
            occurrences += 1
            if len(candidates) == 1 and candidates[0] == k:
                correct += 1
                right[row].add(k)
            else:
                if len(candidates) == 1:
                    wrong.add(row)
                all_exact = False
            if not (k in candidates and len(candidates) <= few):
                all_few = False
        one_to_one += all_exact
        one_to_few += all_few
        if all_exact:
            whole.add(row)
    return _TokenScores(records=records, occurrences=occurrences, correct=correct,
                        one_to_one=one_to_one, one_to_few=one_to_few, right=right,
                        wrong=wrong, whole=whole)


def _singled_out(truth: Mapping[int, tuple[str, ...]], whole: Iterable[int], records: int,
                 max_tokens: int, at_most: int = 5) -> float:
    """Share of ``records`` whose whole name is re-identified (``whole``) and held by at most
    ``at_most`` records of the population: a re-identification that points at few people."""
    held = Counter(frozenset(keys[:max_tokens]) for keys in truth.values())
    return _share(sum(held[frozenset(truth[row][:max_tokens])] <= at_most for row in whole),
                  records)


def _attacker_encoding(background: pd.DataFrame, schema: Schema, seed: int
                       ) -> tuple[pa.Table, dict[int, str]]:
    """The unit's own encoding of its background population, under a key of its own.

    The unit runs the public encoder itself, so it holds a file of the same kind whose
    plaintext it knows: its name-key tokens → name keys. The key is derived from the seed only
    so that audits are reproducible; any key serves the attacker equally.
    """
    import hashlib

    own_key = Key.from_bytes(hashlib.sha256(f"linkmatch-audit-attacker-{seed}".encode())
                             .digest())
    salt = bytes(16)
    table = encode_frame(background, own_key, schema=schema, job_salt=salt).table
    keys = sorted({k for ks in truth_by_row(background) for k in ks})
    tokens: list[int] = Hashers(own_key, schema, salt).name.tokens_strings(keys).tolist() \
        if keys else []
    return table, dict(zip(tokens, keys, strict=True))
