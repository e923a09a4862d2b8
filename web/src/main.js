// The page's shell: one view per service, picked by `?view=` in the URL, each keeping its own
// state in the query string too, so that a URL shared restores what it showed. The views load
// what they show through the generated client (@leverage/client); the shell owns the client's
// settings (token, compression) and the navigation.
//
// Each view module exports { id, title, mount(root, app), show(params, app) }: `mount` builds its
// fixed markup once; `show` loads and draws the state `params` (URLSearchParams) describes and
// resolves when done, after which the view's root carries `data-ready="true"` (tests wait on it).

import { createLeverage } from "@leverage/client";
import { $, el, showError } from "./ui.js";
import scoring from "./views/scoring.js";
import assets from "./views/assets.js";
import legal from "./views/legal.js";
import funding from "./views/funding.js";

const VIEWS = [scoring, assets, legal, funding];
const byId = new Map(VIEWS.map((v) => [v.id, v]));
const mounted = new Set();

const settings = { token: "", compression: "none" };
/** Each view's last query string, so that coming back to a view finds it as it was left. */
const lastQuery = new Map();
let client = null;

const app = {
  /** The API, as the settings say (a new client when they change). */
  api() {
    client ??= createLeverage("", { token: settings.token, compression: settings.compression });
    return client;
  },
  /** The current query string. */
  params: () => new URLSearchParams(location.search),
  /**
   * Writes a view's state into the URL (replacing the entry: editing a form is not navigation).
   * `values`: name -> string; an empty or null value removes the name. With `replace`, `values`
   * is the whole state: names it does not give are removed.
   */
  setParams(view, values, { replace = false } = {}) {
    const q = new URLSearchParams(view === current() && !replace ? location.search : "");
    q.set("view", view);
    for (const [k, v] of Object.entries(values)) {
      if (v === null || v === undefined || v === "") q.delete(k);
      else q.set(k, String(v));
    }
    history.replaceState(null, "", `?${q}`);
    lastQuery.set(view, `?${q}`);
    document.querySelector(`nav a[data-view="${view}"]`)?.setAttribute("href", `?${q}`);
  },
  /** Shows an error in the page's alert (null clears it). */
  error: (e) => showError($("error"), e),
};
window.leverage ??= {};
window.leverage.app = app;

function current() {
  const id = new URLSearchParams(location.search).get("view");
  return byId.has(id) ? id : "scoring";
}

async function show() {
  const id = current();
  const view = byId.get(id);
  for (const v of VIEWS) {
    const root = $(`view-${v.id}`);
    root.hidden = v.id !== id;
    const link = document.querySelector(`nav a[data-view="${v.id}"]`);
    if (v.id === id) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `Leverage: ${view.title}`;
  const root = $(`view-${id}`);
  root.dataset.ready = "false";
  app.error(null);
  try {
    if (!mounted.has(id)) {
      mounted.add(id);
      view.mount(root, app);
    }
    await view.show(app.params(), app);
  } catch (e) {
    app.error(e);
  } finally {
    root.dataset.ready = "true";
  }
}

function navigate(event) {
  const a = event.target.closest("a[data-view]");
  if (!a || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  if (a.dataset.view === current() && location.search) return;
  history.pushState(null, "", lastQuery.get(a.dataset.view) ?? `?view=${a.dataset.view}`);
  show().then(() => $(`view-${a.dataset.view}`).querySelector("h2")?.focus());
}

function settingsChanged() {
  settings.token = $("token").value.trim();
  settings.compression = $("compression").value;
  client = null;
}

const nav = $("views");
for (const v of VIEWS) {
  nav.append(el("a", { href: `?view=${v.id}`, "data-view": v.id, text: v.title }));
}
nav.addEventListener("click", navigate);
$("token").addEventListener("change", settingsChanged);
$("compression").addEventListener("change", settingsChanged);
window.addEventListener("popstate", show);
show();
