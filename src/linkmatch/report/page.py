"""One self-contained review page per job: HTML with its CSS, script, data and SVG inline.

The page opens on an air-gapped workstation: nothing is fetched, and its
Content-Security-Policy (``default-src 'none'``, the one script and one style allowed by
their SHA-256) makes the browser refuse any request a future change might add. It prints to
PDF for a case file (controls hidden, the table's current page and the chosen candidate's
waterfall printed).

Three views, one page shape:

* ``unit`` — the linkage unit's: model, scores, blocking, candidates by pseudonym;
* ``holder`` — after ``reveal``: the holder's own plain record beside each candidate, and a
  decision per candidate saved as a CSV download (``linkmatch evaluate --truth``);
* ``truth`` — ``evaluate --report``: the unit's view plus quality measured on a truth file.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from linkmatch._version import __version__
from linkmatch.report import charts
from linkmatch.report.data import (
    EVIDENCE,
    OWN_COLUMNS,
    contributions,
    evidence_of,
    expected_persons,
    expected_quality,
    is_pseudonym,
)
from linkmatch.report.truth import TruthSummary, thinned

__all__ = ["PAGE_ROWS", "ReviewInput", "render"]

View = Literal["unit", "holder", "truth"]
PAGE_ROWS: Final = 50
"""Table rows drawn at a time: the page stays fast with 20,000 candidates and more."""

_TITLES: Final = {
    "unit": "Linkage unit's view (pseudonymous)",
    "holder": "Holder's view",
    "truth": "Evaluation against a truth file",
}


@dataclass(frozen=True)
class ReviewInput:
    """Everything a page shows, read and checked by :func:`linkmatch.report.review_input`.

    Attributes:
        view: which of the three views.
        candidates: the candidates (or the holder's revealed candidates).
        manifest: the match manifest beside the candidates (None: not found).
        source: the candidates file's name, shown on the page.
        side: the holder's side (holder view only).
        own: the holder's own plain records by record id (holder view only).
        truth: measured quality (truth view only).
    """

    view: View
    candidates: pd.DataFrame
    manifest: dict[str, Any] | None
    source: str
    side: str | None = None
    own: dict[str, dict[str, str]] = field(default_factory=dict)
    truth: TruthSummary | None = None


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _asset(name: str) -> str:
    return resources.files("linkmatch.report").joinpath("assets", name).read_text("utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _table(rows: list[tuple[str, str]], caption: str) -> str:
    body = "".join(f"<tr><th scope=\"row\">{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts"><caption>{_e(caption)}</caption>{body}</table>'


def _threshold(review: ReviewInput) -> float:
    if review.manifest and review.manifest.get("threshold") is not None:
        return float(review.manifest["threshold"])
    scores = review.candidates["score"]
    return float(scores.min()) if len(scores) else 0.5


def _job_section(review: ReviewInput) -> str:
    man = review.manifest
    if man is None:
        return ('<section id="job" aria-labelledby="job-h"><h2 id="job-h">Job</h2><p class="note">'
                "No match manifest beside the candidates file: the model, counts, timings and "
                "blocking summary are unknown, and per-field contributions cannot be computed."
                "</p></section>")
    counts = man.get("counts", {})
    seconds = man.get("seconds", {})
    facts = [("candidates file", review.source),
             ("operation", str(man.get("operation", "?"))),
             ("threshold", f"{_threshold(review):g}"),
             ("left rows / persons", f"{counts.get('left_rows', 0):,} / "
                                     f"{counts.get('left_persons', 0):,}"),
             ("right rows / persons", f"{counts.get('right_rows', 0):,} / "
                                      f"{counts.get('right_persons', 0):,}"),
             ("candidates", f"{counts.get('candidates', len(review.candidates)):,}"),
             ("key fingerprint", str(man.get("key_fingerprint", "?"))),
             ("library version", str(man.get("library_version", "?")))]
    timing = [(phase, f"{float(value):.2f} s") for phase, value in seconds.items()]
    blocking = [("pairs compared", f"{counts.get('pairs_compared', 0):,}"),
                ("reduction ratio", f"{float(counts.get('reduction_ratio', 0.0)):.6f}"),
                ("blocking keys shared by both sides", f"{counts.get('block_keys_shared', 0):,}"),
                ("blocking keys skipped (block too large)",
                 f"{counts.get('block_keys_skipped', 0):,}"),
                ("block cap (pairs)", f"{man.get('max_block_pairs', '?')}"),
                ("name bands (LSH)", "on" if man.get("name_bands") else "off")]
    return (f'<section id="job" aria-labelledby="job-h"><h2 id="job-h">Job</h2>'
            f'<div class="cols">{_table(facts, "Counts")}{_table(timing, "Timings")}</div>'
            f'</section><section id="blocking" aria-labelledby="blocking-h">'
            f'<h2 id="blocking-h">Blocking</h2>{_table(blocking, "Blocking summary")}'
            '<p class="note">Pairs compared by blocking-key family are not recorded in this '
            "manifest: the totals above are what the linkage unit measured.</p></section>")


def _model_section(review: ReviewInput) -> str:
    if review.manifest is None or "model" not in review.manifest:
        return ""
    model = review.manifest["model"]
    rows = "".join(
        f"<tr><td>{_e(c)}</td><td>{_e(level)}</td><td>{float(mu['m']):.4g}</td>"
        f"<td>{float(mu['u']):.4g}</td><td>"
        f"{math.log2(max(float(mu['m']), 1e-12) / max(float(mu['u']), 1e-12)):+.2f}</td></tr>"
        for c, levels in model.get("comparisons", {}).items() for level, mu in levels.items())
    lam = float(model.get("lambda", 0.0))
    prior = f"{math.log2(lam / (1 - lam)):+.2f} bits" if 0 < lam < 1 else "unknown"
    return (f'<section id="model" aria-labelledby="model-h"><h2 id="model-h">Fitted model</h2>'
            f"<p>Prior match probability λ = {lam:.3g} ({prior}); fitted by EM without labels "
            f"in {model.get('iterations', '?')} iterations. A level's weight is log2(m/u): m "
            "is how often true matches show it, u how often non-matches do.</p>"
            f'{charts.match_weights(model)}<details><summary>m and u of every level</summary>'
            '<table class="grid"><thead><tr><th scope="col">comparison</th><th scope="col">'
            'level</th><th scope="col">m</th><th scope="col">u</th><th scope="col">bits</th>'
            f"</tr></thead><tbody>{rows}</tbody></table></details></section>")


def _scores_section(review: ReviewInput) -> str:
    scores = review.candidates["score"].to_numpy(dtype=np.float64)
    threshold = _threshold(review)
    expected = expected_persons(review.manifest) if review.manifest else None
    lowest = float(scores.min()) if len(scores) else threshold
    start = math.floor(min(lowest, threshold) * 100) / 100
    grid = [round(t, 4) for t in np.arange(start, 1.0 + 1e-9, 0.01)]
    rows = list(expected_quality(scores, expected, grid))
    picks = [r for r in rows if any(abs(r[0] - t) < 1e-9 for t in
                                    (threshold, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99))]
    table = "".join(
        f"<tr><td>{t:g}</td><td>{p:.3f}</td><td>{'unknown' if r is None else f'{r:.3f}'}</td>"
        "</tr>" for t, p, r in picks)
    note = (f"The model expects {expected:,.0f} matching person pairs in all; recall is the "
            "expected matches kept over that number." if expected else
            "The number of matches expected in all is unknown (no manifest): no recall.")
    return (f'<section id="scores" aria-labelledby="scores-h"><h2 id="scores-h">Scores</h2>'
            f'<div class="cols">{charts.histogram(scores, threshold)}'
            f"{charts.quality_by_threshold(rows, threshold)}</div>"
            "<p>Expected precision and recall use the calibrated scores alone, no labels: a "
            "score is the probability that the pair is a match, so the mean score of the pairs "
            f"kept is the expected precision. {_e(note)} Thresholds below {start:g} cannot be "
            "judged here: pairs below the match threshold were not kept.</p>"
            '<table class="grid"><caption>Expected quality at some thresholds</caption><thead>'
            '<tr><th scope="col">threshold</th><th scope="col">expected precision</th>'
            f'<th scope="col">expected recall</th></tr></thead><tbody>{table}</tbody></table>'
            "</section>")


def _truth_section(review: ReviewInput) -> str:
    truth = review.truth
    if truth is None:
        return ""
    ev = truth.evaluation
    scores = review.candidates["score"].to_numpy(dtype=np.float64)
    ranked = np.sort(scores)[::-1]
    kept = int(np.searchsorted(-ranked, -ev.threshold, side="right"))
    at = (float(truth.recall[kept - 1]), float(truth.precision[kept - 1])) if kept else None
    parts = [f'<section id="truth" aria-labelledby="truth-h"><h2 id="truth-h">Measured on the '
             f"truth file</h2><p>At threshold {ev.threshold:g}: precision {ev.precision:.4f}, "
             f"recall {ev.recall:.4f}, F1 {ev.f1:.4f} (true positives {ev.true_positives:,}, "
             f"false positives {ev.false_positives:,}, missed {ev.false_negatives:,}).</p>",
             '<div class="cols">',
             charts.precision_recall(thinned(truth.recall).tolist(),
                                     thinned(truth.precision).tolist(), at),
             charts.reliability(scores, truth.is_true), "</div>"]
    if ev.recall_by_corruption:
        parts.append(charts.recall_bars(sorted(ev.recall_by_corruption.items()),
                                        "chart-corruption", "Recall by corruption type"))
    if ev.hard_negative_precision is not None:
        parts.append(charts.recall_bars([("look-alikes left out", ev.hard_negative_precision)],
                                        "chart-lookalikes", "Look-alike pairs left out"))
    else:
        parts.append('<p class="note">No look-alike file given (--hard-negatives): the share of '
                     "look-alikes left out is unknown.</p>")
    parts.append("</section>")
    return "".join(parts)


def _bits(value: float) -> float | None:
    """Bits for the page: 3 decimals, None (JSON null) where unknown."""
    return None if math.isnan(value) else round(float(value), 3)


def _page_data(review: ReviewInput) -> dict[str, Any]:
    """The candidates as compact columns for the page's script (no plain value in unit and
    truth views: record ids that are not pseudonyms are withheld)."""
    cands = review.candidates
    model = review.manifest.get("model") if review.manifest else None
    parts = contributions(cands, model, evidence_of(review.manifest))
    ids: dict[str, list[str]] = {}
    for column in ("left_id", "right_id"):
        values = cands[column].astype(str)
        if review.view == "holder" and column == f"{review.side}_id":
            ids[column] = values.tolist()
        else:
            shown = is_pseudonym(values)
            ids[column] = [v if ok else "" for v, ok in zip(values, shown, strict=True)]
    withheld = any(not all(v for v in col) for col in ids.values())
    # levels by field as small integers into a per-field vocabulary, with the bits of each
    # vocabulary entry: a field's part depends on its level only, so the page stays small
    vocab: list[list[str]] = []
    level_index: list[list[int]] = []
    level_bits: list[list[float | None]] = []
    for j in range(len(EVIDENCE)):
        field_levels = [row[j] for row in parts.levels]
        names = sorted(set(field_levels))
        where = {name: k for k, name in enumerate(names)}
        first: dict[str, int] = {}
        for row_number, name in enumerate(field_levels):
            first.setdefault(name, row_number)
        vocab.append(names)
        level_index.append([where[v] for v in field_levels])
        level_bits.append([_bits(parts.bits[first[name], j + 1]) for name in names])
    data: dict[str, Any] = {
        "view": review.view,
        "threshold": _threshold(review),
        "fields": list(parts.fields),
        "levelNames": [label for label, _, _ in EVIDENCE],
        "notes": parts.notes,
        "left": ids["left_id"],
        "right": ids["right_id"],
        "score": [float(s) for s in cands["score"]],
        "nameScore": (cands["name_score"].astype(str).tolist()
                      if "name_score" in cands.columns else None),
        "levelVocab": vocab,
        "levelIndex": level_index,
        "levelBits": level_bits,
        "prior": _bits(parts.bits[0, 0]) if len(cands) else None,
        "adjustment": [_bits(b) for b in parts.bits[:, -1]],
        "adjustmentAtLeast": (None if parts.adjustment_at_least is None else
                              [_bits(b) for b in parts.adjustment_at_least]),
        "withheld": withheld,
        "side": review.side,
        "ownColumns": list(OWN_COLUMNS),
        "own": {rid: [record.get(c, "") for c in OWN_COLUMNS]
                for rid, record in review.own.items()},
        "isTrue": None if review.truth is None else review.truth.is_true.tolist(),
        "pageRows": PAGE_ROWS,
    }
    return data


def _candidates_section(review: ReviewInput) -> str:
    decide = review.view == "holder"
    tools = ('<div class="decide-tools"><button type="button" id="save-decisions">Save decisions '
             '(CSV)</button><label for="load-decisions">Load saved decisions</label><input '
             'type="file" id="load-decisions" accept=".csv,text/csv"><span id="decided" '
             'role="status" aria-live="polite"></span></div>') if decide else ""
    decision_filter = ('<label for="filter-decision">Decision</label><select id="filter-decision">'
                       '<option value="">any</option><option value="none">not decided</option>'
                       '<option value="same">same person</option><option value="not_same">not '
                       'the same</option><option value="unsure">unsure</option></select>'
                       ) if decide else ""
    coarse = ('<p class="note">These candidates carry coarse evidence (the default: '
              "name, date and address levels are classes, scores rounded to 0.01). A class's "
              "part of the waterfall is the weight of the class, log2(Σm/Σu) over the exact "
              "levels it stands for; the adjustment also holds what the class does not tell, "
              "and is rounded with the score.</p>"
              ) if evidence_of(review.manifest) == "coarse" else ""
    return (f'<section id="candidates" aria-labelledby="cand-h"><h2 id="cand-h">Candidates</h2>'
            f"{coarse}"
            '<p id="withheld-note" class="note" hidden>This candidates file holds record ids, '
            "not pseudonyms (a <code>link</code> output): they are withheld from this view; "
            "candidates are named by rank.</p>"
            '<form class="filters" role="search" aria-label="Filter candidates">'
            '<label for="filter-text">Contains</label><input id="filter-text" type="search" '
            'autocomplete="off"><label for="filter-min">Score at least</label><input '
            'id="filter-min" type="number" min="0" max="1" step="0.01" value="0">'
            f'{decision_filter}</form>{tools}'
            '<div id="why" aria-live="polite"><h3 id="why-h">Why this score</h3>'
            '<p class="note">Choose “why” on a row.</p></div>'
            '<p id="count" role="status" aria-live="polite"></p>'
            '<div class="table-wrap"><table id="cand-table" class="grid"><caption>Candidates, '
            "one row per pair of persons; a row's “why” shows its waterfall above</caption>"
            '<thead></thead><tbody></tbody></table></div>'
            '<nav class="pager" aria-label="Table pages"><button type="button" id="prev">'
            'Previous page</button><span id="page-info"></span><button type="button" id="next">'
            'Next page</button></nav>'
'</section>')


def render(review: ReviewInput) -> str:
    """The whole page as one HTML string."""
    css = _asset("report.css")
    script = _asset("report.js")
    data = json.dumps(_page_data(review), separators=(",", ":"), allow_nan=False)
    data = data.replace("</", "<\\/")
    csp = (f"default-src 'none'; script-src '{_sha256(script)}'; style-src '{_sha256(css)}'; "
           "base-uri 'none'; form-action 'none'")
    own = (f"Records of the {review.side} holder beside each candidate; the other side is "
           "shown by pseudonym only." if review.view == "holder" else
           "No plain value: pseudonyms, comparison levels and scores only.")
    sections = [_job_section(review), _model_section(review), _scores_section(review),
                _truth_section(review), _candidates_section(review)]
    nav = "".join(f'<li><a href="#{anchor}">{label}</a></li>' for anchor, label in
                  (("job", "Job"), ("model", "Model"), ("scores", "Scores"),
                   ("truth", "Truth"), ("candidates", "Candidates"))
                  if f'id="{anchor}"' in "".join(sections))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>linkmatch review — {_e(_TITLES[review.view])}</title>"
        f"<style>{css}</style></head>"
        f'<body data-view="{review.view}"><a class="skip" href="#candidates">Skip to the '
        f"candidates</a><header><h1>linkmatch review — {_e(_TITLES[review.view])}</h1>"
        f'<p class="note">{_e(own)} Made by linkmatch {_e(__version__)}; this page makes no '
        f'network request.</p></header><nav aria-label="Sections"><ul>{nav}</ul></nav>'
        f'<main>{"".join(sections)}</main>'
        f'<script type="application/json" id="lm-data">{data}</script>'
        f"<script>{script}</script></body></html>")


def write(review: ReviewInput, out: Path) -> int:
    """Write the page atomically; returns its size in bytes."""
    from linkmatch.io import atomic_path

    page = render(review).encode("utf-8")
    with atomic_path(out) as tmp:
        tmp.write_bytes(page)
    return len(page)
