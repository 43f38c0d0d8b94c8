// What the page tells its reader: the outcome of an action, and announcements for screen readers.

/** Shows the outcome of an action (announced: the element is a live region). */
export function say(text, ok) {
  const m = document.getElementById("message");
  m.textContent = text;
  m.className = ok ? "ok" : "error";
}

/** Announces a change that happened by itself (a job's state) to screen readers. */
export function announce(text) {
  document.getElementById("announcer").textContent = text;
}
