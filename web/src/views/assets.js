// The Assets view: where the frozen assets sit and how much each holding amounts to as of a date
// (ListHoldings, every page), how a holding's figure moved (ListObservations: a time series whose
// every point shows its source), and the located holdings summed in one currency with the
// aggregate estimates beside the sum (SummarizeHoldings). Everything shown is in the URL:
// as_of, kind, owner_kind, instrument, jurisdiction, custodian, order, holding, observation,
// group_by, currency.

import { GroupBy } from "@leverage/client";
import { amountWords, dateOf, dateText, el, lineChart, moneyValue } from "../ui.js";
import {
  INSTRUMENTS, KINDS, OWNERS, confidenceWords, epochDay, holdingId, instrumentWords, kindWords,
  observedAmount, observedDate, ownerWords, rowTable, sourceOf,
} from "./assets-parts.js";
import { GROUPINGS, drawSummary } from "./assets-summary.js";

const ID = "assets";
// Small enough that the shipped dataset (30 holdings) spans two pages: the view always pages
// through to the end, and its test sees that paging at work.
const PAGE_SIZE = 25;

/** The filter fields of the form, in the order of the API's `filter` terms. */
const FILTERS = ["kind", "owner_kind", "instrument", "jurisdiction", "custodian"];
const ORDERS = [
  ["", "name"],
  ["amount desc", "largest first (in EUR)"],
  ["as_of desc", "most recent figure first"],
  ["jurisdiction", "jurisdiction"],
];

let root;
let app;
let generation = 0; // the latest load; an older one that ends later draws nothing
let choices = null; // the dataset's jurisdictions, custodians and currencies, read once

const $ = (name) => root.querySelector(`[data-part="${name}"]`);
const field = (name) => root.querySelector(`[name="${name}"]`);

/** The view's state as the URL gives it (defaults where it says nothing). */
function stateOf(params) {
  const s = { asOf: params.get("as_of") ?? "", order: params.get("order") ?? "" };
  for (const f of FILTERS) s[f] = params.get(f) ?? "";
  s.holding = params.get("holding") ?? "";
  s.observation = params.get("observation") ?? "";
  s.groupBy = params.get("group_by") || "jurisdiction";
  s.currency = params.get("currency") || "EUR";
  return s;
}

/**
 * The API's filter for the state: `field = value` terms joined by AND, custodians quoted.
 * SummarizeHoldings adds up located holdings only, so its filter leaves `kind` out.
 */
function filterOf(s, { forSummary = false } = {}) {
  return FILTERS.filter((f) => s[f] && !(forSummary && f === "kind"))
    .map((f) => `${f} = ${f === "custodian" ? `"${s[f]}"` : s[f]}`)
    .join(" AND ");
}

/** Every page of a list call: the items under `key`, and the last response. */
async function everyPage(call, request, key) {
  const items = [];
  let pageToken = "";
  let last;
  do {
    last = await call({ ...request, pageSize: PAGE_SIZE, pageToken });
    items.push(...last[key]);
    pageToken = last.nextPageToken;
  } while (pageToken);
  return { items, last };
}

function select(name, label, options, help) {
  const id = `assets-${name.replaceAll("_", "-")}`;
  return el("div", { class: "control" },
    el("label", { for: id, text: label }),
    el("select", { id, name, "aria-describedby": help ? `${id}-help` : null },
      ...options.map(([value, text]) => el("option", { value, text }))),
    help ? el("p", { class: "help", id: `${id}-help`, text: help }) : null);
}

/** Makes sure `select` offers `value` (a URL may name one the dataset does not list). */
function offer(selectEl, value, text = value) {
  if (value && ![...selectEl.options].some((o) => o.value === value)) selectEl.append(el("option", { value, text }));
}

function mount(rootEl, appRef) {
  root = rootEl;
  app = appRef;
  root.append(
    el("h2", { tabindex: -1, text: "Frozen assets" }),
    el("p", { class: "help", text: "Where the frozen Russian assets sit and how much each holding amounts to as of a date, every figure with its source." }),
    el("form", { class: "assets-filters", "data-part": "filters", "aria-label": "Which holdings, as of when" },
      el("div", { class: "control" },
        el("label", { for: "assets-as-of", text: "As of" }),
        el("input", { id: "assets-as-of", name: "as_of", type: "date", "aria-describedby": "assets-as-of-help" }),
        el("p", { class: "help", id: "assets-as-of-help", text: "Each holding's latest figure on or before this day. Empty: today (UTC)." })),
      select("kind", "Kind", [["", "any kind"], ...KINDS]),
      select("owner_kind", "Owner", [["", "any owner"], ...OWNERS]),
      select("instrument", "Form of the assets", [["", "any form"], ...INSTRUMENTS]),
      select("jurisdiction", "Jurisdiction", [["", "any jurisdiction"]]),
      select("custodian", "Custodian", [["", "any custodian"]]),
      select("order", "Order", ORDERS)),
    el("p", { class: "assets-status", role: "status", "aria-live": "polite", "data-part": "status" }),
    el("section", { "aria-labelledby": "assets-holdings-title" },
      el("h3", { id: "assets-holdings-title", text: "Holdings" }),
      el("p", { class: "help", text: "Pick a holding's name to see how its figure moved, every observation with its source." }),
      el("div", { "data-part": "holdings", id: "assets-holdings" })),
    el("section", { "aria-labelledby": "assets-series-title" },
      el("h3", { id: "assets-series-title", "data-part": "series-title", text: "Observations" }),
      el("div", { "data-part": "series", id: "assets-series" },
        el("p", { class: "help", text: "No holding picked." }))),
    el("section", { "aria-labelledby": "assets-summary-title" },
      el("h3", { id: "assets-summary-title", text: "Summary in one currency" }),
      el("form", { class: "inline", "data-part": "summary-form", "aria-label": "How to sum up" },
        select("group_by", "Group by", GROUPINGS.map(([v, , words]) => [v, words])),
        select("currency", "Currency", [["EUR", "EUR"]])),
      el("p", { class: "help", text: "Adds up the located holdings that match the filter above (its kind aside: only located holdings add up), each at its latest figure on or before the date, converted at the exchange rate in force on that date. Breakdowns and aggregate estimates are never added." }),
      el("div", { "data-part": "summary", id: "assets-summary" })),
  );
  for (const form of [$("filters"), $("summary-form")]) {
    form.addEventListener("change", () => {
      // A new filter, date or grouping keeps the picked holding and point.
      refresh(formState(stateOf(app.params())));
    });
    form.addEventListener("submit", (e) => e.preventDefault());
  }
}

/** What the form says now, with the picked holding and point taken from `s`. */
function formState(s) {
  const out = { as_of: field("as_of").value, order: field("order").value };
  for (const f of FILTERS) out[f] = field(f).value;
  out.group_by = field("group_by").value;
  out.currency = field("currency").value;
  out.holding = s.holding;
  out.observation = s.observation;
  return out;
}

/** Writes `values` into the URL and draws them; the view's root says when it is done. */
async function refresh(values) {
  app.setParams(ID, values);
  root.dataset.ready = "false";
  app.error(null);
  try {
    await load(app.params());
  } catch (e) {
    app.error(e);
    root.dataset.ready = "true";
  }
}

/** The jurisdictions and custodians of the dataset's holdings, and the currencies of its rates. */
async function readChoices(api) {
  const [holdings, rates] = await Promise.all([
    everyPage((r) => api.assets.listHoldings(r), {}, "holdings"),
    everyPage((r) => api.dataset.listExchangeRates(r), {}, "exchangeRates"),
  ]);
  const sorted = (values) => [...new Set(values.filter(Boolean))].sort();
  return {
    jurisdictions: sorted(holdings.items.map((h) => h.jurisdiction)),
    custodians: sorted(holdings.items.map((h) => h.custodian)),
    currencies: sorted(["EUR", ...rates.items.flatMap((r) => [r.baseCurrency, r.quoteCurrency])]),
  };
}

function writeForm(s) {
  if (choices) {
    for (const [name, values] of [["jurisdiction", choices.jurisdictions], ["custodian", choices.custodians], ["currency", choices.currencies]]) {
      for (const v of values) offer(field(name), v);
    }
  }
  field("as_of").value = dateOf(s.asOf) ? s.asOf : "";
  for (const f of FILTERS) {
    offer(field(f), s[f]);
    field(f).value = s[f];
  }
  offer(field("order"), s.order);
  field("order").value = s.order;
  offer(field("group_by"), s.groupBy);
  field("group_by").value = s.groupBy;
  offer(field("currency"), s.currency);
  field("currency").value = s.currency;
}

/** Loads and draws what `params` describe; resolves when drawn (or when a newer load took over). */
async function load(params) {
  const mine = ++generation;
  const s = stateOf(params);
  const api = app.api();
  const status = $("status");
  status.textContent = "Loading…";
  for (const part of ["holdings", "series", "summary"]) $(part).setAttribute("aria-busy", "true");
  if (!choices) {
    try {
      choices = await readChoices(api);
    } catch (e) {
      app.error(e); // the form still works with what the URL names; the lists come next time
    }
    if (mine !== generation) return;
  }
  writeForm(s);
  const asOf = dateOf(s.asOf);
  const problems = [];
  if (s.asOf && !asOf) problems.push(new Error(`as_of "${s.asOf}" is not a date (YYYY-MM-DD); showing today's figures`));
  const groupBy = GROUPINGS.find(([v]) => v === s.groupBy);
  if (!groupBy) problems.push(new Error(`group_by "${s.groupBy}" is not one of ${GROUPINGS.map(([v]) => v).join(", ")}`));
  const [holdings, summary, series] = await Promise.allSettled([
    everyPage((r) => api.assets.listHoldings(r), { filter: filterOf(s), orderBy: s.order, asOf }, "holdings"),
    api.assets.summarizeHoldings({
      filter: filterOf(s, { forSummary: true }),
      groupBy: GroupBy[groupBy?.[1] ?? "JURISDICTION"],
      currencyCode: s.currency,
      asOf,
    }),
    s.holding
      ? everyPage((r) => api.assets.listObservations(r), { parent: `holdings/${s.holding}` }, "observations")
      : Promise.resolve(null),
  ]);
  if (mine !== generation) return;

  const said = [];
  if (holdings.status === "fulfilled") {
    const { items, last } = holdings.value;
    drawHoldings(items, s, dateText(last.asOf));
    said.push(`${items.length} holding${items.length === 1 ? "" : "s"} as of ${dateText(last.asOf)}`);
  } else {
    problems.push(holdings.reason);
    $("holdings").replaceChildren(el("p", { class: "error", text: "The holdings could not be loaded (see the message below)." }));
  }
  if (summary.status === "fulfilled") {
    const count = drawSummary($("summary"), summary.value);
    said.push(`summary of ${count} located holding${count === 1 ? "" : "s"} in ${summary.value.currencyCode}`);
  } else {
    problems.push(summary.reason);
    $("summary").replaceChildren(el("p", { class: "error", text: "The summary could not be made (see the message below)." }));
  }
  if (series.status === "fulfilled") {
    // The observation in force on the date, as ListHoldings chose it (when the holding is listed).
    const listed = holdings.status === "fulfilled" ? holdings.value : null;
    const current = listed?.items.find((h) => holdingId(h.name) === s.holding)?.current;
    drawSeries(s, series.value?.items ?? null, current && { id: current.id, on: dateText(listed.last.asOf) });
    if (series.value) said.push(`${series.value.items.length} observations of ${s.holding}`);
  } else {
    problems.push(series.reason);
    $("series-title").textContent = `Observations of ${s.holding}`;
    $("series").replaceChildren(el("p", { class: "error", text: "The observations could not be loaded (see the message below)." }));
  }
  for (const part of ["holdings", "series", "summary"]) $(part).setAttribute("aria-busy", "false");
  status.textContent = said.length ? `Showing ${said.join("; ")}.` : "Nothing could be loaded.";
  // The alert shows one message: the first problem (the others are marked in their sections).
  if (problems.length) app.error(problems[0]);
  root.dataset.ready = "true";
}

/** The holdings table; `date` is the day the server chose each holding's figure for. */
function drawHoldings(items, s, date) {
  const rows = items.map((h) => {
    const id = holdingId(h.name);
    const picked = id === s.holding;
    const o = h.current;
    const pick = el("button", { type: "button", class: "link", "aria-pressed": picked ? "true" : "false", text: id });
    pick.addEventListener("click", () => refresh({ ...formState(s), holding: id, observation: "" }));
    return {
      attrs: { "data-holding": h.name, class: picked ? "picked" : null },
      head: el("th", { scope: "row" }, pick, el("span", { class: "help scope", text: h.scope })),
      cells: [
        kindWords(h.kind),
        h.jurisdiction || (h.coverage ? `several: ${h.coverage}` : "several"),
        h.custodian || el("span", { class: "help", text: "not disclosed" }),
        ownerWords(h.ownerKind),
        instrumentWords(h.instrument),
        el("td", { class: "value current" }, o ? observedAmount(o) : el("span", { class: "help", text: `no figure on or before ${date}` })),
        o ? observedDate(o) : "",
        o ? sourceOf(o.source, o.confidence, o.verified) : "",
      ],
    };
  });
  $("holdings").replaceChildren(items.length
    ? rowTable(`Holdings${filterOf(s) ? ` matching ${filterOf(s)}` : ""}, each with its figure as of ${date}`,
      ["Holding", "Kind", "Jurisdiction", "Custodian", "Owner", "Form", "Amount", "Dated", "Source"], rows,
      { class: "assets-holdings" })
    : el("p", { class: "help", text: "No holding matches the filter." }));
}

/**
 * The series of the picked holding: a line per currency, each point with its source.
 * `current`: the observation in force on the view's date ({ id, on }), when the table lists it.
 */
function drawSeries(s, observations, current) {
  const box = $("series");
  if (!observations) {
    $("series-title").textContent = "Observations";
    box.replaceChildren(el("p", { class: "help", text: "No holding picked." }));
    return;
  }
  $("series-title").textContent = `Observations of ${s.holding}`;
  const currencies = [...new Set(observations.map((o) => o.amount.currencyCode))];
  const series = currencies.map((c) => ({
    label: c,
    // The API gives the series oldest first, so the chart's sort by date keeps this order.
    points: observations.filter((o) => o.amount.currencyCode === c).map((o) => ({
      x: epochDay(o.asOf),
      y: moneyValue(o.amount),
      tip: `${o.id}, ${dateText(o.asOf)}: ${c} ${amountWords(moneyValue(o.amount))}; source: ${o.source?.publisher ?? ""}${o.source?.url ? ` (${o.source.url})` : ""}. Press Enter for details.`,
      observation: o,
    })),
  }));
  const title = `${s.holding}: amount of each observation over time, in ${currencies.join(" and ")}`;
  const chart = lineChart({
    title, xLabel: "Day the figure describes", series, xDates: true,
  });
  moneyTicks(chart);
  const details = el("div", { class: "assets-point", "data-part": "point", "aria-live": "polite" });
  series.forEach((line, i) => {
    chart.querySelector(`polyline[data-series="${line.label}"]`)?.classList.add(`s${i}`);
    const dots = chart.querySelectorAll(`circle.point[data-series="${line.label}"]`);
    line.points.forEach((p, j) => {
      const dot = dots[j];
      dot.classList.add(`s${i}`);
      dot.dataset.observation = p.observation.id;
      const open = () => {
        showPoint(details, chart, p.observation);
        app.setParams(ID, { observation: p.observation.id });
      };
      dot.addEventListener("click", open);
      dot.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          open();
        }
      });
    });
  });
  // The amounts' currencies are said here rather than beside the axis, whose bn/mn ticks need the room.
  const units = currencies.length > 1
    ? ` Amounts in their own currencies, not converted: one line per currency (${currencies.map((c, i) => `${c}: ${["solid", "dashed", "dotted"][i] ?? "dotted"}`).join(", ")}).`
    : ` Amounts in ${currencies[0]}.`;
  box.replaceChildren(
    el("figure", {},
      el("figcaption", { class: "help", text: `Each point is an observation: hover or focus it for its value and source, click it or press Enter for the details.${units}` }),
      chart),
    details,
    el("details", { open: true }, el("summary", { text: `The ${observations.length} observations as a table` }),
      observationsTable(s, observations, current)));
  const picked = observations.find((o) => o.id === s.observation);
  if (picked) showPoint(details, chart, picked);
  else details.append(el("p", { class: "help", text: "No point picked." }));
}

/** The y axis in bn/mn: each tick's value read back from where the chart put it. */
function moneyTicks(chart) {
  const d = chart.dataset;
  const [y0, y1, top, height] = [d.yMin, d.yMax, d.top, d.height].map(Number);
  for (const t of chart.querySelectorAll('g.grid text[text-anchor="end"]')) {
    // lineChart writes a tick's label 4 px below the tick's line (see ui.js).
    const y = Number(t.getAttribute("y")) - 4;
    const v = y0 + ((top + height - y) / height) * (y1 - y0);
    t.textContent = amountWords(Number(v.toPrecision(8)));
  }
}

function showPoint(box, chart, o) {
  for (const c of chart.querySelectorAll("circle.point.picked")) c.classList.remove("picked");
  chart.querySelector(`circle.point[data-observation="${CSS.escape(o.id)}"]`)?.classList.add("picked");
  const src = o.source ?? {};
  const row = (term, ...value) => [el("dt", { text: term }), el("dd", {}, ...value)];
  box.replaceChildren(
    el("h4", { text: `Observation ${o.id}` }),
    el("dl", { "data-observation": o.id },
      ...row("Amount", observedAmount(o)),
      ...row("Dated", observedDate(o)),
      ...row("Publisher", src.publisher || "(none)"),
      ...(src.title ? row("Document", src.title) : []),
      ...row("Address", src.url ? el("a", { href: src.url, target: "_blank", rel: "noopener noreferrer", text: src.url }) : "none: the figure is derived"),
      ...(src.published?.year ? row("Published", dateText(src.published)) : []),
      ...(src.retrieved?.year ? row("Read on", dateText(src.retrieved)) : []),
      ...row("Trust", `${confidenceWords(o.confidence)}; ${o.verified ? "read in the source" : "not read in the source (derived or recalled)"}`),
      ...(o.note ? row("Note", o.note) : [])));
}

function observationsTable(s, observations, current) {
  return rowTable(`Every observation of ${s.holding}, oldest first`, ["Observation", "Dated", "Amount", "Source", "Note"],
    observations.map((o) => ({
      attrs: { "data-observation": o.id, class: o.id === current?.id ? "in-force" : null },
      head: el("th", { scope: "row" }, o.id, o.id === current?.id
        ? el("span", { class: "help", text: ` (in force on ${current.on})` }) : null),
      cells: [observedDate(o), el("td", { class: "value" }, observedAmount(o)), sourceOf(o.source, o.confidence, o.verified), o.note],
    })), { class: "assets-observations" });
}

export default {
  id: ID,
  title: "Assets",
  mount,
  async show(params) {
    await load(params);
  },
};
