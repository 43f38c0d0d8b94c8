// Wires the page: the views, the console token, and the host's event stream (with a banner while it
// is down; everything is read again when it comes back).

import * as api from "./api.js";
import * as jobs from "./jobs.js";
import * as charts from "./charts.js";
import * as chat from "./chat.js";
import * as bundles from "./bundles.js";
import { say } from "./messages.js";

const $ = id => document.getElementById(id);

function showView(name) {
  for (const view of ["jobs", "chat", "bundles"]) {
    $("view-" + view).hidden = view !== name;
    $("tab-" + view).setAttribute("aria-pressed", String(view === name));
  }
  location.hash = name;
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

let refreshing = null;
function refreshSoon(what) {
  if (refreshing) return;
  refreshing = setTimeout(async () => {
    refreshing = null;
    try { await what(); } catch (e) { say(e.message, false); }
  }, 150);
}

async function refreshAll() {
  await Promise.all([bundles.refresh(), bundles.refreshProblems(), jobs.refreshTechniques(), jobs.refreshJobs()]);
}

function events() {
  const source = new EventSource("/api/events");
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
}

async function main() {
  for (const view of ["jobs", "chat", "bundles"]) $("tab-" + view).addEventListener("click", () => showView(view));
  showView(["jobs", "chat", "bundles"].includes(location.hash.slice(1)) ? location.hash.slice(1) : "jobs");
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
