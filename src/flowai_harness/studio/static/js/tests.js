// Tests builder: the test case list, a form (id, input, tags, expected trajectory with a tool
// palette, trajectory mode) kept in step with a JSON editor of the whole EvalTestCase wire
// object, and shortcuts to chat with its input or run an eval of it.
import { del, get, post, put, ws } from "./api.js";
import { banner, errorText, h, json, mount } from "./dom.js";
import { navigate, setLeaveGuard } from "./router.js";

// The five trajectory modes of EvalTestCase.trajectoryMode, labelled as the builder names them.
const MODES = [
  ["strict", "Strict sequence"],
  ["unordered", "Unordered exact"],
  ["subset", "Actual subset"],
  ["superset", "Required present"],
  ["subsequence", "Required in order"],
];

const TEMPLATE = {
  id: "my-test",
  input: "What should the agent answer?",
  tags: [],
  expectedTrajectory: [],
  trajectoryMode: "unordered",
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
  return get(ws("/tests/tools")).then((body) => body.tools.map((t) => t.name)).catch((err) => {
    toolsNote.replaceChildren(banner(`Tool inventory unavailable: ${errorText(err)}`));
    return null;
  });
}

const splitTags = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);
const splitLines = (text) => text.split("\n").map((t) => t.trim()).filter(Boolean);

/**
 * The form half of the editor. Every form edit is written into the JSON text (other keys kept);
 * `show(value)` fills the form from a parsed JSON value. `tools` resolves to the known tool
 * names (null when the inventory could not load).
 */
function testForm(area, tools) {
  const id = h("input", { "aria-label": "Id", placeholder: "my-test" });
  const input = h("textarea", { "aria-label": "Input", rows: 3 });
  const tags = h("input", { "aria-label": "Tags", placeholder: "smoke, refunds" });
  const trajectory = h("textarea", { "aria-label": "Expected trajectory", rows: 4, placeholder: "one tool name per line" });
  const mode = h("select", { "aria-label": "Trajectory mode" }, MODES.map(([value, label]) => h("option", { value }, label)));
  const palette = h("div", { className: "row", "aria-label": "Tool palette" });
  let last = {};
  const write = () => {
    let base = last;
    try {
      base = JSON.parse(area.value);
    } catch {
      /* keep the last value that parsed: the form stays the source of truth until the JSON is fixed */
    }
    const value = { ...base, input: input.value, tags: splitTags(tags.value),
      expectedTrajectory: splitLines(trajectory.value), trajectoryMode: mode.value };
    if (id.value.trim()) value.id = id.value.trim();
    else delete value.id;
    last = value;
    area.value = json(value);
  };
  const show = (value) => {
    if (!value || typeof value !== "object" || Array.isArray(value)) return;
    last = value;
    id.value = value.id ?? "";
    input.value = typeof value.input === "string" ? value.input : "";
    tags.value = Array.isArray(value.tags) ? value.tags.join(", ") : "";
    trajectory.value = Array.isArray(value.expectedTrajectory) ? value.expectedTrajectory.join("\n") : "";
    mode.value = MODES.some(([m]) => m === value.trajectoryMode) ? value.trajectoryMode : "unordered";
  };
  for (const field of [id, input, tags, trajectory]) field.addEventListener("input", write);
  mode.addEventListener("change", write);
  area.addEventListener("input", () => {
    try {
      show(JSON.parse(area.value));
    } catch {
      /* mid-edit JSON: the form updates once it parses again */
    }
  });
  tools.then((names) => mount(palette, (names || []).map((name) => h("button", { type: "button", className: "ghost chip", onclick: () => {
    trajectory.value = [...splitLines(trajectory.value), name].join("\n");
    write();
  } }, `+ ${name}`))));
  const field = (label, control) => h("label", { className: "field" }, h("span", {}, label), control);
  const el = h("fieldset", { className: "test-form", "aria-label": "Test case form" },
    field("Id", id), field("Input (required)", input), field("Tags (comma separated)", tags),
    field("Expected trajectory", trajectory), palette, field("Trajectory mode", mode));
  return { el, show };
}

/** Why `value` cannot be saved (null when it can): input required, trajectory tools known. */
async function problem(value, tools) {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "The test case must be a JSON object.";
  if (typeof value.input !== "string" || !value.input.trim()) return "The test case needs an input.";
  const names = await tools;
  if (names && Array.isArray(value.expectedTrajectory)) {
    const unknown = value.expectedTrajectory.filter((name) => !names.includes(name));
    if (unknown.length) return `Unknown tools in the expected trajectory: ${unknown.join(", ")} (known: ${names.join(", ")}).`;
  }
  return null;
}

function editor(initial, tools, { onSave, extra = [] }) {
  const area = h("textarea", { "aria-label": "Test case JSON", rows: 16, spellcheck: "false" }, json(initial));
  const form = testForm(area, tools);
  form.show(initial);
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
    const why = await problem(value, tools);
    if (why) {
      message.replaceChildren(banner(why));
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
  const root = h("div", {}, form.el, h("details", { open: true }, h("summary", {}, "JSON"), area), h("div", { className: "row" }, h("button", { type: "button", onclick: save }, "Save"), extra), message);
  root.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s") {
      e.preventDefault();
      save();
    }
  });
  return root;
}

/** Render the tests list, or the new-test editor when `mode` is "new". */
export function renderTests(root, mode, query) {
  document.title = "Tests";
  if (mode !== "new") {
    layout(root, [h("h1", {}, "Tests"), h("p", { className: "muted" }, "Pick a test case, or create one (New test).")]);
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
  const slot = h("div", {});
  const tools = layout(root, [h("h1", {}, "New test case"),
    h("p", { className: "muted" }, "A harness EvalTestCase: fill the form or edit its JSON wire form; `input` is required."), slot]);
  mount(slot, editor(initial, tools, { onSave: async (value) => {
    const body = await post(ws("/tests"), value);
    setLeaveGuard(null);
    navigate(`/tests/${encodeURIComponent(body.test.id)}`);
  } }));
  return () => setLeaveGuard(null);
}

/** Render one test case: form + JSON editor, Delete, Clone, Try in Chat, Run Eval. */
export function renderTestDetail(root, testId) {
  document.title = `Test ${testId}`;
  const content = h("div", {}, h("p", { className: "muted" }, "Loading…"));
  const tools = layout(root, [h("h1", {}, "Test ", h("code", {}, testId)), content]);
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
    mount(content, editor(test, tools, { onSave: (value) => put(ws(`/tests/${encodeURIComponent(testId)}`), value), extra: actions }),
      test.sourceThreadId ? h("p", {}, "Source thread: ", h("a", { href: `/playground/${encodeURIComponent(test.sourceThreadId)}` }, test.sourceThreadId)) : null);
  }).catch((err) => mount(content, banner(errorText(err))));
  return () => setLeaveGuard(null);
}
