"""Studio persistence: threads, messages, run events, approvals, traces, tests and evals.

One SQLite database holds the state behind the Studio lists and replays. :class:`StudioStore`
is its public face: synchronous methods taking the keyword-only ``app_id`` and
``workspace_key`` of the rows first, so one app workspace never sees another's rows. A missing
row raises ``KeyError``. Rows are camelCase dicts. The Studio server reads and writes the same
database through :meth:`StudioStore.workspace`. Agent memory stays in the runtime; this is UI
state only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.studio.store_chat import thread_title
from flowai_harness.studio.store_db import StoreDatabase, WorkspaceKey, utc_now
from flowai_harness.studio.workspace_store import WorkspaceRows, WorkspaceStore

__all__ = [
    "DEFAULT_STORE_PATH",
    "StudioStore",
    "WorkspaceStore",
    "thread_title",
    "utc_now",
]

#: Where ``flowai-harness dev|serve`` keep Studio state, relative to the launch directory.
DEFAULT_STORE_PATH: Final = Path(".flowai") / "studio.db"

Row = dict[str, Any]


class StudioStore:
    """The Studio's SQLite store.

    Every data method is synchronous, takes keyword arguments only, and starts with the
    ``app_id`` (the app name) and ``workspace_key`` the rows belong to.

    Args:
        path: Database file (its directory is created; older files are migrated); ``None``
            keeps everything in memory, for tests and throwaway sessions.

    Raises:
        SpecTypeError: ``path`` is not a string, a path or ``None``.
        StoreError: The file cannot be opened or migrated.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        if path is not None and not isinstance(path, str | Path):
            raise SpecTypeError(
                f"StudioStore path must be a str, a Path or None, got {type(path).__name__}"
            )
        self._path = None if path is None else Path(path)
        self._db = StoreDatabase(self._path)

    @property
    def path(self) -> Path | None:
        """The database file, or ``None`` for an in-memory store."""
        return self._path

    def rows(self, app_id: str, workspace_key: str) -> WorkspaceRows:
        """Return the synchronous rows of one app workspace.

        Raises:
            SpecValueError: ``app_id`` or ``workspace_key`` is not a non-empty string.
        """
        for name, value in (("app_id", app_id), ("workspace_key", workspace_key)):
            if not isinstance(value, str) or not value:
                raise SpecValueError(f"{name} must be a non-empty string, got {value!r}")
        return WorkspaceRows(self._db, WorkspaceKey(app_id, workspace_key))

    def workspace(self, app_id: str, workspace_key: str) -> WorkspaceStore:
        """Return the rows of one app workspace as coroutines (what the server uses)."""
        return WorkspaceStore(self.rows(app_id, workspace_key))

    def close(self) -> None:
        """Close the connection; later calls raise :class:`~flowai_harness.errors.StoreError`."""
        self._db.close()

    def __repr__(self) -> str:
        return f"StudioStore(path={None if self._path is None else str(self._path)!r})"

    # ------------------------------------------------------------------ threads

    def upsert_thread(self, *, app_id: str, workspace_key: str, thread_id: str, title: str) -> Row:
        """Create a thread, or bump an existing one's ``updatedAt`` (its title is kept).

        Returns:
            ``{threadId, title, createdAt, updatedAt}``.
        """
        return self.rows(app_id, workspace_key).upsert_thread(thread_id, title)

    def get_thread(self, *, app_id: str, workspace_key: str, thread_id: str) -> Row:
        """Return one thread; ``KeyError`` when absent."""
        return self.rows(app_id, workspace_key).get_thread(thread_id)

    def list_threads(self, *, app_id: str, workspace_key: str) -> list[Row]:
        """Return every thread, most recently updated first."""
        return self.rows(app_id, workspace_key).list_threads()

    def touch_thread(self, *, app_id: str, workspace_key: str, thread_id: str) -> Row:
        """Bump a thread's ``updatedAt``; ``KeyError`` when absent."""
        return self.rows(app_id, workspace_key).touch_thread(thread_id)

    def delete_thread(self, *, app_id: str, workspace_key: str, thread_id: str) -> None:
        """Delete a thread with its messages, run events, approvals and traces.

        Raises:
            KeyError: The thread does not exist.
        """
        self.rows(app_id, workspace_key).delete_thread(thread_id)

    # ------------------------------------------------------------------ messages

    def append_message(
        self,
        *,
        app_id: str,
        workspace_key: str,
        thread_id: str,
        role: str,
        content: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> Row:
        """Append a message (the thread is created if missing) and bump the thread.

        Returns:
            ``{messageId, threadId, role, content, metadata, createdAt}``; ``metadata``
            defaults to ``{}``.
        """
        rows = self.rows(app_id, workspace_key)
        return rows.append_message(thread_id, role, content, metadata)

    def list_messages(self, *, app_id: str, workspace_key: str, thread_id: str) -> list[Row]:
        """Return the messages of a thread, oldest first."""
        return self.rows(app_id, workspace_key).list_messages(thread_id)

    # ------------------------------------------------------------------ run events and runs

    def append_run_event(
        self,
        *,
        app_id: str,
        workspace_key: str,
        thread_id: str,
        run_id: str,
        seq: int,
        kind: str,
        event: Mapping[str, Any],
        raw_event: Any = None,
        operation: str = "chat",
        agent_id: str = "",
    ) -> None:
        """Record one event of a run: ``event`` is the Studio envelope, ``raw_event`` the
        runtime event it came from."""
        rows = self.rows(app_id, workspace_key)
        rows.append_run_event(thread_id, run_id, seq, kind, event, raw_event, operation, agent_id)

    def list_run_events(
        self, *, app_id: str, workspace_key: str, run_id: str, since_seq: int | None = None
    ) -> list[Row]:
        """Return a run's events by ascending ``seq`` (only ``seq > since_seq`` when given).

        Returns:
            ``[{seq, kind, event, raw, createdAt}]``; ``raw`` is ``{}`` when none was recorded.
        """
        return self.rows(app_id, workspace_key).list_run_events(run_id, since_seq)

    def list_thread_run_events(
        self, *, app_id: str, workspace_key: str, thread_id: str
    ) -> list[Row]:
        """Return every event of a thread's runs, in recording order."""
        return self.rows(app_id, workspace_key).list_thread_run_events(thread_id)

    def list_runs(self, *, app_id: str, workspace_key: str) -> list[Row]:
        """Return the runs computed from their events, most recent first.

        Returns:
            ``[{runId, operation, threadId, agentId, status, firstSeq, lastSeq, eventCount,
            createdAt, updatedAt}]``: operation, thread and agent come from the first event,
            the status from the kind of the last one.
        """
        return self.rows(app_id, workspace_key).list_runs()

    def get_run(self, *, app_id: str, workspace_key: str, run_id: str) -> Row:
        """Return one run; ``KeyError`` when it has no events."""
        return self.rows(app_id, workspace_key).get_run(run_id)

    # ------------------------------------------------------------------ traces

    def upsert_trace(self, *, app_id: str, workspace_key: str, trace: Mapping[str, Any]) -> Row:
        """Store or replace a trace, indexed by the ids in its ``scope``.

        Returns:
            ``{traceId, evalRunId, testCaseId, threadId, sampleIndex, trace, createdAt,
            updatedAt}``; ``trace`` is returned as given.

        Raises:
            ValueError: The trace has no ``traceId``.
        """
        return self.rows(app_id, workspace_key).upsert_trace(trace)

    def get_trace(self, *, app_id: str, workspace_key: str, trace_id: str) -> Row:
        """Return one trace row; ``KeyError`` when absent."""
        return self.rows(app_id, workspace_key).get_trace(trace_id)

    def list_traces(
        self,
        *,
        app_id: str,
        workspace_key: str,
        eval_run_id: str | None = None,
        test_case_id: str | None = None,
        thread_id: str | None = None,
    ) -> list[Row]:
        """Return the traces matching every given filter, oldest first."""
        rows = self.rows(app_id, workspace_key)
        return rows.list_traces(eval_run_id, test_case_id, thread_id)

    # ------------------------------------------------------------------ approvals

    def upsert_approval_ref(
        self,
        *,
        app_id: str,
        workspace_key: str,
        thread_id: str,
        run_id: str,
        approval_id: str,
        payload: Any,
    ) -> Row:
        """Record a pending approval; recording the same id again only refreshes its payload.

        Returns:
            ``{approvalId, threadId, runId, status, payload, createdAt, updatedAt}``.
        """
        rows = self.rows(app_id, workspace_key)
        return rows.upsert_approval_ref(thread_id, run_id, approval_id, payload)

    def update_approval_ref(
        self,
        *,
        app_id: str,
        workspace_key: str,
        approval_id: str,
        status: str,
        feedback: str | None = None,
    ) -> Row:
        """Set an approval's status (``approve``, ``reject``, ``revise``, ``expired``, ...)
        and keep a non-empty ``feedback`` as ``payload.feedback``; ``KeyError`` when absent."""
        rows = self.rows(app_id, workspace_key)
        return rows.update_approval_ref(approval_id, status, feedback)

    def list_approvals(self, *, app_id: str, workspace_key: str) -> list[Row]:
        """Return every approval: pending ones first, then the most recently updated."""
        return self.rows(app_id, workspace_key).list_approvals()

    def get_approval(self, *, app_id: str, workspace_key: str, approval_id: str) -> Row:
        """Return one approval; ``KeyError`` when absent."""
        return self.rows(app_id, workspace_key).get_approval(approval_id)

    # ------------------------------------------------------------------ test cases

    def upsert_test_case(
        self, *, app_id: str, workspace_key: str, test_case_id: str, payload: Mapping[str, Any]
    ) -> Row:
        """Insert or update a test case in place.

        Returns:
            ``{id, testCase, createdAt, updatedAt}``; ``testCase`` is the payload as given.
        """
        return self.rows(app_id, workspace_key).upsert_test_case(test_case_id, payload)

    def get_test_case(self, *, app_id: str, workspace_key: str, test_case_id: str) -> Row:
        """Return one test case; ``KeyError`` when absent."""
        return self.rows(app_id, workspace_key).get_test_case(test_case_id)

    def list_test_cases(self, *, app_id: str, workspace_key: str) -> list[Row]:
        """Return every test case, oldest first."""
        return self.rows(app_id, workspace_key).list_test_cases()

    def delete_test_case(self, *, app_id: str, workspace_key: str, test_case_id: str) -> None:
        """Delete a test case; ``KeyError`` when absent."""
        self.rows(app_id, workspace_key).delete_test_case(test_case_id)

    # ------------------------------------------------------------------ evals

    def upsert_eval_run(
        self,
        *,
        app_id: str,
        workspace_key: str,
        eval_id: str,
        config: Mapping[str, Any],
        test_case_ids: Sequence[str],
        status: str = "created",
        scorer_preset: Any = None,
    ) -> Row:
        """Insert or update an eval definition.

        Returns:
            ``{id, config, scorerPreset, testCaseIds, status, createdAt, updatedAt}``;
            ``config`` is returned as given.
        """
        rows = self.rows(app_id, workspace_key)
        return rows.upsert_eval_run(eval_id, config, test_case_ids, status, scorer_preset)

    def get_eval_run(self, *, app_id: str, workspace_key: str, eval_id: str) -> Row:
        """Return one eval definition; ``KeyError`` when absent."""
        return self.rows(app_id, workspace_key).get_eval_run(eval_id)

    def list_eval_runs(self, *, app_id: str, workspace_key: str) -> list[Row]:
        """Return every eval definition, most recently updated first."""
        return self.rows(app_id, workspace_key).list_eval_runs()

    def update_eval_run_status(
        self, *, app_id: str, workspace_key: str, eval_id: str, status: str
    ) -> Row:
        """Set an eval's status; ``KeyError`` when absent."""
        return self.rows(app_id, workspace_key).update_eval_run_status(eval_id, status)

    def delete_eval_run(self, *, app_id: str, workspace_key: str, eval_id: str) -> None:
        """Delete an eval and its artifacts; ``KeyError`` when absent."""
        self.rows(app_id, workspace_key).delete_eval_run(eval_id)

    # ------------------------------------------------------------------ eval artifacts

    def append_eval_artifact(
        self,
        *,
        app_id: str,
        workspace_key: str,
        eval_id: str,
        run_id: str,
        artifact: Mapping[str, Any],
    ) -> Row:
        """Store the artifact of one eval run (the same ``eval_id`` and ``run_id`` overwrite).

        Returns:
            ``{evalId, runId, artifact, createdAt}``.
        """
        return self.rows(app_id, workspace_key).append_eval_artifact(eval_id, run_id, artifact)

    def get_eval_artifact(
        self, *, app_id: str, workspace_key: str, eval_id: str, run_id: str
    ) -> Row:
        """Return the artifact of one run of an eval; ``KeyError`` when absent."""
        return self.rows(app_id, workspace_key).get_eval_artifact(eval_id, run_id)

    def get_eval_artifact_by_run(self, *, app_id: str, workspace_key: str, run_id: str) -> Row:
        """Return the artifact of an eval run id, whichever eval ran it; ``KeyError`` if none."""
        return self.rows(app_id, workspace_key).get_eval_artifact_by_run(run_id)

    def list_eval_artifacts(self, *, app_id: str, workspace_key: str, eval_id: str) -> list[Row]:
        """Return an eval's artifacts, oldest first."""
        return self.rows(app_id, workspace_key).list_eval_artifacts(eval_id)

    def latest_eval_summary(self, *, app_id: str, workspace_key: str, eval_id: str) -> Any:
        """Return the ``summary`` of an eval's newest artifact, or ``None`` before any run."""
        return self.rows(app_id, workspace_key).latest_eval_summary(eval_id)
