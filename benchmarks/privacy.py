"""What a linkage unit reads from encoded files, per threat model, on two name distributions.

For each encoding setting asked for, :func:`linkmatch.audit.simulate` encodes a population under
a fresh key and runs every attack of the harness as the linkage unit would (no key; the plain
distribution of the population as a background of its own; T2 adds 1 % known pairs). Two
populations, so that no figure speaks of one generator only:

* ``synth``: the project's asylum-like generator (the audit's default population: records of
  ``seed``, background of ``seed + 1``);
* ``wikidata``: persons whose names are drawn from the real Latin spellings of
  ``data/wd_arabic_name_tokens.tsv`` (Wikidata, CC0) by their number of occurrences: a given
  name, a father's name and a family name, sometimes a second given name, families of two to
  five siblings sharing father's and family name and often a defaulted date of birth. Split at
  random into the records attacked and the attacker's background, as ``linkmatch audit
  --background`` does.

Run: ``.venv/bin/python benchmarks/privacy.py [--records 20000] [--populations synth wikidata]
[--settings default unhardened]``. Prints one line per (population, setting) with the stable
keys of :meth:`linkmatch.audit.AuditResult.threat_models`; ``--json FILE`` writes them all.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import pandas as pd

import linkmatch
from linkmatch.audit import simulate
from linkmatch.schema import Schema

SETTINGS: dict[str, Schema] = {
    "default": Schema(),
    "unhardened": Schema().unhardened(),
    "blip 0.05": Schema(name_blip=0.05),
}
NATIONALITIES = (("IRQ", 5), ("SYR", 8), ("AFG", 6), ("ERI", 4), ("SOM", 3), ("IRN", 3),
                 ("YEM", 2), ("SDN", 2), ("TUR", 2), ("MAR", 1))
KEYS = ("t1.whole_names_one_to_one", "t1.singled_out", "t1.structure.whole_names_one_to_one",
        "t1.frequency.whole_names_one_to_one", "t1.length.spearman",
        "t2.whole_names_one_to_one", "t2.singled_out", "t2.dictionary.whole_names_one_to_one",
        "t2.structure.whole_names_one_to_one")


def wikidata_population(size: int, seed: int) -> pd.DataFrame:
    """Persons named from the Wikidata spellings, in families (see the module docstring)."""
    path = Path(linkmatch.__file__).parent / "data" / "wd_arabic_name_tokens.tsv"
    latin, weights = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0].isalpha():
            latin.append(parts[0].capitalize())
            weights.append(int(parts[2]))
    rng = random.Random(seed)

    def name() -> str:
        return rng.choices(latin, weights)[0]

    rows: list[dict[str, str]] = []
    while len(rows) < size:
        father, family = name(), name()
        year = rng.randint(1950, 2008)
        defaulted = rng.random() < 0.3
        siblings = rng.choice((1, 1, 1, 2, 3, 4, 5))
        nationality = rng.choices([n for n, _ in NATIONALITIES],
                                  [w for _, w in NATIONALITIES])[0]
        for _ in range(siblings):
            given = name() + (" " + name() if rng.random() < 0.2 else "")
            born = year + rng.randint(0, 3 * (siblings - 1))
            date = f"{born}-01-01" if defaulted else \
                f"{born}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            rows.append({"record_id": f"W{len(rows):07d}", "given_names": given,
                         "family_name": f"{father} {family}", "full_name": "",
                         "date_of_birth": date, "sex": rng.choice("MF"),
                         "nationality": nationality, "place_of_birth": "",
                         "document_number": "", "address": ""})
    return pd.DataFrame(rows[:size])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--populations", nargs="+", default=["synth", "wikidata"],
                        choices=["synth", "wikidata"])
    parser.add_argument("--settings", nargs="+", default=["default"], choices=list(SETTINGS))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    out = []
    for population in args.populations:
        people = wikidata_population(2 * args.records, args.seed) \
            if population == "wikidata" else None
        for setting in args.settings:
            start = time.perf_counter()
            result = simulate(schema=SETTINGS[setting], records=args.records, seed=args.seed,
                              population=people)
            models = result.threat_models()
            seconds = time.perf_counter() - start
            out.append({"population": population, "setting": setting,
                        "records": result.records, "seconds": round(seconds, 1), **models})
            print(f"{population:9s} {setting:11s} records {result.records:,} "
                  f"({seconds:.0f} s): " + ", ".join(f"{k} {models[k]:.4f}" for k in KEYS),
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
