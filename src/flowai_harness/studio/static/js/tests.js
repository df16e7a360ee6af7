// Tests builder: the test case list, a JSON editor to create or edit one, and shortcuts to
// chat with its input or run an eval of it.
import { del, get, post, put, ws } from "./api.js";
import { banner, errorText, h, json, mount } from "./dom.js";
import { navigate, setLeaveGuard } from "./router.js";

const TEMPLATE = {
  id: "my-test",
  input: "What should the agent answer?",
  tags: [],
  expectedTrajectory: [],
  trajectoryMode: "actual_subset",
};

function layout(root, content) {
  const list = h("ul", { "aria-label": "Test cases" }, h("li", { className: "muted" }, "Loading…"));
  const search = h("input", { type: "search", placeholder: "Search tests", "aria-label": "Search tests" });
  const toolsNote = h("div", {});
  mount(root, h("div", { className: "split" },
    h("aside", { className: "sidebar", "aria-label": "Tests sidebar" },
      h("div", { className: "row" }, h("a", { href: "/tests/new" }, "New test"), h("a", { href: "/evals/new" }, "Run eval (all)")),
      search, list),
    h("section", { className: "chat" }, toolsNote, content)));
  let tests = [];
  const draw = () => {
    const needle = search.value.trim().toLowerCase();
    const rows = tests.filter((t) => !needle || t.id.toLowerCase().includes(needle) || (t.testCase.input || "").toLowerCase().includes(needle)
      || (t.testCase.tags || []).some((tag) => tag.toLowerCase().includes(needle)));
    mount(list, rows.length ? rows.map((t) => h("li", {},
      h("a", { href: `/tests/${encodeURIComponent(t.id)}`, "aria-current": location.pathname === `/tests/${t.id}` ? "page" : false },
        t.id, t.testCase.structuredGroundTruth ? " ◆" : ""))) : h("li", { className: "muted" }, "No test cases."));
  };
  search.addEventListener("input", draw);
  get(ws("/tests")).then((body) => { tests = body.tests; draw(); })
    .catch((err) => mount(list, h("li", {}, banner(errorText(err)))));
  get(ws("/tests/tools")).catch((err) => toolsNote.replaceChildren(banner(`Tool inventory unavailable: ${errorText(err)}`)));
}

function editor(initial, { onSave, extra = [] }) {
  const area = h("textarea", { "aria-label": "Test case JSON", rows: 16, spellcheck: "false" }, json(initial));
  const message = h("div", { role: "status" });
  let saved = area.value;
  setLeaveGuard(() => (area.value !== saved ? "Leave without saving this test case?" : null));
  async function save() {
    let value;
    try {
      value = JSON.parse(area.value);
    } catch (err) {
      message.replaceChildren(banner(`The test case is not valid JSON: ${err.message}`));
      return;
    }
    try {
      await onSave(value);
      saved = area.value;
      message.replaceChildren(banner("Saved.", [], "info"));
    } catch (err) {
      message.replaceChildren(banner(errorText(err)));
    }
  }
  area.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s") {
      e.preventDefault();
      save();
    }
  });
  return h("div", {}, area, h("div", { className: "row" }, h("button", { type: "button", onclick: save }, "Save"), extra), message);
}

/** Render the tests list, or the new-test editor when `mode` is "new". */
export function renderTests(root, mode, query) {
  document.title = "Tests";
  if (mode !== "new") {
    layout(root, [h("h1", {}, "Tests"), h("p", { className: "muted" }, "Pick a test case, or create one from JSON (New test).")]);
    return null;
  }
  let initial = TEMPLATE;
  const prefill = query.get("prefill");
  if (prefill) {
    try {
      initial = { ...TEMPLATE, ...JSON.parse(prefill) };
    } catch {
      initial = { ...TEMPLATE, input: prefill };
    }
  }
  layout(root, [h("h1", {}, "New test case"),
    h("p", { className: "muted" }, "A harness EvalTestCase in its JSON wire form; `input` is required."),
    editor(initial, { onSave: async (value) => {
      const body = await post(ws("/tests"), value);
      setLeaveGuard(null);
      navigate(`/tests/${encodeURIComponent(body.test.id)}`);
    } })]);
  return () => setLeaveGuard(null);
}

/** Render one test case: JSON editor, Delete, Clone, Try in Chat, Run Eval. */
export function renderTestDetail(root, testId) {
  document.title = `Test ${testId}`;
  const content = h("div", {}, h("p", { className: "muted" }, "Loading…"));
  layout(root, [h("h1", {}, "Test ", h("code", {}, testId)), content]);
  get(ws(`/tests/${encodeURIComponent(testId)}`)).then((body) => {
    const test = body.test.testCase;
    const actions = [
      h("button", { type: "button", className: "ghost", onclick: () => navigate(`/playground?autoSend=${encodeURIComponent(test.input || "")}`) }, "Try in Chat"),
      h("button", { type: "button", className: "ghost", onclick: () => navigate(`/tests/new?prefill=${encodeURIComponent(JSON.stringify({ ...test, id: `${test.id}-copy` }))}`) }, "Clone"),
      h("button", { type: "button", className: "ghost", onclick: () => navigate(`/evals/new?testCaseIds=${encodeURIComponent(testId)}`) }, "Run Eval"),
      h("button", { type: "button", className: "danger", onclick: async () => {
        if (!window.confirm(`Delete the test case ${testId}?`)) return;
        try {
          await del(ws(`/tests/${encodeURIComponent(testId)}`));
          setLeaveGuard(null);
          navigate("/tests");
        } catch (err) {
          content.append(banner(errorText(err)));
        }
      } }, "Delete"),
    ];
    mount(content, editor(test, { onSave: (value) => put(ws(`/tests/${encodeURIComponent(testId)}`), value), extra: actions }),
      test.sourceThreadId ? h("p", {}, "Source thread: ", h("a", { href: `/playground/${encodeURIComponent(test.sourceThreadId)}` }, test.sourceThreadId)) : null);
  }).catch((err) => mount(content, banner(errorText(err))));
  return () => setLeaveGuard(null);
}
