"""The SQL catalog shared by the ``sqlite`` and ``postgres`` backends.

Both store entries in ``catalog_entries`` and their links in ``catalog_relations``, keyed by
``(tenant_id, workspace_id, …)``, so several workspaces can share one database and nothing
crosses scopes. Metadata and tags are kept as JSON text exactly as written (key order
included), so an entry round-trips unchanged; text that no longer decodes makes the entry
*undecodable* instead of failing the whole read.

Drivers are synchronous (``sqlite3``, ``psycopg``); every call runs in a worker thread so the
event loop never blocks, and no connection is bound to one event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from flowai_harness.data.catalog.entries import CatalogEntry, CatalogLink, normalize_key
from flowai_harness.data.catalog.store import CatalogScope, NameField, table_keys

__all__ = ["SCHEMA_STATEMENTS", "Connector", "SqlCatalog"]

T = TypeVar("T")

SCHEMA_STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS catalog_entries (
        tenant_id TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        id TEXT NOT NULL,
        item_type TEXT NOT NULL,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        qualified_name TEXT,
        qualified_key TEXT,
        table_key TEXT,
        schema_key TEXT,
        content TEXT NOT NULL,
        tags TEXT NOT NULL,
        metadata TEXT NOT NULL,
        PRIMARY KEY (tenant_id, workspace_id, id)
    )""",
    """CREATE INDEX IF NOT EXISTS catalog_entries_by_kind
        ON catalog_entries (tenant_id, workspace_id, item_type, id)""",
    """CREATE INDEX IF NOT EXISTS catalog_entries_by_name
        ON catalog_entries (tenant_id, workspace_id, name_key)""",
    """CREATE INDEX IF NOT EXISTS catalog_entries_by_qualified_name
        ON catalog_entries (tenant_id, workspace_id, qualified_key)""",
    """CREATE INDEX IF NOT EXISTS catalog_entries_by_table
        ON catalog_entries (tenant_id, workspace_id, table_key)""",
    """CREATE TABLE IF NOT EXISTS catalog_relations (
        tenant_id TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        source_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        target_id TEXT NOT NULL,
        relation_type TEXT NOT NULL,
        description TEXT,
        PRIMARY KEY (tenant_id, workspace_id, source_id, position)
    )""",
    """CREATE INDEX IF NOT EXISTS catalog_relations_by_target
        ON catalog_relations (tenant_id, workspace_id, target_id)""",
)

_ENTRY_COLUMNS = "id, item_type, name, qualified_name, content, tags, metadata"
_SCOPE = "tenant_id = ? AND workspace_id = ?"
_SELECT_LINKS = (
    f"SELECT source_id, target_id, relation_type, description FROM catalog_relations WHERE {_SCOPE}"
)
_DELETE_LINKS_FROM = f"DELETE FROM catalog_relations WHERE {_SCOPE} AND source_id IN"
_CHUNK = 500


class Connector(Protocol):
    """Runs a unit of work on a DB-API connection inside one transaction (sync, worker thread)."""

    #: the driver's placeholder (``?`` or ``%s``)
    placeholder: str

    def run(self, work: Callable[[Any], T], write: bool = False) -> T:
        """Call ``work(connection)``; commit if it returns, roll back if it raises."""
        ...

    def close(self) -> None:
        """Release the connection(s)."""
        ...


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _kind_filter(item_types: Sequence[str] | None) -> tuple[str, list[str]] | None:
    """Return the condition (and parameters) keeping rows of these kinds; ``None`` when the
    kind list is empty, so that no row can match."""
    if item_types is None:
        return "", []
    if not item_types:
        return None
    return f" AND item_type IN ({_marks(len(item_types))})", list(item_types)


def _decode_entry(row: Sequence[Any], links: Sequence[CatalogLink]) -> CatalogEntry:
    entry_id, item_type, name, qualified, content, tags_text, metadata_text = row
    problem: str | None = None
    try:
        metadata = json.loads(metadata_text)
    except (TypeError, ValueError):
        metadata, problem = {}, "stored metadata is not valid JSON"
    if problem is None and not isinstance(metadata, dict):
        metadata, problem = {}, "stored metadata is not a JSON object"
    try:
        tags = json.loads(tags_text)
    except (TypeError, ValueError):
        tags = []
    if not isinstance(tags, list):
        tags = []
    return CatalogEntry(
        id=entry_id,
        item_type=item_type,
        name=name,
        qualified_name=qualified,
        content=content,
        tags=tuple(t for t in tags if isinstance(t, str)),
        related=tuple(links),
        metadata=metadata,
        metadata_error=problem,
    )


class SqlCatalog:
    """A writable catalog over ``catalog_entries`` / ``catalog_relations`` (see the module doc)."""

    writable = True
    kind: str

    def __init__(self, connector: Connector) -> None:
        self._connector = connector

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self._connector.placeholder)

    async def _call(self, work: Callable[[Any], T], *, write: bool = False) -> T:
        return await asyncio.to_thread(self._connector.run, work, write)

    # ----------------------------------------------------------------- reads

    def _load(
        self, conn: Any, scope: CatalogScope, where: str, params: Sequence[Any]
    ) -> list[CatalogEntry]:
        rows = conn.execute(
            self._sql(f"SELECT {_ENTRY_COLUMNS} FROM catalog_entries WHERE {_SCOPE} AND {where}"),
            (scope.tenant, scope.workspace, *params),
        ).fetchall()
        links: dict[str, list[CatalogLink]] = {}
        ids = [row[0] for row in rows]
        for chunk in _chunks(ids):
            for source, target, relation, description in conn.execute(
                self._sql(
                    f"{_SELECT_LINKS} AND source_id IN ({_marks(len(chunk))}) "
                    "ORDER BY source_id, position"
                ),
                (scope.tenant, scope.workspace, *chunk),
            ).fetchall():
                links.setdefault(source, []).append(CatalogLink(target, relation, description))
        return [_decode_entry(row, links.get(row[0], ())) for row in rows]

    async def _select(
        self, scope: CatalogScope, where: str, params: Sequence[Any]
    ) -> list[CatalogEntry]:
        return await self._call(lambda conn: self._load(conn, scope, where, params))

    async def get_entries(self, scope: CatalogScope, ids: Sequence[str]) -> dict[str, CatalogEntry]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}

        def work(conn: Any) -> dict[str, CatalogEntry]:
            found: dict[str, CatalogEntry] = {}
            for chunk in _chunks(wanted):
                for entry in self._load(conn, scope, f"id IN ({_marks(len(chunk))})", chunk):
                    found[entry.id] = entry
            return found

        return await self._call(work)

    async def find_entries(
        self,
        scope: CatalogScope,
        field: NameField,
        value: str,
        item_types: Sequence[str] | None = None,
    ) -> list[CatalogEntry]:
        column = "name_key" if field == "name" else "qualified_key"
        key = normalize_key(value)
        kinds = _kind_filter(item_types)
        if kinds is None:
            return []
        kind_where, kind_params = kinds
        return await self._select(
            scope, f"{column} = ?{kind_where} ORDER BY id", [key, *kind_params]
        )

    async def list_entries(
        self,
        scope: CatalogScope,
        item_types: Sequence[str] | None = None,
        *,
        after_id: str | None = None,
        limit: int | None = None,
    ) -> list[CatalogEntry]:
        kinds = _kind_filter(item_types)
        if kinds is None:
            return []
        kind_where, params = kinds
        where = f"1 = 1{kind_where}"
        if after_id is not None:
            where += " AND id > ?"
            params.append(after_id)
        where += " ORDER BY id"
        if limit is not None:
            where += f" LIMIT {int(limit)}"
        return await self._select(scope, where, params)

    async def find_by_table(
        self,
        scope: CatalogScope,
        table: str,
        schema: str | None = None,
        item_types: Sequence[str] | None = None,
    ) -> list[CatalogEntry]:
        where, params = "table_key = ?", [normalize_key(table)]
        if schema is not None:
            where += " AND schema_key = ?"
            params.append(normalize_key(schema))
        kinds = _kind_filter(item_types)
        if kinds is None:
            return []
        kind_where, kind_params = kinds
        return await self._select(scope, f"{where}{kind_where} ORDER BY id", params + kind_params)

    async def incoming_links(
        self, scope: CatalogScope, target_ids: Sequence[str], *, limit: int | None = None
    ) -> list[tuple[str, CatalogLink]]:
        wanted = list(dict.fromkeys(target_ids))

        def work(conn: Any) -> list[tuple[str, CatalogLink]]:
            found: list[tuple[str, CatalogLink]] = []
            for chunk in _chunks(wanted):
                tail = "" if limit is None else f" LIMIT {int(limit) - len(found)}"
                rows = conn.execute(
                    self._sql(
                        f"{_SELECT_LINKS} AND target_id IN ({_marks(len(chunk))}) "
                        f"ORDER BY target_id, source_id, position{tail}"
                    ),
                    (scope.tenant, scope.workspace, *chunk),
                ).fetchall()
                found += [(s, CatalogLink(t, r, d)) for s, t, r, d in rows]
                if limit is not None and len(found) >= limit:
                    break
            return found

        return await self._call(work)

    async def count_entries(self, scope: CatalogScope) -> int:
        def work(conn: Any) -> int:
            row = conn.execute(
                self._sql(f"SELECT COUNT(*) FROM catalog_entries WHERE {_SCOPE}"),
                (scope.tenant, scope.workspace),
            ).fetchone()
            return int(row[0])

        return await self._call(work)

    # ----------------------------------------------------------------- writes

    async def upsert_entries(self, scope: CatalogScope, entries: Sequence[CatalogEntry]) -> None:
        batch = list({entry.id: entry for entry in entries}.values())
        if not batch:
            return
        entry_rows = [
            (
                scope.tenant,
                scope.workspace,
                e.id,
                e.item_type,
                e.name,
                normalize_key(e.name),
                e.qualified_name,
                normalize_key(e.qualified_name) if e.qualified_name else None,
                *table_keys(e),
                e.content,
                json.dumps(list(e.tags), ensure_ascii=False),
                json.dumps(dict(e.metadata), ensure_ascii=False),
            )
            for e in batch
        ]
        link_rows = [
            (
                scope.tenant,
                scope.workspace,
                e.id,
                position,
                link.target_id,
                link.relation_type,
                link.description,
            )
            for e in batch
            for position, link in enumerate(e.related)
        ]
        upsert = self._sql(
            "INSERT INTO catalog_entries (tenant_id, workspace_id, id, item_type, name, name_key, "
            "qualified_name, qualified_key, table_key, schema_key, content, tags, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant_id, workspace_id, id) DO UPDATE SET "
            "item_type = excluded.item_type, name = excluded.name, name_key = excluded.name_key, "
            "qualified_name = excluded.qualified_name, qualified_key = excluded.qualified_key, "
            "table_key = excluded.table_key, schema_key = excluded.schema_key, "
            "content = excluded.content, tags = excluded.tags, metadata = excluded.metadata"
        )
        insert_link = self._sql(
            "INSERT INTO catalog_relations (tenant_id, workspace_id, source_id, position, "
            "target_id, relation_type, description) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )

        def work(conn: Any) -> None:
            cursor = conn.cursor()
            cursor.executemany(upsert, entry_rows)
            ids = [e.id for e in batch]
            for chunk in _chunks(ids):
                cursor.execute(
                    self._sql(f"{_DELETE_LINKS_FROM} ({_marks(len(chunk))})"),
                    (scope.tenant, scope.workspace, *chunk),
                )
            if link_rows:
                cursor.executemany(insert_link, link_rows)

        await self._call(work, write=True)

    async def delete_entries(self, scope: CatalogScope, ids: Sequence[str]) -> int:
        wanted = list(dict.fromkeys(ids))

        def work(conn: Any) -> int:
            deleted = 0
            for chunk in _chunks(wanted):
                marks = _marks(len(chunk))
                params = (scope.tenant, scope.workspace, *chunk)
                conn.execute(self._sql(f"{_DELETE_LINKS_FROM} ({marks})"), params)
                cursor = conn.execute(
                    self._sql(f"DELETE FROM catalog_entries WHERE {_SCOPE} AND id IN ({marks})"),
                    params,
                )
                deleted += max(cursor.rowcount, 0)
            return deleted

        return await self._call(work, write=True) if wanted else 0

    async def close(self) -> None:
        await asyncio.to_thread(self._connector.close)

    def close_sync(self) -> None:
        """Close connections from synchronous code (finalizers, shutdown)."""
        self._connector.close()
