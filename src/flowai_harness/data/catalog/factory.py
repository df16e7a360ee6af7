"""Choose the catalog backend of a ``catalog`` descriptor."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowai_harness.data.catalog.memory import MemoryCatalog
from flowai_harness.data.catalog.store import CatalogStore
from flowai_harness.errors import DataEnvironmentError

__all__ = ["open_catalog"]


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
        from flowai_harness.data.catalog.sqlite import SqliteCatalog

        return SqliteCatalog(str(descriptor["url"]))
    if kind == "postgres":
        from flowai_harness.data.catalog.postgres import PostgresCatalog

        return PostgresCatalog(descriptor)
    raise DataEnvironmentError(
        f"data_environment.catalog does not support kind '{kind}'; "
        "expected one of: empty, inline, sqlite, postgres"
    )
