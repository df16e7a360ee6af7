"""Run budgets: each limit stops a scripted run at the right step, warnings, runUsage, overrides."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from flowai_harness import define_tool
from flowai_harness.engine.budget import RunBudget, parse_budget
from flowai_harness.errors import ConfigurationError, SpecTypeError
from flowai_harness.events import TokenUsage
from flowai_harness.testing import ScriptedModel, collect_events, events_of_type
from tests.engine.helpers import coordinator, runtime_of, specialist


@define_tool("lookup", {"sku": str})
def lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"sku": args["sku"], "price": 4.5}


def _usage(prompt: int, completion: int, cost: float | None = None) -> TokenUsage:
    return TokenUsage(prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost)


def _calling_model(turns: int, usage: TokenUsage | None = None, calls: int = 1) -> ScriptedModel:
    model = ScriptedModel()
    for turn in range(turns):
        model.add_turn(
            tool_calls=[("lookup", {"sku": f"A-{turn}-{n}"}) for n in range(calls)],
            usage=usage or TokenUsage(),
        )
    model.add_turn("done", usage=usage or TokenUsage())
    return model


def _errors(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["error"] for e in events_of_type(events, "error")]


def _tool_results(events: list[dict[str, Any]]) -> list[Any]:
    return [
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    ]


async def _run(runtime_budget: dict[str, Any], model: ScriptedModel, **call: Any) -> Any:
    runtime = runtime_of(specialist("w", tools=[lookup]), interpreter=model, budget=runtime_budget)
    stream = runtime.run_specialist("w", "go", thread_id="t", **call)
    events = await collect_events(stream)
    record = await runtime.get_run(stream.run_id)
    return events, record


# --------------------------------------------------------------------------- each limit


async def test_max_tokens_stops_the_run_before_the_model_call_after_the_limit() -> None:
    model = _calling_model(5, usage=_usage(300, 100))
    events, record = await _run({"max_tokens": 1000}, model)
    # three turns use 1,200 tokens: the third crosses the limit, the fourth is refused
    assert len(model.requests) == 3
    assert len(events_of_type(events, "step-start")) == 3
    first = _errors(events)[0]
    assert first["code"] == "budget_exceeded"
    assert "max_tokens is 1000 tokens" in first["message"]
    assert "1200 tokens used" in first["message"]
    assert events[-1]["type"] == "error"
    assert record["status"] == "failed"
    assert record["reason"] == first["message"]


async def test_max_cost_usd_counts_priced_model_calls() -> None:
    model = _calling_model(5, usage=_usage(10, 10, cost=0.02))
    events, record = await _run({"maxCostUsd": 0.05}, model)
    assert len(model.requests) == 3  # 0.02, 0.04, 0.06 -> refused
    error = _errors(events)[0]
    assert error["code"] == "budget_exceeded"
    assert "max_cost_usd is 0.05 USD" in error["message"]
    assert "0.060000 USD used" in error["message"]
    assert record["reason"].startswith("budget exceeded: max_cost_usd")


async def test_max_tool_calls_refuses_the_call_past_the_limit_and_stops_the_run() -> None:
    ran: list[str] = []

    @define_tool("lookup", {"sku": str})
    def counted(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        ran.append(args["sku"])
        return {"ok": True}

    model = _calling_model(3, calls=2)
    runtime = runtime_of(
        specialist("w", tools=[counted]), interpreter=model, budget={"max_tool_calls": 3}
    )
    stream = runtime.run_specialist("w", "go", thread_id="t")
    events = await collect_events(stream)
    assert ran == ["A-0-0", "A-0-1", "A-1-0"]
    results = _tool_results(events)
    assert len(results) == 4  # every call still has its result event
    assert results[3]["code"] == "budget_exceeded"
    assert "max_tool_calls is 3 tool calls" in results[3]["error"]
    assert "3 tool calls used" in results[3]["error"]
    # the model is not asked again after the refused call
    assert len(model.requests) == 2
    assert _errors(events)[0]["code"] == "budget_exceeded"
    record = await runtime.get_run(stream.run_id)
    assert record["status"] == "failed" and "max_tool_calls" in record["reason"]


async def test_max_duration_secs_stops_the_run_at_the_next_call_after_the_deadline() -> None:
    @define_tool("lookup", {"sku": str})
    async def slow(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(0.3)
        return {"ok": True}

    model = _calling_model(5)
    runtime = runtime_of(
        specialist("w", tools=[slow]), interpreter=model, budget={"max_duration_secs": 0.25}
    )
    started = time.monotonic()
    events = await collect_events(runtime.run_specialist("w", "go", thread_id="t"))
    assert time.monotonic() - started < 2.0
    # the first tool call ran past the deadline; the next model call is refused
    assert len(model.requests) == 1
    error = _errors(events)[0]
    assert error["code"] == "budget_exceeded"
    assert "max_duration_secs is 0.25 seconds" in error["message"]


async def test_a_sub_agent_spends_from_the_same_run_budget() -> None:
    model = ScriptedModel()
    model.add_turn(tool_calls=[("call_agent", {"agent": "w", "prompt": "x"})], agent="c")
    model.add_turn(tool_calls=[("lookup", {"sku": "A"})], agent="w", usage=_usage(400, 100))
    model.add_turn("w done", agent="w", usage=_usage(400, 100))
    model.add_turn("c done", agent="c")
    runtime = runtime_of(
        coordinator(["w"]),
        specialist("w", tools=[lookup]),
        interpreter=model,
        budget={"max_tokens": 500},
    )
    stream = runtime.query("go", thread_id="t")
    events = await collect_events(stream)
    codes = [e.get("code") for e in _errors(events)]
    # the sub-agent is refused its second turn, then the coordinator its next call
    assert codes[:2] == ["budget_exceeded", "budget_exceeded"]
    assert [r.agent for r in model.requests] == ["c", "w"]
    record = await runtime.get_run(stream.run_id)
    assert record["status"] == "failed" and "max_tokens" in record["reason"]


async def test_a_run_within_its_budget_completes_without_a_reason() -> None:
    model = _calling_model(1, usage=_usage(10, 10))
    events, record = await _run({"max_tokens": 1000, "max_tool_calls": 5}, model)
    assert not _errors(events)
    assert record["status"] == "completed"
    assert "reason" not in record


# --------------------------------------------------------------------------- warning


async def test_a_warning_is_emitted_once_at_80_percent_of_a_limit() -> None:
    model = _calling_model(4, usage=_usage(100, 100))
    events, _ = await _run({"max_tokens": 1000}, model)
    warnings = events_of_type(events, "data-budget-warning")
    assert len(warnings) == 1
    data = warnings[0]["data"]
    # checked before the fifth call: 800 of 1,000 tokens used
    assert data["limit"] == "max_tokens" and data["used"] == 800 and data["max"] == 1000
    assert data["runUsage"]["totalTokens"] == 800
    assert data["runUsage"]["modelCalls"] == 4
    # under the limit the run goes on and finishes
    assert not _errors(events)
    assert events.index(warnings[0]) < len(events) - 1


async def test_no_warning_below_80_percent() -> None:
    model = _calling_model(1, usage=_usage(100, 100))
    events, _ = await _run({"max_tokens": 1000, "max_tool_calls": 10}, model)
    assert not events_of_type(events, "data-budget-warning")


# --------------------------------------------------------------------------- runUsage


async def test_approval_required_carries_the_run_usage_so_far() -> None:
    gated = define_tool("lookup", {"sku": str}, approval="always")(lambda args, ctx: {"ok": True})
    model = ScriptedModel()
    model.add_turn(tool_calls=[("lookup", {"sku": "A"})], usage=_usage(120, 30, cost=0.01))
    model.add_turn(tool_calls=[("lookup", {"sku": "B"})], usage=_usage(200, 50, cost=0.02))
    model.add_turn("done")
    runtime = runtime_of(specialist("w", tools=[gated]), interpreter=model)
    events = await collect_events(
        runtime.run_specialist("w", "go", thread_id="t"), runtime, approve="approve"
    )
    usages = [e["data"]["runUsage"] for e in events_of_type(events, "approval-required")]
    assert len(usages) == 2
    # the first gate: the first call is the one waiting, and its turn is still streaming
    assert usages[0]["toolCalls"] == 1 and usages[0]["modelCalls"] == 0
    assert usages[0]["totalTokens"] == 0 and "costUsd" not in usages[0]
    assert usages[1] == {
        "promptTokens": 120,
        "completionTokens": 30,
        "cacheReadInputTokens": 0,
        "cacheCreationInputTokens": 0,
        "totalTokens": 150,
        "costUsd": 0.01,
        "modelCalls": 1,
        "toolCalls": 2,
    }


# --------------------------------------------------------------------------- per call


async def test_a_per_call_budget_overrides_the_runtime_budget_per_key() -> None:
    model = _calling_model(3, usage=_usage(300, 100))
    events, record = await _run({"max_tokens": 1000}, model, budget={"max_tokens": 500})
    assert len(model.requests) == 2
    assert "max_tokens is 500 tokens" in _errors(events)[0]["message"]

    model = _calling_model(3, usage=_usage(300, 100))
    events, record = await _run({"max_tokens": 500}, model, budget={"max_tokens": None})
    assert not _errors(events) and record["status"] == "completed"


async def test_a_per_call_budget_on_query_applies_to_that_run_only() -> None:
    model = ScriptedModel(strict=False, default_text="ok")
    model.add_turn(tool_calls=[("call_agent", {"agent": "w", "prompt": "x"})], agent="c")
    runtime = runtime_of(coordinator(["w"]), specialist("w"), interpreter=model)
    events = await collect_events(runtime.query("go", "t", budget={"max_tool_calls": 1}))
    assert not _errors(events)
    model.add_turn(tool_calls=[("call_agent", {"agent": "w", "prompt": "x"})], agent="c")
    model.add_turn(tool_calls=[("call_agent", {"agent": "w", "prompt": "y"})], agent="c")
    events = await collect_events(runtime.query("go", "t2", budget={"maxToolCalls": 1}))
    assert _errors(events)[0]["code"] == "budget_exceeded"


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("budget", "error", "match"),
    [
        ({"max_token": 5}, ConfigurationError, "unknown key 'max_token'; accepted keys: "),
        ({"max_tokens": 0}, ConfigurationError, r"budget.max_tokens must be greater than 0"),
        ({"max_cost_usd": -1.0}, ConfigurationError, "max_cost_usd must be greater than 0"),
        ({"max_duration_secs": float("inf")}, ConfigurationError, "greater than 0; got inf"),
        ({"max_tokens": 1.5}, SpecTypeError, "max_tokens must be an integer; got 1.5"),
        ({"max_tool_calls": True}, SpecTypeError, "max_tool_calls must be an integer"),
        ({"max_cost_usd": "1"}, SpecTypeError, "max_cost_usd must be a number; got str"),
        ({"max_tokens": 5, "maxTokens": 6}, ConfigurationError, "sets max_tokens twice"),
        ([("max_tokens", 5)], SpecTypeError, "budget must be a mapping"),
    ],
)
def test_create_runtime_rejects_a_bad_budget_naming_what_is_wrong(
    budget: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        runtime_of(specialist("w"), budget=budget)


def test_a_bad_per_call_budget_is_rejected_when_the_call_is_made() -> None:
    runtime = runtime_of(coordinator(["w"]), specialist("w"))
    with pytest.raises(ConfigurationError, match="unknown key 'tokens'"):
        runtime.query("go", "t", budget={"tokens": 1})
    with pytest.raises(SpecTypeError, match="must be an integer"):
        runtime.run_specialist("w", "go", budget={"maxToolCalls": 2.0})


def test_snake_and_camel_keys_parse_to_the_same_budget() -> None:
    snake = parse_budget(
        {"max_cost_usd": 1, "max_tokens": 2, "max_tool_calls": 3, "max_duration_secs": 4.5}
    )
    camel = parse_budget(
        {"maxCostUsd": 1, "maxTokens": 2, "maxToolCalls": 3, "maxDurationSecs": 4.5}
    )
    assert snake == camel == RunBudget(1, 2, 3, 4.5)
    assert camel.to_dict() == {
        "maxCostUsd": 1,
        "maxTokens": 2,
        "maxToolCalls": 3,
        "maxDurationSecs": 4.5,
    }
    assert parse_budget(None).unlimited
