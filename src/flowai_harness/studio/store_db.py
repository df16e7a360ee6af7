"""The Studio database: one SQLite connection, its schema, and the migrations of older files.

Every row of every table is keyed by ``(app_id, workspace_key)`` first. The schema is created
idempotently when a file opens; files written by older versions are migrated in place:

* ``run_events`` written before the event columns were renamed (``envelope``/``raw``) get the
  names ``event_json``/``raw_json``;
* ``run_events`` without ``operation`` / ``agent_id`` gain them (defaults ``'chat'`` and ``''``),
  and without ``sent`` gain it (default ``1``: every legacy event was sent to the browser).

The connection is shared and guarded by a lock; a write is one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, NamedTuple, TypeVar

import orjson

from flowai_harness._clock import utc_millis as utc_now
from flowai_harness.errors import StoreError

__all__ = [
    "SCHEMA_VERSION",
    "StoreDatabase",
    "WorkspaceKey",
    "decode_json",
    "encode_json",
    "utc_now",
]

T = TypeVar("T")

#: ``PRAGMA user_version`` of a file with the current schema.
SCHEMA_VERSION: Final = 2

_TABLES: Final = (
    """CREATE TABLE IF NOT EXISTS threads (
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, thread_id TEXT NOT NULL,
        title TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (app_id, workspace_key, thread_id))""",
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, thread_id TEXT NOT NULL,
        role TEXT NOT NULL, content TEXT NOT NULL, metadata TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS run_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, thread_id TEXT NOT NULL,
        run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
        event_json TEXT NOT NULL, raw_json TEXT, created_at TEXT NOT NULL,
        operation TEXT NOT NULL DEFAULT 'chat', agent_id TEXT NOT NULL DEFAULT '',
        sent INTEGER NOT NULL DEFAULT 1)""",
    """CREATE TABLE IF NOT EXISTS approval_refs (
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, approval_id TEXT NOT NULL,
        thread_id TEXT NOT NULL, run_id TEXT NOT NULL, status TEXT NOT NULL,
        payload TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (app_id, workspace_key, approval_id))""",
    """CREATE TABLE IF NOT EXISTS traces (
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, trace_id TEXT NOT NULL,
        eval_run_id TEXT, test_case_id TEXT, thread_id TEXT, sample_index INTEGER,
        trace TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (app_id, workspace_key, trace_id))""",
    """CREATE TABLE IF NOT EXISTS test_cases (
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, id TEXT NOT NULL,
        test_case TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (app_id, workspace_key, id))""",
    """CREATE TABLE IF NOT EXISTS eval_runs (
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, id TEXT NOT NULL,
        definition TEXT NOT NULL, test_case_ids TEXT NOT NULL, status TEXT NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (app_id, workspace_key, id))""",
    """CREATE TABLE IF NOT EXISTS eval_artifacts (
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, eval_id TEXT NOT NULL,
        run_id TEXT NOT NULL, artifact TEXT NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (app_id, workspace_key, eval_id, run_id))""",
)

# Created after the migrations: they name columns a legacy file only has once migrated.
_INDEXES: Final = (
    """CREATE INDEX IF NOT EXISTS messages_by_thread
        ON messages (app_id, workspace_key, thread_id, id)""",
    """CREATE INDEX IF NOT EXISTS run_events_by_run
        ON run_events (app_id, workspace_key, run_id, seq)""",
    """CREATE INDEX IF NOT EXISTS run_events_by_thread
        ON run_events (app_id, workspace_key, thread_id)""",
)

_RENAMED_COLUMNS: Final = (
    ("run_events", "envelope", "event_json"),
    ("run_events", "raw", "raw_json"),
)
_ADDED_COLUMNS: Final = (
    ("run_events", "operation", "TEXT NOT NULL DEFAULT 'chat'"),
    ("run_events", "agent_id", "TEXT NOT NULL DEFAULT ''"),
    ("run_events", "sent", "INTEGER NOT NULL DEFAULT 1"),
)


class WorkspaceKey(NamedTuple):
    """The leading key of every Studio row."""

    app_id: str
    workspace_key: str


def encode_json(value: Any) -> str:
    """JSON text of a column value (non-JSON values become strings, never an error)."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def decode_json(text: str | None, default: Any) -> Any:
    """Decode a JSON column; ``default`` when it is empty or unreadable."""
    if not text:
        return default
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return default


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the tables of an open file to the current schema (idempotent)."""
    for statement in _TABLES:
        conn.execute(statement)
    for table, old, new in _RENAMED_COLUMNS:
        present = _columns(conn, table)
        if old in present and new not in present:
            conn.execute(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")
    for table, column, declaration in _ADDED_COLUMNS:
        if column not in _columns(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    for statement in _INDEXES:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


class StoreDatabase:
    """One SQLite connection shared by threads, one unit of work at a time.

    Args:
        path: The database file (its directory is created), or ``None`` for memory.

    Raises:
        StoreError: The file cannot be opened or migrated.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        target = ":memory:" if path is None else str(path)
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the Studio store at {target}: {exc}") from exc
        try:
            self._conn.execute("PRAGMA busy_timeout = 5000")
            if path is not None:
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                migrate(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        except BaseException as exc:
            self._conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"cannot open the Studio store at {target}: {exc}") from exc
            raise
        self._lock = threading.Lock()
        self._closed = False
        # A store nobody closes still releases its file (and its memory) when collected.
        self._finalizer = weakref.finalize(self, self._conn.close)

    def run(self, work: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        """Run ``work`` on the connection (in one transaction when ``write``).

        Raises:
            StoreError: The store is closed or SQLite failed.
        """
        with self._lock:
            if self._closed:
                raise StoreError("the Studio store is closed")
            try:
                if not write:
                    return work(self._conn)
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(self._conn)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                return result
            except sqlite3.Error as exc:
                raise StoreError(f"Studio store operation failed: {exc}") from exc

    def close(self) -> None:
        """Close the connection; later calls raise :class:`StoreError`."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
                self._finalizer.detach()
