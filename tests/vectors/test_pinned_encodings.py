"""Pinned encodings: a change to normalisation, key derivation or encoding that alters what a
record encodes to must update these vectors on purpose (and bump the schema version), because
files encoded by two versions would otherwise silently stop matching."""

from __future__ import annotations

import hashlib

import pandas as pd

from linkmatch.encode import encode_frame, pseudonym_hex
from linkmatch.pseudonymise.keys import Key

KEY = Key.from_bytes(bytes(range(32)))
SALT = bytes(range(16))

RECORDS = pd.DataFrame({
    "record_id": ["p1", "p2", "p3", "p4"],
    "given_names": ["Mohammed Ali", "Yusuf", "Олександр", "ገብረመድህን"],
    "family_name": ["Al-Hassan", "Abdurrahman", "Шевченко", "Tesfay"],
    "date_of_birth": ["1990-05-17", "1985", "03.12.1978", "XX.XX.1992"],
    "sex": ["M", "M", "M", ""],
    "nationality": ["SYR", "IRQ", "UKR", "ERI"],
    "place_of_birth": ["Aleppo", "", "Kyiv", "Asmara"],
    "document_number": ["", "N1234567", "", ""],
    "address": ["8 Stanley Street, Winston Hills 4223", "", "", "AZC Ter Apel"],
})


def _digest(row: dict[str, object]) -> str:
    parts = [row["name_bf"].hex() if isinstance(row["name_bf"], bytes) else "",
             *(str(row[c]) for c in sorted(row) if c not in ("pid", "name_bf"))]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def test_pinned_record_encodings() -> None:
    table = encode_frame(RECORDS, KEY, job_salt=SALT).table
    by_pid = {row["pid"]: _digest(row) for row in table.to_pylist()}
    got = {rid: by_pid[pseudonym_hex(KEY, SALT.hex(), rid)] for rid in RECORDS["record_id"]}
    assert got == PINNED


def test_pinned_pseudonym() -> None:
    assert pseudonym_hex(KEY, SALT.hex(), "p1") == PINNED_PSEUDONYM


PINNED: dict[str, str] = {
    "p1": "d881f254e96b26dfdaa08509",
    "p2": "9fda50858574b635fbb7d351",
    "p3": "e0756673b19e547d6a0e3a1b",
    "p4": "12dc085c524fd4f8a7254053",
}
PINNED_PSEUDONYM = "1a7f68c0ae5df6b9e3184a69bd6942e7"
