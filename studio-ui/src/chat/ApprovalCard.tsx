// The approval card (in the chat and in the inbox): what is asked in one sentence, the
// rationale, the JSON collapsed, and Approve / Reject / Revise with feedback.
import { useState } from "react";
import { Link } from "wouter";
import { errorText, post, seg } from "../api/client";
import { Banner, JsonBlock, StatusBadge } from "../components/ui";
import { shortJson, usageSentence } from "../lib/format";
import { maskText } from "../lib/settings";
import { ApprovalStatus } from "../protocol.gen";
import { readPlan } from "./model";

export interface ApprovalView {
  approvalId: string;
  kind: string;
  title: string;
  toolName?: string;
  planId?: string;
  payload: unknown;
  status: string;
  feedback?: string;
  threadId?: string;
  runId?: string;
  runUsage?: Record<string, unknown>;
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The question of an approval in one sentence. */
export function approvalQuestion(approval: ApprovalView): string {
  if (approval.kind === "plan") {
    const plan = readPlan(approval.payload);
    const count = plan.actions.length;
    const kinds = [...new Set(plan.actions.map((a) => a.kind))].join(", ");
    return `Approve plan ${approval.planId ?? plan.id ?? approval.title} with ${count} action${count === 1 ? "" : "s"}${kinds ? ` (${kinds})` : ""}?`;
  }
  if (approval.kind === "tool") {
    const args = shortJson(approval.payload, 90);
    return `Run tool ${approval.toolName ?? approval.title}${args && args !== "{}" ? ` with ${args}` : ""}?`;
  }
  return `${approval.title}?`;
}

function rationaleOf(approval: ApprovalView): string | undefined {
  const payload = record(approval.payload);
  const text = payload.rationale ?? record(payload.context).rationale ?? payload.reason;
  return typeof text === "string" ? text : undefined;
}

const DONE_LABEL: Record<string, string> = {
  approve: "Approved",
  reject: "Rejected",
  revise: "Sent back for revision",
  expired: "Expired: the run ended before an answer",
  resolved: "Resolved",
};

/**
 * An approval card. `onDecided(status, feedback)` runs after the server took the decision
 * (the run's own `approval.decision` event follows on the stream).
 */
export function ApprovalCard({ approval, workspacePath, mask = false, onDecided }: {
  approval: ApprovalView;
  workspacePath: (path: string) => string;
  mask?: boolean;
  onDecided?: (status: string, feedback?: string) => void;
}) {
  const [feedback, setFeedback] = useState("");
  const [partial, setPartial] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const pending = approval.status === ApprovalStatus.Pending;
  const shown = (text: string) => (mask ? maskText(text) : text);
  const rationale = rationaleOf(approval);
  const usage = usageSentence(approval.runUsage);

  async function decide(outcome: "approve" | "reject" | "revise") {
    const body: Record<string, unknown> = { outcome };
    if (outcome === "revise" && !feedback.trim()) {
      setProblem("Say what to change in the feedback before sending it back for revision.");
      return;
    }
    if (feedback.trim()) body.feedback = feedback.trim();
    if (outcome === "revise" && partial.trim()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(partial);
      } catch {
        setProblem("The partial must be valid JSON.");
        return;
      }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        setProblem("The partial must be a JSON object.");
        return;
      }
      body.partial = parsed;
    }
    setBusy(true);
    setProblem(null);
    try {
      const answer = await post<{ status: string }>(workspacePath(`/approvals/${seg(approval.approvalId)}/respond`), body);
      onDecided?.(answer.status, feedback.trim() || undefined);
    } catch (err) {
      setProblem(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  const question = approvalQuestion(approval);
  return (
    <section className={`approval${pending ? "" : " decided"}`} aria-label={`Approval: ${question}`} data-approval-id={approval.approvalId}>
      <div className="row">
        <span className="ask">{shown(question)}</span>
        <span className="chip">{approval.kind}</span>
        <StatusBadge status={approval.status} />
      </div>
      {rationale ? <p>{shown(rationale)}</p> : null}
      {usage ? (
        <p className="muted" data-usage="">
          {usage}
        </p>
      ) : null}
      {approval.threadId || approval.runId ? (
        <div className="muted">
          {approval.threadId ? <>thread <Link href={`/playground/${seg(approval.threadId)}`}>{approval.threadId}</Link></> : null}
          {approval.runId ? <> · run <Link href={`/runs/${seg(approval.runId)}`}>{approval.runId}</Link></> : null}
        </div>
      ) : null}
      <JsonBlock title="Details (JSON)" value={approval.payload} />
      {pending ? (
        <div className="stack">
          <label className="field">
            <span>Feedback (kept with the decision; required to revise)</span>
            <textarea aria-label="Feedback" rows={2} value={feedback} onChange={(e) => setFeedback(e.target.value)} />
          </label>
          <details>
            <summary className="muted">Partial changes for Revise (JSON object)</summary>
            <textarea aria-label="Partial JSON" rows={2} value={partial} onChange={(e) => setPartial(e.target.value)} />
          </details>
          <div className="row">
            <button type="button" disabled={busy} onClick={() => decide("approve")}>
              Approve
            </button>
            <button type="button" className="danger" disabled={busy} onClick={() => decide("reject")}>
              Reject
            </button>
            <button type="button" className="ghost" disabled={busy} onClick={() => decide("revise")}>
              Revise
            </button>
          </div>
        </div>
      ) : (
        <p className="decision" role="status">
          {DONE_LABEL[approval.status] ?? approval.status}
          {approval.feedback ? <>: “{shown(approval.feedback)}”</> : null}
        </p>
      )}
      {problem ? <Banner>{problem}</Banner> : null}
    </section>
  );
}
