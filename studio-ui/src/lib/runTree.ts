// A run's events as a tree: agent -> turn -> text / tool / sub-agent, with durations, tokens
// and cost per node; streamed text chunks are merged into one node.
import type { RunEventRow } from "../api/types";
import { ChatEventKind, RuntimeEventType } from "../protocol.gen";

export interface TreeNode {
  id: string;
  kind: "agent" | "turn" | "text" | "tool" | "approval" | "plan" | "event";
  label: string;
  status?: string;
  durationMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  text?: string;
  input?: unknown;
  output?: unknown;
  startedAt?: string;
  endedAt?: string;
  children: TreeNode[];
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function num(value: unknown): number {
  return typeof value === "number" ? value : 0;
}

function elapsed(from?: string, to?: string): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** Build the tree of a run from its stored events (ascending seq). */
export function buildRunTree(events: RunEventRow[], agentId: string): TreeNode {
  const root: TreeNode = { id: "root", kind: "agent", label: agentId || "run", status: "running", children: [], startedAt: events[0]?.createdAt };
  const stack: TreeNode[] = [root];
  const turns = new Map<TreeNode, TreeNode>();
  const calls = new Map<string, TreeNode>();
  let counter = 0;
  const id = (prefix: string) => `${prefix}-${++counter}`;
  const parent = () => {
    const agent = stack[stack.length - 1];
    return turns.get(agent) ?? agent;
  };
  const appendText = (into: TreeNode, text: string, at: string) => {
    const last = into.children[into.children.length - 1];
    if (last && last.kind === "text") {
      last.text = (last.text ?? "") + text;
      last.endedAt = at;
      return;
    }
    into.children.push({ id: id("text"), kind: "text", label: "text", text, startedAt: at, endedAt: at, children: [] });
  };

  for (const row of events) {
    const payload = record(row.event?.payload);
    const at = row.createdAt;
    switch (row.kind) {
      case ChatEventKind.MessageDelta:
        appendText(parent(), str(payload.text), at);
        break;
      case ChatEventKind.ToolCallStarted: {
        const node: TreeNode = { id: id("tool"), kind: "tool", label: str(payload.toolName), status: "running", input: payload.arguments, startedAt: at, children: [] };
        calls.set(str(payload.toolCallId), node);
        parent().children.push(node);
        break;
      }
      case ChatEventKind.ToolCallCompleted: {
        const node = calls.get(str(payload.toolCallId));
        if (!node) break;
        node.status = payload.isError ? "error" : "completed";
        node.output = payload.result;
        node.endedAt = at;
        node.durationMs = typeof payload.durationMs === "number" ? payload.durationMs : elapsed(node.startedAt, at);
        break;
      }
      case ChatEventKind.SubAgentCallStarted: {
        const target = str(payload.targetAgentId);
        const holder = calls.get(str(payload.toolCallId));
        if (!holder && target === (row.event?.agentId ?? agentId)) break;
        const node: TreeNode = { id: id("agent"), kind: "agent", label: target, status: "running", input: payload.message, startedAt: at, children: [] };
        (holder ?? parent()).children.push(node);
        calls.set(`agent:${str(payload.toolCallId)}`, node);
        stack.push(node);
        break;
      }
      case ChatEventKind.SubAgentCallCompleted: {
        const node = calls.get(`agent:${str(payload.toolCallId)}`);
        if (!node) break;
        node.status = str(payload.status) || "completed";
        node.output = record(payload.result).response;
        node.endedAt = at;
        node.durationMs = elapsed(node.startedAt, at);
        const at_ = stack.indexOf(node);
        if (at_ > 0) stack.splice(at_);
        break;
      }
      case ChatEventKind.ApprovalRequired:
        parent().children.push({ id: id("approval"), kind: "approval", label: `approval: ${str(payload.title)}`, status: "pending", input: payload.payload, startedAt: at, children: [] });
        break;
      case ChatEventKind.ApprovalDecision: {
        const pending = [...parent().children].reverse().find((n) => n.kind === "approval" && n.status === "pending");
        if (pending) {
          pending.status = str(payload.status);
          pending.endedAt = at;
          pending.durationMs = elapsed(pending.startedAt, at);
        }
        break;
      }
      case ChatEventKind.RuntimeFinish: {
        const usage = record(record(payload.raw).usage);
        const agent = stack[stack.length - 1];
        agent.inputTokens = (agent.inputTokens ?? 0) + num(usage.promptTokens);
        agent.outputTokens = (agent.outputTokens ?? 0) + num(usage.completionTokens);
        break;
      }
      case ChatEventKind.RuntimeEvent: {
        const raw = record(payload.raw);
        const agent = stack[stack.length - 1];
        if (raw.type === RuntimeEventType.StepStart) {
          const turn: TreeNode = { id: id("turn"), kind: "turn", label: `turn ${agent.children.filter((c) => c.kind === "turn").length + 1}`, startedAt: at, children: [] };
          const previous = turns.get(agent);
          if (previous) previous.durationMs = elapsed(previous.startedAt, at);
          agent.children.push(turn);
          turns.set(agent, turn);
        } else if (raw.type === RuntimeEventType.Text) {
          appendText(parent(), str(raw.text), at);
        } else if (raw.type === RuntimeEventType.PlanStatusChange) {
          const data = record(raw.data);
          parent().children.push({ id: id("plan"), kind: "plan", label: `plan ${str(data.planId)}: ${str(data.from)} → ${str(data.to)}`, status: str(data.to), startedAt: at, children: [] });
        } else if (raw.type === RuntimeEventType.DataCostSummary) {
          const cost = record(raw.data).totalCostUsd;
          if (typeof cost === "number") agent.costUsd = (agent.costUsd ?? 0) + cost;
        }
        break;
      }
      case ChatEventKind.RunCompleted:
      case ChatEventKind.RunFailed:
      case ChatEventKind.RunCancelled: {
        root.status = row.kind.replace("run.", "");
        root.endedAt = at;
        root.durationMs = typeof payload.durationMs === "number" ? payload.durationMs : elapsed(root.startedAt, at);
        const usage = record(payload.usage);
        if (!root.inputTokens && typeof usage.inputTokens === "number") root.inputTokens = usage.inputTokens;
        if (!root.outputTokens && typeof usage.outputTokens === "number") root.outputTokens = usage.outputTokens;
        if (row.kind === ChatEventKind.RunFailed) root.output = record(payload.error).message;
        for (const node of calls.values()) if (node.status === "running") node.status = root.status === "completed" ? "completed" : "cancelled";
        break;
      }
      default:
        break;
    }
  }
  for (const [agent, turn] of turns) if (turn.durationMs === undefined) turn.durationMs = elapsed(turn.startedAt, agent.endedAt ?? root.endedAt);
  return root;
}
