"""OpenTelemetry spans of runs, following the GenAI semantic conventions.

Imported only when a runtime is built with ``tracer_provider=...`` or ``telemetry=True``
(``create_runtime``), so a runtime without telemetry never imports OpenTelemetry. Spans:

* ``run {agent}`` per run (``flowai.run.id``, ``gen_ai.conversation.id`` = the thread id);
* ``invoke_agent {agent}`` per agent invocation, nested under the ``execute_tool call_agent``
  span that started it;
* ``chat {model}`` per model call (a child of its agent's span, beside the tool spans the turn
  makes): ``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``,
  ``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens`` / ``output_tokens`` (and
  the cache counts), the priced cost, and a live client's retries and time to first token;
* ``execute_tool {tool}`` per tool call: ``gen_ai.tool.name``, ``gen_ai.tool.call.id``;
* ``approval {kind}`` per approval wait (``flowai.approval.decision``,
  ``flowai.approval.wait_ms``) and ``dispatch_plan {plan}`` per plan dispatch.

Failures set the span's status to error with the message and ``error.type``. Message contents
(prompts, tool arguments and results) are recorded only with ``capture_content``; credentials
never reach the engine, so they cannot reach a span.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from flowai_harness.engine.cassette import request_digest
from flowai_harness.engine.jsonvalues import compact_json
from flowai_harness.engine.observer import RunObserver, Step

if TYPE_CHECKING:
    from flowai_harness.events import TokenUsage
    from flowai_harness.ports import ModelRequest

__all__ = ["TelemetryObserver"]

_SCOPE = "flowai_harness"
T = TypeVar("T")


class _Span:
    """One span around one awaited step; ``current`` spans parent the spans started inside."""

    __slots__ = ("_span", "_token")

    def __init__(self, span: trace.Span, *, current: bool) -> None:
        self._span = span
        self._token = otel_context.attach(trace.set_span_in_context(span)) if current else None

    def set(self, key: str, value: Any) -> None:
        self._span.set_attribute(key, value)

    def failed(self, message: str, code: str | None) -> None:
        self._span.set_attribute("error.type", code or "error")
        self._span.set_status(Status(StatusCode.ERROR, message))

    def end(self, exc: BaseException | None = None) -> None:
        if exc is not None:
            cancelled = isinstance(exc, asyncio.CancelledError | GeneratorExit)
            self.failed(
                "cancelled" if cancelled else str(exc),
                "cancelled" if cancelled else type(exc).__name__,
            )
            if not cancelled:
                self._span.record_exception(exc)
        if self._token is not None:
            otel_context.detach(self._token)
        self._span.end()


def _outcome(span: _Span, outcome: Any) -> None:
    """Record how a model call or an agent invocation went (see ``engine.observer``)."""
    message = getattr(outcome, "message", None)
    if isinstance(message, str):
        span.failed(message, getattr(outcome, "code", None))
        return
    usage: TokenUsage | None = getattr(outcome, "usage", None)
    reason = getattr(outcome, "reason", None)
    if usage is None or reason is None:
        return
    span.set("gen_ai.response.finish_reasons", (_finish_reason(str(reason)),))
    span.set("gen_ai.usage.input_tokens", usage.prompt_tokens)
    span.set("gen_ai.usage.output_tokens", usage.completion_tokens)
    if usage.cache_read_input_tokens:
        span.set("gen_ai.usage.cache_read.input_tokens", usage.cache_read_input_tokens)
    if usage.cache_creation_input_tokens:
        span.set("gen_ai.usage.cache_creation.input_tokens", usage.cache_creation_input_tokens)
    if usage.cost_usd is not None:
        span.set("flowai.usage.cost_usd", usage.cost_usd)


def _chat_outcome(span: _Span, outcome: Any) -> None:
    """A model call's outcome, with a live client's retries and time to first token."""
    _outcome(span, outcome)
    latency = getattr(outcome, "latency", None)
    if latency is not None:
        span.set("flowai.model.retries", latency.retry_count)
        if latency.ttft_ms is not None:
            span.set("flowai.model.time_to_first_token_ms", latency.ttft_ms)


def _finish_reason(reason: str) -> str:
    # the conventions' values use underscores (``tool_calls``, ``content_filter``)
    return reason.replace("-", "_")


def _json(value: Any) -> str:
    try:
        return compact_json(value)
    except TypeError:
        return str(value)


class TelemetryObserver(RunObserver):
    """Observes runs as OpenTelemetry spans of ``tracer_provider``.

    Args:
        tracer_provider: Where spans go (``None``: the global tracer provider).
        capture_content: Also record prompts, messages, tool arguments and tool results.
    """

    __slots__ = ("_content", "_tracer")

    def __init__(self, tracer_provider: Any = None, *, capture_content: bool = False) -> None:
        self._tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        self._content = capture_content

    async def _traced(
        self,
        name: str,
        attributes: dict[str, Any],
        step: Step[T],
        record: Callable[[_Span, T], None],
        *,
        current: bool = True,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> T:
        span = _Span(
            self._tracer.start_span(name, kind=kind, attributes=attributes), current=current
        )
        try:
            result = await step
        except BaseException as exc:
            span.end(exc)
            raise
        record(span, result)
        span.end()
        return result

    def run(self, run: Any, entry_agent: str, step: Step[T]) -> Awaitable[T]:
        attributes = {
            "flowai.run.id": run.run_id or "",
            "gen_ai.agent.name": entry_agent,
            "gen_ai.conversation.id": run.request_thread,
        }
        return self._traced(f"run {entry_agent}", attributes, step, _nothing)

    def agent(self, scope: Any, invocation_id: str, step: Step[T]) -> Awaitable[T]:
        agent = scope.agent
        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent.name,
            "gen_ai.agent.id": invocation_id,
            "gen_ai.conversation.id": scope.thread_id,
            "gen_ai.provider.name": agent.provider,
            "gen_ai.request.model": agent.model,
        }
        return self._traced(f"invoke_agent {agent.name}", attributes, step, _outcome)

    def chat(self, scope: Any, request: ModelRequest, step: Step[T]) -> Awaitable[T]:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": request.provider,
            "gen_ai.request.model": request.model,
            "gen_ai.conversation.id": scope.thread_id,
            "gen_ai.agent.name": request.agent,
        }
        if self._content:
            messages = request_digest(request)["messages"]
            attributes["gen_ai.system_instructions"] = request.system_prompt
            attributes["gen_ai.input.messages"] = _json(messages[1:])
        # Not current: the tool calls of the turn are its siblings under the agent's span.
        return self._traced(
            f"chat {request.model}",
            attributes,
            step,
            _chat_outcome,
            current=False,
            kind=SpanKind.CLIENT,
        )

    def tool(self, scope: Any, call_id: str, name: str, args: Any, step: Step[T]) -> Awaitable[T]:
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id,
            "gen_ai.tool.type": "function",
        }
        if self._content:
            attributes["gen_ai.tool.call.arguments"] = _json(args)
        return self._traced(f"execute_tool {name}", attributes, step, self._tool_result)

    def _tool_result(self, span: _Span, outcome: Any) -> None:
        content = getattr(outcome, "content", None)
        if self._content:
            span.set("gen_ai.tool.call.result", _json(content))
        if getattr(outcome, "is_error", False):
            message = content.get("error") if isinstance(content, dict) else None
            span.failed(str(message) if message is not None else "tool error", "tool_error")

    def approval(self, scope: Any, kind: str, target: str, step: Step[T]) -> Awaitable[T]:
        attributes = {"flowai.approval.kind": kind, "flowai.approval.target": target}
        started = time.monotonic()

        def decided(span: _Span, decision: Any) -> None:
            span.set("flowai.approval.decision", str(getattr(decision, "outcome", "")))
            span.set("flowai.approval.wait_ms", int((time.monotonic() - started) * 1000))

        return self._traced(f"approval {kind}", attributes, step, decided)

    def plan_dispatch(self, run: Any, plan_id: str, actions: int, step: Step[T]) -> Awaitable[T]:
        attributes = {"flowai.plan.id": plan_id, "flowai.plan.actions": actions}
        return self._traced(f"dispatch_plan {plan_id}", attributes, step, _nothing)


def _nothing(span: _Span, result: Any) -> None:
    """Nothing to record from the result (failures arrive as exceptions)."""
