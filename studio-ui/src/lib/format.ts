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

function plural(count: number, one: string): string {
  return `${count} ${one}${count === 1 ? "" : "s"}`;
}

function numberOf(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** A dollar amount: cents for a dollar or more, four decimals below (`$0.0042`). */
export function usd(amount: number): string {
  return amount >= 1 ? `$${amount.toFixed(2)}` : `$${amount.toFixed(4)}`;
}

/**
 * What a run has used, in one sentence, from its `runUsage` (`costUsd` only when some call was
 * priced): "This run has cost $0.0042 so far (120 tokens, 2 model calls, 1 tool call)."
 */
export function usageSentence(runUsage: unknown): string | undefined {
  if (!runUsage || typeof runUsage !== "object") return undefined;
  const usage = runUsage as Record<string, unknown>;
  const tokens = numberOf(usage.totalTokens);
  const models = numberOf(usage.modelCalls);
  const tools = numberOf(usage.toolCalls);
  // zero counts say nothing (an offline interpreter reports no tokens): left out
  const parts = [
    tokens ? plural(tokens, "token") : "",
    models ? plural(models, "model call") : "",
    tools ? plural(tools, "tool call") : "",
  ].filter(Boolean);
  const cost = numberOf(usage.costUsd);
  if (cost !== undefined) return `This run has cost ${usd(cost)} so far${parts.length ? ` (${parts.join(", ")})` : ""}.`;
  if (!parts.length) return undefined;
  return `This run has used ${parts.join(", ")} so far (no priced model call).`;
}

const BUDGET_LIMITS: Record<string, [string, (value: number) => string]> = {
  max_cost_usd: ["cost", usd],
  max_tokens: ["token", (v) => String(Math.round(v))],
  max_tool_calls: ["tool-call", (v) => String(Math.round(v))],
  max_duration_secs: ["time", (v) => `${v.toFixed(1)} s`],
};

/** A `data-budget-warning` (80 % of one limit used) as one sentence. */
export function budgetWarningSentence(data: Record<string, unknown>): string {
  const limit = String(data.limit ?? "");
  const [label, show] = BUDGET_LIMITS[limit] ?? [limit.replace(/^max_/, "").replace(/_/g, " "), (v: number) => String(v)];
  const used = numberOf(data.used) ?? 0;
  const max = numberOf(data.max) ?? 0;
  const share = max > 0 ? Math.round((used / max) * 100) : 100;
  return `Budget warning: this run has used ${show(used)} of its ${label} budget of ${show(max)} (${share} %); it stops when the budget is reached.`;
}
