// Runs: server-side paging and filters kept in the URL; statuses refresh while shown.
import { useEffect, useState } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { errorText, seg } from "../api/client";
import type { RunRow } from "../api/types";
import { Banner, Empty, Loading, PageHeader, StatusBadge } from "../components/ui";
import { when } from "../lib/format";
import { useApi, useDebounced, usePoll } from "../lib/hooks";
import { EVAL_RECORD_THREAD_PREFIX, RunStatus } from "../protocol.gen";
import { useStudio } from "../shell/studio";

const PAGE_SIZES = [25, 50, 100];
const IDLE_MS = 5 * 60 * 1000;
const OPERATIONS = ["chat", "eval", "profile", "ingest", "tool", "custom"];

/** A running run silent for five minutes is shown as interrupted. */
export function shownStatus(run: RunRow, now = Date.now()): string {
  if (run.status === RunStatus.Running && now - Date.parse(run.updatedAt) > IDLE_MS) return "interrupted";
  return run.status;
}

function Context({ run }: { run: RunRow }) {
  if (run.operation === "chat" && run.threadId) return <Link href={`/playground/${seg(run.threadId)}`}>{run.threadId}</Link>;
  if (run.threadId?.startsWith(EVAL_RECORD_THREAD_PREFIX)) {
    const evalId = run.threadId.slice(EVAL_RECORD_THREAD_PREFIX.length);
    return <Link href={`/evals/${seg(evalId)}`}>eval {evalId}</Link>;
  }
  return <span>{run.threadId ?? ""}</span>;
}

export default function Runs() {
  const { ws } = useStudio();
  const search = useSearch();
  const [, navigate] = useLocation();
  const params = new URLSearchParams(search);
  const size = PAGE_SIZES.includes(Number(params.get("size"))) ? Number(params.get("size")) : 25;
  const page = Math.max(0, Number(params.get("page")) || 0);
  const [q, setQ] = useState(params.get("q") ?? "");
  const debounced = useDebounced(q, 250);

  const setParams = (patch: Record<string, string | number | null>) => {
    const next = new URLSearchParams(search);
    for (const [key, value] of Object.entries(patch)) {
      if (value === null || value === "" || value === 0) next.delete(key);
      else next.set(key, String(value));
    }
    if (!("page" in patch)) next.delete("page");
    const text = next.toString();
    navigate(`/runs${text ? `?${text}` : ""}`, { replace: true });
  };

  useEffect(() => {
    if ((params.get("q") ?? "") !== debounced) setParams({ q: debounced });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced]);
  useEffect(() => {
    document.title = "Runs";
  }, []);

  // With `offset` the server pages and answers with the total.
  const query = new URLSearchParams({ limit: String(size), offset: String(page * size) });
  for (const key of ["status", "operation", "agentId", "q"]) {
    const value = params.get(key);
    if (value) query.set(key, value);
  }
  const runs = useApi<{ runs: RunRow[]; total?: number }>(ws(`/runs?${query}`));
  const rows = runs.data?.runs ?? [];
  const live = rows.some((r) => r.status === RunStatus.Running || r.status === RunStatus.Waiting);
  usePoll(runs.reload, live ? 2000 : 10000, true);
  const total = runs.data?.total ?? rows.length;
  const filtered = ["status", "operation", "agentId", "q"].some((k) => params.get(k));
  const agents = [...new Set(rows.map((r) => r.agentId).filter(Boolean))] as string[];
  if (params.get("agentId") && !agents.includes(params.get("agentId") as string)) agents.push(params.get("agentId") as string);

  return (
    <section>
      <PageHeader title="Runs">
        <Link href="/approvals">Approvals inbox</Link>
      </PageHeader>
      <div className="filters" role="search" aria-label="Run filters">
        <input type="search" aria-label="Search runs" placeholder="Run, thread, agent, operation" value={q} onChange={(e) => setQ(e.target.value)} />
        <select aria-label="Status filter" value={params.get("status") ?? ""} onChange={(e) => setParams({ status: e.target.value })}>
          <option value="">All statuses</option>
          {Object.values(RunStatus).map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <select aria-label="Operation filter" value={params.get("operation") ?? ""} onChange={(e) => setParams({ operation: e.target.value })}>
          <option value="">All operations</option>
          {OPERATIONS.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
        <select aria-label="Agent filter" value={params.get("agentId") ?? ""} onChange={(e) => setParams({ agentId: e.target.value })}>
          <option value="">All agents</option>
          {agents.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
        <select aria-label="Page size" value={size} onChange={(e) => setParams({ size: Number(e.target.value) === 25 ? null : e.target.value })}>
          {PAGE_SIZES.map((n) => (
            <option key={n} value={n}>
              {n} / page
            </option>
          ))}
        </select>
        {filtered ? (
          <button
            type="button"
            className="ghost"
            onClick={() => {
              setQ("");
              navigate("/runs", { replace: true });
            }}
          >
            Clear
          </button>
        ) : null}
      </div>
      {runs.error ? <Banner actions={<button onClick={runs.reload}>Retry</button>}>{errorText(runs.error)}</Banner> : null}
      {!runs.data && runs.loading ? <Loading what="runs" /> : null}
      {runs.data && !rows.length ? (
        <Empty title={filtered ? "No run matches the filters." : "No runs yet."}>{filtered ? "Clear the filters to see every run." : "Chat in the Playground to start one."}</Empty>
      ) : null}
      {rows.length ? (
        <>
          <div className="table-wrap">
            <table aria-label="Runs">
              <thead>
                <tr>
                  {["Run", "Context", "Operation", "Agent", "Status", "Events", "Updated"].map((c) => (
                    <th key={c} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((run) => (
                  <tr key={run.runId} data-run-id={run.runId}>
                    <td>
                      <Link href={`/runs/${seg(run.runId)}`}>{run.runId}</Link>
                    </td>
                    <td>
                      <Context run={run} />
                    </td>
                    <td>{run.operationName ?? run.operation}</td>
                    <td>{run.agentId}</td>
                    <td>
                      <StatusBadge status={shownStatus(run)} />
                    </td>
                    <td>{run.eventCount}</td>
                    <td>{when(run.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager" aria-label="Pages">
            <button type="button" className="ghost" disabled={page === 0} onClick={() => setParams({ page: page - 1 })}>
              Previous
            </button>
            <span className="muted" role="status">
              {page * size + 1}–{page * size + rows.length} of {total}
            </span>
            <button type="button" className="ghost" disabled={(page + 1) * size >= total} onClick={() => setParams({ page: page + 1 })}>
              Next
            </button>
          </div>
        </>
      ) : null}
    </section>
  );
}
