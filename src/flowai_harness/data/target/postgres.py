"""Target database kind ``postgres``: pooled, every statement in a READ ONLY transaction.

Each statement runs as ``BEGIN; SET TRANSACTION READ ONLY; SET LOCAL statement_timeout;
SET LOCAL idle_in_transaction_session_timeout; SET LOCAL search_path = <schema>, public;
DECLARE … CURSOR FOR <statement>``, then fetches in batches until the row limit or the byte cap
is reached, and always ends with ``ROLLBACK``. The query keeps its native ``$n`` placeholders and
goes over the extended protocol, which refuses a second statement on its own. Values whose text
is longer than 64 KiB are cut by the database (see
:func:`~flowai_harness.data.target.sql_safety.guard_wide_values`), so a huge value never crosses the
wire whole.

A connection goes back to the pool through ``DISCARD ALL``: no setting, role, advisory lock,
prepared statement or temporary table of one call survives into the next. ``pool_size`` bounds
the concurrent statements and ``pool_timeout_secs`` the wait for a free connection, after which
the call fails with :class:`~flowai_harness.errors.TargetDatabaseBusyError`.

``url`` or ``url_env`` names the server; ``schema`` (default ``public``) is the search path and
the default sampling schema. :meth:`PostgresTargetDatabase.verify` (run by ``create_runtime``)
refuses a connection role that could write or is privileged, unless ``allow_privileged`` is set.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from flowai_harness.data.connections import ConnectionTarget, connection_target
from flowai_harness.data.postgres_pool import PostgresConnector
from flowai_harness.data.target.database import STATEMENT_TIMEOUT_S, BlockingTargetDatabase
from flowai_harness.data.target.postgres_role import inspect_role, privileged_role_error
from flowai_harness.data.target.results import (
    MAX_VALUE_BYTES,
    CutText,
    QueryResult,
    ResultCollector,
)
from flowai_harness.data.target.sql_safety import Dialect, guard_wide_values
from flowai_harness.errors import DataEnvironmentError, StoreError, TargetDatabaseBusyError
from flowai_harness.specs.data_environment import TARGET_POOL_SIZE, TARGET_POOL_TIMEOUT_SECS

__all__ = ["PostgresTargetDatabase"]

logger = logging.getLogger("flowai_harness.data")

# Types whose text form has a small fixed bound: their values are never cut.
_NARROW_TYPES = frozenset(
    {16, 18, 19, 20, 21, 23, 24, 26, 28, 29, 700, 701, 790, 1082, 1083, 1114, 1184, 1186, 1266}
    | {2202, 2203, 2204, 2205, 2206, 2950, 3734, 3769, 4089, 4096, 650, 774, 829, 869}
)


def _discard_session(conn: Any) -> None:
    """Pool reset: drop every trace a statement may have left on the session."""
    conn.autocommit = True
    conn.execute("DISCARD ALL")


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
        self._read_settings(descriptor)
        self.allow_privileged = bool(descriptor.get("allowPrivileged", False))
        self.pool_size = int(descriptor.get("poolSize") or TARGET_POOL_SIZE)
        self.pool_timeout_s = float(descriptor.get("poolTimeoutSecs") or TARGET_POOL_TIMEOUT_SECS)
        self._connector = PostgresConnector(
            self._target,
            section="target_database",
            max_size=self.pool_size,
            reset=_discard_session,
            autocommit=True,
            pool_timeout_s=self.pool_timeout_s,
        )

    def _search_path(self) -> str:
        # the schema was checked against [A-Za-z0-9_]+ by the descriptor model
        schema = self.default_schema
        return "public" if schema == "public" else f'"{schema}", public'

    def _begin(self, conn: Any) -> None:
        timeout_ms = max(1, int(self.statement_timeout_s * 1000))
        conn.execute(
            "SET TRANSACTION READ ONLY; "
            f"SET LOCAL statement_timeout = {timeout_ms}; "
            f"SET LOCAL idle_in_transaction_session_timeout = {max(timeout_ms, 5000)}; "
            f"SET LOCAL search_path TO {self._search_path()}"
        )

    def _run(self, sql: str, params: Sequence[Any], limit: int) -> QueryResult:
        import psycopg
        from psycopg_pool import PoolTimeout

        deadline = time.monotonic() + self.statement_timeout_s
        try:
            with self._connector.connection() as conn, conn.transaction(force_rollback=True):
                self._begin(conn)
                return self._fetch(conn, sql, list(params), limit, deadline)
        except PoolTimeout as exc:
            raise TargetDatabaseBusyError(
                f"target database busy: all {self.pool_size} connections in use for "
                f"{self.pool_timeout_s:g} s; raise data_environment.target_database.pool_size "
                "or retry later"
            ) from exc
        except psycopg.errors.QueryCanceled as exc:
            raise StoreError(
                f"query exceeded the {self.statement_timeout_s:g} s statement timeout"
            ) from exc
        except psycopg.Error as exc:
            message = self._target.scrub(str(exc).strip().splitlines()[0] if str(exc) else "")
            raise StoreError(f"query failed: {type(exc).__name__}: {message}") from exc

    def _fetch(
        self, conn: Any, sql: str, params: list[Any], limit: int, deadline: float
    ) -> QueryResult:
        import psycopg

        with psycopg.RawServerCursor(conn, "agent_fw_probe") as probe:
            probe.execute(sql, params)
            columns = list(probe.description or ())
            wide = [column.type_code not in _NARROW_TYPES for column in columns]
            if not any(wide):
                return self._drain(conn, probe, [c.name for c in columns], wide, limit, deadline)
        guarded = guard_wide_values(sql, wide, MAX_VALUE_BYTES)
        with psycopg.RawServerCursor(conn, "agent_fw_rows") as cursor:
            cursor.execute(guarded, params)
            return self._drain(conn, cursor, [c.name for c in columns], wide, limit, deadline)

    def _drain(
        self,
        conn: Any,
        cursor: Any,
        names: list[str],
        wide: list[bool],
        limit: int,
        deadline: float,
    ) -> QueryResult:
        """Fetch batches until the row limit or the byte cap; each batch gets the time left."""
        import psycopg

        collector = ResultCollector(names, limit, self.max_result_bytes)
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                raise psycopg.errors.QueryCanceled("statement timeout")
            conn.execute(f"SET LOCAL statement_timeout = {remaining_ms}")
            rows = cursor.fetchmany(collector.batch_size())
            if not rows or not all(collector.add(_unguarded(row, wide)) for row in rows):
                return collector.result()

    def verify(self) -> None:
        """Open the pool and check the connection role (``create_runtime`` calls this).

        A role that is a superuser, can write to the schemas it reads (the configured schema and
        ``public``), or holds privileged roles is refused, unless the descriptor sets
        ``allow_privileged`` (then a warning is logged).

        Raises:
            PrivilegedTargetRoleError: The role is privileged and ``allow_privileged`` is unset.
            DataEnvironmentError: The server cannot be reached.
            StoreError: The role could not be inspected.
        """
        import psycopg

        schemas = list(dict.fromkeys([self.default_schema, "public"]))
        try:
            with self._connector.connection() as conn, conn.transaction(force_rollback=True):
                self._begin(conn)
                report = inspect_role(conn, schemas)
        except psycopg.Error as exc:
            raise StoreError(
                f"data_environment.target_database ({self._target.redacted}): cannot inspect "
                f"the connection role: {type(exc).__name__}: {self._target.scrub(str(exc))}"
            ) from exc
        if not report.problems:
            return
        if not self.allow_privileged:
            raise privileged_role_error(report, self._target.redacted)
        logger.warning(
            "target database role %r is privileged (%s); accepted because "
            "data_environment.target_database.allow_privileged is set",
            report.role,
            "; ".join(report.problems),
        )

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


def _unguarded(row: Sequence[Any], wide: Sequence[bool]) -> list[Any]:
    """Fold the guard's extra ``…__agent_fw_cut`` columns back into their columns."""
    if not any(wide):
        return list(row)
    out: list[Any] = []
    position = 0
    for is_wide in wide:
        value = row[position]
        position += 1
        if is_wide:
            cut = row[position]
            position += 1
            if cut is not None:
                value = CutText(str(cut))
        out.append(value)
    return out
