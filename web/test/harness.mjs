// What the page's view tests share: the environment crates/leverage/tests/common/page.rs sets,
// a headless Chromium on the page, the numbers a view shows, and the screenshot.
//
//   const t = await open("assets.test");           // LEVERAGE_URL, CHROMIUM, LEVERAGE_EXPECTED
//   await t.view("assets", { as_of: "2026-01-15" }); // loads /?view=assets&as_of=… and waits
//   ...checks...
//   await t.done();                                  // screenshot (SCREENSHOT), "<name>: ok"

import { chromium } from "playwright-core";
import { createLeverage } from "@leverage/client";
import { audit } from "./axe.mjs";

export async function open(name) {
  const base = process.env.LEVERAGE_URL;
  if (!base) {
    console.error("LEVERAGE_URL is not set");
    process.exit(2);
  }
  const expected = process.env.LEVERAGE_EXPECTED ? JSON.parse(process.env.LEVERAGE_EXPECTED) : {};
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  const log = (...a) => console.log(`${name}:`, ...a);

  const t = {
    base,
    page,
    expected,
    log,
    /** The API over gRPC-Web, from Node, with the same generated client the page uses. */
    api: createLeverage(base),
    /** Opens `?view=<id>&<params>` and waits until the view has drawn it. */
    async view(id, params = {}) {
      const q = new URLSearchParams({ view: id, ...params });
      await page.goto(`${base}/?${q}`);
      await t.ready(id);
    },
    /** Waits until view `id` has finished showing (its root's data-ready). */
    async ready(id) {
      await page.waitForSelector(`#view-${id}[data-ready="true"]`, { timeout: 30_000 });
    },
    /** The exact values (data-value) of the numbers matched by `selector`, in page order. */
    async numbers(selector) {
      return page.$$eval(selector, (es) => es.map((e) => Number(e.closest("[data-value]")?.dataset.value)));
    },
    /** The current query string of the page, as an object. */
    async query() {
      return Object.fromEntries(new URL(page.url()).searchParams);
    },
    /**
     * Fails on errors the page logged and on accessibility violations (axe-core, WCAG 2.1 AA) in
     * what it shows now; writes the screenshot; prints "<name>: ok".
     */
    async done() {
      if (problems.length) throw new Error(problems.join("\n"));
      const violations = await audit(page);
      if (violations.length) throw new Error(`accessibility (axe-core):\n${violations.join("\n")}`);
      log("no accessibility violation (axe-core, WCAG 2.1 A and AA)");
      if (process.env.SCREENSHOT) {
        await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
        log(`screenshot ${process.env.SCREENSHOT}`);
      }
      await browser.close();
      log("ok");
    },
  };
  return t;
}

/** Runs `body(t)`, exiting non-zero with the failure's message when it throws. */
export async function run(name, body) {
  let t;
  try {
    t = await open(name);
    await body(t);
    await t.done();
  } catch (e) {
    console.error(`${name}: FAILED\n${e.stack ?? e}`);
    await t?.page.context().browser()?.close().catch(() => {});
    process.exit(1);
  }
}

/** Equal to 1e-9 relative: the page shows the server's doubles, which JSON keeps exactly. */
export function close(a, b, what) {
  const ok = a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  if (!ok) throw new Error(`${what}: the page shows ${a}, the API says ${b}`);
}
