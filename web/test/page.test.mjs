// Drives the page in headless Chromium (playwright-core, Debian's /usr/bin/chromium) against a
// running `leverage serve --web`, and checks what it shows against direct gRPC-Web calls made
// here with the same client module (web/grpc-web.js).
//
//   LEVERAGE_URL=http://127.0.0.1:50051 node test/page.test.mjs
//
// Environment: LEVERAGE_URL (required), CHROMIUM (default /usr/bin/chromium), SCREENSHOT (write a
// PNG of the page after the sweep there). Exits non-zero, saying what differed, on any failure.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { Client, Lever } from "../grpc-web.js";

const base = process.env.LEVERAGE_URL;
if (!base) {
  console.error("LEVERAGE_URL is not set");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

// The scenario and sweep the test enters in the form, as the API expects them.
const AS_OF = "2026-01-15";
const SCENARIO = {
  use_mode: 4, // reparations loan
  interest_rate_pct: 3,
  horizon_years: 7,
  participation: [],
  ceasefire: false,
  as_of: { year: 2026, month: 1, day: 15 },
};
const AXIS = { lever: Lever.PARTICIPATION, start: 0, stop: 1, steps: 11 };

const log = (...a) => console.log("page.test:", ...a);

async function main() {
  const api = new Client(base);
  const plugins = await api.listPlugins();
  assert.equal(plugins.length, 2, `expected the two bundled plugins, got ${plugins.map((p) => p.name)}`);

  const profile = mkdtempSync(join(tmpdir(), "leverage-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const problems = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

    // 1. The page loads and lists the plugins (over gRPC-Web from the browser).
    const response = await page.goto(`${base}/`);
    assert.equal(response.status(), 200, "GET / status");
    await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    const listed = await page.$$eval("#plugins .plugin", (rows) =>
      rows.map((r) => ({ name: r.dataset.plugin, text: r.textContent, checked: r.querySelector("input").checked })));
    assert.deepEqual(listed.map((p) => p.name), plugins.map((p) => p.name), "plugins listed");
    for (const [i, p] of plugins.entries()) {
      assert.ok(listed[i].text.includes(p.display_name), `${p.name} shows its display name`);
      assert.ok(listed[i].checked, `${p.name} is ready and picked`);
    }
    log(`lists ${listed.map((p) => p.name).join(", ")}`);

    // Every form control has an accessible name.
    const unlabelled = await page.$$eval("input, select, button", (els) =>
      els.filter((e) => e.type !== "hidden" && !e.labels?.length && !e.getAttribute("aria-label") && !e.textContent.trim())
        .map((e) => e.id || e.outerHTML));
    assert.deepEqual(unlabelled, [], "controls without a label");

    // 2. Score a scenario: every plugin's score and components, as ScoreScenario returns them.
    await page.selectOption("#use-mode", String(SCENARIO.use_mode));
    await page.fill("#interest-rate", String(SCENARIO.interest_rate_pct));
    await page.fill("#horizon", String(SCENARIO.horizon_years));
    await page.fill("#as-of", AS_OF);
    await page.click("#score");
    await page.waitForFunction((n) => document.querySelectorAll("#scores .card").length === n, plugins.length);
    const shown = await page.$$eval("#scores .card", (cards) => cards.map((c) => ({
      plugin: c.dataset.plugin,
      score: Number(c.querySelector(".score-value").dataset.value),
      scoreText: c.querySelector(".score-value").textContent,
      components: [...c.querySelectorAll("tr[data-component]")].map((r) => ({
        name: r.dataset.component,
        value: Number(r.querySelector(".num").dataset.value),
      })),
    })));
    for (const p of plugins) {
      const direct = (await api.scoreScenario(p.name, SCENARIO)).result;
      const card = shown.find((c) => c.plugin === p.name);
      assert.ok(card, `a score card for ${p.name}`);
      assert.equal(card.score, direct.score, `${p.name}: score on the page vs ScoreScenario`);
      assert.ok(card.scoreText.length > 0);
      assert.deepEqual(card.components, direct.components.map((c) => ({ name: c.name, value: c.value })),
        `${p.name}: components on the page vs ScoreScenario`);
      assert.ok(direct.components.length > 0, `${p.name} returns components`);
      log(`${p.name}: score ${card.score} and ${card.components.length} components match ScoreScenario`);
    }

    // 3. Sweep a lever: a chart per plugin with one point per step, at the API's scores.
    await page.selectOption("#lever", String(AXIS.lever));
    await page.fill("#sweep-start", String(AXIS.start));
    await page.fill("#sweep-stop", String(AXIS.stop));
    await page.fill("#sweep-steps", String(AXIS.steps));
    await page.click("#sweep");
    await page.waitForFunction((n) => document.querySelectorAll("#charts svg.chart").length === n, plugins.length,
      { timeout: 60_000 });
    const charts = await page.$$eval("#charts svg.chart", (svgs) => svgs.map((s) => ({
      plugin: s.dataset.plugin,
      box: Object.fromEntries(["xMin", "xMax", "yMin", "yMax", "left", "top", "width", "height"]
        .map((k) => [k, Number(s.dataset[k])])),
      points: s.querySelector("polyline.series").getAttribute("points").trim().split(/\s+/)
        .map((xy) => xy.split(",").map(Number)),
      label: s.getAttribute("aria-label"),
    })));
    const tables = await page.$$eval("#charts figure", (figs) => figs.map((f) => ({
      plugin: f.dataset.plugin,
      rows: [...f.querySelectorAll("tbody tr")].map((r) => [...r.querySelectorAll(".num")].map((n) => Number(n.dataset.value))),
    })));
    const recorded = await page.evaluate(() => window.leverage.sweeps.series.map((s) => ({
      plugin: s.plugin, scores: s.points.map((p) => p.score),
    })));
    for (const p of plugins) {
      const direct = [];
      for await (const chunk of api.sweepScenario({ plugin: p.name, base: SCENARIO, axes: [AXIS] })) {
        direct.push(...chunk.points);
      }
      assert.equal(direct.length, AXIS.steps);
      const c = charts.find((x) => x.plugin === p.name);
      assert.ok(c, `a chart for ${p.name}`);
      assert.equal(c.points.length, AXIS.steps, `${p.name}: points on the chart's line`);
      const { xMin, xMax, yMin, yMax, left, top, width, height } = c.box;
      // One pixel of the plot in value units; the polyline is written to 0.01 px.
      const yTol = ((yMax - yMin) / height) * 0.011;
      const xTol = ((xMax - xMin) / width) * 0.011;
      c.points.forEach(([px, py], i) => {
        const x = xMin + ((px - left) / width) * (xMax - xMin);
        const y = yMin + ((top + height - py) / height) * (yMax - yMin);
        assert.ok(Math.abs(x - direct[i].lever_values[0]) <= xTol,
          `${p.name} point ${i}: x ${x} vs lever ${direct[i].lever_values[0]}`);
        assert.ok(Math.abs(y - direct[i].score) <= yTol,
          `${p.name} point ${i}: drawn at ${y} vs SweepScenario score ${direct[i].score}`);
      });
      const t = tables.find((x) => x.plugin === p.name);
      assert.deepEqual(t.rows, direct.map((q) => [q.lever_values[0], q.score, ...q.components]),
        `${p.name}: the sweep's table vs SweepScenario`);
      assert.deepEqual(recorded.find((x) => x.plugin === p.name).scores, direct.map((q) => q.score));
      const distinct = new Set(direct.map((q) => q.score)).size;
      log(`${p.name}: chart of ${c.points.length} points (${distinct} distinct scores) matches SweepScenario`);
    }

    const alert = await page.$eval("#error", (e) => (e.hidden ? "" : e.textContent));
    assert.equal(alert, "", "the page shows no error");
    if (process.env.SCREENSHOT) {
      await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
      log(`screenshot: ${process.env.SCREENSHOT}`);
    }
    assert.deepEqual(problems, [], "browser errors");
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  log("ok");
}

main().catch((e) => {
  console.error("page.test: FAILED:", e?.stack ?? e);
  process.exit(1);
});
