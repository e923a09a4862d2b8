// The Defence funding view in headless Chromium, against what crates/leverage/tests/web_funding.rs
// got over plain gRPC (tonic) for the same requests (LEVERAGE_EXPECTED):
//   - the instruments as of two dates and with a status filter (every row and milestone);
//   - every allocation of SAFE and of the ERA loans, per currency: bars, table, total;
//   - the eligibility checker: an eligible and a not eligible answer with every reason, and the
//     server's field violation for an outside share above 100 beside its field;
//   - each form change writes the URL, and a fresh page on that URL shows the same;
//   - labels, headings, captions, chart labels and the keyboard path through the controls.

import { run } from "./harness.mjs";

const ID = "funding";

function same(what, shown, expected) {
  const [a, b] = [JSON.stringify(shown), JSON.stringify(expected)];
  if (a !== b) throw new Error(`${what}:\n  the page shows ${a}\n  the API says   ${b}`);
}

function check(condition, what) {
  if (!condition) throw new Error(what);
}

/** An exact decimal ("43734100805", "1.75") in nano-units, for exact sums and order. */
function nanos(decimal) {
  const [whole, fraction = ""] = decimal.replace(/^-/, "").split(".");
  const n = BigInt(whole) * 1_000_000_000n + BigInt(fraction.padEnd(9, "0"));
  return decimal.startsWith("-") ? -n : n;
}

function decimalOf(n) {
  const a = n < 0n ? -n : n;
  const fraction = (a % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${n < 0n ? "-" : ""}${a / 1_000_000_000n}${fraction ? `.${fraction}` : ""}`;
}

const noSource = { publisher: "", url: "" };
const sourceOf = (s) => (s?.publisher ? { publisher: s.publisher, url: s.url } : noSource);

// ---------------------------------------------------------------- what the page shows

/**
 * Installed in every page the test opens: a `.source` element's publisher and link, as the page
 * wrote them (the readers below run in the page and share it).
 */
function installReaders() {
  window.readSource = (s) => (s
    ? { publisher: (s.querySelector("a") ?? s.firstChild)?.textContent ?? "", url: s.querySelector("a")?.getAttribute("href") ?? "" }
    : { publisher: "", url: "" });
}

async function shownInstruments(page) {
  return page.evaluate(() => {
    const rows = [...document.querySelectorAll("#funding-instruments table.instruments tbody tr")];
    const details = new Map([...document.querySelectorAll("#funding-instruments details.instrument")]
      .map((d) => [d.dataset.name, d]));
    return rows.map((r) => {
      const money = r.querySelector(".money");
      const d = details.get(r.dataset.name);
      return {
        name: r.dataset.name,
        display_name: r.querySelector("th").textContent,
        status: r.querySelector("td[data-status]").dataset.status,
        status_date: r.querySelector("td:nth-child(3) time")?.getAttribute("datetime") ?? "",
        size: money ? { currency: money.dataset.currency, value: money.dataset.value } : null,
        legal_basis: r.querySelector("td:nth-child(5)").textContent,
        milestones: d ? [...d.querySelectorAll("ol.milestones li")].map((li) => ({
          date: li.dataset.date,
          status: li.dataset.status,
          text: li.querySelector(".milestone-text").textContent,
          source: readSource(li.querySelector(".milestone-source .source")),
        })) : null,
        participants: d ? d.querySelectorAll("table.participants tbody tr").length : null,
        terms: d ? d.querySelectorAll("table.terms tbody tr").length : null,
      };
    });
  });
}

function expectedInstruments(list) {
  return list.map((i) => ({
    name: i.name,
    display_name: i.display_name,
    status: i.status,
    status_date: i.status_date,
    size: i.size,
    legal_basis: i.legal_basis || "not known",
    milestones: i.milestones.map((m) => ({ date: m.date, status: m.status, text: m.text, source: sourceOf(m.source) })),
    participants: i.participants,
    terms: i.terms,
  }));
}

async function shownAllocations(page) {
  return page.evaluate(() => {
    return [...document.querySelectorAll("#funding-allocations figure.allocation-group")].map((g) => ({
      currency: g.dataset.currency,
      total: g.querySelector(".total .num").dataset.value,
      bars: [...g.querySelectorAll("svg.allocation-chart rect.bar")].map((b) => ({
        name: b.dataset.name,
        value: b.dataset.value,
        width: Number(b.getAttribute("width")),
        focusable: b.getAttribute("tabindex") === "0",
        title: b.querySelector("title")?.textContent ?? "",
      })),
      rows: [...g.querySelectorAll("table.allocations tbody tr")].map((r) => ({
        name: r.dataset.name,
        jurisdiction: r.querySelector("th").textContent,
        label: r.querySelector("td").textContent,
        amount: { currency: r.querySelector(".money").dataset.currency, value: r.querySelector(".money").dataset.value },
        as_of: r.querySelector("time")?.getAttribute("datetime") ?? "",
        source: readSource(r.querySelector(".source")),
      })),
    }));
  });
}

/** The API's allocations as the page must draw them: per currency, largest first, with the sum. */
function expectedAllocations(list) {
  const groups = new Map();
  for (const a of list) {
    const c = a.amount.currency;
    if (!groups.has(c)) groups.set(c, []);
    groups.get(c).push(a);
  }
  return [...groups].map(([currency, items]) => {
    const sorted = [...items].sort((a, b) => {
      const [x, y] = [nanos(a.amount.value), nanos(b.amount.value)];
      return x > y ? -1 : x < y ? 1 : 0;
    });
    return {
      currency,
      total: decimalOf(sorted.reduce((s, a) => s + nanos(a.amount.value), 0n)),
      names: sorted.map((a) => a.name),
      values: sorted.map((a) => a.amount.value),
      rows: sorted.map((a) => ({
        name: a.name, jurisdiction: a.jurisdiction || "—", label: a.label, amount: a.amount, as_of: a.as_of,
        source: sourceOf(a.source),
      })),
    };
  });
}

async function compareAllocations(t, id) {
  const shown = await shownAllocations(t.page);
  const want = expectedAllocations(t.expected.allocations[id]);
  same(`${id}: currencies (one chart and one total each, none across them)`,
    shown.map((g) => g.currency), want.map((g) => g.currency));
  shown.forEach((g, n) => {
    const w = want[n];
    same(`${id} ${g.currency}: bars, largest first`, g.bars.map((b) => b.name), w.names);
    same(`${id} ${g.currency}: bar values`, g.bars.map((b) => b.value), w.values);
    same(`${id} ${g.currency}: total`, g.total, w.total);
    same(`${id} ${g.currency}: table`, g.rows, w.rows);
    check(g.bars.every((b) => b.focusable), `${id}: every bar is focusable`);
    g.bars.forEach((b, i) => {
      const row = w.rows[i];
      check(b.title.includes(row.label) && b.title.includes(row.source.publisher),
        `${id}: the title of bar ${b.name} names its allocation and source: ${b.title}`);
      check(i === 0 || b.width <= g.bars[i - 1].width, `${id}: bars are drawn largest first`);
    });
  });
  return shown;
}

async function shownAnswer(page) {
  return page.evaluate(() => {
    const a = document.querySelector("#funding-answer .answer");
    if (!a) return null;
    const cap = a.querySelector(".cap .num");
    return {
      eligibility: a.dataset.eligibility,
      verdict: a.querySelector(".verdict").textContent,
      role: a.querySelector(".role").dataset.role,
      cap_pct: cap ? Number(cap.dataset.value) : null,
      conditions: [...a.querySelectorAll("ul.conditions li")].map((li) => li.textContent),
      reasons: [...a.querySelectorAll("ol.reasons li")].map((li) => ({
        text: li.querySelector(".reason-text").textContent,
        date: li.dataset.date,
        source: readSource(li.querySelector(".reason-source .source")),
      })),
    };
  });
}

const VERDICTS = { ELIGIBLE: "Eligible", ELIGIBLE_WITHIN_CAP: "Eligible within the cap", NOT_ELIGIBLE: "Not eligible" };

async function compareAnswer(t, what, expected) {
  same(`${what}: the answer`, await shownAnswer(t.page), {
    eligibility: expected.eligibility,
    verdict: VERDICTS[expected.eligibility],
    role: expected.role,
    cap_pct: expected.cap_pct,
    conditions: expected.conditions,
    reasons: expected.reasons.map((r) => ({ text: r.text, date: r.date, source: sourceOf(r.source) })),
  });
}

/** Fills the checker and presses Check (with the keyboard: Enter in the last field). */
async function runCheck(t, fields) {
  const { page } = t;
  await page.selectOption("#funding-check-instrument", fields.instrument);
  await page.fill("#funding-country", fields.country);
  await page.fill("#funding-check-as-of", fields.as_of);
  await page.fill("#funding-outside-share", fields.share === null ? "" : String(fields.share));
  await page.press("#funding-outside-share", "Enter");
  await t.ready(ID);
}

async function checkUrl(t, what, want) {
  const q = await t.query();
  for (const [k, v] of Object.entries(want)) {
    same(`${what}: the URL's ${k}`, q[k] ?? "", v);
  }
  return q;
}

/** Headings in order, labelled controls, captions and scoped headers, labelled charts. */
async function checkAccessibility(page) {
  const problems = await page.evaluate(() => {
    const out = [];
    const view = document.getElementById("view-funding");
    let level = 1;
    for (const h of view.querySelectorAll("h2, h3, h4, h5, h6")) {
      const l = Number(h.tagName[1]);
      if (l > level + 1) out.push(`heading ${h.tagName} "${h.textContent}" skips a level`);
      level = l;
    }
    for (const c of view.querySelectorAll("input, select, button")) {
      if (c.tagName !== "BUTTON" && !c.labels?.length) out.push(`#${c.id} has no label`);
    }
    for (const t of view.querySelectorAll("table")) {
      if (!t.querySelector("caption")?.textContent) out.push("a table has no caption");
      if ([...t.querySelectorAll("th")].some((th) => !th.getAttribute("scope"))) out.push("a header cell has no scope");
    }
    for (const s of view.querySelectorAll("svg.chart")) {
      if (s.getAttribute("role") !== "img" || !s.getAttribute("aria-label")) out.push("a chart has no role or label");
    }
    if (view.querySelector("h2").getAttribute("tabindex") !== "-1") out.push("the h2 cannot take the focus");
    if (document.getElementById("funding-live").getAttribute("aria-live") !== "polite") out.push("no polite live region");
    return out;
  });
  same("accessibility problems", problems, []);
}

/** Tab from the view's heading: every main control is reached, in the order of the page. */
async function checkKeyboard(page) {
  await page.focus("#funding-title");
  const reached = [];
  for (let i = 0; i < 400 && !reached.includes("funding-check"); i += 1) {
    await page.keyboard.press("Tab");
    const at = await page.evaluate(() => {
      const a = document.activeElement;
      return a.id || (a.tagName.toLowerCase() === "rect" ? "a bar" : "");
    });
    if (at && reached.at(-1) !== at) reached.push(at);
  }
  const controls = ["funding-as-of", "funding-status", "funding-allocations-instrument", "a bar",
    "funding-check-instrument", "funding-country", "funding-check-as-of", "funding-outside-share", "funding-check"];
  same("the controls reached with Tab, in order", reached.filter((id) => controls.includes(id)), controls);
}

// ---------------------------------------------------------------- the test

run("funding.test", async (t) => {
  const { page, expected, log } = t;
  const [early, late] = Object.keys(expected.instruments);
  await page.addInitScript(installReaders);

  // Instruments as of the early date; SAFE's allocations by default.
  await t.view(ID, { as_of: early });
  same(`instruments as of ${early}`, await shownInstruments(page), expectedInstruments(expected.instruments[early]));
  await compareAllocations(t, "safe");
  await checkUrl(t, "opened", { as_of: early, allocations: "safe" });
  await checkAccessibility(page);
  log(`${expected.instruments[early].length} instruments as of ${early}, ${expected.allocations.safe.length} SAFE allocations: as the API`);

  // The instrument's name in the table opens its details, with the focus on them.
  await page.click("#funding-instruments table.instruments a >> nth=0");
  same("the first instrument's details after its link", await page.evaluate(() => {
    const d = document.querySelector("#funding-instruments details.instrument");
    return { open: d.open, focused: document.activeElement === d.querySelector("summary") };
  }), { open: true, focused: true });

  // The date changes: the URL follows and the statuses are the later ones.
  await page.fill("#funding-as-of", late);
  await t.ready(ID);
  await checkUrl(t, "date changed", { as_of: late });
  same(`instruments as of ${late}`, await shownInstruments(page), expectedInstruments(expected.instruments[late]));

  // A status filter, then another instrument's allocations (one currency per lender).
  const disbursing = expected.instruments[late].filter((i) => i.status === "DISBURSING");
  check(disbursing.length > 0 && disbursing.length < expected.instruments[late].length,
    `some but not all instruments are disbursing on ${late}`);
  await page.selectOption("#funding-status", "disbursing");
  await t.ready(ID);
  same("disbursing instruments", await shownInstruments(page), expectedInstruments(disbursing));
  await page.selectOption("#funding-allocations-instrument", "era-loans");
  await t.ready(ID);
  const era = await compareAllocations(t, "era-loans");
  check(era.length > 1, "the ERA loans are shown in several currencies");
  const shared = await checkUrl(t, "filtered", { as_of: late, status: "disbursing", allocations: "era-loans" });
  log(`status filter and ERA loans in ${era.length} currencies: as the API; URL ${new URLSearchParams(shared)}`);

  // A fresh page on that URL shows the same.
  const url = page.url();
  await page.goto("about:blank");
  await page.goto(url);
  await t.ready(ID);
  same("restored: disbursing instruments", await shownInstruments(page), expectedInstruments(disbursing));
  await compareAllocations(t, "era-loans");
  same("restored: the status picked", await page.inputValue("#funding-status"), "disbursing");
  same("restored: the date", await page.inputValue("#funding-as-of"), late);

  // A URL naming no instrument: the server's words in the alert and in place of the chart,
  // the rest drawn.
  const missing = expected.missing;
  await t.view(ID, { allocations: missing.id });
  same("an unknown instrument's allocations", await page.evaluate(() => ({
    alert: document.getElementById("error").hidden ? null : document.getElementById("error").textContent,
    inPlace: document.querySelector("#funding-allocations .error")?.textContent ?? null,
    charts: document.querySelectorAll("#funding-allocations svg").length,
    instruments: document.querySelectorAll("#funding-instruments table.instruments tbody tr").length,
  })).then((r) => ({ ...r, alert: r.alert?.includes(missing.message), inPlace: r.inPlace?.includes(missing.message) })),
  { alert: true, inPlace: true, charts: 0, instruments: expected.instruments[late].length });
  await page.goto(url);
  await t.ready(ID);

  // Back to every status and SAFE, for the checks (and the screenshot).
  await page.selectOption("#funding-status", "");
  await t.ready(ID);
  await page.selectOption("#funding-allocations-instrument", "safe");
  await t.ready(ID);
  await compareAllocations(t, "safe");

  // An eligible country.
  const { eligible, not_eligible: notEligible } = expected.checks;
  await runCheck(t, eligible.fields);
  await compareAnswer(t, `${eligible.fields.country} in SAFE`, eligible);
  await checkUrl(t, "checked", {
    check: "1", check_instrument: "safe", country: eligible.fields.country, check_as_of: eligible.fields.as_of, outside_share: "",
  });

  // An outside share the server refuses: its words beside the field, which gets the focus.
  const refused = expected.refused;
  await runCheck(t, refused.fields);
  const violation = refused.violations.find((v) => v.field === "outside_component_share_pct");
  const field = await page.evaluate(() => {
    const c = document.getElementById("funding-outside-share");
    const slot = document.getElementById("funding-outside-share-problem");
    return {
      invalid: c.getAttribute("aria-invalid"),
      describedBy: (c.getAttribute("aria-describedby") ?? "").split(" ").includes("funding-outside-share-problem"),
      problem: slot && !slot.hidden ? slot.textContent : null,
      focused: document.activeElement === c,
      alert: document.getElementById("error").hidden ? null : document.getElementById("error").textContent,
    };
  });
  same("the refused share's field", { ...field, alert: field.alert?.includes(violation.description) }, {
    invalid: "true", describedBy: true, problem: violation.description, focused: true, alert: true,
  });
  check((await shownAnswer(page)) === null, "no answer is shown for a refused check");

  // A country that is not eligible; the problem mark went with the edit.
  await runCheck(t, notEligible.fields);
  await compareAnswer(t, `${notEligible.fields.country} in SAFE with ${notEligible.fields.share}% from outside`, notEligible);
  same("the share's field after a good check", await page.getAttribute("#funding-outside-share", "aria-invalid"), null);
  await checkUrl(t, "checked again", {
    check: "1", country: notEligible.fields.country, check_as_of: notEligible.fields.as_of,
    outside_share: String(notEligible.fields.share),
  });
  log(`checks: ${eligible.fields.country} ${eligible.eligibility}, ${notEligible.fields.country} ${notEligible.eligibility} `
    + `(${notEligible.reasons.length} reasons), share ${refused.fields.share} refused beside its field`);

  // A fresh page on the checker's URL runs the same check and shows the same answer.
  const checked = page.url();
  await page.goto("about:blank");
  await page.goto(checked);
  await t.ready(ID);
  await compareAnswer(t, "restored check", notEligible);
  same("restored: the country", await page.inputValue("#funding-country"), notEligible.fields.country);
  same("restored: the share", await page.inputValue("#funding-outside-share"), String(notEligible.fields.share));
  same(`restored: instruments as of ${late}`, await shownInstruments(page), expectedInstruments(expected.instruments[late]));
  await compareAllocations(t, "safe");
  await checkAccessibility(page);
  await checkKeyboard(page);
  // The screenshot shows SAFE's chart and the answer with its reasons, without a focus ring.
  await page.evaluate(() => document.activeElement?.blur());
});
