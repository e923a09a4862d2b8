// What every view of the page shares: building elements, showing numbers (each carries its
// exact value in `data-value`, so a test can compare the page with the API), dates, errors, and
// the SVG charts (line and bar), which are drawn with elements only and labelled for screen
// readers; every chart has its numbers in a table beside it too.

import { refusalOf } from "@leverage/client";

export const SVG = "http://www.w3.org/2000/svg";
export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

export function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A number for people: up to 4 significant digits, no exponent for everyday sizes. */
export function formatNumber(v) {
  if (typeof v === "bigint") v = Number(v);
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toLocaleString("en-GB", { maximumFractionDigits: 4 });
}

/** A number carrying its exact value for tests and copy-paste. */
export function num(v, unit) {
  return el("span", { class: "num", "data-value": v, title: `${v}${unit ? ` ${unit}` : ""}` },
    formatNumber(v));
}

/** A `leverage.v1.Date` (or undefined) as `YYYY-MM-DD` ("" when unset). */
export function dateText(d) {
  if (!d || !d.year) return "";
  const p = (n, w) => String(n).padStart(w, "0");
  return `${p(d.year, 4)}-${p(d.month, 2)}-${p(d.day, 2)}`;
}

/** `YYYY-MM-DD` as the fields of a `leverage.v1.Date`, or undefined for "" (the server's today). */
export function dateOf(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text ?? "");
  return m ? { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) } : undefined;
}

/** The words of an error for people: the server's refusal with its field violations. */
export function errorText(e) {
  const r = refusalOf(e);
  if (!r) return String(e?.message ?? e);
  const fields = r.violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return `The server refused (${r.code}): ${r.message}${fields && !r.message.includes(fields) ? ` (${fields})` : ""}`;
}

/** Shows `e` in the view's alert box (`role="alert"`), or clears it when `e` is null. */
export function showError(box, e) {
  box.hidden = !e;
  box.textContent = e ? errorText(e) : "";
}

export function busy(button, on) {
  button.disabled = on;
  button.setAttribute("aria-busy", on ? "true" : "false");
}

/** A table with a caption, column headers and rows of cells (nodes or text). */
export function table(caption, headers, rows, attrs = {}) {
  return el("table", attrs,
    caption ? el("caption", { text: caption }) : null,
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows.map((cells) => {
      const tr = el("tr");
      for (const c of cells) tr.append(c instanceof Node && c.nodeName === "TD" ? c : el("td", {}, c));
      return tr;
    })));
}

/** About `count` round tick values covering [lo, hi]. */
export function ticks(lo, hi, count) {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

const PALETTE = ["#1f5fbf", "#b3541e", "#2e7d32", "#7b3fa0", "#a3261b", "#00796b"];

/**
 * An SVG line chart. `series`: [{ label, points: [{ x, y, tip }] }]; `x` is a number (or a
 * Date's epoch milliseconds when `xDates`). Every point is a circle with its `tip` as a
 * `<title>` (hover) and is focusable (keyboard); the plot box and ranges are data-* attributes
 * so that a test can map drawn points back to numbers.
 */
export function lineChart({ title, xLabel, yLabel, series, xDates = false }) {
  const W = 640, H = 280, left = 64, right = 16, top = 16, bottom = 48;
  const pw = W - left - right, ph = H - top - bottom;
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x);
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const ys = all.map((p) => p.y);
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const pad = (y1 - y0) * 0.08 || Math.max(Math.abs(y0) * 0.05, 1);
  y0 -= pad;
  y1 += pad;
  const X = (v) => left + ((v - x0) / (x1 - x0)) * pw;
  const Y = (v) => top + ph - ((v - y0) / (y1 - y0)) * ph;
  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, class: "chart",
    "data-x-min": x0, "data-x-max": x1, "data-y-min": y0, "data-y-max": y1,
    "data-left": left, "data-top": top, "data-width": pw, "data-height": ph,
  });
  root.append(svg("title", {}, title));
  const grid = svg("g", { class: "grid" });
  for (const v of ticks(y0, y1, 5)) {
    grid.append(svg("line", { x1: left, x2: left + pw, y1: Y(v), y2: Y(v) }));
    grid.append(svg("text", { x: left - 8, y: Y(v) + 4, "text-anchor": "end" }, formatNumber(v)));
  }
  const xTicks = xDates ? dateTicks(x0, x1) : ticks(x0, x1, 8).map((v) => [v, formatNumber(v)]);
  for (const [v, text] of xTicks) {
    grid.append(svg("line", { x1: X(v), x2: X(v), y1: top, y2: top + ph, class: "vertical" }));
    grid.append(svg("text", { x: X(v), y: top + ph + 18, "text-anchor": "middle" }, text));
  }
  root.append(grid);
  root.append(svg("rect", { x: left, y: top, width: pw, height: ph, class: "frame" }));
  root.append(svg("text", { x: left + pw / 2, y: H - 8, "text-anchor": "middle", class: "axis-label" }, xLabel));
  if (yLabel) {
    root.append(svg("text", { x: 12, y: top + ph / 2, "text-anchor": "middle", class: "axis-label",
      transform: `rotate(-90 12 ${top + ph / 2})` }, yLabel));
  }
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    root.append(svg("polyline", {
      class: "series", stroke: colour, "data-series": s.label,
      points: sorted.map((q) => `${X(q.x).toFixed(2)},${Y(q.y).toFixed(2)}`).join(" "),
    }));
    for (const q of sorted) {
      const dot = svg("circle", { cx: X(q.x), cy: Y(q.y), r: 3.5, class: "point", fill: colour,
        tabindex: 0, "data-x": q.x, "data-y": q.y, "data-series": s.label });
      dot.append(svg("title", {}, q.tip ?? `${formatNumber(q.x)}: ${formatNumber(q.y)}`));
      root.append(dot);
    }
  });
  return root;
}

function dateTicks(x0, x1) {
  const a = new Date(x0), b = new Date(x1);
  const years = b.getUTCFullYear() - a.getUTCFullYear();
  const out = [];
  if (years >= 2) {
    const every = Math.ceil(years / 8);
    for (let y = a.getUTCFullYear() + 1; y <= b.getUTCFullYear(); y += every) {
      out.push([Date.UTC(y, 0, 1), String(y)]);
    }
  } else {
    const d = new Date(Date.UTC(a.getUTCFullYear(), a.getUTCMonth() + 1, 1));
    const step = Math.max(1, Math.ceil((years * 12 + b.getUTCMonth() - a.getUTCMonth()) / 8));
    for (; d.getTime() <= x1; d.setUTCMonth(d.getUTCMonth() + step)) {
      out.push([d.getTime(), d.toISOString().slice(0, 7)]);
    }
  }
  return out;
}

/**
 * A horizontal SVG bar chart. `bars`: [{ label, value, tip }] in the order to draw; each bar
 * carries its value in `data-value` and a `<title>`. Bars start at zero, so negative values
 * extend to the left of it.
 */
export function barChart({ title, unit, bars }) {
  const row = 22, left = 200, right = 70, top = 8;
  const W = 640, H = top * 2 + row * Math.max(bars.length, 1);
  const lo = Math.min(0, ...bars.map((b) => b.value));
  const hi = Math.max(0, ...bars.map((b) => b.value));
  const pw = W - left - right;
  const X = (v) => left + ((v - lo) / (hi - lo || 1)) * pw;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, class: "chart bars" });
  root.append(svg("title", {}, title));
  bars.forEach((b, i) => {
    const y = top + i * row;
    const [x0, x1] = [X(Math.min(0, b.value)), X(Math.max(0, b.value))];
    // Long labels are cut to fit; the whole label is in the bar's title and in the table.
    const label = b.label.length > 27 ? `${b.label.slice(0, 26)}…` : b.label;
    root.append(svg("text", { x: left - 8, y: y + row * 0.68, "text-anchor": "end" }, label));
    const rect = svg("rect", { x: x0.toFixed(2), y: y + 3, width: (x1 - x0).toFixed(2), height: row - 6,
      class: "bar", "data-label": b.label, "data-value": b.value, tabindex: 0 });
    rect.append(svg("title", {}, b.tip ?? `${b.label}: ${formatNumber(b.value)} ${unit ?? ""}`.trim()));
    root.append(rect);
    root.append(svg("text", { x: x1 + 6, y: y + row * 0.68 }, formatNumber(b.value)));
  });
  if (lo < 0) root.append(svg("line", { x1: X(0), x2: X(0), y1: top, y2: H - top, class: "zero" }));
  return root;
}

// ---------------------------------------------------------------- money

const NANOS = 1_000_000_000n;

/** A `leverage.v1.Money`'s amount in nano-units, exactly (units are a bigint). */
export const moneyNanos = (m) => BigInt(m.units) * NANOS + BigInt(m.nanos);

/** An exact amount in nano-units as a decimal string: "43734100805", "1.75", "-0.5". */
export function decimalOfNanos(n) {
  const sign = n < 0n ? "-" : "";
  const a = n < 0n ? -n : n;
  const fraction = (a % NANOS).toString().padStart(9, "0").replace(/0+$/, "");
  return `${sign}${a / NANOS}${fraction ? `.${fraction}` : ""}`;
}

/** A `leverage.v1.Money`'s amount as a number of currency units (undefined: 0). */
export const moneyValue = (m) => (m ? Number(decimalOfNanos(moneyNanos(m))) : 0);

/**
 * An amount for people: 4 significant digits, in billions ("bn") or millions ("mn") when that
 * large, where formatNumber would switch to an exponent.
 */
export function amountWords(v) {
  const a = Math.abs(v);
  const [scaled, suffix] = a >= 1e9 ? [v / 1e9, " bn"] : a >= 1e6 ? [v / 1e6, " mn"] : [v, ""];
  return `${Number(scaled.toPrecision(4)).toLocaleString("en-GB", { maximumFractionDigits: 4 })}${suffix}`;
}

/**
 * An amount as a number element: in words for people, its exact value in `data-value` (`exact`,
 * a decimal string, when the amount came as Money) and the whole figure in its title.
 */
export function amountNum(v, currency = "", exact = v) {
  const whole = `${Number(exact).toLocaleString("en-GB", { maximumFractionDigits: 9 })}`;
  return el("span", { class: "num", "data-value": exact, title: `${currency} ${whole}`.trim() }, amountWords(v));
}

/**
 * "EUR 43.73 bn": a `leverage.v1.Money` as its currency and an amountNum. The element carries
 * the currency (`data-currency`) and the exact decimal (`data-value`) too. `nanos` overrides the
 * amount (a sum computed exactly); `className` replaces the class `money`.
 */
export function money(m, { nanos = moneyNanos(m), className = "money" } = {}) {
  const exact = decimalOfNanos(nanos);
  return el("span", { class: className, "data-currency": m.currencyCode, "data-value": exact },
    `${m.currencyCode} `, amountNum(Number(exact), m.currencyCode, exact));
}
