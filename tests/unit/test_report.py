"""Review pages: per-field contributions, expected quality, privacy of each view, decisions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from plaintext import plain_values

from linkmatch.api import encode, match
from linkmatch.cli import main
from linkmatch.compare.levels import COMPARISONS
from linkmatch.compare.scoring import FellegiSunter
from linkmatch.disclosure import COARSE
from linkmatch.errors import ConfigError, InputDataError
from linkmatch.evaluate import evaluate, evaluate_decisions
from linkmatch.pseudonymise.keys import Key
from linkmatch.report import review_input, write_report
from linkmatch.report.data import (
    EVIDENCE,
    contributions,
    evidence_of,
    expected_persons,
    expected_quality,
    level_bits,
    read_match_manifest,
    read_review_candidates,
)
from linkmatch.report.page import render
from linkmatch.schema import Schema
from linkmatch.synth import SynthData


def _page_text(page: str) -> str:
    """The page with its data block decoded, so escaped values are scanned as plain text."""
    data = re.search(r'<script type="application/json" id="lm-data">(.*?)</script>', page, re.S)
    assert data is not None
    return page + json.dumps(json.loads(data.group(1).replace("<\\/", "</")),
                             ensure_ascii=False)


def _model(manifest: dict[str, object]) -> FellegiSunter:
    """The manifest's model as the library's scorer (level 0, missing, carries no weight)."""
    comparisons = manifest["model"]["comparisons"]  # type: ignore[index]
    m, u = [], []
    for comp in COMPARISONS:
        levels = comparisons[comp.name]
        m.append(np.array([1.0] + [levels[lv]["m"] for lv in comp.levels[1:]]))
        u.append(np.array([1.0] + [levels[lv]["u"] for lv in comp.levels[1:]]))
    return FellegiSunter(lambda_=manifest["model"]["lambda"], m=m, u=u)  # type: ignore[index]


def test_contributions_are_the_models_level_weights(small_data: SynthData, key: Key) -> None:
    exact = Schema(candidate_evidence="exact")
    result = match(encode(small_data.left, key, schema=exact),
                   encode(small_data.right, key, schema=exact))
    cands, manifest = result.candidates, result.manifest
    parts = contributions(cands, manifest["model"], evidence_of(manifest))
    assert parts.fields[0] == "prior"
    assert parts.fields[-1] == "adjustment"
    assert not parts.notes.get("name")
    assert not parts.notes.get("date")
    # the library's own scorer, given the same levels, adds up the same prior and fields
    by_comparison = {comparison: column for _, comparison, column in EVIDENCE}
    levels = np.array([[comp.levels.index(cands.at[i, by_comparison[comp.name]])
                        for comp in COMPARISONS] for i in range(len(cands))], dtype=np.uint8)
    expected = _model(manifest).log2_odds_reference(levels)
    np.testing.assert_allclose(parts.bits[:, :-1].sum(axis=1), expected, atol=1e-9)
    # the adjustment is what the levels leave to explain: prior + fields + it = the score
    ok = ~np.isnan(parts.bits[:, -1])
    assert ok.any()
    odds = np.log2(cands["score"] / (1 - cands["score"])).to_numpy()[ok]
    np.testing.assert_allclose(parts.bits[ok].sum(axis=1), odds, atol=1e-6)


def test_coarse_levels_weigh_as_their_class(review_job: dict[str, Path]) -> None:
    cands = read_review_candidates(review_job["unit"])
    manifest = read_match_manifest(review_job["unit"])
    assert manifest is not None
    assert evidence_of(manifest) == "coarse"  # the default candidates
    parts = contributions(cands, manifest["model"], "coarse")
    exact = level_bits(manifest["model"])
    for label, comparison, column in EVIDENCE:
        if column not in COARSE:
            continue
        j = parts.fields.index(label)
        assert not np.isnan(parts.bits[:, j]).any(), label
        for value, weight in zip(cands[column], parts.bits[:, j], strict=True):
            members = [exact[comparison][lv] for lv, c in COARSE[column].items()
                       if c == value and lv != "missing"]
            if members:  # a class weighs between its strongest and weakest level
                assert min(members) - 1e-9 <= weight <= max(members) + 1e-9
            else:
                assert weight == 0.0
    # a score rounded to 1 leaves the adjustment unknown but bounded from below: the parts
    # plus the bound make the log2-odds of 0.995, the least score that rounds to 1
    assert parts.adjustment_at_least is not None
    top = (cands["score"] == 1.0).to_numpy()
    assert top.any()
    assert np.isnan(parts.bits[top, -1]).all()
    assert np.isnan(parts.adjustment_at_least[~top]).all()
    np.testing.assert_allclose(parts.bits[top, :-1].sum(axis=1) + parts.adjustment_at_least[top],
                               np.log2(0.995 / 0.005))


def test_missing_or_coarser_evidence_is_said_not_guessed(review_job: dict[str, Path],
                                                         tmp_path: Path) -> None:
    cands = read_review_candidates(review_job["unit"]).drop(columns=["name_level", "name_score"])
    cands["dob_level"] = "coarse_" + cands["dob_level"]
    manifest = read_match_manifest(review_job["unit"])
    assert manifest is not None
    parts = contributions(cands, manifest["model"])
    name, date = parts.fields.index("name"), parts.fields.index("date")
    assert np.isnan(parts.bits[:, name]).all()
    assert np.isnan(parts.bits[:, date]).all()
    assert np.isnan(parts.bits[:, -1]).all()
    assert "name_level" in parts.notes["name"]
    assert "coarsened" in parts.notes["date"]
    assert not np.isnan(parts.bits[:, parts.fields.index("document")]).any()
    # the page says so
    coarse = tmp_path / "coarse.csv"
    cands.to_csv(coarse, index=False)
    (tmp_path / "coarse.csv.manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    page = render(review_input(coarse))
    assert "the candidates have no 'name_level' column" in page


def test_expected_quality_from_scores_alone() -> None:
    scores = np.array([0.99, 0.9, 0.8, 0.6, 0.55])
    rows = {t: (p, r) for t, p, r in expected_quality(scores, 5.0, [0.5, 0.7, 0.95, 1.0])}
    assert rows[0.5] == pytest.approx((scores.mean(), scores.sum() / 5.0))
    assert rows[0.7] == pytest.approx((scores[:3].mean(), scores[:3].sum() / 5.0))
    assert rows[0.95] == pytest.approx((0.99, 0.99 / 5.0))
    assert rows[1.0] == (1.0, 0.0)  # nothing kept: no false match, no match
    assert [r for _, _, r in expected_quality(scores, None, [0.5])] == [None]


def test_expected_matches_follow_the_prior(review_job: dict[str, Path]) -> None:
    manifest = read_match_manifest(review_job["unit"])
    assert manifest is not None
    counts = manifest["counts"]
    expected = expected_persons(manifest)
    assert expected == pytest.approx(manifest["model"]["lambda"] * counts["left_rows"] *
                                     counts["right_persons"])


def test_unit_view_holds_no_plain_value(review_job: dict[str, Path],
                                        small_data: SynthData) -> None:
    page = _page_text(render(review_input(review_job["unit"])))
    plain = plain_values([small_data.left, small_data.right])
    leaked = [v for v in plain if len(v) >= 5 and v in page]
    assert not leaked
    assert 'data-view="unit"' in page
    assert "chart-weights" in page


def test_link_output_ids_are_withheld_from_the_unit_view(review_job: dict[str, Path],
                                                         small_data: SynthData) -> None:
    linked = read_review_candidates(review_job["linked"])
    page = _page_text(render(review_input(review_job["linked"])))
    assert not [rid for rid in set(linked["left_id"]) | set(linked["right_id"]) if rid in page]
    assert not [v for v in plain_values([small_data.left, small_data.right])
                if len(v) >= 5 and v in page]


def test_holder_view_shows_own_records_and_nothing_of_the_other_side(
        review_job: dict[str, Path], small_data: SynthData) -> None:
    review = review_input(review_job["unit"], revealed=review_job["revealed"],
                          records=review_job["left"])
    assert review.view == "holder"
    assert review.side == "left"
    page = _page_text(render(review))
    revealed = read_review_candidates(review_job["revealed"])
    own = small_data.left[small_data.left["record_id"].isin(set(revealed["left_id"]))]
    # the holder's own records are there (what the reviewer compares) ...
    assert all(v in page for v in own["family_name"] if v)
    # ... and nothing of the other side: its record ids, and its values that are not part of
    # the holder's own values shown ("Amin Ahmad" may be inside an own "Mohammed Amin Ahmad")
    assert not [rid for rid in set(small_data.right["record_id"]) if rid in page]
    shown = "\x1f".join(own.astype(str).to_numpy().ravel())
    other_only = plain_values([small_data.right]) - plain_values([small_data.left])
    assert not [v for v in other_only if len(v) >= 5 and v in page and v not in shown]


def test_holder_view_refuses_a_file_with_the_other_sides_ids(
        review_job: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="other side's record ids"):
        review_input(review_job["unit"], revealed=review_job["linked"],
                     records=review_job["left"], side="left")
    with pytest.raises(ConfigError, match="both --revealed and --input"):
        review_input(review_job["unit"], revealed=review_job["revealed"])


def test_decisions_measure_precision_like_a_truth_file(review_job: dict[str, Path],
                                                       small_data: SynthData) -> None:
    linked = read_review_candidates(review_job["linked"])
    true = set(zip(small_data.truth["left_id"], small_data.truth["right_id"], strict=True))
    decisions = linked[["left_id", "right_id", "score"]].copy()
    decisions["decision"] = ["same" if (a, b) in true else "not_same"
                             for a, b in zip(linked["left_id"], linked["right_id"], strict=True)]
    reviewed = evaluate_decisions(linked, decisions)
    measured = evaluate(linked, small_data.truth)
    assert reviewed.precision == pytest.approx(measured.precision)
    assert reviewed.same == measured.true_positives
    assert reviewed.not_reviewed == 0
    assert reviewed.by_threshold[0]["same_kept"] == 1.0
    kept = [row["same_kept"] for row in reviewed.by_threshold]
    assert kept == sorted(kept, reverse=True)


def test_decisions_file_errors_name_row_and_column_not_value(
        review_job: dict[str, Path]) -> None:
    linked = read_review_candidates(review_job["linked"])
    decisions = linked[["left_id", "right_id"]].head(3).copy()
    decisions["decision"] = ["same", "Perhaps-Secret", "unsure"]
    with pytest.raises(InputDataError, match="row 2") as info:
        evaluate_decisions(linked, decisions, label="decisions.csv")
    assert "Perhaps-Secret" not in str(info.value)
    decisions["decision"] = "same"
    decisions.loc[2, "left_id"] = "A-not-a-candidate"
    with pytest.raises(InputDataError, match="row 3") as info:
        evaluate_decisions(linked, decisions, label="decisions.csv")
    assert "A-not-a-candidate" not in str(info.value)


def test_report_command_writes_each_view(review_job: dict[str, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    unit_page = tmp_path / "unit.html"
    assert main(["report", str(review_job["unit"]), "--out", str(unit_page)]) == 0
    assert 'data-view="unit"' in unit_page.read_text(encoding="utf-8")
    holder_page = tmp_path / "holder.html"
    assert main(["report", str(review_job["unit"]), "--out", str(holder_page), "--revealed",
                 str(review_job["revealed"]), "--input", str(review_job["left"])]) == 0
    assert 'data-view="holder"' in holder_page.read_text(encoding="utf-8")
    assert main(["report", str(review_job["unit"]), "--out", str(tmp_path / "x.html"),
                 "--revealed", str(review_job["revealed"])]) == 2
    truth_page = tmp_path / "truth.html"
    assert main(["evaluate", str(review_job["linked"]), "--truth", str(review_job["truth"]),
                 "--hard-negatives", str(review_job["hard_negatives"]), "--report",
                 str(truth_page)]) == 0
    text = truth_page.read_text(encoding="utf-8")
    assert 'data-view="truth"' in text
    assert "chart-reliability" in text
    assert f"report: {truth_page}" in capsys.readouterr().out


def test_page_makes_no_request_by_its_policy(review_job: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    size = write_report(out, review_input(review_job["unit"]))
    page = out.read_text(encoding="utf-8")
    assert size == len(page.encode("utf-8"))
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy is not None
    assert "default-src 'none'" in policy.group(1)
    assert "unsafe-inline" not in policy.group(1)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_demo_ends_by_saying_where_its_pages_are(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out-dir", str(tmp_path), "--left", "1500", "--right", "150"]) == 0
    tail = capsys.readouterr().out.splitlines()[-4:]
    assert tail[0].strip().startswith("review pages")
    pages = [Path(line.split()[-1]) for line in tail[1:]]
    assert [p.name for p in pages] == ["report_unit.html", "report_holder_left.html",
                                       "report_evaluation.html"]
    for page, view in zip(pages, ("unit", "holder", "truth"), strict=True):
        assert f'data-view="{view}"' in page.read_text(encoding="utf-8")
