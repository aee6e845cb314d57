"""Tests of the synthetic data generator: contract, determinism, realism invariants."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from linkmatch import synth
from linkmatch.errors import ConfigError

SMALL = {"n_left": 2_000, "n_right": 300}


@pytest.fixture(scope="module")
def data() -> synth.SynthData:
    """One default-size data set, shared: generating it is the slow part (about 2 s)."""
    return synth.generate(seed=11)


def _frames(d: synth.SynthData) -> list[pd.DataFrame]:
    return [d.left, d.right, d.truth, d.hard_negatives]


def _digest(d: synth.SynthData) -> str:
    h = hashlib.sha256()
    for frame in _frames(d):
        h.update(frame.to_csv(index=False).encode("utf-8"))
    return h.hexdigest()


def _name_tokens(row: pd.Series) -> list[str]:
    """Name tokens after the normalisation any matcher does (case, diacritics, punctuation)."""
    parts = [row.given_names, row.family_name]
    text = " ".join(parts) if any(parts) else row.full_name
    text = synth._fold(text).lower()
    return sorted(re.sub(r"[,\-/]", " ", text).split())


def _parse_date(text: str) -> tuple[int, int, int] | None:
    text = text.replace("XX", "00")
    patterns = [(r"(\d{4})-(\d{2})-(\d{2})", "ymd"), (r"(\d{4})-(\d{2})", "ym"), (r"(\d{4})", "y"),
                (r"(\d{4})(\d{2})(\d{2})", "ymd"), (r"(\d{2})-(\d{2})-(\d{4})", "dmy"),
                (r"(\d{2})\.(\d{2})\.(\d{4})", "dmy")]
    for pattern, order in patterns:
        match = re.fullmatch(pattern, text)
        if match:
            values = dict(zip(order, map(int, match.groups()), strict=True))
            return values["y"], values.get("m", 0), values.get("d", 0)
    return None


def test_same_seed_gives_identical_frames_and_other_seed_differs() -> None:
    first = synth.generate(seed=3, **SMALL)
    again = synth.generate(seed=3, **SMALL)
    for a, b in zip(_frames(first), _frames(again), strict=True):
        pd.testing.assert_frame_equal(a, b)
    other = synth.generate(seed=4, **SMALL)
    assert not first.left.equals(other.left)
    assert not first.right.equals(other.right)


def test_same_seed_is_identical_in_another_process_with_other_hash_seed() -> None:
    src = Path(synth.__file__).resolve().parents[1]
    code = ("import hashlib; from linkmatch import synth; d = synth.generate(seed=5, n_left=800, "
            "n_right=120); h = hashlib.sha256()\n"
            "for f in (d.left, d.right, d.truth, d.hard_negatives): "
            "h.update(f.to_csv(index=False).encode('utf-8'))\n"
            "print(h.hexdigest())")
    env = {**os.environ, "PYTHONHASHSEED": "12345",
           "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == _digest(synth.generate(seed=5, n_left=800, n_right=120))


def test_columns_and_dtypes(data: synth.SynthData) -> None:
    assert list(data.left.columns) == list(synth.PERSON_COLUMNS)
    assert list(data.right.columns) == list(synth.PERSON_COLUMNS)
    assert list(data.truth.columns) == ["left_id", "right_id", "corruption"]
    assert list(data.hard_negatives.columns) == ["left_id", "right_id", "kind"]
    for frame in _frames(data):
        for column in frame.columns:
            assert frame[column].dtype == object
            assert frame[column].map(type).eq(str).all(), column
    assert not data.left.isna().any().any()
    assert set(data.left.sex) <= {"M", "F", "X", ""}
    assert set(data.hard_negatives.kind) == {"sibling", "namesake"}


def test_sizes_and_ids(data: synth.SynthData) -> None:
    assert len(data.left) == 20_000
    assert data.left.record_id.is_unique
    assert data.left.record_id.str.fullmatch(r"A\d{7}").all()
    assert data.right.record_id.str.fullmatch(r"R\d{6}").all()
    assert data.right.record_id.nunique() == 2_000
    # Row order and id order carry no truth.
    assert not data.left.record_id.is_monotonic_increasing
    assert not data.truth.left_id.map(
        dict(zip(data.left.record_id, data.left.index, strict=True))).is_monotonic_increasing


def test_truth_and_hard_negative_ids_exist(data: synth.SynthData) -> None:
    left_ids, right_ids = set(data.left.record_id), set(data.right.record_id)
    for frame in (data.truth, data.hard_negatives):
        assert set(frame.left_id) <= left_ids
        assert set(frame.right_id) <= right_ids
    assert not data.truth.duplicated(["left_id", "right_id"]).any()
    # About match_fraction of the reference persons are matched, a few of them twice.
    matched = data.truth.right_id.nunique()
    assert matched == 1_000
    assert 20 <= len(data.truth) - matched <= 100


def test_hard_negatives_are_never_true_pairs(data: synth.SynthData) -> None:
    truth_pairs = set(zip(data.truth.left_id, data.truth.right_id, strict=True))
    hard_pairs = set(zip(data.hard_negatives.left_id, data.hard_negatives.right_id, strict=True))
    assert not truth_pairs & hard_pairs
    assert not set(data.hard_negatives.left_id) & set(data.truth.left_id)
    counts = Counter(data.hard_negatives.kind)
    assert counts["sibling"] >= 300
    assert counts["namesake"] >= 300


def test_every_corruption_type_is_frequent_enough(data: synth.SynthData) -> None:
    labels = Counter(label for value in data.truth.corruption if value
                     for label in value.split(";"))
    assert set(labels) <= set(synth.CORRUPTION_TYPES)
    for kind in synth.CORRUPTION_TYPES:
        assert labels[kind] >= 0.03 * len(data.truth), kind
    for value in data.truth.corruption:
        parts = value.split(";") if value else []
        assert parts == sorted(set(parts))
        assert len(parts) <= 3


def test_uncorrupted_pairs_differ_only_by_normalisable_noise(data: synth.SynthData) -> None:
    """A pair labelled with no corruption has the same name tokens and date as its main entry.

    This is what makes the labels trustworthy: any real difference carries a label.
    """
    first_rows = data.right.drop_duplicates("record_id").set_index("record_id")
    left = data.left.set_index("record_id")
    clean = data.truth[data.truth.corruption == ""]
    assert len(clean) > 50
    for pair in clean.itertuples():
        a, b = left.loc[pair.left_id], first_rows.loc[pair.right_id]
        assert _name_tokens(a) == _name_tokens(b)
        da, db = _parse_date(a.date_of_birth), _parse_date(b.date_of_birth)
        assert da is None or db is None or da == db


def test_name_corruptions_change_the_name(data: synth.SynthData) -> None:
    first_rows = data.right.drop_duplicates("record_id").set_index("record_id")
    left = data.left.set_index("record_id")
    name_kinds = {"transliteration", "typo", "missing_part"}
    for pair in data.truth.itertuples():
        labels = set(pair.corruption.split(";"))
        if labels & name_kinds and not labels & {"alias", "other_script"}:
            a, b = left.loc[pair.left_id], first_rows.loc[pair.right_id]
            assert _name_tokens(a) != _name_tokens(b), pair


def test_date_corruptions_change_the_date(data: synth.SynthData) -> None:
    first_rows = data.right.drop_duplicates("record_id").set_index("record_id")
    left = data.left.set_index("record_id")
    for pair in data.truth.itertuples():
        labels = set(pair.corruption.split(";"))
        if labels & {"default_date", "swapped_date", "year_off"} and "alias" not in labels:
            da = _parse_date(left.loc[pair.left_id].date_of_birth)
            db = _parse_date(first_rows.loc[pair.right_id].date_of_birth)
            assert da != db


def test_aliases_present(data: synth.SynthData) -> None:
    rows_per_person = data.right.record_id.value_counts()
    with_alias = (rows_per_person > 1).mean()
    assert 0.2 <= with_alias <= 0.4
    assert rows_per_person.max() <= 4
    # A person's rows are contiguous (main entry first).
    runs = (data.right.record_id != data.right.record_id.shift()).sum()
    assert runs == data.right.record_id.nunique()


def test_dates_come_in_every_format(data: synth.SynthData) -> None:
    dates = pd.concat([data.left.date_of_birth, data.right.date_of_birth])
    patterns = {
        "YYYY-MM-DD": r"\d{4}-\d{2}-\d{2}", "YYYY-MM": r"\d{4}-\d{2}", "YYYY": r"\d{4}",
        "YYYYMMDD": r"\d{8}", "DD-MM-YYYY": r"\d{2}-\d{2}-\d{4}",
        "DD.MM.YYYY": r"\d{2}\.\d{2}\.\d{4}",
        "unknown 00": r".*(-00|00-|00\.|\d{4}0000|\d{6}00).*", "unknown XX": r".*XX.*", "empty": "",
    }
    for name, pattern in patterns.items():
        assert dates.str.fullmatch(pattern).sum() >= 20, name
    assert all(_parse_date(d) is not None for d in dates if d)


def test_names_in_several_scripts_and_skewed(data: synth.SynthData) -> None:
    names = pd.concat([data.left.given_names, data.left.full_name, data.right.given_names])
    assert names.str.contains(r"[\u0600-\u06ff]").sum() > 50  # Arabic / Persian script
    assert names.str.contains(r"[\u0400-\u04ff]").sum() > 10  # Cyrillic
    assert names.str.contains(r"[\u1200-\u137f]").sum() > 10  # Ge'ez
    first = data.left.given_names.str.split().str[0].dropna().map(synth._fold).str.lower()
    counts = first.value_counts()
    mohammed = counts[counts.index.str.fullmatch(r"m[ou]h?amm?[ae]d")].sum()
    assert mohammed > 0.03 * len(first)  # common names collide, as in reality


def test_written_csvs_read_back_equal(data: synth.SynthData, tmp_path: Path) -> None:
    small = synth.generate(seed=2, **SMALL)
    paths = synth.write(small, tmp_path / "out")
    assert set(paths) == {"left", "right", "truth", "hard_negatives"}
    for name, frame in zip(paths, _frames(small), strict=True):
        back = pd.read_csv(paths[name], dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(back, frame)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "hard_negatives.csv", "left.csv", "right.csv", "truth.csv"]


def test_main_synth_writes_files(tmp_path: Path) -> None:
    paths = synth.main_synth(tmp_path, seed=1, n_left=300, n_right=40)
    assert all(p.exists() for p in paths.values())
    assert len(pd.read_csv(paths["left"], dtype=str, keep_default_na=False)) == 300


def test_small_and_degenerate_sizes() -> None:
    empty = synth.generate(seed=0, n_left=0, n_right=0)
    assert empty.left.empty
    assert empty.right.empty
    assert empty.truth.empty
    assert list(empty.left.columns) == list(synth.PERSON_COLUMNS)
    tiny = synth.generate(seed=0, n_left=10, n_right=50, match_fraction=1.0)
    assert len(tiny.left) == 10
    assert len(tiny.truth) == 10


@pytest.mark.parametrize(
    "kwargs", [{"n_left": -1}, {"n_right": -5}, {"match_fraction": 1.5}, {"n_left": 2.5}])
def test_invalid_parameters_raise_config_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        synth.generate(**kwargs)  # type: ignore[arg-type]


def test_typical_profile_has_fewer_compounded_corruptions() -> None:
    hard = synth.generate(seed=2, n_left=3000, n_right=400)
    typical = synth.generate(seed=2, n_left=3000, n_right=400, profile="typical")

    def mean_corruptions(data: synth.SynthData) -> float:
        counts = data.truth["corruption"].map(lambda c: len([x for x in c.split(";") if x]))
        return float(counts.mean())

    assert mean_corruptions(typical) < mean_corruptions(hard) - 0.5
    assert synth.generate(seed=2, n_left=300, n_right=40, profile="typical").left.equals(
        synth.generate(seed=2, n_left=300, n_right=40, profile="typical").left)
    with pytest.raises(ConfigError):
        synth.generate(profile="easy")
