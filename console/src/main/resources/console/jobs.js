// The jobs view: a job built from the techniques installed now, previewed as a job file and a
// command, submitted to the host's queue; the queue and history with live progress.

import * as api from "./api.js";
import { element, labelCells, renderSchema } from "./forms.js";
import { shellWord, toYaml } from "./yaml.js";
import { say, announce } from "./messages.js";
import * as charts from "./charts.js";

const $ = id => document.getElementById(id);
let readTuner = () => ({});
let readObjective = () => ({});
let readHyper = () => ({});
let techniques = [];
let jobs = new Map();

function formSpec() {
  const tuner = techniqueRef("job-tuner", readTuner());
  const objective = techniqueRef("job-objective", readObjective());
  const spec = { name: $("job-name").value.trim() || "job" };
  if ($("job-model").value.trim()) spec.model = $("job-model").value.trim();
  spec.tuner = tuner;
  spec.objective = objective;
  spec.data = { train: $("job-train").value.trim() };
  if ($("job-eval").value.trim()) spec.data.eval = $("job-eval").value.trim();
  const hyper = readHyper();
  if (Object.keys(hyper).length) spec.hyper = hyper;
  spec.output = $("job-output").value.trim();
  if ($("job-seed").value !== "" && Number($("job-seed").value) !== 42) spec.seed = Number($("job-seed").value);
  return spec;
}

/** Compares two OSGi versions (major.minor.micro, numerically). */
function compareVersions(a, b) {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
  return 0;
}

/**
 * {name, version, config} from a technique select. The version is the chosen version's major range
 * (the job then takes updates within it) when the chosen version is the highest installed in that
 * range, so the job runs what was chosen; otherwise exactly the chosen version, [v,v].
 */
function techniqueRef(selectId, config) {
  const option = $(selectId).selectedOptions[0];
  if (!option) return { name: "" };
  const { name, version, family } = option.dataset;
  const ref = { name };
  const major = Number(version.split(".")[0]);
  const newer = techniques.some(t => t.family === family && t.name === name && Number(t.version.split(".")[0]) === major
    && compareVersions(t.version, version) > 0);
  ref.version = newer ? `[${version},${version}]` : `[${major}.0,${major + 1}.0)`;
  if (Object.keys(config).length) ref.config = config;
  return ref;
}

function updatePreview() {
  const spec = formSpec();
  const file = (spec.name || "job").replace(/[^A-Za-z0-9_.-]/g, "-") + ".yaml";
  $("job-yaml").textContent = toYaml(spec);
  const words = ["./gradus", "train", file];
  if ($("job-overwrite").checked) words.push("--overwrite");
  const base = $("job-base").value.trim();
  $("job-command").textContent = (base ? `cd ${shellWord(base)} && ` : "") + words.map(shellWord).join(" ")
    + `\n# with the job file above saved as ${file}`;
}

/** The settings form of the chosen technique: the schema of exactly the chosen version, named in the legend. */
async function loadSchema(family, selectId, fieldsetId) {
  const option = $(selectId).selectedOptions[0];
  if (!option) return () => ({});
  const schema = await api.get(`/api/techniques/${family}/${encodeURIComponent(option.dataset.name)}/schema?version=${encodeURIComponent(option.dataset.version)}`);
  const fieldset = $(fieldsetId);
  fieldset.querySelector("legend").textContent = `${family === "tuner" ? "Tuner" : "Objective"} settings (${schema.title.replace(/^\S+ /, "")})`;
  return renderSchema(fieldset, schema, family, updatePreview);
}

/** Fills the tuner and objective lists from the techniques installed now, keeping the choices. */
export async function refreshTechniques() {
  techniques = await api.get("/api/techniques");
  for (const [family, selectId, fieldsetId, setter] of [
    ["tuner", "job-tuner", "tuner-settings", r => (readTuner = r)],
    ["objective", "job-objective", "objective-settings", r => (readObjective = r)]]) {
    const select = $(selectId);
    const previous = select.value;
    select.replaceChildren(...techniques.filter(t => t.family === family).map(t => element("option", {
      value: `${t.name}@${t.version}`, "data-name": t.name, "data-version": t.version, "data-family": t.family,
      text: `${t.name} ${t.version} (${t.bundleSymbolicName})` })));
    if ([...select.options].some(o => o.value === previous)) select.value = previous;
    if (select.value !== previous || !select.dataset.loaded) {
      select.dataset.loaded = "1";
      setter(await loadSchema(family, selectId, fieldsetId));
    }
  }
  updatePreview();
}

async function submit(event) {
  event.preventDefault();
  const form = $("job-form");
  if (!form.reportValidity()) return;
  const params = new URLSearchParams();
  if ($("job-base").value.trim()) params.set("base", $("job-base").value.trim());
  if ($("job-overwrite").checked) params.set("overwrite", "true");
  try {
    const job = await api.change("POST", "/api/jobs?" + params, $("job-yaml").textContent);
    say(`job ${job.id} (${job.name}) queued`, true);
    await refreshJobs();
    charts.show(job.id);
    $("curves-job").value = job.id;
  } catch (e) {
    say("submit: " + e.message, false);
  }
}

function formatEta(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
    : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

function actionButton(label, job, action) {
  const b = element("button", { type: "button", class: "action-" + label.toLowerCase(),
    "aria-label": `${label} job ${job.id} (${job.name})`, text: label });
  b.addEventListener("click", async () => {
    try { await action(); say(`${label} job ${job.id}: done`, true); } catch (e) { say(`${label} job ${job.id}: ${e.message}`, false); }
    refreshJobs();
  });
  return b;
}

function row(job) {
  // The job service's JSON names states in lowercase; its events and this page in capitals.
  const state = job.state.toUpperCase();
  const tr = element("tr", { id: "job-" + job.id });
  tr.append(element("td", {}, element("strong", { text: `${job.id} ${job.name}` }), element("br"),
    element("small", { class: "hint", text: job.output })));
  tr.append(element("td", { class: "state state-" + state, text: state }, element("br"),
    element("small", { class: "hint job-message", text: job.message || "" })));
  const progress = element("progress", { max: job.totalSteps || 1, value: job.step, "aria-label": `progress of job ${job.id}` });
  tr.append(element("td", {}, progress, " ", element("span", { class: "steps", text: `${job.step} / ${job.totalSteps}` })));
  tr.append(element("td", { class: "loss", text: job.loss === null || job.loss === undefined ? "" : job.loss.toFixed(4) }));
  tr.append(element("td", { class: "eta", text: state === "RUNNING" ? formatEta(job.etaSeconds) : "" }));
  tr.append(element("td", { class: "techniques" }, ...job.techniques.map(t => element("span", { class: "technique",
    text: `${t.name} ${t.version}`, title: `${t.bundleSymbolicName} [${t.bundleId}]` }))));
  const actions = element("td", { class: "actions" });
  if (state === "QUEUED" || state === "RUNNING") actions.append(actionButton("Cancel", job, () => api.change("POST", `/api/jobs/${job.id}/cancel`)));
  if (["CANCELLED", "INTERRUPTED", "FAILED"].includes(state)) actions.append(actionButton("Resume", job, () => api.change("POST", `/api/jobs/${job.id}/resume`)));
  const curves = element("button", { type: "button", class: "action-curves", "aria-label": `Curves of job ${job.id} (${job.name})`, text: "Curves" });
  curves.addEventListener("click", () => { $("curves-job").value = job.id; charts.show(job.id); });
  actions.append(curves);
  tr.append(actions);
  return tr;
}

export async function refreshJobs() {
  const list = await api.get("/api/jobs");
  jobs = new Map(list.map(j => [j.id, j]));
  $("job-table").tBodies[0].replaceChildren(...list.slice().reverse().map(row));
  labelCells($("job-table"));
  const select = $("curves-job");
  const chosen = select.value;
  select.replaceChildren(...list.slice().reverse().map(j => element("option", { value: j.id, text: `${j.id} ${j.name} (${j.state.toLowerCase()})` })));
  document.dispatchEvent(new CustomEvent("gradus:jobs", { detail: list }));
  if (chosen && jobs.has(chosen)) select.value = chosen;
  else if (list.length) {
    const latest = list.filter(j => j.state.toUpperCase() === "RUNNING").pop() || list[list.length - 1];
    select.value = latest.id;
    charts.show(latest.id);
  }
}

/** Live step of a job: its row and its curves, without asking the server again. */
export function progress(event) {
  const tr = $("job-" + event.jobId);
  if (tr) {
    tr.querySelector("progress").value = event.step;
    tr.querySelector(".steps").textContent = `${event.step} / ${event.totalSteps}`;
    tr.querySelector(".loss").textContent = event.loss.toFixed(4);
    tr.querySelector(".eta").textContent = formatEta(event.etaSeconds);
  }
  charts.progress(event);
}

export function stateChanged(event) {
  announce(`Job ${event.jobId} ${String(event.state).toLowerCase()}`);
  refreshJobs();
}

export function knownJobs() {
  return [...jobs.values()];
}

export async function init() {
  for (const id of ["job-name", "job-model", "job-train", "job-eval", "job-output", "job-base", "job-seed", "job-overwrite"]) {
    $(id).addEventListener("input", updatePreview);
    $(id).addEventListener("change", updatePreview);
  }
  $("job-tuner").addEventListener("change", async () => { readTuner = await loadSchema("tuner", "job-tuner", "tuner-settings"); updatePreview(); });
  $("job-objective").addEventListener("change", async () => { readObjective = await loadSchema("objective", "job-objective", "objective-settings"); updatePreview(); });
  $("curves-job").addEventListener("change", () => charts.show($("curves-job").value));
  $("job-form").addEventListener("submit", submit);
  readHyper = renderSchema($("hyper-settings"), await api.get("/api/jobs/schema"), "hyper", updatePreview);
  await refreshTechniques();
  await refreshJobs();
}
