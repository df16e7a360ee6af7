"""Calling one agent's tools outside a model turn (src/flowai_harness/engine/direct_tools.py)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from flowai_harness import define_tool
from flowai_harness.engine.direct_tools import DirectTools
from flowai_harness.errors import ConfigurationError
from tests.engine.helpers import coordinator, executor, planner, runtime_of, specialist

OBJECT: dict[str, Any] = {"type": "object", "properties": {}}


def tool(name: str, handler: Any, *, schema: Any = None, **kwargs: Any) -> Any:
    return define_tool(name, schema or OBJECT, f"{name} tool", **kwargs).bind(handler)


def test_tools_keep_the_agents_order_and_schemas() -> None:
    first = tool("first", lambda a, c: 1)
    second = tool(
        "second", lambda a, c: 2, schema={"type": "object", "properties": {"x": {"type": "string"}}}
    )
    runtime = runtime_of(specialist("w", tools=[first, second]))
    tools = DirectTools(runtime, "w")
    assert [d.name for d in tools.definitions] == ["first", "second"]
    assert tools.definitions[1].input_schema["properties"] == {"x": {"type": "string"}}
    assert "first" in tools and "nope" not in tools


def test_the_thread_defaults_to_a_fresh_mcp_thread() -> None:
    runtime = runtime_of(specialist("w"))
    one, two = DirectTools(runtime, "w"), DirectTools(runtime, "w")
    assert re.fullmatch(r"mcp-[0-9a-f-]{36}", one.thread_id)
    assert one.thread_id != two.thread_id
    assert DirectTools(runtime, "w", thread_id="t-1").thread_id == "t-1"


def test_an_unknown_agent_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"^agent 'x' not found in runtime$"):
        DirectTools(runtime_of(specialist("w")), "x")


def test_call_agent_is_left_out_unless_exposure_is_asked_for() -> None:
    runtime = runtime_of(coordinator(["w"]), specialist("w"))
    assert DirectTools(runtime, "c").definitions == ()
    with pytest.raises(ConfigurationError, match="recursive agent tools is not supported"):
        DirectTools(runtime, "c", expose_agent_tools=True)


async def test_a_call_runs_the_handler_with_the_given_tool_use_id() -> None:
    seen: list[Any] = []

    def handler(args: Any, ctx: Any) -> dict[str, Any]:
        seen.append((args, ctx.tool_use_id))
        return {"ok": True}

    tools = DirectTools(runtime_of(specialist("w", tools=[tool("t", handler)])), "w")
    outcome = await tools.call("t", {"k": 1}, call_id="call-1")
    assert (outcome.content, outcome.is_error) == ({"ok": True}, False)
    assert seen == [({"k": 1}, "call-1")]


async def test_none_arguments_become_an_empty_object() -> None:
    tools = DirectTools(runtime_of(specialist("w", tools=[tool("t", lambda a, c: a)])), "w")
    assert (await tools.call("t", None)).content == {}


async def test_an_unknown_or_hidden_tool_is_an_error_outcome() -> None:
    runtime = runtime_of(coordinator(["w"]), specialist("w"))
    outcome = await DirectTools(runtime, "c").call("call_agent", {"agent": "w", "prompt": "hi"})
    assert outcome.is_error
    assert outcome.content == {"error": "Unknown tool: call_agent"}


async def test_invalid_arguments_are_refused_before_the_handler() -> None:
    called: list[Any] = []
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    tools = DirectTools(
        runtime_of(specialist("w", tools=[tool("t", called.append, schema=schema)])), "w"
    )
    outcome = await tools.call("t", {"n": "one"})
    assert outcome.is_error
    assert outcome.content["error"].startswith("Invalid arguments for tool 't': ")
    assert called == []


async def test_a_gated_tool_fails_at_once_and_leaves_no_pending_approval() -> None:
    ran: list[Any] = []
    runtime = runtime_of(specialist("w", tools=[tool("t", ran.append, approval="always")]))
    outcome = await asyncio.wait_for(DirectTools(runtime, "w").call("t", {}), timeout=5)
    assert outcome.content == {"error": "Approval event sink closed before request was emitted"}
    assert outcome.is_error
    assert ran == []
    assert runtime.pending_approvals() == []


async def test_a_gated_plan_fails_at_once_instead_of_waiting() -> None:
    runtime = runtime_of(coordinator(["planner", "executor"]), planner(), executor())
    stored = await DirectTools(runtime, "planner").call(
        "storePlan",
        {
            "specName": "Promo",
            "planId": "p-1",
            "body": {"actions": [{"kind": "discount", "pct": 5}]},
        },
    )
    assert not stored.is_error, stored.content
    outcome = await asyncio.wait_for(
        DirectTools(runtime, "executor").call("executePlan", {"planId": "p-1"}), timeout=5
    )
    assert outcome.is_error
    assert outcome.content == {"error": "Plan p-1 approval channel closed before resolution"}
    assert runtime.pending_approvals() == []


async def test_ui_channels_are_stripped_and_many_events_never_block() -> None:
    def handler(args: Any, ctx: Any) -> dict[str, Any]:
        return {"value": 1, "displaySummary": "shown", "approvalDsl": {"a": 1}}

    tools = DirectTools(runtime_of(specialist("w", tools=[tool("t", handler)])), "w")
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(tools.call("t", {}) for _ in range(600))), timeout=30
    )
    assert all(o.content == {"value": 1} for o in outcomes)


async def test_a_raising_handler_is_an_error_outcome() -> None:
    def handler(args: Any, ctx: Any) -> None:
        raise KeyError("missing")

    tools = DirectTools(runtime_of(specialist("w", tools=[tool("t", handler)])), "w")
    outcome = await tools.call("t", {})
    assert outcome.is_error
    assert outcome.content == {"error": "KeyError: 'missing'"}


def test_a_blank_thread_id_is_refused() -> None:
    with pytest.raises(ValueError, match="thread_id must be a non-empty string"):
        DirectTools(runtime_of(specialist("w")), "w", thread_id="")


def test_agent_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="agent must be a string"):
        DirectTools(runtime_of(specialist("w")), 3)  # type: ignore[arg-type]
