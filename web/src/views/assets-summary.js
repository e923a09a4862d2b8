// The Assets view's summary: SummarizeHoldings drawn so that its total can be checked by hand.
// The groups as a bar chart and a table, every observation added with its conversion, the
// aggregate estimates BESIDE the located total (they overlap the located holdings, so adding
// them would count assets twice), and every exchange rate applied, with its source.

import { amountWords, barChart, dateText, el, money, moneyValue, num } from "../ui.js";
import {
  confidenceWords, exactNum, groupKeyWords, holdingId, observedAmount, observedDate, rowTable, sourceOf,
} from "./assets-parts.js";

/** What the summary groups by: the URL's value, the API's GroupBy name, and its words. */
export const GROUPINGS = [
  ["jurisdiction", "JURISDICTION", "jurisdiction"],
  ["custodian", "CUSTODIAN", "custodian"],
  ["owner_kind", "OWNER_KIND", "owner"],
  ["instrument", "INSTRUMENT", "form of the assets"],
];

/** A bar's label, short enough for the chart's margin; the full key is in its `<title>`. */
const shortLabel = (key) => (key.length > 22 ? `${key.slice(0, 21)}…` : key);

function groupsChart(s) {
  const cur = s.currencyCode;
  const chart = barChart({
    title: `Located holdings by group, in ${cur}, as of ${dateText(s.asOf)}`,
    unit: cur,
    bars: s.groups.map((g) => {
      const v = moneyValue(g.total);
      return {
        label: shortLabel(groupKeyWords(g.key)),
        value: v,
        tip: `${groupKeyWords(g.key)}: ${cur} ${amountWords(v)} (${g.holdingCount} holding${g.holdingCount === 1 ? "" : "s"})`,
      };
    }),
  });
  // The value printed beside each bar, in bn/mn like the tables rather than as an exponent.
  for (const bar of chart.querySelectorAll("rect.bar")) {
    bar.nextSibling.textContent = amountWords(Number(bar.dataset.value));
  }
  return chart;
}

function groupsTable(s) {
  return rowTable(`Located holdings by group, in ${s.currencyCode}`, ["Group", "Total", "Holdings"],
    s.groups.map((g) => ({
      attrs: { "data-group": g.key },
      head: groupKeyWords(g.key),
      cells: [el("td", { class: "value" }, money(g.total)), el("td", { class: "value" }, num(g.holdingCount))],
    })), { class: "assets-groups" });
}

/** Every observation added into the total, with its conversion and the rates applied. */
function additionsTable(s) {
  const rows = s.groups.flatMap((g) => g.observations.map((u) => ({
    attrs: { "data-holding": u.holding },
    head: holdingId(u.holding),
    cells: [groupKeyWords(g.key), u.observationId, el("td", { class: "value" }, money(u.original)),
      el("td", { class: "value" }, money(u.converted)), u.rateIds.join(", ") || "none (same currency)"],
  })));
  return rowTable(`Each observation added, as published and in ${s.currencyCode}`,
    ["Holding", "Group", "Observation", "As published", `In ${s.currencyCode}`, "Rates applied"], rows,
    { class: "assets-additions" });
}

function estimatesTable(s) {
  const cur = s.currencyCode;
  return rowTable(`Aggregate estimates, beside the located total and never added to it`,
    ["Estimate", "What it measures", "Covers", "As published", "Dated", `In ${cur}`, "Source"],
    s.estimates.map((e) => {
      const o = e.observation;
      return {
        attrs: { "data-estimate": e.holding },
        head: holdingId(e.holding),
        cells: [e.scope, e.coverage, el("td", { class: "value" }, observedAmount(o)), observedDate(o),
          el("td", { class: "value converted" }, e.converted ? money(e.converted) : `no rate to ${cur}`),
          sourceOf(o.source, o.confidence, o.verified)],
      };
    }), { class: "assets-estimates" });
}

function ratesTable(s) {
  return rowTable("Exchange rates applied", ["Rate", "Pair", "Rate as published", "Factor applied", "Dated",
    "Source", "Note"], s.ratesUsed.map((r) => ({
    attrs: { "data-rate": r.rateId },
    head: r.rateId,
    cells: [
      `${r.baseCurrency}/${r.quoteCurrency}`,
      el("td", { class: "value rate" }, exactNum(r.rate)),
      el("td", { class: "value factor" }, exactNum(r.factor, 6)),
      el("time", { datetime: dateText(r.asOf), text: dateText(r.asOf) }),
      el("span", {}, sourceOf(r.source), el("span", { class: "help" }, ` · ${confidenceWords(r.confidence)}`)),
      r.note,
    ],
  })), { class: "assets-rates" });
}

/** Draws a SummarizeHoldings answer `s` into `box`; `count` is how many holdings it added. */
export function drawSummary(box, s) {
  const cur = s.currencyCode;
  const count = s.groups.reduce((n, g) => n + g.holdingCount, 0);
  const parts = [
    el("p", { class: "assets-total", id: "assets-located-total" },
      el("span", { class: "label", text: `Located total as of ${dateText(s.asOf)}: ` }),
      money(s.locatedTotal),
      el("span", { class: "help", text: ` from ${count} located holding${count === 1 ? "" : "s"} in ${s.groups.length} group${s.groups.length === 1 ? "" : "s"}` })),
    s.groups.length
      ? el("figure", {}, el("figcaption", { class: "help", text: "Each bar is a group's total; its exact value is in the table below the chart." }), groupsChart(s))
      : el("p", { class: "help", text: "No located holding matches the filter." }),
    groupsTable(s),
    el("details", {}, el("summary", { text: `Each observation added, with its conversion into ${cur}` }), additionsTable(s)),
    el("h4", { text: "Aggregate estimates beside the total" }),
    el("p", { class: "help", text: "Estimates across many jurisdictions overlap the located holdings, so they are listed for comparison and never added to the total." }),
    s.estimates.length ? estimatesTable(s) : el("p", { class: "help", text: "No aggregate estimate for this owner on or before the date." }),
    el("h4", { text: "Exchange rates used" }),
    s.ratesUsed.length ? ratesTable(s) : el("p", { class: "help", text: `No conversion: every amount added is in ${cur}.` }),
    s.holdingsWithoutData.length
      ? el("p", { class: "help", id: "assets-without-data" },
        `Matching located holdings without an observation on or before ${dateText(s.asOf)} (they add nothing): `,
        s.holdingsWithoutData.map(holdingId).join(", "), ".")
      : null,
  ];
  box.replaceChildren(...parts.filter(Boolean));
  return count;
}
