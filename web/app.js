// The analyst's page: pick a scenario and plugins, score them (CompareScenarios), sweep a lever
// (SweepScenario, streamed) and draw each plugin's sweep as an SVG line chart.
//
// What the page shows is also kept in `window.leverage` (scores and sweeps as received), and
// every displayed number carries its exact value in a `data-value` attribute, so that a test
// can compare the page with the API.

import { Client, GrpcError, PluginState } from "./grpc-web.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

const state = {
  plugins: [], // Plugin messages, as listed
  scores: null, // { scenario, rows: [{ plugin, result | error }] }
  sweeps: null, // { request, lever, series: [{ plugin, points, componentNames, error }] }
};
window.leverage = state;

const client = () => new Client("", { token: $("token").value.trim() });

// ---------------------------------------------------------------- helpers

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** A number for people: up to 4 significant digits, no exponent for everyday sizes. */
export function formatNumber(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toLocaleString("en-GB", { maximumFractionDigits: 4 });
}

/** A number carrying its exact value for tests and copy-paste. */
function num(v, unit) {
  return el("span", { class: "num", "data-value": v, title: `${v}${unit ? ` ${unit}` : ""}` },
    formatNumber(v));
}

function showError(e) {
  const box = $("error");
  if (!e) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.hidden = false;
  box.textContent = e instanceof GrpcError ? `The server refused: ${e.message}` : String(e.message ?? e);
}

function busy(button, on) {
  button.disabled = on;
  button.setAttribute("aria-busy", on ? "true" : "false");
}

// ---------------------------------------------------------------- the scenario

function parseParticipation(text) {
  const out = [];
  for (const part of text.split(/[,;\s]+/).filter(Boolean)) {
    const m = /^([A-Za-z]{2})\s*[=:]\s*([0-9.]+)$/.exec(part);
    if (!m) throw new Error(`Participation: "${part}" is not of the form CODE=fraction, e.g. BE=0.5`);
    out.push({ jurisdiction: m[1].toUpperCase(), fraction: Number(m[2]) });
  }
  return out;
}

/** The Scenario message the form describes. */
export function scenarioFromForm() {
  const scenario = {
    use_mode: Number($("use-mode").value),
    interest_rate_pct: Number($("interest-rate").value),
    horizon_years: Math.round(Number($("horizon").value)),
    participation: parseParticipation($("participation").value),
    ceasefire: $("ceasefire").checked,
  };
  const asOf = $("as-of").value;
  if (asOf) {
    const [year, month, day] = asOf.split("-").map(Number);
    scenario.as_of = { year, month, day };
  }
  return scenario;
}

function selectedPlugins() {
  return [...document.querySelectorAll("#plugins input[type=checkbox]:checked")].map((c) => c.value);
}

function pluginByName(name) {
  return state.plugins.find((p) => p.name === name);
}

// ---------------------------------------------------------------- plugins

async function loadPlugins() {
  const box = $("plugins");
  try {
    state.plugins = await client().listPlugins();
  } catch (e) {
    $("connection").textContent = "Not connected.";
    $("plugins-empty").textContent = "The plugins could not be listed.";
    showError(e);
    return;
  }
  $("connection").textContent = `Connected: ${state.plugins.length} plugin(s).`;
  box.replaceChildren(el("legend", { text: "Plugins" }));
  if (state.plugins.length === 0) {
    box.append(el("p", { class: "help", text: "The server has no plugins." }));
  }
  for (const p of state.plugins) {
    const ready = p.state === PluginState.READY;
    const id = `plugin-${p.id}`;
    const input = el("input", {
      type: "checkbox", id, value: p.name, checked: ready, disabled: !ready,
      "aria-describedby": `${id}-desc`,
    });
    const label = el("label", { for: id },
      el("strong", { text: p.display_name || p.id }), ` ${p.version}`);
    const desc = el("span", {
      id: `${id}-desc`, class: "help",
      text: ready ? `${p.score_unit}: ${p.score_description}` : `Unavailable: ${p.state_reason}`,
    });
    box.append(el("div", { class: "plugin", "data-plugin": p.name }, input, label, desc));
  }
}

// ---------------------------------------------------------------- scores

function renderScores() {
  const box = $("scores");
  box.replaceChildren();
  for (const row of state.scores.rows) {
    const p = pluginByName(row.plugin);
    const card = el("article", { class: "card", "data-plugin": row.plugin });
    card.append(el("h3", { text: p?.display_name || row.plugin }));
    if (row.error) {
      card.append(el("p", { class: "error", text: `${row.error.reason}: ${row.error.message}` }));
      box.append(card);
      continue;
    }
    const r = row.result;
    const score = el("p", { class: "score" }, "Score ", num(r.score, r.score_unit));
    score.querySelector(".num").classList.add("score-value");
    score.append(el("span", { class: "unit", text: ` ${r.score_unit}` }));
    card.append(score);
    const table = el("table", { class: "components" },
      el("caption", { text: "Components" }),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", text: "Component" }),
        el("th", { scope: "col", text: "Value" }),
        el("th", { scope: "col", text: "Unit" }))));
    const body = el("tbody");
    for (const c of r.components) {
      const value = el("td", { class: "value" }, num(c.value, c.unit));
      body.append(el("tr", { "data-component": c.name },
        el("th", { scope: "row", text: c.name }), value, el("td", { text: c.unit })));
    }
    table.append(body);
    card.append(table);
    const d = r.as_of;
    card.append(el("p", {
      class: "help",
      text: `Data as of ${d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "today"}, dataset ${r.dataset_version}, ${p?.id ?? ""} ${r.plugin_version}.`,
    }));
    box.append(card);
  }
}

async function score(event) {
  event.preventDefault();
  showError(null);
  const button = $("score");
  busy(button, true);
  try {
    const scenario = scenarioFromForm();
    const plugins = selectedPlugins();
    if (plugins.length === 0) throw new Error("Pick at least one plugin.");
    const response = await client().compareScenarios(plugins, [scenario]);
    state.scores = {
      scenario,
      rows: response.rows.map((row) => ({
        plugin: row.plugin,
        result: row.outcomes[0]?.result ?? null,
        error: row.outcomes[0]?.error ?? null,
      })),
    };
    renderScores();
  } catch (e) {
    showError(e);
  } finally {
    busy(button, false);
  }
}

// ---------------------------------------------------------------- sweep

/** About `count` round tick values covering [lo, hi]. */
function ticks(lo, hi, count) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

/**
 * An SVG line chart of one sweep. The plot box and the data ranges are kept as data-*
 * attributes so that the drawn points can be mapped back to numbers.
 */
function chart(series, leverLabel) {
  const W = 640, H = 280, left = 64, right = 16, top = 16, bottom = 48;
  const pw = W - left - right, ph = H - top - bottom;
  const pts = series.points.filter((p) => !p.error);
  const xs = series.points.map((p) => p.lever_values[0]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const ys = pts.map((p) => p.score);
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const pad = (y1 - y0) * 0.08 || Math.max(Math.abs(y0) * 0.05, 1);
  y0 -= pad;
  y1 += pad;
  const X = (v) => left + ((v - x0) / (x1 - x0)) * pw;
  const Y = (v) => top + ph - ((v - y0) / (y1 - y0)) * ph;

  const p = pluginByName(series.plugin);
  const title = `${p?.display_name || series.plugin}: score (${p?.score_unit ?? ""}) against ${leverLabel}`;
  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, class: "chart",
    "data-plugin": series.plugin, "data-x-min": x0, "data-x-max": x1, "data-y-min": y0,
    "data-y-max": y1, "data-left": left, "data-top": top, "data-width": pw, "data-height": ph,
  });
  const t = svg("title");
  t.textContent = title;
  root.append(t);

  const grid = svg("g", { class: "grid" });
  for (const v of ticks(y0, y1, 5)) {
    grid.append(svg("line", { x1: left, x2: left + pw, y1: Y(v), y2: Y(v) }));
    const label = svg("text", { x: left - 8, y: Y(v) + 4, "text-anchor": "end" });
    label.textContent = formatNumber(v);
    grid.append(label);
  }
  for (const v of ticks(x0, x1, 8)) {
    grid.append(svg("line", { x1: X(v), x2: X(v), y1: top, y2: top + ph, class: "vertical" }));
    const label = svg("text", { x: X(v), y: top + ph + 18, "text-anchor": "middle" });
    label.textContent = formatNumber(v);
    grid.append(label);
  }
  root.append(grid);
  root.append(svg("rect", { x: left, y: top, width: pw, height: ph, class: "frame" }));
  const xLabel = svg("text", { x: left + pw / 2, y: H - 8, "text-anchor": "middle", class: "axis-label" });
  xLabel.textContent = leverLabel;
  root.append(xLabel);

  const line = svg("polyline", {
    class: "series",
    points: pts.map((q) => `${X(q.lever_values[0]).toFixed(2)},${Y(q.score).toFixed(2)}`).join(" "),
  });
  root.append(line);
  for (const q of pts) {
    const dot = svg("circle", { cx: X(q.lever_values[0]), cy: Y(q.score), r: 3, class: "point" });
    const tip = svg("title");
    tip.textContent = `${leverLabel} ${formatNumber(q.lever_values[0])}: ${formatNumber(q.score)}`;
    dot.append(tip);
    root.append(dot);
  }
  return root;
}

function sweepTable(series, leverLabel) {
  const head = el("tr", {}, el("th", { scope: "col", text: leverLabel }),
    el("th", { scope: "col", text: "Score" }),
    ...series.componentNames.map((n) => el("th", { scope: "col", text: n })));
  const body = el("tbody");
  for (const q of series.points) {
    const row = el("tr", { "data-index": q.index }, el("td", {}, num(q.lever_values[0])));
    if (q.error) {
      row.append(el("td", { colspan: 1 + series.componentNames.length, class: "error",
        text: `${q.error.reason}: ${q.error.message}` }));
    } else {
      row.append(el("td", { class: "sweep-score" }, num(q.score)));
      for (const c of q.components) row.append(el("td", {}, num(c)));
    }
    body.append(row);
  }
  return el("details", { class: "sweep-data" },
    el("summary", { text: "Values" }),
    el("table", {}, el("thead", {}, head), body));
}

function renderSweeps() {
  const box = $("charts");
  box.replaceChildren();
  const { lever, series } = state.sweeps;
  for (const s of series) {
    const p = pluginByName(s.plugin);
    const figure = el("figure", { class: "card", "data-plugin": s.plugin });
    figure.append(el("figcaption", {},
      el("strong", { text: p?.display_name || s.plugin }),
      ` — score (${p?.score_unit ?? ""}) as ${lever.toLowerCase()} varies`));
    if (s.error) {
      figure.append(el("p", { class: "error", text: s.error }));
    } else {
      figure.append(chart(s, lever));
      figure.append(sweepTable(s, lever));
    }
    box.append(figure);
  }
}

async function sweep(event) {
  event.preventDefault();
  showError(null);
  const button = $("sweep");
  const progress = $("sweep-progress");
  busy(button, true);
  try {
    const base = scenarioFromForm();
    const plugins = selectedPlugins();
    if (plugins.length === 0) throw new Error("Pick at least one plugin.");
    const leverSelect = $("lever");
    const axis = {
      lever: Number(leverSelect.value),
      start: Number($("sweep-start").value),
      stop: Number($("sweep-stop").value),
      steps: Math.round(Number($("sweep-steps").value)),
    };
    const lever = leverSelect.selectedOptions[0].textContent;
    const total = axis.steps * plugins.length;
    let done = 0;
    progress.hidden = false;
    progress.max = total;
    progress.value = 0;
    const c = client();
    const series = await Promise.all(plugins.map(async (plugin) => {
      const s = { plugin, points: [], componentNames: [], error: null };
      const request = { plugin, base, axes: [axis], chunk_size: Math.max(1, Math.ceil(axis.steps / 4)) };
      try {
        for await (const chunk of c.sweepScenario(request)) {
          if (chunk.component_names.length) s.componentNames = chunk.component_names;
          s.points.push(...chunk.points);
          done += chunk.points.length;
          progress.value = done;
        }
      } catch (e) {
        s.error = e instanceof GrpcError ? e.message : String(e);
      }
      return s;
    }));
    state.sweeps = { base, axis, lever, series };
    renderSweeps();
  } catch (e) {
    showError(e);
  } finally {
    progress.hidden = true;
    busy(button, false);
  }
}

function leverChanged() {
  const o = $("lever").selectedOptions[0];
  for (const id of ["sweep-start", "sweep-stop"]) {
    $(id).min = o.dataset.min;
    $(id).max = o.dataset.max;
    $(id).step = o.dataset.step;
  }
  $("sweep-start").value = o.dataset.min;
  $("sweep-stop").value = o.dataset.max;
}

// ---------------------------------------------------------------- start

$("scenario").addEventListener("submit", score);
$("sweep-form").addEventListener("submit", sweep);
$("lever").addEventListener("change", leverChanged);
leverChanged();
loadPlugins().then(() => document.body.setAttribute("data-ready", "true"));
