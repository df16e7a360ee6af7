"""Catalog filters: parsed, resolved, and compiled to exact field clauses.

Plain filters (``schema``, ``data_type``, ``tags``, …) become case-insensitive exact clauses on
the projection's keyword fields; a kind that cannot carry a field never matches it, so such a
filter excludes that kind. Ref filters (``table``, ``column``, ``source_*``, ``target_*``) are
first resolved to a catalog entity (strings are classified as id, qualified name or name); an
unresolved or ambiguous ref filter is reported and not applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.data.catalog.entries import CatalogEntry
from flowai_harness.data.catalog.metadata import text_of
from flowai_harness.data.catalog.projection import EntryProjection, FieldClause
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.data.toolkit.inputs import ToolInputError
from flowai_harness.data.toolkit.refs import (
    AMBIGUOUS,
    CatalogRef,
    classify_filter_string,
    parse_ref,
    resolve_ref,
)

__all__ = ["FILTER_KEYS", "ResolvedFilters", "canonical_filters", "resolve_filters"]

_TEXT_FILTERS = (
    "database_id",
    "schema",
    "data_type",
    "semantic_type",
    "knowledge_type",
    "relation_kind",
)
_FLAG_FILTERS = ("preferred_query_surface", "low_cardinality_enum")
# ref filter -> (expected kind, projection field)
_REF_FILTERS: dict[str, tuple[str, str]] = {
    "table": ("table", "table_ref"),
    "column": ("column", "column_ref"),
    "source_table": ("table", "source_table_ref"),
    "source_column": ("column", "source_column_ref"),
    "target_table": ("table", "target_table_ref"),
    "target_column": ("column", "target_column_ref"),
}
#: Every key a ``filters`` object accepts.
FILTER_KEYS: tuple[str, ...] = (*_TEXT_FILTERS, "tags", *_FLAG_FILTERS, *_REF_FILTERS)


@dataclass(slots=True)
class ResolvedFilters:
    """Filters ready to apply: clauses, the ``filter_resolution`` report, and warnings."""

    clauses: tuple[FieldClause, ...] = ()
    applied: dict[str, Any] = field(default_factory=dict)
    canonicalized: list[dict[str, Any]] = field(default_factory=list)
    ambiguous: list[dict[str, Any]] = field(default_factory=list)
    unresolved: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def matches(self, projection: EntryProjection) -> bool:
        """Whether an entry's projection satisfies every clause."""
        return all(clause.matches(projection) for clause in self.clauses)

    def resolution(self) -> dict[str, Any]:
        """Return ``{applied, canonicalized[], ambiguous[], unresolved[]}``."""
        return {
            "applied": dict(self.applied),
            "canonicalized": list(self.canonicalized),
            "ambiguous": list(self.ambiguous),
            "unresolved": list(self.unresolved),
        }


def _parse(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ToolInputError(f"{where} must be an object")
    unknown = sorted(str(key) for key in raw if key not in FILTER_KEYS)
    if unknown:
        raise ToolInputError(
            f"{where} has unknown field(s) {unknown}; expected: {', '.join(FILTER_KEYS)}"
        )
    parsed: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if key in _TEXT_FILTERS:
            if not isinstance(value, str) or not value.strip():
                raise ToolInputError(f"{where}.{key} must be a non-blank string")
        elif key in _FLAG_FILTERS:
            if not isinstance(value, bool):
                raise ToolInputError(f"{where}.{key} must be a boolean")
        elif key == "tags":
            if (
                isinstance(value, str)
                or not isinstance(value, list)
                or not all(isinstance(tag, str) and tag.strip() for tag in value)
            ):
                raise ToolInputError(f"{where}.tags must be a list of non-blank strings")
        elif isinstance(value, str):
            if not value.strip():
                raise ToolInputError(f"{where}.{key} must not be blank")
        else:
            value = parse_ref(value, f"{where}.{key}")
        parsed[key] = value
    return parsed


def canonical_filters(raw: Any) -> Any:
    """The filters as given, with keys sorted (part of a search cursor's signature)."""
    if isinstance(raw, Mapping):
        return {str(k): canonical_filters(raw[k]) for k in sorted(raw, key=str)}
    if isinstance(raw, list):
        return [canonical_filters(item) for item in raw]
    return raw


def _ref_values(entry: CatalogEntry, kind: str) -> tuple[str, ...]:
    meta = entry.metadata
    schema, table = text_of(meta, "schemaName"), text_of(meta, "tableName")
    values = [entry.id]
    if entry.qualified_name:
        values.append(f"q:{entry.qualified_name}")
    if kind == "table":
        if schema and table:
            values.append(f"q:{schema}.{table}")
        values.append(f"n:{table or entry.name}")
    else:
        column = text_of(meta, "columnName") or entry.name
        if schema and table:
            values.append(f"q:{schema}.{table}.{column}")
        if table:
            values.append(f"n:{table}.{column}")
    return tuple(dict.fromkeys(v.strip().lower() for v in values))


async def resolve_filters(
    raw: Any, catalog: CatalogStore, scope: CatalogScope, where: str = "filters"
) -> ResolvedFilters:
    """Parse and resolve ``filters``.

    Raises:
        ToolInputError: The filters object is malformed.
    """
    parsed = _parse(raw, where)
    out = ResolvedFilters()
    clauses: list[FieldClause] = []
    for key, value in parsed.items():
        if key in _TEXT_FILTERS:
            clauses.append(FieldClause(key, (value.strip().lower(),)))
            out.applied[key] = value.strip()
        elif key in _FLAG_FILTERS:
            clauses.append(FieldClause(key, ("true" if value else "false",)))
            out.applied[key] = value
        elif key == "tags":
            clauses += [FieldClause("tags", (tag.strip().lower(),)) for tag in value]
            out.applied[key] = [tag.strip() for tag in value]
        else:
            clause = await _resolve_ref_filter(key, value, catalog, scope, out)
            if clause is not None:
                clauses.append(clause)
    out.clauses = tuple(clauses)
    return out


async def _resolve_ref_filter(
    key: str,
    value: str | CatalogRef,
    catalog: CatalogStore,
    scope: CatalogScope,
    out: ResolvedFilters,
) -> FieldClause | None:
    kind, projection_field = _REF_FILTERS[key]
    given: Any = value if isinstance(value, str) else value.to_dict()
    ref = (
        classify_filter_string(value, kind)
        if isinstance(value, str)
        else CatalogRef(value.id, value.qualified_name, value.name, value.kind or kind)
    )
    resolution = await resolve_ref(catalog, scope, ref)
    entry = resolution.entry
    code: str | None = resolution.code
    if entry is not None and entry.kind != kind:
        entry, code = None, f"expected_{kind}_reference"
    if entry is None:
        if code == AMBIGUOUS:
            out.ambiguous.append(
                {"field": key, "input": given, "candidates": list(resolution.candidates)}
            )
        else:
            out.unresolved.append({"field": key, "input": given, "code": code})
        out.warnings.append(f"filter {key} {given!r} was not applied: {code}")
        return None
    out.canonicalized.append(
        {
            "field": key,
            "input": given,
            "id": entry.id,
            "kind": entry.kind,
            "name": entry.name,
            **({"qualified_name": entry.qualified_name} if entry.qualified_name else {}),
        }
    )
    out.applied[key] = entry.id
    return FieldClause(projection_field, _ref_values(entry, kind))
