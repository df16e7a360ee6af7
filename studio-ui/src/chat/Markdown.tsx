// Streamed Markdown: finished blocks are rendered once and kept, only the last one re-renders.
// Finished blocks are drawn in fixed groups, so a chunk of a 1 MB answer touches one group and
// the tail, not every block.
import { memo, useEffect, useMemo, useReducer, useRef } from "react";
import { StreamedBlocks } from "../lib/markdown";
import { maskText } from "../lib/settings";

const GROUP = 64;
/** Characters of newly finished Markdown rendered per frame (about 30 ms of work). */
const FRAME_BUDGET = 24_000;

const Block = memo(function Block({ html }: { html: string }) {
  // The HTML comes from renderMarkdown, which sanitises everything it returns.
  return <div className="md-block" dangerouslySetInnerHTML={{ __html: html }} />;
});

/** `count` finished blocks from `start`; finished blocks never change, so a full group never re-renders. */
const Group = memo(function Group({ blocks, start, count }: { blocks: StreamedBlocks; start: number; count: number; epoch: number }) {
  return (
    <div className="md-group">
      {blocks.done.slice(start, start + count).map((block, i) => (
        <Block key={start + i} html={block.html} />
      ))}
    </div>
  );
});

/** Render `text` as sanitised Markdown; `mask` hides e-mails and numbers (demo mode). */
export const Markdown = memo(function Markdown({ text, mask = false }: { text: string; mask?: boolean }) {
  const blocks = useRef<StreamedBlocks | null>(null);
  const epoch = useRef(0);
  const [frame, nextFrame] = useReducer((n: number) => n + 1, 0);
  const shown = mask ? maskText(text) : text;
  const tail = useMemo(() => {
    blocks.current ??= new StreamedBlocks();
    if (blocks.current.update(shown, FRAME_BUDGET)) epoch.current += 1;
    return blocks.current.tail;
  }, [shown, frame]);
  const all = blocks.current as StreamedBlocks;
  // A long text arriving at once is rendered a slice per frame: the page stays responsive.
  useEffect(() => {
    if (!all.pending) return;
    const id = requestAnimationFrame(nextFrame);
    return () => cancelAnimationFrame(id);
  });
  const groups = Math.ceil(all.done.length / GROUP);
  return (
    <div className="markdown">
      {Array.from({ length: groups }, (_, g) => (
        <Group key={g} blocks={all} start={g * GROUP} count={Math.min(GROUP, all.done.length - g * GROUP)} epoch={epoch.current} />
      ))}
      {tail ? <Block html={tail} /> : null}
    </div>
  );
});
