"""Studio persistence: threads, messages, run events, approvals, traces, tests and evals.

One SQLite database (stdlib ``sqlite3``) holds the state behind the Studio lists and replays
(studio.md §6). Every row is keyed by ``(app_id, workspace_key)`` first, and the only way to
read or write rows is through a :class:`WorkspaceStore` bound to one such pair, so workspaces
never see each other's data. Agent memory stays in the runtime; this is UI state only.

The connection is shared and guarded by a lock; every statement runs in a worker thread
(``asyncio.to_thread``) so the event loop never blocks on disk. The schema is created
idempotently when the store opens, and older databases are migrated in place (``run_events``
gains ``operation`` and ``agent_id``). Runs are not stored: they are computed from their events
on read.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from flowai_harness.errors import SpecTypeError, SpecValueError, StoreError
from flowai_harness.studio.store_records import (
    EvalRecords,
    WorkspaceKey,
    decode_json,
    encode_json,
    run_summary,
)

__all__ = [
    "DEFAULT_STORE_PATH",
    "StudioStore",
    "WorkspaceStore",
    "thread_title",
    "utc_now",
]

T = TypeVar("T")

#: Where ``flowai-harness dev|serve`` keep Studio state, relative to the launch directory.
DEFAULT_STORE_PATH: Final = Path(".flowai") / "studio.db"

_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS threads (
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, thread_id TEXT NOT NULL,
        title TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (app_id, workspace_key, thread_id))""",
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, thread_id TEXT NOT NULL,
        role TEXT NOT NULL, content TEXT NOT NULL, metadata TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS messages_by_thread
        ON messages (app_id, workspace_key, thread_id, id)""",
    """CREATE TABLE IF NOT EXISTS run_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app_id TEXT NOT NULL, workspace_key TEXT NOT NULL, thread_id TEXT NOT NULL,
        run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
        operation TEXT NOT NULL DEFAULT 'chat', agent_id TEXT NOT NULL DEFAULT '',
        envelope TEXT NOT NULL, raw TEXT NOT NULL, created_at TEXT NOT NULL,
        sent INTEGER NOT NULL DEFAULT 1)""",
    """CREATE INDEX IF NOT EXISTS run_events_by_run
        ON run_events (app_id, workspace_key, run_id, seq)""",
    """CREATE INDEX IF NOT EXISTS run_events_by_thread
        ON run_events (app_id, workspace_key, thread_id)""",
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

# Columns added after the first release; older files gain them when opened.
_LEGACY_COLUMNS: Final = (
    ("run_events", "operation", "TEXT NOT NULL DEFAULT 'chat'"),
    ("run_events", "agent_id", "TEXT NOT NULL DEFAULT ''"),
    ("run_events", "sent", "INTEGER NOT NULL DEFAULT 1"),
)


def utc_now() -> str:
    """The current UTC time as ISO-8601 with seconds and ``Z`` (``2026-05-21T00:00:00Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Database:
    """One SQLite connection shared by worker threads, one unit of work at a time."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        target = ":memory:" if path is None else str(path)
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout = 5000")
            if path is not None:
                self._conn.execute("PRAGMA journal_mode = WAL")
            for statement in _SCHEMA:
                self._conn.execute(statement)
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the Studio store at {target}: {exc}") from exc
        self._lock = threading.Lock()
        self._closed = False

    def _migrate(self) -> None:
        for table, column, declaration in _LEGACY_COLUMNS:
            present = {row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def run(self, work: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
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

    async def call(self, work: Callable[[sqlite3.Connection], T], *, write: bool = False) -> T:
        return await asyncio.to_thread(self.run, work, write=write)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()


class StudioStore:
    """The Studio's SQLite store.

    Args:
        path: Database file (its directory is created); ``None`` keeps everything in memory,
            for tests and throwaway sessions.

    Raises:
        StoreError: The file cannot be opened or migrated.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        if path is not None and not isinstance(path, str | Path):
            raise SpecTypeError(
                f"StudioStore path must be a str, a Path or None, got {type(path).__name__}"
            )
        self._path = None if path is None else Path(path)
        self._db = _Database(self._path)

    @property
    def path(self) -> Path | None:
        """The database file, or ``None`` for an in-memory store."""
        return self._path

    def workspace(self, app_id: str, workspace_key: str) -> WorkspaceStore:
        """Return the view of the rows of one app workspace.

        Raises:
            SpecValueError: ``app_id`` or ``workspace_key`` is empty.
        """
        for name, value in (("app_id", app_id), ("workspace_key", workspace_key)):
            if not isinstance(value, str) or not value:
                raise SpecValueError(f"{name} must be a non-empty string, got {value!r}")
        return WorkspaceStore(self._db, WorkspaceKey(app_id, workspace_key))

    def close(self) -> None:
        """Close the connection; later calls raise :class:`StoreError`."""
        self._db.close()

    def __repr__(self) -> str:
        return f"StudioStore(path={None if self._path is None else str(self._path)!r})"


def _thread(row: Sequence[Any]) -> dict[str, Any]:
    return {"threadId": row[0], "title": row[1], "createdAt": row[2], "updatedAt": row[3]}


def _message(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "messageId": f"msg_{row[0]}",
        "threadId": row[1],
        "role": row[2],
        "content": row[3],
        "metadata": decode_json(row[4], {}),
        "createdAt": row[5],
    }


def _approval(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "approvalId": row[0],
        "threadId": row[1],
        "runId": row[2],
        "status": row[3],
        "payload": decode_json(row[4], {}),
        "createdAt": row[5],
        "updatedAt": row[6],
    }


def _event(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "seq": row[0],
        "kind": row[1],
        "event": decode_json(row[2], {}),
        "raw": decode_json(row[3], None),
        "createdAt": row[4],
    }


class WorkspaceStore(EvalRecords):
    """The Studio rows of one ``(app_id, workspace_key)``; every method is a coroutine.

    Obtain it with :meth:`StudioStore.workspace`.
    """

    def __init__(self, db: _Database, key: WorkspaceKey) -> None:
        super().__init__(db, key)

    # ------------------------------------------------------------------ threads

    async def upsert_thread(self, thread_id: str, title: str) -> dict[str, Any]:
        """Create the thread with ``title``, or touch an existing one (its title is kept)."""
        now = utc_now()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT INTO threads VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, thread_id) DO UPDATE SET updated_at = excluded.updated_at",
                (*self.key, thread_id, title, now, now),
            )
            return self._thread_row(conn, thread_id) or {}

        return await self.db.call(work, write=True)

    def _thread_row(self, conn: sqlite3.Connection, thread_id: str) -> dict[str, Any] | None:
        row = conn.execute(
            "SELECT thread_id, title, created_at, updated_at FROM threads "
            "WHERE app_id = ? AND workspace_key = ? AND thread_id = ?",
            (*self.key, thread_id),
        ).fetchone()
        return None if row is None else _thread(row)

    async def get_thread(self, thread_id: str) -> dict[str, Any] | None:
        """Return the thread row, or ``None``."""
        return await self.db.call(lambda conn: self._thread_row(conn, thread_id))

    async def list_threads(self) -> list[dict[str, Any]]:
        """Return every thread, most recently updated first."""

        def work(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT thread_id, title, created_at, updated_at FROM threads "
                "WHERE app_id = ? AND workspace_key = ? "
                "ORDER BY updated_at DESC, rowid DESC",
                self.key,
            )
            return [_thread(row) for row in rows]

        return await self.db.call(work)

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete a thread with its messages, run events, approvals and traces.

        Returns:
            Whether the thread existed.
        """

        def work(conn: sqlite3.Connection) -> bool:
            params = (*self.key, thread_id)
            where = "WHERE app_id = ? AND workspace_key = ? AND thread_id = ?"
            deleted = conn.execute(f"DELETE FROM threads {where}", params).rowcount
            for table in ("messages", "run_events", "approval_refs", "traces"):
                conn.execute(f"DELETE FROM {table} {where}", params)
            return deleted > 0

        return await self.db.call(work, write=True)

    # ------------------------------------------------------------------ messages

    async def add_message(
        self, thread_id: str, role: str, content: str, metadata: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Append a message to a thread (created if missing) and bump its ``updatedAt``."""
        now = utc_now()
        encoded = encode_json(dict(metadata or {}))

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT INTO threads VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, thread_id) DO UPDATE SET updated_at = excluded.updated_at",
                (*self.key, thread_id, _title(content), now, now),
            )
            cursor = conn.execute(
                "INSERT INTO messages (app_id, workspace_key, thread_id, role, content, metadata,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*self.key, thread_id, role, content, encoded, now),
            )
            return _message((cursor.lastrowid, thread_id, role, content, encoded, now))

        return await self.db.call(work, write=True)

    async def list_messages(self, thread_id: str) -> list[dict[str, Any]]:
        """Return the messages of a thread, oldest first."""

        def work(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT id, thread_id, role, content, metadata, created_at FROM messages "
                "WHERE app_id = ? AND workspace_key = ? AND thread_id = ? ORDER BY id",
                (*self.key, thread_id),
            )
            return [_message(row) for row in rows]

        return await self.db.call(work)

    # ------------------------------------------------------------------ run events

    async def append_event(
        self,
        *,
        run_id: str,
        thread_id: str,
        seq: int,
        kind: str,
        envelope: Mapping[str, Any],
        raw: Any = None,
        operation: str = "chat",
        agent_id: str = "",
        sent: bool = True,
    ) -> None:
        """Record one event of a run: its envelope, the raw event it came from, and whether the
        browser was sent it (replays send only those)."""
        row = (
            *self.key,
            thread_id,
            run_id,
            seq,
            kind,
            operation,
            agent_id,
            encode_json(dict(envelope)),
            encode_json(raw),
            utc_now(),
            int(sent),
        )
        await self.db.call(
            lambda conn: conn.execute(
                "INSERT INTO run_events (app_id, workspace_key, thread_id, run_id, seq, kind, "
                "operation, agent_id, envelope, raw, created_at, sent) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            ),
            write=True,
        )

    async def list_events(
        self, run_id: str, since_seq: int = 0, *, sent_only: bool = False
    ) -> list[dict[str, Any]]:
        """Return the events of a run with ``seq > since_seq``, ascending."""
        sql = (
            "SELECT seq, kind, envelope, raw, created_at FROM run_events "
            "WHERE app_id = ? AND workspace_key = ? AND run_id = ? AND seq > ?"
        )
        if sent_only:
            sql += " AND sent = 1"

        def work(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(sql + " ORDER BY seq, id", (*self.key, run_id, since_seq))
            return [_event(row) for row in rows]

        return await self.db.call(work)

    async def thread_events(self, thread_id: str) -> list[dict[str, Any]]:
        """Return every recorded event of a thread's runs, in recording order."""

        def work(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT seq, kind, envelope, raw, created_at, run_id FROM run_events "
                "WHERE app_id = ? AND workspace_key = ? AND thread_id = ? ORDER BY id",
                (*self.key, thread_id),
            )
            return [{**_event(row), "runId": row[5]} for row in rows]

        return await self.db.call(work)

    _RUN_STATS: Final = (
        "SELECT run_id, MIN(id), MAX(id), MIN(seq), MAX(seq), COUNT(*), MIN(created_at), "
        "MAX(created_at) FROM run_events WHERE app_id = ? AND workspace_key = ?"
    )

    def _runs(
        self, conn: sqlite3.Connection, run_id: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        sql, params = self._RUN_STATS, list(self.key)
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        sql += " GROUP BY run_id ORDER BY MAX(id) DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        runs: list[dict[str, Any]] = []
        for stats in conn.execute(sql, params).fetchall():
            first, last = (
                conn.execute(
                    "SELECT thread_id, operation, agent_id, kind FROM run_events WHERE id = ?",
                    (row_id,),
                ).fetchone()
                for row_id in (stats[1], stats[2])
            )
            runs.append(run_summary(stats, first, last))
        return runs

    async def list_runs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Return the runs computed from their events, most recent first."""
        return await self.db.call(lambda conn: self._runs(conn, None, limit))

    async def get_run(self, run_id: str) -> dict[str, Any] | None:
        """Return one run computed from its events, or ``None`` when it has none."""
        runs = await self.db.call(lambda conn: self._runs(conn, run_id, None))
        return runs[0] if runs else None

    # ------------------------------------------------------------------ approvals

    async def upsert_approval(
        self, approval_id: str, *, thread_id: str, run_id: str, status: str, payload: Any
    ) -> None:
        """Record an approval request (a repeated id refreshes its payload and status)."""
        now = utc_now()
        row = (*self.key, approval_id, thread_id, run_id, status, encode_json(payload), now, now)
        await self.db.call(
            lambda conn: conn.execute(
                "INSERT INTO approval_refs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, approval_id) DO UPDATE SET status = excluded.status, "
                "payload = excluded.payload, updated_at = excluded.updated_at",
                row,
            ),
            write=True,
        )

    async def set_approval_status(self, approval_id: str, status: str) -> bool:
        """Change an approval's status; return whether it exists."""

        def work(conn: sqlite3.Connection) -> bool:
            return (
                conn.execute(
                    "UPDATE approval_refs SET status = ?, updated_at = ? "
                    "WHERE app_id = ? AND workspace_key = ? AND approval_id = ?",
                    (status, utc_now(), *self.key, approval_id),
                ).rowcount
                > 0
            )

        return await self.db.call(work, write=True)

    async def expire_pending_approvals(self, run_id: str) -> int:
        """Mark the still-pending approvals of a run ``expired``; return how many."""
        return await self.db.call(
            lambda conn: (
                conn.execute(
                    "UPDATE approval_refs SET status = 'expired', updated_at = ? "
                    "WHERE app_id = ? AND workspace_key = ? AND run_id = ? AND status = 'pending'",
                    (utc_now(), *self.key, run_id),
                ).rowcount
            ),
            write=True,
        )

    async def list_approvals(self) -> list[dict[str, Any]]:
        """Return every approval: pending ones first, then the most recent first."""

        def work(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT approval_id, thread_id, run_id, status, payload, created_at, updated_at "
                "FROM approval_refs WHERE app_id = ? AND workspace_key = ? "
                "ORDER BY status != 'pending', updated_at DESC, rowid DESC",
                self.key,
            )
            return [_approval(row) for row in rows]

        return await self.db.call(work)

    async def get_approval(self, approval_id: str) -> dict[str, Any] | None:
        """Return one approval row, or ``None``."""

        def work(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(
                "SELECT approval_id, thread_id, run_id, status, payload, created_at, updated_at "
                "FROM approval_refs WHERE app_id = ? AND workspace_key = ? AND approval_id = ?",
                (*self.key, approval_id),
            ).fetchone()
            return None if row is None else _approval(row)

        return await self.db.call(work)


def _title(content: str) -> str:
    text = " ".join(content.split())
    return text if len(text) <= 80 else text[:77] + "..."


def thread_title(prompt: str) -> str:
    """The title of a thread started by ``prompt``: the prompt, cut to 80 characters."""
    return _title(prompt)
