// The approval card (Playground inline and the Runs inbox): details, feedback, partial JSON,
// and Approve / Reject / Revise calling the approvals API.
import { post, ws } from "./api.js";
import { errorText, foldJson, h, statusPill } from "./dom.js";

/**
 * Build an approval card. `approval`: {approvalId, title?, kind?, status?, payload?, threadId?, runId?}.
 * `onDecided(status)` runs after a successful decision.
 */
export function approvalCard(approval, onDecided) {
  const status = approval.status || "pending";
  const pill = statusPill(status);
  const feedback = h("textarea", { "aria-label": "Feedback", placeholder: "Feedback (optional)", rows: 2 });
  const partial = h("textarea", { "aria-label": "Partial JSON", placeholder: "Partial JSON object (for Revise)", rows: 2 });
  const message = h("div", { role: "status", className: "muted" });
  const payload = approval.payload || {};
  const plan = payload.payload && typeof payload.payload === "object" ? payload.payload : payload;
  const buttons = ["approve", "reject", "revise"].map((outcome) =>
    h("button", { type: "button", className: outcome === "reject" ? "danger" : outcome === "revise" ? "ghost" : "",
      onclick: () => decide(outcome) }, outcome[0].toUpperCase() + outcome.slice(1)));
  const pending = status === "pending";
  const actions = h("div", { className: "row" }, buttons);
  const card = h("section", { className: "approval-card", dataset: { approvalId: approval.approvalId }, "aria-label": "Approval" },
    h("div", { className: "row" }, h("strong", {}, approval.title || payload.title || "Approval required"),
      h("span", { className: "chip" }, approval.kind || payload.kind || "custom"), pill),
    approval.threadId || approval.runId
      ? h("div", { className: "muted" }, `thread ${approval.threadId || "–"} · run ${approval.runId || "–"}`) : null,
    payload.rationale ? h("p", {}, payload.rationale) : null,
    foldJson("Details", plan, pending),
    pending ? [feedback, partial, actions] : null,
    message);

  async function decide(outcome) {
    const body = { outcome };
    if (feedback.value.trim()) body.feedback = feedback.value.trim();
    if (partial.value.trim()) {
      let parsed;
      try {
        parsed = JSON.parse(partial.value);
      } catch {
        message.textContent = "Partial must be valid JSON.";
        return;
      }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        message.textContent = "Partial must be a JSON object.";
        return;
      }
      body.partial = parsed;
    }
    buttons.forEach((b) => (b.disabled = true));
    message.textContent = "Sending…";
    try {
      const answer = await post(ws(`/approvals/${encodeURIComponent(approval.approvalId)}/respond`), body);
      pill.textContent = answer.status;
      pill.className = `badge status-${answer.status}`;
      message.textContent = `Decision sent: ${answer.status}.`;
      feedback.remove();
      partial.remove();
      actions.remove();
      if (onDecided) onDecided(answer.status);
    } catch (err) {
      message.textContent = errorText(err);
      buttons.forEach((b) => (b.disabled = false));
    }
  }
  return card;
}
