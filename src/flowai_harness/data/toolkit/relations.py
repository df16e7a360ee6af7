"""The ``get_catalog_relations`` and ``get_relation_paths_between`` tools.

Relations: outgoing = the entry's links, incoming = links pointing at it, plus the joins folded
from relationship entries (see :mod:`~flowai_harness.data.catalog.relations`). Unknown
``relation_kinds`` are ignored with a warning; targets missing from the catalog or ``special``
are dropped. Paths: ``join`` follows stored foreign-key joins between two tables, ``semantic``
follows links to ``max_depth``, ``any`` tries join first, then semantic.
"""

from __future__ import annotations

from typing import Any

from flowai_harness.data.catalog.entries import PUBLIC_KINDS, RELATION_KINDS, CatalogEntry
from flowai_harness.data.catalog.relations import (
    RelationshipScan,
    join_path,
    relation_candidates,
    relationship_summary,
    semantic_path,
)
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.data.toolkit.entity_output import DESCRIPTION_CAP, EntityRenderer, entity_ref
from flowai_harness.data.toolkit.inputs import (
    ToolInputError,
    check_keys,
    clamped_int,
    optional_str,
    ref_list,
    string_list,
)
from flowai_harness.data.toolkit.refs import parse_ref, resolve_refs

__all__ = ["get_catalog_relations", "get_relation_paths_between"]

_HUB_WARNING = "a path may exist but was not explored (a hub entity had too many links)"
_SCAN_CUT_WARNING = "relationship scan stopped at 10000 entries; some joins may be missing"


def _choice(args: Any, key: str, choices: tuple[str, ...], default: str, tool: str) -> str:
    value = optional_str(args, key, tool) or default
    if value not in choices:
        raise ToolInputError(f"{tool}.{key} must be one of: {', '.join(choices)}; got {value!r}")
    return value


async def get_catalog_relations(
    catalog: CatalogStore, scope: CatalogScope, raw: Any
) -> dict[str, Any]:
    """Run ``get_catalog_relations``; see the module doc.

    Raises:
        ToolFailure: Bad input.
    """
    tool = "get_catalog_relations"
    args = check_keys(
        raw,
        ("refs", "direction", "relation_kinds", "target_kinds", "limit_per_ref"),
        ("refs",),
        tool,
    )
    refs = [
        parse_ref(r, f"{tool}.refs[{i}]") for i, r in enumerate(ref_list(args, "refs", 20, tool))
    ]
    direction = _choice(args, "direction", ("outgoing", "incoming", "both"), "both", tool)
    limit = clamped_int(args, "limit_per_ref", 25, 1, 100, tool)
    warnings: list[str] = []
    requested = string_list(args, "relation_kinds", tool)
    kinds: set[str] | None = None
    if requested:
        unknown = [k for k in requested if k not in RELATION_KINDS]
        if unknown:
            warnings.append(f"unknown relation kind(s) ignored: {', '.join(unknown)}")
        known = {k for k in requested if k in RELATION_KINDS}
        kinds = known or None
    targets = string_list(args, "target_kinds", tool)
    for kind in targets or ():
        if kind not in PUBLIC_KINDS:
            raise ToolInputError(
                f"{tool}.target_kinds: {kind!r} is not one of: {', '.join(PUBLIC_KINDS)}"
            )
    scan = await RelationshipScan.load(catalog, scope)
    if scan.truncated:
        warnings.append(_SCAN_CUT_WARNING)
    renderer = EntityRenderer(full=False, description_cap=DESCRIPTION_CAP)
    results: list[dict[str, Any]] = []
    for resolution in await resolve_refs(catalog, scope, refs):
        entry = resolution.entry
        if entry is None:
            warnings.append(resolution.describe())
            continue
        results.append(
            await _relations_of(
                catalog, scope, entry, direction, kinds, targets, limit, scan, renderer
            )
        )
    out: dict[str, Any] = {"results": results}
    warnings += renderer.warnings()
    if warnings:
        out["warnings"] = warnings
    return out


async def _relations_of(
    catalog: CatalogStore,
    scope: CatalogScope,
    entry: CatalogEntry,
    direction: str,
    kinds: set[str] | None,
    targets: list[str] | None,
    limit: int,
    scan: RelationshipScan,
    renderer: EntityRenderer,
) -> dict[str, Any]:
    candidates = await relation_candidates(catalog, scope, entry, direction, scan)
    if kinds is not None:
        candidates = [c for c in candidates if c.relation_kind in kinds]
    hydrated = await catalog.get_entries(scope, [c.target_id for c in candidates])
    relations: list[dict[str, Any]] = []
    dangling = 0
    for candidate in candidates:
        target = hydrated.get(candidate.target_id)
        if target is None or target.is_special:
            dangling += target is None
            continue
        if targets and target.kind not in targets:
            continue
        item: dict[str, Any] = {
            "relation_kind": candidate.relation_kind,
            "direction": candidate.direction,
            "target": entity_ref(target),
        }
        if candidate.description:
            item["description"] = candidate.description
        if candidate.relationship is not None:
            item["relationship"] = relationship_summary(candidate.relationship)
        relations.append(item)
    notes: list[str] = []
    if dangling:
        notes.append(f"{dangling} relation(s) point to entries missing from the catalog")
    if len(relations) > limit:
        notes.append(
            f"showing {limit} of {len(relations)} relations; narrow with relation_kinds, "
            "target_kinds or direction"
        )
    result: dict[str, Any] = {
        "source": renderer.render(entry),
        "relations": relations[:limit],
        "pagination": {
            "limit": limit,
            "returned": min(limit, len(relations)),
            "has_more": len(relations) > limit,
        },
    }
    if notes:
        result["warnings"] = notes
    return result


async def get_relation_paths_between(
    catalog: CatalogStore, scope: CatalogScope, raw: Any
) -> dict[str, Any]:
    """Run ``get_relation_paths_between``; see the module doc.

    Raises:
        ToolFailure: Bad input.
    """
    tool = "get_relation_paths_between"
    args = check_keys(raw, ("from", "to", "path_type", "max_depth"), ("from", "to"), tool)
    source_ref = parse_ref(args["from"], f"{tool}.from")
    target_refs = [
        parse_ref(r, f"{tool}.to[{i}]") for i, r in enumerate(ref_list(args, "to", 20, tool))
    ]
    path_type = _choice(args, "path_type", ("join", "semantic", "any"), "any", tool)
    max_depth = clamped_int(args, "max_depth", 6, 1, 6, tool)
    resolved = await resolve_refs(catalog, scope, [source_ref, *target_refs])
    source = resolved[0].entry
    if source is None:
        return {"paths": [], "warnings": [f"from: {resolved[0].describe()}"]}
    scan = await RelationshipScan.load(catalog, scope) if path_type != "semantic" else None
    graph = scan.join_edges() if scan is not None else {}
    paths: list[dict[str, Any]] = []
    for resolution in resolved[1:]:
        target = resolution.entry
        if target is None:
            missing = [resolution.describe()]
            paths.append(
                _path_result(source, resolution.ref.to_dict(), path_type, [], missing, found=False)
            )
            continue
        paths.append(await _path(catalog, scope, source, target, path_type, max_depth, graph))
    out: dict[str, Any] = {"paths": paths}
    if scan is not None and scan.truncated:
        out["warnings"] = [_SCAN_CUT_WARNING]
    return out


async def _path(
    catalog: CatalogStore,
    scope: CatalogScope,
    source: CatalogEntry,
    target: CatalogEntry,
    path_type: str,
    max_depth: int,
    graph: Any,
) -> dict[str, Any]:
    notes: list[str] = []
    cut = False
    if path_type in ("join", "any"):
        if source.kind == "table" and target.kind == "table":
            edges, cut = join_path(graph, source.id, target.id, max_depth)
            if edges is not None:
                tables = await catalog.get_entries(scope, [e.target_table for e in edges])
                steps = [
                    {
                        "entity": entity_ref(tables[e.target_table])
                        if e.target_table in tables
                        else {"id": e.target_table, "kind": "table"},
                        "via_relation": {
                            "relation_kind": e.relation_kind,
                            "from_column": e.from_column,
                            "to_column": e.to_column,
                            "join_type": "inner",
                            "description": e.relationship.content or None,
                            "relationship_id": e.relationship.id,
                        },
                    }
                    for e in edges
                ]
                return _path_result(source, entity_ref(target), "join", steps, notes, found=True)
        elif path_type == "join":
            notes.append(f"join paths connect two tables; got {source.kind} -> {target.kind}")
    if path_type in ("semantic", "any"):
        hops, semantic_cut = await semantic_path(catalog, scope, source, target.id, max_depth)
        cut = cut or semantic_cut
        if hops is not None:
            entities = await catalog.get_entries(scope, [node for node, _, _ in hops])
            steps = [
                {
                    "entity": entity_ref(entities[node]) if node in entities else {"id": node},
                    "via_relation": {"relation_kind": kind, "direction": way},
                }
                for node, kind, way in hops
            ]
            return _path_result(source, entity_ref(target), "semantic", steps, notes, found=True)
    if cut:
        notes.append(_HUB_WARNING)
    return _path_result(source, entity_ref(target), path_type, [], notes, found=False)


def _path_result(
    source: CatalogEntry,
    target: dict[str, Any],
    path_type: str,
    steps: list[dict[str, Any]],
    notes: list[str],
    *,
    found: bool,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "from": entity_ref(source),
        "to": target,
        "found": found,
        "path_type": path_type,
        "steps": steps,
        "length": len(steps),
    }
    if notes:
        result["warnings"] = notes
    return result
