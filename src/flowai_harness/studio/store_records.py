"""Studio store rows that are not about chat: traces, test cases, eval definitions, artifacts;
and the shared pieces of the store (row keys, JSON columns, run summaries).

:class:`EvalRecords` is the base of :class:`~flowai_harness.studio.store.WorkspaceStore`;
it only sees the rows of its own ``(app_id, workspace_key)``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import orjson

if TYPE_CHECKING:
    from flowai_harness.studio.store import _Database

__all__ = [
    "OPERATION_CATEGORIES",
    "EvalRecords",
    "WorkspaceKey",
    "decode_json",
    "encode_json",
    "run_status",
    "run_summary",
]


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


_COMPLETED: Final = frozenset({"run.completed", "evalCompleted", "runtime.finish", "finish"})
_COMPLETED_DATA: Final = frozenset({"completed"})
_FAILED: Final = frozenset({"run.failed", "evalFailed", "error"})
_CANCELLED: Final = frozenset({"run.cancelled", "evalCancelled", "run.aborted"})
_WAITING: Final = frozenset({"approval.required"})

#: Stored operation name -> the contract's ``RunSummary.operation`` category.
OPERATION_CATEGORIES: Final = {
    "chat": "chat",
    "eval": "eval",
    "tool": "tool",
    "data.profile.table": "profile",
    "data.profile.database": "profile",
    "data.knowledge.ingest": "ingest",
}


def run_status(last_kind: str, operation: str) -> str:
    """The status of a run whose last recorded event has kind ``last_kind``."""
    if last_kind in _COMPLETED or (operation.startswith("data.") and last_kind in _COMPLETED_DATA):
        return "completed"
    if last_kind in _FAILED:
        return "failed"
    if last_kind in _CANCELLED:
        return "cancelled"
    if last_kind in _WAITING:
        return "waiting"
    return "running"


def run_summary(stats: Sequence[Any], first: Sequence[Any], last: Sequence[Any]) -> dict[str, Any]:
    """Build a run row from its event statistics and its first and last events.

    Args:
        stats: ``(run_id, min_id, max_id, min_seq, max_seq, count, first_at, last_at)``.
        first: ``(thread_id, operation, agent_id, kind)`` of the first event.
        last: The same for the last event.
    """
    operation = str(first[1] or "chat")
    status = run_status(str(last[3]), operation)
    row: dict[str, Any] = {
        "runId": stats[0],
        "operation": OPERATION_CATEGORIES.get(operation, "custom"),
        "operationName": operation,
        "threadId": first[0],
        "agentId": first[2],
        "status": status,
        "firstSeq": stats[3],
        "lastSeq": stats[4],
        "eventCount": stats[5],
        "lastKind": last[3],
        "createdAt": stats[6],
        "updatedAt": stats[7],
        "startedAt": stats[6],
    }
    if status in ("completed", "failed", "cancelled"):
        row["completedAt"] = stats[7]
    return row


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _trace(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "traceId": row[0],
        "evalRunId": row[1],
        "testCaseId": row[2],
        "threadId": row[3],
        "sampleIndex": row[4],
        "trace": decode_json(row[5], {}),
        "createdAt": row[6],
        "updatedAt": row[7],
    }


def _test(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "id": row[0],
        "testCase": decode_json(row[1], {}),
        "createdAt": row[2],
        "updatedAt": row[3],
    }


def _eval(row: Sequence[Any]) -> dict[str, Any]:
    definition = decode_json(row[1], {})
    return {
        "id": row[0],
        "config": definition.get("config", {}),
        "scorerPreset": definition.get("scorerPreset"),
        "testCaseIds": decode_json(row[2], []),
        "status": row[3],
        "createdAt": row[4],
        "updatedAt": row[5],
    }


def _artifact(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "evalId": row[0],
        "runId": row[1],
        "artifact": decode_json(row[2], {}),
        "createdAt": row[3],
    }


_TRACE_COLUMNS: Final = (
    "trace_id, eval_run_id, test_case_id, thread_id, sample_index, trace, created_at, updated_at"
)
_EVAL_COLUMNS: Final = "id, definition, test_case_ids, status, created_at, updated_at"
_ARTIFACT_COLUMNS: Final = "eval_id, run_id, artifact, created_at"


class EvalRecords:
    """Traces, test cases, eval definitions and eval artifacts of one workspace."""

    def __init__(self, db: _Database, key: WorkspaceKey) -> None:
        self.db = db
        self.key = key

    @property
    def workspace_key(self) -> str:
        """The workspace these rows belong to."""
        return self.key.workspace_key

    # ------------------------------------------------------------------ traces

    async def put_trace(self, trace: Mapping[str, Any]) -> dict[str, Any]:
        """Store (or replace) an eval sample trace; its ids come from the trace itself."""
        now = _now()
        trace_id = str(trace["traceId"])
        sample = trace.get("sampleIndex")
        row = (
            *self.key,
            trace_id,
            trace.get("evalRunId"),
            trace.get("testCaseId"),
            trace.get("threadId"),
            sample if isinstance(sample, int) else None,
            encode_json(dict(trace)),
            now,
            now,
        )

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, trace_id) DO UPDATE SET trace = excluded.trace, "
                "updated_at = excluded.updated_at",
                row,
            )
            return _trace(row[2:])

        return await self.db.call(work, write=True)

    async def list_traces(
        self,
        *,
        eval_run_id: str | None = None,
        test_case_id: str | None = None,
        thread_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return the traces matching every given filter, oldest first."""
        sql = f"SELECT {_TRACE_COLUMNS} FROM traces WHERE app_id = ? AND workspace_key = ?"
        params: list[Any] = list(self.key)
        for column, value in (
            ("eval_run_id", eval_run_id),
            ("test_case_id", test_case_id),
            ("thread_id", thread_id),
        ):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        sql += " ORDER BY created_at, rowid"
        return await self.db.call(lambda conn: [_trace(r) for r in conn.execute(sql, params)])

    async def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """Return one stored trace row, or ``None``."""

        def work(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(
                f"SELECT {_TRACE_COLUMNS} FROM traces "
                "WHERE app_id = ? AND workspace_key = ? AND trace_id = ?",
                (*self.key, trace_id),
            ).fetchone()
            return None if row is None else _trace(row)

        return await self.db.call(work)

    # ------------------------------------------------------------------ tests

    async def put_test(
        self, test_id: str, test_case: Mapping[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Insert or replace a test case (stored verbatim).

        Returns:
            ``(row, created)``: ``created`` is false when an existing test was replaced.
        """
        now = _now()
        encoded = encode_json(dict(test_case))

        def work(conn: sqlite3.Connection) -> tuple[dict[str, Any], bool]:
            existing = conn.execute(
                "SELECT created_at FROM test_cases WHERE app_id = ? AND workspace_key = ? "
                "AND id = ?",
                (*self.key, test_id),
            ).fetchone()
            conn.execute(
                "INSERT INTO test_cases VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, id) DO UPDATE SET test_case = excluded.test_case, "
                "updated_at = excluded.updated_at",
                (*self.key, test_id, encoded, now, now),
            )
            created_at = now if existing is None else existing[0]
            return _test((test_id, encoded, created_at, now)), existing is None

        return await self.db.call(work, write=True)

    async def list_tests(self) -> list[dict[str, Any]]:
        """Return every test case, oldest first."""

        def work(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT id, test_case, created_at, updated_at FROM test_cases "
                "WHERE app_id = ? AND workspace_key = ? ORDER BY created_at, rowid",
                self.key,
            )
            return [_test(row) for row in rows]

        return await self.db.call(work)

    async def get_test(self, test_id: str) -> dict[str, Any] | None:
        """Return one test case row, or ``None``."""

        def work(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(
                "SELECT id, test_case, created_at, updated_at FROM test_cases "
                "WHERE app_id = ? AND workspace_key = ? AND id = ?",
                (*self.key, test_id),
            ).fetchone()
            return None if row is None else _test(row)

        return await self.db.call(work)

    async def delete_test(self, test_id: str) -> bool:
        """Delete one test case; return whether it existed."""
        return await self.db.call(
            lambda conn: (
                conn.execute(
                    "DELETE FROM test_cases WHERE app_id = ? AND workspace_key = ? AND id = ?",
                    (*self.key, test_id),
                ).rowcount
                > 0
            ),
            write=True,
        )

    # ------------------------------------------------------------------ evals

    async def put_eval(
        self,
        eval_id: str,
        *,
        config: Mapping[str, Any],
        scorer_preset: Any,
        test_case_ids: Sequence[str],
        status: str,
    ) -> dict[str, Any]:
        """Insert or replace an eval definition (its creation time is kept)."""
        now = _now()
        definition = encode_json({"config": dict(config), "scorerPreset": scorer_preset})
        ids = encode_json(list(test_case_ids))

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT INTO eval_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, id) DO UPDATE SET definition = excluded.definition, "
                "test_case_ids = excluded.test_case_ids, status = excluded.status, "
                "updated_at = excluded.updated_at",
                (*self.key, eval_id, definition, ids, status, now, now),
            )
            return self._eval_row(conn, eval_id) or {}

        return await self.db.call(work, write=True)

    def _eval_row(self, conn: sqlite3.Connection, eval_id: str) -> dict[str, Any] | None:
        row = conn.execute(
            f"SELECT {_EVAL_COLUMNS} FROM eval_runs "
            "WHERE app_id = ? AND workspace_key = ? AND id = ?",
            (*self.key, eval_id),
        ).fetchone()
        return None if row is None else _eval(row)

    async def get_eval(self, eval_id: str) -> dict[str, Any] | None:
        """Return one eval definition, or ``None``."""
        return await self.db.call(lambda conn: self._eval_row(conn, eval_id))

    async def list_evals(self) -> list[dict[str, Any]]:
        """Return every eval definition, most recently updated first."""

        def work(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                f"SELECT {_EVAL_COLUMNS} FROM eval_runs WHERE app_id = ? AND workspace_key = ? "
                "ORDER BY updated_at DESC, rowid DESC",
                self.key,
            )
            return [_eval(row) for row in rows]

        return await self.db.call(work)

    async def set_eval_status(self, eval_id: str, status: str) -> bool:
        """Change an eval's status; return whether it exists."""
        return await self.db.call(
            lambda conn: (
                conn.execute(
                    "UPDATE eval_runs SET status = ?, updated_at = ? "
                    "WHERE app_id = ? AND workspace_key = ? AND id = ?",
                    (status, _now(), *self.key, eval_id),
                ).rowcount
                > 0
            ),
            write=True,
        )

    async def delete_eval(self, eval_id: str) -> bool:
        """Delete an eval definition and its artifacts; return whether it existed."""

        def work(conn: sqlite3.Connection) -> bool:
            params = (*self.key, eval_id)
            conn.execute(
                "DELETE FROM eval_artifacts WHERE app_id = ? AND workspace_key = ? AND eval_id = ?",
                params,
            )
            return (
                conn.execute(
                    "DELETE FROM eval_runs WHERE app_id = ? AND workspace_key = ? AND id = ?",
                    params,
                ).rowcount
                > 0
            )

        return await self.db.call(work, write=True)

    async def put_artifact(
        self, eval_id: str, run_id: str, artifact: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Store an eval run's artifact (the same run id overwrites)."""
        row = (*self.key, eval_id, run_id, encode_json(dict(artifact)), _now())

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT INTO eval_artifacts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, eval_id, run_id) DO UPDATE SET "
                "artifact = excluded.artifact, created_at = excluded.created_at",
                row,
            )
            return _artifact(row[2:])

        return await self.db.call(work, write=True)

    async def list_artifacts(self, eval_id: str) -> list[dict[str, Any]]:
        """Return an eval's artifacts, newest first."""

        def work(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                f"SELECT {_ARTIFACT_COLUMNS} FROM eval_artifacts "
                "WHERE app_id = ? AND workspace_key = ? AND eval_id = ? "
                "ORDER BY created_at DESC, rowid DESC",
                (*self.key, eval_id),
            )
            return [_artifact(row) for row in rows]

        return await self.db.call(work)

    async def find_artifact(self, run_id: str) -> dict[str, Any] | None:
        """Return the artifact of an eval run id, whatever eval it belongs to, or ``None``."""

        def work(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(
                f"SELECT {_ARTIFACT_COLUMNS} FROM eval_artifacts "
                "WHERE app_id = ? AND workspace_key = ? AND run_id = ?",
                (*self.key, run_id),
            ).fetchone()
            return None if row is None else _artifact(row)

        return await self.db.call(work)
