// Every HTTP call of the page: JSON reads, token-authorised changes, and streamed generations.

const TOKEN_KEY = "gradus.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value.trim());
}

/** An error of the console's API: the server's message, and its status. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let inFlight = 0;

/**
 * Runs one step of the page's work that waits (a request, a deferred refresh), counted in
 * body[data-pending] while it runs: the page is settled when it is 0 (the browser tests wait for that).
 */
export async function counted(work) {
  document.body.dataset.pending = String(++inFlight);
  try {
    return await work();
  } finally {
    document.body.dataset.pending = String(--inFlight);
  }
}

async function answer(response) {
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ApiError(response.status, (json && json.error) || `HTTP ${response.status}`);
  }
  return json;
}

/** GET a JSON resource. */
export async function get(path) {
  return counted(async () => answer(await fetch(path, { headers: { Accept: "application/json" } })));
}

/** A change: POST, DELETE or PATCH with the token; body is a string, a Blob or an object (sent as JSON). */
export async function change(method, path, body) {
  const headers = { Authorization: "Bearer " + token() };
  let payload = body;
  if (body && !(body instanceof Blob) && typeof body !== "string") {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  return counted(async () => answer(await fetch(path, { method, headers, body: payload })));
}

/**
 * POSTs a request whose answer is a stream of server-sent events, calling onEvent(type, data) for
 * each; resolves when the stream ends. A JSON error answer rejects with an ApiError.
 */
export async function stream(path, body, onEvent, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: { Authorization: "Bearer " + token(), "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || !response.headers.get("Content-Type")?.startsWith("text/event-stream")) {
    return answer(response);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = "message";
      const data = [];
      for (const line of message.split("\n")) {
        if (line.startsWith("event: ")) type = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) onEvent(type, JSON.parse(data.join("\n")));
    }
  }
}
