// The thread sidebar: search, a virtualised list (thousands of threads stay smooth), delete.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useMemo, useRef, useState } from "react";
import { Link } from "wouter";
import type { Thread } from "../api/types";
import { Banner, Empty } from "../components/ui";
import { maskText } from "../lib/settings";
import { EVAL_RECORD_THREAD_PREFIX, EVAL_THREAD_PREFIX } from "../protocol.gen";

/** Whether a thread belongs to an eval (its samples or its own run record), not to a chat. */
export function isEvalThread(threadId: string): boolean {
  return threadId.startsWith(EVAL_THREAD_PREFIX) || threadId.startsWith(EVAL_RECORD_THREAD_PREFIX);
}

const ROW_HEIGHT = 36;

export function ThreadList({ threads, error, current, live, mask, onDelete }: {
  threads: Thread[] | null;
  error: string | null;
  current: string | null;
  live: boolean;
  mask: boolean;
  onDelete: (thread: Thread) => void;
}) {
  const [query, setQuery] = useState("");
  const scroller = useRef<HTMLDivElement>(null);
  const shown = useMemo(() => {
    const needle = query.trim().toLowerCase();
    return (threads ?? []).filter(
      (t) => !isEvalThread(t.threadId) && (!needle || (t.title ?? "").toLowerCase().includes(needle) || t.threadId.toLowerCase().includes(needle)),
    );
  }, [threads, query]);
  const virtual = useVirtualizer({
    count: shown.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 8,
    initialRect: { width: 260, height: 600 },
  });
  const title = (t: Thread) => {
    const text = (t.title || t.threadId).slice(0, 50);
    return mask ? maskText(text) : text;
  };
  return (
    <aside className="sidebar" aria-label="Threads">
      <div className="row">
        <Link href="/playground" className="button-link">
          New chat
        </Link>
        {live ? (
          <span className="badge tone-live" role="status">
            live
          </span>
        ) : null}
      </div>
      <input type="search" placeholder="Search threads" aria-label="Search threads" value={query} onChange={(e) => setQuery(e.target.value)} />
      {error ? <Banner>{error}</Banner> : null}
      <div className="sidebar-list" ref={scroller}>
        {threads === null && !error ? <p className="muted loading">Loading threads…</p> : null}
        {threads !== null && !shown.length ? (
          <Empty title={query ? "No thread matches." : "No threads yet."}>{query ? "Try another search." : "Send a message to start one."}</Empty>
        ) : null}
        <ul aria-label="Thread list" style={{ height: virtual.getTotalSize(), position: "relative" }}>
          {virtual.getVirtualItems().map((item) => {
            const thread = shown[item.index];
            return (
              <li
                key={thread.threadId}
                className="list-item"
                style={{ position: "absolute", top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
              >
                <Link
                  href={`/playground/${encodeURIComponent(thread.threadId)}`}
                  aria-current={thread.threadId === current ? "page" : undefined}
                  title={title(thread)}
                >
                  {title(thread)}
                </Link>
                <button type="button" className="ghost small" aria-label={`Delete thread ${title(thread)}`} onClick={() => onDelete(thread)}>
                  ×
                </button>
              </li>
            );
          })}
        </ul>
      </div>
      {shown.length ? <span className="muted">{shown.length} thread{shown.length === 1 ? "" : "s"}</span> : null}
    </aside>
  );
}
