"""Target database kind ``sqlite``: the source file opened read-only for every statement.

Three guards stack up beyond the statement check of :mod:`~flowai_harness.data.sql_safety`:
the file is opened with ``mode=ro``, the connection sets ``PRAGMA query_only``, and an
authorizer allows only reads and functions off the deny-list (no ``ATTACH``, no ``PRAGMA``, no
write of any kind, whatever the statement text). A progress handler interrupts statements
running longer than the 30 s timeout. Each statement gets its own short-lived connection in a
worker thread, so nothing is shared between threads or event loops.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flowai_harness.data.connections import sqlite_path
from flowai_harness.data.sql_safety import Dialect, denied_function, prepare_query
from flowai_harness.data.target_db import (
    MAX_SAMPLE_ROWS,
    STATEMENT_TIMEOUT_S,
    QueryResult,
    quoted_table_name,
    rows_to_result,
)
from flowai_harness.errors import DataEnvironmentError, StoreError

__all__ = ["SqliteTargetDatabase"]

_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})


def _authorize(
    action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
) -> int:
    if action in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        name = arg2 or ""
        return sqlite3.SQLITE_DENY if denied_function(name) else sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


class SqliteTargetDatabase:
    """A read-only SQLite target; ``url`` is ``sqlite:<path>`` or a bare path."""

    kind = "sqlite"
    dialect: Dialect = "sqlite"
    default_schema = "main"

    def __init__(self, url: str, *, statement_timeout_s: float = STATEMENT_TIMEOUT_S) -> None:
        self._url = url
        self.statement_timeout_s = statement_timeout_s
        self._path = sqlite_path(url)
        if not self._path.strip():
            raise DataEnvironmentError("data_environment.target_database.url must name a file")

    def _connect(self) -> sqlite3.Connection:
        path = Path(self._path).expanduser()
        if not path.is_file():
            raise DataEnvironmentError(
                f"data_environment.target_database (sqlite {self._url}): cannot open: "
                f"file {path} does not exist"
            )
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=5.0,
                check_same_thread=False,
            )
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise DataEnvironmentError(
                f"data_environment.target_database (sqlite {self._url}): cannot open: {exc}"
            ) from exc
        conn.set_authorizer(_authorize)
        return conn

    def _run(self, sql: str, params: Sequence[Any], limit: int) -> QueryResult:
        conn = self._connect()
        deadline = time.monotonic() + self.statement_timeout_s
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cursor = conn.execute(sql, tuple(params))
            names = [column[0] for column in cursor.description or ()]
            rows = cursor.fetchmany(limit + 1)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc) and time.monotonic() > deadline:
                raise StoreError(
                    f"query exceeded the {self.statement_timeout_s:g} s statement timeout"
                ) from exc
            raise StoreError(f"query failed: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"query failed: {type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()
        return rows_to_result(names, rows, limit)

    async def execute_query(
        self, sql: str, params: Sequence[Any] = (), *, limit: int = 100
    ) -> QueryResult:
        """Check ``sql`` (see :func:`prepare_query`) and run it read-only.

        Raises:
            SqlRejectedError: The statement is not one read-only SELECT.
            StoreError: The database refused or failed the statement.
            DataEnvironmentError: The file cannot be opened.
        """
        prepared = prepare_query(sql, dialect="sqlite", params=params, limit=limit)
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
        sql = f"SELECT {selected} FROM {name} LIMIT ?"
        result = await asyncio.to_thread(self._run, sql, (limit,), limit)
        result.truncated = False
        return result

    async def close(self) -> None:
        """Nothing to release: connections live for one statement."""
        return None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
