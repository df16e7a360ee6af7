// The Playground: thread sidebar, the conversation (streamed answers), and the composer.
import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from "react";
import { useLocation, useSearch } from "wouter";
import { del, errorText, get, post, seg } from "../api/client";
import type { AgentSummary, Thread } from "../api/types";
import { Banner, Empty } from "../components/ui";
import { useStudio } from "../shell/studio";
import { AnswerView } from "./AnswerView";
import { ChatSession, type Turn } from "./session";
import { ThreadList } from "./ThreadList";
import { maskText } from "../lib/settings";

/** The agent a new chat talks to: entrypoint coordinator, entrypoint, coordinator, first. */
export function pickAgent(agents: AgentSummary[]): AgentSummary | null {
  const chatable = agents.filter((a) => a.role === "coordinator" || a.role === "specialist");
  return (
    chatable.find((a) => a.entrypoint && a.role === "coordinator") ??
    chatable.find((a) => a.entrypoint) ??
    chatable.find((a) => a.role === "coordinator") ??
    chatable[0] ??
    null
  );
}

/** Re-render at most once per animation frame, however many events arrive. */
function useFrameRender(): [number, () => void] {
  const [version, bump] = useReducer((n: number) => n + 1, 0);
  const pending = useRef(false);
  const schedule = useCallback(() => {
    if (pending.current) return;
    pending.current = true;
    requestAnimationFrame(() => {
      pending.current = false;
      bump();
    });
  }, []);
  return [version, schedule];
}

function exportMarkdown(title: string, turns: Turn[]): string {
  const lines = [`# ${title}`, ""];
  for (const turn of turns) {
    if (turn.kind === "user") lines.push(`**User:** ${turn.text}`, "");
    else lines.push(`**Assistant:** ${turn.model.text}`, "");
  }
  return lines.join("\n");
}

export default function Playground({ threadId }: { threadId: string | null }) {
  const studio = useStudio();
  const { ws, settings } = studio;
  const [, navigate] = useLocation();
  const search = useSearch();
  const [version, render] = useFrameRender();
  const [agents, setAgents] = useState<AgentSummary[] | null>(null);
  const [agentId, setAgentId] = useState<string | null>(null);
  const [threads, setThreads] = useState<Thread[] | null>(null);
  const [threadsError, setThreadsError] = useState<string | null>(null);
  const [banner, setBanner] = useState<{ text: string; retry?: string } | null>(null);
  const [draft, setDraft] = useState("");
  const session = useRef<ChatSession | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const stuck = useRef(true);
  const [showJump, setShowJump] = useState(false);
  const autoSent = useRef(false);
  const [threadsOpen, setThreadsOpen] = useState(false);
  // A message sent before the agents are known waits for them instead of being dropped.
  const agentReady = useRef<{ promise: Promise<string | null>; resolve: (id: string | null) => void } | null>(null);
  if (!agentReady.current) {
    let resolve: (id: string | null) => void = () => undefined;
    const promise = new Promise<string | null>((r) => (resolve = r));
    agentReady.current = { promise, resolve };
  }

  // Only the newest list request of the workspace on screen may fill the list: a reply for a
  // workspace left meanwhile (or overtaken by a newer request) is dropped.
  const threadsRequest = useRef(0);
  const shownWs = useRef(ws);
  shownWs.current = ws;
  const loadThreads = useCallback(() => {
    const mine = ++threadsRequest.current;
    const current = () => mine === threadsRequest.current && shownWs.current === ws;
    get<{ threads: Thread[] }>(ws("/threads")).then(
      (body) => {
        if (!current()) return;
        setThreads(body.threads);
        setThreadsError(null);
      },
      (err) => {
        if (current()) setThreadsError(errorText(err));
      },
    );
  }, [ws]);

  useEffect(() => {
    document.title = "Playground";
    loadThreads();
    let live = true;
    get<{ agents: AgentSummary[] }>(ws("/agents")).then(
      (body) => {
        if (!live) return;
        setAgents(body.agents);
        const picked = pickAgent(body.agents)?.agentId ?? null;
        setAgentId(picked);
        agentReady.current?.resolve(picked);
      },
      (err) => {
        agentReady.current?.resolve(null);
        if (live) setBanner({ text: errorText(err) });
      },
    );
    return () => {
      live = false;
    };
  }, [ws, loadThreads]);

  // One session per opened thread; a thread id minted by our own first send keeps the session.
  useEffect(() => {
    if (session.current && session.current.threadId === threadId) return;
    session.current?.dispose();
    const opened = new ChatSession(ws, threadId, render);
    session.current = opened;
    stuck.current = true;
    setBanner(null);
    render();
    void opened.load();
  }, [threadId, ws, render]);

  useEffect(() => () => session.current?.dispose(), []);

  const current = session.current;
  const running = current?.running ?? null;

  // Autoscroll while the reader is at the bottom; stop when they scroll up.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    // New content while the reader is further up: offer a way down instead of scrolling.
    if (stuck.current) el.scrollTop = el.scrollHeight;
    else setShowJump(true);
  }, [version]);

  // Content also grows after a render (messages laid out late, highlighted code): keep a
  // reader who is at the bottom there.
  const content = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = scroller.current;
    const inner = content.current;
    if (!el || !inner || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (stuck.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(inner);
    return () => observer.disconnect();
  }, []);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    stuck.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
    if (stuck.current) setShowJump(false);
  };

  const jumpToLatest = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    stuck.current = true;
    setShowJump(false);
  };

  const send = useCallback(
    async (text: string) => {
      const prompt = text.trim();
      const chat = session.current;
      if (!prompt || !chat || chat.running) return;
      const target = agentId ?? (await agentReady.current?.promise) ?? null;
      if (!target) {
        setBanner({ text: "No agent of this workspace can chat: it needs a coordinator or a specialist." });
        return;
      }
      setBanner(null);
      setDraft("");
      stuck.current = true;
      const wasNew = chat.threadId === null;
      const sending = chat.send(prompt, target, loadThreads);
      if (wasNew && chat.threadId) navigate(`/playground/${seg(chat.threadId)}`, { replace: true });
      await sending;
      const answer = [...chat.turns].reverse().find((t) => t.kind === "answer");
      if (answer && answer.kind === "answer" && answer.model.status === "failed" && session.current === chat) {
        setBanner({ text: answer.model.error ?? "The run failed.", retry: prompt });
      }
      if (session.current === chat) loadThreads();
    },
    [agentId, navigate, loadThreads],
  );

  const stop = useCallback(() => {
    session.current?.stop().catch((err) => setBanner({ text: errorText(err) }));
  }, []);

  // Escape stops a running answer (unless a dialog is open).
  useEffect(() => {
    if (!running) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !document.querySelector("dialog[open]")) {
        event.preventDefault();
        stop();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [running, stop]);

  // ?autoSend= (Try in Chat) sends once the agent is known.
  useEffect(() => {
    const text = new URLSearchParams(search).get("autoSend");
    if (!text || !agentId || autoSent.current) return;
    autoSent.current = true;
    navigate(location.pathname, { replace: true });
    void send(text);
  }, [search, agentId, navigate, send]);

  const deleteThread = async (thread: Thread) => {
    if (!window.confirm(`Delete the thread "${thread.title || thread.threadId}"? Its runs stop.`)) return;
    try {
      await del(ws(`/threads/${seg(thread.threadId)}`));
    } catch (err) {
      setBanner({ text: errorText(err) });
      return;
    }
    if (thread.threadId === current?.threadId) navigate("/playground");
    loadThreads();
  };

  const saveAsTest = async () => {
    if (!current?.threadId || !current.turns.length) {
      setBanner({ text: "Send a message first: a test case is drafted from a thread." });
      return;
    }
    try {
      const saved = (await post<{ test: { id: string } }>(ws("/tests/from-chat"), { threadId: current.threadId })).test;
      navigate(`/tests/${seg(saved.id)}`);
    } catch (err) {
      setBanner({ text: errorText(err) });
    }
  };

  const title = useMemo(() => {
    const thread = threads?.find((t) => t.threadId === current?.threadId);
    const first = current?.turns.find((t) => t.kind === "user");
    const text = thread?.title || (first && first.kind === "user" ? first.text : "") || "New chat";
    return text.slice(0, 50);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [threads, current, version]);

  const download = () => {
    if (!current) return;
    const url = URL.createObjectURL(new Blob([exportMarkdown(title, current.turns)], { type: "text/markdown" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `${current.threadId ?? "chat"}.md`;
    link.click();
    window.setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const options = useMemo(
    () => ({
      mask: settings.demo,
      workspacePath: ws,
      onDecided: (approvalId: string, status: string, feedback?: string) => session.current?.decided(approvalId, status, feedback),
    }),
    [settings.demo, ws],
  );

  const chatable = (agents ?? []).filter((a) => a.role === "coordinator" || a.role === "specialist");
  const shownTitle = settings.demo ? maskText(title) : title;

  return (
    <div className={`split playground${threadsOpen ? " threads-open" : ""}`}>
      <button type="button" className="ghost threads-toggle" aria-expanded={threadsOpen} onClick={() => setThreadsOpen(!threadsOpen)}>
        Threads
      </button>
      <ThreadList threads={threads} error={threadsError} current={current?.threadId ?? null} live={Boolean(running)} mask={settings.demo} onDelete={deleteThread} />
      <section className="chat" aria-label="Chat">
        <header className="chat-toolbar">
          <h1 title={shownTitle}>{shownTitle}</h1>
          <label className="row">
            <span className="muted">Agent</span>
            <select aria-label="Agent" value={agentId ?? ""} onChange={(e) => setAgentId(e.target.value)} disabled={!chatable.length}>
              {chatable.map((a) => (
                <option key={a.agentId} value={a.agentId}>
                  {a.agentId} ({a.role})
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="ghost" onClick={saveAsTest}>
            Save as test case
          </button>
          <button type="button" className="ghost" onClick={download} disabled={!current?.turns.length}>
            Export
          </button>
        </header>
        {banner ? (
          <Banner
            actions={
              <>
                {banner.retry ? (
                  <button type="button" onClick={() => void send(banner.retry as string)}>
                    Retry
                  </button>
                ) : null}
                <button type="button" className="ghost" onClick={() => setBanner(null)}>
                  Dismiss
                </button>
              </>
            }
          >
            {banner.text}
          </Banner>
        ) : null}
        {current?.notFound ? (
          <Banner kind="warn">
            This thread is not in the workspace {studio.workspace}. A message sent here starts a new thread in {studio.workspace}.
          </Banner>
        ) : null}
        {current?.error ? <Banner>{errorText(current.error)}</Banner> : null}
        <div className="chat-scroll" ref={scroller} onScroll={onScroll} aria-label="Conversation" role="log">
          <div ref={content} className="chat-content">
          {current && !current.turns.length && !current.notFound ? (
            <Empty title={current.threadId ? "Loading the thread…" : "Start a conversation."}>
              {current.threadId ? null : "Ask the agent something; its tool calls, sub-agents, plans and approvals show up here as they happen."}
            </Empty>
          ) : null}
          {current?.turns.map((turn) =>
            turn.kind === "user" ? (
              <article key={turn.key} className="msg user" aria-label="User message">
                <div className="role">you</div>
                <div className="markdown">{settings.demo ? maskText(turn.text) : turn.text}</div>
              </article>
            ) : (
              <AnswerView key={turn.key} model={turn.model} version={turn.model.version} options={options} showLatency={settings.latency} />
            ),
          )}
          </div>
          {showJump ? (
            <button type="button" className="jump" onClick={jumpToLatest}>
              Jump to latest
            </button>
          ) : null}
        </div>
        <form
          className="composer"
          onSubmit={(e) => {
            e.preventDefault();
            void send(draft);
          }}
        >
          <textarea
            aria-label="Message"
            placeholder="Message (Enter to send, Shift+Enter for a new line, Esc stops)"
            rows={2}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                void send(draft);
              }
            }}
          />
          {running ? (
            <button type="button" className="danger" onClick={stop} aria-keyshortcuts="Escape">
              Stop
            </button>
          ) : (
            <button type="submit" disabled={!draft.trim()}>
              Send
            </button>
          )}
        </form>
      </section>
    </div>
  );
}
