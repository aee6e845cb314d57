"""The review pages in a real browser (headless Chromium): one page per view, all checks on it.

Each test loads its page from a file and checks that it loads without console errors and
without any network request, that the charts hold the right number of marks, and that the
table and decisions work as a reviewer would use them. A screenshot per view is left in the
test's temporary directory.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cdp_browser import Browser

from linkmatch.report import review_input, write_report
from linkmatch.report.data import read_match_manifest, read_review_candidates
from linkmatch.report.page import PAGE_ROWS


def _settle(browser: Browser) -> None:
    """Wait until the page's script has drawn the table (it runs right after load)."""
    for _ in range(100):
        if browser.js("document.querySelectorAll('#cand-table tbody tr').length > 0"):
            return
        time.sleep(0.05)
    raise AssertionError("the candidates table was never drawn")


def _rows_shown(browser: Browser) -> int:
    return int(browser.js("document.querySelectorAll('#cand-table tbody tr').length"))


def _count(browser: Browser, selector: str) -> int:
    return int(browser.js(f"document.querySelectorAll({json.dumps(selector)}).length"))


def test_unit_view_in_browser(browser: Browser, review_job: dict[str, Path],
                              tmp_path: Path) -> None:
    page = tmp_path / "unit.html"
    write_report(page, review_input(review_job["unit"]))
    browser.open(page)
    _settle(browser)
    cands = read_review_candidates(review_job["unit"])
    manifest = read_match_manifest(review_job["unit"])
    assert manifest is not None
    levels = sum(len(v) for v in manifest["model"]["comparisons"].values())
    assert _count(browser, "#chart-weights .weight-bar") == levels
    assert _count(browser, "#chart-histogram .hist-bar") == 20
    assert _count(browser, "#chart-expected .curve") == 2
    assert _count(browser, "#chart-expected .threshold") == 1
    # the first candidate's waterfall: prior, seven fields, adjustment, and the total
    assert _count(browser, "#chart-waterfall .wf-bar, #chart-waterfall .wf-missing") == 9
    assert _count(browser, "#chart-waterfall .wf-total") == 1
    assert _rows_shown(browser) == min(PAGE_ROWS, len(cands))
    # sorting: by score, ascending on the second press
    browser.js("document.querySelector('button[data-sort=\"score\"]').click()")
    first = float(browser.js("document.querySelectorAll('#cand-table tbody tr')[0]"
                             ".children[3].textContent"))
    assert first == pytest.approx(cands["score"].min(), abs=1e-4)
    # filtering: rows whose levels say "similar" (a coarse name or address class), counted
    # over every page
    browser.js("{ const f = document.getElementById('filter-text'); f.value = 'similar';"
               "f.dispatchEvent(new Event('input')); }")
    shown = browser.js("document.getElementById('count').textContent")
    similar = int(((cands["name_level"] == "similar") | (cands["address"] == "similar")).sum())
    assert 0 < similar < len(cands)
    assert shown.startswith(f"{similar} of {len(cands)}")
    # the pseudonyms are there, nothing withheld (a match output)
    assert browser.js("document.getElementById('withheld-note').hidden") is True
    browser.js("document.getElementById('model').scrollIntoView()")
    browser.screenshot(tmp_path / "unit-view.png")
    assert (tmp_path / "unit-view.png").stat().st_size > 0
    assert browser.problems() == []


def test_holder_view_in_browser(browser: Browser, review_job: dict[str, Path],
                                tmp_path: Path) -> None:
    page = tmp_path / "holder.html"
    write_report(page, review_input(review_job["unit"], revealed=review_job["revealed"],
                                    records=review_job["left"]))
    browser.open(page)
    _settle(browser)
    revealed = read_review_candidates(review_job["revealed"])
    left = pd.read_csv(review_job["left"], dtype=str, keep_default_na=False)
    # the holder's own record is beside the candidate, in the table and in the waterfall panel
    top = left[left["record_id"] == revealed.at[0, "left_id"]].iloc[0]
    assert top["date_of_birth"] in browser.js("document.getElementById('why').textContent")
    # keyboard: the score header is a button; Enter on it sorts ascending
    browser.js("document.querySelector('button[data-sort=\"score\"]').focus()")
    browser.key("Enter", "Enter", 13)
    assert browser.js("document.querySelector('th[aria-sort]').getAttribute('aria-sort')") \
        == "ascending"
    browser.js("document.querySelector('button[data-sort=\"score\"]').click()")  # descending
    # decisions on the first six rows: three same, two not, one unsure
    chosen = ["same", "same", "same", "not_same", "not_same", "unsure"]
    browser.js(
        "{ const picks = " + json.dumps(chosen) + ";"
        "document.querySelectorAll('select.decision').forEach((s, k) => {"
        "  if (k < picks.length) { s.value = picks[k];"
        "    s.dispatchEvent(new Event('change')); } }); }")
    assert browser.js("document.getElementById('decided').textContent") == "6 decided"
    browser.js("{ const d = document.getElementById('filter-decision'); d.value = 'not_same';"
               "d.dispatchEvent(new Event('change')); }")
    assert _rows_shown(browser) == 2
    browser.js("{ const d = document.getElementById('filter-decision'); d.value = '';"
               "d.dispatchEvent(new Event('change')); }")
    # saved as a CSV download, read back by `linkmatch evaluate`
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.send("Browser.setDownloadBehavior", {"behavior": "allow",
                                                 "downloadPath": str(downloads),
                                                 "eventsEnabled": True})
    browser.js("document.getElementById('save-decisions').click()")
    for _ in range(200):
        if browser.wait_for("Browser.downloadProgress")["params"]["state"] == "completed":
            break
    saved = pd.read_csv(downloads / "decisions.csv", dtype=str, keep_default_na=False)
    order = np.argsort(-revealed["score"].to_numpy(), kind="stable")[:6]
    assert list(saved.columns) == ["left_id", "right_id", "score", "decision"]
    assert sorted(zip(saved["left_id"], saved["right_id"], saved["decision"], strict=True)) == \
        sorted(zip(revealed["left_id"].iloc[order], revealed["right_id"].iloc[order], chosen,
                   strict=True))
    proc = subprocess.run(
        [sys.executable, "-m", "linkmatch", "evaluate", str(review_job["revealed"]), "--truth",
         str(downloads / "decisions.csv")], capture_output=True, text=True, check=True)
    assert "3 same person, 2 not the same, 1 unsure" in proc.stdout
    assert "precision over decided candidates 0.6000" in proc.stdout
    # a review continues: the saved file loaded into a fresh page restores the decisions
    browser.open(page)
    _settle(browser)
    document = browser.send("DOM.getDocument", session=True)["root"]["nodeId"]
    chooser = browser.send("DOM.querySelector", {"nodeId": document,
                                                 "selector": "#load-decisions"},
                           session=True)["nodeId"]
    browser.send("DOM.setFileInputFiles", {"nodeId": chooser, "files": [
        str(downloads / "decisions.csv")]}, session=True)
    for _ in range(100):
        if "loaded" in browser.js("document.getElementById('decided').textContent"):
            break
        time.sleep(0.05)
    assert browser.js("document.getElementById('decided').textContent") == \
        "6 decisions loaded; 6 decided"
    browser.js("document.getElementById('candidates').scrollIntoView()")
    browser.screenshot(tmp_path / "holder-view.png")
    assert (tmp_path / "holder-view.png").stat().st_size > 0
    assert browser.problems() == []


def test_truth_view_in_browser(browser: Browser, review_job: dict[str, Path],
                               tmp_path: Path) -> None:
    truth = pd.read_csv(review_job["truth"], dtype=str, keep_default_na=False)
    hard = pd.read_csv(review_job["hard_negatives"], dtype=str, keep_default_na=False)
    page = tmp_path / "truth.html"
    write_report(page, review_input(review_job["linked"], truth=truth, hard_negatives=hard))
    browser.open(page)
    _settle(browser)
    cands = read_review_candidates(review_job["linked"])
    bins = np.minimum((cands["score"].to_numpy() * 10).astype(int), 9)
    kinds = {k for value in truth["corruption"] for k in value.split(";") if k}
    assert _count(browser, "#chart-pr .curve") == 1
    assert _count(browser, "#chart-pr .threshold") == 1
    assert _count(browser, "#chart-reliability .reliability-point") == len(set(bins))
    assert _count(browser, "#chart-corruption .recall-bar") == len(kinds)
    assert _count(browser, "#chart-lookalikes .recall-bar") == 1
    # a link output: record ids withheld, the truth shown per candidate
    assert browser.js("document.getElementById('withheld-note').hidden") is False
    assert "withheld" in browser.js("document.querySelector('#cand-table tbody').textContent")
    # printable for a case file: the controls are left out of the print
    pdf = base64.b64decode(browser.send("Page.printToPDF", {}, session=True)["data"])
    assert pdf.startswith(b"%PDF")
    assert browser.js("getComputedStyle(document.querySelector('.filters')).display") != "none"
    browser.send("Emulation.setEmulatedMedia", {"media": "print"}, session=True)
    assert browser.js("getComputedStyle(document.querySelector('.filters')).display") == "none"
    browser.send("Emulation.setEmulatedMedia", {"media": ""}, session=True)
    browser.js("document.getElementById('truth').scrollIntoView()")
    browser.screenshot(tmp_path / "truth-view.png")
    assert (tmp_path / "truth-view.png").stat().st_size > 0
    assert browser.problems() == []
