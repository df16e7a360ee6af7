"""Knowledge ingestion from a local folder: one document per file, SHA-256
deduplication, optional LLM extraction, and projection into a writable catalog.

:class:`KnowledgeIngestor` yields camelCase events tagged by ``type``:

* ``discovered{total}``;
* ``ingesting{current, total, name}`` per file (``name`` is the path inside the folder);
* ``completed{scanned, new, skippedDuplicate, errors[], skipped[], knowledgeItemsExtracted,
  documentsProjected}`` once the KV writes and the catalog projection both succeeded, or one
  ``error{message}`` otherwise.

``errors`` lists files that could not be ingested (unreadable, too large, outside the folder, or
whose extraction failed) and ``skipped`` binary and non-UTF-8 files, each as ``{path, reason,
error}``; neither stops the run. KV layout (tenant = the workspace tenant id):
``data:document:doc-<sha256>``, ``data:documents:index`` (``{ids}``, newest first),
``data:knowledge:content_hashes`` (sorted list), ``data:knowledge:<itemId>`` and
``data:knowledge:index``. A file whose hash is known is a duplicate unless its stored document
is missing or, with extraction, not ``processed``; then it is processed again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from flowai_harness._clock import utc_millis
from flowai_harness.data.catalog.store import read_only_error
from flowai_harness.data.environment import DataBackends, check_database_id
from flowai_harness.data.knowledge.files import (
    FileProblem,
    KnowledgeFile,
    check_extensions,
    read_text_file,
    scan_folder,
)
from flowai_harness.data.knowledge.projection import (
    DOCUMENTS_INDEX_KEY,
    KNOWLEDGE_HASHES_KEY,
    KNOWLEDGE_INDEX_KEY,
    document_key,
    index_ids,
    knowledge_key,
    project_knowledge,
)
from flowai_harness.errors import HarnessError
from flowai_harness.ports import KeyValueStore

__all__ = ["DocumentExtractor", "IngestRequest", "KnowledgeIngestor"]


class DocumentExtractor(Protocol):
    """Extracts knowledge items from one document (see
    :class:`~flowai_harness.data.knowledge.extraction.KnowledgeExtractor`)."""

    async def extract(self, document_id: str, name: str, content: str) -> list[dict[str, Any]]:
        """Return the document's items (``data:knowledge:<id>`` values); raise a
        :class:`~flowai_harness.errors.HarnessError` when extraction fails."""
        ...


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """What to ingest: a local folder, the database id documents link to, and extensions."""

    local_dir: Path
    database_id: str
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "database_id", check_database_id(self.database_id, "knowledge ingestion")
        )
        object.__setattr__(self, "extensions", check_extensions(self.extensions))


@dataclass(slots=True)
class _Run:
    tenant: str
    hashes: set[str]
    documents: list[str]
    items: list[str]
    new: int = 0
    duplicates: int = 0
    extracted: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def _front(ids: list[str], new_ids: Sequence[str]) -> list[str]:
    return [*new_ids, *(i for i in ids if i not in new_ids)]


class KnowledgeIngestor:
    """Ingests knowledge folders into one workspace's KV store (and catalog, when configured).

    Args:
        backends: The environment's backends; a configured catalog must be writable.
        kv: The KV store of document bodies and knowledge items (``data_environment.kv``).
        extractor: Extracts knowledge items per document (``--extract-knowledge``), or ``None``.
        scrub: Masks secrets in error messages before they become events.

    Raises:
        DataEnvironmentError: The catalog is read-only (``inline`` / ``empty``).
    """

    def __init__(
        self,
        backends: DataBackends,
        kv: KeyValueStore,
        *,
        extractor: DocumentExtractor | None = None,
        scrub: Callable[[str], str] = lambda text: text,
    ) -> None:
        if backends.catalog is not None and not backends.catalog.writable:
            raise read_only_error(backends.catalog.kind)
        self.backends = backends
        self.kv = kv
        self.extractor = extractor
        self.scrub = scrub

    async def run(self, request: IngestRequest) -> AsyncIterator[dict[str, Any]]:
        """Ingest the folder and yield events (see the module doc).

        Raises:
            SpecValueError: The folder does not exist or is not a directory (before any event).
        """
        scan = await asyncio.to_thread(scan_folder, request.local_dir, request.extensions)
        work: list[KnowledgeFile | FileProblem] = [*scan.files, *scan.refused]
        work.sort(key=lambda f: f.relative)
        total = len(work)
        yield {"type": "discovered", "total": total}
        try:
            run = await self._load_state()
            for current, item in enumerate(work, start=1):
                yield {
                    "type": "ingesting",
                    "current": current,
                    "total": total,
                    "name": item.relative,
                }
                if isinstance(item, FileProblem):
                    run.errors.append(item.to_dict())
                    continue
                await self._ingest_file(run, item, scan.root, request.database_id)
            projected = await self._project(request.database_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            text = str(exc) if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"
            yield {"type": "error", "message": self.scrub(text)}
            return
        yield {
            "type": "completed",
            "scanned": total,
            "new": run.new,
            "skippedDuplicate": run.duplicates,
            "errors": run.errors,
            "skipped": run.skipped,
            "knowledgeItemsExtracted": run.extracted,
            "documentsProjected": projected,
        }

    async def _load_state(self) -> _Run:
        tenant = self.backends.scope.kv_tenant
        hashes = await self.kv.get(tenant, KNOWLEDGE_HASHES_KEY)
        return _Run(
            tenant=tenant,
            hashes={h for h in hashes if isinstance(h, str)} if isinstance(hashes, list) else set(),
            documents=index_ids(await self.kv.get(tenant, DOCUMENTS_INDEX_KEY)),
            items=index_ids(await self.kv.get(tenant, KNOWLEDGE_INDEX_KEY)),
        )

    async def _is_duplicate(self, run: _Run, digest: str, doc_id: str) -> bool:
        if digest not in run.hashes:
            return False
        stored = await self.kv.get(run.tenant, document_key(doc_id))
        if not isinstance(stored, dict):
            return False
        return self.extractor is None or stored.get("extractionStatus") == "processed"

    async def _ingest_file(
        self, run: _Run, file: KnowledgeFile, root: Path, database_id: str
    ) -> None:
        read = await asyncio.to_thread(read_text_file, file, root)
        if isinstance(read, FileProblem):
            (run.errors if read.is_error else run.skipped).append(read.to_dict())
            return
        raw, text = read
        digest = hashlib.sha256(raw).hexdigest()
        doc_id = f"doc-{digest}"
        if await self._is_duplicate(run, digest, doc_id):
            run.duplicates += 1
            return
        document: dict[str, Any] = {
            "id": doc_id,
            "name": file.name,
            "content": text,
            "targetDatabaseId": database_id,
            "extractionStatus": "pending" if self.extractor is None else "processing",
            "extractedKnowledgeIds": [],
            "createdAt": utc_millis(),
        }
        await self.kv.put(run.tenant, document_key(doc_id), document)
        if self.extractor is not None:
            stored: list[str] = []
            try:
                for item in await self.extractor.extract(doc_id, file.name, text):
                    await self.kv.put(run.tenant, knowledge_key(item["id"]), item)
                    stored.append(item["id"])
            except HarnessError as exc:
                await self._roll_back(run, doc_id, stored)
                message = self.scrub(str(exc))
                run.errors.append(
                    {"path": file.relative, "reason": "extraction_failed", "error": message}
                )
                return
            ids = list(dict.fromkeys(stored))
            document.update(extractionStatus="processed", extractedKnowledgeIds=ids)
            await self.kv.put(run.tenant, document_key(doc_id), document)
            run.items = _front(run.items, ids)
            run.extracted += len(ids)
            await self.kv.put(run.tenant, KNOWLEDGE_INDEX_KEY, {"ids": run.items})
        run.hashes.add(digest)
        run.documents = _front(run.documents, [doc_id])
        await self.kv.put(run.tenant, DOCUMENTS_INDEX_KEY, {"ids": run.documents})
        await self.kv.put(run.tenant, KNOWLEDGE_HASHES_KEY, sorted(run.hashes))
        run.new += 1

    async def _roll_back(self, run: _Run, doc_id: str, item_ids: Sequence[str]) -> None:
        """Remove what a failed extraction left: the document and any item already stored."""
        for item_id in item_ids:
            await self.kv.delete(run.tenant, knowledge_key(item_id))
        await self.kv.delete(run.tenant, document_key(doc_id))

    async def _project(self, database_id: str) -> int:
        catalog = self.backends.catalog
        if catalog is None:
            return 0
        entries = await project_knowledge(catalog, self.backends.scope, self.kv, database_id)
        if entries:
            await self.backends.write_entries(entries, self.kv)
        return sum(1 for entry in entries if entry.item_type == "document")
