"""Target database kind ``sqlite``: the source file opened read-only for every statement.

Three guards stack up beyond the statement check of :mod:`~flowai_harness.data.target.sql_safety`:
the file is opened with ``mode=ro``, the connection sets ``PRAGMA query_only``, and an
authorizer allows only reads and the functions of the allow-list (no ``ATTACH``, no ``PRAGMA``,
no write of any kind, no unlisted function, whatever the statement text). A progress handler
interrupts statements running longer than the 30 s timeout, and no string or blob may grow past
16 MiB. Rows are read one at a time until the row limit or the byte cap is reached. Each
statement gets its own short-lived connection in a worker thread, so nothing is shared between
threads or event loops.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flowai_harness.data.connections import sqlite_path
from flowai_harness.data.target.database import STATEMENT_TIMEOUT_S, BlockingTargetDatabase
from flowai_harness.data.target.results import QueryResult, ResultCollector
from flowai_harness.data.target.sql_functions import is_function_allowed
from flowai_harness.data.target.sql_safety import Dialect
from flowai_harness.errors import DataEnvironmentError, StoreError

__all__ = ["MAX_SQLITE_VALUE_BYTES", "SqliteTargetDatabase"]

#: No string or blob of a statement may grow past this (SQLite's length limit).
MAX_SQLITE_VALUE_BYTES = 16 * 1_048_576

_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})


class SqliteTargetDatabase(BlockingTargetDatabase):
    """A read-only SQLite target; ``url`` is ``sqlite:<path>`` or a bare path.

    ``descriptor`` (wire form) may carry ``allowedFunctions`` and ``maxResultBytes``.
    """

    kind = "sqlite"
    dialect: Dialect = "sqlite"
    sample_placeholder = "?"
    default_schema = "main"

    def __init__(
        self,
        url: str,
        *,
        statement_timeout_s: float = STATEMENT_TIMEOUT_S,
        descriptor: Mapping[str, Any] | None = None,
    ) -> None:
        self._url = url
        self.statement_timeout_s = statement_timeout_s
        self._path = sqlite_path(url)
        if not self._path.strip():
            raise DataEnvironmentError("data_environment.target_database.url must name a file")
        self._read_settings(descriptor or {})

    def _authorize(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
    ) -> int:
        if action in _ALLOWED_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and is_function_allowed(
            arg2 or "", "sqlite", self.allowed_functions
        ):
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    def _connect(self) -> sqlite3.Connection:
        path = Path(self._path).expanduser()
        if not path.is_file():
            raise DataEnvironmentError(
                f"data_environment.target_database (sqlite {self._url}): cannot open: "
                f"file {path} does not exist"
            )
        conn: sqlite3.Connection | None = None
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
            if conn is not None:
                conn.close()
            raise DataEnvironmentError(
                f"data_environment.target_database (sqlite {self._url}): cannot open: {exc}"
            ) from exc
        conn.set_authorizer(self._authorize)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_SQLITE_VALUE_BYTES)
        return conn

    def _run(self, sql: str, params: Sequence[Any], limit: int) -> QueryResult:
        conn = self._connect()
        deadline = time.monotonic() + self.statement_timeout_s
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cursor = conn.execute(sql, tuple(params))
            collector = ResultCollector(
                [column[0] for column in cursor.description or ()], limit, self.max_result_bytes
            )
            for row in cursor:
                if not collector.add(row):
                    break
        except sqlite3.DataError as exc:
            raise StoreError(
                f"query failed: a value is larger than {MAX_SQLITE_VALUE_BYTES} bytes ({exc}); "
                "select a shorter expression, for example substr(column, 1, 1000)"
            ) from exc
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
        return collector.result()

    async def close(self) -> None:
        """Nothing to release: connections live for one statement."""
        return None
