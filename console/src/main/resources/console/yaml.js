// Renders a job (plain JSON values) as the YAML a person would write: block mappings, flow lists of
// scalars, strings quoted only when YAML would read them as something else.

const PLAIN = /^[A-Za-z_./][A-Za-z0-9_./ -]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~)$/i;

function scalar(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const text = String(value);
  if (PLAIN.test(text) && !RESERVED.test(text) && !text.endsWith(" ")) return text;
  return JSON.stringify(text);
}

function isScalar(value) {
  return value === null || typeof value !== "object";
}

export function toYaml(value, indent = "") {
  const lines = [];
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      if (v.every(isScalar)) lines.push(`${indent}${key}: [${v.map(scalar).join(", ")}]`);
      else {
        lines.push(`${indent}${key}:`);
        for (const item of v) lines.push(`${indent}  - ${JSON.stringify(item)}`);
      }
    } else if (v !== null && typeof v === "object") {
      if (Object.keys(v).length === 0) lines.push(`${indent}${key}: {}`);
      else lines.push(`${indent}${key}:`, toYaml(v, indent + "  "));
    } else {
      lines.push(`${indent}${key}: ${scalar(v)}`);
    }
  }
  return lines.join("\n");
}

/** A word for the shell: quoted unless it is plainly safe. */
export function shellWord(text) {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : "'" + text.replaceAll("'", "'\\''") + "'";
}
