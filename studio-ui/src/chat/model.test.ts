import { describe, expect, it } from "vitest";
import type { StudioEnvelope } from "../api/types";
import { AnswerModel, answerFromParts, type ToolNode } from "./model";

function play(events: [string, Record<string, unknown>][], agentId = "coord"): AnswerModel {
  const model = new AnswerModel("run_1", agentId);
  events.forEach(([kind, payload], i) => model.apply({ seq: i + 1, kind, payload, agentId } as StudioEnvelope));
  return model;
}

const PRICE_RUN: [string, Record<string, unknown>][] = [
  ["message.delta", { text: "Routing. " }],
  ["tool.call.started", { toolCallId: "c1", toolName: "call_agent", arguments: { agent: "pricing", prompt: "price of A-1" } }],
  ["sub_agent.call.started", { toolCallId: "c1", targetAgentId: "pricing", message: "price of A-1" }],
  ["runtime.event", { raw: { type: "text", text: "It is " } }],
  ["tool.call.started", { toolCallId: "c2", toolName: "lookup", arguments: { sku: "A-1" } }],
  ["approval.required", { approvalId: "ap1", kind: "tool", title: "lookup", toolName: "lookup", payload: { sku: "A-1" } }],
  ["approval.decision", { approvalId: "ap1", status: "revise", raw: { id: "ap1", feedback: "use the EU price" } }],
  ["tool.call.completed", { toolCallId: "c2", toolName: "lookup", status: "completed", result: { price: 4.5 }, durationMs: 12 }],
  ["sub_agent.call.completed", { toolCallId: "c1", targetAgentId: "pricing", status: "completed", result: { response: "It is 4.50" } }],
  ["tool.call.completed", { toolCallId: "c1", toolName: "call_agent", status: "completed", result: "It is 4.50" }],
  ["message.delta", { text: "The price is 4.50" }],
  ["run.completed", { status: "completed", durationMs: 40, usage: { inputTokens: 10, outputTokens: 5 } }],
];

describe("AnswerModel", () => {
  it("nests a sub-agent under the call_agent that made it, with the sub-agent's tools inside", () => {
    const model = play(PRICE_RUN);
    expect(model.nodes.map((n) => n.type)).toEqual(["text", "tool", "approval", "text"]);
    const call = model.nodes[1] as ToolNode;
    expect(call.name).toBe("call_agent");
    expect(call.agent).toMatchObject({ agent: "pricing", status: "completed", response: "It is 4.50" });
    expect(call.children.map((n) => (n as ToolNode).name)).toEqual(["lookup"]);
    expect((call.children[0] as ToolNode).durationMs).toBe(12);
    expect(model.text).toBe("Routing. The price is 4.50");
    expect(model.status).toBe("completed");
    expect(model.usage).toEqual({ inputTokens: 10, outputTokens: 5 });
  });

  it("keeps the run usage an approval showed and each budget warning once", () => {
    const warning = { type: "data-budget-warning", data: { limit: "max_cost_usd", used: 0.85, max: 1, runUsage: {} } };
    const model = play([
      ["approval.required", { approvalId: "ap1", kind: "tool", title: "lookup", runUsage: { totalTokens: 40, costUsd: 0.01 } }],
      ["runtime.event", { raw: warning }],
      ["runtime.event", { raw: warning }],
    ]);
    expect(model.nodes[0]).toMatchObject({ type: "approval", runUsage: { totalTokens: 40, costUsd: 0.01 } });
    expect(model.budgetWarnings).toEqual([warning.data]);
  });

  it("shows a revise decision as revise, keeping its feedback", () => {
    const approval = play(PRICE_RUN).nodes[2];
    expect(approval).toMatchObject({ type: "approval", status: "revise", feedback: "use the EU price" });
  });

  it("never shows a repeated or replayed event twice", () => {
    const model = play(PRICE_RUN);
    expect(model.apply({ seq: 3, kind: "sub_agent.call.started", payload: { toolCallId: "c1", targetAgentId: "pricing" } })).toBe(false);
    const again = play([...PRICE_RUN.slice(0, 3), PRICE_RUN[1], PRICE_RUN[2]]);
    expect(again.nodes.filter((n) => n.type === "tool")).toHaveLength(1);
  });

  it("ignores the chatting agent's own lifecycle events", () => {
    const model = play([
      ["sub_agent.call.started", { toolCallId: "own", targetAgentId: "coord" }],
      ["message.delta", { text: "hi" }],
    ]);
    expect(model.nodes.map((n) => n.type)).toEqual(["text"]);
  });

  it("follows a plan from stored draft through approval to its dispatcher summary", () => {
    const plan = { id: "p1", status: "draft", actions: [{ kind: "price_change", payload: { sku: "A-1", new_price: 5 } }], context: { rationale: "margin", title: "Raise A-1" } };
    const model = play([
      ["tool.call.started", { toolCallId: "s1", toolName: "storePlan", arguments: {} }],
      ["tool.call.completed", { toolCallId: "s1", toolName: "storePlan", status: "completed", result: plan }],
      ["tool.call.started", { toolCallId: "e1", toolName: "executePlan", arguments: { planId: "p1" } }],
      ["runtime.event", { raw: { type: "plan-status-change", data: { planId: "p1", from: "draft", to: "pending_approval" } } }],
      ["approval.required", { approvalId: "ap2", kind: "plan", planId: "p1", title: "p1", payload: plan }],
      ["approval.decision", { approvalId: "ap2", status: "approve", raw: {} }],
      ["runtime.event", { raw: { type: "plan-status-change", data: { planId: "p1", from: "draft", to: "approved" } } }],
      ["runtime.event", { raw: { type: "plan-status-change", data: { planId: "p1", from: "approved", to: "executing" } } }],
      ["runtime.event", { raw: { type: "plan-status-change", data: { planId: "p1", from: "executing", to: "executed" } } }],
      ["tool.call.completed", { toolCallId: "e1", toolName: "executePlan", status: "completed", result: { summary: "1 price changed" } }],
    ]);
    const plans = model.nodes.filter((n) => n.type === "plan");
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({
      status: "executed",
      title: "Raise A-1",
      rationale: "margin",
      summary: "1 price changed",
      history: ["draft", "pending_approval", "approved", "executing"],
    });
    expect(plans[0].type === "plan" && plans[0].actions).toEqual([{ kind: "price_change", payload: { sku: "A-1", new_price: 5 } }]);
  });

  it("marks a rejected plan rejected", () => {
    const model = play([
      ["approval.required", { approvalId: "ap3", kind: "plan", planId: "p2", title: "p2", payload: { actions: [] } }],
      ["approval.decision", { approvalId: "ap3", status: "reject", raw: {} }],
    ]);
    expect(model.nodes.find((n) => n.type === "plan")).toMatchObject({ status: "rejected" });
  });

  it("ends a cancelled run with its partial answer and its open calls cancelled", () => {
    const model = play([...PRICE_RUN.slice(0, 6), ["run.cancelled", { status: "cancelled" }]]);
    expect(model.status).toBe("cancelled");
    expect(model.text).toBe("Routing. ");
    const call = model.nodes[1] as ToolNode;
    expect([call.status, call.agent?.status, (call.children[0] as ToolNode).status]).toEqual(["cancelled", "cancelled", "cancelled"]);
  });

  it("rebuilds an answer from stored parts when its events are gone", () => {
    const model = answerFromParts("run_2", [
      { type: "text", text: "Routing. " },
      { type: "tool-agent", toolCallId: "c1", agentName: "pricing", state: "result" },
      { type: "tool-invocation", toolCallId: "c1", toolName: "call_agent", args: { prompt: "p" }, state: "result", result: "ok" },
      { type: "text", text: "Done" },
    ], "Routing. Done");
    expect(model.text).toBe("Routing. Done");
    expect((model.nodes[1] as ToolNode).agent?.agent).toBe("pricing");
  });
});
