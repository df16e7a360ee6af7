import { describe, expect, it } from "vitest";
import { budgetWarningSentence, usageSentence } from "./format";

describe("usage and budget sentences", () => {
  it("says a run's cost in dollars, with cents from a dollar up", () => {
    expect(usageSentence({ totalTokens: 1, costUsd: 2.5, modelCalls: 1, toolCalls: 2 })).toBe("This run has cost $2.50 so far (1 token, 1 model call, 2 tool calls).");
    expect(usageSentence({})).toBeUndefined();
    expect(usageSentence(null)).toBeUndefined();
  });

  it("names the limit, the amounts and the share of a budget warning", () => {
    expect(budgetWarningSentence({ limit: "max_tokens", used: 850, max: 1000 })).toBe(
      "Budget warning: this run has used 850 of its token budget of 1000 (85 %); it stops when the budget is reached.",
    );
    expect(budgetWarningSentence({ limit: "max_cost_usd", used: 0.8, max: 1 })).toContain("used $0.8000 of its cost budget of $1.00 (80 %)");
  });
});
