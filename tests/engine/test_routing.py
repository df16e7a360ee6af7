"""Routing: call_agent limits, inline sub-agent events, direct dispatch, threads, turn budgets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowai_harness import define_tool
from flowai_harness.ports import ModelRequest
from flowai_harness.testing import (
    ModelTurn,
    ScriptedModel,
    ToolCallStep,
    collect_events,
    events_of_type,
)
from tests.engine.helpers import (
    UUID_RE,
    coordinator,
    executor,
    planner,
    runtime_of,
    script,
    snapshot,
    specialist,
    types,
)


@define_tool("gated", {}, approval="always")
def gated(args: dict[str, Any], ctx: Any) -> str:
    return "ran"


@define_tool("tick", {})
def tick(args: dict[str, Any], ctx: Any) -> int:
    return 1


async def test_call_agent_outside_the_callers_routes_is_refused_and_nothing_runs() -> None:
    runtime = runtime_of(coordinator(["planner"]), planner(), executor(), interpreter="scripted")
    events = await collect_events(
        runtime.query(script(("call_agent", {"agent": "executor", "prompt": "hi"})), thread_id="t")
    )
    assert [e["agentName"] for e in events if e["type"] == "tool-agent"] == ["c", "c"]
    result = [e for e in events if e.get("state") == "result" and e["type"] == "tool-invocation"]
    assert result[0]["result"] == {
        "error": "Agent 'executor' is not in this caller's allowed routes: ['planner']"
    }


async def test_sub_agent_answer_is_returned_to_the_caller_model() -> None:
    model = ScriptedModel()
    model.add_turn(
        agent="c",
        tool_calls=[ToolCallStep("call_agent", {"agent": "w", "prompt": "price?"}, id="call-1")],
    )
    model.add_turn(agent="w", text="4.50")
    model.add_turn(agent="c", text="It costs 4.50")
    runtime = runtime_of(coordinator(["w"]), specialist("w"), interpreter=model)
    events = await collect_events(runtime.query("how much?", thread_id="t"))
    assert types(snapshot(events)) == [
        "tool-agent:call",
        "step-start",
        "tool-invocation:call",
        "tool-agent:call",
        "step-start",
        "text",
        "finish",
        "tool-agent:result",
        "tool-invocation:result",
        "step-start",
        "text",
        "finish",
        "tool-agent:result",
    ]
    sub_frame = events_of_type(events, "tool-agent")[1]
    assert sub_frame["agentName"] == "w" and sub_frame["toolInvocationId"] == "call-1"
    answer = {"agent": "w", "response": "4.50", "model": "claude-haiku-4-5"}
    assert events[8]["result"] == answer
    assert model.requests[1].agent == "w" and model.requests[1].prompt == "price?"
    assert model.requests[2].turns[0][0].result == answer
    model.assert_all_used()


async def test_coordinator_is_offered_call_agent_and_its_own_tools() -> None:
    model = ScriptedModel().add_turn("ok")
    runtime = runtime_of(coordinator(["w"], tools=[tick]), specialist("w"), interpreter=model)
    await collect_events(runtime.query("hi", thread_id="t"))
    assert [t.name for t in model.requests[0].tools] == ["call_agent", "tick"]


async def test_run_specialist_without_thread_id_generates_a_specialist_thread() -> None:
    runtime = runtime_of(specialist("w", tools=[gated]), interpreter="scripted")
    events = await collect_events(
        runtime.run_specialist("w", '{"tool": "gated"}'), runtime, approve="approve"
    )
    thread = events_of_type(events, "approval-required")[0]["data"]["threadId"]
    assert thread.startswith("specialist-") and UUID_RE.match(thread.removeprefix("specialist-"))


async def test_sub_agents_run_on_the_derived_thread() -> None:
    runtime = runtime_of(coordinator(["w"]), specialist("w", tools=[gated]), interpreter="scripted")
    prompt = script(("call_agent", {"agent": "w", "prompt": '{"tool": "gated"}'}))
    events = await collect_events(
        runtime.query(prompt, thread_id="t-1"), runtime, approve="approve"
    )
    assert events_of_type(events, "approval-required")[0]["data"]["threadId"] == "t-1-w"


async def test_entry_specialist_runs_on_the_callers_thread() -> None:
    runtime = runtime_of(specialist("w", tools=[gated]), interpreter="scripted")
    events = await collect_events(
        runtime.run_specialist("w", '{"tool": "gated"}', "th"), runtime, approve="approve"
    )
    assert events_of_type(events, "approval-required")[0]["data"]["threadId"] == "th"


# --------------------------------------------------------------------------- memory


def _echo_model() -> ScriptedModel:
    """Answers every request with ``answer:<prompt>``."""
    return ScriptedModel(respond=lambda r: ModelTurn(f"answer:{r.prompt}"))


def _history(request: ModelRequest) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in request.history]


async def test_stateful_agent_replays_its_history_on_the_same_thread_only() -> None:
    model = _echo_model()
    runtime = runtime_of(coordinator(["w"]), specialist("w"), interpreter=model)
    await collect_events(runtime.query("one", thread_id="t"))
    await collect_events(runtime.query("two", thread_id="t"))
    await collect_events(runtime.query("three", thread_id="other"))
    assert [_history(r) for r in model.requests] == [
        [],
        [("user", "one"), ("assistant", "answer:one")],
        [],
    ]


async def test_stateless_agent_gets_no_history() -> None:
    model = _echo_model()
    runtime = runtime_of(specialist("w"), interpreter=model)
    await collect_events(runtime.run_specialist("w", "one", thread_id="t"))
    await collect_events(runtime.run_specialist("w", "two", thread_id="t"))
    assert [_history(r) for r in model.requests] == [[], []]


async def test_stateful_specialist_keeps_separate_histories_direct_and_via_call_agent() -> None:
    model = ScriptedModel(
        respond=lambda r: (
            ModelTurn(tool_calls=[ToolCallStep("call_agent", {"agent": "w", "prompt": r.prompt})])
            if r.agent == "c" and not r.turns
            else ModelTurn(f"{r.agent}:{r.prompt}")
        )
    )
    runtime = runtime_of(coordinator(["w"]), specialist("w", stateful=True), interpreter=model)
    await collect_events(runtime.query("via-c", thread_id="t"))
    await collect_events(runtime.run_specialist("w", "direct", thread_id="t"))
    await collect_events(runtime.query("via-c-again", thread_id="t"))
    w_requests = [r for r in model.requests if r.agent == "w"]
    assert [_history(r) for r in w_requests] == [
        [],  # first call on t-w
        [],  # direct on t: a different thread
        [("user", "via-c"), ("assistant", "w:via-c")],  # second call on t-w
    ]


async def test_history_carries_the_tool_interactions_of_earlier_turns() -> None:
    model = ScriptedModel()
    model.add_turn(tool_calls=[ToolCallStep("tick", {}, id="k-1")]).add_turn("ticked")
    model.add_turn("again")
    runtime = runtime_of(specialist("w", tools=[tick], stateful=True), interpreter=model)
    await collect_events(runtime.run_specialist("w", "first", thread_id="t"))
    await collect_events(runtime.run_specialist("w", "second", thread_id="t"))
    user, assistant = model.requests[2].history
    assert (user.role, user.content) == ("user", "first")
    assert (assistant.role, assistant.content) == ("assistant", "ticked")
    assert assistant.tool_interactions is not None
    (interaction,) = assistant.tool_interactions
    assert (
        interaction.call_id,
        interaction.tool_name,
        interaction.arguments,
        interaction.result,
    ) == ("k-1", "tick", {}, 1)


async def test_failed_invocation_does_not_write_memory() -> None:
    model = ScriptedModel().add_turn(error="provider down").add_turn("fine")
    runtime = runtime_of(specialist("w", stateful=True), interpreter=model)
    first = await collect_events(runtime.run_specialist("w", "one", thread_id="t"))
    assert [e["error"]["message"] for e in events_of_type(first, "error")] == [
        "provider down",
        "agent failed: provider down",
    ]
    await collect_events(runtime.run_specialist("w", "two", thread_id="t"))
    assert _history(model.requests[1]) == []


# --------------------------------------------------------------------------- turn budgets


def _always_calls_tick(request: ModelRequest) -> ModelTurn:
    return ModelTurn(tool_calls=[ToolCallStep("tick", {})])


@pytest.mark.parametrize(
    ("agent_kwargs", "budget"),
    [({}, 12), ({"max_turns": 2}, 2), ({"max_turns": 1}, 1)],
)
async def test_specialist_turn_budget_stops_a_model_that_never_finishes(
    agent_kwargs: dict[str, Any],
    budget: int,
) -> None:
    model = ScriptedModel(respond=_always_calls_tick)
    runtime = runtime_of(specialist("w", tools=[tick], **agent_kwargs), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert len(model.requests) == budget
    assert [r.turn for r in model.requests] == list(range(1, budget + 1))
    assert {r.max_turns for r in model.requests} == {budget}
    errors = events_of_type(events, "error")
    message = f"MaxTurnError: (reached max turn limit: {budget}) agent 'w' was still calling tools"
    assert [e["error"] for e in errors] == [
        {"message": message, "code": "max_turns"},
        {"message": f"agent failed: {message}"},
    ]
    # each budgeted turn starts with step-start and its tool ran before the failure
    assert len(events_of_type(events, "step-start")) == budget
    assert (
        len([e for e in events if e["type"] == "tool-invocation" and e["state"] == "result"])
        == budget
    )
    assert events[-1]["type"] == "error"


@pytest.mark.parametrize(("role_agent", "budget"), [("planner", 8), ("executor", 4)])
async def test_role_default_budgets_apply_to_sub_agents(role_agent: str, budget: int) -> None:
    def respond(request: ModelRequest) -> ModelTurn:
        if request.agent == "c":
            if request.turns:
                return ModelTurn("done")
            return ModelTurn(
                tool_calls=[ToolCallStep("call_agent", {"agent": role_agent, "prompt": "go"})]
            )
        return ModelTurn(tool_calls=[ToolCallStep("getPlan", {"planId": "none"})])

    model = ScriptedModel(respond=respond)
    runtime = runtime_of(
        coordinator(["planner", "executor"]), planner(), executor(), interpreter=model
    )
    events = await collect_events(runtime.query("go", thread_id="t"))
    assert len([r for r in model.requests if r.agent == role_agent]) == budget
    call_agent_result = next(
        e for e in events if e.get("toolName") == "call_agent" and e["state"] == "result"
    )
    assert call_agent_result["result"] == {
        "error": (
            f"Sub-agent failed: agent failed: MaxTurnError: (reached max turn limit: {budget}) "
            f"agent '{role_agent}' was still calling tools"
        )
    }
    assert events[-1] == {**events[0], "state": "result", "sequence": len(events)}


async def test_a_model_that_finishes_within_budget_is_not_failed() -> None:
    model = ScriptedModel().add_turn(tool_calls=[("tick", {})]).add_turn("done")
    runtime = runtime_of(specialist("w", tools=[tick], max_turns=2), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert events_of_type(events, "error") == []
    assert events[-1]["state"] == "result"


async def test_scripted_prompts_nest_through_call_agent() -> None:
    runtime = runtime_of(coordinator(["w"]), specialist("w", tools=[tick]), interpreter="scripted")
    inner = script(("tick", {}), ("tick", {}))
    events = await collect_events(
        runtime.query(
            json.dumps({"tool": "call_agent", "args": {"agent": "w", "prompt": inner}}),
            thread_id="t",
        )
    )
    ticks = [e for e in events if e.get("toolName") == "tick" and e["state"] == "result"]
    assert [e["toolInvocationId"] for e in ticks] == ["scripted-tool-1", "scripted-tool-2"]
    final = next(e for e in events if e.get("toolName") == "call_agent" and e["state"] == "result")
    assert final["result"]["response"] == "11"
