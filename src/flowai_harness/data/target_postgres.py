"""Target database kind ``postgres``: pooled, every statement in a READ ONLY transaction.

Each statement runs as ``BEGIN; SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = 30s;
SET LOCAL search_path = <schema>, public; <statement>``, through a raw cursor so the query keeps
its native ``$n`` placeholders and goes over the extended protocol, which refuses a second
statement on its own. ``url`` or ``url_env`` names the server; ``schema`` (default ``public``)
is the search path and the default sampling schema.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any

from flowai_harness.data.connections import ConnectionTarget, connection_target
from flowai_harness.data.postgres import PostgresConnector
from flowai_harness.data.sql_safety import Dialect
from flowai_harness.data.target_db import (
    STATEMENT_TIMEOUT_S,
    BlockingTargetDatabase,
    QueryResult,
    rows_to_result,
)
from flowai_harness.errors import DataEnvironmentError, StoreError

__all__ = ["PostgresTargetDatabase"]


class PostgresTargetDatabase(BlockingTargetDatabase):
    """A read-only PostgreSQL target from a ``postgres`` descriptor (wire form)."""

    kind = "postgres"
    dialect: Dialect = "postgres"
    sample_placeholder = "$1"

    def __init__(
        self, descriptor: Mapping[str, Any], *, statement_timeout_s: float = STATEMENT_TIMEOUT_S
    ) -> None:
        self.statement_timeout_s = statement_timeout_s
        self._target = connection_target(descriptor, section="target_database")
        self.default_schema = str(descriptor.get("schema") or "public")
        if not re.fullmatch(r"[A-Za-z0-9_]+", self.default_schema):
            raise DataEnvironmentError(
                "data_environment.target_database.schema must match [A-Za-z0-9_]+; "
                f"got {self.default_schema!r}"
            )
        self._connector = PostgresConnector(self._target, section="target_database")

    def _search_path(self) -> str:
        # the schema was checked against [A-Za-z0-9_]+ by the descriptor model
        schema = self.default_schema
        return "public" if schema == "public" else f'"{schema}", public'

    def _run(self, sql: str, params: Sequence[Any], limit: int) -> QueryResult:
        import psycopg

        try:
            with self._connector.connection() as conn, conn.transaction():
                conn.execute("SET TRANSACTION READ ONLY")
                timeout_ms = max(1, int(self.statement_timeout_s * 1000))
                conn.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
                conn.execute(f"SET LOCAL search_path TO {self._search_path()}")
                cursor = psycopg.RawCursor(conn)
                cursor.execute(sql, list(params))
                names = [column.name for column in cursor.description or ()]
                rows = cursor.fetchmany(limit + 1)
        except psycopg.errors.QueryCanceled as exc:
            raise StoreError(
                f"query exceeded the {self.statement_timeout_s:g} s statement timeout"
            ) from exc
        except psycopg.Error as exc:
            message = self._target.scrub(str(exc).strip().splitlines()[0] if str(exc) else "")
            raise StoreError(f"query failed: {type(exc).__name__}: {message}") from exc
        return rows_to_result(names, rows, limit)

    async def close(self) -> None:
        """Close the connection pool."""
        await asyncio.to_thread(self._connector.close)

    def close_sync(self) -> None:
        """Close the connection pool from synchronous code (finalizers, shutdown)."""
        self._connector.close()

    @property
    def connection_target(self) -> ConnectionTarget:
        """The connection URL (redacted form and secrets), for scrubbing messages."""
        return self._target
