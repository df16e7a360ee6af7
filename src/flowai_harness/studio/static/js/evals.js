// Evals: the eval list, a form to create one (mode, test picker, config), and the detail page
// that streams a run live and shows its summary and results.
import { del, get, post, stream, ws } from "./api.js";
import { banner, errorText, foldJson, h, mount, statusPill, when } from "./dom.js";
import { navigate } from "./router.js";

function layout(root, content) {
  const list = h("ul", { "aria-label": "Evals" }, h("li", { className: "muted" }, "Loading…"));
  mount(root, h("div", { className: "split" },
    h("aside", { className: "sidebar", "aria-label": "Evals sidebar" }, h("a", { href: "/evals/new" }, "New eval"), list),
    h("section", { className: "chat" }, content)));
  get(ws("/evals")).then((body) => {
    mount(list, body.evals.length ? body.evals.map((e) => h("li", {},
      h("a", { href: `/evals/${encodeURIComponent(e.id)}` }, e.id.slice(0, 18)), statusPill(e.status),
      h("button", { type: "button", className: "ghost", "aria-label": `Delete eval ${e.id}`, onclick: async () => {
        if (!window.confirm(`Delete eval ${e.id} and its results?`)) return;
        await del(ws(`/evals/${encodeURIComponent(e.id)}`)).catch(() => {});
        navigate("/evals");
      } }, "×"))) : h("li", { className: "muted" }, "No evals yet."));
  }).catch((err) => mount(list, h("li", {}, banner(errorText(err)))));
}

function summaryView(summary) {
  if (!summary) return h("p", { className: "muted" }, "No results yet.");
  const pick = (...keys) => keys.map((k) => summary[k]).find((v) => v !== undefined);
  const cells = [
    ["Passed", pick("passed", "passedCount", "testCasesPassed")],
    ["Failed", pick("failed", "failedCount", "testCasesFailed")],
    ["Score", pick("score", "meanScore", "averageScore", "passRate")],
    ["Duration", pick("durationMs", "totalDurationMs")],
  ].filter(([, v]) => v !== undefined);
  return h("div", { "aria-label": "Eval summary" },
    cells.length ? h("div", { className: "cards" }, cells.map(([k, v]) => h("div", { className: "card" }, h("h3", {}, k), String(v)))) : null,
    foldJson("Summary", summary, !cells.length));
}

function resultsMatrix(artifact) {
  const cases = (artifact && (artifact.testCases || artifact.results)) || [];
  if (!Array.isArray(cases) || !cases.length) return null;
  return h("table", { "aria-label": "Results" },
    h("thead", {}, h("tr", {}, h("th", {}, "Test case"), h("th", {}, "Passed"), h("th", {}, "Score"))),
    h("tbody", {}, cases.map((c) => h("tr", {},
      h("td", {}, c.testCaseId || c.id || ""),
      h("td", {}, c.passed === undefined ? "" : c.passed ? "yes" : "no"),
      h("td", {}, c.score === undefined ? "" : String(c.score))))));
}

/** Render the eval list, or the new-eval form when `creating`. */
export function renderEvals(root, query, creating = false) {
  document.title = "Evals";
  if (!creating) {
    layout(root, [h("h1", {}, "Evals"), h("p", { className: "muted" }, "Pick an eval, or start a new one.")]);
    return null;
  }
  const form = h("form", { className: "stack", "aria-label": "New eval" }, h("p", { className: "muted" }, "Loading…"));
  layout(root, [h("h1", {}, "New eval"), form]);
  Promise.all([get(ws("/eval-capabilities")), get(ws("/tests"))]).then(([caps, tests]) => {
    const preselect = (query.get("testCaseIds") || "").split(",").filter(Boolean);
    const mode = h("select", { name: "mode" }, caps.modes.map((m, i) =>
      h("option", { value: String(i) }, m.label)));
    const boxes = tests.tests.map((t) => h("input", { type: "checkbox", value: t.id, checked: preselect.length ? preselect.includes(t.id) : true }));
    const number = (name, value, min, step = 1) => h("input", { type: "number", name, value, min, step });
    const samples = number("samplesPerCase", 1, 1);
    const concurrency = number("concurrency", 1, 1);
    const threshold = number("passThreshold", 0.5, 0, 0.05);
    const message = h("div", {});
    const setAll = (on) => boxes.forEach((b) => (b.checked = on));
    mount(form,
      h("label", {}, "Mode", mode),
      h("fieldset", {}, h("legend", {}, "Test cases"),
        h("div", { className: "row" },
          h("button", { type: "button", className: "ghost", onclick: () => setAll(true) }, "Select all"),
          h("button", { type: "button", className: "ghost", onclick: () => setAll(false) }, "Deselect")),
        boxes.length ? boxes.map((b) => h("label", { className: "check" }, b, " ", b.value))
          : h("p", { className: "muted" }, "No test cases yet: create one under Tests.")),
      h("label", {}, "Samples per case", samples),
      h("label", {}, "Concurrency", concurrency),
      h("label", {}, "Pass threshold", threshold),
      h("button", { type: "submit" }, "Create and run"), message);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const chosen = caps.modes[Number(mode.value)] || {};
      const config = {
        mode: chosen.mode,
        samplesPerCase: Number(samples.value),
        concurrency: Number(concurrency.value),
        passThreshold: Number(threshold.value),
      };
      if (chosen.targetAgentId) config.targetAgentId = chosen.targetAgentId;
      const testCaseIds = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!testCaseIds.length) {
        message.replaceChildren(banner("Pick at least one test case."));
        return;
      }
      try {
        const body = await post(ws("/evals"), { config, testCaseIds });
        navigate(`/evals/${encodeURIComponent(body.evalId || body.eval.id)}?run=1`);
      } catch (err) {
        message.replaceChildren(banner(errorText(err)));
      }
    });
  }).catch((err) => mount(form, banner(errorText(err))));
  return null;
}

/** Render one eval: config, status, a live run (?run=1 or Run), summary and past runs. */
export function renderEvalDetail(root, evalId) {
  document.title = `Eval ${evalId}`;
  const header = h("div", {}, h("p", { className: "muted" }, "Loading…"));
  const progress = h("ol", { className: "timeline", "aria-label": "Eval progress", "aria-live": "polite" });
  const result = h("div", {});
  const runButton = h("button", { type: "button", onclick: () => run() }, "Run");
  const cancelButton = h("button", { type: "button", className: "ghost", hidden: true, onclick: cancel }, "Cancel");
  layout(root, [h("h1", {}, "Eval ", h("code", {}, evalId)), header, h("div", { className: "row" }, runButton, cancelButton), progress, result]);
  let controller = null;
  let live = true;

  async function load() {
    try {
      const body = await get(ws(`/evals/${encodeURIComponent(evalId)}`));
      if (!live) return;
      const row = body.eval;
      mount(header, h("div", { className: "row" }, statusPill(row.status),
        Object.entries(row.config || {}).map(([k, v]) => h("span", { className: "chip" }, `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)),
        h("span", { className: "muted" }, `tests: ${(row.testCaseIds || []).join(", ")}`)));
      if (!controller) {
        const latest = body.runs && body.runs[body.runs.length - 1]; // runs are oldest first
        mount(result, h("h2", {}, "Latest summary"), summaryView(row.latestSummary || (latest && latest.artifact && latest.artifact.summary)),
          latest ? resultsMatrix(latest.artifact) : null,
          body.runs && body.runs.length ? [h("h2", {}, "Runs"), h("ul", {}, [...body.runs].reverse().map((r) => h("li", {}, h("code", {}, r.runId), " ", when(r.createdAt))))] : null);
      }
    } catch (err) {
      mount(header, banner(errorText(err)));
    }
  }

  async function run() {
    if (controller) return;
    controller = new AbortController();
    runButton.disabled = true;
    cancelButton.hidden = false;
    progress.replaceChildren();
    result.replaceChildren(h("p", { className: "muted", role: "status" }, "Running…"));
    let artifact = null;
    try {
      for await (const frame of stream(ws(`/evals/${encodeURIComponent(evalId)}/stream`), undefined, { signal: controller.signal })) {
        const env = frame.data || {};
        const type = env.type || frame.event;
        const data = env.data || {};
        const text = type === "testCaseStarted" ? `test case ${data.testCaseId} started`
          : type === "sampleCompleted" ? `sample of ${(data.sample && data.sample.testCaseId) || ""} completed`
            : type === "testCaseCompleted" ? `test case ${(data.testCase && data.testCase.testCaseId) || ""} completed`
              : type === "evalFailed" ? `failed: ${(data.error && data.error.message) || JSON.stringify(data.error)}` : type;
        progress.append(h("li", { dataset: { type } }, text));
        if (type === "evalCompleted") artifact = data.artifact;
        if (type === "evalFailed") throw new Error(text);
        if (type === "evalCompleted" || type === "evalCancelled") break;
      }
      mount(result, h("h2", {}, "Summary"), summaryView(artifact && artifact.summary), resultsMatrix(artifact));
    } catch (err) {
      if (!controller.signal.aborted) mount(result, banner(errorText(err)));
    } finally {
      controller = null;
      runButton.disabled = false;
      cancelButton.hidden = true;
      if (live) load();
    }
  }

  function cancel() {
    if (!controller) return;
    controller.abort();
    post(ws(`/evals/${encodeURIComponent(evalId)}/cancel`)).catch(() => {});
  }

  load();
  if (new URLSearchParams(location.search).get("run") === "1") {
    history.replaceState(null, "", location.pathname);
    run();
  }
  return () => {
    live = false;
    if (controller) controller.abort();
  };
}
