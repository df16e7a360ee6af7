import { describe, expect, it } from "vitest";
import type { RunEventRow } from "../api/types";
import { caseRows, progressLines } from "./Evals";
import { shownStatus } from "./Runs";

function row(seq: number, kind: string, event: Record<string, unknown>): RunEventRow {
  return { seq, kind, event: event as unknown as RunEventRow["event"], createdAt: "2026-01-01T00:00:00Z" };
}

describe("eval results", () => {
  it("fills Passed and Score per case and averages each scorer over the samples", () => {
    const rows = caseRows({
      testCases: [
        {
          testCaseId: "t1",
          aggregateScore: 0.75,
          passAtK: [{ k: 1, simpleEstimate: 0.5 }],
          samples: [
            { passed: true, componentScores: [{ scorerName: "trajectory", score: 1 }] },
            { passed: false, componentScores: [{ scorerName: "trajectory", score: 0.5 }] },
          ],
        },
      ],
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ testCaseId: "t1", passed: false, score: 0.75, passAt1: 0.5, scorers: { trajectory: 0.75 } });
  });

  it("names the test case on every progress line", () => {
    const lines = progressLines([
      row(1, "testCaseStarted", { data: { testCaseId: "t1" } }),
      row(2, "sampleCompleted", { data: { sample: { sampleIndex: 0, passed: true, aggregateScore: 1 } }, payload: { caseId: null } }),
      row(3, "testCaseCompleted", { payload: { caseId: "t1", passed: true, score: 1 } }),
    ]);
    expect(lines.map((l) => l.text)).toEqual(["Test t1 started", "Test t1 sample 1: passed, score 1.00", "Test t1 completed: passed, score 1.00"]);
  });
});

describe("run status", () => {
  it("shows a running run silent for five minutes as interrupted", () => {
    const run = { runId: "r", operation: "chat", status: "running", eventCount: 1, createdAt: "", updatedAt: "2026-01-01T00:00:00Z" };
    expect(shownStatus(run, Date.parse("2026-01-01T00:06:00Z"))).toBe("interrupted");
    expect(shownStatus(run, Date.parse("2026-01-01T00:01:00Z"))).toBe("running");
  });
});
