"""The catalog toolkit: the seven tool handlers the engine calls, over one data environment.

Each handler is ``async (call, args) -> ToolOutcome``. A tool whose backend is missing answers
with the spec's error naming the section to add ("DataCatalog missing: …", "TargetDatabase
missing: …"). Every failure becomes a tool error the model can read, never an exception; the
messages are scrubbed of connection secrets.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from flowai_harness.data.catalog.search_index import CatalogSearchIndex
from flowai_harness.data.catalog.store import CatalogStore
from flowai_harness.data.environment import DataBackends
from flowai_harness.data.target.database import TargetDatabase
from flowai_harness.data.toolkit.entities import get_catalog_entities, list_schema_fields
from flowai_harness.data.toolkit.inputs import ToolFailure
from flowai_harness.data.toolkit.query import execute_query, sample_table_data
from flowai_harness.data.toolkit.relations import get_catalog_relations, get_relation_paths_between
from flowai_harness.data.toolkit.search import search_catalog
from flowai_harness.engine.context import ToolCall
from flowai_harness.errors import HarnessError
from flowai_harness.ports import KeyValueStore, ToolOutcome, error_outcome

__all__ = ["CATALOG_TOOLS", "CatalogToolkit", "Handler"]

Handler = Callable[[ToolCall, Any], Awaitable[ToolOutcome]]

#: The catalog toolkit's tools, in definition order.
CATALOG_TOOLS = (
    "search_catalog",
    "get_catalog_entities",
    "list_schema_fields",
    "get_catalog_relations",
    "get_relation_paths_between",
    "sample_table_data",
    "execute_query",
)


def _missing_catalog(tool: str) -> ToolFailure:
    return ToolFailure(
        "DataCatalog missing: pass data_environment.catalog (kind inline, empty, sqlite or "
        f"postgres) to use {tool}"
    )


def _missing_target(tool: str) -> ToolFailure:
    return ToolFailure(
        "TargetDatabase missing: pass data_environment.target_database or "
        "data_environment.target_database_url (or create_runtime(target_database_url=...)) "
        f"to use {tool}"
    )


class CatalogToolkit:
    """Serves the catalog tools from one :class:`DataBackends`."""

    def __init__(self, backends: DataBackends) -> None:
        self.backends = backends
        # Pools close when the runtime holding these handlers is collected.
        weakref.finalize(self, backends.close)

    # ----------------------------------------------------------------- backends

    def _catalog(self, tool: str) -> CatalogStore:
        if self.backends.catalog is None:
            raise _missing_catalog(tool)
        return self.backends.catalog

    def _index(self, tool: str) -> CatalogSearchIndex:
        if self.backends.index is None:
            raise ToolFailure(
                f"CatalogSearch missing: pass data_environment.catalog_search.index_path to use "
                f"{tool}"
            )
        return self.backends.index

    def _target(self, tool: str) -> TargetDatabase:
        if self.backends.target is None:
            raise _missing_target(tool)
        return self.backends.target

    def _kv(self, call: ToolCall) -> KeyValueStore | None:
        runtime = getattr(getattr(getattr(call, "scope", None), "run", None), "runtime", None)
        kv = getattr(runtime, "kv", None)
        return kv if kv is not None else self.backends.kv

    async def _answer(
        self, tool: str, work: Callable[[], Awaitable[dict[str, Any]]]
    ) -> ToolOutcome:
        try:
            return ToolOutcome(await work())
        except (ToolFailure, HarnessError) as exc:
            return error_outcome(self.backends.scrub(str(exc)))
        except Exception as exc:  # a defect must not end the run; say what failed
            detail = self.backends.scrub(f"{type(exc).__name__}: {exc}")
            return error_outcome(f"{tool} failed: {detail}")

    # ----------------------------------------------------------------- handlers

    async def search_catalog(self, call: ToolCall, args: Any) -> ToolOutcome:
        """``search_catalog``: lexical search over the scope's index."""

        async def work() -> dict[str, Any]:
            catalog, index = self._catalog("search_catalog"), self._index("search_catalog")
            await self.backends.ensure_started(self._kv(call))
            return await search_catalog(catalog, index, self.backends.scope, args)

        return await self._answer("search_catalog", work)

    async def get_catalog_entities(self, call: ToolCall, args: Any) -> ToolOutcome:
        """``get_catalog_entities``: fetch entities by exact ref."""

        async def work() -> dict[str, Any]:
            catalog = self._catalog("get_catalog_entities")
            return await get_catalog_entities(catalog, self.backends.scope, args, self._kv(call))

        return await self._answer("get_catalog_entities", work)

    async def list_schema_fields(self, call: ToolCall, args: Any) -> ToolOutcome:
        """``list_schema_fields``: the columns of catalog tables."""

        async def work() -> dict[str, Any]:
            catalog = self._catalog("list_schema_fields")
            return await list_schema_fields(catalog, self.backends.scope, args)

        return await self._answer("list_schema_fields", work)

    async def get_catalog_relations(self, call: ToolCall, args: Any) -> ToolOutcome:
        """``get_catalog_relations``: links and joins of entities."""

        async def work() -> dict[str, Any]:
            catalog = self._catalog("get_catalog_relations")
            return await get_catalog_relations(catalog, self.backends.scope, args)

        return await self._answer("get_catalog_relations", work)

    async def get_relation_paths_between(self, call: ToolCall, args: Any) -> ToolOutcome:
        """``get_relation_paths_between``: join or semantic paths between entities."""

        async def work() -> dict[str, Any]:
            catalog = self._catalog("get_relation_paths_between")
            return await get_relation_paths_between(catalog, self.backends.scope, args)

        return await self._answer("get_relation_paths_between", work)

    async def sample_table_data(self, call: ToolCall, args: Any) -> ToolOutcome:
        """``sample_table_data``: a few rows of a catalog table from the target database."""

        async def work() -> dict[str, Any]:
            catalog = self._catalog("sample_table_data")
            target = self._target("sample_table_data")
            return await sample_table_data(catalog, target, self.backends.scope, args)

        return await self._answer("sample_table_data", work)

    async def execute_query(self, call: ToolCall, args: Any) -> ToolOutcome:
        """``execute_query``: one checked, read-only SELECT on the target database."""

        async def work() -> dict[str, Any]:
            return await execute_query(self._target("execute_query"), args)

        return await self._answer("execute_query", work)

    def handlers(self) -> dict[str, Handler]:
        """Every catalog tool's handler, keyed by tool name."""
        return {name: getattr(self, name) for name in CATALOG_TOOLS}
