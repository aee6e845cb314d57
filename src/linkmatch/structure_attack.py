"""A structure-aware attack on an encoded file, run as a curious linkage unit would run it.

Threat model T1 (``docs/privacy.md``): the unit holds the encoded file, every public parameter
(the schema, the hardening settings, the library's code) and the plain distribution of names
and dates of the population, as a *background* population of its own; it holds no key and no
(record, name) pair. T2 adds a few known (record, name) pairs.

Frequency alignment of one column (:mod:`linkmatch.audit`) uses a fraction of what such a unit
sees. This attack uses the structure of the whole file, the way published graph and
pattern attacks on PPRL encodings do, and everything it uses is read from the file:

1. **Its own encoding of the background.** The unit runs the public encoder on its background
   population under a key of its own, so it holds a file of the same kind whose plaintext it
   knows. Every structural feature below is computed the same way on both files, and target
   tokens are matched to its own tokens (hence to names) by how alike their features are.
   Whatever structure the encoder emits, this uses it without being told.
2. **Nationality and birth year without the key.** The nationality token is aligned rank for
   rank with the unit's own. The year tokens form a chain (a record's ``dob_y1`` is the
   ``dob_y0`` token of the next year), so their order is read off the file and the chain is
   aligned by the offset whose counts fit best.
3. **Per name token**: its count, the slots it occupies (given names are listed first, the
   family name last), the nationalities and birth years of its records, and its *length
   class*: records sharing a name token and a year share exactly the blocking keys derived
   from that name (the key with the year, and one per deletion variant), so their number is
   read off ``block_keys``.
4. **Likelihood assignment**: each token is scored against each name of the background by the
   Poisson likelihood of its count and the multinomial likelihoods of its slots,
   nationalities and years, plus the agreement of the length class; tokens are assigned
   one-to-one, most informative first.
5. **Co-occurrence refinement (graph matching)**: which tokens appear together in records is
   compared with which names appear together in the background, given the tokens already
   assigned with confidence; the assignment is repeated with that evidence.

Known pairs (T2) fix their tokens' names before step 4 and serve as anchors in step 5.

The attack returns one guess per token; :func:`score_names` scores whole names against the
truth, which the attack never reads.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

__all__ = ["StructureScores", "name_token_guesses", "score_names", "unbalanced_weight"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_YEAR_BIN = 5
"""Birth years are compared in bins of this many years (the chain's offset may be off by one)."""
_CANDIDATES = 40
"""Best background names kept per token for the co-occurrence refinement."""
_ANCHOR_MIN_COUNT = 4
"""Tokens held by fewer records are not used as anchors of the co-occurrence refinement."""
_ROUNDS = 3
_FLOOR = 60.0
"""log-likelihood (nats) below a token's best name beyond which names are not told apart."""
_MARGIN = 3.0
"""log-likelihood margin (nats) over the second-best name that makes a token an anchor."""
"""Co-occurrence refinement rounds (each uses the previous round's assignment as anchors)."""
_CLASS_LOG_PROB = np.log(np.array([0.5, 0.25, 0.12, 0.05, 0.02]))
"""log P(length classes ``d`` apart | same name), for d = 0..4 and beyond: the class is the mode
over a few year groups, so it is off by one or two now and then."""


@dataclass(frozen=True)
class _Tokens:
    """Per distinct name token of one file: the features the attack compares."""

    values: I64  # the tokens (keyed 63-bit integers), sorted
    count: F64  # records holding the token
    slots: F64  # (tokens, width) records holding it in each slot
    nats: F64  # (tokens, nationalities) by aligned nationality rank
    years: F64  # (tokens, year bins) by aligned birth year
    length_class: I64  # name-derived blocking keys shared within a year; -1 unknown
    similarity: F64  # (tokens, tokens) cosine of the tokens' filter signatures
    incidence: object  # scipy.sparse (rows, tokens) 0/1: which record holds which token


def _token_matrix(table: pa.Table) -> I64:
    column = table.column("name_keys").combine_chunks()
    width = column.type.list_size
    out: I64 = column.flatten().to_numpy().astype(np.int64).reshape(-1, width)
    return out


def _rank_labels(values: I64) -> I64:
    """Each row's value replaced by its frequency rank in the file (-1 for a missing value)."""
    labels = np.full(len(values), -1, dtype=np.int64)
    present = values != 0
    if not present.any():
        return labels
    uniques, inverse, counts = np.unique(values[present], return_inverse=True,
                                         return_counts=True)
    rank_of = np.empty(len(uniques), dtype=np.int64)
    rank_of[np.lexsort((uniques, -counts))] = np.arange(len(uniques))
    labels[present] = rank_of[inverse.ravel()]
    return labels


def _year_positions(table: pa.Table) -> dict[int, int]:
    """The year tokens' order, read from the file: ``dob_y1`` of year y is ``dob_y0`` of y+1.

    Returns token → position (relative; the most common year token is position 0).
    """
    y0 = table.column("dob_y0").to_numpy().astype(np.int64)
    links: dict[int, Counter[tuple[int, int]]] = defaultdict(Counter)
    for step, column in ((1, "dob_y1"), (2, "dob_y2")):
        ys = table.column(column).to_numpy().astype(np.int64)
        ok = (y0 != 0) & (ys != 0)
        for a, b in zip(y0[ok].tolist(), ys[ok].tolist(), strict=True):
            links[a][(b, step)] += 1
            links[b][(a, -step)] += 1
    if not links:
        return {}
    counts = Counter(y0[y0 != 0].tolist())
    start = counts.most_common(1)[0][0] if counts else next(iter(links))
    position = {start: 0}
    frontier = [start]
    while frontier:
        nxt = []
        for token in frontier:
            for (other, step), _ in links[token].most_common():
                if other not in position:
                    position[other] = position[token] + step
                    nxt.append(other)
        frontier = nxt
    return position


def _year_labels(table: pa.Table, offset: int = 0) -> I64:
    """Each row's birth-year position (-1 when unknown), shifted by ``offset``."""
    position = _year_positions(table)
    low = min(position.values(), default=0)
    y0 = table.column("dob_y0").to_numpy().astype(np.int64)
    out = np.fromiter((position[t] - low + offset if t in position else -1
                       for t in y0.tolist()), dtype=np.int64, count=len(y0))
    return out


def _year_counts(labels: I64) -> Counter[int]:
    return Counter(labels[labels >= 0].tolist())


def _best_offset(target: I64, own: I64) -> int:
    """Shift of the target's year positions that best fits the unit's own year counts."""
    tc, oc = _year_counts(target), _year_counts(own)
    if not tc or not oc:
        return 0
    t_total, o_total = sum(tc.values()), sum(oc.values())
    best, best_fit = 0, math.inf
    for shift in range(min(oc) - max(tc), max(oc) - min(tc) + 1):
        fit = sum(abs(tc.get(y - shift, 0) / t_total - oc.get(y, 0) / o_total)
                  for y in set(oc) | {y + shift for y in tc})
        if fit < best_fit:
            best, best_fit = shift, fit
    return best


def _block_sets(table: pa.Table) -> tuple[list[frozenset[int]], dict[int, I64]]:
    column = table.column("block_keys").combine_chunks()
    offsets = column.offsets.to_numpy().astype(np.int64)
    flat = column.values.to_numpy().astype(np.int64)
    offsets = offsets - offsets[0]
    sets = [frozenset(flat[offsets[i]:offsets[i + 1]].tolist()) for i in range(len(offsets) - 1)]
    rows = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
    order = np.argsort(flat, kind="stable")
    uniques, starts = np.unique(flat[order], return_index=True)
    bounds = np.append(starts, len(flat))
    by_token = {int(u): rows[order[bounds[i]:bounds[i + 1]]] for i, u in enumerate(uniques)}
    return sets, by_token


def _length_classes(values: I64, rows_of: list[I64], table: pa.Table) -> I64:
    """Per name token: how many blocking keys its records of one birth year share, and only they.

    Those are the keys derived from the name (with the year, and one per deletion variant of
    a name of four letters or more), so the number tells the name's length class. The mode over
    the token's year groups of two or more records; -1 when no such group exists.
    """
    if "block_keys" not in table.column_names:
        return np.full(len(values), -1, dtype=np.int64)
    sets, by_token = _block_sets(table)
    y0 = table.column("dob_y0").to_numpy().astype(np.int64)
    out = np.full(len(values), -1, dtype=np.int64)
    for i, rows in enumerate(rows_of):
        if len(rows) < 2:
            continue
        member = set(rows.tolist())
        groups: dict[int, list[int]] = defaultdict(list)
        for r in rows.tolist():
            if y0[r]:
                groups[int(y0[r])].append(r)
        found: Counter[int] = Counter()
        for group in sorted(groups.values(), key=len, reverse=True)[:4]:
            if len(group) < 2:
                break
            shared = frozenset.intersection(*(sets[r] for r in group[:6]))
            own = sum(1 for b in shared if set(by_token[b].tolist()) <= member)
            found[own] += 1
        if found:
            out[i] = found.most_common(1)[0][0]
    return out


def _features(table: pa.Table, nat_labels: I64, year_labels: I64, *, num_nats: int,
              num_year_bins: int) -> tuple[_Tokens, I64]:
    """The token features of one file (the same code runs on the target and the unit's own)."""
    mat = _token_matrix(table)
    n, width = mat.shape
    rows_idx = np.repeat(np.arange(n, dtype=np.int64), width)
    slot_idx = np.tile(np.arange(width, dtype=np.int64), n)
    flat = mat.ravel()
    keep = flat != 0
    rows_idx, slot_idx, flat = rows_idx[keep], slot_idx[keep], flat[keep]
    values, inverse = np.unique(flat, return_inverse=True)
    inverse = inverse.ravel()
    k = len(values)
    count = np.bincount(inverse, minlength=k).astype(np.float64)
    slots = np.zeros((k, width))
    np.add.at(slots, (inverse, slot_idx), 1.0)
    nats = np.zeros((k, num_nats))
    nl = nat_labels[rows_idx]
    ok = (nl >= 0) & (nl < num_nats)
    np.add.at(nats, (inverse[ok], nl[ok]), 1.0)
    years = np.zeros((k, num_year_bins))
    yl = year_labels[rows_idx] // _YEAR_BIN
    ok = (year_labels[rows_idx] >= 0) & (yl < num_year_bins)
    np.add.at(years, (inverse[ok], yl[ok]), 1.0)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(k + 1))
    rows_of = [rows_idx[order[bounds[i]:bounds[i + 1]]] for i in range(k)]
    classes = _length_classes(values, rows_of, table)
    token_index = np.zeros_like(mat)
    token_index[mat != 0] = np.searchsorted(values, mat[mat != 0])
    token_index[mat == 0] = -1
    from scipy import sparse

    incidence = sparse.csr_matrix((np.ones(len(inverse)), (rows_idx, inverse)), shape=(n, k))
    incidence.data[:] = 1.0
    return _Tokens(values=values, count=count, slots=slots, nats=nats, years=years,
                   length_class=classes, similarity=_signature_similarity(table, incidence),
                   incidence=incidence), token_index


def _signature_similarity(table: pa.Table, incidence: object) -> F64:
    """Cosine similarity of the name tokens' filter signatures.

    A token's signature is the set of (unbalanced) filter positions set in nearly every record
    that holds it: its q-grams' positions. Two names that share q-grams share positions, so the
    similarity of signatures mirrors the similarity of the names, whatever the key: the unit's
    own encoding shows the same similarities between the same names (the basis of published
    similarity-graph attacks).
    """
    from scipy import sparse

    assert isinstance(incidence, sparse.csr_matrix)
    if "name_bf" not in table.column_names:
        return np.zeros((incidence.shape[1], incidence.shape[1]))
    bits = filter_bits(table)
    columns = bits[:, unbalanced_columns(bits)].astype(np.float64)
    counts = np.asarray(incidence.sum(axis=0)).ravel()
    rates = (incidence.T @ columns) / np.maximum(counts, 1.0)[:, None]
    cut = np.where(counts >= 3, 0.7, 1.0)[:, None]
    signature = (rates >= cut - 1e-9).astype(np.float64)
    norms = np.sqrt(signature.sum(axis=1))
    norms[norms == 0] = 1.0
    out: F64 = np.asarray((signature @ signature.T) / np.outer(norms, norms), dtype=np.float64)
    return out


def _log_probs(counts: F64, totals: F64) -> F64:
    """Smoothed log probabilities of the columns of ``counts`` given each row's total."""
    alpha = 0.5
    out: F64 = np.log((counts + alpha) / (totals[:, None] + alpha * counts.shape[1]))
    return out


def _base_scores(target: _Tokens, own: _Tokens, scale: float) -> F64:
    """log-likelihood of each target token (rows) being each of the unit's names (columns)."""
    lam = np.maximum(own.count * scale, 0.3)
    n = target.count[:, None]
    scores: F64 = n * np.log(lam)[None, :] - lam[None, :] - np.array(
        [math.lgamma(c + 1) for c in target.count])[:, None]
    scores += target.slots @ _log_probs(own.slots, own.count).T
    scores += target.nats @ _log_probs(own.nats, own.count).T
    scores += target.years @ _log_probs(own.years, own.count).T
    tc, oc = target.length_class[:, None], own.length_class[None, :]
    known = (tc >= 0) & (oc >= 0)
    gap = np.minimum(np.abs(tc - oc), len(_CLASS_LOG_PROB) - 1)
    scores += np.where(known, _CLASS_LOG_PROB[gap], 0.0)
    return scores


def _assign(scores: F64, fixed: Mapping[int, int]) -> dict[int, int]:
    """One-to-one assignment of tokens (rows) to names (columns) of the highest total score.

    A name's token is the same in every record, so each name has one token: the attacker
    solves the assignment problem (Hungarian method) rather than guessing token by token.
    ``fixed`` (T2's known pairs) are kept as they are.
    """
    from scipy.optimize import linear_sum_assignment

    rows = np.setdiff1d(np.arange(scores.shape[0]), np.fromiter(fixed, dtype=np.int64))
    cols = np.setdiff1d(np.arange(scores.shape[1]),
                        np.fromiter(fixed.values(), dtype=np.int64))
    out = dict(fixed)
    if len(rows) and len(cols):
        sub = scores[np.ix_(rows, cols)]
        # Each token's scores relative to its best, floored: names far below a token's best
        # are all alike to it, and a bounded matrix keeps the solver's arithmetic exact.
        sub = np.where(np.isfinite(sub), sub, -np.inf)
        sub = np.maximum(sub - sub.max(axis=1, keepdims=True), -_FLOOR)
        r, c = linear_sum_assignment(sub, maximize=True)
        out.update(zip(rows[r].tolist(), cols[c].tolist(), strict=True))
    return out


def _anchors(scores: F64, assignment: Mapping[int, int], count: F64,
             fixed: Mapping[int, int]) -> list[int]:
    """Tokens whose assignment is trusted: known pairs, and frequent tokens assigned to their
    clear best name (a margin over the second best)."""
    top2 = np.sort(scores, axis=1)[:, -2:] if scores.shape[1] > 1 else np.zeros((len(scores), 2))
    best = np.argmax(scores, axis=1)
    out = [t for t, o in assignment.items() if t in fixed or (
        count[t] >= _ANCHOR_MIN_COUNT and best[t] == o and top2[t, 1] - top2[t, 0] >= _MARGIN)]
    return sorted(out)


def name_token_guesses(table: pa.Table, own_table: pa.Table, own_names: Mapping[int, str], *,
                       known: Mapping[int, Sequence[str]] | None = None) -> dict[int, str]:
    """The attack: target name token → guessed name key.

    Args:
        table: the encoded file attacked.
        own_table: the unit's own encoding of its background population (its own key, the
            same public schema).
        own_names: the unit's own name-key tokens → the name keys they encode (it holds that
            key).
        known: T2 only: known (row of ``table``, distinct name keys in reading order) pairs.

    Returns:
        One guess per name token the attack assigned.
    """
    nat_t = _rank_labels(table.column("nat").to_numpy().astype(np.int64))
    nat_o = _rank_labels(own_table.column("nat").to_numpy().astype(np.int64))
    num_nats = int(max(nat_t.max(initial=-1), nat_o.max(initial=-1))) + 1
    year_o = _year_labels(own_table)
    year_t = _year_labels(table)
    shift = _best_offset(year_t, year_o)
    year_t = np.where(year_t >= 0, year_t + shift, -1)
    low = min(int(year_o[year_o >= 0].min(initial=0)), int(year_t[year_t >= 0].min(initial=0)))
    year_o = np.where(year_o >= 0, year_o - low, -1)
    year_t = np.where(year_t >= 0, year_t - low, -1)
    num_bins = int(max(year_o.max(initial=0), year_t.max(initial=0))) // _YEAR_BIN + 1
    target, t_index = _features(table, nat_t, year_t, num_nats=num_nats, num_year_bins=num_bins)
    own, _ = _features(own_table, nat_o, year_o, num_nats=num_nats, num_year_bins=num_bins)
    names = [own_names.get(int(v), "") for v in own.values]
    if not len(target.values) or not len(own.values):
        return {}
    scale = table.num_rows / max(own_table.num_rows, 1)
    scores = _base_scores(target, own, scale)

    fixed: dict[int, int] = {}
    read_off: dict[int, str] = {}  # known tokens, whether or not the background has the name
    if known:
        name_index = {name: i for i, name in enumerate(names) if name}
        for row, keys in known.items():
            for slot, key in enumerate(list(keys)[:t_index.shape[1]]):
                t = int(t_index[row, slot])
                if t < 0:
                    continue
                read_off[int(target.values[t])] = key
                if key in name_index:
                    fixed[t] = name_index[key]
    assignment = _assign(scores, fixed)

    t_co = (target.incidence.T @ target.incidence).toarray()  # type: ignore[attr-defined]
    o_co = (own.incidence.T @ own.incidence).toarray()  # type: ignore[attr-defined]
    np.fill_diagonal(t_co, 0.0)
    np.fill_diagonal(o_co, 0.0)
    o_log = np.log((o_co + 0.5) / (own.count + 0.5 * len(own.values))[:, None])
    current = scores
    for _ in range(_ROUNDS):
        anchors = _anchors(current, assignment, target.count, fixed)
        if not anchors:
            break
        ta = np.fromiter(anchors, dtype=np.int64)
        oa = np.fromiter((assignment[t] for t in anchors), dtype=np.int64)
        # which names appear together (co-occurrence graph)
        refined = scores + t_co[:, ta] @ o_log[:, oa].T
        # which names look alike (q-gram similarity graph)
        st, so = target.similarity[:, ta], own.similarity[:, oa]
        dist = (st ** 2).sum(axis=1)[:, None] + (so ** 2).sum(axis=1)[None, :] - 2 * st @ so.T
        noise = max(float(np.mean(dist[ta, oa])) / len(ta), 1e-4)
        refined -= dist / (2 * noise)
        assignment = _assign(refined, fixed)
        current = refined
    guesses = {int(target.values[t]): names[o] for t, o in assignment.items() if names[o]}
    guesses.update(read_off)
    return guesses


@dataclass(frozen=True)
class StructureScores:
    """Whole names re-identified, over the records scored (shares in [0, 1])."""

    records: int
    tokens_reidentified: float
    whole_names_one_to_one: float
    singled_out: float


def score_names(truth: Mapping[int, tuple[str, ...]], token_of: Mapping[str, int],
                guesses: Mapping[int, str], *, rows: Sequence[int] | None = None,
                max_tokens: int, single_out_at: int = 5) -> StructureScores:
    """Score the guesses against the truth (used only here, never by the attack).

    A record's whole name is re-identified when the guess of every name token it holds is
    right; it is *singled out* when, in addition, at most ``single_out_at`` records of the
    population hold that whole name.
    """
    held = Counter(frozenset(keys[:max_tokens]) for keys in truth.values())
    scored = [r for r in (rows if rows is not None else truth) if truth.get(r)]
    tokens = correct = whole = single = 0
    for row in scored:
        keys = truth[row][:max_tokens]
        right = sum(guesses.get(token_of[k]) == k for k in keys)
        tokens += len(keys)
        correct += right
        if right == len(keys):
            whole += 1
            single += held[frozenset(keys)] <= single_out_at
    n = max(len(scored), 1)
    return StructureScores(records=len(scored), tokens_reidentified=correct / max(tokens, 1),
                           whole_names_one_to_one=whole / n, singled_out=single / n)


def filter_bits(table: pa.Table, column: str = "name_bf") -> npt.NDArray[np.uint8]:
    """The filters of a fixed-size binary column as a 0/1 matrix, one row per record.

    The filter length is the column's byte width, not the schema's ``name_bits``: hardening
    (balancing, folding) changes the stored width.
    """
    array = table.column(column).combine_chunks()
    width = int(array.type.byte_width)
    data = array.buffers()[1]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    raw = raw[array.offset * width:(array.offset + len(array)) * width].reshape(len(array), width)
    bits: npt.NDArray[np.uint8] = np.unpackbits(raw, axis=1, bitorder="little")
    return bits


def unbalanced_columns(bits: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """The filters with balancing undone, as a unit without the key can (a column mask).

    A balanced filter stores a filter and its complement under one permutation, so every
    stored position has a complement column: across records, one is set exactly where the
    other is not (nearly so under bit flipping). Pairing each column with its most negatively
    correlated column and keeping the one set in fewer records gives the folded filter back,
    whose weight grows with the number of q-grams, hence with the name's length. Columns with
    no such partner (an unbalanced filter) are all kept.
    """
    num_columns = bits.shape[1]
    if bits.shape[0] < 2:
        return np.ones(num_columns, dtype=bool)
    sample = bits[:20_000].astype(np.float32)
    centred = sample - sample.mean(axis=0)
    norms = np.sqrt((centred ** 2).sum(axis=0))
    norms[norms == 0] = 1.0
    corr = (centred.T @ centred) / np.outer(norms, norms)
    np.fill_diagonal(corr, 0.0)
    partner = np.argmin(corr, axis=1)
    paired = corr[np.arange(num_columns), partner] < -0.5
    rate = sample.mean(axis=0)
    index = np.arange(num_columns)
    keep: npt.NDArray[np.bool_] = ~paired | (rate < rate[partner]) | (
        (rate == rate[partner]) & (index < partner))
    return keep


def unbalanced_weight(bits: npt.NDArray[np.uint8]) -> F64:
    """Each filter's weight after undoing balancing (:func:`unbalanced_columns`)."""
    return np.asarray(bits[:, unbalanced_columns(bits)].sum(axis=1), dtype=np.float64)


def truth_by_row(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    """Scoring only: each record's distinct name keys in reading order (the public code)."""
    from linkmatch.normalise.names import name_tokens

    return [tuple(dict.fromkeys(t.key for t in name_tokens(g, f, fu) if t.kind == "name"))
            for g, f, fu in zip(frame["given_names"], frame["family_name"], frame["full_name"],
                                strict=True)]
