// The Legal risk view in headless Chromium, against the numbers crates/leverage/tests/web_legal.rs
// got over plain gRPC (LEVERAGE_EXPECTED): the heat map (every cell, the overall row and, for
// legal-risk/2, the binding channels and the overall channels), a cell picked with the keyboard
// (its drivers, channels, combination), the positions timeline (marks and table), the URL
// written by each change, a fresh page restoring it, and a refusal of the server shown.

import assert from "node:assert/strict";
import { close, run } from "./harness.mjs";

const LEVELS = { 1: "Low", 2: "Moderate", 3: "High", 4: "Severe" };
const CHANNELS = { 1: "annulment", 2: "damages", 3: "retaliation" };
const KINDS = { 1: "Doctrine", 2: "Position", 3: "Coefficient", 4: "Claim" };
const STANCES = { 1: "supports", 2: "conditional", 3: "opposes", 4: "unresolved" };
const COEFFICIENT = 3;
const DOCTRINE = 1;
const PICK = { jurisdiction: "BE", action: "reparations_loan" };

/** Waits until the view has finished what the last change started. */
const ready = (page) => page.waitForSelector('#view-legal[data-ready="true"]', { timeout: 30_000 });
const query = (page) => Object.fromEntries(new URL(page.url()).searchParams);

/** What the heat map shows: rows, cells, overall row and overall channels, caption. */
function readHeatMap(page) {
  return page.$eval("#legal-grid table.heat-map", (table) => {
    const value = (e) => (e ? Number(e.dataset.value) : null);
    const risk = (e) => e && { risk: value(e.querySelector(".risk .num")), level: e.querySelector(".risk .level")?.textContent };
    return {
      caption: table.caption.textContent,
      actions: [...table.querySelectorAll("thead th")].slice(2).map((th) => th.textContent),
      rows: [...table.querySelectorAll("tbody tr")].map((tr) => ({
        jurisdiction: tr.dataset.jurisdiction,
        stake: value(tr.querySelector("td.stake .num")),
        cells: [...tr.querySelectorAll("button[data-action]")].map((b) => ({
          action: b.dataset.action,
          ...risk(b),
          channel: b.querySelector(".binding")?.dataset.channel ?? null,
          focusable: b.tabIndex >= 0,
        })),
      })),
      overall: [...table.querySelectorAll("tfoot tr.overall td[data-action]")].map((td) => ({ action: td.dataset.action, ...risk(td) })),
      total: value(table.querySelector("tfoot tr.overall td.stake .num")),
      channels: [...table.querySelectorAll("tfoot tr.overall-channel")].map((tr) => ({
        channel: tr.dataset.channel,
        cells: [...tr.querySelectorAll("td[data-action]")].map((td) => risk(td)),
      })),
    };
  });
}

async function checkHeatMap(page, answers, what) {
  const shown = await readHeatMap(page);
  const first = answers[0];
  assert.ok(shown.caption.includes(first.as_of) && shown.caption.includes(first.model_version),
    `${what}: the caption names the date and the model: ${shown.caption}`);
  assert.equal(shown.actions.length, answers.length, `${what}: a column per action`);
  assert.deepEqual(shown.rows.map((r) => r.jurisdiction), first.jurisdictions.map((j) => j.jurisdiction),
    `${what}: the jurisdictions, in the API's order`);
  shown.rows.forEach((row, r) => {
    close(row.stake, first.jurisdictions[r].assets_at_stake, `${what}: ${row.jurisdiction} at stake`);
    assert.deepEqual(row.cells.map((c) => c.action), answers.map((a) => a.action), `${what}: ${row.jurisdiction}'s columns`);
    row.cells.forEach((cell, i) => {
      const j = answers[i].jurisdictions[r];
      const where = `${what}: ${row.jurisdiction} × ${cell.action}`;
      close(cell.risk, j.risk, `${where} risk`);
      assert.equal(cell.level, LEVELS[j.level], `${where} level`);
      assert.equal(cell.channel, j.channels.length ? CHANNELS[j.binding_channel] : null, `${where} binding channel`);
      assert.ok(cell.focusable, `${where} is focusable`);
    });
  });
  answers.forEach((a, i) => {
    close(shown.overall[i].risk, a.overall_risk, `${what}: ${a.action} overall`);
    assert.equal(shown.overall[i].level, LEVELS[a.overall_level], `${what}: ${a.action} overall level`);
    close(shown.total, a.total_at_stake, `${what}: total at stake`);
  });
  const channelled = first.channels.length > 0;
  assert.equal(shown.channels.length, channelled ? 3 : 0, `${what}: overall channel rows`);
  shown.channels.forEach((row, c) => {
    answers.forEach((a, i) => {
      const expected = a.channels[c];
      assert.equal(row.channel, CHANNELS[expected.channel], `${what}: overall channel row ${c}`);
      close(row.cells[i].risk, expected.risk, `${what}: ${a.action} overall ${row.channel}`);
      assert.equal(row.cells[i].level, LEVELS[expected.level], `${what}: ${a.action} overall ${row.channel} level`);
    });
  });
  return shown.rows.length * answers.length;
}

function compareDrivers(shown, drivers, what) {
  const shares = drivers.filter((d) => d.kind !== COEFFICIENT);
  const coefficients = drivers.filter((d) => d.kind === COEFFICIENT);
  assert.deepEqual(shown.shares.map((d) => [d.ref, d.kind]), shares.map((d) => [d.ref_id, KINDS[d.kind]]),
    `${what}: the drivers, in the API's order`);
  // legal-risk/2 gives positions a weight and claims an amount; a doctrine has no value (0).
  const valueColumn = shown.shares.some((d) => d.value !== null);
  shown.shares.forEach((d, i) => {
    close(d.contribution, shares[i].contribution, `${what}: ${d.ref} contribution`);
    assert.ok(d.sources > 0, `${what}: ${d.ref} shows its sources`);
    if (shares[i].kind === DOCTRINE || !valueColumn) {
      assert.equal(shares[i].value, 0, `${what}: ${d.ref} has a value the page does not show`);
      assert.equal(d.value, null, `${what}: ${d.ref} shows no value`);
    } else {
      close(d.value, shares[i].value, `${what}: ${d.ref} value`);
    }
  });
  assert.deepEqual(shown.coefficients.map((d) => d.ref), coefficients.map((d) => d.ref_id), `${what}: the coefficients`);
  shown.coefficients.forEach((d, i) => close(d.value, coefficients[i].value, `${what}: ${d.ref} value`));
  return drivers.length;
}

/** The picked cell's panel against the API's jurisdiction `j` of `answer`. */
async function checkCell(page, answer, code, what) {
  const j = answer.jurisdictions.find((x) => x.jurisdiction === code);
  assert.ok(j, `${what}: ${code} is assessed`);
  const shown = await page.$eval("#legal-drivers", (panel) => {
    const value = (e) => (e ? Number(e.dataset.value) : null);
    // A drivers block (a .driver-tables div): the shares table, then the coefficients table.
    const readDrivers = (root) => ({
      shares: [...root.querySelectorAll(":scope > table.shares tbody tr")].map((tr) => ({
        ref: tr.dataset.ref,
        kind: tr.dataset.kind,
        contribution: value(tr.querySelector("td.contribution .num")),
        value: value(tr.querySelector("td.value .num")),
        sources: tr.querySelectorAll("td.sources li").length,
      })),
      coefficients: [...root.querySelectorAll(":scope > table.coefficients tbody tr")].map((tr) => ({
        ref: tr.dataset.ref,
        value: value(tr.querySelector("td.value .num")),
      })),
    });
    const heading = panel.querySelector("#legal-cell-heading");
    return {
      heading: { jurisdiction: heading?.dataset.jurisdiction, action: heading?.dataset.action },
      risk: value(panel.querySelector(".cell-summary .risk .num")),
      stake: value(panel.querySelector(".cell-summary .money .num")),
      main: readDrivers(panel.querySelector("#legal-drivers-main")),
      channels: [...panel.querySelectorAll("table.legal-channels tbody tr")].map((tr) => ({
        name: tr.cells[0].textContent,
        risk: value(tr.querySelector(".risk .num")),
        level: tr.querySelector(".risk .level")?.textContent,
      })),
      combination: panel.querySelector("#legal-combination")?.textContent ?? "",
      others: [...panel.querySelectorAll("details.channel-drivers")].map((d) => ({
        channel: d.dataset.channel,
        drivers: readDrivers(d.querySelector(".driver-tables")),
      })),
    };
  });
  assert.deepEqual(shown.heading, { jurisdiction: code, action: answer.action }, `${what}: the panel's cell`);
  close(shown.risk, j.risk, `${what}: risk`);
  close(shown.stake, j.assets_at_stake, `${what}: assets at stake`);
  let count = compareDrivers(shown.main, j.drivers, `${what}: drivers`);
  assert.equal(shown.channels.length, j.channels.length, `${what}: channel rows`);
  j.channels.forEach((c, i) => {
    const name = CHANNELS[c.channel] + (c.channel === j.binding_channel ? " (binds)" : "");
    assert.equal(shown.channels[i].name, name, `${what}: channel ${i}`);
    close(shown.channels[i].risk, c.risk, `${what}: ${name} risk`);
    assert.equal(shown.channels[i].level, LEVELS[c.level], `${what}: ${name} level`);
  });
  assert.equal(shown.combination, j.channels.length ? answer.combination : "", `${what}: the combination`);
  const others = j.channels.filter((c) => c.channel !== j.binding_channel);
  assert.deepEqual(shown.others.map((o) => o.channel), others.map((c) => CHANNELS[c.channel]), `${what}: other channels`);
  others.forEach((c, i) => {
    count += compareDrivers(shown.others[i].drivers, c.drivers, `${what}: ${CHANNELS[c.channel]} drivers`);
  });
  return count;
}

/** The timeline's marks and table against ListPositions' answer. */
async function checkTimeline(page, list, code, what) {
  const shown = await page.$eval("#legal-timeline", (box) => ({
    marks: [...box.querySelectorAll("svg.timeline .mark")].map((g) => ({
      id: g.dataset.position,
      date: g.dataset.date,
      stance: g.dataset.stance,
      tabindex: g.getAttribute("tabindex"),
      title: g.querySelector("title")?.textContent ?? "",
    })),
    label: box.querySelector("svg.timeline")?.getAttribute("aria-label") ?? "",
    role: box.querySelector("svg.timeline")?.getAttribute("role"),
    rows: [...box.querySelectorAll("table.positions tbody tr")].map((tr) => ({
      id: tr.dataset.position,
      date: tr.cells[0].firstChild.firstChild.textContent,
      actor: tr.cells[1].textContent,
      stance: tr.cells[4].textContent,
      links: [...tr.cells[8].querySelectorAll("a")].map((a) => a.getAttribute("href")),
    })),
  }));
  assert.equal(shown.role, "img", `${what}: the timeline is an image to screen readers`);
  assert.ok(shown.label.includes(code) && shown.label.includes(`${list.length} dated`), `${what}: ${shown.label}`);
  assert.deepEqual(shown.rows.map((r) => r.id), list.map((p) => p.id), `${what}: the table, newest first`);
  shown.rows.forEach((r, i) => {
    const p = list[i];
    assert.deepEqual([r.date, r.actor, r.stance], [p.date, p.actor, STANCES[p.stance]], `${what}: ${p.id}`);
    assert.deepEqual(r.links, p.url ? [p.url] : [], `${what}: ${p.id}'s source link`);
  });
  const marks = new Map(shown.marks.map((m) => [m.id, m]));
  assert.equal(shown.marks.length, list.length, `${what}: a mark per position`);
  for (const p of list) {
    const m = marks.get(p.id);
    assert.ok(m, `${what}: ${p.id} has a mark`);
    assert.deepEqual([m.date, m.stance, m.tabindex], [p.date, STANCES[p.stance], "0"], `${what}: ${p.id}'s mark`);
    assert.ok(m.title.startsWith(p.date) && m.title.includes(p.actor) && m.title.includes(STANCES[p.stance]),
      `${what}: ${p.id}'s title says its date, actor and stance: ${m.title}`);
  }
  return list.length;
}

/**
 * How many texts of the view were checked, and those whose contrast with its background is below 4.5:1 (WCAG AA): the heat
 * map's cells on their level's colour, the stances in their colour, help text and captions.
 */
function lowContrast(page) {
  return page.evaluate(() => {
    const rgba = (s) => (s.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (e) => {
      for (; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || c[3] === 1) return c;
      }
      return [255, 255, 255];
    };
    const low = [];
    let checked = 0;
    const texts = document.querySelectorAll(["#view-legal td.cell .num", "#view-legal td.cell .level",
      "#view-legal td.cell .binding", "#view-legal span.stance", "#view-legal .help", "#view-legal caption",
      "#view-legal th", "#view-legal td"].join(","));
    for (const e of texts) {
      if (!e.textContent.trim() || !e.checkVisibility()) continue;
      const [a, b] = [lum(rgba(getComputedStyle(e).color)), lum(background(e))].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      if (ratio < 4.5) low.push(`${e.textContent.trim().slice(0, 40)}: ${ratio.toFixed(2)}`);
      checked += 1;
    }
    return { checked, low };
  });
}

run("legal.test", async (t) => {
  const { page, expected: e } = t;
  const A = e.as_of, B = e.other_as_of;
  const lr2 = e.assessments[`legal-risk/2|${A}`];
  const lr1 = e.assessments[`legal-risk/1|${A}`];
  const lr1b = e.assessments[`legal-risk/1|${B}`];
  const picked = (answers) => answers.find((a) => a.action === PICK.action);

  // 1. The heat map of legal-risk/2 as of A, nothing picked yet.
  await t.view("legal", { as_of: A, model: "legal-risk/2" });
  assert.equal(await page.inputValue("#legal-as-of"), A);
  assert.equal(await page.inputValue("#legal-model"), "legal-risk/2");
  const cells = await checkHeatMap(page, lr2, "legal-risk/2");
  t.log(`heat map: ${cells} cells equal AssessLegalRisk's`);
  assert.match(await page.textContent("#legal-status"), /jurisdictions × 6 actions/);

  // 2. The keyboard: from the heading, Tab reaches the date, the model, then the first cell;
  // a cell is picked with Enter.
  await page.focus("#view-legal h2");
  const focused = () => page.evaluate(() => {
    const a = document.activeElement;
    return a.id || `${a.dataset.jurisdiction}|${a.dataset.action}`;
  });
  // Tab to the next control: a date field takes a Tab per part (month, day, year) first.
  const tab = async () => {
    const from = await focused();
    for (let i = 0; i < 4 && (await focused()) === from; i++) await page.keyboard.press("Tab");
    return focused();
  };
  assert.equal(await tab(), "legal-as-of");
  assert.equal(await tab(), "legal-model");
  assert.equal(await tab(), `${lr2[0].jurisdictions[0].jurisdiction}|immobilisation`, "the first cell is next");
  await page.focus(`#legal-grid button[data-jurisdiction="${PICK.jurisdiction}"][data-action="${PICK.action}"]`);
  await page.keyboard.press("Enter");
  await ready(page);
  assert.deepEqual(query(page), { view: "legal", as_of: A, model: "legal-risk/2", ...PICK, timeline: PICK.jurisdiction });
  assert.equal(await page.getAttribute(`button[data-jurisdiction="${PICK.jurisdiction}"][data-action="${PICK.action}"]`,
    "aria-pressed"), "true");
  let drivers = await checkCell(page, picked(lr2), PICK.jurisdiction, "legal-risk/2 cell");
  t.log(`picked ${PICK.jurisdiction} × ${PICK.action}: ${drivers} drivers equal the API's`);
  assert.equal(await page.inputValue("#legal-timeline-jurisdiction"), PICK.jurisdiction, "the row fills the timeline");
  const options = await page.$$eval("#legal-timeline-jurisdiction option", (os) => os.map((o) => o.value).filter(Boolean));
  const codes = new Set([...e.position_jurisdictions[A], ...lr2[0].jurisdictions.map((j) => j.jurisdiction)]);
  assert.deepEqual(options, [...codes].sort(), "the timeline offers every jurisdiction with positions or risk");
  const beA = e.positions[`${PICK.jurisdiction}|${A}`];
  t.log(`timeline: ${await checkTimeline(page, beA, PICK.jurisdiction, "timeline")} positions equal ListPositions'`);
  const contrast = await lowContrast(page);
  assert.deepEqual(contrast.low, [], "text contrast of 4.5:1 or more");
  t.log(`contrast: ${contrast.checked} texts of 4.5:1 or more`);

  // 3. The shared URL, opened in a fresh page, restores the heat map, the cell and the timeline.
  const shared = page.url();
  // A page of its own context: nothing shared with the first but the URL.
  const fresh = await page.context().browser().newPage({ viewport: { width: 1280, height: 900 } });
  const freshProblems = [];
  fresh.on("pageerror", (x) => freshProblems.push(x.message));
  await fresh.goto(shared);
  await ready(fresh);
  await checkHeatMap(fresh, lr2, "restored");
  await checkCell(fresh, picked(lr2), PICK.jurisdiction, "restored cell");
  await checkTimeline(fresh, beA, PICK.jurisdiction, "restored timeline");
  assert.equal(await fresh.getAttribute(`button[data-jurisdiction="${PICK.jurisdiction}"][data-action="${PICK.action}"]`,
    "aria-pressed"), "true");
  assert.deepEqual(freshProblems, []);
  await fresh.close();
  t.log("the shared URL restores the view");

  // 4. Another model: the URL follows, the numbers are legal-risk/1's, the cell stays picked.
  await page.selectOption("#legal-model", "legal-risk/1");
  await ready(page);
  assert.equal(query(page).model, "legal-risk/1");
  await checkHeatMap(page, lr1, "legal-risk/1");
  drivers = await checkCell(page, picked(lr1), PICK.jurisdiction, "legal-risk/1 cell");
  t.log(`legal-risk/1: heat map and ${drivers} drivers equal the API's`);

  // 5. Another date: the heat map and the timeline are those as of B.
  await page.fill("#legal-as-of", B);
  await ready(page);
  assert.deepEqual(query(page), { view: "legal", as_of: B, model: "legal-risk/1", ...PICK, timeline: PICK.jurisdiction });
  await checkHeatMap(page, lr1b, `legal-risk/1 as of ${B}`);
  await checkCell(page, picked(lr1b), PICK.jurisdiction, `legal-risk/1 cell as of ${B}`);
  await checkTimeline(page, e.positions[`${PICK.jurisdiction}|${B}`], PICK.jurisdiction, `timeline as of ${B}`);

  // 6. Another jurisdiction's timeline, picked in its own select.
  await page.selectOption("#legal-timeline-jurisdiction", "DE");
  await ready(page);
  assert.equal(query(page).timeline, "DE");
  await checkTimeline(page, e.positions[`DE|${B}`], "DE", `DE's timeline as of ${B}`);
  t.log("model, date and timeline changes: URL and numbers follow");

  // 7. The server's refusal, in its words, when the URL names an unknown model.
  await t.view("legal", { model: "legal-risk/9" });
  const alert = await page.textContent("#error");
  assert.ok(await page.isVisible("#error"), "the alert shows");
  assert.match(alert, /INVALID_ARGUMENT/);
  assert.match(alert, /model/);
  t.log(`an unknown model: ${alert}`);

  // 8. The screenshot: legal-risk/2 with Belgium's reparations loan picked.
  await page.goto(shared);
  await ready(page);
  await checkCell(page, picked(lr2), PICK.jurisdiction, "screenshot's cell");
  assert.ok(await page.isHidden("#error"), "no error left");
});
