// Markdown to safe HTML: marked (GitHub flavour: tables, lists, fenced code), highlight.js for
// code blocks, and DOMPurify on the output so model text can never inject markup or script.
//
// A streamed answer is split into blocks at blank lines outside code fences; the HTML of every
// finished block is cached, so each new chunk re-renders only the last block (a 1 MB answer
// stays smooth instead of being re-parsed whole on every chunk).
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

const cache = new Map<string, string>();
const CACHE_LIMIT = 4000;

/** Render one block, caching finished blocks by their text. */
export function renderBlock(block: string, cacheable: boolean): string {
  const hit = cache.get(block);
  if (hit !== undefined) return hit;
  const html = renderMarkdown(block);
  if (cacheable) {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(block, html);
  }
  return html;
}

/**
 * Split Markdown into blocks at blank lines outside fenced code. Tables and lists stay whole
 * (they have no blank lines inside); loose lists split into blocks that render the same.
 */
export function splitBlocks(source: string): string[] {
  const blocks: string[] = [];
  let start = 0;
  let fence: string | null = null;
  let lineStart = 0;
  while (lineStart <= source.length) {
    let lineEnd = source.indexOf("\n", lineStart);
    if (lineEnd < 0) lineEnd = source.length;
    const line = source.slice(lineStart, lineEnd);
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (marker) {
      if (fence === null) fence = marker[1][0];
      else if (marker[1][0] === fence) fence = null;
    } else if (fence === null && line.trim() === "" && lineStart > start) {
      blocks.push(source.slice(start, lineStart));
      start = lineEnd + 1;
    }
    if (lineEnd === source.length) break;
    lineStart = lineEnd + 1;
  }
  if (start < source.length) blocks.push(source.slice(start));
  return blocks.filter((block) => block.trim() !== "");
}
