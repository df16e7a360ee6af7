// Evals: the list, a form to launch one, and its page: live progress, results per case and
// scorer, pass@k, drill-down into samples and their traces, compare, rerun and cancel.
//
// An eval is launched with `POST …/evals/{id}/run`, which runs on the server whatever this page
// does; the page follows its recorded progress and its status until it ends.
import { useEffect, useRef, useState } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { del, errorText, get, post, seg } from "../api/client";
import type { EvalArtifactRow, EvalCaseResult, EvalRow, EvalSample, RunEventRow, RunRow, TestRow } from "../api/types";
import { Banner, Empty, JsonBlock, Loading, PageHeader, StatusBadge } from "../components/ui";
import { duration, score, when } from "../lib/format";
import { useApi, usePoll } from "../lib/hooks";
import { EvalEnvelopeType, EvalStatus } from "../protocol.gen";
import { useStudio } from "../shell/studio";
import { TreeItem } from "../components/TreeView";
import { traceTree } from "../lib/traceTree";
import { evalRecordThread } from "./evalThreads";

interface EvalDetailBody {
  eval: EvalRow;
  runs: EvalArtifactRow[];
}

interface Mode {
  mode: string;
  label: string;
  description?: string;
  targetAgentId?: string;
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Score of each scorer of a sample (`componentScores`), by scorer name. */
export function scorerScores(sample: EvalSample): Record<string, number> {
  const out: Record<string, number> = {};
  const list = Array.isArray(sample.componentScores) ? (sample.componentScores as Record<string, unknown>[]) : [];
  for (const item of list) {
    if (typeof item.scorerName === "string" && typeof item.score === "number") out[item.scorerName] = item.score;
  }
  return out;
}

/** Progress lines of an eval run's recorded events. */
export function progressLines(rows: RunEventRow[]): { seq: number; type: string; text: string }[] {
  let current: string | undefined;
  return rows.map((row) => {
    if (row.kind === EvalEnvelopeType.TestCaseStarted) {
      const event = record(row.event);
      current = String(record(event.data).testCaseId ?? record(event.payload).caseId);
    }
    return { seq: row.seq, type: row.kind, text: progressLine(row, current) };
  });
}

/** One row per test case: passed (every sample passed), score, mean score per scorer, pass@1. */
export function caseRows(artifact: { testCases?: EvalCaseResult[] } | null | undefined) {
  return (artifact?.testCases ?? []).map((c) => {
    const samples = c.samples ?? [];
    const scorers: Record<string, number[]> = {};
    for (const sample of samples) for (const [name, value] of Object.entries(scorerScores(sample))) (scorers[name] ??= []).push(value);
    const means = Object.fromEntries(Object.entries(scorers).map(([name, values]) => [name, values.reduce((a, b) => a + b, 0) / values.length]));
    const passAt = Array.isArray(c.passAtK) ? (c.passAtK as Record<string, unknown>[]) : [];
    const at1 = passAt.find((p) => p.k === 1);
    return {
      testCaseId: c.testCaseId,
      passed: samples.length > 0 && samples.every((s) => s.passed),
      score: c.aggregateScore,
      scorers: means,
      passAt1: typeof at1?.simpleEstimate === "number" ? at1.simpleEstimate : undefined,
      samples,
    };
  });
}

/** A progress line of a recorded eval event, naming the test case (`current`: the case that
 * started last, for samples whose event does not name theirs). */
export function progressLine(row: RunEventRow, current?: string): string {
  const event = record(row.event);
  const data = record(event.data);
  const payload = record(event.payload);
  switch (row.kind) {
    case EvalEnvelopeType.EvalStarted:
      return "Eval started";
    case EvalEnvelopeType.TestCaseStarted:
      return `Test ${String(data.testCaseId ?? payload.caseId)} started`;
    case EvalEnvelopeType.SampleCompleted: {
      const sample = record(data.sample);
      return `Test ${String(sample.testCaseId ?? payload.caseId ?? current)} sample ${Number(sample.sampleIndex ?? payload.sampleIndex ?? 0) + 1}: ${sample.passed ? "passed" : "failed"}, score ${score(sample.aggregateScore)}`;
    }
    case EvalEnvelopeType.TestCaseCompleted:
      return `Test ${String(payload.caseId ?? record(data.testCase).testCaseId)} completed: ${payload.passed ? "passed" : "failed"}, score ${score(payload.score)}`;
    case EvalEnvelopeType.EvalCompleted:
      return "Eval completed";
    case EvalEnvelopeType.EvalFailed:
      return `Eval failed: ${typeof data.error === "string" ? data.error : JSON.stringify(data.error)}`;
    case EvalEnvelopeType.EvalCancelled:
      return `Eval cancelled${data.reason ? `: ${String(data.reason)}` : ""}`;
    default:
      return row.kind;
  }
}

function EvalList({ evals, current }: { evals: EvalRow[] | null; current: string | null }) {
  return (
    <ul aria-label="Eval list">
      {(evals ?? []).map((e) => (
        <li key={e.id} className="list-item">
          <Link href={`/evals/${seg(e.id)}`} aria-current={current === e.id ? "page" : undefined} title={e.id}>
            {e.id.slice(0, 22)}
          </Link>
          <StatusBadge status={e.status} />
        </li>
      ))}
    </ul>
  );
}

function NewEval({ onCreated }: { onCreated: (id: string) => void }) {
  const { ws } = useStudio();
  const search = useSearch();
  const modes = useApi<{ modes: Mode[] }>(ws("/eval-capabilities"));
  const tests = useApi<{ tests: TestRow[] }>(ws("/tests"));
  const [picked, setPicked] = useState<Set<string> | null>(null);
  const [mode, setMode] = useState(0);
  const [samples, setSamples] = useState(1);
  const [concurrency, setConcurrency] = useState(2);
  const [threshold, setThreshold] = useState(0.7);
  const [subAgents, setSubAgents] = useState<boolean | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (!tests.data || picked) return;
    const preselect = (new URLSearchParams(search).get("testCaseIds") ?? "").split(",").filter(Boolean);
    setPicked(new Set(preselect.length ? preselect : tests.data.tests.map((t) => t.id)));
  }, [tests.data, picked, search]);
  if (modes.error || tests.error) return <Banner>{errorText(modes.error ?? tests.error)}</Banner>;
  if (!modes.data || !tests.data || !picked) return <Loading what="eval options" />;
  const rows = tests.data.tests;
  // A test drafted from a chat expects the tools its sub-agents called too.
  const fromChat = rows.some((t) => picked.has(t.id) && t.testCase.sourceThreadId);
  const includeSubAgents = subAgents ?? fromChat;
  const toggle = (id: string) => {
    const next = new Set(picked);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setPicked(next);
  };
  const submit = async () => {
    const chosen = modes.data?.modes[mode];
    const testCaseIds = rows.map((t) => t.id).filter((id) => picked.has(id));
    if (!testCaseIds.length) {
      setProblem("Pick at least one test case.");
      return;
    }
    const config: Record<string, unknown> = { mode: chosen?.mode ?? "sequential", samplesPerCase: samples, concurrency, passThreshold: threshold };
    if (chosen?.targetAgentId) config.targetAgentId = chosen.targetAgentId;
    if (includeSubAgents) config.scorerConfig = { trajectory: { includeSubAgents: true } };
    try {
      const body = await post<{ eval: EvalRow }>(ws("/evals"), { config, testCaseIds });
      onCreated(body.eval.id);
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  return (
    <form
      className="stack"
      aria-label="New eval"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label className="field">
        <span>Mode</span>
        <select aria-label="Mode" value={mode} onChange={(e) => setMode(Number(e.target.value))}>
          {modes.data.modes.map((m, i) => (
            <option key={`${m.mode}-${m.targetAgentId ?? ""}`} value={i}>
              {m.label}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>Test cases</legend>
        <div className="row">
          <button type="button" className="ghost small" onClick={() => setPicked(new Set(rows.map((t) => t.id)))}>
            Select all
          </button>
          <button type="button" className="ghost small" onClick={() => setPicked(new Set())}>
            Deselect
          </button>
        </div>
        {rows.length ? (
          rows.map((t) => (
            <label key={t.id} className="check">
              <input type="checkbox" checked={picked.has(t.id)} onChange={() => toggle(t.id)} /> {t.id}
            </label>
          ))
        ) : (
          <Empty title="No test cases yet.">
            <Link href="/tests/new">Create one</Link> first.
          </Empty>
        )}
      </fieldset>
      <div className="row">
        <label className="field">
          <span>Samples per case</span>
          <input type="number" min={1} value={samples} onChange={(e) => setSamples(Number(e.target.value))} />
        </label>
        <label className="field">
          <span>Concurrency</span>
          <input type="number" min={1} value={concurrency} onChange={(e) => setConcurrency(Number(e.target.value))} />
        </label>
        <label className="field">
          <span>Pass threshold</span>
          <input type="number" min={0} max={1} step={0.05} value={threshold} onChange={(e) => setThreshold(Number(e.target.value))} />
        </label>
      </div>
      <label className="check">
        <input type="checkbox" checked={includeSubAgents} onChange={(e) => setSubAgents(e.target.checked)} /> Count tools called by sub-agents in the trajectory
        {fromChat ? <span className="muted"> (on: a selected test was drafted from a chat)</span> : null}
      </label>
      <div className="row">
        <button type="submit">Create and run</button>
      </div>
      {problem ? <Banner>{problem}</Banner> : null}
    </form>
  );
}

function ResultsTable({ artifact, evalId }: { artifact: EvalArtifactRow["artifact"]; evalId: string }) {
  const [filter, setFilter] = useState<"all" | "passed" | "failed">("all");
  const rows = caseRows(artifact).filter((r) => filter === "all" || (filter === "passed") === r.passed);
  const scorers = [...new Set(caseRows(artifact).flatMap((r) => Object.keys(r.scorers)))];
  return (
    <>
      <div className="tabs" role="tablist" aria-label="Result filter">
        {(["all", "passed", "failed"] as const).map((f) => (
          <button key={f} type="button" role="tab" aria-selected={filter === f} onClick={() => setFilter(f)}>
            {f[0].toUpperCase() + f.slice(1)}
          </button>
        ))}
      </div>
      <div className="table-wrap">
        <table aria-label="Results">
          <thead>
            <tr>
              <th scope="col">Test case</th>
              <th scope="col">Passed</th>
              <th scope="col">Score</th>
              {scorers.map((s) => (
                <th key={s} scope="col">
                  {s}
                </th>
              ))}
              <th scope="col">pass@1</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.testCaseId} data-case={r.testCaseId}>
                <td>
                  <Link href={`/evals/${seg(evalId)}/cases/${seg(r.testCaseId)}`}>{r.testCaseId}</Link>
                </td>
                <td>
                  <StatusBadge status={r.passed ? "passed" : "failed"} />
                </td>
                <td>{score(r.score)}</td>
                {scorers.map((s) => (
                  <td key={s}>{score(r.scorers[s])}</td>
                ))}
                <td>{score(r.passAt1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function Summary({ summary }: { summary: Record<string, unknown> | null | undefined }) {
  if (!summary) return <p className="muted">No results yet.</p>;
  const passAt = Array.isArray(summary.passAtK) ? (summary.passAtK as Record<string, unknown>[]) : [];
  const cells: [string, string][] = [
    ["Passed", String(summary.passed ?? "")],
    ["Failed", String(summary.failed ?? "")],
    ["Score", score(summary.aggregateScore)],
    ["Pass rate", score(summary.passRate)],
    ["Duration", duration(summary.totalDurationMs as number)],
    ...passAt.map((p): [string, string] => [`pass@${String(p.k)}`, score(p.simpleEstimate)]),
  ];
  const usage = record(summary.totalUsage);
  return (
    <div className="cards" role="region" aria-label="Eval summary">
      {cells.map(([name, value]) => (
        <div key={name} className="card">
          <h3>{name}</h3>
          <strong>{value || "–"}</strong>
        </div>
      ))}
      {Object.keys(usage).length ? (
        <div className="card">
          <h3>Tokens</h3>
          <strong>
            {String(usage.inputTokens ?? 0)} in / {String(usage.outputTokens ?? 0)} out
          </strong>
        </div>
      ) : null}
    </div>
  );
}

function Compare({ evalId, runs }: { evalId: string; runs: EvalArtifactRow[] }) {
  const { ws } = useStudio();
  const [left, setLeft] = useState(runs.length > 1 ? runs[runs.length - 2].runId : "");
  const [right, setRight] = useState(runs[runs.length - 1]?.runId ?? "");
  const [result, setResult] = useState<{ testCases: { testCaseId: string; left: unknown; right: unknown; delta: unknown }[] } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  if (runs.length < 2) return <p className="muted">Run the eval twice to compare two runs.</p>;
  const go = async () => {
    try {
      const body = await get<{ comparison: typeof result }>(ws(`/evals/compare?left=${seg(left)}&right=${seg(right)}`));
      setResult(body.comparison);
      setProblem(null);
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const pick = (value: string, set: (v: string) => void, name: string) => (
    <select aria-label={name} value={value} onChange={(e) => set(e.target.value)}>
      {runs.map((r) => (
        <option key={r.runId} value={r.runId}>
          {when(r.createdAt)} · {r.runId.slice(0, 14)}
        </option>
      ))}
    </select>
  );
  return (
    <div className="stack" aria-label={`Compare runs of ${evalId}`}>
      <div className="row">
        {pick(left, setLeft, "Left run")} vs {pick(right, setRight, "Right run")}
        <button type="button" className="ghost" onClick={() => void go()}>
          Compare
        </button>
      </div>
      {problem ? <Banner>{problem}</Banner> : null}
      {result ? (
        <table aria-label="Comparison">
          <thead>
            <tr>
              <th scope="col">Test case</th>
              <th scope="col">Left</th>
              <th scope="col">Right</th>
              <th scope="col">Delta</th>
            </tr>
          </thead>
          <tbody>
            {result.testCases.map((c) => (
              <tr key={c.testCaseId}>
                <td>{c.testCaseId}</td>
                <td>{score(record(c.left).aggregateScore ?? c.left)}</td>
                <td>{score(record(c.right).aggregateScore ?? c.right)}</td>
                <td>{score(c.delta)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

function EvalDetail({ evalId, launch, onChanged }: { evalId: string; launch: boolean; onChanged: () => void }) {
  const { ws } = useStudio();
  const [, navigate] = useLocation();
  const detail = useApi<EvalDetailBody>(ws(`/evals/${seg(evalId)}`));
  const [progress, setProgress] = useState<RunEventRow[]>([]);
  const [starting, setStarting] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [statusOverride, setStatusOverride] = useState<string | null>(null);
  // A run stopped by Cancel ends without an artifact: that is not an error to show.
  const cancelled = useRef(false);
  const status = statusOverride ?? detail.data?.eval.status ?? "";
  const running = starting || status === EvalStatus.Running;

  const refresh = () => {
    detail.reload();
    onChanged();
  };

  // Follow the recorded progress of the run under way (whoever started it).
  const followProgress = async () => {
    try {
      const body = await get<{ runs: RunRow[] }>(ws(`/runs?threadId=${seg(evalRecordThread(evalId))}&limit=1&offset=0`));
      const run = body.runs[0];
      if (!run) return;
      const events = await get<{ events: RunEventRow[] }>(ws(`/runs/${seg(run.runId)}/events`));
      setProgress(events.events);
    } catch {
      /* progress is best effort; the status still refreshes */
    }
  };
  usePoll(() => {
    void followProgress();
    detail.reload();
  }, 1000, running);

  useEffect(() => {
    if (status && status !== EvalStatus.Running && starting) setStarting(false);
    if (status !== EvalStatus.Running) void followProgress();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [status]);

  const run = async () => {
    cancelled.current = false;
    setProblem(null);
    setStarting(true);
    setStatusOverride(EvalStatus.Running);
    setProgress([]);
    onChanged();
    try {
      // Runs on the server until it ends, whether or not this page stays open.
      await post(ws(`/evals/${seg(evalId)}/run`));
    } catch (err) {
      if (!cancelled.current) setProblem(errorText(err));
    } finally {
      setStarting(false);
      // a cancelled run keeps showing "cancelled" until the server says so too
      setStatusOverride((current) => (current === EvalStatus.Cancelled ? current : null));
      refresh();
    }
  };

  const serverStatus = detail.data?.eval.status;
  useEffect(() => {
    if (statusOverride === EvalStatus.Cancelled && serverStatus && serverStatus !== EvalStatus.Running) setStatusOverride(null);
  }, [serverStatus, statusOverride]);

  useEffect(() => {
    if (launch) {
      navigate(`/evals/${seg(evalId)}`, { replace: true });
      void run();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [launch]);

  const cancel = async () => {
    cancelled.current = true;
    setStatusOverride(EvalStatus.Cancelled);
    setStarting(false);
    try {
      await post(ws(`/evals/${seg(evalId)}/cancel`));
    } catch (err) {
      setProblem(errorText(err));
      setStatusOverride(null);
    }
    refresh();
  };

  const remove = async () => {
    if (!window.confirm(`Delete eval ${evalId} and its results?`)) return;
    await del(ws(`/evals/${seg(evalId)}`)).catch((err) => setProblem(errorText(err)));
    onChanged();
    navigate("/evals");
  };

  if (detail.error) return <Banner>{errorText(detail.error)}</Banner>;
  if (!detail.data) return <Loading what="the eval" />;
  const { eval: row, runs } = detail.data;
  const latest = runs[runs.length - 1];
  const failures = latest ? caseRows(latest.artifact).filter((r) => !r.passed) : [];
  return (
    <>
      <PageHeader title={<>Eval <code>{evalId}</code> <StatusBadge status={status} /></>}>
        <button type="button" disabled={running} onClick={() => void run()}>
          {runs.length ? "Rerun" : "Run"}
        </button>
        {running ? (
          <button type="button" className="danger" onClick={() => void cancel()}>
            Cancel
          </button>
        ) : null}
        {failures.length ? (
          <button
            type="button"
            className="ghost"
            onClick={() => {
              const url = URL.createObjectURL(new Blob([JSON.stringify(failures, null, 2)], { type: "application/json" }));
              const link = document.createElement("a");
              link.href = url;
              link.download = `${evalId}-failures.json`;
              link.click();
              window.setTimeout(() => URL.revokeObjectURL(url), 1000);
            }}
          >
            Export failures
          </button>
        ) : null}
        <button type="button" className="ghost" onClick={() => void remove()}>
          Delete
        </button>
      </PageHeader>
      {problem ? <Banner>{problem}</Banner> : null}
      <div className="row">
        {Object.entries(row.config)
          .filter(([, v]) => v !== null && v !== "" && !(Array.isArray(v) && !v.length))
          .map(([k, v]) => (
          <span key={k} className="chip">
            {k}: {typeof v === "object" ? JSON.stringify(v) : String(v)}
          </span>
        ))}
        <span className="muted">tests: {row.testCaseIds.join(", ")}</span>
      </div>
      {progress.length ? (
        <>
          <h2>Progress</h2>
          <ol className="timeline" aria-label="Eval progress" aria-live="polite">
            {progressLines(progress).map((line) => (
              <li key={line.seq} data-type={line.type}>
                {line.text}
              </li>
            ))}
          </ol>
        </>
      ) : running ? (
        <p className="muted" role="status">
          Starting…
        </p>
      ) : null}
      <h2>Latest results</h2>
      <Summary summary={(latest?.artifact.summary as Record<string, unknown> | undefined) ?? row.latestSummary} />
      {latest ? <ResultsTable artifact={latest.artifact} evalId={evalId} /> : !running ? <Empty title="Not run yet.">Run the eval to score its test cases.</Empty> : null}
      {runs.length ? (
        <>
          <h2>Runs</h2>
          <ul aria-label="Eval runs">
            {[...runs].reverse().map((r) => (
              <li key={r.runId}>
                <code>{r.runId}</code> {when(r.createdAt)} · score {score(r.artifact.summary?.aggregateScore)}
              </li>
            ))}
          </ul>
          <h2>Compare</h2>
          <Compare evalId={evalId} runs={runs} />
        </>
      ) : null}
    </>
  );
}

function CaseDetail({ evalId, caseId }: { evalId: string; caseId: string }) {
  const { ws, settings } = useStudio();
  const search = useSearch();
  const [, navigate] = useLocation();
  const detail = useApi<EvalDetailBody>(ws(`/evals/${seg(evalId)}`));
  const index = Number(new URLSearchParams(search).get("sample") ?? 0) || 0;
  const latest = detail.data?.runs[detail.data.runs.length - 1];
  const cases = caseRows(latest?.artifact);
  const row = cases.find((c) => c.testCaseId === caseId);
  const sample = row?.samples[index];
  const traceId = sample?.trace?.traceId;
  const trace = useApi<{ trace: { trace: Record<string, unknown> } }>(traceId ? ws(`/traces/${seg(traceId)}`) : null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).tagName === "INPUT" || !row) return;
      const at = cases.findIndex((c) => c.testCaseId === caseId);
      if (e.key === "ArrowRight" && index + 1 < row.samples.length) navigate(`?sample=${index + 1}`);
      else if (e.key === "ArrowLeft" && index > 0) navigate(`?sample=${index - 1}`);
      else if ((e.key === "j" || e.key === "k") && cases.length) {
        const next = cases[(at + (e.key === "j" ? 1 : cases.length - 1)) % cases.length];
        navigate(`/evals/${seg(evalId)}/cases/${seg(next.testCaseId)}`);
      } else if (e.key === "Escape") navigate(`/evals/${seg(evalId)}`);
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [row, cases, index, caseId, evalId, navigate]);
  if (detail.error) return <Banner>{errorText(detail.error)}</Banner>;
  if (!detail.data) return <Loading what="the eval" />;
  if (!row || !sample) return <Empty title={`No results for ${caseId}.`}><Link href={`/evals/${seg(evalId)}`}>Back to the eval</Link></Empty>;
  const tree = trace.data ? traceTree(trace.data.trace.trace) : null;
  return (
    <>
      <p>
        <Link href={`/evals/${seg(evalId)}`}>← Eval {evalId}</Link>
      </p>
      <PageHeader title={<>Case <code>{caseId}</code> <StatusBadge status={sample.passed ? "passed" : "failed"} /></>}>
        <span className="muted">
          sample {index + 1} of {row.samples.length} (←/→ samples, J/K cases, Esc back)
        </span>
      </PageHeader>
      <div className="cards">
        <div className="card">
          <h3>Score</h3>
          <strong>{score(sample.aggregateScore)}</strong>
          {Object.entries(scorerScores(sample)).map(([name, value]) => (
            <div key={name} className="muted">
              {name}: {score(value)}
            </div>
          ))}
        </div>
        <div className="card">
          <h3>Trajectory</h3>
          {(sample.actualTrajectory ?? []).length ? (sample.actualTrajectory ?? []).map((t, i) => <span key={i} className="chip">{t}</span>) : <span className="muted">no tool calls</span>}
        </div>
        <div className="card">
          <h3>Links</h3>
          {sample.threadId ? <Link href={`/playground/${seg(sample.threadId)}`}>Open the sample's thread</Link> : null}
        </div>
      </div>
      <h2>Response</h2>
      <pre>{sample.responseText ?? ""}</pre>
      <h2>Trace</h2>
      {trace.loading ? <Loading what="the trace" /> : null}
      {trace.error ? <Banner kind="info">{errorText(trace.error)}</Banner> : null}
      {tree && tree.children.length ? (
        <ul className="timeline" aria-label="Trace steps">
          <TreeItem node={tree} mask={settings.demo} />
        </ul>
      ) : trace.data ? (
        <p className="muted">No tool steps in this sample.</p>
      ) : null}
      <JsonBlock title="Sample (JSON)" value={sample} />
    </>
  );
}

export default function Evals() {
  const { ws } = useStudio();
  const [path, navigate] = useLocation();
  const search = useSearch();
  const list = useApi<{ evals: EvalRow[] }>(ws("/evals"));
  const anyRunning = (list.data?.evals ?? []).some((e) => e.status === EvalStatus.Running);
  usePoll(list.reload, 2000, anyRunning);
  const parts = path.replace(/^\/evals\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [evalId, section, caseId] = parts;
  useEffect(() => {
    document.title = evalId && evalId !== "new" ? `Eval ${evalId}` : "Evals";
  }, [evalId]);
  return (
    <div className="split">
      <aside className="sidebar" aria-label="Evals">
        <Link href="/evals/new">New eval</Link>
        <div className="sidebar-list">
          {list.error ? <Banner>{errorText(list.error)}</Banner> : null}
          {list.data && !list.data.evals.length ? <Empty title="No evals yet.">Create one from your test cases.</Empty> : null}
          <EvalList evals={list.data?.evals ?? null} current={evalId ?? null} />
        </div>
      </aside>
      <section>
        {!evalId ? (
          <>
            <PageHeader title="Evals" />
            <Empty title="Pick an eval, or start a new one.">An eval runs test cases against the agents and scores them.</Empty>
          </>
        ) : evalId === "new" ? (
          <>
            <PageHeader title="New eval" />
            <NewEval
              onCreated={(id) => {
                list.reload();
                navigate(`/evals/${seg(id)}?run=1`);
              }}
            />
          </>
        ) : section === "cases" && caseId ? (
          <CaseDetail evalId={evalId} caseId={caseId} />
        ) : (
          <EvalDetail key={evalId} evalId={evalId} launch={new URLSearchParams(search).get("run") === "1"} onChanged={list.reload} />
        )}
      </section>
    </div>
  );
}
