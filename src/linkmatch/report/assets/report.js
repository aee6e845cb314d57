// linkmatch review page: paged, sortable, filterable candidates; per-candidate waterfall;
// decisions saved as a CSV download (holder's view). No network: everything is in this file.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("lm-data").textContent);
  const N = D.score.length;
  const SVGNS = "http://www.w3.org/2000/svg";
  const DECISIONS = { same: "same person", not_same: "not the same", unsure: "unsure" };
  const decisions = new Map();
  let unsaved = false; // decisions changed since the last save: leaving the page asks first
  const holder = D.view === "holder";
  const ownSide = D.side;
  let order = [];
  let sortKey = "score";
  let sortDir = -1;
  let page = 0;

  const $ = (id) => document.getElementById(id);
  // the level of candidate i in field j, and the bits of each part of its waterfall
  const level = (i, j) => D.levelVocab[j][D.levelIndex[j][i]];
  const levelsOf = (i) => D.levelNames.map((_, j) => level(i, j));
  function bitsOf(i) {
    const fields = D.levelNames.map((_, j) => D.levelBits[j][D.levelIndex[j][i]]);
    return [D.prior].concat(fields, [D.adjustment[i]]);
  }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function ownId(i) { return ownSide === "left" ? D.left[i] : D.right[i]; }
  function ownRecord(i) {
    const values = D.own[ownId(i)];
    return values ? Object.fromEntries(D.ownColumns.map((c, k) => [c, values[k]])) : null;
  }
  function label(i, side) {
    const v = side === "left" ? D.left[i] : D.right[i];
    return v === "" ? "withheld" : v;
  }

  // columns: key, header, value getter (for sort and filter), cell text
  const columns = [{ key: "rank", head: "#", get: (i) => i + 1 }];
  columns.push({ key: "left", head: "left id", get: (i) => label(i, "left") });
  columns.push({ key: "right", head: "right id", get: (i) => label(i, "right") });
  if (holder) {
    columns.push({ key: "own_name", head: "own record: name", get: (i) => {
      const r = ownRecord(i);
      if (!r) return "";
      return r.full_name || [r.given_names, r.family_name].filter(Boolean).join(" ");
    } });
    columns.push({ key: "own_dob", head: "own record: date of birth", get: (i) => (ownRecord(i) || {}).date_of_birth || "" });
  }
  columns.push({ key: "score", head: "score", get: (i) => D.score[i] });
  if (D.nameScore) columns.push({ key: "name_score", head: "name score", get: (i) => D.nameScore[i] });
  D.levelNames.forEach((name, j) => columns.push({ key: "lv" + j, head: name, get: (i) => level(i, j) }));
  if (D.isTrue) columns.push({ key: "true", head: "true pair", get: (i) => (D.isTrue[i] ? "yes" : "no") });
  if (holder) columns.push({ key: "decision", head: "decision", get: (i) => decisions.get(i) || "" });
  columns.push({ key: "why", head: "why", get: () => "" });

  function searchText(i) {
    const parts = [label(i, "left"), label(i, "right")].concat(levelsOf(i));
    const r = holder ? ownRecord(i) : null;
    if (r) for (const c of D.ownColumns) parts.push(r[c] || "");
    return parts.join(" ").toLowerCase();
  }
  const haystack = Array.from({ length: N }, (_, i) => searchText(i));

  function compare(a, b) {
    const col = columns.find((c) => c.key === sortKey);
    const x = col.get(a), y = col.get(b);
    if (x < y) return -sortDir;
    if (x > y) return sortDir;
    return a - b;
  }

  function applyFilters() {
    const text = $("filter-text").value.trim().toLowerCase();
    const min = parseFloat($("filter-min").value) || 0;
    const wanted = holder ? $("filter-decision").value : "";
    order = [];
    for (let i = 0; i < N; i++) {
      if (D.score[i] < min) continue;
      if (text && !haystack[i].includes(text)) continue;
      if (wanted === "none" && decisions.has(i)) continue;
      if (wanted && wanted !== "none" && decisions.get(i) !== wanted) continue;
      order.push(i);
    }
    order.sort(compare);
    page = 0;
    draw();
  }

  function head() {
    const tr = el("tr");
    for (const col of columns) {
      const th = el("th", { scope: "col" });
      if (col.key === "why") { th.textContent = col.head; tr.appendChild(th); continue; }
      if (col.key === sortKey) th.setAttribute("aria-sort", sortDir < 0 ? "descending" : "ascending");
      const b = el("button", { type: "button", "data-sort": col.key, class: "sort" }, col.head);
      b.addEventListener("click", () => {
        if (sortKey === col.key) sortDir = -sortDir; else { sortKey = col.key; sortDir = col.key === "score" ? -1 : 1; }
        head();
        order.sort(compare);
        page = 0;
        draw();
      });
      th.appendChild(b);
      tr.appendChild(th);
    }
    const thead = document.querySelector("#cand-table thead");
    thead.replaceChildren(tr);
  }

  function decisionCell(i) {
    const select = el("select", { "aria-label": "decision for candidate " + (i + 1), "data-row": String(i), class: "decision" });
    select.appendChild(el("option", { value: "" }, "—"));
    for (const [value, text] of Object.entries(DECISIONS)) {
      const o = el("option", { value: value }, text);
      if (decisions.get(i) === value) o.selected = true;
      select.appendChild(o);
    }
    select.addEventListener("change", () => {
      if (select.value) decisions.set(i, select.value); else decisions.delete(i);
      unsaved = true;
      status();
    });
    return select;
  }

  function draw() {
    const pages = Math.max(1, Math.ceil(order.length / D.pageRows));
    page = Math.min(page, pages - 1);
    const rows = [];
    for (const i of order.slice(page * D.pageRows, (page + 1) * D.pageRows)) {
      const tr = el("tr", { "data-row": String(i) });
      for (const col of columns) {
        const td = el("td");
        if (col.key === "decision") td.appendChild(decisionCell(i));
        else if (col.key === "why") {
          const b = el("button", { type: "button", class: "why", "aria-label": "why candidate " + (i + 1) + " scored " + D.score[i].toFixed(4) }, "why");
          b.addEventListener("click", () => waterfall(i));
          td.appendChild(b);
        } else if (col.key === "score") td.textContent = D.score[i].toFixed(4);
        else if ((col.key === "left" || col.key === "right") && col.get(i).length === 32) {
          // a pseudonym: its first digits tell rows apart; the whole of it is in the tooltip
          td.textContent = col.get(i).slice(0, 10) + "…";
          td.title = col.get(i);
        }
        else td.textContent = String(col.get(i));
        tr.appendChild(td);
      }
      rows.push(tr);
    }
    document.querySelector("#cand-table tbody").replaceChildren(...rows);
    $("count").textContent = order.length + " of " + N + " candidates shown by the filters";
    $("page-info").textContent = "page " + (page + 1) + " of " + pages;
    $("prev").disabled = page === 0;
    $("next").disabled = page >= pages - 1;
    status();
  }

  function status() {
    if (!holder) return;
    $("decided").textContent = decisions.size + " decided";
  }

  function waterfall(i, focus = true) {
    const box = $("why");
    const bits = bitsOf(i);
    const width = 760, rowH = 24, left = 150, right = 210;
    const steps = D.fields.map((f, j) => ({ name: f, bits: bits[j], level: j > 0 && j <= D.levelNames.length ? level(i, j - 1) : "" }));
    const known = steps.filter((s) => s.bits !== null);
    let run = 0, lo = 0, hi = 0;
    for (const s of known) { run += s.bits; lo = Math.min(lo, run); hi = Math.max(hi, run); }
    const total = steps.every((s) => s.bits !== null) ? run : null;
    lo = Math.floor(lo / 5) * 5; hi = Math.ceil(hi / 5) * 5 || 5;
    const x = (v) => left + (v - lo) / (hi - lo) * (width - left - right);
    const height = rowH * (steps.length + 1) + 40;
    const chart = svg("svg", { id: "chart-waterfall", class: "chart", role: "img", viewBox: "0 0 " + width + " " + height, width: width, height: height, "aria-labelledby": "wf-t", "font-family": "system-ui, sans-serif", "font-size": 12 });
    chart.appendChild(svg("title", { id: "wf-t" }, "Waterfall of candidate " + (i + 1) + ": contribution of each field in bits"));
    for (let t = lo; t <= hi; t += 5) {
      chart.appendChild(svg("line", { x1: x(t), y1: 4, x2: x(t), y2: height - 30, stroke: t === 0 ? "#222222" : "#d0d0d0" }));
      chart.appendChild(svg("text", { x: x(t), y: height - 14, "text-anchor": "middle", fill: "#222222" }, String(t)));
    }
    let at = 0;
    steps.forEach((s, k) => {
      const y = 6 + rowH * k;
      const name = s.name + (s.level ? " (" + s.level + ")" : "");
      chart.appendChild(svg("text", { x: left - 6, y: y + 15, "text-anchor": "end", fill: "#222222" }, name));
      if (s.bits === null) {
        const least = s.name === "adjustment" && D.adjustmentAtLeast ? D.adjustmentAtLeast[i] : null;
        const text = least === null ? "cannot be computed (see below)"
          : "at least " + (least >= 0 ? "+" : "") + least.toFixed(2) + " (the score rounds to 1)";
        chart.appendChild(svg("text", { class: "wf-missing", x: left + 4, y: y + 15, fill: "#a52a2a" }, text));
        return;
      }
      const a = x(at), b = x(at + s.bits);
      const bar = svg("rect", { class: "wf-bar", x: Math.min(a, b), y: y + 3, width: Math.max(Math.abs(b - a), 1), height: rowH - 6, fill: s.bits >= 0 ? "#1f5a96" : "#a52a2a" });
      bar.appendChild(svg("title", {}, name + ": " + s.bits.toFixed(2) + " bits"));
      chart.appendChild(bar);
      chart.appendChild(svg("text", { x: Math.max(a, b) + 4, y: y + 15, fill: "#222222" }, (s.bits >= 0 ? "+" : "") + s.bits.toFixed(2)));
      at += s.bits;
    });
    const y = 6 + rowH * steps.length;
    chart.appendChild(svg("text", { x: left - 6, y: y + 15, "text-anchor": "end", "font-weight": "bold", fill: "#222222" }, "match weight"));
    chart.appendChild(svg("rect", { class: "wf-total", x: Math.min(x(0), x(run)), y: y + 3, width: Math.abs(x(run) - x(0)), height: rowH - 6, fill: "#2e6b30" }));
    chart.appendChild(svg("text", { x: Math.max(x(0), x(run)) + 4, y: y + 15, fill: "#222222" }, run.toFixed(2) + " bits" + (total === null ? " from the known parts" : "")));
    const head = el("h3", { id: "why-h" }, "Why candidate " + (i + 1) + " scored " + D.score[i].toFixed(4));
    const parts = [head];
    if (holder) {
      const r = ownRecord(i);
      const dl = el("dl", { class: "own" });
      for (const c of D.ownColumns) {
        if (!r || !r[c]) continue;
        dl.appendChild(el("dt", {}, c.replace(/_/g, " ")));
        dl.appendChild(el("dd", {}, r[c]));
      }
      parts.push(el("p", {}, "Your own record (" + ownSide + " side, id " + ownId(i) + "); the other side's values are never shown:"));
      parts.push(dl);
    }
    parts.push(chart);
    const unknown = steps.filter((s) => s.bits === null).map((s) => s.name + ": " + (D.notes[s.name] || "unknown"));
    if (unknown.length) parts.push(el("p", { class: "note wf-notes" }, "Not computable here — " + unknown.join("; ") + "."));
    parts.push(el("p", { class: "note" }, "Bits are log2 of the odds: prior, then log2(m/u) of each field's level from the fitted model; “adjustment” is what the levels do not explain (name frequency, fields that agree together among non-matches)."));
    box.replaceChildren(...parts);
    head.setAttribute("tabindex", "-1");
    if (focus) head.focus();
  }

  function csvCell(v) {
    const s = String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function saveDecisions() {
    const lines = ["left_id,right_id,score,decision"];
    const rows = Array.from(decisions.keys()).sort((a, b) => a - b);
    for (const i of rows) lines.push([D.left[i], D.right[i], D.score[i], decisions.get(i)].map(csvCell).join(","));
    const blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
    const a = el("a", { href: URL.createObjectURL(blob), download: "decisions.csv" });
    document.body.appendChild(a);
    a.click();
    a.remove();
    unsaved = false;
  }
  function loadDecisions(text) {
    const index = new Map();
    for (let i = 0; i < N; i++) index.set(D.left[i] + "\u001f" + D.right[i], i);
    const lines = text.split(/\r?\n/).filter(Boolean);
    const header = lines.shift().split(",");
    const li = header.indexOf("left_id"), ri = header.indexOf("right_id"), di = header.indexOf("decision");
    let read = 0;
    for (const line of lines) {
      const cells = line.split(",");
      const i = index.get(cells[li] + "\u001f" + cells[ri]);
      if (i !== undefined && DECISIONS[cells[di]]) { decisions.set(i, cells[di]); read++; }
    }
    applyFilters();
    $("decided").textContent = read + " decisions loaded; " + decisions.size + " decided";
  }

  $("withheld-note").hidden = !D.withheld;
  $("filter-text").addEventListener("input", applyFilters);
  $("filter-min").addEventListener("input", applyFilters);
  $("prev").addEventListener("click", () => { page--; draw(); });
  $("next").addEventListener("click", () => { page++; draw(); });
  document.querySelector("form.filters").addEventListener("submit", (e) => e.preventDefault());
  if (holder) {
    $("filter-decision").addEventListener("change", applyFilters);
    $("save-decisions").addEventListener("click", saveDecisions);
    $("load-decisions").addEventListener("change", (e) => {
      const file = e.target.files[0];
      if (file) file.text().then(loadDecisions);
    });
    window.addEventListener("beforeunload", (e) => { if (unsaved) e.preventDefault(); });
  }
  head();
  applyFilters();
  if (N) waterfall(order[0], false);
})();
