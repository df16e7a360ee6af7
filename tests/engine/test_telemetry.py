"""OpenTelemetry spans of a run: the span tree and its GenAI attributes, and no cost when off."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_executor,
    define_planner,
    define_runtime,
    define_tool,
)
from flowai_harness.errors import ConfigurationError, SpecTypeError
from flowai_harness.events import TokenUsage
from flowai_harness.testing import ScriptedModel, collect_events
from tests.engine.helpers import MODEL, PROMO_PLAN, TENANT, runtime_of, specialist

SECRET = "sk-live-SECRET-do-not-trace"


@define_tool("lookup", {"sku": str})
def lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"sku": args["sku"], "price": 4.5}


def _flow_model() -> ScriptedModel:
    plan = {"specName": "Promo", "planId": "p-1", "body": {"actions": [{"kind": "discount"}]}}
    model = ScriptedModel()
    model.add_turn(
        tool_calls=[("call_agent", {"agent": "planner", "prompt": "plan it"})],
        agent="c",
        usage=TokenUsage(100, 20),
    )
    model.add_turn(tool_calls=[("lookup", {"sku": "A-1"})], agent="planner")
    model.add_turn(tool_calls=[("storePlan", plan)], agent="planner")
    model.add_turn("stored", agent="planner", usage=TokenUsage(50, 5))
    model.add_turn(
        tool_calls=[("call_agent", {"agent": "executor", "prompt": "run p-1"})], agent="c"
    )
    model.add_turn(tool_calls=[("executePlan", {"planId": "p-1"})], agent="executor")
    model.add_turn("executed", agent="executor")
    model.add_turn("all done", agent="c")
    return model


def _flow_runtime(provider: TracerProvider, **kwargs: Any) -> Any:
    spec = define_runtime(
        TENANT,
        agents=[
            define_coordinator("c", model=MODEL, prompt="route", routes=["planner", "executor"]),
            define_planner("planner", model=MODEL, prompt="plan", plan=PROMO_PLAN, tools=[lookup]),
            define_executor(
                "executor",
                model=MODEL,
                prompt="execute",
                plan=PROMO_PLAN,
                approval={"plans": "always"},
            ),
        ],
        plans=[PROMO_PLAN],
    )
    return create_runtime(
        spec,
        interpreter=_flow_model(),
        tracer_provider=provider,
        action_dispatcher=lambda actions, ctx: {"entitiesAffected": 1},
        **kwargs,
    )


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _tree(spans: tuple[ReadableSpan, ...]) -> list[str]:
    """Each span as ``indent + name``, children after their parent in start order."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None else None
        by_parent.setdefault(parent, []).append(span)
    out: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in by_parent.get(parent, []):
            out.append("  " * depth + span.name)
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return out


def _named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


async def test_a_coordinator_planner_executor_run_is_one_span_tree() -> None:
    provider, exporter = _provider()
    runtime = _flow_runtime(provider)
    stream = runtime.query("promo on A-1", thread_id="t-9")
    await collect_events(stream, runtime, approve="approve")
    spans = exporter.get_finished_spans()
    model = f"chat {MODEL}"
    assert _tree(spans) == [
        "run c",
        "  invoke_agent c",
        f"    {model}",
        "    execute_tool call_agent",
        "      invoke_agent planner",
        f"        {model}",
        "        execute_tool lookup",
        f"        {model}",
        "        execute_tool storePlan",
        f"        {model}",
        f"    {model}",
        "    execute_tool call_agent",
        "      invoke_agent executor",
        f"        {model}",
        "        execute_tool executePlan",
        "          approval plan",
        "          dispatch_plan p-1",
        f"        {model}",
        f"    {model}",
    ]
    [run] = _named(spans, "run c")
    assert run.attributes is not None
    assert run.attributes["gen_ai.conversation.id"] == "t-9"
    assert run.attributes["flowai.run.id"] == stream.run_id

    [planner] = _named(spans, "invoke_agent planner")
    assert dict(planner.attributes or {}) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "planner",
        "gen_ai.agent.id": planner.attributes["gen_ai.agent.id"],  # type: ignore[index]
        "gen_ai.conversation.id": "t-9-planner",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        # the invocation's own finish and its usage over all its model calls
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 50,
        "gen_ai.usage.output_tokens": 5,
    }

    first_chat = next(
        s for s in spans if s.name == model and s.attributes["gen_ai.agent.name"] == "c"
    )  # type: ignore[index]
    attributes = dict(first_chat.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "anthropic"
    assert attributes["gen_ai.request.model"] == MODEL
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attributes["gen_ai.usage.input_tokens"] == 100
    assert attributes["gen_ai.usage.output_tokens"] == 20
    assert "gen_ai.input.messages" not in attributes  # content is off by default

    [tool] = _named(spans, "execute_tool lookup")
    assert tool.attributes is not None
    assert tool.attributes["gen_ai.tool.name"] == "lookup"
    assert str(tool.attributes["gen_ai.tool.call.id"]).startswith("fake-call-")
    assert "gen_ai.tool.call.arguments" not in tool.attributes

    [approval] = _named(spans, "approval plan")
    assert approval.attributes is not None
    assert approval.attributes["flowai.approval.decision"] == "approve"
    assert approval.attributes["flowai.approval.target"] == "p-1"
    assert isinstance(approval.attributes["flowai.approval.wait_ms"], int)
    [dispatch] = _named(spans, "dispatch_plan p-1")
    assert dispatch.attributes is not None and dispatch.attributes["flowai.plan.actions"] == 1
    assert all(s.status.status_code != StatusCode.ERROR for s in spans)


async def test_errors_are_recorded_on_their_spans() -> None:
    @define_tool("lookup", {"sku": str})
    def broken(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        raise RuntimeError("backend down")

    provider, exporter = _provider()
    model = ScriptedModel().add_turn(tool_calls=[("lookup", {"sku": "A"})])
    runtime = runtime_of(
        specialist("w", tools=[broken]), interpreter=model, tracer_provider=provider
    )
    await collect_events(runtime.run_specialist("w", "go", thread_id="t"))
    spans = exporter.get_finished_spans()
    [tool] = _named(spans, "execute_tool lookup")
    assert tool.status.status_code == StatusCode.ERROR
    assert "backend down" in (tool.status.description or "")
    assert tool.attributes is not None and tool.attributes["error.type"] == "tool_error"
    # the script ran dry: the second model call fails, and so do the agent and the run
    chats = _named(spans, f"chat {MODEL}")
    assert chats[-1].status.status_code == StatusCode.ERROR
    [agent] = _named(spans, "invoke_agent w")
    assert agent.status.status_code == StatusCode.ERROR
    [run] = _named(spans, "run w")
    assert run.status.status_code == StatusCode.ERROR


async def test_contents_only_when_enabled_and_never_secrets() -> None:
    provider, exporter = _provider()
    model = ScriptedModel().add_turn(tool_calls=[("lookup", {"sku": "A-1"})]).add_turn("ok")
    spec = define_runtime(
        TENANT,
        agents=[specialist("w", tools=[lookup])],
        providers={"anthropic": {"apiKey": SECRET}},
    )
    runtime = create_runtime(
        spec, interpreter=model, tracer_provider=provider, telemetry={"capture_content": True}
    )
    await collect_events(runtime.run_specialist("w", "price A-1", thread_id="t"))
    spans = exporter.get_finished_spans()
    [tool] = _named(spans, "execute_tool lookup")
    assert tool.attributes is not None
    assert json.loads(str(tool.attributes["gen_ai.tool.call.arguments"])) == {"sku": "A-1"}
    assert json.loads(str(tool.attributes["gen_ai.tool.call.result"]))["price"] == 4.5
    chat = _named(spans, f"chat {MODEL}")[0]
    assert chat.attributes is not None
    messages = json.loads(str(chat.attributes["gen_ai.input.messages"]))
    assert messages[-1] == {"role": "user", "content": "price A-1"}
    dumped = json.dumps([dict(s.attributes or {}) for s in spans], default=str)
    assert SECRET not in dumped


def test_bad_telemetry_arguments_name_the_problem() -> None:
    with pytest.raises(ConfigurationError, match="unknown key"):
        runtime_of(specialist("w"), telemetry={"capture": True})
    with pytest.raises(SpecTypeError, match="capture_content must be a boolean"):
        runtime_of(specialist("w"), telemetry={"capture_content": "yes"})
    with pytest.raises(SpecTypeError, match="tracer_provider must be an OpenTelemetry"):
        runtime_of(specialist("w"), tracer_provider=object())
    with pytest.raises(SpecTypeError, match="telemetry must be a boolean"):
        runtime_of(specialist("w"), telemetry="on")


def test_no_opentelemetry_import_without_a_tracer_provider() -> None:
    code = """
import asyncio, sys
from flowai_harness import create_runtime, define_runtime, define_specialist, define_tenant
from flowai_harness.testing import ScriptedModel, collect_events
spec = define_runtime(define_tenant("acme", "v1"),
                      agents=[define_specialist("w", model="claude-haiku-4-5", prompt="p")])
runtime = create_runtime(spec, interpreter=ScriptedModel().add_turn("hi"),
                         budget={"max_tokens": 10})
asyncio.run(collect_events(runtime.run_specialist("w", "go")))
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
print(loaded)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


async def test_telemetry_true_uses_the_global_tracer_provider(monkeypatch: Any) -> None:
    from opentelemetry import trace

    provider, exporter = _provider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    model = ScriptedModel().add_turn("hi")
    runtime = runtime_of(specialist("w"), interpreter=model, telemetry=True)
    await collect_events(runtime.run_specialist("w", "go", thread_id="t"))
    assert [s.name for s in exporter.get_finished_spans()][-1] == "run w"


async def test_a_run_dropped_at_an_approval_ends_its_spans_as_cancelled() -> None:
    gated = define_tool("lookup", {"sku": str}, approval="always").bind(
        lambda args, ctx: {"sku": args["sku"]}
    )
    provider, exporter = _provider()
    model = ScriptedModel().add_turn(tool_calls=[("lookup", {"sku": "A"})])
    runtime = runtime_of(
        specialist("w", tools=[gated]), interpreter=model, tracer_provider=provider
    )
    stream = runtime.run_specialist("w", "go", thread_id="t")
    async for event in stream:
        if event["type"] == "approval-required":
            break
    await stream.aclose()
    spans = exporter.get_finished_spans()
    for name in ("approval tool", "execute_tool lookup", "invoke_agent w", "run w"):
        [span] = _named(spans, name)
        assert span.status.status_code == StatusCode.ERROR, name
        assert span.status.description == "cancelled"
        assert (span.attributes or {})["error.type"] == "cancelled"
        assert not span.events  # a cancellation is not recorded as an exception
    [approval] = _named(spans, "approval tool")
    assert (approval.attributes or {})["flowai.approval.target"] == "lookup"
    assert "flowai.approval.decision" not in (approval.attributes or {})
