"""Titles get low weight, not none: in the name filter, never a name key or a blocking key."""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkmatch.compare.dice import dice_pairs
from linkmatch.compare.levels import EncodedSide
from linkmatch.encode import encode_frame, pseudonyms_hex
from linkmatch.pseudonymise.keys import Key
from linkmatch.schema import Schema

KEY = Key.from_bytes(bytes(range(40, 72)))


def _encode(names: list[tuple[str, str]]) -> EncodedSide:
    """The records encoded (unhardened, to look at the filter's bits), in input order."""
    frame = pd.DataFrame({"record_id": [str(i) for i in range(len(names))],
                          "given_names": [g for g, _ in names],
                          "family_name": [f for _, f in names]})
    table = encode_frame(frame, KEY, schema=Schema().unhardened(), job_salt=bytes(16)).table
    position = {p: i for i, p in enumerate(table.column("pid").to_pylist())}
    pids = pseudonyms_hex(KEY, bytes(16).hex(), list(frame["record_id"]))
    return EncodedSide(table.take([position[p] for p in pids]))


def test_a_title_enters_the_filter_but_not_the_keys() -> None:
    side = _encode([("Haji Ahmad", "Karimi"), ("Ahmad", "Karimi"), ("Haji", ""),
                    ("Sheikh Omar", "Said"), ("Haji Omar", "Said")])
    # same name keys with or without the title: the title is no key and no blocking key
    assert side.name_keys[0].tolist() == side.name_keys[1].tolist()
    # ... but it is in the filter: low weight, not none
    assert (side.bloom[0] != side.bloom[1]).any()
    dice = dice_pairs(side.bloom, side.bloom, np.array([0]), np.array([1]))[0]
    assert 0.75 < dice < 1.0
    # a title alone is no name: empty filter, no keys
    assert not side.bloom[2].any()
    assert side.name_count[2] == 0
    # shared names under different titles stay close
    assert dice_pairs(side.bloom, side.bloom, np.array([3]), np.array([4]))[0] > 0.6
