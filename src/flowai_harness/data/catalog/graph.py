"""The catalog as a graph, for ``data catalog graph``: JSON or one HTML page.

Nodes are the scope's tables, relationships, metrics, documents, knowledge and data-quality
entries (plus columns and enum values with ``include_columns``), then the targets of their links
that are not already in. Edges are the links between kept nodes. Nodes are ordered by kind rank,
qualified name, name and id, and cut at ``max_nodes`` (``summary.truncated`` says so), so the
output is stable. The HTML page is self-contained: the graph is embedded as JSON and drawn by a
small inline script (force layout, pan and zoom, click for details); nothing is fetched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flowai_harness.data.catalog.entries import CatalogEntry
from flowai_harness.data.catalog.export import KIND_ORDER
from flowai_harness.data.catalog.metadata import text_of
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.errors import SpecValueError

__all__ = ["DEFAULT_MAX_NODES", "CatalogGraph", "build_graph", "render_html"]

DEFAULT_MAX_NODES = 750
_PRIMARY_KINDS = (
    "table",
    "relationship",
    "metric",
    "document",
    "knowledge",
    "data_quality_finding",
)
_DETAIL_KINDS = ("column", "enum")
_PAGE = 2_000


@dataclass(frozen=True, slots=True)
class CatalogGraph:
    """Nodes, edges and a summary (``truncated``, ``countsByKind``, sizes, scope)."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``{nodes, edges, summary}``."""
        return {"nodes": self.nodes, "edges": self.edges, "summary": self.summary}


def _rank(entry: CatalogEntry) -> tuple[int, str, str, str]:
    rank = KIND_ORDER.index(entry.item_type) if entry.item_type in KIND_ORDER else len(KIND_ORDER)
    return (rank, entry.qualified_name or "", entry.name, entry.id)


def _node(entry: CatalogEntry) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": entry.id,
        "kind": entry.kind,
        "name": entry.name,
        "qualifiedName": entry.qualified_name,
        "description": entry.content[:500],
    }
    database = text_of(entry.metadata, "databaseId")
    if database:
        node["databaseId"] = database
    return node


async def _entries(
    catalog: CatalogStore, scope: CatalogScope, kinds: Sequence[str]
) -> list[CatalogEntry]:
    found: list[CatalogEntry] = []
    for kind in kinds:
        after: str | None = None
        while True:
            page = await catalog.list_entries(scope, [kind], after_id=after, limit=_PAGE)
            found += page
            if len(page) < _PAGE:
                break
            after = page[-1].id
    return found


async def build_graph(
    catalog: CatalogStore,
    scope: CatalogScope,
    *,
    include_columns: bool = False,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> CatalogGraph:
    """Build the graph of ``scope``.

    Args:
        catalog: The catalog to read.
        scope: The (tenant, workspace) to draw.
        include_columns: Also draw columns and enum values.
        max_nodes: Keep at most this many nodes (> 0).

    Raises:
        SpecValueError: ``max_nodes`` is not positive.
        StoreError: The catalog could not be read.
    """
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes <= 0:
        raise SpecValueError(f"--max-nodes must be a positive integer; got {max_nodes!r}")
    kinds = (*_PRIMARY_KINDS, *(_DETAIL_KINDS if include_columns else ()))
    chosen = sorted(await _entries(catalog, scope, kinds), key=_rank)
    known = {entry.id for entry in chosen}
    wanted = sorted({link.target_id for e in chosen for link in e.related} - known)
    targets = await catalog.get_entries(scope, wanted) if wanted else {}
    extra = sorted((e for e in targets.values() if not e.is_special), key=_rank)
    everything = [*chosen, *extra]
    kept = everything[:max_nodes]
    kept_ids = {entry.id for entry in kept}
    edges = [
        {"source": entry.id, "target": link.target_id, "relationKind": link.relation_type}
        for entry in kept
        for link in entry.related
        if link.target_id in kept_ids
    ]
    counts: dict[str, int] = {}
    for entry in kept:
        counts[entry.kind] = counts.get(entry.kind, 0) + 1
    summary = {
        "tenantId": scope.tenant,
        "workspaceId": scope.workspace,
        "truncated": len(everything) > max_nodes,
        "maxNodes": max_nodes,
        "totalNodes": len(everything),
        "nodeCount": len(kept),
        "edgeCount": len(edges),
        "countsByKind": counts,
        "includeColumns": include_columns,
    }
    return CatalogGraph([_node(e) for e in kept], edges, summary)


def render_html(graph: CatalogGraph, title: str = "flowai-harness catalog graph") -> str:
    """Render a self-contained HTML page drawing ``graph`` (no external resources)."""
    data = json.dumps(graph.to_dict(), ensure_ascii=False, sort_keys=True)
    # The JSON sits inside <script>: keep "</" and HTML comment openers from ending it.
    safe = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    escaped_title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    head, tail = _PAGE_TEMPLATE.split("__GRAPH__")
    return head.replace("__TITLE__", escaped_title) + safe + tail


_PAGE_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  body { margin: 0; font: 13px system-ui, sans-serif; color: #1f2933; display: flex;
         height: 100vh; }
  #canvas { flex: 1; background: #f7f8fa; cursor: grab; }
  #side { width: 320px; padding: 12px 16px; border-left: 1px solid #d9dee5; overflow: auto; }
  h1 { font-size: 15px; margin: 0 0 8px; }
  .legend span { display: inline-block; margin: 2px 8px 2px 0; }
  .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; }
  #details { margin-top: 12px; white-space: pre-wrap; word-break: break-word; }
  text { font-size: 10px; pointer-events: none; fill: #333; }
  line { stroke: #9aa5b1; stroke-opacity: .6; }
  circle { stroke: #fff; stroke-width: 1.5px; cursor: pointer; }
</style>
</head>
<body>
<svg id="canvas"></svg>
<aside id="side">
  <h1>__TITLE__</h1>
  <div id="summary"></div>
  <div class="legend" id="legend"></div>
  <div id="details">Click a node for details. Drag to pan, scroll to zoom.</div>
</aside>
<script id="graph-data" type="application/json">__GRAPH__</script>
<script>
(function () {
  "use strict";
  var graph = JSON.parse(document.getElementById("graph-data").textContent);
  var colors = {table: "#2f6fde", column: "#7aa7f0", relationship: "#e07b39",
    enum_value: "#9bc53d", metric: "#c0392b", knowledge: "#8e44ad", document: "#16a085",
    data_quality_finding: "#d4ac0d"};
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("canvas");
  var s = graph.summary;
  document.getElementById("summary").textContent = s.nodeCount + " nodes, " + s.edgeCount +
    " edges" + (s.truncated ? " (truncated at " + s.maxNodes + " of " + s.totalNodes + ")" : "");
  var legend = document.getElementById("legend");
  Object.keys(s.countsByKind).forEach(function (kind) {
    var item = document.createElement("span");
    var dot = document.createElement("i");
    dot.className = "dot"; dot.style.background = colors[kind] || "#777";
    item.appendChild(dot);
    item.appendChild(document.createTextNode(kind + " " + s.countsByKind[kind]));
    legend.appendChild(item);
  });
  var byId = {};
  var nodes = graph.nodes.map(function (n, i) {
    var angle = i * 2.399963, radius = 12 * Math.sqrt(i + 1);
    var node = {data: n, x: radius * Math.cos(angle), y: radius * Math.sin(angle), vx: 0, vy: 0};
    byId[n.id] = node;
    return node;
  });
  var edges = graph.edges.filter(function (e) { return byId[e.source] && byId[e.target]; })
    .map(function (e) { return {a: byId[e.source], b: byId[e.target], data: e}; });
  var root = document.createElementNS(NS, "g");
  svg.appendChild(root);
  edges.forEach(function (e) {
    e.el = document.createElementNS(NS, "line");
    root.appendChild(e.el);
  });
  nodes.forEach(function (n) {
    n.el = document.createElementNS(NS, "circle");
    n.el.setAttribute("r", n.data.kind === "table" ? 7 : 5);
    n.el.setAttribute("fill", colors[n.data.kind] || "#777");
    var tip = document.createElementNS(NS, "title");
    tip.textContent = n.data.kind + ": " + (n.data.qualifiedName || n.data.name);
    n.el.appendChild(tip);
    n.el.addEventListener("click", function () {
      var lines = [n.data.kind + ": " + n.data.name];
      if (n.data.qualifiedName) { lines.push(n.data.qualifiedName); }
      if (n.data.databaseId) { lines.push("database: " + n.data.databaseId); }
      lines.push("id: " + n.data.id, "", n.data.description || "");
      document.getElementById("details").textContent = lines.join("\\n");
    });
    root.appendChild(n.el);
    if (n.data.kind === "table" || nodes.length < 120) {
      n.label = document.createElementNS(NS, "text");
      n.label.textContent = n.data.name;
      root.appendChild(n.label);
    }
  });
  var view = {x: 0, y: 0, k: 1};
  function draw() {
    root.setAttribute("transform", "translate(" + (svg.clientWidth / 2 + view.x) + "," +
      (svg.clientHeight / 2 + view.y) + ") scale(" + view.k + ")");
    edges.forEach(function (e) {
      e.el.setAttribute("x1", e.a.x); e.el.setAttribute("y1", e.a.y);
      e.el.setAttribute("x2", e.b.x); e.el.setAttribute("y2", e.b.y);
    });
    nodes.forEach(function (n) {
      n.el.setAttribute("cx", n.x); n.el.setAttribute("cy", n.y);
      if (n.label) { n.label.setAttribute("x", n.x + 8); n.label.setAttribute("y", n.y + 3); }
    });
  }
  var heat = 1;
  function step() {
    var i, j, a, b, dx, dy, d2, f;
    for (i = 0; i < nodes.length; i++) {
      a = nodes[i];
      for (j = i + 1; j < nodes.length; j++) {
        b = nodes[j]; dx = a.x - b.x; dy = a.y - b.y; d2 = dx * dx + dy * dy + 0.01;
        if (d2 > 90000) { continue; }
        f = 400 / d2; a.vx += dx * f; a.vy += dy * f; b.vx -= dx * f; b.vy -= dy * f;
      }
    }
    edges.forEach(function (e) {
      dx = e.b.x - e.a.x; dy = e.b.y - e.a.y; f = 0.02;
      e.a.vx += dx * f; e.a.vy += dy * f; e.b.vx -= dx * f; e.b.vy -= dy * f;
    });
    nodes.forEach(function (n) {
      n.vx -= n.x * 0.002; n.vy -= n.y * 0.002;
      n.x += n.vx * heat; n.y += n.vy * heat; n.vx *= 0.5; n.vy *= 0.5;
    });
    heat *= 0.985;
    draw();
    if (heat > 0.02) { window.requestAnimationFrame(step); }
  }
  var drag = null;
  svg.addEventListener("mousedown", function (ev) { drag = {x: ev.clientX, y: ev.clientY}; });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) { return; }
    view.x += ev.clientX - drag.x; view.y += ev.clientY - drag.y;
    drag = {x: ev.clientX, y: ev.clientY}; draw();
  });
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    view.k = Math.max(0.1, Math.min(8, view.k * (ev.deltaY < 0 ? 1.1 : 0.9))); draw();
  }, {passive: false});
  window.addEventListener("resize", draw);
  draw();
  window.requestAnimationFrame(step);
})();
</script>
</body>
</html>
"""
