"""The SQL of the SQLite store's ``RunStore`` side; every function runs on the store's worker
thread with its one connection (see ``SqliteKeyValueStore``).

Signals between processes go through the table ``kv_notify(id, tenant, channel, at)``: a
batch that notifies inserts one row per channel in its own transaction; a waiting process
polls ``PRAGMA data_version`` (which changes only when another connection commits, and costs
no I/O) and reads the rows past the last id it saw. Rows older than a minute are purged.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from flowai_harness.errors import SpecValueError
from flowai_harness.storage._runstore import INDEXED_FIELDS, Batch

__all__ = [
    "Watcher",
    "add_notifications",
    "delete_prefix",
    "get_many",
    "migrate",
    "scan",
    "write_rows",
]

_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_PREFIX = "key >= ? AND substr(key, 1, ?) = ?"
#: the most host parameters one ``IN (...)`` list gets (SQLite's default limit is 32766)
_CHUNK = 500
_NOTIFY_KEEP_MS = 60_000


def _field(name: str) -> tuple[str, tuple[Any, ...]]:
    """The SQL reading the top-level string field ``name`` (text for indexed fields)."""
    if name in INDEXED_FIELDS:
        return f"CASE WHEN json_valid(value) THEN json_extract(value, '$.{name}') END", ()
    if '"' in name:
        raise SpecValueError(f"scan where field names cannot contain '\"'; got {name!r}")
    return "CASE WHEN json_valid(value) THEN json_extract(value, ?) END", (f'$."{name}"',)


def migrate(conn: sqlite3.Connection) -> None:
    """Add what the ``RunStore`` side needs to an existing ``kv_store`` table (idempotent)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(kv_store)")}
    if "updated_at" not in columns:
        conn.execute("ALTER TABLE kv_store ADD COLUMN updated_at INTEGER NULL")
    for name in INDEXED_FIELDS:
        expression, _ = _field(name)
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS kv_store_{name.lower()} ON kv_store (tenant, {expression})"
        )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS kv_notify ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " tenant TEXT NOT NULL,"
        " channel TEXT NOT NULL,"
        " at INTEGER NOT NULL)"
    )


def write_rows(
    conn: sqlite3.Connection, tenant: str, batch: Batch, now_ms: int, guard_ok: Any
) -> bool:
    """Apply ``batch`` in one ``BEGIN IMMEDIATE`` transaction; ``guard_ok(raw)`` judges the
    guard's live value. Returns whether it was written."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if batch.guard is not None:
            row = conn.execute(
                f"SELECT value FROM kv_store WHERE tenant = ? AND key = ? AND {_LIVE}",
                (tenant, batch.guard[0], now_ms),
            ).fetchone()
            if not guard_ok(None if row is None else row[0]):
                conn.execute("ROLLBACK")
                return False
        if batch.puts:
            conn.executemany(
                "INSERT OR REPLACE INTO kv_store (tenant, key, value, expires_at, updated_at)"
                " VALUES (?, ?, ?, NULL, ?)",
                [(tenant, key, raw.decode(), now_ms) for key, raw in batch.puts.items()],
            )
        if batch.deletes:
            conn.executemany(
                "DELETE FROM kv_store WHERE tenant = ? AND key = ?",
                [(tenant, key) for key in batch.deletes],
            )
        if batch.notify:
            add_notifications(conn, tenant, batch.notify, now_ms)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True


def add_notifications(
    conn: sqlite3.Connection, tenant: str, channels: Sequence[str], now_ms: int
) -> None:
    """Insert one signal row per channel (inside the caller's transaction, if any)."""
    conn.executemany(
        "INSERT INTO kv_notify (tenant, channel, at) VALUES (?, ?, ?)",
        [(tenant, channel, now_ms) for channel in channels],
    )


def purge_notifications(conn: sqlite3.Connection, now_ms: int) -> None:
    """Drop signal rows older than a minute (every waiter has read them by then)."""
    conn.execute("DELETE FROM kv_notify WHERE at < ?", (now_ms - _NOTIFY_KEEP_MS,))


def get_many(
    conn: sqlite3.Connection, tenant: str, keys: Sequence[str], now_ms: int
) -> list[tuple[str, str]]:
    """``(key, JSON text)`` of the live ``keys``."""
    found: list[tuple[str, str]] = []
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        found.extend(
            (str(key), str(value))
            for key, value in conn.execute(
                f"SELECT key, value FROM kv_store WHERE tenant = ? AND key IN ({marks})"
                f" AND {_LIVE}",
                (tenant, *chunk, now_ms),
            )
        )
    return found


def scan(
    conn: sqlite3.Connection,
    tenant: str,
    prefix: str,
    start_after: str | None,
    limit: int | None,
    where: Mapping[str, str],
    now_ms: int,
) -> list[tuple[str, str]]:
    """``(key, JSON text)`` of the live keys with ``prefix``, by key (one statement)."""
    clauses = [f"tenant = ? AND {_PREFIX} AND {_LIVE}"]
    params: list[Any] = [tenant, prefix, len(prefix), prefix, now_ms]
    if start_after is not None:
        clauses.append("key > ?")
        params.append(start_after)
    for name, wanted in where.items():
        expression, extra = _field(name)
        clauses.append(f"{expression} = ?")
        params.extend((*extra, wanted))
    query = f"SELECT key, value FROM kv_store WHERE {' AND '.join(clauses)} ORDER BY key"
    if limit is not None:
        query += " LIMIT ?"
        params.append(limit)
    return [(str(key), str(value)) for key, value in conn.execute(query, params)]


def delete_prefix(
    conn: sqlite3.Connection, tenant: str, prefix: str, before_ms: int | None, now_ms: int
) -> int:
    """Delete the live keys with ``prefix`` (written before ``before_ms``); return how many."""
    query = f"DELETE FROM kv_store WHERE tenant = ? AND {_PREFIX} AND {_LIVE}"
    params: list[Any] = [tenant, prefix, len(prefix), prefix, now_ms]
    if before_ms is not None:
        query += " AND updated_at IS NOT NULL AND updated_at < ?"
        params.append(before_ms)
    return int(conn.execute(query, params).rowcount)


class Watcher:
    """A read-only connection of its own that looks for signals committed by others.

    Its own connection, so that a new poller can take its starting mark at once, on the
    caller's thread, when the first wait registers (a WAL read never waits for a writer), and
    so that ``PRAGMA data_version`` also sees the commits of this store's main connection.
    """

    def __init__(self, path: str, busy_timeout_s: float) -> None:
        self._conn = sqlite3.connect(path, timeout=busy_timeout_s, check_same_thread=False)
        self._lock = threading.Lock()
        # A store nobody closes drops its watcher with it: the connection is closed then.
        self._finalizer = weakref.finalize(self, self._conn.close)

    def mark(self) -> tuple[int, int]:
        """``(data_version, last signal id)``: where a new poller starts."""
        with self._lock:
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            last = self._conn.execute("SELECT max(id) FROM kv_notify").fetchone()[0]
        return version, int(last or 0)

    def since(self, version: int, last_id: int) -> tuple[int, int, list[tuple[str, str]]]:
        """The signals committed after ``last_id``, read only if the file changed."""
        with self._lock:
            now = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            if now == version:
                return version, last_id, []
            rows = self._conn.execute(
                "SELECT id, tenant, channel FROM kv_notify WHERE id > ? ORDER BY id", (last_id,)
            ).fetchall()
        if rows:
            last_id = int(rows[-1][0])
        return now, last_id, [(str(tenant), str(channel)) for _, tenant, channel in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._finalizer()
