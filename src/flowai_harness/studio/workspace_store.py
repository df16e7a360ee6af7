"""The Studio rows of one workspace, synchronous (:class:`WorkspaceRows`) and as coroutines for
the server (:class:`WorkspaceStore`).

Both read and write the same database as the :class:`~flowai_harness.studio.store.StudioStore`
they come from; the coroutines run each call in a worker thread, so the event loop never waits
on disk. A missing row raises ``KeyError`` in both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from flowai_harness.studio.store_chat import ChatRows
from flowai_harness.studio.store_records import EvalRecords

__all__ = ["WorkspaceRows", "WorkspaceStore"]

P = ParamSpec("P")
T = TypeVar("T")


class WorkspaceRows(ChatRows, EvalRecords):
    """Every kind of Studio row of one ``(app_id, workspace_key)``; synchronous."""


class WorkspaceStore:
    """The rows of one workspace as coroutines (the server's view of the store).

    Args:
        rows: The synchronous rows of the workspace.
    """

    def __init__(self, rows: WorkspaceRows) -> None:
        self.rows = rows

    @property
    def workspace_key(self) -> str:
        """The workspace these rows belong to."""
        return self.rows.workspace_key

    @staticmethod
    async def _run(method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(method, *args, **kwargs)

    # threads and messages

    async def upsert_thread(self, thread_id: str, title: str) -> dict[str, Any]:
        """See :meth:`ChatRows.upsert_thread`."""
        return await self._run(self.rows.upsert_thread, thread_id, title)

    async def get_thread(self, thread_id: str) -> dict[str, Any]:
        """See :meth:`ChatRows.get_thread`."""
        return await self._run(self.rows.get_thread, thread_id)

    async def list_threads(self) -> list[dict[str, Any]]:
        """See :meth:`ChatRows.list_threads`."""
        return await self._run(self.rows.list_threads)

    async def delete_thread(self, thread_id: str) -> None:
        """See :meth:`ChatRows.delete_thread`."""
        await self._run(self.rows.delete_thread, thread_id)

    async def append_message(
        self, thread_id: str, role: str, content: str, metadata: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """See :meth:`ChatRows.append_message`."""
        return await self._run(self.rows.append_message, thread_id, role, content, metadata)

    async def list_messages(self, thread_id: str) -> list[dict[str, Any]]:
        """See :meth:`ChatRows.list_messages`."""
        return await self._run(self.rows.list_messages, thread_id)

    # run events and runs

    async def append_run_event(
        self,
        *,
        thread_id: str,
        run_id: str,
        seq: int,
        kind: str,
        event: Mapping[str, Any],
        raw_event: Any = None,
        operation: str = "chat",
        agent_id: str = "",
        sent: bool = True,
    ) -> None:
        """See :meth:`ChatRows.append_run_event`."""
        await self._run(
            self.rows.append_run_event,
            thread_id,
            run_id,
            seq,
            kind,
            event,
            raw_event,
            operation,
            agent_id,
            sent=sent,
        )

    async def list_run_events(
        self, run_id: str, since_seq: int | None = None, *, sent_only: bool = False
    ) -> list[dict[str, Any]]:
        """See :meth:`ChatRows.list_run_events`."""
        return await self._run(self.rows.list_run_events, run_id, since_seq, sent_only=sent_only)

    async def list_thread_run_events(self, thread_id: str) -> list[dict[str, Any]]:
        """See :meth:`ChatRows.list_thread_run_events`."""
        return await self._run(self.rows.list_thread_run_events, thread_id)

    async def list_runs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """See :meth:`ChatRows.list_runs`."""
        return await self._run(self.rows.list_runs, limit)

    async def get_run(self, run_id: str) -> dict[str, Any]:
        """See :meth:`ChatRows.get_run`."""
        return await self._run(self.rows.get_run, run_id)

    # approvals

    async def upsert_approval_ref(
        self, *, thread_id: str, run_id: str, approval_id: str, payload: Any
    ) -> dict[str, Any]:
        """See :meth:`ChatRows.upsert_approval_ref`."""
        return await self._run(
            self.rows.upsert_approval_ref, thread_id, run_id, approval_id, payload
        )

    async def update_approval_ref(
        self, approval_id: str, status: str, feedback: str | None = None
    ) -> dict[str, Any]:
        """See :meth:`ChatRows.update_approval_ref`."""
        return await self._run(self.rows.update_approval_ref, approval_id, status, feedback)

    async def expire_pending_approvals(self, run_id: str) -> int:
        """See :meth:`ChatRows.expire_pending_approvals`."""
        return await self._run(self.rows.expire_pending_approvals, run_id)

    async def list_approvals(self) -> list[dict[str, Any]]:
        """See :meth:`ChatRows.list_approvals`."""
        return await self._run(self.rows.list_approvals)

    async def get_approval(self, approval_id: str) -> dict[str, Any]:
        """See :meth:`ChatRows.get_approval`."""
        return await self._run(self.rows.get_approval, approval_id)

    # traces

    async def upsert_trace(self, trace: Mapping[str, Any]) -> dict[str, Any]:
        """See :meth:`EvalRecords.upsert_trace`."""
        return await self._run(self.rows.upsert_trace, trace)

    async def get_trace(self, trace_id: str) -> dict[str, Any]:
        """See :meth:`EvalRecords.get_trace`."""
        return await self._run(self.rows.get_trace, trace_id)

    async def list_traces(
        self,
        *,
        eval_run_id: str | None = None,
        test_case_id: str | None = None,
        thread_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """See :meth:`EvalRecords.list_traces`."""
        return await self._run(self.rows.list_traces, eval_run_id, test_case_id, thread_id)

    # test cases

    async def upsert_test_case(
        self, test_case_id: str, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """See :meth:`EvalRecords.upsert_test_case`."""
        return await self._run(self.rows.upsert_test_case, test_case_id, payload)

    async def get_test_case(self, test_case_id: str) -> dict[str, Any]:
        """See :meth:`EvalRecords.get_test_case`."""
        return await self._run(self.rows.get_test_case, test_case_id)

    async def list_test_cases(self) -> list[dict[str, Any]]:
        """See :meth:`EvalRecords.list_test_cases`."""
        return await self._run(self.rows.list_test_cases)

    async def delete_test_case(self, test_case_id: str) -> None:
        """See :meth:`EvalRecords.delete_test_case`."""
        await self._run(self.rows.delete_test_case, test_case_id)

    # evals and artifacts

    async def upsert_eval_run(
        self,
        eval_id: str,
        *,
        config: Mapping[str, Any],
        test_case_ids: Sequence[str],
        status: str = "created",
        scorer_preset: Any = None,
    ) -> dict[str, Any]:
        """See :meth:`EvalRecords.upsert_eval_run`."""
        return await self._run(
            self.rows.upsert_eval_run, eval_id, config, test_case_ids, status, scorer_preset
        )

    async def get_eval_run(self, eval_id: str) -> dict[str, Any]:
        """See :meth:`EvalRecords.get_eval_run`."""
        return await self._run(self.rows.get_eval_run, eval_id)

    async def list_eval_runs(self) -> list[dict[str, Any]]:
        """See :meth:`EvalRecords.list_eval_runs`."""
        return await self._run(self.rows.list_eval_runs)

    async def update_eval_run_status(self, eval_id: str, status: str) -> dict[str, Any]:
        """See :meth:`EvalRecords.update_eval_run_status`."""
        return await self._run(self.rows.update_eval_run_status, eval_id, status)

    async def delete_eval_run(self, eval_id: str) -> None:
        """See :meth:`EvalRecords.delete_eval_run`."""
        await self._run(self.rows.delete_eval_run, eval_id)

    async def append_eval_artifact(
        self, eval_id: str, run_id: str, artifact: Mapping[str, Any]
    ) -> dict[str, Any]:
        """See :meth:`EvalRecords.append_eval_artifact`."""
        return await self._run(self.rows.append_eval_artifact, eval_id, run_id, artifact)

    async def list_eval_artifacts(self, eval_id: str) -> list[dict[str, Any]]:
        """See :meth:`EvalRecords.list_eval_artifacts`."""
        return await self._run(self.rows.list_eval_artifacts, eval_id)

    async def get_eval_artifact_by_run(self, run_id: str) -> dict[str, Any]:
        """See :meth:`EvalRecords.get_eval_artifact_by_run`."""
        return await self._run(self.rows.get_eval_artifact_by_run, run_id)
