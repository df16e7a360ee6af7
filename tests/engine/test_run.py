"""The turn loop: model requests, outcomes, usage, summaries, and client failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowai_harness import define_tool
from flowai_harness.events import TokenUsage
from flowai_harness.ports import (
    ModelClient,
    ModelError,
    ModelFinish,
    ModelPart,
    ModelRequest,
    ModelText,
)
from flowai_harness.testing import ScriptedModel, ToolCallStep, collect_events, events_of_type
from tests.engine.helpers import coordinator, runtime_of, snapshot, specialist, types


@define_tool("tick", {"n": int}, description="Count one")
def tick(args: dict[str, Any], ctx: Any) -> int:
    return int(args["n"])


class PartsClient:
    """A minimal non-generator client that plays fixed parts (to exercise the port itself)."""

    live = False

    def __init__(self, parts: list[ModelPart | Exception]) -> None:
        self.parts = parts

    def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        parts = iter(self.parts)

        class Iterator:
            def __aiter__(self) -> Iterator:
                return self

            async def __anext__(self) -> ModelPart:
                part = next(parts, None)
                if part is None:
                    raise StopAsyncIteration
                if isinstance(part, Exception):
                    raise part
                return part

        return Iterator()


def test_clients_satisfy_the_model_client_protocol() -> None:
    assert isinstance(ScriptedModel(), ModelClient)
    assert isinstance(PartsClient([]), ModelClient)


async def test_the_request_carries_prompt_system_prompt_tools_and_turn_state() -> None:
    model = ScriptedModel().add_turn(
        "thinking", tool_calls=[ToolCallStep("tick", {"n": 2}, id="k-1")]
    )
    model.add_turn("done")
    runtime = runtime_of(specialist("w", tools=[tick]), interpreter=model)
    await collect_events(runtime.run_specialist("w", "count"))
    first, second = model.requests
    assert (first.agent, first.model, first.provider) == ("w", "claude-haiku-4-5", "anthropic")
    assert first.system_prompt.startswith("w prompt")
    assert "| tick | Count one | never |" in first.system_prompt
    assert first.prompt == second.prompt == "count"
    assert [(t.name, t.description, t.input_schema["required"]) for t in first.tools] == [
        ("tick", "Count one", ["n"])
    ]
    assert (first.turn, second.turn, first.max_turns) == (1, 2, 12)
    assert first.turns == [] and first.assistant_texts == []
    assert [
        [(i.call_id, i.tool_name, i.arguments, i.result, i.is_error) for i in turn]
        for turn in second.turns
    ] == [[("k-1", "tick", {"n": 2}, 2, False)]]
    assert second.assistant_texts == ["thinking"]
    assert second.tool_results == {}


async def test_text_of_every_turn_makes_the_response_returned_to_the_caller() -> None:
    model = ScriptedModel()
    model.add_turn(agent="c", tool_calls=[("call_agent", {"agent": "w", "prompt": "go"})])
    model.add_turn(agent="w", text="part one, ", tool_calls=[("tick", {"n": 1})])
    model.add_turn(agent="w", text="part two")
    model.add_turn(agent="c", text="ok")
    runtime = runtime_of(coordinator(["w"]), specialist("w", tools=[tick]), interpreter=model)
    events = await collect_events(runtime.query("hi", thread_id="t"))
    result = next(e for e in events if e.get("toolName") == "call_agent" and e["state"] == "result")
    assert result["result"]["response"] == "part one, part two"


async def test_finish_usage_is_the_sum_over_the_invocations_turns() -> None:
    model = ScriptedModel()
    model.add_turn(tool_calls=[("tick", {"n": 1})], usage=TokenUsage(10, 5, 2, 1))
    model.add_turn("done", usage=TokenUsage(20, 7))
    runtime = runtime_of(specialist("w", tools=[tick]), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert events_of_type(events, "finish") == [
        {
            "type": "finish",
            "finishReason": "stop",
            "sequence": len(events) - 1,
            "usage": {
                "promptTokens": 30,
                "completionTokens": 12,
                "cacheReadInputTokens": 2,
                "cacheCreationInputTokens": 1,
                "totalTokens": 42,
            },
        }
    ]


async def test_live_clients_get_cost_and_latency_summaries_naming_the_real_agent() -> None:
    model = ScriptedModel(live=True)
    model.add_turn(
        agent="c",
        tool_calls=[ToolCallStep("call_agent", {"agent": "w", "prompt": "go"}, id="k-1")],
        usage=TokenUsage(100, 10),
    )
    model.add_turn(
        agent="w", tool_calls=[ToolCallStep("tick", {"n": 1}, id="k-2")], usage=TokenUsage(10, 5)
    )
    model.add_turn(agent="w", text="one", usage=TokenUsage(20, 7))
    model.add_turn(agent="c", text="fine", usage=TokenUsage(50, 3))
    runtime = runtime_of(coordinator(["w"]), specialist("w", tools=[tick]), interpreter=model)
    events = await collect_events(runtime.query("hi", thread_id="t"))
    assert types(snapshot(events)) == [
        "tool-agent:call",
        "step-start",
        "tool-invocation:call",
        "tool-agent:call",
        "step-start",
        "tool-invocation:call",
        "tool-invocation:result",
        "step-start",
        "text",
        "data-cost-summary",
        "data-latency-summary",
        "finish",
        "tool-agent:result",
        "tool-invocation:result",
        "step-start",
        "text",
        "data-cost-summary",
        "data-latency-summary",
        "finish",
        "tool-agent:result",
    ]
    w_cost, c_cost = [e["data"] for e in events_of_type(events, "data-cost-summary")]
    assert w_cost == {
        "agents": [
            {
                "agentName": "w",
                "model": "claude-haiku-4-5",
                "usage": {
                    "promptTokens": 30,
                    "completionTokens": 12,
                    "cacheReadInputTokens": 0,
                    "cacheCreationInputTokens": 0,
                    "totalTokens": 42,
                },
            }
        ],
        "totalPromptTokens": 30,
        "totalCompletionTokens": 12,
        "totalCacheReadInputTokens": 0,
        "totalCacheCreationInputTokens": 0,
        "totalTokens": 42,
    }
    assert c_cost["agents"][0]["agentName"] == "c" and c_cost["totalTokens"] == 163
    w_latency, c_latency = [e["data"] for e in events_of_type(events, "data-latency-summary")]
    assert w_latency["phases"]["llmCalls"] == 2 and c_latency["phases"]["llmCalls"] == 2
    assert [
        {k: t[k] for k in ("toolName", "toolCallId", "status")} for t in w_latency["toolTimings"]
    ] == [{"toolName": "tick", "toolCallId": "k-2", "status": "completed"}]
    assert [t["toolName"] for t in c_latency["toolTimings"]] == ["call_agent"]
    assert c_latency["phases"]["subAgentTimeMs"] >= 0
    for latency in (w_latency, c_latency):
        assert latency["retryCount"] == 0 and latency["hadTimeout"] is False
        assert latency["totalDurationMs"] >= latency["phases"]["toolTimeMs"] >= 0


async def test_tool_timings_mark_error_results() -> None:
    model = ScriptedModel(live=True).add_turn(tool_calls=[("tick", {"n": "x"})]).add_turn("ok")
    runtime = runtime_of(specialist("w", tools=[tick]), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go"))
    (latency,) = events_of_type(events, "data-latency-summary")
    assert [t["status"] for t in latency["data"]["toolTimings"]] == ["error"]


async def test_deterministic_clients_get_no_cost_summary() -> None:
    model = ScriptedModel().add_turn("ok")
    runtime = runtime_of(specialist("w"), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert events_of_type(events, "data-cost-summary", "data-latency-summary") == []


@pytest.mark.parametrize("reason", ["stop", "length", "content-filter"])
async def test_the_real_finish_reason_is_reported(reason: Any) -> None:
    runtime = runtime_of(
        specialist("w"), interpreter=PartsClient([ModelText("x"), ModelFinish(reason)])
    )
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert events_of_type(events, "finish")[0]["finishReason"] == reason


async def test_tool_calls_finish_without_tool_calls_ends_the_invocation() -> None:
    runtime = runtime_of(specialist("w"), interpreter=PartsClient([ModelFinish("tool-calls")]))
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert types(events) == ["tool-agent:call", "step-start", "finish", "tool-agent:result"]


async def test_model_error_ends_the_invocation_and_later_parts_are_discarded() -> None:
    client = PartsClient(
        [ModelText("a"), ModelError("overloaded", "529"), ModelText("b"), ModelFinish("stop")]
    )
    runtime = runtime_of(specialist("w"), interpreter=client)
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert snapshot(events)[1:] == [
        {"type": "step-start"},
        {"type": "text", "text": "a"},
        {"type": "error", "error": {"message": "overloaded", "code": "529"}},
        {"type": "error", "error": {"message": "agent failed: overloaded"}},
    ]


async def test_a_client_exception_becomes_an_error_event_not_a_crash() -> None:
    client = PartsClient([ModelText("a"), ConnectionResetError("socket closed")])
    runtime = runtime_of(specialist("w"), interpreter=client)
    events = await collect_events(runtime.run_specialist("w", "go"))
    message = "model client for agent 'w' raised ConnectionResetError: socket closed"
    assert snapshot(events)[2:] == [
        {"type": "text", "text": "a"},
        {"type": "error", "error": {"message": message, "code": "model_error"}},
        {"type": "error", "error": {"message": f"agent failed: {message}"}},
    ]


async def test_a_failing_sub_agent_client_fails_only_the_call_agent_result() -> None:
    class Picky(ScriptedModel):
        async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
            if request.agent == "w":
                raise RuntimeError("boom")
            async for part in super().stream_turn(request):
                yield part

    model = Picky()
    model.add_turn(tool_calls=[ToolCallStep("call_agent", {"agent": "w", "prompt": "x"})])
    model.add_turn("recovered")
    runtime = runtime_of(coordinator(["w"]), specialist("w"), interpreter=model)
    events = await collect_events(runtime.query("hi", thread_id="t"))
    result = next(e for e in events if e.get("toolName") == "call_agent" and e["state"] == "result")
    assert result["result"] == {
        "error": "Sub-agent failed: agent failed: model client for "
        "agent 'w' raised RuntimeError: boom"
    }
    assert events[-1]["agentName"] == "c" and events[-1]["state"] == "result"


async def test_a_stream_that_ends_without_finish_fails_the_invocation() -> None:
    runtime = runtime_of(specialist("w"), interpreter=PartsClient([ModelText("half")]))
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert events[-1]["error"] == {
        "message": "agent failed: model stream for agent 'w' ended without a finish"
    }
