"""The backends of one data environment, bound to one scope.

:class:`DataBackends` reads the camelCase wire dict of a data environment and holds the catalog,
the scope's search index and the target database. Everything cheap and checkable happens at
construction (inline entries are parsed, descriptors are checked, ``url_env`` is read), so a
broken environment fails ``create_runtime``; connections open on first use. ``rebuild_on_start``
rebuilds the scope index once, before the first catalog tool call (``create_runtime`` is
synchronous and KV bodies are only reachable asynchronously). Catalog writes made through this
object keep the index in step (write-through, or a stale marker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from flowai_harness.data.catalog.entries import CatalogEntry
from flowai_harness.data.catalog.factory import open_catalog
from flowai_harness.data.catalog.indexing import (
    RebuildReport,
    rebuild_index,
    sync_index_after_write,
)
from flowai_harness.data.catalog.search_index import CatalogSearchIndex, IndexStatus
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.data.target.database import TargetDatabase
from flowai_harness.data.target.factory import open_target_database
from flowai_harness.errors import DataEnvironmentError, SpecValueError
from flowai_harness.ports import KeyValueStore
from flowai_harness.specs.data_environment import DEFAULT_WORKSPACE

__all__ = ["DataBackends", "check_database_id"]


def check_database_id(database_id: str, activity: str) -> str:
    """Return the trimmed id of the database that profiling or ingestion links entries to.

    Args:
        database_id: The id to check.
        activity: What needs it, for the message (``catalog profiling``).

    Raises:
        SpecValueError: It is blank (``"<activity> database_id must not be blank"``).
    """
    if not isinstance(database_id, str) or not database_id.strip():
        raise SpecValueError(f"{activity} database_id must not be blank")
    return database_id.strip()


class DataBackends:
    """Catalog, search index and target database of a data environment, for one scope.

    Args:
        env: The data environment wire dict (``normalize_data_environment`` output) or ``None``.
        tenant: The scope tenant (the runtime tenant).
        workspace: The scope workspace; defaults to the environment's ``workspaceId`` or
            ``default``.
        kv: The KV store holding document and knowledge bodies, when known up front.

    Raises:
        DataEnvironmentError: ``rebuild_on_start`` without a catalog, an unusable descriptor,
            or an unset ``url_env`` variable.
        SpecValueError: An inline catalog entry is malformed.
    """

    def __init__(
        self,
        env: Mapping[str, Any] | None,
        tenant: str,
        *,
        workspace: str | None = None,
        kv: KeyValueStore | None = None,
    ) -> None:
        env = env or {}
        self.scope = CatalogScope(tenant, workspace or env.get("workspaceId") or DEFAULT_WORKSPACE)
        self.kv = kv
        descriptor = env.get("catalog")
        self.catalog: CatalogStore | None = open_catalog(descriptor) if descriptor else None
        search = env.get("catalogSearch") or {}
        self.index: CatalogSearchIndex | None = (
            CatalogSearchIndex(str(search["indexPath"]), self.scope) if search else None
        )
        self.rebuild_on_start = bool(search.get("rebuildOnStart", False))
        self.write_through = bool(search.get("writeThrough", False))
        if self.rebuild_on_start and self.catalog is None:
            raise DataEnvironmentError(
                "data_environment.catalog_search.rebuild_on_start requires data_environment.catalog"
            )
        self.target: TargetDatabase | None = open_target_database(env)
        self._started = not self.rebuild_on_start
        self._start_lock = asyncio.Lock()
        self.start_report: RebuildReport | None = None

    async def ensure_started(self, kv: KeyValueStore | None = None) -> None:
        """Run ``rebuild_on_start`` once (later calls return at once); retried if it failed.

        Raises:
            StoreError: The rebuild failed.
        """
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            self.start_report = await self.rebuild_index(kv)
            self._started = True

    async def rebuild_index(self, kv: KeyValueStore | None = None) -> RebuildReport:
        """Rebuild the scope's search index from the catalog.

        Raises:
            DataEnvironmentError: There is no catalog or no ``catalog_search``.
            StoreError: The catalog or the index failed.
        """
        catalog, index = self._catalog_and_index("rebuilding the catalog search index")
        return await rebuild_index(catalog, index, self.scope, kv or self.kv)

    async def index_status(self) -> IndexStatus:
        """Return the health of the scope's search index.

        Raises:
            DataEnvironmentError: There is no ``catalog_search``.
        """
        if self.index is None:
            raise DataEnvironmentError(
                "catalog search is not configured: add data_environment.catalog_search.index_path"
            )
        return await asyncio.to_thread(self.index.status)

    def _catalog_and_index(self, what: str) -> tuple[CatalogStore, CatalogSearchIndex]:
        if self.catalog is None:
            raise DataEnvironmentError(f"{what} requires data_environment.catalog")
        if self.index is None:
            raise DataEnvironmentError(
                f"{what} requires data_environment.catalog_search.index_path"
            )
        return self.catalog, self.index

    def _writable_catalog(self) -> CatalogStore:
        if self.catalog is None:
            raise DataEnvironmentError(
                "profiling/ingestion requires a durable catalog backend; "
                "data_environment.catalog is not configured"
            )
        return self.catalog

    async def write_entries(
        self, entries: Sequence[CatalogEntry], kv: KeyValueStore | None = None
    ) -> list[str]:
        """Upsert entries into the catalog, then sync the index; return index warnings.

        Raises:
            DataEnvironmentError: The catalog is missing or read-only (``inline``/``empty``).
            StoreError: The catalog write failed (the index is left untouched).
        """
        catalog = self._writable_catalog()
        await catalog.upsert_entries(self.scope, entries)
        if self.index is None:
            return []
        return await sync_index_after_write(
            self.index,
            self.scope,
            write_through=self.write_through,
            upserted=entries,
            kv=kv or self.kv,
        )

    async def delete_entries(
        self, ids: Sequence[str], kv: KeyValueStore | None = None
    ) -> tuple[int, list[str]]:
        """Delete entries from the catalog, then sync the index; return (deleted, warnings).

        Raises:
            DataEnvironmentError: The catalog is missing or read-only.
            StoreError: The catalog delete failed.
        """
        catalog = self._writable_catalog()
        deleted = await catalog.delete_entries(self.scope, ids)
        if self.index is None:
            return deleted, []
        warnings = await sync_index_after_write(
            self.index,
            self.scope,
            write_through=self.write_through,
            deleted=ids,
            kv=kv or self.kv,
        )
        return deleted, warnings

    def verify_target(self) -> None:
        """Open the target database now and check its connection role (``create_runtime``).

        Raises:
            PrivilegedTargetRoleError: The PostgreSQL role could write or is privileged and
                ``allow_privileged`` is unset.
            DataEnvironmentError: The target cannot be reached.
        """
        verify = getattr(self.target, "verify", None)
        if verify is not None:
            verify()

    def scrub(self, text: str) -> str:
        """Mask the connection secrets of every backend in ``text``."""
        for backend in (self.catalog, self.target):
            target = getattr(backend, "connection_target", None)
            if target is not None:
                text = target.scrub(text)
        return text

    def close(self) -> None:
        """Close connections from synchronous code (used by finalizers)."""
        for backend in (self.catalog, self.target):
            closer = getattr(backend, "close_sync", None)
            if closer is not None:
                closer()

    async def aclose(self) -> None:
        """Close the catalog and target database connections."""
        if self.catalog is not None:
            await self.catalog.close()
        if self.target is not None:
            await self.target.close()
