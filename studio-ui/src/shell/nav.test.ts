import { describe, expect, it } from "vitest";
import { navEntries } from "./nav";

describe("navEntries", () => {
  it("disables an item whose capabilities are off, with the reason, and hides unknown ones", () => {
    const entries = navEntries(
      [
        { id: "runtime.inspect", enabled: true },
        { id: "chat.stream", enabled: true },
        { id: "data.sources", enabled: false, reason: "No data environment is configured for this workspace." },
      ],
      false,
    );
    expect(entries.map((e) => [e.label, e.enabled])).toEqual([
      ["Overview", true],
      ["Playground", true],
      ["Connect", false],
    ]);
    expect(entries[2].reason).toBe("No data environment is configured for this workspace.");
  });

  it("falls back to every screen but Runs when capabilities cannot be read", () => {
    expect(navEntries(null, true).map((e) => e.label)).not.toContain("Runs");
  });
});
