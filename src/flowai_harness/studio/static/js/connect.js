// Connect: the workspace's data source, table discovery (columns with PK/FK, relationships,
// sample rows), database profiling, catalog search, and the catalog tools with a JSON input to
// execute them. Field names follow the data routes as the server returns them.
import { get, post, stream, ws } from "./api.js";
import { banner, errorText, foldJson, h, jsonBlock, mount } from "./dom.js";
import { capable } from "./shell.js";

const SECTIONS = [["", "Overview"], ["discovery", "Discovery"], ["search", "Search"], ["tools", "Tools"]];
const SEARCH_MODES = [["all", "All"], ["semantic", "Semantic"], ["tables", "Tables"], ["columns", "Columns"], ["terms", "Terms"]];

function grid(label, columns, rows) {
  return h("table", { "aria-label": label },
    h("thead", {}, h("tr", {}, columns.map(([, title]) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, columns.map(([key]) => h("td", { dataset: { col: key } }, cell(r[key])))))));
}

function cell(value) {
  if (value === undefined || value === null) return "";
  if (value instanceof Node) return value;
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

const tableLink = (name) => h("a", { href: `/connect/discovery/${encodeURIComponent(name)}` }, name);
const countOf = (promise, key) => promise.then((body) => (body[key] || []).length).catch(() => "—");

/** Render the Connect screen: `section` is discovery/search/tools, `item` a table name. */
export function renderConnect(root, section = "", item, query) {
  document.title = "Connect";
  const hasData = ["data.sources", "data.profile", "knowledge.ingest", "tools.inspect"].some(capable);
  const content = h("div", {});
  mount(root, h("div", { className: "split" },
    h("aside", { className: "sidebar", "aria-label": "Connect sidebar" },
      h("p", { className: "muted" }, "Source: ", h("code", {}, "workspace-runtime")),
      h("ul", {}, SECTIONS.map(([path, label]) => h("li", {},
        h("a", { href: `/connect${path ? "/" + path : ""}`, "aria-current": (section || "") === path ? "page" : false }, label))))),
    h("section", { className: "chat" }, h("h1", {}, "Connect"), content)));
  if (!hasData) {
    mount(content, banner("This workspace has no data environment: configure one on its runtime binding to browse data.", [], "info"));
    return null;
  }
  const fail = (err) => content.append(banner(errorText(err)));
  if (!section) renderIndex(content, fail);
  else if (section === "discovery" && !item) renderTables(content, query, fail);
  else if (section === "discovery") renderTable(content, item, query, fail);
  else if (section === "search") renderSearch(content, query);
  else if (section === "tools") {
    get(ws("/tools")).then((body) => {
      const tools = body.tools || [];
      mount(content, h("h2", {}, "Tools"), tools.length ? tools.map(toolCard) : h("p", { className: "muted" }, "No catalog tools."));
    }).catch(fail);
  } else {
    mount(content, h("p", { className: "muted" }, `Unknown section ${section}.`));
  }
  return null;
}

function renderIndex(content, fail) {
  const counts = Promise.all([
    countOf(get(ws("/data/discovery/tables")), "tables"),
    countOf(get(ws("/data/knowledge/documents")), "documents"),
    countOf(get(ws("/data/knowledge/items")), "items"),
  ]);
  Promise.all([get(ws("/data/sources")), counts]).then(([body, [tables, documents, items]]) => {
    const sources = (body.sources || []).map((s) => ({ ...s, name: s.displayName || s.name }));
    mount(content,
      h("div", { className: "cards", "aria-label": "Data counts" },
        [["Tables", tables], ["Documents", documents], ["Knowledge Items", items]].map(([label, n]) =>
          h("div", { className: "card", dataset: { count: label } }, h("h3", {}, label), h("strong", {}, String(n))))),
      h("h2", {}, "Source"),
      grid("Sources", [["sourceId", "Id"], ["name", "Name"], ["kind", "Type"], ["state", "Status"], ["databaseName", "Database"], ["schemaName", "Schema"]], sources),
      h("p", {}, h("a", { href: "/playground" }, "Explore in Chat"), " · ", h("a", { href: "/connect/search" }, "Search"), " · ",
        h("a", { href: "/connect/tools" }, "Tools"), " · ", h("a", { href: "/runs" }, "Runs")));
  }).catch(fail);
}

function renderTables(content, query, fail) {
  const schemaPick = h("select", { "aria-label": "Schema" }, h("option", { value: "" }, "All schemas"));
  const list = h("div", {}, h("p", { className: "muted" }, "Loading…"));
  const progress = h("ol", { className: "timeline", "aria-label": "Profiling progress" });
  const profileButton = h("button", { type: "button", onclick: () => profileDatabase(profileButton, progress, load) }, "Profile database");
  const load = () => {
    const schema = schemaPick.value;
    get(ws(`/data/discovery/tables${schema ? `?schema=${encodeURIComponent(schema)}` : ""}`)).then((body) => {
      const rows = (body.tables || []).map((t) => ({ ...t, tableName: tableLink(t.tableName) }));
      mount(list, rows.length ? grid("Tables", [["tableName", "Table"], ["schemaName", "Schema"], ["tableType", "Type"],
        ["columnCount", "Columns"], ["rowCount", "Rows"], ["description", "Description"]], rows) : h("p", { className: "muted" }, "No tables."));
    }).catch((err) => mount(list, banner(errorText(err))));
  };
  schemaPick.addEventListener("change", load);
  get(ws("/data/discovery/schemas")).then((body) => {
    for (const name of body.schemas || []) schemaPick.append(h("option", { value: name }, name));
    if (query.get("schema")) schemaPick.value = query.get("schema");
    load();
  }).catch(fail);
  mount(content, h("h2", {}, "Tables"), h("div", { className: "row" }, schemaPick, profileButton), progress, list);
}

async function profileDatabase(button, progress, done) {
  button.disabled = true;
  const started = performance.now();
  progress.replaceChildren();
  try {
    for await (const frame of stream(ws("/data/profile/database"), {})) {
      const event = frame.data || {};
      const elapsed = ((performance.now() - started) / 1000).toFixed(1);
      const detail = event.stage || event.message || event.tableName || event.table || "";
      progress.append(h("li", { dataset: { type: event.type || "" } }, h("span", { className: "seq" }, `${elapsed}s`), event.type || "event", detail ? ` · ${detail}` : ""));
    }
    done();
  } catch (err) {
    progress.append(h("li", {}, banner(errorText(err))));
  } finally {
    button.disabled = false;
  }
}

function keyOf(column) {
  const fk = column.foreignKey;
  return [column.primaryKey ? "PK" : "", fk ? `FK → ${fk.referencedTable}.${fk.referencedColumn}` : ""].filter(Boolean).join(" ");
}

function renderTable(content, item, query, fail) {
  const name = encodeURIComponent(item);
  const tab = query.get("tab") === "relationships" ? "relationships" : "columns";
  Promise.all([get(ws(`/data/discovery/tables/${name}`)), get(ws(`/data/discovery/tables/${name}/sample?limit=20`))]).then(([body, sample]) => {
    const table = body.table;
    const tabs = h("nav", { className: "tabs" }, [["columns", "Columns"], ["relationships", "Relationships"]].map(([id, label]) =>
      h("a", { href: `/connect/discovery/${name}?tab=${id}`, "aria-current": tab === id ? "page" : false }, label)));
    const columns = (table.columns || []).map((c) => ({ ...c, key: keyOf(c), nullable: c.nullable ? "yes" : "no" }));
    const relationships = (table.foreignKeys || []).map((fk) => ({
      columns: fk.columns.join(", "),
      references: tableLink(fk.referencedTable),
      referencedColumns: fk.referencedColumns.join(", "),
    }));
    const pane = tab === "columns"
      ? grid("Columns", [["name", "Column"], ["dataType", "Type"], ["nullable", "Nullable"], ["key", "Key"], ["default", "Default"]], columns)
      : relationships.length
        ? grid("Relationships", [["columns", "Columns"], ["references", "References"], ["referencedColumns", "Referenced columns"]], relationships)
        : h("p", { className: "muted" }, "No foreign keys.");
    const rows = sample.rows || [];
    const sampleColumns = (sample.metadata && sample.metadata.columns) || (rows[0] ? Object.keys(rows[0]) : []);
    mount(content, h("h2", {}, `Table ${table.schemaName}.${table.tableName}`),
      h("p", { className: "muted" }, `${table.rowCount ?? "?"} rows · ${table.columnCount} columns`, table.description ? ` · ${table.description}` : ""),
      tabs, pane, h("h3", {}, "Sample rows"),
      rows.length ? grid("Sample rows", sampleColumns.map((c) => [c, c]), rows) : h("p", { className: "muted" }, "No rows."));
  }).catch(fail);
}

function renderSearch(content, query) {
  let mode = SEARCH_MODES.some(([m]) => m === query.get("mode")) ? query.get("mode") : "all";
  const q = h("input", { type: "search", "aria-label": "Search the catalog", value: query.get("q") || "" });
  const results = h("div", {});
  const tabs = h("nav", { className: "tabs", "aria-label": "Search mode" });
  const drawTabs = () => mount(tabs, SEARCH_MODES.map(([m, label]) => h("a", { href: "#", role: "tab", "aria-current": m === mode ? "page" : false,
    onclick: (e) => { e.preventDefault(); mode = m; drawTabs(); run(); } }, label)));
  const run = async () => {
    if (!q.value.trim()) return;
    try {
      const body = await post(ws("/data/search"), { query: q.value.trim(), mode, limit: 20 });
      const s = body.search;
      mount(results, h("p", { className: "muted", role: "status" }, `${s.totalCount} results · ${s.queryTimeMs} ms`),
        h("ul", { "aria-label": "Search results" }, s.items.map((it) => h("li", { dataset: { kind: it.kind || "" } },
          h("strong", {}, it.qualified_name || it.name || it.id || ""), " ", h("span", { className: "chip" }, it.kind || ""),
          it.description ? h("div", { className: "muted" }, it.description) : null))),
        foldJson("Raw", s.raw ?? s));
    } catch (err) {
      mount(results, banner(errorText(err)));
    }
  };
  const form = h("form", { className: "row" }, q, h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  drawTabs();
  mount(content, h("h2", {}, "Search"), tabs, form, results);
  if (q.value.trim()) run();
}

function toolCard(tool) {
  const id = tool.toolId || tool.name;
  const input = h("textarea", { "aria-label": `Input for ${id}`, rows: 3 }, "{}");
  const out = h("div", {});
  const run = async () => {
    let value;
    try {
      value = JSON.parse(input.value);
    } catch (err) {
      mount(out, banner(`Input is not valid JSON: ${err.message}`));
      return;
    }
    try {
      mount(out, jsonBlock((await post(ws(`/tools/${encodeURIComponent(id)}/execute`), { input: value })).result, "Result"));
    } catch (err) {
      mount(out, banner(errorText(err)));
    }
  };
  return h("article", { className: "card", dataset: { tool: id } }, h("h3", {}, id),
    h("p", {}, tool.description || ""),
    h("p", { className: "muted" }, [tool.origin, tool.toolkit, tool.approval && tool.approval !== "never" ? `approval ${tool.approval}` : ""].filter(Boolean).join(" · ")),
    foldJson("Parameters", tool.inputSchema || {}), input,
    h("button", { type: "button", onclick: run }, "Execute"), out);
}
