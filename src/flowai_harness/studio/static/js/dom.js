// Tiny DOM helpers: h() builds elements, text is always set as text (never parsed as HTML).

/**
 * Build an element. attrs: plain attributes, `on*` functions become listeners,
 * `dataset`/`style` objects are applied, `false`/`null` values are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "className") {
      el.className = value;
    } else if (key === "value") {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Pretty JSON for display. */
export function json(value) {
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/** A <pre> block of JSON. */
export function jsonBlock(value, label) {
  return h("pre", { "aria-label": label || "JSON" }, json(value));
}

/** A collapsible JSON block with a copy button. */
export function foldJson(title, value, open = false) {
  const text = json(value);
  const copy = h("button", { type: "button", className: "ghost", onclick: (e) => {
    e.preventDefault();
    navigator.clipboard?.writeText(text).catch(() => {});
  } }, "Copy");
  return h("details", { open }, h("summary", {}, title, " "), copy, h("pre", {}, text));
}

/** An error banner with optional actions. */
export function banner(message, actions = [], kind = "error") {
  return h("div", { className: `banner ${kind === "info" ? "info" : ""}`, role: kind === "info" ? "status" : "alert" },
    message, " ", actions);
}

/** A status pill. */
export function statusPill(status) {
  return h("span", { className: `badge status-${status}` }, status || "unknown");
}

/** Short relative-free timestamp. */
export function when(iso) {
  if (!iso) return "";
  return iso.replace("T", " ").replace("Z", "");
}

/** Describe an error for the user (API errors carry a code). */
export function errorText(err) {
  if (err && err.code) return `${err.message} (${err.code})`;
  return err && err.message ? err.message : String(err);
}
