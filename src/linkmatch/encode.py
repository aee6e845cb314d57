"""Holder side: turn person records into pseudonymous encodings (read → normalise → pseudonymise).

Nothing in the output is a plain value: every column is a keyed token (AES-256-CMAC under a
purpose-specific HKDF sub-key, see :mod:`linkmatch.pseudonymise.prf`), a keyed Bloom filter, or
a flag. Rows are sorted by pseudonym so that the input order (often alphabetical or by date) does
not leak.

What each column lets the linkage unit compare, and why it is shaped that way:

``pid``
    Record pseudonym, a 128-bit CMAC of the record id under a per-job key (HMAC of the pseudonym
    sub-key and a random job salt): the same person gets unrelated pseudonyms in two jobs, so
    runs cannot be joined. Rows sharing a ``record_id`` (aliases) share the pseudonym, which
    lets the unit report one row per person pair.
``name_bf``
    One Bloom filter of *all* name tokens of the record (given, family, full), each token entered
    twice: q-grams of its folded spelling and q-grams of its variant key (consonant skeleton).
    Order-free, so given/family swaps still match; the variant-key grams make transliterations
    overlap (Youssef/Yusuf/يوسف). Stored hardened as the schema says (by default XOR-folded and
    balanced, :mod:`linkmatch.pseudonymise.hardening`): pattern mining with known pairs
    recovers far less from it. What a unit reads from this file without the key (most names,
    through the structure of the tokens and the filters' similarity) is measured by
    ``linkmatch audit`` (``docs/privacy.md``).
``name_keys``
    Keyed tokens of each name token's variant key: exact-variant agreement and its frequency (a
    shared rare name is strong evidence, a shared "Mohammed" weak).
``dob_*``
    Keyed tokens of the full date, of its day/month swap, of the date a year later, of the
    date's digits, of them with each digit masked and with adjacent digits swapped, of
    year-month and of years y, y+1, y+2: enough to decide every date level (exact, swapped,
    year ±1 with same day and month, one digit off or transposed, year off, …) from tokens
    alone. A date that does not parse (month 49) still gets its digit tokens, so a typo in it
    can agree with the right date.
``sex_dob``
    Sex is tokenised only together with the full date, so the unit cannot count men and women.
``nat``, ``pob_keys``, ``doc``
    Keyed tokens of nationality, of place-of-birth tokens, of the document number.
``address_bf``
    Keyed Bloom filter of the optional free-text address (q-grams of its words and numbers).
``block_keys``
    Keyed blocking keys (separate sub-keys), sorted and distinct: single name keys, pairs of name
    keys, name key with birth year, name key with day and month of a full birth date (not a
    default date), name key up to one deletion with birth year, the full date,
    the document number, pairs of address words.

How it is computed (:func:`encode_frame`): column by column, over *distinct* values. Names,
dates, places and codes repeat heavily in real files, so each distinct value is normalised once
in Python and every keyed token is computed in batches (:class:`KeyedPRF`), then gathered to the
rows with numpy. :func:`linkmatch.encode_reference.encode_frame_reference` is the plain
row-by-row implementation of the same specification; a property test checks that both give
identical tables and reports.
"""

from __future__ import annotations

import base64
import datetime as dt
import glob
import hmac
import itertools
import json
import os
import re
import secrets
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from anyascii import anyascii
from numba import njit

from linkmatch._parallel import default_workers, process_alive
from linkmatch._version import __version__
from linkmatch.decoys import check_rate, decoy_count_mac, make_decoys
from linkmatch.errors import InputDataError
from linkmatch.io import (
    ENCODED_FORMAT,
    FRACTION_READ,
    MANIFEST_KEY,
    RAGGED_ROWS,
    ROW_NUMBERS,
    ContentDigest,
    Issue,
    ValidationReport,
    atomic_path,
    column_codes,
    content_digest,
    gc_paused,
    iter_person_chunks,
)
from linkmatch.layout import MAX_ADDRESS_WORDS, MAX_VALUE_LENGTH, NUM_ALT_DATES, NUM_DATE_MASKS
from linkmatch.normalise.dates import BirthDate, DateParseError, alternative_readings, parse_date
from linkmatch.normalise.names import NameToken, fold, name_tokens, variant_key
from linkmatch.pseudonymise.bloom import BloomEncoder, qgrams
from linkmatch.pseudonymise.hardening import FilterHardener
from linkmatch.pseudonymise.keys import Key, KeyLike
from linkmatch.pseudonymise.prf import KeyedPRF
from linkmatch.pseudonymise.signing import SigningKey, sign_manifest
from linkmatch.schema import Schema

__all__ = [
    "EncodeSummary",
    "Encoded",
    "encode_file",
    "encode_frame",
    "manifest_mac",
    "pseudonym_hex",
    "pseudonyms_hex",
    "remove_stale_work",
]

MIN_VARIANT_KEY_LENGTH: Final = 4
"""Shorter name keys get no typo neighbourhood in blocking: it would match too many names."""
TEXT_COLUMNS: Final = ("given_names", "family_name", "full_name", "date_of_birth", "sex",
                       "nationality", "place_of_birth", "document_number", "address")
SEX_CODES: Final = {
    "M": "M", "MALE": "M", "MAN": "M", "F": "F", "FEMALE": "F", "WOMAN": "F",
    "V": "F", "VROUW": "F", "X": "X", "U": "", "UNKNOWN": "", "ONBEKEND": "",
}
SEX_NUMBERS: Final = {"M": 1, "F": 2, "X": 3}
_NAT_RE: Final = re.compile(r"[A-Z]{3}")
_DOC_STRIP: Final = re.compile(r"[^0-9A-Z]")
ADDRESS_SPLIT: Final = re.compile(r"[^0-9a-z]+")

# Issue order within a row (the order in which the reference implementation finds them).
ORDER_RECORD_ID: Final = len(TEXT_COLUMNS) + 1
ORDER_NAME: Final = ORDER_RECORD_ID + 1
ORDER_DATE: Final = ORDER_NAME + 1
ORDER_SEX: Final = ORDER_DATE + 1
ORDER_NAT: Final = ORDER_SEX + 1
ORDER_DOC: Final = ORDER_NAT + 1

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Encoded:
    """An encoded file in memory: the pseudonymous table, its manifest and the validation report."""

    table: pa.Table
    manifest: dict[str, Any]
    report: ValidationReport


class Hashers:
    """All keyed primitives of one job, each under its own HKDF label."""

    def __init__(self, key: KeyLike, schema: Schema, salt: bytes, *,
                 token_blooms: dict[tuple[str, str], int] | None = None) -> None:
        """Derive the sub-keys; ``token_blooms`` is a memo of :meth:`token_bloom` to share
        (it must come from the same key and schema)."""
        self.pseudonym = KeyedPRF(job_pseudonym_key(key, salt))
        self.name_text = BloomEncoder(key.derive("bloom/name/text"), num_bits=schema.name_bits,
                                      num_hashes=schema.name_hashes_text)
        self.name_key = BloomEncoder(key.derive("bloom/name/key"), num_bits=schema.name_bits,
                                     num_hashes=schema.name_hashes_key)
        self.address = BloomEncoder(key.derive("bloom/address"), num_bits=schema.name_bits,
                                    num_hashes=schema.name_hashes_text)
        prf = {label: KeyedPRF(key.derive(f"token/{label}")) for label in (
            "name", "dob/ymd", "dob/ym", "dob/y", "dob/digits", "dob/mask", "sex-dob",
            "nationality", "place-of-birth", "document")}
        self.name = prf["name"]
        self.ymd, self.ym, self.year = prf["dob/ymd"], prf["dob/ym"], prf["dob/y"]
        self.digits, self.mask = prf["dob/digits"], prf["dob/mask"]
        self.sex_dob = prf["sex-dob"]
        self.nat, self.pob, self.doc = prf["nationality"], prf["place-of-birth"], prf["document"]
        block = {label: KeyedPRF(key.derive(f"block/{label}")) for label in (
            "n", "nn", "ny", "nmd", "vy", "variant", "d", "doc", "aa", "word")}
        self.block_n, self.block_nn, self.block_ny = block["n"], block["nn"], block["ny"]
        self.block_nmd = block["nmd"]
        self.block_vy, self.block_variant = block["vy"], block["variant"]
        self.block_d, self.block_doc = block["d"], block["doc"]
        self.block_aa, self.block_word = block["aa"], block["word"]
        self.qgram = schema.qgram
        self.name_bytes = schema.name_bits // 8
        self.hardener = FilterHardener(
            key.derive("harden/name/permutation"), key.derive("harden/name/blip"),
            num_bits=schema.name_bits, xor_fold=schema.name_xor_fold,
            balance=schema.name_balance, blip=schema.name_blip,
            salt_key=key.derive("harden/name/salt") if schema.name_salt != "none" else None,
        ) if schema.hardened else None
        self._token_bloom = {} if token_blooms is None else token_blooms
        self._address_bloom: dict[str, bytes] = {}

    def token_bloom(self, text: str, key: str) -> int:
        """Bloom filter of one name token: q-grams of its spelling and of its variant key."""
        cached = self._token_bloom.get((text, key))
        if cached is None:
            cached = self.name_text.encode(qgrams(text, self.qgram)) | self.name_key.encode(
                qgrams(key, self.qgram))
            self._token_bloom[(text, key)] = cached
        return cached

    def address_bloom(self, text: str) -> bytes:
        """Bloom filter of an address: q-grams of each folded word or number (order-free)."""
        cached = self._address_bloom.get(text)
        if cached is None:
            grams = [g for word in ADDRESS_SPLIT.split(fold_address(text)) if word
                     for g in qgrams(word, self.qgram)]
            cached = self.address.to_bytes(self.address.encode(grams))
            if len(self._address_bloom) < 1_000_000:
                self._address_bloom[text] = cached
        return cached


def job_pseudonym_key(key: KeyLike, salt: bytes) -> bytes:
    """The key of one job's record pseudonyms: HMAC of the pseudonym sub-key and the job salt."""
    return hmac.digest(key.derive("pseudonym"), salt, "sha256")


# ------------------------------------------------------------------------- value normalisation


def clean(value: str) -> str:
    """NFKC and surrounding white space removed (record ids)."""
    if value.isascii():  # NFKC leaves ASCII as it is; skipping it is 4x faster
        return value.strip()
    return unicodedata.normalize("NFKC", value).strip()


@lru_cache(maxsize=65536)
def norm_sex(value: str) -> str | None:
    """"M"/"F"/"X", "" for unknown, None for an invalid code."""
    return SEX_CODES.get(clean(value).upper().rstrip("."))


@lru_cache(maxsize=4096)
def norm_nationality(value: str) -> str | None:
    """An ISO 3166-1 alpha-3 code, or None."""
    code = clean(value).upper()
    return code if _NAT_RE.fullmatch(code) else None


def norm_document(value: str) -> str:
    """Document number: letters and digits only, upper case."""
    return _DOC_STRIP.sub("", clean(value).upper())


def fold_address(text: str) -> str:
    """Address text folded to lower-case ASCII."""
    return anyascii(unicodedata.normalize("NFKC", text)).casefold()


def address_words(text: str) -> list[str]:
    """The distinct address words of 3+ characters, sorted, at most :data:`MAX_ADDRESS_WORDS`.

    Pairs of them are blocking keys: records whose names and dates are both corrupted still meet
    when they share an address. Single words are too common.
    """
    if not text.strip():
        return []
    words = {w for w in ADDRESS_SPLIT.split(fold_address(text)) if len(w) >= 3}
    return sorted(words)[:MAX_ADDRESS_WORDS]


def place_keys(text: str, limit: int) -> list[str]:
    """Distinct variant keys of the place-of-birth words (at most ``limit`` words read)."""
    if not text.strip():
        return []
    place = [variant_key(t) for t in fold(text).split()][:limit]
    return list(dict.fromkeys(p for p in place if p))


def record_name_tokens(given: str, family: str, full: str) -> list[NameToken]:
    """The record's name tokens that identify (particles and titles dropped), key-distinct."""
    return [t for t in name_tokens(given, family, full) if t.kind == "name"]


def record_filter_tokens(given: str, family: str, full: str) -> list[NameToken]:
    """The tokens entered into the record's name filter: its names and its titles.

    Titles before a name (*Haji* Ahmed, *Sayed* Ali) get low weight rather than none: they
    are not name keys (they neither block nor count among the keys that agree), but their
    q-grams are in the filter, so a shared title nudges the fuzzy similarity and a title on one
    side only lowers it a little. (Last in its part the word is a name: Mohammad | Syed.) A
    record without a name gets an empty filter, title or not.
    """
    tokens = [t for t in name_tokens(given, family, full) if t.kind != "particle"]
    return tokens if any(t.kind == "name" for t in tokens) else []


def key_variants(key: str) -> list[str]:
    """A name key and its one-deletion neighbourhood (keys of 4+ letters only), for blocking."""
    if len(key) < MIN_VARIANT_KEY_LENGTH:
        return []
    return [key, *(key[:i] + key[i + 1:] for i in range(len(key)))]


def raw_digits(text: str) -> str | None:
    """The YYYYMMDD digits of a date string that did not parse (a typo such as month 49).

    Only the digit layout is read (8 digits, or groups 4-2-2 / 2-2-4), so that a mistyped date
    can still agree with the right one up to one digit or one adjacent swap.
    """
    found: list[str] = re.findall(r"\d+", unicodedata.normalize("NFKC", text))
    groups = ["".join(str(unicodedata.digit(ch)) for ch in g) for g in found]
    if len(groups) == 1 and len(groups[0]) == 8:
        g = groups[0]
        return g if g[:2] in ("19", "20") else g[4:] + g[2:4] + g[:2]
    if [len(g) for g in groups] == [4, 2, 2]:
        return "".join(groups)
    if [len(g) for g in groups] == [2, 2, 4]:
        return groups[2] + groups[1] + groups[0]
    return None


@dataclass(frozen=True)
class DateReading:
    """What a date-of-birth string says: the date, other-calendar readings, problem, digits."""

    date: BirthDate | None
    alts: tuple[BirthDate, ...]
    problem: str | None
    digits: str | None

    @property
    def full(self) -> bool:
        return self.date is not None and self.date.month is not None and \
            self.date.day is not None


def read_date(text: str, today: dt.date, min_year: int) -> DateReading:
    """Parse a date-of-birth string; an invalid one keeps its alternative readings and digits."""
    try:
        date = parse_date(text, today=today, min_year=min_year)
    except DateParseError as exc:
        alts = tuple(alternative_readings(text))
        reason = str(exc)
        if alts:
            reason += " (kept only as a possible Ethiopian or Solar Hijri date)"
        return DateReading(None, alts, reason, raw_digits(text))
    if date is not None and date.month is not None and date.day is not None:
        digits: str | None = f"{date.year:04d}{date.month:02d}{date.day:02d}"
    else:
        digits = None
    return DateReading(date, (), None, digits)


# -------------------------------------------------------------------------------- fast encoder


class _Issues:
    """Issues found column-wise, reported in the order a row-by-row pass finds them."""

    def __init__(self) -> None:
        self.pos: list[I64] = []
        self.order: list[I64] = []
        self.column: list[str] = []
        self.reason: list[str] = []

    def add(self, positions: I64, order: int, column: str, reason: str) -> None:
        if len(positions):
            self.pos.append(positions.astype(np.int64))
            self.order.append(np.full(len(positions), order, dtype=np.int64))
            self.column.extend([column] * len(positions))
            self.reason.extend([reason] * len(positions))

    def sorted(self) -> list[tuple[int, str, str]]:
        if not self.pos:
            return []
        pos = np.concatenate(self.pos)
        order = np.concatenate(self.order)
        idx = np.lexsort((order, pos))
        return [(int(pos[i]), self.column[i], self.reason[i]) for i in idx.tolist()]


@dataclass(frozen=True)
class _Column:
    """A text column as codes into its distinct values."""

    codes: I64
    uniques: list[str]


def _rows_with(codes: I64, flags: Sequence[bool]) -> I64:
    """Rows whose distinct value is flagged."""
    flagged = np.flatnonzero(np.asarray(flags, dtype=bool))
    if not len(flagged):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.isin(codes, flagged)).astype(np.int64)


def _ragged(lists: Sequence[Sequence[int]]) -> tuple[I64, I64]:
    """Offsets and flat values of a list of integer lists."""
    lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter((v for x in lists for v in x), dtype=np.int64, count=int(offsets[-1]))
    return offsets, flat


def _explode(codes: I64, offsets: I64, flat: I64) -> tuple[I64, I64, I64]:
    """For rows whose value has index ``codes[i]``: (row, item, position in the item's list)."""
    lens = offsets[codes + 1] - offsets[codes]
    rows = np.repeat(np.arange(len(codes), dtype=np.int64), lens)
    total = int(lens.sum())
    ends = np.cumsum(lens)
    pos = np.arange(total, dtype=np.int64) - np.repeat(ends - lens, lens)
    items = flat[np.repeat(offsets[codes], lens) + pos]
    return rows, items, pos


def _unique_rows_tokens(prf: KeyedPRF, columns: Sequence[I64]) -> I64:
    """PRF tokens of integer tuples (single values: each distinct value computed once).

    Tuples are not deduplicated: sorting rows of several columns costs more than the CMACs.
    """
    if not len(columns[0]):
        return np.zeros(0, dtype=np.int64)
    if len(columns) == 1:
        uniq, inverse = np.unique(columns[0], return_inverse=True)
        return prf.tokens_ints(uniq)[inverse.ravel()]
    return prf.tokens_ints(np.column_stack(columns))


def _sorted_lists(n: int, rows: I64, keys: I64) -> tuple[I64, I64]:
    """Per-row sorted distinct keys as (offsets, flat): row ``r``'s keys are
    ``flat[offsets[r]:offsets[r + 1]]``.

    Compiled (:func:`_sorted_lists_kernel`): a counting sort by row, then each row's few keys
    inserted in order, repeats dropped. The numpy version it replaced (stable sort by row, a
    padded row-by-key matrix sorted row by row) took 0.070 s on the 1.5 million keys of 100,000
    generated records, and the matrix 40 MB more memory; the kernel takes 0.039 s.
    :func:`sorted_lists_reference` is the plain version it is tested against.
    """
    if not len(rows):
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return _sorted_lists_kernel(n, np.ascontiguousarray(rows, dtype=np.int64),
                                np.ascontiguousarray(keys, dtype=np.int64))


@njit(cache=True, nogil=True)
def _sorted_lists_kernel(n: int, rows: I64,
                         keys: I64) -> tuple[I64, I64]:  # pragma: no cover - compiled
    starts = np.zeros(n + 1, dtype=np.int64)
    for r in rows:
        starts[r + 1] += 1
    for r in range(n):
        starts[r + 1] += starts[r]
    fill = starts[:-1].copy()
    grouped = np.empty(len(rows), dtype=np.int64)
    for i in range(len(rows)):
        grouped[fill[rows[i]]] = keys[i]
        fill[rows[i]] += 1
    offsets = np.zeros(n + 1, dtype=np.int64)
    flat = np.empty(len(rows), dtype=np.int64)
    pos = 0
    for r in range(n):
        first = pos
        for i in range(starts[r], starts[r + 1]):
            # insertion into the row's sorted distinct keys so far (a row has a few dozen)
            value = grouped[i]
            j = pos
            while j > first and flat[j - 1] > value:
                j -= 1
            if j > first and flat[j - 1] == value:
                continue
            for t in range(pos, j, -1):
                flat[t] = flat[t - 1]
            flat[j] = value
            pos += 1
        offsets[r + 1] = pos
    return offsets, flat[:pos]


def sorted_lists_reference(n: int, rows: Sequence[int], keys: Sequence[int]) -> list[list[int]]:
    """Plain reference of :func:`_sorted_lists`: each row's distinct keys, sorted."""
    out: list[set[int]] = [set() for _ in range(n)]
    for r, k in zip(rows, keys, strict=True):
        out[r].add(k)
    return [sorted(x) for x in out]


@dataclass
class _Names:
    bloom: npt.NDArray[np.uint8]  # (n, name_bytes)
    keys: I64  # (n, max_name_tokens) tokens
    count: I64  # name tokens per row
    block_rows: I64  # (row, sorted kept key) entries for blocking
    block_kid: I64
    key_strings: list[str]  # kid -> key string (sorted)


def _encode_names(h: Hashers, schema: Schema, given: _Column, family: _Column,
                  full: _Column) -> _Names:
    n = len(given.codes)
    parts = [(col.codes, col.uniques) for col in (given, family, full)]
    part_tokens = [[name_tokens(u, None) if u and not u.isspace() else () for u in uniques]
                   for _, uniques in parts]
    keys = sorted({t.key for toks in part_tokens for tt in toks for t in tt})
    kid_of = {k: i for i, k in enumerate(keys)}
    tok_of: dict[tuple[str, str, str], int] = {}
    tok_lists = [[[tok_of.setdefault((t.text, t.key, t.kind), len(tok_of)) for t in tt]
                  for tt in toks] for toks in part_tokens]
    tok_key = np.fromiter((kid_of[k] for (_, k, _) in tok_of), dtype=np.int64, count=len(tok_of))
    tok_name = np.fromiter((kind == "name" for (_, _, kind) in tok_of), dtype=bool,
                           count=len(tok_of))
    tok_filter = np.fromiter((kind != "particle" for (_, _, kind) in tok_of), dtype=bool,
                             count=len(tok_of))  # names and titles (record_filter_tokens)
    rows_l, tids_l, pos_l = [], [], []
    stride = 1 << 20
    for c, ((codes, _), lists) in enumerate(zip(parts, tok_lists, strict=True)):
        offsets, flat = _ragged(lists)
        rows, tids, pos = _explode(codes, offsets, flat)
        rows_l.append(rows)
        tids_l.append(tids)
        pos_l.append(pos + c * stride)
    rows, tids, pos = np.concatenate(rows_l), np.concatenate(tids_l), np.concatenate(pos_l)
    kid = tok_key[tids]
    # one token per key and record, the first in reading order (given, family, full)
    order = np.lexsort((pos, kid, rows))
    rows, tids, pos, kid = rows[order], tids[order], pos[order], kid[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (kid[1:] != kid[:-1])
    # the filter's tokens (names and titles), grouped by record
    in_filter = first & tok_filter[tids]
    f_order = np.argsort(rows[in_filter], kind="stable")
    f_rows, f_tids = rows[in_filter][f_order], tids[in_filter][f_order]
    keep = first & tok_name[tids]
    rows, tids, pos, kid = rows[keep], tids[keep], pos[keep], kid[keep]
    order = np.lexsort((pos, rows))
    rows, tids, kid = rows[order], tids[order], kid[order]
    count = np.bincount(rows, minlength=n).astype(np.int64)
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(count, out=starts[1:])
    rank = np.arange(len(rows), dtype=np.int64) - starts[rows]

    # Bloom filters: OR of the token filters of each record
    words = h.name_bytes // 8
    texts = list(tok_of)
    tok_bloom = np.frombuffer(b"".join(
        h.token_bloom(text, key).to_bytes(h.name_bytes, "little") for text, key, _ in texts),
        dtype="<u8").reshape(len(texts), words) if texts else np.zeros((0, words), "<u8")
    bloom = np.zeros((n, words), dtype="<u8")
    f_count = np.bincount(f_rows, minlength=n).astype(np.int64)
    f_starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(f_count, out=f_starts[1:])
    filled = np.flatnonzero(f_count)
    if len(filled):
        # reduceat ends each segment at the next listed start: list every non-empty record
        bloom[filled] = np.bitwise_or.reduceat(tok_bloom[f_tids], f_starts[filled], axis=0)
    bloom[count == 0] = 0  # a record without a name keeps an empty filter, title or not

    # key tokens, the first max_name_tokens per record
    key_tok = h.name.tokens_strings(keys) if keys else np.zeros(0, dtype=np.int64)
    width = schema.max_name_tokens
    kept = rank < width
    mat = np.zeros((n, width), dtype=np.int64)
    mat[rows[kept], rank[kept]] = key_tok[kid[kept]]
    return _Names(bloom=bloom.view(np.uint8).reshape(n, h.name_bytes), keys=mat, count=count,
                  block_rows=rows[kept], block_kid=kid[kept], key_strings=keys)


@dataclass
class _Dates:
    columns: dict[str, Any]  # per-row arrays of the dob_* columns
    year: I64  # birth year per row, -1 when unknown (for blocking keys)
    full: I64  # full-date token per row (0 when not a full date)
    ymd: npt.NDArray[np.int64]  # (n, 3) year, month, day of full dates (0 otherwise)


def _date_tokens(h: Hashers, readings: Sequence[DateReading]) -> dict[str, I64]:
    """All dob token columns over distinct date readings, in batches."""
    u = len(readings)
    y = np.zeros(u, dtype=np.int64)
    m = np.zeros(u, dtype=np.int64)
    d = np.zeros(u, dtype=np.int64)
    for i, r in enumerate(readings):
        if r.date is not None:
            y[i] = r.date.year
            m[i] = r.date.month or 0
            d[i] = r.date.day or 0
    has_y = y > 0
    has_m = has_y & (m > 0)
    has_md = has_m & (d > 0)
    out: dict[str, I64] = {}

    def masked(sel: npt.NDArray[np.bool_], prf: KeyedPRF, *cols: I64) -> I64:
        res = np.zeros(u, dtype=np.int64)
        if sel.any():
            res[sel] = _unique_rows_tokens(prf, [c[sel] for c in cols])
        return res

    for k in range(3):
        out[f"dob_y{k}"] = masked(has_y, h.year, y + k)
    out["dob_ym"] = masked(has_m, h.ym, y, m)
    out["dob_full"] = masked(has_md, h.ymd, y, m, d)
    out["dob_yp1"] = masked(has_md, h.ymd, y + 1, m, d)
    out["dob_swap"] = masked(has_md & (d <= 12) & (d != m), h.ymd, y, d, m)
    digits = np.array([int(r.digits) if r.digits is not None else -1 for r in readings],
                      dtype=np.int64)
    has_d = digits >= 0
    out["dob_digits"] = masked(has_d, h.digits, digits)
    place = 10 ** np.arange(NUM_DATE_MASKS - 1, -1, -1, dtype=np.int64)  # digit i's weight
    digit = (digits[:, None] // place[None, :]) % 10
    masks = np.zeros((u, NUM_DATE_MASKS), dtype=np.int64)
    for i in range(NUM_DATE_MASKS):
        masks[:, i] = masked(has_d, h.mask, np.full(u, i), digits - digit[:, i] * place[i])
    out["dob_masks"] = masks
    transposed = np.zeros((u, NUM_DATE_MASKS - 1), dtype=np.int64)
    for i in range(NUM_DATE_MASKS - 1):
        a, b = digit[:, i], digit[:, i + 1]
        swapped = digits + (b - a) * place[i] + (a - b) * place[i + 1]
        transposed[:, i] = masked(has_d & (a != b), h.digits, swapped)
    out["dob_transposed"] = transposed
    alt = np.zeros((u, NUM_ALT_DATES), dtype=np.int64)
    for j in range(NUM_ALT_DATES):
        ay = np.zeros(u, dtype=np.int64)
        am = np.zeros(u, dtype=np.int64)
        ad = np.zeros(u, dtype=np.int64)
        for i, r in enumerate(readings):
            if len(r.alts) > j:
                reading = r.alts[j]
                if reading.month is not None and reading.day is not None:
                    ay[i], am[i], ad[i] = reading.year, reading.month, reading.day
        alt[:, j] = masked(ad > 0, h.ymd, ay, am, ad)
    out["dob_alt"] = alt
    out["year"] = np.where(has_y, y, -1)
    out["ymd"] = np.column_stack([y, m, d]) * has_md[:, None]
    return out


_DOB_COLUMNS: Final = ("dob_full", "dob_swap", "dob_yp1", "dob_ym", "dob_y0", "dob_y1", "dob_y2",
                       "dob_defaulted", "dob_masks", "dob_digits", "dob_transposed", "dob_alt")
_DATE_LAYOUT: Final = (("dob_full", 1), ("dob_swap", 1), ("dob_yp1", 1), ("dob_ym", 1),
                       ("dob_y0", 1), ("dob_y1", 1), ("dob_y2", 1), ("dob_defaulted", 1),
                       ("dob_masks", NUM_DATE_MASKS), ("dob_digits", 1),
                       ("dob_transposed", NUM_DATE_MASKS - 1), ("dob_alt", NUM_ALT_DATES),
                       ("year", 1), ("ymd", 3), ("problem", 1))
"""The columns of :class:`_ValueStore` date values: (name, width), in order."""
_DATE_START: Final = dict(zip([c for c, _ in _DATE_LAYOUT], np.cumsum(
    [0] + [w for _, w in _DATE_LAYOUT[:-1]]).tolist(), strict=True))
_DATE_WIDTHS: Final = dict(_DATE_LAYOUT)
_DATE_WIDTH: Final = sum(_DATE_WIDTHS.values())


def _date_values(h: Hashers, readings: Sequence[DateReading],
                 reasons: dict[str, int]) -> I64:
    """One row of :data:`_DATE_LAYOUT` per reading (``reasons`` numbers the problems)."""
    tokens = _date_tokens(h, readings)
    tokens["dob_defaulted"] = np.array(
        [r.date is not None and r.date.defaulted for r in readings], dtype=np.int64)
    tokens["problem"] = np.array(
        [-1 if r.problem is None else reasons.setdefault(r.problem, len(reasons))
         for r in readings], dtype=np.int64)
    out = np.zeros((len(readings), _DATE_WIDTH), dtype=np.int64)
    for name, width in _DATE_LAYOUT:
        start = _DATE_START[name]
        out[:, start:start + width] = tokens[name].reshape(len(readings), width)
    return out


class _ValueStore:
    """What distinct values encode to, kept across the chunks of a job in one process.

    A file's values repeat. Birth dates are a few tens of thousands of days in a few
    spellings: of 44,900 distinct date strings per 100,000 generated records, 1,300-5,100 were
    new from the fourth chunk on, and reading one plus its 30 keyed tokens costs several
    microseconds. Name tokens recur likewise, and each one's Bloom filter costs a few HMACs.
    The store holds both, for one key, schema and reference date (the values depend on all
    three); each part is emptied when it reaches :data:`_VALUE_STORE_LIMIT` entries, so memory
    stays bounded: measured full, 131,072 dates took 49 MiB (38 MiB of values) and 131,072
    token filters at most 46 MiB, per encoding process.
    """

    def __init__(self, ident: tuple[Any, ...]) -> None:
        self.ident = ident
        self.index: dict[str, int] = {}
        self.values = np.zeros((1024, _DATE_WIDTH), dtype=np.int64)
        self.reasons: dict[str, int] = {}
        self.token_blooms: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()

    def date_rows(self, h: Hashers, uniques: Sequence[str], today: dt.date, min_year: int) -> I64:
        """Rows of :attr:`values` holding ``uniques`` (new strings read and tokenised).

        One thread at a time: two encodings in threads of one process share the store, and
        must not both append at the same rows. Read :attr:`values` after this call (it may
        grow), and before another thread's call can empty the store: :func:`_encode_dates`
        gathers its rows at once, under the same lock.
        """
        if len(self.index) + len(uniques) > _VALUE_STORE_LIMIT:
            self.index.clear()
        get = self.index.get
        rows = np.fromiter((get(u, -1) for u in uniques), dtype=np.int64, count=len(uniques))
        new = np.flatnonzero(rows < 0)
        if len(new):
            texts = [uniques[i] for i in new.tolist()]
            values = _date_values(h, [read_date(t, today, min_year) for t in texts],
                                  self.reasons)
            start, end = len(self.index), len(self.index) + len(texts)
            if end > len(self.values):
                grown = np.zeros((max(end, 2 * len(self.values)), _DATE_WIDTH), np.int64)
                grown[:start] = self.values[:start]
                self.values = grown
            self.values[start:end] = values
            self.index.update(zip(texts, range(start, end), strict=True))
            rows[new] = np.arange(start, end, dtype=np.int64)
        return rows


_VALUE_STORE_LIMIT: Final = 1 << 17
_VALUE_STORES: list[_ValueStore] = []


def _value_store(key: KeyLike, schema: Schema, today: dt.date) -> _ValueStore:
    """This process's value store for the key, schema and reference date (new if needed)."""
    ident = (key.fingerprint, schema, today)
    if not _VALUE_STORES or _VALUE_STORES[0].ident != ident:
        _VALUE_STORES[:] = [_ValueStore(ident)]
    store = _VALUE_STORES[0]
    if len(store.token_blooms) > _VALUE_STORE_LIMIT:
        store.token_blooms.clear()
    return store


def _encode_dates(store: _ValueStore, h: Hashers, column: _Column, today: dt.date,
                  min_year: int, issues: _Issues, positions: I64) -> _Dates:
    codes, uniques = column.codes, column.uniques
    with store.lock:
        rows = store.date_rows(h, uniques, today, min_year)
        values = store.values[rows][codes]
    problem = values[:, _DATE_START["problem"]]
    for reason, number in store.reasons.items():
        hit = np.flatnonzero(problem == number)
        if len(hit):
            issues.add(positions[hit], ORDER_DATE, "date_of_birth", reason)

    def column_of(name: str) -> I64:
        start = _DATE_START[name]
        width = _DATE_WIDTHS[name]
        if width == 1:
            return np.ascontiguousarray(values[:, start])
        return np.ascontiguousarray(values[:, start:start + width])

    columns: dict[str, Any] = {c: column_of(c) for c in _DOB_COLUMNS}
    columns["dob_defaulted"] = columns["dob_defaulted"].astype(bool)
    return _Dates(columns=columns, year=column_of("year"), full=columns["dob_full"],
                  ymd=column_of("ymd"))


def _name_block_keys(h: Hashers, names: _Names, year: I64,
                     month_day: I64) -> list[tuple[I64, I64]]:
    """(row, key) arrays of the name blocking keys: n, nn, ny, nmd, vy.

    ``month_day`` is ``32 * month + day`` of a full birth date that is not a default date, -1
    otherwise: with a name key it blocks a year typed or converted wrongly (1943 for 1983).
    """
    rows, kid = names.block_rows, names.block_kid
    order = np.lexsort((kid, rows))  # keys of a record in key-string order
    rows, kid = rows[order], kid[order]
    keys = names.key_strings
    key_tok = h.name.tokens_strings(keys) if keys else np.zeros(0, dtype=np.int64)
    out: list[tuple[I64, I64]] = []
    # n: every single key
    block_n = h.block_n.tokens_ints(key_tok) if keys else np.zeros(0, dtype=np.int64)
    out.append((rows, block_n[kid]))
    # nn: every pair of keys of a record (a < b in key order)
    width = int(np.bincount(rows).max(initial=0))
    pa_rows, pa_a, pa_b = [], [], []
    for gap in range(1, width):
        same = np.flatnonzero(rows[gap:] == rows[:-gap])
        pa_rows.append(rows[same])
        pa_a.append(kid[same])
        pa_b.append(kid[same + gap])
    if pa_rows:
        pr = np.concatenate(pa_rows)
        out.append((pr, _unique_rows_tokens(h.block_nn, [key_tok[np.concatenate(pa_a)],
                                                         key_tok[np.concatenate(pa_b)]])))
    # ny: key with the birth year and the next one
    yr = year[rows]
    dated = yr >= 0
    for shift in (0, 1):
        out.append((rows[dated], _unique_rows_tokens(
            h.block_ny, [key_tok[kid[dated]], yr[dated] + shift])))
    # nmd: key with the day and month of a full, not defaulted birth date
    md = month_day[rows]
    known = md >= 0
    out.append((rows[known], _unique_rows_tokens(h.block_nmd, [key_tok[kid[known]], md[known]])))
    # vy: key up to one deletion, with the birth year
    variant_lists = [key_variants(k) for k in keys]
    variant_of: dict[str, int] = {}
    var_ids = [[variant_of.setdefault(v, len(variant_of)) for v in vs] for vs in variant_lists]
    if variant_of:
        offsets, flat = _ragged(var_ids)
        sel = np.flatnonzero(dated)
        r_idx, vid, _ = _explode(kid[sel], offsets, flat)
        # a variant two keys of a record share is tokenised twice: cheaper than finding the
        # repeats first, and _sorted_lists keeps each key of a record once
        vrows = rows[sel][r_idx]
        var_tok = h.block_variant.tokens_strings(list(variant_of))
        out.append((vrows, _unique_rows_tokens(h.block_vy, [var_tok[vid], year[vrows]])))
    return out


def encode_frame(
    frame: pd.DataFrame,
    key: KeyLike,
    *,
    schema: Schema | None = None,
    source: str = "<dataframe>",
    strict: bool = False,
    job_salt: bytes | None = None,
    today: dt.date | None = None,
    decoys: float = 0.0,
    _digest: bool = True,
    _decoy_start: int = 0,
) -> Encoded:
    """Encode a person table (the columns of the person schema, as text).

    Args:
        frame: the holder's records; absent optional columns count as empty.
        key: the shared linkage key.
        schema: encoding parameters (default :class:`Schema`).
        source: the file name used in reports and errors.
        strict: raise on the first invalid value instead of counting it and treating it as
            missing.
        job_salt: per-job salt of the record pseudonyms (random by default). Pass the salt of an
            earlier job only to reproduce it (tests, or the chunks of one job).
        today: reference date for "date in the future" checks (default: today).
        decoys: decoy records to add per real record (0 to 1; see :mod:`linkmatch.decoys`):
            encoded with the real ones, indistinguishable without the key. The candidates
            must then be screened (:func:`linkmatch.decoys.screen_frame`) before the other
            holder reveals.

    Returns:
        The encoded table, manifest and validation report.

    Raises:
        InputDataError: a row has no ``record_id``, or (``strict``) any value is invalid.
    """
    with gc_paused():
        return _encode_frame(frame, key, schema, source, strict, job_salt, today, decoys,
                             _digest, _decoy_start)


def _encode_frame(
    frame: pd.DataFrame,
    key: KeyLike,
    schema: Schema | None,
    source: str,
    strict: bool,
    job_salt: bytes | None,
    today: dt.date | None,
    decoys: float,
    _digest: bool,
    _decoy_start: int,
) -> Encoded:
    """The body of :func:`encode_frame` (arguments as there)."""
    started = time.perf_counter()
    schema = schema or Schema()
    decoys = check_rate(decoys)
    salt = job_salt if job_salt is not None else secrets.token_bytes(16)
    today = today or dt.date.today()
    store = _value_store(key, schema, today)
    h = Hashers(key, schema, salt, token_blooms=store.token_blooms)
    pre_rejected: list[tuple[int, str]] = list(frame.attrs.get(RAGGED_ROWS, []))
    n = len(frame)
    row_numbers = np.asarray(frame.attrs.get(ROW_NUMBERS, range(1, n + 1)), dtype=np.int64)
    issues = _Issues()

    # every column as codes into its distinct values; values too long for any person field
    # count as missing, a too-long record id loses the row
    cols: dict[str, _Column] = {}
    for order, column in enumerate(TEXT_COLUMNS):
        codes, uniques = column_codes(frame, column)
        too_long = [len(u) > MAX_VALUE_LENGTH for u in uniques]
        if any(too_long):
            issues.add(_rows_with(codes, too_long), order, column,
                       f"longer than {MAX_VALUE_LENGTH} characters; treated as missing")
            uniques = ["" if t else u for u, t in zip(uniques, too_long, strict=True)]
        cols[column] = _Column(codes, uniques)
    codes, uniques = column_codes(frame, "record_id")
    rid_long = np.array([len(u) > MAX_VALUE_LENGTH for u in uniques], dtype=bool)
    rid_clean = np.array(["" if long else clean(u) for u, long in zip(uniques, rid_long,
                                                                       strict=True)],
                         dtype=object)
    rid_empty = ~rid_long & (rid_clean == "")
    issues.add(_rows_with(codes, rid_long.tolist()), ORDER_RECORD_ID, "record_id",
               f"longer than {MAX_VALUE_LENGTH} characters; row skipped")
    issues.add(_rows_with(codes, rid_empty.tolist()), ORDER_RECORD_ID, "record_id",
               "empty record_id; the row cannot be linked")
    rejected_rows = int(rid_long[codes].sum() + rid_empty[codes].sum()) if n else 0
    kept = np.flatnonzero(~(rid_long | rid_empty)[codes]) if n else np.zeros(0, np.int64)
    rid = rid_clean[codes[kept]]
    cols = {c: _Column(v.codes[kept], v.uniques) for c, v in cols.items()}
    m = len(kept)

    # names --------------------------------------------------------------------------------
    names = _encode_names(h, schema, cols["given_names"], cols["family_name"],
                          cols["full_name"])
    any_name = np.zeros(m, dtype=bool)
    for c in ("given_names", "family_name", "full_name"):
        col = cols[c]
        any_name |= np.array([bool(u.strip()) for u in col.uniques], dtype=bool)[col.codes]
    issues.add(kept[(names.count == 0) & any_name], ORDER_NAME, "given_names/family_name",
               "name has no letters after normalisation")
    # dates --------------------------------------------------------------------------------
    dates = _encode_dates(store, h, cols["date_of_birth"], today,
                          schema.min_year, issues, kept)
    # categorical fields -------------------------------------------------------------------
    col = cols["sex"]
    sexes = [norm_sex(u) if u.strip() else "" for u in col.uniques]
    issues.add(kept[_rows_with(col.codes, [x is None for x in sexes])], ORDER_SEX, "sex",
               "not one of M, F, X")
    sex_num = np.array([SEX_NUMBERS.get(x or "", 0) for x in sexes], dtype=np.int64)[col.codes]
    sex_dob = np.zeros(m, dtype=np.int64)
    sel = (sex_num > 0) & (dates.ymd[:, 0] > 0)
    if sel.any():
        sex_dob[sel] = _unique_rows_tokens(h.sex_dob, [sex_num[sel], *dates.ymd[sel].T])
    col = cols["nationality"]
    nats = [norm_nationality(u) if u.strip() else "" for u in col.uniques]
    issues.add(kept[_rows_with(col.codes, [c is None for c in nats])], ORDER_NAT,
               "nationality", "not an ISO 3166-1 alpha-3 code")
    nat = _string_tokens(h.nat, [c or "" for c in nats])[col.codes]
    col = cols["place_of_birth"]
    places = [place_keys(u, schema.max_place_tokens) for u in col.uniques]
    place_vocab = sorted({p for ps in places for p in ps})
    place_tok = dict(zip(place_vocab, _string_tokens(h.pob, place_vocab).tolist(), strict=True))
    pob_u = np.zeros((len(col.uniques), schema.max_place_tokens), dtype=np.int64)
    for i, ps in enumerate(places):
        pob_u[i, :len(ps)] = [place_tok[p] for p in ps]
    pob = pob_u[col.codes]
    col = cols["document_number"]
    docs = [norm_document(u) if u.strip() else "" for u in col.uniques]
    issues.add(kept[_rows_with(col.codes, [bool(u.strip()) and not dn for u, dn in
                                           zip(col.uniques, docs, strict=True)])],
               ORDER_DOC, "document_number", "no letters or digits")
    doc = _string_tokens(h.doc, docs)[col.codes]
    addr = cols["address"]
    address = np.frombuffer(b"".join(h.address_bloom(u) for u in addr.uniques),
                            dtype=np.uint8).reshape(len(addr.uniques), h.name_bytes)[addr.codes]

    # blocking keys ------------------------------------------------------------------------
    full_sel = np.flatnonzero((dates.full != 0) & ~dates.columns["dob_defaulted"])
    month_day = np.full(m, -1, dtype=np.int64)
    month_day[full_sel] = 32 * dates.ymd[full_sel, 1] + dates.ymd[full_sel, 2]
    parts = _name_block_keys(h, names, dates.year, month_day)
    parts.append((full_sel, _unique_rows_tokens(h.block_d, [dates.full[full_sel]])))
    doc_sel = np.flatnonzero(doc != 0)
    parts.append((doc_sel, _unique_rows_tokens(h.block_doc, [doc[doc_sel]])))
    parts.append(_address_block_keys(h, addr.codes, addr.uniques))
    block_offsets, block_flat = _sorted_lists(
        m, np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))

    # report -------------------------------------------------------------------------------
    report = ValidationReport(rows_read=n + len(pre_rejected))
    found = [(row, "*", reason) for row, reason in pre_rejected]
    found += [(int(row_numbers[pos]), column, reason) for pos, column, reason in issues.sorted()]
    if strict and found:
        row, column, reason = found[0]
        raise InputDataError(reason, file=source, row=row, column=column)
    report.rows_rejected = len(pre_rejected) + rejected_rows
    for row, column, reason in found:
        report.add(Issue(source, row, column, reason))

    # table, sorted by pseudonym -------------------------------------------------------------
    macs = h.pseudonym.macs_strings(pa.array(rid.tolist(), type=pa.string())) if m else \
        np.zeros((0, 16), dtype=np.uint8)
    name_bf = names.bloom
    if h.hardener is not None:
        # records without a name keep an empty filter: their missing name is visible from
        # name_keys anyway, and noise in it would only look like a name
        name_bf = np.zeros((m, schema.stored_name_bits // 8), dtype=np.uint8)
        named = np.flatnonzero(names.count > 0)
        salts = dates.year[named] if h.hardener.salted else None  # birth year, -1 if none
        name_bf[named] = h.hardener.apply(names.bloom[named], macs[named], salts)
    columns: dict[str, pa.Array] = {
        "pid": _hex(macs),
        "name_bf": _fixed_binary(name_bf),
        "name_keys": _fixed_list(names.keys),
    }
    for c in _DOB_COLUMNS:
        value = dates.columns[c]
        if c == "dob_defaulted":
            columns[c] = pa.array(value, type=pa.bool_())
        elif value.ndim == 2:
            columns[c] = _fixed_list(value)
        else:
            columns[c] = pa.array(value, type=pa.int64())
    columns["sex_dob"] = pa.array(sex_dob, type=pa.int64())
    columns["nat"] = pa.array(nat, type=pa.int64())
    columns["pob_keys"] = _fixed_list(pob)
    columns["doc"] = pa.array(doc, type=pa.int64())
    columns["block_keys"] = pa.ListArray.from_arrays(pa.array(block_offsets.astype(np.int32)),
                                                     pa.array(block_flat, type=pa.int64()))
    columns["address_bf"] = _fixed_binary(address)
    table = pa.table({c: columns[c] for c in ENCODED_COLUMNS})
    row_order = _pid_order(macs)
    table = table.take(pa.array(row_order, type=pa.int64()))
    persons = _distinct_sorted(macs[row_order])
    decoy_rows = round(decoys * m)
    if decoy_rows:
        # encoded as records of their own; their validation report is dropped: their values
        # are copies of this chunk's values, already reported (and never rejected: valid ids)
        fake = encode_frame(make_decoys(frame.iloc[kept], decoy_rows, key, salt, _decoy_start),
                            key, schema=schema, source=source, job_salt=salt, today=today,
                            _digest=False)
        table = pa.concat_tables([table, fake.table])
        table = table.take(pc.sort_indices(table, sort_keys=[("pid", "ascending")]))
        persons += int(fake.manifest["counts"]["persons"])
        decoy_rows = fake.table.num_rows
    digest = content_digest(table) if _digest else ""
    return Encoded(table=table, manifest=_manifest(key, schema, salt, report, table.num_rows,
                                                   persons, started, digest, decoy_rows),
                   report=report)


ENCODED_COLUMNS: Final = ("pid", "name_bf", "name_keys", *_DOB_COLUMNS[:7], "dob_defaulted",
                          "dob_masks", "dob_digits", "dob_transposed", "dob_alt", "sex_dob",
                          "nat", "pob_keys", "doc", "block_keys", "address_bf")


def _string_tokens(prf: KeyedPRF, values: Sequence[str]) -> I64:
    """Tokens of strings, 0 for the empty string (missing)."""
    if not values:
        return np.zeros(0, dtype=np.int64)
    tok = prf.tokens_strings(list(values))
    tok[np.array([not v for v in values], dtype=bool)] = 0
    return tok


def _address_block_keys(h: Hashers, codes: I64, uniques: Sequence[str]) -> tuple[I64, I64]:
    words_u = [address_words(u) for u in uniques]
    vocab = sorted({w for ws in words_u for w in ws})
    if not vocab:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    wid = {w: i for i, w in enumerate(vocab)}
    wtok = h.block_word.tokens_strings(vocab)
    pairs = [[wid[a] * len(vocab) + wid[b] for i, a in enumerate(ws) for b in ws[i + 1:]]
             for ws in words_u]
    offsets, flat = _ragged(pairs)
    rows, code, _ = _explode(codes, offsets, flat)
    a, b = code // len(vocab), code % len(vocab)
    return rows, _unique_rows_tokens(h.block_aa, [wtok[a], wtok[b]])


_HEX: Final = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex(macs: npt.NDArray[np.uint8]) -> pa.Array:
    """Lower-case hex strings of 16-byte pseudonyms, vectorised."""
    out = np.empty((len(macs), 32), dtype=np.uint8)
    out[:, 0::2] = _HEX[macs >> 4]
    out[:, 1::2] = _HEX[macs & 15]
    binary = pa.array(out.view("S32").ravel(), type=pa.binary(32)) if len(macs) else \
        pa.array([], type=pa.binary(32))
    return binary.cast(pa.binary()).cast(pa.string())


def _distinct_sorted(rows: npt.NDArray[np.uint8]) -> int:
    """Distinct rows of a row-sorted matrix (``np.unique(axis=0)`` sorts again, 5x slower)."""
    if not len(rows):
        return 0
    return 1 + int(np.any(rows[1:] != rows[:-1], axis=1).sum())


def _pid_order(macs: npt.NDArray[np.uint8]) -> I64:
    """Row order by pseudonym (the order of its hex string)."""
    if not len(macs):
        return np.zeros(0, dtype=np.int64)
    be = np.ascontiguousarray(macs).view(">u8").reshape(len(macs), 2).astype(np.uint64)
    return np.lexsort((be[:, 1], be[:, 0])).astype(np.int64)


def _fixed_binary(mat: npt.NDArray[np.uint8]) -> pa.Array:
    width = mat.shape[1]
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(mat), [None, pa.py_buffer(np.ascontiguousarray(mat).tobytes())])


def _fixed_list(mat: npt.NDArray[np.int64]) -> pa.FixedSizeListArray:
    width = mat.shape[1]
    return pa.FixedSizeListArray.from_arrays(
        pa.array(np.ascontiguousarray(mat, dtype=np.int64).reshape(-1), type=pa.int64()), width)


def _manifest(key: KeyLike, schema: Schema, salt: bytes, report: ValidationReport, rows: int,
              persons: int, started: float, digest: str, decoy_rows: int = 0) -> dict[str, Any]:
    """The manifest of an encoded table (with its content digest and keyed MAC)."""
    manifest: dict[str, Any] = {
        "format": ENCODED_FORMAT,
        "library_version": __version__,
        "schema": schema.to_dict(),
        "schema_fingerprint": schema.fingerprint,
        "key_fingerprint": key.fingerprint,
        "key_id": key.key_id,
        "job_salt": salt.hex(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "counts": {
            "rows_read": report.rows_read,
            "rows_encoded": rows,
            "rows_rejected": report.rows_rejected,
            "persons": persons,
            "invalid_values": report.total_issues - report.rows_rejected,
        },
        "seconds": round(time.perf_counter() - started, 3),
        "content_sha256": digest,
    }
    if decoy_rows:
        # public: how many rows are decoys (which ones only the key tells); rows_encoded
        # counts them, rows_read does not
        manifest["counts"]["decoy_rows"] = decoy_rows
    if digest:  # a chunk's working manifest (no digest) is never published: no MAC
        # the decoy count, keyed and bound to the content, for the other holder to check
        manifest["decoy_mac"] = decoy_count_mac(key, digest, decoy_rows)
        manifest["manifest_mac"] = manifest_mac(key, manifest)
    return manifest


def finish(table: pa.Table, key: Key, schema: Schema, salt: bytes, report: ValidationReport,
           persons: int, started: float) -> Encoded:
    """An :class:`Encoded` of a whole table: manifest with content digest and keyed MAC."""
    return Encoded(table=table, manifest=_manifest(key, schema, salt, report, table.num_rows,
                                                   persons, started, content_digest(table)),
                   report=report)


# ------------------------------------------------------------------------------- whole files

DEFAULT_CHUNK_ROWS: Final = 200_000
"""Input rows encoded at a time by :func:`encode_file` (memory is bounded by a few chunks)."""
ROW_GROUP_ROWS: Final = 65_536
"""Rows per Parquet row group of an encoded file: the unit the matcher streams."""
_BUCKETS: Final = 64
_BUCKET_BOUNDS: Final = [f"{i * (256 // _BUCKETS):02x}" for i in range(1, _BUCKETS)]
"""Where buckets 1, 2 ... start, as pseudonym prefixes."""
_HEX_VALUE: Final = np.zeros(256, dtype=np.int64)
_HEX_VALUE[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16)


def _bucket_cuts(pids: pa.ChunkedArray) -> list[int]:
    """Where each bucket starts in a chunk's sorted pseudonyms, and the end (``_BUCKETS + 1``
    numbers): bucket ``b`` holds the pseudonyms whose first byte is in ``[4b, 4b + 4)``.

    Read from the first two hex digits in the strings' buffer, without making a Python string
    of each pseudonym (which cost 0.1 s per 100,000 rows in the process feeding the workers).
    """
    array = pids.combine_chunks()
    if not len(array):
        return [0] * (_BUCKETS + 1)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[
        array.offset:array.offset + len(array)]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    first_byte = _HEX_VALUE[data[offsets]] * 16 + _HEX_VALUE[data[offsets + 1]]
    bounds = np.arange(_BUCKETS + 1, dtype=np.int64) * (256 // _BUCKETS)
    return np.searchsorted(first_byte, bounds).tolist()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class EncodeSummary:
    """What :func:`encode_file` wrote: the manifest (as in the file) and the validation report."""

    manifest: dict[str, Any]
    report: ValidationReport


def encode_file(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    key: Key,
    *,
    schema: Schema | None = None,
    strict: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    job_salt: bytes | None = None,
    today: dt.date | None = None,
    decoys: float = 0.0,
    progress: Callable[[int, float], None] | None = None,
    workers: int | None = None,
    signing_key: SigningKey | None = None,
) -> EncodeSummary:
    """Encode a person file (CSV or Parquet) of any size into an encoded file, streaming.

    The input is read ``chunk_rows`` rows at a time and each chunk encoded as by
    :func:`encode_frame` with the job's one salt. Rows must end up sorted by pseudonym over
    the whole file (input order may leak, e.g. alphabetical), so each chunk's rows go to a
    private file in 64 buckets by pseudonym prefix, and the buckets are then gathered from
    every chunk's file, sorted and written in order: memory holds a few chunks or two buckets
    (about 1/32 of the file), never the file. The output is written atomically; the private
    files are removed whatever happens.

    Args:
        source: the person file.
        out: the encoded file to write.
        key, schema, strict, job_salt, today, decoys: as for :func:`encode_frame` (decoys
            are drawn chunk by chunk, from each chunk's rows).
        chunk_rows: input rows per chunk.
        progress: called after each chunk with the number of input rows read so far and the
            share of the input read (0–1, for an ETA).
        workers: encoding processes (default: one per core; one with decoys; a file of one
            chunk is encoded in this process). The output is the same for any number.
        signing_key: the holder's Ed25519 key: the manifest is signed with it, so that a
            linkage unit that trusts the holder's public key can tell its files from others.

    Raises:
        InputDataError: the input cannot be used, or (``strict``) a value is invalid.
    """
    started = time.perf_counter()
    schema = schema or Schema()
    salt = job_salt if job_salt is not None else secrets.token_bytes(16)
    today = today or dt.date.today()
    label = str(source)
    report = ValidationReport()
    target = Path(out)
    remove_stale_work(target)
    work = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(6)}.buckets")
    rows_read = decoy_rows = chunks = 0
    decoys = check_rate(decoys)
    try:
        work.mkdir(mode=0o700, parents=True)
        schema_arrow: pa.Schema | None = None
        # decoys are numbered across the file, so chunks with decoys are encoded in order
        workers = 1 if decoys else (workers or default_workers())
        _ENCODER.update(key=key, schema=schema, source=label, strict=strict, salt=salt,
                        today=today, work=work)
        for chunk, spilled in _encoded_chunks(source, chunk_rows, workers, decoys):
            decoy_rows += spilled.decoy_rows
            report.merge(spilled.report)
            rows_read += len(chunk) + len(chunk.attrs.get(RAGGED_ROWS, []))
            schema_arrow = spilled.schema
            chunks += 1
            if progress is not None:
                progress(rows_read, float(chunk.attrs.get(FRACTION_READ, 0.0)))
        assert schema_arrow is not None  # iter_person_chunks yields at least one chunk
        # bucket by bucket, in order: gathered from every chunk's file (in input order, so
        # that the stable sort keeps rows of one pseudonym in input order whatever the
        # number of workers), sorted and digested on a thread while this one writes the
        # bucket before (Arrow's reading, sorting and Parquet writing and hashlib's hashing
        # release the GIL). The manifest, which holds the digest, goes in the footer once
        # every row is written.
        buckets = _Buckets(work, chunks, schema_arrow)
        with ThreadPoolExecutor(max_workers=1) as ahead, atomic_path(target) as tmp, \
                pq.ParquetWriter(tmp, schema_arrow, compression="zstd") as writer:
            pending = ahead.submit(buckets.sorted, 0)
            for b in range(_BUCKETS):
                part = pending.result()
                if b + 1 < _BUCKETS:  # one thread: the buckets are digested in order
                    pending = ahead.submit(buckets.sorted, b + 1)
                if part.num_rows:
                    writer.write_table(part, row_group_size=ROW_GROUP_ROWS)
            rows, persons, digest = buckets.rows, buckets.persons, buckets.digest
            if rows == 0:
                writer.write_table(schema_arrow.empty_table())
            manifest = _manifest(key, schema, salt, report, rows, persons, started,
                                 digest.hexdigest(), decoy_rows)
            if signing_key is not None:
                manifest = sign_manifest(manifest, signing_key)
            writer.add_key_value_metadata(_footer_metadata(schema_arrow, manifest))
    finally:
        _ENCODER.clear()
        shutil.rmtree(work, ignore_errors=True)
    return EncodeSummary(manifest=manifest, report=report)


def remove_stale_work(target: Path) -> list[Path]:
    """Remove the bucket folders that killed runs writing ``target`` left behind.

    :func:`encode_file` works in ``.OUT.<pid>-<random>.buckets`` beside its output and removes
    it when it ends, but a SIGKILL leaves it (pseudonymous rows of the whole input, however
    private its mode). The folders of processes that no longer run are removed here, at the
    next run writing the same output, as the match spill does.

    Returns:
        The folders removed.
    """
    removed = []
    for old in target.parent.glob(f".{glob.escape(target.name)}.*.buckets"):
        pid = old.name[len(target.name) + 2:].split("-", 1)[0]
        if pid.isdigit() and old.is_dir() and not process_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    return removed


def _footer_metadata(schema: pa.Schema, manifest: dict[str, Any]) -> dict[bytes, bytes]:
    """The manifest for a Parquet footer written after the rows, as the writer would have
    stored it had it been known when the file was opened.

    Parquet readers find it in the footer's key-value metadata (as :func:`read_manifest`
    does); Arrow readers restore a table's schema, metadata included, from the Arrow schema
    the writer stores in the footer (``ARROW:schema``: the schema as an Arrow IPC message,
    base64), which was written at opening, without the manifest. It is replaced by the
    schema with the manifest, so that a file read and written again by pyarrow keeps its
    manifest, as a file written in one go does.
    """
    text = json.dumps(manifest, sort_keys=True).encode()
    return {b"ARROW:schema": base64.b64encode(
                schema.with_metadata({MANIFEST_KEY: text}).serialize().to_pybytes()),
            MANIFEST_KEY: text}


_ENCODER: dict[str, Any] = {}
"""The job of :func:`encode_file`'s worker processes: set before they are forked, so that
they share it (the key included) copy-on-write and nothing secret crosses a pipe."""


@dataclass(frozen=True)
class _Spilled:
    """What the job keeps of a chunk once its encoded rows are in the chunk's private file."""

    schema: pa.Schema
    decoy_rows: int
    report: ValidationReport


def _spill_path(work: Path, index: int) -> Path:
    return work / f"{index:08d}.arrow"


def _spill(enc: Encoded, path: Path) -> _Spilled:
    """Write a chunk's encoded rows to a private Arrow IPC file, one record batch per bucket.

    The rows are already sorted by pseudonym, so bucket ``b`` is one slice and is written as
    record batch ``b`` (empty if the chunk has no row in it): the last phase reads one bucket
    of every chunk without reading the rest. Written by the worker that encoded the chunk, so
    the rows never cross a pipe (at 1,000,000 rows that was 0.1-0.3 s per chunk of pickling
    in the process that feeds the workers, which holds the job back).
    """
    table = enc.table.combine_chunks()
    cuts = _bucket_cuts(table.column("pid"))
    whole = (table.to_batches() or [pa.record_batch(
        [pa.array([], type=f.type) for f in table.schema], schema=table.schema)])[0]
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        for b in range(_BUCKETS):
            writer.write_batch(whole.slice(cuts[b], cuts[b + 1] - cuts[b]))
    return _Spilled(schema=table.schema,
                    decoy_rows=int(enc.manifest["counts"].get("decoy_rows", 0)),
                    report=enc.report)


class _Buckets:
    """The buckets of the chunks' private files, taken in order, by one thread at a time.

    A chunk's file is opened for each bucket and closed again, so that the files open at once
    do not grow with the input (100 chunks at 10,000,000 rows).
    """

    def __init__(self, work: Path, chunks: int, schema: pa.Schema) -> None:
        self._paths = [_spill_path(work, i) for i in range(chunks)]
        self._schema = schema
        self.digest = ContentDigest()
        self.rows = self.persons = 0

    def sorted(self, bucket: int) -> pa.Table:
        """Bucket ``bucket`` of every chunk, in input order, stably sorted by pseudonym; added
        to the digest and counts (so buckets must be taken in order)."""
        batches = []
        for path in self._paths:
            with pa.OSFile(str(path), "rb") as source:  # read into memory, not mapped
                batches.append(pa.ipc.open_file(source).get_batch(bucket))
        part = pa.Table.from_batches(batches, schema=self._schema)
        part = part.take(pc.sort_indices(part, sort_keys=[("pid", "ascending")]))
        if part.num_rows:
            self.persons += int(pc.count_distinct(part.column("pid")).as_py())
            self.rows += part.num_rows
            self.digest.update(part)
        return part


def _encode_chunk(index: int, chunk: pd.DataFrame) -> _Spilled:
    """Chunk ``index`` encoded as part of the job in :data:`_ENCODER` and spilled to its file
    (in a worker process)."""
    job = _ENCODER
    enc = encode_frame(chunk, job["key"], schema=job["schema"], source=job["source"],
                       strict=job["strict"], job_salt=job["salt"], today=job["today"],
                       _digest=False)
    return _spill(enc, _spill_path(job["work"], index))


def _encoded_chunks(source: str | os.PathLike[str], chunk_rows: int, workers: int,
                    decoys: float) -> Iterator[tuple[pd.DataFrame, _Spilled]]:
    """The input's chunks, in input order, each once its encoding is spilled to the file
    numbered by its position.

    With ``workers`` > 1 the chunks (of ``chunk_rows // workers`` rows, so that the rows in
    flight stay about ``chunk_rows``) are encoded by forked worker processes, at most
    ``workers`` at a time: memory stays bounded, and results (and the first error in strict
    mode) come back in input order, so the file and its report are the sequential ones.
    """
    job = _ENCODER
    if workers <= 1:
        numbered = 0  # decoys so far: the next chunk's decoys continue the numbering
        for index, chunk in enumerate(iter_person_chunks(source, chunk_rows=chunk_rows)):
            enc = encode_frame(
                chunk, job["key"], schema=job["schema"], source=job["source"],
                strict=job["strict"], job_salt=job["salt"], today=job["today"], decoys=decoys,
                _digest=False, _decoy_start=numbered)
            spilled = _spill(enc, _spill_path(job["work"], index))
            numbered += spilled.decoy_rows
            yield chunk, spilled
        return
    import multiprocessing
    from collections import deque

    # (the chunks are brought to the person columns here, not in the workers: raw chunks, one
    # string object per cell, took 100 MB more at 1,000,000 rows)
    chunks = iter_person_chunks(source, chunk_rows=max(1, chunk_rows // workers))
    first = next(chunks)  # there is always one, if only the header's
    second = next(chunks, None)
    if second is None:
        # a single chunk is encoded here: one worker would take it alone, and first load the
        # name dictionaries and compiled kernels, which this process then keeps (and a
        # match's workers, forked from it, inherit). A 2,000-row link through the CLI took
        # 4.8 s with a worker per side, 4.0 s without.
        yield first, _encode_chunk(0, first)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        pending: deque[tuple[pd.DataFrame, Any]] = deque()
        for index, chunk in enumerate(itertools.chain((first, second), chunks)):
            pending.append((chunk, pool.apply_async(_encode_chunk, (index, chunk))))
            if len(pending) >= workers:
                done, result = pending.popleft()
                yield done, result.get()
        while pending:
            done, result = pending.popleft()
            yield done, result.get()


def manifest_mac(key: KeyLike, manifest: dict[str, Any]) -> str:
    """Keyed MAC of a manifest (all fields but the MAC itself, canonical JSON).

    Holders can check with the key that neither the manifest nor, through its content digest,
    the encoded rows were changed by anyone without the key. A holder's signature
    (:mod:`linkmatch.pseudonymise.signing`) is added after the MAC, over it, and is left out.
    """
    body = {k: v for k, v in manifest.items() if k not in ("manifest_mac", "signature")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.digest(key.derive("manifest-mac"), canonical, "sha256").hex()


def pseudonym_hex(key: Key, salt_hex: str, record_id: str) -> str:
    """The pseudonym (hex) of ``record_id`` in the job with salt ``salt_hex`` (used by reveal)."""
    prf = KeyedPRF(job_pseudonym_key(key, bytes.fromhex(salt_hex)))
    return prf.mac(clean(record_id).encode("utf-8")).hex()


def pseudonyms_hex(key: Key, salt_hex: str, record_ids: Iterable[str]) -> list[str]:
    """Pseudonyms of many record ids at once (the batch form of :func:`pseudonym_hex`)."""
    prf = KeyedPRF(job_pseudonym_key(key, bytes.fromhex(salt_hex)))
    ids = [clean(r) for r in record_ids]
    if not ids:
        return []
    return [str(v) for v in _hex(prf.macs_strings(pa.array(ids, type=pa.string()))).to_pylist()]
