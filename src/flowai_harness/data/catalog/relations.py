"""The catalog as a graph: relations of an entity, join paths and semantic paths.

Edges come from two places. Entry links (``related``) give outgoing edges, and the same links
read backwards give incoming ones. Relationship entries (foreign keys, inferred joins) are
folded into table-to-table (``references_table`` / ``referenced_by_table``) and
column-to-column (``references`` / ``referenced_by``) edges carrying the relationship. At most
10 000 relationship entries are scanned per call.

Join paths are breadth-first searches over the folded table edges; semantic paths over links in
both directions. A node with more than 25 neighbours is a hub: only its first 25 are explored,
and a search that failed after cutting a hub says a path may still exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowai_harness.data.catalog.entries import CatalogEntry, generated_id, normalize_key
from flowai_harness.data.catalog.metadata import metadata_problem, text_of
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore

__all__ = [
    "HUB_FAN_OUT",
    "MAX_RELATIONSHIP_SCAN",
    "JoinEdge",
    "RelationCandidate",
    "RelationshipScan",
    "relation_candidates",
    "relationship_summary",
    "semantic_path",
]

MAX_RELATIONSHIP_SCAN = 10_000
HUB_FAN_OUT = 25
_MAX_SEMANTIC_NODES = 5_000


@dataclass(frozen=True, slots=True)
class RelationCandidate:
    """One relation of an entity before its target is hydrated."""

    relation_kind: str
    direction: str
    target_id: str
    description: str | None = None
    relationship: CatalogEntry | None = None


@dataclass(frozen=True, slots=True)
class JoinEdge:
    """A table-to-table join edge folded from a relationship entry."""

    source_table: str
    target_table: str
    relation_kind: str
    from_column: str
    to_column: str
    relationship: CatalogEntry


def relationship_summary(entry: CatalogEntry) -> dict[str, object]:
    """The ``relationship`` object attached to a folded relation."""
    meta = entry.metadata
    out: dict[str, object] = {"id": entry.id}
    for key, label in (
        ("sourceTable", "source_table"),
        ("sourceColumn", "source_column"),
        ("targetTable", "target_table"),
        ("targetColumn", "target_column"),
        ("sourceCardinality", "source_cardinality"),
        ("targetCardinality", "target_cardinality"),
        ("relationshipKind", "relationship_kind"),
    ):
        value = text_of(meta, key)
        if value is not None:
            out[label] = value
    confidence = meta.get("confidence")
    if isinstance(confidence, int | float) and not isinstance(confidence, bool):
        out["confidence"] = confidence
    return out


def _column_key(meta: object, prefix: str = "") -> tuple[str, str, str] | None:
    if not isinstance(meta, dict):
        return None
    parts = []
    for key in (
        ("Schema", "Table", "Column") if prefix else ("schemaName", "tableName", "columnName")
    ):
        value = text_of(meta, f"{prefix}{key}")
        if value is None:
            return None
        parts.append(normalize_key(value))
    return parts[0], parts[1], parts[2]


@dataclass(slots=True)
class RelationshipScan:
    """The relationship entries of a scope (at most 10 000), loaded once per tool call."""

    entries: list[CatalogEntry] = field(default_factory=list)
    truncated: bool = False

    @classmethod
    async def load(cls, catalog: CatalogStore, scope: CatalogScope) -> RelationshipScan:
        """Scan the scope's relationship entries (undecodable ones skipped)."""
        found = await catalog.list_entries(scope, ["relationship"], limit=MAX_RELATIONSHIP_SCAN + 1)
        usable = [e for e in found[:MAX_RELATIONSHIP_SCAN] if metadata_problem(e) is None]
        return cls(usable, len(found) > MAX_RELATIONSHIP_SCAN)

    def join_edges(self) -> dict[str, list[JoinEdge]]:
        """Table id -> join edges leaving it (each relationship gives one edge each way)."""
        graph: dict[str, list[JoinEdge]] = {}
        for rel in self.entries:
            meta = rel.metadata
            source, target = str(meta["sourceTableId"]), str(meta["targetTableId"])
            src_col = f"{meta['sourceTable']}.{meta['sourceColumn']}"
            dst_col = f"{meta['targetTable']}.{meta['targetColumn']}"
            graph.setdefault(source, []).append(
                JoinEdge(source, target, "references_table", src_col, dst_col, rel)
            )
            graph.setdefault(target, []).append(
                JoinEdge(target, source, "referenced_by_table", dst_col, src_col, rel)
            )
        return graph


async def _column_id(
    catalog: CatalogStore, scope: CatalogScope, meta: dict[str, object], side: str
) -> str | None:
    schema, table, column = (str(meta[f"{side}{k}"]) for k in ("Schema", "Table", "Column"))
    found = await catalog.find_entries(
        scope, "qualified_name", f"{schema}.{table}.{column}", ["column"]
    )
    if len(found) == 1:
        return found[0].id
    candidate = generated_id("column", str(meta["databaseId"]), schema, table, column)
    return candidate if await catalog.get_entries(scope, [candidate]) else None


async def relation_candidates(
    catalog: CatalogStore,
    scope: CatalogScope,
    entry: CatalogEntry,
    direction: str,
    scan: RelationshipScan,
) -> list[RelationCandidate]:
    """Every relation of ``entry`` in ``direction`` (folded relationships first), deduplicated."""
    out: list[RelationCandidate] = []
    want_out, want_in = direction in ("outgoing", "both"), direction in ("incoming", "both")
    own_column = _column_key(dict(entry.metadata)) if entry.item_type == "column" else None
    # (this side of the relationship, the other side, wanted, direction, relation kind)
    sides = (
        ("source", "target", want_out, "outgoing", "references"),
        ("target", "source", want_in, "incoming", "referenced_by"),
    )
    for rel in scan.entries:
        meta = dict(rel.metadata)
        for side, other, wanted, way, kind in sides:
            if not wanted:
                continue
            if entry.item_type == "table":
                if meta[f"{side}TableId"] == entry.id:
                    target_table = str(meta[f"{other}TableId"])
                    out.append(
                        RelationCandidate(
                            f"{kind}_table", way, target_table, rel.content or None, rel
                        )
                    )
            elif own_column is not None and _column_key(meta, side) == own_column:
                target = await _column_id(catalog, scope, meta, other)
                if target is not None:
                    out.append(RelationCandidate(kind, way, target, rel.content or None, rel))
    if want_out:
        out += [
            RelationCandidate(link.relation_type, "outgoing", link.target_id, link.description)
            for link in entry.related
        ]
    if want_in:
        incoming = await catalog.incoming_links(scope, [entry.id], limit=MAX_RELATIONSHIP_SCAN)
        out += [
            RelationCandidate(link.relation_type, "incoming", source, link.description)
            for source, link in incoming
        ]
    unique: dict[tuple[str, str, str], RelationCandidate] = {}
    for candidate in out:
        unique.setdefault(
            (candidate.relation_kind, candidate.direction, candidate.target_id), candidate
        )
    return list(unique.values())


def join_path(
    graph: dict[str, list[JoinEdge]], source: str, target: str, max_depth: int
) -> tuple[list[JoinEdge] | None, bool]:
    """Shortest join path from ``source`` to ``target`` table ids; (edges or None, hub cut)."""
    if source == target:
        return [], False
    parents: dict[str, JoinEdge | None] = {source: None}
    frontier, cut = [source], False
    for _depth in range(max_depth):
        following: list[str] = []
        for node in frontier:
            edges = graph.get(node, [])
            if len(edges) > HUB_FAN_OUT:
                edges, cut = edges[:HUB_FAN_OUT], True
            for edge in edges:
                if edge.target_table in parents:
                    continue
                parents[edge.target_table] = edge
                if edge.target_table == target:
                    path: list[JoinEdge] = []
                    step: JoinEdge | None = edge
                    while step is not None:
                        path.append(step)
                        step = parents[step.source_table]
                    return path[::-1], cut
                following.append(edge.target_table)
        if not following:
            break
        frontier = following
    return None, cut


async def semantic_path(
    catalog: CatalogStore,
    scope: CatalogScope,
    source: CatalogEntry,
    target: str,
    max_depth: int,
) -> tuple[list[tuple[str, str, str]] | None, bool]:
    """Shortest path over links (both directions) from ``source`` to the ``target`` id.

    Returns:
        ``([(entity id, relation kind, direction), …] after the source, or None, hub cut)``.
    """
    if source.id == target:
        return [], False
    parents: dict[str, tuple[str, str, str] | None] = {source.id: None}
    frontier: dict[str, CatalogEntry] = {source.id: source}
    cut = False
    for _depth in range(max_depth):
        incoming = await catalog.incoming_links(scope, list(frontier), limit=_MAX_SEMANTIC_NODES)
        by_target: dict[str, list[tuple[str, str]]] = {}
        for origin, link in incoming:
            by_target.setdefault(link.target_id, []).append((origin, link.relation_type))
        following: list[str] = []
        for node_id, node in frontier.items():
            neighbours = [(ln.target_id, ln.relation_type, "outgoing") for ln in node.related]
            neighbours += [(o, kind, "incoming") for o, kind in by_target.get(node_id, [])]
            if len(neighbours) > HUB_FAN_OUT:
                neighbours, cut = neighbours[:HUB_FAN_OUT], True
            for other, kind, way in neighbours:
                if other in parents:
                    continue
                parents[other] = (node_id, kind, way)
                if other == target:
                    return _unwind(parents, other), cut
                following.append(other)
        if not following or len(parents) > _MAX_SEMANTIC_NODES:
            cut = cut or len(parents) > _MAX_SEMANTIC_NODES
            break
        loaded = await catalog.get_entries(scope, following)
        frontier = {i: e for i, e in loaded.items() if not e.is_special}
        if not frontier:
            break
    return None, cut


def _unwind(
    parents: dict[str, tuple[str, str, str] | None], last: str
) -> list[tuple[str, str, str]]:
    steps: list[tuple[str, str, str]] = []
    node = last
    while (parent := parents[node]) is not None:
        origin, kind, way = parent
        steps.append((node, kind, way))
        node = origin
    return steps[::-1]
