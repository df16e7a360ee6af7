// Playground: thread list, history, and a chat whose run events stream in live.
import { del, get, mintId, post, stream, ws } from "./api.js";
import { AssistantMessage, userMessage } from "./chat_parts.js";
import { banner, errorText, h, mount } from "./dom.js";
import { navigate } from "./router.js";
import { settings } from "./shell.js";

const TERMINAL_OK = new Set(["run.completed", "run.cancelled", "run.aborted"]);

function pickAgent(agents) {
  const chatable = agents.filter((a) => a.role === "coordinator" || a.role === "specialist");
  return (
    chatable.find((a) => a.entrypoint && a.role === "coordinator") ||
    chatable.find((a) => a.entrypoint) ||
    chatable.find((a) => a.role === "coordinator") ||
    chatable[0] ||
    null
  );
}

/** Render the Playground for `threadId` (undefined: a new chat). */
export function renderPlayground(root, threadId, query) {
  document.title = "Playground";
  const state = { threadId: threadId || null, controller: null, runId: null, agent: null, live: true };
  const threadList = h("ul", { "aria-label": "Threads" });
  const search = h("input", { type: "search", placeholder: "Search threads", "aria-label": "Search threads" });
  const liveDot = h("span", { className: "muted", role: "status", "aria-live": "polite" }, "");
  const messages = h("div", { className: "messages", "aria-live": "polite", id: "messages" });
  const errors = h("div", {});
  const input = h("textarea", { id: "chat-input", "aria-label": "Message", placeholder: "Send a message (Enter to send, Shift+Enter for a newline)", rows: 2 });
  const sendButton = h("button", { type: "submit" }, "Send");
  const stopButton = h("button", { type: "button", className: "ghost", hidden: true, onclick: stop }, "Stop");
  const latency = h("div", { className: "muted", hidden: !settings().latency, "aria-label": "Latency" });
  const agentLabel = h("span", { className: "muted" });
  const titleEl = h("h1", {}, "Playground");
  const toolbar = h("div", { className: "row" },
    agentLabel,
    h("button", { type: "button", className: "ghost", onclick: saveAsTest }, "Save as test case"),
    h("button", { type: "button", className: "ghost", onclick: exportMarkdown }, "Export"));

  mount(root, h("div", { className: "split" },
    h("aside", { className: "sidebar", "aria-label": "Threads sidebar" },
      h("div", { className: "row" }, h("a", { href: "/playground", className: "button" }, "New chat"), liveDot),
      search, threadList),
    h("section", { className: "chat" }, titleEl, toolbar, errors, messages, latency,
      h("form", { className: "composer", onsubmit: (e) => { e.preventDefault(); send(input.value); } },
        input, sendButton, stopButton))));

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send(input.value);
    }
  });
  search.addEventListener("input", () => loadThreads());

  let threads = [];
  async function loadThreads() {
    try {
      threads = (await get(ws("/threads"))).threads.filter((t) => !t.threadId.startsWith("eval-") && !t.threadId.startsWith("eval:"));
    } catch (err) {
      mount(threadList, h("li", { className: "muted" }, errorText(err)));
      return;
    }
    if (!state.live) return;
    const needle = search.value.trim().toLowerCase();
    const shown = threads.filter((t) => !needle || (t.title || "").toLowerCase().includes(needle) || t.threadId.includes(needle));
    mount(threadList, shown.length ? shown.map((t) => h("li", {},
      h("a", { href: `/playground/${encodeURIComponent(t.threadId)}`, title: t.title, "aria-current": t.threadId === state.threadId ? "page" : false },
        (t.title || t.threadId).slice(0, 50)),
      h("button", { type: "button", className: "ghost", "aria-label": `Delete thread ${t.title || t.threadId}`, onclick: () => removeThread(t) }, "×")))
      : h("li", { className: "muted" }, "No threads yet."));
    const current = threads.find((t) => t.threadId === state.threadId);
    if (current) titleEl.textContent = (current.title || "Playground").slice(0, 50);
  }

  async function removeThread(thread) {
    if (!window.confirm(`Delete the thread "${thread.title || thread.threadId}"?`)) return;
    if (thread.threadId === state.threadId && state.controller) state.controller.abort();
    try {
      await del(ws(`/threads/${encodeURIComponent(thread.threadId)}`));
    } catch (err) {
      errors.replaceChildren(banner(errorText(err)));
      return;
    }
    if (thread.threadId === state.threadId) navigate("/playground");
    else loadThreads();
  }

  async function loadHistory() {
    if (!state.threadId) return;
    try {
      const body = await get(ws(`/threads/${encodeURIComponent(state.threadId)}/messages`));
      if (!state.live) return;
      mount(messages, body.messages.map((m) => {
        if (m.role === "user") return userMessage(m.content);
        const msg = new AssistantMessage(() => {});
        msg.renderParts(m);
        return msg.el;
      }));
    } catch (err) {
      if (err.status !== 404) errors.replaceChildren(banner(errorText(err)));
    }
  }

  async function send(text) {
    const prompt = text.trim();
    if (!prompt || state.controller || state.waiting) return;
    state.waiting = true;
    await agentReady;
    state.waiting = false;
    if (!state.agent) {
      errors.replaceChildren(banner("No agent of this workspace can chat (needs a coordinator or specialist)."));
      return;
    }
    errors.replaceChildren();
    input.value = "";
    if (!state.threadId) {
      state.threadId = mintId("thread_");
      history.replaceState(null, "", `/playground/${state.threadId}`);
      titleEl.textContent = prompt.slice(0, 50);
    }
    state.runId = mintId("run_");
    messages.append(userMessage(prompt));
    const answer = new AssistantMessage(() => {});
    messages.append(answer.el);
    const controller = new AbortController();
    state.controller = controller;
    sendButton.disabled = true;
    stopButton.hidden = false;
    liveDot.textContent = "● live";
    const started = performance.now();
    let firstEvent = null;
    let lastSeq = 0;
    let terminal = null;
    try {
      const path = ws(`/agents/${encodeURIComponent(state.agent.agentId)}/stream`);
      for await (const frame of stream(path, { prompt, threadId: state.threadId, runId: state.runId }, { signal: controller.signal })) {
        const env = frame.data;
        if (!env || typeof env !== "object") continue;
        if (firstEvent === null) firstEvent = performance.now() - started;
        if (typeof env.seq === "number") {
          if (env.seq <= lastSeq) throw new Error(`Protocol error: event seq ${env.seq} after ${lastSeq}.`);
          lastSeq = env.seq;
        }
        const kind = env.kind || frame.event;
        answer.apply(kind, env.payload || {});
        messages.scrollTop = messages.scrollHeight;
        if (TERMINAL_OK.has(kind)) {
          terminal = kind;
          if (kind !== "run.completed") answer.cancelOpen();
          break;
        }
        if (kind === "run.failed") {
          const err = (env.payload && env.payload.error) || {};
          throw Object.assign(new Error(err.message || "The run failed."), { code: err.code });
        }
      }
      if (!terminal) throw new Error("The stream closed before the run finished.");
      answer.el.dataset.status = terminal === "run.completed" ? "completed" : "cancelled";
    } catch (err) {
      if (controller.signal.aborted) {
        answer.cancelOpen();
        answer.el.dataset.status = "cancelled";
      } else {
        answer.el.dataset.status = "failed";
        errors.replaceChildren(banner(errorText(err), [
          h("button", { type: "button", onclick: () => { errors.replaceChildren(); send(prompt); } }, "Retry"),
          h("button", { type: "button", className: "ghost", onclick: () => errors.replaceChildren() }, "Dismiss"),
        ]));
      }
    } finally {
      state.controller = null;
      sendButton.disabled = false;
      stopButton.hidden = true;
      liveDot.textContent = "";
      latency.textContent = `first event ${Math.round(firstEvent ?? 0)} ms · total ${Math.round(performance.now() - started)} ms`;
      if (state.live) loadThreads();
    }
  }

  function stop() {
    const { controller, runId } = state;
    if (!controller) return;
    controller.abort();
    post(ws(`/runs/${encodeURIComponent(runId)}/cancel`)).catch(() => {});
  }

  async function saveAsTest() {
    if (!state.threadId) {
      errors.replaceChildren(banner("Send a message first: a test case is drafted from a thread."));
      return;
    }
    try {
      // The server saves the drafted test and answers with its row.
      const saved = (await post(ws("/tests/from-chat"), { threadId: state.threadId })).test;
      navigate(`/tests/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      errors.replaceChildren(banner(errorText(err)));
    }
  }

  function exportMarkdown() {
    const lines = [`# ${titleEl.textContent}`, ""];
    for (const el of messages.querySelectorAll(".msg")) {
      const role = el.classList.contains("user") ? "User" : "Assistant";
      const text = Array.from(el.querySelectorAll(".text")).map((t) => t.textContent).join("\n");
      lines.push(`**${role}:** ${text}`, "");
    }
    const url = URL.createObjectURL(new Blob([lines.join("\n")], { type: "text/markdown" }));
    const a = h("a", { href: url, download: `${state.threadId || "chat"}.md` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  const onSettings = (e) => (latency.hidden = !e.detail.latency);
  document.addEventListener("flowai:settings", onSettings);

  const agentReady = get(ws("/agents")).then((body) => {
    state.agent = pickAgent(body.agents);
    agentLabel.textContent = state.agent ? `Agent: ${state.agent.agentId}` : "No chat agent";
    const auto = query.get("autoSend");
    if (auto && state.agent && state.live) {
      history.replaceState(null, "", location.pathname);
      send(auto);
    }
  }).catch((err) => errors.replaceChildren(banner(errorText(err))));
  loadThreads();
  loadHistory();
  input.focus();

  return () => {
    state.live = false;
    document.removeEventListener("flowai:settings", onSettings);
    if (state.controller) state.controller.abort();
  };
}
