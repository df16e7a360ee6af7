// Overview: is this workspace ready to answer (and if not, what is missing), its agents, its
// data environment and the recent runs.
import { useEffect } from "react";
import { Link } from "wouter";
import { errorText } from "../api/client";
import type { AgentSummary, RunRow, RuntimeSummary } from "../api/types";
import { Banner, Empty, JsonBlock, Loading, PageHeader, StatusBadge } from "../components/ui";
import { when } from "../lib/format";
import { useApi } from "../lib/hooks";
import { useStudio } from "../shell/studio";

interface Readiness {
  name: string;
  ready: boolean;
  missing?: string;
}

type RuntimeView = RuntimeSummary & { providerReadiness?: Readiness[] };

/** What keeps the runtime from answering (empty when nothing does). */
export function missingPieces(runtime: RuntimeView): string[] {
  const out: string[] = [];
  for (const provider of runtime.providerReadiness ?? []) {
    if (!provider.ready) out.push(`Provider ${provider.name}: ${provider.missing ?? "not configured"}.`);
  }
  if (!runtime.agents.some((a) => a.role === "coordinator" || a.role === "specialist")) {
    out.push("No coordinator or specialist agent: nothing can be chatted with.");
  }
  return out;
}

function AgentCard({ agent }: { agent: AgentSummary }) {
  return (
    <article className="card" aria-label={`Agent ${agent.agentId}`} data-agent={agent.agentId}>
      <h3>
        {agent.agentId} {agent.entrypoint ? <span className="badge tone-ok">Entrypoint</span> : null}
      </h3>
      <div className="muted">
        {agent.role} · {agent.model}
      </div>
      <div className="muted">{agent.stateful ? "Stateful" : "Stateless"}</div>
      {agent.routes.length ? <div>routes: {agent.routes.map((r) => <span className="chip" key={r}>{r}</span>)}</div> : null}
      {agent.tools.length ? <div>tools: {agent.tools.map((t) => <span className="chip" key={t}>{t}</span>)}</div> : null}
    </article>
  );
}

export default function Overview() {
  const { ws, workspace, capable, capabilities } = useStudio();
  const runtime = useApi<RuntimeView>(ws("/runtime"));
  const runs = useApi<{ runs: RunRow[] }>(ws("/runs?limit=5"));
  useEffect(() => {
    document.title = "Overview";
  }, []);
  const hasData = capable("data.sources");
  const rt = runtime.data;
  const missing = rt ? missingPieces(rt) : [];
  const badge = runtime.error ? "failed" : !rt ? "loading" : missing.length ? "needs setup" : "ready";
  return (
    <section>
      <PageHeader title={<>Overview <span className={`badge tone-${badge === "ready" ? "ok" : badge === "loading" ? "muted" : "warn"}`}>{badge}</span></>}>
        <Link href="/playground">Open the Playground</Link>
      </PageHeader>
      <p className="visually-hidden" role="status">
        Runtime {badge}
      </p>
      {runtime.loading && !rt ? <Loading what="the runtime" /> : null}
      {runtime.error ? <Banner actions={<button onClick={runtime.reload}>Retry</button>}>{errorText(runtime.error)}</Banner> : null}
      {rt ? (
        <>
          {missing.length ? (
            <Banner kind="warn">
              <strong>Not ready to answer:</strong> {missing.join(" ")}
            </Banner>
          ) : (
            <Banner kind="info">Ready: every provider this workspace declares has its credential.</Banner>
          )}
          <div className="cards">
            <div className="card">
              <h3>Workspace</h3>
              <code>{workspace}</code>
              <div className="muted">
                tenant {rt.tenant.tenantId} · {rt.tenant.version}
              </div>
            </div>
            <div className="card">
              <h3>Agents</h3>
              <div>{rt.agents.length} agents</div>
              <div className="muted">entrypoint: {rt.agents.find((a) => a.entrypoint)?.agentId ?? "none"}</div>
            </div>
            <div className="card" aria-label="Providers">
              <h3>Providers</h3>
              {rt.providers.length ? (
                rt.providers.map((p) => {
                  const ready = rt.providerReadiness?.find((r) => r.name === p.name);
                  return (
                    <div key={p.name} className="row">
                      <span>{p.name}</span>
                      {ready && !ready.ready ? <span className="badge tone-bad">key missing</span> : <StatusBadge status="ready" />}
                      <span className="muted">{p.credential?.ref ?? p.credential?.kind}</span>
                    </div>
                  );
                })
              ) : (
                <div className="muted">None declared (offline interpreters need none).</div>
              )}
            </div>
            <div className="card">
              <h3>Data environment</h3>
              {capabilities === null ? (
                <span className="muted">checking…</span>
              ) : hasData ? (
                <>
                  <StatusBadge status="ready" /> <Link href="/connect">Browse data</Link>
                </>
              ) : (
                <span className="muted">None configured: bind one on the workspace runtime to browse and profile data.</span>
              )}
            </div>
          </div>
          <h2>Agents</h2>
          <div className="cards">
            {rt.agents.map((agent) => (
              <AgentCard key={agent.agentId} agent={agent} />
            ))}
          </div>
        </>
      ) : null}
      <h2>Recent runs</h2>
      {runs.error ? <Banner>{errorText(runs.error)}</Banner> : null}
      {runs.data && !runs.data.runs.length ? (
        <Empty title="No runs yet.">Send a message in the Playground to start one.</Empty>
      ) : null}
      {runs.data?.runs.length ? (
        <ul className="timeline" aria-label="Recent runs">
          {runs.data.runs.map((run) => (
            <li key={run.runId} className="row">
              <StatusBadge status={run.status} />
              <Link href={`/runs/${encodeURIComponent(run.runId)}`}>{run.operation} {run.agentId}</Link>
              <span className="muted">{when(run.updatedAt)}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {rt ? <JsonBlock title="Runtime description" value={rt} /> : null}
    </section>
  );
}
