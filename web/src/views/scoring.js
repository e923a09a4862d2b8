// The analyst's page: pick plugins, describe a scenario, score it with each plugin
// (ScoreScenario), sweep a lever or an input a plugin declares (SweepScenario, streamed) and
// draw each plugin's sweep as an SVG line chart.
//
// The form is built from each picked plugin's schema (GetPlugin): beside the catalog levers, a
// field for every input the plugin declares itself and for every parameter it has. The page
// checks what it sends as the server does (same ranges, same messages) and sends nothing the
// server would refuse for those reasons; when the server refuses a request anyway, each field
// violation it names is shown next to the field it names.
//
// What the page shows is also kept in `window.leverage` (schemas, and scores and sweeps with
// the requests that gave them), and every displayed number carries its exact value in a
// `data-value` attribute, so that a test can compare the page with the API.

import { Client, GrpcError, PluginState } from "../grpc-web.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

const state = {
  plugins: [], // Plugin messages, as listed
  schemas: {}, // plugin name -> Plugin (GetPlugin), for the picked plugins: the form's source
  scores: null, // { scenario, rows: [{ plugin, request, result | error }] }
  sweeps: null, // { base, axis, lever, series: [{ plugin, request, points, componentNames, ... }] }
  // `checkBeforeSending: false` sends the form as it is, to see what the server says of it.
  options: { checkBeforeSending: true },
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

function displayName(plugin) {
  const p = state.schemas[plugin] ?? state.plugins.find((q) => q.name === plugin);
  return p?.display_name || plugin;
}

// ---------------------------------------------------------------- problems next to fields

/**
 * The element that shows the problems of `control` (made on first use, right after it, and
 * named by the control's aria-describedby, so that a screen reader reads it with the field).
 */
function problemSlot(control) {
  const id = `${control.id}-problem`;
  let slot = $(id);
  if (!slot) {
    slot = el("p", { id, class: "field-problem", hidden: true });
    if (control.tagName === "FIELDSET") control.querySelector("legend").after(slot);
    else if (control.form?.classList.contains("inline")) control.form.append(slot);
    else control.after(slot);
    const described = control.getAttribute("aria-describedby");
    control.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
  }
  return slot;
}

/** Shows `text` next to `control` (once, however often it is named). */
function markProblem(control, text) {
  const slot = problemSlot(control);
  if (slot.hidden) slot.replaceChildren();
  if (![...slot.children].some((c) => c.textContent === text)) slot.append(el("span", { text }));
  slot.hidden = false;
  control.setAttribute("aria-invalid", "true");
  const details = control.closest("details");
  if (details) details.open = true;
}

function clearProblems(scope) {
  for (const slot of scope.querySelectorAll(".field-problem")) {
    slot.hidden = true;
    slot.replaceChildren();
  }
  for (const c of scope.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
}

/** A field changed: what was said of it no longer holds. */
function fieldEdited(event) {
  const control = event.target;
  const slot = $(`${control.id}-problem`);
  if (!control.hasAttribute("aria-invalid") || !slot) return;
  control.removeAttribute("aria-invalid");
  slot.hidden = true;
  slot.replaceChildren();
}

/** The name a person knows a control by: a plugin's input or parameter, a label, a legend. */
function labelOf(control) {
  const plugin = control.closest(".plugin-fields")?.dataset.plugin;
  const own = control.dataset.input ?? control.dataset.parameter;
  if (plugin && own) return `${own} (${displayName(plugin)})`;
  const text = control.labels?.[0]?.textContent ?? control.querySelector?.("legend")?.textContent;
  return (text ?? control.id).replace(/\s+/g, " ").trim();
}

/** Moves the focus to the first field of `forms` that has a problem, if one has. */
function focusFirstProblem(...forms) {
  const first = forms.map((f) => f.querySelector("[aria-invalid=true]")).find(Boolean);
  if (!first) return;
  if (first.tagName === "FIELDSET") first.querySelector("input, summary")?.focus();
  else first.focus();
}

/** The form's own problems: shown next to each field and summed up in the alert. */
function refuseToSend(forms, problems) {
  for (const p of problems) markProblem(p.control, p.text);
  const box = $("error");
  box.hidden = false;
  box.textContent = `Not sent: ${problems.length === 1 ? "a field needs" : `${problems.length} fields need`} a change. `
    + problems.map((p) => `${labelOf(p.control)}: ${p.text}`).join(" · ");
  focusFirstProblem(...forms);
}

/** The catalog fields, by the scenario field a violation names. */
const SCENARIO_CONTROLS = {
  use_mode: "use-mode",
  interest_rate_pct: "interest-rate",
  horizon_years: "horizon",
  participation: "participation",
  as_of: "as-of",
  ceasefire: "ceasefire",
};
const AXIS_CONTROLS = { lever: "lever", input: "lever", start: "sweep-start", stop: "sweep-stop", steps: "sweep-steps" };

/**
 * The controls a field violation of the server names (e.g. `scenario.inputs[0].value`,
 * `parameters[1].name`, `base.interest_rate_pct`, `axes[0].stop`), for the request `sent`
 * describes: the controls its own inputs and parameters were read from, in request order.
 */
function controlsNamed(violation, plugin, sent) {
  const path = violation.field.replace(/^(scenario|base)\./, "");
  const box = fieldsetOf(plugin);
  let m;
  if ((m = /^inputs\[(\d+)\]/.exec(path))) return [sent.inputs[Number(m[1])] ?? box];
  if ((m = /^parameters\[(\d+)\]/.exec(path))) return [sent.parameters[Number(m[1])] ?? box];
  if (path === "inputs") {
    // An unset required input: the message names it as `name`.
    const named = box
      ? [...box.querySelectorAll("input[data-input]")]
        .filter((c) => violation.description.includes(`\`${c.dataset.input}\``))
      : [];
    return named.length ? named : [box];
  }
  if ((m = /^axes\[\d+\]\.(\w+)/.exec(path))) return [$(AXIS_CONTROLS[m[1]])];
  if (path === "axes") return [$("lever")];
  const top = SCENARIO_CONTROLS[path.split(/[.[]/)[0]];
  return top ? [$(top)] : [];
}

/** Shows the field violations of a refused call next to the fields they name. */
function showViolations(error, plugin, sent) {
  if (!(error instanceof GrpcError)) return;
  for (const v of error.fieldViolations) {
    const text = /^(scenario|base)\.participation\[/.test(v.field)
      ? `${v.field.replace(/^\w+\./, "")}: ${v.description}`
      : v.description;
    for (const control of controlsNamed(v, plugin, sent)) if (control) markProblem(control, text);
  }
}

// ---------------------------------------------------------------- the scenario

/** The catalog levers the form sets, with the ranges the server checks (scoring.proto). */
const LEVERS = [
  { id: "interest-rate", field: "interest_rate_pct", min: 0, max: 20 },
  { id: "horizon", field: "horizon_years", min: 1, max: 30, integer: true },
];

/** The number a field holds: null when it is empty, NaN when it holds something else. */
function numberIn(control) {
  if (control.value.trim() === "") return control.validity.badInput ? NaN : null;
  return Number(control.value);
}

const within = (v, min, max) => Number.isFinite(v) && v >= min && v <= max;

function parseParticipation(text, problems, control) {
  const out = [];
  for (const part of text.split(/[,;\s]+/).filter(Boolean)) {
    const m = /^([A-Za-z]{2})\s*[=:]\s*([0-9.]+)$/.exec(part);
    if (!m) {
      problems.push({ control, text: `"${part}" is not of the form CODE=fraction, e.g. BE=0.5` });
      continue;
    }
    const fraction = Number(m[2]);
    if (!within(fraction, 0, 1)) {
      problems.push({ control, text: `${m[1].toUpperCase()}: must be between 0 and 1, got ${m[2]}` });
    }
    out.push({ jurisdiction: m[1].toUpperCase(), fraction });
  }
  return out;
}

/**
 * The Scenario message the catalog fields describe (the levers; a plugin's own inputs are
 * added per plugin). What the server would refuse is added to `problems` as
 * `{ control, text }`; a lever left empty is unset, so the server's default applies.
 */
export function scenarioFromForm(problems = []) {
  const scenario = {
    use_mode: Number($("use-mode").value),
    participation: parseParticipation($("participation").value, problems, $("participation")),
    ceasefire: $("ceasefire").checked,
  };
  for (const lever of LEVERS) {
    const control = $(lever.id);
    let v = numberIn(control);
    if (v === null) continue;
    if (Number.isNaN(v)) {
      problems.push({ control, text: "must be a number" });
      continue;
    }
    if (lever.integer) v = Math.round(v);
    if (!within(v, lever.min, lever.max)) {
      problems.push({ control, text: `must be between ${lever.min} and ${lever.max}, got ${v}` });
    }
    scenario[lever.field] = v;
  }
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

const ownInputs = (schema) => schema?.inputs.filter((i) => i.plugin_declared) ?? [];

/**
 * What one plugin's fields give for a call: the values of its own inputs that are filled in,
 * and the parameters whose value differs from the server's (the others keep it). `swept`, an
 * input a sweep varies, is left to the sweep's axis. What the server would refuse is added
 * to `problems`, with the server's words. `sent` keeps the controls each value came from, in
 * request order, to place what the server says of `inputs[i]` or `parameters[i]`.
 */
function pluginValues(plugin, { swept = null, problems = [] } = {}) {
  const schema = state.schemas[plugin];
  const box = fieldsetOf(plugin);
  const out = { inputs: [], parameters: [], sent: { inputs: [], parameters: [] } };
  if (!schema || !box) return out;
  for (const control of box.querySelectorAll("input[data-input]")) {
    const input = ownInputs(schema).find((i) => i.name === control.dataset.input);
    if (!input || input.name === swept) continue;
    const v = numberIn(control);
    if (v === null) {
      if (input.required) {
        problems.push({
          control,
          text: `\`${input.name}\` (${input.unit}, ${input.min} to ${input.max}) is required by plugins/${schema.id} and not set`,
        });
      }
      continue;
    }
    if (Number.isNaN(v)) {
      problems.push({ control, text: "must be a number" });
      continue;
    }
    if (!within(v, input.min, input.max)) {
      problems.push({ control, text: `\`${input.name}\` must be between ${input.min} and ${input.max}, got ${v}` });
    }
    out.inputs.push({ name: input.name, value: v });
    out.sent.inputs.push(control);
  }
  for (const control of box.querySelectorAll("input[data-parameter]")) {
    const parameter = schema.parameters.find((p) => p.name === control.dataset.parameter);
    const v = numberIn(control);
    if (!parameter || v === null || v === parameter.default_value) continue;
    if (Number.isNaN(v)) {
      problems.push({ control, text: "must be a number" });
      continue;
    }
    if (!within(v, parameter.min, parameter.max)) {
      problems.push({
        control, text: `\`${parameter.name}\` must be between ${parameter.min} and ${parameter.max}, got ${v}`,
      });
    }
    out.parameters.push({ name: parameter.name, value: v });
    out.sent.parameters.push(control);
  }
  return out;
}

// ---------------------------------------------------------------- the plugins' own fields

/** The fieldsets of the picked plugins, kept while the plugin stays picked. */
const fieldsets = new Map();

function fieldsetOf(plugin) {
  return fieldsets.get(plugin) ?? null;
}

/** A labelled number field for an input a plugin declares or one of its parameters. */
function numberField(id, decl, kind) {
  const required = kind === "input" && decl.required;
  const label = el("label", { for: id }, el("span", { class: "name", text: decl.name }));
  if (decl.unit) label.append(el("span", { class: "unit", text: ` (${decl.unit})` }));
  if (required) label.append(el("span", { class: "required", text: " required" }));
  const range = `${decl.min} to ${decl.max}`;
  const how = kind === "parameter"
    ? `the server's value ${decl.default_value}`
    : required ? "required" : `default ${decl.default_value}`;
  const help = el("p", {
    id: `${id}-help`, class: "help",
    text: `${decl.description ? `${decl.description}. ` : ""}From ${range}; ${how}.`,
  });
  const input = el("input", {
    id, type: "number", inputmode: "decimal", step: "any", min: decl.min, max: decl.max,
    value: required ? null : decl.default_value,
    placeholder: required ? range : null,
    required, "aria-describedby": help.id,
    [kind === "input" ? "data-input" : "data-parameter"]: decl.name,
  });
  return el("div", { class: "field" }, label, input, help);
}

// ---------------------------------------------------------------- model cards

/**
 * Text with `code` spans and **strong** runs, as DOM nodes. Everything else stays text: a card
 * comes from a plugin, so nothing in it becomes markup except through textContent.
 */
function inline(text) {
  const out = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*/g;
  let at = 0;
  for (let m; (m = pattern.exec(text)) !== null; at = pattern.lastIndex) {
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(m[1] !== undefined ? el("code", { text: m[1] }) : el("strong", { text: m[2] }));
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

const tableCells = (line) => line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());

/**
 * A plugin's model card (markdown) as elements: headings, paragraphs, lists and tables, built
 * with createElement and text nodes only, so HTML in the card is shown, never run. What this
 * reading does not know (links, images, nested lists) is shown as the text it is.
 */
export function renderModelCard(markdown) {
  const box = el("div", { class: "model-card-text" });
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (line.trim() === "") {
      i += 1;
    } else if ((m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      // The card sits under the page's h2 and the plugin's legend: its # is an h3.
      box.append(el(`h${Math.min(m[1].length + 2, 6)}`, {}, ...inline(m[2])));
      i += 1;
    } else if (/^\s*\|/.test(line)) {
      const rows = [];
      for (; i < lines.length && /^\s*\|/.test(lines[i]); i += 1) rows.push(tableCells(lines[i]));
      const separator = rows.length > 1 && rows[1].every((c) => /^:?-+:?$/.test(c));
      const head = separator ? rows.shift() : null;
      if (separator) rows.shift();
      const table = el("table");
      if (head) table.append(el("thead", {}, el("tr", {}, ...head.map((c) => el("th", { scope: "col" }, ...inline(c))))));
      table.append(el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", {}, ...inline(c)))))));
      box.append(table);
    } else if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = el(ordered ? "ol" : "ul");
      while (i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i])) {
        let item = lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, "");
        // Continuation lines (indented, not a new item) belong to the item.
        for (i += 1; i < lines.length && /^\s+\S/.test(lines[i]) && !/^\s*([-*+]|\d+[.)])\s+/.test(lines[i]); i += 1) {
          item += ` ${lines[i].trim()}`;
        }
        list.append(el("li", {}, ...inline(item)));
      }
      box.append(list);
    } else {
      const text = [];
      for (; i < lines.length && lines[i].trim() !== "" && !/^(#{1,6}\s|\s*\||\s*([-*+]|\d+[.)])\s+)/.test(lines[i]); i += 1) {
        text.push(lines[i].trim());
      }
      box.append(el("p", {}, ...inline(text.join(" "))));
    }
  }
  return box;
}

/** A plugin's model card, folded: what the model is for, reads, ignores; its limits and history. */
function modelCard(schema) {
  const card = schema.model_card ?? "";
  const box = el("details", { class: "model-card", "data-plugin": schema.name },
    el("summary", { text: card.trim() ? "Model card" : "Model card: none" }));
  box.append(card.trim()
    ? renderModelCard(card)
    : el("p", { class: "help", text: "This plugin carries no model card." }));
  return box;
}

/** The fields a plugin's schema asks for: its own inputs, then its parameters. */
function pluginFieldset(schema) {
  const box = el("fieldset", { class: "plugin-fields", "data-plugin": schema.name, id: `fields-${schema.id}` },
    el("legend", { text: schema.display_name || schema.id }));
  const own = ownInputs(schema);
  if (own.length) {
    box.append(...own.map((input, i) => numberField(`own-${schema.id}-${i}`, input, "input")));
  } else {
    box.append(el("p", { class: "help", text: "Reads the levers above and the dataset; no inputs of its own." }));
  }
  if (schema.parameters.length) {
    box.append(el("details", { class: "parameters" },
      el("summary", { text: `Parameters (${schema.parameters.length})` }),
      el("p", { class: "help", text: "Values for these calls only; the server's values are filled in." }),
      ...schema.parameters.map((p, i) => numberField(`param-${schema.id}-${i}`, p, "parameter"))));
  }
  // Last, so that a problem of the fieldset still focuses its first field, not the card.
  box.append(modelCard(schema));
  return box;
}

/** Rebuilds the plugins' fields and the sweep's picker for the plugins picked now. */
function renderPluginFields() {
  const picked = selectedPlugins().filter((name) => state.schemas[name]);
  for (const name of fieldsets.keys()) if (!picked.includes(name)) fieldsets.delete(name);
  for (const name of picked) if (!fieldsets.has(name)) fieldsets.set(name, pluginFieldset(state.schemas[name]));
  $("plugin-fields").replaceChildren(...picked.map((name) => fieldsets.get(name)));
  renderAxisPicker();
}

async function loadSchema(name) {
  try {
    state.schemas[name] = await client().getPlugin(name);
  } catch (e) {
    // The listing has the same schema; say that the plugin could not be read afresh.
    state.schemas[name] = state.plugins.find((p) => p.name === name) ?? null;
    showError(e);
  }
}

let loading = 0;

/** A plugin picked or unpicked: its schema is read again and the form rebuilt. */
async function pluginToggled(event) {
  const name = event.target.value;
  fieldsets.delete(name);
  if (event.target.checked) {
    $("plugin-fields").setAttribute("aria-busy", String(++loading > 0));
    await loadSchema(name);
    $("plugin-fields").setAttribute("aria-busy", String(--loading > 0));
  }
  renderPluginFields();
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
  box.replaceChildren(el("legend", { text: "Plugins" }),
    el("p", { class: "help", text: "Each plugin picked adds the inputs it declares and its parameters below." }));
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
    input.addEventListener("change", pluginToggled);
    const label = el("label", { for: id },
      el("strong", { text: p.display_name || p.id }), ` ${p.version}`);
    const desc = el("span", {
      id: `${id}-desc`, class: "help",
      text: ready ? `${p.score_unit}: ${p.score_description}` : `Unavailable: ${p.state_reason}`,
    });
    box.append(el("div", { class: "plugin", "data-plugin": p.name }, input, label, desc));
  }
  await Promise.all(selectedPlugins().map(loadSchema));
  renderPluginFields();
}

// ---------------------------------------------------------------- scores

/** A table of named values (inputs or parameters used), those the request set marked. */
function usedTable(caption, values, kind, set = []) {
  const attribute = `data-${kind}`;
  const body = el("tbody");
  for (const v of values) {
    const mine = set.some((s) => s.name === v.name);
    body.append(el("tr", { [attribute]: v.name, class: mine ? "set" : null },
      el("th", { scope: "row", text: v.name }),
      el("td", { class: "value" }, num(v.value, v.unit)),
      el("td", { text: mine ? `${v.unit} (set for this call)`.trim() : v.unit })));
  }
  return el("details", { class: "used" },
    el("summary", { text: `${caption} (${values.length})` }),
    el("table", { class: `${kind}s` },
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", text: "Name" }),
        el("th", { scope: "col", text: "Value" }),
        el("th", { scope: "col", text: "Unit" }))),
      body));
}

function renderScores() {
  const box = $("scores");
  box.replaceChildren();
  for (const row of state.scores.rows) {
    const p = state.schemas[row.plugin];
    const card = el("article", { class: "card", "data-plugin": row.plugin });
    card.append(el("h3", { text: displayName(row.plugin) }));
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
    if (r.parameters.length) {
      card.append(usedTable("Parameters used", r.parameters, "parameter", row.request.parameters));
    }
    card.append(usedTable("Inputs used", r.inputs, "input", row.request.scenario.inputs));
    const d = r.as_of;
    const build = r.plugin_build ? `, build ${r.plugin_build}` : "";
    card.append(el("p", {
      class: "help provenance",
      text: `Data as of ${d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "today"}, dataset ${r.dataset_version}, ${p?.id ?? ""} ${r.plugin_version}${build}.`,
    }));
    box.append(card);
  }
}

async function score(event) {
  event.preventDefault();
  const form = $("scenario");
  showError(null);
  clearProblems(form);
  const button = $("score");
  busy(button, true);
  try {
    const problems = [];
    const base = scenarioFromForm(problems);
    const plugins = selectedPlugins();
    if (plugins.length === 0) throw new Error("Pick at least one plugin.");
    const calls = plugins.map((plugin) => {
      const own = pluginValues(plugin, { problems });
      return {
        plugin, sent: own.sent,
        request: { plugin, scenario: { ...base, inputs: own.inputs }, parameters: own.parameters },
      };
    });
    if (problems.length && state.options.checkBeforeSending) {
      refuseToSend([form], problems);
      return;
    }
    const c = client();
    const rows = await Promise.all(calls.map(async ({ plugin, sent, request }) => {
      try {
        const { result } = await c.scoreScenario(plugin, request.scenario, request.parameters);
        return { plugin, request, result, error: null };
      } catch (e) {
        showViolations(e, plugin, sent);
        const error = e instanceof GrpcError
          ? { code: e.code, reason: e.reason, message: e.grpcMessage, field_violations: e.fieldViolations }
          : { code: 2, reason: "UNKNOWN", message: String(e.message ?? e), field_violations: [] };
        return { plugin, request, result: null, error };
      }
    }));
    state.scores = { scenario: base, rows };
    renderScores();
    focusFirstProblem(form);
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

  const p = state.schemas[series.plugin];
  const title = `${displayName(series.plugin)}: score (${p?.score_unit ?? ""}) against ${leverLabel}`;
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
  const { axis, lever, series } = state.sweeps;
  const varies = axis.input ? lever : lever.toLowerCase();
  for (const s of series) {
    const p = state.schemas[s.plugin];
    const figure = el("figure", { class: "card", "data-plugin": s.plugin });
    if (s.skipped) {
      figure.classList.add("skipped");
      figure.append(el("figcaption", {}, el("strong", { text: displayName(s.plugin) }),
        el("span", { class: "help", text: ` — not swept: ${s.skipped}` })));
      box.append(figure);
      continue;
    }
    figure.append(el("figcaption", {},
      el("strong", { text: displayName(s.plugin) }),
      ` — score (${p?.score_unit ?? ""}) as ${varies} varies`));
    if (s.error) {
      figure.append(el("p", { class: "error", text: s.error }));
    } else {
      figure.append(chart(s, lever));
      figure.append(sweepTable(s, lever));
      if (s.parameters.length) {
        figure.append(usedTable("Parameters used", s.parameters, "parameter", s.request.parameters));
      }
      if (s.pluginBuild) {
        figure.append(el("p", { class: "help provenance", text: `Build ${s.pluginBuild}.` }));
      }
    }
    box.append(figure);
  }
}

/** The axis the sweep form describes; its problems (with the server's words) into `problems`. */
function axisFromForm(problems) {
  const option = $("lever").selectedOptions[0];
  const input = option.dataset.input ?? "";
  const axis = input ? { input } : { lever: Number(option.value) };
  const [min, max] = [Number(option.dataset.min), Number(option.dataset.max)];
  for (const [key, id] of [["start", "sweep-start"], ["stop", "sweep-stop"]]) {
    const control = $(id);
    const v = numberIn(control);
    axis[key] = v ?? NaN;
    if (!Number.isFinite(axis[key])) {
      problems.push({ control, text: "must be a number" });
    } else if (!within(v, min, max)) {
      const what = input ? `\`${input}\` ` : "";
      problems.push({ control, text: `${what}must be between ${min} and ${max}, got ${v}` });
    }
  }
  const steps = $("sweep-steps");
  axis.steps = Math.round(numberIn(steps) ?? NaN);
  if (!Number.isFinite(axis.steps)) problems.push({ control: steps, text: "must be a number" });
  else if (axis.steps < 2) problems.push({ control: steps, text: "must be at least 2" });
  else if (axis.steps > Number(steps.max)) {
    problems.push({ control: steps, text: `at most ${steps.max} points on this page` });
  }
  return { axis, label: option.textContent };
}

async function sweep(event) {
  event.preventDefault();
  const forms = [$("scenario"), $("sweep-form")];
  showError(null);
  forms.forEach(clearProblems);
  const button = $("sweep");
  const progress = $("sweep-progress");
  busy(button, true);
  try {
    const problems = [];
    const base = scenarioFromForm(problems);
    const { axis, label: lever } = axisFromForm(problems);
    const plugins = selectedPlugins();
    if (plugins.length === 0) throw new Error("Pick at least one plugin.");
    const calls = plugins.map((plugin) => {
      // A sweep over an input of a plugin's own runs with the plugins that declare it.
      const reads = !axis.input || ownInputs(state.schemas[plugin]).some((i) => i.name === axis.input);
      const own = reads ? pluginValues(plugin, { swept: axis.input, problems }) : null;
      return { plugin, reads, own };
    });
    if (problems.length && state.options.checkBeforeSending) {
      refuseToSend(forms, problems);
      return;
    }
    const total = axis.steps * calls.filter((x) => x.reads).length;
    let done = 0;
    progress.hidden = false;
    progress.max = total;
    progress.value = 0;
    const c = client();
    const chunk_size = Math.max(1, Math.ceil(axis.steps / 4));
    const series = await Promise.all(calls.map(async ({ plugin, reads, own }) => {
      const s = {
        plugin, request: null, points: [], chunks: 0, componentNames: [], parameters: [], pluginBuild: "",
        error: null, skipped: reads ? "" : `it does not read ${axis.input}.`,
      };
      if (!reads) return s;
      s.request = {
        plugin, base: { ...base, inputs: own.inputs }, axes: [axis], chunk_size, parameters: own.parameters,
      };
      try {
        for await (const chunk of c.sweepScenario(s.request)) {
          if (chunk.component_names.length) s.componentNames = chunk.component_names;
          if (chunk.parameters.length) s.parameters = chunk.parameters;
          if (chunk.plugin_build) s.pluginBuild = chunk.plugin_build;
          s.chunks += 1;
          s.points.push(...chunk.points);
          done += chunk.points.length;
          progress.value = done;
        }
      } catch (e) {
        s.error = e instanceof GrpcError ? e.message : String(e);
        showViolations(e, plugin, own.sent);
      }
      return s;
    }));
    state.sweeps = { base, axis, lever, series };
    renderSweeps();
    focusFirstProblem(...forms);
  } catch (e) {
    showError(e);
  } finally {
    progress.hidden = true;
    busy(button, false);
  }
}

/** The sweep's picker: the levers, then the inputs the picked plugins declare themselves. */
function renderAxisPicker() {
  const select = $("lever");
  const chosen = select.value;
  for (const group of select.querySelectorAll("optgroup[data-plugin]")) group.remove();
  const listed = new Set();
  for (const name of selectedPlugins()) {
    const own = ownInputs(state.schemas[name]).filter((i) => !listed.has(i.name));
    if (own.length === 0) continue;
    const group = el("optgroup", { label: `Inputs of ${displayName(name)}`, "data-plugin": name });
    for (const i of own) {
      listed.add(i.name);
      group.append(el("option", {
        value: `input:${i.name}`, "data-input": i.name, "data-min": i.min, "data-max": i.max,
        "data-step": "any", text: i.unit ? `${i.name} (${i.unit})` : i.name,
      }));
    }
    select.append(group);
  }
  if ([...select.options].some((o) => o.value === chosen)) {
    select.value = chosen;
  } else {
    select.value = "7";
    leverChanged();
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
for (const form of [$("scenario"), $("sweep-form")]) form.addEventListener("input", fieldEdited);
$("lever").addEventListener("change", leverChanged);
leverChanged();
loadPlugins().then(() => document.body.setAttribute("data-ready", "true"));

export default {
  id: "scoring",
  title: "Scoring",
  mount() {},
  async show() {},
};
