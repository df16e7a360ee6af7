"""The catalog port, its scope, the in-memory backends (``inline``, ``empty``) and ``open_catalog``.

A catalog holds entries (guides.md §3.1) per scope = (tenant, workspace). Durable backends
(``sqlite``, ``postgres``) read and write rows of their scope only; the in-memory ones are
read-only and ignore scope. Lookups by name are exact after trimming and lower-casing.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from flowai_harness.data.entries import CatalogEntry, CatalogLink, normalize_key, parse_entry
from flowai_harness.errors import DataEnvironmentError, SpecValueError
from flowai_harness.specs.data_environment import DEFAULT_WORKSPACE, scope_tenant_key

__all__ = [
    "CatalogScope",
    "CatalogStore",
    "MemoryCatalog",
    "NameField",
    "open_catalog",
    "read_only_error",
    "table_keys",
]

NameField = Literal["name", "qualified_name"]


@dataclass(frozen=True, slots=True)
class CatalogScope:
    """The (tenant, workspace) pair every catalog row, index and KV body belongs to."""

    tenant: str
    workspace: str = DEFAULT_WORKSPACE

    def __post_init__(self) -> None:
        for name in ("tenant", "workspace"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise SpecValueError(f"catalog scope {name} must be a non-blank string")

    @property
    def kv_tenant(self) -> str:
        """The tenant id KV bodies of this scope are stored under (guides.md §1.5)."""
        return scope_tenant_key(self.tenant, self.workspace)


@runtime_checkable
class CatalogStore(Protocol):
    """A catalog backend. Every method is scoped; in-memory backends ignore the scope."""

    #: descriptor kind: ``inline``, ``empty``, ``sqlite`` or ``postgres``
    kind: str
    #: whether writes are accepted (durable backends only)
    writable: bool

    async def get_entries(self, scope: CatalogScope, ids: Sequence[str]) -> dict[str, CatalogEntry]:
        """Return the entries with these ids that exist, keyed by id."""
        ...

    async def find_entries(
        self,
        scope: CatalogScope,
        field: NameField,
        value: str,
        item_types: Sequence[str] | None = None,
    ) -> list[CatalogEntry]:
        """Return entries whose ``name`` or ``qualified_name`` equals ``value`` (trimmed,
        case-insensitive), optionally only of these storage kinds, ordered by id."""
        ...

    async def list_entries(
        self,
        scope: CatalogScope,
        item_types: Sequence[str] | None = None,
        *,
        after_id: str | None = None,
        limit: int | None = None,
    ) -> list[CatalogEntry]:
        """Return entries ordered by id, starting after ``after_id`` (keyset pagination)."""
        ...

    async def find_by_table(
        self,
        scope: CatalogScope,
        table: str,
        schema: str | None = None,
        item_types: Sequence[str] | None = None,
    ) -> list[CatalogEntry]:
        """Return entries whose metadata ``tableName`` (and ``schemaName``, when given) match,
        case-insensitively, ordered by id."""
        ...

    async def incoming_links(
        self, scope: CatalogScope, target_ids: Sequence[str], *, limit: int | None = None
    ) -> list[tuple[str, CatalogLink]]:
        """Return ``(source id, link)`` for links pointing at any of ``target_ids``."""
        ...

    async def count_entries(self, scope: CatalogScope) -> int:
        """Return how many entries the scope holds."""
        ...

    async def upsert_entries(self, scope: CatalogScope, entries: Sequence[CatalogEntry]) -> None:
        """Insert or replace entries (and their links) by id."""
        ...

    async def delete_entries(self, scope: CatalogScope, ids: Sequence[str]) -> int:
        """Delete entries (and their outgoing links) by id; return how many existed."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def table_keys(entry: CatalogEntry) -> tuple[str | None, str | None]:
    """Return the lookup keys of the table an entry belongs to: (``tableName``, ``schemaName``)
    from its metadata, trimmed and lower-cased (``None`` when absent)."""
    keys: list[str | None] = []
    for name in ("tableName", "schemaName"):
        value = entry.metadata.get(name)
        keys.append(normalize_key(value) if isinstance(value, str) and value.strip() else None)
    return keys[0], keys[1]


def read_only_error(kind: str) -> DataEnvironmentError:
    """The error raised when something writes to an ``inline`` or ``empty`` catalog."""
    return DataEnvironmentError(
        "profiling/ingestion requires a durable catalog backend; "
        f"data_environment.catalog kind={kind} is read-only"
    )


class MemoryCatalog:
    """The ``inline`` and ``empty`` catalogs: entries held in memory, read-only, scope ignored."""

    writable = False

    def __init__(self, entries: Iterable[CatalogEntry] = (), *, kind: str = "inline") -> None:
        self.kind = kind
        self._entries: dict[str, CatalogEntry] = {}
        for entry in entries:
            if entry.id in self._entries:
                raise SpecValueError(
                    f"data_environment.catalog.entries has two entries with id {entry.id!r}"
                )
            self._entries[entry.id] = entry
        self._ids: list[str] = sorted(self._entries)
        self._ids_by_type: dict[str, list[str]] = {}
        for entry_id in self._ids:
            self._ids_by_type.setdefault(self._entries[entry_id].item_type, []).append(entry_id)
        self._by_name: dict[tuple[str, str], list[CatalogEntry]] = {}
        self._by_table: dict[str, list[CatalogEntry]] = {}
        self._incoming: dict[str, list[tuple[str, CatalogLink]]] = {}
        for entry in sorted(self._entries.values(), key=lambda e: e.id):
            self._by_name.setdefault(("name", normalize_key(entry.name)), []).append(entry)
            if entry.qualified_name:
                key = ("qualified_name", normalize_key(entry.qualified_name))
                self._by_name.setdefault(key, []).append(entry)
            for link in entry.related:
                self._incoming.setdefault(link.target_id, []).append((entry.id, link))
            table_key, _schema_key = table_keys(entry)
            if table_key is not None:
                self._by_table.setdefault(table_key, []).append(entry)

    @classmethod
    def from_descriptor(cls, descriptor: Mapping[str, Any]) -> MemoryCatalog:
        """Build the catalog of an ``inline`` or ``empty`` descriptor (wire form).

        Raises:
            SpecValueError: An inline entry is malformed or two entries share an id.
            SpecTypeError: An inline entry has a field of the wrong type.
        """
        kind = str(descriptor.get("kind"))
        raw_entries = (descriptor.get("entries") or []) if kind == "inline" else []
        entries = [
            parse_entry(raw, f"data_environment.catalog.entries[{index}]")
            for index, raw in enumerate(raw_entries)
        ]
        return cls(entries, kind=kind)

    async def get_entries(self, scope: CatalogScope, ids: Sequence[str]) -> dict[str, CatalogEntry]:
        return {i: self._entries[i] for i in ids if i in self._entries}

    async def find_entries(
        self,
        scope: CatalogScope,
        field: NameField,
        value: str,
        item_types: Sequence[str] | None = None,
    ) -> list[CatalogEntry]:
        found = self._by_name.get((field, normalize_key(value)), [])
        return [e for e in found if item_types is None or e.item_type in item_types]

    async def list_entries(
        self,
        scope: CatalogScope,
        item_types: Sequence[str] | None = None,
        *,
        after_id: str | None = None,
        limit: int | None = None,
    ) -> list[CatalogEntry]:
        if item_types is None:
            ids = self._ids
        else:
            ids = sorted(i for t in set(item_types) for i in self._ids_by_type.get(t, []))
        start = 0 if after_id is None else bisect.bisect_right(ids, after_id)
        stop = len(ids) if limit is None else min(len(ids), start + limit)
        return [self._entries[entry_id] for entry_id in ids[start:stop]]

    async def find_by_table(
        self,
        scope: CatalogScope,
        table: str,
        schema: str | None = None,
        item_types: Sequence[str] | None = None,
    ) -> list[CatalogEntry]:
        wanted_schema = normalize_key(schema) if schema is not None else None
        return [
            entry
            for entry in self._by_table.get(normalize_key(table), [])
            if (item_types is None or entry.item_type in item_types)
            and (wanted_schema is None or table_keys(entry)[1] == wanted_schema)
        ]

    async def incoming_links(
        self, scope: CatalogScope, target_ids: Sequence[str], *, limit: int | None = None
    ) -> list[tuple[str, CatalogLink]]:
        links = [
            pair for target in dict.fromkeys(target_ids) for pair in self._incoming.get(target, [])
        ]
        return links if limit is None else links[:limit]

    async def count_entries(self, scope: CatalogScope) -> int:
        return len(self._entries)

    async def upsert_entries(self, scope: CatalogScope, entries: Sequence[CatalogEntry]) -> None:
        raise read_only_error(self.kind)

    async def delete_entries(self, scope: CatalogScope, ids: Sequence[str]) -> int:
        raise read_only_error(self.kind)

    async def close(self) -> None:
        return None


def open_catalog(descriptor: Mapping[str, Any]) -> CatalogStore:
    """Return the catalog backend of a ``catalog`` descriptor (camelCase wire form).

    Durable backends connect lazily, on their first call.

    Raises:
        DataEnvironmentError: The kind is unknown or a required setting is missing.
        MissingDependencyError: The ``postgres`` kind needs ``psycopg``.
    """
    kind = descriptor.get("kind")
    if kind in ("inline", "empty"):
        return MemoryCatalog.from_descriptor(descriptor)
    if kind == "sqlite":
        from flowai_harness.data.catalog_sqlite import SqliteCatalog

        return SqliteCatalog(str(descriptor["url"]))
    if kind == "postgres":
        from flowai_harness.data.catalog_postgres import PostgresCatalog

        return PostgresCatalog(descriptor)
    raise DataEnvironmentError(
        f"data_environment.catalog does not support kind '{kind}'; "
        "expected one of: empty, inline, sqlite, postgres"
    )
