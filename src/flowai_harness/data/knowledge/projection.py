"""Projecting a workspace's knowledge documents and items into the catalog.

Runs after the KV writes succeeded, over every document and item of the workspace:

* a ``document`` entry per document: id generated from (``knowledge:<tenant>:<workspace>``, doc
  id), empty content (the body stays in KV), metadata ``sourceDocumentId``,
  ``contentAvailable``, ``contentSource: kv``, ``extractionStatus``, ``extractedKnowledgeIds``;
* a ``knowledge`` entry per item: content = description, ``extracted_from`` its document and
  ``knowledge_applies_to`` each scope target, resolved by exact name among the catalog's tables
  (``t`` / ``s.t``) and columns (``t.c`` / ``s.t.c``) of the document's database id.

A scope target that resolves to nothing, to several entries, only to another database's
entries, or that has a bad shape fails the projection with one error listing every problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowai_harness.data.catalog.entries import (
    CatalogEntry,
    CatalogLink,
    generated_id,
    generated_tags,
)
from flowai_harness.data.catalog.metadata import text_of
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.errors import SpecValueError
from flowai_harness.ports import KeyValueStore

__all__ = [
    "DOCUMENTS_INDEX_KEY",
    "KNOWLEDGE_HASHES_KEY",
    "KNOWLEDGE_INDEX_KEY",
    "document_key",
    "index_ids",
    "knowledge_key",
    "knowledge_namespace",
    "project_knowledge",
]

DOCUMENTS_INDEX_KEY = "data:documents:index"
KNOWLEDGE_INDEX_KEY = "data:knowledge:index"
KNOWLEDGE_HASHES_KEY = "data:knowledge:content_hashes"


def document_key(document_id: str) -> str:
    """KV key of a document body: ``data:document:<id>``."""
    return f"data:document:{document_id}"


def knowledge_key(item_id: str) -> str:
    """KV key of a knowledge item: ``data:knowledge:<id>``."""
    return f"data:knowledge:{item_id}"


def knowledge_namespace(scope: CatalogScope) -> str:
    """The database-id part of generated document and knowledge entry ids."""
    return f"knowledge:{scope.tenant}:{scope.workspace}"


def index_ids(value: Any) -> list[str]:
    """The ``ids`` of an index record (``{"ids": [...]}``); ``[]`` when missing or malformed."""
    ids = value.get("ids") if isinstance(value, Mapping) else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


class _ScopeResolver:
    def __init__(self, catalog: CatalogStore, scope: CatalogScope) -> None:
        self.catalog, self.scope = catalog, scope
        self.problems: list[tuple[str, str]] = []

    async def _candidates(self, ref: str, kind: str) -> list[CatalogEntry] | None:
        parts = ref.split(".")
        width = (1, 2) if kind == "table" else (2, 3)
        if not ref.strip() or len(parts) not in width or not all(p.strip() for p in parts):
            return None
        if len(parts) == width[1]:
            return await self.catalog.find_entries(self.scope, "qualified_name", ref, [kind])
        if kind == "table":
            return await self.catalog.find_entries(self.scope, "name", ref, ["table"])
        table, column = parts
        found = await self.catalog.find_by_table(self.scope, table, None, ["column"])
        return [
            e for e in found if (text_of(e.metadata, "columnName") or "").lower() == column.lower()
        ]

    async def resolve(self, item: str, ref: str, kind: str, database_id: str) -> str | None:
        candidates = await self._candidates(ref, kind)
        label = f"{kind} {ref!r} of knowledge item {item}"
        if candidates is None:
            self.problems.append(("invalid", f"{label} is not a valid {kind} name"))
            return None
        inside = [e for e in candidates if text_of(e.metadata, "databaseId") == database_id]
        if len(inside) == 1:
            return inside[0].id
        if len(inside) > 1:
            self.problems.append(("ambiguous", f"{label} matches {len(inside)} entries"))
        elif candidates:
            self.problems.append(("outside", f"{label} exists only outside database_id"))
        else:
            self.problems.append(("missing", f"{label} is not in the catalog"))
        return None

    def error(self, database_id: str) -> SpecValueError:
        """One error naming every problem, worded after the first problem's kind."""
        first = self.problems[0][0]
        found = (
            f"scope targets outside database_id {database_id!r}"
            if first == "outside"
            else f"{first} scope targets for database_id {database_id!r}"
        )
        details = "; ".join(text for _, text in self.problems[:10])
        more = len(self.problems) - 10
        return SpecValueError(
            f"knowledge catalog projection found {found}: {details}"
            f"{f' (and {more} more)' if more > 0 else ''}; profile the database first with the "
            "same --database-id"
        )


def _document_entry(namespace: str, doc: Mapping[str, Any]) -> CatalogEntry:
    doc_id = str(doc["id"])
    metadata: dict[str, Any] = {
        "sourceDocumentId": doc_id,
        "contentAvailable": isinstance(doc.get("content"), str),
        "contentSource": "kv",
        "extractionStatus": str(doc.get("extractionStatus") or "pending"),
        "extractedKnowledgeIds": _strings(doc.get("extractedKnowledgeIds")),
    }
    if isinstance(doc.get("targetDatabaseId"), str):
        metadata["databaseId"] = doc["targetDatabaseId"]
    return CatalogEntry(
        id=generated_id("document", namespace, doc_id),
        item_type="document",
        name=str(doc.get("name") or doc_id),
        qualified_name=None,
        content="",
        tags=tuple(generated_tags("document")),
        metadata=metadata,
    )


async def _knowledge_entry(
    namespace: str,
    item: Mapping[str, Any],
    document: CatalogEntry | None,
    database_id: str,
    resolver: _ScopeResolver,
) -> CatalogEntry:
    item_id = str(item["id"])
    links: list[CatalogLink] = []
    if document is not None:
        links.append(CatalogLink(document.id, "extracted_from"))
    tables, columns = _strings(item.get("scopeTables")), _strings(item.get("scopeColumns"))
    for kind, refs in (("table", tables), ("column", columns)):
        for ref in refs:
            target = await resolver.resolve(item_id, ref, kind, database_id)
            if target is not None and all(link.target_id != target for link in links):
                links.append(CatalogLink(target, "knowledge_applies_to"))
    knowledge_type = str(item.get("knowledgeType") or "custom")
    metadata: dict[str, Any] = {
        "knowledgeType": knowledge_type,
        "scopeTables": tables,
        "scopeColumns": columns,
        "synonyms": _strings(item.get("synonyms")),
        "sourceKnowledgeId": item_id,
        "databaseId": database_id,
    }
    if isinstance(item.get("sqlExpression"), str):
        metadata["sqlExpression"] = item["sqlExpression"]
    if isinstance(item.get("sourceDocumentId"), str):
        metadata["sourceDocumentId"] = item["sourceDocumentId"]
    return CatalogEntry(
        id=generated_id("knowledge", namespace, item_id),
        item_type="knowledge",
        name=str(item.get("name") or item_id),
        qualified_name=None,
        content=str(item.get("description") or ""),
        tags=tuple(generated_tags("knowledge", knowledge_type=knowledge_type, scope_tables=tables)),
        related=tuple(links),
        metadata=metadata,
    )


async def project_knowledge(
    catalog: CatalogStore, scope: CatalogScope, kv: KeyValueStore, database_id: str
) -> list[CatalogEntry]:
    """Build the catalog entries of every document and knowledge item of the workspace.

    Args:
        catalog: The catalog whose tables and columns scope targets resolve against.
        scope: The workspace.
        kv: The KV store holding the documents and items.
        database_id: The database id of documents that do not record one.

    Returns:
        The entries to upsert (documents first).

    Raises:
        SpecValueError: A scope target is missing, ambiguous, invalid or in another database.
    """
    tenant, namespace = scope.kv_tenant, knowledge_namespace(scope)
    documents: dict[str, CatalogEntry] = {}
    databases: dict[str, str] = {}
    for doc_id in index_ids(await kv.get(tenant, DOCUMENTS_INDEX_KEY)):
        doc = await kv.get(tenant, document_key(doc_id))
        if isinstance(doc, Mapping) and isinstance(doc.get("id"), str):
            documents[doc_id] = _document_entry(namespace, doc)
            databases[doc_id] = str(doc.get("targetDatabaseId") or database_id)
    resolver = _ScopeResolver(catalog, scope)
    knowledge: list[CatalogEntry] = []
    for item_id in index_ids(await kv.get(tenant, KNOWLEDGE_INDEX_KEY)):
        item = await kv.get(tenant, knowledge_key(item_id))
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            continue
        source = str(item.get("sourceDocumentId") or "")
        knowledge.append(
            await _knowledge_entry(
                namespace,
                item,
                documents.get(source),
                databases.get(source, database_id),
                resolver,
            )
        )
    if resolver.problems:
        raise resolver.error(database_id)
    return [*documents.values(), *knowledge]
