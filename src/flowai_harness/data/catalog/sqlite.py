"""Catalog kind ``sqlite``: a writable catalog in one SQLite file (tables always created)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flowai_harness.data.catalog.sql import SCHEMA_STATEMENTS, SqlCatalog
from flowai_harness.data.connections import ConnectionTarget, sqlite_path
from flowai_harness.errors import DataEnvironmentError, StoreError

__all__ = ["SqliteCatalog", "SqliteConnector"]

T = TypeVar("T")


class SqliteConnector:
    """One SQLite connection shared by worker threads, one unit of work at a time."""

    placeholder = "?"

    def __init__(self, url: str, *, section: str = "catalog") -> None:
        self._path = sqlite_path(url)
        self._target = ConnectionTarget(url=url, redacted=url)
        self._section = section
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        if self._path not in ("", ":memory:") and not self._path.startswith("file:"):
            parent = Path(self._path).expanduser().parent
            if not parent.is_dir():
                raise self._target.error(
                    self._section, "cannot open", f"directory {parent} does not exist"
                )
        try:
            conn = sqlite3.connect(
                self._path, timeout=5.0, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise self._target.error(self._section, "cannot open", exc) from exc
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            if self._path not in ("", ":memory:"):
                conn.execute("PRAGMA journal_mode = WAL")
            for statement in SCHEMA_STATEMENTS:
                conn.execute(statement)
        except sqlite3.Error as exc:
            conn.close()
            raise self._target.error(self._section, "cannot open", exc) from exc
        return conn

    def run(self, work: Callable[[Any], T], write: bool = False) -> T:
        """Run ``work`` in one transaction on the shared connection."""
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                result = work(conn)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(
                    f"data_environment.{self._section} (sqlite {self._target.redacted}) "
                    f"failed: {type(exc).__name__}: {exc}"
                ) from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

    def close(self) -> None:
        """Close the connection; a later call reopens it."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class SqliteCatalog(SqlCatalog):
    """A writable catalog in an SQLite file; ``url`` is ``sqlite:<path>`` or a bare path.

    The tables are always created (``ensure_schema`` has no effect).
    """

    kind = "sqlite"

    def __init__(self, url: str) -> None:
        if not url.strip():
            raise DataEnvironmentError("data_environment.catalog.url must be a non-blank string")
        super().__init__(SqliteConnector(url))
