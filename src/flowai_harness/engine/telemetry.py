"""OpenTelemetry spans of runs, following the GenAI semantic conventions.

Imported only when a runtime is built with ``tracer_provider=...`` or ``telemetry=True``
(``create_runtime``), so a runtime without telemetry never imports OpenTelemetry. Spans:

* ``run {agent}`` per run (``flowai.run.id``, ``gen_ai.conversation.id`` = the thread id);
* ``invoke_agent {agent}`` per agent invocation, nested under the ``execute_tool call_agent``
  span that started it;
* ``chat {model}`` per model call (a child of its agent's span, beside the tool spans the turn
  makes): ``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``,
  ``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens`` / ``output_tokens``;
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
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from flowai_harness.engine.cassette import request_digest
from flowai_harness.engine.jsonvalues import compact_json
from flowai_harness.engine.observer import Observation, RunObserver

if TYPE_CHECKING:
    from flowai_harness.engine.context import AgentScope, RunContext
    from flowai_harness.events import TokenUsage
    from flowai_harness.ports import ModelRequest

__all__ = ["TelemetryObserver"]

_SCOPE = "flowai_harness"


class _Span(Observation):
    """One OpenTelemetry span; ``current`` ones become the parent of spans started inside."""

    __slots__ = ("_content", "_current", "_span", "_started", "_token")

    def __init__(self, span: trace.Span, *, current: bool, content: bool) -> None:
        self._span = span
        self._current = current
        self._content = content
        self._token: object | None = None
        self._started = time.monotonic()

    def __enter__(self) -> _Span:
        if self._current:
            self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            cancelled = isinstance(exc, asyncio.CancelledError | GeneratorExit)
            self._span.set_attribute("error.type", "cancelled" if cancelled else type(exc).__name__)
            self._span.set_status(Status(StatusCode.ERROR, "cancelled" if cancelled else str(exc)))
            if not cancelled:
                self._span.record_exception(exc)
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
        self._span.end()

    def finished(self, reason: str, usage: TokenUsage) -> None:
        span = self._span
        span.set_attribute("gen_ai.response.finish_reasons", (_finish_reason(reason),))
        span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
        if usage.cache_read_input_tokens:
            span.set_attribute(
                "gen_ai.usage.cache_read.input_tokens", usage.cache_read_input_tokens
            )
        if usage.cost_usd is not None:
            span.set_attribute("flowai.usage.cost_usd", usage.cost_usd)

    def tool_result(self, result: Any, is_error: bool) -> None:
        if self._content:
            self._span.set_attribute("gen_ai.tool.call.result", _json(result))
        if is_error:
            message = result.get("error") if isinstance(result, dict) else None
            self.failed(str(message) if message is not None else "tool error", "tool_error")

    def decided(self, outcome: str) -> None:
        self._span.set_attribute("flowai.approval.decision", outcome)
        wait_ms = int((time.monotonic() - self._started) * 1000)
        self._span.set_attribute("flowai.approval.wait_ms", wait_ms)

    def failed(self, message: str, code: str | None = None) -> None:
        self._span.set_attribute("error.type", code or "error")
        self._span.set_status(Status(StatusCode.ERROR, message))


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

    def _start(
        self, name: str, attributes: dict[str, Any], *, current: bool, kind: SpanKind
    ) -> _Span:
        span = self._tracer.start_span(name, kind=kind, attributes=attributes)
        return _Span(span, current=current, content=self._content)

    def run(self, run: RunContext, entry_agent: str) -> Observation:
        attributes = {
            "flowai.run.id": run.run_id or "",
            "gen_ai.agent.name": entry_agent,
            "gen_ai.conversation.id": run.request_thread,
        }
        return self._start(f"run {entry_agent}", attributes, current=True, kind=SpanKind.INTERNAL)

    def agent(self, scope: AgentScope, invocation_id: str) -> Observation:
        agent = scope.agent
        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent.name,
            "gen_ai.agent.id": invocation_id,
            "gen_ai.conversation.id": scope.thread_id,
            "gen_ai.provider.name": agent.provider,
            "gen_ai.request.model": agent.model,
        }
        return self._start(
            f"invoke_agent {agent.name}", attributes, current=True, kind=SpanKind.INTERNAL
        )

    def chat(self, scope: AgentScope, request: ModelRequest) -> Observation:
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
        return self._start(f"chat {request.model}", attributes, current=False, kind=SpanKind.CLIENT)

    def tool(self, scope: AgentScope, call_id: str, name: str, args: Any) -> Observation:
        attributes = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id,
            "gen_ai.tool.type": "function",
        }
        if self._content:
            attributes["gen_ai.tool.call.arguments"] = _json(args)
        return self._start(f"execute_tool {name}", attributes, current=True, kind=SpanKind.INTERNAL)

    def approval(self, scope: AgentScope, kind: str, target: str) -> Observation:
        attributes = {"flowai.approval.kind": kind, "flowai.approval.target": target}
        return self._start(f"approval {kind}", attributes, current=True, kind=SpanKind.INTERNAL)

    def plan_dispatch(self, run: RunContext, plan_id: str, actions: int) -> Observation:
        attributes = {"flowai.plan.id": plan_id, "flowai.plan.actions": actions}
        return self._start(
            f"dispatch_plan {plan_id}", attributes, current=True, kind=SpanKind.INTERNAL
        )
