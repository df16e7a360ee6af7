"""The search projection of a catalog entry (projection version 3).

One function, :func:`project_entry`, turns an entry into the exact keyword values and the
analysed texts the index stores. The same facts drive the filter re-check after hydration and
the match signals, so the index and the re-check can never disagree about what a filter means.

Keyword values are trimmed and lower-cased. Besides the spec's keyword fields, the ``*_ref``
fields hold what a catalog-ref filter can match: entity ids (``<id>``), qualified names
(``q:<schema.table>``) and, for the loose scope lists of metrics and knowledge, bare names
(``n:<table>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flowai_harness.data.catalog.entries import CatalogEntry, generated_id, normalize_key
from flowai_harness.data.catalog.metadata import string_list, text_of

__all__ = [
    "KEYWORD_FIELDS",
    "PROJECTION_VERSION",
    "TEXT_FIELDS",
    "EntryProjection",
    "FieldClause",
    "project_entry",
]

PROJECTION_VERSION = 3

#: Exact (lower-cased, trimmed) keyword fields.
KEYWORD_FIELDS: tuple[str, ...] = (
    "id",
    "kind",
    "name",
    "qualified_name",
    "tags",
    "database_id",
    "schema",
    "table",
    "column",
    "data_type",
    "semantic_type",
    "knowledge_type",
    "relation_kind",
    "source_table",
    "source_column",
    "target_table",
    "target_column",
    "preferred_query_surface",
    "low_cardinality_enum",
    "enum_value",
    "nullable",
    "primary_key",
    "cardinality",
    "confidence",
    "table_ref",
    "column_ref",
    "source_table_ref",
    "source_column_ref",
    "target_table_ref",
    "target_column_ref",
)

#: Analysed text fields and their boosts.
TEXT_FIELDS: dict[str, float] = {
    "name_text": 4.0,
    "qualified_name_text": 4.0,
    "synonyms_text": 3.5,
    "enum_value_text": 3.5,
    "enum_display_text": 3.5,
    "description_text": 1.5,
    "auxiliary_text": 1.2,
    "tags_text": 1.0,
    "body_text": 0.7,
    "context_text": 0.5,
}

# Links whose target is the table or column an entry is about.
_TABLE_LINKS = frozenset({"belongs_to", "relationship_source_table", "relationship_target_table"})
_COLUMN_LINKS = frozenset({"enum_value_of"})
_SCOPE_LINKS = frozenset(
    {"knowledge_applies_to", "data_quality_finding_applies_to", "applies_to", "metric_uses"}
)


@dataclass(frozen=True, slots=True)
class EntryProjection:
    """What the index stores for one entry: keyword values and analysed texts by field."""

    keywords: Mapping[str, tuple[str, ...]]
    texts: Mapping[str, str]

    def values(self, field: str) -> tuple[str, ...]:
        """Return the keyword values of ``field`` (empty when the kind cannot carry it)."""
        return self.keywords.get(field, ())


class _Builder:
    def __init__(self) -> None:
        self.keywords: dict[str, list[str]] = {}
        self.texts: dict[str, list[str]] = {}

    def key(self, field: str, *values: str | None) -> None:
        bucket = self.keywords.setdefault(field, [])
        for value in values:
            if value is not None and value.strip():
                normalized = normalize_key(value)
                if normalized not in bucket:
                    bucket.append(normalized)

    def text(self, field: str, *values: str | None) -> None:
        self.texts.setdefault(field, []).extend(v for v in values if v)

    def flag(self, field: str, value: Any, default: bool | None = None) -> None:
        if isinstance(value, bool):
            self.key(field, "true" if value else "false")
        elif default is not None:
            self.key(field, "true" if default else "false")

    def build(self) -> EntryProjection:
        return EntryProjection(
            keywords={k: tuple(v) for k, v in self.keywords.items() if v},
            texts={k: "\n".join(v) for k, v in self.texts.items() if v},
        )


def _dotted(*parts: str | None) -> str | None:
    if not all(parts):
        return None
    return ".".join(p for p in parts if p)


def _qualified(value: str | None) -> str | None:
    return f"q:{value}" if value else None


def _loose_refs(values: Iterable[str], *, column: bool) -> list[str]:
    refs: list[str] = []
    for value in values:
        refs.append(f"q:{value}")
        segments = value.split(".")
        tail = ".".join(segments[-2:]) if column else segments[-1]
        refs.append(f"n:{tail}")
    return refs


def project_entry(entry: CatalogEntry, body: str | None = None) -> EntryProjection:
    """Return the projection of ``entry``; ``body`` is a document's text pulled from KV.

    The entry's metadata must be decodable (see
    :func:`flowai_harness.data.catalog.metadata.metadata_problem`); fields of a malformed type are
    ignored rather than raising.
    """
    out = _Builder()
    meta = entry.metadata
    out.key("id", entry.id)
    out.key("kind", entry.kind)
    out.key("name", entry.name)
    out.key("qualified_name", entry.qualified_name)
    out.key("tags", *entry.tags)
    out.key("database_id", text_of(meta, "databaseId"))
    out.text("name_text", entry.name)
    out.text("qualified_name_text", entry.qualified_name)
    out.text("description_text", entry.content)
    out.text("tags_text", *entry.tags)
    out.text("synonyms_text", *string_list(meta, "synonyms"))
    out.text("body_text", body)
    for link in entry.related:
        if link.relation_type in _TABLE_LINKS or link.relation_type in _SCOPE_LINKS:
            out.key("table_ref", link.target_id)
        if link.relation_type in _COLUMN_LINKS or link.relation_type in _SCOPE_LINKS:
            out.key("column_ref", link.target_id)
    _KIND_PROJECTORS.get(entry.item_type, _project_nothing)(entry, meta, out)
    return out.build()


def _project_nothing(entry: CatalogEntry, meta: Mapping[str, Any], out: _Builder) -> None:
    return None


def _table_parts(meta: Mapping[str, Any], out: _Builder) -> tuple[str | None, str | None]:
    schema, table = text_of(meta, "schemaName"), text_of(meta, "tableName")
    out.key("schema", schema)
    out.key("table", table)
    out.text("context_text", schema, table)
    database = text_of(meta, "databaseId")
    if database and schema and table:
        out.key("table_ref", generated_id("table", database, schema, table))
    out.key("table_ref", _qualified(_dotted(schema, table)))
    return schema, table


def _project_table(entry: CatalogEntry, meta: Mapping[str, Any], out: _Builder) -> None:
    _table_parts(meta, out)
    out.key("table_ref", entry.id, _qualified(entry.qualified_name))
    out.flag("preferred_query_surface", meta.get("preferredQuerySurface"), default=False)
    out.text("auxiliary_text", text_of(meta, "relationType"))
    out.text("context_text", "table")


def _project_column(entry: CatalogEntry, meta: Mapping[str, Any], out: _Builder) -> None:
    schema, table = _table_parts(meta, out)
    column = text_of(meta, "columnName")
    out.key("column", column)
    out.key("data_type", text_of(meta, "dataType"))
    out.key("semantic_type", text_of(meta, "semanticType"))
    out.flag("nullable", meta.get("nullable"))
    out.flag("primary_key", meta.get("primaryKey"), default=False)
    out.flag("low_cardinality_enum", meta.get("lowCardinalityEnum"), default=False)
    out.key("column_ref", entry.id, _qualified(entry.qualified_name))
    out.key("column_ref", _qualified(_dotted(schema, table, column)))
    out.text("context_text", column, text_of(meta, "dataType"), text_of(meta, "semanticType"))
    foreign = meta.get("foreignKey")
    if isinstance(foreign, Mapping):
        target = [
            text_of(foreign, "referencedSchema") or text_of(foreign, "targetSchema"),
            text_of(foreign, "referencedTable") or text_of(foreign, "targetTable"),
            text_of(foreign, "referencedColumn") or text_of(foreign, "targetColumn"),
        ]
        out.text("auxiliary_text", "references", *target, text_of(foreign, "constraintName"))


def _project_enum(entry: CatalogEntry, meta: Mapping[str, Any], out: _Builder) -> None:
    schema, table = _table_parts(meta, out)
    column = text_of(meta, "columnName")
    out.key("column", column)
    out.key("column_ref", text_of(meta, "columnId"), _qualified(_dotted(schema, table, column)))
    value, display = text_of(meta, "value"), text_of(meta, "displayValue")
    out.key("enum_value", value, text_of(meta, "normalizedValue"), display)
    out.text("enum_value_text", value, text_of(meta, "normalizedValue"))
    out.text("enum_display_text", display)
    out.text("context_text", column)


def _project_relationship(entry: CatalogEntry, meta: Mapping[str, Any], out: _Builder) -> None:
    names = {
        side: (
            text_of(meta, f"{side}Schema"),
            text_of(meta, f"{side}Table"),
            text_of(meta, f"{side}Column"),
        )
        for side in ("source", "target")
    }
    out.key("relation_kind", text_of(meta, "relationshipKind"))
    for side, (schema, table, column) in names.items():
        table_id = text_of(meta, f"{side}TableId")
        out.key("schema", schema)
        out.key(f"{side}_table", table)
        out.key(f"{side}_column", column)
        out.key(f"{side}_table_ref", table_id, _qualified(_dotted(schema, table)))
        out.key(f"{side}_column_ref", _qualified(_dotted(schema, table, column)))
        out.key("table_ref", table_id, _qualified(_dotted(schema, table)))
        out.text("context_text", schema, table, column)
    cardinality = (text_of(meta, "sourceCardinality"), text_of(meta, "targetCardinality"))
    if all(cardinality):
        out.key("cardinality", f"{cardinality[0]}_to_{cardinality[1]}")
    out.key("confidence", text_of(meta, "confidence"))
    out.text("auxiliary_text", text_of(meta, "relationshipKind"))


def _project_metric(entry: CatalogEntry, meta: Mapping[str, Any], out: _Builder) -> None:
    tables, columns = string_list(meta, "sourceTables"), string_list(meta, "sourceColumns")
    out.key("table_ref", *_loose_refs(tables, column=False))
    out.key("column_ref", *_loose_refs(columns, column=True))
    out.text("auxiliary_text", text_of(meta, "formula"))
    out.text("context_text", *tables, *columns)


def _project_knowledge(entry: CatalogEntry, meta: Mapping[str, Any], out: _Builder) -> None:
    tables, columns = string_list(meta, "scopeTables"), string_list(meta, "scopeColumns")
    out.key("knowledge_type", text_of(meta, "knowledgeType"))
    out.key("table_ref", *_loose_refs(tables, column=False))
    out.key("column_ref", *_loose_refs(columns, column=True))
    out.text("auxiliary_text", text_of(meta, "sqlExpression"))
    out.text("context_text", text_of(meta, "knowledgeType"), *tables, *columns)


def _project_finding(entry: CatalogEntry, meta: Mapping[str, Any], out: _Builder) -> None:
    schema, table = _table_parts(meta, out)
    column = text_of(meta, "columnName")
    out.key("column", column)
    out.key("column_ref", _qualified(_dotted(schema, table, column)))
    tables, columns = string_list(meta, "scopeTables"), string_list(meta, "scopeColumns")
    out.key("table_ref", *_loose_refs(tables, column=False))
    out.key("column_ref", *_loose_refs(columns, column=True))
    out.text("auxiliary_text", *string_list(meta, "validationRules"))
    out.text("context_text", column, text_of(meta, "findingType"))


_KIND_PROJECTORS = {
    "table": _project_table,
    "column": _project_column,
    "enum": _project_enum,
    "relationship": _project_relationship,
    "metric": _project_metric,
    "knowledge": _project_knowledge,
    "data_quality_finding": _project_finding,
}


@dataclass(frozen=True, slots=True)
class FieldClause:
    """A filter on one keyword field: the entry must carry at least one of ``values``."""

    field: str
    values: tuple[str, ...]

    def matches(self, projection: EntryProjection) -> bool:
        """Whether ``projection`` satisfies the clause."""
        carried = projection.values(self.field)
        return any(value in carried for value in self.values)
