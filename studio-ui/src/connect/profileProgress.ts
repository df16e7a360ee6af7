// The live state of a profiling job, folded from its stream events: overall counts and one
// row per table (profiled -> enriched -> completed, or failed) with its numbers.

export type TableState = "profiling" | "profiled" | "enriched" | "completed" | "failed";

export interface TableProgress {
  tableName: string;
  state: TableState;
  columns?: number;
  durationMs?: number;
  enrichment?: string;
  fallbackReason?: string;
  entries?: number;
  relationships?: number;
  enums?: number;
  error?: string;
}

export interface ProfileProgress {
  status: string;
  tablesFound: number;
  tablesCompleted: number;
  columnsProfiled: number;
  tables: TableProgress[];
  summary?: Record<string, unknown>;
  error?: string;
}

export const EMPTY_PROGRESS: ProfileProgress = { status: "queued", tablesFound: 0, tablesCompleted: 0, columnsProfiled: 0, tables: [] };

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value ? value : undefined;
}

function withTable(progress: ProfileProgress, name: string, change: Partial<TableProgress>): ProfileProgress {
  const found = progress.tables.some((t) => t.tableName === name);
  const tables = found
    ? progress.tables.map((t) => (t.tableName === name ? { ...t, ...change } : t))
    : [...progress.tables, { tableName: name, state: "profiling" as TableState, ...change }];
  return { ...progress, tables };
}

/** Fold one profiling event (native fields, as the Studio streams them) into the progress. */
export function foldProfile(progress: ProfileProgress, event: Record<string, unknown>): ProfileProgress {
  const type = String(event.type ?? "");
  const table = str(event.tableName);
  switch (type) {
    case "progress": {
      const payload = (event.payload ?? {}) as Record<string, unknown>;
      const status = (event.status ?? {}) as Record<string, unknown>;
      const next: ProfileProgress = {
        ...progress,
        status: str(payload.status) ?? str(status.status) ?? progress.status,
        tablesFound: num(payload.tablesFound) ?? num(status.tablesTotal) ?? progress.tablesFound,
        tablesCompleted: num(payload.tablesCompleted) ?? num(status.tablesCompleted) ?? progress.tablesCompleted,
        columnsProfiled: num(payload.columnsProfiled) ?? num(status.columnsProfiled) ?? progress.columnsProfiled,
      };
      const current = str(status.tableName);
      return current && !progress.tables.some((t) => t.tableName === current) ? withTable(next, current, {}) : next;
    }
    case "tableProfiled":
      return table ? withTable(progress, table, { state: "profiled", columns: num(event.columns), durationMs: num(event.durationMs) }) : progress;
    case "tableEnriched":
      return table ? withTable(progress, table, { state: "enriched", enrichment: str(event.source), fallbackReason: str(event.fallbackReason) }) : progress;
    case "tableCompleted": {
      const summary = (event.summary ?? {}) as Record<string, unknown>;
      const change: Partial<TableProgress> = {
        state: "completed",
        columns: num(summary.columnsProfiled),
        entries: num(summary.catalogItemsIndexed),
        relationships: num(summary.relationshipsFound),
        enums: num(summary.enumsExtracted),
        durationMs: num(summary.durationMs),
      };
      return table ? withTable(progress, table, change) : progress;
    }
    case "tableFailed":
      return table ? withTable(progress, table, { state: "failed", error: str(event.error) ?? "failed" }) : progress;
    case "completed":
      return { ...progress, status: progress.status === "failed" ? "failed" : "completed", summary: event.summary as Record<string, unknown> | undefined };
    case "error":
      return { ...progress, status: "failed", error: str(event.message) ?? "Profiling failed." };
    default:
      return progress;
  }
}
