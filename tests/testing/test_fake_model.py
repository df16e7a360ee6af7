"""The shipped test kit: ScriptedModel and collect_events."""

from __future__ import annotations

from typing import Any

import pytest

from flowai_harness import define_tool
from flowai_harness.events import TokenUsage
from flowai_harness.ports import (
    ModelClient,
    ModelError,
    ModelFinish,
    ModelPart,
    ModelReasoning,
    ModelRequest,
    ModelText,
    ModelToolCall,
    ToolDefinition,
)
from flowai_harness.testing import (
    ModelTurn,
    ScriptedModel,
    ToolCallStep,
    collect_events,
    events_of_type,
)
from flowai_harness.testing.fake_model import UnusedTurnsError
from tests.engine.helpers import runtime_of, script, specialist


def _request(agent: str = "w", turn: int = 1) -> ModelRequest:
    return ModelRequest(
        agent=agent,
        model="m",
        provider="anthropic",
        system_prompt="s",
        prompt="p",
        history=[],
        tools=[ToolDefinition("t", "", {})],
        turn=turn,
        max_turns=12,
    )


async def _parts(model: ScriptedModel, request: ModelRequest | None = None) -> list[ModelPart]:
    return [part async for part in model.stream_turn(request or _request())]


def test_scripted_model_is_a_model_client_and_deterministic_by_default() -> None:
    model = ScriptedModel()
    assert isinstance(model, ModelClient)
    assert model.live is False
    assert ScriptedModel(live=True).live is True


async def test_turns_play_in_order_reasoning_text_then_tool_calls() -> None:
    model = ScriptedModel()
    returned = model.add_turn(
        "look",
        reasoning="hmm",
        tool_calls=[("t", {"a": 1}), ToolCallStep("t", None, id="mine")],
        usage=TokenUsage(3, 2),
    )
    assert returned is model
    model.add_turn("final")
    assert model.remaining == 2
    assert await _parts(model) == [
        ModelReasoning("hmm"),
        ModelText("look"),
        ModelToolCall("fake-call-1", "t", {"a": 1}),
        ModelToolCall("mine", "t", None),
        ModelFinish("tool-calls", TokenUsage(3, 2)),
    ]
    assert await _parts(model) == [ModelText("final"), ModelFinish("stop", TokenUsage())]
    assert model.remaining == 0
    model.assert_all_used()


async def test_generated_call_ids_keep_counting_across_turns() -> None:
    model = ScriptedModel().add_turn(tool_calls=[("t", {})]).add_turn(tool_calls=[("t", {})])
    first, second = await _parts(model), await _parts(model)
    assert (first[0].id, second[0].id) == ("fake-call-1", "fake-call-2")  # type: ignore[union-attr]


async def test_agent_specific_turns_wait_for_their_agent() -> None:
    model = ScriptedModel()
    model.add_turn("for w", agent="w")
    model.add_turn("for anyone")
    assert await _parts(model, _request("c")) == [ModelText("for anyone"), ModelFinish("stop")]
    assert await _parts(model, _request("w")) == [ModelText("for w"), ModelFinish("stop")]


async def test_strict_model_fails_clearly_when_out_of_turns() -> None:
    model = ScriptedModel()
    assert await _parts(model, _request("w", turn=3)) == [
        ModelError(
            "ScriptedModel has no turn left for agent 'w' (turn 3); queue more with add_turn()"
        )
    ]


async def test_lenient_model_answers_the_default_text_when_out_of_turns() -> None:
    model = ScriptedModel(strict=False, default_text="fallback")
    assert await _parts(model) == [ModelText("fallback"), ModelFinish("stop")]


async def test_error_turn_yields_a_model_error() -> None:
    model = ScriptedModel().add_turn(error="rate limited")
    assert await _parts(model) == [ModelError("rate limited")]


async def test_respond_callback_decides_every_turn() -> None:
    model = ScriptedModel(respond=lambda r: ModelTurn(f"{r.agent}:{r.turn}"))
    assert await _parts(model, _request("x", turn=2)) == [ModelText("x:2"), ModelFinish("stop")]


async def test_requests_are_recorded_as_deep_copies() -> None:
    model = ScriptedModel().add_turn("ok")
    request = _request()
    await _parts(model, request)
    request.turns.append([])
    request.assistant_texts.append("later")
    assert model.requests[0].turns == [] and model.requests[0].assistant_texts == []
    assert model.requests[0] is not request


def test_assert_all_used_names_the_unplayed_turns() -> None:
    model = ScriptedModel().add_turn("never played").add_turn(tool_calls=[("t", {})])
    with pytest.raises(
        UnusedTurnsError,
        match=r"2 scripted turn\(s\) were never used: "
        r"\['never played', \['t'\]\]",
    ):
        model.assert_all_used()
    assert issubclass(UnusedTurnsError, AssertionError)


def test_turns_can_be_given_to_the_constructor() -> None:
    model = ScriptedModel([ModelTurn("a"), ModelTurn("b")])
    assert model.remaining == 2


# --------------------------------------------------------------------------- collect_events


@define_tool("gated", {"n": int}, approval="always")
def gated(args: dict[str, Any], ctx: Any) -> int:
    return int(args["n"])


async def test_collect_events_answers_each_approval_with_the_given_policy() -> None:
    runtime = runtime_of(specialist("w", tools=[gated]), interpreter="scripted")
    prompt = script(("gated", {"n": 1}), ("gated", {"n": 2}))

    def decide(event: dict[str, Any]) -> Any:
        return "approve" if event["data"]["payload"]["n"] == 1 else "reject"

    events = await collect_events(
        runtime.run_specialist("w", prompt), runtime, approve=decide, feedback="because"
    )
    decisions = [e["data"] for e in events_of_type(events, "approval-decision")]
    assert [d["outcome"] for d in decisions] == [{"outcome": "approve"}, {"outcome": "reject"}]
    assert {d["feedback"] for d in decisions} == {"because"}
    results = [
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    ]
    assert results[0] == 1 and results[1]["reason"] == "because"


async def test_collect_events_needs_the_runtime_to_answer_approvals() -> None:
    runtime = runtime_of(specialist("w"))
    with pytest.raises(ValueError, match="needs the runtime"):
        await collect_events(runtime.run_specialist("w", "x"), approve="approve")


async def test_collect_events_limit_stops_runaway_streams() -> None:
    @define_tool("tick", {})
    def tick(args: dict[str, Any], ctx: Any) -> int:
        return 1

    runtime = runtime_of(specialist("w", tools=[tick]), interpreter="scripted")
    with pytest.raises(AssertionError, match="more than 5 events"):
        await collect_events(runtime.run_specialist("w", script(*[("tick", {})] * 5)), limit=5)


def test_events_of_type_filters_by_type() -> None:
    events = [{"type": "text"}, {"type": "finish"}, {"type": "text"}, {"type": "error"}]
    assert events_of_type(events, "text", "error") == [events[0], events[2], events[3]]
