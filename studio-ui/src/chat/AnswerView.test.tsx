import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AnswerView } from "./AnswerView";
import { AnswerModel } from "./model";

function model(): AnswerModel {
  const answer = new AnswerModel("run_1", "coord");
  const events: [string, Record<string, unknown>][] = [
    ["message.delta", { text: "Here is a table:\n\n| sku | price |\n|---|---|\n| A-1 | 4.50 |\n\nMail ada@example.com" }],
    ["tool.call.started", { toolCallId: "c1", toolName: "call_agent", arguments: { agent: "pricing", prompt: "price" } }],
    ["sub_agent.call.started", { toolCallId: "c1", targetAgentId: "pricing", message: "price of A-1" }],
    ["tool.call.started", { toolCallId: "c2", toolName: "lookup", arguments: { sku: "A-1" } }],
  ];
  events.forEach(([kind, payload], i) => answer.apply({ seq: i + 1, kind, payload }));
  return answer;
}

const options = { mask: false, workspacePath: (p: string) => p, onDecided: () => undefined };

describe("AnswerView", () => {
  it("renders Markdown tables and nests the sub-agent's tool under its card, once", () => {
    const answer = model();
    render(<AnswerView model={answer} version={answer.version} options={options} showLatency={false} />);
    expect(screen.getByRole("table")).toHaveTextContent("A-1");
    const agentCard = screen.getByLabelText("sub-agent pricing");
    expect(within(agentCard).getByLabelText("tool lookup")).toBeInTheDocument();
    expect(screen.getAllByLabelText("tool lookup")).toHaveLength(1);
    expect(screen.getAllByLabelText("sub-agent pricing")).toHaveLength(1);
    expect(screen.getByLabelText("Assistant message")).toHaveAttribute("data-status", "streaming");
  });

  it("masks e-mails in demo mode on the whole text", () => {
    const answer = model();
    render(<AnswerView model={answer} version={answer.version} options={{ ...options, mask: true }} showLatency={false} />);
    expect(screen.getByLabelText("Assistant message")).toHaveTextContent("Mail •••@•••");
    expect(screen.getByLabelText("Assistant message")).not.toHaveTextContent("ada@example.com");
  });

  it("shows a budget warning once per limit, under the answer so far", () => {
    const answer = model();
    const warning = { type: "data-budget-warning", data: { limit: "max_tokens", used: 850, max: 1000, runUsage: {} } };
    answer.apply({ seq: 10, kind: "runtime.event", payload: { raw: warning } });
    answer.apply({ seq: 11, kind: "runtime.event", payload: { raw: warning } });
    render(<AnswerView model={answer} version={answer.version} options={options} showLatency={false} />);
    const shown = screen.getAllByText(/^Budget warning:/);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toHaveTextContent("this run has used 850 of its token budget of 1000 (85 %)");
    expect(shown[0]).toHaveAttribute("data-budget-warning", "max_tokens");
  });
});
