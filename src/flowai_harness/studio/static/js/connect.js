// Connect: the workspace's data source, table discovery (columns, sample rows), catalog
// search, and the catalog tools with a JSON input to execute them.
import { get, post, ws } from "./api.js";
import { banner, errorText, foldJson, h, jsonBlock, mount } from "./dom.js";
import { capable } from "./shell.js";

const SECTIONS = [["", "Overview"], ["discovery", "Discovery"], ["search", "Search"], ["tools", "Tools"]];

function table(columns, rows) {
  return h("table", {}, h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", {}, cell(r[c])))))));
}

function cell(value) {
  if (value === undefined || value === null) return "";
  if (value instanceof Node) return value;
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** Render the Connect screen: `section` is discovery/search/tools, `item` a table name. */
export function renderConnect(root, section = "", item, query) {
  document.title = "Connect";
  const hasData = ["data.sources", "data.profile", "knowledge.ingest", "tools.inspect"].some(capable);
  const content = h("div", {});
  mount(root, h("div", { className: "split" },
    h("aside", { className: "sidebar", "aria-label": "Connect sidebar" },
      h("ul", {}, SECTIONS.map(([path, label]) => h("li", {},
        h("a", { href: `/connect${path ? "/" + path : ""}`, "aria-current": (section || "") === path ? "page" : false }, label))))),
    h("section", { className: "chat" }, h("h1", {}, "Connect"), content)));
  if (!hasData) {
    mount(content, banner("This workspace has no data environment: configure one on its runtime binding to browse data.", [], "info"));
    return null;
  }
  const fail = (err) => content.append(banner(errorText(err)));
  if (!section) {
    Promise.all([get(ws("/data/sources")), get(ws("/data/discovery/tables")).catch(() => ({ tables: [] }))]).then(([sources, tables]) => {
      mount(content, h("h2", {}, "Sources"),
        table(["id", "name", "type", "status"], sources.sources || []),
        h("p", {}, `${tables.tables.length} tables · `, h("a", { href: "/connect/discovery" }, "Explore"), " · ",
          h("a", { href: "/connect/search" }, "Search"), " · ", h("a", { href: "/connect/tools" }, "Tools"), " · ",
          h("a", { href: "/runs" }, "Runs"), " · ", h("a", { href: "/playground" }, "Explore in Chat")));
    }).catch(fail);
  } else if (section === "discovery" && !item) {
    get(ws("/data/discovery/tables")).then((body) => {
      mount(content, h("h2", {}, "Tables"), table(["tableName", "schemaName", "columnCount", "rowCount", "description"],
        body.tables.map((t) => ({ ...t, tableName: h("a", { href: `/connect/discovery/${encodeURIComponent(t.tableName)}` }, t.tableName) }))));
    }).catch(fail);
  } else if (section === "discovery") {
    const name = encodeURIComponent(item);
    Promise.all([get(ws(`/data/discovery/tables/${name}/columns`)), get(ws(`/data/discovery/tables/${name}/sample?limit=20`))]).then(([cols, sample]) => {
      const columns = (cols.columns || []).map((c) => ({ ...c, key: [c.isPrimaryKey || c.primaryKey ? "PK" : "", c.foreignKey || c.references ? "FK" : ""].filter(Boolean).join(" ") }));
      const rows = sample.rows || [];
      mount(content, h("h2", {}, `Table ${item}`), h("h3", {}, "Columns"),
        table(["name", "dataType", "nullable", "key"], columns.map((c) => ({ ...c, name: c.name || c.columnName, dataType: c.dataType || c.type }))),
        h("h3", {}, "Sample rows"), rows.length ? table(Object.keys(rows[0]), rows) : h("p", { className: "muted" }, "No rows."));
    }).catch(fail);
  } else if (section === "search") {
    const q = h("input", { type: "search", "aria-label": "Search the catalog", value: query.get("q") || "" });
    const mode = h("select", { "aria-label": "Search mode" }, ["all", "semantic", "tables", "columns", "terms"].map((m) => h("option", { value: m }, m)));
    const results = h("div", {});
    const form = h("form", { className: "row" }, q, mode, h("button", { type: "submit" }, "Search"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!q.value.trim()) return;
      try {
        const body = await post(ws("/data/search"), { query: q.value.trim(), mode: mode.value, limit: 20 });
        const s = body.search;
        mount(results, h("p", { className: "muted" }, `${s.totalCount} results · ${s.queryTimeMs} ms`),
          h("ul", {}, s.items.map((it) => h("li", {}, h("strong", {}, it.name || it.title || it.id || ""), " ", h("span", { className: "muted" }, it.type || it.kind || "")))),
          foldJson("Raw", s));
      } catch (err) {
        mount(results, banner(errorText(err)));
      }
    });
    mount(content, form, results);
  } else if (section === "tools") {
    get(ws("/tools")).then((body) => {
      const tools = body.tools || [];
      mount(content, tools.length ? tools.map(toolCard) : h("p", { className: "muted" }, "No catalog tools."));
    }).catch(fail);
  } else {
    mount(content, h("p", { className: "muted" }, `Unknown section ${section}.`));
  }
  return null;
}

function toolCard(tool) {
  const id = tool.toolId || tool.id || tool.name;
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
  return h("article", { className: "card" }, h("h3", {}, id), h("p", {}, tool.description || ""),
    foldJson("Parameters", tool.inputSchema || tool.parameters || {}), input,
    h("button", { type: "button", onclick: run }, "Execute"), out);
}
