"""Run traces: the tree of each run this process ran, kept in memory for ``Runtime.get_trace``.

:class:`TraceCollector` is an observer (see :mod:`flowai_harness.engine.observer`) wrapped
around the runtime's own (the do-nothing one, or OpenTelemetry's). For every ``query`` and
``run_specialist`` run it builds a tree as the run goes::

    run -> agent (invocation) -> turn (model call) -> tool -> agent (call_agent) ...
                                                       \\-> approval, planDispatch

Each node has its start (wall clock, and milliseconds after the run started), its duration,
and how it ended; turns and invocations carry their token usage and priced cost, tools their
arguments and result (bounded, see :func:`payload_record`). The parent of a step is the node
open in the current context (a context variable), so a sub-agent lands under the tool call
that started it and nothing depends on the order concurrent runs interleave.

The collector keeps the most recent :data:`DEFAULT_RUN_TRACE_CAPACITY` runs; the oldest go
first. Eval samples are not kept here: they have their own trace (``evals/traces.py``). A step
outside a run (an MCP tool call) is passed through untouched. The cost per step is one node
and one extra coroutine frame; nodes become dicts only when a trace is read.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from flowai_harness._clock import utc_micros
from flowai_harness.engine.jsonvalues import compact_json
from flowai_harness.engine.observer import NULL_OBSERVER, RunObserver, Step

__all__ = [
    "DEFAULT_RUN_TRACE_CAPACITY",
    "INLINE_PAYLOAD_LIMIT",
    "TraceCollector",
    "payload_record",
]

T = TypeVar("T")

#: Run traces kept per runtime (as many as the in-memory run records).
DEFAULT_RUN_TRACE_CAPACITY = 1_000
#: Tool arguments and results larger than this (UTF-8 JSON bytes) are omitted from traces.
INLINE_PAYLOAD_LIMIT = 64 * 1024

_USAGE_KEYS = ("inputTokens", "outputTokens", "cachedTokens", "cacheCreationTokens")


def payload_record(value: Any) -> dict[str, Any]:
    """A trace payload: ``{"kind": "inline", "value"}`` or ``{"kind": "omitted", "reason"}``.

    Args:
        value: A tool's arguments or result (JSON).

    Returns:
        The inline value, or an omission when its JSON form exceeds
        :data:`INLINE_PAYLOAD_LIMIT` bytes.
    """
    try:
        size = len(compact_json(value).encode())
    except (TypeError, ValueError):
        size = len(str(value).encode())
    if size > INLINE_PAYLOAD_LIMIT:
        return {
            "kind": "omitted",
            "reason": f"payload of {size} bytes exceeds the {INLINE_PAYLOAD_LIMIT}-byte limit",
        }
    return {"kind": "inline", "value": value}


class _Node:
    """One observed step; ``fields`` are its type's own keys (camelCase, JSON values)."""

    __slots__ = ("children", "duration", "error", "fields", "kind", "name", "started", "status")

    def __init__(self, kind: str, name: str, fields: dict[str, Any]) -> None:
        self.kind = kind
        self.name = name
        self.fields = fields
        self.started = time.perf_counter()
        self.duration: float | None = None
        self.status = "running"
        self.error: str | None = None
        self.children: list[_Node] = []

    def close(self, status: str = "ok", error: str | None = None) -> None:
        self.duration = time.perf_counter() - self.started
        self.status = status
        self.error = error

    def failed(self, exc: BaseException) -> None:
        name = type(exc).__name__
        if name in ("CancelledError", "GeneratorExit", "ConnectionError"):
            self.close("cancelled", "cancelled")
        else:
            self.close("error", str(exc) or name)


_CURRENT: ContextVar[_Node | None] = ContextVar("flowai_trace_node", default=None)


class _RunTrace:
    """One run's trace while it runs and after."""

    __slots__ = ("operation", "root", "run_id", "started_wall", "thread_id")

    def __init__(self, run_id: str, thread_id: str, entry_agent: str, operation: str) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        self.operation = operation
        self.started_wall = time.time()
        self.root = _Node("run", entry_agent, {"agent": entry_agent})


# --------------------------------------------------------------------------- outcomes


def _usage_fields(node: _Node, usage: Any) -> None:
    node.fields["usage"] = {
        "inputTokens": usage.prompt_tokens,
        "outputTokens": usage.completion_tokens,
        "cachedTokens": usage.cache_read_input_tokens,
        "cacheCreationTokens": usage.cache_creation_input_tokens,
    }
    node.fields["costUsd"] = usage.cost_usd


def _model_outcome(node: _Node, outcome: Any) -> None:
    """A model call's or an invocation's outcome (see ``engine.observer``)."""
    message = getattr(outcome, "message", None)
    if isinstance(message, str):
        node.fields["errorCode"] = getattr(outcome, "code", None)
        node.close("error", message)
        return
    usage = getattr(outcome, "usage", None)
    if usage is not None:
        _usage_fields(node, usage)
    node.fields["finishReason"] = getattr(outcome, "reason", None)
    latency = getattr(outcome, "latency", None)
    if latency is not None and node.kind == "turn":
        node.fields["retries"] = latency.retry_count
        node.fields["ttftMs"] = latency.ttft_ms
    node.close()


def _tool_outcome(node: _Node, outcome: Any) -> None:
    content = getattr(outcome, "content", None)
    node.fields["result"] = content
    is_error = bool(getattr(outcome, "is_error", False))
    node.fields["isError"] = is_error
    if is_error:
        message = content.get("error") if isinstance(content, dict) else None
        node.close("error", str(message) if message is not None else "tool error")
    else:
        node.close()


def _approval_outcome(node: _Node, decision: Any) -> None:
    node.fields["decision"] = getattr(decision, "outcome", None)
    node.close()
    node.fields["waitMs"] = round((node.duration or 0.0) * 1000.0, 3)


def _closed(node: _Node, result: Any) -> None:
    node.close()


# --------------------------------------------------------------------------- export


def _sum_usage(nodes: list[_Node]) -> tuple[dict[str, int], float | None]:
    """Token usage and cost over every agent node of a tree."""
    usage = dict.fromkeys(_USAGE_KEYS, 0)
    cost: float | None = None
    stack = list(nodes)
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.kind != "agent" or "usage" not in node.fields:
            continue
        for key in _USAGE_KEYS:
            usage[key] += node.fields["usage"][key]
        if node.fields.get("costUsd") is not None:
            cost = (cost or 0.0) + node.fields["costUsd"]
    return usage, cost


def _node_dict(node: _Node, run_started: float, wall: float) -> dict[str, Any]:
    offset = node.started - run_started
    fields = dict(node.fields)
    if node.kind == "tool":
        fields["arguments"] = payload_record(fields.get("arguments"))
        if "result" in fields:
            fields["result"] = payload_record(fields["result"])
    if node.kind == "agent" and "usage" in fields:
        fields["usage"] = dict(fields["usage"])
    return {
        "type": node.kind,
        "name": node.name,
        "startedAt": utc_micros(wall + offset),
        "startOffsetMs": round(offset * 1000.0, 3),
        "durationMs": None if node.duration is None else round(node.duration * 1000.0, 3),
        "status": node.status,
        "error": node.error,
        **fields,
        "children": [_node_dict(child, run_started, wall) for child in list(node.children)],
    }


_RUN_STATUS = {"ok": "completed", "error": "failed", "cancelled": "cancelled"}


def _trace_dict(trace: _RunTrace) -> dict[str, Any]:
    root = trace.root
    usage, cost = _sum_usage([root])
    entry = root.children[0].fields.get("invocationId") if root.children else None
    duration = root.duration
    return {
        "traceId": trace.run_id,
        "kind": "run",
        "runId": trace.run_id,
        "threadId": trace.thread_id,
        "operation": trace.operation,
        "entryAgent": root.name,
        "entryInvocationId": entry,
        "status": _RUN_STATUS.get(root.status, "running"),
        "error": root.error,
        "startedAt": utc_micros(trace.started_wall),
        "completedAt": None if duration is None else utc_micros(trace.started_wall + duration),
        "durationMs": None if duration is None else round(duration * 1000.0, 3),
        "usage": usage,
        "costUsd": cost,
        "scope": {"runId": trace.run_id, "threadId": trace.thread_id},
        "root": _node_dict(root, root.started, trace.started_wall),
    }


# --------------------------------------------------------------------------- collector


class TraceCollector(RunObserver):
    """Keeps the trace of the last ``capacity`` runs; passes every step on to ``inner``.

    Args:
        inner: The observer the steps go through as well (OpenTelemetry, or none).
        capacity: How many run traces to keep (>= 1).
    """

    __slots__ = ("_capacity", "_inner", "_lock", "_runs")

    def __init__(
        self, inner: RunObserver = NULL_OBSERVER, capacity: int = DEFAULT_RUN_TRACE_CAPACITY
    ) -> None:
        if capacity < 1:
            raise ValueError(f"run trace capacity must be >= 1, got {capacity}")
        self._inner = inner
        self._capacity = capacity
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, _RunTrace] = OrderedDict()

    @property
    def inner(self) -> RunObserver:
        """The observer every step also goes through."""
        return self._inner

    # ------------------------------------------------------------------ reading

    def get(self, run_id: str) -> dict[str, Any] | None:
        """The trace of run ``run_id`` (a fresh dict), or ``None`` when not kept."""
        with self._lock:
            trace = self._runs.get(run_id)
        return None if trace is None else _trace_dict(trace)

    def select(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        """The kept run traces (of one thread), oldest first."""
        with self._lock:
            traces = list(self._runs.values())
        return [_trace_dict(t) for t in traces if thread_id is None or t.thread_id == thread_id]

    # ------------------------------------------------------------------ observing

    async def _watch(self, node: _Node, step: Step[T], record: Callable[[_Node, T], None]) -> T:
        token = _CURRENT.set(node)
        try:
            result = await step
        except BaseException as exc:
            node.failed(exc)
            raise
        finally:
            _CURRENT.reset(token)
        record(node, result)
        return result

    def _child(self, kind: str, name: str, fields: dict[str, Any]) -> _Node | None:
        parent = _CURRENT.get()
        if parent is None:
            return None
        node = _Node(kind, name, fields)
        parent.children.append(node)
        return node

    def run(self, run: Any, entry_agent: str, step: Step[T]) -> Awaitable[T]:
        if run.run_id is None or run.approval_mode == "bypass":
            return self._inner.run(run, entry_agent, step)
        coordinator = run.runtime.coordinator
        operation = "query" if entry_agent == coordinator else "run_specialist"
        trace = _RunTrace(run.run_id, run.request_thread, entry_agent, operation)
        with self._lock:
            self._runs.pop(trace.run_id, None)  # a resumed run traces again, whole
            self._runs[trace.run_id] = trace
            while len(self._runs) > self._capacity:
                self._runs.popitem(last=False)
        return self._inner.run(run, entry_agent, self._watch(trace.root, step, _closed))

    def agent(self, scope: Any, invocation_id: str, step: Step[T]) -> Awaitable[T]:
        agent = scope.agent
        fields = {
            "agent": agent.name,
            "invocationId": invocation_id,
            "threadId": scope.thread_id,
            "model": agent.model,
            "provider": agent.provider,
        }
        node = self._child("agent", agent.name, fields)
        if node is None:
            return self._inner.agent(scope, invocation_id, step)
        return self._inner.agent(scope, invocation_id, self._watch(node, step, _model_outcome))

    def chat(self, scope: Any, request: Any, step: Step[T]) -> Awaitable[T]:
        fields = {
            "turn": request.turn,
            "agent": request.agent,
            "model": request.model,
            "provider": request.provider,
        }
        node = self._child("turn", f"turn {request.turn}", fields)
        if node is None:
            return self._inner.chat(scope, request, step)
        return self._inner.chat(scope, request, self._watch(node, step, _model_outcome))

    def tool(self, scope: Any, call_id: str, name: str, args: Any, step: Step[T]) -> Awaitable[T]:
        fields = {"toolName": name, "toolCallId": call_id, "arguments": args}
        node = self._child("tool", name, fields)
        if node is None:
            return self._inner.tool(scope, call_id, name, args, step)
        return self._inner.tool(scope, call_id, name, args, self._watch(node, step, _tool_outcome))

    def approval(self, scope: Any, kind: str, target: str, step: Step[T]) -> Awaitable[T]:
        node = self._child("approval", f"approval {kind}", {"approvalKind": kind, "target": target})
        if node is None:
            return self._inner.approval(scope, kind, target, step)
        return self._inner.approval(scope, kind, target, self._watch(node, step, _approval_outcome))

    def plan_dispatch(self, run: Any, plan_id: str, actions: int, step: Step[T]) -> Awaitable[T]:
        node = self._child("planDispatch", plan_id, {"planId": plan_id, "actions": actions})
        if node is None:
            return self._inner.plan_dispatch(run, plan_id, actions, step)
        return self._inner.plan_dispatch(run, plan_id, actions, self._watch(node, step, _closed))
