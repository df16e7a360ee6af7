import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AnswerView } from "./AnswerView";
import { AnswerModel } from "./model";

const options = { mask: false, workspacePath: (p: string) => p, onDecided: () => undefined };

describe("plan card", () => {
  it("shows the plan's actions as a table and follows its status live", () => {
    const model = new AnswerModel("run_1", "coord");
    const plan = { id: "p1", status: "draft", actions: [{ kind: "price_change", payload: { sku: "A-1", new_price: 5 } }], context: { title: "Raise A-1", rationale: "Margin is thin." } };
    model.apply({ seq: 1, kind: "tool.call.started", payload: { toolCallId: "s1", toolName: "storePlan", arguments: {} } });
    model.apply({ seq: 2, kind: "tool.call.completed", payload: { toolCallId: "s1", toolName: "storePlan", status: "completed", result: plan } });
    const view = render(<AnswerView model={model} version={model.version} options={options} showLatency={false} />);
    const card = screen.getByRole("region", { name: "Plan p1" });
    expect(card).toHaveTextContent("Raise A-1");
    expect(card).toHaveTextContent("Margin is thin.");
    const row = within(within(card).getByRole("table", { name: "Plan actions" })).getAllByRole("row")[1];
    expect(row).toHaveTextContent("Price change");
    expect(row).toHaveTextContent("A-1");
    expect(within(card).getByText("draft", { selector: ".badge" })).toBeInTheDocument();
    model.apply({ seq: 3, kind: "runtime.event", payload: { raw: { type: "plan-status-change", data: { planId: "p1", from: "draft", to: "executing" } } } });
    view.rerender(<AnswerView model={model} version={model.version} options={options} showLatency={false} />);
    expect(within(card).getByText("executing", { selector: ".badge" })).toBeInTheDocument();
    expect(within(card).getByRole("listitem", { current: "step" })).toHaveTextContent("Executing");
  });
});
