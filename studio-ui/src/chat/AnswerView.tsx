// One assistant answer: Markdown text, collapsible reasoning, compact tool cards (sub-agent
// calls nested under the call_agent that made them), plan cards and approval cards.
import { memo } from "react";
import { JsonBlock, StatusBadge } from "../components/ui";
import { budgetWarningSentence, duration, label, shortJson } from "../lib/format";
import { maskText } from "../lib/settings";
import { PlanStatus } from "../protocol.gen";
import { ApprovalCard } from "./ApprovalCard";
import { Markdown } from "./Markdown";
import type { AnswerModel, AnswerNode, ApprovalNode, PlanNode, ToolNode } from "./model";

interface ViewOptions {
  mask: boolean;
  workspacePath: (path: string) => string;
  onDecided: (approvalId: string, status: string, feedback?: string) => void;
}

function CallState({ status }: { status: string }) {
  if (status === "running") {
    return (
      <span className="row" role="status">
        <span className="spinner" aria-hidden="true" /> <span className="visually-hidden">running</span>
      </span>
    );
  }
  return <StatusBadge status={status} />;
}

const ToolCard = memo(function ToolCard({ node, options }: { node: ToolNode; rev: number; options: ViewOptions }) {
  const agent = node.agent;
  const title = agent ? `sub-agent ${agent.agent}` : `tool ${node.name}`;
  const args = agent ? agent.message : shortJson(node.args, 70);
  const shown = (text: string) => (options.mask ? maskText(text) : text);
  return (
    <details className="call" open={node.status === "running" && Boolean(agent)} data-tool={node.name} data-agent={agent?.agent} data-status={node.status} aria-label={title}>
      <summary>
        <CallState status={agent ? agent.status : node.status} />
        <strong>{agent ? agent.agent : node.name}</strong>
        <span className="muted">{agent ? "sub-agent" : "tool"}</span>
        <span className="call-args">{shown(args)}</span>
        {node.durationMs !== undefined ? <span className="muted">{duration(node.durationMs)}</span> : null}
      </summary>
      <div className="call-body">
        {node.children.length ? (
          <div className="call-children">
            <NodeList nodes={node.children} options={options} />
          </div>
        ) : null}
        {agent?.response ? (
          <div className="agent-response">
            <div className="muted">{agent.agent} answered:</div>
            <Markdown text={agent.response} mask={options.mask} />
          </div>
        ) : null}
        <JsonBlock title="Input" value={node.args ?? {}} />
        {node.status !== "running" && node.result !== undefined ? <JsonBlock title="Output" value={node.result} /> : null}
      </div>
    </details>
  );
});

const PLAN_FLOW = [PlanStatus.Draft, PlanStatus.PendingApproval, PlanStatus.Approved, PlanStatus.Executing, PlanStatus.Executed];

const PlanCard = memo(function PlanCard({ node, options }: { node: PlanNode; rev: number; options: ViewOptions }) {
  const shown = (text: string) => (options.mask ? maskText(text) : text);
  return (
    <section className="plan" aria-label={`Plan ${node.planId}`} data-plan-id={node.planId}>
      <div className="row">
        <strong>{node.title ? shown(node.title) : `Plan ${node.planId}`}</strong>
        <StatusBadge status={node.status} />
      </div>
      <ol className="plan-steps" aria-label="Plan lifecycle">
        {PLAN_FLOW.map((step) => (
          <li key={step} aria-current={step === node.status ? "step" : undefined} className={step === node.status ? "tone-live" : ""}>
            {label(step)}
            {step !== PlanStatus.Executed ? " →" : ""}
          </li>
        ))}
      </ol>
      {node.rationale ? <p>{shown(node.rationale)}</p> : null}
      {node.actions.length ? (
        <div className="table-wrap">
          <table aria-label="Plan actions">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Kind</th>
                <th scope="col">Target</th>
                <th scope="col">Payload</th>
              </tr>
            </thead>
            <tbody>
              {node.actions.map((action, index) => {
                const target = Object.entries(action.payload).find(([k]) => /(^id$|_id$|Id$|target|sku|name)/.test(k));
                return (
                  <tr key={index}>
                    <td>{index + 1}</td>
                    <td>{label(action.kind)}</td>
                    <td>{target ? shown(String(target[1])) : ""}</td>
                    <td className="call-args">{shown(shortJson(action.payload, 120))}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {node.summary ? (
        <p>
          <strong>Dispatcher:</strong> {shown(node.summary)}
        </p>
      ) : null}
    </section>
  );
});

const ApprovalItem = memo(function ApprovalItem({ node, options }: { node: ApprovalNode; rev: number; options: ViewOptions }) {
  return (
    <ApprovalCard
      approval={node}
      workspacePath={options.workspacePath}
      mask={options.mask}
      onDecided={(status, feedback) => options.onDecided(node.approvalId, status, feedback)}
    />
  );
});

function NodeList({ nodes, options }: { nodes: AnswerNode[]; options: ViewOptions }) {
  return (
    <>
      {nodes.map((node) => {
        switch (node.type) {
          case "text":
            return <Markdown key={node.key} text={node.text} mask={options.mask} />;
          case "reasoning":
            return (
              <details key={node.key} className="reasoning">
                <summary>Reasoning</summary>
                <Markdown text={node.text} mask={options.mask} />
              </details>
            );
          case "tool":
            return <ToolCard key={node.key} node={node} rev={node.rev} options={options} />;
          case "plan":
            return <PlanCard key={node.key} node={node} rev={node.rev} options={options} />;
          case "approval":
            return <ApprovalItem key={node.key} node={node} rev={node.rev} options={options} />;
          default:
            return null;
        }
      })}
    </>
  );
}

/** An assistant message. `version` is the model's version (re-render on change). */
export const AnswerView = memo(function AnswerView({ model, options, showLatency }: {
  model: AnswerModel;
  version: number;
  options: ViewOptions;
  showLatency: boolean;
}) {
  const status = model.status;
  return (
    <article className="msg assistant" aria-label="Assistant message" data-status={status === "streaming" ? "streaming" : status} data-run-id={model.runId}>
      <div className="role">
        assistant {status === "streaming" ? <span className="spinner" aria-label="Answering" /> : status !== "completed" ? <StatusBadge status={status} /> : null}
      </div>
      <NodeList nodes={model.nodes} options={options} />
      {model.budgetWarnings.map((warning) => (
        <p key={String(warning.limit)} className="banner banner-warn" role="status" data-budget-warning={String(warning.limit)}>
          {budgetWarningSentence(warning)}
        </p>
      ))}
      {status === "cancelled" ? <p className="muted">Stopped. The partial answer is kept.</p> : null}
      {model.error && status === "failed" ? <p className="tone-bad">{model.error}</p> : null}
      {showLatency && model.durationMs !== null ? (
        <div className="latency" aria-label="Latency">
          {duration(model.durationMs)}
          {model.usage ? ` · ${model.usage.inputTokens ?? 0} in / ${model.usage.outputTokens ?? 0} out tokens` : ""}
        </div>
      ) : null}
    </article>
  );
});
