// The live view of a profiling job: a progress bar over the tables, the job's phase, and one
// row per table that moves from profiling to completed (or failed) as its events arrive.
import { StatusBadge } from "../components/ui";
import { duration } from "../lib/format";
import type { ProfileProgress, TableProgress } from "./profileProgress";

const STATE_BADGE: Record<TableProgress["state"], string> = {
  profiling: "running",
  profiled: "running",
  enriched: "running",
  completed: "completed",
  failed: "failed",
};

const ENRICHMENT: Record<string, string> = {
  fresh: "by the model",
  cached: "from the cache",
  fallback: "deterministic",
};

function count(value: number | undefined): string {
  return value === undefined ? "" : String(value);
}

export function ProfileProgressView({ progress, elapsedMs }: { progress: ProfileProgress; elapsedMs: number }) {
  const done = progress.tables.filter((t) => t.state === "completed" || t.state === "failed").length;
  const total = Math.max(progress.tablesFound, progress.tables.length);
  const running = progress.status !== "completed" && progress.status !== "failed";
  return (
    <section className="profile-progress" aria-label="Profiling progress" aria-live="polite">
      <div className="row">
        <StatusBadge status={running ? "running" : progress.status} />
        <span role="status">
          {running ? `${progress.status}…` : progress.status === "completed" ? "Profiling finished" : "Profiling failed"} · {done} of {total || "?"} tables · {progress.columnsProfiled} columns · {duration(elapsedMs)}
        </span>
      </div>
      <progress max={total || 1} value={done} aria-label="Tables profiled" />
      {progress.error ? <p className="banner banner-error">{progress.error}</p> : null}
      {progress.tables.length ? (
        <div className="table-wrap">
          <table aria-label="Per-table progress">
            <thead>
              <tr>
                <th>Table</th>
                <th>Status</th>
                <th>Columns</th>
                <th>Relationships</th>
                <th>Enums</th>
                <th>Catalog entries</th>
                <th>Description</th>
                <th>Time</th>
              </tr>
            </thead>
            <tbody>
              {progress.tables.map((t) => (
                <tr key={t.tableName} data-table={t.tableName} data-state={t.state}>
                  <td>{t.tableName}</td>
                  <td>
                    <StatusBadge status={STATE_BADGE[t.state]} title={t.error} />
                    {t.state !== "completed" ? <span className="muted"> {t.state}</span> : null}
                    {t.error ? <div className="muted">{t.error}</div> : null}
                  </td>
                  <td>{count(t.columns)}</td>
                  <td>{count(t.relationships)}</td>
                  <td>{count(t.enums)}</td>
                  <td>{count(t.entries)}</td>
                  <td title={t.fallbackReason}>{t.enrichment ? (ENRICHMENT[t.enrichment] ?? t.enrichment) : ""}</td>
                  <td>{t.durationMs !== undefined ? duration(t.durationMs) : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
