"""Keeping the search index in step with the catalog: rebuilds and write-through.

A rebuild reads every searchable entry of the scope (up to 100 000 per kind), skips entries
whose metadata cannot be decoded (counted, with a warning), pulls document bodies from KV when
the entry says it has one, and swaps in a fresh index. After a runtime-owned catalog write the
index is updated in place when ``write_through`` is on, and marked stale otherwise; a failed
update marks it stale too, and the catalog write is kept either way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.data.catalog.entries import SEARCHABLE_STORAGE_KINDS, CatalogEntry
from flowai_harness.data.catalog.metadata import metadata_problem, text_of
from flowai_harness.data.catalog.projection import EntryProjection, project_entry
from flowai_harness.data.catalog.search_index import CatalogSearchIndex, IndexStatus
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.ports import KeyValueStore

__all__ = [
    "MAX_ENTRIES_PER_KIND",
    "STALE_AFTER_WRITE",
    "RebuildReport",
    "document_body_key",
    "rebuild_index",
    "sync_index_after_write",
]

#: A rebuild indexes at most this many entries of each kind.
MAX_ENTRIES_PER_KIND = 100_000
#: The reason written to the stale marker after a write with write-through off.
STALE_AFTER_WRITE = "rebuild required after catalog write"
_PAGE = 2_000


@dataclass(slots=True)
class RebuildReport:
    """What a rebuild did: entries indexed and skipped, warnings, and the resulting health."""

    indexed: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)
    status: IndexStatus | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"indexed", "skipped", "warnings", "health"}``."""
        return {
            "indexed": self.indexed,
            "skipped": self.skipped,
            "warnings": list(self.warnings),
            "health": self.status.health if self.status else None,
        }


def document_body_key(entry: CatalogEntry) -> str | None:
    """The KV key of a document entry's body (``data:document:<sourceDocumentId>``)."""
    source = text_of(entry.metadata, "sourceDocumentId")
    return f"data:document:{source}" if source else None


async def _document_body(
    entry: CatalogEntry, scope: CatalogScope, kv: KeyValueStore | None, warnings: list[str]
) -> str | None:
    if entry.item_type != "document" or entry.metadata.get("contentAvailable") is not True:
        return None
    key = document_body_key(entry)
    value = await kv.get(scope.kv_tenant, key) if kv is not None and key else None
    body = value.get("content") if isinstance(value, dict) else None
    if not isinstance(body, str):
        where = "no kv store is configured" if kv is None else f"{key} is missing in kv"
        warnings.append(f"document {entry.id} indexed without its body: {where}")
        return None
    return body


async def _projections(
    entries: Sequence[CatalogEntry],
    scope: CatalogScope,
    kv: KeyValueStore | None,
    report: RebuildReport,
) -> list[tuple[CatalogEntry, EntryProjection]]:
    out: list[tuple[CatalogEntry, EntryProjection]] = []
    skipped: list[str] = []
    for entry in entries:
        if entry.is_special:
            continue
        problem = metadata_problem(entry)
        if problem is not None:
            skipped.append(f"{entry.id} ({problem})")
            continue
        body = await _document_body(entry, scope, kv, report.warnings)
        out.append((entry, project_entry(entry, body)))
    if skipped:
        report.skipped += len(skipped)
        examples = "; ".join(skipped[:3])
        report.warnings.append(
            f"skipped {len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'} with undecodable "
            f"metadata: {examples}{' …' if len(skipped) > 3 else ''}"
        )
    return out


async def rebuild_index(
    catalog: CatalogStore,
    index: CatalogSearchIndex,
    scope: CatalogScope,
    kv: KeyValueStore | None = None,
    *,
    max_per_kind: int = MAX_ENTRIES_PER_KIND,
) -> RebuildReport:
    """Rebuild ``index`` from every searchable entry of ``scope`` in ``catalog``.

    Raises:
        StoreError: The catalog or the index failed.
    """
    report = RebuildReport()
    documents: list[tuple[CatalogEntry, EntryProjection]] = []
    for item_type in SEARCHABLE_STORAGE_KINDS:
        entries: list[CatalogEntry] = []
        after: str | None = None
        while len(entries) <= max_per_kind:
            room = max_per_kind + 1 - len(entries)
            page = await catalog.list_entries(
                scope, [item_type], after_id=after, limit=min(_PAGE, room)
            )
            entries += page
            if len(page) < _PAGE or not page:
                break
            after = page[-1].id
        if len(entries) > max_per_kind:
            entries = entries[:max_per_kind]
            report.warnings.append(
                f"catalog kind {item_type} has more than {max_per_kind} entries; only the first "
                f"{max_per_kind} (by id) were indexed"
            )
        documents += await _projections(entries, scope, kv, report)
    report.indexed = await asyncio.to_thread(index.rebuild, documents)
    report.status = await asyncio.to_thread(index.status)
    return report


async def sync_index_after_write(
    index: CatalogSearchIndex,
    scope: CatalogScope,
    *,
    write_through: bool,
    upserted: Sequence[CatalogEntry] = (),
    deleted: Sequence[str] = (),
    kv: KeyValueStore | None = None,
) -> list[str]:
    """Bring the index in line after a catalog write; return warnings (never raises).

    With ``write_through`` the written entries are re-projected (undecodable ones removed) and
    applied to a ``ready`` index; any failure marks the index stale. Without it the index is
    marked stale ("rebuild required after catalog write").
    """
    if not write_through:
        await asyncio.to_thread(index.mark_stale, STALE_AFTER_WRITE)
        return []
    report = RebuildReport()
    try:
        projected = await _projections(upserted, scope, kv, report)
        kept = {entry.id for entry, _ in projected}
        removed = [*deleted, *(e.id for e in upserted if e.id not in kept)]
        await asyncio.to_thread(index.apply, projected, removed)
    except Exception as exc:
        reason = f"write-through failed: {type(exc).__name__}: {exc}"
        await asyncio.to_thread(index.mark_stale, reason)
        return [*report.warnings, f"catalog search index marked stale ({reason})"]
    return report.warnings
