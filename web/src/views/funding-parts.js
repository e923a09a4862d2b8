// What the Defence funding view draws: amounts of money, sources, the instruments (overview and
// details), the allocations (bar chart and table per currency) and an eligibility answer. Each
// function builds elements from the API's messages and nothing else; funding.js loads them and
// keeps the URL.
//
// Amounts are `leverage.v1.Money` (int64 units, nanos), shown through ui.js's money(): each
// carries its exact decimal value in `data-value` (never a rounded double) and is written for
// people in bn/mn of its currency; sums are exact (in nano-units) and amounts in different
// currencies are never added.

import { AccessEvent, Bound, Confidence, Eligibility, InstrumentStatus, ParticipantRole } from "@leverage/client";
import { amountWords, dateText, decimalOfNanos, el, money, moneyNanos, num, svg, table, ticks } from "../ui.js";

/** "approximately", "at least" or "up to" before an amount; "" when exact. */
function boundWords(bound) {
  return { [Bound.APPROXIMATELY]: "about", [Bound.AT_LEAST]: "at least", [Bound.AT_MOST]: "up to" }[bound] ?? "";
}

/** An enum value's name in words: THIRD_COUNTRY -> "third country". */
const words = (enumType, value) => (enumType[value] ?? String(value)).toLowerCase().replace(/_/g, " ");

export function statusWords(status) {
  return status === InstrumentStatus.UNSPECIFIED ? "no status" : words(InstrumentStatus, status);
}

function roleWords(role) {
  return role === ParticipantRole.UNSPECIFIED ? "not a listed participant" : words(ParticipantRole, role);
}

const VERDICTS = {
  [Eligibility.ELIGIBLE]: "Eligible",
  [Eligibility.ELIGIBLE_WITHIN_CAP]: "Eligible within the cap",
  [Eligibility.NOT_ELIGIBLE]: "Not eligible",
};

/** A date, as `<time>`: the published label when it keeps a coarser precision ("2024-06"). */
function dateNode(d, label = "") {
  const text = dateText(d);
  if (!text) return "";
  return el("time", { datetime: text, title: label && label !== text ? text : null, text: label || text });
}

/**
 * Where something comes from: the publisher (a link to the page read), the title, the date of
 * the document and the day it was read, and how far it can be trusted when that is known.
 */
function sourceNode(source, confidence) {
  if (!source?.publisher) return el("span", { class: "muted", text: "no source given" });
  const out = el("span", { class: "source" },
    source.url ? el("a", { href: source.url, text: source.publisher }) : source.publisher);
  if (source.title) out.append(`: “${source.title}”`);
  const dates = [];
  if (source.published?.year) dates.push(`published ${dateText(source.published)}`);
  if (source.retrieved?.year) dates.push(`accessed ${dateText(source.retrieved)}`);
  if (confidence) dates.push(`${words(Confidence, confidence)} confidence`);
  if (dates.length) out.append(` (${dates.join(", ")})`);
  return out;
}

/** The same in plain text, for an SVG `<title>`. */
function sourceText(source) {
  if (!source?.publisher) return "no source given";
  return `${source.publisher}${source.url ? ` <${source.url}>` : ""}`;
}

// ---------------------------------------------------------------- instruments

const anchorOf = (instrument) => `funding-instrument-${instrument.id}`;

/** One instrument's headline size: bound words and amount, or a dash. */
function sizeNode(instrument) {
  if (!instrument.size) return el("span", { class: "muted", text: "none published" });
  const bound = boundWords(instrument.sizeBound);
  return el("span", { class: "size" }, bound ? `${bound} ` : "", money(instrument.size));
}

/**
 * The overview: one row per instrument with its status as of `asOf` (the server's today when
 * empty), the date of the milestone that set it, its size and legal basis. The name opens that
 * instrument's details below.
 */
export function instrumentsTable(instruments, asOf) {
  const rows = instruments.map((i) => {
    const link = el("a", { href: `#${anchorOf(i)}`, text: i.displayName });
    link.addEventListener("click", (event) => {
      // Open the details in place rather than navigating: the URL keeps the view's state only.
      event.preventDefault();
      const details = document.getElementById(anchorOf(i));
      details.open = true;
      details.querySelector("summary").focus();
      details.scrollIntoView({ block: "start" });
    });
    return [
      el("th", { scope: "row" }, link),
      el("td", { "data-status": InstrumentStatus[i.status], text: statusWords(i.status) }),
      el("td", {}, dateNode(i.statusDate) || el("span", { class: "muted", text: "—" })),
      el("td", {}, sizeNode(i)),
      el("td", { text: i.legalBasis || "not known" }),
    ];
  });
  const caption = `Funding instruments, status as of ${asOf || "today"}`;
  return el("table", { class: "instruments" },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {},
      ...["Instrument", "Status", "Since", "Size", "Legal basis"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...instruments.map((i, n) => el("tr", { "data-name": i.name }, ...rows[n]))));
}

/** The milestones of an instrument, as a dated list, each with the status it set and its source. */
function milestoneList(instrument) {
  return el("ol", { class: "milestones" }, ...instrument.milestones.map((m) => el("li",
    { "data-date": dateText(m.date), "data-status": InstrumentStatus[m.status] },
    dateNode(m.date, m.dateLabel),
    m.status !== InstrumentStatus.UNSPECIFIED
      ? el("span", { class: "sets-status", text: `→ ${statusWords(m.status)}` }) : null,
    el("span", { class: "milestone-text", text: m.text }),
    el("span", { class: "milestone-source" }, sourceNode(m.source)))));
}

function eligibilityRules(instrument) {
  const rules = instrument.eligibility;
  if (!rules) return null;
  const steps = rules.thirdCountries.map((s) => [
    dateNode(s.date), s.jurisdiction, words(AccessEvent, s.event), s.text, sourceNode(s.source),
  ]);
  return el("div", { class: "rules" },
    el("h5", { text: "Who may take part" }),
    el("p", { text: rules.summary }),
    el("dl", { class: "facts" },
      el("dt", { text: "Cap on components from outside" }),
      el("dd", {}, num(rules.outsideComponentCapPct, "%"), " % of component cost"),
      el("dt", { text: "Treated as members" }),
      el("dd", { text: rules.associated.join(", ") || "none" }),
      el("dt", { text: "Source" }),
      el("dd", {}, sourceNode(rules.source))),
    steps.length
      ? table(`Third countries' steps towards ${instrument.displayName}`,
        ["Date", "Country", "Step", "What happened", "Source"], steps, { class: "steps" })
      : null);
}

/** The details of one instrument, folded: summary, size, milestones, terms, participants, rules. */
export function instrumentDetails(instrument) {
  const size = instrument.sizeDetail;
  return el("details", { class: "instrument card", id: anchorOf(instrument), "data-name": instrument.name },
    el("summary", {}, el("h4", { text: instrument.displayName }),
      el("span", { class: "muted", text: ` ${statusWords(instrument.status)}; ${instrument.milestones.length} milestones` })),
    el("p", { text: instrument.summary }),
    el("dl", { class: "facts" },
      el("dt", { text: "Resource name" }), el("dd", {}, el("code", { text: instrument.name })),
      el("dt", { text: "Size" }),
      el("dd", {}, sizeNode(instrument),
        size ? el("span", {}, ` (${size.label || size.id}, as of `, dateNode(size.asOf, size.asOfLabel), "; ",
          sourceNode(size.source, size.confidence), ")") : null),
      el("dt", { text: "Legal basis" }), el("dd", { text: instrument.legalBasis || "not known" })),
    el("h5", { text: `Milestones (${instrument.milestones.length})` }),
    milestoneList(instrument),
    instrument.terms.length
      ? table(`Terms of ${instrument.displayName}`, ["Term", "Value", "Source"],
        instrument.terms.map((t) => [t.name, t.value, sourceNode(t.source)]), { class: "terms" })
      : null,
    instrument.participants.length
      ? table(`Participants in ${instrument.displayName}`, ["Jurisdiction", "Role", "Note"],
        instrument.participants.map((p) => [p.jurisdiction, roleWords(p.role), p.note]), { class: "participants" })
      : null,
    eligibilityRules(instrument));
}

// ---------------------------------------------------------------- allocations

/** The allocations by currency (in order of first appearance), each group largest first. */
function byCurrency(allocations) {
  const groups = new Map();
  for (const a of allocations) {
    const code = a.amount?.currencyCode ?? "";
    if (!groups.has(code)) groups.set(code, []);
    groups.get(code).push(a);
  }
  for (const list of groups.values()) {
    list.sort((a, b) => {
      const [x, y] = [moneyNanos(a.amount), moneyNanos(b.amount)];
      return x > y ? -1 : x < y ? 1 : 0;
    });
  }
  return groups;
}

/**
 * The label of an allocation's bar: its jurisdiction, or with its id when the jurisdiction is
 * not enough to tell bars apart (the windfall tranches are all Belgium's).
 */
function barLabels(list) {
  const seen = new Map();
  for (const a of list) seen.set(a.jurisdiction, (seen.get(a.jurisdiction) ?? 0) + 1);
  return list.map((a) => (a.jurisdiction && seen.get(a.jurisdiction) === 1 ? a.jurisdiction
    : [a.jurisdiction, a.id].filter(Boolean).join(" ")));
}

/**
 * A horizontal bar chart of amounts in one currency, largest first. Every bar is focusable, with
 * its exact amount in `data-value` and its allocation, date and source in a `<title>`.
 */
function allocationChart(title, currency, list) {
  const labels = barLabels(list);
  const values = list.map((a) => Number(decimalOfNanos(moneyNanos(a.amount))));
  const row = 24, left = 130, right = 84, top = 8, axis = 26, W = 720;
  const H = top + row * Math.max(list.length, 1) + axis;
  const pw = W - left - right;
  const max = Math.max(0, ...values) || 1;
  const X = (v) => left + (v / max) * pw;
  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart bars allocation-chart", "data-currency": currency,
    "aria-label": `${title}: ${list.length} amounts in ${currency}, largest first; the table below lists them`,
  });
  root.append(svg("title", {}, title));
  const grid = svg("g", { class: "grid" });
  const bottom = top + row * list.length;
  for (const v of ticks(0, max, 5)) {
    grid.append(svg("line", { x1: X(v), x2: X(v), y1: top, y2: bottom }));
    grid.append(svg("text", { x: X(v), y: bottom + 16, "text-anchor": "middle" }, amountWords(v)));
  }
  root.append(grid);
  list.forEach((a, i) => {
    const y = top + i * row;
    const w = Math.max(0, X(values[i]) - left);
    root.append(svg("text", { x: left - 8, y: y + row * 0.68, "text-anchor": "end", class: "bar-label" }, labels[i]));
    const bar = svg("rect", {
      x: left, y: y + 4, width: w.toFixed(2), height: row - 8, class: "bar", tabindex: 0,
      "data-name": a.name, "data-label": labels[i], "data-value": decimalOfNanos(moneyNanos(a.amount)),
    });
    const bound = boundWords(a.bound);
    bar.append(svg("title", {}, `${labels[i]}: ${bound ? `${bound} ` : ""}${currency} ${values[i].toLocaleString("en-GB")}`
      + ` (${a.label}; as of ${a.asOfLabel || dateText(a.asOf)}; source: ${sourceText(a.source)})`));
    root.append(bar);
    root.append(svg("text", { x: left + w + 6, y: y + row * 0.68, class: "bar-value" }, amountWords(values[i])));
  });
  return root;
}

/** The table of one currency's allocations, in the chart's order. */
function allocationTable(caption, list) {
  const head = ["Jurisdiction", "Allocation", "Amount", "Bound", "As of", "Source", "Note"];
  return el("table", { class: "allocations" },
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...list.map((a) => el("tr", { "data-name": a.name },
      el("th", { scope: "row", text: a.jurisdiction || "—" }),
      el("td", { text: a.label }),
      el("td", { class: "amount" }, money(a.amount)),
      el("td", { text: boundWords(a.bound) || "exact" }),
      el("td", {}, dateNode(a.asOf, a.asOfLabel)),
      el("td", {}, sourceNode(a.source, a.confidence), a.verified ? "" : el("span", { class: "muted", text: "; not read in the source" })),
      el("td", { class: "note", text: a.note })))));
}

/**
 * An instrument's allocations: per currency a chart, the sum of the amounts listed in that
 * currency (amounts in different currencies are never added) and the table of the numbers.
 */
export function allocationsPart(instrumentName, allocations) {
  const groups = byCurrency(allocations);
  const box = el("div", { class: "allocation-groups" });
  if (!allocations.length) {
    box.append(el("p", { class: "help", text: `${instrumentName} has no allocations in the dataset.` }));
    return box;
  }
  if (groups.size > 1) {
    box.append(el("p", { class: "help", text: `In ${groups.size} currencies: each has its own chart and total; amounts in different currencies are not added.` }));
  }
  for (const [currency, list] of groups) {
    const total = list.reduce((s, a) => s + moneyNanos(a.amount), 0n);
    const title = `${instrumentName}: allocations in ${currency}`;
    box.append(el("figure", { class: "allocation-group", "data-currency": currency },
      el("figcaption", {}, el("h4", { text: `In ${currency}` }),
        el("p", { class: "total", "data-total-currency": currency },
          `Sum of the ${list.length} amount${list.length === 1 ? "" : "s"} listed: `,
          money({ currencyCode: currency }, { nanos: total }))),
      allocationChart(title, currency, list),
      el("details", { class: "chart-data" },
        el("summary", { text: `The ${list.length} amounts in ${currency} as a table, with their sources` }),
        allocationTable(`${title}, largest first`, list))));
  }
  return box;
}

// ---------------------------------------------------------------- eligibility

/**
 * The answer of CheckEligibility to `asked` (instrument's display name, country, date text,
 * outside share or null): the verdict in words, the role, the cap, the conditions and every
 * reason with its date and source.
 */
export function answerPart(answer, asked) {
  const share = asked.share === null ? "outside share not stated" : `${asked.share}% from outside`;
  const box = el("div", { class: "answer", "data-eligibility": Eligibility[answer.eligibility] },
    el("h4", { text: `${asked.country || "(no country)"} in ${asked.instrument}, as of ${asked.asOf || "today"}, ${share}` }),
    el("p", { class: `verdict ${answer.eligible ? "yes" : "no"}`, text: VERDICTS[answer.eligibility] ?? words(Eligibility, answer.eligibility) }),
    el("dl", { class: "facts" },
      el("dt", { text: "Role" }),
      el("dd", { class: "role", "data-role": ParticipantRole[answer.role], text: roleWords(answer.role) }),
      el("dt", { text: "Cap on components from outside" }),
      el("dd", { class: "cap" }, answer.capPct === undefined
        ? "no such rule" : el("span", {}, num(answer.capPct, "%"), " % of component cost"))));
  if (answer.conditions.length) {
    box.append(el("h5", { text: "Conditions" }),
      el("ul", { class: "conditions" }, ...answer.conditions.map((c) => el("li", { text: c }))));
  }
  box.append(el("h5", { text: `Reasons (${answer.reasons.length})` }),
    el("ol", { class: "reasons" }, ...answer.reasons.map((r) => el("li", { "data-date": dateText(r.date) },
      el("span", { class: "reason-text", text: r.text }),
      r.date ? el("span", { class: "reason-date" }, " (", dateNode(r.date), ")") : null,
      r.source ? el("span", { class: "reason-source" }, " Source: ", sourceNode(r.source)) : null))));
  return box;
}
