// The chat view: one or two models (base, base + adapter folder, a job's latest result) answer the
// same prompt, token by token, streamed from POST /api/generate.

import * as api from "./api.js";
import { element, renderSchema } from "./forms.js";

const $ = id => document.getElementById(id);
let readSettings = () => ({});
let running = null;

/** The model chooser of one pane ("a" or "b"). */
function pane(side) {
  const fieldset = $("pane-" + side);
  const kind = element("select", { id: `model-${side}-kind` },
    element("option", { value: "base", text: "base model" }),
    element("option", { value: "adapter", text: "base model + saved adapter folder" }),
    element("option", { value: "job", text: "a job's latest result" }));
  const base = element("input", { id: `model-${side}-base`, placeholder: "the built-in model" });
  const adapter = element("input", { id: `model-${side}-adapter`, placeholder: "…/out/my-run/adapter" });
  const job = element("select", { id: `model-${side}-job` });
  const grid = element("div", { class: "grid" },
    element("label", { for: kind.id, text: "Model" }), kind,
    element("label", { for: base.id, text: "Base model folder", class: "when-base" }), base,
    element("label", { for: adapter.id, text: "Adapter folder", class: "when-adapter" }), adapter,
    element("label", { for: job.id, text: "Job", class: "when-job" }), job);
  fieldset.append(grid);
  const sync = () => {
    const k = kind.value;
    for (const [input, shown] of [[base, k !== "job"], [adapter, k === "adapter"], [job, k === "job"]]) {
      input.hidden = !shown;
      grid.querySelector(`label[for="${input.id}"]`).hidden = !shown;
    }
  };
  kind.addEventListener("change", sync);
  sync();
}

function model(side) {
  const kind = $(`model-${side}-kind`).value;
  if (kind === "job") return { job: $(`model-${side}-job`).value };
  const source = {};
  if ($(`model-${side}-base`).value.trim()) source.base = $(`model-${side}-base`).value.trim();
  if (kind === "adapter") source.adapter = $(`model-${side}-adapter`).value.trim();
  return source;
}

/** Keeps the job lists of both panes in step with the job service (newest first). */
function jobsChanged(list) {
  for (const side of ["a", "b"]) {
    const select = $(`model-${side}-job`);
    const chosen = select.value;
    select.replaceChildren(...list.slice().reverse().map(j => element("option", { value: j.id,
      text: `${j.id} ${j.name} (${j.state.toLowerCase()}${j.state.toUpperCase() === "RUNNING" ? ", latest checkpoint" : ""})` })));
    if ([...select.options].some(o => o.value === chosen)) select.value = chosen;
  }
}

async function generate(side, request, signal) {
  const out = $("answer-" + side);
  out.textContent = "";
  out.dataset.tokens = "0";
  out.dataset.done = "false";
  $(`answer-${side}-stats`).textContent = "";
  $(`answer-${side}-model`).textContent = "";
  try {
    await api.stream("/api/generate", { ...request, model: model(side) }, (type, data) => {
      if (type === "token") {
        out.append(data.text);
        out.dataset.tokens = String(data.index + 1);
      } else if (type === "done") {
        $(`answer-${side}-model`).textContent = data.model;
        $(`answer-${side}-stats`).textContent = `${data.generatedTokens} tokens after a prompt of ${data.promptTokens}, `
          + `${data.tokensPerSecond.toFixed(1)} tokens/s, stopped: ${data.stop}`;
        out.dataset.done = "true";
      } else if (type === "error") {
        $(`answer-${side}-stats`).textContent = "error: " + data.error;
      }
    }, signal);
  } catch (e) {
    if (e.name !== "AbortError") $(`answer-${side}-stats`).textContent = "error: " + e.message;
  }
}

async function send(event) {
  event.preventDefault();
  if (!$("chat-form").reportValidity()) return;
  const text = $("chat-prompt").value;
  const request = { settings: readSettings() };
  if ($("chat-mode").value === "chat") request.messages = [{ role: "user", content: text }];
  else request.prompt = text;
  const compare = $("chat-compare").checked;
  running = new AbortController();
  $("chat-send").disabled = true;
  $("chat-stop").disabled = false;
  try {
    await Promise.all([generate("a", request, running.signal), compare ? generate("b", request, running.signal) : null]);
  } finally {
    running = null;
    $("chat-send").disabled = false;
    $("chat-stop").disabled = true;
  }
}

export async function init() {
  pane("a");
  pane("b");
  $("chat-compare").addEventListener("change", () => {
    $("pane-b").disabled = !$("chat-compare").checked;
    $("answer-b-card").hidden = !$("chat-compare").checked;
  });
  $("chat-form").addEventListener("submit", send);
  $("chat-stop").addEventListener("click", () => running && running.abort());
  document.addEventListener("gradus:jobs", e => jobsChanged(e.detail));
  readSettings = renderSchema($("generation-settings"), await api.get("/api/generate/schema"), "generation", () => {});
}
