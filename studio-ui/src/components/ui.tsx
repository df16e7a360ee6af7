// Shared building blocks: status badges, banners, loading / empty states, collapsible JSON.
import { useState, type ReactNode } from "react";
import { json } from "../lib/format";

const TONE: Record<string, string> = {
  completed: "ok", ok: "ok", approve: "ok", approved: "ok", executed: "ok", passed: "ok", ready: "ok", enabled: "ok",
  running: "live", streaming: "live", executing: "live", working: "live", waiting: "warn", pending: "warn",
  pending_approval: "warn", created: "muted", draft: "muted", revise: "warn", "revise requested": "warn",
  failed: "bad", error: "bad", reject: "bad", rejected: "bad", cancelled: "muted", expired: "muted", interrupted: "warn",
};

const SHOWN: Record<string, string> = {
  approve: "approved", reject: "rejected", revise: "revise", pending_approval: "pending approval",
};

/** A status badge (decision verbs shown as words: `approve` -> approved). */
export function StatusBadge({ status, title }: { status: string; title?: string }) {
  return (
    <span className={`badge tone-${TONE[status] ?? "muted"}`} data-status={status} title={title}>
      {SHOWN[status] ?? status}
    </span>
  );
}

/** An error (role alert) or info (role status) banner with optional actions. */
export function Banner({ kind = "error", children, actions }: { kind?: "error" | "info" | "warn"; children: ReactNode; actions?: ReactNode }) {
  return (
    <div className={`banner banner-${kind}`} role={kind === "error" ? "alert" : "status"}>
      <span>{children}</span>
      {actions ? <span className="banner-actions">{actions}</span> : null}
    </div>
  );
}

/** A loading line (role status, so screen readers hear it). */
export function Loading({ what }: { what: string }) {
  return (
    <p className="muted loading" role="status">
      Loading {what}…
    </p>
  );
}

/** An empty state: what is missing and what to do about it. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{title}</strong>
      {children ? <div className="muted">{children}</div> : null}
    </div>
  );
}

/** A collapsed JSON block with a copy button. */
export function JsonBlock({ title, value, open = false }: { title: string; value: unknown; open?: boolean }) {
  const [copied, setCopied] = useState(false);
  const text = json(value);
  return (
    <details className="json" open={open}>
      <summary>{title}</summary>
      <button
        type="button"
        className="ghost small"
        aria-label={`Copy ${title}`}
        onClick={() => {
          navigator.clipboard?.writeText(text).then(() => setCopied(true), () => setCopied(false));
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
      <pre>{text}</pre>
    </details>
  );
}

/** Page title + optional actions. */
export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {children ? <div className="page-actions">{children}</div> : null}
    </header>
  );
}
