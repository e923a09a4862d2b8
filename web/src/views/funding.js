// The Defence funding view (DefenceFundingService): the instruments with their status as of a
// date and their milestones (ListInstruments), the amounts allocated under one instrument as a
// chart and a table (ListAllocations), and an eligibility checker (CheckEligibility) that shows
// the verdict with every reason the server gives, or the server's field violations next to the
// fields they name.
//
// URL state (all optional): `as_of` (YYYY-MM-DD: the date of the instruments' status; empty is
// the server's today), `status` (show only instruments with that status, e.g. `disbursing`),
// `allocations` (the instrument whose allocations are drawn, by id; `safe` when unset), and the
// last check run: `check=1` with `check_instrument`, `country`, `check_as_of`, `outside_share`,
// so that a shared URL runs the same check again. The checker's fields are written to the URL
// when the check is run, not while they are edited: the URL describes what the view shows.

import { Eligibility, InstrumentStatus, refusalOf } from "@leverage/client";
import { $, busy, dateOf, el, errorText } from "../ui.js";
import { allocationsPart, answerPart, instrumentDetails, instrumentsTable, statusWords } from "./funding-parts.js";

const ID = "funding";
/** The instrument whose allocations and eligibility the view opens on: SAFE, as the issue asks. */
const DEFAULT_INSTRUMENT = "safe";
/** The most a page may hold; the view still follows `next_page_token` to the last page. */
const PAGE_SIZE = 1000;

let app = null;
let root = null;
const state = {
  instruments: [],
  /** The date the instruments' statuses are for ("" for the server's today). */
  instrumentsAsOf: "",
  /** Resolves when the instruments of the latest request are drawn (names for the other parts). */
  instrumentsReady: Promise.resolve(),
  /** The check whose answer is shown (and written to the URL), or null. */
  lastCheck: null,
  /** The latest request of each part: an answer to an older one is dropped, never drawn. */
  latest: { instruments: 0, allocations: 0, check: 0 },
  /** What each part says in the live region. */
  said: { instruments: "", allocations: "", check: "" },
};

// ---------------------------------------------------------------- small helpers

/** Every item of a paged list: calls `page(token)` until the server gives no next token. */
async function allPages(page, field) {
  const out = [];
  let pageToken = "";
  do {
    const r = await page(pageToken);
    out.push(...r[field]);
    pageToken = r.nextPageToken;
  } while (pageToken);
  return out;
}

/** Tells screen readers (politely) what each part is doing or shows. */
function announce(part, text) {
  state.said[part] = text;
  $("funding-live").textContent = Object.values(state.said).filter(Boolean).join(" · ");
}

/**
 * Runs `work` as a load of the view: the root says `data-ready="false"` until every load in
 * progress is over (tests wait on it, as on the shell's first show).
 */
let pending = 0;
async function track(work) {
  pending += 1;
  root.dataset.ready = "false";
  try {
    return await work();
  } finally {
    pending -= 1;
    if (pending === 0) root.dataset.ready = "true";
  }
}

/** A load failed: its section says so in place (never blank) and the alert gives the server's words. */
function failed(box, what, e) {
  box.replaceChildren(el("p", { class: "error", text: `Could not load ${what}: ${errorText(e)}` }));
  app.error(e);
}

/** Selects `value` in `select`, adding it as an option first when the list does not have it. */
function choose(select, value, text = `${value} (not in the dataset)`) {
  if (![...select.options].some((o) => o.value === value)) select.append(el("option", { value, text }));
  select.value = value;
}

const displayNameOf = (id) => state.instruments.find((i) => i.id === id)?.displayName ?? `instruments/${id}`;

// ---------------------------------------------------------------- problems next to fields

/** The element that shows what was said of `control`: made on first use, named by its aria-describedby. */
function problemSlot(control) {
  const id = `${control.id}-problem`;
  let slot = $(id);
  if (!slot) {
    slot = el("p", { id, class: "field-problem", hidden: true });
    control.after(slot);
    const described = control.getAttribute("aria-describedby");
    control.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
  }
  return slot;
}

function markProblem(control, text) {
  const slot = problemSlot(control);
  if (![...slot.children].some((c) => c.textContent === text)) slot.append(el("span", { text }));
  slot.hidden = false;
  control.setAttribute("aria-invalid", "true");
}

function clearProblem(control) {
  const slot = $(`${control.id}-problem`);
  control.removeAttribute("aria-invalid");
  if (slot) {
    slot.hidden = true;
    slot.replaceChildren();
  }
}

/** The checker's controls, by the CheckEligibilityRequest field a violation names. */
const CHECK_FIELDS = {
  instrument: "funding-check-instrument",
  country: "funding-country",
  as_of: "funding-check-as-of",
  outside_component_share_pct: "funding-outside-share",
};

/** Shows each field violation of a refused check next to its field; the first gets the focus. */
function showViolations(e) {
  const named = (refusalOf(e)?.violations ?? [])
    .map((v) => [$(CHECK_FIELDS[v.field.split(/[.[]/)[0]]), v.description])
    .filter(([control]) => control);
  for (const [control, text] of named) markProblem(control, text);
  named[0]?.[0].focus();
}

// ---------------------------------------------------------------- markup

function mount(viewRoot, shell) {
  app = shell;
  root = viewRoot;
  const statuses = Object.values(InstrumentStatus).filter((v) => typeof v === "number");
  root.append(
    el("h2", { tabindex: -1, id: "funding-title", text: "Defence funding" }),
    el("p", { class: "help", text: "How Europe funds its defence and Ukraine: the instruments, their status "
      + "and milestones, the amounts allocated under them, and who may take part. Every figure is the "
      + "server's, with its source; amounts in different currencies are never added." }),
    el("p", { id: "funding-live", class: "live", role: "status", "aria-live": "polite" }),

    el("section", { "aria-labelledby": "funding-instruments-title" },
      el("h3", { id: "funding-instruments-title", text: "Instruments" }),
      el("form", { id: "funding-instruments-form", class: "inline", novalidate: true },
        el("label", { for: "funding-as-of", text: "Status as of" }),
        el("input", { id: "funding-as-of", type: "date", "aria-describedby": "funding-as-of-help" }),
        el("label", { for: "funding-status", text: "Show" }),
        el("select", { id: "funding-status" },
          el("option", { value: "", text: "every status" }),
          ...statuses.map((s) => el("option", {
            value: InstrumentStatus[s].toLowerCase(),
            text: s === InstrumentStatus.UNSPECIFIED ? "no status (not in existence yet)" : statusWords(s),
          }))),
        el("p", { id: "funding-as-of-help", class: "help", text: "Empty date: today (UTC). The milestones are all listed whatever the date." })),
      el("div", { id: "funding-instruments", "aria-busy": "false" })),

    el("section", { "aria-labelledby": "funding-allocations-title" },
      el("h3", { id: "funding-allocations-title", text: "Allocations" }),
      el("form", { id: "funding-allocations-form", class: "inline", novalidate: true },
        el("label", { for: "funding-allocations-instrument", text: "Instrument" }),
        el("select", { id: "funding-allocations-instrument" })),
      el("div", { id: "funding-allocations", "aria-busy": "false" })),

    el("section", { "aria-labelledby": "funding-check-title" },
      el("h3", { id: "funding-check-title", text: "Eligibility checker" }),
      el("p", { class: "help", text: "May a country take part in an instrument, as of a date? For SAFE the "
        + "origin rule applies: members and associated states fully, a third country fully only under a "
        + "concluded agreement, and otherwise only while components from outside stay within the cap." }),
      el("form", { id: "funding-check-form", class: "grid", novalidate: true },
        el("label", { for: "funding-check-instrument", text: "Instrument" }),
        el("select", { id: "funding-check-instrument" }),
        el("label", { for: "funding-country", text: "Country" }),
        el("input", { id: "funding-country", type: "text", list: "funding-countries", autocomplete: "off",
          spellcheck: "false", "aria-describedby": "funding-country-help" }),
        el("datalist", { id: "funding-countries" }),
        el("p", { id: "funding-country-help", class: "help wide", text: "ISO 3166-1 alpha-2 code, e.g. PL, NO, CA, GB." }),
        el("label", { for: "funding-check-as-of", text: "As of" }),
        el("input", { id: "funding-check-as-of", type: "date", "aria-describedby": "funding-check-as-of-help" }),
        el("p", { id: "funding-check-as-of-help", class: "help wide", text: "Empty: today (UTC)." }),
        el("label", { for: "funding-outside-share", text: "Outside share (% of component cost)" }),
        el("input", { id: "funding-outside-share", type: "number", inputmode: "decimal", step: "any", min: 0, max: 100,
          "aria-describedby": "funding-outside-share-help" }),
        el("p", { id: "funding-outside-share-help", class: "help wide", text: "Share of the component cost "
          + "from outside the EU, the associated states and third countries with an agreement, 0 to 100. "
          + "Empty: not known (the answer then states the cap as a condition)." }),
        el("button", { id: "funding-check", type: "submit", text: "Check" })),
      // Not a live region itself: the status line above says the verdict, once.
      el("div", { id: "funding-answer" },
        el("p", { class: "help", text: "Fill in a country and press Check." }))),
  );

  for (const select of [$("funding-allocations-instrument"), $("funding-check-instrument")]) {
    choose(select, DEFAULT_INSTRUMENT, DEFAULT_INSTRUMENT);
  }
  for (const form of ["funding-instruments-form", "funding-allocations-form"]) {
    $(form).addEventListener("submit", (event) => event.preventDefault());
  }
  $("funding-as-of").addEventListener("change", () => edited(loadInstruments));
  $("funding-status").addEventListener("change", () => edited(async () => drawInstruments()));
  $("funding-allocations-instrument").addEventListener("change", () => edited(loadAllocations));
  $("funding-check-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const asked = checkerInputs();
    if (!asked) return;
    state.lastCheck = asked;
    edited(() => runCheck(asked));
  });
  for (const id of Object.values(CHECK_FIELDS)) $(id).addEventListener("input", () => clearProblem($(id)));
}

/** A form changed what the view shows: the URL follows, then the part concerned reloads. */
function edited(load) {
  app.error(null);
  writeUrl();
  return track(load);
}

function writeUrl() {
  // The checker's fields as last run; when none was run, as filled in (a prefilled form).
  const check = state.lastCheck ?? checkerFields();
  app.setParams(ID, {
    as_of: $("funding-as-of").value,
    status: $("funding-status").value,
    allocations: $("funding-allocations-instrument").value,
    check: state.lastCheck ? "1" : "",
    check_instrument: check.instrument,
    country: check.country,
    check_as_of: check.asOf,
    outside_share: check.share ?? "",
  });
}

// ---------------------------------------------------------------- instruments

async function loadInstruments() {
  const seq = ++state.latest.instruments;
  const box = $("funding-instruments");
  const asOf = $("funding-as-of").value;
  box.setAttribute("aria-busy", "true");
  announce("instruments", "Loading instruments…");
  let done;
  state.instrumentsReady = new Promise((resolve) => { done = resolve; });
  try {
    const list = await allPages((pageToken) => app.api().funding.listInstruments(
      { pageSize: PAGE_SIZE, pageToken, asOf: dateOf(asOf) }), "instruments");
    if (seq !== state.latest.instruments) return;
    state.instruments = list;
    state.instrumentsAsOf = asOf;
    fillInstrumentPickers(list);
    drawInstruments();
  } catch (e) {
    if (seq !== state.latest.instruments) return;
    failed(box, "the instruments", e);
    announce("instruments", "Instruments: not loaded");
  } finally {
    if (seq === state.latest.instruments) box.setAttribute("aria-busy", "false");
    done();
  }
}

/** The instrument pickers list the instruments by name; the countries they name are suggested. */
function fillInstrumentPickers(list) {
  for (const select of [$("funding-allocations-instrument"), $("funding-check-instrument")]) {
    const value = select.value || DEFAULT_INSTRUMENT;
    select.replaceChildren(...list.map((i) => el("option", { value: i.id, text: i.displayName })));
    choose(select, value);
  }
  const codes = new Set();
  for (const i of list) {
    for (const p of i.participants) codes.add(p.jurisdiction);
    for (const c of i.eligibility?.associated ?? []) codes.add(c);
    for (const s of i.eligibility?.thirdCountries ?? []) codes.add(s.jurisdiction);
  }
  codes.delete("EU");
  $("funding-countries").replaceChildren(...[...codes].sort().map((c) => el("option", { value: c })));
}

/** The instruments loaded, those of the status picked: the overview table, then each one's details. */
function drawInstruments() {
  const box = $("funding-instruments");
  const wanted = $("funding-status").value;
  const shown = state.instruments.filter((i) => !wanted || InstrumentStatus[i.status].toLowerCase() === wanted);
  const asOf = state.instrumentsAsOf;
  const of = `${state.instruments.length} instrument${state.instruments.length === 1 ? "" : "s"}`;
  if (!shown.length) {
    box.replaceChildren(el("p", { class: "help", text: `None of the ${of} has the status picked as of ${asOf || "today"}.` }));
    announce("instruments", `${of}, none shown`);
    return;
  }
  box.replaceChildren(instrumentsTable(shown, asOf),
    el("h4", { class: "details-title", text: "Details: summary, size, milestones, terms, participants and rules" }),
    ...shown.map(instrumentDetails));
  announce("instruments", shown.length === state.instruments.length ? of : `${of}, ${shown.length} shown`);
}

// ---------------------------------------------------------------- allocations

async function loadAllocations() {
  const seq = ++state.latest.allocations;
  const box = $("funding-allocations");
  const id = $("funding-allocations-instrument").value || DEFAULT_INSTRUMENT;
  box.setAttribute("aria-busy", "true");
  announce("allocations", "Loading allocations…");
  try {
    const parent = `instruments/${id}`;
    const [list] = await Promise.all([
      allPages((pageToken) => app.api().funding.listAllocations({ parent, pageSize: PAGE_SIZE, pageToken }), "allocations"),
      state.instrumentsReady,
    ]);
    if (seq !== state.latest.allocations) return;
    const name = displayNameOf(id);
    box.replaceChildren(allocationsPart(name, list));
    announce("allocations", `${list.length} allocation${list.length === 1 ? "" : "s"} of ${name}`);
  } catch (e) {
    if (seq !== state.latest.allocations) return;
    failed(box, "the allocations", e);
    announce("allocations", "Allocations: not loaded");
  } finally {
    if (seq === state.latest.allocations) box.setAttribute("aria-busy", "false");
  }
}

// ---------------------------------------------------------------- eligibility

/** The checker's fields as they are: { instrument, country, asOf, share (number or null) }. */
function checkerFields() {
  const share = $("funding-outside-share").value;
  return {
    instrument: $("funding-check-instrument").value || DEFAULT_INSTRUMENT,
    country: $("funding-country").value.trim().toUpperCase(),
    asOf: $("funding-check-as-of").value,
    share: share === "" ? null : Number(share),
  };
}

/**
 * The check the fields describe, or null when the share is not a number (the one thing the
 * server could not be asked: everything else, ranges included, is the server's to judge).
 */
function checkerInputs() {
  const control = $("funding-outside-share");
  clearProblem(control);
  if (control.validity.badInput) {
    markProblem(control, "must be a number");
    control.focus();
    return null;
  }
  return checkerFields();
}

async function runCheck(asked) {
  const seq = ++state.latest.check;
  const box = $("funding-answer");
  const button = $("funding-check");
  for (const id of Object.values(CHECK_FIELDS)) clearProblem($(id));
  busy(button, true);
  box.setAttribute("aria-busy", "true");
  announce("check", "Checking…");
  try {
    const [answer] = await Promise.all([
      app.api().funding.checkEligibility({
        instrument: `instruments/${asked.instrument}`,
        country: asked.country,
        asOf: dateOf(asked.asOf),
        outsideComponentSharePct: asked.share ?? undefined,
      }),
      state.instrumentsReady,
    ]);
    if (seq !== state.latest.check) return;
    box.replaceChildren(answerPart(answer, { ...asked, instrument: displayNameOf(asked.instrument) }));
    announce("check", `${asked.country}: ${Eligibility[answer.eligibility].toLowerCase().replace(/_/g, " ")}, `
      + `${answer.reasons.length} reason${answer.reasons.length === 1 ? "" : "s"}`);
  } catch (e) {
    if (seq !== state.latest.check) return;
    box.replaceChildren(el("p", { class: "error", text: `The server gave no answer: ${errorText(e)}` }));
    app.error(e);
    showViolations(e);
    announce("check", "Check refused");
  } finally {
    if (seq === state.latest.check) {
      busy(button, false);
      box.setAttribute("aria-busy", "false");
    }
  }
}

// ---------------------------------------------------------------- the URL's state

/** Puts the URL's state in the forms, then loads and draws all of it. */
async function show(params) {
  $("funding-as-of").value = params.get("as_of") ?? "";
  const status = params.get("status") ?? "";
  $("funding-status").value = [...$("funding-status").options].some((o) => o.value === status) ? status : "";
  choose($("funding-allocations-instrument"), params.get("allocations") || DEFAULT_INSTRUMENT);
  choose($("funding-check-instrument"), params.get("check_instrument") || DEFAULT_INSTRUMENT);
  $("funding-country").value = params.get("country") ?? "";
  $("funding-check-as-of").value = params.get("check_as_of") ?? "";
  $("funding-outside-share").value = params.get("outside_share") ?? "";
  state.lastCheck = params.get("check") === "1" ? checkerInputs() : null;
  if (!state.lastCheck) {
    state.latest.check += 1;
    announce("check", "");
    $("funding-answer").replaceChildren(el("p", { class: "help", text: "Fill in a country and press Check." }));
  }
  // The dates the browser refused (a day that does not exist) are now empty: the fields say
  // what is sent, so the URL is brought in line with them.
  writeUrl();
  await Promise.all([
    track(loadInstruments),
    track(loadAllocations),
    state.lastCheck ? track(() => runCheck(state.lastCheck)) : null,
  ]);
}

export default { id: ID, title: "Defence funding", mount, show };
