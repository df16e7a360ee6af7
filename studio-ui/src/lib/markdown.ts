// Markdown to safe HTML: marked (GitHub flavour: tables, lists, fenced code), highlight.js for
// code blocks, and DOMPurify on the output so model text can never inject markup or script.
//
// A streamed answer is split into blocks at blank lines outside code fences, incrementally
// (StreamedBlocks): each finished block is rendered once, and each new chunk re-splits and
// re-renders only the last block (a 1 MB answer stays smooth instead of being re-parsed whole).
import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import yaml from "highlight.js/lib/languages/yaml";
import { Marked } from "marked";
import { markedHighlight } from "marked-highlight";

hljs.registerLanguage("bash", bash);
hljs.registerLanguage("javascript", javascript);
hljs.registerLanguage("json", json);
hljs.registerLanguage("python", python);
hljs.registerLanguage("sql", sql);
hljs.registerLanguage("typescript", typescript);
hljs.registerLanguage("yaml", yaml);
for (const [alias, name] of [["sh", "bash"], ["shell", "bash"], ["js", "javascript"], ["ts", "typescript"], ["py", "python"], ["yml", "yaml"]]) {
  hljs.registerAliases(alias, { languageName: name });
}

const marked = new Marked(
  { gfm: true, breaks: false, async: false },
  markedHighlight({
    emptyLangClass: "hljs",
    langPrefix: "hljs language-",
    highlight(code, lang) {
      // Unlabelled blocks are left plain: auto-detection costs too much on large answers.
      return lang && hljs.getLanguage(lang) ? hljs.highlight(code, { language: lang }).value : escapeHtml(code);
    },
  }),
);

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

let hooked = false;
function sanitize(html: string): string {
  if (!hooked) {
    // Links open outside the Studio and never carry the opener.
    DOMPurify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A") {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
    hooked = true;
  }
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ["style", "form", "input", "button"] });
}

/** Render Markdown to sanitised HTML. */
export function renderMarkdown(source: string): string {
  return sanitize(marked.parse(source) as string);
}

/**
 * The `[start, end)` ranges of the blocks of `source` from offset `from` (a block boundary, so
 * outside any code fence), split at blank lines outside fenced code.
 */
function blockRanges(source: string, from: number): [number, number][] {
  const ranges: [number, number][] = [];
  let start = from;
  let fence: string | null = null;
  let lineStart = from;
  while (lineStart <= source.length) {
    let lineEnd = source.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = source.length;
    const line = source.slice(lineStart, lineEnd);
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (marker) {
      if (fence === null) fence = marker[1][0];
      else if (marker[1][0] === fence) fence = null;
    } else if (fence === null && line.trim() === "" && lineStart > start) {
      ranges.push([start, lineStart]);
      start = lineEnd + 1;
    }
    if (lineEnd === source.length) break;
    lineStart = lineEnd + 1;
  }
  if (start < source.length) ranges.push([start, source.length]);
  return ranges;
}

/**
 * Split Markdown into blocks at blank lines outside fenced code. Tables and lists stay whole
 * (they have no blank lines inside); loose lists split into blocks that render the same.
 */
export function splitBlocks(source: string): string[] {
  return blockRanges(source, 0)
    .map(([start, end]) => source.slice(start, end))
    .filter((block) => block.trim() !== "");
}

const PROBE = 256;
const BATCH_BLOCKS = 64;
const BATCH_CHARS = 16_384;

/**
 * The blocks of a text that grows by appending (a streamed answer), split incrementally: the
 * finished blocks are kept with their HTML, and each update splits only from the start of the
 * unfinished last block. Any other change (an edit, demo masking turned on) splits again from
 * the start.
 */
export class StreamedBlocks {
  private text = "";
  /** Finished blocks (every block but the last), in order, rendered in batches. */
  readonly done: { html: string }[] = [];
  private doneEnd = 0;
  /** The unfinished last block's HTML ("" when there is none). */
  tail = "";

  /** Finished blocks of the text not rendered yet (the last update ran out of budget). */
  pending = false;

  /**
   * Bring the blocks up to `text`, rendering at most about `budget` characters of newly
   * finished blocks (the rest, and the last block, wait for the next call: `pending`).
   * Returns whether the finished blocks were rebuilt from the start.
   */
  update(text: string, budget = Number.POSITIVE_INFINITY): boolean {
    const prev = this.text;
    const appended =
      text.length >= prev.length &&
      text.startsWith(prev.slice(0, PROBE)) &&
      text.startsWith(prev.slice(Math.max(0, prev.length - PROBE)), Math.max(0, prev.length - PROBE));
    const reset = !appended;
    if (reset) {
      this.done.length = 0;
      this.doneEnd = 0;
    }
    this.text = text;
    const ranges = blockRanges(text, this.doneEnd).filter(([s, e]) => text.slice(s, e).trim() !== "");
    // Blocks finished together render as one document (one parse and one sanitising pass per
    // batch instead of per block: a whole 1 MB answer arriving at once stays fast).
    let batch: string[] = [];
    let size = 0;
    const flush = () => {
      if (batch.length) this.done.push({ html: renderMarkdown(batch.join("\n")) });
      batch = [];
      size = 0;
    };
    const finished = ranges.slice(0, -1);
    let spent = 0;
    let next = 0;
    for (; next < finished.length && spent < budget; next += 1) {
      const [start, end] = finished[next];
      batch.push(text.slice(start, end));
      size += end - start;
      spent += end - start;
      if (batch.length >= BATCH_BLOCKS || size >= BATCH_CHARS) flush();
      this.doneEnd = end;
    }
    flush();
    this.pending = next < finished.length;
    const last = ranges[ranges.length - 1];
    if (this.pending) {
      this.tail = "";
      this.doneEnd = finished[next][0];
    } else {
      this.tail = last ? renderMarkdown(text.slice(last[0], last[1])) : "";
      if (last && ranges.length > 1) this.doneEnd = last[0];
    }
    return reset;
  }
}
