// Runs & approvals: the runs list with filters, a run's event timeline (polled until it
// ends), and the approvals inbox.
import { get, ws } from "./api.js";
import { approvalCard } from "./approval_card.js";
import { banner, errorText, foldJson, h, mount, statusPill, when } from "./dom.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const IDLE_MS = 5 * 60 * 1000;

function tabs(active) {
  return h("nav", { className: "tabs", "aria-label": "Runs tabs" },
    h("a", { href: "/runs", "aria-current": active === "runs" ? "page" : false }, "Runs"),
    h("a", { href: "/runs?tab=approvals", "aria-current": active === "approvals" ? "page" : false }, "Approvals"));
}

function shownStatus(run) {
  if (run.status === "running" && Date.now() - Date.parse(run.updatedAt) > IDLE_MS) return "interrupted";
  return run.status;
}

/** Render the Runs screen (tab from `?tab=`). */
export function renderRuns(root, query) {
  if (query.get("tab") === "approvals") return renderApprovals(root);
  document.title = "Runs";
  const searchBox = h("input", { type: "search", placeholder: "Search run, thread, operation", "aria-label": "Search runs", value: query.get("q") || "" });
  const opFilter = h("select", { "aria-label": "Operation filter" });
  const statusFilter = h("select", { "aria-label": "Status filter" });
  const agentFilter = h("select", { "aria-label": "Agent filter" });
  const pageSize = h("select", { "aria-label": "Page size" }, [25, 50, 100].map((n) => h("option", { value: n }, `${n} / page`)));
  const table = h("div", {});
  const clear = h("button", { type: "button", className: "ghost", onclick: () => {
    searchBox.value = ""; opFilter.value = ""; statusFilter.value = ""; agentFilter.value = ""; draw();
  } }, "Clear");
  mount(root, h("h1", {}, "Runs"), tabs("runs"),
    h("div", { className: "row" }, searchBox, opFilter, statusFilter, agentFilter, pageSize, clear), table);
  let runs = [];
  let titles = {};
  let page = 0;
  let live = true;

  function options(select, label, values) {
    const keep = select.value;
    mount(select, h("option", { value: "" }, `All ${label}`), [...new Set(values)].filter(Boolean).sort().map((v) => h("option", { value: v }, v)));
    select.value = keep;
  }

  function draw() {
    const needle = searchBox.value.trim().toLowerCase();
    const rows = runs.filter((r) =>
      (!needle || [r.runId, r.threadId, titles[r.threadId], r.operation].some((v) => (v || "").toLowerCase().includes(needle))) &&
      (!opFilter.value || r.operation === opFilter.value) &&
      (!statusFilter.value || shownStatus(r) === statusFilter.value) &&
      (!agentFilter.value || r.agentId === agentFilter.value));
    const size = Number(pageSize.value);
    page = Math.min(page, Math.max(0, Math.ceil(rows.length / size) - 1));
    const slice = rows.slice(page * size, page * size + size);
    mount(table, rows.length ? [
      h("table", { "aria-label": "Runs" },
        h("thead", {}, h("tr", {}, ["Run", "Context", "Operation", "Agent", "Status", "Events", "Updated"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, slice.map((r) => h("tr", { dataset: { runId: r.runId } },
          h("td", {}, h("a", { href: `/runs/${encodeURIComponent(r.runId)}` }, r.runId)),
          h("td", {}, context(r)),
          h("td", {}, r.operation), h("td", {}, r.agentId || ""),
          h("td", {}, statusPill(shownStatus(r))), h("td", {}, String(r.eventCount)), h("td", {}, when(r.updatedAt)))))),
      h("div", { className: "row" },
        h("button", { type: "button", className: "ghost", disabled: page === 0, onclick: () => { page -= 1; draw(); } }, "Previous"),
        h("span", { className: "muted" }, `${page * size + 1}–${page * size + slice.length} of ${rows.length}`),
        h("button", { type: "button", className: "ghost", disabled: (page + 1) * size >= rows.length, onclick: () => { page += 1; draw(); } }, "Next")),
    ] : h("p", { className: "muted" }, runs.length ? "No run matches the filters." : "No runs yet. Chat in the Playground to start one."));
  }

  function context(run) {
    if (run.operation === "chat" && run.threadId) {
      return h("a", { href: `/playground/${encodeURIComponent(run.threadId)}` }, titles[run.threadId] || run.threadId);
    }
    if (run.operation === "eval" && run.threadId && run.threadId.startsWith("eval:")) {
      const evalId = run.threadId.slice(5);
      return h("a", { href: `/evals/${encodeURIComponent(evalId)}` }, `eval ${evalId}`);
    }
    return run.threadId || "";
  }

  for (const el of [searchBox, opFilter, statusFilter, agentFilter, pageSize]) el.addEventListener("input", () => { page = 0; draw(); });
  Promise.all([get(ws("/runs")), get(ws("/threads")).catch(() => ({ threads: [] }))]).then(([body, threads]) => {
    if (!live) return;
    runs = body.runs;
    titles = Object.fromEntries(threads.threads.map((t) => [t.threadId, t.title]));
    options(opFilter, "operations", runs.map((r) => r.operation));
    options(statusFilter, "statuses", runs.map(shownStatus));
    options(agentFilter, "agents", runs.map((r) => r.agentId));
    draw();
  }).catch((err) => mount(table, banner(errorText(err))));
  return () => {
    live = false;
  };
}

function describe(entry) {
  const p = (entry.event && entry.event.payload) || {};
  switch (entry.kind) {
    case "message.delta": return h("span", { className: "text" }, p.text);
    case "tool.call.started": return [h("strong", {}, `tool ${p.toolName}`), foldJson("Input", p.arguments)];
    case "tool.call.completed": return [h("strong", {}, `tool ${p.toolName} ${p.status}`), foldJson("Output", p.result)];
    case "sub_agent.call.started": return [h("strong", {}, `sub-agent ${p.targetAgentId}`), " ", p.message || ""];
    case "sub_agent.call.completed": return h("strong", {}, `sub-agent ${p.targetAgentId} ${p.status || ""}`);
    case "approval.required": return [h("strong", {}, `approval required: ${p.title}`), " ", h("a", { href: "/runs?tab=approvals" }, "open inbox")];
    case "approval.decision": return h("strong", {}, `approval ${p.status}`);
    case "run.failed": return h("span", { className: "failed" }, (p.error && p.error.message) || "failed");
    default: return foldJson("Details", entry.event ? entry.event.payload : entry.raw);
  }
}

/** Render one run: header and timeline, polling every 2 s with since_seq until it ends. */
export function renderRunDetail(root, runId) {
  document.title = `Run ${runId}`;
  const header = h("div", {}, h("p", { className: "muted" }, "Loading…"));
  const timeline = h("ol", { className: "timeline", "aria-label": "Run events" });
  mount(root, h("p", {}, h("a", { href: "/runs" }, "← Runs")), h("h1", {}, "Run ", h("code", {}, runId)), header, timeline);
  let lastSeq = 0;
  let timer = null;
  let live = true;
  async function poll() {
    try {
      const [run, events] = await Promise.all([
        get(ws(`/runs/${encodeURIComponent(runId)}`)),
        get(ws(`/runs/${encodeURIComponent(runId)}/events?since_seq=${lastSeq}`)),
      ]);
      if (!live) return;
      const row = run.run || run;
      mount(header, h("div", { className: "row" }, statusPill(shownStatus(row)),
        h("span", {}, `operation ${row.operation}`), h("span", {}, `agent ${row.agentId || "–"}`),
        row.threadId ? h("a", { href: row.operation === "chat" ? `/playground/${encodeURIComponent(row.threadId)}` : "#" }, `thread ${row.threadId}`) : null,
        h("span", { className: "muted" }, `${row.eventCount} events · started ${when(row.createdAt)} · updated ${when(row.updatedAt)}`)));
      for (const entry of events.events) {
        lastSeq = Math.max(lastSeq, entry.seq);
        timeline.append(h("li", { dataset: { kind: entry.kind } }, h("span", { className: "seq" }, `#${entry.seq}`),
          h("code", {}, entry.kind), " ", describe(entry)));
      }
      if (!TERMINAL.has(row.status)) timer = setTimeout(poll, 2000);
    } catch (err) {
      if (!live) return;
      if (err.status === 404) mount(header, banner(`No run ${runId} in this workspace.`));
      else {
        mount(header, banner(errorText(err)));
        timer = setTimeout(poll, 2000);
      }
    }
  }
  poll();
  return () => {
    live = false;
    clearTimeout(timer);
  };
}

/** Render the approvals inbox (pending first). */
function renderApprovals(root) {
  document.title = "Approvals";
  const list = h("div", { "aria-label": "Approvals" }, h("p", { className: "muted" }, "Loading…"));
  mount(root, h("h1", {}, "Approvals"), tabs("approvals"), list);
  let live = true;
  async function load() {
    try {
      const body = await get(ws("/approvals"));
      if (!live) return;
      const rows = [...body.approvals].sort((a, b) => (a.status === "pending" ? 0 : 1) - (b.status === "pending" ? 0 : 1));
      mount(list, rows.length ? rows.map((row) => approvalCard(row, () => setTimeout(load, 300)))
        : h("p", { className: "muted" }, "No approvals in this workspace."));
    } catch (err) {
      mount(list, banner(errorText(err)));
    }
  }
  load();
  return () => {
    live = false;
  };
}
