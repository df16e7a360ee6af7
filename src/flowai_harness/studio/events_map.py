"""From runtime events to Studio events (studio.md §3.3), and the assistant message of a run.

:class:`ChatEventMapper` turns each raw runtime event dict of a chat run into at most one
:class:`StudioEvent` (its ``kind`` and ``payload``, and whether the browser is sent it), keeping
the little state the shaping rules need:

* a repeated tool or sub-agent lifecycle event (same kind, call id and name) is dropped;
* sub-agent events about the chatting agent itself are recorded but not sent;
* while a nested sub-agent call is open, its text is downgraded to ``runtime.event`` and an
  ``error`` it reports is not terminal (the parent agent carries on, engine.md §4.5);
* a top-level ``error`` ends the run as ``run.failed``, or ``run.cancelled`` for "request
  cancelled".

:class:`AssistantTranscript` collects the parts of the one assistant message stored per run.
Both are pure: no I/O, so they are tested from event lists alone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from flowai_harness.studio.apps import STUDIO_API_VERSION

__all__ = [
    "TERMINAL_KINDS",
    "AssistantTranscript",
    "ChatEventMapper",
    "StudioEvent",
    "as_mapping",
    "envelope",
]

#: Kinds after which a run's stream ends.
TERMINAL_KINDS: Final = frozenset({"run.completed", "run.failed", "run.cancelled"})

_DECISION_STATUS: Final = {"approve": "approved", "reject": "rejected", "revise": "revised"}
_CANCELLED_MESSAGES: Final = ("request cancelled", "request canceled")


@dataclass(frozen=True, slots=True)
class StudioEvent:
    """One Studio event before it gets its sequence number.

    Attributes:
        kind: ``message.delta``, ``tool.call.started``, … (studio.md §3.3).
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


def _is_error_result(result: Any) -> bool:
    return isinstance(result, Mapping) and "error" in result


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
    """Maps the raw events of one chat run to Studio events.

    Args:
        agent_id: The agent the user chats with (coordinator or specialist).
        thread_id: The chat thread (sub-agents run on ``<thread>-<agent>``).
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, agent_id: str, thread_id: str, *, clock: Any = time.monotonic) -> None:
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
        kind = raw.get("type")
        if kind == "text":
            return self._text(raw)
        if kind == "tool-invocation":
            return self._tool(raw)
        if kind == "tool-agent":
            return self._sub_agent(raw)
        if kind == "approval-required":
            return self._approval_required(raw)
        if kind == "approval-decision":
            data = as_mapping(raw.get("data"))
            outcome = data.get("outcome")
            verb = outcome.get("outcome") if isinstance(outcome, Mapping) else outcome
            payload = {
                "approvalId": data.get("id"),
                "status": _DECISION_STATUS.get(str(verb), str(verb)),
                "outcome": verb,
                "raw": dict(raw),
            }
            return StudioEvent("approval.decision", payload, raw=raw)
        if kind == "finish":
            self._last_finish = dict(raw)
            tokens = _usage_totals(raw.get("usage"))
            self._input_tokens += tokens[0]
            self._output_tokens += tokens[1]
            return StudioEvent("runtime.finish", {"raw": dict(raw)}, raw=raw)
        if kind == "error":
            return self._error(raw)
        return StudioEvent("runtime.event", {"raw": dict(raw)}, raw=raw)

    def _text(self, raw: Mapping[str, Any]) -> StudioEvent:
        text = str(raw.get("text", ""))
        if self._open:
            for call in self._open.values():
                call.text.append(text)
            return StudioEvent("runtime.event", {"raw": dict(raw)}, raw=raw)
        return StudioEvent("message.delta", {"role": "assistant", "text": text}, raw=raw)

    def _first_time(self, kind: str, call_id: str, name: str) -> bool:
        key = (kind, call_id, name)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _tool(self, raw: Mapping[str, Any]) -> StudioEvent | None:
        call_id = str(raw.get("toolInvocationId", ""))
        name = str(raw.get("toolName", ""))
        state = raw.get("state")
        if state == "call":
            if not self._first_time("tool.call.started", call_id, name):
                return None
            args = raw.get("args")
            if name == "call_agent" and isinstance(args, Mapping):
                self._prompts[call_id] = str(args.get("prompt", args.get("message", "")))
            self._tool_started[(call_id, name)] = self._clock()
            payload = {"toolCallId": call_id, "toolName": name, "arguments": args}
            return StudioEvent("tool.call.started", payload, raw=raw)
        if state == "result":
            if not self._first_time("tool.call.completed", call_id, name):
                return None
            result = raw.get("result")
            payload = {
                "toolCallId": call_id,
                "toolName": name,
                "status": "completed",
                "result": result,
                "isError": _is_error_result(result),
            }
            started = self._tool_started.pop((call_id, name), None)
            if started is not None:
                payload["durationMs"] = max(0, round((self._clock() - started) * 1000))
            return StudioEvent("tool.call.completed", payload, raw=raw)
        return StudioEvent("tool.call.event", {"raw": dict(raw)}, raw=raw)

    def _sub_agent(self, raw: Mapping[str, Any]) -> StudioEvent | None:
        call_id = str(raw.get("toolInvocationId", ""))
        agent = str(raw.get("agentName", ""))
        state = raw.get("state")
        own = agent == self.agent_id and call_id not in self._prompts
        if state == "call":
            if not self._first_time("sub_agent.call.started", call_id, agent):
                return None
            payload: dict[str, Any] = {
                "toolCallId": call_id,
                "targetAgentId": agent,
                "message": self._prompts.get(call_id, ""),
            }
            if not own:
                payload["childThreadId"] = f"{self.thread_id}-{agent}"
                self._open[call_id] = _OpenSubAgent(agent)
            return StudioEvent("sub_agent.call.started", payload, send=not own, raw=raw)
        if state == "result":
            if not self._first_time("sub_agent.call.completed", call_id, agent):
                return None
            opened = self._open.pop(call_id, None)
            payload = {"toolCallId": call_id, "targetAgentId": agent, "status": "completed"}
            if opened is not None:
                payload["result"] = {"response": "".join(opened.text)}
            return StudioEvent("sub_agent.call.completed", payload, send=not own, raw=raw)
        return StudioEvent("sub_agent.call.event", {"raw": dict(raw)}, send=not own, raw=raw)

    def _approval_required(self, raw: Mapping[str, Any]) -> StudioEvent:
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
        return StudioEvent("approval.required", payload, raw=raw)

    def _error(self, raw: Mapping[str, Any]) -> StudioEvent:
        error = as_mapping(raw.get("error"))
        message = str(error.get("message", "runtime error"))
        if message.strip().lower() in _CANCELLED_MESSAGES:
            return self.cancelled(raw)
        if self._open:
            # A sub-agent failure is relayed mid-run; the parent gets an error result and goes on.
            return StudioEvent("runtime.event", {"raw": dict(raw)}, raw=raw)
        details = {"code": error["code"]} if error.get("code") else {}
        payload = {
            "error": {
                "code": "runtime.error",
                "message": message,
                "retryable": False,
                "details": details,
            }
        }
        return StudioEvent("run.failed", payload, raw=raw)

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
    """The assistant message of one chat run: its text and its parts, in order."""

    def __init__(self) -> None:
        self._parts: list[dict[str, Any]] = []
        self._tools: dict[tuple[str, str], dict[str, Any]] = {}
        self._agents: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, event: StudioEvent) -> None:
        """Fold one recorded Studio event into the message."""
        payload = event.payload
        if event.kind == "message.delta":
            text = str(payload.get("text", ""))
            if self._parts and self._parts[-1]["type"] == "text":
                self._parts[-1]["text"] += text
            elif text:
                self._parts.append({"type": "text", "text": text})
        elif event.kind == "tool.call.started":
            part = {
                "type": "tool-invocation",
                "toolCallId": payload["toolCallId"],
                "toolName": payload["toolName"],
                "args": payload.get("arguments"),
                "state": "call",
                "result": None,
            }
            self._tools[(part["toolCallId"], part["toolName"])] = part
            self._parts.append(part)
        elif event.kind == "tool.call.completed":
            key = (payload["toolCallId"], payload["toolName"])
            tool = self._tools.get(key)
            if tool is None:
                tool = {
                    "type": "tool-invocation",
                    "toolCallId": key[0],
                    "toolName": key[1],
                    "args": None,
                }
                self._tools[key] = tool
                self._parts.append(tool)
            tool.update(state="result", result=payload.get("result"))
        elif event.kind in ("sub_agent.call.started", "sub_agent.call.completed") and event.send:
            key = (payload["toolCallId"], payload["targetAgentId"])
            agent = self._agents.get(key)
            if agent is None:
                agent = {"type": "tool-agent", "toolCallId": key[0], "agentName": key[1]}
                self._agents[key] = agent
                self._parts.append(agent)
            agent["state"] = "call" if event.kind.endswith("started") else "result"

    @property
    def text(self) -> str:
        """The answer text (the run's top-level text deltas, joined)."""
        return "".join(part["text"] for part in self._parts if part["type"] == "text")

    def message(self, run_id: str, status: str | None = None) -> tuple[str, dict[str, Any]]:
        """Return ``(content, metadata)`` of the stored assistant message.

        Args:
            run_id: The run the message answers.
            status: ``cancelled`` or ``failed`` when the run did not complete; open tool and
                sub-agent calls are then marked ``cancelled``.
        """
        if status is not None:
            for part in [*self._tools.values(), *self._agents.values()]:
                if part.get("state") == "call":
                    part["state"] = "cancelled"
        metadata: dict[str, Any] = {"runId": run_id, "parts": [dict(p) for p in self._parts]}
        if status is not None:
            metadata["status"] = status
        return self.text, metadata
