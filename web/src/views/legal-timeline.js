// The Legal risk view's positions timeline (one lane per actor, one mark per dated position, its
// shape and colour the stance) and its table, and the helpers the view's two parts share:
// jurisdiction names and source lists.

import { ActorKind, AssetAction, Confidence, Stance } from "@leverage/client";
import { dateOf, dateText, el, svg, table } from "../ui.js";

const STANCE = {
  [Stance.SUPPORTS]: "supports",
  [Stance.CONDITIONAL]: "conditional",
  [Stance.OPPOSES]: "opposes",
  [Stance.UNRESOLVED]: "unresolved",
};
const stanceWord = (s) => STANCE[s] ?? "—";

const ACTOR_KIND = {
  [ActorKind.GOVERNMENT]: "government",
  [ActorKind.PARLIAMENT]: "parliament",
  [ActorKind.COURT]: "court",
  [ActorKind.CENTRAL_BANK]: "central bank",
  [ActorKind.EU_INSTITUTION]: "EU institution",
  [ActorKind.COMPANY]: "company",
  [ActorKind.INTERGOVERNMENTAL]: "intergovernmental",
};

const ACTION_WORD = {
  [AssetAction.IMMOBILISATION]: "immobilisation",
  [AssetAction.WINDFALL_PROFITS]: "windfall profits",
  [AssetAction.PROFITS_BACKED_LOAN]: "profits-backed loan",
  [AssetAction.REPARATIONS_LOAN]: "reparations loan",
  [AssetAction.CONFISCATION]: "confiscation",
  [AssetAction.PACKAGE_2026]: "2026 package",
};

const CONFIDENCE = {
  [Confidence.LOW]: "low",
  [Confidence.MEDIUM]: "medium",
  [Confidence.HIGH]: "high",
};

const regions = new Intl.DisplayNames(["en"], { type: "region" });

/** "Belgium" for "BE", "European Union" for "EU"; the code itself when the platform has no name. */
export function jurisdictionName(code) {
  try {
    return regions.of(code) ?? code;
  } catch {
    return code;
  }
}

/** Sources as a list: publisher, title linked to its URL, published and accessed dates. */
export function sourceList(sources) {
  const list = sources.filter((s) => s && (s.publisher || s.title || s.url));
  if (!list.length) return "—";
  return el("ul", { class: "sources" }, ...list.map((s) => {
    const dates = [s.published?.year ? `published ${dateText(s.published)}` : "",
      s.retrieved?.year ? `accessed ${dateText(s.retrieved)}` : ""].filter(Boolean).join(", ");
    return el("li", {}, s.publisher ? `${s.publisher}${s.url || s.title ? ": " : ""}` : "",
      s.url ? el("a", { href: s.url, rel: "noopener noreferrer", title: s.url, text: s.title || hostOf(s.url) }) : s.title,
      dates ? ` (${dates})` : "");
  }));
}

/** A link's words when its source has no title: the site, not a URL that wraps over lines. */
function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Every position ListPositions gives for `request`, over all its pages. */
export async function listPositions(api, request) {
  const out = [];
  let pageToken = "";
  do {
    const page = await api.legal.listPositions({ ...request, pageSize: 1000, pageToken });
    out.push(...page.positions);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

const DAY = 86_400_000;
const epoch = (d) => Date.UTC(d.year, d.month - 1, d.day);

/** Tick marks for a span of days: years when it covers two or more, else months. */
function timeTicks(x0, x1) {
  const a = new Date(x0), b = new Date(x1);
  const out = [];
  if (b.getUTCFullYear() - a.getUTCFullYear() >= 2) {
    for (let y = a.getUTCFullYear() + 1; y <= b.getUTCFullYear(); y++) out.push([Date.UTC(y, 0, 1), String(y)]);
    return out;
  }
  const months = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth();
  const every = Math.max(1, Math.ceil(months / 8));
  for (let d = new Date(Date.UTC(a.getUTCFullYear(), a.getUTCMonth() + 1, 1)); d.getTime() <= x1;
    d.setUTCMonth(d.getUTCMonth() + every)) {
    out.push([d.getTime(), d.toISOString().slice(0, 7)]);
  }
  return out;
}

/** A stance's mark: its shape tells the stance apart without its colour. */
function mark(stance, x, y) {
  const r = 6;
  switch (stance) {
    case Stance.SUPPORTS:
      return svg("circle", { cx: x, cy: y, r });
    case Stance.OPPOSES:
      return svg("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r });
    case Stance.CONDITIONAL:
      return svg("polygon", { points: `${x},${y - r - 1} ${x + r + 1},${y} ${x},${y + r + 1} ${x - r - 1},${y}` });
    default:
      return svg("polygon", { points: `${x},${y - r - 1} ${x + r + 1},${y + r} ${x - r - 1},${y + r}` });
  }
}

const actorOf = (p) => p.actorId || p.actor.trim().toLowerCase();
const short = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** What a mark says when hovered or focused: date, actor, stance, actions, source. */
function tip(p) {
  const actions = p.actions.map((a) => ACTION_WORD[a] ?? "—").join(", ");
  const source = p.source ? `; source: ${p.source.publisher}${p.source.url ? ` ${p.source.url}` : ""}` : "";
  return `${dateText(p.date)}${p.dateLabel ? ` (${p.dateLabel})` : ""}: ${p.actor} ${stanceWord(p.stance)} ${actions}${source}`;
}

/**
 * The positions of `code` (ListPositions' answer, newest first) as a timeline and a table.
 * `asOf` ("" for today) is drawn as a line when set.
 */
export function drawTimeline(code, positions, asOf) {
  const cutoff = asOf ? ` up to ${asOf}` : "";
  if (!positions.length) {
    return [el("p", { class: "help", id: "legal-timeline-empty", text: `No position speaks for ${code}${cutoff}.` })];
  }
  // One lane per actor, the lane of the most recent statement first (as the table reads).
  const lanes = [];
  const laneOf = new Map();
  for (const p of positions) {
    const key = actorOf(p);
    if (!laneOf.has(key)) {
      laneOf.set(key, lanes.length);
      lanes.push(p.actor);
    }
  }
  const W = 900, left = 260, right = 24, top = 12, lane = 26, bottom = 40;
  const H = top + lane * lanes.length + bottom;
  const pw = W - left - right;
  const days = positions.map((p) => epoch(p.date));
  const cut = dateOf(asOf);
  if (cut) days.push(epoch(cut));
  let x0 = Math.min(...days), x1 = Math.max(...days);
  const pad = Math.max(20 * DAY, (x1 - x0) * 0.04);
  x0 -= pad;
  x1 += pad;
  const X = (t) => left + ((t - x0) / (x1 - x0)) * pw;
  const Y = (i) => top + lane * i + lane / 2;

  const title = `Positions of ${code} (${jurisdictionName(code)})${cutoff}: ${positions.length} dated statements by ${lanes.length} actors; the table below lists them`;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, class: "chart timeline" });
  root.append(svg("title", {}, title));
  const grid = svg("g", { class: "grid" });
  for (const [t, text] of timeTicks(x0, x1)) {
    grid.append(svg("line", { x1: X(t), x2: X(t), y1: top, y2: top + lane * lanes.length }));
    grid.append(svg("text", { x: X(t), y: H - bottom + 18, "text-anchor": "middle" }, text));
  }
  lanes.forEach((actor, i) => {
    grid.append(svg("line", { class: "lane", x1: left, x2: left + pw, y1: Y(i), y2: Y(i) }));
    const label = svg("text", { x: left - 10, y: Y(i) + 4, "text-anchor": "end", class: "actor" }, short(actor, 36));
    label.append(svg("title", {}, actor));
    grid.append(label);
  });
  root.append(grid);
  if (cut) {
    const x = X(epoch(cut));
    root.append(svg("line", { class: "as-of", x1: x, x2: x, y1: top - 4, y2: top + lane * lanes.length }));
    root.append(svg("text", { class: "axis-label", x: x - 4, y: H - 6, "text-anchor": "end" }, `as of ${asOf}`));
  }
  // Oldest first, so that the newest mark of a lane is drawn on top where two touch.
  for (const p of [...positions].reverse()) {
    const m = mark(p.stance, X(epoch(p.date)), Y(laneOf.get(actorOf(p))));
    const g = svg("g", { class: `mark stance-${stanceWord(p.stance)}`, tabindex: 0,
      "data-position": p.id, "data-date": dateText(p.date), "data-stance": stanceWord(p.stance) });
    g.append(m, svg("title", {}, tip(p)));
    root.append(g);
  }

  const legend = el("ul", { class: "legend", "aria-label": "Stances" },
    ...[Stance.SUPPORTS, Stance.CONDITIONAL, Stance.OPPOSES, Stance.UNRESOLVED].map((s) => {
      const icon = svg("svg", { viewBox: "0 0 16 16", width: 16, height: 16, "aria-hidden": "true",
        class: `stance-${stanceWord(s)}` });
      icon.append(mark(s, 8, 8));
      return el("li", {}, icon, ` ${stanceWord(s)}`);
    }));

  const rows = positions.map((p) => {
    const tr = [
      el("span", {}, dateText(p.date), p.dateLabel ? el("span", { class: "help", text: ` (as published: ${p.dateLabel})` }) : null),
      p.actor,
      ACTOR_KIND[p.actorKind] ?? "unclassified",
      p.actions.map((a) => ACTION_WORD[a] ?? "—").join(", "),
      el("span", { class: `stance stance-${stanceWord(p.stance)}`, text: stanceWord(p.stance) }),
      p.summary,
      p.doctrineIds.length ? p.doctrineIds.map((d) => el("code", { text: d })).flatMap((c, i) => (i ? [", ", c] : [c])) : "—",
      `${CONFIDENCE[p.confidence] ?? "—"}, ${p.verified ? "verified in the source" : "not verified"}`,
      sourceList([p.source]),
    ];
    return tr.map((c) => (Array.isArray(c) ? el("td", {}, ...c) : c));
  });
  const list = table(`Positions speaking for ${code}${cutoff}, newest first (${positions.length})`,
    ["Date", "Actor", "Actor kind", "Actions", "Stance", "Statement", "Doctrines", "Confidence", "Source"],
    rows, { class: "positions" });
  list.querySelectorAll("tbody tr").forEach((tr, i) => tr.setAttribute("data-position", positions[i].id));
  return [el("figure", { class: "timeline" }, root, legend), el("div", { class: "positions-scroll" }, list)];
}
