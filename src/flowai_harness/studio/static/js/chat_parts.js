// Rendering of assistant message parts: text, tool cards (grouped), sub-agent cards, and the
// live application of chat SSE envelopes to one assistant message.
import { approvalCard } from "./approval_card.js";
import { foldJson, h } from "./dom.js";
import { mask } from "./shell.js";

function toolCard(id, name, args) {
  const state = h("span", { className: "spinner", role: "status" }, "running");
  const card = h("details", { className: "tool-card", dataset: { toolCallId: id, tool: name } },
    h("summary", {}, state, " tool ", h("code", {}, name)),
    foldJson("Input", args ?? {}, false));
  card.stateEl = state;
  return card;
}

function finishTool(card, status, result) {
  const ok = status !== "error" && status !== "failed";
  card.stateEl.className = status === "cancelled" ? "" : ok ? "done" : "failed";
  card.stateEl.textContent = status || "completed";
  card.append(foldJson("Output", result ?? null, false));
}

function agentCard(id, target, message) {
  const state = h("span", { className: "spinner", role: "status" }, "working");
  const card = h("details", { className: "agent-card", dataset: { toolCallId: id, agent: target } },
    h("summary", {}, state, " sub-agent ", h("strong", {}, target)),
    h("div", { className: "muted" }, "Input: ", mask(message || "")));
  card.stateEl = state;
  return card;
}

/** An assistant message element that stream envelopes (or stored parts) are applied to. */
export class AssistantMessage {
  constructor(onApprovalDecided) {
    this.body = h("div", {});
    this.el = h("article", { className: "msg assistant", "aria-label": "Assistant message" },
      h("div", { className: "role" }, "assistant"), this.body);
    this.textEl = null;
    this.calls = new Map();
    this.approvals = new Map();
    this.group = null;
    this.onApprovalDecided = onApprovalDecided;
  }

  appendText(text) {
    if (!text) return;
    if (!this.textEl) {
      this.textEl = h("div", { className: "text" });
      this.body.append(this.textEl);
      this.group = null;
    }
    this.textEl.textContent += mask(text);
  }

  addCard(card) {
    this.textEl = null;
    // consecutive tool calls are grouped in one block
    if (card.classList.contains("tool-card")) {
      if (!this.group) {
        this.group = h("div", { className: "tool-group" });
        this.body.append(this.group);
      }
      this.group.append(card);
    } else {
      this.group = null;
      this.body.append(card);
    }
  }

  /** Apply one chat envelope {kind, payload}. */
  apply(kind, payload) {
    switch (kind) {
      case "message.delta":
        this.appendText(payload.text);
        break;
      case "tool.call.started":
        if (!this.calls.has(payload.toolCallId)) {
          const card = toolCard(payload.toolCallId, payload.toolName, payload.arguments);
          this.calls.set(payload.toolCallId, card);
          this.addCard(card);
        }
        break;
      case "tool.call.completed": {
        let card = this.calls.get(payload.toolCallId);
        if (!card) {
          card = toolCard(payload.toolCallId, payload.toolName, {});
          this.calls.set(payload.toolCallId, card);
          this.addCard(card);
        }
        finishTool(card, payload.status, payload.result);
        break;
      }
      case "sub_agent.call.started": {
        const key = `agent:${payload.toolCallId}`;
        if (!this.calls.has(key)) {
          const card = agentCard(payload.toolCallId, payload.targetAgentId, payload.message);
          this.calls.set(key, card);
          this.addCard(card);
        }
        break;
      }
      case "sub_agent.call.completed": {
        const card = this.calls.get(`agent:${payload.toolCallId}`);
        if (card) {
          card.stateEl.className = payload.status === "cancelled" ? "" : "done";
          card.stateEl.textContent = payload.status || "completed";
          if (payload.result !== undefined) card.append(foldJson("Response", payload.result));
        }
        break;
      }
      case "approval.required":
        if (!this.approvals.has(payload.approvalId)) {
          const card = approvalCard(payload, this.onApprovalDecided);
          this.approvals.set(payload.approvalId, card);
          this.addCard(card);
        }
        break;
      case "approval.decision": {
        const card = this.approvals.get(payload.approvalId);
        if (card) {
          const pill = card.querySelector(".badge");
          pill.textContent = payload.status;
          pill.className = `badge status-${payload.status}`;
          card.querySelectorAll("textarea, .row > button").forEach((el) => el.remove());
        }
        break;
      }
      default:
        break;
    }
  }

  /** Mark every open card cancelled (Stop / cancelled run). */
  cancelOpen() {
    for (const card of this.calls.values()) {
      if (card.stateEl.classList.contains("spinner")) {
        card.stateEl.className = "";
        card.stateEl.textContent = "cancelled";
      }
    }
  }

  /** Render stored message parts (history). */
  renderParts(message) {
    const parts = message.parts || (message.metadata && message.metadata.parts) || [];
    if (!parts.length) {
      this.appendText(message.content || "");
      return;
    }
    const seen = new Set();
    for (const part of parts) {
      if (part.type === "text") this.appendText(part.text);
      else if (part.type === "tool-invocation") {
        if (seen.has(part.toolCallId)) continue;
        seen.add(part.toolCallId);
        this.apply("tool.call.started", { toolCallId: part.toolCallId, toolName: part.toolName, arguments: part.args });
        if (part.state === "result" || part.state === "completed" || part.result !== undefined) {
          this.apply("tool.call.completed", { toolCallId: part.toolCallId, status: "completed", result: part.result });
        } else if (part.state === "cancelled") this.cancelOpen();
      } else if (part.type === "tool-agent") {
        this.apply("sub_agent.call.started", { toolCallId: part.toolCallId, targetAgentId: part.agentName });
        this.apply("sub_agent.call.completed", { toolCallId: part.toolCallId, status: part.state === "cancelled" ? "cancelled" : "completed" });
      }
    }
    if (message.metadata && message.metadata.status === "cancelled") {
      this.body.append(h("div", { className: "muted" }, "(stopped)"));
    }
  }
}

/** A user message element. */
export function userMessage(text) {
  return h("article", { className: "msg user", "aria-label": "User message" },
    h("div", { className: "role" }, "you"), h("div", { className: "text" }, mask(text)));
}
