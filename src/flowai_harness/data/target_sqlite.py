"""Target database kind ``sqlite``: the source file opened read-only for every statement.

Three guards stack up beyond the statement check of :mod:`~flowai_harness.data.sql_safety`:
the file is opened with ``mode=ro``, the connection sets ``PRAGMA query_only``, and an
authorizer allows only reads and functions off the deny-list (no ``ATTACH``, no ``PRAGMA``, no
write of any kind, whatever the statement text). A progress handler interrupts statements
running longer than the 30 s timeout. Each statement gets its own short-lived connection in a
worker thread, so nothing is shared between threads or event loops.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flowai_harness.data.connections import sqlite_path
from flowai_harness.data.sql_safety import Dialect, denied_function
from flowai_harness.data.target_db import (
    STATEMENT_TIMEOUT_S,
    BlockingTargetDatabase,
    QueryResult,
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


class SqliteTargetDatabase(BlockingTargetDatabase):
    """A read-only SQLite target; ``url`` is ``sqlite:<path>`` or a bare path."""

    kind = "sqlite"
    dialect: Dialect = "sqlite"
    sample_placeholder = "?"
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

    async def close(self) -> None:
        """Nothing to release: connections live for one statement."""
        return None
