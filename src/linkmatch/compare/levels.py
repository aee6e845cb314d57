"""Comparison levels: how two encoded records agree, field by field, computed from tokens only.

Every comparison is a small frozen value listing its levels (as in splink): level 0 is always
"missing" (no evidence either way), the others are ordered from strongest agreement to
disagreement. :func:`compare_pairs` computes all levels for a batch of pairs in compiled code;
:func:`compare_pairs_reference` is the same specification written with numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from numba import njit

from linkmatch.compare.dice import _popcount64 as _popcount
from linkmatch.compare.dice import dice_pairs, popcounts, to_words

__all__ = ["COMPARISONS", "Comparison", "EncodedSide", "NameFrequencies", "PairEvidence",
           "balanced_name_scale", "compare_pairs", "compare_pairs_reference"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """One field comparison: its name and its levels (level 0 = missing)."""

    name: str
    levels: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.levels or self.levels[0] != "missing":
            raise ValueError("level 0 of every comparison must be 'missing'")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("comparison levels must be distinct")


NAME: Final = Comparison(
    "name",
    ("missing", "keys_all", "keys_most", "keys_most_far", "fuzzy_90", "fuzzy_80", "fuzzy_70",
     "fuzzy_60", "fuzzy_50", "one_key", "different"),
)
DOB: Final = Comparison(
    "dob",
    ("missing", "exact", "swapped", "calendar", "year_off_same_day_month", "one_digit",
     "year_only", "year_off_one", "year_off_two", "different"),
)
SEX: Final = Comparison("sex", ("missing", "agree", "disagree"))
NATIONALITY: Final = Comparison("nationality", ("missing", "agree", "disagree"))
PLACE: Final = Comparison("place_of_birth", ("missing", "agree", "disagree"))
DOCUMENT: Final = Comparison("document", ("missing", "agree", "disagree"))
ADDRESS: Final = Comparison("address", ("missing", "dice_90", "dice_75", "dice_60", "different"))
COMPARISONS: Final = (NAME, DOB, SEX, NATIONALITY, PLACE, DOCUMENT, ADDRESS)

KEYS_SPELLING_CUTS: Final = {"keys_all": (("keys_all", 0.0),),
                             "keys_most": (("keys_most_far", 0.0), ("keys_most", 0.7))}
"""Name levels where two or more name keys agree, split by the Dice of the name filters.

A name key is a consonant skeleton: it lets Mohamed meet Muhammad, but also Hassan meet
Hussein and Hamid meet Hamza. Where most keys agree but not all (each name has a token the
other lacks: a sibling sharing father's and family name, or one person with a changed token),
names spelt apart are far weaker evidence than names spelt alike: at 200,000 × 10,000
(synthetic, seed 0) the compared pairs at "most keys" were true 0.3 % of the time with Dice below
0.5 and 73 % with Dice 0.8-0.9. Splitting "all keys shared" the same way raised F1 (FEBRL4
person-only 0.951 → 0.963) but gave a name spelt alike about 3 more bits, and namesakes, who
are often spelt alike, then passed the threshold (look-alikes left out 0.978 → 0.969-0.970 over
five keys, against the 0.97 target): it is left whole (`docs/design.md`)."""
WHOLE_NAME_LEVELS: Final = tuple(NAME.levels.index(label) for labels in
                                 KEYS_SPELLING_CUTS.values() for label, _ in labels)
"""Name levels that need two or more shared name keys: blocking always catches them."""
ALL_KEYS_LEVELS: Final = tuple(NAME.levels.index(label)
                               for label, _ in KEYS_SPELLING_CUTS["keys_all"])
"""Name levels where every key of the shorter name is shared."""

FUZZY_THRESHOLDS: Final = (("fuzzy_50", 0.5), ("fuzzy_60", 0.6), ("fuzzy_70", 0.7),
                            ("fuzzy_80", 0.8), ("fuzzy_90", 0.9))
"""Dice levels of the name filters where the name keys do not (mostly) agree, weakest first."""

I64 = npt.NDArray[np.int64]


def _filter_words(table: object, column: str) -> npt.NDArray[np.uint64]:
    """A fixed-size binary column of Bloom filters as uint64 rows, without a copy per row.

    The width comes from the column's type: hardening may store the name filter folded
    (shorter) or balanced (longer) than the schema's ``name_bits``.
    """
    import pyarrow as pa

    assert isinstance(table, pa.Table)
    raw = table.column(column).combine_chunks()
    num_bytes = raw.type.byte_width
    data = raw.buffers()[1].to_pybytes()[raw.offset * num_bytes:(raw.offset + len(raw)) * num_bytes]
    return to_words(data, num_bytes)


class EncodedSide:
    """One encoded file's columns as numpy arrays, ready for pair comparison."""

    def __init__(self, table: object) -> None:
        import pyarrow as pa

        assert isinstance(table, pa.Table)

        def col(name: str) -> I64:
            out: I64 = table.column(name).to_numpy().astype(np.int64, copy=False)
            return out

        def fixed(name: str) -> I64:
            arr = table.column(name).combine_chunks()
            width = arr.type.list_size
            out: I64 = arr.flatten().to_numpy().astype(np.int64).reshape(-1, width)
            return out

        self.size = table.num_rows
        self.pid = np.asarray(table.column("pid").to_pylist(), dtype=object)
        self.bloom = _filter_words(table, "name_bf")
        self.bloom_count = popcounts(self.bloom)
        self.name_keys = fixed("name_keys")
        self.name_count = (self.name_keys != 0).sum(axis=1)
        self.dob = {c: col(c) for c in ("dob_full", "dob_swap", "dob_yp1", "dob_ym", "dob_y0",
                                        "dob_y1", "dob_y2")}
        self.dob_defaulted = table.column("dob_defaulted").to_numpy(zero_copy_only=False) \
            .astype(bool)
        self.dob_masks = fixed("dob_masks")
        self.dob_digits = col("dob_digits")
        self.dob_transposed = fixed("dob_transposed")
        self.dob_alt = fixed("dob_alt")
        self.sex_dob = col("sex_dob")
        self.nat = col("nat")
        self.pob = fixed("pob_keys")
        self.doc = col("doc")
        self.address = _filter_words(table, "address_bf")
        self.address_count = popcounts(self.address)

    def content_hash(self) -> npt.NDArray[np.uint64]:
        """A 64-bit hash of each row's content (all encoded columns but the salted pseudonym).

        Unkeyed and not secret (it mixes tokens that are already keyed): it selects the rows of
        the random-pair sample independently of the files' row order, batching and job salt.
        """
        h = np.zeros(self.size, dtype=np.uint64)
        for col in self._content_columns():
            with np.errstate(over="ignore"):
                h = (h ^ col.astype(np.uint64)) * _MIX_A
                h ^= h >> np.uint64(29)
        with np.errstate(over="ignore"):
            h *= _MIX_B
            h ^= h >> np.uint64(32)
        return h

    def _content_columns(self) -> list[I64]:
        return [self.doc, self.nat, self.sex_dob, self.dob_digits, *self.dob_transposed.T,
                *self.address.T.astype(np.int64), *self.pob.T, *self.dob_alt.T,
                *self.dob_masks.T, *self.dob.values(), self.dob_defaulted.astype(np.int64),
                *self.name_keys.T, *self.bloom.T.astype(np.int64)]

    def content_order(self) -> npt.NDArray[np.intp]:
        """Row order by content (all encoded columns but the salted pseudonym).

        Random pairs drawn through this order do not depend on the input's row order or on the
        job salt, so a job gives the same scores however its files were ordered or salted.
        """
        keys = self._content_columns()
        order: npt.NDArray[np.intp] = np.lexsort(keys[::-1])
        return order


_MIX_A: Final = np.uint64(0x9E3779B97F4A7C15)
_MIX_B: Final = np.uint64(0xC2B2AE3D27D4EB4F)


def _pair_code(a: I64, b: I64) -> I64:
    """An order-free 64-bit code of two (non-zero) key tokens."""
    lo = np.minimum(a, b).astype(np.uint64)
    hi = np.maximum(a, b).astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = (lo * _MIX_A) ^ (hi * _MIX_B)
    return mixed.view(np.int64)


KeyCounts = tuple[I64, I64, I64, I64]
"""(single keys, their counts, pair codes, their counts), each sorted by value."""


class NameFrequencies:
    """How common name keys, and pairs of name keys, are among the records of both files.

    Frequency-aware evidence needs the share of records that hold a shared name. Multiplying the
    frequencies of its keys assumes keys combine independently; they do not (family names and
    given names cluster by country and community), and the product then makes ordinary names
    look rare. Pairs of keys are therefore counted directly: the frequency of a shared key set
    is estimated by its rarest pair (never rarer than what was seen), and of a single key by
    its own count. Counting tokens is something the linkage unit can do anyway; it learns no
    value from it.
    """

    def __init__(self, *sides: EncodedSide) -> None:
        counts = [self.count(side.name_keys) for side in sides]
        self._set(sum(side.size for side in sides), *self.merge(counts))

    @classmethod
    def from_counts(cls, records: int, counts: KeyCounts) -> NameFrequencies:
        """From merged :meth:`count` results over ``records`` records (streamed files)."""
        out = cls.__new__(cls)
        out._set(records, *counts)
        return out

    def _set(self, records: int, single_keys: I64, single_counts: I64, pair_codes: I64,
             pair_counts: I64) -> None:
        total = max(records, 1)
        self.single_keys = single_keys
        self.single_log2 = np.log2(single_counts / total)
        self.pair_codes = pair_codes
        self.pair_log2 = np.log2(pair_counts / total)

    @classmethod
    def count(cls, name_keys: I64) -> KeyCounts:
        """Counts of the name keys and of the pairs of name keys of some records (sorted)."""
        keys = name_keys.ravel()
        single, single_n = np.unique(keys[keys != 0], return_counts=True)
        pairs, pairs_n = np.unique(cls._record_pairs(name_keys), return_counts=True)
        return single, single_n.astype(np.int64), pairs, pairs_n.astype(np.int64)

    @staticmethod
    def merge(parts: list[KeyCounts]) -> KeyCounts:
        """The sum of several :meth:`count` results."""
        out = []
        for values, counts in ((0, 1), (2, 3)):
            v = np.concatenate([p[values] for p in parts]) if parts else \
                np.zeros(0, dtype=np.int64)
            c = np.concatenate([p[counts] for p in parts]) if parts else \
                np.zeros(0, dtype=np.int64)
            uniq, inverse = np.unique(v, return_inverse=True)
            out.extend([uniq, np.bincount(inverse.ravel(), weights=c,
                                          minlength=len(uniq)).astype(np.int64)])
        return out[0], out[1], out[2], out[3]

    @staticmethod
    def _record_pairs(name_keys: I64) -> I64:
        width = name_keys.shape[1]
        out = []
        for i in range(width):
            for j in range(i + 1, width):
                a, b = name_keys[:, i], name_keys[:, j]
                ok = (a != 0) & (b != 0)
                out.append(_pair_code(a[ok], b[ok]))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    @staticmethod
    def _lookup(table: I64, values: npt.NDArray[np.float64], query: I64) -> npt.NDArray[
            np.float64]:
        if not len(table):
            return np.zeros(len(query))
        pos = np.clip(np.searchsorted(table, query), 0, len(table) - 1)
        hit = table[pos] == query
        out: npt.NDArray[np.float64] = np.where(hit, values[pos], 0.0)
        return out

    def row_tables(self, keys: I64) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """log2 frequency of each key and of each pair of keys of every row, looked up at once.

        ``single[r, a]`` is that of key ``a`` of row ``r``, ``pair[r, a, b]`` (``a < b``) that
        of the pair of keys ``a`` and ``b``; 0 where a key is absent or unseen (as
        :meth:`set_log2` reads them). The compiled comparison reads these instead of searching
        the frequency tables pair after pair, a third of its time.
        """
        n, width = keys.shape
        single = self._lookup(self.single_keys, self.single_log2, keys.ravel()).reshape(n, width)
        pair = np.zeros((n, width, width))
        for a in range(width):
            for b in range(a + 1, width):
                ok = (keys[:, a] != 0) & (keys[:, b] != 0)
                if ok.any():
                    pair[ok, a, b] = self._lookup(self.pair_codes, self.pair_log2,
                                                  _pair_code(keys[ok, a], keys[ok, b]))
        return single, pair

    def set_log2(self, keys: I64, present: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        """log2 frequency of the key set ``keys[k][present[k]]`` of each row (0 if empty)."""
        n, width = keys.shape
        best = np.zeros(n)
        count = present.sum(axis=1)
        single = count == 1
        if single.any():
            idx = np.argmax(present[single], axis=1)
            best[single] = self._lookup(self.single_keys, self.single_log2,
                                        keys[single, idx])
        multi = count >= 2
        if multi.any():
            sub_keys, sub_present = keys[multi], present[multi]
            rarest = np.zeros(len(sub_keys))
            for i in range(width):
                for j in range(i + 1, width):
                    ok = sub_present[:, i] & sub_present[:, j]
                    if not ok.any():
                        continue
                    f = self._lookup(self.pair_codes, self.pair_log2,
                                     _pair_code(sub_keys[ok, i], sub_keys[ok, j]))
                    rarest[ok] = np.minimum(rarest[ok], f)
            best[multi] = rarest
        return best


@dataclass(frozen=True)
class PairEvidence:
    """Levels and scores for a batch of pairs (parallel arrays)."""

    levels: npt.NDArray[np.uint8]  # (n_pairs, len(COMPARISONS))
    name_score: npt.NDArray[np.float64]
    shared_name_keys: npt.NDArray[np.int64]
    name_tf: npt.NDArray[np.float64]  # log2 frequency of the shared name-key set (≤ 0)


def _shared_counts(a: I64, b: I64) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Number of non-zero entries of each row of ``a`` found in the same row of ``b``."""
    hit = (a[:, :, None] == b[:, None, :]) & (a[:, :, None] != 0)
    found = hit.any(axis=2)
    return found.sum(axis=1).astype(np.int64), found


def _any_equal(a: I64, b: I64) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = ((a[:, :, None] == b[:, None, :]) & (a[:, :, None] != 0)).any(
        axis=(1, 2))
    return out


def compare_pairs_reference(left: EncodedSide, right: EncodedSide, li: I64, ri: I64,
                            frequencies: NameFrequencies | None = None, *,
                            name_scale: float = 1.0) -> PairEvidence:
    """Levels of every comparison for the pairs ``(li[k], ri[k])``, with numpy.

    The specification of the levels, written column-wise; :func:`compare_pairs` computes the
    same evidence pair by pair in compiled code, and property tests hold it to this one.

    Args:
        left, right: the two encoded sides.
        li, ri: row indices of the pairs.
        frequencies: name-key frequencies (for frequency-aware evidence); omitted → zeros.
        name_scale: see :func:`compare_pairs`.
    """
    n = len(li)
    levels = np.zeros((n, len(COMPARISONS)), dtype=np.uint8)

    # names -------------------------------------------------------------------------------
    dice = dice_pairs(left.bloom, right.bloom, li, ri, left_counts=left.bloom_count,
                      right_counts=right.bloom_count)
    if name_scale != 1.0:
        dice = np.maximum(0.0, 1.0 - (1.0 - dice) * name_scale)
    lkeys = left.name_keys[li]
    rkeys = right.name_keys[ri]
    shared, found = _shared_counts(lkeys, rkeys)
    nl = left.name_count[li]
    nr = right.name_count[ri]
    name_missing = (nl == 0) | (nr == 0)
    lvl = np.full(n, NAME.levels.index("different"), dtype=np.uint8)
    lvl[shared == 1] = NAME.levels.index("one_key")
    for label, cut in FUZZY_THRESHOLDS:
        lvl[dice >= cut] = NAME.levels.index(label)
    most = shared >= 2
    # "all": every token of the shorter name is matched, and the longer has at most one more
    every = most & (shared >= np.minimum(nl, nr)) & (np.maximum(nl, nr) - shared <= 1)
    for group, mask in (("keys_most", most & ~every), ("keys_all", every)):
        for label, cut in KEYS_SPELLING_CUTS[group]:
            lvl[mask & (dice >= cut)] = NAME.levels.index(label)
    lvl[name_missing] = 0
    levels[:, 0] = lvl
    tf = frequencies.set_log2(lkeys, found) if frequencies is not None else np.zeros(n)

    # date of birth -----------------------------------------------------------------------
    ldob, rdob = left.dob, right.dob
    ly0, ry0 = ldob["dob_y0"][li], rdob["dob_y0"][ri]
    lfull, rfull = ldob["dob_full"][li], rdob["dob_full"][ri]
    ldef, rdef = left.dob_defaulted[li], right.dob_defaulted[ri]
    lalt, ralt = left.dob_alt[li], right.dob_alt[ri]
    has_l = (ly0 != 0) | (lalt[:, 0] != 0) | (left.dob_digits[li] != 0)
    has_r = (ry0 != 0) | (ralt[:, 0] != 0) | (right.dob_digits[ri] != 0)
    both_full = (lfull != 0) & (rfull != 0) & ~ldef & ~rdef
    same_year = (ly0 != 0) & (ly0 == ry0)
    both_years = (ly0 != 0) & (ry0 != 0)
    year_one = both_years & ((ldob["dob_y1"][li] == ry0) | (rdob["dob_y1"][ri] == ly0))
    year_two = both_years & ((ldob["dob_y2"][li] == ry0) | (rdob["dob_y2"][ri] == ly0))
    calendar = _any_equal(lalt, rfull[:, None]) | _any_equal(ralt, lfull[:, None]) | \
        _any_equal(lalt, ralt)
    exact = both_full & (lfull == rfull)
    swapped = both_full & ((lfull == rdob["dob_swap"][ri]) & (lfull != 0))
    year_dm = both_full & ((lfull == rdob["dob_yp1"][ri]) | (rfull == ldob["dob_yp1"][li]))
    ldig, rdig = left.dob_digits[li], right.dob_digits[ri]
    transposed = _any_equal(left.dob_transposed[li], rdig[:, None]) | \
        _any_equal(right.dob_transposed[ri], ldig[:, None])
    one_digit = ~ldef & ~rdef & (ldig != rdig) & (
        _mask_match(left.dob_masks[li], right.dob_masks[ri]) | transposed)
    d = np.full(n, DOB.levels.index("different"), dtype=np.uint8)
    d[year_two] = DOB.levels.index("year_off_two")
    d[year_one] = DOB.levels.index("year_off_one")
    partial = ~both_full
    d[partial & same_year] = DOB.levels.index("year_only")
    d[one_digit] = DOB.levels.index("one_digit")
    d[year_dm] = DOB.levels.index("year_off_same_day_month")
    d[calendar] = DOB.levels.index("calendar")
    d[swapped] = DOB.levels.index("swapped")
    d[exact] = DOB.levels.index("exact")
    d[~(has_l & has_r)] = 0
    levels[:, 1] = d

    # sex (only decidable where the full dates agree: see encode) ---------------------------
    ls, rs = left.sex_dob[li], right.sex_dob[ri]
    s = np.zeros(n, dtype=np.uint8)
    decidable = (lfull == rfull) & (lfull != 0) & (ls != 0) & (rs != 0)
    s[decidable & (ls == rs)] = 1
    s[decidable & (ls != rs)] = 2
    levels[:, 2] = s

    levels[:, 3] = _eq_level(left.nat[li], right.nat[ri])
    lp, rp = left.pob[li], right.pob[ri]
    p = np.where(_any_equal(lp, rp), 1, 2).astype(np.uint8)
    p[(lp[:, 0] == 0) | (rp[:, 0] == 0)] = 0
    levels[:, 4] = p
    levels[:, 5] = _eq_level(left.doc[li], right.doc[ri])
    adice = dice_pairs(left.address, right.address, li, ri, left_counts=left.address_count,
                       right_counts=right.address_count)
    a = np.full(n, ADDRESS.levels.index("different"), dtype=np.uint8)
    for label, cut in (("dice_60", 0.6), ("dice_75", 0.75), ("dice_90", 0.9)):
        a[adice >= cut] = ADDRESS.levels.index(label)
    a[(left.address_count[li] == 0) | (right.address_count[ri] == 0)] = 0
    levels[:, 6] = a
    return PairEvidence(levels=levels, name_score=dice, shared_name_keys=shared, name_tf=tf)


def _mask_match(a: I64, b: I64) -> npt.NDArray[np.bool_]:
    """Dates equal but for one digit: some same-position masked token is equal."""
    out: npt.NDArray[np.bool_] = ((a == b) & (a != 0)).any(axis=1)
    return out


def _eq_level(a: I64, b: I64) -> npt.NDArray[np.uint8]:
    out = np.where(a == b, 1, 2).astype(np.uint8)
    out[(a == 0) | (b == 0)] = 0
    return out


# ------------------------------------------------------------------------- compiled kernel

_L_MISSING = 0
_ALL_LEVELS: Final = np.array([NAME.levels.index(label)
                               for label, _ in KEYS_SPELLING_CUTS["keys_all"]], dtype=np.int64)
_ALL_CUTS: Final = np.array([cut for _, cut in KEYS_SPELLING_CUTS["keys_all"]], dtype=np.float64)
_MOST_LEVELS: Final = np.array([NAME.levels.index(label)
                                for label, _ in KEYS_SPELLING_CUTS["keys_most"]], dtype=np.int64)
_MOST_CUTS: Final = np.array([cut for _, cut in KEYS_SPELLING_CUTS["keys_most"]],
                             dtype=np.float64)
_L_ONE, _L_DIFF = NAME.levels.index("one_key"), NAME.levels.index("different")
_FUZZY: Final = tuple((NAME.levels.index(label), cut) for label, cut in FUZZY_THRESHOLDS)
_FUZZY_LEVELS: Final = np.array([lvl for lvl, _ in _FUZZY], dtype=np.int64)
_FUZZY_CUTS: Final = np.array([cut for _, cut in _FUZZY], dtype=np.float64)
_D = {name: DOB.levels.index(name) for name in DOB.levels}
_A = {name: ADDRESS.levels.index(name) for name in ADDRESS.levels}


@njit(cache=True, nogil=True)
def _compare_kernel(
        li: Any, ri: Any,
        lbloom: Any, lbc: Any, rbloom: Any, rbc: Any,
        lkeys: Any, lkc: Any, rkeys: Any, rkc: Any,
        lfull: Any, lswap: Any, lyp1: Any, ly0: Any, ly1: Any, ly2: Any, ldef: Any,
        lmasks: Any, ldig: Any, ltr: Any, lalt: Any,
        rfull: Any, rswap: Any, ryp1: Any, ry0: Any, ry1: Any, ry2: Any, rdef: Any,
        rmasks: Any, rdig: Any, rtr: Any, ralt: Any,
        lsex: Any, rsex: Any, lnat: Any, rnat: Any, lpob: Any, rpob: Any,
        ldoc: Any, rdoc: Any, laddr: Any, lac: Any, raddr: Any, rac: Any,
        lsingle: Any, lpair: Any, use_tf: bool,
        fuzzy_levels: Any, fuzzy_cuts: Any, all_levels: Any, all_cuts: Any, most_levels: Any,
        most_cuts: Any, name_scale: float,
        levels: Any, name_score: Any, shared_out: Any, tf_out: Any,
) -> None:  # pragma: no cover - compiled
    width = lkeys.shape[1]
    found = np.zeros(width, dtype=np.bool_)
    for p in range(len(li)):
        i = li[p]
        j = ri[p]
        # names ---------------------------------------------------------------------------
        total = lbc[i] + rbc[j]
        dice = 0.0
        if total > 0:
            inter = 0
            for w in range(lbloom.shape[1]):
                inter += _popcount(lbloom[i, w] & rbloom[j, w])  # type: ignore[call-arg]
            dice = 2.0 * inter / total
        if name_scale != 1.0:
            dice = max(0.0, 1.0 - (1.0 - dice) * name_scale)
        shared = 0
        for a in range(width):
            found[a] = False
            ka = lkeys[i, a]
            if ka != 0:
                for b in range(rkeys.shape[1]):
                    if rkeys[j, b] == ka:
                        found[a] = True
                        break
            if found[a]:
                shared += 1
        nl = lkc[i]
        nr = rkc[j]
        lvl = _L_DIFF
        if shared == 1:
            lvl = _L_ONE
        for f in range(len(fuzzy_cuts)):
            if dice >= fuzzy_cuts[f]:
                lvl = fuzzy_levels[f]
        if shared >= 2:
            if shared >= min(nl, nr) and max(nl, nr) - shared <= 1:
                for f in range(len(all_cuts)):
                    if dice >= all_cuts[f]:
                        lvl = all_levels[f]
            else:
                for f in range(len(most_cuts)):
                    if dice >= most_cuts[f]:
                        lvl = most_levels[f]
        if nl == 0 or nr == 0:
            lvl = _L_MISSING
        levels[p, 0] = lvl
        name_score[p] = dice
        shared_out[p] = shared
        tf = 0.0
        if use_tf and shared == 1:
            for a in range(width):
                if found[a]:
                    tf = lsingle[i, a]
                    break
        elif use_tf and shared >= 2:
            for a in range(width):
                if found[a]:
                    for b in range(a + 1, width):
                        if found[b]:
                            f2 = lpair[i, a, b]
                            if f2 < tf:
                                tf = f2
        tf_out[p] = tf
        # date of birth ---------------------------------------------------------------------
        has_l = ly0[i] != 0 or lalt[i, 0] != 0 or ldig[i] != 0
        has_r = ry0[j] != 0 or ralt[j, 0] != 0 or rdig[j] != 0
        both_full = lfull[i] != 0 and rfull[j] != 0 and not ldef[i] and not rdef[j]
        same_year = ly0[i] != 0 and ly0[i] == ry0[j]
        both_years = ly0[i] != 0 and ry0[j] != 0
        year_one = both_years and (ly1[i] == ry0[j] or ry1[j] == ly0[i])
        year_two = both_years and (ly2[i] == ry0[j] or ry2[j] == ly0[i])
        calendar = False
        for a in range(lalt.shape[1]):
            if lalt[i, a] != 0:
                if lalt[i, a] == rfull[j]:
                    calendar = True
                for b in range(ralt.shape[1]):
                    if lalt[i, a] == ralt[j, b]:
                        calendar = True
        for b in range(ralt.shape[1]):
            if ralt[j, b] != 0 and ralt[j, b] == lfull[i]:
                calendar = True
        exact = both_full and lfull[i] == rfull[j]
        swapped = both_full and lfull[i] == rswap[j] and lfull[i] != 0
        year_dm = both_full and (lfull[i] == ryp1[j] or rfull[j] == lyp1[i])
        transposed = False
        for a in range(ltr.shape[1]):
            if ltr[i, a] != 0 and ltr[i, a] == rdig[j]:
                transposed = True
        for a in range(rtr.shape[1]):
            if rtr[j, a] != 0 and rtr[j, a] == ldig[i]:
                transposed = True
        masked = False
        for a in range(lmasks.shape[1]):
            if lmasks[i, a] != 0 and lmasks[i, a] == rmasks[j, a]:
                masked = True
        one_digit = (not ldef[i]) and (not rdef[j]) and ldig[i] != rdig[j] and \
            (masked or transposed)
        d = _DIFFERENT
        if year_two:
            d = _YEAR_TWO
        if year_one:
            d = _YEAR_ONE
        if (not both_full) and same_year:
            d = _YEAR_ONLY
        if one_digit:
            d = _ONE_DIGIT
        if year_dm:
            d = _YEAR_DM
        if calendar:
            d = _CALENDAR
        if swapped:
            d = _SWAPPED
        if exact:
            d = _EXACT
        if not (has_l and has_r):
            d = 0
        levels[p, 1] = d
        # sex, nationality, place, document ---------------------------------------------------
        sx = 0
        if lfull[i] == rfull[j] and lfull[i] != 0 and lsex[i] != 0 and rsex[j] != 0:
            sx = 1 if lsex[i] == rsex[j] else 2
        levels[p, 2] = sx
        levels[p, 3] = 0 if lnat[i] == 0 or rnat[j] == 0 else (1 if lnat[i] == rnat[j] else 2)
        if lpob[i, 0] == 0 or rpob[j, 0] == 0:
            levels[p, 4] = 0
        else:
            agree = False
            for a in range(lpob.shape[1]):
                if lpob[i, a] != 0:
                    for b in range(rpob.shape[1]):
                        if lpob[i, a] == rpob[j, b]:
                            agree = True
            levels[p, 4] = 1 if agree else 2
        levels[p, 5] = 0 if ldoc[i] == 0 or rdoc[j] == 0 else (1 if ldoc[i] == rdoc[j] else 2)
        # address -----------------------------------------------------------------------------
        if lac[i] == 0 or rac[j] == 0:
            levels[p, 6] = 0
        else:
            atotal = lac[i] + rac[j]
            inter = 0
            for w in range(laddr.shape[1]):
                inter += _popcount(laddr[i, w] & raddr[j, w])  # type: ignore[call-arg]
            adice = 2.0 * inter / atotal
            lv = _ADDR_DIFF
            if adice >= 0.6:
                lv = _ADDR_60
            if adice >= 0.75:
                lv = _ADDR_75
            if adice >= 0.9:
                lv = _ADDR_90
            levels[p, 6] = lv


_DIFFERENT: Final = _D["different"]
_YEAR_TWO: Final = _D["year_off_two"]
_YEAR_ONE: Final = _D["year_off_one"]
_YEAR_ONLY: Final = _D["year_only"]
_ONE_DIGIT: Final = _D["one_digit"]
_YEAR_DM: Final = _D["year_off_same_day_month"]
_CALENDAR: Final = _D["calendar"]
_SWAPPED: Final = _D["swapped"]
_EXACT: Final = _D["exact"]
_ADDR_DIFF: Final = _A["different"]
_ADDR_60: Final = _A["dice_60"]
_ADDR_75: Final = _A["dice_75"]
_ADDR_90: Final = _A["dice_90"]


MIN_SCALE_PAIRS: Final = 50
"""Fewer random pairs than this give no estimate of the filters' density: the default is used."""
DEFAULT_BALANCED_SCALE: Final = 2.2
"""The scale of a side too small to estimate its own: the value measured on the generated
asylum-like names (2.17–2.24) and on FEBRL4 (2.27), i.e. a filter density of about 0.22."""
SCALE_SAMPLE_ROWS: Final = 20_000


def balanced_name_scale(side: EncodedSide) -> float:
    """The factor that puts the Dice of *balanced* name filters back on the plain Dice scale.

    A balanced filter holds the plain filter and its complement, so every filter has the same
    weight and the Dice of two of them is ``1 - H / m`` (``H`` the Hamming distance of the plain
    filters, ``m`` their length), whereas the plain Dice is ``1 - H / (a + b)``. With the
    weights hidden, ``a + b`` is taken as ``2 d m`` for the average density ``d`` of the plain
    filters, which the linkage unit estimates from the data themselves: unrelated filters of
    density ``d`` differ in ``2 d (1 - d)`` of their positions. Records next to each other in
    the order of their content hash (of keyed columns) are unrelated pairs, so the first rows
    in that order, paired two by two, give ``H / m`` for unrelated names. The scale is
    ``1 / (2 d)``, so that the name levels' Dice cuts (0.5–0.9) mean what they mean for plain
    filters.

    Deterministic (it depends only on the side's content, not on row order or job salt), so
    every engine, batch size and job sees the same scale.
    """
    named = np.flatnonzero(side.name_count > 0)
    pairs = min(len(named), SCALE_SAMPLE_ROWS) // 2
    if pairs < MIN_SCALE_PAIRS:
        return DEFAULT_BALANCED_SCALE
    # rows taken in the order of their content hash, not of their (salted) pseudonyms, so
    # that two jobs over the same data estimate the same scale
    order = named[np.argsort(side.content_hash()[named], kind="stable")][:2 * pairs]
    li, ri = order[0::2], order[1::2]
    dice = dice_pairs(side.bloom, side.bloom, li, ri, left_counts=side.bloom_count,
                      right_counts=side.bloom_count)
    distance = float(np.mean(1.0 - dice))  # H / m for unrelated names: 2 d (1 - d)
    density = (1.0 - math.sqrt(max(0.0, 1.0 - 2.0 * distance))) / 2.0
    return 1.0 / (2.0 * min(max(density, 0.05), 0.5))


def _row_tables(side: EncodedSide, frequencies: NameFrequencies) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:meth:`NameFrequencies.row_tables` of a side's name keys, kept on the side for the
    frequencies it was made with (a batch is compared in several chunks of pairs)."""
    cached = side.__dict__.get("_row_tables")
    if cached is None or cached[0] is not frequencies:
        cached = (frequencies, *frequencies.row_tables(side.name_keys))
        side.__dict__["_row_tables"] = cached
    return cached[1], cached[2]


def compare_pairs(left: EncodedSide, right: EncodedSide, li: I64, ri: I64,
                  frequencies: NameFrequencies | None = None, *,
                  name_scale: float = 1.0) -> PairEvidence:
    """Levels of every comparison for the pairs ``(li[k], ri[k])`` (compiled, one pass per
    pair; equal to :func:`compare_pairs_reference`).

    Args:
        left, right: the two encoded sides.
        li, ri: row indices of the pairs.
        frequencies: name-key frequencies (for frequency-aware evidence); omitted → zeros.
        name_scale: rescaling of the name Dice of balanced filters (see
            :func:`balanced_name_scale`); 1 leaves it as it is.
    """
    n = len(li)
    levels = np.zeros((n, len(COMPARISONS)), dtype=np.uint8)
    name_score = np.zeros(n, dtype=np.float64)
    shared = np.zeros(n, dtype=np.int64)
    tf = np.zeros(n, dtype=np.float64)
    if n:
        fr = frequencies
        ld, rd = left.dob, right.dob
        _compare_kernel(
            np.ascontiguousarray(li, dtype=np.int64), np.ascontiguousarray(ri, dtype=np.int64),
            left.bloom, left.bloom_count.astype(np.int64), right.bloom,
            right.bloom_count.astype(np.int64),
            left.name_keys, left.name_count.astype(np.int64), right.name_keys,
            right.name_count.astype(np.int64),
            ld["dob_full"], ld["dob_swap"], ld["dob_yp1"], ld["dob_y0"], ld["dob_y1"],
            ld["dob_y2"], left.dob_defaulted, left.dob_masks, left.dob_digits,
            left.dob_transposed, left.dob_alt,
            rd["dob_full"], rd["dob_swap"], rd["dob_yp1"], rd["dob_y0"], rd["dob_y1"],
            rd["dob_y2"], right.dob_defaulted, right.dob_masks, right.dob_digits,
            right.dob_transposed, right.dob_alt,
            left.sex_dob, right.sex_dob, left.nat, right.nat, left.pob, right.pob,
            left.doc, right.doc, left.address, left.address_count.astype(np.int64),
            right.address, right.address_count.astype(np.int64),
            *(_row_tables(left, fr) if fr is not None else
              (np.zeros((0, 0)), np.zeros((0, 0, 0)))),
            fr is not None, _FUZZY_LEVELS, _FUZZY_CUTS, _ALL_LEVELS, _ALL_CUTS, _MOST_LEVELS,
            _MOST_CUTS, float(name_scale),
            levels, name_score, shared, tf)
    return PairEvidence(levels=levels, name_score=name_score, shared_name_keys=shared,
                        name_tf=tf)
