// Pieces the Assets view draws in several places: observed amounts (money through ui.js), the
// API's enum values in words, sources with their links, and tables whose rows have headers.

import { AssetInstrument, Bound, Confidence, HoldingKind, OwnerKind } from "@leverage/client";
import { amountNum, dateText, el, money, moneyValue, num } from "../ui.js";

/** The filter's enum fields: the value names the API takes (no prefix) and their words. */
export const KINDS = [
  ["LOCATED", "located"],
  ["AGGREGATE", "aggregate estimate"],
  ["BREAKDOWN", "breakdown (part of a located holding)"],
];
export const OWNERS = [
  ["CENTRAL_BANK", "central bank"],
  ["SANCTIONED_INDIVIDUALS", "sanctioned individuals"],
  ["SANCTIONED_ENTITIES", "sanctioned entities"],
  ["SANCTIONED_MIXED", "sanctioned persons (not split)"],
];
export const INSTRUMENTS = [
  ["CASH", "cash"],
  ["SECURITIES", "securities"],
  ["CASH_AND_SECURITIES", "cash and securities"],
  ["REAL_ESTATE", "real estate"],
  ["VESSELS", "vessels"],
  ["AIRCRAFT", "aircraft"],
  ["OTHER", "other or several"],
];

const wordsOf = (pairs) => new Map(pairs);
const KIND_WORDS = wordsOf(KINDS);
const OWNER_WORDS = wordsOf(OWNERS);
const INSTRUMENT_WORDS = wordsOf(INSTRUMENTS);

export const kindWords = (v) => KIND_WORDS.get(HoldingKind[v]) ?? String(v);
export const ownerWords = (v) => OWNER_WORDS.get(OwnerKind[v]) ?? String(v);
export const instrumentWords = (v) => INSTRUMENT_WORDS.get(AssetInstrument[v]) ?? String(v);

/** A summary group's key in words: enum keys (owner kind, instrument) read as words. */
export const groupKeyWords = (key) => OWNER_WORDS.get(key) ?? INSTRUMENT_WORDS.get(key) ?? key;

/** The holding's id, without the collection: `holdings/euroclear-bank` -> `euroclear-bank`. */
export const holdingId = (name) => name.replace(/^holdings\//, "");

/** `num()` showing every digit the API gave (exchange rates are read to the last digit). */
export function exactNum(v, digits) {
  const n = num(v);
  n.textContent = digits ? String(Number(v.toPrecision(digits))) : String(v);
  return n;
}

const BOUND_WORDS = new Map([
  [Bound.APPROXIMATELY, "about "],
  [Bound.AT_LEAST, "at least "],
  [Bound.AT_MOST, "at most "],
]);

/**
 * An observation's amount as published: "about EUR 195 bn", or a range "EUR 172 bn – 180 bn".
 * The lower end carries the class `low` (it is the figure the API sums and orders by).
 */
export function observedAmount(o) {
  const low = money(o.amount, { className: "money low" });
  return el("span", { class: "observed", "data-currency": o.amount.currencyCode },
    BOUND_WORDS.get(o.bound) ?? "", low,
    o.amountHigh ? el("span", {}, " – ", amountNum(moneyValue(o.amountHigh), o.amountHigh.currencyCode)) : null);
}

/** The day a figure describes, and the precision it was published with when that differs. */
export function observedDate(o) {
  return el("span", {}, el("time", { datetime: dateText(o.asOf), text: dateText(o.asOf) }),
    o.asOfLabel ? el("span", { class: "help" }, ` (published as ${o.asOfLabel})`) : null);
}

export const confidenceWords = (c) => `${(Confidence[c] ?? "unknown").toLowerCase()} confidence`;

/** A link opened in another tab (the page keeps its state), or the text alone without a URL. */
export function link(url, text) {
  return url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text }) : el("span", { text });
}

/**
 * Where a figure comes from: the publisher (a link to the page read), the document's title,
 * when it was published and read, and how far it can be trusted.
 */
export function sourceOf(source, confidence, verified) {
  const facts = [];
  if (source?.title) facts.push(`“${source.title}”`);
  if (source?.published?.year) facts.push(`published ${dateText(source.published)}`);
  if (source?.retrieved?.year) facts.push(`read ${dateText(source.retrieved)}`);
  if (confidence !== undefined) facts.push(confidenceWords(confidence));
  if (verified === false) facts.push("not read in the source (derived or recalled)");
  return el("span", { class: "source" }, link(source?.url, source?.publisher || "(no publisher)"),
    facts.length ? el("span", { class: "help" }, ` · ${facts.join(" · ")}`) : null);
}

/**
 * A table whose rows each start with a header cell (`<th scope="row">`), so that a screen
 * reader names the row with every cell. `rows`: [{ attrs, head, cells }], cells nodes or text.
 */
export function rowTable(caption, headers, rows, attrs = {}) {
  const cell = (tag, c, extra = {}) => (c instanceof Node && c.nodeName === tag.toUpperCase() ? c : el(tag, extra, c));
  return el("table", attrs,
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((r) => el("tr", r.attrs ?? {},
      cell("th", r.head, { scope: "row" }), ...r.cells.map((c) => cell("td", c))))));
}

/** A date as the epoch milliseconds of its day (UTC), the x of the time-series chart. */
export const epochDay = (d) => Date.UTC(d.year, d.month - 1, d.day);
