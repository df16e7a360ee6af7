// One run: its header and its timeline as a tree, followed live until the run ends.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link } from "wouter";
import { ApiError, errorText, get, seg } from "../api/client";
import type { RunEventRow, RunRow } from "../api/types";
import { Banner, JsonBlock, Loading, PageHeader, StatusBadge } from "../components/ui";
import { duration, when } from "../lib/format";
import { usePoll } from "../lib/hooks";
import { buildRunTree, type TreeNode } from "../lib/runTree";
import { maskText } from "../lib/settings";
import { EVAL_RECORD_THREAD_PREFIX, RunStatus } from "../protocol.gen";
import { useStudio } from "../shell/studio";
import { shownStatus } from "./Runs";

const LIVE = new Set<string>([RunStatus.Running, RunStatus.Waiting]);

function Metrics({ node }: { node: TreeNode }) {
  const parts: string[] = [];
  if (node.durationMs !== undefined) parts.push(duration(node.durationMs));
  if (node.inputTokens || node.outputTokens) parts.push(`${node.inputTokens ?? 0} in / ${node.outputTokens ?? 0} out tokens`);
  if (node.costUsd !== undefined) parts.push(`$${node.costUsd.toFixed(4)}`);
  return parts.length ? <span className="metric">{parts.join(" · ")}</span> : null;
}

function TreeItem({ node, mask }: { node: TreeNode; mask: boolean }) {
  const shown = (text: string) => (mask ? maskText(text) : text);
  if (node.kind === "text") {
    return (
      <li className="tree-row text-node">
        <span className="chip">text</span>
        <span className="muted">{shown((node.text ?? "").slice(0, 400))}{(node.text ?? "").length > 400 ? "…" : ""}</span>
      </li>
    );
  }
  return (
    <li data-kind={node.kind}>
      <div className="tree-row">
        <span className="chip">{node.kind}</span>
        <strong>{shown(node.label)}</strong>
        {node.status ? <StatusBadge status={node.status} /> : null}
        <Metrics node={node} />
      </div>
      {node.input !== undefined || node.output !== undefined ? (
        <div className="tree-node">
          {node.input !== undefined ? <JsonBlock title="Input" value={node.input} /> : null}
          {node.output !== undefined ? <JsonBlock title="Output" value={node.output} /> : null}
        </div>
      ) : null}
      {node.children.length ? (
        <ul className="timeline tree-node">
          {node.children.map((child) => (
            <TreeItem key={child.id} node={child} mask={mask} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

export default function RunDetail({ runId }: { runId: string }) {
  const { ws, settings } = useStudio();
  const [run, setRun] = useState<RunRow | null>(null);
  const [events, setEvents] = useState<RunEventRow[]>([]);
  const [error, setError] = useState<unknown>(null);
  const lastSeq = useRef(0);
  const busy = useRef(false);

  const poll = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      const [row, body] = await Promise.all([
        get<{ run?: RunRow } & RunRow>(ws(`/runs/${seg(runId)}`)),
        get<{ events: RunEventRow[] }>(ws(`/runs/${seg(runId)}/events?since_seq=${lastSeq.current}`)),
      ]);
      setRun(row.run ?? row);
      if (body.events.length) {
        lastSeq.current = body.events[body.events.length - 1].seq;
        setEvents((current) => [...current, ...body.events]);
      }
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      busy.current = false;
    }
  }, [ws, runId]);

  useEffect(() => {
    document.title = `Run ${runId}`;
    lastSeq.current = 0;
    setEvents([]);
    setRun(null);
    void poll();
  }, [runId, poll]);
  usePoll(() => void poll(), 2000, run !== null && LIVE.has(run.status));

  const tree = useMemo(() => buildRunTree(events, run?.agentId ?? ""), [events, run?.agentId]);
  const notFound = error instanceof ApiError && error.status === 404;
  const evalId = run?.threadId?.startsWith(EVAL_RECORD_THREAD_PREFIX) ? run.threadId.slice(EVAL_RECORD_THREAD_PREFIX.length) : null;
  return (
    <section>
      <p>
        <Link href="/runs">← Runs</Link>
      </p>
      <PageHeader title={<>Run <code>{runId}</code></>} />
      {notFound ? <Banner>No run {runId} in this workspace. It may belong to another workspace.</Banner> : error ? <Banner>{errorText(error)}</Banner> : null}
      {!run && !error ? <Loading what="the run" /> : null}
      {run ? (
        <div className="row" aria-label="Run summary">
          <StatusBadge status={shownStatus(run)} />
          <span>operation {run.operationName ?? run.operation}</span>
          <span>agent {run.agentId || "–"}</span>
          {run.operation === "chat" && run.threadId ? <Link href={`/playground/${seg(run.threadId)}`}>Open the thread</Link> : null}
          {evalId ? <Link href={`/evals/${seg(evalId)}`}>Open the eval</Link> : null}
          <span className="muted">
            {run.eventCount} events · started {when(run.createdAt)} · updated {when(run.updatedAt)}
          </span>
        </div>
      ) : null}
      {events.length ? (
        <>
          <h2>Timeline</h2>
          <ul className="timeline" aria-label="Run timeline">
            <TreeItem node={tree} mask={settings.demo} />
          </ul>
        </>
      ) : null}
    </section>
  );
}
