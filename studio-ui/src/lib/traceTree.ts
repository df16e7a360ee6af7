// A stored trace as the same tree the run timeline shows (agent -> turn -> tool / sub-agent,
// with durations, tokens, cost, inputs and outputs): a run trace (`root`, the runtime's run
// tree) as it is, an eval sample's tool steps nested by the depth of the agent that made them.
import type { TreeNode } from "./runTree";

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** A trace payload (`{kind: inline, value}` or `{kind: omitted, reason}`) as shown. */
export function payloadValue(payload: unknown): unknown {
  const p = record(payload);
  if (p.kind === "inline") return p.value;
  if (p.kind === "omitted") return `(${str(p.reason) || "omitted"})`;
  return payload ?? undefined;
}

const KINDS: Record<string, TreeNode["kind"]> = { run: "agent", agent: "agent", turn: "turn", tool: "tool", approval: "approval", planDispatch: "plan" };

function runNode(node: Record<string, unknown>, id: string): TreeNode {
  const type = str(node.type);
  const usage = record(node.usage);
  let label = str(node.name) || type;
  if (type === "run") label = `run · ${label}`;
  if (type === "approval") label = `${str(node.approvalKind) || "approval"} ${str(node.target)}`.trim();
  if (type === "turn" && node.model) label = `${label} · ${str(node.model)}`;
  const out: TreeNode = {
    id,
    kind: KINDS[type] ?? "event",
    label,
    status: str(node.decision) || str(node.status) || undefined,
    durationMs: num(node.durationMs),
    inputTokens: num(usage.inputTokens),
    outputTokens: num(usage.outputTokens),
    costUsd: num(node.costUsd),
    startedAt: str(node.startedAt) || undefined,
    children: [],
  };
  if (type === "tool") {
    out.input = payloadValue(node.arguments);
    if (node.result !== undefined) out.output = payloadValue(node.result);
  }
  if (node.error) out.output = { error: node.error };
  const children = Array.isArray(node.children) ? node.children : [];
  out.children = children.map((child, i) => runNode(record(child), `${id}.${i}`));
  return out;
}

function stepsTree(trace: Record<string, unknown>, steps: Record<string, unknown>[]): TreeNode {
  const provenance = record(trace.provenance);
  const root: TreeNode = {
    id: "t",
    kind: "agent",
    label: str(provenance.entryAgent) || str(trace.entryAgent) || "sample",
    status: str(trace.status) || undefined,
    durationMs: num(trace.durationMs),
    input: trace.input,
    output: trace.responseText,
    children: [],
  };
  const open: { depth: number; node: TreeNode }[] = [{ depth: 0, node: root }];
  steps.forEach((step, i) => {
    const depth = num(step.depth) ?? 1;
    while (open.length > 1 && open[open.length - 1].depth >= depth) open.pop();
    const parent = open[open.length - 1].node;
    const agent = str(step.agent);
    // a step of another agent than its parent's: that agent's frame, under the call that made it
    let holder = parent;
    if (agent && depth > 1 && parent.kind === "tool") {
      holder = parent.children.find((c) => c.kind === "agent" && c.label === agent) ?? { id: `t.${i}a`, kind: "agent", label: agent, children: [] };
      if (!parent.children.includes(holder)) parent.children.push(holder);
    }
    const node: TreeNode = {
      id: `t.${i}`,
      kind: "tool",
      label: str(step.toolName) || "step",
      status: step.error ? "failed" : step.result === null ? "running" : "completed",
      input: payloadValue(step.arguments),
      output: step.error ? { error: step.error } : step.result ? payloadValue(step.result) : undefined,
      children: [],
    };
    holder.children.push(node);
    open.push({ depth, node });
  });
  return root;
}

/** The tree of a stored trace, or null when it has neither a run tree nor steps. */
export function traceTree(trace: unknown): TreeNode | null {
  const t = record(trace);
  if (t.root && typeof t.root === "object") return runNode(record(t.root), "r");
  if (Array.isArray(t.steps)) return stepsTree(t, t.steps.map(record));
  return null;
}
