import { describe, expect, it } from "vitest";
import { EMPTY_PROGRESS, foldProfile } from "./profileProgress";

const progress = (status: string, done: number, columns: number, tableName?: string) => ({
  type: "progress",
  status: { status, tablesTotal: 2, tablesCompleted: done, columnsProfiled: columns, tableName },
  payload: { status, tablesFound: 2, tablesCompleted: done, columnsProfiled: columns },
});

describe("profiling progress", () => {
  it("moves each table from profiling to completed with its numbers, as events arrive", () => {
    let state = foldProfile(EMPTY_PROGRESS, { type: "started", jobId: "j" });
    state = foldProfile(state, progress("profiling", 0, 0, "orders"));
    expect(state.tables).toEqual([{ tableName: "orders", state: "profiling" }]);
    state = foldProfile(state, { type: "tableProfiled", tableName: "orders", columns: 4, durationMs: 12 });
    state = foldProfile(state, { type: "tableEnriched", tableName: "orders", source: "fresh" });
    expect(state.tables[0]).toMatchObject({ state: "enriched", columns: 4, enrichment: "fresh" });
    state = foldProfile(state, {
      type: "tableCompleted",
      tableName: "orders",
      summary: { columnsProfiled: 4, relationshipsFound: 1, enumsExtracted: 1, catalogItemsIndexed: 6, durationMs: 30 },
    });
    state = foldProfile(state, { type: "tableFailed", tableName: "customers", error: "no access" });
    state = foldProfile(state, progress("completed", 1, 4));
    state = foldProfile(state, { type: "completed", summary: { tablesDiscovered: 2 } });
    expect(state.status).toBe("completed");
    expect(state.columnsProfiled).toBe(4);
    expect(state.tables).toEqual([
      { tableName: "orders", state: "completed", columns: 4, relationships: 1, enums: 1, entries: 6, durationMs: 30, enrichment: "fresh", fallbackReason: undefined },
      { tableName: "customers", state: "failed", error: "no access" },
    ]);
  });

  it("ends failed with the job's message", () => {
    const state = foldProfile(EMPTY_PROGRESS, { type: "error", message: "the target database is unreachable" });
    expect(state).toMatchObject({ status: "failed", error: "the target database is unreachable" });
  });
});
