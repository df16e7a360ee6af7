"""Catalog kind ``postgres``: a writable catalog in PostgreSQL.

The tables ``catalog_entries`` and ``catalog_relations`` live in the connection's
``search_path``; they are created only when ``ensure_schema`` is set, otherwise opening checks
that they exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowai_harness.data.catalog.sql import SCHEMA_STATEMENTS, SqlCatalog
from flowai_harness.data.connections import connection_target
from flowai_harness.data.postgres_pool import PostgresConnector

__all__ = ["PostgresCatalog"]

_TABLES = ("catalog_entries", "catalog_relations")


class PostgresCatalog(SqlCatalog):
    """A writable catalog in PostgreSQL, from a ``postgres`` descriptor (wire form)."""

    kind = "postgres"

    def __init__(self, descriptor: Mapping[str, Any]) -> None:
        target = connection_target(descriptor, section="catalog")
        self._ensure_schema = bool(descriptor.get("ensureSchema", False))
        self._connector = PostgresConnector(target, section="catalog", on_open=self._prepare)
        #: the connection URL (redacted form and secrets), for scrubbing messages
        self.connection_target = target
        super().__init__(self._connector)

    def _prepare(self, conn: Any) -> None:
        with conn.transaction():
            if self._ensure_schema:
                # Concurrent first opens would race on CREATE TABLE IF NOT EXISTS.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('flowai_catalog_schema'))")
                for statement in SCHEMA_STATEMENTS:
                    conn.execute(statement)
                return
            for table in _TABLES:
                row = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
                if row is None or row[0] is None:
                    raise self.connection_target.error(
                        "catalog",
                        "not ready",
                        f"table {table} does not exist; create it or set "
                        "data_environment.catalog.ensure_schema = true",
                    )
