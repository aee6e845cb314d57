"""Holder side: turn person records into pseudonymous encodings (read → normalise → pseudonymise).

Nothing in the output is a plain value: every column is a keyed token (HMAC-SHA256 under a
purpose-specific HKDF sub-key, see :mod:`linkmatch.pseudonymise`), a keyed Bloom filter, or a flag.
Rows are sorted by pseudonym so that the input order (often alphabetical or by date) does not leak.

What each column lets the linkage unit compare, and why it is shaped that way:

``pid``
    Record pseudonym, HMAC(record_id) salted with a random per-job salt: the same person gets
    unrelated pseudonyms in two jobs, so runs cannot be joined. Rows sharing a ``record_id``
    (aliases) share the pseudonym, which lets the unit report one row per person pair.
``name_bf``
    One Bloom filter of *all* name tokens of the record (given, family, full), each token entered
    twice: q-grams of its folded spelling and q-grams of its variant key (consonant skeleton).
    Order-free, so given/family swaps still match; the variant-key grams make transliterations
    overlap (Youssef/Yusuf/يوسف).
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
    Keyed blocking keys (a separate sub-key): single name keys, pairs of name keys, name key with
    birth year, the full date, the document number.
"""

from __future__ import annotations

import datetime as dt
import hmac
import itertools
import json
import re
import secrets
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
from anyascii import anyascii

from linkmatch._version import __version__
from linkmatch.errors import InputDataError
from linkmatch.io import (
    ENCODED_FORMAT,
    RAGGED_ROWS,
    ROW_NUMBERS,
    Issue,
    ValidationReport,
    content_digest,
    normalise_columns,
)
from linkmatch.normalise.dates import BirthDate, DateParseError, alternative_readings, parse_date
from linkmatch.normalise.names import fold, name_tokens, variant_key
from linkmatch.pseudonymise.bloom import BloomEncoder, qgrams
from linkmatch.pseudonymise.keys import Key
from linkmatch.pseudonymise.tokens import TokenHasher
from linkmatch.schema import Schema

__all__ = ["Encoded", "encode_frame"]

NUM_DATE_MASKS: Final = 8
MIN_VARIANT_KEY_LENGTH: Final = 4
"""Shorter name keys get no typo neighbourhood in blocking: it would match too many names."""
MAX_VALUE_LENGTH: Final = 1000
"""Longer values are garbage for any person field (a pasted document, a binary blob): they are
rejected and counted rather than hashed."""
_TEXT_COLUMNS: Final = ("given_names", "family_name", "full_name", "date_of_birth", "sex",
                        "nationality", "place_of_birth", "document_number", "address")
NUM_ALT_DATES: Final = 2
_SEX_CODES: Final = {
    "M": "M", "MALE": "M", "MAN": "M", "F": "F", "FEMALE": "F", "WOMAN": "F",
    "V": "F", "VROUW": "F", "X": "X", "U": "", "UNKNOWN": "", "ONBEKEND": "",
}
_NAT_RE: Final = re.compile(r"[A-Z]{3}")
_DOC_STRIP: Final = re.compile(r"[^0-9A-Z]")


@dataclass(frozen=True)
class Encoded:
    """An encoded file in memory: the pseudonymous table, its manifest and the validation report."""

    table: pa.Table
    manifest: dict[str, Any]
    report: ValidationReport


class _Hashers:
    """All keyed primitives of one job, each under its own HKDF label."""

    def __init__(self, key: Key, schema: Schema) -> None:
        self.pseudonym_key = key.derive("pseudonym")
        self.name_text = BloomEncoder(key.derive("bloom/name/text"), num_bits=schema.name_bits,
                                      num_hashes=schema.name_hashes_text)
        self.name_key = BloomEncoder(key.derive("bloom/name/key"), num_bits=schema.name_bits,
                                     num_hashes=schema.name_hashes_key)
        self.name = TokenHasher(key.derive("token/name"))
        self.dob = TokenHasher(key.derive("token/dob"))
        self.sex_dob = TokenHasher(key.derive("token/sex-dob"))
        self.nat = TokenHasher(key.derive("token/nationality"))
        self.pob = TokenHasher(key.derive("token/place-of-birth"))
        self.doc = TokenHasher(key.derive("token/document"))
        self.block = TokenHasher(key.derive("block"))
        self.address = BloomEncoder(key.derive("bloom/address"), num_bits=schema.name_bits,
                                    num_hashes=schema.name_hashes_text)
        self.address_cache: dict[str, bytes] = {}
        self.qgram = schema.qgram
        self.max_name_tokens = schema.max_name_tokens
        self.token_bloom_cache: dict[tuple[str, str], int] = {}

    def token_bloom(self, text: str, key: str) -> int:
        cached = self.token_bloom_cache.get((text, key))
        if cached is None:
            cached = self.name_text.encode(qgrams(text, self.qgram)) | self.name_key.encode(
                qgrams(key, self.qgram)
            )
            self.token_bloom_cache[(text, key)] = cached
        return cached


def _clean(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


@lru_cache(maxsize=65536)
def _norm_sex(value: str) -> str | None:
    """"M"/"F"/"X", "" for unknown, None for an invalid code."""
    return _SEX_CODES.get(_clean(value).upper().rstrip("."))


@lru_cache(maxsize=4096)
def _norm_nationality(value: str) -> str | None:
    code = _clean(value).upper()
    return code if _NAT_RE.fullmatch(code) else None


def _norm_document(value: str) -> str:
    return _DOC_STRIP.sub("", _clean(value).upper())


class _DateTokens:
    __slots__ = ("alt", "defaulted", "digits", "full", "masks", "sex_parts", "swap", "transposed",
                 "y0", "y1", "y2", "ym", "yp1")

    def __init__(self) -> None:
        self.full = self.swap = self.yp1 = self.ym = self.y0 = self.y1 = self.y2 = 0
        self.defaulted = False
        self.masks: list[int] = [0] * NUM_DATE_MASKS
        self.digits = 0
        self.transposed: list[int] = [0] * (NUM_DATE_MASKS - 1)
        self.alt: list[int] = [0] * NUM_ALT_DATES
        self.sex_parts: tuple[int, int, int] | None = None


def _raw_digits(text: str) -> str | None:
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


def _digit_tokens(h: _Hashers, out: _DateTokens, digits: str) -> None:
    """Tokens of the digit string, of it with each digit masked, and with adjacent digits
    swapped: enough for "one digit off" and "two digits transposed" without plain dates."""
    out.masks = [h.dob.token("mask", i, digits[:i] + "*" + digits[i + 1 :])
                 for i in range(NUM_DATE_MASKS)]
    out.digits = h.dob.token("digits", digits)
    out.transposed = [
        h.dob.token("digits", digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :])
        if digits[i] != digits[i + 1] else 0
        for i in range(NUM_DATE_MASKS - 1)
    ]


def _date_tokens(h: _Hashers, date: BirthDate | None, alts: Sequence[BirthDate],
                 raw_digits: str | None = None) -> _DateTokens:
    out = _DateTokens()
    if date is None and raw_digits is not None:
        _digit_tokens(h, out, raw_digits)
    if date is not None:
        y, m, d = date.year, date.month, date.day
        out.defaulted = date.defaulted
        out.y0, out.y1, out.y2 = (h.dob.token("y", y + k) for k in range(3))
        if m is not None:
            out.ym = h.dob.token("ym", y, m)
        if m is not None and d is not None:
            out.full = h.dob.token("ymd", y, m, d)
            out.yp1 = h.dob.token("ymd", y + 1, m, d)
            if d <= 12 and d != m:
                out.swap = h.dob.token("ymd", y, d, m)
            _digit_tokens(h, out, f"{y:04d}{m:02d}{d:02d}")
            out.sex_parts = (y, m, d)
    for i, alt in enumerate(alts[:NUM_ALT_DATES]):
        if alt.month is not None and alt.day is not None:
            out.alt[i] = h.dob.token("ymd", alt.year, alt.month, alt.day)
    return out


_ADDRESS_SPLIT: Final = re.compile(r"[^0-9a-z]+")


def _address_bloom(h: _Hashers, text: str) -> bytes:
    """Keyed Bloom filter of an address's tokens (q-grams of each folded word or number).

    Order-free and tolerant of typos; empty filter (all zero bits) for a missing address.
    """
    cached = h.address_cache.get(text)
    if cached is None:
        folded = anyascii(unicodedata.normalize("NFKC", text)).casefold()
        grams = [g for word in _ADDRESS_SPLIT.split(folded) if word
                 for g in qgrams(word, h.qgram)]
        cached = h.address.to_bytes(h.address.encode(grams))
        if len(h.address_cache) < 1_000_000:
            h.address_cache[text] = cached
    return cached


def _name_block_keys(h: _Hashers, name_keys: Sequence[str], year: int | None,
                     cache: dict[tuple[tuple[str, ...], int | None], list[int]]) -> list[int]:
    """Blocking keys from the name (and birth year): memoised, names and years repeat."""
    lookup = (tuple(name_keys), year)
    cached = cache.get(lookup)
    if cached is None:
        distinct = sorted(set(name_keys))
        cached = [h.block.token("n", k) for k in distinct]
        cached.extend(h.block.token("nn", a, b) for a, b in itertools.combinations(distinct, 2))
        if year is not None:
            # a name key with the birth year or the next one: records one year apart share one
            cached.extend(h.block.token("ny", k, y) for k in distinct for y in (year, year + 1))
            # a name key up to one typo (its one-deletion neighbourhood) with the birth year
            variants = {v for k in distinct if len(k) >= MIN_VARIANT_KEY_LENGTH
                        for v in (k, *(k[:i] + k[i + 1:] for i in range(len(k))))}
            cached.extend(h.block.token("vy", v, year) for v in sorted(variants))
        cache[lookup] = cached
    return cached


def _block_keys(h: _Hashers, name_keys: Sequence[str], dates: _DateTokens,
                year: int | None, doc: str,
                cache: dict[tuple[tuple[str, ...], int | None], list[int]],
                address: str = "") -> list[int]:
    keys = list(_name_block_keys(h, name_keys, year, cache))
    if dates.full and not dates.defaulted:
        keys.append(h.block.token("d", dates.full))
    if doc:
        keys.append(h.block.token("doc", doc))
    keys.extend(_address_block_keys(h, address))
    return keys


def _address_block_keys(h: _Hashers, text: str) -> list[int]:
    """Pairs of address words (street and locality, say): records whose names and dates are
    both corrupted still meet when they share an address. Single words are too common."""
    if not text.strip():
        return []
    folded = anyascii(unicodedata.normalize("NFKC", text)).casefold()
    words = sorted({w for w in _ADDRESS_SPLIT.split(folded) if len(w) >= 3})[:8]
    return [h.block.token("aa", a, b) for a, b in itertools.combinations(words, 2)]


def encode_frame(
    frame: pd.DataFrame,
    key: Key,
    *,
    schema: Schema | None = None,
    source: str = "<dataframe>",
    strict: bool = False,
    job_salt: bytes | None = None,
    today: dt.date | None = None,
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
            earlier job only to reproduce it (tests).
        today: reference date for "date in the future" checks (default: today).

    Returns:
        The encoded table, manifest and validation report.

    Raises:
        InputDataError: a row has no ``record_id``, or (``strict``) any value is invalid.
    """
    started = time.perf_counter()
    schema = schema or Schema()
    salt = job_salt if job_salt is not None else secrets.token_bytes(16)
    data = normalise_columns(frame)
    h = _Hashers(key, schema)
    pre_rejected: list[tuple[int, str]] = list(frame.attrs.get(RAGGED_ROWS, []))
    row_numbers: list[int] = list(frame.attrs.get(ROW_NUMBERS, range(1, len(data) + 1)))
    report = ValidationReport(rows_read=len(data) + len(pre_rejected))

    def reject(row: int, column: str, reason: str) -> None:
        if strict:
            raise InputDataError(reason, file=source, row=row, column=column)
        report.add(Issue(source, row, column, reason))

    for row, reason in pre_rejected:
        report.rows_rejected += 1
        reject(row, "*", reason)

    name_cache: dict[tuple[str, str, str], tuple[int, tuple[int, ...], tuple[str, ...]]] = {}
    date_cache: dict[str, tuple[BirthDate | None, tuple[BirthDate, ...], str | None,
                                str | None]] = {}
    today = today or dt.date.today()
    token_cache: dict[str, _DateTokens] = {}  # shared, never mutated after creation
    block_cache: dict[tuple[tuple[str, ...], int | None], list[int]] = {}

    pids: list[bytes] = []
    blooms: list[bytes] = []
    name_cols: list[tuple[int, ...]] = []
    dob_rows: list[_DateTokens] = []
    sex_dob: list[int] = []
    nat: list[int] = []
    pob: list[list[int]] = []
    doc: list[int] = []
    addresses: list[bytes] = []
    blocks: list[list[int]] = []
    ntok = schema.max_name_tokens

    cols = [data[c].tolist() for c in data.columns]
    for row, rid, given, family, full, dob_text, sex_text, nat_text, pob_text, doc_text, \
            addr_text in zip(row_numbers, *cols, strict=True):
        values = (given, family, full, dob_text, sex_text, nat_text, pob_text, doc_text, addr_text)
        too_long = [c for c, v in zip(_TEXT_COLUMNS, values, strict=True)
                    if len(v) > MAX_VALUE_LENGTH]
        for column in too_long:
            reject(row, column, f"longer than {MAX_VALUE_LENGTH} characters; treated as missing")
        if too_long:
            given, family, full, dob_text, sex_text, nat_text, pob_text, doc_text, addr_text = (
                "" if len(v) > MAX_VALUE_LENGTH else v for v in values)
        if len(rid) > MAX_VALUE_LENGTH:
            report.rows_rejected += 1
            reject(row, "record_id", f"longer than {MAX_VALUE_LENGTH} characters; row skipped")
            continue
        rid = _clean(rid)
        if not rid:
            report.rows_rejected += 1
            reject(row, "record_id", "empty record_id; the row cannot be linked")
            continue
        # names ------------------------------------------------------------------------------
        nkey = (given, family, full)
        cached_name = name_cache.get(nkey)
        if cached_name is None:
            tokens = [t for t in name_tokens(given, family, full) if t.kind == "name"]
            bloom = 0
            for t in tokens:
                bloom |= h.token_bloom(t.text, t.key)
            keys_str = tuple(dict.fromkeys(t.key for t in tokens))
            key_toks = tuple(h.name.token(k) for k in keys_str[:ntok])
            cached_name = (bloom, key_toks + (0,) * (ntok - len(key_toks)), keys_str)
            name_cache[nkey] = cached_name
        bloom, key_toks, keys_str = cached_name
        if not keys_str and (given.strip() or family.strip() or full.strip()):
            reject(row, "given_names/family_name", "name has no letters after normalisation")
        # date of birth ----------------------------------------------------------------------
        cached_date = date_cache.get(dob_text)
        if cached_date is None:
            try:
                cached_date = (parse_date(dob_text, today=today, min_year=schema.min_year), (),
                               None, None)
            except DateParseError as exc:
                alts = alternative_readings(dob_text)
                reason = str(exc)
                if alts:
                    reason += " (kept only as a possible Ethiopian or Solar Hijri date)"
                cached_date = (None, alts, reason, _raw_digits(dob_text))
            date_cache[dob_text] = cached_date
        date, alts, date_problem, raw_digits = cached_date
        if date_problem is not None:
            reject(row, "date_of_birth", date_problem)
        dtoks = token_cache.get(dob_text)
        if dtoks is None:
            dtoks = _date_tokens(h, date, alts, raw_digits)
            token_cache[dob_text] = dtoks
        # categorical fields -----------------------------------------------------------------
        sex = _norm_sex(sex_text) if sex_text.strip() else ""
        if sex is None:
            reject(row, "sex", "not one of M, F, X")
            sex = ""
        sex_dob.append(h.sex_dob.token(sex, *dtoks.sex_parts) if sex and dtoks.sex_parts else 0)
        natc = _norm_nationality(nat_text) if nat_text.strip() else ""
        if natc is None:
            reject(row, "nationality", "not an ISO 3166-1 alpha-3 code")
            natc = ""
        nat.append(h.nat.token(natc) if natc else 0)
        place = [variant_key(t) for t in fold(pob_text).split()][: schema.max_place_tokens] \
            if pob_text.strip() else []
        ptoks = [h.pob.token(p) for p in dict.fromkeys(p for p in place if p)]
        pob.append(ptoks + [0] * (schema.max_place_tokens - len(ptoks)))
        docn = _norm_document(doc_text) if doc_text.strip() else ""
        if doc_text.strip() and not docn:
            reject(row, "document_number", "no letters or digits")
        doc.append(h.doc.token(docn) if docn else 0)
        addresses.append(_address_bloom(h, addr_text))
        # pseudonym and blocking ---------------------------------------------------------------
        pids.append(_pseudonym(h.pseudonym_key, salt, rid))
        blooms.append(h.name_text.to_bytes(bloom))
        name_cols.append(key_toks)
        dob_rows.append(dtoks)
        blocks.append(_block_keys(h, keys_str, dtoks, date.year if date else None, docn,
                                  block_cache, addr_text))

    table = _to_arrow(pids, blooms, name_cols, dob_rows, sex_dob, nat, pob, doc, blocks, schema)
    table = table.append_column("address_bf",
                                pa.array(addresses, type=pa.binary(schema.name_bits // 8)))
    order = np.argsort(np.asarray(table.column("pid").to_pylist(), dtype=object), kind="stable")
    table = table.take(pa.array(order, type=pa.int64()))
    persons = len(set(pids))
    manifest = {
        "format": ENCODED_FORMAT,
        "library_version": __version__,
        "schema": schema.to_dict(),
        "schema_fingerprint": schema.fingerprint,
        "key_fingerprint": key.fingerprint,
        "job_salt": salt.hex(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "counts": {
            "rows_read": report.rows_read,
            "rows_encoded": len(pids),
            "rows_rejected": report.rows_rejected,
            "persons": persons,
            "invalid_values": report.total_issues - report.rows_rejected,
        },
        "seconds": round(time.perf_counter() - started, 3),
        "content_sha256": content_digest(table),
    }
    manifest["manifest_mac"] = manifest_mac(key, manifest)
    return Encoded(table=table, manifest=manifest, report=report)


def manifest_mac(key: Key, manifest: dict[str, Any]) -> str:
    """Keyed MAC of a manifest (all fields but the MAC itself, canonical JSON).

    Holders can check with the key that neither the manifest nor, through its content digest,
    the encoded rows were changed by anyone without the key.
    """
    body = {k: v for k, v in manifest.items() if k != "manifest_mac"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.digest(key.derive("manifest-mac"), canonical, "sha256").hex()


def _pseudonym(key: bytes, salt: bytes, record_id: str) -> bytes:
    return hmac.digest(key, salt + record_id.encode("utf-8"), "sha256")[:16]


def pseudonym_hex(key: Key, salt_hex: str, record_id: str) -> str:
    """The pseudonym (hex) of ``record_id`` in the job with salt ``salt_hex`` (used by reveal)."""
    return _pseudonym(key.derive("pseudonym"), bytes.fromhex(salt_hex), _clean(record_id)).hex()


def _fixed_list(rows: Sequence[Sequence[int]], width: int) -> pa.FixedSizeListArray:
    flat = np.asarray(rows, dtype=np.int64).reshape(-1) if rows else np.zeros(0, dtype=np.int64)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.int64()), width)


def _to_arrow(pids: list[bytes], blooms: list[bytes], name_cols: list[tuple[int, ...]],
              dob_rows: list[_DateTokens], sex_dob: list[int], nat: list[int],
              pob: list[list[int]], doc: list[int], blocks: list[list[int]],
              schema: Schema) -> pa.Table:
    def ints(values: Sequence[int]) -> pa.Array:
        return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64())

    columns: dict[str, pa.Array] = {
        "pid": pa.array([p.hex() for p in pids], type=pa.string()),
        "name_bf": pa.array(blooms, type=pa.binary(schema.name_bits // 8)),
        "name_keys": _fixed_list(name_cols, schema.max_name_tokens),
        "dob_full": ints([d.full for d in dob_rows]),
        "dob_swap": ints([d.swap for d in dob_rows]),
        "dob_yp1": ints([d.yp1 for d in dob_rows]),
        "dob_ym": ints([d.ym for d in dob_rows]),
        "dob_y0": ints([d.y0 for d in dob_rows]),
        "dob_y1": ints([d.y1 for d in dob_rows]),
        "dob_y2": ints([d.y2 for d in dob_rows]),
        "dob_defaulted": pa.array([d.defaulted for d in dob_rows], type=pa.bool_()),
        "dob_masks": _fixed_list([d.masks for d in dob_rows], NUM_DATE_MASKS),
        "dob_digits": ints([d.digits for d in dob_rows]),
        "dob_transposed": _fixed_list([d.transposed for d in dob_rows], NUM_DATE_MASKS - 1),
        "dob_alt": _fixed_list([d.alt for d in dob_rows], NUM_ALT_DATES),
        "sex_dob": ints(sex_dob),
        "nat": ints(nat),
        "pob_keys": _fixed_list(pob, schema.max_place_tokens),
        "doc": ints(doc),
        "block_keys": pa.array(blocks, type=pa.list_(pa.int64())),
    }
    return pa.table(columns)
