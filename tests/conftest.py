"""Shared fixtures: small generated data sets and keys (the project's own generator)."""

from __future__ import annotations

from pathlib import Path

import pytest

from linkmatch.pseudonymise.keys import Key, generate_key_file
from linkmatch.synth import SynthData, generate


@pytest.fixture(scope="session")
def small_data() -> SynthData:
    """A small asylum-like file and reference list with ground truth."""
    return generate(seed=7, n_left=3_000, n_right=300)


@pytest.fixture(scope="session")
def key() -> Key:
    return Key.from_bytes(bytes(range(100, 132)), weak_ok=True)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "linkage.key"
    generate_key_file(path)
    return path


@pytest.fixture(scope="session")
def review_job(small_data: SynthData, key: Key,
               tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One job's files as the three parties hold them (for the review pages).

    ``unit``: the linkage unit's candidates with their manifest; ``revealed``: the left
    holder's reveal of them; ``left``, ``right``: the two holders' inputs; ``linked``: the
    candidates with both sides' record ids (a ``link`` output); ``truth``,
    ``hard_negatives``: the generator's ground truth.
    """
    from linkmatch.api import encode, match, reveal
    from linkmatch.io import write_json, write_table
    from linkmatch.synth import write

    out = tmp_path_factory.mktemp("review-job")
    files = write(small_data, out)
    enc_left, enc_right = encode(small_data.left, key), encode(small_data.right, key)
    result = match(enc_left, enc_right, workers=1)
    write_table(result.candidates, out / "unit.csv")
    write_json(result.manifest, out / "unit.csv.manifest.json")
    revealed = reveal(result.candidates, side="left", encoded=enc_left, records=small_data.left,
                      key=key)
    write_table(revealed, out / "revealed.csv")
    linked = reveal(revealed, side="right", encoded=enc_right, records=small_data.right, key=key)
    write_table(linked, out / "linked.csv")
    write_json(result.manifest, out / "linked.csv.manifest.json")
    return {"unit": out / "unit.csv", "revealed": out / "revealed.csv", "left": files["left"],
            "right": files["right"], "linked": out / "linked.csv", "truth": files["truth"],
            "hard_negatives": files["hard_negatives"]}
