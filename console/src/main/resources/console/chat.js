// The chat view: one or two models (base, base + adapter folder, a job's latest result) answer the
// same prompt, token by token, streamed from POST /api/generate. Sent as chat messages, each pane
// holds a conversation: its model gets every earlier turn (the user's and its own answers), not
// only the last message.

import * as api from "./api.js";
import { element, renderSchema } from "./forms.js";

const $ = id => document.getElementById(id);
const SIDES = ["a", "b"];
let readSettings = () => ({});
let running = null;
/** Each pane's conversation so far: {role, content} turns, the model's answers as it gave them. */
const conversations = { a: [], b: [] };

/**
 * Shows a pane's conversation above its answer box: the earlier turns and the message being
 * answered; the last answer itself is in the answer box, once, not in the list as well.
 */
function renderConversation(side, asking = null) {
  const turns = $(`turns-${side}`);
  const label = side === "a" ? "Model A" : "Model B";
  const shown = asking ? [...conversations[side], asking] : conversations[side].slice(0, -1);
  turns.replaceChildren(...shown.map(turn => element("li", { class: "turn turn-" + turn.role },
    element("strong", { text: turn.role === "user" ? "You: " : label + ": " }), turn.content)));
  turns.hidden = shown.length === 0;
}

/** Starts over: no earlier turns in either pane. */
function newConversation() {
  for (const side of SIDES) {
    conversations[side] = [];
    renderConversation(side);
  }
}

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

/** Streams one pane's answer; resolves with the finished result, or null when it failed or was stopped. */
async function generate(side, request, signal) {
  const out = $("answer-" + side);
  out.textContent = "";
  out.dataset.tokens = "0";
  out.dataset.done = "false";
  $(`answer-${side}-stats`).textContent = "";
  $(`answer-${side}-model`).textContent = "";
  let result = null;
  try {
    await api.stream("/api/generate", { ...request, model: model(side) }, (type, data) => {
      if (type === "token") {
        out.append(data.text);
        out.dataset.tokens = String(data.index + 1);
      } else if (type === "done") {
        // The whole text: a character split across tokens that never completed was held back while streaming.
        out.textContent = data.text;
        $(`answer-${side}-model`).textContent = data.model;
        $(`answer-${side}-stats`).textContent = `${data.generatedTokens} tokens after a prompt of ${data.promptTokens}, `
          + `${data.tokensPerSecond.toFixed(1)} tokens/s, stopped: ${data.stop}`;
        result = data;
      } else if (type === "error") {
        $(`answer-${side}-stats`).textContent = "error: " + data.error;
      }
    }, signal);
  } catch (e) {
    if (e.name !== "AbortError") $(`answer-${side}-stats`).textContent = "error: " + e.message;
  }
  out.dataset.done = String(result !== null);
  if (result === null) out.dataset.failed = "true";
  else delete out.dataset.failed;
  return result;
}

/** One pane's answer to the message: in chat mode after its conversation so far, which then grows by both. */
async function answer(side, text, chat, settings, signal) {
  if (!chat) return generate(side, { settings, prompt: text }, signal);
  const turn = { role: "user", content: text };
  renderConversation(side, turn);
  const result = await generate(side, { settings, messages: [...conversations[side], turn] }, signal);
  if (result && result.stop !== "stopped") {
    conversations[side].push(turn, { role: "assistant", content: result.text });
    renderConversation(side);
  }
  return result;
}

async function send(event) {
  event.preventDefault();
  if (!$("chat-form").reportValidity()) return;
  const text = $("chat-prompt").value;
  const chat = $("chat-mode").value === "chat";
  const settings = readSettings();
  const compare = $("chat-compare").checked;
  running = new AbortController();
  $("chat-send").disabled = true;
  $("chat-stop").disabled = false;
  try {
    const results = await Promise.all([answer("a", text, chat, settings, running.signal),
      compare ? answer("b", text, chat, settings, running.signal) : null]);
    // The message is in the conversation now: the box is free for the next one.
    if (chat && results[0]) $("chat-prompt").value = "";
  } finally {
    running = null;
    $("chat-send").disabled = false;
    $("chat-stop").disabled = true;
  }
}

/** The prompt box's label and the conversations follow the mode: a conversation only in chat mode. */
function modeChanged() {
  const chat = $("chat-mode").value === "chat";
  $("chat-prompt-label").textContent = chat ? "Message" : "Prompt";
  $("chat-new").hidden = !chat;
  newConversation();
}

export async function init() {
  for (const side of SIDES) {
    pane(side);
    // Another model has not said what this pane's conversation holds: start it over.
    $("pane-" + side).addEventListener("change", () => { conversations[side] = []; renderConversation(side); });
  }
  $("chat-compare").addEventListener("change", () => {
    $("pane-b").disabled = !$("chat-compare").checked;
    $("answer-b-card").hidden = !$("chat-compare").checked;
    conversations.b = [];
    renderConversation("b");
  });
  $("chat-mode").addEventListener("change", modeChanged);
  $("chat-new").addEventListener("click", newConversation);
  modeChanged();
  $("chat-form").addEventListener("submit", send);
  $("chat-stop").addEventListener("click", () => running && running.abort());
  document.addEventListener("gradus:jobs", e => jobsChanged(e.detail));
  readSettings = renderSchema($("generation-settings"), await api.get("/api/generate/schema"), "generation", () => {});
}
