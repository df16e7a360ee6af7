"""Reading a thread back: its messages as the UI shows them, and what its runs did.

* :func:`message_view`: the stored messages with ``metadata.parts`` edited and mirrored as
  ``parts``: ``tool-agent`` parts about entrypoint agents are left out, empty tool arguments
  are filled in from the run's recorded start events, and an eval sample's answer gets its tool
  parts from the sample's stored trace.
* :func:`thread_trace`: the builder trace of a thread (trajectory, tool calls, sub-agent calls)
  from its recorded events, or from the stored eval trace of an eval sample thread.
* :func:`draft_test_case`: a test case drafted from a chat thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowai_harness.studio.context import Workspace
    from flowai_harness.studio.workspace_store import WorkspaceStore

__all__ = ["draft_test_case", "message_view", "planned_actions", "thread_trace"]


def _inline(record: Any) -> Any:
    if isinstance(record, Mapping) and record.get("kind") == "inline":
        return record.get("value")
    return None


def _ordinal(step: Mapping[str, Any]) -> int:
    ordinal = step.get("ordinal")
    return ordinal if isinstance(ordinal, int) else 0


def _step_parts(trace: Mapping[str, Any]) -> list[dict[str, Any]]:
    steps = [step for step in trace.get("steps") or [] if isinstance(step, Mapping)]
    steps.sort(key=_ordinal)
    return [
        {
            "type": "tool-invocation",
            "toolCallId": step.get("toolCallId"),
            "toolName": step.get("toolName"),
            "args": _inline(step.get("arguments")),
            "state": "result",
            "result": _inline(step.get("result")),
        }
        for step in steps
    ]


def _started_arguments(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for event in events:
        if event.get("kind") == "tool.call.started":
            payload = event.get("event", {}).get("payload", {})
            arguments.setdefault(str(payload.get("toolCallId")), payload.get("arguments"))
    return arguments


async def _eval_trace(
    store: WorkspaceStore, thread_id: str, metadata: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The stored trace of the eval sample an answer came from, or ``None``."""
    run_id, case_id = metadata.get("runId"), metadata.get("testCaseId")
    if not isinstance(run_id, str) or not isinstance(case_id, str):
        return None
    rows = await store.list_traces(eval_run_id=run_id, test_case_id=case_id, thread_id=thread_id)
    sample = metadata.get("sampleIndex")
    if isinstance(sample, int):
        rows = [row for row in rows if row["sampleIndex"] == sample]
    return rows[-1] if rows else None


class _MessageEditor:
    """Edits the parts of the assistant messages of one thread (see :func:`message_view`)."""

    def __init__(self, workspace: Workspace, thread_id: str) -> None:
        self.store = workspace.store
        self.thread_id = thread_id
        self.entrypoints = {
            agent.name
            for agent in workspace.binding.runtime_spec.agents
            if agent.role == "coordinator"
        }
        self._arguments: dict[str, dict[str, Any]] = {}

    async def _started(self, run_id: Any) -> dict[str, Any]:
        if not isinstance(run_id, str) or not run_id:
            return {}
        if run_id not in self._arguments:
            events = await self.store.list_run_events(run_id)
            self._arguments[run_id] = _started_arguments(events)
        return self._arguments[run_id]

    async def edit(self, message: dict[str, Any]) -> None:
        metadata = message["metadata"]
        if not isinstance(metadata, dict):
            return
        parts = metadata.get("parts")
        has_tools = isinstance(parts, list) and any(
            isinstance(p, Mapping) and p.get("type") == "tool-invocation" for p in parts
        )
        if metadata.get("source") == "eval" and not has_tools:
            row = await _eval_trace(self.store, self.thread_id, metadata)
            if row is not None:
                parts = [*_step_parts(row["trace"]), {"type": "text", "text": message["content"]}]
                metadata["traceId"] = row["traceId"]
        if not isinstance(parts, list):
            return
        kept: list[dict[str, Any]] = []
        for part in parts:
            if not isinstance(part, Mapping):
                continue
            part = dict(part)
            if part.get("type") == "tool-agent" and part.get("agentName") in self.entrypoints:
                continue
            if part.get("type") == "tool-invocation" and part.get("args") in (None, {}):
                started = await self._started(metadata.get("runId"))
                part["args"] = started.get(str(part.get("toolCallId")), part.get("args"))
            kept.append(part)
        metadata["parts"] = kept
        message["parts"] = [dict(part) for part in kept]


async def message_view(workspace: Workspace, thread_id: str) -> list[dict[str, Any]]:
    """The messages of a thread as ``GET W/threads/{id}/messages`` returns them."""
    messages = await workspace.store.list_messages(thread_id)
    editor = _MessageEditor(workspace, thread_id)
    for message in messages:
        if message["role"] == "assistant":
            await editor.edit(message)
    return messages


def _tool_calls(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The tool calls of a thread's recorded events, in order, one per call id.

    A start or end without a call id counts as its own call, except that an end pairs with the
    latest start of the same tool that had no id either.
    """
    calls: dict[tuple[str, ...], dict[str, Any]] = {}
    anonymous: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for number, event in enumerate(events):
        kind = event["kind"]
        if kind not in ("tool.call.started", "tool.call.completed"):
            continue
        payload = event.get("event", {}).get("payload", {})
        run_id, name = str(event.get("runId", "")), str(payload.get("toolName", ""))
        call_id = str(payload.get("toolCallId") or "")
        key: tuple[str, ...] = (run_id, call_id)
        if not call_id:
            waiting = anonymous.setdefault((run_id, name), [])
            if kind == "tool.call.completed" and waiting:
                key = waiting.pop()
            else:
                key = (run_id, "", str(number))
                if kind == "tool.call.started":
                    waiting.append(key)
        call = calls.setdefault(key, {"toolCallId": call_id, "toolName": name, "runId": run_id})
        if kind == "tool.call.started":
            call["arguments"] = payload.get("arguments")
        else:
            call["result"] = payload.get("result")
            call["status"] = "error" if payload.get("isError") else "completed"
    return list(calls.values())


def _sub_agent_calls(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in events:
        kind = event["kind"]
        payload = event.get("event", {}).get("payload", {})
        key = (
            str(event.get("runId", "")),
            str(payload.get("toolCallId", "")),
            str(payload.get("targetAgentId", "")),
        )
        if kind == "sub_agent.call.started" and payload.get("childThreadId"):
            found[key] = {
                "toolCallId": key[1],
                "targetAgentId": key[2],
                "runId": key[0],
                "message": payload.get("message", ""),
                "childThreadId": payload["childThreadId"],
                "status": "running",
            }
        elif kind == "sub_agent.call.completed" and key in found:
            found[key]["status"] = "completed"
            found[key]["result"] = payload.get("result")
    return list(found.values())


async def thread_trace(workspace: Workspace, thread_id: str) -> dict[str, Any]:
    """The builder trace of a thread.

    Returns:
        ``{trajectory, toolCalls, subAgentCalls, resolvedActions}``: the trajectory is the
        tool names of the thread's calls in the order they started, one per call.
    """
    events = await workspace.store.list_thread_run_events(thread_id)
    calls = _tool_calls(events)
    if not events:
        traces = await workspace.store.list_traces(thread_id=thread_id)
        if traces:
            calls = [
                {
                    "toolCallId": part["toolCallId"],
                    "toolName": part["toolName"],
                    "arguments": part["args"],
                    "status": "completed",
                    "result": part["result"],
                }
                for part in _step_parts(traces[-1]["trace"])
            ]
    return {
        "trajectory": [str(call["toolName"]) for call in calls],
        "toolCalls": calls,
        "subAgentCalls": _sub_agent_calls(events),
        "resolvedActions": [],
    }


def _flatten(actions: Any) -> list[Any]:
    """Plan actions as a flat list (``{head, tail}`` cons lists are unrolled)."""
    if isinstance(actions, list):
        return actions
    flat: list[Any] = []
    while isinstance(actions, Mapping) and "head" in actions:
        flat.append(actions["head"])
        actions = actions.get("tail")
    return flat


def planned_actions(trace: Mapping[str, Any], approvals: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The actions of the last stored plan of a thread, as ``[{type, payload}]``."""
    plan: Any = None
    for call in trace.get("toolCalls", []):
        result = call.get("result")
        if (
            call.get("toolName") == "storePlan"
            and isinstance(result, Mapping)
            and "actions" in result
        ):
            plan = result
    if plan is None:
        for approval in approvals:
            payload = approval.get("payload", {})
            body = payload.get("payload") if isinstance(payload, Mapping) else None
            if payload.get("kind") == "plan" and isinstance(body, Mapping):
                plan = body
    if plan is None:
        return []
    actions: list[Any] = []
    for action in _flatten(plan.get("actions")):
        if not isinstance(action, Mapping):
            continue
        kind = action.get("kind", action.get("type"))
        if isinstance(kind, str) and kind:
            payload = action.get("payload")
            if payload is None:
                payload = {k: v for k, v in action.items() if k not in ("kind", "references")}
            actions.append({"type": kind, "payload": payload})
    return actions


async def draft_test_case(
    workspace: Workspace, thread_id: str, *, input_text: str | None, test_id: str
) -> dict[str, Any]:
    """Draft a test case from a chat thread.

    Returns:
        The ``EvalTestCase`` wire dict: input (given, else the first user message), expected
        trajectory from the thread's tool calls, planned actions (subset match) from the last
        stored plan (``structuredGroundTruth`` is ``None`` without a plan), ``sourceThreadId``.
    """
    from flowai_harness.specs.evals.cases import EvalTestCase

    store = workspace.store
    if input_text is None:
        messages = await store.list_messages(thread_id)
        input_text = next((m["content"] for m in messages if m["role"] == "user"), None)
    trace = await thread_trace(workspace, thread_id)
    approvals = [a for a in await store.list_approvals() if a["threadId"] == thread_id]
    case: dict[str, Any] = {
        "id": test_id,
        "input": input_text or "",
        "tags": [],
        "expectedTrajectory": trace["trajectory"],
        "sourceThreadId": thread_id,
    }
    actions = planned_actions(trace, approvals)
    if actions:
        case["structuredGroundTruth"] = {
            "kind": "structured",
            "data": {
                "kind": "flat",
                "plannedActions": actions,
                "executedActions": [],
                "payloadMatch": "subset",
            },
        }
    return EvalTestCase.model_validate(case).to_wire()
