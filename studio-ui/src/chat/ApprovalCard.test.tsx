import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApprovalCard, approvalQuestion, type ApprovalView } from "./ApprovalCard";

const TOOL: ApprovalView = { approvalId: "ap1", kind: "tool", title: "lookup", toolName: "lookup", payload: { sku: "A-1" }, status: "pending" };
const ws = (path: string) => `/workspaces/default${path}`;

afterEach(() => vi.unstubAllGlobals());

function stubFetch(status: string) {
  const fetch = vi.fn(async () => new Response(JSON.stringify({ status }), { status: 200, headers: { "Content-Type": "application/json" } }));
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

describe("ApprovalCard", () => {
  it("asks in one sentence, with the JSON collapsed", () => {
    render(<ApprovalCard approval={TOOL} workspacePath={ws} />);
    expect(screen.getByText('Run tool lookup with sku: "A-1"?')).toBeInTheDocument();
    expect(screen.getByText("Details (JSON)").closest("details")).not.toHaveAttribute("open");
    for (const name of ["Approve", "Reject", "Revise"]) expect(screen.getByRole("button", { name })).toBeEnabled();
  });

  it("says what the run has cost so far, or what it used when no call was priced", () => {
    const usage = { totalTokens: 1200, costUsd: 0.0042, modelCalls: 2, toolCalls: 1 };
    const { unmount } = render(<ApprovalCard approval={{ ...TOOL, runUsage: usage }} workspacePath={ws} />);
    expect(screen.getByText("This run has cost $0.0042 so far (1200 tokens, 2 model calls, 1 tool call).")).toBeInTheDocument();
    unmount();
    render(<ApprovalCard approval={{ ...TOOL, runUsage: { totalTokens: 30, modelCalls: 1, toolCalls: 0 } }} workspacePath={ws} />);
    expect(screen.getByText("This run has used 30 tokens, 1 model call so far (no priced model call).")).toBeInTheDocument();
  });

  it("summarises a plan by its action count and kinds", () => {
    const plan = { ...TOOL, kind: "plan", planId: "p1", payload: { actions: [{ kind: "price_change", payload: {} }, { kind: "price_change", payload: {} }] } };
    expect(approvalQuestion(plan)).toBe("Approve plan p1 with 2 actions (price_change)?");
  });

  it("approves with the feedback and reports the decision", async () => {
    const fetch = stubFetch("approve");
    const decided = vi.fn();
    render(<ApprovalCard approval={TOOL} workspacePath={ws} onDecided={decided} />);
    await userEvent.type(screen.getByLabelText("Feedback"), "fine");
    await userEvent.click(screen.getByRole("button", { name: "Approve" }));
    await waitFor(() => expect(decided).toHaveBeenCalledWith("approve", "fine"));
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/workspaces/default/approvals/ap1/respond");
    expect(JSON.parse(init.body as string)).toEqual({ outcome: "approve", feedback: "fine" });
    expect((init.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
  });

  it("will not send a revision without feedback", async () => {
    const fetch = stubFetch("revise");
    render(<ApprovalCard approval={TOOL} workspacePath={ws} />);
    await userEvent.click(screen.getByRole("button", { name: "Revise" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Say what to change");
    expect(fetch).not.toHaveBeenCalled();
  });

  it("shows a revise decision as a revision, with its feedback kept", () => {
    render(<ApprovalCard approval={{ ...TOOL, status: "revise", feedback: "use EUR" }} workspacePath={ws} />);
    expect(screen.getByRole("status")).toHaveTextContent("Sent back for revision: “use EUR”");
    expect(screen.queryByRole("button", { name: "Approve" })).toBeNull();
  });
});
