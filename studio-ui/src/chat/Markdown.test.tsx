import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Markdown } from "./Markdown";

describe("Markdown", () => {
  it("renders a long text arriving at once a slice per frame, to its end", async () => {
    const text = `${Array.from({ length: 3000 }, (_, i) => `Paragraph number ${i} of the answer.`).join("\n\n")}\n\nTHE END.`;
    const { container } = render(<Markdown text={text} />);
    expect(container.textContent).not.toContain("THE END.");
    expect(await screen.findByText("THE END.", {}, { timeout: 10_000 })).toBeInTheDocument();
    expect(container.querySelectorAll("p")).toHaveLength(3001);
  }, 20_000);
});
