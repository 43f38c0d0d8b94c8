// Live curves of one job (Chart.js): every numeric figure of its metrics.jsonl and eval.jsonl,
// restored from GET /api/jobs/{id}/metrics and extended by job.progress and job.eval events.

import * as api from "./api.js";
import { element } from "./forms.js";

const $ = id => document.getElementById(id);
/** The charts shown first, with their titles; any other numeric metric gets a chart of its own. */
const KNOWN = { loss: "Loss", learningRate: "Learning rate", gradNorm: "Gradient norm", tokensPerSecond: "Tokens per second" };
/** Fields of a metrics line that are bookkeeping, not curves. */
const SKIP = new Set(["step", "totalSteps", "tokens", "etaSeconds", "steered", "targets", "time", "jobId", "metrics"]);
const COLORS = ["#1f5fbf", "#b3261e", "#2e7d32", "#8e24aa", "#ef6c00", "#00838f"];

let current = null;
let lastStep = 0;
let lastEval = 0;
/** The job whose history is being fetched, and the events that came meanwhile. */
let loading = null;
const charts = new Map();

function chart(key) {
  if (charts.has(key)) return charts.get(key);
  const title = KNOWN[key] || key;
  const canvas = element("canvas", { role: "img", "aria-label": `${title} per step of job ${current}` });
  const figure = element("figure", { class: "chart", id: "chart-" + key.replace(/[^A-Za-z0-9_-]/g, "_"), "data-points": "0" },
    element("figcaption", { text: title }), element("div", { class: "chart-box" }, canvas));
  $("charts").append(figure);
  const datasets = [{ label: key === "loss" ? "training" : title, data: [], borderColor: COLORS[0], pointRadius: 0, borderWidth: 1.5 }];
  if (key === "loss") datasets.push({ label: "held-out", data: [], borderColor: COLORS[1], pointRadius: 3, showLine: true, borderWidth: 1.5 });
  const instance = new Chart(canvas, {
    type: "line",
    data: { datasets },
    options: {
      animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
      scales: { x: { type: "linear", title: { display: true, text: "step" } } },
      plugins: { legend: { display: key === "loss" } },
    },
  });
  const entry = { instance, figure };
  charts.set(key, entry);
  return entry;
}

function add(key, step, value, dataset = 0) {
  if (typeof value !== "number" || !isFinite(value)) return;
  const { instance, figure } = chart(key);
  instance.data.datasets[dataset].data.push({ x: step, y: value });
  if (dataset === 0) {
    const data = instance.data.datasets[0].data;
    figure.dataset.points = String(data.length);
    figure.dataset.firstStep = String(data[0].x);
  }
}

function addStep(line) {
  for (const [key, value] of Object.entries(line)) {
    if (!SKIP.has(key)) add(key, line.step, value);
  }
  for (const [key, value] of Object.entries(line.metrics || {})) add(key, line.step, value);
  lastStep = Math.max(lastStep, line.step);
}

function redraw() {
  for (const { instance } of charts.values()) instance.update("none");
}

/** Draws at most four times a second however fast steps come: a fast job must not swamp the page. */
let redrawTimer = null;
function redrawSoon() {
  if (redrawTimer) return;
  redrawTimer = setTimeout(() => { redrawTimer = null; redraw(); }, 250);
}

/** Shows the curves of job {@code id}, restored from what it recorded so far. */
export async function show(id) {
  if (!id) return;
  // Events that come while the history loads are kept, then applied past its last step.
  const load = (loading = { id, steps: [], evals: [] });
  const history = await api.get(`/api/jobs/${encodeURIComponent(id)}/metrics`);
  if (loading !== load) return;
  loading = null;
  for (const { instance } of charts.values()) instance.destroy();
  charts.clear();
  $("charts").replaceChildren();
  current = id;
  lastStep = 0;
  lastEval = 0;
  $("charts").dataset.job = id;
  chart("loss");
  for (const line of history.metrics) if (!("steered" in line)) addStep(line);
  for (const line of history.evals) addEval(line);
  load.steps.filter(e => e.step > lastStep).forEach(addStep);
  load.evals.filter(e => e.step > lastEval).forEach(addEval);
  redraw();
}

function addEval(line) {
  add("loss", line.step, line.loss, 1);
  lastEval = Math.max(lastEval, line.step);
}

export function progress(event) {
  if (loading && loading.id === event.jobId) loading.steps.push(event);
  if (event.jobId !== current || event.step <= lastStep) return;
  addStep(event);
  redrawSoon();
}

export function evaluated(event) {
  if (loading && loading.id === event.jobId) loading.evals.push(event);
  if (event.jobId !== current || event.step <= lastEval) return;
  addEval(event);
  redrawSoon();
}

/** Reads the shown job's history again (after events were dropped for this page). */
export function reload() {
  return show(current);
}
