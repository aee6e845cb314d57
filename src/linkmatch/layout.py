"""The encoded file's layout: every column's Arrow type and bounds, derived from the schema.

Why one place: the linkage unit holds no key, so it cannot check the holders' keyed manifest MAC,
and the content digest is unkeyed (whoever edits a file recomputes it). What it *can* check is
that a file has exactly the shape ``encode`` writes for the schema its manifest states, before
any comparison kernel reads it: the compiled kernels index arrays by the widths they are given,
and a filter or token list narrower than the schema says would be read past its end. So every
column's exact type and width comes from :func:`encoded_types` (a new column needs one entry
there), :func:`check_table` checks a table (or a left batch) against it, nulls and the values
later used to address rows included, and :func:`check_manifest` checks the manifest's fields
(hex fingerprints and digests, counts, the schema and its fingerprint) so that nothing a crafted
manifest holds reaches a message or a log unchecked.

Refusals are :class:`~linkmatch.errors.EncodedFileError`: they name the file and the column or
field, never a value.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from linkmatch.errors import ConfigError, EncodedFileError
from linkmatch.schema import Schema

__all__ = ["MAX_ADDRESS_WORDS", "MAX_EXPANSION", "MAX_ROW_GROUP_BYTES", "MAX_ROW_GROUP_ROWS",
           "MAX_VALUE_LENGTH", "NUM_ALT_DATES", "NUM_DATE_MASKS", "PSEUDONYM_PATTERN",
           "check_arrow_schema", "check_manifest", "check_table", "encoded_types",
           "fixed_row_bytes", "manifest_schema", "max_block_keys"]

NUM_DATE_MASKS: Final = 8
"""Date-digit tokens with one digit masked (a ``YYYYMMDD`` date has 8 digits)."""
NUM_ALT_DATES: Final = 2
"""Alternative readings of a date kept per record (calendar conversions, swaps)."""
MAX_VALUE_LENGTH: Final = 1000
"""Longer values are garbage for any person field (a pasted document, a binary blob): they are
rejected and counted rather than hashed."""
MAX_ADDRESS_WORDS: Final = 8
"""Address words kept per record (their pairs are blocking keys)."""
MAX_ROW_GROUP_ROWS: Final = 1 << 20
"""The most rows a row group of an encoded file may hold: the unit reads a file a row group at
a time (and checks it before the next), so this bounds what one read can allocate. ``encode``
writes 65,536."""
MAX_ROW_GROUP_BYTES: Final = 2 << 30
"""The most bytes the fixed-width columns of one row group may decode to (2 GiB: 65,536 rows of
the widest schema ``Schema`` allows)."""
MAX_EXPANSION: Final = 256
"""How many times its size a file's fixed-width columns may decode to (beyond 16 MiB). Keyed
tokens do not compress; a file of records with every field missing decodes to about 20 times
its size. A crafted file of zeros declaring wide columns would decode to thousands of times."""
PSEUDONYM_PATTERN: Final = "^[0-9a-f]{32}$"
"""A record pseudonym: the hex of a 128-bit MAC."""

_HEX16: Final = re.compile(r"[0-9a-f]{16}")
_HEX32: Final = re.compile(r"[0-9a-f]{32}")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_HEX128: Final = re.compile(r"[0-9a-f]{128}")
_KEY_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SHORT_TEXT: Final = re.compile(r"[A-Za-z0-9.:+_-]{1,64}")
_COUNTS: Final = ("rows_read", "rows_encoded", "rows_rejected", "persons", "invalid_values",
                  "decoy_rows")


def _fixed_list(width: int) -> pa.DataType:
    return pa.list_(pa.int64(), width)


def encoded_types(schema: Schema) -> dict[str, pa.DataType]:
    """Every column of an encoded file and its exact Arrow type, in file order.

    Widths come from the schema: the stored name filter (after folding and balancing), the
    address filter (unhardened), the name keys and place tokens kept per record.
    """
    int64 = pa.int64()
    return {
        "pid": pa.string(),
        "name_bf": pa.binary(schema.stored_name_bits // 8),
        "name_keys": _fixed_list(schema.max_name_tokens),
        **{c: int64 for c in ("dob_full", "dob_swap", "dob_yp1", "dob_ym", "dob_y0", "dob_y1",
                              "dob_y2")},
        "dob_defaulted": pa.bool_(),
        "dob_masks": _fixed_list(NUM_DATE_MASKS),
        "dob_digits": int64,
        "dob_transposed": _fixed_list(NUM_DATE_MASKS - 1),
        "dob_alt": _fixed_list(NUM_ALT_DATES),
        "sex_dob": int64,
        "nat": int64,
        "pob_keys": _fixed_list(schema.max_place_tokens),
        "doc": int64,
        "block_keys": pa.list_(int64),
        "address_bf": pa.binary(schema.name_bits // 8),
    }


def fixed_row_bytes(schema: Schema) -> int:
    """Bytes one record takes in memory in the columns of fixed width (all but the blocking
    keys): what a row group of ``n`` rows allocates at least, ``n`` times this."""
    total = 0
    for t in encoded_types(schema).values():
        if pa.types.is_fixed_size_binary(t):
            total += t.byte_width
        elif pa.types.is_fixed_size_list(t):
            total += 8 * t.list_size
        elif pa.types.is_string(t):
            total += 32 + 4  # a pseudonym and its offset
        elif not pa.types.is_list(t):
            total += 1 if t == pa.bool_() else 8
    return total


def max_block_keys(schema: Schema) -> int:
    """An upper bound of the blocking keys ``encode`` gives one record.

    Per name key: itself, with two birth years, with day and month, and every variant up to
    one deletion with the year (at most a value's length + 1); every pair of name keys; every
    pair of address words; the full date and the document number.
    """
    names = schema.max_name_tokens
    return (names * (4 + MAX_VALUE_LENGTH + 1) + math.comb(names, 2)
            + math.comb(MAX_ADDRESS_WORDS, 2) + 2)


def _same_type(found: pa.DataType, expected: pa.DataType) -> bool:
    """Types equal up to the name of a list's child field (writers name it differently)."""
    if pa.types.is_fixed_size_list(expected):
        return bool(pa.types.is_fixed_size_list(found) and found.list_size == expected.list_size
                    and found.value_type == expected.value_type)
    if pa.types.is_list(expected):
        return bool(pa.types.is_list(found) and found.value_type == expected.value_type)
    return bool(found == expected)


def _describe(t: pa.DataType) -> str:
    if pa.types.is_fixed_size_list(t):
        return f"a list of {t.list_size} {t.value_type}"
    if pa.types.is_fixed_size_binary(t):
        return f"{t.byte_width}-byte binary"
    if pa.types.is_list(t):
        return f"a list of {t.value_type}"
    return str(t)


def check_arrow_schema(found: pa.Schema, schema: Schema, label: str) -> None:
    """Refuse a file whose columns or their types are not those of :func:`encoded_types`.

    Run on the file's footer, before any row is read.

    Raises:
        EncodedFileError: a column missing, unexpected, or of another type or width.
    """
    expected = encoded_types(schema)
    for name in found.names:
        if name not in expected:
            raise EncodedFileError("is not a column of an encoded file", file=label,
                                   column=name)
    if len(set(found.names)) != len(found.names):
        raise EncodedFileError("has a column twice", file=label)
    for name, want in expected.items():
        if name not in found.names:
            raise EncodedFileError("is missing", file=label, column=name)
        got = found.field(name).type
        if not _same_type(got, want):
            raise EncodedFileError(f"does not have the type and width this file's schema "
                                   f"gives it ({_describe(want)}, not {_describe(got)})",
                                   file=label, column=name)


def check_table(table: pa.Table, schema: Schema, label: str) -> None:
    """Refuse a table (a whole file, a row group or a left batch) that is not what ``encode``
    writes for ``schema``: types and widths, nulls, pseudonyms (32 hex digits) and the number
    of blocking keys per record. (The order of the left side's pseudonyms, across batches, is
    checked by the matcher's first pass.)

    Raises:
        EncodedFileError: naming the file and the column.
    """
    check_arrow_schema(table.schema, schema, label)
    for name in table.column_names:
        column = table.column(name)
        if column.null_count:
            raise EncodedFileError("holds missing (null) values", file=label, column=name)
        t = column.type
        if (pa.types.is_list(t) or pa.types.is_fixed_size_list(t)) and column.num_chunks \
                and any(pc.list_flatten(chunk).null_count for chunk in column.chunks):
            raise EncodedFileError("holds missing (null) values in its lists", file=label,
                                   column=name)
    if not table.num_rows:
        return
    pid = table.column("pid")
    if not pc.all(pc.match_substring_regex(pid, PSEUDONYM_PATTERN)).as_py():
        raise EncodedFileError("holds values that are not pseudonyms (32 lower-case hex "
                               "digits)", file=label, column="pid")
    lengths = pc.list_value_length(table.column("block_keys"))
    longest = pc.max(lengths).as_py()
    if longest is not None and longest > max_block_keys(schema):
        raise EncodedFileError(f"has a record with more blocking keys than encode gives one "
                               f"({max_block_keys(schema)})", file=label, column="block_keys")


def manifest_schema(manifest: dict[str, Any], label: str) -> Schema:
    """The schema a manifest states, checked against the manifest's schema fingerprint.

    Raises:
        EncodedFileError: no valid schema, or one whose fingerprint is not the stated one.
    """
    data = manifest.get("schema")
    if not isinstance(data, dict):
        raise EncodedFileError("has no schema in its manifest", file=label, column="schema")
    try:
        schema = Schema.from_dict(data)
    except (ConfigError, TypeError, ValueError):
        raise EncodedFileError("has an invalid schema in its manifest", file=label,
                               column="schema") from None
    if schema.fingerprint != manifest.get("schema_fingerprint"):
        raise EncodedFileError("the manifest's schema does not match its fingerprint",
                               file=label, column="schema_fingerprint")
    return schema


def check_manifest(manifest: dict[str, Any], label: str) -> Schema:
    """Check every field of an encoded manifest that the unit uses, prints or passes on.

    Fingerprints, digests, salts and MACs are lower-case hex of their exact lengths, the key id
    and version strings are short and plain, counts are whole numbers; a crafted value (a
    newline, terminal escapes) never reaches a message or a log.

    Returns:
        The manifest's schema (checked against its fingerprint).

    Raises:
        EncodedFileError: naming the file and the field.
    """
    required = {"key_fingerprint": _HEX16, "schema_fingerprint": _HEX64,
                "content_sha256": _HEX64, "job_salt": _HEX32}
    optional = {"manifest_mac": _HEX64, "decoy_mac": _HEX64, "key_id": _KEY_ID,
                "library_version": _SHORT_TEXT, "created": _SHORT_TEXT}
    for name, pattern in required.items():
        value = manifest.get(name)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise EncodedFileError("is not what linkmatch writes (a manifest field)",
                                   file=label, column=name)
    for name, pattern in optional.items():
        value = manifest.get(name)
        if value is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
            raise EncodedFileError("is not what linkmatch writes (a manifest field)",
                                   file=label, column=name)
    signature = manifest.get("signature")
    if signature is not None and not (
            isinstance(signature, dict) and signature.get("algorithm") == "ed25519"
            and isinstance(signature.get("key"), str) and _HEX16.fullmatch(signature["key"])
            and isinstance(signature.get("value"), str)
            and _HEX128.fullmatch(signature["value"])):
        raise EncodedFileError("is not what linkmatch writes (a manifest field)", file=label,
                               column="signature")
    counts = manifest.get("counts")
    if not isinstance(counts, dict):
        raise EncodedFileError("is missing from the manifest", file=label, column="counts")
    for name in _COUNTS:
        value = counts.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise EncodedFileError("is not a count (a manifest field)", file=label,
                                   column=f"counts.{name}")
    return manifest_schema(manifest, label)

