"""Reading a thread back: its messages as the UI shows them, and what its runs did.

* :func:`message_view`: the stored messages with ``parts`` mirrored from metadata, empty tool
  arguments filled in from the recorded start events, eval answers given tool parts from their
  stored trace, and ``tool-agent`` parts about entrypoint agents left out (studio.md §3.3).
* :func:`thread_trace`: the builder trace of a thread (trajectory, tool calls, sub-agent calls)
  from its recorded events, or from the stored eval trace of an eval sample thread.
* :func:`draft_test_case`: a test case drafted from a chat thread (studio.md §3.6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowai_harness.studio.context import Workspace

__all__ = ["draft_test_case", "message_view", "planned_actions", "thread_trace"]


def _inline(record: Any) -> Any:
    if isinstance(record, Mapping) and record.get("kind") == "inline":
        return record.get("value")
    return None


def _trace_parts(trace: Mapping[str, Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for step in trace.get("steps") or []:
        if not isinstance(step, Mapping):
            continue
        finished = step.get("result") is not None
        parts.append(
            {
                "type": "tool-invocation",
                "toolCallId": step.get("toolCallId"),
                "toolName": step.get("toolName"),
                "args": _inline(step.get("arguments")),
                "state": "result" if finished else "call",
                "result": _inline(step.get("result")),
            }
        )
    response = trace.get("responseText")
    if isinstance(response, str) and response:
        parts.append({"type": "text", "text": response})
    return parts


def _started_arguments(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for event in events:
        if event.get("kind") == "tool.call.started":
            payload = event.get("event", {}).get("payload", {})
            arguments.setdefault(str(payload.get("toolCallId")), payload.get("arguments"))
    return arguments


async def message_view(workspace: Workspace, thread_id: str) -> list[dict[str, Any]]:
    """The messages of a thread as ``GET W/threads/{id}/messages`` returns them."""
    store = workspace.store
    messages = await store.list_messages(thread_id)
    entrypoints = {
        agent.name for agent in workspace.binding.runtime_spec.agents if agent.role == "coordinator"
    }
    started: dict[str, Any] | None = None
    for message in messages:
        metadata = message["metadata"]
        parts = metadata.get("parts")
        if message["role"] != "assistant":
            continue
        if not parts and metadata.get("source") == "eval":
            traces = await store.list_traces(thread_id=thread_id)
            parts = _trace_parts(traces[-1]["trace"]) if traces else []
        if not isinstance(parts, list):
            continue
        kept: list[dict[str, Any]] = []
        for part in parts:
            if not isinstance(part, Mapping):
                continue
            part = dict(part)
            if part.get("type") == "tool-agent" and part.get("agentName") in entrypoints:
                continue
            if part.get("type") == "tool-invocation" and part.get("args") in (None, {}):
                if started is None:
                    started = _started_arguments(await store.thread_events(thread_id))
                part["args"] = started.get(str(part.get("toolCallId")), part.get("args"))
            kept.append(part)
        message["parts"] = kept
    return messages


async def thread_trace(workspace: Workspace, thread_id: str) -> dict[str, Any]:
    """The builder trace of a thread.

    Returns:
        ``{trajectory, toolCalls, subAgentCalls, resolvedActions}``.
    """
    events = await workspace.store.thread_events(thread_id)
    tool_calls: dict[tuple[str, str, str], dict[str, Any]] = {}
    sub_agents: dict[tuple[str, str, str], dict[str, Any]] = {}
    for event in events:
        kind = event["kind"]
        payload = event.get("event", {}).get("payload", {})
        run_id = str(event.get("runId", ""))
        call_id = str(payload.get("toolCallId", ""))
        if kind in ("tool.call.started", "tool.call.completed"):
            key = (run_id, call_id, str(payload.get("toolName", "")))
            call = tool_calls.setdefault(
                key,
                {"toolCallId": call_id, "toolName": key[2], "runId": run_id, "arguments": None},
            )
            if kind == "tool.call.started":
                call["arguments"] = payload.get("arguments")
            else:
                call["result"] = payload.get("result")
                call["status"] = "error" if payload.get("isError") else "completed"
        elif kind == "sub_agent.call.started" and payload.get("childThreadId"):
            key = (run_id, call_id, str(payload.get("targetAgentId", "")))
            sub_agents[key] = {
                "toolCallId": call_id,
                "targetAgentId": key[2],
                "runId": run_id,
                "message": payload.get("message", ""),
                "childThreadId": payload["childThreadId"],
                "status": "running",
            }
        elif kind == "sub_agent.call.completed":
            key = (run_id, call_id, str(payload.get("targetAgentId", "")))
            if key in sub_agents:
                sub_agents[key]["status"] = "completed"
                sub_agents[key]["result"] = payload.get("result")
    calls = list(tool_calls.values())
    if not events:
        traces = await workspace.store.list_traces(thread_id=thread_id)
        if traces:
            calls = [
                {
                    "toolCallId": part["toolCallId"],
                    "toolName": part["toolName"],
                    "arguments": part["args"],
                    "result": part["result"],
                }
                for part in _trace_parts(traces[-1]["trace"])
                if part["type"] == "tool-invocation"
            ]
    trajectory: list[str] = []
    seen: set[tuple[str, str]] = set()
    for call in calls:
        call_key = (str(call.get("runId", "")), str(call["toolCallId"]))
        if call_key not in seen:
            seen.add(call_key)
            trajectory.append(str(call["toolName"]))
    return {
        "trajectory": trajectory,
        "toolCalls": calls,
        "subAgentCalls": list(sub_agents.values()),
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
    """Draft a test case from a chat thread (not stored; the UI saves it).

    Returns:
        The ``EvalTestCase`` wire dict: input (given, else the first user message), expected
        trajectory from the thread's tool calls, planned actions (subset match) from the last
        stored plan, ``sourceThreadId``.
    """
    from flowai_harness.specs.eval_cases import EvalTestCase

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
        case["expectedActions"] = {
            "kind": "flat",
            "plannedActions": actions,
            "executedActions": [],
            "payloadMatch": "subset",
        }
    return EvalTestCase.model_validate(case).to_wire()
