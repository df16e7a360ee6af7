"""Catalog search and metrics for the Studio's Connect screen.

Search is the catalog toolkit's lexical search over the workspace's index (there are no
embeddings, so there is no separate "semantic" mode); a mode only picks the entry kinds.
``totalCount`` counts every match, not only the page: the page length when it is the last
page, else the index's per-kind match count (over its top 1 000 matches).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

from flowai_harness.studio.api_errors import StudioApiError
from flowai_harness.studio.workspace_data import WorkspaceData, command_failed

__all__ = ["SEARCH_MODES", "list_metrics", "search_catalog"]


#: The catalog search modes and the entry kinds each one searches (``None``: every kind).
SEARCH_MODES: Final[dict[str, list[str] | None]] = {
    "all": None,
    "tables": ["table"],
    "columns": ["column"],
    "terms": ["knowledge", "metric"],
}


def _total_count(result: Mapping[str, Any], page: int) -> int:
    """How many entries match: the page length when it is the last page, else the index's
    match count by kind (over its top 1 000 matches; entries a re-check drops are counted)."""
    pagination = result.get("pagination")
    if not (isinstance(pagination, Mapping) and pagination.get("has_more")):
        return page
    facets = result.get("facets")
    kinds = facets.get("kinds", []) if isinstance(facets, Mapping) else []
    counted = sum(int(f.get("count", 0)) for f in kinds if isinstance(f, Mapping))
    return max(counted, page)


async def search_catalog(
    data: WorkspaceData, runtime: Any, query: str, mode: str, limit: int
) -> dict[str, Any]:
    """Search the catalog index; ``mode`` picks kinds (``all``, ``tables``, ``columns``,
    ``terms`` = knowledge and metrics). The search is lexical (the index has no embeddings).

    Returns:
        ``{items, totalCount, hasMore, queryTimeMs, mode, raw}``; ``totalCount`` counts every
        match, not only the page.
    """
    from flowai_harness.data.toolkit.search import search_catalog as run_search

    if mode not in SEARCH_MODES:
        raise StudioApiError(
            400,
            "request.invalid_body",
            f"Unknown search mode {mode!r}; use one of: {', '.join(SEARCH_MODES)}.",
        )
    kinds = SEARCH_MODES[mode]
    backends = await data.backends()
    if backends.catalog is None or backends.index is None:
        raise StudioApiError(
            409,
            "data.command_failed",
            "Catalog search needs data_environment.catalog and catalog_search.index_path.",
        )
    args: dict[str, Any] = {"query": query, "limit": limit}
    if kinds is not None:
        args["kinds"] = kinds
    started = time.perf_counter()
    try:
        await backends.ensure_started(await data.kv(runtime))
        result = await run_search(backends.catalog, backends.index, backends.scope, args)
    except Exception as exc:
        raise command_failed(exc) from None
    items = result.get("results", [])
    pagination = result.get("pagination")
    return {
        "items": items,
        "totalCount": _total_count(result, len(items)),
        "hasMore": bool(isinstance(pagination, Mapping) and pagination.get("has_more")),
        "queryTimeMs": round((time.perf_counter() - started) * 1000),
        "mode": mode,
        "raw": result,
    }


async def list_metrics(data: WorkspaceData, query: str | None, limit: int) -> list[dict[str, Any]]:
    """Metric entries of the catalog, optionally filtered by a case-insensitive substring."""
    backends = await data.backends()
    if backends.catalog is None:
        return []
    try:
        entries = await backends.catalog.list_entries(backends.scope, ["metric"], limit=10_000)
    except Exception as exc:
        raise command_failed(exc) from None
    needle = (query or "").strip().lower()
    metrics = []
    for entry in entries:
        text = f"{entry.name} {entry.qualified_name or ''} {entry.content}".lower()
        if needle and needle not in text:
            continue
        metrics.append(entry.to_wire())
        if len(metrics) >= limit:
            break
    return metrics
