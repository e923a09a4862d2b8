// The scoring view: pick plugins, describe a scenario, score it with each plugin
// (ScoreScenario), sweep a lever or an input a plugin declares (SweepScenario, streamed) and
// draw each plugin's sweep, and compare scenarios across the plugins (CompareScenarios) as a
// table and a chart.
//
// The form is built from each picked plugin's schema (GetPlugin): beside the catalog levers, a
// field for every input the plugin declares itself and for every parameter it has. The view
// checks what it sends as the server does (same ranges, same messages) and sends nothing the
// server would refuse for those reasons; when the server refuses a request anyway, each field
// violation it names is shown next to the field it names.
//
// The form, the comparison's scenarios and what was run are kept in the URL, so that a shared
// URL shows the same scores, sweep and comparison. What the view shows is also kept in
// `window.leverage.scoring` (schemas, and scores, sweeps and comparisons with the requests that gave
// them), and every displayed number carries its exact value in `data-value`, so that a test
// can compare the page with the API.

import { PluginState, refusalOf } from "@leverage/client";
import { $, barChart, busy, dateOf, dateText, el, errorText, formatNumber, lineChart, num } from "../ui.js";

const state = {
  plugins: [], // Plugin messages, as listed
  schemas: {}, // plugin name -> Plugin (GetPlugin), for the picked plugins: the form's source
  scores: null, // { scenario, rows: [{ plugin, request, result | error }] }
  sweeps: null, // { base, axis, lever, series: [{ plugin, request, points, componentNames, ... }] }
  comparison: null, // { request, scenarios: [{ label, scenario }], rows: ComparisonRow[] }
  // `checkBeforeSending: false` sends the form as it is, to see what the server says of it.
  options: { checkBeforeSending: true },
};
window.leverage ??= {};
window.leverage.scoring = state;

/** The shell (main.js): the client, the URL, the alert. Set by mount(). */
let app = null;
const api = () => app.api();

/** Every plugin, through every page of ListPlugins. */
async function listPlugins() {
  const out = [];
  let pageToken = "";
  do {
    const page = await api().scoring.listPlugins({ pageToken });
    out.push(...page.plugins);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

function displayName(plugin) {
  const p = state.schemas[plugin] ?? state.plugins.find((q) => q.name === plugin);
  return p?.displayName || plugin;
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
  for (const v of refusalOf(error)?.violations ?? []) {
    const text = /^(scenario|base)\.participation\[/.test(v.field)
      ? `${v.field.replace(/^\w+\./, "")}: ${v.description}`
      : v.description;
    for (const control of controlsNamed(v, plugin, sent)) if (control) markProblem(control, text);
  }
}

// ---------------------------------------------------------------- the scenario

/** The catalog levers the form sets, with the ranges the server checks (scoring.proto). */
const LEVERS = [
  { id: "interest-rate", field: "interestRatePct", min: 0, max: 20 },
  { id: "horizon", field: "horizonYears", min: 1, max: 30, integer: true },
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
    useMode: Number($("use-mode").value),
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
    scenario.asOf = { year, month, day };
  }
  return scenario;
}

function selectedPlugins() {
  return [...document.querySelectorAll("#plugins input[type=checkbox]:checked")].map((c) => c.value);
}

const ownInputs = (schema) => schema?.inputs.filter((i) => i.pluginDeclared) ?? [];

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
    if (!parameter || v === null || v === parameter.defaultValue) continue;
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
    ? `the server's value ${decl.defaultValue}`
    : required ? "required" : `default ${decl.defaultValue}`;
  const help = el("p", {
    id: `${id}-help`, class: "help",
    text: `${decl.description ? `${decl.description}. ` : ""}From ${range}; ${how}.`,
  });
  const input = el("input", {
    id, type: "number", inputmode: "decimal", step: "any", min: decl.min, max: decl.max,
    value: required ? null : decl.defaultValue,
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
  const card = schema.modelCard ?? "";
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
    el("legend", { text: schema.displayName || schema.id }));
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
    state.schemas[name] = await api().scoring.getPlugin({ name });
  } catch (e) {
    // The listing has the same schema; say that the plugin could not be read afresh.
    state.schemas[name] = state.plugins.find((p) => p.name === name) ?? null;
    app.error(e);
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
  saveState();
}

// ---------------------------------------------------------------- plugins

/** Lists the plugins and picks the ready ones (those of `wanted`, a set of ids, when given). */
async function loadPlugins(wanted = null) {
  const box = $("plugins");
  try {
    state.plugins = await listPlugins();
  } catch (e) {
    $("connection").textContent = "Not connected.";
    $("plugins-empty").textContent = "The plugins could not be listed.";
    app.error(e);
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
      type: "checkbox", id, value: p.name, checked: ready && (!wanted || wanted.has(p.id)), disabled: !ready,
      "aria-describedby": `${id}-desc`,
    });
    input.addEventListener("change", pluginToggled);
    const label = el("label", { for: id },
      el("strong", { text: p.displayName || p.id }), ` ${p.version}`);
    const desc = el("span", {
      id: `${id}-desc`, class: "help",
      text: ready ? `${p.scoreUnit}: ${p.scoreDescription}` : `Unavailable: ${p.stateReason}`,
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
    const score = el("p", { class: "score" }, "Score ", num(r.score, r.scoreUnit));
    score.querySelector(".num").classList.add("score-value");
    score.append(el("span", { class: "unit", text: ` ${r.scoreUnit}` }));
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
    const build = r.pluginBuild ? `, build ${r.pluginBuild}` : "";
    card.append(el("p", {
      class: "help provenance",
      text: `Data as of ${dateText(r.asOf) || "today"}, dataset ${r.datasetVersion}, ${p?.id ?? ""} ${r.pluginVersion}${build}.`,
    }));
    box.append(card);
  }
}

async function score(event) {
  event.preventDefault();
  const form = $("scenario");
  app.error(null);
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
    const scoring = api().scoring;
    const rows = await Promise.all(calls.map(async ({ plugin, sent, request }) => {
      try {
        const { result } = await scoring.scoreScenario(request);
        return { plugin, request, result, error: null };
      } catch (e) {
        showViolations(e, plugin, sent);
        const error = refusalOf(e) ?? { code: "Unknown", reason: "UNKNOWN", message: String(e.message ?? e), violations: [] };
        return { plugin, request, result: null, error };
      }
    }));
    state.scores = { scenario: base, rows };
    renderScores();
    ran.add("score");
    saveState();
    focusFirstProblem(form);
  } catch (e) {
    app.error(e);
  } finally {
    busy(button, false);
  }
}

// ---------------------------------------------------------------- sweep

/** A sweep's line chart: its points at the scores SweepScenario gave (errors left out). */
function chart(series, leverLabel) {
  const p = state.schemas[series.plugin];
  const figure = lineChart({
    title: `${displayName(series.plugin)}: score (${p?.scoreUnit ?? ""}) against ${leverLabel}`,
    xLabel: leverLabel,
    series: [{
      label: displayName(series.plugin),
      points: series.points.filter((q) => !q.error).map((q) => ({
        x: q.leverValues[0], y: q.score,
        tip: `${leverLabel} ${formatNumber(q.leverValues[0])}: ${formatNumber(q.score)}`,
      })),
    }],
  });
  figure.dataset.plugin = series.plugin;
  return figure;
}

function sweepTable(series, leverLabel) {
  const head = el("tr", {}, el("th", { scope: "col", text: leverLabel }),
    el("th", { scope: "col", text: "Score" }),
    ...series.componentNames.map((n) => el("th", { scope: "col", text: n })));
  const body = el("tbody");
  for (const q of series.points) {
    const row = el("tr", { "data-index": q.index }, el("td", {}, num(q.leverValues[0])));
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
      ` — score (${p?.scoreUnit ?? ""}) as ${varies} varies`));
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
  app.error(null);
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
    const scoring = api().scoring;
    const chunkSize = Math.max(1, Math.ceil(axis.steps / 4));
    const series = await Promise.all(calls.map(async ({ plugin, reads, own }) => {
      const s = {
        plugin, request: null, points: [], chunks: 0, componentNames: [], parameters: [], pluginBuild: "",
        error: null, skipped: reads ? "" : `it does not read ${axis.input}.`,
      };
      if (!reads) return s;
      s.request = {
        plugin, base: { ...base, inputs: own.inputs }, axes: [axis], chunkSize, parameters: own.parameters,
      };
      try {
        for await (const chunk of scoring.sweepScenario(s.request)) {
          if (chunk.componentNames.length) s.componentNames = chunk.componentNames;
          if (chunk.parameters.length) s.parameters = chunk.parameters;
          if (chunk.pluginBuild) s.pluginBuild = chunk.pluginBuild;
          s.chunks += 1;
          s.points.push(...chunk.points);
          done += chunk.points.length;
          progress.value = done;
        }
      } catch (e) {
        s.error = errorText(e);
        showViolations(e, plugin, own.sent);
      }
      return s;
    }));
    state.sweeps = { base, axis, lever, series };
    renderSweeps();
    ran.add("sweep");
    saveState();
    focusFirstProblem(...forms);
  } catch (e) {
    app.error(e);
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

// ---------------------------------------------------------------- comparison

/** The scenarios to compare: [{ label, scenario }], each scenario a plain Scenario (JSON). */
let comparisonList = [];

const useModeText = (mode) => $("use-mode").querySelector(`option[value="${mode}"]`)?.textContent ?? `use ${mode}`;

/** A short description of a scenario for people, when it is not given a name. */
function describe(scenario) {
  const parts = [useModeText(scenario.useMode)];
  if (scenario.interestRatePct !== undefined) parts.push(`${scenario.interestRatePct} %`);
  if (scenario.horizonYears !== undefined) parts.push(`${scenario.horizonYears} y`);
  if (scenario.participation.length) parts.push(scenario.participation.map((p) => `${p.jurisdiction}=${p.fraction}`).join(" "));
  if (scenario.ceasefire) parts.push("ceasefire");
  if (scenario.asOf) parts.push(`as of ${dateText(scenario.asOf)}`);
  for (const i of scenario.inputs) parts.push(`${i.name}=${i.value}`);
  return parts.join(", ");
}

/**
 * The scenario the form describes now, with the own inputs of every picked plugin (a
 * comparison gives each plugin those it declares), or null after showing what is wrong.
 */
function formScenario() {
  const form = $("scenario");
  clearProblems(form);
  const problems = [];
  const scenario = scenarioFromForm(problems);
  scenario.inputs = selectedPlugins().flatMap((plugin) => pluginValues(plugin, { problems }).inputs);
  if (problems.length) {
    refuseToSend([form], problems);
    return null;
  }
  return scenario;
}

function renderComparisonList() {
  const list = $("compare-list");
  list.replaceChildren(...comparisonList.map((c, i) => {
    const remove = el("button", { type: "button", class: "link", "aria-label": `Remove ${c.label}`, text: "Remove" });
    remove.addEventListener("click", () => {
      comparisonList.splice(i, 1);
      renderComparisonList();
      saveState();
    });
    return el("li", { "data-index": i }, el("span", { text: c.label }), " ", remove);
  }));
  $("compare-empty").hidden = comparisonList.length > 0;
  $("compare").disabled = comparisonList.length === 0;
}

function addScenario(event) {
  event.preventDefault();
  app.error(null);
  const scenario = formScenario();
  if (!scenario) return;
  const label = $("compare-label").value.trim() || describe(scenario);
  comparisonList.push({ label, scenario });
  $("compare-label").value = "";
  renderComparisonList();
  saveState();
}

/** The form's scenario once per use of the assets: what an analyst compares first. */
function addOnePerUse() {
  app.error(null);
  const scenario = formScenario();
  if (!scenario) return;
  for (const option of $("use-mode").options) {
    const s = { ...scenario, useMode: Number(option.value) };
    comparisonList.push({ label: describe(s), scenario: s });
  }
  renderComparisonList();
  saveState();
}

/** A chart per plugin of its score for each scenario, and one table of them all. */
function renderComparison() {
  const box = $("comparison");
  const { scenarios, rows } = state.comparison;
  const outcome = (row, i) => row.outcomes.find((o) => o.index === i)?.outcome;
  const head = el("tr", {}, el("th", { scope: "col", text: "Scenario" }),
    ...rows.map((r) => el("th", { scope: "col", "data-plugin": r.plugin,
      text: `${displayName(r.plugin)} (${state.schemas[r.plugin]?.scoreUnit ?? ""})` })));
  const body = el("tbody", {}, ...scenarios.map((c, i) => el("tr", { "data-index": i },
    el("th", { scope: "row", text: c.label }),
    ...rows.map((r) => {
      const o = outcome(r, i);
      if (o?.case === "result") return el("td", { class: "value", "data-plugin": r.plugin }, num(o.value.score, o.value.scoreUnit));
      const e = o?.value;
      return el("td", { class: "error", "data-plugin": r.plugin, text: e ? `${e.reason}: ${e.message}` : "no outcome" });
    }))));
  const table = el("table", { class: "comparison" },
    el("caption", { text: "Scores by scenario (rows) and plugin (columns)" }), el("thead", {}, head), body);
  const charts = rows.map((r) => {
    const unit = state.schemas[r.plugin]?.scoreUnit ?? "";
    const bars = scenarios.flatMap((c, i) => {
      const o = outcome(r, i);
      return o?.case === "result" ? [{ label: c.label, value: o.value.score }] : [];
    });
    const chart = barChart({ title: `${displayName(r.plugin)}: score (${unit}) by scenario`, unit, bars });
    chart.dataset.plugin = r.plugin;
    return el("figure", { class: "card", "data-plugin": r.plugin },
      el("figcaption", {}, el("strong", { text: displayName(r.plugin) }), ` — score (${unit}) by scenario`), chart);
  });
  box.replaceChildren(table, el("div", { class: "comparison-charts" }, ...charts),
    el("p", { class: "help", text: "Each plugin scores with its configured parameters: a comparison takes no per-call parameters." }));
}

async function compare() {
  app.error(null);
  const button = $("compare");
  busy(button, true);
  try {
    const plugins = selectedPlugins();
    if (plugins.length === 0) throw new Error("Pick at least one plugin.");
    if (comparisonList.length === 0) throw new Error("Add at least one scenario to compare.");
    const scenarios = comparisonList.map((c) => ({ label: c.label, scenario: c.scenario }));
    const request = { plugins, scenarios: scenarios.map((c) => c.scenario) };
    const { rows } = await api().scoring.compareScenarios(request);
    state.comparison = { request, scenarios, rows };
    renderComparison();
    ran.add("compare");
    saveState();
  } catch (e) {
    app.error(e);
  } finally {
    busy(button, false);
  }
}

// ---------------------------------------------------------------- the URL

/** What was run, in the order a shared URL runs it again. */
const ran = new Set();
const RUN_ORDER = ["score", "sweep", "compare"];

const idOf = (name) => name.replace(/^plugins\//, "");

/**
 * The view's state as URL parameters: the form (levers, plugins picked, their own inputs and the
 * parameters changed from the server's), the sweep's axis, the comparison's scenarios and what
 * was run. A shared URL fills the form with it and runs the same calls again.
 */
function formParams() {
  const q = {
    use: $("use-mode").value,
    rate: $("interest-rate").value,
    participation: $("participation").value.trim(),
    horizon: $("horizon").value,
    as_of: $("as-of").value,
    ceasefire: $("ceasefire").checked ? "1" : "",
    plugins: selectedPlugins().map(idOf).join(","),
    vary: $("lever").value,
    from: $("sweep-start").value,
    to: $("sweep-stop").value,
    points: $("sweep-steps").value,
    compare: comparisonList.length ? JSON.stringify(comparisonList) : "",
    run: RUN_ORDER.filter((r) => ran.has(r)).join(","),
  };
  for (const [plugin, box] of fieldsets) {
    const schema = state.schemas[plugin];
    for (const c of box.querySelectorAll("input[data-input]")) q[`in.${schema.id}.${c.dataset.input}`] = c.value;
    for (const c of box.querySelectorAll("input[data-parameter]")) {
      const decl = schema.parameters.find((p) => p.name === c.dataset.parameter);
      q[`param.${schema.id}.${c.dataset.parameter}`] = Number(c.value) === decl?.defaultValue ? "" : c.value;
    }
  }
  return q;
}

/** Writes the state into the URL, and remembers it as drawn (nothing to restore). */
function saveState() {
  app.setParams("scoring", formParams(), { replace: true });
  drawn = location.search;
}

/** Fills the form from `params` (what formParams wrote); unknown or missing names keep the form's. */
function fillForm(params) {
  const set = (id, name) => {
    if (params.has(name)) $(id).value = params.get(name);
  };
  set("use-mode", "use");
  set("interest-rate", "rate");
  set("participation", "participation");
  set("horizon", "horizon");
  set("as-of", "as_of");
  $("ceasefire").checked = params.get("ceasefire") === "1";
  for (const [plugin, box] of fieldsets) {
    const id = state.schemas[plugin].id;
    for (const c of box.querySelectorAll("input[data-input]")) {
      const v = params.get(`in.${id}.${c.dataset.input}`);
      if (v !== null) c.value = v;
    }
    for (const c of box.querySelectorAll("input[data-parameter]")) {
      const v = params.get(`param.${id}.${c.dataset.parameter}`);
      if (v !== null) {
        c.value = v;
        c.closest("details").open = true;
      }
    }
  }
  if (params.has("vary") && [...$("lever").options].some((o) => o.value === params.get("vary"))) {
    $("lever").value = params.get("vary");
    leverChanged();
  }
  set("sweep-start", "from");
  set("sweep-stop", "to");
  set("sweep-steps", "points");
  try {
    const list = JSON.parse(params.get("compare") ?? "[]");
    comparisonList = Array.isArray(list)
      ? list.filter((c) => typeof c?.label === "string" && c.scenario && typeof c.scenario === "object")
      : [];
  } catch {
    comparisonList = [];
  }
  renderComparisonList();
}

/** The query string last drawn: showing it again has nothing to do. */
let drawn = null;
let listed = false;

async function restore(params) {
  if (!listed) {
    const wanted = params.get("plugins");
    await loadPlugins(wanted === null ? null : new Set(wanted.split(",").filter(Boolean)));
    listed = state.plugins.length > 0;
  }
  fillForm(params);
  ran.clear();
  const noEvent = { preventDefault() {} };
  const runs = (params.get("run") ?? "").split(",");
  if (runs.includes("score")) await score(noEvent);
  if (runs.includes("sweep")) await sweep(noEvent);
  if (runs.includes("compare") && comparisonList.length) await compare();
  drawn = location.search;
}

export default {
  id: "scoring",
  title: "Scoring",
  mount(root, shell) {
    app = shell;
    $("scenario").addEventListener("submit", score);
    $("sweep-form").addEventListener("submit", sweep);
    $("compare-form").addEventListener("submit", addScenario);
    $("compare-uses").addEventListener("click", addOnePerUse);
    $("compare-clear").addEventListener("click", () => {
      comparisonList = [];
      renderComparisonList();
      saveState();
    });
    $("compare").addEventListener("click", compare);
    for (const form of [$("scenario"), $("sweep-form")]) {
      form.addEventListener("input", fieldEdited);
      form.addEventListener("change", () => saveState());
    }
    $("lever").addEventListener("change", leverChanged);
    leverChanged();
  },
  async show(params) {
    if (listed && location.search === drawn) return;
    await restore(params);
  },
};
