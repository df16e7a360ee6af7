"""Runs, run events, run replay and traces.

A run row is the store's (operation, thread and agent from its first event, status from its
last) plus the contract's ``RunSummary`` fields: ``operation`` becomes the contract category
(``chat``, ``eval``, ``profile``, ``ingest``, ``tool`` or ``custom``) with the stored name kept
as ``operationName``; ``startedAt`` and, once ended, ``completedAt``; and a run whose last
event asks for an approval is ``waiting``. The list takes optional filters (``status``,
``operation``, ``agentId``, ``threadId``, ``q``) and ``offset``; with any of them the answer
also carries the ``total`` count of matching runs, for server-side paging.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Depends, Header, Query

from flowai_harness.studio.api_errors import StudioApiError, not_found
from flowai_harness.studio.context import Workspace, workspace_scope
from flowai_harness.studio.live_runs import Frame, LiveRun, Subscription
from flowai_harness.studio.sse import sse_response

__all__ = ["router"]

W = "/api/workspaces/{workspace_key}"

_OPERATION_CATEGORIES: Final = {
    "chat": "chat",
    "eval": "eval",
    "tool": "tool",
    "data.profile.table": "profile",
    "data.profile.database": "profile",
    "data.knowledge.ingest": "ingest",
}


def run_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored run row with the contract's ``RunSummary`` fields (see the module doc)."""
    operation = str(row.get("operation") or "chat")
    status = row["status"]
    if status == "running" and row.get("lastKind") == "approval.required":
        status = "waiting"
    view = {
        **row,
        "operation": _OPERATION_CATEGORIES.get(operation, "custom"),
        "operationName": operation,
        "status": status,
        "startedAt": row["createdAt"],
    }
    if status in ("completed", "failed", "cancelled"):
        view["completedAt"] = row["updatedAt"]
    return view


@dataclass(frozen=True, slots=True)
class RunFilters:
    """Optional filters of the runs list (``q`` matches run, thread, agent or operation)."""

    status: str | None = None
    operation: str | None = None
    agent_id: str | None = None
    thread_id: str | None = None
    q: str | None = None

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(
            value for value in (self.status, self.operation, self.agent_id, self.thread_id, self.q)
        )

    def match(self, run: Mapping[str, Any]) -> bool:
        """Whether a run view passes every filter that is set."""
        if self.status and run["status"] != self.status:
            return False
        if self.operation and self.operation not in (run["operation"], run["operationName"]):
            return False
        if self.agent_id and run.get("agentId") != self.agent_id:
            return False
        if self.thread_id and run.get("threadId") != self.thread_id:
            return False
        if self.q:
            needle = self.q.strip().lower()
            fields = ("runId", "threadId", "agentId", "operationName")
            return any(needle in str(run.get(name) or "").lower() for name in fields)
        return True


async def _run_or_404(workspace: Workspace, run_id: str) -> dict[str, Any]:
    try:
        return await workspace.store.get_run(run_id)
    except KeyError:
        raise not_found(workspace.key, "run", "runId", run_id) from None


def _since(last_event_id: str | None, since_seq: int | None) -> int:
    if since_seq is not None:
        return max(0, since_seq)
    if last_event_id is None or not last_event_id.strip():
        return 0
    try:
        return max(0, int(last_event_id.strip()))
    except ValueError:
        raise StudioApiError(
            400,
            "run.invalid_last_event_id",
            f"Last-Event-ID must be an event seq number, got {last_event_id!r}.",
        ) from None


async def _replay(
    workspace: Workspace,
    run_id: str,
    since: int,
    live: LiveRun | None,
    subscription: Subscription | None,
) -> AsyncIterator[Frame]:
    try:
        last = since
        for event in await workspace.store.list_run_events(run_id, since, sent_only=True):
            last = event["seq"]
            yield Frame(event["kind"], event["event"], event["seq"])
        if subscription is not None:
            async for frame in subscription:
                if frame.id is None or frame.id > last:
                    last = frame.id if frame.id is not None else last
                    yield frame
            if subscription.lagged and live is not None:
                # Fell behind the live feed: send what was missed from the record, then stop;
                # the client reconnects with Last-Event-ID for the rest.
                for event in await workspace.store.list_run_events(run_id, last, sent_only=True):
                    yield Frame(event["kind"], event["event"], event["seq"])
    finally:
        if subscription is not None:
            subscription.close()


async def list_runs(
    workspace: Workspace = Depends(workspace_scope),
    limit: int | None = Query(None, ge=1, le=10_000),
    offset: int | None = Query(None, ge=0),
    status: str | None = Query(None),
    operation: str | None = Query(None),
    agent_id: str | None = Query(None, alias="agentId"),
    thread_id: str | None = Query(None, alias="threadId"),
    q: str | None = Query(None, max_length=200),
) -> dict[str, Any]:
    filters = RunFilters(status, operation, agent_id, thread_id, q)
    if not filters.active and offset is None:
        runs = [run_view(row) for row in await workspace.store.list_runs(limit)]
        return {"workspaceKey": workspace.key, "runs": runs}
    matching = [
        view for row in await workspace.store.list_runs() if filters.match(view := run_view(row))
    ]
    start = offset or 0
    page = matching[start : None if limit is None else start + limit]
    return {
        "workspaceKey": workspace.key,
        "runs": page,
        "total": len(matching),
        "offset": start,
    }


async def get_run(run_id: str, workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    run = run_view(await _run_or_404(workspace, run_id))
    # The run row at the top level (contract RunSummary) and wrapped (reference server).
    return {**run, "workspaceKey": workspace.key, "run": run}


async def list_run_events(
    run_id: str,
    workspace: Workspace = Depends(workspace_scope),
    since_seq: int = Query(0, ge=0),
) -> dict[str, Any]:
    await _run_or_404(workspace, run_id)
    events = await workspace.store.list_run_events(run_id, since_seq)
    return {"workspaceKey": workspace.key, "runId": run_id, "events": events}


async def stream_run(
    run_id: str,
    workspace: Workspace = Depends(workspace_scope),
    last_event_id: str | None = Header(None),
    since_seq: int | None = Query(None, ge=0),
) -> Any:
    since = _since(last_event_id, since_seq)
    live = workspace.runs.get(workspace.key, run_id)
    subscription = None
    if live is not None and not live.done.is_set():
        subscription = live.subscribe(lossless=False)
    else:
        await _run_or_404(workspace, run_id)
    return sse_response(_replay(workspace, run_id, since, live, subscription))


async def list_traces(
    workspace: Workspace = Depends(workspace_scope),
    eval_run_id: str | None = Query(None, alias="evalRunId"),
    test_case_id: str | None = Query(None, alias="testCaseId"),
    thread_id: str | None = Query(None, alias="threadId"),
) -> dict[str, Any]:
    traces = await workspace.store.list_traces(
        eval_run_id=eval_run_id, test_case_id=test_case_id, thread_id=thread_id
    )
    return {"workspaceKey": workspace.key, "traces": traces}


async def get_trace(
    trace_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    row: dict[str, Any] | None = None
    with contextlib.suppress(KeyError):
        row = await workspace.store.get_trace(trace_id)
    if row is None or _unfinished_run(row):
        found = await _runtime_trace(workspace, trace_id)
        if found is not None:
            row = await workspace.store.upsert_trace(found)
    if row is None:
        raise StudioApiError(
            404,
            "trace.not_found",
            f"Trace `{trace_id}` was not found in workspace `{workspace.key}`.",
            {"workspaceKey": workspace.key, "traceId": trace_id},
        )
    return {"workspaceKey": workspace.key, "trace": row}


def _unfinished_run(row: Mapping[str, Any]) -> bool:
    """Whether a stored row is the trace of a run that was still going when it was stored."""
    trace = row.get("trace")
    return (
        isinstance(trace, Mapping)
        and trace.get("kind") == "run"
        and trace.get("status") == "running"
    )


async def _runtime_trace(workspace: Workspace, trace_id: str) -> dict[str, Any] | None:
    """A trace the workspace's runtime keeps, as the Studio stores it.

    ``trace_id`` is an eval sample's trace id or a runtime run id (``Runtime.get_trace``), or
    the Studio id of a chat run: its runtime run is the one whose entry invocation is the
    ``tool-agent`` call the chat run recorded first, and its trace is filed under the Studio
    id (the runtime's own id stays in ``runId``).
    """
    if not workspace.binding.runtime_constructed:
        return None
    runtime = workspace.binding.get_runtime()
    get = getattr(runtime, "get_trace", None)
    found = get(trace_id) if callable(get) else None
    if isinstance(found, dict) and found.get("traceId") == trace_id:
        return found
    try:
        run = await workspace.store.get_run(trace_id)
        events = await workspace.store.list_run_events(trace_id)
    except KeyError:
        return None
    raws = (event.get("raw") for event in events)
    entry = next(
        (
            r.get("toolInvocationId")
            for r in raws
            if isinstance(r, Mapping) and r.get("type") == "tool-agent"
        ),
        None,
    )
    thread_id = run.get("threadId")
    if not isinstance(entry, str) or not isinstance(thread_id, str):
        return None
    try:
        traces = runtime.list_traces(thread_id=thread_id, kind="run")
    except (AttributeError, TypeError, ValueError):  # a runtime without run traces
        return None
    match = next((t for t in traces if t.get("entryInvocationId") == entry), None)
    return None if match is None else {**match, "traceId": trace_id}


def router() -> APIRouter:
    """Build the run and trace routes."""
    api = APIRouter(tags=["runs"])
    api.add_api_route(f"{W}/runs", list_runs, methods=["GET"])
    api.add_api_route(f"{W}/runs/{{run_id}}", get_run, methods=["GET"])
    api.add_api_route(f"{W}/runs/{{run_id}}/events", list_run_events, methods=["GET"])
    api.add_api_route(f"{W}/runs/{{run_id}}/stream", stream_run, methods=["GET"])
    api.add_api_route(f"{W}/traces", list_traces, methods=["GET"])
    api.add_api_route(f"{W}/traces/{{trace_id}}", get_trace, methods=["GET"])
    return api
