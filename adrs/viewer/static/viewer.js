// The adrs viewer: draws the run from the JSON endpoints and redraws when /api/events says the
// run changed. Text from the run is always set with textContent; only the diff, highlighted
// and escaped by the server, is inserted as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const VIRIDIS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];
const ISLAND_COLOURS = ["#2f6fdb", "#d2691e", "#2e9d5b", "#8e44ad", "#c0392b", "#16a085"];
const view = { run: null, candidates: [], selected: null, writeKey: null };

function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4))
                                      : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "text") node.textContent = value;
    else if (name === "on") Object.entries(value).forEach(([ev, fn]) => node.addEventListener(ev, fn));
    else node.setAttribute(name, value);
  }
  children.forEach((child) => node.append(child));
  return node;
}

const fmt = (value, digits = 4) => (value === null || value === undefined ? "—" : Number(value).toFixed(digits));

function colour(score, low, high) {
  if (score === null) return "#ffffff";
  const t = high > low ? (score - low) / (high - low) : 1;
  const at = Math.min(VIRIDIS.length - 1.0001, Math.max(0, t * (VIRIDIS.length - 1)));
  const i = Math.floor(at), f = at - i;
  const mix = (a, b) => Math.round(a + (b - a) * f);
  const rgb = (hex) => [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  const [a, b] = [rgb(VIRIDIS[i]), rgb(VIRIDIS[i + 1])];
  return `rgb(${mix(a[0], b[0])},${mix(a[1], b[1])},${mix(a[2], b[2])})`;
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST", body: JSON.stringify(body),
    headers: { "content-type": "application/json", "x-adrs-write": view.writeKey || "" } });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || `${response.status}`);
  return answer;
}

async function refresh() {
  const [run, list] = await Promise.all([getJSON("/api/run"), getJSON("/api/candidates")]);
  view.run = run;
  view.candidates = list.candidates;
  view.writeKey = run.access.write_key;
  drawHeader(run);
  drawTree(list.candidates);
  drawProgress(run.progress);
  drawReviews(run);
  drawSteering(run);
  drawSettings(run);
  if (run.access.compare) drawCompare();
  if (view.selected) showCandidate(view.selected, false);
}

function drawHeader(run) {
  const s = run.summary;
  document.getElementById("title").textContent = `adrs · ${s.problem} · ${s.name}`;
  const state = s.paused ? "paused for review" : (s.stop_reason || "running");
  document.getElementById("status").textContent =
    `${s.brain} · iteration ${s.iterations}/${s.iterations_budget} · best ${fmt(s.best_score)} ` +
    `(${s.best_key}) · ${s.evaluations} evaluations · ${state}`;
}

function drawTree(candidates) {
  const box = document.getElementById("tree");
  const scores = candidates.filter((c) => c.score !== null).map((c) => c.score);
  const [low, high] = [Math.min(...scores), Math.max(...scores)];
  const maxX = Math.max(1, ...candidates.map((c) => c.x));
  const rows = 1 + Math.max(0, ...candidates.map((c) => c.row));
  const dx = Math.max(18, Math.min(60, (box.clientWidth - 140) / maxX)), dy = 18;
  const islands = [...new Set(candidates.map((c) => c.island))].sort((a, b) => a - b);
  const left = islands.length > 1 ? 64 : 40;  // room for the island labels
  const X = (x) => left + x * dx, Y = (row) => 16 + row * dy;
  const svg = el("svg:svg", { width: X(maxX) + 70, height: Y(rows) + 10, id: "tree-svg" });
  const byKey = Object.fromEntries(candidates.map((c) => [c.key, c]));
  if (islands.length > 1) {
    for (const island of islands) {
      const mine = candidates.filter((c) => c.island === island).map((c) => c.row);
      const top = Y(Math.min(...mine)) - dy / 2, bottom = Y(Math.max(...mine)) + dy / 2;
      svg.append(el("svg:rect", { x: 0, y: top, width: X(maxX) + 40, height: bottom - top,
        fill: ISLAND_COLOURS[island % ISLAND_COLOURS.length], "fill-opacity": 0.06 }));
      svg.append(el("svg:text", { x: 2, y: top + 10, text: `island ${island}` }));
    }
  }
  for (const c of candidates) {
    const parent = byKey[c.parent];
    if (!parent) continue;
    const [x1, y1, x2, y2] = [X(parent.x), Y(parent.row), X(c.x), Y(c.row)];
    const mid = x1 + Math.min(dx / 2, (x2 - x1) / 2);
    svg.append(el("svg:path", { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
      fill: "none", stroke: "#b8bec3", "stroke-width": 1.2 }));
  }
  for (const c of candidates) {
    const [x, y] = [X(c.x), Y(c.row)];
    const group = el("svg:g", { class: "node", "data-key": c.key, "data-status": c.status,
                                on: { click: () => showCandidate(c.key, true) } });
    group.append(el("svg:title", { text: `${c.key} · ${c.status} · ${fmt(c.score)} · ${c.summary}` }));
    if (c.status === "failed") {
      group.append(el("svg:rect", { x: x - 6, y: y - 6, width: 12, height: 12, fill: "#fff", "fill-opacity": 0.01 }));
      group.append(el("svg:path", { d: `M${x - 5},${y - 5}L${x + 5},${y + 5}M${x - 5},${y + 5}L${x + 5},${y - 5}`,
        stroke: "#d23c3c", "stroke-width": 2.5 }));
    } else {
      group.append(el("svg:circle", { cx: x, cy: y, r: c.status === "baseline" ? 7 : 6,
        fill: c.status === "rejected" ? "#fff" : colour(c.score, low, high),
        stroke: c.status === "rejected" ? "#e5a11a" : (c.best ? "#d4a017" : "#1d2327"),
        "stroke-width": c.best ? 3 : (c.status === "rejected" ? 2 : 0.8),
        "stroke-dasharray": c.status === "rejected" ? "2,2" : "" }));
    }
    if (c.key === view.selected) group.lastChild.classList.add("selected");
    svg.append(group);
  }
  const every = Math.max(1, Math.ceil(maxX / 12));  // at most a dozen iteration labels
  for (let x = 0; x <= maxX; x += every) {
    svg.append(el("svg:text", { x: X(x) - 3, y: Y(rows) + 6, text: String(x) }));
  }
  svg.append(el("svg:text", { x: X(maxX) + 12, y: Y(rows) + 6, text: "iteration" }));
  box.replaceChildren(svg);
}

function drawProgress(series) {
  const lines = Object.entries(series);
  const points = lines.flatMap(([, line]) => line);
  const box = document.getElementById("progress");
  if (!points.length) { box.replaceChildren(el("p", { class: "hint", text: "no scores yet" })); return; }
  const [w, h, pad] = [Math.max(300, box.clientWidth - 10), 160, 38];
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys, Math.min(...ys) + 1e-9)];
  const X = (x) => pad + ((x - x0) / (x1 - x0)) * (w - pad - 10);
  const Y = (y) => h - 18 - ((y - y0) / (y1 - y0)) * (h - 30);
  const svg = el("svg:svg", { width: w, height: h, id: "progress-svg" });
  svg.append(el("svg:text", { x: 0, y: Y(y1) + 4, text: fmt(y1) }), el("svg:text", { x: 0, y: Y(y0) + 4, text: fmt(y0) }));
  svg.append(el("svg:text", { x: pad, y: h - 4, text: `iteration ${x0}` }), el("svg:text", { x: w - 30, y: h - 4, text: String(x1) }));
  for (const [island, line] of lines) {
    const stroke = ISLAND_COLOURS[Number(island) % ISLAND_COLOURS.length];
    const last = line[line.length - 1];
    const steps = line.flatMap(([x, y], i) => (i ? [[x, line[i - 1][1]], [x, y]] : [[x, y]]));
    steps.push([x1, last[1]]);
    svg.append(el("svg:polyline", { points: steps.map(([x, y]) => `${X(x)},${Y(y)}`).join(" "),
      fill: "none", stroke, "stroke-width": 2 }));
    svg.append(el("svg:text", { x: X(x1) - 60, y: Y(last[1]) - 4, text: `island ${island}` }));
  }
  box.replaceChildren(svg);
}

function table(id, rows) {
  document.getElementById(id).replaceChildren(...rows.map((cells) =>
    el("tr", {}, ...cells.map((cell, i) => el(i ? "td" : "th", { text: String(cell) })))));
}

function drawSettings(run) {
  const flat = [];
  for (const [key, value] of Object.entries(run.settings)) {
    if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) flat.push([`${key}.${k}`, JSON.stringify(v)]);
    } else flat.push([key, value === null ? "—" : value]);
  }
  table("settings", flat);
  const usage = Object.entries(run.summary.usage);
  table("spend", usage.length
    ? [["role", "calls", "tokens", "dollars"], ...usage.map(([role, u]) =>
        [role, u.calls || 0, (u.input_tokens || 0) + (u.output_tokens || 0), `$${fmt(u.dollars || 0)}`]),
       ["total", "", run.summary.tokens, `$${fmt(run.summary.dollars)}`]]
    : [["model spend", "none: no model calls (offline brain)"]]);
}

async function drawCompare() {
  const data = await getJSON("/api/compare").catch((e) => ({ error: e.message }));
  document.getElementById("compare-section").hidden = false;
  if (data.error) { table("compare", [["error", data.error]]); return; }
  table("compare", [["", ...data.runs], ...data.rows.map(([name, cells]) => [name, ...cells])]);
}

function drawSteering(run) {
  document.getElementById("steering").replaceChildren(...run.steering.map((note) =>
    el("li", {}, el("span", { class: "text", text: note.text }),
       el("small", { text: ` — ${note.author}, after iteration ${note.after_iteration}` }))));
  document.getElementById("steer-form").hidden = !run.access.writable;
  document.getElementById("read-only").hidden = run.access.writable;
}

function reviewerName(input) {
  const name = input.value.trim();
  if (name) localStorage.setItem("adrs-reviewer", name);
  return name;
}

function drawReviews(run) {
  document.getElementById("reviews-section").hidden = !run.pending.length;
  const box = document.getElementById("reviews");
  const open = new Set([...box.querySelectorAll("[data-review]")].map((n) => n.dataset.review));
  if (run.pending.every((p) => open.has(p.id)) && open.size === run.pending.length) return;
  box.replaceChildren(...run.pending.map((item) => {
    const hypothesis = el("textarea", { rows: 4 }); hypothesis.value = item.hypothesis;
    const parent = el("input", { value: item.parent_key, size: 12 });
    const name = el("input", { placeholder: "your name", value: localStorage.getItem("adrs-reviewer") || "" });
    const result = el("span", { class: "error" });
    const send = async (edits) => {
      const body = { reviewer: reviewerName(name) };
      if (edits && hypothesis.value.trim() !== item.hypothesis.trim()) body.hypothesis = hypothesis.value;
      if (edits && parent.value.trim() !== item.parent_key) body.parent = parent.value.trim();
      try { await postJSON(`/api/reviews/${item.id}`, body); result.textContent = "sent"; }
      catch (e) { result.textContent = e.message; }
    };
    const controls = run.access.writable
      ? el("div", { class: "row" }, name,
          el("button", { text: "Approve", on: { click: () => send(false) } }),
          el("button", { text: "Send my edits", on: { click: () => send(true) } }), result)
      : el("p", { class: "hint", text: "read-only viewer: answer in the terminal" });
    return el("div", { class: "review", "data-review": item.id },
      el("strong", { text: `${item.key}: ${item.summary}`, "data-key": item.key }),
      el("small", { text: ` from ${item.parent_key} (${fmt(item.parent_score)})` }),
      item.error ? el("p", { class: "error", text: `last answer refused: ${item.error}` }) : "",
      el("pre", { text: `change: ${item.change}\nexpected: ${item.expected_effect}` }),
      el("label", { text: "hypothesis" }), hypothesis,
      el("div", { class: "row" }, el("label", { text: "parent" }), parent), controls);
  }));
}

function figures(title, rows) {
  if (!rows.length) return "";
  const body = rows.map((r) => el("tr", {}, el("td", { text: r.name }),
    el("td", { class: "num", text: fmt(r.value) }), el("td", { class: "num", text: fmt(r.parent) }),
    el("td", { class: `num ${r.change > 0 ? "up" : r.change < 0 ? "down" : ""}`,
               text: r.change === null ? "" : (r.change > 0 ? "+" : "") + fmt(r.change) })));
  return el("div", {}, el("h3", { text: title }),
    el("table", {}, el("tr", {}, ...["", "this", "parent", "change"].map((t) => el("th", { text: t }))), ...body));
}

async function showCandidate(key, scroll) {
  view.selected = key;
  document.querySelectorAll("#tree-svg .selected").forEach((n) => n.classList.remove("selected"));
  const node = document.querySelector(`#tree-svg [data-key="${key}"]`);
  if (node) node.lastChild.classList.add("selected");
  const c = await getJSON(`/api/candidates/${encodeURIComponent(key)}`);
  const link = (k) => el("a", { href: "#", text: k, on: { click: (e) => { e.preventDefault(); showCandidate(k, true); } } });
  const section = (title, text, id) => (text ? el("div", { id }, el("h3", { text: title }), el("pre", { class: "text", text })) : "");
  const diff = el("div", { class: "diff code", id: "detail-diff" });
  diff.innerHTML = c.diff_html || "<span>(no change to program.py)</span>";
  document.getElementById("detail").replaceChildren(
    el("h2", {}, el("span", { text: `${c.key} ` }), el("span", { class: `badge ${c.status}`, text: c.status }),
       el("span", { text: ` ${fmt(c.score)} · island ${c.island} · ${c.operator} · ${c.model}` })),
    el("p", {}, el("span", { text: "parent " }), c.parent ? link(c.parent) : el("span", { text: "none" }),
       el("span", { text: c.children.length ? " · children " : "" }),
       ...c.children.flatMap((k, i) => [i ? el("span", { text: ", " }) : "", link(k)])),
    el("h3", { text: "Plan" }), el("p", { id: "detail-summary", text: c.summary }),
    section("Hypothesis", c.hypothesis, "detail-hypothesis"),
    section("Review", c.review_line, "detail-review"),
    section("Critic", c.verdict, "detail-verdict"),
    section("Findings", c.findings, "detail-findings"),
    section("Research note", c.note, "detail-note"),
    figures("Metrics", c.metrics), figures("Per workload", c.workloads),
    section("Feedback", c.feedback, "detail-feedback"),
    el("h3", { text: "Diff against its parent" }), diff);
  if (scroll) document.getElementById("detail").scrollTop = 0;
}

function listen() {
  const live = document.getElementById("live");
  const events = new EventSource("/api/events");
  events.addEventListener("change", () => refresh().catch((e) => console.error(e)));
  events.onopen = () => { live.textContent = "● live"; live.className = "live on"; };
  events.onerror = () => { live.textContent = "○ reconnecting"; live.className = "live off"; };
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("steer-form");
  const author = document.getElementById("steer-author");
  author.value = localStorage.getItem("adrs-reviewer") || "";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = document.getElementById("steer-result");
    const text = document.getElementById("steer-text");
    try {
      await postJSON("/api/steer", { text: text.value, author: reviewerName(author) });
      text.value = ""; result.textContent = "added"; result.className = "";
      await refresh();
    } catch (e) { result.textContent = e.message; result.className = "error"; }
  });
  refresh().catch((e) => console.error(e));
  listen();
});
