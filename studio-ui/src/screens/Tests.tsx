// Tests builder: the test list, and an editor whose form (input, tags, expected trajectory with
// a tool palette, trajectory mode, ground truth) stays in step with the JSON of the test case.
import { useEffect, useMemo, useState } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { del, errorText, get, post, put, seg } from "../api/client";
import type { EvalRow, TestCase, TestRow } from "../api/types";
import { Banner, Empty, Loading, PageHeader, StatusBadge } from "../components/ui";
import { json } from "../lib/format";
import { useApi } from "../lib/hooks";
import { useStudio } from "../shell/studio";

/** The five trajectory modes of a test case, labelled as the builder names them. */
export const MODES: [string, string][] = [
  ["strict", "Strict sequence"],
  ["unordered", "Unordered exact"],
  ["subset", "Actual subset"],
  ["superset", "Required present"],
  ["subsequence", "Required in order"],
];

const TEMPLATE: TestCase = { id: "my-test", input: "What should the agent answer?", tags: [], expectedTrajectory: [], trajectoryMode: "unordered" };

const splitTags = (text: string) => text.split(",").map((t) => t.trim()).filter(Boolean);
const splitLines = (text: string) => text.split("\n").map((t) => t.trim()).filter(Boolean);

/** Why `value` cannot be saved (null when it can). */
export function testProblem(value: unknown, tools: string[] | null): string | null {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "The test case must be a JSON object.";
  const test = value as TestCase;
  if (typeof test.input !== "string" || !test.input.trim()) return "The test case needs an input.";
  if (tools && Array.isArray(test.expectedTrajectory)) {
    const unknown = test.expectedTrajectory.filter((name) => !tools.includes(name));
    if (unknown.length) return `Unknown tools in the expected trajectory: ${unknown.join(", ")} (known: ${tools.join(", ")}).`;
  }
  return null;
}

function Editor({ initial, fixedId, tools, onSave, actions }: {
  initial: TestCase;
  fixedId: string | null;
  tools: string[] | null;
  onSave: (value: TestCase) => Promise<void>;
  actions?: React.ReactNode;
}) {
  const [text, setText] = useState(json(initial));
  const [saved, setSaved] = useState(json(initial));
  const [message, setMessage] = useState<{ kind: "error" | "info"; text: string } | null>(null);
  const parsed = useMemo(() => {
    try {
      const value = JSON.parse(text) as unknown;
      return value && typeof value === "object" && !Array.isArray(value) ? (value as TestCase) : null;
    } catch {
      return null;
    }
  }, [text]);
  const [last, setLast] = useState<TestCase>(initial);
  const value = parsed ?? last;
  useEffect(() => {
    if (parsed) setLast(parsed);
  }, [parsed]);
  const dirty = text !== saved;
  useEffect(() => {
    if (!dirty) return;
    const guard = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", guard);
    return () => window.removeEventListener("beforeunload", guard);
  }, [dirty]);

  const patch = (changes: Partial<TestCase>) => {
    const next: TestCase = { ...value, ...changes };
    if (fixedId) next.id = fixedId;
    setText(json(next));
  };
  const [groundTruth, setGroundTruth] = useState(json(initial.structuredGroundTruth ?? null));
  const [tagsText, setTagsText] = useState((initial.tags ?? []).join(", "));
  const [trajectoryText, setTrajectoryText] = useState((initial.expectedTrajectory ?? []).join("\n"));
  // The JSON editor drives the form back (keys the form does not show are kept in the JSON).
  const editJson = (next: string) => {
    setText(next);
    try {
      const value = JSON.parse(next) as TestCase;
      if (!value || typeof value !== "object") return;
      setTagsText(Array.isArray(value.tags) ? value.tags.join(", ") : "");
      setTrajectoryText(Array.isArray(value.expectedTrajectory) ? value.expectedTrajectory.join("\n") : "");
      setGroundTruth(json(value.structuredGroundTruth ?? null));
    } catch {
      /* mid-edit JSON: the form follows once it parses again */
    }
  };
  const [groundProblem, setGroundProblem] = useState<string | null>(null);

  const save = async () => {
    if (!parsed) {
      setMessage({ kind: "error", text: "The test case is not valid JSON." });
      return;
    }
    const why = testProblem(parsed, tools);
    if (why) {
      setMessage({ kind: "error", text: why });
      return;
    }
    try {
      await onSave(fixedId ? { ...parsed, id: fixedId } : parsed);
      setSaved(text);
      setMessage({ kind: "info", text: "Saved." });
    } catch (err) {
      setMessage({ kind: "error", text: errorText(err) });
    }
  };

  return (
    <div
      className="stack"
      onKeyDown={(e) => {
        if ((e.ctrlKey || e.metaKey) && e.key === "s") {
          e.preventDefault();
          void save();
        }
      }}
    >
      <fieldset className="stack" aria-label="Test case form">
        <label className="field">
          <span>Id{fixedId ? " (fixed: save a copy with Clone to change it)" : ""}</span>
          <input aria-label="Id" value={fixedId ?? String(value.id ?? "")} readOnly={Boolean(fixedId)} onChange={(e) => patch({ id: e.target.value })} />
        </label>
        <label className="field">
          <span>Input (required)</span>
          <textarea aria-label="Input" rows={3} value={String(value.input ?? "")} onChange={(e) => patch({ input: e.target.value })} />
        </label>
        <label className="field">
          <span>Tags (comma separated)</span>
          <input
            aria-label="Tags"
            value={tagsText}
            onChange={(e) => {
              setTagsText(e.target.value);
              patch({ tags: splitTags(e.target.value) });
            }}
          />
        </label>
        <label className="field">
          <span>Expected trajectory (one tool per line)</span>
          <textarea
            aria-label="Expected trajectory"
            rows={4}
            value={trajectoryText}
            onChange={(e) => {
              setTrajectoryText(e.target.value);
              patch({ expectedTrajectory: splitLines(e.target.value) });
            }}
          />
        </label>
        <div className="row" aria-label="Tool palette">
          {(tools ?? []).map((name) => (
            <button
              key={name}
              type="button"
              className="ghost small"
              onClick={() => {
                const next = [...splitLines(trajectoryText), name];
                setTrajectoryText(next.join("\n"));
                patch({ expectedTrajectory: next });
              }}
            >
              + {name}
            </button>
          ))}
        </div>
        <label className="field">
          <span>Trajectory mode</span>
          <select aria-label="Trajectory mode" value={MODES.some(([m]) => m === value.trajectoryMode) ? value.trajectoryMode : "unordered"} onChange={(e) => patch({ trajectoryMode: e.target.value })}>
            {MODES.map(([mode, text]) => (
              <option key={mode} value={mode}>
                {text}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Ground truth: planned / executed actions (JSON, null for none)</span>
          <textarea
            aria-label="Ground truth"
            rows={4}
            value={groundTruth}
            onChange={(e) => {
              setGroundTruth(e.target.value);
              try {
                patch({ structuredGroundTruth: JSON.parse(e.target.value || "null") });
                setGroundProblem(null);
              } catch {
                setGroundProblem("The ground truth is not valid JSON yet: the test keeps its last valid value.");
              }
            }}
          />
        </label>
        {groundProblem ? <Banner kind="warn">{groundProblem}</Banner> : null}
      </fieldset>
      <details open>
        <summary>JSON</summary>
        <textarea aria-label="Test case JSON" rows={14} spellCheck={false} value={text} onChange={(e) => editJson(e.target.value)} />
      </details>
      <div className="row">
        <button type="button" onClick={() => void save()} aria-keyshortcuts="Control+S">
          Save
        </button>
        {dirty ? <span className="muted">unsaved changes</span> : null}
        {actions}
      </div>
      {message ? <Banner kind={message.kind}>{message.text}</Banner> : null}
    </div>
  );
}

/** Download the recorded model turns of the chat a test came from (when the runtime records). */
function CassetteButton({ testId }: { testId: string }) {
  const { ws } = useStudio();
  const [note, setNote] = useState<string | null>(null);
  const download = async () => {
    try {
      const body = await get<{ available: boolean; reason?: string; cassette: string; runs: number }>(ws(`/tests/${seg(testId)}/cassette`));
      if (!body.available) {
        setNote(body.reason ?? "No cassette for this test.");
        return;
      }
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([body.cassette], { type: "application/x-ndjson" }));
      link.download = `${testId}.cassette.jsonl`;
      link.click();
      URL.revokeObjectURL(link.href);
      setNote(`${body.runs} recorded run${body.runs === 1 ? "" : "s"}: replay them with assert_replays.`);
    } catch (err) {
      setNote(errorText(err));
    }
  };
  return (
    <>
      <button type="button" className="ghost small" onClick={() => void download()}>
        Download the chat's cassette
      </button>
      {note ? (
        <span className="muted" role="status">
          {" "}
          {note}
        </span>
      ) : null}
    </>
  );
}

function TestDetail({ testId, tools, onChanged }: { testId: string; tools: string[] | null; onChanged: () => void }) {
  const { ws } = useStudio();
  const [, navigate] = useLocation();
  const test = useApi<{ test: TestRow }>(ws(`/tests/${seg(testId)}`));
  const evals = useApi<{ evals: EvalRow[] }>(ws("/evals"));
  const history = (evals.data?.evals ?? []).filter((e) => e.testCaseIds.includes(testId));
  if (test.error) return <Banner>{errorText(test.error)}</Banner>;
  if (!test.data) return <Loading what="the test case" />;
  const testCase = test.data.test.testCase;
  const remove = async () => {
    if (!window.confirm(`Delete the test case ${testId}?`)) return;
    try {
      await del(ws(`/tests/${seg(testId)}`));
      onChanged();
      navigate("/tests");
    } catch (err) {
      window.alert(errorText(err));
    }
  };
  return (
    <>
      <PageHeader title={<>Test <code>{testId}</code></>} />
      <Editor
        key={testId}
        initial={testCase}
        fixedId={testId}
        tools={tools}
        onSave={async (value) => {
          await put(ws(`/tests/${seg(testId)}`), value);
          onChanged();
        }}
        actions={
          <>
            <button type="button" className="ghost" onClick={() => navigate(`/playground?autoSend=${encodeURIComponent(testCase.input ?? "")}`)}>
              Try in Chat
            </button>
            <button type="button" className="ghost" onClick={() => navigate(`/tests/new?prefill=${encodeURIComponent(JSON.stringify({ ...testCase, id: `${testId}-copy` }))}`)}>
              Clone
            </button>
            <button type="button" className="ghost" onClick={() => navigate(`/evals/new?testCaseIds=${encodeURIComponent(testId)}`)}>
              Run Eval
            </button>
            <button type="button" className="danger" onClick={() => void remove()}>
              Delete
            </button>
          </>
        }
      />
      {testCase.sourceThreadId ? (
        <p>
          Drafted from the thread <Link href={`/playground/${seg(testCase.sourceThreadId)}`}>{testCase.sourceThreadId}</Link>.{" "}
          <CassetteButton testId={testId} />
        </p>
      ) : null}
      <h2>Eval history</h2>
      {history.length ? (
        <ul aria-label="Eval history">
          {history.map((e) => (
            <li key={e.id} className="row">
              <Link href={`/evals/${seg(e.id)}`}>{e.id}</Link> <StatusBadge status={e.status} />
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No eval has run this test yet.</p>
      )}
    </>
  );
}

export default function Tests() {
  const { ws } = useStudio();
  const [path, navigate] = useLocation();
  const search = useSearch();
  const tests = useApi<{ tests: TestRow[] }>(ws("/tests"));
  const tools = useApi<{ tools: { name: string }[] }>(ws("/tests/tools"));
  const [query, setQuery] = useState("");
  const sub = decodeURIComponent(path.replace(/^\/tests\/?/, ""));
  useEffect(() => {
    document.title = sub ? `Test ${sub}` : "Tests";
  }, [sub]);
  const toolNames = tools.data ? tools.data.tools.map((t) => t.name) : null;
  const needle = query.trim().toLowerCase();
  const rows = (tests.data?.tests ?? []).filter(
    (t) => !needle || t.id.toLowerCase().includes(needle) || String(t.testCase.input ?? "").toLowerCase().includes(needle) || (t.testCase.tags ?? []).some((tag) => tag.toLowerCase().includes(needle)),
  );
  let prefill = TEMPLATE;
  const given = new URLSearchParams(search).get("prefill");
  if (given) {
    try {
      prefill = { ...TEMPLATE, ...(JSON.parse(given) as TestCase) };
    } catch {
      prefill = { ...TEMPLATE, input: given };
    }
  }
  return (
    <div className="split">
      <aside className="sidebar" aria-label="Test cases">
        <div className="row">
          <Link href="/tests/new">New test</Link>
          <Link href="/evals/new">Run eval (all)</Link>
        </div>
        <input type="search" aria-label="Search tests" placeholder="Search tests" value={query} onChange={(e) => setQuery(e.target.value)} />
        <div className="sidebar-list">
          {tests.error ? <Banner>{errorText(tests.error)}</Banner> : null}
          {!tests.data && !tests.error ? <p className="muted loading">Loading tests…</p> : null}
          {tests.data && !rows.length ? <Empty title={needle ? "No test matches." : "No test cases yet."}>{needle ? null : "Create one, or save a chat as a test case."}</Empty> : null}
          <ul aria-label="Test list">
            {rows.map((t) => (
              <li key={t.id} className="list-item">
                <Link href={`/tests/${seg(t.id)}`} aria-current={sub === t.id ? "page" : undefined}>
                  {t.id}
                  {t.testCase.structuredGroundTruth ? " ◆" : ""}
                </Link>
              </li>
            ))}
          </ul>
        </div>
      </aside>
      <section>
        {tools.error ? <Banner kind="warn">Tool inventory unavailable ({errorText(tools.error)}): trajectories are not checked.</Banner> : null}
        {!sub ? (
          <>
            <PageHeader title="Tests" />
            <Empty title="Pick a test case, or create one.">A test case is an input, the tools the agent should call, and optional ground truth for its plans.</Empty>
          </>
        ) : sub === "new" ? (
          <>
            <PageHeader title="New test case" />
            <Editor
              initial={prefill}
              fixedId={null}
              tools={toolNames}
              onSave={async (value) => {
                const body = await post<{ test: { id: string } }>(ws("/tests"), value);
                tests.reload();
                navigate(`/tests/${seg(body.test.id)}`);
              }}
            />
          </>
        ) : (
          <TestDetail key={sub} testId={sub} tools={toolNames} onChanged={tests.reload} />
        )}
      </section>
    </div>
  );
}
