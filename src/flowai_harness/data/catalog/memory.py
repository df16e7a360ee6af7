"""The ``inline`` and ``empty`` catalogs: entries held in memory, read-only, scope ignored."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flowai_harness.data.catalog.entries import (
    CatalogEntry,
    CatalogLink,
    normalize_key,
    parse_entry,
)
from flowai_harness.data.catalog.store import CatalogScope, NameField, read_only_error, table_keys
from flowai_harness.errors import SpecValueError

__all__ = ["MemoryCatalog"]


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
