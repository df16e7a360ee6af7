"""What one eval sample did: its evidence, read from the run's events, and its recorded trace.

:class:`SampleCapture` watches the event dicts of one sample run, in order, and keeps what the
scorers and the artifact need: the tool calls with their agent and depth, the
entry agent's response text, the last stored plan's actions, the executed plans' resolved
actions, one model invocation per agent invocation, and timing. :class:`TraceStore` keeps the
trace of every sample for ``Runtime.get_trace`` / ``Runtime.list_traces``.

Frames. A ``tool-agent`` ``call`` opens an agent frame (depth = open frames + 1) and its
``result`` closes it. A failed invocation emits ``error`` instead of a closing ``result``, so an
``error`` closes the innermost open frame. Each tool call is recorded once, at the depth of the
frame that made it: the entry agent's tools are at depth 1, a routed sub-agent's at depth 2.

Payloads are bounded as in run traces (:func:`payload_record`, shared with
:mod:`flowai_harness.engine.trace_collector`).
"""

from __future__ import annotations

import copy
import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from flowai_harness.engine.trace_collector import INLINE_PAYLOAD_LIMIT, payload_record

__all__ = [
    "DEFAULT_TRACE_CAPACITY",
    "INLINE_PAYLOAD_LIMIT",
    "AgentModel",
    "CapturedInvocation",
    "CapturedStep",
    "SampleCapture",
    "TraceStatus",
    "TraceStore",
    "payload_record",
]

TraceStatus = Literal["completed", "partial", "failed", "timedOut", "cancelled"]

#: Traces kept per runtime; the oldest are dropped first (the recorder lives in memory).
DEFAULT_TRACE_CAPACITY = 10_000


@dataclass(frozen=True, slots=True)
class AgentModel:
    """The model behind one agent, as reported in model invocations."""

    model: str
    provider: str | None = None


@dataclass(slots=True)
class CapturedStep:
    """One tool call of a sample, in call order (``ordinal`` counts from 0)."""

    ordinal: int
    tool_name: str
    tool_call_id: str
    agent: str
    depth: int
    arguments: Any
    result: Any = None
    finished: bool = False
    error: str | None = None


@dataclass(slots=True)
class CapturedInvocation:
    """Token usage of one finished agent invocation."""

    agent: str
    model: str
    provider: str | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cache_creation_tokens: int
    estimated_cost_usd: float | None = None


@dataclass(slots=True)
class _Frame:
    agent: str
    invocation_id: str
    cost_usd: float | None = None


def _error_of(result: Any) -> str | None:
    """The engine's error convention: an error result is an object with an ``error`` key."""
    if isinstance(result, Mapping) and "error" in result:
        error = result["error"]
        return error if isinstance(error, str) else json.dumps(error, default=str)
    return None


def _actions(items: list[Any], type_key: str) -> list[dict[str, Any]]:
    """``{type, payload}`` of each well-formed action (a non-blank string type)."""
    return [
        {"type": item[type_key], "payload": item.get("payload") or {}}
        for item in items
        if isinstance(item, Mapping)
        and isinstance(item.get(type_key), str)
        and item[type_key].strip()
    ]


def _as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(slots=True)
class SampleCapture:
    """Evidence of one sample run, built event by event with :meth:`observe`.

    Args:
        entry_agent: The agent the sample starts at.
        entry_invocation_id: The invocation id of the entry frame (``entry-<agent>``).
        agent_models: Model (and provider, for live clients) of each agent by name.
    """

    entry_agent: str
    entry_invocation_id: str
    agent_models: Mapping[str, AgentModel]
    started: float = field(default_factory=time.perf_counter)
    steps: list[CapturedStep] = field(default_factory=list)
    trajectory_events: list[dict[str, Any]] = field(default_factory=list)
    invocations: list[CapturedInvocation] = field(default_factory=list)
    planned_actions: list[dict[str, Any]] = field(default_factory=list)
    resolved_actions: list[dict[str, Any]] = field(default_factory=list)
    entry_completed: bool = False
    approval_requested: bool = False
    errors: list[tuple[int, str]] = field(default_factory=list)
    first_text_ms: int | None = None
    model_ms: int = 0
    tool_ms: int = 0
    _text: list[str] = field(default_factory=list, init=False, repr=False)
    _frames: list[_Frame] = field(default_factory=list, init=False, repr=False)
    # Keyed by (frame invocation id, call id): call ids are only unique within one agent
    # invocation (the scripted interpreter numbers each invocation's calls from 1).
    _open_steps: dict[tuple[str, str], CapturedStep] = field(
        default_factory=dict, init=False, repr=False
    )
    _seen_calls: set[tuple[str, str]] = field(default_factory=set, init=False, repr=False)

    # ------------------------------------------------------------------ reading

    @property
    def response_text(self) -> str:
        """The text the entry agent produced (sub-agent text is not part of it)."""
        return "".join(self._text)

    @property
    def error(self) -> str | None:
        """Why the entry agent failed, or ``None`` when it completed.

        The entry frame's own ``error`` message is preferred over the run-level wrapper
        (``agent failed: ...``) the runtime adds after it.
        """
        if self.entry_completed:
            return None
        entry_errors = [message for depth, message in self.errors if depth <= 1]
        if entry_errors:
            return entry_errors[0]
        return "the entry agent did not finish"

    @property
    def had_step_errors(self) -> bool:
        """Whether a tool call or a sub-agent failed, even though the run went on."""
        return any(step.error is not None for step in self.steps) or any(
            depth > 1 for depth, _ in self.errors
        )

    def trajectory(self, *, include_sub_agents: bool) -> list[str]:
        """Names of the called tools in call order (depth 1 only unless ``include_sub_agents``)."""
        return [s.tool_name for s in self.steps if include_sub_agents or s.depth <= 1]

    def elapsed_ms(self) -> int:
        """Milliseconds since the capture started."""
        return int((time.perf_counter() - self.started) * 1000)

    # ------------------------------------------------------------------ events

    def observe(self, event: Mapping[str, Any]) -> None:
        """Take one runtime event dict into account (events must arrive in stream order)."""
        kind = event.get("type")
        if kind == "tool-agent":
            self._on_agent(event)
        elif kind == "tool-invocation":
            if event.get("state") == "call":
                self._on_tool_call(event)
            else:
                self._on_tool_result(event)
        elif kind == "text":
            self._on_text(event)
        elif kind == "finish":
            self._on_finish(event)
        elif kind == "data-cost-summary":
            cost = (event.get("data") or {}).get("totalCostUsd")
            if self._frames and isinstance(cost, int | float) and not isinstance(cost, bool):
                self._frames[-1].cost_usd = float(cost)
        elif kind == "data-latency-summary":
            phases = (event.get("data") or {}).get("phases") or {}
            self.model_ms += _as_int(phases.get("llmTimeMs"))
            self.tool_ms += _as_int(phases.get("toolTimeMs"))
        elif kind == "error":
            message = (event.get("error") or {}).get("message") or "unknown error"
            self.errors.append((len(self._frames), str(message)))
            if self._frames:
                self._frames.pop()  # the failed invocation never sends its closing result
        elif kind == "approval-required":
            self.approval_requested = True

    def _on_agent(self, event: Mapping[str, Any]) -> None:
        name = str(event.get("agentName") or "")
        invocation_id = str(event.get("toolInvocationId") or "")
        if event.get("state") == "call":
            self._frames.append(_Frame(name, invocation_id))
            self.trajectory_events.append(
                {
                    "kind": "agent",
                    "name": name,
                    "agent": name,
                    "invocationId": invocation_id,
                    "depth": len(self._frames),
                }
            )
            return
        for index in range(len(self._frames) - 1, -1, -1):
            if self._frames[index].invocation_id == invocation_id:
                del self._frames[index:]
                break
        if invocation_id == self.entry_invocation_id and not self._frames:
            self.entry_completed = True

    def _on_tool_call(self, event: Mapping[str, Any]) -> None:
        call_id = str(event.get("toolInvocationId") or "")
        key = (self._frame_id(), call_id)
        if key in self._seen_calls:
            return  # reported once by our engine; tolerate a duplicate all the same
        self._seen_calls.add(key)
        name = str(event.get("toolName") or "")
        agent = self._frames[-1].agent if self._frames else self.entry_agent
        depth = max(1, len(self._frames))
        step = CapturedStep(len(self.steps), name, call_id, agent, depth, event.get("args"))
        self.steps.append(step)
        self._open_steps[key] = step
        self.trajectory_events.append(
            {"kind": "tool", "name": name, "agent": agent, "invocationId": call_id, "depth": depth}
        )

    def _on_tool_result(self, event: Mapping[str, Any]) -> None:
        key = (self._frame_id(), str(event.get("toolInvocationId") or ""))
        step = self._open_steps.pop(key, None)
        if step is None:
            return
        result = event.get("result")
        step.result, step.finished, step.error = result, True, _error_of(result)
        if step.error is not None or not isinstance(result, Mapping):
            return
        if step.tool_name == "storePlan":
            actions = result.get("actions")
            if isinstance(actions, list):
                self.planned_actions = _actions(actions, "kind")
        elif step.tool_name == "executePlan":
            resolved = result.get("resolvedActions")
            if not isinstance(resolved, list):
                details = result.get("details")
                resolved = details.get("resolvedActions") if isinstance(details, Mapping) else None
            if isinstance(resolved, list):
                self.resolved_actions.extend(_actions(resolved, "type"))

    def _frame_id(self) -> str:
        return self._frames[-1].invocation_id if self._frames else ""

    def _on_text(self, event: Mapping[str, Any]) -> None:
        if self.first_text_ms is None:
            self.first_text_ms = self.elapsed_ms()
        top = self._frames[-1] if self._frames else None
        if len(self._frames) == 1 and top is not None and top.agent == self.entry_agent:
            self._text.append(str(event.get("text") or ""))

    def _on_finish(self, event: Mapping[str, Any]) -> None:
        usage = event.get("usage") or {}
        agent = self._frames[-1].agent if self._frames else self.entry_agent
        cost = self._frames[-1].cost_usd if self._frames else None
        model = self.agent_models.get(agent, AgentModel(model="unknown"))
        self.invocations.append(
            CapturedInvocation(
                agent=agent,
                model=model.model,
                provider=model.provider,
                input_tokens=_as_int(usage.get("promptTokens")),
                output_tokens=_as_int(usage.get("completionTokens")),
                cached_tokens=_as_int(usage.get("cacheReadInputTokens")),
                cache_creation_tokens=_as_int(usage.get("cacheCreationInputTokens")),
                estimated_cost_usd=cost,
            )
        )

    # ------------------------------------------------------------------ trace

    def trace_steps(self) -> list[dict[str, Any]]:
        """The trace form of the captured tool calls.

        Returns:
            ``[{ordinal, toolName, toolCallId, agent, depth, arguments, result, error}]`` with
            payloads as :func:`payload_record` dicts (``result`` is ``None`` for a call that
            never finished).
        """
        return [
            {
                "ordinal": step.ordinal,
                "toolName": step.tool_name,
                "toolCallId": step.tool_call_id,
                "agent": step.agent,
                "depth": step.depth,
                "arguments": payload_record(step.arguments),
                "result": payload_record(step.result) if step.finished else None,
                "error": step.error,
            }
            for step in self.steps
        ]


class TraceStore:
    """The in-memory trace recorder of one runtime (eval runs only).

    Traces are kept in recording order; past ``capacity`` the oldest are dropped. Callers get
    deep copies, so changing a returned trace never changes the record.

    Args:
        capacity: How many traces to keep (>= 1).
    """

    def __init__(self, capacity: int = DEFAULT_TRACE_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"trace capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._traces: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._traces)

    def record(self, trace: Mapping[str, Any]) -> None:
        """Keep ``trace`` (a dict with a ``traceId``), replacing any trace with that id."""
        trace_id = str(trace["traceId"])
        self._traces.pop(trace_id, None)
        self._traces[trace_id] = copy.deepcopy(dict(trace))
        while len(self._traces) > self._capacity:
            self._traces.popitem(last=False)

    def get(self, trace_id: str) -> dict[str, Any] | None:
        """The trace with id ``trace_id``, or ``None``."""
        trace = self._traces.get(trace_id)
        return None if trace is None else copy.deepcopy(trace)

    def select(
        self,
        *,
        eval_run_id: str | None = None,
        test_case_id: str | None = None,
        thread_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The traces whose ``scope`` matches every given filter, oldest first."""
        wanted = {"evalRunId": eval_run_id, "testCaseId": test_case_id, "threadId": thread_id}
        filters = {key: value for key, value in wanted.items() if value is not None}
        return [
            copy.deepcopy(trace)
            for trace in self._traces.values()
            if all((trace.get("scope") or {}).get(k) == v for k, v in filters.items())
        ]
