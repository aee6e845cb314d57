"""Titles get low weight, not none: in the name filter, never a name key or a blocking key.

A title word last in its name part, or alone in it, is a family or father's name (Syed, Sheikh,
Mirza): a name key like any other, shared by every spelling of the word.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from linkmatch.compare.dice import dice_pairs
from linkmatch.compare.levels import EncodedSide
from linkmatch.encode import encode_frame, pseudonyms_hex
from linkmatch.pseudonymise.keys import Key
from linkmatch.schema import Schema

KEY = Key.from_bytes(bytes(range(40, 72)), weak_ok=True)


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
    # a title alone in its part is a name: one key, a filter
    assert side.bloom[2].any()
    assert side.name_count[2] == 1
    # shared names under different titles stay close
    assert dice_pairs(side.bloom, side.bloom, np.array([3]), np.array([4]))[0] > 0.6


def test_a_title_last_in_its_part_is_a_family_name() -> None:
    side = _encode([("Mohammad", "Syed"), ("MOHAMMAD", "Sayyid"), ("Mohammad", ""),
                    ("Mohammad", "Said"), ("Sayed Mohammad", ""), ("Mohammad", "سيد"),
                    ("Ghulam Mirza", "Khan"), ("Ghulam", "Khan")])
    keys = [set(side.name_keys[i].tolist()) - {0} for i in range(side.name_keys.shape[0])]
    # the surname is a second name key, the same for every spelling and script
    assert len(keys[0]) == 2
    assert keys[0] == keys[1] == keys[5]
    assert keys[2] < keys[0]
    # ... and never the key of a name it is not (Syed is not Said)
    assert keys[0] != keys[3]
    assert keys[0] & keys[3] == keys[2]
    # before a name, the word is an honorific again: no key of its own
    assert keys[4] == keys[2]
    # last in the given names (Ghulam Mirza) it is a name too
    assert len(keys[6]) == 3
    assert keys[7] < keys[6]


def test_somali_xaaji_is_haji() -> None:
    side = _encode([("Cabdi", "Xaaji"), ("Abdi", "Haji"), ("Xaaji Cabdi", "Warsame"),
                    ("Abdi", "Warsame")])
    keys = [set(side.name_keys[i].tolist()) - {0} for i in range(side.name_keys.shape[0])]
    assert len(keys[0]) == 2
    assert keys[0] == keys[1]
    assert keys[2] == keys[3]  # before a name, an honorific in either spelling
