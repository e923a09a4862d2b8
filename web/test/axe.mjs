// An accessibility audit of the page as it is shown: axe-core's WCAG 2.1 A and AA rules (names
// and labels, contrast, headings, ARIA use, tables, focusable elements), run inside Chromium.
// Returns one line per violation and element; an empty list means none.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

// Evaluated through the DevTools protocol rather than added as a <script>: the page's Content
// Security Policy (script-src 'self') rightly refuses inline scripts.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export async function audit(page) {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  return result.violations.flatMap((v) =>
    v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} — ${n.target.join(" ")}: ${n.failureSummary?.split("\n").slice(1).join(" ")}`));
}
