"""The catalog port and its scope.

A catalog holds entries per scope = (tenant, workspace). Durable backends (``sqlite``,
``postgres``) read and write rows of their scope only; the in-memory ones are read-only and
ignore scope. Lookups by name are exact after trimming and lower-casing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from flowai_harness.data.catalog.entries import CatalogEntry, CatalogLink, normalize_key
from flowai_harness.errors import DataEnvironmentError, SpecValueError
from flowai_harness.specs.data_environment import DEFAULT_WORKSPACE, scope_tenant_key

__all__ = [
    "CatalogScope",
    "CatalogStore",
    "NameField",
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
        """The tenant id under which the KV bodies of this scope are stored."""
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
