import { describe, expect, it, vi } from "vitest";
import { renderMarkdown, splitBlocks } from "./markdown";
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
  it("re-renders only the last block for each new chunk of a long answer", async () => {
    const { default: DOMPurify } = await import("dompurify");
    const { renderBlock } = await import("./markdown");
    const sanitize = vi.spyOn(DOMPurify, "sanitize");
    const paragraphs = Array.from({ length: 300 }, (_, i) => `Paragraph ${i} with **bold** text and \`code\`.`);
    const full = paragraphs.join("\n\n");
    const chunks = full.match(/[\s\S]{1,40}/g) ?? [];
    let text = "";
    for (const chunk of chunks) {
      text += chunk;
      const blocks = splitBlocks(text);
      blocks.forEach((block, i) => renderBlock(block, i < blocks.length - 1));
    }
    // one parse per chunk (the growing last block) plus one per finished block, not chunks x blocks
    expect(sanitize.mock.calls.length).toBeLessThanOrEqual(chunks.length + paragraphs.length);
    sanitize.mockRestore();
  });
});
