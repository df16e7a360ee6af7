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
that started it, concurrent tool calls under their turn, and nothing depends on the order
concurrent runs interleave.

Cost. While a run goes, each step costs one small list (its inputs, two clock readings and
the step's own result object, kept by reference) and one coroutine frame; nothing is
formatted or copied. When the run ends, each tool result is measured once and kept only
within :data:`INLINE_PAYLOAD_LIMIT` (``_compact``), so kept traces never hold a large result
alive. A trace becomes dicts only when it is read (a deep copy: changing it changes nothing
kept). The collector keeps the
most recent :data:`DEFAULT_RUN_TRACE_CAPACITY` runs; the oldest go first. Eval samples are
not kept here (they have their own trace, ``evals/traces.py``), and a step outside a run (an
MCP tool call) passes through untouched.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter
from typing import Any, TypeVar

import orjson

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
        size = len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    except TypeError:  # integers beyond 64 bits, or a value that is not JSON
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


# A node is a list: [kind, name, start, end, status, error, children, inputs, outcome].
# ``start`` / ``end`` are ``perf_counter()`` readings; ``inputs`` is a tuple of what the step
# was given; ``outcome`` is what it returned (read only when the trace is).
_KIND, _NAME, _START, _END, _STATUS, _ERROR, _CHILDREN, _INPUTS, _OUTCOME = range(9)
Node = list[Any]

_CANCELLED = ("CancelledError", "GeneratorExit", "ConnectionError")
_CURRENT: ContextVar[Node | None] = ContextVar("flowai_trace_node", default=None)


async def _watch(node: Node, step: Step[T]) -> T:
    """Await ``step`` as the current node; note when and how it ended."""
    token = _CURRENT.set(node)
    try:
        outcome = await step
    except BaseException as exc:
        node[_END] = perf_counter()
        name = type(exc).__name__
        if name in _CANCELLED:
            node[_STATUS], node[_ERROR] = "cancelled", "cancelled"
        else:
            node[_STATUS], node[_ERROR] = "error", str(exc) or name
        raise
    finally:
        _CURRENT.reset(token)
    node[_END] = perf_counter()
    node[_STATUS] = "ok"
    node[_OUTCOME] = outcome
    return outcome


@dataclass(slots=True)
class _Ended:
    """What a trace keeps of a tool call's or a model turn's result once the run has ended:
    the bounded payload, not the result (a turn's result refers to its tool results too), so
    a kept trace never holds a large tool result. Tool arguments, which the model wrote, are
    kept as they are and bounded when read."""

    result: Any = None
    is_error: bool | None = None
    #: ``result`` is already a payload record (an omission)
    recorded: bool = False
    error: str | None = None
    usage: Any = None
    reason: Any = None
    latency: Any = None


def _bounded(content: Any) -> Any:
    """``content`` itself when its JSON form is within the payload limit, else its record."""
    try:
        small = len(orjson.dumps(content)) <= INLINE_PAYLOAD_LIMIT
    except TypeError:  # not plain JSON for orjson: measure it the slow way
        return payload_record(content)
    return content if small else payload_record(content)


def _tool_ended(outcome: Any) -> _Ended:
    if outcome is None:  # the call never ended (its run was cancelled)
        return _Ended()
    content = outcome.content
    bounded = _bounded(content)
    if not outcome.is_error:
        return _Ended(bounded, False, bounded is not content)
    message = content.get("error") if isinstance(content, dict) else None
    error = "tool error" if message is None else str(message)
    return _Ended(bounded, True, bounded is not content, error)


def _compact(root: Node) -> None:
    """Replace each tool call's result, and each turn's that went on, by what its trace shows."""
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node[_CHILDREN])
        kind, outcome = node[_KIND], node[_OUTCOME]
        if kind == "tool" and not isinstance(outcome, _Ended):
            node[_OUTCOME] = _tool_ended(outcome)
        elif kind == "turn" and getattr(outcome, "interactions", None) is not None:
            node[_OUTCOME] = _Ended(
                usage=outcome.usage, reason=outcome.reason, latency=outcome.latency
            )


async def _untraced(step: Step[T]) -> T:
    """Await ``step`` outside any trace."""
    token = _CURRENT.set(None)
    try:
        return await step
    finally:
        _CURRENT.reset(token)


class _RunTrace:
    """One run's trace."""

    __slots__ = ("operation", "root", "run_id", "started_wall", "thread_id")

    def __init__(self, run_id: str, thread_id: str, entry_agent: str, operation: str) -> None:
        self.run_id = run_id
        self.thread_id = thread_id
        self.operation = operation
        self.started_wall = time.time()
        self.root: Node = ["run", entry_agent, perf_counter(), None, "running", None, [], (), None]


# --------------------------------------------------------------------------- reading


def _usage(usage: Any) -> dict[str, int]:
    return {
        "inputTokens": usage.prompt_tokens,
        "outputTokens": usage.completion_tokens,
        "cachedTokens": usage.cache_read_input_tokens,
        "cacheCreationTokens": usage.cache_creation_input_tokens,
    }


def _model_fields(node: Node, fields: dict[str, Any]) -> tuple[str, str | None]:
    """A model call's or an invocation's outcome (see ``engine.observer``); its status."""
    outcome = node[_OUTCOME]
    message = getattr(outcome, "message", None)
    if isinstance(message, str):
        fields["errorCode"] = getattr(outcome, "code", None)
        return "error", message
    usage = getattr(outcome, "usage", None)
    if usage is not None:
        fields["usage"] = _usage(usage)
        fields["costUsd"] = usage.cost_usd
    fields["finishReason"] = getattr(outcome, "reason", None)
    latency = getattr(outcome, "latency", None)
    if latency is not None and node[_KIND] == "turn":
        fields["retries"] = latency.retry_count
        fields["ttftMs"] = latency.ttft_ms
    return node[_STATUS], node[_ERROR]


def _tool_fields(node: Node, fields: dict[str, Any]) -> tuple[str, str | None]:
    fields["arguments"] = payload_record(node[_INPUTS][1])
    ended = node[_OUTCOME]
    if not isinstance(ended, _Ended):
        ended = _tool_ended(ended)
    if ended.is_error is not None:
        fields["result"] = ended.result if ended.recorded else payload_record(ended.result)
        fields["isError"] = ended.is_error
    if ended.error is None:
        return node[_STATUS], node[_ERROR]
    return "error", ended.error


def _fields(node: Node) -> tuple[dict[str, Any], str, str | None]:
    """The type's own keys of ``node``, its status and its error."""
    kind, inputs = node[_KIND], node[_INPUTS]
    status, error = node[_STATUS], node[_ERROR]
    fields: dict[str, Any]
    if kind == "agent":
        fields = dict(zip(("invocationId", "threadId", "model", "provider"), inputs, strict=True))
        fields["agent"] = node[_NAME]
        if node[_OUTCOME] is not None:
            status, error = _model_fields(node, fields)
    elif kind == "turn":
        fields = dict(zip(("turn", "agent", "model", "provider"), inputs, strict=True))
        if node[_OUTCOME] is not None:
            status, error = _model_fields(node, fields)
    elif kind == "tool":
        fields = {"toolName": node[_NAME], "toolCallId": inputs[0]}
        status, error = _tool_fields(node, fields)
    elif kind == "approval":
        fields = {"approvalKind": inputs[0], "target": inputs[1]}
        if node[_OUTCOME] is not None:
            fields["decision"] = getattr(node[_OUTCOME], "outcome", None)
            fields["waitMs"] = _ms(node[_END] - node[_START])
    elif kind == "planDispatch":
        fields = {"planId": inputs[0], "actions": inputs[1]}
    else:
        fields = {"agent": node[_NAME]}
    return fields, status, error


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def _node_dict(node: Node, run_started: float, wall: float) -> dict[str, Any]:
    offset = node[_START] - run_started
    end = node[_END]
    fields, status, error = _fields(node)
    return {
        "type": node[_KIND],
        "name": node[_NAME],
        "startedAt": utc_micros(wall + offset),
        "startOffsetMs": _ms(offset),
        "durationMs": None if end is None else _ms(end - node[_START]),
        "status": status,
        "error": error,
        **fields,
        "children": [_node_dict(child, run_started, wall) for child in list(node[_CHILDREN])],
    }


def _sum_usage(root: dict[str, Any]) -> tuple[dict[str, int], float | None]:
    """Token usage and cost over every agent node of an exported tree."""
    usage = dict.fromkeys(_USAGE_KEYS, 0)
    cost: float | None = None
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(node["children"])
        if node["type"] != "agent" or "usage" not in node:
            continue
        for key in _USAGE_KEYS:
            usage[key] += node["usage"][key]
        if node.get("costUsd") is not None:
            cost = (cost or 0.0) + node["costUsd"]
    return usage, cost


_RUN_STATUS = {"ok": "completed", "error": "failed", "cancelled": "cancelled"}


def _trace_dict(trace: _RunTrace) -> dict[str, Any]:
    root = _node_dict(trace.root, trace.root[_START], trace.started_wall)
    usage, cost = _sum_usage(root)
    children = root["children"]
    duration = root["durationMs"]
    return {
        "traceId": trace.run_id,
        "kind": "run",
        "runId": trace.run_id,
        "threadId": trace.thread_id,
        "operation": trace.operation,
        "entryAgent": root["name"],
        "entryInvocationId": children[0].get("invocationId") if children else None,
        "status": _RUN_STATUS.get(root["status"], "running"),
        "error": root["error"],
        "startedAt": root["startedAt"],
        "completedAt": None
        if duration is None
        else utc_micros(trace.started_wall + duration / 1000.0),
        "durationMs": duration,
        "usage": usage,
        "costUsd": cost,
        "scope": {"runId": trace.run_id, "threadId": trace.thread_id},
        "root": root,
    }


# --------------------------------------------------------------------------- collector


class TraceCollector(RunObserver):
    """Keeps the trace of the last ``capacity`` runs; passes every step on to ``inner``.

    Args:
        inner: The observer the steps go through as well (OpenTelemetry, or none).
        capacity: How many run traces to keep (>= 1).
    """

    __slots__ = ("_capacity", "_inner", "_lock", "_runs", "_solo")

    def __init__(
        self, inner: RunObserver = NULL_OBSERVER, capacity: int = DEFAULT_RUN_TRACE_CAPACITY
    ) -> None:
        if capacity < 1:
            raise ValueError(f"run trace capacity must be >= 1, got {capacity}")
        self._inner = inner
        #: no other observer: the steps need not be handed on
        self._solo = inner is NULL_OBSERVER
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
        return None if trace is None else copy.deepcopy(_trace_dict(trace))

    def select(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        """The kept run traces (of one thread), oldest first."""
        with self._lock:
            traces = list(self._runs.values())
        return [
            copy.deepcopy(_trace_dict(t))
            for t in traces
            if thread_id is None or t.thread_id == thread_id
        ]

    # ------------------------------------------------------------------ observing

    def run(self, run: Any, entry_agent: str, step: Step[T]) -> Awaitable[T]:
        if run.run_id is None or run.approval_mode == "bypass":
            # not traced; nor does it belong to a traced run that started it from a tool
            untraced = step if _CURRENT.get() is None else _untraced(step)
            return self._inner.run(run, entry_agent, untraced)
        coordinator = run.runtime.coordinator
        operation = "query" if entry_agent == coordinator else "run_specialist"
        trace = _RunTrace(run.run_id, run.request_thread, entry_agent, operation)
        with self._lock:
            self._runs.pop(trace.run_id, None)  # a resumed run traces again, whole
            self._runs[trace.run_id] = trace
            while len(self._runs) > self._capacity:
                self._runs.popitem(last=False)
        return self._inner.run(run, entry_agent, self._watch_run(trace.root, step))

    @staticmethod
    async def _watch_run(root: Node, step: Step[T]) -> T:
        try:
            return await _watch(root, step)
        finally:
            _compact(root)

    def agent(self, scope: Any, invocation_id: str, step: Step[T]) -> Awaitable[T]:
        parent = _CURRENT.get()
        if parent is None:
            return self._inner.agent(scope, invocation_id, step)
        agent = scope.agent
        inputs = (invocation_id, scope.thread_id, agent.model, agent.provider)
        node = ["agent", agent.name, perf_counter(), None, "running", None, [], inputs, None]
        parent[_CHILDREN].append(node)
        return self._inner.agent(scope, invocation_id, _watch(node, step))

    def chat(self, scope: Any, request: Any, step: Step[T]) -> Awaitable[T]:
        parent = _CURRENT.get()
        if parent is None:
            return self._inner.chat(scope, request, step)
        turn = request.turn
        inputs = (turn, request.agent, request.model, request.provider)
        node = ["turn", f"turn {turn}", perf_counter(), None, "running", None, [], inputs, None]
        parent[_CHILDREN].append(node)
        watched = _watch(node, step)
        return watched if self._solo else self._inner.chat(scope, request, watched)

    def tool(self, scope: Any, call_id: str, name: str, args: Any, step: Step[T]) -> Awaitable[T]:
        parent = _CURRENT.get()
        if parent is None:
            return self._inner.tool(scope, call_id, name, args, step)
        node = ["tool", name, perf_counter(), None, "running", None, [], (call_id, args), None]
        parent[_CHILDREN].append(node)
        watched = _watch(node, step)
        return watched if self._solo else self._inner.tool(scope, call_id, name, args, watched)

    def approval(self, scope: Any, kind: str, target: str, step: Step[T]) -> Awaitable[T]:
        parent = _CURRENT.get()
        if parent is None:
            return self._inner.approval(scope, kind, target, step)
        name = f"approval {kind}"
        node = ["approval", name, perf_counter(), None, "running", None, [], (kind, target), None]
        parent[_CHILDREN].append(node)
        return self._inner.approval(scope, kind, target, _watch(node, step))

    def plan_dispatch(self, run: Any, plan_id: str, actions: int, step: Step[T]) -> Awaitable[T]:
        parent = _CURRENT.get()
        if parent is None:
            return self._inner.plan_dispatch(run, plan_id, actions, step)
        inputs = (plan_id, actions)
        node = ["planDispatch", plan_id, perf_counter(), None, "running", None, [], inputs, None]
        parent[_CHILDREN].append(node)
        return self._inner.plan_dispatch(run, plan_id, actions, _watch(node, step))
