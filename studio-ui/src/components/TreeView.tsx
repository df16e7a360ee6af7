// A run tree (the run timeline, a run trace, an eval sample's trace): one item per node with
// its kind, label, status, duration, tokens and cost, inputs and outputs collapsed.
import { JsonBlock, StatusBadge } from "./ui";
import { duration } from "../lib/format";
import type { TreeNode } from "../lib/runTree";
import { maskText } from "../lib/settings";

function Metrics({ node }: { node: TreeNode }) {
  const parts: string[] = [];
  if (node.durationMs !== undefined) parts.push(duration(node.durationMs));
  if (node.inputTokens || node.outputTokens) parts.push(`${node.inputTokens ?? 0} in / ${node.outputTokens ?? 0} out tokens`);
  if (node.costUsd !== undefined) parts.push(`$${node.costUsd.toFixed(4)}`);
  return parts.length ? <span className="metric">{parts.join(" · ")}</span> : null;
}

export function TreeItem({ node, mask }: { node: TreeNode; mask: boolean }) {
  const shown = (text: string) => (mask ? maskText(text) : text);
  if (node.kind === "text") {
    return (
      <li className="tree-row text-node">
        <span className="chip">text</span>
        <span className="muted">{shown((node.text ?? "").slice(0, 400))}{(node.text ?? "").length > 400 ? "…" : ""}</span>
      </li>
    );
  }
  return (
    <li data-kind={node.kind}>
      <div className="tree-row">
        <span className="chip">{node.kind}</span>
        <strong>{shown(node.label)}</strong>
        {node.status ? <StatusBadge status={node.status} /> : null}
        <Metrics node={node} />
      </div>
      {node.input !== undefined || node.output !== undefined ? (
        <div className="tree-node">
          {node.input !== undefined ? <JsonBlock title="Input" value={node.input} /> : null}
          {node.output !== undefined ? <JsonBlock title="Output" value={node.output} /> : null}
        </div>
      ) : null}
      {node.children.length ? (
        <ul className="timeline tree-node">
          {node.children.map((child) => (
            <TreeItem key={child.id} node={child} mask={mask} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}
