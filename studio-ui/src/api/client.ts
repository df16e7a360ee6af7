// The Studio HTTP API client: JSON calls and server-sent event streams read from fetch()
// bodies (a POST stream cannot use EventSource, and fetch can send the token header).

interface BootConfig {
  apiBaseUrl?: string;
  appName?: string;
  defaultWorkspaceKey?: string;
  studioApiVersion?: string;
}

declare global {
  interface Window {
    __FLOWAI__?: BootConfig;
  }
}

const boot: BootConfig = (typeof window !== "undefined" && window.__FLOWAI__) || {};

/** UI configuration from /__flowai_config.js, with the documented fallbacks. */
export const config = Object.freeze({
  apiBaseUrl: (boot.apiBaseUrl || "/api").replace(/\/$/, ""),
  appName: boot.appName || "FlowAI Studio",
  defaultWorkspaceKey: boot.defaultWorkspaceKey || "default",
  studioApiVersion: boot.studioApiVersion || "harness-studio/v1",
});

const TOKEN_KEY = "flowai.studioToken";
let memoryToken: string | null = null;

/**
 * A Studio started with a token prints one URL ending in #token=...: the fragment never reaches
 * the server. Keep the token for this tab only (session storage) and take it out of the address
 * bar and the history.
 */
export function adoptTokenFromFragment(): void {
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

function accessToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}

function headers(accept: string, json: boolean): Record<string, string> {
  const out: Record<string, string> = { Accept: accept };
  if (json) out["Content-Type"] = "application/json";
  const token = accessToken();
  if (token) out.Authorization = `Bearer ${token}`;
  return out;
}

/** An error answered by the API (or the network): `status`, `code`, `message`, `details`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

async function failure(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  const err = (body as { error?: { code: string; message: string; details?: Record<string, unknown> } } | null)?.error;
  if (err) return new ApiError(response.status, err.code, err.message, err.details || {});
  return new ApiError(response.status, "http.error", `HTTP ${response.status} ${response.statusText}`.trim());
}

/** Path of a workspace-scoped route: `wsPath("sales", "/runs")` -> `/workspaces/sales/runs`. */
export function wsPath(workspace: string, path: string): string {
  return `/workspaces/${encodeURIComponent(workspace)}${path}`;
}

/** Encode one path segment. */
export const seg = encodeURIComponent;

/** Call the API and decode the JSON answer; throws ApiError on a non-2xx answer. */
export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method, headers: headers("application/json", body !== undefined), signal };
  if (body !== undefined) init.body = JSON.stringify(body);
  let response: Response;
  try {
    response = await fetch(config.apiBaseUrl + path, init);
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(0, "network.unreachable", "The Studio server cannot be reached. Is it still running?");
  }
  if (!response.ok) throw await failure(response);
  return (response.status === 204 ? null : await response.json()) as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>("GET", path, undefined, signal);
export const post = <T>(path: string, body: unknown = {}) => api<T>("POST", path, body);
export const put = <T>(path: string, body: unknown) => api<T>("PUT", path, body);
export const del = <T>(path: string) => api<T>("DELETE", path);

/** One server-sent event. */
export interface SseFrame {
  id: string | null;
  event: string | null;
  data: unknown;
}

/** Parse one SSE block (the text between two blank lines); null for a comment-only block. */
export function parseFrame(block: string): SseFrame | null {
  const frame: SseFrame = { id: null, event: null, data: null };
  const data: string[] = [];
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

/** A stream being read; `close()` stops reading (the server-side run is not affected). */
export interface EventStream extends AsyncIterable<SseFrame> {
  close(): void;
}

interface StreamOptions {
  body?: unknown;
  lastEventId?: number;
}

/**
 * Open an SSE stream (`body` set: POST with that JSON body, else GET). Closing it cancels the
 * body reader rather than aborting the request, so the browser logs no aborted request.
 */
export function openStream(path: string, options: StreamOptions = {}): EventStream {
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let closed = false;
  async function* frames(): AsyncGenerator<SseFrame> {
    const post = options.body !== undefined;
    const init: RequestInit = { method: post ? "POST" : "GET", headers: headers("text/event-stream", post) };
    if (post) init.body = JSON.stringify(options.body);
    if (options.lastEventId !== undefined) (init.headers as Record<string, string>)["Last-Event-ID"] = String(options.lastEventId);
    let response: Response;
    try {
      response = await fetch(config.apiBaseUrl + path, init);
    } catch {
      throw new ApiError(0, "network.unreachable", "The Studio server cannot be reached. Is it still running?");
    }
    if (!response.ok) throw await failure(response);
    if (!response.body) return;
    reader = response.body.getReader();
    const decoder = new TextDecoder();
    if (closed) {
      await reader.cancel().catch(() => undefined);
      return;
    }
    let buffer = "";
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (closed) return;
        throw err;
      }
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = parseFrame(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (frame) yield frame;
        if (closed) return;
      }
    }
    const tail = parseFrame(buffer);
    if (tail && !closed) yield tail;
  }
  return {
    [Symbol.asyncIterator]: frames,
    close() {
      closed = true;
      reader?.cancel().catch(() => undefined);
    },
  };
}

/** A random id like `run_<32 hex>` (the server's minted-id shape). */
export function mintId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Describe an error for the user (API errors carry a code). */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === "auth.token_required" || err.code === "auth.invalid_token") {
      return `${err.message} Open the Studio with the URL it printed at start (it carries the access token).`;
    }
    return err.code.startsWith("http.") || err.code.startsWith("network.") ? err.message : `${err.message} (${err.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}
