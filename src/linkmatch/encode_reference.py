"""The plain, row-by-row implementation of the encoding specification.

:func:`linkmatch.encode.encode_frame` computes the same table column-wise over distinct values
with batched keyed tokens; this module does it one record at a time with one
``cryptography`` CMAC call per token, as the specification reads. It is the reference the
property tests hold the fast encoder to (identical tables and reports), not a code path users
need: it is about fifty times slower.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import time

import numpy as np
import pandas as pd
import pyarrow as pa

from linkmatch.encode import (
    ENCODED_COLUMNS,
    SEX_NUMBERS,
    TEXT_COLUMNS,
    DateReading,
    Encoded,
    Hashers,
    address_words,
    clean,
    finish,
    key_variants,
    norm_document,
    norm_nationality,
    norm_sex,
    place_keys,
    read_date,
    record_filter_tokens,
    record_name_tokens,
)
from linkmatch.errors import InputDataError
from linkmatch.io import RAGGED_ROWS, ROW_NUMBERS, Issue, ValidationReport, normalise_columns
from linkmatch.layout import MAX_VALUE_LENGTH, NUM_ALT_DATES, NUM_DATE_MASKS
from linkmatch.pseudonymise.keys import Key
from linkmatch.schema import Schema

__all__ = ["encode_frame_reference"]


def _date_row(h: Hashers, r: DateReading) -> dict[str, object]:
    out: dict[str, object] = {
        "dob_full": 0, "dob_swap": 0, "dob_yp1": 0, "dob_ym": 0, "dob_y0": 0, "dob_y1": 0,
        "dob_y2": 0, "dob_defaulted": False, "dob_masks": [0] * NUM_DATE_MASKS,
        "dob_digits": 0, "dob_transposed": [0] * (NUM_DATE_MASKS - 1),
        "dob_alt": [0] * NUM_ALT_DATES,
    }
    date = r.date
    if date is not None:
        y, m, d = date.year, date.month, date.day
        out["dob_defaulted"] = date.defaulted
        for k in range(3):
            out[f"dob_y{k}"] = h.year.token_ints(y + k)
        if m is not None:
            out["dob_ym"] = h.ym.token_ints(y, m)
        if m is not None and d is not None:
            out["dob_full"] = h.ymd.token_ints(y, m, d)
            out["dob_yp1"] = h.ymd.token_ints(y + 1, m, d)
            if d <= 12 and d != m:
                out["dob_swap"] = h.ymd.token_ints(y, d, m)
    if r.digits is not None:
        digits = r.digits
        out["dob_digits"] = h.digits.token_ints(int(digits))
        # one digit masked: the position and the digits with that digit set to 0
        out["dob_masks"] = [h.mask.token_ints(i, int(digits[:i] + "0" + digits[i + 1:]))
                            for i in range(NUM_DATE_MASKS)]
        out["dob_transposed"] = [
            h.digits.token_ints(int(digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]))
            if digits[i] != digits[i + 1] else 0
            for i in range(NUM_DATE_MASKS - 1)
        ]
    alts = [0] * NUM_ALT_DATES
    for i, alt in enumerate(r.alts[:NUM_ALT_DATES]):
        if alt.month is not None and alt.day is not None:
            alts[i] = h.ymd.token_ints(alt.year, alt.month, alt.day)
    out["dob_alt"] = alts
    return out


def encode_frame_reference(
    frame: pd.DataFrame,
    key: Key,
    *,
    schema: Schema | None = None,
    source: str = "<dataframe>",
    strict: bool = False,
    job_salt: bytes | None = None,
    today: dt.date | None = None,
) -> Encoded:
    """Row-by-row :func:`linkmatch.encode.encode_frame` (same arguments, same result)."""
    started = time.perf_counter()
    schema = schema or Schema()
    salt = job_salt if job_salt is not None else secrets.token_bytes(16)
    today = today or dt.date.today()
    data = normalise_columns(frame)
    h = Hashers(key, schema, salt)
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

    rows: list[dict[str, object]] = []
    pids: list[bytes] = []
    width = schema.max_name_tokens
    for row, rid, *values in zip(row_numbers, *(data[c].tolist() for c in data.columns),
                                 strict=True):
        text = dict(zip(TEXT_COLUMNS, values, strict=True))
        for column in TEXT_COLUMNS:
            if len(text[column]) > MAX_VALUE_LENGTH:
                reject(row, column, f"longer than {MAX_VALUE_LENGTH} characters; treated as "
                                    "missing")
                text[column] = ""
        if len(rid) > MAX_VALUE_LENGTH:
            report.rows_rejected += 1
            reject(row, "record_id", f"longer than {MAX_VALUE_LENGTH} characters; row skipped")
            continue
        rid = clean(rid)
        if not rid:
            report.rows_rejected += 1
            reject(row, "record_id", "empty record_id; the row cannot be linked")
            continue
        out: dict[str, object] = {}
        # names
        tokens = record_name_tokens(text["given_names"], text["family_name"],
                                    text["full_name"])
        bloom = 0
        for t in record_filter_tokens(text["given_names"], text["family_name"],
                                      text["full_name"]):
            bloom |= h.token_bloom(t.text, t.key)
        out["name_bf"] = bloom.to_bytes(h.name_bytes, "little")
        kept = [t.key for t in tokens][:width]
        key_toks = [h.name.token_str(k) for k in kept]
        out["name_keys"] = key_toks + [0] * (width - len(key_toks))
        if not tokens and any(text[c].strip() for c in ("given_names", "family_name",
                                                         "full_name")):
            reject(row, "given_names/family_name", "name has no letters after normalisation")
        # date of birth
        reading = read_date(text["date_of_birth"], today, schema.min_year)
        if reading.problem is not None:
            reject(row, "date_of_birth", reading.problem)
        out.update(_date_row(h, reading))
        # sex, only together with the full date
        sex = norm_sex(text["sex"]) if text["sex"].strip() else ""
        if sex is None:
            reject(row, "sex", "not one of M, F, X")
            sex = ""
        date = reading.date
        out["sex_dob"] = h.sex_dob.token_ints(SEX_NUMBERS[sex], date.year, date.month,
                                              date.day) \
            if sex and reading.full and date is not None and date.month and date.day else 0
        nat = norm_nationality(text["nationality"]) if text["nationality"].strip() else ""
        if nat is None:
            reject(row, "nationality", "not an ISO 3166-1 alpha-3 code")
            nat = ""
        out["nat"] = h.nat.token_str(nat) if nat else 0
        places = [h.pob.token_str(p) for p in
                  place_keys(text["place_of_birth"], schema.max_place_tokens)]
        out["pob_keys"] = places + [0] * (schema.max_place_tokens - len(places))
        doc = norm_document(text["document_number"]) if text["document_number"].strip() else ""
        if text["document_number"].strip() and not doc:
            reject(row, "document_number", "no letters or digits")
        out["doc"] = h.doc.token_str(doc) if doc else 0
        out["address_bf"] = h.address_bloom(text["address"])
        # blocking keys
        year = date.year if date is not None else None
        names = sorted(kept)
        name_tok = {k: h.name.token_str(k) for k in names}
        keys = {h.block_n.token_ints(name_tok[k]) for k in names}
        keys |= {h.block_nn.token_ints(name_tok[a], name_tok[b])
                 for a, b in itertools.combinations(names, 2)}
        if year is not None:
            keys |= {h.block_ny.token_ints(name_tok[k], y) for k in names
                     for y in (year, year + 1)}
            variants = {v for k in names for v in key_variants(k)}
            keys |= {h.block_vy.token_ints(h.block_variant.token_str(v), year)
                     for v in variants}
        full = int(out["dob_full"])  # type: ignore[call-overload]
        if full and date is not None and not date.defaulted:
            keys.add(h.block_d.token_ints(full))
            month_day = 32 * (date.month or 0) + (date.day or 0)
            keys |= {h.block_nmd.token_ints(name_tok[k], month_day) for k in names}
        if out["doc"]:
            keys.add(h.block_doc.token_ints(int(out["doc"])))  # type: ignore[call-overload]
        words = address_words(text["address"])
        keys |= {h.block_aa.token_ints(h.block_word.token_str(a), h.block_word.token_str(b))
                 for a, b in itertools.combinations(words, 2)}
        out["block_keys"] = sorted(keys)
        pid = h.pseudonym.mac(rid.encode("utf-8"))
        out["pid"] = pid.hex()
        if h.hardener is not None:
            year_salt = (year if year is not None else -1) if h.hardener.salted else None
            out["name_bf"] = h.hardener.apply_reference(bloom.to_bytes(h.name_bytes, "little"),
                                                        pid, year_salt) if tokens else \
                bytes(h.hardener.stored_bits // 8)
        pids.append(pid)
        rows.append(out)

    table = _table(rows, schema)
    order = np.argsort(np.asarray(table.column("pid").to_pylist(), dtype=object), kind="stable")
    table = table.take(pa.array(order, type=pa.int64()))
    return finish(table, key, schema, salt, report, len(set(pids)), started)


def _table(rows: list[dict[str, object]], schema: Schema) -> pa.Table:
    nbytes = schema.name_bits // 8
    types = {
        "pid": pa.string(), "name_bf": pa.binary(schema.stored_name_bits // 8),
        "address_bf": pa.binary(nbytes),
        "name_keys": pa.list_(pa.int64(), schema.max_name_tokens),
        "dob_masks": pa.list_(pa.int64(), NUM_DATE_MASKS),
        "dob_transposed": pa.list_(pa.int64(), NUM_DATE_MASKS - 1),
        "dob_alt": pa.list_(pa.int64(), NUM_ALT_DATES),
        "pob_keys": pa.list_(pa.int64(), schema.max_place_tokens),
        "block_keys": pa.list_(pa.int64()), "dob_defaulted": pa.bool_(),
    }
    return pa.table({c: pa.array([r[c] for r in rows], type=types.get(c, pa.int64()))
                     for c in ENCODED_COLUMNS})
