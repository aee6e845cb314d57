"""Small SVG charts written by hand: no plotting library, no font, no network.

Every chart is one ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (what a screen
reader says), marks with a class per kind (``weight-bar``, ``hist-bar``, ``curve``,
``threshold``, ...) that tests count, and presentation attributes instead of inline styles, so
the page's Content-Security-Policy needs no ``'unsafe-inline'`` for styles. Colours keep a
contrast of at least 4.5:1 on white for text and 3:1 for marks (WCAG 2.1 AA).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from linkmatch.compare.levels import COMPARISONS

__all__ = ["histogram", "match_weights", "precision_recall", "quality_by_threshold",
           "recall_bars", "reliability"]

_ORDER: Final = tuple(c.name for c in COMPARISONS)
_LEVELS: Final = {c.name: tuple(c.levels) for c in COMPARISONS}
"""Comparisons and their levels in the library's order: the chart reads like the waterfall."""
BLUE: Final = "#1f5a96"
RED: Final = "#a52a2a"
GREEN: Final = "#2e6b30"
INK: Final = "#222222"
GRID: Final = "#d0d0d0"
_FONT: Final = 'font-family="system-ui, sans-serif" font-size="12"'


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _svg(chart_id: str, width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (f'<svg id="{chart_id}" class="chart" role="img" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" aria-labelledby="{chart_id}-t {chart_id}-d" '
            f'xmlns="http://www.w3.org/2000/svg" {_FONT}>'
            f'<title id="{chart_id}-t">{_e(title)}</title><desc id="{chart_id}-d">{_e(desc)}'
            f'</desc>{"".join(body)}</svg>')


class _Frame:
    """A plotting area: data coordinates to SVG coordinates, axes and ticks."""

    def __init__(self, width: int, height: int, x_range: tuple[float, float],
                 y_range: tuple[float, float], left: int = 48, bottom: int = 36) -> None:
        self.x0, self.x1 = left, width - 12
        self.y0, self.y1 = height - bottom, 12
        self.xr, self.yr = x_range, y_range

    def x(self, value: float) -> float:
        lo, hi = self.xr
        return self.x0 + (value - lo) / ((hi - lo) or 1.0) * (self.x1 - self.x0)

    def y(self, value: float) -> float:
        lo, hi = self.yr
        return self.y0 - (value - lo) / ((hi - lo) or 1.0) * (self.y0 - self.y1)

    def axes(self, x_label: str, y_label: str, x_ticks: Sequence[float],
             y_ticks: Sequence[float], y_format: str = "{:g}") -> list[str]:
        out = [f'<line class="axis" x1="{self.x0}" y1="{self.y0}" x2="{self.x1}" '
               f'y2="{self.y0}" stroke="{INK}"/>',
               f'<line class="axis" x1="{self.x0}" y1="{self.y0}" x2="{self.x0}" '
               f'y2="{self.y1}" stroke="{INK}"/>']
        for t in x_ticks:
            out.append(f'<text x="{self.x(t):.1f}" y="{self.y0 + 15}" text-anchor="middle" '
                       f'fill="{INK}">{t:g}</text>')
        for t in y_ticks:
            out.append(f'<line x1="{self.x0}" y1="{self.y(t):.1f}" x2="{self.x1}" '
                       f'y2="{self.y(t):.1f}" stroke="{GRID}"/>')
            out.append(f'<text x="{self.x0 - 5}" y="{self.y(t) + 4:.1f}" text-anchor="end" '
                       f'fill="{INK}">{_e(y_format.format(t))}</text>')
        out.append(f'<text x="{(self.x0 + self.x1) / 2:.1f}" y="{self.y0 + 31}" '
                   f'text-anchor="middle" fill="{INK}">{_e(x_label)}</text>')
        out.append(f'<text x="12" y="{(self.y0 + self.y1) / 2:.1f}" text-anchor="middle" '
                   f'transform="rotate(-90 12 {(self.y0 + self.y1) / 2:.1f})" fill="{INK}">'
                   f'{_e(y_label)}</text>')
        return out


def _polyline(frame: _Frame, xs: Sequence[float], ys: Sequence[float], colour: str,
              name: str, dash: str = "") -> str:
    points = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in zip(xs, ys, strict=True))
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline class="curve" data-name="{_e(name)}" points="{points}" fill="none" '
            f'stroke="{colour}" stroke-width="2"{extra}/>')


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    out = []
    for k, (label, colour) in enumerate(items):
        out.append(f'<rect x="{x:.0f}" y="{y + 16 * k - 9:.0f}" width="12" height="4" '
                   f'fill="{colour}"/><text x="{x + 16:.0f}" y="{y + 16 * k:.0f}" '
                   f'fill="{INK}">{_e(label)}</text>')
    return out


def _threshold_line(frame: _Frame, threshold: float) -> str:
    x = frame.x(threshold)
    return (f'<g class="threshold"><line x1="{x:.1f}" y1="{frame.y0}" x2="{x:.1f}" '
            f'y2="{frame.y1}" stroke="{INK}" stroke-dasharray="4 3"/><text x="{x + 3:.1f}" '
            f'y="{frame.y1 + 10}" fill="{INK}">threshold {threshold:g}</text></g>')


def match_weights(model: dict[str, Any]) -> str:
    """Horizontal bars of log2(m/u) per comparison level: the weight each level adds.

    One ``weight-bar`` per level of the model (the "missing" level carries no evidence and
    has no bar); m and u are in each bar's tooltip and in the table beside the chart.
    """
    rows: list[tuple[str, str, float, float, float]] = []
    comparisons = model.get("comparisons", {})
    # the waterfall's order (name, date, sex, ...), then any comparison it does not know
    ordered = [c for c in _ORDER if c in comparisons] + \
        sorted(c for c in comparisons if c not in _ORDER)
    for comparison in ordered:
        known = _LEVELS.get(comparison, ())
        levels = sorted(comparisons[comparison].items(),
                        key=lambda item: (known.index(item[0]) if item[0] in known
                                          else len(known), item[0]))
        for level, mu in levels:
            m, u = float(mu["m"]), float(mu["u"])
            rows.append((comparison, level, m, u,
                         float(np.log2(max(m, 1e-12) / max(u, 1e-12)))))
    lo = min([0.0, *(r[4] for r in rows)])
    hi = max([0.0, *(r[4] for r in rows)])
    lo, hi = np.floor(lo / 5) * 5, np.ceil(hi / 5) * 5 or 5.0
    row_height, label_width, width = 18, 240, 900
    mu_width = 170  # room on the right for each level's m and u
    height = 48 + row_height * len(rows)
    frame = _Frame(width - mu_width, height, (float(lo), float(hi)), (0, 1), left=label_width,
                   bottom=36)
    body = []
    for t in np.arange(lo, hi + 0.1, 5):
        body.append(f'<line x1="{frame.x(t):.1f}" y1="8" x2="{frame.x(t):.1f}" '
                    f'y2="{frame.y0}" stroke="{GRID}"/><text x="{frame.x(t):.1f}" '
                    f'y="{frame.y0 + 15}" text-anchor="middle" fill="{INK}">{t:g}</text>')
    zero = frame.x(0.0)
    for k, (comparison, level, m, u, w) in enumerate(rows):
        y = 10 + row_height * k
        x = min(zero, frame.x(w))
        colour = BLUE if w >= 0 else RED
        body.append(
            f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end" fill="{INK}">'
            f'{_e(comparison)}: {_e(level)}</text>'
            f'<rect class="weight-bar" x="{x:.1f}" y="{y + 2}" width="{abs(frame.x(w) - zero):.1f}"'
            f' height="{row_height - 5}" fill="{colour}"><title>{_e(comparison)} {_e(level)}: '
            f'{w:+.2f} bits (m {m:.4g}, u {u:.4g})</title></rect>'
            f'<text class="mu" x="{width - mu_width + 8}" y="{y + 12}" fill="{INK}">'
            f'm {m:.3g}, u {u:.3g}</text>')
    body.append(f'<line x1="{zero:.1f}" y1="8" x2="{zero:.1f}" y2="{frame.y0}" stroke="{INK}"/>')
    body.append(f'<text x="{(frame.x0 + frame.x1) / 2:.1f}" y="{frame.y0 + 31}" '
                f'text-anchor="middle" fill="{INK}">match weight, bits (log2 m/u)</text>')
    return _svg("chart-weights", width, height, "Match weight of each comparison level",
                f"{len(rows)} levels; bars right of zero are evidence for a match, left of "
                "zero against.", body)


def histogram(scores: npt.NDArray[np.float64], threshold: float, bins: int = 20) -> str:
    """Count of candidates per score bin over [0, 1], the threshold marked (one bar a bin)."""
    counts, edges = np.histogram(scores, bins=bins, range=(0.0, 1.0))
    top = max(int(counts.max()) if len(counts) else 0, 1)
    frame = _Frame(560, 260, (0.0, 1.0), (0.0, float(top)))
    body = frame.axes("score (match probability)", "candidates", [0, 0.25, 0.5, 0.75, 1],
                      [0, top / 2, top], "{:.0f}")
    for count, a, b in zip(counts, edges[:-1], edges[1:], strict=True):
        x, w = frame.x(float(a)), frame.x(float(b)) - frame.x(float(a))
        y = frame.y(float(count))
        body.append(f'<rect class="hist-bar" x="{x + 0.5:.1f}" y="{y:.1f}" width="{w - 1:.1f}" '
                    f'height="{frame.y0 - y:.1f}" fill="{BLUE}"><title>{a:.2f}–{b:.2f}: '
                    f'{int(count)}</title></rect>')
    body.append(_threshold_line(frame, threshold))
    return _svg("chart-histogram", 560, 260, "Scores of the candidates",
                f"{len(scores)} candidates in {bins} bins of width {1 / bins:g}.", body)


def quality_by_threshold(rows: Sequence[tuple[float, float, float | None]],
                         threshold: float) -> str:
    """Expected precision and recall (from the scores alone) as the threshold moves."""
    frame = _Frame(560, 260, (rows[0][0], 1.0) if rows else (0.0, 1.0), (0.0, 1.0))
    body = frame.axes("threshold", "expected share", [round(rows[0][0], 2), 1] if rows
                      else [0, 1], [0, 0.5, 1])
    if rows:
        xs = [r[0] for r in rows]
        body.append(_polyline(frame, xs, [r[1] for r in rows], BLUE, "expected precision"))
        recall = [r[2] for r in rows]
        if all(r is not None for r in recall):
            body.append(_polyline(frame, xs, [float(r or 0.0) for r in recall], RED,
                                  "expected recall", "6 3"))
        body.append(_threshold_line(frame, threshold))
    body += _legend([("expected precision", BLUE), ("expected recall", RED)],
                    frame.x0 + 10, frame.y0 - 40)
    return _svg("chart-expected", 560, 260, "Expected precision and recall by threshold",
                "Estimated from the calibrated scores, without labels.", body)


def precision_recall(recall: Sequence[float], precision: Sequence[float],
                     at_threshold: tuple[float, float] | None) -> str:
    """Precision–recall curve from a truth file; the chosen threshold as a point."""
    frame = _Frame(420, 320, (0.0, 1.0), (0.0, 1.0))
    body = frame.axes("recall", "precision", [0, 0.5, 1], [0, 0.5, 1])
    body.append(_polyline(frame, recall, precision, BLUE, "precision-recall"))
    if at_threshold is not None:
        r, p = at_threshold
        body.append(f'<circle class="threshold" cx="{frame.x(r):.1f}" cy="{frame.y(p):.1f}" '
                    f'r="5" fill="{INK}"><title>threshold: precision {p:.3f}, recall {r:.3f}'
                    '</title></circle>')
    return _svg("chart-pr", 420, 320, "Precision–recall curve (truth file)",
                "Candidates ranked by score, counted against the truth file.", body)


def reliability(scores: npt.NDArray[np.float64], is_true: npt.NDArray[np.bool_],
                bins: int = 10) -> str:
    """Reliability diagram: share of true pairs per score bin against the bin's mean score.

    A calibrated score lies on the diagonal; one ``reliability-point`` per non-empty bin.
    """
    frame = _Frame(420, 320, (0.0, 1.0), (0.0, 1.0))
    body = frame.axes("mean score in bin", "share that is a true pair", [0, 0.5, 1],
                      [0, 0.5, 1])
    body.append(_polyline(frame, [0.0, 1.0], [0.0, 1.0], GRID, "calibrated", "4 3"))
    index = np.minimum((scores * bins).astype(np.int64), bins - 1)
    for b in range(bins):
        sel = index == b
        n = int(sel.sum())
        if not n:
            continue
        mean, share = float(scores[sel].mean()), float(is_true[sel].mean())
        radius = 3 + min(np.log10(n), 4)
        body.append(f'<circle class="reliability-point" cx="{frame.x(mean):.1f}" '
                    f'cy="{frame.y(share):.1f}" r="{radius:.1f}" fill="{BLUE}"><title>'
                    f'{n} candidates: mean score {mean:.3f}, true {share:.3f}</title></circle>')
    return _svg("chart-reliability", 420, 320, "Reliability of the scores (truth file)",
                f"Candidates in {bins} score bins; points on the diagonal are calibrated.", body)


def recall_bars(items: Sequence[tuple[str, float]], chart_id: str, title: str) -> str:
    """One horizontal bar per item of a share in [0, 1] (recall by corruption type, ...)."""
    row_height, label_width, width = 20, 170, 560
    height = 48 + row_height * len(items)
    frame = _Frame(width, height, (0.0, 1.0), (0, 1), left=label_width)
    body = []
    for t in (0.0, 0.5, 1.0):
        body.append(f'<line x1="{frame.x(t):.1f}" y1="8" x2="{frame.x(t):.1f}" '
                    f'y2="{frame.y0}" stroke="{GRID}"/><text x="{frame.x(t):.1f}" '
                    f'y="{frame.y0 + 15}" text-anchor="middle" fill="{INK}">{t:g}</text>')
    for k, (label, share) in enumerate(items):
        y = 10 + row_height * k
        body.append(f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end" fill="{INK}">'
                    f'{_e(label)}</text><rect class="recall-bar" x="{frame.x0}" y="{y + 3}" '
                    f'width="{frame.x(share) - frame.x0:.1f}" height="{row_height - 6}" '
                    f'fill="{GREEN}"><title>{_e(label)}: {share:.3f}</title></rect>'
                    f'<text x="{frame.x(share) + 4:.1f}" y="{y + 13}" fill="{INK}">'
                    f'{share:.3f}</text>')
    return _svg(chart_id, width, height, title, f"{len(items)} bars, shares from 0 to 1.", body)
