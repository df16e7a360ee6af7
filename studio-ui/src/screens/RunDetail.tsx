// One run: its header and its timeline as a tree, followed live until the run ends.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link } from "wouter";
import { ApiError, errorText, get, seg } from "../api/client";
import type { RunEventRow, RunRow } from "../api/types";
import { TreeItem } from "../components/TreeView";
import { Banner, Loading, PageHeader, StatusBadge } from "../components/ui";
import { when } from "../lib/format";
import { useApi, usePoll } from "../lib/hooks";
import { traceTree } from "../lib/traceTree";
import { buildRunTree } from "../lib/runTree";
import { EVAL_RECORD_THREAD_PREFIX, RunStatus } from "../protocol.gen";
import { useStudio } from "../shell/studio";
import { shownStatus } from "./Runs";

const LIVE = new Set<string>([RunStatus.Running, RunStatus.Waiting]);

/** The runtime's trace of a chat run: the same tree with each model turn and tool call. */
function RunTrace({ runId, live, mask }: { runId: string; live: boolean; mask: boolean }) {
  const { ws } = useStudio();
  const trace = useApi<{ trace: { trace: Record<string, unknown> } }>(ws(`/traces/${seg(runId)}`));
  usePoll(trace.reload, 2000, live);
  const tree = trace.data ? traceTree(trace.data.trace.trace) : null;
  const missing = trace.error instanceof ApiError && trace.error.status === 404;
  return (
    <section aria-label="Trace">
      <h2>Trace</h2>
      {missing ? <p className="muted">No trace for this run: the runtime keeps the traces of its last 1,000 runs in memory, and a restarted server starts with none.</p> : trace.error ? <Banner>{errorText(trace.error)}</Banner> : null}
      {!trace.data && trace.loading ? <Loading what="the trace" /> : null}
      {tree ? (
        <ul className="timeline" aria-label="Run trace">
          <TreeItem node={tree} mask={mask} />
        </ul>
      ) : null}
    </section>
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
      {run?.operation === "chat" ? <RunTrace runId={runId} live={LIVE.has(run.status)} mask={settings.demo} /> : null}
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
