"""What encoding cannot go below: the per-distinct-value work, against issue 4's 10x budget.

Issue 4 asks ``encode_file`` for ten times clkhash's records/s on the same three fields (given
name, surname, date of birth). Names repeat, so linkmatch reads each *distinct* value once per
worker and memoises the per-word work; what is left is the normalisation of every distinct name
part (scripts, transliteration, particles and compounds, variant keys: ``name_tokens``) and date
(``parse_date``). This script times only that, with cold memo caches, on one core, for the same
generated records as ``benchmarks/speed.py`` -- plus pyarrow's multithreaded CSV reading of the
file -- and prints the wall time that ten times clkhash's rate allows for the whole job on two
cores. Added to it: the pseudonyms (a keyed MAC per record) and the writing of the encoded
rows with Parquet's fastest settings. No Bloom filter, token or blocking key is counted.

Run: ``.venv/bin/python benchmarks/encode_floor.py [--records 1000000]
[--clkhash-rate 64521]`` (the rate is clkhash's ``generate_clk_from_csv`` on two cores, as
``benchmarks/speed.py`` prints it; about 30 s).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import linkmatch
from linkmatch._parallel import default_workers
from linkmatch.encode import encode_frame
from linkmatch.normalise.dates import DateParseError, parse_date
from linkmatch.normalise.names import _clear_caches, name_tokens
from linkmatch.pseudonymise.prf import KeyedPRF
from linkmatch.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--clkhash-rate", type=float, default=64_521.0,
                        help="clkhash's records/s on this machine (benchmarks/speed.py)")
    args = parser.parse_args()
    data = generate(seed=3, n_left=args.records, n_right=max(args.records // 20, 10))
    three = data.left[["record_id", "given_names", "family_name", "date_of_birth"]]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "three.csv"
        three.to_csv(path, index=False)
        t0 = time.perf_counter()
        table = pacsv.read_csv(path)
        t_csv = time.perf_counter() - t0
    frame = table.to_pandas()
    parts = pd.unique(pd.concat([frame["given_names"], frame["family_name"]]).fillna(""))
    dates = pd.unique(frame["date_of_birth"].fillna("").astype(str))
    _clear_caches()
    name_tokens("Warm Up", None)  # loads the name dictionaries (not per-value work)
    t0 = time.perf_counter()
    for part in parts:
        name_tokens(part, None)
    t_names = time.perf_counter() - t0
    today = dt.date(2026, 11, 30)
    t0 = time.perf_counter()
    for text in dates:
        with contextlib.suppress(DateParseError):  # an invalid date costs its parse too
            parse_date(text, today=today)
    t_dates = time.perf_counter() - t0
    # every record gets its pseudonym (a keyed MAC of its id), and its encoded row written:
    # the rows of 100,000 records written with the fastest Parquet settings (no compression,
    # no dictionary), scaled to the records
    prf = KeyedPRF(bytes(range(32)))
    t0 = time.perf_counter()
    prf.macs_strings(table.column("record_id").cast(pa.string()))
    t_pid = time.perf_counter() - t0
    sample = min(100_000, args.records)
    encoded = encode_frame(three.head(sample),
                           linkmatch.Key.from_bytes(bytes(range(9, 41)), weak_ok=True),
                           _digest=False).table
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        pq.write_table(encoded, Path(tmp) / "rows.parquet", compression="none",
                       use_dictionary=False)
        t_write = (time.perf_counter() - t0) * args.records / sample
    cores = default_workers()
    budget = args.records / (10 * args.clkhash_rate)
    floor = t_csv + (t_names + t_dates + t_pid) / cores + t_write
    print(f"records                             {args.records:,}")
    print(f"pyarrow CSV read (threads)          {t_csv:.2f} s")
    print(f"distinct name parts                 {len(parts):,}: name_tokens {t_names:.2f} s "
          "(one core)")
    print(f"distinct dates                      {len(dates):,}: parse_date {t_dates:.2f} s "
          "(one core)")
    print(f"pseudonyms (keyed MACs of the ids)  {t_pid:.2f} s (one core)")
    print(f"encoded rows written (fastest)      {t_write:.2f} s "
          f"({encoded.nbytes * args.records / sample / 1e6:,.0f} MB)")
    print(f"floor on {cores} cores (perfect split)   {floor:.2f} s")
    print(f"10x clkhash ({args.clkhash_rate:,.0f}/s) allows   {budget:.2f} s for the whole job")


if __name__ == "__main__":
    main()
