"""Linkage-unit side: match two encoded files (block → compare → score → candidates).

The linkage unit holds no key. It checks that both files were encoded with the same key and schema
(through their fingerprints), blocks on the keyed blocking keys, compares token levels and Dice of
the name filters, fits a Fellegi–Sunter model by EM on the data itself, and returns candidate pairs
above the threshold only, one row per (left person, right person) with the best score over their
aliases. It never writes the full similarity table.

How it runs (one engine-free core, see :class:`Job`): the right side (the reference list, the
smaller file) is *prepared* once in memory — its columns and its blocking keys sorted for lookup.
The left side (the large file) is streamed in batches of ``chunk_rows`` rows, three times:

0. statistics: which blocking keys it shares with the right side and how often (to skip blocks
   too big to compare), how often each name key and pair of name keys occurs (frequency-aware
   evidence), and a content hash per row (the sample of random pairs for u);
1. comparison patterns of every blocked pair, counted (the data EM fits the model to);
2. scores of every blocked pair, keeping the candidates above the threshold.

Every batch's result depends only on the batch and on global values fixed before the pass, and
results are merged in batch order with exact (integer) sums, so the candidates are the same for
any batch size, any number of worker processes and any engine that drives the same functions.
Memory holds the right side and a few batches, never the left file.
"""

from __future__ import annotations

import copy
import json
import math
import multiprocessing
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from linkmatch._parallel import default_workers, process_alive
from linkmatch._version import __version__
from linkmatch.compare.blocking import (
    BlockIndex,
    KeyIndex,
    NameBands,
    band_keys,
    bucket_of,
    distinct_pairs,
    explode,
    find_reference,
    in_sorted,
    key_lists,
    owned_pairs,
    pairs_blocked,
)
from linkmatch.compare.levels import (
    ALL_KEYS_LEVELS,
    COMPARISONS,
    WHOLE_NAME_LEVELS,
    EncodedSide,
    KeyCounts,
    NameFrequencies,
    PairEvidence,
    balanced_name_scale,
    compare_pairs,
)
from linkmatch.compare.scoring import (
    PATTERN_CODES,
    RARE_NAME_RECORDS,
    FellegiSunter,
    counted_rare_names,
    fit_em,
    pattern_summary,
)
from linkmatch.disclosure import disclose
from linkmatch.errors import ConfigError, EncodedFileError, EncodingMismatchError, InputDataError
from linkmatch.io import (
    ENCODED_FORMAT,
    ContentDigest,
    check_row_groups,
    read_encoded,
    read_manifest,
    write_json,
    write_table,
)
from linkmatch.layout import check_manifest, check_table
from linkmatch.pseudonymise.signing import TrustedKey, verify_manifest
from linkmatch.schema import Schema

__all__ = ["DEFAULT_THRESHOLD", "Job", "MatchResult", "NameBands", "assign_one_to_one",
           "bands_option", "bands_setting", "check_options", "final_candidates",
           "group_persons", "load_state", "match_encoded", "match_files", "save_state"]

DEFAULT_THRESHOLD: Final = 0.5
"""Posterior probability above which a pair is a candidate: the decision that minimises the
expected number of errors when the score is calibrated; review weighs false and missed matches."""

DEFAULT_MAX_BLOCK_PAIRS: Final = 50_000
"""The smallest automatic block cap (see :func:`block_cap`)."""
DEFAULT_CHUNK_ROWS: Final = 50_000
_RANDOM_PAIRS: Final = 200_000
_RANDOM_SEED: Final = 20261129
_SPILL_MAX_BYTES: Final = 16 * 2 ** 30
_SPILL_SHARE_OF_FREE: Final = 0.25
"""Pass 1's spill of pairs (:class:`PairSpill`) takes at most this much disk, and at most this
share of the free space it finds."""
_CHUNK_PAIRS: Final = 1_000_000  # pairs compared at once per process (bounds peak memory)
_BAND_ROWS: Final = 8_192  # rows whose name bands are computed at once (bounds peak memory)
_TF_UNIT: Final = 2.0 ** 32  # fixed point of exact, order-free sums of log2 frequencies
_F_UNIT: Final = 2.0 ** 40  # fixed point of exact sums of per-person frequencies (≤ 1)

CANDIDATE_COLUMNS: Final = (
    "left_id", "right_id", "score", "name_score", "dob_level", "name_level", "sex",
    "nationality", "place_of_birth", "document", "address",
)

ProgressFn = Callable[[str, int, int], None]
"""Progress callback: (phase, batches done, batches in all)."""


@dataclass(frozen=True)
class MatchResult:
    """Candidates (pseudonymous ids) and the run's manifest (counts, model, fingerprints)."""

    candidates: pd.DataFrame
    manifest: dict[str, Any]


def check_compatible(left: dict[str, Any], right: dict[str, Any]) -> None:
    """Refuse two encodings that cannot be compared, saying why.

    Raises:
        EncodingMismatchError: different format version, key or schema.
    """
    for side, man in (("left", left), ("right", right)):
        if man.get("format") != ENCODED_FORMAT:
            raise EncodingMismatchError(
                f"the {side} file has format {man.get('format')!r}; expected {ENCODED_FORMAT!r}"
            )
    if left.get("key_fingerprint") != right.get("key_fingerprint"):
        raise EncodingMismatchError(
            "the two files were encoded with different keys (key fingerprints "
            f"{left.get('key_fingerprint')} and {right.get('key_fingerprint')}); both holders "
            "must encode with the same linkage key"
        )
    if left.get("schema_fingerprint") != right.get("schema_fingerprint"):
        raise EncodingMismatchError(
            "the two files were encoded with different schemas (schema fingerprints differ); "
            "both holders must use the same linkmatch schema settings"
        )



# ------------------------------------------------------------------------------ left batches


class LeftSource:
    """The left side as numbered batches of rows: slices of a table, or row groups of a file.

    A batch is identified by its number alone, so that a worker process (or a Spark task) can
    load it without the others.
    """

    def __init__(self, *, table: pa.Table | None = None, path: Path | None = None,
                 chunk_rows: int) -> None:
        self.table = table
        self.path = path
        self.spans: list[tuple[int, int, int]] = []  # (row group or -1, start, length)
        if table is not None:
            self.rows = table.num_rows
            self.spans = [(-1, lo, min(chunk_rows, self.rows - lo))
                          for lo in range(0, self.rows, chunk_rows)]
        else:
            assert path is not None
            meta = pq.ParquetFile(path).metadata
            self.rows = meta.num_rows
            for g in range(meta.num_row_groups):
                n = meta.row_group(g).num_rows
                self.spans.extend((g, lo, min(chunk_rows, n - lo))
                                  for lo in range(0, n, chunk_rows))
        self._cached: tuple[int, pa.Table] | None = None

    def __len__(self) -> int:
        return len(self.spans)

    def batch(self, k: int) -> pa.Table:
        """Rows of batch ``k``."""
        group, start, length = self.spans[k]
        if self.table is not None:
            return self.table.slice(start, length)
        if self._cached is None or self._cached[0] != group:
            assert self.path is not None
            table = pq.ParquetFile(self.path).read_row_group(group)
            self._cached = (group, table.replace_schema_metadata(None))
        return self._cached[1].slice(start, length)


# ---------------------------------------------------------------------------------- results


@dataclass
class _Stats:
    """Pass 0 result of one batch (merged over batches in order)."""

    rows: int
    first_pid: str | None
    last_pid: str | None
    distinct_pids: int
    shared_index: npt.NDArray[np.int64]  # indices into the right side's distinct block keys
    shared_count: npt.NDArray[np.int64]  # left records holding that key
    names: KeyCounts
    hashes: npt.NDArray[np.uint64]


@dataclass
class _Patterns:
    """Pass 1 result of one batch."""

    pairs: int
    histogram: Counter[int]
    rare_histogram: Counter[int]
    tf_sum: dict[int, int]  # fixed point, _TF_UNIT
    tf_n: dict[int, int]
    person_f: int  # fixed point sum of completed persons' mean frequency, _F_UNIT
    persons: int
    head: tuple[str, int, int] | None  # first / last person's partial (pid, Σf, rows)
    tail: tuple[str, int, int] | None
    sample: pa.Table | None
    tf_hist: Counter[int] = field(default_factory=Counter)
    """Pairs per (all-keys name level, frequency bucket): code (level * TF_BUCKETS + bucket) * 4
    counts all of them, + 1 those with both dates, + 2 those with the same full date."""


assert PATTERN_CODES <= 2 ** 16  # a pattern code is spilled as uint16


class PairSpill:
    """Pass 1's pairs of one left batch on disk, for pass 2: per pair its left and right rows
    (int32), pattern code (uint16) and name frequency (float64), 18 bytes.

    Pass 2 needs only these two numbers to score a pair (:meth:`FellegiSunter.probability_codes`),
    so it compares again only the pairs it keeps instead of every pair (at 200,000 × 10,000,
    19 million pairs, most of pass 2's time). Written to ``<path>.part``, renamed to ``path``
    once the batch is done, so pass 2 finds whole batches only. A failed write (a full disk)
    is no error: the file is dropped, and pass 2 compares that batch's pairs again. It holds
    no value of a record and nothing of the key: row numbers and comparison levels, which the
    linkage unit holds in memory anyway; it lives in a private directory removed after the run.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._part = path.with_name(path.name + ".part")
        self._fh: BinaryIO | None
        try:
            self._fh = self._part.open("wb")
        except OSError:
            self._fh = None

    def write(self, li: npt.NDArray[np.int64], ri: npt.NDArray[np.int64],
              codes: npt.NDArray[np.int64], name_tf: npt.NDArray[np.float64]) -> None:
        """Append a chunk of pairs (parallel arrays)."""
        if self._fh is None:
            return
        try:
            for array, dtype in ((np.array([len(li)]), np.int64), (li, np.int32),
                                 (ri, np.int32), (codes, np.uint16), (name_tf, np.float64)):
                self._fh.write(np.ascontiguousarray(array, dtype=dtype).data)
        except OSError:
            self._drop()

    def _drop(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._part.unlink(missing_ok=True)

    def __enter__(self) -> PairSpill:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None or self._fh is None:
            self._drop()
            return
        try:
            self._fh.close()
            self._fh = None
            self._part.replace(self.path)
        except OSError:
            self._drop()


def read_spill(path: Path) -> Iterator[tuple[npt.NDArray[np.int32], npt.NDArray[np.int32],
                                             npt.NDArray[np.uint16], npt.NDArray[np.float64]]]:
    """The chunks of pairs a :class:`PairSpill` wrote: left rows, right rows, pattern codes,
    name frequencies."""
    with path.open("rb") as fh:
        while head := fh.read(8):
            n = int(np.frombuffer(head, dtype=np.int64)[0])
            parts = []
            for dtype in (np.int32, np.int32, np.uint16, np.float64):
                size = n * np.dtype(dtype).itemsize
                data = fh.read(size)
                if len(data) != size:
                    raise RuntimeError(f"spilled pairs {path.name} are truncated")
                parts.append(np.frombuffer(data, dtype=dtype))
            yield parts[0], parts[1], parts[2], parts[3]  # type: ignore[misc]


def spill_size(directory: Path) -> int:
    """Bytes of spilled pairs in ``directory`` so far (whole and partial batches)."""
    total = 0
    for entry in os.scandir(directory):
        try:
            total += entry.stat().st_size
        except FileNotFoundError:  # renamed by another worker since it was listed
            continue
    return total


def spill_directory(checkpoint: Path | None) -> Path:
    """A new private directory for pass 1's spilled pairs.

    In the checkpoint directory if the run has one, else in the system's temporary directory
    (``TMPDIR``). Named after the process, so that the directories of runs that were killed
    (SIGKILL leaves no time to clean up) are found and removed by the next run there.
    """
    parent = Path(checkpoint) if checkpoint is not None else Path(tempfile.gettempdir())
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in parent.glob("linkmatch-pairs-*-*"):
        pid = old.name.split("-")[2]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"linkmatch-pairs-{os.getpid()}-", dir=parent))


def spill_budget(directory: Path) -> int:
    """Bytes pass 1 may spill in ``directory``: at most ``_SPILL_MAX_BYTES`` and at most
    ``_SPILL_SHARE_OF_FREE`` of the free space there. A batch is spilled while the spill is
    under it (workers check at the start of a batch, so it is overrun by at most a batch per
    worker); the batches after are compared again in pass 2."""
    return min(_SPILL_MAX_BYTES, int(shutil.disk_usage(directory).free * _SPILL_SHARE_OF_FREE))


class Job:
    """One match job: the prepared right side and the global values of each pass.

    The functions :meth:`stats`, :meth:`patterns` and :meth:`score` take one left batch (an
    Arrow table) and return a small, picklable result; the local engine runs them in worker
    processes, another engine (Spark) can run them in its tasks. :meth:`plan` and :meth:`fit`
    merge the results in batch order.
    """

    def __init__(self, left_manifest: dict[str, Any], right_manifest: dict[str, Any],
                 right_table: pa.Table, *, threshold: float,
                 max_block_pairs: int | None, name_bands: NameBands | None = None,
                 labels: tuple[str, str] = ("left file", "right file"),
                 trusted: Sequence[TrustedKey] | None = None) -> None:
        # every field used or printed, the schema against its fingerprint (crafted manifests)
        self.labels = labels
        check_manifest(left_manifest, labels[0])
        check_manifest(right_manifest, labels[1])
        # holders' signatures, when the unit holds their public keys: files no trusted holder
        # signed are refused before anything else is read
        self.signers: dict[str, str | None] = {"left": None, "right": None}
        if trusted is not None:
            if not trusted:
                raise ConfigError("no trusted public key given")
            for side, man, label in (("left", left_manifest, labels[0]),
                                     ("right", right_manifest, labels[1])):
                self.signers[side] = verify_manifest(man, trusted, label)
        self.authenticated = trusted is not None
        check_compatible(left_manifest, right_manifest)
        self.left_manifest = left_manifest
        self.right_manifest = right_manifest
        self.threshold = threshold
        self.max_block_pairs_option = max_block_pairs
        self.max_block_pairs = max_block_pairs  # the cap in force; plan() sets it if None
        self.name_bands = name_bands
        schema = Schema.from_dict(left_manifest["schema"])
        self.schema = schema
        self.name_bytes = schema.stored_name_bits // 8
        self.candidate_evidence = schema.candidate_evidence
        check_table(right_table, schema, labels[1])
        self.right = EncodedSide(right_table)
        # balanced filters hide their weight: their Dice is rescaled to the plain Dice scale,
        # with a density estimated from the right side (the same for every engine and batch)
        self.name_scale = balanced_name_scale(self.right) if schema.name_balance else 1.0
        # the right side's band keys: their blocks have a cap of their own
        self.right_band_keys = np.unique(band_keys(right_table.column("name_bf"), name_bands,
                                                   _nationality(right_table))[0]) \
            if name_bands is not None else None
        rk, rr = self.keys(right_table, held=False)
        self.right_keys = (rk, rr)
        # finds a left key among the right's distinct keys (pass 0; then the index's live keys)
        self.right_lookup: KeyIndex | None = KeyIndex(rk)
        self.right_unique = self.right_lookup.keys
        self.right_names = NameFrequencies.count(self.right.name_keys)
        self.person_rows = _person_rows(self.right)
        self.right_person_rows = self.person_rows.of(self.right.pid)
        # set by plan() / fit()
        self.index: BlockIndex | None = None
        self.live_keys = np.zeros(0, dtype=np.int64)
        self.frequencies: NameFrequencies | None = None
        self.rare_log2 = 0.0
        self.left_rows = 0
        self.left_persons = 0
        self.sample_rows: dict[int, list[int]] = {}  # batch -> rows of the random-pair sample
        self.model: FellegiSunter | None = None

    def side(self, batch: pa.Table) -> EncodedSide:
        """A left batch's columns as arrays, once the batch is checked to be shaped as
        ``encode`` writes it (:func:`linkmatch.layout.check_table`): no kernel reads it before."""
        check_table(batch, self.schema, self.labels[0])
        return EncodedSide(batch)

    def keys(self, table: pa.Table, *, held: bool = True
             ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(key, row) of a table's blocking keys, grouped by row: its encoded keys, then, with
        :class:`~linkmatch.compare.blocking.NameBands`, its name filter's bands; with
        ``held``, only the bands the right side holds (after planning: the live ones), as no
        other can block a pair and most of a left record's bands are such."""
        keys, rows = explode(table.column("block_keys"))
        if self.name_bands is None:
            return keys, rows
        lookup = None
        if held:
            lookup = self.index.lookup if self.index is not None else self.right_lookup
            assert lookup is not None
        bk, br = self._bands(table, lookup)
        return _by_row(keys, rows, bk, br, table.num_rows)

    def _bands(self, table: pa.Table, lookup: KeyIndex | None
               ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(key, row) of a table's name bands, grouped by row; with ``lookup``, only those it
        holds. Computed a slice of rows at a time, each slice filtered at once: a batch's
        bands unfiltered are 150 keys per row (7.5 million for 50,000 rows, 120 MB with
        their rows, in every worker), and most of them meet nothing."""
        assert self.name_bands is not None
        filters = table.column("name_bf")
        nationality = _nationality(table)
        parts_k, parts_r = [], []
        for lo in range(0, table.num_rows, _BAND_ROWS):
            bk, br = band_keys(filters.slice(lo, _BAND_ROWS), self.name_bands,
                               nationality[lo:lo + _BAND_ROWS])
            if lookup is not None:
                kept = lookup.contains(bk)
                bk, br = bk[kept], br[kept]
            parts_k.append(bk)
            parts_r.append(br + lo)
        if not parts_k:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(parts_k), np.concatenate(parts_r)

    # -- pass 0 ----------------------------------------------------------------------------
    def stats(self, batch: pa.Table) -> _Stats:
        """Statistics of one left batch (pass 0)."""
        side = self.side(batch)
        keys, rows = explode(batch.column("block_keys"))
        # a record's keys count once: encode writes them sorted and distinct; check, and
        # deduplicate only a file that is not so
        same_row = rows[1:] == rows[:-1]
        if bool(np.any(same_row & (keys[1:] <= keys[:-1]))):
            keys = distinct_pairs(keys, rows)[0]
        # a slim job (Spark's co-group tasks) has no hash table: its broadcast stays small
        lookup: KeyIndex | None = vars(self).get("right_lookup")
        if self.name_bands is not None:  # a record's bands are distinct (band_keys)
            keys = np.concatenate([keys, self._bands(batch, lookup)[0]])
        pos = lookup.find(keys) if lookup is not None else find_reference(self.right_unique, keys)
        hits = pos[pos >= 0]
        if 4 * len(hits) >= len(self.right_unique):
            counts = np.bincount(hits, minlength=len(self.right_unique))
            index = np.flatnonzero(counts)
            count = counts[index]
        else:  # few hits among many keys: no array as long as the right side's keys
            index, count = np.unique(hits, return_counts=True)
        pids = side.pid
        if len(pids) and not bool(np.all(pids[1:] >= pids[:-1])):
            raise EncodedFileError("is not sorted by pseudonym, as `linkmatch encode` writes "
                                   "it", file=self.labels[0], column="pid")
        distinct = int(np.count_nonzero(pids[1:] != pids[:-1]) + 1) if len(pids) else 0
        return _Stats(rows=side.size, first_pid=str(pids[0]) if len(pids) else None,
                      last_pid=str(pids[-1]) if len(pids) else None, distinct_pids=distinct,
                      shared_index=index.astype(np.int64), shared_count=count.astype(np.int64),
                      names=NameFrequencies.count(side.name_keys), hashes=side.content_hash())

    def plan(self, stats: Iterable[_Stats]) -> None:
        """Fix the global values of passes 1 and 2 from all batches' statistics, in order.

        ``stats`` may be a stream: each batch's statistics are folded in as they arrive and
        dropped (name counts are merged four batches at a time). What is kept grows with the
        left file only through its distinct name keys and pairs of keys, and 8 bytes of content
        hash per row.
        """
        if self.index is not None:
            raise RuntimeError("a job is planned once: plan() drops what it no longer needs")
        rows = persons = 0
        last_pid: str | None = None
        left_counts = np.zeros(len(self.right_unique), dtype=np.int64)
        names: list[KeyCounts] = [self.right_names]
        hashes: list[npt.NDArray[np.uint64]] = []
        for s in stats:
            rows += s.rows
            persons += s.distinct_pids
            if last_pid is not None and s.first_pid is not None:
                if s.first_pid < last_pid:
                    raise EncodedFileError("is not sorted by pseudonym, as `linkmatch encode` "
                                           "writes it", file=self.labels[0], column="pid")
                persons -= last_pid == s.first_pid
            last_pid = s.last_pid if s.last_pid is not None else last_pid
            np.add.at(left_counts, s.shared_index, s.shared_count)
            names.append(s.names)
            if len(names) > 4:
                names = [_merge_counts(names)]
            hashes.append(s.hashes)
        self.left_rows, self.left_persons = rows, persons
        self.max_block_pairs = block_cap(self.max_block_pairs_option, rows)
        self.index = BlockIndex.from_counts(
            self.right_keys, left_counts, max_block_pairs=self.max_block_pairs,
            band_keys=self.right_band_keys,
            band_cap=self.name_bands.cap_for(rows) if self.name_bands is not None else 0)
        # the keys that can block a pair: held by both sides and not skipped (what an engine
        # splitting the work by hashed buckets of keys needs to know, without the right side)
        self.live_keys = self.index.lookup.keys
        # from here on only the live keys matter: the right side's other keys (with the name
        # bands, most of its bands) and the table that found them go
        live = self.index.lookup.contains(self.right_keys[0])
        self.right_keys = (self.right_keys[0][live], self.right_keys[1][live])
        self.right_lookup = None
        self.right_band_keys = None
        self.right_unique = np.zeros(0, dtype=np.int64)
        total = rows + self.right.size
        self.frequencies = NameFrequencies.from_counts(total, _merge_counts(names))
        self.rare_log2 = float(np.log2(RARE_NAME_RECORDS / max(total, 1)))
        # the random-pair sample: the rows with the smallest content hashes
        every = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        sizes = np.array([len(h) for h in hashes], dtype=np.int64)
        k = min(_RANDOM_PAIRS, len(every))
        chosen = np.sort(np.argpartition(every, k - 1)[:k]) if 0 < k < len(every) else \
            np.arange(len(every))
        firsts = np.concatenate([[0], np.cumsum(sizes)])
        batch_of = np.searchsorted(firsts, chosen, side="right") - 1
        self.sample_rows = {}
        for b, r in zip(batch_of.tolist(), (chosen - firsts[batch_of]).tolist(), strict=True):
            self.sample_rows.setdefault(b, []).append(r)

    # -- pass 1 ----------------------------------------------------------------------------
    def _pairs(self, batch: pa.Table) -> Iterator[tuple[npt.NDArray[np.int64],
                                                         npt.NDArray[np.int64]]]:
        """The batch's blocked pairs, in chunks of at most about ``_CHUNK_PAIRS`` pairs."""
        assert self.index is not None
        keys, rows = self.keys(batch)
        return self.index.pair_chunks(keys, rows, max_pairs=_CHUNK_PAIRS)

    def patterns(self, batch: pa.Table, number: int, *, spill: PairSpill | None = None,
                 pairs: bool = True) -> _Patterns:
        """Comparison patterns of one left batch's blocked pairs (pass 1).

        With ``pairs=False``, only what depends on the batch alone (its persons' name
        frequencies and its rows of the random-pair sample): an engine that compares the pairs
        by buckets (:meth:`bucket_patterns`) adds the patterns from there.
        """
        assert self.frequencies is not None
        side = self.side(batch)
        out = _Patterns(pairs=0, histogram=Counter(), rare_histogram=Counter(), tf_sum={},
                        tf_n={}, person_f=0, persons=0, head=None, tail=None, sample=None)
        if pairs:
            for li, ri in self._pairs(batch):
                _add_patterns(out, self._pair_patterns(side, self.right, li, ri, spill=spill))
        out.person_f, out.persons, out.head, out.tail = _person_frequencies(side,
                                                                            self.frequencies)
        sample_rows = self.sample_rows.get(number, [])
        out.sample = batch.take(pa.array(sorted(sample_rows), type=pa.int64())) \
            if sample_rows else None
        return out

    def _pair_patterns(self, side: EncodedSide, right: EncodedSide, li: npt.NDArray[np.int64],
                       ri: npt.NDArray[np.int64], *, spill: PairSpill | None = None
                       ) -> _Patterns:
        """The pattern counts of the pairs ``(li, ri)``; no person or sample part. With
        ``spill``, each pair's pattern code and name frequency are also written there."""
        assert self.frequencies is not None
        ev = compare_pairs(side, right, li, ri, self.frequencies, name_scale=self.name_scale)
        summary = pattern_summary(ev.levels, ev.name_tf, self.rare_log2, _TF_UNIT)
        if spill is not None and len(li):
            spill.write(li, ri, summary.codes, ev.name_tf)
        return _Patterns(pairs=len(li), histogram=Counter(summary.histogram),
                         rare_histogram=Counter(summary.rare_histogram),
                         tf_sum=summary.tf_sum if len(li) else {},
                         tf_n=summary.tf_n if len(li) else {}, person_f=0, persons=0,
                         head=None, tail=None,
                         sample=None, tf_hist=Counter(summary.tf_hist))

    def fit(self, results: Sequence[_Patterns]) -> FellegiSunter:
        """Fit the model from all batches' patterns, in order (EM, random pairs for u)."""
        assert self.frequencies is not None
        histogram: Counter[int] = Counter()
        rare_histogram: Counter[int] = Counter()
        tf_sum: dict[int, int] = {}
        tf_n: dict[int, int] = {}
        tf_hist: Counter[int] = Counter()
        for r in results:
            histogram.update(r.histogram)
            rare_histogram.update(r.rare_histogram)
            tf_hist.update(r.tf_hist)
            for lvl, v in r.tf_sum.items():
                tf_sum[lvl] = tf_sum.get(lvl, 0) + v
                tf_n[lvl] = tf_n.get(lvl, 0) + r.tf_n[lvl]
        # random pairs: the left sample against the right side, both in content order
        samples = [r.sample for r in results if r.sample is not None]
        rng = np.random.default_rng(_RANDOM_SEED)
        total_pairs = self.left_rows * self.right.size
        if samples and self.right.size:
            sample_table = pa.concat_tables(samples)
            sample = self.side(sample_table)
            n_random = min(_RANDOM_PAIRS, total_pairs)
            rl = sample.content_order()[rng.integers(0, sample.size, n_random)]
            rr = self.right.content_order()[rng.integers(0, self.right.size, n_random)]
            random_levels = compare_pairs(sample, self.right, rl.astype(np.int64),
                                          rr.astype(np.int64),
                                          name_scale=self.name_scale).levels
            random_blocked = pairs_blocked(self.keys(sample_table),
                                           self.right_keys, rl.astype(np.int64),
                                           rr.astype(np.int64), self.live_keys)
        else:
            random_levels = np.zeros((0, len(COMPARISONS)), dtype=np.uint8)
            random_blocked = np.zeros(0, dtype=np.bool_)
        if histogram and len(random_levels):
            # sorted: the float sums of EM must not depend on the order the counts arrived in
            # (batches here, buckets on Spark's co-group plan)
            model = fit_em(dict(sorted(histogram.items())), random_levels,
                           total_pairs=total_pairs,
                           rare_name_pattern_count=dict(sorted(rare_histogram.items())),
                           random_blocked=random_blocked)
        else:
            model = fit_em({0: 1}, random_levels if len(random_levels) else
                           np.zeros((1, len(COMPARISONS)), dtype=np.uint8),
                           total_pairs=max(total_pairs, 1), max_iter=1)
        model.tf_mean = {lvl: tf_sum[lvl] / _TF_UNIT / tf_n[lvl] for lvl in tf_sum
                         if tf_n[lvl]}
        reference = self._reference_log2(results)
        if reference is not None:
            # levels at which a pair shares (nearly) a whole name: the frequency reference is
            # that of a record's whole name
            for lvl in WHOLE_NAME_LEVELS:
                if lvl in model.tf_mean:
                    model.tf_mean[lvl] = reference
            model.tf_counted = counted_rare_names(model, ALL_KEYS_LEVELS, tf_hist, reference,
                                                  float(total_pairs))
        self.model = model
        return model

    def _reference_log2(self, results: Sequence[_Patterns]) -> float | None:
        """Reference of the term-frequency adjustment of whole-name levels: log2 E_records[f].

        The adjustment turns the level weight log2(m/u) into the weight of the shared value v,
        log2(m_v/u_v). A match shares a value in proportion to its frequency f_v, a random
        non-matching pair in proportion to f_v², so u = Σ f_v² = E_{v~records}[f_v] and
        log2(m_v/u_v) = log2(m/u) + log2(E_records[f]) - log2(f_v). The reference is the
        *record*-weighted mean of f (one value per person: alias rows of one person are one
        draw of a name), not the mean of log f over the level's pairs: those pairs are mostly
        non-matches, which over-represent common names (weight f², not f).
        """
        assert self.frequencies is not None
        total, persons = 0, 0
        open_person: tuple[str, int, int] | None = None  # (pid, Σ f fixed point, rows)

        def close(p: tuple[str, int, int] | None) -> None:
            nonlocal total, persons
            if p is not None:
                total += _div_round(p[1], p[2])
                persons += 1

        for r in results:
            head = r.head
            if head is not None:
                if open_person is not None and open_person[0] == head[0]:
                    open_person = (head[0], open_person[1] + int(head[1]),
                                   open_person[2] + head[2])
                else:
                    close(open_person)
                    open_person = (head[0], int(head[1]), head[2])
            total += r.person_f
            persons += r.persons
            if r.tail is not None:
                close(open_person)
                open_person = (r.tail[0], int(r.tail[1]), r.tail[2])
        close(open_person)
        f_right, n_right, head, tail = _person_frequencies(self.right, self.frequencies)
        total += f_right + sum(_div_round(int(p[1]), p[2]) for p in (head, tail) if p)
        persons += n_right + sum(1 for p in (head, tail) if p)
        if not persons or total <= 0:
            return None
        return float(np.log2(total / _F_UNIT / persons))

    # -- pass 2 ----------------------------------------------------------------------------
    def score(self, batch: pa.Table, spilled: Path | None = None) -> pd.DataFrame:
        """Candidates of one left batch above the threshold (pass 2).

        ``spilled``: the batch's pairs as pass 1 spilled them (:class:`PairSpill`). Each pair
        is then scored from its pattern code and name frequency, and only the pairs at or
        above the threshold (a few in a thousand) are compared again, for the levels and name
        score the candidates show: the same candidates as comparing every pair again.
        """
        assert self.model is not None
        assert self.frequencies is not None
        side = self.side(batch)
        model = self.model
        rows = self.right_person_rows
        if spilled is None:
            return _concat_candidates(
                _candidates(side, self.right, li, ri,
                            compare_pairs(side, self.right, li, ri, self.frequencies,
                                          name_scale=self.name_scale),
                            model, self.threshold, rows)
                for li, ri in self._pairs(batch) if len(li))
        above_l: list[npt.NDArray[np.int64]] = []
        above_r: list[npt.NDArray[np.int64]] = []
        for chunk_l, chunk_r, codes, tf in read_spill(spilled):
            score = model.probability_codes(
                codes, tf, extra_log2=-np.log2(rows[chunk_r].astype(np.float64)))
            keep = score >= self.threshold
            above_l.append(chunk_l[keep].astype(np.int64))
            above_r.append(chunk_r[keep].astype(np.int64))
        li = np.concatenate(above_l) if above_l else np.zeros(0, dtype=np.int64)
        ri = np.concatenate(above_r) if above_r else np.zeros(0, dtype=np.int64)
        if not len(li):
            return _empty_candidates()
        ev = compare_pairs(side, self.right, li, ri, self.frequencies,
                           name_scale=self.name_scale)
        return _candidates(side, self.right, li, ri, ev, model, self.threshold, rows)

    # -- the same passes by hashed buckets of blocking keys ----------------------------------
    #
    # An engine that cannot give every task the whole right side (Spark's co-group plan) sends
    # each left and right record to the buckets of its live keys (:meth:`bucket_rows`) and
    # compares bucket by bucket: a bucket's pairs are those sharing a key of that bucket and
    # owned by it (:func:`~linkmatch.compare.blocking.owned_pairs`), so that every blocked pair
    # is compared exactly once. Pattern counts are exact integer sums and candidates are
    # merged by :func:`group_persons`, so the results equal the batch passes'.

    def slim(self) -> Job:
        """This job without the right side (what bucket tasks need: global values only)."""
        out = copy.copy(self)
        for name in ("right", "right_keys", "right_band_keys", "right_lookup", "right_names",
                     "right_person_rows", "index"):
            vars(out).pop(name, None)
        return out

    def bucket_rows(self, table: pa.Table, buckets: int) -> tuple[npt.NDArray[np.int64],
                                                                  npt.NDArray[np.int64]]:
        """(row, bucket) of each distinct bucket of each row's live keys (after :meth:`plan`)."""
        keys, rows = self.keys(table, held=False)  # a slim job has no right side
        live = in_sorted(keys, self.live_keys)
        code = np.unique(rows[live] * buckets + bucket_of(keys[live], buckets))
        return code // buckets, code % buckets

    def _bucket_pairs(self, left: EncodedSide, lt: pa.Table, right: EncodedSide, rt: pa.Table,
                      bucket: int, buckets: int) -> Iterator[tuple[npt.NDArray[np.int64],
                                                                   npt.NDArray[np.int64]]]:
        """The pairs bucket ``bucket`` compares, sorted by (left row, right row), in chunks of
        whole left rows and at most about ``_CHUNK_PAIRS`` blocked pairs (as the batch passes:
        one bucket of a skewed job may block many pairs)."""
        sides = []
        for side, table in ((left, lt), (right, rt)):
            keys, rows = self.keys(table, held=False)
            live = in_sorted(keys, self.live_keys)
            sides.append(key_lists(keys[live], rows[live], side.size))
        (l_off, l_keys), (r_off, r_keys) = sides
        l_rows = np.repeat(np.arange(left.size, dtype=np.int64), np.diff(l_off))
        r_rows = np.repeat(np.arange(right.size, dtype=np.int64), np.diff(r_off))
        in_l = bucket_of(l_keys, buckets) == bucket
        in_r = bucket_of(r_keys, buckets) == bucket
        r_keys_b, r_rows_b = r_keys[in_r], r_rows[in_r]
        # every key here is live: none is skipped again (a left count of one each, no cap)
        index = BlockIndex.from_counts(
            (r_keys_b, r_rows_b), np.ones(len(np.unique(r_keys_b)), dtype=np.int64),
            max_block_pairs=np.iinfo(np.int64).max)
        for li, ri in index.pair_chunks(l_keys[in_l], l_rows[in_l], max_pairs=_CHUNK_PAIRS):
            own = owned_pairs(li, ri, (l_off, l_keys), (r_off, r_keys), bucket, buckets)
            yield li[own], ri[own]

    def _bucket_sides(self, left: pa.Table, right: pa.Table) -> tuple[EncodedSide, EncodedSide]:
        check_table(right, self.schema, self.labels[1])
        return self.side(left), EncodedSide(right)

    def bucket_patterns(self, left: pa.Table, right: pa.Table, bucket: int,
                        buckets: int) -> _Patterns:
        """Pass 1 over one bucket: the pattern counts of the pairs it owns."""
        ls, rs = self._bucket_sides(left, right)
        none = np.zeros(0, dtype=np.int64)
        total = self._pair_patterns(ls, rs, none, none)
        for li, ri in self._bucket_pairs(ls, left, rs, right, bucket, buckets):
            _add_patterns(total, self._pair_patterns(ls, rs, li, ri))
        return total

    def bucket_score(self, left: pa.Table, right: pa.Table, bucket: int,
                     buckets: int) -> pd.DataFrame:
        """Pass 2 over one bucket: candidates of the pairs it owns above the threshold."""
        assert self.model is not None
        assert self.frequencies is not None
        ls, rs = self._bucket_sides(left, right)
        rows = self.person_rows.of(rs.pid)
        frequencies, model = self.frequencies, self.model
        return _concat_candidates(
            _candidates(ls, rs, li, ri,
                        compare_pairs(ls, rs, li, ri, frequencies, name_scale=self.name_scale),
                        model, self.threshold, rows)
            for li, ri in self._bucket_pairs(ls, left, rs, right, bucket, buckets) if len(li))


    def manifest(self, candidates: pd.DataFrame, pairs_compared: int,
                 one_to_one: bool) -> dict[str, Any]:
        """The fields of a run's manifest that do not depend on the engine."""
        assert self.model is not None
        assert self.index is not None
        total_pairs = self.left_rows * self.right.size
        return {
            "operation": "match",
            "library_version": __version__,
            "format": ENCODED_FORMAT,
            "key_fingerprint": self.left_manifest.get("key_fingerprint"),
            "key_id": self.left_manifest.get("key_id"),
            "schema_fingerprint": self.left_manifest.get("schema_fingerprint"),
            "threshold": self.threshold,
            "max_block_pairs": self.max_block_pairs,
            "name_bands": None if self.name_bands is None else {
                **asdict(self.name_bands), "cap_in_force": self.name_bands.cap_for(self.left_rows)},
            "one_to_one": one_to_one,
            "candidate_evidence": self.candidate_evidence,
            # whether both files were signed by holders whose public keys the unit trusts
            "authenticated": self.authenticated,
            "signers": dict(self.signers),
            "input_content_sha256": {"left": self.left_manifest.get("content_sha256"),
                                     "right": self.right_manifest.get("content_sha256")},
            # a side with decoys must screen the candidates before the other side reveals
            "decoy_rows": {side: int(m.get("counts", {}).get("decoy_rows", 0))
                           for side, m in (("left", self.left_manifest),
                                           ("right", self.right_manifest))},
            # keyed by each holder (decoys.decoy_count_mac): the other holder checks the count
            "decoy_macs": {side: m.get("decoy_mac") for side, m in (("left", self.left_manifest),
                                                                   ("right", self.right_manifest))},
            "screened": [],
            "counts": {
                "left_rows": self.left_rows,
                "right_rows": self.right.size,
                "left_persons": self.left_persons,
                "right_persons": len(set(self.right.pid.tolist())),
                # their candidates' odds are divided by their distinct rows (PersonRows)
                "right_persons_with_several_rows": len(self.person_rows.pids),
                "pairs_compared": pairs_compared,
                "reduction_ratio": 1.0 - pairs_compared / total_pairs if total_pairs else 1.0,
                "block_keys_shared": self.index.stats.keys_shared,
                "block_keys_skipped": self.index.stats.keys_skipped,
                "candidates": len(candidates),
            },
            "model": self.model.to_dict(),
        }


def block_cap(max_block_pairs: int | None, left_rows: int) -> int:
    """The most pairs a blocking key's block may hold before it is skipped.

    ``None`` (the default everywhere) scales the cap with the job: as many pairs as the left
    side has rows, at least :data:`DEFAULT_MAX_BLOCK_PAIRS`. A fixed cap skips more and more
    keys as the files grow (block sizes grow with both sides), which loses true pairs exactly
    where the job is large: measured with ``benchmarks/blocking.py`` on 1,000,000 × 50,000,
    a fixed 50,000 kept 90.7 % of the true pairs (76 million pairs compared), the automatic cap
    95.1 % (256 million, 0.35 % of all pairs). Each key then costs at most one comparison per
    left record on average, so the work stays linear in the left side for a given right side.
    """
    if max_block_pairs is not None:
        return max_block_pairs
    return max(DEFAULT_MAX_BLOCK_PAIRS, left_rows)


def _by_row(keys_a: npt.NDArray[np.int64], rows_a: npt.NDArray[np.int64],
            keys_b: npt.NDArray[np.int64], rows_b: npt.NDArray[np.int64],
            num_rows: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Two (key, row) lists, each grouped by row, as one grouped by row (a row's ``a`` keys
    first): blocking walks a row's keys together."""
    count_a = np.bincount(rows_a, minlength=num_rows)
    count_b = np.bincount(rows_b, minlength=num_rows)
    start = np.cumsum(count_a + count_b) - (count_a + count_b)
    first_a = np.cumsum(count_a) - count_a
    first_b = np.cumsum(count_b) - count_b
    keys = np.empty(len(keys_a) + len(keys_b), dtype=np.int64)
    rows = np.empty(len(keys), dtype=np.int64)
    at_a = start[rows_a] + np.arange(len(keys_a)) - first_a[rows_a]
    at_b = start[rows_b] + count_a[rows_b] + np.arange(len(keys_b)) - first_b[rows_b]
    keys[at_a], rows[at_a] = keys_a, rows_a
    keys[at_b], rows[at_b] = keys_b, rows_b
    return keys, rows


def _nationality(table: pa.Table) -> npt.NDArray[np.int64]:
    """The keyed nationality token of each row (0: none), as the name bands mix it in."""
    return np.asarray(table.column("nat").to_numpy(), dtype=np.int64)


def bands_setting(bands: NameBands | None) -> dict[str, int | None] | None:
    """The name bands' setting as a manifest and a checkpoint record it (None: not used)."""
    return asdict(bands) if bands is not None else None


def _add_patterns(total: _Patterns, part: _Patterns) -> None:
    """Add the pair part of ``part`` (one chunk of a batch's pairs) to ``total``."""
    total.pairs += part.pairs
    total.histogram.update(part.histogram)
    total.rare_histogram.update(part.rare_histogram)
    total.tf_hist.update(part.tf_hist)
    for lvl, v in part.tf_sum.items():
        total.tf_sum[lvl] = total.tf_sum.get(lvl, 0) + v
        total.tf_n[lvl] = total.tf_n.get(lvl, 0) + part.tf_n[lvl]


def _div_round(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def _person_frequencies(side: EncodedSide, frequencies: NameFrequencies) -> tuple[
        int, int, tuple[str, int, int] | None, tuple[str, int, int] | None]:
    """Per-person mean frequency of the whole name, as exact fixed-point sums.

    Returns the sum over the persons that start and end inside these rows (all but the first
    and last), their number, and the first and last person's partial sums (pid, Σ f, rows),
    which may continue in the neighbouring batch.
    """
    named = side.name_count > 0
    if not named.any():
        return 0, 0, None, None
    keys = side.name_keys[named]
    f = np.rint(np.exp2(frequencies.set_log2(keys, keys != 0)) * _F_UNIT).astype(np.int64)
    pids = side.pid[named]
    starts = np.flatnonzero(np.r_[True, pids[1:] != pids[:-1]])
    sums = np.add.reduceat(f, starts)
    rows = np.diff(np.r_[starts, len(pids)])
    head = (str(pids[0]), int(sums[0]), int(rows[0]))
    if len(starts) == 1:
        return 0, 0, head, None
    tail = (str(pids[starts[-1]]), int(sums[-1]), int(rows[-1]))
    inner = sum(_div_round(int(s), int(n)) for s, n in zip(sums[1:-1].tolist(),
                                                            rows[1:-1].tolist(), strict=True))
    return inner, len(starts) - 2, head, tail


def _merge_counts(parts: list[KeyCounts]) -> KeyCounts:
    """Merge many count tables, a few at a time (bounded temporary memory)."""
    while len(parts) > 1:
        parts = [NameFrequencies.merge(parts[i:i + 8]) for i in range(0, len(parts), 8)]
    return parts[0] if parts else NameFrequencies.count(np.zeros((0, 1), dtype=np.int64))


# ---------------------------------------------------------------------------- local engine

_WORKER: dict[str, Any] = {}


def _release_arrow_memory() -> None:
    """Hand memory Arrow's allocator keeps for reuse back to the system.

    Arrow's default pool (mimalloc) keeps freed pages for later allocations; in a long
    streaming run the batches it held stay counted in the process's memory. Called between
    batches and phases, it keeps a match's footprint at what the current batch needs.
    """
    pa.default_memory_pool().release_unused()


def _run_stats(k: int) -> _Stats:
    job: Job = _WORKER["job"]
    stats = job.stats(_WORKER["source"].batch(k))
    _release_arrow_memory()
    return stats


def _run_patterns(k: int) -> _Patterns:
    job: Job = _WORKER["job"]
    spill_dir: Path | None = _WORKER.get("spill")
    batch = _WORKER["source"].batch(k)
    if spill_dir is None or spill_size(spill_dir) >= _WORKER["spill_budget"]:
        patterns = job.patterns(batch, k)
    else:
        with PairSpill(spill_dir / f"pairs-{k:06d}") as spill:
            patterns = job.patterns(batch, k, spill=spill)
    _release_arrow_memory()
    return patterns


def _run_score(k: int) -> tuple[int, pd.DataFrame]:
    job: Job = _WORKER["job"]
    part_dir: Path | None = _WORKER["parts"]
    path = part_dir / f"part-{k:06d}.parquet" if part_dir is not None else None
    if path is not None and path.exists():
        return k, pd.read_parquet(path)
    spill_dir: Path | None = _WORKER.get("spill")
    spilled = spill_dir / f"pairs-{k:06d}" if spill_dir is not None else None
    part = job.score(_WORKER["source"].batch(k),
                     spilled if spilled is not None and spilled.exists() else None)
    if path is not None:
        write_table(part, path)
    _release_arrow_memory()
    return k, part


def _map(fn: Callable[[int], Any], n: int, workers: int, phase: str,
         progress: ProgressFn | None) -> Iterator[Any]:
    """``fn`` over batches 0..n-1, results in batch order; in worker processes if asked.

    Workers are forked after the job is in ``_WORKER``: they share its memory (the right side,
    the plan, the model) copy-on-write and load their own batches, so nothing large is sent.
    """
    if progress is not None:
        progress(phase, 0, n)
    if workers <= 1 or n <= 1:
        for k in range(n):
            yield fn(k)
            if progress is not None:
                progress(phase, k + 1, n)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(min(workers, n)) as pool:
        for done, result in enumerate(pool.imap(fn, range(n)), start=1):
            yield result
            if progress is not None:
                progress(phase, done, n)


def _run(job: Job, source: LeftSource, *, checkpoint: Path | None, workers: int,
         one_to_one: bool, progress: ProgressFn | None,
         verify: Callable[[], None] | None = None) -> MatchResult:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    n = len(source)
    _WORKER.clear()
    _WORKER.update(job=job, source=source, parts=None, spill=None)
    spill_dir: Path | None = None
    try:
        t0 = time.perf_counter()
        job.plan(_map(_run_stats, n, workers, "statistics", progress))
        if verify is not None:
            verify()
        _release_arrow_memory()
        timings["index"] = time.perf_counter() - t0
        inputs = {
            "left": job.left_manifest.get("content_sha256"),
            "right": job.right_manifest.get("content_sha256"),
            "threshold": job.threshold,
            "max_block_pairs": job.max_block_pairs,
            "name_bands": bands_setting(job.name_bands),
            "chunk_rows": [s[2] for s in source.spans[:1]],
            "batches": n,
            "library_version": __version__,
        }
        resumed = load_state(checkpoint, inputs)
        if resumed is not None:
            job.model, pairs_compared = resumed
            timings["compare"] = timings["model"] = 0.0
        else:
            t0 = time.perf_counter()
            # pass 1 spills each pair's pattern code and name frequency (18 bytes), within a
            # disk budget, so that pass 2 compares again only the pairs it keeps
            spill_dir = spill_directory(checkpoint)
            _WORKER.update(spill=spill_dir, spill_budget=spill_budget(spill_dir))
            results = list(_map(_run_patterns, n, workers, "compare", progress))
            timings["compare"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            pairs_compared = sum(r.pairs for r in results)
            job.fit(results)
            del results
            _release_arrow_memory()
            timings["model"] = time.perf_counter() - t0
            assert job.model is not None
            save_state(checkpoint, inputs, job.model, pairs_compared)
        t0 = time.perf_counter()
        _WORKER["parts"] = checkpoint
        parts = [part for _, part in _map(_run_score, n, workers, "score", progress)]
        candidates = final_candidates(parts, one_to_one, job.candidate_evidence)
        timings["score"] = time.perf_counter() - t0
    finally:
        _WORKER.clear()
        if spill_dir is not None:
            shutil.rmtree(spill_dir, ignore_errors=True)
    timings["total"] = time.perf_counter() - started
    manifest = {
        **job.manifest(candidates, pairs_compared, one_to_one),
        "workers": workers,
        "batches": n,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    return MatchResult(candidates=candidates, manifest=manifest)


def check_options(threshold: float | None, max_block_pairs: int | None,
                  chunk_rows: int) -> float:
    """The threshold to use (the default for ``None``), after refusing absurd options.

    Part of the engines' surface (with :func:`load_state`, :func:`save_state` and
    :func:`group_persons`): every engine checks options, resumes and merges the same way.

    Raises:
        ConfigError: a threshold outside [0, 1], or a non-positive block cap or batch size.
    """
    threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    if not 0.0 <= threshold <= 1.0 or math.isnan(threshold):
        raise ConfigError("threshold must be between 0 and 1")
    if (max_block_pairs is not None and max_block_pairs < 1) or chunk_rows < 1:
        raise ConfigError("max_block_pairs and chunk_rows must be positive")
    return threshold


def bands_option(name_bands: bool | NameBands | None) -> NameBands | None:
    """The name bands an option asks for: ``True`` the default setting, false none.

    Raises:
        ConfigError: neither a bool nor a :class:`~linkmatch.compare.blocking.NameBands`.
    """
    if isinstance(name_bands, NameBands):
        return name_bands
    if name_bands is None or isinstance(name_bands, bool):
        return NameBands() if name_bands else None
    raise ConfigError("name_bands must be True, False or a NameBands setting")


def match_encoded(
    left_manifest: dict[str, Any],
    left_table: pa.Table,
    right_manifest: dict[str, Any],
    right_table: pa.Table,
    *,
    threshold: float | None = None,
    max_block_pairs: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    one_to_one: bool = False,
    name_bands: bool | NameBands = False,
    checkpoint: Path | None = None,
    workers: int = 1,
    progress: ProgressFn | None = None,
    trusted: Sequence[TrustedKey] | None = None,
) -> MatchResult:
    """Match two encoded tables held in memory; see the module docstring.

    Args:
        left_manifest, left_table, right_manifest, right_table: the two encodings (the left
            one sorted by pseudonym, as encode writes it).
        threshold: minimum score of a candidate (default :data:`DEFAULT_THRESHOLD`); 0 returns
            every compared pair.
        max_block_pairs: blocks with more pairs than this are skipped (counted); default
            scaled with the job (:func:`block_cap`).
        chunk_rows: left rows compared per batch (bounds memory; results do not depend on it).
        one_to_one: keep at most one candidate per left person and per right person, chosen
            greedily by descending score (for files known to hold each person once).
        name_bands: also block on bands of the name filters (bit-sampling LSH, ``True`` for
            the default :class:`~linkmatch.compare.blocking.NameBands`): finds true pairs
            whose names carry compounded corruptions, at the cost of more pairs compared and
            a lower precision (``docs/benchmarks.md``). Off by default.
        checkpoint: a private directory for resumable runs: the fitted model and each batch's
            candidates are kept there as they are done, and reused by a later call with the
            same inputs and parameters (so a killed run resumes where it stopped, with
            identical results). The caller removes it after success.
        workers: processes comparing batches in parallel (results do not depend on it).
        progress: called with (phase, batches done, batches in all).
        trusted: the holders' public keys (:func:`~linkmatch.pseudonymise.signing.
            load_trusted_key`): both files must be signed by one of them, else they are
            refused. None (the default) matches unsigned files and records
            ``"authenticated": false`` in the manifest.

    Raises:
        EncodingMismatchError: the files cannot be compared.
        ConfigError: invalid parameters.
    """
    threshold = check_options(threshold, max_block_pairs, chunk_rows)
    check_compatible(left_manifest, right_manifest)
    job = Job(left_manifest, right_manifest, right_table, threshold=threshold,
              max_block_pairs=max_block_pairs, name_bands=bands_option(name_bands),
              trusted=trusted)
    source = LeftSource(table=left_table, chunk_rows=chunk_rows)
    return _run(job, source, checkpoint=checkpoint, workers=workers, one_to_one=one_to_one,
                progress=progress)


def match_files(
    left: str | os.PathLike[str],
    right: str | os.PathLike[str],
    *,
    threshold: float | None = None,
    max_block_pairs: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    one_to_one: bool = False,
    name_bands: bool | NameBands = False,
    checkpoint: Path | None = None,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    trusted: Sequence[TrustedKey] | None = None,
) -> MatchResult:
    """Match two encoded files, streaming the left one (memory: the right file and a few
    batches). Same options and results as :func:`match_encoded`; ``workers`` defaults to one
    process per core.

    The left file's content digest is checked while its statistics are gathered, before any
    candidate is produced.

    Raises:
        EncodingMismatchError: the files cannot be compared.
        InputDataError: a file is damaged, changed since encoding, or not an encoded file.
        ConfigError: invalid parameters.
    """
    threshold = check_options(threshold, max_block_pairs, chunk_rows)
    left_manifest = read_manifest(left)
    right_manifest, right_table = read_encoded(right)
    check_compatible(left_manifest, right_manifest)
    job = Job(left_manifest, right_manifest, right_table, threshold=threshold,
              max_block_pairs=max_block_pairs, name_bands=bands_option(name_bands),
              labels=(str(left), str(right)), trusted=trusted)
    try:
        check_row_groups(pq.ParquetFile(left), job.schema, str(left),
                         size=os.stat(left).st_size)
    except (OSError, pa.ArrowException):
        raise InputDataError("is not a readable encoded file (.lmenc)", file=str(left)) \
            from None
    source = LeftSource(path=Path(left), chunk_rows=chunk_rows)

    def verify() -> None:
        digest = ContentDigest()
        # pre_buffer off: with it, the reader keeps every row group it pre-fetched until it
        # is closed, and memory grows with the file (3.2 GiB for 10 million rows, measured)
        file = pq.ParquetFile(left, pre_buffer=False)
        for batch in file.iter_batches(batch_size=65_536):
            digest.update(batch)
        if digest.hexdigest() != left_manifest.get("content_sha256"):
            raise InputDataError(
                "content does not match its manifest (changed or damaged since it was "
                "encoded); ask the holder for a fresh copy", file=str(left))

    return _run(job, source, checkpoint=checkpoint,
                workers=default_workers() if workers is None else workers,
                one_to_one=one_to_one, progress=progress, verify=verify)


def _empty_candidates() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in CANDIDATE_COLUMNS})


def _concat_candidates(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The candidates of a batch's or bucket's chunks of pairs, in order, as one frame."""
    kept = [p for p in parts if len(p)]
    if not kept:
        return _empty_candidates()
    return kept[0] if len(kept) == 1 else pd.concat(kept, ignore_index=True)


def load_state(checkpoint: Path | None,
               inputs: dict[str, Any]) -> tuple[FellegiSunter, int] | None:
    """The model and pair count of an interrupted run with the same inputs, if any."""
    if checkpoint is None:
        return None
    path = checkpoint / "model.json"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if state.get("inputs") != inputs:
        return None
    return FellegiSunter.from_state(state["model"]), int(state["pairs_compared"])


def save_state(checkpoint: Path | None, inputs: dict[str, Any], model: FellegiSunter,
               pairs_compared: int) -> None:
    """Keep the fitted model and pair count in the checkpoint (parts of another model go)."""
    if checkpoint is None:
        return
    checkpoint.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in checkpoint.glob("part-*.parquet"):
        stale.unlink()  # parts of another model are not ours
    write_json({"inputs": inputs, "model": model.to_state(), "pairs_compared": pairs_compared},
               checkpoint / "model.json")


@dataclass
class PersonRows:
    """For the right persons with more than one distinct row: how many (others have one).

    A reference person recorded under several names (aliases) offers a non-matching record as
    many chances of a chance agreement as it has rows, and a candidate keeps the person's best
    row. The model scores each row pair as if it were the only one, so the best of k rows of a
    non-match is k times likelier than one row to reach a given evidence level, and its odds
    are over-stated k-fold; a true match gains little from its other rows (it is one of them).
    Dividing the odds by k corrects that. Measured at 200,000 × 10,000 before the correction
    (key 1, seed 0): candidates scored 0.5–0.65 were true 41 % of the time for persons with one
    row, 25 % with two and 22 % with three or more. Rows that compare alike (the same name keys
    and the same date tokens, such as one name in two scripts) count once.
    """

    pids: npt.NDArray[np.object_]  # sorted
    rows: npt.NDArray[np.int64]

    def of(self, pids: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
        """The number of distinct rows of each pid's person (1 for persons not listed)."""
        out = np.ones(len(pids), dtype=np.int64)
        if not len(self.pids) or not len(pids):
            return out
        pos = np.minimum(np.searchsorted(self.pids, pids), len(self.pids) - 1)
        hit = self.pids[pos] == pids
        out[hit] = self.rows[pos[hit]]
        return out


def _person_rows(side: EncodedSide) -> PersonRows:
    """:class:`PersonRows` of one encoded side."""
    frame = pd.DataFrame(side.name_keys)
    content = frame.columns.tolist()
    for name in ("dob_full", "dob_y0"):
        frame[name] = side.dob[name]
        content.append(name)
    frame["pid"] = side.pid
    distinct = frame.drop_duplicates(["pid", *content])["pid"].value_counts()
    distinct = distinct[distinct > 1].sort_index()
    return PersonRows(pids=np.asarray(distinct.index.tolist(), dtype=object),
                      rows=distinct.to_numpy().astype(np.int64))


def _candidates(left: EncodedSide, right: EncodedSide, li: npt.NDArray[np.int64],
                ri: npt.NDArray[np.int64], ev: PairEvidence, model: FellegiSunter,
                threshold: float, right_rows: npt.NDArray[np.int64]) -> pd.DataFrame:
    """The pairs scoring at least ``threshold``, as candidate rows.

    ``right_rows``: for each right row, how many distinct rows its person has
    (:class:`PersonRows`); a pair's odds are divided by it (see there).
    """
    score = model.probability(ev.levels, ev.name_tf,
                              extra_log2=-np.log2(right_rows[ri].astype(np.float64)))
    keep = score >= threshold
    lv = ev.levels[keep]
    data: dict[str, Any] = {
        "left_id": left.pid[li[keep]],
        "right_id": right.pid[ri[keep]],
        "score": score[keep],
        "name_score": np.round(ev.name_score[keep], 4),
    }
    names = {"name": "name_level", "dob": "dob_level", "place_of_birth": "place_of_birth"}
    for j, comp in enumerate(COMPARISONS):
        labels = np.asarray(comp.levels, dtype=object)
        data[names.get(comp.name, comp.name)] = labels[lv[:, j]]
    return pd.DataFrame(data)


def assign_one_to_one(frame: pd.DataFrame) -> pd.DataFrame:
    """Greedy one-to-one assignment over candidates sorted by descending score.

    Each person appears at most once on each side: the best-scoring pair wins and removes both
    persons from further pairs (as anonlink's greedy solver). Only for files in which every
    person is recorded once; an asylum file with repeat applicants is not such a file.
    """
    used_left: set[str] = set()
    used_right: set[str] = set()
    keep = []
    for i, (left_id, right_id) in enumerate(zip(frame["left_id"], frame["right_id"],
                                                strict=True)):
        if left_id in used_left or right_id in used_right:
            continue
        used_left.add(left_id)
        used_right.add(right_id)
        keep.append(i)
    return frame.iloc[keep].reset_index(drop=True)


def final_candidates(parts: list[pd.DataFrame], one_to_one: bool,
                     evidence: str) -> pd.DataFrame:
    """Every engine's last step: one row per person pair (:func:`group_persons`), at most one
    per person with ``one_to_one``, then the evidence the holders agreed to disclose
    (:func:`linkmatch.disclosure.disclose`)."""
    candidates = group_persons(parts)
    if one_to_one:
        candidates = assign_one_to_one(candidates)
    return disclose(candidates, evidence)


def group_persons(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per (left person, right person): the best-scoring alias pair; sorted."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_candidates()
    frame = pd.concat(parts, ignore_index=True)
    frame["score"] = frame["score"].round(6)
    # every column decides a tie, so that the row kept for a person pair does not depend on
    # the order of the parts (batches locally, buckets on Spark's co-group plan)
    rest = [c for c in CANDIDATE_COLUMNS if c not in {"score", "name_score", "left_id",
                                                        "right_id"}]
    frame = frame.sort_values(["score", "name_score", "left_id", "right_id", *rest],
                              ascending=[False, False, True, True, *([True] * len(rest))],
                              kind="mergesort")
    frame = frame.drop_duplicates(["left_id", "right_id"], keep="first")
    return frame.loc[:, list(CANDIDATE_COLUMNS)].reset_index(drop=True)
