"""The ``search_catalog`` tool.

Filter refs are resolved first. A page holds ``min(limit, 20)`` entities. Candidates come from
the index in windows of ``3 * page`` (at most 200), at most three round trips; each window is
hydrated from the catalog and re-checked (missing, ``special``, wrong-kind and filter-failing
candidates are dropped and counted). Facets come from the first window's query, over its top
1 000 matches. The cursor ``v1:<signature>:<offset>`` resumes after the last candidate consumed
and is bound to the scope, the query, the kinds and the filters.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.data.catalog.entries import PUBLIC_KINDS, CatalogEntry, normalize_key
from flowai_harness.data.catalog.projection import project_entry
from flowai_harness.data.catalog.search_index import CatalogSearchIndex, SearchQuery
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.data.toolkit.entity_output import DESCRIPTION_CAP, EntityRenderer
from flowai_harness.data.toolkit.filters import ResolvedFilters, canonical_filters, resolve_filters
from flowai_harness.data.toolkit.inputs import (
    ToolFailure,
    ToolInputError,
    check_keys,
    clamped_int,
    optional_str,
    string_list,
)

__all__ = ["MAX_PAGE", "search_catalog"]

TOOL = "search_catalog"
#: A page never holds more entities than this, whatever ``limit`` says.
MAX_PAGE = 20
_MAX_WINDOW = 200
_MAX_ROUND_TRIPS = 3
_MAX_FACET_VALUES = 20
_FIELD_LABELS = {
    "name_text": "name",
    "qualified_name_text": "qualified_name",
    "synonyms_text": "synonyms",
    "enum_value_text": "enum_value",
    "enum_display_text": "enum_display",
    "description_text": "description",
    "auxiliary_text": "metadata",
    "tags_text": "tags",
    "body_text": "body",
    "context_text": "context",
}


def _signature(scope: CatalogScope, query: str, kinds: Sequence[str], filters: Any) -> str:
    material = json.dumps(
        [scope.tenant, scope.workspace, query.strip(), sorted(kinds), canonical_filters(filters)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(material.encode("utf-8")).digest()[:16].hex()


def _cursor_offset(cursor: str | None, signature: str) -> int:
    if cursor is None:
        return 0
    parts = cursor.split(":")
    if len(parts) != 3 or parts[0] != "v1" or not parts[2].isdigit():
        raise ToolFailure(f"Invalid cursor {cursor!r}: pass pagination.next_cursor unchanged")
    if parts[1] != signature:
        raise ToolFailure(
            "Invalid cursor: it belongs to a different query, kinds, filters or scope"
        )
    return int(parts[2])


def _kinds(args: Mapping[str, Any]) -> list[str]:
    kinds = string_list(args, "kinds", TOOL) or []
    for kind in kinds:
        if kind == "special":
            raise ToolInputError(f"{TOOL}.kinds: the special kind is reserved")
        if kind not in PUBLIC_KINDS:
            raise ToolInputError(f"{TOOL}.kinds: {kind!r} is not one of: {', '.join(PUBLIC_KINDS)}")
    return list(dict.fromkeys(kinds))


def _match(
    index: CatalogSearchIndex, query: str, entry: CatalogEntry, score: float, top: float, rank: int
) -> dict[str, Any]:
    tokens = set(index.analyze(query))
    texts = project_entry(entry).texts
    matched = [
        label
        for field, label in _FIELD_LABELS.items()
        if field in texts and tokens & set(index.analyze(texts[field]))
    ]
    needle = normalize_key(query)
    signals: list[str] = []
    if needle == normalize_key(entry.name):
        signals.append("exact_name")
    if entry.qualified_name and needle == normalize_key(entry.qualified_name):
        signals.append("qualified_name")
    if any(f in matched for f in ("name", "qualified_name", "description", "tags", "body")):
        signals.append("fts")
    if any(f in matched for f in ("metadata", "context", "enum_value", "enum_display")) or (
        needle == normalize_key(entry.id)
    ):
        signals.append("metadata")
    if "synonyms" in matched:
        signals.append("synonym")
    if entry.item_type == "relationship":
        signals.append("relationship")
    return {
        "score": round(score / top, 4) if top > 0 else 0.0,
        "rank": rank,
        "match_signals": signals,
        "matched_fields": matched,
        "score_interpretation": "response_local_relevance",
    }


def _suggested(
    facets: Mapping[str, list[tuple[str, int]]], filters: ResolvedFilters
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for facet, key in (("schemas", "schema"), ("tags", "tags")):
        values = facets.get(facet) or []
        if values and key not in filters.applied:
            value, count = values[0]
            out.append({"field": key, "value": value, "count": count})
    return out


@dataclass(slots=True)
class _Candidates:
    """What the index windows gave: kept hits, the first window's facets, and the counters."""

    consumed: int
    hits: list[tuple[CatalogEntry, float]] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] | None = None
    has_more: bool = False
    round_trips: int = 0
    candidates: int = 0
    hydrated: int = 0
    dropped: int = 0


async def _collect(
    catalog: CatalogStore,
    index: CatalogSearchIndex,
    scope: CatalogScope,
    search: SearchQuery,
    filters: ResolvedFilters,
    page: int,
    consumed: int,
) -> _Candidates:
    """Read index windows from ``consumed`` on, hydrating and re-checking each candidate, until
    a page is full, the index has no more, or the round trips are used up."""
    found = _Candidates(consumed)
    kinds = search.kinds
    window_size = min(3 * page, _MAX_WINDOW)
    while len(found.hits) < page and found.round_trips < _MAX_ROUND_TRIPS:
        window = await asyncio.to_thread(
            index.search,
            search,
            offset=found.consumed,
            limit=window_size,
            facets=found.facets is None,
        )
        found.round_trips += 1
        if found.facets is None:
            found.facets = window.facets or {}
        found.candidates += len(window.hits)
        entries = await catalog.get_entries(scope, [hit.entry_id for hit in window.hits])
        found.hydrated += len(entries)
        window_end = found.consumed + len(window.hits)
        for hit in window.hits:
            found.consumed += 1
            entry = entries.get(hit.entry_id)
            if (
                entry is None
                or entry.is_special
                or (kinds and entry.kind not in kinds)
                or not filters.matches(project_entry(entry))
            ):
                found.dropped += 1
                continue
            found.hits.append((entry, hit.score))
            if len(found.hits) == page:
                break
        # more candidates exist if this window was not used up, or the index has more after it
        found.has_more = found.consumed < window_end or window.more
        if not window.more:
            break
    return found


async def search_catalog(
    catalog: CatalogStore, index: CatalogSearchIndex, scope: CatalogScope, raw: Any
) -> dict[str, Any]:
    """Run ``search_catalog``; see the module doc.

    Raises:
        ToolFailure: Bad input, a bad cursor, or an index that is not ``ready``.
    """
    args = check_keys(raw, ("query", "kinds", "filters", "limit", "cursor"), ("query",), TOOL)
    query = optional_str(args, "query", TOOL)
    if query is None:
        raise ToolInputError(f"{TOOL}.query must be a non-blank string")
    kinds = _kinds(args)
    requested = clamped_int(args, "limit", 10, 1, 50, TOOL)
    page = min(requested, MAX_PAGE)
    warnings: list[str] = []
    if requested > page:
        warnings.append(f"limit {requested} reduced to {page}: a page holds at most {MAX_PAGE}")
    filters = await resolve_filters(args.get("filters"), catalog, scope, f"{TOOL}.filters")
    signature = _signature(scope, query, kinds, args.get("filters"))
    consumed = _cursor_offset(optional_str(args, "cursor", TOOL), signature)
    search = SearchQuery(query, tuple(kinds), filters.clauses)
    found = await _collect(catalog, index, scope, search, filters, page, consumed)
    if found.dropped:
        warnings.append(
            f"{found.dropped} candidate(s) dropped after re-checking against the catalog "
            "(missing, special, wrong kind or filtered out); rebuild the index if this persists"
        )
    renderer = EntityRenderer(full=False, description_cap=DESCRIPTION_CAP)
    top = max((score for _, score in found.hits), default=0.0)
    results = [
        renderer.render(entry, match=_match(index, query, entry, score, top, rank))
        for rank, (entry, score) in enumerate(found.hits, start=1)
    ]
    warnings += filters.warnings + renderer.warnings()
    pagination: dict[str, Any] = {
        "limit": page,
        "returned": len(results),
        "has_more": found.has_more,
    }
    if found.has_more:
        pagination["next_cursor"] = f"v1:{signature}:{found.consumed}"
    return _answer(query, results, found, filters, pagination, warnings)


def _answer(
    query: str,
    results: list[dict[str, Any]],
    found: _Candidates,
    filters: ResolvedFilters,
    pagination: dict[str, Any],
    warnings: list[str],
) -> dict[str, Any]:
    """The tool's output: results, facets, filter resolution, pagination and diagnostics."""
    facets = found.facets or {}
    out: dict[str, Any] = {
        "query": query,
        "results": results,
        "facets": {
            name: [
                {"value": value, "count": count}
                for value, count in facets.get(name, [])[:_MAX_FACET_VALUES]
            ]
            for name in ("kinds", "schemas", "tables", "tags")
        },
        "suggested_filters": _suggested(facets, filters),
        "filter_resolution": filters.resolution(),
        "pagination": pagination,
    }
    if warnings:
        out["warnings"] = warnings
    out["diagnostics"] = {
        "search_mode": "lexical",
        "backend": "runtime_internal",
        "hydrated_count": found.hydrated,
        "candidate_count": found.candidates,
        "dropped_by_recheck": found.dropped,
        "round_trips": found.round_trips,
    }
    return out
