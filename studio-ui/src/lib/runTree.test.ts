import { describe, expect, it } from "vitest";
import type { RunEventRow } from "../api/types";
import { buildRunTree } from "./runTree";

function rows(events: [string, Record<string, unknown>][]): RunEventRow[] {
  return events.map(([kind, payload], i) => ({ seq: i + 1, kind, event: { seq: i + 1, kind, payload, agentId: "coord" }, createdAt: `2026-01-01T00:00:0${i}Z` }));
}

describe("buildRunTree", () => {
  it("groups agent -> turn -> tool / sub-agent with merged text, tokens and durations", () => {
    const tree = buildRunTree(
      rows([
        ["runtime.event", { raw: { type: "step-start" } }],
        ["message.delta", { text: "Rou" }],
        ["message.delta", { text: "ting." }],
        ["tool.call.started", { toolCallId: "c1", toolName: "call_agent", arguments: {} }],
        ["sub_agent.call.started", { toolCallId: "c1", targetAgentId: "pricing", message: "p" }],
        ["runtime.finish", { raw: { usage: { promptTokens: 7, completionTokens: 3 } } }],
        ["sub_agent.call.completed", { toolCallId: "c1", targetAgentId: "pricing", status: "completed" }],
        ["tool.call.completed", { toolCallId: "c1", toolName: "call_agent", status: "completed", durationMs: 1500 }],
        ["run.completed", { status: "completed", durationMs: 2000 }],
      ]),
      "coord",
    );
    expect(tree.status).toBe("completed");
    expect(tree.durationMs).toBe(2000);
    const turn = tree.children[0];
    expect(turn.kind).toBe("turn");
    expect(turn.children.map((c) => c.kind)).toEqual(["text", "tool"]);
    expect(turn.children[0].text).toBe("Routing.");
    const call = turn.children[1];
    expect(call.durationMs).toBe(1500);
    expect(call.children[0]).toMatchObject({ kind: "agent", label: "pricing", inputTokens: 7, outputTokens: 3, durationMs: 2000 });
  });
});
