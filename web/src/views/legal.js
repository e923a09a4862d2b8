// The Legal risk view: a jurisdiction × action heat map of AssessLegalRisk as of a date and for a
// model, the drivers of a picked cell with their sources (and, for legal-risk/2, its three
// channels), and the positions timeline of a jurisdiction (ListPositions).
//
// URL state: `as_of` (YYYY-MM-DD, empty = the server's today), `model` (empty = the latest),
// `jurisdiction` + `action` (the picked cell), `timeline` (the timeline's jurisdiction).

import { AssetAction, DriverKind, LegalChannel, RiskLevel } from "@leverage/client";
import { amountNum, dateOf, dateText, el, money, moneyValue, num, table } from "../ui.js";
import { drawTimeline, jurisdictionName, listPositions, sourceList } from "./legal-timeline.js";

/** Every action AssessLegalRisk accepts, in the enum's order, with its name in the URL. */
const ACTIONS = [
  [AssetAction.IMMOBILISATION, "immobilisation", "Immobilisation"],
  [AssetAction.WINDFALL_PROFITS, "windfall_profits", "Windfall profits"],
  [AssetAction.PROFITS_BACKED_LOAN, "profits_backed_loan", "Profits-backed loan"],
  [AssetAction.REPARATIONS_LOAN, "reparations_loan", "Reparations loan"],
  [AssetAction.CONFISCATION, "confiscation", "Confiscation"],
  [AssetAction.PACKAGE_2026, "package_2026", "2026 package"],
].map(([value, slug, label]) => ({ value, slug, label }));
const actionBySlug = new Map(ACTIONS.map((a) => [a.slug, a]));

const MODELS = [
  ["", "Latest (the server's default)"],
  ["legal-risk/1", "legal-risk/1"],
  ["legal-risk/2", "legal-risk/2"],
];

const LEVEL = {
  [RiskLevel.LOW]: ["low", "Low"],
  [RiskLevel.MODERATE]: ["moderate", "Moderate"],
  [RiskLevel.HIGH]: ["high", "High"],
  [RiskLevel.SEVERE]: ["severe", "Severe"],
};
const levelWord = (l) => LEVEL[l]?.[1] ?? "—";
const levelClass = (l) => `risk-${LEVEL[l]?.[0] ?? "none"}`;

const CHANNEL = {
  [LegalChannel.ANNULMENT]: "annulment",
  [LegalChannel.DAMAGES]: "damages",
  [LegalChannel.RETALIATION]: "retaliation",
};
const channelWord = (c) => CHANNEL[c] ?? "—";

const DRIVER_KIND = {
  [DriverKind.DOCTRINE]: "Doctrine",
  [DriverKind.POSITION]: "Position",
  [DriverKind.COEFFICIENT]: "Coefficient",
  [DriverKind.CLAIM]: "Claim",
};

/** Money, or a dash where the answer gives none. */
const moneyOrDash = (m) => (m ? money(m) : "—");

/** An amount that came as a number (a claim driver's value), with its currency. */
const amount = (v, currency) => el("span", { class: "money" }, currency ? `${currency} ` : "", amountNum(v, currency));

/** A risk with its band in words: the number is the API's, the word says the band. */
function riskText(risk, level) {
  return el("span", { class: "risk" }, num(risk), " ", el("span", { class: "level", text: levelWord(level) }));
}

export default {
  id: "legal",
  title: "Legal risk",

  mount(root, app) {
    this.root = root;
    this.answers = new Map(); // action value -> AssessLegalRiskResponse of the heat map drawn
    // The timeline's choices: the heat map's rows and every jurisdiction a position speaks for.
    this.heatCodes = [];
    this.positionCodes = [];
    this.timelineCode = "";
    this.heatRun = 0; // the latest heat-map load; an older one that ends late draws nothing
    this.timelineRun = 0;

    this.asOf = el("input", { id: "legal-as-of", type: "date", "aria-describedby": "legal-as-of-help" });
    this.model = el("select", { id: "legal-model", "aria-describedby": "legal-model-help" },
      ...MODELS.map(([value, label]) => el("option", { value, text: label })));
    this.status = el("p", { id: "legal-status", class: "help", role: "status", "aria-live": "polite" });
    this.grid = el("div", { id: "legal-grid", class: "legal-grid" });
    this.method = el("p", { id: "legal-method" });
    this.drivers = el("div", { id: "legal-drivers", "aria-live": "polite" });
    this.timelineJurisdiction = el("select", { id: "legal-timeline-jurisdiction" },
      el("option", { value: "", text: "(none)" }));
    this.timeline = el("div", { id: "legal-timeline" });

    root.append(
      el("h2", { tabindex: -1, text: "Legal risk" }),
      el("form", { id: "legal-form", class: "inline", novalidate: true },
        el("label", { for: "legal-as-of", text: "As of" }), this.asOf,
        el("label", { for: "legal-model", text: "Model" }), this.model),
      el("p", { class: "help" },
        el("span", { id: "legal-as-of-help", text: "Empty date: today. Only positions dated on or before it count; assets at stake are those observed by then. " }),
        el("span", { id: "legal-model-help", text: "legal-risk/1 is kept for reproducibility; legal-risk/2 scores annulment, damages and retaliation apart and binds on the largest." })),
      this.status,
      el("section", { id: "legal-heat", "aria-labelledby": "legal-heat-title" },
        el("h3", { id: "legal-heat-title", text: "Risk by jurisdiction and action" }),
        el("p", { class: "help", text: "Each cell is the jurisdiction's risk for the action, from 0 (no legal obstacle) to 1 (the action would almost surely fail or be held unlawful), with its band: low below 0.25, moderate below 0.5, high below 0.75, severe above. Press a cell for its drivers." }),
        this.grid,
        el("details", {}, el("summary", { text: "How the model computes" }), this.method)),
      el("section", { id: "legal-cell", "aria-labelledby": "legal-cell-title" },
        el("h3", { id: "legal-cell-title", text: "What drives a cell" }),
        this.drivers),
      el("section", { id: "legal-positions", "aria-labelledby": "legal-positions-title" },
        el("h3", { id: "legal-positions-title", text: "Positions timeline" }),
        el("form", { class: "inline", novalidate: true },
          el("label", { for: "legal-timeline-jurisdiction", text: "Jurisdiction" }), this.timelineJurisdiction),
        el("p", { class: "help", text: "The dated positions of governments and institutions speaking for the jurisdiction, up to the date above, newest first." }),
        this.timeline),
    );

    const reload = () => {
      app.setParams(this.id, { as_of: this.asOf.value, model: this.model.value });
      this.update(app, () => this.show(app.params(), app));
    };
    this.asOf.addEventListener("change", reload);
    this.model.addEventListener("change", reload);
    this.timelineJurisdiction.addEventListener("change", () => {
      const code = this.timelineJurisdiction.value;
      app.setParams(this.id, { timeline: code });
      this.update(app, () => this.loadTimeline(app, code, this.asOf.value));
    });
    this.grid.addEventListener("click", (event) => {
      const cell = event.target.closest("button[data-action]");
      if (!cell) return;
      const { jurisdiction, action } = cell.dataset;
      app.setParams(this.id, { jurisdiction, action, timeline: jurisdiction });
      this.update(app, async () => {
        this.pick(jurisdiction, action);
        await this.loadTimeline(app, jurisdiction, this.asOf.value);
      });
    });
  },

  /** Runs a change the view makes by itself as the shell runs show(): ready flag, errors. */
  async update(app, task) {
    this.root.dataset.ready = "false";
    app.error(null);
    try {
      await task();
    } catch (e) {
      app.error(e);
    } finally {
      this.root.dataset.ready = "true";
    }
  },

  async show(params, app) {
    const asOf = params.get("as_of") ?? "";
    const model = params.get("model") ?? "";
    this.asOf.value = asOf;
    // A model the select does not list (a shared URL from a newer page, or a typo) is sent as
    // it is, so that the server's answer (or its refusal, naming `model`) is what is shown.
    if (![...this.model.options].some((o) => o.value === model)) {
      this.model.append(el("option", { value: model, text: model }));
    }
    this.model.value = model;
    const timeline = params.get("timeline") ?? "";
    const results = await Promise.allSettled([
      this.loadHeatMap(app, asOf, model, params.get("jurisdiction") ?? "", params.get("action") ?? ""),
      this.loadTimeline(app, timeline, asOf),
    ]);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  },

  /** One AssessLegalRisk per action, drawn as a table; then the picked cell, if any. */
  async loadHeatMap(app, asOf, model, jurisdiction, action) {
    const run = ++this.heatRun;
    this.grid.setAttribute("aria-busy", "true");
    this.status.textContent = "Loading the heat map…";
    try {
      const date = dateOf(asOf);
      const answers = await Promise.all(ACTIONS.map((a) =>
        app.api().legal.assessLegalRisk({ action: a.value, asOf: date, model })));
      if (run !== this.heatRun) return;
      this.answers = new Map(answers.map((r, i) => [ACTIONS[i].value, r]));
      this.drawHeatMap(answers);
      this.heatCodes = answers[0].jurisdictions.map((j) => j.jurisdiction);
      this.fillTimelineOptions();
      const rows = answers[0].jurisdictions.length;
      this.status.textContent = `${rows} jurisdictions × ${ACTIONS.length} actions as of ${dateText(answers[0].asOf)}, ${answers[0].modelVersion}.`;
      if (jurisdiction && action) this.pick(jurisdiction, action);
      else this.drivers.replaceChildren(el("p", { class: "help", text: "Press a cell of the heat map to see what drives it." }));
    } catch (e) {
      if (run === this.heatRun) {
        this.answers = new Map();
        this.grid.replaceChildren();
        this.drivers.replaceChildren();
        this.status.textContent = "The heat map could not be loaded.";
      }
      throw e;
    } finally {
      if (run === this.heatRun) this.grid.setAttribute("aria-busy", "false");
    }
  },

  drawHeatMap(answers) {
    const first = answers[0];
    const channelled = answers.some((r) => r.channels.length > 0);
    const codes = [...new Set(answers.flatMap((r) => r.jurisdictions.map((j) => j.jurisdiction)))];
    const cellOf = new Map(answers.map((r, i) =>
      [ACTIONS[i].value, new Map(r.jurisdictions.map((j) => [j.jurisdiction, j]))]));
    const atStake = new Map(first.jurisdictions.map((j) => [j.jurisdiction, j.assetsAtStake]));

    const head = el("tr", {}, el("th", { scope: "col", text: "Jurisdiction" }),
      el("th", { scope: "col", text: "Assets at stake" }),
      ...ACTIONS.map((a) => el("th", { scope: "col", text: a.label })));
    const body = codes.map((code) => el("tr", { "data-jurisdiction": code },
      el("th", { scope: "row" }, el("abbr", { title: jurisdictionName(code), text: code }),
        el("span", { class: "name", text: ` ${jurisdictionName(code)}` })),
      el("td", { class: "stake" }, atStake.has(code) ? money(atStake.get(code)) : "—"),
      ...ACTIONS.map((a) => {
        const j = cellOf.get(a.value).get(code);
        if (!j) return el("td", { text: "—" });
        const label = `${code} × ${a.label}: risk ${j.risk} (${levelWord(j.level)})${
          channelled ? `, ${channelWord(j.bindingChannel)} binds` : ""}`;
        return el("td", { class: `cell ${levelClass(j.level)}` },
          el("button", { type: "button", "data-jurisdiction": code, "data-action": a.slug,
            "aria-pressed": "false", title: label },
          riskText(j.risk, j.level),
          channelled ? el("span", { class: "binding", "data-channel": channelWord(j.bindingChannel),
            text: channelWord(j.bindingChannel) }) : null));
      })));
    const overall = el("tr", { class: "overall" },
      el("th", { scope: "row", text: "Overall (asset-weighted)" }),
      el("td", { class: "stake" }, moneyOrDash(first.totalAtStake)),
      ...answers.map((r, i) => el("td", { class: `cell ${levelClass(r.overallLevel)}`, "data-action": ACTIONS[i].slug },
        riskText(r.overallRisk, r.overallLevel))));
    // legal-risk/2: each channel over the jurisdictions, the same weighted mean as the overall.
    const channels = channelled ? [LegalChannel.ANNULMENT, LegalChannel.DAMAGES, LegalChannel.RETALIATION]
      .map((c) => el("tr", { class: "overall-channel", "data-channel": channelWord(c) },
        el("th", { scope: "row", text: `Overall ${channelWord(c)}` }),
        el("td"),
        ...answers.map((r, i) => {
          const ch = r.channels.find((x) => x.channel === c);
          return el("td", { class: ch ? `cell ${levelClass(ch.level)}` : "", "data-action": ACTIONS[i].slug },
            ch ? riskText(ch.risk, ch.level) : "—");
        }))) : [];

    const date = dateText(first.asOf);
    this.grid.replaceChildren(el("table", { class: "heat-map" },
      el("caption", { text: `Legal risk by jurisdiction (rows) and action (columns) as of ${date}, ${first.modelVersion}${
        channelled ? "; under each risk, the channel that binds" : ""}. Assets at stake in ${first.totalAtStake?.currencyCode || "EUR"}.` }),
      el("thead", {}, head),
      el("tbody", {}, ...body),
      el("tfoot", {}, overall, ...channels)));
    this.method.replaceChildren(el("strong", { text: `${first.modelVersion}: ` }), first.method);
    if (first.combination) this.method.append(el("br"), first.combination);
  },

  /** Marks the cell (jurisdiction, action slug) pressed and shows its drivers. */
  pick(code, slug) {
    for (const b of this.grid.querySelectorAll("button[aria-pressed]")) {
      b.setAttribute("aria-pressed", String(b.dataset.jurisdiction === code && b.dataset.action === slug));
    }
    const action = actionBySlug.get(slug);
    const answer = action && this.answers.get(action.value);
    const j = answer?.jurisdictions.find((x) => x.jurisdiction === code);
    if (!j) {
      this.drivers.replaceChildren(el("p", { class: "help",
        text: `The heat map has no cell for ${code} × ${action?.label ?? slug}: ${action ? "the jurisdiction held no located central-bank assets at that date" : "no such action"}.` }));
      return;
    }
    this.drivers.replaceChildren(...drawCell(j, action, answer));
    this.status.textContent = `Drivers of ${code} × ${action.label} shown below.`;
  },

  /**
   * The timeline's select: the heat map's rows and every jurisdiction a position speaks for
   * (each load fills in its part, in whichever order they end), the timeline's own picked.
   */
  fillTimelineOptions() {
    const code = this.timelineCode;
    const codes = new Set([...this.heatCodes, ...this.positionCodes]);
    if (code) codes.add(code);
    this.timelineJurisdiction.replaceChildren(el("option", { value: "", text: "(none)" }),
      ...[...codes].sort().map((c) => el("option", { value: c, text: `${c} ${jurisdictionName(c)}` })));
    this.timelineJurisdiction.value = code;
  },

  /** ListPositions of `code` up to `asOf`, drawn; and of every jurisdiction, for the select. */
  async loadTimeline(app, code, asOf) {
    const run = ++this.timelineRun;
    this.timelineCode = code;
    this.timeline.setAttribute("aria-busy", "true");
    this.timeline.replaceChildren(el("p", { class: "help", text: code ? `Loading the positions of ${code}…` : "Pick a jurisdiction, or a cell of the heat map." }));
    try {
      const date = dateOf(asOf);
      const [all, own] = await Promise.all([
        listPositions(app.api(), { asOf: date }),
        code ? listPositions(app.api(), { jurisdiction: code, asOf: date }) : null,
      ]);
      if (run !== this.timelineRun) return;
      this.positionCodes = all.flatMap((p) => p.jurisdictions);
      this.fillTimelineOptions();
      if (own) this.timeline.replaceChildren(...drawTimeline(code, own, asOf));
    } catch (e) {
      if (run === this.timelineRun) this.timeline.replaceChildren();
      throw e;
    } finally {
      if (run === this.timelineRun) this.timeline.setAttribute("aria-busy", "false");
    }
  },
};

/** The panel of a picked cell: its risk, its drivers, and for legal-risk/2 its channels. */
function drawCell(j, action, answer) {
  const code = j.jurisdiction;
  const out = [
    el("h4", { id: "legal-cell-heading", "data-jurisdiction": code, "data-action": action.slug,
      text: `${code} ${jurisdictionName(code)} × ${action.label}, as of ${dateText(answer.asOf)} (${answer.modelVersion})` }),
    el("p", { class: "cell-summary" }, "Risk ", riskText(j.risk, j.level),
      j.channels.length ? ` — the ${channelWord(j.bindingChannel)} channel binds` : "",
      "; assets at stake ", moneyOrDash(j.assetsAtStake), "."),
    driverTables(j.drivers, `Drivers of ${code} × ${action.label}`, "legal-drivers-main"),
  ];
  if (j.channels.length) {
    out.push(el("h4", { text: "Channels" }),
      table(`The three channels of legal-risk/2 in ${code}; the risk is the largest`,
        ["Channel", "Risk", "Claimed", "Awarded", "Enforceable in"],
        j.channels.map((c) => [
          el("span", { text: channelWord(c.channel) + (c.channel === j.bindingChannel ? " (binds)" : "") }),
          riskText(c.risk, c.level),
          c.claimed && moneyValue(c.claimed) ? money(c.claimed) : "—",
          c.awarded && moneyValue(c.awarded) ? money(c.awarded) : "—",
          c.enforceableIn.join(", ") || "—",
        ]), { class: "legal-channels" }),
      el("p", { class: "combination", id: "legal-combination", text: answer.combination }));
    for (const c of j.channels) {
      if (c.channel === j.bindingChannel) continue;
      out.push(el("details", { class: "channel-drivers", "data-channel": channelWord(c.channel) },
        el("summary", {}, `Drivers of ${channelWord(c.channel)} (risk `, num(c.risk), ")"),
        driverTables(c.drivers, `Drivers of ${channelWord(c.channel)} in ${code} × ${action.label}`)));
    }
  }
  return out;
}

/**
 * The drivers of a risk as two tables: what explains it (doctrines, positions, claims: their
 * contributions add up to 1) and the coefficients used (legal-risk/2: parameters with a value,
 * contribution 0), each in the API's order.
 */
function driverTables(drivers, caption, id) {
  const shares = drivers.filter((d) => d.kind !== DriverKind.COEFFICIENT);
  const coefficients = drivers.filter((d) => d.kind === DriverKind.COEFFICIENT);
  // legal-risk/1 gives no values; legal-risk/2 gives them for positions and claims.
  const withValues = shares.some((d) => d.kind !== DriverKind.DOCTRINE && d.value !== 0);
  const name = (d) => el("th", { scope: "row" }, el("code", { text: d.refId }), " ", d.title);
  const why = (d) => el("td", { class: "explanation" }, d.explanation, claimDetails(d));
  const sources = (d) => el("td", { class: "sources" }, sourceList(d.sources));
  const make = (cap, cls, headers, rows) => el("table", { class: `drivers ${cls}` },
    el("caption", { text: cap }),
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows));
  return el("div", { class: "driver-tables", id },
    make(`${caption}: their shares of the risk add up to 1`, "shares",
      ["Kind", "Driver", "Share of the risk", ...(withValues ? ["Weight or amount"] : []), "Date", "Why", "Sources"],
      shares.map((d) => el("tr", { "data-ref": d.refId, "data-kind": DRIVER_KIND[d.kind] ?? "" },
        el("td", { text: DRIVER_KIND[d.kind] ?? "—" }), name(d),
        el("td", { class: "contribution" }, num(d.contribution)),
        withValues ? el("td", { class: "value" }, driverValue(d)) : null,
        el("td", { class: "date", text: dateText(d.date) || "—" }), why(d), sources(d)))),
    coefficients.length ? make("Coefficients used: the project's judgments, each a figure of the dataset (share 0: a parameter, not a cause)",
      "coefficients", ["Coefficient", "Value", "Why", "Sources"],
      coefficients.map((d) => el("tr", { "data-ref": d.refId, "data-kind": DRIVER_KIND[d.kind] },
        name(d), el("td", { class: "value" }, num(d.value)), why(d), sources(d)))) : null);
}

/** A position's weight (authority × recency) or a claim's amount; a doctrine has none. */
function driverValue(d) {
  if (d.kind === DriverKind.CLAIM) return amount(d.value, d.amount?.currencyCode ?? "");
  if (d.kind === DriverKind.POSITION) return num(d.value);
  return "—";
}

function claimDetails(d) {
  if (d.kind !== DriverKind.CLAIM) return null;
  return el("p", { class: "help" }, `Forum: ${d.forum || "—"}; enforceable in: ${d.enforceableIn.join(", ") || "—"}.`);
}
