"""Catalog entries written by profiling.

One profiled table gives a ``table`` entry, one ``column`` entry per column, a ``relationship``
per foreign-key column pair and per inferred join, an ``enum`` entry per value of each
low-cardinality column, and a ``data_quality_finding`` per quality note. Ids are generated from
the database id and the physical names, so profiling again replaces the same entries; entries a
previous run wrote for the table that this run did not produce are reported by
:func:`stale_entry_ids` so the caller can delete them.

Every entry carries provenance in ``metadata.source``: ``origin`` (``physical_schema`` for
facts read from the schema, else the enrichment's: ``llm_enrichment``, ``cached_enrichment`` or
``fallback``), ``profilingRunId``, ``enrichmentSource``, ``modelId``, ``fallbackReason``,
``schemaSnapshotAt`` and ``targetFingerprint``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.data.catalog.entries import (
    CatalogEntry,
    CatalogLink,
    generated_id,
    generated_tags,
)
from flowai_harness.data.catalog.metadata import text_of
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.data.profiling.enrichment import Enrichment, InferredRelationship
from flowai_harness.data.profiling.stats import ColumnProfile, ProfilingNote, TableProfile

__all__ = [
    "PROFILING_ORIGINS",
    "ProfilingRun",
    "TableEntries",
    "build_table_entries",
    "stale_entry_ids",
    "table_entry_id",
]

#: ``metadata.source.origin`` values written by profiling (manual entries are never touched).
PROFILING_ORIGINS = frozenset(
    {"physical_schema", "llm_enrichment", "cached_enrichment", "fallback"}
)
_ORIGIN_OF_SOURCE = {
    "fresh": "llm_enrichment",
    "cached": "cached_enrichment",
    "fallback": "fallback",
}
_CARDINALITY_SIDES = {
    "one-to-many": ("many", "one"),
    "one-to-one": ("one", "one"),
    "many-to-many": ("many", "many"),
}


@dataclass(frozen=True, slots=True)
class ProfilingRun:
    """Facts shared by every entry of one profiling run."""

    run_id: str
    database_id: str
    snapshot_at: str
    target_fingerprint: str


@dataclass(slots=True)
class TableEntries:
    """The entries of one table and how many of each kind."""

    table_id: str
    entries: list[CatalogEntry] = field(default_factory=list)
    columns: int = 0
    enums: int = 0
    relationships: int = 0
    findings: int = 0

    def summary(self) -> dict[str, int]:
        """The per-table summary of ``tableCompleted`` (camelCase counters)."""
        return {
            "columnsProfiled": self.columns,
            "enumsExtracted": self.enums,
            "relationshipsFound": self.relationships,
            "dataQualityFindings": self.findings,
            "catalogItemsIndexed": len(self.entries),
        }


def table_entry_id(database_id: str, schema: str, table: str) -> str:
    """The generated id of a table entry."""
    return generated_id("table", database_id, schema, table)


def _source(run: ProfilingRun, enrichment: Enrichment, origin: str | None = None) -> dict[str, Any]:
    source = {
        "origin": origin or _ORIGIN_OF_SOURCE[enrichment.source],
        "profilingRunId": run.run_id,
        "enrichmentSource": enrichment.enrichment_source,
        "modelId": enrichment.model_id,
        "fallbackReason": enrichment.fallback_reason,
        "schemaSnapshotAt": run.snapshot_at,
        "targetFingerprint": run.target_fingerprint,
    }
    return {key: value for key, value in source.items() if value is not None}


def _link(target: str, kind: str, description: str | None = None) -> CatalogLink:
    return CatalogLink(target_id=target, relation_type=kind, description=description)


def _enum_value(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) else str(value)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Builder:
    def __init__(self, profile: TableProfile, enrichment: Enrichment, run: ProfilingRun) -> None:
        self.profile, self.enrichment, self.run = profile, enrichment, run
        self.db = run.database_id
        self.schema, self.table = profile.table.schema, profile.table.name
        self.out = TableEntries(table_entry_id(self.db, self.schema, self.table))

    def column_id(self, column: str, table: str | None = None, schema: str | None = None) -> str:
        return generated_id("column", self.db, schema or self.schema, table or self.table, column)

    def build(self) -> TableEntries:
        column_entries = [self.column(c) for c in self.profile.columns]
        self.out.entries.append(self.table_entry([c.id for c in column_entries]))
        self.out.entries += column_entries
        self.out.columns = len(column_entries)
        for key in self.profile.table.foreign_keys:
            for local, remote in zip(key.columns, key.referenced_columns, strict=False):
                self.relationship(
                    local,
                    key.referenced_schema,
                    key.referenced_table,
                    remote,
                    kind="foreign_key",
                    constraint=key.constraint_name,
                )
        for inferred in self.enrichment.relationships:
            self.inferred(inferred)
        for note in (*self.profile.notes, *self.enrichment.quality_notes):
            self.finding(note)
        return self.out

    def table_entry(self, column_ids: Sequence[str]) -> CatalogEntry:
        table = self.profile.table
        metadata: dict[str, Any] = {
            "databaseId": self.db,
            "schemaName": self.schema,
            "tableName": self.table,
            "relationType": table.kind,
            "columnCount": len(table.columns),
            "preferredQuerySurface": False,
            "shortDescription": self.enrichment.short_description,
            "primaryKey": list(table.primary_key),
            "source": _source(self.run, self.enrichment),
        }
        if self.profile.row_count is not None:
            metadata["rowCount"] = self.profile.row_count
        return CatalogEntry(
            id=self.out.table_id,
            item_type="table",
            name=self.table,
            qualified_name=f"{self.schema}.{self.table}",
            content=self.enrichment.description,
            tags=tuple(generated_tags("table", schema=self.schema, table=self.table)),
            related=tuple(_link(i, "has_column") for i in column_ids),
            metadata=metadata,
        )

    def column(self, profile: ColumnProfile) -> CatalogEntry:
        column = profile.column
        metadata: dict[str, Any] = {
            "databaseId": self.db,
            "schemaName": self.schema,
            "tableName": self.table,
            "columnName": column.name,
            "dataType": column.data_type,
            "nullable": column.nullable,
            "primaryKey": column.primary_key,
            "ordinalPosition": column.ordinal,
            "lowCardinalityEnum": profile.low_cardinality,
            "source": _source(self.run, self.enrichment),
        }
        found = self.profile.table.foreign_key_of(column.name)
        if found is not None:
            key, schema, remote = found
            foreign = {
                "referencedSchema": schema,
                "referencedTable": key.referenced_table,
                "referencedColumn": remote,
                "constraintName": key.constraint_name,
            }
            metadata["foreignKey"] = {k: v for k, v in foreign.items() if v is not None}
        optional = {
            "semanticType": profile.semantic_type,
            "distinctCount": profile.distinct_count,
            "nullCount": profile.null_count,
            "totalCount": profile.total_count,
            "defaultValue": column.default,
            "statistics": dict(profile.statistics) or None,
        }
        metadata.update({k: v for k, v in optional.items() if v is not None})
        column_id = self.column_id(column.name)
        enums = self.enums(profile, column_id)
        self.out.entries += enums
        self.out.enums += len(enums)
        return CatalogEntry(
            id=column_id,
            item_type="column",
            name=column.name,
            qualified_name=f"{self.schema}.{self.table}.{column.name}",
            content=self.enrichment.column_descriptions.get(column.name, ""),
            tags=tuple(
                generated_tags("column", schema=self.schema, table=self.table, column=column.name)
            ),
            related=(
                _link(self.out.table_id, "belongs_to"),
                *(_link(e.id, "has_enum_value") for e in enums),
            ),
            metadata=metadata,
        )

    def enums(self, profile: ColumnProfile, column_id: str) -> list[CatalogEntry]:
        if not profile.low_cardinality:
            return []
        name = profile.column.name
        non_null = max(1, (profile.total_count or 0) - (profile.null_count or 0))
        entries = []
        for rank, (value, frequency) in enumerate(profile.top_values, start=1):
            text = _value_text(value)
            share = round(100 * frequency / non_null, 2)
            entries.append(
                CatalogEntry(
                    id=generated_id("enum", self.db, self.schema, self.table, name, text),
                    item_type="enum",
                    name=text,
                    qualified_name=f"{self.schema}.{self.table}.{name}.{text}",
                    content=(
                        f"Value {text!r} of {self.table}.{name}: {frequency} "
                        f"row{'' if frequency == 1 else 's'} ({share}%)."
                    ),
                    tags=tuple(
                        generated_tags("enum", schema=self.schema, table=self.table, column=name)
                    ),
                    related=(_link(column_id, "enum_value_of"),),
                    metadata={
                        "databaseId": self.db,
                        "schemaName": self.schema,
                        "tableName": self.table,
                        "columnName": name,
                        "columnId": column_id,
                        "value": _enum_value(value),
                        "normalizedValue": text.strip().lower(),
                        "displayValue": text,
                        "frequency": frequency,
                        "frequencyPercentage": share,
                        "rank": rank,
                        "source": _source(self.run, self.enrichment, "physical_schema"),
                    },
                )
            )
        return entries

    def relationship(
        self,
        local: str,
        target_schema: str,
        target_table: str,
        remote: str,
        *,
        kind: str,
        constraint: str | None = None,
        inferred: InferredRelationship | None = None,
    ) -> None:
        source_id = self.out.table_id
        target_id = table_entry_id(self.db, target_schema, target_table)
        if inferred is None:
            unique = self.profile.table.primary_key == (local,)
            sides = ("one" if unique else "many", "one")
            confidence, origin = 1.0, "physical_schema"
            via = f" (foreign key {constraint})" if constraint else " (foreign key)"
            content = f"{self.table}.{local} references {target_table}.{remote}{via}."
        else:
            sides = _CARDINALITY_SIDES[inferred.cardinality]
            confidence, origin = inferred.confidence, None
            content = inferred.description or (
                f"{self.table}.{local} likely joins {target_table}.{remote}."
            )
        metadata: dict[str, Any] = {
            "databaseId": self.db,
            "sourceTableId": source_id,
            "targetTableId": target_id,
            "sourceSchema": self.schema,
            "sourceTable": self.table,
            "sourceColumn": local,
            "targetSchema": target_schema,
            "targetTable": target_table,
            "targetColumn": remote,
            "sourceCardinality": sides[0],
            "targetCardinality": sides[1],
            "relationshipKind": kind,
            "confidence": confidence,
            "source": _source(self.run, self.enrichment, origin),
        }
        if constraint:
            metadata["constraintName"] = constraint
        self.out.entries.append(
            CatalogEntry(
                id=generated_id(
                    "relationship",
                    self.db,
                    self.schema,
                    self.table,
                    local,
                    target_schema,
                    target_table,
                    remote,
                ),
                item_type="relationship",
                name=f"{self.table}.{local} -> {target_table}.{remote}",
                qualified_name=None,
                content=content,
                tags=("[TYPE:relationship]", f"[SCHEMA:{self.schema}]", f"[TABLE:{self.table}]"),
                related=(
                    _link(source_id, "relationship_source_table"),
                    _link(target_id, "relationship_target_table"),
                ),
                metadata=metadata,
            )
        )
        self.out.relationships += 1

    def inferred(self, relationship: InferredRelationship) -> None:
        declared = {
            (local, key.referenced_table, remote)
            for key in self.profile.table.foreign_keys
            for local, remote in zip(key.columns, key.referenced_columns, strict=False)
        }
        for local, remote in zip(
            relationship.source_columns, relationship.target_columns, strict=False
        ):
            if (local, relationship.target_table, remote) in declared:
                continue
            self.relationship(
                local,
                self.schema,
                relationship.target_table,
                remote,
                kind="inferred",
                inferred=relationship,
            )

    def finding(self, note: ProfilingNote) -> None:
        column = note.column
        digest = hashlib.sha256(note.notes.encode("utf-8")).hexdigest()[:16]
        target = self.column_id(column) if column else self.out.table_id
        origin = (
            "physical_schema" if note.finding_type in ("sampling_failed", "profiling") else None
        )
        metadata: dict[str, Any] = {
            "databaseId": self.db,
            "schemaName": self.schema,
            "tableName": self.table,
            "findingType": note.finding_type,
            "scopeTables": [self.table],
            "scopeColumns": [f"{self.table}.{column}"] if column else [],
            "validationRules": list(note.validation_rules),
            "source": _source(self.run, self.enrichment, origin),
        }
        if column:
            metadata["columnName"] = column
        if note.typical_range is not None:
            metadata["typicalValueRange"] = note.typical_range
        subject = f"{self.table}.{column}" if column else self.table
        self.out.entries.append(
            CatalogEntry(
                id=generated_id(
                    "data_quality_finding",
                    self.db,
                    self.schema,
                    self.table,
                    column or "",
                    note.finding_type,
                    digest,
                ),
                item_type="data_quality_finding",
                name=f"{subject}: {note.finding_type}",
                qualified_name=None,
                content=note.notes,
                tags=tuple(
                    generated_tags(
                        "data_quality_finding", schema=self.schema, table=self.table, column=column
                    )
                ),
                related=(_link(target, "data_quality_finding_applies_to"),),
                metadata=metadata,
            )
        )
        self.out.findings += 1


def build_table_entries(
    profile: TableProfile, enrichment: Enrichment, run: ProfilingRun
) -> TableEntries:
    """Return every catalog entry profiling writes for one table.

    Args:
        profile: The table's profile.
        enrichment: Its enrichment (descriptions, inferred joins, quality notes).
        run: The run's id, database id, snapshot time and target fingerprint.
    """
    return _Builder(profile, enrichment, run).build()


def _written_by_profiling(entry: CatalogEntry, database_id: str) -> bool:
    source = entry.metadata.get("source")
    origin = source.get("origin") if isinstance(source, Mapping) else None
    return origin in PROFILING_ORIGINS and text_of(entry.metadata, "databaseId") == database_id


async def stale_entry_ids(
    catalog: CatalogStore,
    scope: CatalogScope,
    table: TableEntries,
    schema: str,
    name: str,
    database_id: str,
) -> list[str]:
    """Ids of entries an earlier profiling run wrote for this table that this run did not.

    Only entries with a profiling ``source.origin`` and the same database id are considered:
    hand-written entries and other databases' entries are never returned.
    """
    fresh = {entry.id for entry in table.entries}
    kinds = ["column", "enum", "data_quality_finding"]
    candidates = await catalog.find_by_table(scope, name, schema, kinds)
    # The lookup ignores case; PostgreSQL tables "Orders" and "orders" are different tables.
    stale = [
        e.id
        for e in candidates
        if e.id not in fresh
        and text_of(e.metadata, "tableName") == name
        and text_of(e.metadata, "schemaName") == schema
        and _written_by_profiling(e, database_id)
    ]
    after: str | None = None
    while True:
        page = await catalog.list_entries(scope, ["relationship"], after_id=after, limit=2000)
        for entry in page:
            meta = entry.metadata
            if (
                entry.id not in fresh
                and text_of(meta, "sourceTable") == name
                and text_of(meta, "sourceSchema") == schema
                and _written_by_profiling(entry, database_id)
            ):
                stale.append(entry.id)
        if len(page) < 2000:
            return stale
        after = page[-1].id
