// The Studio HTTP API client: JSON calls scoped to the active workspace, and SSE read from
// fetch() bodies (POST streams cannot use EventSource, and fetch can send the token header).

const boot = window.__FLOWAI__ || {};
const TOKEN_KEY = "flowai.studioToken";
let memoryToken = null;

// A Studio started with a token prints one URL ending in #token=...: the fragment never reaches
// the server. Keep the token for this tab only and take it out of the address bar and history.
function adoptTokenFromFragment() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (token === null) return;
  memoryToken = token;
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* storage unavailable: the token lasts for this page only */
  }
  params.delete("token");
  const rest = params.toString();
  history.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}
adoptTokenFromFragment();

function accessToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}

/** Request headers with the access token, when the Studio was opened with one. */
function withAuth(headers) {
  const token = accessToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

/** UI configuration from /__flowai_config.js, with the documented fallbacks. */
export const config = Object.freeze({
  apiBaseUrl: (boot.apiBaseUrl || "/api").replace(/\/$/, ""),
  appName: boot.appName || "FlowAI Studio",
  defaultWorkspaceKey: boot.defaultWorkspaceKey || "default",
  studioApiVersion: boot.studioApiVersion || "harness-studio/v1",
});

let activeWorkspace = config.defaultWorkspaceKey;

/** The active workspace key. */
export function workspaceKey() {
  return activeWorkspace;
}

/** Change the active workspace (every later call is scoped to it). */
export function setWorkspaceKey(key) {
  activeWorkspace = key;
  try {
    localStorage.setItem("flowai.workspace", key);
  } catch {
    /* storage unavailable: the choice lasts for this page only */
  }
}

/** An error answered by the API: `status`, `code`, `message`, `details`. */
export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Path under the active workspace: ws("/runs") -> /workspaces/<key>/runs. */
export function ws(path) {
  return `/workspaces/${encodeURIComponent(activeWorkspace)}${path}`;
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  const err = body && body.error;
  if (err) return new ApiError(response.status, err.code, err.message, err.details || {});
  return new ApiError(response.status, "http.error", `HTTP ${response.status} ${response.statusText}`);
}

/** Call the API and decode the JSON answer; throws ApiError on a non-2xx answer. */
export async function api(method, path, body, { signal } = {}) {
  const init = { method, headers: withAuth({ Accept: "application/json" }), signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(config.apiBaseUrl + path, init);
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

export const get = (path, opts) => api("GET", path, undefined, opts);
export const post = (path, body, opts) => api("POST", path, body ?? {}, opts);
export const put = (path, body, opts) => api("PUT", path, body, opts);
export const del = (path, opts) => api("DELETE", path, undefined, opts);

/**
 * Open an SSE stream and yield frames `{id, event, data}` (data JSON-decoded when it parses).
 * `body` undefined -> GET, else POST with a JSON body. Abort with `signal`.
 */
export async function* stream(path, body, { signal } = {}) {
  const init = { method: body === undefined ? "GET" : "POST", headers: withAuth({ Accept: "text/event-stream" }), signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(config.apiBaseUrl + path, init);
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const frame = parseFrame(block);
      if (frame) yield frame;
    }
  }
  const tail = parseFrame(buffer);
  if (tail) yield tail;
}

function parseFrame(block) {
  const frame = { id: null, event: null, data: null };
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "id") frame.id = value;
    else if (field === "event") frame.event = value;
  }
  if (!data.length && !frame.event) return null;
  const text = data.join("\n");
  try {
    frame.data = JSON.parse(text);
  } catch {
    frame.data = text;
  }
  return frame;
}

/** A random id like `run_<32 hex>` (the server's minted-id shape). */
export function mintId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
