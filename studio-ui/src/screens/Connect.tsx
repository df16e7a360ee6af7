// Connect: the workspace's data source, tables with their columns, keys and relationships both
// ways, sample rows, profiling with live progress, catalog search with clickable results,
// knowledge documents and ingest, and the catalog tools.
import { useEffect, useMemo, useState, type ReactNode } from "react";
import { Link, useLocation, useSearch } from "wouter";
import { errorText, get, openStream, post, seg } from "../api/client";
import { Banner, Empty, JsonBlock, Loading, PageHeader, StatusBadge } from "../components/ui";
import { useApi } from "../lib/hooks";
import { ROUTING_TOOLS } from "../protocol.gen";
import { useStudio } from "../shell/studio";
import { ProfileProgressView } from "../connect/ProfileProgress";
import { EMPTY_PROGRESS, foldProfile, type ProfileProgress } from "../connect/profileProgress";

interface Column {
  name: string;
  dataType?: string;
  nullable?: boolean;
  primaryKey?: boolean;
  default?: unknown;
  foreignKey?: { referencedTable: string; referencedColumn: string } | null;
  /** What profiling found (absent before the table is profiled). */
  profile?: { distinctCount?: number; nullCount?: number; totalCount?: number; semanticType?: string; description?: string } | null;
}

interface ForeignKey {
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
}

interface Table {
  tableName: string;
  schemaName?: string;
  tableType?: string;
  columnCount?: number;
  rowCount?: number | null;
  description?: string | null;
  columns?: Column[];
  foreignKeys?: ForeignKey[];
}

interface Tool {
  toolId: string;
  name: string;
  description?: string;
  origin?: string;
  approval?: string;
  toolkit?: string;
  inputSchema?: unknown;
}

const SECTIONS: [string, string][] = [
  ["", "Overview"],
  ["discovery", "Tables"],
  ["search", "Search"],
  ["knowledge", "Knowledge"],
  ["tools", "Tools"],
];
const SEARCH_MODES: [string, string][] = [
  ["all", "All"],
  ["tables", "Tables"],
  ["columns", "Columns"],
  ["terms", "Terms"],
];

function Grid({ label, columns, rows }: { label: string; columns: [string, string][]; rows: Record<string, ReactNode>[] }) {
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map(([, title]) => (
              <th key={title} scope="col">
                {title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>
              {columns.map(([key]) => (
                <td key={key} data-col={key}>
                  {row[key] ?? ""}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function cell(value: unknown): ReactNode {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function Overview() {
  const { ws } = useStudio();
  const sources = useApi<{ sources: Record<string, unknown>[] }>(ws("/data/sources"));
  const tables = useApi<{ tables: Table[] }>(ws("/data/discovery/tables"));
  const documents = useApi<{ documents: unknown[] }>(ws("/data/knowledge/documents"));
  const items = useApi<{ items: unknown[] }>(ws("/data/knowledge/items"));
  const count = (loaded: { data: Record<string, unknown[]> | null; error: unknown }, key: string) => (loaded.error ? "—" : loaded.data ? String(loaded.data[key]?.length ?? 0) : "…");
  return (
    <>
      <div className="cards" aria-label="Data counts">
        {[
          ["Tables", count(tables, "tables")],
          ["Documents", count(documents, "documents")],
          ["Knowledge items", count(items, "items")],
        ].map(([name, value]) => (
          <div key={name} className="card" data-count={name}>
            <h3>{name}</h3>
            <strong>{value}</strong>
          </div>
        ))}
      </div>
      <h2>Source</h2>
      {sources.error ? <Banner>{errorText(sources.error)}</Banner> : null}
      {sources.data ? (
        <Grid
          label="Sources"
          columns={[["id", "Id"], ["name", "Name"], ["databaseType", "Type"], ["status", "Status"], ["databaseName", "Database"], ["schemaName", "Schema"]]}
          rows={sources.data.sources.map((s) => ({
            id: cell(s.id ?? s.sourceId),
            name: cell(s.displayName ?? s.name),
            databaseType: cell(s.databaseType),
            status: <StatusBadge status={String(s.status ?? "ready")} />,
            databaseName: cell(s.databaseName),
            schemaName: cell(s.schemaName),
          }))}
        />
      ) : null}
      <p className="row">
        <Link href="/playground">Explore in Chat</Link> · <Link href="/connect/discovery">Tables</Link> · <Link href="/connect/search">Search</Link> ·{" "}
        <Link href="/runs?operation=profile">Profiling runs</Link>
      </p>
    </>
  );
}

function Tables() {
  const { ws } = useStudio();
  const search = useSearch();
  const [, navigate] = useLocation();
  const schema = new URLSearchParams(search).get("schema") ?? "";
  const schemas = useApi<{ schemas: string[] }>(ws("/data/discovery/schemas"));
  const tables = useApi<{ tables: Table[] }>(ws(`/data/discovery/tables${schema ? `?schema=${seg(schema)}` : ""}`));
  const [progress, setProgress] = useState<ProfileProgress | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [profiling, setProfiling] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const profile = async () => {
    const started = performance.now();
    setProfiling(started);
    setProgress(EMPTY_PROGRESS);
    setProblem(null);
    const stream = openStream(ws("/data/profile/database"), { body: schema ? { schemaName: schema } : {} });
    try {
      for await (const frame of stream) {
        const event = (frame.data ?? {}) as Record<string, unknown>;
        setProgress((current) => foldProfile(current ?? EMPTY_PROGRESS, event));
        setElapsed(performance.now() - started);
      }
      tables.reload();
    } catch (err) {
      setProblem(errorText(err));
    } finally {
      setElapsed(performance.now() - started);
      setProfiling(null);
    }
  };
  return (
    <>
      <div className="row">
        <select aria-label="Schema" value={schema} onChange={(e) => navigate(`/connect/discovery${e.target.value ? `?schema=${seg(e.target.value)}` : ""}`)}>
          <option value="">All schemas</option>
          {(schemas.data?.schemas ?? []).map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <button type="button" disabled={profiling !== null} onClick={() => void profile()}>
          {profiling !== null ? "Profiling…" : "Profile database"}
        </button>
      </div>
      {problem ? <Banner>{problem}</Banner> : null}
      {progress ? <ProfileProgressView progress={progress} elapsedMs={elapsed} /> : null}
      {tables.error ? <Banner>{errorText(tables.error)}</Banner> : null}
      {!tables.data && !tables.error ? <Loading what="tables" /> : null}
      {tables.data && !tables.data.tables.length ? <Empty title="No tables.">The target database has no tables in this schema.</Empty> : null}
      {tables.data?.tables.length ? (
        <Grid
          label="Tables"
          columns={[["tableName", "Table"], ["schemaName", "Schema"], ["tableType", "Type"], ["columnCount", "Columns"], ["rowCount", "Rows"], ["description", "Description"]]}
          rows={tables.data.tables.map((t) => ({
            tableName: <Link href={`/connect/discovery/${seg(t.tableName)}`}>{t.tableName}</Link>,
            schemaName: cell(t.schemaName),
            tableType: cell(t.tableType),
            columnCount: cell(t.columnCount),
            rowCount: cell(t.rowCount),
            description: cell(t.description),
          }))}
        />
      ) : null}
    </>
  );
}

function keyOf(column: Column): string {
  const fk = column.foreignKey;
  return [column.primaryKey ? "PK" : "", fk ? `FK → ${fk.referencedTable}.${fk.referencedColumn}` : ""].filter(Boolean).join(" ");
}

function TableDetail({ name }: { name: string }) {
  const { ws } = useStudio();
  const search = useSearch();
  const tab = new URLSearchParams(search).get("tab") === "relationships" ? "relationships" : "columns";
  const table = useApi<{ table: Table }>(ws(`/data/discovery/tables/${seg(name)}`));
  const sample = useApi<{ rows: Record<string, unknown>[]; metadata?: { columns?: string[] } }>(ws(`/data/discovery/tables/${seg(name)}/sample?limit=20`));
  const all = useApi<{ tables: Table[] }>(ws("/data/discovery/tables"));
  const [incoming, setIncoming] = useState<{ table: string; fk: ForeignKey }[] | null>(null);
  useEffect(() => {
    if (tab !== "relationships" || !all.data) return;
    let live = true;
    const others = all.data.tables.filter((t) => t.tableName !== name).slice(0, 60);
    Promise.all(others.map((t) => get<{ table: Table }>(ws(`/data/discovery/tables/${seg(t.tableName)}`)).then((b) => b.table, () => null))).then((rows) => {
      if (!live) return;
      setIncoming(rows.flatMap((t) => (t?.foreignKeys ?? []).filter((fk) => fk.referencedTable === name).map((fk) => ({ table: t!.tableName, fk }))));
    });
    return () => {
      live = false;
    };
  }, [tab, all.data, name, ws]);
  if (table.error) return <Banner>{errorText(table.error)}</Banner>;
  if (!table.data) return <Loading what={`table ${name}`} />;
  const t = table.data.table;
  const rows = sample.data?.rows ?? [];
  const sampleColumns = sample.data?.metadata?.columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  return (
    <>
      <h2>
        Table {t.schemaName}.{t.tableName}
      </h2>
      <p className="muted">
        {t.rowCount ?? "?"} rows · {t.columnCount} columns{t.description ? ` · ${t.description}` : ""}
      </p>
      <nav className="tabs" aria-label="Table sections">
        <Link href={`/connect/discovery/${seg(name)}?tab=columns`} aria-current={tab === "columns" ? "page" : undefined}>
          Columns
        </Link>
        <Link href={`/connect/discovery/${seg(name)}?tab=relationships`} aria-current={tab === "relationships" ? "page" : undefined}>
          Relationships
        </Link>
      </nav>
      {tab === "columns" ? (
        <Grid
          label="Columns"
          columns={[["name", "Column"], ["dataType", "Type"], ["nullable", "Nullable"], ["key", "Key"], ["default", "Default"], ["distinct", "Distinct"], ["nulls", "Nulls"], ["description", "Description"]]}
          rows={(t.columns ?? []).map((c) => ({
            name: c.name,
            dataType: cell(c.dataType),
            nullable: c.nullable ? "yes" : "no",
            key: keyOf(c),
            default: cell(c.default),
            distinct: cell(c.profile?.distinctCount),
            nulls: c.profile?.nullCount !== undefined ? `${c.profile.nullCount}${c.profile.totalCount ? ` of ${c.profile.totalCount}` : ""}` : "",
            description: cell(c.profile?.description),
          }))}
        />
      ) : (
        <>
          <h3>References (this table → others)</h3>
          {(t.foreignKeys ?? []).length ? (
            <Grid
              label="Relationships"
              columns={[["columns", "Columns"], ["references", "References"], ["referencedColumns", "Referenced columns"]]}
              rows={(t.foreignKeys ?? []).map((fk) => ({
                columns: fk.columns.join(", "),
                references: <Link href={`/connect/discovery/${seg(fk.referencedTable)}?tab=relationships`}>{fk.referencedTable}</Link>,
                referencedColumns: fk.referencedColumns.join(", "),
              }))}
            />
          ) : (
            <p className="muted">This table references no other table.</p>
          )}
          <h3>Referenced by (others → this table)</h3>
          {incoming === null ? (
            <Loading what="incoming references" />
          ) : incoming.length ? (
            <Grid
              label="Referenced by"
              columns={[["table", "Table"], ["columns", "Columns"], ["referencedColumns", "Columns here"]]}
              rows={incoming.map(({ table: other, fk }) => ({
                table: <Link href={`/connect/discovery/${seg(other)}?tab=relationships`}>{other}</Link>,
                columns: fk.columns.join(", "),
                referencedColumns: fk.referencedColumns.join(", "),
              }))}
            />
          ) : (
            <p className="muted">No other table references this one.</p>
          )}
        </>
      )}
      <h3>Sample rows</h3>
      {sample.error ? <Banner>{errorText(sample.error)}</Banner> : null}
      {rows.length ? <Grid label="Sample rows" columns={sampleColumns.map((c) => [c, c])} rows={rows.map((r) => Object.fromEntries(sampleColumns.map((c) => [c, cell(r[c])])))} /> : sample.data ? <p className="muted">No rows.</p> : null}
    </>
  );
}

interface SearchItem {
  id?: string;
  kind?: string;
  name?: string;
  qualified_name?: string;
  qualifiedName?: string;
  description?: string;
  tableName?: string;
  table_name?: string;
}

/** Where a search result leads: its table's page when it names one. */
function resultTable(item: SearchItem): string | null {
  const qualified = item.qualified_name ?? item.qualifiedName ?? "";
  const table = item.tableName ?? item.table_name ?? (item.kind === "table" ? qualified.split(".").pop() : item.kind === "column" ? qualified.split(".").slice(-2, -1)[0] : undefined);
  return table || null;
}

function Search() {
  const { ws } = useStudio();
  const search = useSearch();
  const [, navigate] = useLocation();
  const params = new URLSearchParams(search);
  const mode = SEARCH_MODES.some(([m]) => m === params.get("mode")) ? (params.get("mode") as string) : "all";
  const q = params.get("q") ?? "";
  const [draft, setDraft] = useState(q);
  const [result, setResult] = useState<{ items: SearchItem[]; totalCount: number; queryTimeMs: number } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (!q.trim()) return;
    let live = true;
    post<{ search: { items: SearchItem[]; totalCount: number; queryTimeMs: number } }>(ws("/data/search"), { query: q.trim(), mode, limit: 20 }).then(
      (body) => live && (setResult(body.search), setProblem(null)),
      (err) => live && setProblem(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [q, mode, ws]);
  const go = (next: { q?: string; mode?: string }) => navigate(`/connect/search?${new URLSearchParams({ q: next.q ?? q, mode: next.mode ?? mode })}`, { replace: true });
  return (
    <>
      <div className="tabs" role="tablist" aria-label="Search mode">
        {SEARCH_MODES.map(([m, name]) => (
          <button key={m} type="button" role="tab" aria-selected={m === mode} onClick={() => go({ mode: m })}>
            {name}
          </button>
        ))}
      </div>
      <form
        className="row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: draft });
        }}
      >
        <input type="search" aria-label="Search the catalog" value={draft} onChange={(e) => setDraft(e.target.value)} />
        <button type="submit">Search</button>
      </form>
      {problem ? <Banner>{problem}</Banner> : null}
      {result ? (
        <>
          <p className="muted" role="status">
            {result.items.length < result.totalCount ? `${result.items.length} of ${result.totalCount} results` : `${result.totalCount} results`} · {result.queryTimeMs} ms
          </p>
          {!result.items.length ? (
            <Empty title={`Nothing in the catalog matches “${q.trim()}”.`}>
              Try another word or the All tab. An empty catalog fills when the database is profiled (Tables → Profile database).
            </Empty>
          ) : null}
          <ul aria-label="Search results">
            {result.items.map((item, i) => {
              const table = resultTable(item);
              const name = item.qualified_name ?? item.qualifiedName ?? item.name ?? item.id ?? "";
              return (
                <li key={i} data-kind={item.kind ?? ""}>
                  {table ? <Link href={`/connect/discovery/${seg(table)}`}>{name}</Link> : <strong>{name}</strong>} <span className="chip">{item.kind}</span>
                  {item.description ? <div className="muted">{item.description}</div> : null}
                </li>
              );
            })}
          </ul>
        </>
      ) : null}
    </>
  );
}

function Knowledge() {
  const { ws } = useStudio();
  const documents = useApi<{ documents: Record<string, unknown>[] }>(ws("/data/knowledge/documents"));
  const items = useApi<{ items: Record<string, unknown>[] }>(ws("/data/knowledge/items"));
  const [path, setPath] = useState("");
  const [lines, setLines] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const ingest = async () => {
    setBusy(true);
    setLines([]);
    setProblem(null);
    try {
      for await (const frame of openStream(ws("/data/knowledge/ingest"), { body: { source: { path } } })) {
        const event = (frame.data ?? {}) as Record<string, unknown>;
        const type = String(event.type ?? "event");
        const text =
          type === "ingesting" ? `${String(event.current)} / ${String(event.total)} · ${String(event.fileName ?? "")}` : type === "discovered" ? `${String(event.totalFiles)} files found` : type === "completed" ? `${String(event.documentsIngested)} ingested, ${String(event.documentsSkipped)} skipped` : `${type}${event.message ? `: ${String(event.message)}` : ""}`;
        setLines((current) => [...current, text]);
      }
      documents.reload();
      items.reload();
    } catch (err) {
      setProblem(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void ingest();
        }}
      >
        <input aria-label="Folder to ingest" placeholder="/path/to/documents (on the server)" value={path} onChange={(e) => setPath(e.target.value)} />
        <button type="submit" disabled={busy || !path.trim()}>
          {busy ? "Ingesting…" : "Ingest"}
        </button>
      </form>
      {problem ? <Banner>{problem}</Banner> : null}
      {lines.length ? (
        <ol className="timeline" aria-label="Ingest progress" aria-live="polite">
          {lines.map((line, i) => (
            <li key={i}>{line}</li>
          ))}
        </ol>
      ) : null}
      <h2>Documents</h2>
      {documents.error ? <Banner>{errorText(documents.error)}</Banner> : null}
      {documents.data && !documents.data.documents.length ? <Empty title="No documents yet.">Ingest a folder of Markdown or text files.</Empty> : null}
      <ul aria-label="Documents">
        {(documents.data?.documents ?? []).map((d, i) => (
          <li key={i}>{String(d.title ?? d.fileName ?? d.id ?? "document")}</li>
        ))}
      </ul>
      <h2>Knowledge items</h2>
      {items.data && !items.data.items.length ? <p className="muted">No knowledge items.</p> : null}
      <ul aria-label="Knowledge items">
        {(items.data?.items ?? []).map((item, i) => (
          <li key={i}>{String(item.title ?? item.name ?? item.id ?? "item")}</li>
        ))}
      </ul>
    </>
  );
}

/** Whether the Studio can run a tool directly (routing tools and gated tools cannot). */
export function executable(tool: Tool): boolean {
  return !(ROUTING_TOOLS as readonly string[]).includes(tool.name) && (tool.approval ?? "never") === "never";
}

function ToolCard({ tool }: { tool: Tool }) {
  const { ws } = useStudio();
  const [input, setInput] = useState("{}");
  const [result, setResult] = useState<unknown>(undefined);
  const [problem, setProblem] = useState<string | null>(null);
  const run = async () => {
    let value: unknown;
    try {
      value = JSON.parse(input);
    } catch (err) {
      setProblem(`The input is not valid JSON: ${(err as Error).message}`);
      return;
    }
    try {
      setResult((await post<{ result: unknown }>(ws(`/tools/${seg(tool.toolId)}/execute`), { input: value })).result);
      setProblem(null);
    } catch (err) {
      setProblem(errorText(err));
    }
  };
  const why = (ROUTING_TOOLS as readonly string[]).includes(tool.name) ? "Runs only inside an agent run (it hands work to another agent)." : "Needs a person's approval: run it from a chat.";
  return (
    <article className="card" aria-label={`Tool ${tool.toolId}`} data-tool={tool.toolId}>
      <h3>{tool.toolId}</h3>
      <p>{tool.description}</p>
      <p className="muted">{[tool.origin, tool.toolkit, tool.approval && tool.approval !== "never" ? `approval ${tool.approval}` : ""].filter(Boolean).join(" · ")}</p>
      <JsonBlock title="Parameters" value={tool.inputSchema ?? {}} />
      {executable(tool) ? (
        <>
          <textarea aria-label={`Input for ${tool.toolId}`} rows={3} value={input} onChange={(e) => setInput(e.target.value)} />
          <button type="button" onClick={() => void run()}>
            Execute
          </button>
        </>
      ) : (
        <p className="muted">{why}</p>
      )}
      {problem ? <Banner>{problem}</Banner> : null}
      {result !== undefined ? <JsonBlock title="Result" value={result} open /> : null}
    </article>
  );
}

function Tools() {
  const { ws } = useStudio();
  const tools = useApi<{ tools: Tool[] }>(ws("/tools"));
  if (tools.error) return <Banner>{errorText(tools.error)}</Banner>;
  if (!tools.data) return <Loading what="tools" />;
  if (!tools.data.tools.length) return <Empty title="No tools.">This workspace's agents declare no tools.</Empty>;
  return (
    <div className="cards">
      {tools.data.tools.map((tool) => (
        <ToolCard key={tool.toolId} tool={tool} />
      ))}
    </div>
  );
}

export default function Connect() {
  const { capable, capabilities, capabilitiesFailed } = useStudio();
  const [path] = useLocation();
  const [section = "", item] = path.replace(/^\/connect\/?/, "").split("/").map(decodeURIComponent);
  useEffect(() => {
    document.title = "Connect";
  }, []);
  const hasData = ["data.sources", "data.profile", "knowledge.ingest"].some(capable);
  const toolsOnly = !hasData && capable("tools.inspect");
  const body = useMemo(() => {
    if (section === "discovery") return item ? <TableDetail name={item} /> : <Tables />;
    if (section === "search") return <Search />;
    if (section === "knowledge") return <Knowledge />;
    if (section === "tools") return <Tools />;
    if (section) return <Empty title={`Unknown section ${section}.`}><Link href="/connect">Back to Connect</Link></Empty>;
    return <Overview />;
  }, [section, item]);
  return (
    <div className="split">
      <aside className="sidebar" aria-label="Connect sections">
        <p className="muted">
          Source: <code>workspace-runtime</code>
        </p>
        <nav aria-label="Connect">
          <ul>
            {SECTIONS.map(([id, name]) => (
              <li key={id} className="list-item">
                <Link href={`/connect${id ? `/${id}` : ""}`} aria-current={section === id ? "page" : undefined}>
                  {name}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      </aside>
      <section>
        <PageHeader title="Connect" />
        {capabilities === null && !capabilitiesFailed ? (
          <Loading what="the data environment" />
        ) : capabilities !== null && !hasData && !toolsOnly ? (
          <Banner kind="info">This workspace has no data environment: configure one on its runtime binding to browse, profile and search data.</Banner>
        ) : (
          body
        )}
      </section>
    </div>
  );
}
