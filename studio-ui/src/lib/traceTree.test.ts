import { describe, expect, it } from "vitest";
import { traceTree } from "./traceTree";

const inline = (value: unknown) => ({ kind: "inline", value });

describe("traceTree", () => {
  it("shows a run trace as its tree, with tokens, cost and the tool's inputs and outputs", () => {
    const tree = traceTree({
      kind: "run",
      root: {
        type: "run", name: "coord", status: "ok", durationMs: 40, children: [
          {
            type: "agent", name: "coord", status: "ok", usage: { inputTokens: 10, outputTokens: 5 }, costUsd: 0.002, children: [
              { type: "turn", name: "turn 1", model: "claude-haiku-4-5", status: "ok", children: [
                { type: "tool", name: "lookup", status: "ok", durationMs: 3, arguments: inline({ sku: "A-1" }), result: { kind: "omitted", reason: "too big" }, children: [] },
              ] },
            ],
          },
        ],
      },
    });
    expect(tree?.label).toBe("run · coord");
    const agent = tree!.children[0];
    expect(agent).toMatchObject({ kind: "agent", inputTokens: 10, outputTokens: 5, costUsd: 0.002 });
    const tool = agent.children[0].children[0];
    expect(agent.children[0].label).toBe("turn 1 · claude-haiku-4-5");
    expect(tool).toMatchObject({ kind: "tool", label: "lookup", durationMs: 3, input: { sku: "A-1" }, output: "(too big)" });
  });

  it("nests an eval sample's sub-agent steps under the call that made them", () => {
    const tree = traceTree({
      provenance: { kind: "eval_sample", entryAgent: "coord" },
      input: "price of A-1?",
      responseText: "4.50",
      durationMs: 12,
      status: "completed",
      steps: [
        { toolName: "call_agent", agent: "coord", depth: 1, arguments: inline({ agent: "pricing" }), result: inline("4.50") },
        { toolName: "lookup", agent: "pricing", depth: 2, arguments: inline({ sku: "A-1" }), result: inline({ price: 4.5 }) },
        { toolName: "echo", agent: "coord", depth: 1, arguments: inline({}), result: null, error: "boom" },
      ],
    });
    expect(tree).toMatchObject({ label: "coord", durationMs: 12, input: "price of A-1?", output: "4.50" });
    expect(tree?.children.map((n) => n.label)).toEqual(["call_agent", "echo"]);
    const [call, echo] = tree!.children;
    expect(call.children).toHaveLength(1);
    expect(call.children[0]).toMatchObject({ kind: "agent", label: "pricing" });
    expect(call.children[0].children[0]).toMatchObject({ label: "lookup", output: { price: 4.5 }, status: "completed" });
    expect(echo).toMatchObject({ status: "failed", output: { error: "boom" } });
  });
});
