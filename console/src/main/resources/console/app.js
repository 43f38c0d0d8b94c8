// Wires the page: the views, the console token, and the host's event stream (with a banner while it
// is down; everything is read again when it comes back).

import * as api from "./api.js";
import * as jobs from "./jobs.js";
import * as charts from "./charts.js";
import * as chat from "./chat.js";
import * as bundles from "./bundles.js";
import { say } from "./messages.js";

const $ = id => document.getElementById(id);

const VIEWS = ["jobs", "chat", "bundles"];

/** The view a URL's fragment names (#jobs, #chat, #bundles), else the jobs view. */
function viewOf(hash) {
  const name = hash.slice(1);
  return VIEWS.includes(name) ? name : "jobs";
}

/**
 * Shows one view, from its top. The fragment names the view, not an element: no element has a
 * view's name as its id, so the browser never scrolls to one (the job table once was #jobs, and
 * opening #jobs jumped past the form).
 */
function showView(name) {
  for (const view of VIEWS) {
    $("view-" + view).hidden = view !== name;
    $("tab-" + view).setAttribute("aria-pressed", String(view === name));
  }
  window.scrollTo(0, 0);
}

/** A tab press: the view, and a history entry so Back returns to the view before. */
function chooseView(name) {
  if (location.hash !== "#" + name) history.pushState(null, "", "#" + name);
  showView(name);
}

async function checkToken() {
  api.setToken($("token").value);
  const status = $("token-status");
  try {
    await api.change("POST", "/api/console/token");
    status.textContent = "Token accepted.";
    status.className = "ok";
  } catch (e) {
    status.textContent = e.status === 401 ? "This token is not the console's: " + e.message : "Could not check the token: " + e.message;
    status.className = "error";
  }
}

async function consoleInfo() {
  const info = await api.get("/api/console");
  if (info.tokenFile) $("token-file").textContent = info.tokenFile;
  if (!info.loopback) {
    const banner = $("banner-exposed");
    banner.textContent = `This console listens on ${info.host}:${info.port}, not on this machine only: anyone who can reach `
      + "it can read bundles, jobs and problems. Start it with --host 127.0.0.1 unless you mean it.";
    banner.hidden = false;
  }
}

/** Refreshes due after a short pause: one pass for a burst of events, none of them lost. */
const due = new Set();
function refreshSoon(what) {
  const scheduled = due.size > 0;
  due.add(what);
  if (scheduled) return;
  api.counted(async () => {
    await new Promise(resolve => setTimeout(resolve, 150));
    const now = [...due];
    due.clear();
    try { await Promise.all(now.map(refresh => refresh())); } catch (e) { say(e.message, false); }
  });
}

async function refreshAll() {
  await Promise.all([bundles.refresh(), bundles.refreshProblems(), jobs.refreshTechniques(), jobs.refreshJobs()]);
}

/**
 * Follows the host's event stream while the page is shown. A page the browser keeps for Back (its
 * back/forward cache) closes the stream when it is hidden: kept open, it would hold one of the
 * browser's six connections to the console, and pages opened later would wait for a free one.
 * Shown again, it reconnects and reads everything again, since it missed the events meanwhile.
 */
function events() {
  let source = null;
  const connect = () => {
    source = new EventSource("/api/events");
    let wasDown = false;
    source.onopen = () => {
      $("banner-disconnected").hidden = true;
      if (wasDown) Promise.all([refreshAll(), charts.reload()]);
      wasDown = false;
    };
    source.onerror = () => {
      $("banner-disconnected").hidden = false;
      wasDown = true;
    };
    const on = (type, handler) => source.addEventListener(type, e => handler(JSON.parse(e.data)));
    on("bundle.changed", () => refreshSoon(bundles.refresh));
    on("technique.changed", () => refreshSoon(() => Promise.all([bundles.refresh(), jobs.refreshTechniques()])));
    on("problem", () => bundles.refreshProblems());
    on("job.state", jobs.stateChanged);
    on("job.progress", jobs.progress);
    on("job.eval", charts.evaluated);
    // Events missed while this page could not keep up: what it shows may be stale.
    on("dropped", () => refreshSoon(() => Promise.all([refreshAll(), charts.reload()])));
  };
  connect();
  window.addEventListener("pagehide", () => source.close());
  window.addEventListener("pageshow", event => {
    if (!event.persisted) return;
    connect();
    Promise.all([refreshAll(), charts.reload()]).catch(e => say(e.message, false));
  });
}

async function main() {
  for (const view of VIEWS) $("tab-" + view).addEventListener("click", () => chooseView(view));
  // Back and Forward, and a link to #chat typed or followed while the page is open.
  window.addEventListener("popstate", () => showView(viewOf(location.hash)));
  window.addEventListener("hashchange", () => showView(viewOf(location.hash)));
  showView(viewOf(location.hash));
  $("token").value = api.token();
  $("token").addEventListener("change", () => api.setToken($("token").value));
  $("token-check").addEventListener("click", checkToken);
  events();
  try {
    await Promise.all([consoleInfo(), bundles.init(), jobs.init(), chat.init()]);
  } catch (e) {
    say("loading the console: " + e.message, false);
  }
  document.body.dataset.ready = "true";
}

main();
