// The model of one assistant answer: chat run envelopes in, a tree of nodes out.
//
// The same reducer serves a live stream, a re-attached stream and a reopened thread (the stored
// run events replayed), so an answer looks the same in all three. Sub-agent calls nest under
// the `call_agent` tool call that made them (same call id), and the tools a sub-agent calls nest
// under it. Approvals and plans sit at the top of the answer, where they can be acted on.
import type { MessagePart, StudioEnvelope } from "../api/types";
import { ApprovalStatus, ChatEventKind, PlanStatus, RuntimeEventType } from "../protocol.gen";

export type CallStatus = "running" | "completed" | "error" | "cancelled";
export type AnswerStatus = "streaming" | "completed" | "failed" | "cancelled";

interface NodeBase {
  key: string;
  /** Bumped on every change of the node or of a node below it (memoised rendering). */
  rev: number;
  parent: ContainerNode | null;
}

export interface TextNode extends NodeBase {
  type: "text";
  text: string;
}

export interface ReasoningNode extends NodeBase {
  type: "reasoning";
  text: string;
}

export interface AgentCall {
  agent: string;
  message: string;
  status: CallStatus;
  /** The sub-agent's answer (streamed while it works, final once it completes). */
  response: string;
}

export interface ToolNode extends NodeBase {
  type: "tool";
  callId: string;
  name: string;
  args: unknown;
  status: CallStatus;
  result?: unknown;
  durationMs?: number;
  /** Set when this call ran a sub-agent (a `call_agent` call, or a bare sub-agent call). */
  agent?: AgentCall;
  children: AnswerNode[];
}

export interface ApprovalNode extends NodeBase {
  type: "approval";
  approvalId: string;
  kind: string;
  title: string;
  toolName?: string;
  planId?: string;
  payload: unknown;
  status: string;
  feedback?: string;
  /** What the run had used when it asked (tokens, cost, model and tool calls). */
  runUsage?: Record<string, unknown>;
}

export interface PlanAction {
  kind: string;
  payload: Record<string, unknown>;
}

export interface PlanNode extends NodeBase {
  type: "plan";
  planId: string;
  title?: string;
  rationale?: string;
  actions: PlanAction[];
  status: string;
  history: string[];
  summary?: string;
}

export type AnswerNode = TextNode | ReasoningNode | ToolNode | ApprovalNode | PlanNode;
type ContainerNode = ToolNode;

export interface AnswerUsage {
  inputTokens?: number;
  outputTokens?: number;
}

const CALL_AGENT = "call_agent";
const STORE_PLAN = "storePlan";
const EXECUTE_PLAN = "executePlan";

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** A plan body (storePlan result or plan approval payload) as title, rationale and actions. */
export function readPlan(value: unknown): { id?: string; title?: string; rationale?: string; actions: PlanAction[] } {
  const plan = record(value);
  const context = record(plan.context);
  const rawActions = Array.isArray(plan.actions) ? plan.actions : [];
  const actions = rawActions.map((item) => {
    const action = record(item);
    const payload = action.payload !== undefined ? record(action.payload) : Object.fromEntries(Object.entries(action).filter(([k]) => k !== "kind" && k !== "references"));
    return { kind: text(action.kind) || "action", payload };
  });
  return {
    id: text(plan.id) || undefined,
    title: text(context.title) || text(plan.title) || text(plan.description) || undefined,
    rationale: text(context.rationale) || text(plan.rationale) || text(context.summary) || undefined,
    actions,
  };
}

/** One assistant answer being built from envelopes; `version` changes on every change. */
export class AnswerModel {
  readonly nodes: AnswerNode[] = [];
  status: AnswerStatus = "streaming";
  error: string | null = null;
  lastSeq = 0;
  version = 0;
  usage: AnswerUsage | null = null;
  durationMs: number | null = null;
  /** `data-budget-warning` events of the run, as they came (one per limit). */
  budgetWarnings: Record<string, unknown>[] = [];
  private readonly calls = new Map<string, ToolNode>();
  private readonly approvals = new Map<string, ApprovalNode>();
  private readonly plans = new Map<string, PlanNode>();
  private readonly open: ToolNode[] = [];
  private nextKey = 0;

  constructor(
    readonly runId: string,
    readonly agentId: string | null = null,
  ) {}

  /** Whether the answer still waits for events. */
  get live(): boolean {
    return this.status === "streaming";
  }

  /** The plain text of the top-level answer (for exports and tests). */
  get text(): string {
    return this.nodes.map((node) => (node.type === "text" ? node.text : "")).join("");
  }

  private key(prefix: string): string {
    this.nextKey += 1;
    return `${prefix}-${this.nextKey}`;
  }

  private touch(node: AnswerNode): void {
    for (let current: AnswerNode | null = node; current; current = current.parent) current.rev += 1;
  }

  private container(): AnswerNode[] {
    const top = this.open[this.open.length - 1];
    return top ? top.children : this.nodes;
  }

  private add(node: AnswerNode, list: AnswerNode[] = this.container()): void {
    node.parent = list === this.nodes ? null : (this.open[this.open.length - 1] ?? null);
    list.push(node);
    if (node.parent) this.touch(node.parent);
  }

  /**
   * Apply one envelope. Returns false for an envelope already applied (seq not above the last),
   * which a re-attached stream may repeat.
   */
  apply(envelope: StudioEnvelope): boolean {
    if (typeof envelope.seq === "number") {
      if (envelope.seq <= this.lastSeq) return false;
      this.lastSeq = envelope.seq;
    }
    const payload = record(envelope.payload);
    this.version += 1;
    switch (envelope.kind) {
      case ChatEventKind.MessageDelta:
        this.appendText(text(payload.text));
        break;
      case ChatEventKind.ToolCallStarted:
        this.toolStarted(text(payload.toolCallId), text(payload.toolName), payload.arguments);
        break;
      case ChatEventKind.ToolCallCompleted:
        this.toolCompleted(payload);
        break;
      case ChatEventKind.SubAgentCallStarted:
        this.agentStarted(text(payload.toolCallId), text(payload.targetAgentId), text(payload.message), envelope.agentId);
        break;
      case ChatEventKind.SubAgentCallCompleted:
        this.agentCompleted(text(payload.toolCallId), payload);
        break;
      case ChatEventKind.ApprovalRequired:
        this.approvalRequired(payload);
        break;
      case ChatEventKind.ApprovalDecision:
        this.approvalDecided(text(payload.approvalId), text(payload.status), record(payload.raw));
        break;
      case ChatEventKind.RuntimeEvent:
        this.runtimeEvent(record(payload.raw));
        break;
      case ChatEventKind.RunCompleted:
        this.finish("completed", payload);
        break;
      case ChatEventKind.RunCancelled:
        this.finish("cancelled", payload);
        break;
      case ChatEventKind.RunFailed: {
        const error = record(payload.error);
        this.error = text(error.message) || "The run failed.";
        this.finish("failed", payload);
        break;
      }
      default:
        this.version -= 1;
        return true;
    }
    return true;
  }

  private appendText(delta: string): void {
    if (!delta) return;
    const last = this.nodes[this.nodes.length - 1];
    if (last && last.type === "text") {
      last.text += delta;
      this.touch(last);
      return;
    }
    this.add({ type: "text", key: this.key("text"), rev: 0, parent: null, text: delta }, this.nodes);
  }

  private toolStarted(callId: string, name: string, args: unknown): ToolNode {
    const known = this.calls.get(callId);
    if (known) return known;
    const node: ToolNode = { type: "tool", key: this.key("tool"), rev: 0, parent: null, callId, name, args, status: "running", children: [] };
    this.calls.set(callId, node);
    this.add(node);
    return node;
  }

  private toolCompleted(payload: Record<string, unknown>): void {
    const callId = text(payload.toolCallId);
    const node = this.calls.get(callId) ?? this.toolStarted(callId, text(payload.toolName), undefined);
    node.result = payload.result;
    node.status = payload.isError || payload.status === "error" || payload.status === "failed" ? "error" : "completed";
    if (typeof payload.durationMs === "number") node.durationMs = payload.durationMs;
    if (node.agent && node.agent.status === "running") node.agent.status = node.status;
    this.closeCall(node);
    this.touch(node);
    if (node.status === "completed" && node.name === STORE_PLAN) this.planStored(node.result);
    if (node.name === EXECUTE_PLAN) this.planExecuted(node);
  }

  private closeCall(node: ToolNode): void {
    const at = this.open.indexOf(node);
    if (at >= 0) this.open.splice(at);
  }

  private agentStarted(callId: string, agent: string, message: string, runAgent: string | undefined): void {
    let node = this.calls.get(callId);
    // The chatting agent's own lifecycle (no call_agent made it) is not a sub-agent call.
    if (!node && agent === (runAgent ?? this.agentId)) return;
    if (!node) node = this.toolStarted(callId, CALL_AGENT, { agent, prompt: message });
    if (node.agent) return;
    node.agent = { agent, message, status: "running", response: "" };
    this.open.push(node);
    this.touch(node);
  }

  private agentCompleted(callId: string, payload: Record<string, unknown>): void {
    const node = this.calls.get(callId);
    if (!node || !node.agent) return;
    const response = text(record(payload.result).response);
    if (response) node.agent.response = response;
    node.agent.status = payload.status === "cancelled" ? "cancelled" : "completed";
    this.closeCall(node);
    this.touch(node);
  }

  private approvalRequired(payload: Record<string, unknown>): void {
    const approvalId = text(payload.approvalId);
    if (!approvalId || this.approvals.has(approvalId)) return;
    const raw = record(record(payload.raw).data);
    const node: ApprovalNode = {
      type: "approval",
      key: this.key("approval"),
      rev: 0,
      parent: null,
      approvalId,
      kind: text(payload.kind) || "custom",
      title: text(payload.title) || "Approval required",
      toolName: text(payload.toolName) || undefined,
      planId: text(payload.planId) || undefined,
      payload: payload.payload ?? raw.payload,
      status: ApprovalStatus.Pending,
      runUsage: Object.keys(record(payload.runUsage ?? raw.runUsage)).length ? record(payload.runUsage ?? raw.runUsage) : undefined,
    };
    this.approvals.set(approvalId, node);
    this.add(node, this.nodes);
    if (node.kind === "plan" && node.planId) {
      const plan = this.plan(node.planId, node.payload);
      this.planStatus(plan, PlanStatus.PendingApproval);
    }
  }

  private approvalDecided(approvalId: string, status: string, raw: Record<string, unknown>): void {
    const node = this.approvals.get(approvalId);
    if (!node) return;
    node.status = status || ApprovalStatus.Resolved;
    const feedback = text(raw.feedback);
    if (feedback) node.feedback = feedback;
    this.touch(node);
    const plan = node.planId ? this.plans.get(node.planId) : undefined;
    if (plan && status === ApprovalStatus.Reject) this.planStatus(plan, "rejected");
    if (plan && status === ApprovalStatus.Revise) this.planStatus(plan, "revise requested");
  }

  /** Reflect a decision made here before the server's event arrives. */
  markDecided(approvalId: string, status: string, feedback?: string): void {
    const node = this.approvals.get(approvalId);
    if (!node || node.status !== ApprovalStatus.Pending) return;
    this.version += 1;
    this.approvalDecided(approvalId, status, feedback ? { feedback } : {});
  }

  private runtimeEvent(raw: Record<string, unknown>): void {
    const data = record(raw.data);
    switch (raw.type) {
      case RuntimeEventType.PlanStatusChange: {
        const plan = this.plan(text(data.planId));
        this.planStatus(plan, text(data.to));
        break;
      }
      case RuntimeEventType.Reasoning: {
        const list = this.container();
        const last = list[list.length - 1];
        if (last && last.type === "reasoning") {
          last.text += text(raw.text);
          this.touch(last);
        } else this.add({ type: "reasoning", key: this.key("reasoning"), rev: 0, parent: null, text: text(raw.text) });
        break;
      }
      case RuntimeEventType.Text: {
        // A sub-agent's own text (hidden from the answer): shown inside its card while it works.
        const top = this.open[this.open.length - 1];
        if (top?.agent) {
          top.agent.response += text(raw.text);
          this.touch(top);
        }
        break;
      }
      case RuntimeEventType.DataBudgetWarning:
        if (!this.budgetWarnings.some((w) => w.limit === data.limit)) this.budgetWarnings.push(data);
        break;
      default:
        this.version -= 1;
    }
  }

  private plan(planId: string, body?: unknown): PlanNode {
    let node = this.plans.get(planId);
    if (!node) {
      node = { type: "plan", key: this.key("plan"), rev: 0, parent: null, planId, actions: [], status: PlanStatus.Draft, history: [] };
      this.plans.set(planId, node);
      this.add(node, this.nodes);
    }
    if (body !== undefined) {
      const read = readPlan(body);
      if (read.actions.length) node.actions = read.actions;
      node.title = read.title ?? node.title;
      node.rationale = read.rationale ?? node.rationale;
      this.touch(node);
    }
    return node;
  }

  private planStatus(node: PlanNode, status: string): void {
    if (!status || node.status === status) return;
    node.history.push(node.status);
    node.status = status;
    this.touch(node);
  }

  private planStored(result: unknown): void {
    const read = readPlan(result);
    if (!read.id) return;
    const node = this.plan(read.id, result);
    const status = text(record(result).status);
    if (status) this.planStatus(node, status);
  }

  private planExecuted(node: ToolNode): void {
    const planId = text(record(node.args).planId);
    const plan = planId ? this.plans.get(planId) : undefined;
    const result = record(node.result);
    if (!plan) return;
    const summary = text(result.summary);
    if (summary) plan.summary = summary;
    else if (node.status === "error") plan.summary = text(result.error) || undefined;
    this.touch(plan);
  }

  private finish(status: AnswerStatus, payload: Record<string, unknown>): void {
    this.status = status;
    if (typeof payload.durationMs === "number") this.durationMs = payload.durationMs;
    const usage = record(payload.usage);
    if (Object.keys(usage).length) this.usage = usage as AnswerUsage;
    if (status !== "completed") this.cancelOpen(status === "failed" ? "error" : "cancelled");
  }

  /** Mark every call still running as ended (`cancelled` by default). */
  cancelOpen(status: CallStatus = "cancelled"): void {
    for (const node of this.calls.values()) {
      if (node.status === "running") {
        node.status = status;
        if (node.agent && node.agent.status === "running") node.agent.status = status;
        this.touch(node);
      }
    }
    this.open.length = 0;
    this.version += 1;
  }

  /** The stream ended without a terminal event. */
  interrupted(message: string): void {
    if (!this.live) return;
    this.error = message;
    this.status = "failed";
    this.cancelOpen("error");
  }
}

/**
 * Build an answer from the parts of a stored message (when its run events are not available,
 * for example an eval sample's answer).
 */
export function answerFromParts(runId: string, parts: MessagePart[], content: string, status?: string): AnswerModel {
  const model = new AnswerModel(runId);
  let seq = 0;
  const emit = (kind: string, payload: Record<string, unknown>) => model.apply({ seq: ++seq, kind, payload });
  const agents = new Map<string, string>();
  const seen = new Set<string>();
  if (!parts.length && content) emit(ChatEventKind.MessageDelta, { text: content });
  for (const part of parts) {
    if (part.type === "text") emit(ChatEventKind.MessageDelta, { text: part.text ?? "" });
    else if (part.type === "tool-agent" && part.toolCallId) agents.set(part.toolCallId, part.agentName ?? "");
    else if (part.type === "tool-invocation" && part.toolCallId && !seen.has(part.toolCallId)) {
      seen.add(part.toolCallId);
      const callId = part.toolCallId;
      emit(ChatEventKind.ToolCallStarted, { toolCallId: callId, toolName: part.toolName, arguments: part.args });
      const agent = agents.get(callId);
      if (agent) emit(ChatEventKind.SubAgentCallStarted, { toolCallId: callId, targetAgentId: agent, message: text(record(part.args).prompt) });
      if (part.state === "cancelled") continue;
      if (agent) emit(ChatEventKind.SubAgentCallCompleted, { toolCallId: callId, status: "completed" });
      emit(ChatEventKind.ToolCallCompleted, { toolCallId: callId, toolName: part.toolName, status: "completed", result: part.result });
    }
  }
  if (status === "cancelled") emit(ChatEventKind.RunCancelled, { status: "cancelled" });
  else if (status === "failed") emit(ChatEventKind.RunFailed, { error: { message: "The run failed." } });
  else emit(ChatEventKind.RunCompleted, { status: "completed" });
  return model;
}
