// The approvals inbox: every approval of the workspace, pending first, answerable here
// without the chat open (the run waits on the server).
import { useEffect } from "react";
import { errorText } from "../api/client";
import type { ApprovalRow } from "../api/types";
import { ApprovalCard, type ApprovalView } from "../chat/ApprovalCard";
import { Banner, Empty, Loading, PageHeader } from "../components/ui";
import { useApi, usePoll } from "../lib/hooks";
import { ApprovalStatus } from "../protocol.gen";
import { useStudio } from "../shell/studio";

function text(value: unknown): string | undefined {
  return typeof value === "string" && value ? value : undefined;
}

/** An approval row as the card shows it. */
export function approvalView(row: ApprovalRow): ApprovalView {
  const payload = row.payload ?? {};
  return {
    approvalId: row.approvalId,
    kind: text(payload.kind) ?? "custom",
    title: text(payload.title) ?? "Approval required",
    toolName: text(payload.toolName),
    planId: text(payload.planId),
    payload: payload.payload ?? payload,
    status: row.status,
    feedback: text(payload.feedback),
    threadId: row.threadId,
    runId: row.runId,
    runUsage: payload.runUsage && typeof payload.runUsage === "object" ? (payload.runUsage as Record<string, unknown>) : undefined,
  };
}

export default function Approvals() {
  const { ws, settings } = useStudio();
  const approvals = useApi<{ approvals: ApprovalRow[] }>(ws("/approvals"));
  useEffect(() => {
    document.title = "Approvals";
  }, []);
  usePoll(approvals.reload, 4000, true);
  const rows = [...(approvals.data?.approvals ?? [])].sort(
    (a, b) => Number(b.status === ApprovalStatus.Pending) - Number(a.status === ApprovalStatus.Pending),
  );
  const pending = rows.filter((r) => r.status === ApprovalStatus.Pending).length;
  return (
    <section>
      <PageHeader title="Approvals">
        <span className="muted" role="status">
          {approvals.data ? `${pending} pending` : ""}
        </span>
        <button type="button" className="ghost" onClick={approvals.reload}>
          Refresh
        </button>
      </PageHeader>
      {approvals.error ? <Banner actions={<button onClick={approvals.reload}>Retry</button>}>{errorText(approvals.error)}</Banner> : null}
      {!approvals.data && approvals.loading ? <Loading what="approvals" /> : null}
      {approvals.data && !rows.length ? (
        <Empty title="No approvals in this workspace.">Tools and plans that need a person's decision show up here, even when no chat is open.</Empty>
      ) : null}
      <div aria-label="Approval list">
        {rows.map((row) => (
          <ApprovalCard key={row.approvalId} approval={approvalView(row)} workspacePath={ws} mask={settings.demo} onDecided={() => approvals.reload()} />
        ))}
      </div>
    </section>
  );
}
