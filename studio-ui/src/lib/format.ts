// Small display helpers.

/** `2026-01-02T03:04:05Z` -> `2026-01-02 03:04:05` (UTC, as the server stamps it). */
export function when(iso: string | undefined | null): string {
  if (!iso) return "";
  return iso.replace("T", " ").replace(/(\.\d+)?Z$/, "");
}

/** A duration in ms as `850 ms`, `2.4 s` or `3 min 5 s`. */
export function duration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Pretty JSON (never throws). */
export function json(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? "null";
  } catch {
    return String(value);
  }
}

/** A one-line summary of a JSON value: `sku: "A-1", qty: 2` for objects, cut at `max` chars. */
export function shortJson(value: unknown, max = 80): string {
  let out: string;
  if (value && typeof value === "object" && !Array.isArray(value)) {
    out = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${typeof v === "string" ? JSON.stringify(v) : compact(v)}`)
      .join(", ");
  } else out = compact(value);
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

function compact(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return String(value);
  }
}

/** A score 0..1 as `0.83`; empty when missing. */
export function score(value: unknown): string {
  return typeof value === "number" ? value.toFixed(2) : "";
}

/** Title case of an id: `price_change` -> `Price change`. */
export function label(id: string): string {
  const words = id.replace(/[_-]+/g, " ").trim();
  return words ? words[0].toUpperCase() + words.slice(1) : id;
}
