"""Extracting knowledge items from a document with a model (``--extract-knowledge``).

The model is reached through the caller's :class:`~flowai_harness.ports.ModelClient` (the
command line builds an Anthropic client with a 90 s timeout and 2 retries). It sees the document
and the target database's tables and columns (so scope names are real ones) and answers with
``{"items": [...]}``. Each item is normalised: a non-blank name, a description, a knowledge type
from :data:`KNOWLEDGE_TYPES` (anything else becomes ``custom``), scope tables and columns that
exist in the target schema (others are dropped), an optional SQL expression and synonyms. Item
ids are derived from the document id and the item's position and name, so extracting the same
document again gives the same ids.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowai_harness._model_answer import ask_for_json, question
from flowai_harness.data.profiling.schema import SchemaReader
from flowai_harness.errors import HarnessError, ProviderError
from flowai_harness.ports import ModelClient

__all__ = [
    "EXTRACTION_AGENT",
    "KNOWLEDGE_TYPES",
    "KnowledgeExtractor",
    "normalize_items",
    "schema_outline",
]

#: The agent name extraction calls carry (model errors and provider logs name it).
EXTRACTION_AGENT = "knowledge-extraction"

#: Knowledge types; an unknown type becomes ``custom``.
KNOWLEDGE_TYPES: tuple[str, ...] = (
    "business_rule",
    "predicate",
    "terminology",
    "constraint",
    "temporal_rule",
    "implicit_intent",
    "data_quality",
    "custom",
)
_MAX_DOCUMENT_CHARS = 150_000
_SYSTEM = (
    "You extract reusable business knowledge from documents for analytics agents that query a "
    "relational database. Answer with one JSON object only, no prose."
)


async def schema_outline(reader: SchemaReader, schema: str | None = None) -> dict[str, list[str]]:
    """Return ``{table: [columns]}`` of a schema, to ground extraction in real names."""
    name = schema or reader.default_schema
    outline: dict[str, list[str]] = {}
    for table, kind in await reader.list_tables(name):
        described = await reader.describe_table(name, table, kind)
        outline[table] = [column.name for column in described.columns]
    return outline


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return list(dict.fromkeys(v.strip() for v in value if isinstance(v, str) and v.strip()))


def _known_table(name: str, outline: Mapping[str, Sequence[str]]) -> str | None:
    bare = name.rpartition(".")[2]
    return bare if bare in outline else None


def _known_column(name: str, outline: Mapping[str, Sequence[str]]) -> str | None:
    parts = name.split(".")
    if len(parts) < 2:
        return None
    table, column = parts[-2], parts[-1]
    return f"{table}.{column}" if column in outline.get(table, ()) else None


def normalize_items(
    raw_items: Any, document_id: str, outline: Mapping[str, Sequence[str]]
) -> list[dict[str, Any]]:
    """Turn a model's ``items`` into stored knowledge items (``data:knowledge:<id>`` values).

    Args:
        raw_items: The model's list of items.
        document_id: The source document id (``doc-<sha256>``).
        outline: ``{table: [columns]}`` of the target schema; unknown scope names are dropped.
    """
    items: list[dict[str, Any]] = []
    for position, raw in enumerate(raw_items if isinstance(raw_items, list) else []):
        if not isinstance(raw, Mapping):
            continue
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            continue
        kind = raw.get("knowledgeType")
        digest = hashlib.sha256(f"{document_id}:{position}:{name.strip()}".encode()).hexdigest()
        item: dict[str, Any] = {
            "id": f"knowledge-{digest[:32]}",
            "name": name.strip(),
            "description": str(raw.get("description") or "").strip(),
            "knowledgeType": kind if kind in KNOWLEDGE_TYPES else "custom",
            "scopeTables": [
                t for t in (_known_table(v, outline) for v in _strings(raw.get("scopeTables"))) if t
            ],
            "scopeColumns": [
                c
                for c in (_known_column(v, outline) for v in _strings(raw.get("scopeColumns")))
                if c
            ],
            "synonyms": _strings(raw.get("synonyms")),
            "sourceDocumentId": document_id,
        }
        sql = raw.get("sqlExpression")
        if isinstance(sql, str) and sql.strip():
            item["sqlExpression"] = sql.strip()
        items.append(item)
    return items


@dataclass(frozen=True, slots=True)
class KnowledgeExtractor:
    """Extracts knowledge items from one document.

    Attributes:
        client: The model client (a live provider, or any ``ModelClient``).
        model: The model id.
        outline: ``{table: [columns]}`` of the target schema (see :func:`schema_outline`).
        provider: The provider key the model routes to.
    """

    client: ModelClient
    model: str
    outline: Mapping[str, Sequence[str]]
    provider: str = "anthropic"

    async def extract(self, document_id: str, name: str, content: str) -> list[dict[str, Any]]:
        """Ask the model for the document's knowledge items.

        Raises:
            ProviderError: The call failed (whatever the client raised) or the answer had no
                ``items`` list.
        """
        prompt = (
            'Extract the business knowledge in this document as JSON: {"items": [{"name": '
            'str, "description": str, "knowledgeType": one of '
            f'{", ".join(KNOWLEDGE_TYPES)}, "scopeTables": [table], "scopeColumns": '
            '["table.column"], "sqlExpression": str|null, "synonyms": [str]}]}. Use only '
            "tables and columns from this schema: "
            + json.dumps(dict(self.outline), ensure_ascii=False)
            + f"\n\nDocument {name!r}:\n"
            + content[:_MAX_DOCUMENT_CHARS]
        )
        request = question(
            agent=EXTRACTION_AGENT,
            provider=self.provider,
            model=self.model,
            system=_SYSTEM,
            prompt=prompt,
        )
        try:
            answer = await ask_for_json(self.client, request)
        except HarnessError:
            raise
        except Exception as exc:  # a failing client fails this document, not the ingestion
            raise ProviderError(
                f"knowledge extraction failed: {type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(answer.get("items"), list):
            raise ProviderError("knowledge extraction answer has no 'items' list")
        return normalize_items(answer["items"], document_id, self.outline)
