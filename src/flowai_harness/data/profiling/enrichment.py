"""Enriching a profiled table with descriptions, inferred joins and quality notes.

Two enrichers behind one :class:`TableEnricher` port:

* :class:`FallbackEnricher` (``--schema-only``): deterministic, offline. Descriptions are written
  from the schema and the statistics; a join is inferred when a column named ``<x>_id`` matches
  the single-column primary key of a table named ``<x>`` (or its plural) and no foreign key
  covers it; quality notes flag mostly-empty columns and empty tables.
* :class:`ModelEnricher`: asks a model, through the caller's
  :class:`~flowai_harness.ports.ModelClient` (the command line builds an Anthropic client with
  a 60 s timeout and 2 retries), for the same fields as one JSON object. Whatever the model
  leaves out or gets wrong (unknown columns or tables) comes from the fallback; if the call
  fails, the table is enriched by the fallback and the failure is reported as
  ``fallbackReason``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from flowai_harness._model_answer import ask_for_json, question
from flowai_harness.data.profiling.schema import TableSchema
from flowai_harness.data.profiling.stats import ColumnProfile, ProfilingNote, TableProfile
from flowai_harness.errors import HarnessError
from flowai_harness.ports import ModelClient

__all__ = [
    "CARDINALITIES",
    "ENRICHMENT_AGENT",
    "DatabaseContext",
    "Enrichment",
    "EnrichmentSource",
    "FallbackEnricher",
    "InferredRelationship",
    "ModelEnricher",
    "TableEnricher",
]

EnrichmentSource = Literal["fresh", "cached", "fallback"]
Cardinality = Literal["one-to-many", "many-to-many", "one-to-one"]
CARDINALITIES: tuple[Cardinality, ...] = ("one-to-many", "many-to-many", "one-to-one")
#: The agent name enrichment calls carry (model errors and provider logs name it).
ENRICHMENT_AGENT = "profiling-enrichment"

_SYSTEM = (
    "You document relational database tables for a data catalog used by analytics agents. "
    "Answer with one JSON object only, no prose."
)


@dataclass(frozen=True, slots=True)
class DatabaseContext:
    """What an enricher knows about the rest of the database: every table's schema."""

    tables: Mapping[str, TableSchema] = field(default_factory=dict)

    def fk_edges(self) -> list[str]:
        """Foreign keys as ``table.col -> table.col`` lines."""
        edges = []
        for table in self.tables.values():
            for key in table.foreign_keys:
                local, remote = ",".join(key.columns), ",".join(key.referenced_columns)
                edges.append(f"{table.name}.{local} -> {key.referenced_table}.{remote}")
        return edges


@dataclass(frozen=True, slots=True)
class InferredRelationship:
    """A join the enricher believes in, from the profiled table to another table."""

    source_columns: tuple[str, ...]
    target_table: str
    target_columns: tuple[str, ...]
    cardinality: Cardinality = "one-to-many"
    description: str = ""
    confidence: float = 0.6


@dataclass(frozen=True, slots=True)
class Enrichment:
    """The enrichment of one table and where it came from."""

    description: str
    short_description: str
    column_descriptions: Mapping[str, str]
    relationships: tuple[InferredRelationship, ...] = ()
    quality_notes: tuple[ProfilingNote, ...] = ()
    source: EnrichmentSource = "fallback"
    enrichment_source: str = "deterministic"
    model_id: str | None = None
    fallback_reason: str | None = None


class TableEnricher(Protocol):
    """Turns a table profile into an :class:`Enrichment`; never raises for a bad answer."""

    #: ``deterministic`` or the provider name, recorded in the entries' provenance
    name: str
    #: the model used, if any
    model_id: str | None

    async def enrich(self, profile: TableProfile, context: DatabaseContext) -> Enrichment:
        """Describe ``profile``'s table, its columns, joins and data-quality notes."""
        ...


def _humanize(name: str) -> str:
    return name.replace("_", " ").strip() or name


def _column_sentence(table: str, column: ColumnProfile, foreign: str | None) -> str:
    facts = [column.column.data_type, "nullable" if column.column.nullable else "required"]
    if column.column.primary_key:
        facts.append("primary key")
    if foreign:
        facts.append(f"references {foreign}")
    if column.semantic_type:
        facts.append(f"semantic type {column.semantic_type}")
    text = f"Column {column.column.name} of {table} ({', '.join(facts)})."
    if column.total_count:
        nulls = column.null_count or 0
        text += f" {column.distinct_count if column.distinct_count is not None else '?'} distinct"
        text += f" values, {nulls} of {column.total_count} rows null."
    if column.top_values:
        shown = ", ".join(str(value) for value, _ in column.top_values[:5])
        more = " …" if len(column.top_values) > 5 else ""
        text += f" Values: {shown}{more}."
    return text


def _plural_forms(word: str) -> set[str]:
    forms = {word, f"{word}s", f"{word}es"}
    if word.endswith("y"):
        forms.add(f"{word[:-1]}ies")
    return forms


class FallbackEnricher:
    """The deterministic enricher used with ``--schema-only`` and whenever an LLM call fails."""

    name = "deterministic"
    model_id: str | None = None

    async def enrich(self, profile: TableProfile, context: DatabaseContext) -> Enrichment:
        """Describe the table from its schema and statistics (no network)."""
        return self.describe(profile, context)

    def describe(self, profile: TableProfile, context: DatabaseContext) -> Enrichment:
        """The synchronous body of :meth:`enrich`."""
        table = profile.table
        kind = "View" if table.kind == "view" else "Table"
        columns = [c.column.name for c in profile.columns]
        rows = "" if profile.row_count is None else f" with {profile.row_count} rows"
        short = f"{kind} {table.name}{rows} and {len(columns)} columns."
        human = _humanize(table.name)
        label = f" ({human})" if human != table.name else ""
        parts = [f"{kind} {table.schema}.{table.name}{label}{rows}."]
        parts.append(f"Columns: {', '.join(columns)}.")
        if table.primary_key:
            parts.append(f"Primary key: {', '.join(table.primary_key)}.")
        for key in table.foreign_keys:
            parts.append(f"References {key.referenced_table} through {', '.join(key.columns)}.")
        descriptions: dict[str, str] = {}
        for column in profile.columns:
            found = table.foreign_key_of(column.column.name)
            foreign = f"{found[0].referenced_table}.{found[2]}" if found else None
            descriptions[column.column.name] = _column_sentence(table.name, column, foreign)
        return Enrichment(
            description=" ".join(parts),
            short_description=short,
            column_descriptions=descriptions,
            relationships=tuple(self._inferred(table, context)),
            quality_notes=tuple(self._notes(profile)),
        )

    @staticmethod
    def _inferred(table: TableSchema, context: DatabaseContext) -> list[InferredRelationship]:
        covered = {column for key in table.foreign_keys for column in key.columns}
        found: list[InferredRelationship] = []
        for column in table.columns:
            name = column.name.lower()
            if column.primary_key or column.name in covered or not name.endswith("_id"):
                continue
            stem = name[: -len("_id")]
            for other in context.tables.values():
                if other.name == table.name or other.name.lower() not in _plural_forms(stem):
                    continue
                if len(other.primary_key) != 1:
                    continue
                key = other.primary_key[0]
                if key.lower() not in ("id", name):
                    continue
                found.append(
                    InferredRelationship(
                        source_columns=(column.name,),
                        target_table=other.name,
                        target_columns=(key,),
                        description=(
                            f"{table.name}.{column.name} likely references {other.name}.{key} "
                            "(matching names, no declared foreign key)."
                        ),
                    )
                )
                break
        return found

    @staticmethod
    def _notes(profile: TableProfile) -> list[ProfilingNote]:
        notes: list[ProfilingNote] = []
        if profile.row_count == 0:
            notes.append(ProfilingNote("the table has no rows", finding_type="empty_table"))
        for column in profile.columns:
            total, nulls = column.total_count or 0, column.null_count or 0
            if total and nulls * 2 >= total and nulls:
                share = round(100 * nulls / total, 1)
                notes.append(
                    ProfilingNote(
                        f"{share}% of rows have no value",
                        column=column.column.name,
                        finding_type="completeness",
                        validation_rules=(f"{column.column.name} IS NOT NULL",)
                        if nulls < total
                        else (),
                    )
                )
        return notes


def _prompt(profile: TableProfile, context: DatabaseContext) -> str:
    table = profile.table
    payload = {
        "table": f"{table.schema}.{table.name}",
        "kind": table.kind,
        "rowCount": profile.row_count,
        "columns": [
            {
                "name": c.column.name,
                "type": c.column.data_type,
                "nullable": c.column.nullable,
                "primaryKey": c.column.primary_key,
                "distinctCount": c.distinct_count,
                "nullCount": c.null_count,
                "statistics": c.statistics,
                "topValues": [str(v) for v, _ in c.top_values[:10]],
                "semanticType": c.semantic_type,
            }
            for c in profile.columns
        ],
        "foreignKeys": [
            {
                "columns": list(k.columns),
                "references": f"{k.referenced_table}",
                "referencedColumns": list(k.referenced_columns),
            }
            for k in table.foreign_keys
        ],
        "sampleRows": profile.sample_rows[:10],
        "otherTables": {
            t.name: [c.name for c in t.columns]
            for t in context.tables.values()
            if t.name != table.name
        },
        "databaseForeignKeys": context.fk_edges()[:200],
    }
    return (
        'Document this table. Reply with JSON: {"description": str (2-4 sentences), '
        '"shortDescription": str (one line), "columns": {column name: description}, '
        '"relationships": [{"sourceColumns": [str], "targetTable": str, '
        '"targetColumns": [str], "cardinality": "one-to-many"|"many-to-many"|'
        '"one-to-one", "description": str}] (joins not already declared as foreign keys), '
        '"qualityNotes": [{"column": str|null, "notes": str, "typicalRange": any, '
        '"validationRules": [str]}]}.\n\n' + json.dumps(payload, ensure_ascii=False, default=str)
    )


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item.strip())


def _merge(
    answer: Mapping[str, Any], fallback: Enrichment, profile: TableProfile, context: DatabaseContext
) -> Enrichment:
    columns = {c.column.name for c in profile.columns}
    described = answer.get("columns")
    descriptions = dict(fallback.column_descriptions)
    if isinstance(described, Mapping):
        for name, text in described.items():
            if name in columns and isinstance(text, str) and text.strip():
                descriptions[name] = text.strip()
    relationships = list(fallback.relationships)
    for raw in answer.get("relationships") or []:
        if not isinstance(raw, Mapping):
            continue
        target = context.tables.get(str(raw.get("targetTable")))
        sources, targets = _strings(raw.get("sourceColumns")), _strings(raw.get("targetColumns"))
        target_columns = {c.name for c in target.columns} if target else set()
        if (
            target is None
            or not sources
            or len(sources) != len(targets)
            or not set(sources) <= columns
            or not set(targets) <= target_columns
        ):
            continue
        cardinality = raw.get("cardinality")
        relationships.append(
            InferredRelationship(
                source_columns=sources,
                target_table=target.name,
                target_columns=targets,
                cardinality=cardinality if cardinality in CARDINALITIES else "one-to-many",
                description=str(raw.get("description") or ""),
                confidence=0.8,
            )
        )
    notes = list(fallback.quality_notes)
    for raw in answer.get("qualityNotes") or []:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("notes"), str):
            continue
        column = raw.get("column")
        notes.append(
            ProfilingNote(
                notes=raw["notes"],
                column=column if isinstance(column, str) and column in columns else None,
                finding_type="llm_quality_note",
                typical_range=raw.get("typicalRange"),
                validation_rules=_strings(raw.get("validationRules")),
            )
        )
    unique = {(r.source_columns, r.target_table, r.target_columns): r for r in relationships}
    description = answer.get("description")
    short = answer.get("shortDescription")
    return replace(
        fallback,
        description=description.strip()
        if isinstance(description, str) and description.strip()
        else fallback.description,
        short_description=short.strip()
        if isinstance(short, str) and short.strip()
        else fallback.short_description,
        column_descriptions=descriptions,
        relationships=tuple(unique.values()),
        quality_notes=tuple(notes),
    )


class ModelEnricher:
    """Enrichment by a model, falling back to :class:`FallbackEnricher` on failure.

    Args:
        client: The model client (a live provider, or any ``ModelClient``).
        model: The model id, recorded as ``modelId`` in the entries' provenance.
        provider: The provider key the model routes to, recorded as ``enrichmentSource``.
    """

    def __init__(self, client: ModelClient, model: str, *, provider: str = "anthropic") -> None:
        self.client = client
        self.name = provider
        self.model_id: str | None = model
        self._model = model
        self._fallback = FallbackEnricher()

    async def enrich(self, profile: TableProfile, context: DatabaseContext) -> Enrichment:
        """Ask the model; on any failure return the fallback with ``fallbackReason`` set."""
        fallback = self._fallback.describe(profile, context)
        request = question(
            agent=ENRICHMENT_AGENT,
            provider=self.name,
            model=self._model,
            system=_SYSTEM,
            prompt=_prompt(profile, context),
        )
        try:
            answer = await ask_for_json(self.client, request)
        except Exception as exc:  # a failing client must not fail the table: say why instead
            reason = str(exc) if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"
            return replace(
                fallback,
                enrichment_source=self.name,
                model_id=self._model,
                fallback_reason=reason,
            )
        merged = _merge(answer, fallback, profile, context)
        return replace(merged, source="fresh", enrichment_source=self.name, model_id=self._model)
