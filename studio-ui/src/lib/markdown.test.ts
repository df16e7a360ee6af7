import { describe, expect, it, vi } from "vitest";
import { StreamedBlocks, renderMarkdown, splitBlocks } from "./markdown";
import { maskText } from "./settings";

describe("renderMarkdown", () => {
  it("removes script, event handlers and javascript: links", () => {
    const html = renderMarkdown('hi <script>alert(1)</script><img src=x onerror="alert(2)"> [x](javascript:alert(3))');
    expect(html).not.toMatch(/<script|onerror|javascript:/);
  });

  it("renders tables, lists and highlighted code; links open safely", () => {
    const html = renderMarkdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n\n```sql\nSELECT 1\n```\n\n[docs](https://example.com)");
    expect(html).toContain("<table>");
    expect(html).toContain("<li>one</li>");
    expect(html).toMatch(/<span class="hljs-keyword">SELECT<\/span>/);
    expect(html).toContain('rel="noopener noreferrer"');
  });
});

describe("splitBlocks", () => {
  it("splits at blank lines but never inside a code fence", () => {
    const text = "para one\n\n```\ncode\n\nmore code\n```\n\n| a |\n|---|\n| 1 |";
    expect(splitBlocks(text)).toEqual(["para one\n", "```\ncode\n\nmore code\n```\n", "| a |\n|---|\n| 1 |"]);
  });

  it("keeps every character of a streamed answer", () => {
    const text = "a\n\nb\n\n\n\nc d\n";
    expect(splitBlocks(text).join("").replace(/\n/g, "")).toBe("abc d");
  });
});

describe("maskText", () => {
  it("masks whole e-mail addresses and long numbers", () => {
    expect(maskText("mail ada@example.com or call 5551234, id 42")).toBe("mail •••@••• or call •••••••, id 42");
  });
});

describe("streamed rendering", () => {
  it("renders each finished block once and only the last block again for each new chunk", async () => {
    const { default: DOMPurify } = await import("dompurify");
    const sanitize = vi.spyOn(DOMPurify, "sanitize");
    const paragraphs = Array.from({ length: 120 }, (_, i) => `Paragraph ${i} with **bold** text and \`code\`.`);
    const full = `${paragraphs.join("\n\n")}\n\n\`\`\`\nfenced\n\nstill fenced\n\`\`\``;
    const chunks = full.match(/[\s\S]{1,40}/g) ?? [];
    const blocks = new StreamedBlocks();
    let text = "";
    for (const chunk of chunks) {
      text += chunk;
      expect(blocks.update(text)).toBe(false);
    }
    // one parse per chunk (the growing last block) plus one per finished block, not chunks x blocks
    expect(sanitize.mock.calls.length).toBeLessThanOrEqual(chunks.length + paragraphs.length + 1);
    expect(blocks.done.map((b) => b.html).join("")).toEqual(splitBlocks(full).slice(0, -1).map(renderMarkdown).join(""));
    expect(blocks.tail).toBe(renderMarkdown("```\nfenced\n\nstill fenced\n```"));
    sanitize.mockRestore();
  }, 30_000);

  it("renders blocks that finish together in one pass, the same HTML as one by one", () => {
    const paragraphs = Array.from({ length: 200 }, (_, i) => `Paragraph ${i}, *em*.`);
    const blocks = new StreamedBlocks();
    blocks.update(`${paragraphs.join("\n\n")}\n\n| a |\n|---|\n| 1 |\n\nlast`);
    expect(blocks.done.length).toBeLessThanOrEqual(4);
    const html = blocks.done.map((b) => b.html).join("");
    expect(html.replace(/\n/g, "")).toBe([...paragraphs, "| a |\n|---|\n| 1 |"].map((p) => renderMarkdown(p)).join("").replace(/\n/g, ""));
  });

  it("renders a long text a slice per call when given a budget, then the last block", () => {
    const text = Array.from({ length: 100 }, (_, i) => `Paragraph number ${i}.`).join("\n\n");
    const blocks = new StreamedBlocks();
    let calls = 1;
    blocks.update(text, 500);
    while (blocks.pending) {
      expect(blocks.tail).toBe("");
      blocks.update(text, 500);
      calls += 1;
    }
    expect(calls).toBeGreaterThan(3);
    expect(blocks.tail).toBe(renderMarkdown("Paragraph number 99."));
    expect(blocks.done.map((b) => b.html).join("").replace(/\n/g, "")).toBe(
      splitBlocks(text).slice(0, -1).map((p) => renderMarkdown(p)).join("").replace(/\n/g, ""),
    );
  });

  it("starts again when the text is not the previous one grown", () => {
    const blocks = new StreamedBlocks();
    blocks.update("one\n\ntwo\n\nthree");
    expect(blocks.update("uno\n\ndos")).toBe(true);
    expect(blocks.done.map((b) => b.html)).toEqual([renderMarkdown("uno\n")]);
    expect(blocks.tail).toBe(renderMarkdown("dos"));
  });
});
