// A small history router: patterns like "/runs/:runId", links intercepted by data-link or
// same-origin <a href>, and a leave guard screens can set (unsaved edits).

const routes = [];
let notFound = null;
let current = null; // {cleanup}
let leaveGuard = null;

/** Register a route: `pattern` ("/evals/:id"), `render(params, query)` may return a cleanup fn. */
export function route(pattern, render) {
  const names = [];
  const source = pattern
    .replace(/\/:(\w+)\?/g, (_, name) => (names.push(name), "(?:/([^/]+))?"))
    .replace(/:(\w+)/g, (_, name) => (names.push(name), "([^/]+)"));
  routes.push({ regex: new RegExp(`^${source}/?$`), names, render });
}

/** The page shown when no route matches. */
export function fallback(render) {
  notFound = render;
}

/** Ask before leaving the current page (return a message to confirm, or null). */
export function setLeaveGuard(fn) {
  leaveGuard = fn;
}

/** Navigate to `url` (pushes history unless `replace`). */
export function navigate(url, { replace = false } = {}) {
  if (leaveGuard) {
    const message = leaveGuard();
    if (message && !window.confirm(message)) return;
  }
  leaveGuard = null;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  dispatch();
}

/** Render the route matching the current location. */
export function dispatch() {
  if (current && typeof current.cleanup === "function") {
    try {
      current.cleanup();
    } catch {
      /* a screen's cleanup must not block navigation */
    }
  }
  const path = decodeURI(location.pathname);
  const query = new URLSearchParams(location.search);
  for (const r of routes) {
    const match = r.regex.exec(path);
    if (!match) continue;
    const params = {};
    r.names.forEach((name, i) => {
      if (match[i + 1] !== undefined) params[name] = decodeURIComponent(match[i + 1]);
    });
    current = { cleanup: r.render(params, query) };
    document.dispatchEvent(new CustomEvent("flowai:navigated", { detail: { path } }));
    return;
  }
  current = { cleanup: notFound ? notFound(path) : null };
  document.dispatchEvent(new CustomEvent("flowai:navigated", { detail: { path } }));
}

/** Start routing: link clicks, back/forward, and the unload guard. */
export function start() {
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener("popstate", dispatch);
  window.addEventListener("beforeunload", (event) => {
    if (leaveGuard && leaveGuard()) event.preventDefault();
  });
  dispatch();
}
