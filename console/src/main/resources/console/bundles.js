// The bundles view: techniques first (by family, with their bundles and the jobs using them), the
// host's infrastructure collapsed below, every change confirmed by name, details on demand, and the
// host's current problems.

import * as api from "./api.js";
import { element, labelCells } from "./forms.js";
import { say } from "./messages.js";

const $ = id => document.getElementById(id);

function name(b) {
  return `${b.symbolicName} ${b.version} [${b.id}]`;
}

/** Asks before a change, naming the bundle; resolves true when confirmed. */
function confirm(title, text, verb) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = verb;
  return new Promise(resolve => {
    const done = answer => {
      dialog.close();
      $("confirm-yes").onclick = $("confirm-no").onclick = null;
      resolve(answer);
    };
    $("confirm-yes").onclick = () => done(true);
    $("confirm-no").onclick = () => done(false);
    dialog.oncancel = () => done(false);
    dialog.showModal();
    $("confirm-no").focus();
  });
}

function chosenJar() {
  const jar = $("jar").files[0];
  if (!jar) throw new Error("choose a bundle jar first (Bundle jar, above)");
  return jar;
}

/**
 * A button named after its action and bundle ("Stop io.gradus.plugin.lora"); with a warning (text, or a
 * function giving it when pressed) the action waits for a confirmation naming the bundle.
 */
function button(label, b, action, warning) {
  const btn = element("button", { type: "button", class: "action-" + label.toLowerCase(), "aria-label": `${label} ${b.symbolicName}`,
    text: label });
  btn.addEventListener("click", async () => {
    try {
      const text = typeof warning === "function" ? warning() : warning;
      if (text && !(await confirm(`${label} ${b.symbolicName}?`, text, `${label} ${b.symbolicName}`))) return;
      await action();
      say(`${label} ${b.symbolicName}: done`, true);
    } catch (e) {
      say(`${label} ${b.symbolicName}: ${e.message}`, false);
    }
    refresh();
  });
  return btn;
}

function actions(b) {
  const span = element("span", { class: "actions" });
  const uses = b.usedBy.length ? ` It is used by ${b.usedBy.join(", ")}.` : "";
  const host = b.guarded ? " It is one of the host's own bundles: the host refuses unless forced." : "";
  if (b.state !== "ACTIVE" && b.id !== 0) span.append(button("Start", b, () => api.change("POST", `/api/bundles/${b.id}/start`)));
  else if (b.id !== 0) {
    span.append(button("Stop", b, () => api.change("POST", `/api/bundles/${b.id}/stop`),
      `Stop ${name(b)}? Its services and techniques go away until it is started again.${uses}${host}`));
  }
  if (!b.guarded) {
    span.append(button("Update", b, () => api.change("POST", `/api/bundles/${b.id}/update`, chosenJar()),
      () => `Update ${name(b)} with the chosen jar (${$("jar").files[0]?.name || "none chosen"})?${uses}`));
    span.append(button("Remove", b, () => api.change("DELETE", `/api/bundles/${b.id}`),
      `Remove ${name(b)}? Its jar is deleted from the deploy folder.${uses}`));
  }
  const details = element("button", { type: "button", class: "action-details", "aria-label": `Details of ${b.symbolicName}`, text: "Details" });
  details.addEventListener("click", () => showDetails(b.id));
  span.append(details);
  return span;
}

function status(b) {
  const cell = element("td", {}, element("span", { class: "state " + b.state, text: b.state }));
  for (const [cls, text] of [["problem", b.problem], ["pending", b.pending], ["used-by", b.usedBy.length ? "used by " + b.usedBy.join(", ") : null]]) {
    if (text) cell.append(element("div", { class: cls, text }));
  }
  return cell;
}

function techniqueRows(bundles) {
  const container = $("techniques");
  const families = new Map();
  for (const b of bundles.filter(b => b.techniques.length)) {
    for (const t of b.techniques) {
      if (!families.has(t.family)) families.set(t.family, []);
      families.get(t.family).push([t, b]);
    }
  }
  // Bundles from the deploy folder that register no technique right now (stopped, broken) still belong here.
  const idle = bundles.filter(b => !b.techniques.length && !b.guarded && b.id !== 0);
  const sections = [];
  for (const [family, entries] of [...families.entries()].sort()) {
    const table = element("table", { "aria-label": family + "s" },
      element("thead", {}, element("tr", {}, ...["Technique", "Version", "Bundle", "State", "Actions"].map(h => element("th", { scope: "col", text: h })))),
      element("tbody", {}, ...entries.sort((a, b) => a[0].name.localeCompare(b[0].name)).map(([t, b]) =>
        element("tr", { id: `bundle-${b.id}-${t.family}-${t.name}`, class: "bundle-row", "data-bundle": b.id },
          element("td", {}, element("span", { class: "technique", title: t.description, text: t.name })),
          element("td", { class: "version", text: t.version }),
          element("td", { class: "symbolic-name", text: `${b.symbolicName} [${b.id}]` }),
          status(b),
          element("td", {}, actions(b))))));
    sections.push(element("h4", { text: family === "tuner" ? "Tuners" : family === "objective" ? "Objectives" : family }),
      element("div", { class: "scroll" }, table));
  }
  if (idle.length) {
    sections.push(element("h4", { text: "Bundles without techniques right now" }), element("div", { class: "scroll" },
      element("table", { "aria-label": "Bundles without techniques" },
        element("thead", {}, element("tr", {}, ...["Bundle", "Version", "State", "Actions"].map(h => element("th", { scope: "col", text: h })))),
        element("tbody", {}, ...idle.map(infraRow)))));
  }
  container.replaceChildren(...sections);
  container.querySelectorAll("table").forEach(labelCells);
}

function infraRow(b) {
  return element("tr", { id: "bundle-" + b.id, class: "bundle-row", "data-bundle": b.id },
    element("td", { class: "symbolic-name", text: `${b.symbolicName} [${b.id}]` }),
    element("td", { class: "version", text: b.version }),
    status(b),
    element("td", {}, actions(b)));
}

export async function refresh() {
  const bundles = await api.get("/api/bundles");
  techniqueRows(bundles);
  const infra = bundles.filter(b => b.guarded || b.id === 0);
  $("infra-bundles").tBodies[0].replaceChildren(...infra.map(infraRow));
  labelCells($("infra-bundles"));
  $("infrastructure").querySelector("summary").textContent = `Infrastructure bundles (${infra.length})`;
}

export async function refreshProblems() {
  const problems = await api.get("/api/problems");
  $("problems").replaceChildren(...(problems.length ? problems.map(p => element("li", { class: "problem" },
    element("time", { datetime: p.time, text: p.time.substring(11, 19) }), ` ${p.source}: ${p.message}`))
    : [element("li", { class: "ok", text: "No problems." })]));
}

function table(caption, headers, rows) {
  return element("div", { class: "scroll" }, element("table", {},
    element("caption", { text: caption }),
    element("thead", {}, element("tr", {}, ...headers.map(h => element("th", { scope: "col", text: h })))),
    element("tbody", {}, ...(rows.length ? rows : [[ "none" ]]).map(r => element("tr", {}, ...r.map(c => element("td", { text: c })))))));
}

async function showDetails(id) {
  try {
    const d = await api.get(`/api/bundles/${id}/details`);
    $("details-title").textContent = name(d.bundle);
    $("details-body").replaceChildren(
      table("Components (Declarative Services)", ["Component", "State", "Services", "Unsatisfied references"], d.components.map(c =>
        [c.name, c.state, c.services.join(", "), c.configurations.flatMap(x => x.unsatisfiedReferences).join(", ")])),
      table("Services registered", ["Id", "Interfaces", "Used by"], d.services.map(s => [String(s.id), s.interfaces.join(", "), s.usedBy.join(", ")])),
      table("Imported packages", ["Package", "Version", "From"], d.imports.map(p => [p.name + (p.optional ? " (optional)" : ""), p.version, p.bundles.join(", ") || "nothing"])),
      table("Exported packages", ["Package", "Version", "Used by"], d.exports.map(p => [p.name, p.version, p.bundles.join(", ")])),
      table("Manifest headers", ["Header", "Value"], Object.entries(d.headers)));
    $("details-body").querySelectorAll("table").forEach(labelCells);
    $("details").showModal();
  } catch (e) {
    say("details: " + e.message, false);
  }
}

export function init() {
  $("install").addEventListener("click", async () => {
    try {
      const b = await api.change("POST", "/api/bundles", chosenJar());
      say(`installed ${name(b)}`, true);
    } catch (e) {
      say("install: " + e.message, false);
    }
    refresh();
  });
  $("details-close").addEventListener("click", () => $("details").close());
  return Promise.all([refresh(), refreshProblems()]);
}
