"""The person schema and the encoding parameters, as one frozen, versioned, JSON-serialisable value.

Both holders must encode with the *same* schema (and key) for their files to be comparable; the
linkage unit checks this through :attr:`Schema.fingerprint`, a SHA-256 of the canonical JSON (the
schema is public, so an unkeyed digest is fine here).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from linkmatch.errors import ConfigError

__all__ = ["CANDIDATE_EVIDENCE", "NAME_SALTS", "PERSON_COLUMNS", "SCHEMA_VERSION", "Schema"]

SCHEMA_VERSION: Final = 1

NAME_SALTS: Final = ("none", "birth_year")
"""Stable fields the name filter can be salted with (``Schema.name_salt``)."""

CANDIDATE_EVIDENCE: Final = ("coarse", "exact")
"""What the candidates disclose (``Schema.candidate_evidence``; :mod:`linkmatch.disclosure`)."""

PERSON_COLUMNS: Final = (
    "record_id",
    "given_names",
    "family_name",
    "full_name",
    "date_of_birth",
    "sex",
    "nationality",
    "place_of_birth",
    "document_number",
    "address",
)
"""Columns of the built-in person schema; all but ``record_id`` may be empty or absent.

``address`` (optional, free text: street, locality, postcode…) is an extension of the design
notes' schema, for files that hold one (a reception location, a last known address)."""

REQUIRED_COLUMNS: Final = ("record_id",)


@dataclass(frozen=True, slots=True)
class Schema:
    """How records are normalised and encoded.

    Attributes:
        name_bits: length of the per-record name Bloom filter (power of two).
        name_hashes_text: bits set per q-gram of a name token's folded spelling.
        name_hashes_key: bits set per q-gram of a token's variant key (its consonant skeleton),
            so that transliteration variants share bits even where their spellings differ.
        qgram: q-gram length.
        max_name_tokens: name tokens kept per record (further tokens are counted, then dropped
            from the token list but still enter the Bloom filter).
        max_place_tokens: place-of-birth tokens kept per record.
        min_year: earliest plausible year of birth; earlier years are rejected as invalid.
        name_xor_fold: store the name filter XOR-folded once (half the length); see
            :mod:`linkmatch.pseudonymise.hardening` for this and the next two. On by default,
            with balancing: together they cut what pattern mining recovers from the filters
            by an order of magnitude for about 0.002 F1 (measured in ``docs/privacy.md``).
        name_balance: store the name filter balanced (with its complement, keyed permutation):
            every stored filter has the same weight, whatever the length of the name. On by
            default.
        name_blip: probability of flipping each stored bit of the name filter (keyed, per
            record), in steps of 1/256.
        name_salt: salt the name filter with a stable field: ``"none"`` (default) or
            ``"birth_year"`` (the filter permuted under a keyed permutation of the record's
            birth year, a missing year being a salt value of its own). Filters then compare
            only between records of the same birth year; see ``docs/privacy.md`` for what this
            buys and costs.
        candidate_evidence: what the candidates tell each holder about the other side's
            people: ``"coarse"`` (default: rounded score, coarse levels) or ``"exact"``. A
            disclosure the two holders agree on, so it is part of the schema they share
            (:mod:`linkmatch.disclosure`).
    """

    version: int = SCHEMA_VERSION
    name_bits: int = 1024
    name_hashes_text: int = 8
    name_hashes_key: int = 6
    qgram: int = 2
    max_name_tokens: int = 8
    max_place_tokens: int = 4
    min_year: int = 1900
    name_xor_fold: bool = True
    name_balance: bool = True
    name_blip: float = 0.0
    name_salt: str = "none"
    candidate_evidence: str = "coarse"

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.version != SCHEMA_VERSION:
            problems.append(f"schema version {self.version} is not supported (expected "
                            f"{SCHEMA_VERSION})")
        if self.name_bits < 64 or self.name_bits > 65536 or self.name_bits & (self.name_bits - 1):
            problems.append("name_bits must be a power of two between 64 and 65536")
        for name in ("name_hashes_text", "name_hashes_key"):
            if not 1 <= getattr(self, name) <= 64:
                problems.append(f"{name} must be between 1 and 64")
        if not 1 <= self.qgram <= 4:
            problems.append("qgram must be between 1 and 4")
        if not 1 <= self.max_name_tokens <= 32:
            problems.append("max_name_tokens must be between 1 and 32")
        if not 1 <= self.max_place_tokens <= 16:
            problems.append("max_place_tokens must be between 1 and 16")
        if not 1800 <= self.min_year <= 2000:
            problems.append("min_year must be between 1800 and 2000")
        if (self.name_xor_fold or self.name_balance or self.name_blip
                or self.name_salt != "none") and self.name_bits < 256:
            problems.append("hardening the name filter needs name_bits of at least 256")
        if not isinstance(self.name_blip, int | float) or not 0.0 <= self.name_blip < 0.5:
            problems.append("name_blip must be a probability in [0, 0.5)")
        if self.name_salt not in NAME_SALTS:
            problems.append(f"name_salt must be one of {', '.join(NAME_SALTS)}")
        if self.candidate_evidence not in CANDIDATE_EVIDENCE:
            problems.append("candidate_evidence must be one of "
                            f"{', '.join(CANDIDATE_EVIDENCE)}")
        if problems:
            raise ConfigError("invalid schema: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, including the column list of the person schema."""
        out = dataclasses.asdict(self)
        out["columns"] = list(PERSON_COLUMNS)
        return out

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): the input of :attr:`fingerprint`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        """Rebuild a schema from :meth:`to_dict` output (unknown keys are an error)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        extra = set(data) - fields - {"columns"}
        if extra:
            raise ConfigError(f"unknown schema settings: {sorted(extra)}")
        if "columns" in data and list(data["columns"]) != list(PERSON_COLUMNS):
            raise ConfigError("the schema's column list differs from the person schema")
        return cls(**{k: v for k, v in data.items() if k in fields})

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """Rebuild a schema from :meth:`to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError("the schema is not valid JSON") from None
        if not isinstance(data, dict):
            raise ConfigError("the schema must be a JSON object")
        return cls.from_dict(data)

    @property
    def hardened(self) -> bool:
        """Whether any hardening transform of the name filter is on."""
        return self.name_xor_fold or self.name_balance or self.name_blip > 0 or \
            self.name_salt != "none"

    @property
    def stored_name_bits(self) -> int:
        """Length of the name filter as stored (after folding and balancing)."""
        from linkmatch.pseudonymise.hardening import stored_filter_bits

        return stored_filter_bits(self.name_bits, xor_fold=self.name_xor_fold,
                                  balance=self.name_balance)

    def unhardened(self) -> Schema:
        """The same schema with every hardening transform off (to measure what they cost)."""
        return dataclasses.replace(self, name_xor_fold=False, name_balance=False, name_blip=0.0,
                                   name_salt="none")

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON; equal schemas have equal fingerprints."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()
