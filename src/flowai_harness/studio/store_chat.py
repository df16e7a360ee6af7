"""Studio rows about conversations: threads, messages, run events, runs and approval refs.

:class:`ChatRows` sees the rows of one ``(app_id, workspace_key)`` only. Its methods are
synchronous (the server calls them from worker threads); a missing row raises ``KeyError``.
Rows are camelCase dicts. Runs are not stored: they are computed from their events on read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, Final

from flowai_harness.studio.store_db import (
    StoreDatabase,
    WorkspaceKey,
    decode_json,
    encode_json,
    utc_now,
)

__all__ = ["ChatRows", "run_status", "thread_title"]

_COMPLETED: Final = frozenset(
    {"run.completed", "evalCompleted", "runtime.finish", "finish", "completed"}
)
_FAILED: Final = frozenset({"run.failed", "evalFailed", "error"})
_CANCELLED: Final = frozenset({"run.cancelled", "evalCancelled"})


def run_status(last_kind: str) -> str:
    """The status of a run whose last recorded event has kind ``last_kind``."""
    if last_kind in _COMPLETED:
        return "completed"
    if last_kind in _FAILED:
        return "failed"
    if last_kind in _CANCELLED:
        return "cancelled"
    return "running"


def thread_title(prompt: str) -> str:
    """The title of a thread started by ``prompt``: the prompt, cut to 80 characters."""
    text = " ".join(prompt.split())
    return text if len(text) <= 80 else text[:77] + "..."


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
        "raw": decode_json(row[3], None) or {},
        "createdAt": row[4],
    }


def _run(stats: Sequence[Any], first: Sequence[Any], last: Sequence[Any]) -> dict[str, Any]:
    # stats: (run_id, min_id, max_id, min_seq, max_seq, count, first_at, last_at);
    # first / last: (thread_id, operation, agent_id, kind) of the first / last event.
    return {
        "runId": stats[0],
        "operation": str(first[1] or "chat"),
        "threadId": first[0],
        "agentId": str(first[2] or ""),
        "status": run_status(str(last[3])),
        "firstSeq": stats[3],
        "lastSeq": stats[4],
        "eventCount": stats[5],
        "lastKind": last[3],
        "createdAt": stats[6],
        "updatedAt": stats[7],
    }


_THREAD_COLUMNS: Final = "thread_id, title, created_at, updated_at"
_APPROVAL_COLUMNS: Final = "approval_id, thread_id, run_id, status, payload, created_at, updated_at"
_RUN_STATS: Final = (
    "SELECT run_id, MIN(id) AS min_id, MAX(id) AS max_id, MIN(seq), MAX(seq), COUNT(*), "
    "MIN(created_at), MAX(created_at) FROM run_events WHERE app_id = ? AND workspace_key = ?"
)
_TOUCH_THREAD: Final = (
    "INSERT INTO threads VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
    "(app_id, workspace_key, thread_id) DO UPDATE SET updated_at = excluded.updated_at"
)


class ChatRows:
    """Threads, messages, run events, runs and approvals of one workspace."""

    def __init__(self, db: StoreDatabase, key: WorkspaceKey) -> None:
        self.db = db
        self.key = key

    @property
    def workspace_key(self) -> str:
        """The workspace these rows belong to."""
        return self.key.workspace_key

    # ------------------------------------------------------------------ threads

    def _thread_row(self, conn: sqlite3.Connection, thread_id: str) -> dict[str, Any]:
        row = conn.execute(
            f"SELECT {_THREAD_COLUMNS} FROM threads "
            "WHERE app_id = ? AND workspace_key = ? AND thread_id = ?",
            (*self.key, thread_id),
        ).fetchone()
        if row is None:
            raise KeyError(thread_id)
        return _thread(row)

    def upsert_thread(self, thread_id: str, title: str) -> dict[str, Any]:
        """Create the thread with ``title``, or touch an existing one (its title is kept)."""
        now = utc_now()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(_TOUCH_THREAD, (*self.key, thread_id, title, now, now))
            return self._thread_row(conn, thread_id)

        return self.db.run(work, write=True)

    def touch_thread(self, thread_id: str) -> dict[str, Any]:
        """Bump a thread's ``updatedAt``; raise ``KeyError`` when it does not exist."""
        now = utc_now()

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "UPDATE threads SET updated_at = ? "
                "WHERE app_id = ? AND workspace_key = ? AND thread_id = ?",
                (now, *self.key, thread_id),
            )
            return self._thread_row(conn, thread_id)

        return self.db.run(work, write=True)

    def get_thread(self, thread_id: str) -> dict[str, Any]:
        """Return the thread row; ``KeyError`` when absent."""
        return self.db.run(lambda conn: self._thread_row(conn, thread_id))

    def list_threads(self) -> list[dict[str, Any]]:
        """Return every thread, most recently updated first."""
        return self.db.run(
            lambda conn: [
                _thread(row)
                for row in conn.execute(
                    f"SELECT {_THREAD_COLUMNS} FROM threads WHERE app_id = ? AND "
                    "workspace_key = ? ORDER BY updated_at DESC, rowid DESC",
                    self.key,
                )
            ]
        )

    def delete_thread(self, thread_id: str) -> None:
        """Delete a thread with its messages, run events, approvals and traces.

        Raises:
            KeyError: The thread does not exist.
        """

        def work(conn: sqlite3.Connection) -> None:
            params = (*self.key, thread_id)
            where = "WHERE app_id = ? AND workspace_key = ? AND thread_id = ?"
            if conn.execute(f"DELETE FROM threads {where}", params).rowcount == 0:
                raise KeyError(thread_id)
            for table in ("messages", "run_events", "approval_refs", "traces"):
                conn.execute(f"DELETE FROM {table} {where}", params)

        self.db.run(work, write=True)

    # ------------------------------------------------------------------ messages

    def append_message(
        self,
        thread_id: str,
        role: str,
        content: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append a message to a thread (created if missing) and bump its ``updatedAt``."""
        now = utc_now()
        encoded = encode_json(dict(metadata or {}))

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(_TOUCH_THREAD, (*self.key, thread_id, thread_title(content), now, now))
            cursor = conn.execute(
                "INSERT INTO messages (app_id, workspace_key, thread_id, role, content, metadata,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*self.key, thread_id, role, content, encoded, now),
            )
            return _message((cursor.lastrowid, thread_id, role, content, encoded, now))

        return self.db.run(work, write=True)

    def list_messages(self, thread_id: str) -> list[dict[str, Any]]:
        """Return the messages of a thread, oldest first."""
        return self.db.run(
            lambda conn: [
                _message(row)
                for row in conn.execute(
                    "SELECT id, thread_id, role, content, metadata, created_at FROM messages "
                    "WHERE app_id = ? AND workspace_key = ? AND thread_id = ? ORDER BY id",
                    (*self.key, thread_id),
                )
            ]
        )

    # ------------------------------------------------------------------ run events

    def append_run_event(
        self,
        thread_id: str,
        run_id: str,
        seq: int,
        kind: str,
        event: Mapping[str, Any],
        raw_event: Any = None,
        operation: str = "chat",
        agent_id: str = "",
        *,
        sent: bool = True,
    ) -> None:
        """Record one event of a run: its Studio envelope, the raw event it came from, and
        whether the browser was sent it (replays send only those)."""
        row = (
            *self.key,
            thread_id,
            run_id,
            seq,
            kind,
            encode_json(dict(event)),
            encode_json(raw_event),
            utc_now(),
            operation,
            agent_id,
            int(sent),
        )
        self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO run_events (app_id, workspace_key, thread_id, run_id, seq, kind, "
                "event_json, raw_json, created_at, operation, agent_id, sent) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            ),
            write=True,
        )

    def list_run_events(
        self, run_id: str, since_seq: int | None = None, *, sent_only: bool = False
    ) -> list[dict[str, Any]]:
        """Return the events of a run by ascending ``seq`` (only ``seq > since_seq`` if given)."""
        sql = (
            "SELECT seq, kind, event_json, raw_json, created_at FROM run_events "
            "WHERE app_id = ? AND workspace_key = ? AND run_id = ?"
        )
        params: list[Any] = [*self.key, run_id]
        if since_seq is not None:
            sql += " AND seq > ?"
            params.append(since_seq)
        if sent_only:
            sql += " AND sent = 1"
        sql += " ORDER BY seq, id"
        return self.db.run(lambda conn: [_event(row) for row in conn.execute(sql, params)])

    def list_thread_run_events(self, thread_id: str) -> list[dict[str, Any]]:
        """Return every recorded event of a thread's runs, in recording order (with ``runId``)."""
        return self.db.run(
            lambda conn: [
                {**_event(row), "runId": row[5]}
                for row in conn.execute(
                    "SELECT seq, kind, event_json, raw_json, created_at, run_id FROM run_events "
                    "WHERE app_id = ? AND workspace_key = ? AND thread_id = ? ORDER BY id",
                    (*self.key, thread_id),
                )
            ]
        )

    def _runs(
        self, conn: sqlite3.Connection, run_id: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        sql, params = _RUN_STATS, list[Any](self.key)
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        sql += " GROUP BY run_id"
        # One query: each run's stats joined with its first and last event (a query per run
        # made a page of 10 000 runs take 150 ms).
        sql = (
            "SELECT s.*, f.thread_id, f.operation, f.agent_id, f.kind, "
            "l.thread_id, l.operation, l.agent_id, l.kind "
            f"FROM ({sql}) AS s JOIN run_events AS f ON f.id = s.min_id "
            "JOIN run_events AS l ON l.id = s.max_id ORDER BY s.max_id DESC"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [
            _run(row[:8], row[8:12], row[12:16]) for row in conn.execute(sql, params).fetchall()
        ]

    def list_runs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Return the runs computed from their events, most recent first."""
        return self.db.run(lambda conn: self._runs(conn, None, limit))

    def get_run(self, run_id: str) -> dict[str, Any]:
        """Return one run computed from its events; ``KeyError`` when it has none."""
        runs = self.db.run(lambda conn: self._runs(conn, run_id, None))
        if not runs:
            raise KeyError(run_id)
        return runs[0]

    # ------------------------------------------------------------------ approvals

    def _approval_row(self, conn: sqlite3.Connection, approval_id: str) -> dict[str, Any]:
        row = conn.execute(
            f"SELECT {_APPROVAL_COLUMNS} FROM approval_refs "
            "WHERE app_id = ? AND workspace_key = ? AND approval_id = ?",
            (*self.key, approval_id),
        ).fetchone()
        if row is None:
            raise KeyError(approval_id)
        return _approval(row)

    def upsert_approval_ref(
        self, thread_id: str, run_id: str, approval_id: str, payload: Any
    ) -> dict[str, Any]:
        """Record a pending approval; a repeated id only refreshes its payload."""
        now = utc_now()
        row = (*self.key, approval_id, thread_id, run_id, "pending", encode_json(payload), now, now)

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT INTO approval_refs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, approval_id) DO UPDATE SET "
                "payload = excluded.payload, updated_at = excluded.updated_at",
                row,
            )
            return self._approval_row(conn, approval_id)

        return self.db.run(work, write=True)

    def update_approval_ref(
        self, approval_id: str, status: str, feedback: str | None = None
    ) -> dict[str, Any]:
        """Set an approval's status, and keep the reviewer's ``feedback`` (a revision's
        instructions, a rejection's reason) as ``payload.feedback`` when one is given;
        ``KeyError`` when it was never recorded."""

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            row = self._approval_row(conn, approval_id)
            payload = row["payload"] if isinstance(row["payload"], dict) else {}
            if feedback:
                payload = {**payload, "feedback": feedback}
            conn.execute(
                "UPDATE approval_refs SET status = ?, payload = ?, updated_at = ? "
                "WHERE app_id = ? AND workspace_key = ? AND approval_id = ?",
                (status, encode_json(payload), utc_now(), *self.key, approval_id),
            )
            return self._approval_row(conn, approval_id)

        return self.db.run(work, write=True)

    def expire_pending_approvals(self, run_id: str) -> int:
        """Mark the still-pending approvals of a run ``expired``; return how many."""
        return self.db.run(
            lambda conn: (
                conn.execute(
                    "UPDATE approval_refs SET status = 'expired', updated_at = ? "
                    "WHERE app_id = ? AND workspace_key = ? AND run_id = ? AND status = 'pending'",
                    (utc_now(), *self.key, run_id),
                ).rowcount
            ),
            write=True,
        )

    def list_approvals(self) -> list[dict[str, Any]]:
        """Return every approval: pending ones first, then the most recently updated."""
        return self.db.run(
            lambda conn: [
                _approval(row)
                for row in conn.execute(
                    f"SELECT {_APPROVAL_COLUMNS} FROM approval_refs "
                    "WHERE app_id = ? AND workspace_key = ? "
                    "ORDER BY status != 'pending', updated_at DESC, rowid DESC",
                    self.key,
                )
            ]
        )

    def get_approval(self, approval_id: str) -> dict[str, Any]:
        """Return one approval row; ``KeyError`` when absent."""
        return self.db.run(lambda conn: self._approval_row(conn, approval_id))
