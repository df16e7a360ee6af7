"""Studio rows about evaluation: traces, test cases, eval definitions and eval artifacts.

:class:`EvalRecords` sees the rows of one ``(app_id, workspace_key)`` only. Its methods are
synchronous; a missing row raises ``KeyError``. Payloads (traces, test cases, eval configs,
artifacts) are stored as given and returned as stored.
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

__all__ = ["EvalRecords", "trace_index"]

_TRACE_COLUMNS: Final = (
    "trace_id, eval_run_id, test_case_id, thread_id, sample_index, trace, created_at, updated_at"
)
_TEST_COLUMNS: Final = "id, test_case, created_at, updated_at"
_EVAL_COLUMNS: Final = "id, definition, test_case_ids, status, created_at, updated_at"
_ARTIFACT_COLUMNS: Final = "eval_id, run_id, artifact, created_at"
_SCOPE: Final = "app_id = ? AND workspace_key = ?"


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


def trace_index(trace: Mapping[str, Any]) -> tuple[Any, Any, Any, int | None]:
    """The ``(evalRunId, testCaseId, threadId, sampleIndex)`` a trace is filed under.

    They are read from ``trace["scope"]``; an id the scope lacks is taken from the top level of
    the trace (traces recorded before ids moved into the scope).
    """
    scope = trace.get("scope")
    scope = scope if isinstance(scope, Mapping) else {}

    def pick(name: str) -> Any:
        value = scope.get(name)
        return trace.get(name) if value is None else value

    sample = pick("sampleIndex")
    sample_index = sample if isinstance(sample, int) and not isinstance(sample, bool) else None
    return pick("evalRunId"), pick("testCaseId"), pick("threadId"), sample_index


class EvalRecords:
    """Traces, test cases, eval definitions and eval artifacts of one workspace."""

    def __init__(self, db: StoreDatabase, key: WorkspaceKey) -> None:
        self.db = db
        self.key = key

    def _one(self, sql: str, params: Sequence[Any], missing: str) -> Sequence[Any]:
        row: Sequence[Any] | None = self.db.run(
            lambda conn: conn.execute(sql, (*self.key, *params)).fetchone()
        )
        if row is None:
            raise KeyError(missing)
        return row

    # ------------------------------------------------------------------ traces

    def upsert_trace(self, trace: Mapping[str, Any]) -> dict[str, Any]:
        """Store (or replace) a trace, filed under the ids of its scope (see :func:`trace_index`).

        Raises:
            ValueError: The trace has no ``traceId``.
        """
        trace_id = trace.get("traceId") if isinstance(trace, Mapping) else None
        if not isinstance(trace_id, str) or not trace_id:
            raise ValueError("trace must include traceId")
        now = utc_now()
        encoded = encode_json(dict(trace))
        row = (*self.key, trace_id, *trace_index(trace), encoded, now, now)

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, trace_id) DO UPDATE SET "
                "eval_run_id = excluded.eval_run_id, test_case_id = excluded.test_case_id, "
                "thread_id = excluded.thread_id, sample_index = excluded.sample_index, "
                "trace = excluded.trace, updated_at = excluded.updated_at",
                row,
            )
            stored = conn.execute(
                f"SELECT {_TRACE_COLUMNS} FROM traces WHERE {_SCOPE} AND trace_id = ?",
                (*self.key, trace_id),
            ).fetchone()
            return _trace(stored)

        return self.db.run(work, write=True)

    def get_trace(self, trace_id: str) -> dict[str, Any]:
        """Return one stored trace row; ``KeyError`` when absent."""
        sql = f"SELECT {_TRACE_COLUMNS} FROM traces WHERE {_SCOPE} AND trace_id = ?"
        return _trace(self._one(sql, (trace_id,), trace_id))

    def list_traces(
        self,
        eval_run_id: str | None = None,
        test_case_id: str | None = None,
        thread_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return the traces matching every given filter, oldest first."""
        sql = f"SELECT {_TRACE_COLUMNS} FROM traces WHERE {_SCOPE}"
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
        return self.db.run(lambda conn: [_trace(r) for r in conn.execute(sql, params)])

    # ------------------------------------------------------------------ test cases

    def upsert_test_case(self, test_case_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Insert or update a test case in place (its creation time is kept)."""
        now = utc_now()
        encoded = encode_json(dict(payload))

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT INTO test_cases VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, id) DO UPDATE SET test_case = excluded.test_case, "
                "updated_at = excluded.updated_at",
                (*self.key, test_case_id, encoded, now, now),
            )
            stored = conn.execute(
                f"SELECT {_TEST_COLUMNS} FROM test_cases WHERE {_SCOPE} AND id = ?",
                (*self.key, test_case_id),
            ).fetchone()
            return _test(stored)

        return self.db.run(work, write=True)

    def get_test_case(self, test_case_id: str) -> dict[str, Any]:
        """Return one test case row; ``KeyError`` when absent."""
        sql = f"SELECT {_TEST_COLUMNS} FROM test_cases WHERE {_SCOPE} AND id = ?"
        return _test(self._one(sql, (test_case_id,), test_case_id))

    def list_test_cases(self) -> list[dict[str, Any]]:
        """Return every test case, oldest first."""
        sql = f"SELECT {_TEST_COLUMNS} FROM test_cases WHERE {_SCOPE} ORDER BY created_at, rowid"
        return self.db.run(lambda conn: [_test(row) for row in conn.execute(sql, self.key)])

    def delete_test_case(self, test_case_id: str) -> None:
        """Delete one test case; ``KeyError`` when absent."""
        deleted = self.db.run(
            lambda conn: (
                conn.execute(
                    f"DELETE FROM test_cases WHERE {_SCOPE} AND id = ?", (*self.key, test_case_id)
                ).rowcount
            ),
            write=True,
        )
        if not deleted:
            raise KeyError(test_case_id)

    # ------------------------------------------------------------------ eval definitions

    def upsert_eval_run(
        self,
        eval_id: str,
        config: Mapping[str, Any],
        test_case_ids: Sequence[str],
        status: str = "created",
        scorer_preset: Any = None,
    ) -> dict[str, Any]:
        """Insert or update an eval definition (its creation time is kept)."""
        now = utc_now()
        definition = encode_json({"config": config, "scorerPreset": scorer_preset})
        ids = encode_json(list(test_case_ids))

        def work(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT INTO eval_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, id) DO UPDATE SET definition = excluded.definition, "
                "test_case_ids = excluded.test_case_ids, status = excluded.status, "
                "updated_at = excluded.updated_at",
                (*self.key, eval_id, definition, ids, status, now, now),
            )
            stored = conn.execute(
                f"SELECT {_EVAL_COLUMNS} FROM eval_runs WHERE {_SCOPE} AND id = ?",
                (*self.key, eval_id),
            ).fetchone()
            return _eval(stored)

        return self.db.run(work, write=True)

    def get_eval_run(self, eval_id: str) -> dict[str, Any]:
        """Return one eval definition; ``KeyError`` when absent."""
        sql = f"SELECT {_EVAL_COLUMNS} FROM eval_runs WHERE {_SCOPE} AND id = ?"
        return _eval(self._one(sql, (eval_id,), eval_id))

    def list_eval_runs(self) -> list[dict[str, Any]]:
        """Return every eval definition, most recently updated first."""
        sql = (
            f"SELECT {_EVAL_COLUMNS} FROM eval_runs WHERE {_SCOPE} "
            "ORDER BY updated_at DESC, rowid DESC"
        )
        return self.db.run(lambda conn: [_eval(row) for row in conn.execute(sql, self.key)])

    def update_eval_run_status(self, eval_id: str, status: str) -> dict[str, Any]:
        """Set an eval's status; ``KeyError`` when it does not exist."""
        updated = self.db.run(
            lambda conn: (
                conn.execute(
                    f"UPDATE eval_runs SET status = ?, updated_at = ? WHERE {_SCOPE} AND id = ?",
                    (status, utc_now(), *self.key, eval_id),
                ).rowcount
            ),
            write=True,
        )
        if not updated:
            raise KeyError(eval_id)
        return self.get_eval_run(eval_id)

    def delete_eval_run(self, eval_id: str) -> None:
        """Delete an eval definition and its artifacts; ``KeyError`` when absent."""

        def work(conn: sqlite3.Connection) -> int:
            params = (*self.key, eval_id)
            conn.execute(f"DELETE FROM eval_artifacts WHERE {_SCOPE} AND eval_id = ?", params)
            return conn.execute(f"DELETE FROM eval_runs WHERE {_SCOPE} AND id = ?", params).rowcount

        if not self.db.run(work, write=True):
            raise KeyError(eval_id)

    # ------------------------------------------------------------------ eval artifacts

    def append_eval_artifact(
        self, eval_id: str, run_id: str, artifact: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Store an eval run's artifact (the same ``(eval_id, run_id)`` overwrites)."""
        row = (eval_id, run_id, encode_json(dict(artifact)), utc_now())
        self.db.run(
            lambda conn: conn.execute(
                "INSERT INTO eval_artifacts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(app_id, workspace_key, eval_id, run_id) DO UPDATE SET "
                "artifact = excluded.artifact, created_at = excluded.created_at",
                (*self.key, *row),
            ),
            write=True,
        )
        return _artifact(row)

    def get_eval_artifact(self, eval_id: str, run_id: str) -> dict[str, Any]:
        """Return the artifact of one run of an eval; ``KeyError`` when absent."""
        sql = (
            f"SELECT {_ARTIFACT_COLUMNS} FROM eval_artifacts "
            f"WHERE {_SCOPE} AND eval_id = ? AND run_id = ?"
        )
        return _artifact(self._one(sql, (eval_id, run_id), run_id))

    def get_eval_artifact_by_run(self, run_id: str) -> dict[str, Any]:
        """Return the artifact of an eval run id, whatever eval it belongs to."""
        sql = (
            f"SELECT {_ARTIFACT_COLUMNS} FROM eval_artifacts WHERE {_SCOPE} AND run_id = ? "
            "ORDER BY created_at DESC, rowid DESC"
        )
        return _artifact(self._one(sql, (run_id,), run_id))

    def list_eval_artifacts(self, eval_id: str) -> list[dict[str, Any]]:
        """Return an eval's artifacts, oldest first (then by run id)."""
        sql = (
            f"SELECT {_ARTIFACT_COLUMNS} FROM eval_artifacts WHERE {_SCOPE} AND eval_id = ? "
            "ORDER BY created_at, run_id"
        )
        return self.db.run(
            lambda conn: [_artifact(row) for row in conn.execute(sql, (*self.key, eval_id))]
        )

    def latest_eval_summary(self, eval_id: str) -> Any:
        """The ``summary`` of an eval's newest artifact, or ``None`` before its first run."""
        artifacts = self.list_eval_artifacts(eval_id)
        if not artifacts:
            return None
        artifact = artifacts[-1]["artifact"]
        return artifact.get("summary") if isinstance(artifact, Mapping) else None
