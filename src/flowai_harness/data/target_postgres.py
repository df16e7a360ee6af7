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
from flowai_harness.data.sql_safety import Dialect, prepare_query
from flowai_harness.data.target_db import (
    MAX_SAMPLE_ROWS,
    STATEMENT_TIMEOUT_S,
    QueryResult,
    quoted_table_name,
    rows_to_result,
)
from flowai_harness.errors import DataEnvironmentError, StoreError

__all__ = ["PostgresTargetDatabase"]


class PostgresTargetDatabase:
    """A read-only PostgreSQL target from a ``postgres`` descriptor (wire form)."""

    kind = "postgres"
    dialect: Dialect = "postgres"

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

    async def execute_query(
        self, sql: str, params: Sequence[Any] = (), *, limit: int = 100
    ) -> QueryResult:
        """Check ``sql`` (see :func:`prepare_query`) and run it in a read-only transaction.

        Raises:
            SqlRejectedError: The statement is not one read-only SELECT.
            StoreError: The database refused or failed the statement (or timed out).
            DataEnvironmentError: The server cannot be reached.
        """
        prepared = prepare_query(sql, dialect="postgres", params=params, limit=limit)
        return await asyncio.to_thread(self._run, prepared.sql, prepared.params, prepared.limit)

    async def sample_table(
        self, table: str, columns: Sequence[str] | None, limit: int
    ) -> QueryResult:
        """Return up to ``limit`` rows of ``table``; ``columns`` (if given) are selected.

        Raises:
            SqlRejectedError: The table name breaks the naming rules.
            StoreError: The database failed the statement.
        """
        segments = quoted_table_name(table)
        limit = max(1, min(int(limit), MAX_SAMPLE_ROWS))
        selected = ", ".join(_quote(c) for c in columns) if columns else "*"
        name = ".".join(_quote(s) for s in segments)
        result = await asyncio.to_thread(
            self._run, f"SELECT {selected} FROM {name} LIMIT $1", (limit,), limit
        )
        result.truncated = False
        return result

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


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
