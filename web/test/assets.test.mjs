// The Assets view in headless Chromium, against the real server, checked against what
// crates/leverage/tests/web_assets.rs got over plain gRPC (tonic) for the same requests
// (LEVERAGE_EXPECTED):
//
//   { invalid: { params, message, violations },       a date the server refuses
//     a: State, b: State }                           two states of the view
//   State: { params (the query string), holdings, summary, observations }
//
// It opens a URL the server refuses and checks the server's words are shown; opens state A from
// its URL and checks every holding's amount, the summary (groups, located total, each
// observation added, the estimates beside, the rates) and every point of the picked holding;
// goes from A to B with the form, the keyboard and the chart, and checks the URL and the numbers;
// then opens B's URL afresh and checks they are restored, the picked point's source included.

import assert from "node:assert/strict";
import { close, run } from "./harness.mjs";

const money = (m) => Number(m.units) + m.nanos / 1e9;
const day = (d) => Date.UTC(d.year, d.month - 1, d.day);
const iso = (d) => `${String(d.year).padStart(4, "0")}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;

/** What the view shows, read from the page: the exact values `num()` carries. */
function readView(page) {
  return page.evaluate(() => {
    const value = (e) => (e ? Number(e.dataset.value) : null);
    const rows = (selector) => [...document.querySelectorAll(selector)];
    return {
      holdings: rows("#assets-holdings table tbody tr").map((tr) => ({
        name: tr.dataset.holding,
        currency: tr.querySelector("td.current .observed")?.dataset.currency ?? null,
        low: value(tr.querySelector("td.current .money.low .num")),
        high: value(tr.querySelector("td.current .observed > span:not(.money) .num")),
        date: tr.querySelector("td time")?.getAttribute("datetime") ?? null,
      })),
      total: value(document.querySelector("#assets-located-total .num")),
      totalCurrency: document.querySelector("#assets-located-total .money")?.textContent.slice(0, 3),
      groups: rows("#assets-summary table.assets-groups tbody tr").map((tr) => ({
        key: tr.dataset.group,
        total: value(tr.querySelector("td .money .num")),
        count: value(tr.querySelector("td:last-child .num")),
      })),
      bars: rows("#assets-summary svg.chart rect.bar").map((r) => Number(r.dataset.value)),
      additions: rows("#assets-summary table.assets-additions tbody tr").map((tr) => ({
        holding: tr.dataset.holding,
        observation: tr.cells[2].textContent,
        original: value(tr.cells[3].querySelector(".num")),
        converted: value(tr.cells[4].querySelector(".num")),
      })),
      estimates: rows("#assets-summary table.assets-estimates tbody tr").map((tr) => ({
        holding: tr.dataset.estimate,
        amount: value(tr.querySelector(".money.low .num")),
        converted: value(tr.querySelector("td.converted .num")),
      })),
      rates: rows("#assets-summary table.assets-rates tbody tr").map((tr) => ({
        id: tr.dataset.rate,
        rate: value(tr.querySelector("td.rate .num")),
        factor: value(tr.querySelector("td.factor .num")),
      })),
      points: rows("#assets-series svg.chart circle.point").map((c) => ({
        observation: c.dataset.observation,
        series: c.dataset.series,
        x: Number(c.dataset.x),
        y: Number(c.dataset.y),
        tip: c.querySelector("title")?.textContent ?? "",
      })),
      table: rows("#assets-series table tbody tr").map((tr) => ({
        observation: tr.dataset.observation,
        inForce: tr.classList.contains("in-force"),
        value: value(tr.querySelector(".money.low .num")),
        date: tr.querySelector("time")?.getAttribute("datetime"),
      })),
      error: document.getElementById("error").hidden ? "" : document.getElementById("error").textContent,
    };
  });
}

/** Every number of `state` on the page equals the API's (tonic's) for the same requests. */
async function checkShown(t, state, what) {
  const shown = await readView(t.page);
  assert.equal(shown.error, "", `${what}: no error shown`);

  // Holdings: the same ones in the API's order, each with the amount in force on the date.
  assert.deepEqual(shown.holdings.map((h) => h.name), state.holdings.map((h) => h.name), `${what}: the holdings listed`);
  state.holdings.forEach((h, i) => {
    const row = shown.holdings[i];
    if (!h.current) {
      assert.equal(row.low, null, `${what}: ${h.name} has no figure on the date`);
      return;
    }
    assert.equal(row.currency, h.current.amount.currency_code, `${what}: ${h.name} currency`);
    close(row.low, money(h.current.amount), `${what}: ${h.name} amount`);
    if (h.current.amount_high) close(row.high, money(h.current.amount_high), `${what}: ${h.name} upper end`);
    else assert.equal(row.high, null, `${what}: ${h.name} has no range`);
    assert.equal(row.date, iso(h.current.as_of), `${what}: ${h.name} dated`);
  });

  // Summary: the groups (table and chart), the located total, each observation added.
  const s = state.summary;
  assert.equal(shown.totalCurrency, s.currency_code, `${what}: the total's currency`);
  close(shown.total, money(s.located_total), `${what}: located total`);
  assert.deepEqual(shown.groups.map((g) => g.key), s.groups.map((g) => g.key), `${what}: groups`);
  s.groups.forEach((g, i) => {
    close(shown.groups[i].total, money(g.total), `${what}: group ${g.key} total`);
    close(shown.bars[i], money(g.total), `${what}: group ${g.key} bar`);
    assert.equal(shown.groups[i].count, g.holding_count, `${what}: group ${g.key} holdings`);
  });
  assert.equal(shown.bars.length, s.groups.length, `${what}: one bar per group`);
  const added = s.groups.flatMap((g) => g.observations);
  assert.deepEqual(shown.additions.map((a) => [a.holding, a.observation]), added.map((a) => [a.holding, a.observation_id]),
    `${what}: the observations added`);
  added.forEach((a, i) => {
    close(shown.additions[i].original, money(a.original), `${what}: ${a.observation_id} as published`);
    close(shown.additions[i].converted, money(a.converted), `${what}: ${a.observation_id} converted`);
  });
  // The estimates beside the total, never in it: the total is the groups' sum alone.
  assert.deepEqual(shown.estimates.map((e) => e.holding), s.estimates.map((e) => e.holding), `${what}: estimates listed`);
  s.estimates.forEach((e, i) => {
    close(shown.estimates[i].amount, money(e.observation.amount), `${what}: estimate ${e.holding}`);
    if (e.converted) close(shown.estimates[i].converted, money(e.converted), `${what}: estimate ${e.holding} converted`);
    else assert.equal(shown.estimates[i].converted, null);
  });
  assert.deepEqual(shown.rates.map((r) => r.id), s.rates_used.map((r) => r.rate_id), `${what}: rates used`);
  s.rates_used.forEach((r, i) => {
    close(shown.rates[i].rate, r.rate, `${what}: rate ${r.rate_id}`);
    close(shown.rates[i].factor, r.factor, `${what}: factor of ${r.rate_id}`);
  });

  // The picked holding's every observation: a point at (its day, its amount) in its currency's
  // line, and a row of the table.
  const obs = state.observations;
  assert.equal(shown.points.length, obs.length, `${what}: one point per observation`);
  for (const o of obs) {
    const p = shown.points.find((q) => q.observation === o.id);
    assert.ok(p, `${what}: a point for ${o.id}`);
    assert.equal(p.series, o.amount.currency_code, `${what}: ${o.id} in the ${o.amount.currency_code} line`);
    assert.equal(p.x, day(o.as_of), `${what}: ${o.id} at its day`);
    close(p.y, money(o.amount), `${what}: ${o.id} at its amount`);
    assert.ok(p.tip.includes(iso(o.as_of)) && p.tip.includes(o.source.publisher), `${what}: ${o.id}'s title: ${p.tip}`);
    if (o.source.url) assert.ok(p.tip.includes(o.source.url), `${what}: ${o.id}'s title names its URL`);
  }
  assert.deepEqual(shown.table.map((r) => r.observation), obs.map((o) => o.id), `${what}: the table, oldest first`);
  obs.forEach((o, i) => {
    close(shown.table[i].value, money(o.amount), `${what}: ${o.id} in the table`);
    assert.equal(shown.table[i].date, iso(o.as_of));
  });
  // The observation in force on the date is the one ListHoldings gave as the holding's current.
  const listed = state.holdings.find((h) => h.name === `holdings/${state.params.holding}`);
  assert.deepEqual(shown.table.filter((r) => r.inForce).map((r) => r.observation), listed?.current ? [listed.current.id] : [],
    `${what}: the observation in force on the date is marked`);
  t.log(`${what}: ${shown.holdings.length} holdings, ${shown.groups.length} groups, ${shown.estimates.length} estimates, ` +
    `${shown.rates.length} rates, ${shown.points.length} points: the API's numbers`);
}

/** The details of the picked point: the observation's source, with its link. */
async function checkPoint(t, observation) {
  const shown = await t.page.$eval("#assets-series .assets-point", (box) => ({
    id: box.querySelector("dl")?.dataset.observation,
    text: box.textContent,
    links: [...box.querySelectorAll("a")].map((a) => a.href),
    picked: [...document.querySelectorAll("#assets-series circle.point.picked")].map((c) => c.dataset.observation),
  }));
  assert.equal(shown.id, observation.id, "the details are the picked point's");
  assert.deepEqual(shown.picked, [observation.id], "the picked point is marked");
  assert.ok(shown.text.includes(observation.source.publisher), `the details name the publisher: ${shown.text}`);
  if (observation.source.url) assert.deepEqual(shown.links, [observation.source.url], "the details link the source");
  assert.ok(shown.text.includes(iso(observation.as_of)));
}

async function ready(t, action) {
  await action();
  await t.ready("assets");
}

run("assets.test", async (t) => {
  const { page, expected: E } = t;
  const elsewhere = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(`${t.base}/`)) elsewhere.push(r.url());
  });

  // 1. A date the server refuses: its words and the field it names, in the alert.
  await t.view("assets", E.invalid.params);
  const alert = await page.$eval("#error", (e) => (e.hidden ? "" : e.textContent));
  assert.ok(alert.includes(E.invalid.message), `the server's message in the alert: ${alert}`);
  for (const v of E.invalid.violations) assert.ok(alert.includes(v.field), `the alert names ${v.field}: ${alert}`);
  t.log(`an invalid date shows the server's refusal: ${alert}`);

  // 2. State A from its URL.
  await t.view("assets", E.a.params);
  await checkShown(t, E.a, "A");
  assert.equal(await page.$$eval("#assets-series svg.chart polyline.series", (ls) => ls.length),
    new Set(E.a.observations.map((o) => o.amount.currency_code)).size, "a line per currency");

  // Every control is labelled and reachable by the keyboard; the charts are labelled images.
  const controls = await page.$$eval("#view-assets input, #view-assets select, #view-assets button", (es) =>
    es.map((e) => ({
      id: e.id || e.textContent,
      labelled: e.tagName === "BUTTON" ? !!e.textContent.trim() : e.labels.length > 0,
      tabbable: e.tabIndex >= 0 && !e.disabled,
    })));
  assert.ok(controls.length >= 9, `the form and the holdings' buttons: ${controls.length}`);
  assert.deepEqual(controls.filter((c) => !c.labelled || !c.tabbable), [], "controls without a label or out of the tab order");
  const charts = await page.$$eval("#view-assets svg.chart", (ss) => ss.map((s) => ({
    role: s.getAttribute("role"), label: s.getAttribute("aria-label"),
    focusable: [...s.querySelectorAll("circle, rect.bar")].every((c) => c.getAttribute("tabindex") === "0" && c.querySelector("title")),
  })));
  assert.equal(charts.length, 2, "the series chart and the summary's chart");
  for (const c of charts) assert.ok(c.role === "img" && c.label && c.focusable, JSON.stringify(c));

  // The filters are in the tab order one after the other, then the holdings' buttons.
  await page.focus("#assets-kind");
  const order = ["assets-kind"];
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => document.activeElement.id));
  }
  await page.keyboard.press("Tab");
  order.push(await page.evaluate(() => document.activeElement.closest("tr")?.dataset.holding));
  assert.deepEqual(order, ["assets-kind", "assets-owner-kind", "assets-instrument", "assets-jurisdiction", "assets-custodian",
    "assets-order", E.a.holdings[0].name], "Tab goes through the filters, then to the first holding");

  // A point clicked shows its source, and the URL keeps it.
  const first = E.a.observations[0];
  await page.click(`#assets-series circle[data-observation="${first.id}"]`);
  await checkPoint(t, first);
  assert.equal((await t.query()).observation, first.id, "the clicked point is in the URL");

  // 3. From A to B with the form, then a holding and a point picked with the keyboard (a new
  // holding lets go of the point picked in A's).
  const b = E.b.params;
  await ready(t, () => page.selectOption("#assets-owner-kind", b.owner_kind));
  await ready(t, () => page.fill("#assets-as-of", b.as_of));
  await ready(t, () => page.selectOption("#assets-order", b.order));
  await ready(t, () => page.selectOption("#assets-group-by", b.group_by));
  await ready(t, () => page.selectOption("#assets-currency", b.currency));
  await page.focus(`#assets-holdings tr[data-holding="holdings/${b.holding}"] button`);
  await ready(t, () => page.keyboard.press("Enter"));
  assert.equal((await t.query()).observation, undefined, "a new holding, no point picked");
  await page.focus(`#assets-series circle[data-observation="${b.observation}"]`);
  await page.keyboard.press("Enter");
  assert.deepEqual(await t.query(), { view: "assets", ...b }, "the URL says what the form says");
  await checkShown(t, E.b, "B");
  const point = E.b.observations.find((o) => o.id === b.observation);
  await checkPoint(t, point);

  // 4. B's URL in a fresh page: the same state, numbers and picked point.
  const url = page.url();
  await page.goto("about:blank");
  await page.goto(url);
  await t.ready("assets");
  const form = await page.evaluate(() => Object.fromEntries(
    ["as_of", "kind", "owner_kind", "instrument", "jurisdiction", "custodian", "order", "group_by", "currency"]
      .map((n) => [n, document.querySelector(`#view-assets [name="${n}"]`).value])));
  assert.deepEqual(form, Object.fromEntries(Object.keys(form).map((k) => [k, b[k] ?? ""])), "the form restored from the URL");
  await checkShown(t, E.b, "B restored");
  await checkPoint(t, point);
  assert.deepEqual(elsewhere, [], "nothing requested from elsewhere");
});
