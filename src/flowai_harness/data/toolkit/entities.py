"""The ``get_catalog_entities`` and ``list_schema_fields`` tools.

``get_catalog_entities`` keeps the order of its refs and reports unresolvable or ambiguous ones
in ``missing``; up to five refs get full details. Document entities carry their KV body
(``data:document:<sourceDocumentId>``) and knowledge entities their KV description
(``data:knowledge:<id>``) as ``description``; an absent body is a warning.

``list_schema_fields`` lists the columns of each table ref: columns linked to the table id
first, else those whose metadata names the table's schema and table, else the table name alone
(the first non-empty answer wins), filtered, up to ``limit_per_table``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowai_harness.data.catalog.entries import CatalogEntry
from flowai_harness.data.catalog.indexing import document_body_key
from flowai_harness.data.catalog.metadata import text_of
from flowai_harness.data.catalog.projection import project_entry
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.data.toolkit.entity_output import DESCRIPTION_CAP, EntityRenderer
from flowai_harness.data.toolkit.filters import resolve_filters
from flowai_harness.data.toolkit.inputs import check_keys, clamped_int, ref_list
from flowai_harness.data.toolkit.refs import parse_ref, resolve_refs
from flowai_harness.ports import KeyValueStore

__all__ = ["columns_of_table", "get_catalog_entities", "list_schema_fields"]

_FULL_DETAIL_REFS = 5
_MAX_LINK_SCAN = 10_000


def _ordinal(entry: CatalogEntry) -> int:
    for key in ("ordinalPosition", "ordinal", "position"):
        value = entry.metadata.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 1 << 30


def _sorted_columns(columns: Sequence[CatalogEntry]) -> list[CatalogEntry]:
    return sorted(columns, key=lambda c: (_ordinal(c), c.name.lower(), c.id))


async def columns_of_table(
    catalog: CatalogStore, scope: CatalogScope, table: CatalogEntry
) -> list[CatalogEntry]:
    """Return the catalog columns of ``table`` (see the module doc for the lookup order)."""
    linked = [link.target_id for link in table.related if link.relation_type == "has_column"]
    incoming = await catalog.incoming_links(scope, [table.id], limit=_MAX_LINK_SCAN)
    back = [source for source, link in incoming if link.relation_type == "belongs_to"]
    if linked or back:
        found = await catalog.get_entries(scope, [*linked, *back])
        ordered = [found[i] for i in dict.fromkeys(linked) if i in found]
        extra = [found[i] for i in dict.fromkeys(back) if i in found and i not in linked]
        columns = [c for c in [*ordered, *_sorted_columns(extra)] if c.item_type == "column"]
        if columns:
            return columns
    schema, name = text_of(table.metadata, "schemaName"), text_of(table.metadata, "tableName")
    if (schema is None or name is None) and table.qualified_name and "." in table.qualified_name:
        prefix, _, name = table.qualified_name.rpartition(".")
        schema = prefix.rpartition(".")[2]
    if schema and name:
        columns = await catalog.find_by_table(scope, name, schema, ["column"])
        if columns:
            return _sorted_columns(columns)
    columns = await catalog.find_by_table(scope, name or table.name, None, ["column"])
    return _sorted_columns(columns)


async def _body(
    entry: CatalogEntry, scope: CatalogScope, kv: KeyValueStore | None
) -> tuple[str | None, str | None]:
    """(description from KV, warning) for document and knowledge entries."""
    if entry.item_type == "document":
        key, field = document_body_key(entry), "content"
    elif entry.item_type == "knowledge":
        item = text_of(entry.metadata, "sourceKnowledgeId")
        if item is None and entry.id.startswith("knowledge:"):
            item = entry.id[len("knowledge:") :]
        key, field = (f"data:knowledge:{item}" if item else None), "description"
    else:
        return None, None
    if key is None:
        return None, None
    value = await kv.get(scope.kv_tenant, key) if kv is not None else None
    text = value.get(field) if isinstance(value, dict) else None
    if isinstance(text, str):
        return text, None
    where = "no kv store is configured" if kv is None else "not found in kv"
    return None, f"{entry.kind} body {key} unavailable ({where}); showing the catalog description"


async def get_catalog_entities(
    catalog: CatalogStore, scope: CatalogScope, raw: Any, kv: KeyValueStore | None
) -> dict[str, Any]:
    """Run ``get_catalog_entities``; see the module doc.

    Raises:
        ToolFailure: Bad input.
    """
    tool = "get_catalog_entities"
    args = check_keys(raw, ("refs",), ("refs",), tool)
    items = ref_list(args, "refs", 50, tool)
    refs = [parse_ref(item, f"{tool}.refs[{i}]") for i, item in enumerate(items)]
    renderer = EntityRenderer(full=len(refs) <= _FULL_DETAIL_REFS, with_relations=True)
    entities: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for resolution in await resolve_refs(catalog, scope, refs):
        entry = resolution.entry
        if entry is None:
            missing.append(resolution.missing())
            continue
        if entry.id in seen:
            continue
        seen.add(entry.id)
        description, problem = await _body(entry, scope, kv)
        notes = [problem] if problem else []
        entities.append(renderer.render(entry, description=description, warnings=notes))
    if not renderer.full:
        warnings.append(
            f"{len(refs)} refs requested: details reduced to the summary (full details for up "
            f"to {_FULL_DETAIL_REFS} refs)"
        )
    out: dict[str, Any] = {"entities": entities}
    if missing:
        out["missing"] = missing
    if warnings:
        out["warnings"] = warnings
    return out


async def list_schema_fields(
    catalog: CatalogStore, scope: CatalogScope, raw: Any
) -> dict[str, Any]:
    """Run ``list_schema_fields``; see the module doc.

    Raises:
        ToolFailure: Bad input.
    """
    tool = "list_schema_fields"
    args = check_keys(raw, ("tables", "filters", "limit_per_table"), ("tables",), tool)
    items = ref_list(args, "tables", 10, tool)
    refs = [parse_ref(item, f"{tool}.tables[{i}]") for i, item in enumerate(items)]
    limit = clamped_int(args, "limit_per_table", 200, 1, 200, tool)
    filters = await resolve_filters(args.get("filters"), catalog, scope, f"{tool}.filters")
    full = len(refs) == 1
    fields_renderer = EntityRenderer(full=full, description_cap=None if full else DESCRIPTION_CAP)
    table_renderer = EntityRenderer(full=False, description_cap=DESCRIPTION_CAP)
    tables: list[dict[str, Any]] = []
    warnings: list[str] = list(filters.warnings)
    seen: set[str] = set()
    for resolution in await resolve_refs(catalog, scope, refs):
        table = resolution.entry
        if table is None:
            warnings.append(resolution.describe())
            continue
        if table.kind != "table":
            warnings.append(
                f"{table.id} is a {table.kind}, not a table; list_schema_fields needs table refs"
            )
            continue
        if table.id in seen:
            continue
        seen.add(table.id)
        columns = await columns_of_table(catalog, scope, table)
        kept = [c for c in columns if filters.matches(project_entry(c))]
        page = kept[:limit]
        notes: list[str] = []
        if not columns:
            notes.append("the catalog lists no columns for this table")
        if len(kept) > limit:
            notes.append(
                f"showing {limit} of {len(kept)} fields; raise limit_per_table or add filters"
            )
        item: dict[str, Any] = {
            "table": table_renderer.render(table),
            "fields": [fields_renderer.render(column) for column in page],
            "pagination": {"limit": limit, "returned": len(page), "has_more": len(kept) > limit},
        }
        if notes:
            item["warnings"] = notes
        tables.append(item)
    warnings += fields_renderer.warnings()
    out: dict[str, Any] = {"tables": tables, "filter_resolution": filters.resolution()}
    if warnings:
        out["warnings"] = warnings
    return out
