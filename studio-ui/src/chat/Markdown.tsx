// Streamed Markdown: finished blocks are rendered once and cached, only the last one re-renders.
import { memo, useMemo } from "react";
import { renderBlock, splitBlocks } from "../lib/markdown";
import { maskText } from "../lib/settings";

const Block = memo(function Block({ html }: { html: string }) {
  // The HTML comes from renderBlock, which sanitises everything it returns.
  return <div className="md-block" dangerouslySetInnerHTML={{ __html: html }} />;
});

/** Render `text` as sanitised Markdown; `mask` hides e-mails and numbers (demo mode). */
export const Markdown = memo(function Markdown({ text, mask = false }: { text: string; mask?: boolean }) {
  const blocks = useMemo(() => splitBlocks(mask ? maskText(text) : text), [text, mask]);
  return (
    <div className="markdown">
      {blocks.map((block, index) => (
        <Block key={index} html={renderBlock(block, index < blocks.length - 1)} />
      ))}
    </div>
  );
});
