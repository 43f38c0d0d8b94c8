// Settings forms generated from the JSON Schemas the console serves for configuration records
// (GET /api/techniques/{family}/{name}/schema, /api/jobs/schema, /api/generate/schema).

let counter = 0;

function element(tag, attributes = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...children);
  return e;
}
export { element };

function sameValue(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** One control for one property; returns {row, read()} where read() gives the value or undefined (default). */
function control(name, property, prefix, onChange) {
  const id = `${prefix}-${name}-${++counter}`;
  const help = property.description ? element("small", { id: id + "-help", class: "hint", text: property.description }) : null;
  const labelText = name + (property["x-gradus-live"] ? " (can change while the job runs)" : "");
  const type = property.type;
  const fallback = property.default;
  let input;
  let read;
  if (type === "object" && property.properties) {
    const nested = element("fieldset", { class: "nested" }, element("legend", { text: name }));
    const inner = renderFields(nested, property, `${prefix}-${name}`, onChange);
    return { row: [nested], read: () => { const v = inner(); return Object.keys(v).length ? v : undefined; }, id };
  }
  if (type === "boolean") {
    input = element("input", { id, type: "checkbox", "aria-describedby": help && help.id });
    input.checked = fallback === true;
    read = () => (input.checked === (fallback === true) ? undefined : input.checked);
  } else if (type === "string" && property.enum) {
    input = element("select", { id, "aria-describedby": help && help.id });
    for (const choice of property.enum) input.append(element("option", { value: choice, text: choice }));
    if (fallback !== undefined) input.value = fallback;
    read = () => (input.value === fallback ? undefined : input.value);
  } else if (type === "array" && property.items && property.items.enum) {
    input = element("span", { id, class: "choices", role: "group", "aria-label": name });
    const boxes = property.items.enum.map(choice => {
      const box = element("input", { type: "checkbox", value: choice, id: `${id}-${choice}` });
      box.checked = Array.isArray(fallback) && fallback.includes(choice);
      input.append(element("label", { class: "inline", for: box.id }, box, " " + choice));
      return box;
    });
    read = () => { const v = boxes.filter(b => b.checked).map(b => b.value); return sameValue(v, fallback) ? undefined : v; };
  } else if (type === "integer" || type === "number") {
    const bounds = {};
    if (property.minimum !== undefined) bounds.min = property.minimum;
    if (property.maximum !== undefined) bounds.max = property.maximum;
    input = element("input", { id, type: "number", step: type === "integer" ? "1" : "any", inputmode: "decimal",
      "aria-describedby": help && help.id, ...bounds });
    if (fallback !== undefined && fallback !== null) input.value = fallback;
    input.addEventListener("input", () => input.setCustomValidity(invalid(property, input.value)));
    read = () => { if (input.value === "") return undefined; const v = Number(input.value); return v === fallback ? undefined : v; };
  } else {
    // Strings, lists of plain values (comma-separated), and values of any kind (a number or a word).
    const list = type === "array";
    input = element("input", { id, "aria-describedby": help && help.id, placeholder: list ? "comma-separated" : undefined });
    if (fallback !== undefined && fallback !== null) input.value = list ? fallback.join(", ") : String(fallback);
    read = () => {
      const text = input.value.trim();
      let v;
      if (list) {
        const numeric = property.items && (property.items.type === "integer" || property.items.type === "number");
        v = text === "" ? [] : text.split(",").map(s => s.trim()).filter(s => s).map(s => (numeric ? Number(s) : s));
      } else if (type === undefined && text !== "" && !isNaN(Number(text))) v = Number(text);
      else v = text === "" ? undefined : text;
      return sameValue(v, fallback) || (v === undefined && fallback === undefined) ? undefined : v;
    };
  }
  input.addEventListener("input", onChange);
  input.addEventListener("change", onChange);
  const label = element("label", { for: id, text: labelText });
  return { row: [label, element("div", {}, input, help || "")], read, id };
}

/** A message for a number outside the schema's bounds, or "" when it is fine. */
function invalid(property, text) {
  if (text === "") return "";
  const v = Number(text);
  if (property.exclusiveMinimum !== undefined && !(v > property.exclusiveMinimum)) return `must be more than ${property.exclusiveMinimum}`;
  if (property.exclusiveMaximum !== undefined && !(v < property.exclusiveMaximum)) return `must be less than ${property.exclusiveMaximum}`;
  if (property.type === "integer" && !Number.isInteger(v)) return "must be a whole number";
  return "";
}

function renderFields(container, schema, prefix, onChange) {
  const grid = element("div", { class: "grid" });
  const readers = [];
  for (const [name, property] of Object.entries(schema.properties || {})) {
    const { row, read } = control(name, property, prefix, onChange);
    if (row.length === 1) container.append(row[0]);
    else grid.append(...row);
    readers.push([name, read]);
  }
  container.append(grid);
  return () => {
    const values = {};
    for (const [name, read] of readers) {
      const v = read();
      if (v !== undefined) values[name] = v;
    }
    return values;
  };
}

/**
 * Replaces the controls of a fieldset (keeping its legend) with those of a schema; returns a
 * function giving the values that differ from the defaults, so job files stay short.
 */
export function renderSchema(fieldset, schema, prefix, onChange) {
  const legend = fieldset.querySelector("legend");
  fieldset.replaceChildren(legend);
  if (schema.description) fieldset.append(element("p", { class: "hint", text: schema.description }));
  if (!schema.properties || Object.keys(schema.properties).length === 0) {
    fieldset.append(element("p", { class: "hint", text: "No settings." }));
    return () => ({});
  }
  return renderFields(fieldset, schema, prefix, onChange);
}

/**
 * Names each cell after its column (data-label), so that a table shown as stacked cards on a
 * narrow screen (class "cards" in app.css) still says what each value is.
 */
export function labelCells(table) {
  const headers = [...table.querySelectorAll("thead th")].map(th => th.textContent);
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((cell, i) => { if (headers[i]) cell.dataset.label = headers[i]; });
  }
  table.classList.add("cards");
}
