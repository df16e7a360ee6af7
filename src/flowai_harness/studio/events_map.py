"""From runtime events to Studio events, and the assistant message of a chat run.

:func:`project_runtime_event` maps one raw runtime event dict to its Studio ``(kind, payload)``
on its own. :class:`ChatEventMapper` maps the events of one chat run in order, keeping the
little state the shaping rules need:

* a repeated tool or sub-agent lifecycle event (same kind, call id and name) is dropped;
* sub-agent events about the chatting agent itself are recorded but not sent;
* while a nested sub-agent call is open, its text is downgraded to ``runtime.event`` and an
  ``error`` it reports is not terminal (the parent agent carries on);
* a top-level ``error`` ends the run as ``run.failed``, or ``run.cancelled`` for "request
  cancelled".

Raw events come from runtimes we do not control, so field spellings vary: a call id may be
``toolInvocationId``, ``tool_invocation_id``, ``toolCallId`` or ``tool_call_id`` (sub-agent
events also ``invocationId`` / ``invocation_id``), a tool name ``toolName`` / ``tool_name``,
arguments ``args`` / ``arguments``, an agent ``agentName`` / ``agent_name`` and a sub-agent
message ``prompt`` / ``message``.

:class:`AssistantTranscript` collects the parts of the one assistant message stored per run.
All of it is pure: no I/O, so it is tested from event lists alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from flowai_harness.studio.apps import STUDIO_API_VERSION

__all__ = [
    "APPROVAL_STATUSES",
    "EVAL_RECORD_THREAD_PREFIX",
    "EVAL_STATUSES",
    "RUN_STATUSES",
    "TERMINAL_KINDS",
    "UI_ERROR_CODES",
    "AssistantTranscript",
    "ChatEventMapper",
    "StudioEvent",
    "StudioEventKind",
    "as_mapping",
    "decision_status",
    "envelope",
    "eval_record_thread",
    "project_runtime_event",
]


class StudioEventKind(StrEnum):
    """Every ``kind`` a chat run's Studio events can have (the UI matches on these)."""

    MESSAGE_DELTA = "message.delta"
    TOOL_CALL_STARTED = "tool.call.started"
    TOOL_CALL_COMPLETED = "tool.call.completed"
    TOOL_CALL_EVENT = "tool.call.event"
    SUB_AGENT_CALL_STARTED = "sub_agent.call.started"
    SUB_AGENT_CALL_COMPLETED = "sub_agent.call.completed"
    SUB_AGENT_CALL_EVENT = "sub_agent.call.event"
    APPROVAL_REQUIRED = "approval.required"
    APPROVAL_DECISION = "approval.decision"
    RUNTIME_FINISH = "runtime.finish"
    RUNTIME_EVENT = "runtime.event"
    RUN_COMPLETED = "run.completed"
    RUN_FAILED = "run.failed"
    RUN_CANCELLED = "run.cancelled"


#: Kinds after which a run's stream ends.
TERMINAL_KINDS: Final = frozenset(
    {StudioEventKind.RUN_COMPLETED, StudioEventKind.RUN_FAILED, StudioEventKind.RUN_CANCELLED}
)
#: Statuses of a stored approval row: ``pending``, the decision verb once answered, ``expired``
#: when its run ended without an answer, ``resolved`` for a decision without a known verb.
APPROVAL_STATUSES: Final = ("pending", "approve", "reject", "revise", "expired", "resolved")
#: Statuses of a run row (``waiting``: its last event asks for an approval).
RUN_STATUSES: Final = ("running", "waiting", "completed", "failed", "cancelled")
#: Statuses of a saved eval.
EVAL_STATUSES: Final = ("created", "running", "completed", "failed", "cancelled")
#: Error codes the Studio UI reacts to (beyond showing the message).
UI_ERROR_CODES: Final = (
    "auth.token_required",
    "auth.invalid_token",
    "workspace.not_found",
    "thread.not_found",
    "run.not_found",
    "run.already_running",
    "approval.not_found",
    "approval.already_resolved",
    "approval.expired",
    "test.not_found",
    "eval.not_found",
    "data.environment_missing",
    "runtime.unavailable",
)
#: The thread an eval's own run events are recorded under is this prefix plus the eval id
#: (the threads of its samples use the eval runner's ``EVAL_THREAD_PREFIX``).
EVAL_RECORD_THREAD_PREFIX: Final = "eval:"


def eval_record_thread(eval_id: str) -> str:
    """The thread an eval's run events are recorded under."""
    return f"{EVAL_RECORD_THREAD_PREFIX}{eval_id}"


_CANCELLED_MESSAGES: Final = ("request cancelled", "request canceled")
_TOOL_CALL_IDS: Final = ("toolInvocationId", "tool_invocation_id", "toolCallId", "tool_call_id")
_AGENT_CALL_IDS: Final = (*_TOOL_CALL_IDS, "invocationId", "invocation_id")
_LIFECYCLE_KINDS: Final = frozenset(
    {
        "tool.call.started",
        "tool.call.completed",
        "sub_agent.call.started",
        "sub_agent.call.completed",
    }
)


@dataclass(frozen=True, slots=True)
class StudioEvent:
    """One Studio event before it gets its sequence number.

    Attributes:
        kind: ``message.delta``, ``tool.call.started``, ...
        payload: The event payload.
        send: Whether the browser gets it (every event is recorded).
        raw: The runtime event it came from (``None`` for server events).
    """

    kind: str
    payload: dict[str, Any]
    send: bool = True
    raw: Any = None

    @property
    def terminal(self) -> bool:
        """Whether the run ends with this event."""
        return self.kind in TERMINAL_KINDS


def envelope(
    event: StudioEvent,
    *,
    seq: int,
    workspace_key: str,
    run_id: str,
    thread_id: str | None = None,
    agent_id: str | None = None,
) -> dict[str, Any]:
    """Return the ``StudioEvent`` wire envelope of ``event`` numbered ``seq``."""
    out: dict[str, Any] = {
        "schemaVersion": STUDIO_API_VERSION,
        "workspaceKey": workspace_key,
        "runId": run_id,
    }
    if thread_id is not None:
        out["threadId"] = thread_id
    if agent_id is not None:
        out["agentId"] = agent_id
    out.update(seq=seq, kind=event.kind, payload=event.payload)
    return out


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (events are untrusted JSON)."""
    return value if isinstance(value, Mapping) else {}


def _first(raw: Mapping[str, Any], names: tuple[str, ...], default: Any = "") -> Any:
    for name in names:
        value = raw.get(name)
        if value not in (None, ""):
            return value
    return default


def decision_status(data: Mapping[str, Any]) -> str:
    """The decision verb of an ``approval-decision`` event's data (``approve``, ...).

    ``outcome.outcome`` verbatim, or ``outcome`` when it is a string, else ``"resolved"``.
    """
    outcome = data.get("outcome")
    if isinstance(outcome, Mapping) and isinstance(outcome.get("outcome"), str):
        return str(outcome["outcome"])
    if isinstance(outcome, str):
        return outcome
    return "resolved"


def _is_error_result(result: Any) -> bool:
    return isinstance(result, Mapping) and "error" in result


def _tool_event(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    call_id = str(_first(raw, _TOOL_CALL_IDS))
    name = str(_first(raw, ("toolName", "tool_name")))
    state = raw.get("state")
    if state == "call":
        args = _first(raw, ("args", "arguments"), None)
        return "tool.call.started", {"toolCallId": call_id, "toolName": name, "arguments": args}
    if state == "result":
        result = raw.get("result")
        payload = {
            "toolCallId": call_id,
            "toolName": name,
            "status": "completed",
            "result": result,
            "isError": _is_error_result(result),
        }
        return "tool.call.completed", payload
    return "tool.call.event", {"raw": dict(raw)}


def _sub_agent_event(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    call_id = str(_first(raw, _AGENT_CALL_IDS))
    agent = str(_first(raw, ("agentName", "agent_name")))
    state = raw.get("state")
    if state == "call":
        message = str(_first(raw, ("prompt", "message")))
        payload = {"toolCallId": call_id, "targetAgentId": agent, "message": message}
        return "sub_agent.call.started", payload
    if state == "result":
        return "sub_agent.call.completed", {
            "toolCallId": call_id,
            "targetAgentId": agent,
            "status": "completed",
        }
    return "sub_agent.call.event", {"raw": dict(raw)}


def _approval_required(raw: Mapping[str, Any]) -> dict[str, Any]:
    data = as_mapping(raw.get("data"))
    title = data.get("title") or data.get("target") or "Approval required"
    payload: dict[str, Any] = {
        "approvalId": data.get("id"),
        "kind": data.get("kind") or "custom",
        "title": str(title),
        "raw": dict(raw),
    }
    if data.get("kind") == "tool" and data.get("target"):
        payload["toolName"] = data["target"]
    if data.get("kind") == "plan" and data.get("target"):
        payload["planId"] = data["target"]
    if isinstance(data.get("payload"), Mapping):
        payload["payload"] = data["payload"]
    if data.get("threadId"):
        payload["runtimeThreadId"] = data["threadId"]
    if isinstance(data.get("runUsage"), Mapping):
        # what the run had used when it asked: the card and the inbox show it
        payload["runUsage"] = dict(data["runUsage"])
    return payload


def _error_event(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    error = as_mapping(raw.get("error"))
    message = str(error.get("message", "runtime error"))
    if message.strip().lower() in _CANCELLED_MESSAGES:
        return "run.cancelled", {"status": "cancelled"}
    details = {"code": error["code"]} if error.get("code") else {}
    payload = {
        "error": {
            "code": "runtime.error",
            "message": message,
            "retryable": False,
            "details": details,
        }
    }
    return "run.failed", payload


def project_runtime_event(raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Map one raw runtime event to its Studio ``(kind, payload)``, on its own.

    ``text`` -> ``message.delta``; ``tool-invocation`` -> ``tool.call.started`` /
    ``.completed`` / ``tool.call.event``; ``tool-agent`` -> ``sub_agent.call.started`` /
    ``.completed`` / ``sub_agent.call.event``; ``approval-required`` -> ``approval.required``;
    ``approval-decision`` -> ``approval.decision`` with ``status`` the decision verb and
    ``raw`` the event's ``data``; ``finish`` -> ``runtime.finish``; ``error`` ->
    ``run.failed`` (``run.cancelled`` for "request cancelled"); anything else ->
    ``runtime.event``.
    """
    kind = raw.get("type")
    if kind == "text":
        return "message.delta", {"role": "assistant", "text": str(raw.get("text", ""))}
    if kind == "tool-invocation":
        return _tool_event(raw)
    if kind == "tool-agent":
        return _sub_agent_event(raw)
    if kind == "approval-required":
        return "approval.required", _approval_required(raw)
    if kind == "approval-decision":
        data = as_mapping(raw.get("data"))
        payload = {"approvalId": data.get("id"), "status": decision_status(data), "raw": data}
        return "approval.decision", payload
    if kind == "finish":
        return "runtime.finish", {"raw": dict(raw)}
    if kind == "error":
        return _error_event(raw)
    return "runtime.event", {"raw": dict(raw)}


def _usage_totals(usage: Any) -> tuple[int, int]:
    if not isinstance(usage, Mapping):
        return 0, 0
    prompt, completion = usage.get("promptTokens", 0), usage.get("completionTokens", 0)
    return (
        int(prompt) if isinstance(prompt, int) else 0,
        int(completion) if isinstance(completion, int) else 0,
    )


@dataclass(slots=True)
class _OpenSubAgent:
    agent: str
    text: list[str] = field(default_factory=list)


class ChatEventMapper:
    """Maps the raw events of one chat run to Studio events (see the module doc).

    Args:
        agent_id: The agent the user chats with (coordinator or specialist).
        thread_id: The chat thread (sub-agents run on ``<thread>-<agent>``).
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(
        self, agent_id: str, thread_id: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.agent_id = agent_id
        self.thread_id = thread_id
        self._clock = clock
        self._started = clock()
        self._seen: set[tuple[str, str, str]] = set()
        self._open: dict[str, _OpenSubAgent] = {}
        self._prompts: dict[str, str] = {}
        self._tool_started: dict[tuple[str, str], float] = {}
        self._last_finish: Any = None
        self._input_tokens = 0
        self._output_tokens = 0

    @property
    def nested(self) -> bool:
        """Whether a sub-agent call is open right now."""
        return bool(self._open)

    def map(self, raw: Mapping[str, Any]) -> StudioEvent | None:
        """Map one runtime event; ``None`` when it is a duplicate to drop."""
        kind, payload = project_runtime_event(raw)
        if kind == "message.delta" and self._open:
            for call in self._open.values():
                call.text.append(payload["text"])
            return StudioEvent("runtime.event", {"raw": dict(raw)}, raw=raw)
        if kind in ("tool.call.started", "tool.call.completed"):
            return self._tool(kind, payload, raw)
        if kind in ("sub_agent.call.started", "sub_agent.call.completed", "sub_agent.call.event"):
            return self._sub_agent(kind, payload, raw)
        if kind == "runtime.finish":
            self._last_finish = dict(raw)
            tokens = _usage_totals(raw.get("usage"))
            self._input_tokens += tokens[0]
            self._output_tokens += tokens[1]
        elif kind == "run.cancelled":
            return self.cancelled(raw)
        elif kind == "run.failed" and self._open:
            # A sub-agent failure is relayed mid-run; the parent gets an error result and goes on.
            return StudioEvent("runtime.event", {"raw": dict(raw)}, raw=raw)
        return StudioEvent(kind, payload, raw=raw)

    def _first_time(self, kind: str, call_id: str, name: str) -> bool:
        key = (kind, call_id, name)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _tool(
        self, kind: str, payload: dict[str, Any], raw: Mapping[str, Any]
    ) -> StudioEvent | None:
        call_id, name = payload["toolCallId"], payload["toolName"]
        if not self._first_time(kind, call_id, name):
            return None
        if kind == "tool.call.started":
            args = payload["arguments"]
            if name == "call_agent" and isinstance(args, Mapping):
                self._prompts[call_id] = str(_first(args, ("prompt", "message")))
            self._tool_started[(call_id, name)] = self._clock()
        else:
            started = self._tool_started.pop((call_id, name), None)
            if started is not None:
                payload["durationMs"] = max(0, round((self._clock() - started) * 1000))
        return StudioEvent(kind, payload, raw=raw)

    def _sub_agent(
        self, kind: str, payload: dict[str, Any], raw: Mapping[str, Any]
    ) -> StudioEvent | None:
        if kind == "sub_agent.call.event":
            agent = str(_first(raw, ("agentName", "agent_name")))
            return StudioEvent(kind, payload, send=agent != self.agent_id, raw=raw)
        call_id, agent = payload["toolCallId"], payload["targetAgentId"]
        own = agent == self.agent_id and call_id not in self._prompts
        if not self._first_time(kind, call_id, agent):
            return None
        if kind == "sub_agent.call.started":
            payload["message"] = self._prompts.get(call_id) or payload["message"]
            if not own:
                payload["childThreadId"] = f"{self.thread_id}-{agent}"
                self._open[call_id] = _OpenSubAgent(agent)
        else:
            opened = self._open.pop(call_id, None)
            if opened is not None:
                payload["result"] = {"response": "".join(opened.text)}
        return StudioEvent(kind, payload, send=not own, raw=raw)

    # ------------------------------------------------------------------ server events

    def _duration_ms(self) -> int:
        return max(0, round(float(self._clock() - self._started) * 1000))

    def completed(self) -> StudioEvent:
        """The ``run.completed`` event of a stream that ended normally."""
        payload = {
            "status": "completed",
            "raw": self._last_finish,
            "durationMs": self._duration_ms(),
            "usage": {"inputTokens": self._input_tokens, "outputTokens": self._output_tokens},
        }
        return StudioEvent("run.completed", payload)

    def failed(self, message: str) -> StudioEvent:
        """The ``run.failed`` event of a stream that raised (``studio.stream_error``)."""
        error = {
            "code": "studio.stream_error",
            "message": message,
            "retryable": False,
            "details": {},
        }
        return StudioEvent("run.failed", {"error": error})

    def cancelled(self, raw: Mapping[str, Any] | None = None) -> StudioEvent:
        """The ``run.cancelled`` event (cancel route, client gone, or "request cancelled")."""
        payload = {"status": "cancelled", "durationMs": self._duration_ms()}
        return StudioEvent("run.cancelled", payload, raw=None if raw is None else dict(raw))


class AssistantTranscript:
    """The assistant message of one chat run: its text and its parts, in completion order.

    Only events the browser is sent count. Text deltas are buffered and become one ``text``
    part whenever a tool or sub-agent call starts or ends, and at the end. A tool call becomes a
    ``tool-invocation`` part (with the arguments of its start) when it completes, a sub-agent
    call a ``tool-agent`` part when it completes. Calls still open when the run is cancelled
    are added last, in start order, with ``state: "cancelled"``.
    """

    def __init__(self) -> None:
        self._parts: list[dict[str, Any]] = []
        self._text: list[str] = []
        self._open: dict[tuple[str, str, str], dict[str, Any]] = {}

    def _flush(self) -> None:
        text = "".join(self._text)
        self._text.clear()
        if text:
            self._parts.append({"type": "text", "text": text})

    def add(self, event: StudioEvent) -> None:
        """Fold one recorded Studio event into the message."""
        if not event.send:
            return
        payload = event.payload
        if event.kind == "message.delta":
            self._text.append(str(payload.get("text", "")))
            return
        if event.kind not in _LIFECYCLE_KINDS:
            return
        self._flush()
        tool = event.kind.startswith("tool.")
        name = str(payload.get("toolName" if tool else "targetAgentId", ""))
        key = ("tool" if tool else "agent", str(payload.get("toolCallId", "")), name)
        if event.kind.endswith(".started"):
            if tool:
                self._open[key] = {
                    "type": "tool-invocation",
                    "toolCallId": key[1],
                    "toolName": name,
                    "args": payload.get("arguments"),
                }
            else:
                self._open[key] = {"type": "tool-agent", "toolCallId": key[1], "agentName": name}
            return
        part = self._open.pop(key, None)
        if part is None:
            part = (
                {"type": "tool-invocation", "toolCallId": key[1], "toolName": name, "args": None}
                if tool
                else {"type": "tool-agent", "toolCallId": key[1], "agentName": name}
            )
        part["state"] = "result"
        if tool:
            part["result"] = payload.get("result")
        self._parts.append(part)

    def message(self, run_id: str, status: str | None = None) -> tuple[str, dict[str, Any]]:
        """Return ``(content, metadata)`` of the stored assistant message.

        Args:
            run_id: The run the message answers.
            status: ``cancelled`` or ``failed`` when the run did not complete; on
                ``cancelled`` the calls still open are added with ``state: "cancelled"``.

        Returns:
            The joined text parts, and ``{runId, parts}`` plus ``status`` when given.
        """
        self._flush()
        parts = [dict(part) for part in self._parts]
        if status == "cancelled":
            parts += [{**part, "state": "cancelled"} for part in self._open.values()]
        content = "".join(part["text"] for part in parts if part["type"] == "text")
        metadata: dict[str, Any] = {"runId": run_id, "parts": parts}
        if status is not None:
            metadata["status"] = status
        return content, metadata
