"""Run traces (``Runtime.get_trace(run_id)``): the tree of a run with timings, tokens and cost,
and the OpenTelemetry attributes a live model call adds (retries, time to first token, cache)."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowai_harness import create_runtime, define_runtime, define_specialist, define_tool
from flowai_harness.engine.trace_collector import TraceCollector
from flowai_harness.errors import ConfigurationError, SpecTypeError, SpecValueError
from flowai_harness.events import TokenUsage
from flowai_harness.ports import ModelFinish, ModelRequest, ModelText, ModelToolCall
from flowai_harness.providers.pricing import PriceTable
from flowai_harness.testing import ModelTurn, ScriptedModel, ToolCallStep, collect_events
from tests.engine.helpers import (
    MODEL,
    PROMO_PLAN,
    TENANT,
    coordinator,
    executor,
    planner,
    runtime_of,
    specialist,
)
from tests.providers.conftest import SECRET_KEY
from tests.providers.fakes.anthropic_server import (
    FakeAnthropic,
    ToolUse,
    anthropic_error,
    anthropic_reply,
)
from tests.providers.support import fast_retries

USAGE_KEYS = ("inputTokens", "outputTokens", "cachedTokens", "cacheCreationTokens")


@define_tool("lookup", {"sku": str})
def lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"sku": args["sku"], "price": 4.5}


def _flow_model() -> ScriptedModel:
    plan = {"specName": "Promo", "planId": "p-1", "body": {"actions": [{"kind": "discount"}]}}
    model = ScriptedModel()
    model.add_turn(
        tool_calls=[("call_agent", {"agent": "planner", "prompt": "plan it"})],
        agent="c",
        usage=TokenUsage(100, 20, 30, 5),
    )
    model.add_turn(
        tool_calls=[("lookup", {"sku": "A-1"})], agent="planner", usage=TokenUsage(40, 4)
    )
    model.add_turn(tool_calls=[("storePlan", plan)], agent="planner", usage=TokenUsage(45, 6))
    model.add_turn("stored", agent="planner", usage=TokenUsage(50, 5, 10))
    model.add_turn(
        tool_calls=[("call_agent", {"agent": "executor", "prompt": "run p-1"})],
        agent="c",
        usage=TokenUsage(110, 7),
    )
    model.add_turn(
        tool_calls=[("executePlan", {"planId": "p-1"})], agent="executor", usage=TokenUsage(60, 3)
    )
    model.add_turn("executed", agent="executor", usage=TokenUsage(70, 2))
    model.add_turn("all done", agent="c", usage=TokenUsage(120, 9))
    return model


def _flow_runtime(**kwargs: Any) -> Any:
    return runtime_of(
        coordinator(["planner", "executor"]),
        planner(tools=[lookup]),
        executor(approval={"plans": "always"}),
        plans=[PROMO_PLAN],
        interpreter=_flow_model(),
        action_dispatcher=lambda actions, ctx: {"entitiesAffected": 1},
        **kwargs,
    )


def _walk(node: dict[str, Any], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    yield depth, node
    for child in node["children"]:
        yield from _walk(child, depth + 1)


def _shape(trace: dict[str, Any]) -> list[str]:
    return ["  " * depth + f"{n['type']} {n['name']}" for depth, n in _walk(trace["root"])]


def _check_timings(node: dict[str, Any]) -> None:
    """Every node ended, and lies within its parent's span of time."""
    assert node["durationMs"] >= 0 and node["startOffsetMs"] >= 0
    for child in node["children"]:
        assert child["startOffsetMs"] >= node["startOffsetMs"]
        assert (
            child["startOffsetMs"] + child["durationMs"]
            <= node["startOffsetMs"] + node["durationMs"] + 0.01
        )
        _check_timings(child)


def _finish_usage(events: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The usage of each ``finish`` event, by the invocation whose frame it closes."""
    frames: list[str] = []
    out: dict[str, dict[str, int]] = {}
    for event in events:
        if event["type"] == "tool-agent":
            if event["state"] == "call":
                frames.append(event["toolInvocationId"])
            else:
                frames.pop()
        elif event["type"] == "finish":
            usage = event["usage"]
            out[frames[-1]] = {
                "inputTokens": usage["promptTokens"],
                "outputTokens": usage["completionTokens"],
                "cachedTokens": usage["cacheReadInputTokens"],
                "cacheCreationTokens": usage["cacheCreationInputTokens"],
            }
    return out


async def test_a_coordinator_planner_executor_run_has_its_whole_tree() -> None:
    runtime = _flow_runtime()
    stream = runtime.query("promo on A-1", thread_id="t-9")
    events = await collect_events(stream, runtime, approve="approve")
    trace = runtime.get_trace(stream.run_id)
    assert trace is not None
    assert _shape(trace) == [
        "run c",
        "  agent c",
        "    turn turn 1",
        "      tool call_agent",
        "        agent planner",
        "          turn turn 1",
        "            tool lookup",
        "          turn turn 2",
        "            tool storePlan",
        "          turn turn 3",
        "    turn turn 2",
        "      tool call_agent",
        "        agent executor",
        "          turn turn 1",
        "            tool executePlan",
        "              approval approval plan",
        "              planDispatch p-1",
        "          turn turn 2",
        "    turn turn 3",
    ]
    entry = next(e for e in events if e["type"] == "tool-agent")
    assert trace["traceId"] == trace["runId"] == stream.run_id
    assert trace["kind"] == "run" and trace["operation"] == "query"
    assert (trace["threadId"], trace["entryAgent"], trace["status"]) == ("t-9", "c", "completed")
    assert trace["entryInvocationId"] == entry["toolInvocationId"]
    assert trace["scope"] == {"runId": stream.run_id, "threadId": "t-9"}
    assert trace["startedAt"] <= trace["completedAt"]

    # timings: every node ended, within its parent's span of time
    nodes = [node for _, node in _walk(trace["root"])]
    assert all(n["status"] == "ok" and n["error"] is None for n in nodes)

    _check_timings(trace["root"])
    assert trace["root"]["durationMs"] == trace["durationMs"]

    # tokens: each invocation's usage is its finish event's, and the sum of its turns'
    agents = [n for n in nodes if n["type"] == "agent"]
    finishes = _finish_usage(events)
    assert {a["invocationId"]: a["usage"] for a in agents} == finishes
    for agent in agents:
        turns = [c for c in agent["children"] if c["type"] == "turn"]
        assert {k: sum(t["usage"][k] for t in turns) for k in USAGE_KEYS} == agent["usage"]
    assert trace["usage"] == {k: sum(u[k] for u in finishes.values()) for k in USAGE_KEYS}
    assert trace["usage"] == {
        "inputTokens": 595,
        "outputTokens": 56,
        "cachedTokens": 40,
        "cacheCreationTokens": 5,
    }
    assert trace["costUsd"] is None  # a scripted model has no price

    # the nodes' own fields
    [planner_node] = [a for a in agents if a["agent"] == "planner"]
    assert planner_node["threadId"] == "t-9-planner" and planner_node["model"] == MODEL
    assert planner_node["finishReason"] == "stop"
    [tool] = [n for n in nodes if n["type"] == "tool" and n["name"] == "lookup"]
    assert tool["arguments"] == {"kind": "inline", "value": {"sku": "A-1"}}
    assert tool["result"] == {"kind": "inline", "value": {"sku": "A-1", "price": 4.5}}
    assert tool["isError"] is False and tool["toolCallId"].startswith("fake-call-")
    [approval] = [n for n in nodes if n["type"] == "approval"]
    assert (approval["approvalKind"], approval["target"]) == ("plan", "p-1")
    assert approval["decision"] == "approve" and approval["waitMs"] >= 0
    [dispatch] = [n for n in nodes if n["type"] == "planDispatch"]
    assert (dispatch["planId"], dispatch["actions"]) == ("p-1", 1)
    first_turn = agents[0]["children"][0]
    assert first_turn["finishReason"] == "tool-calls" and first_turn["model"] == MODEL

    # listed by thread, as run traces; the eval traces are a separate kind
    assert [t["runId"] for t in runtime.list_traces(thread_id="t-9", kind="run")] == [stream.run_id]
    assert runtime.list_traces(thread_id="other", kind="run") == []
    assert runtime.list_traces() == []
    # each read is a fresh copy
    trace["root"]["children"].clear()
    assert runtime.get_trace(stream.run_id)["root"]["children"]  # type: ignore[index]


async def test_a_failed_and_a_cancelled_run_say_so() -> None:
    @define_tool("lookup", {"sku": str})
    def broken(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        raise RuntimeError("backend down")

    model = ScriptedModel().add_turn(tool_calls=[("lookup", {"sku": "A"})])
    runtime = runtime_of(specialist("w", tools=[broken]), interpreter=model)
    stream = runtime.run_specialist("w", "go", thread_id="t")
    await collect_events(stream)
    trace = runtime.get_trace(stream.run_id)
    assert trace is not None
    assert trace["status"] == "failed" and trace["operation"] == "run_specialist"
    assert trace["error"]
    agent = trace["root"]["children"][0]
    assert agent["status"] == "error" and agent["error"] == trace["error"].removeprefix(
        "agent failed: "
    )
    [first, second] = agent["children"]
    [tool] = first["children"]
    assert tool["status"] == "error" and "backend down" in tool["error"]
    assert tool["isError"] is True
    assert second["status"] == "error"  # the script ran dry

    gated_lookup = define_tool("lookup", {"sku": str}, approval="always").bind(
        lambda args, ctx: {"sku": args["sku"]}
    )
    gated = runtime_of(
        specialist("g", tools=[gated_lookup]),
        interpreter=ScriptedModel().add_turn(tool_calls=[("lookup", {"sku": "A"})]),
    )
    waiting = gated.run_specialist("g", "go", thread_id="t2")
    async for event in waiting:
        if event["type"] == "approval-required":
            break
    running = gated.get_trace(waiting.run_id)
    assert running is not None and running["status"] == "running"
    assert running["durationMs"] is None and running["completedAt"] is None
    await waiting.aclose()
    cancelled = gated.get_trace(waiting.run_id)
    assert cancelled is not None and cancelled["status"] == "cancelled"
    [approval] = [n for _, n in _walk(cancelled["root"]) if n["type"] == "approval"]
    assert approval["status"] == "cancelled"


def test_trace_arguments_are_checked() -> None:
    runtime = runtime_of(specialist("w"))
    with pytest.raises(SpecValueError, match="kind must be 'eval' or 'run'"):
        runtime.list_traces(kind="runs")
    with pytest.raises(SpecValueError, match="filtered by thread_id only"):
        runtime.list_traces(eval_run_id="eval-1", kind="run")
    with pytest.raises(SpecTypeError, match="thread_id must be a string"):
        runtime.list_traces(thread_id=3, kind="run")  # type: ignore[arg-type]
    assert runtime.get_trace("run-unknown") is None
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        TraceCollector(capacity=0)


async def test_only_the_last_runs_are_kept_and_none_when_turned_off() -> None:
    model = ScriptedModel()
    for _ in range(4):
        model.add_turn("hi")
    runtime = runtime_of(specialist("w"), interpreter=model, run_traces=2)
    ids = []
    for index in range(3):
        stream = runtime.run_specialist("w", "go", thread_id=f"t{index}")
        await collect_events(stream)
        ids.append(stream.run_id)
    assert runtime.get_trace(ids[0]) is None
    assert [t["runId"] for t in runtime.list_traces(kind="run")] == ids[1:]

    off = runtime_of(specialist("w"), interpreter=model, run_traces=False)
    assert not isinstance(off._compiled.observer, TraceCollector)
    stream = off.run_specialist("w", "go", thread_id="t")
    await collect_events(stream)
    assert off.get_trace(stream.run_id) is None and off.list_traces(kind="run") == []
    with pytest.raises(ConfigurationError, match="run_traces must be >= 0"):
        runtime_of(specialist("w"), run_traces=-1)
    with pytest.raises(SpecTypeError, match="run_traces must be a boolean or a number"):
        runtime_of(specialist("w"), run_traces="all")


def _live_spec(url: str) -> Any:
    return define_runtime(
        TENANT,
        agents=[
            define_specialist(
                "pricing", model="claude-sonnet-4-6", prompt="You price things.", tools=[lookup]
            )
        ],
        providers={"anthropic": {"apiKey": SECRET_KEY, "baseUrl": url, **fast_retries()}},
    )


async def test_a_live_run_is_priced_and_its_model_calls_carry_retries() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with FakeAnthropic() as server:
        server.queue(
            anthropic_error(529, "overloaded_error", "busy, try again"),
            anthropic_reply(
                tool_uses=[ToolUse("lookup", {"sku": "A-1"})],
                input_tokens=200,
                output_tokens=40,
                cache_read=100,
                cache_creation=20,
            ),
            anthropic_reply(text="A-1 costs 4.50.", input_tokens=300, output_tokens=12),
        )
        runtime = create_runtime(
            _live_spec(server.url), interpreter="anthropic", tracer_provider=provider
        )
        stream = runtime.run_specialist("pricing", "price of A-1?", "t-1")
        events = await collect_events(stream)
        await runtime.aclose()
    trace = runtime.get_trace(stream.run_id)
    assert trace is not None and trace["status"] == "completed"
    agent = trace["root"]["children"][0]
    turns = agent["children"]
    assert [t["retries"] for t in turns] == [1, 0]
    assert all(isinstance(t["ttftMs"], int) and t["ttftMs"] >= 0 for t in turns)

    prices = PriceTable()
    for turn in turns:
        usage = turn["usage"]
        expected = prices.cost_usd(
            "claude-sonnet-4-6",
            TokenUsage(
                usage["inputTokens"],
                usage["outputTokens"],
                usage["cachedTokens"],
                usage["cacheCreationTokens"],
            ),
        )
        assert expected is not None and math.isclose(turn["costUsd"], expected)
    assert turns[0]["usage"]["cachedTokens"] == 100
    assert turns[0]["usage"]["cacheCreationTokens"] == 20
    [summary] = [e["data"] for e in events if e["type"] == "data-cost-summary"]
    assert math.isclose(trace["costUsd"], summary["totalCostUsd"], abs_tol=1e-8)
    assert math.isclose(agent["costUsd"], sum(t["costUsd"] for t in turns))
    [finish] = [e["usage"] for e in events if e["type"] == "finish"]
    assert trace["usage"]["inputTokens"] == finish["promptTokens"]
    assert trace["usage"]["outputTokens"] == finish["completionTokens"]

    chats = [s for s in exporter.get_finished_spans() if s.name == "chat claude-sonnet-4-6"]
    first, second = (dict(s.attributes or {}) for s in chats)
    assert (first["flowai.model.retries"], second["flowai.model.retries"]) == (1, 0)
    assert isinstance(first["flowai.model.time_to_first_token_ms"], int)
    assert first["gen_ai.usage.cache_read.input_tokens"] == 100
    assert first["gen_ai.usage.cache_creation.input_tokens"] == 20
    assert math.isclose(float(first["flowai.usage.cost_usd"]), turns[0]["costUsd"])  # type: ignore[arg-type]
    assert first["gen_ai.response.finish_reasons"] == ("tool_calls",)
    [run_span] = [s for s in exporter.get_finished_spans() if s.name == "run pricing"]
    assert (run_span.attributes or {})["flowai.run.id"] == stream.run_id
    # the API key is in no span and in no trace
    spans = [dict(s.attributes or {}) for s in exporter.get_finished_spans()]
    assert SECRET_KEY not in json.dumps(spans, default=str)
    assert SECRET_KEY not in json.dumps(trace, default=str)


async def test_a_durable_run_resumed_elsewhere_is_traced_whole_there(tmp_path: Path) -> None:
    from tests.engine.durable_helpers import (
        Effects,
        approval_id,
        at_tool_gate,
        crash,
        refunds,
        run_until,
        sqlite_kv,
        tool_runtime,
    )

    kv = sqlite_kv(tmp_path)
    first = tool_runtime(kv, Effects())
    stream = first.run_specialist("w", refunds("o-1"), thread_id="t-1")
    run_id = stream.run_id
    before = await run_until(stream, at_tool_gate)
    del stream
    await crash(first)
    stopped = first.get_trace(run_id)
    assert stopped is not None and stopped["status"] == "cancelled"

    second = tool_runtime(kv, Effects())
    assert second.get_trace(run_id) is None  # not run here (yet)
    await second.respond_to_approval(approval_id(before), "approve")
    await collect_events(second.resume_run(run_id), second)
    trace = second.get_trace(run_id)
    assert trace is not None and trace["status"] == "completed"
    # the replayed part of the run is in the tree too, so the tree is whole
    tools = [n["name"] for _, n in _walk(trace["root"]) if n["type"] == "tool"]
    assert tools == ["audit", "refund"]
    [approval] = [n for _, n in _walk(trace["root"]) if n["type"] == "approval"]
    assert approval["decision"] == "approve"
    await second.aclose()


async def test_tool_calls_of_one_turn_nest_under_their_own_call() -> None:
    @define_tool("nap", {"n": int})
    async def nap(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return {"n": args["n"]}

    def calls(*steps: tuple[str, dict[str, Any], str]) -> list[ToolCallStep]:
        return [ToolCallStep(name, args, id=call_id) for name, args, call_id in steps]

    def respond(request: ModelRequest) -> ModelTurn:
        if request.agent == "c":
            if request.turn == 1:
                return ModelTurn(
                    "",
                    calls(
                        ("call_agent", {"agent": "w", "prompt": "a"}, "c1"),
                        ("call_agent", {"agent": "w", "prompt": "b"}, "c2"),
                    ),
                )
            return ModelTurn("all done")
        if request.turn == 1:
            first = "n1" if request.prompt == "a" else "n3"
            second = "n2" if request.prompt == "a" else "n4"
            return ModelTurn("", calls(("nap", {"n": 1}, first), ("nap", {"n": 2}, second)))
        return ModelTurn("w done")

    # a live client: the engine may run the calls of one turn at the same time
    model = ScriptedModel(respond=respond, live=True)
    runtime = runtime_of(coordinator(["w"]), specialist("w", tools=[nap]), interpreter=model)
    stream = runtime.query("go", thread_id="t")
    await collect_events(stream)
    trace = runtime.get_trace(stream.run_id)
    assert trace is not None and trace["status"] == "completed"
    _check_timings(trace["root"])
    [first_turn, _] = trace["root"]["children"][0]["children"]
    nested = {}
    for call in first_turn["children"]:
        [agent] = call["children"]
        nested[call["toolCallId"]] = sorted(
            tool["toolCallId"] for turn in agent["children"] for tool in turn["children"]
        )
    # each sub-agent's naps under its own call, whichever order they ran in
    assert nested == {"c1": ["n1", "n2"], "c2": ["n3", "n4"]}


class _BigResults:
    """A model that calls ``big`` once, then answers; it keeps nothing of what it sees."""

    live = False

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[Any]:
        if request.turn == 1:
            yield ModelToolCall("call-1", "big", {"n": 1})
            yield ModelFinish("tool-calls")
        else:
            yield ModelText("done")
            yield ModelFinish("stop")


async def test_a_kept_trace_holds_bounded_payloads_only() -> None:
    @define_tool("big", {"n": int})
    def big(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"rows": ["x" * 100] * 2_000}  # about 200 KB, within the tool result limit

    runtime = runtime_of(
        specialist("w", tools=[big], stateful=False), interpreter=_BigResults(), run_traces=50
    )
    stream = runtime.run_specialist("w", "go", thread_id="t")
    await collect_events(stream)
    trace = runtime.get_trace(stream.run_id)
    assert trace is not None
    [tool] = [n for _, n in _walk(trace["root"]) if n["type"] == "tool"]
    assert tool["arguments"] == {"kind": "inline", "value": {"n": 1}}
    assert (
        tool["result"]["kind"] == "omitted" and "exceeds the 65536-byte" in tool["result"]["reason"]
    )

    # twenty more such runs: the traces kept do not keep the results
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for index in range(20):
            await collect_events(runtime.run_specialist("w", "go", thread_id=f"t{index}"))
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(runtime.list_traces(kind="run")) == 21
    assert after - before < 1_000_000, f"{after - before} bytes kept for 20 runs"  # not 4 MB


async def test_a_run_started_from_a_tool_has_its_own_trace() -> None:
    holder: dict[str, Any] = {}

    @define_tool("ask", {"q": str})
    async def ask(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        inner = holder["runtime"].run_specialist("inner", args["q"], thread_id="t-inner")
        await collect_events(inner)
        holder["inner"] = inner.run_id
        return {"ok": True}

    model = ScriptedModel()
    model.add_turn(tool_calls=[("ask", {"q": "x"})], agent="outer")
    model.add_turn("inner answer", agent="inner")
    model.add_turn("outer answer", agent="outer")
    runtime = runtime_of(specialist("outer", tools=[ask]), specialist("inner"), interpreter=model)
    holder["runtime"] = runtime
    stream = runtime.run_specialist("outer", "go", thread_id="t-outer")
    await collect_events(stream)
    outer = runtime.get_trace(stream.run_id)
    inner = runtime.get_trace(holder["inner"])
    assert outer is not None and inner is not None
    assert _shape(outer) == [
        "run outer",
        "  agent outer",
        "    turn turn 1",
        "      tool ask",
        "    turn turn 2",
    ]
    assert _shape(inner) == ["run inner", "  agent inner", "    turn turn 1"]


async def test_an_untraced_run_started_inside_a_traced_step_stays_out_of_it() -> None:
    from types import SimpleNamespace

    collector = TraceCollector()
    traced = SimpleNamespace(
        run_id="run-1",
        approval_mode="interactive",
        request_thread="t",
        runtime=SimpleNamespace(coordinator=None),
    )
    untraced = SimpleNamespace(run_id="run-2", approval_mode="bypass", request_thread="t2")
    scope = SimpleNamespace(
        thread_id="t", agent=SimpleNamespace(name="w", model=MODEL, provider="anthropic")
    )

    async def tool_step() -> Any:
        return None

    async def sample() -> None:  # an eval sample run, started by the traced run's agent
        await collector.tool(scope, "c-2", "lookup", {}, tool_step())

    async def agent_step() -> None:
        await collector.run(untraced, "w", sample())
        await collector.tool(scope, "c-1", "lookup", {}, tool_step())

    async def run_step() -> None:
        await collector.agent(scope, "inv-1", agent_step())

    await collector.run(traced, "w", run_step())
    trace = collector.get("run-1")
    assert trace is not None and collector.get("run-2") is None
    assert _shape(trace) == ["run w", "  agent w", "    tool lookup"]
