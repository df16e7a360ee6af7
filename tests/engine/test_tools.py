"""Tool dispatch: argument validation, the ctx object, threading, errors and UI channels."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pydantic
import pytest

from flowai_harness import define_reference, define_tool
from flowai_harness.testing import ScriptedModel, ToolCallStep, collect_events, events_of_type
from tests.engine.helpers import coordinator, engine_runtime, runtime_of, script, specialist
from tests.waiting import wait_until


def _results(events: list[dict[str, Any]]) -> list[Any]:
    return [
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    ]


async def _run_one(tool: Any, args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    runtime = runtime_of(specialist("w", tools=[tool]), interpreter="scripted", **kwargs)
    prompt = json.dumps({"tool": tool.name, "args": args})
    return await collect_events(runtime.run_specialist("w", prompt, thread_id="t"))


# --------------------------------------------------------------------------- validation


async def test_invalid_arguments_become_an_error_result_the_model_can_correct() -> None:
    seen: list[Any] = []

    @define_tool("lookup", {"sku": str, "qty": int})
    def lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        seen.append(args)
        return {"ok": True}

    model = (
        ScriptedModel()
        .add_turn(tool_calls=[("lookup", {"sku": 1})])
        .add_turn(tool_calls=[("lookup", {"sku": "A", "qty": 2})])
        .add_turn("done")
    )
    runtime = runtime_of(specialist("w", tools=[lookup]), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert _results(events) == [
        {
            "error": "Invalid arguments for tool 'lookup': sku: 1 is not of type 'string'; "
            "<root>: 'qty' is a required property"
        },
        {"ok": True},
    ]
    assert seen == [{"sku": "A", "qty": 2}]
    # the model saw the error result of its first call when asked for the second turn
    first_turn = model.requests[1].turns[0][0]
    assert first_turn.is_error and "is not of type 'string'" in first_turn.result["error"]
    assert events[-2]["type"] == "finish"
    model.assert_all_used()


async def test_null_args_become_an_empty_object_for_object_schemas() -> None:
    seen: list[Any] = []

    @define_tool("ping", {})
    def ping(args: dict[str, Any], ctx: Any) -> str:
        seen.append(args)
        return "pong"

    events = await _run_one(ping, None)
    assert seen == [{}]
    assert _results(events) == ["pong"]


async def test_arguments_are_validated_before_the_approval_gate() -> None:
    @define_tool("wipe", {"table": str}, approval="always")
    def wipe(args: dict[str, Any], ctx: Any) -> None:
        raise AssertionError("must not run")

    events = await _run_one(wipe, {"table": 5})
    assert events_of_type(events, "approval-required") == []
    assert _results(events) == [
        {"error": "Invalid arguments for tool 'wipe': table: 5 is not of type 'string'"}
    ]


async def test_builtin_tool_arguments_are_validated_too() -> None:
    runtime = runtime_of(specialist("w", toolkits=["references"]), interpreter="scripted")
    prompt = json.dumps({"tool": "resolveRef", "args": {"kind": "note"}})
    events = await collect_events(runtime.run_specialist("w", prompt))
    assert _results(events) == [{"error": "Invalid input: <root>: 'id' is a required property"}]


async def test_unknown_tool_is_an_error_result() -> None:
    @define_tool("known", {})
    def known(args: dict[str, Any], ctx: Any) -> int:
        return 1

    runtime = runtime_of(specialist("w", tools=[known]), interpreter="scripted")
    events = await collect_events(runtime.run_specialist("w", '{"tool": "unknown"}'))
    assert _results(events) == [{"error": "Unknown tool: unknown"}]


# --------------------------------------------------------------------------- ctx


async def test_ctx_exposes_call_id_services_and_references() -> None:
    seen: dict[str, Any] = {}
    db = object()

    @define_tool("probe", {})
    def probe(args: dict[str, Any], ctx: Any) -> str:
        seen.update(
            tool_use_id=ctx.tool_use_id,
            item=ctx["tool_use_id"],
            db_attr=ctx.db,
            db_item=ctx["db"],
            db_services=ctx.services["db"],
            get_missing=ctx.get("missing", 5),
            contains=("db" in ctx, "missing" in ctx),
            keys=sorted(ctx.keys()),
            as_dict=ctx.as_dict(),
            references=type(ctx.references).__name__,
        )
        with pytest.raises(AttributeError, match="the tool context has no service 'missing'"):
            _ = ctx.missing
        with pytest.raises(KeyError):
            _ = ctx["missing"]
        with pytest.raises(AttributeError, match="read-only"):
            ctx.db = None
        return "ok"

    events = await _run_one(probe, {}, services={"db": db, "mail": "smtp"})
    assert _results(events) == ["ok"]
    assert seen["tool_use_id"] == seen["item"] == "scripted-tool-1"
    assert seen["db_attr"] is db and seen["db_item"] is db and seen["db_services"] is db
    assert seen["get_missing"] == 5
    assert seen["contains"] == (True, False)
    assert seen["keys"] == ["db", "mail", "references", "services", "tool_use_id"]
    assert seen["as_dict"]["mail"] == "smtp"
    assert seen["references"] == "ReferenceClient"


async def test_ctx_as_dict_is_a_copy() -> None:
    @define_tool("probe", {})
    def probe(args: dict[str, Any], ctx: Any) -> bool:
        copy = ctx.as_dict()
        copy["db"] = "changed"
        return bool(ctx.db == "orig")

    events = await _run_one(probe, {}, services={"db": "orig"})
    assert _results(events) == [True]


async def test_ctx_tool_use_id_is_the_model_call_id() -> None:
    ids: list[str] = []

    @define_tool("probe", {})
    async def probe(args: dict[str, Any], ctx: Any) -> None:
        ids.append(ctx.tool_use_id)

    model = ScriptedModel().add_turn(
        tool_calls=[ToolCallStep("probe", {}, id="call-7"), ToolCallStep("probe", {}, id="call-8")]
    )
    model.add_turn("done")
    runtime = runtime_of(specialist("w", tools=[probe]), interpreter=model)
    await collect_events(runtime.run_specialist("w", "go"))
    assert ids == ["call-7", "call-8"]


async def test_ctx_references_create_resolve_and_glimpse_in_the_runtime_tenant() -> None:
    note = define_reference("note", {"text": str}, glimpse=lambda v: {"len": len(v["text"])})
    out: dict[str, Any] = {}

    @define_tool("remember", {"text": str})
    async def remember(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        handle = await ctx.references.create(note, {"text": args["text"]})
        out["value"] = await ctx.references.resolve(handle)
        out["glimpse"] = await ctx.references.glimpse(handle)
        return handle

    runtime = runtime_of(
        specialist("w", tools=[remember]), interpreter="scripted", references=[note]
    )
    events = await collect_events(
        runtime.run_specialist("w", '{"tool": "remember", "args": {"text": "abc"}}')
    )
    handle = _results(events)[0]
    assert handle["kind"] == "note" and handle["glimpse"] == {"len": 3}
    assert out == {"value": {"text": "abc"}, "glimpse": {"len": 3}}
    assert await runtime.resolve_reference(handle) == {"text": "abc"}


# --------------------------------------------------------------------------- threading


async def test_sync_handlers_run_off_the_event_loop() -> None:
    seen: dict[str, Any] = {}

    @define_tool("probe", {})
    def probe(args: dict[str, Any], ctx: Any) -> str:
        seen["thread"] = threading.get_ident()
        try:
            asyncio.get_running_loop()
            seen["loop"] = True
        except RuntimeError:
            seen["loop"] = False
        return "ok"

    await _run_one(probe, {})
    assert seen["thread"] != threading.get_ident()
    assert seen["loop"] is False


async def test_async_handlers_run_on_the_consumers_loop() -> None:
    seen: dict[str, Any] = {}

    @define_tool("probe", {})
    async def probe(args: dict[str, Any], ctx: Any) -> str:
        seen["loop"] = asyncio.get_running_loop()
        seen["thread"] = threading.get_ident()
        return "ok"

    await _run_one(probe, {})
    assert seen["loop"] is asyncio.get_running_loop()
    assert seen["thread"] == threading.get_ident()


async def test_a_slow_sync_handler_does_not_block_the_loop() -> None:
    release = threading.Event()
    entered = threading.Event()

    @define_tool("block", {})
    def block(args: dict[str, Any], ctx: Any) -> str:
        entered.set()
        assert release.wait(5)  # fails if the loop (which sets it) is blocked by this handler
        return "released"

    runtime = runtime_of(specialist("w", tools=[block]), interpreter="scripted")
    events: list[dict[str, Any]] = []

    async def consume() -> None:
        events.extend(await collect_events(runtime.run_specialist("w", '{"tool": "block"}')))

    task = asyncio.create_task(consume())
    await wait_until(entered.is_set)  # the loop keeps running while the handler blocks
    assert not task.done()
    release.set()
    await asyncio.wait_for(task, 5)
    assert _results(events) == ["released"]


async def test_sync_handler_returning_an_awaitable_is_awaited() -> None:
    async def later() -> str:
        return "later"

    @define_tool("defer", {})
    def defer(args: dict[str, Any], ctx: Any) -> Any:
        return later()

    assert _results(await _run_one(defer, {})) == ["later"]


# --------------------------------------------------------------------------- results


class Price(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(alias_generator=lambda s: s.upper())
    unit_price: float
    sku: str


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("plain", "plain"),
        (3, 3),
        ([1, "a"], [1, "a"]),
        ((1, 2), [1, 2]),
        ({1: "int key"}, {"1": "int key"}),
        (Price(UNIT_PRICE=4.5, SKU="A-1"), {"unit_price": 4.5, "sku": "A-1"}),
        (2**70, 2**70),
    ],
)
async def test_return_values_are_converted_to_json(value: Any, expected: Any) -> None:
    @define_tool("give", {})
    def give(args: dict[str, Any], ctx: Any) -> Any:
        return value

    assert _results(await _run_one(give, {})) == [expected]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({1, 2}, "TypeError: "),
        ({"x": float("nan")}, "TypeError: Out of range float values are not JSON compliant"),
        (float("inf"), "TypeError: Out of range float values are not JSON compliant"),
        (object(), "TypeError: "),
    ],
)
async def test_unserialisable_returns_become_error_results(value: Any, message: str) -> None:
    @define_tool("give", {})
    def give(args: dict[str, Any], ctx: Any) -> Any:
        return value

    events = await _run_one(give, {})
    (res,) = _results(events)
    assert set(res) == {"error"} and res["error"].startswith(message)
    assert events[-1]["state"] == "result"  # the run survived


@pytest.mark.parametrize("is_async", [False, True])
async def test_handler_exceptions_become_error_results_with_type_and_message(
    is_async: bool,
) -> None:
    def fail(args: dict[str, Any], ctx: Any) -> None:
        raise ValueError("bad sku")

    async def afail(args: dict[str, Any], ctx: Any) -> None:
        raise ValueError("bad sku")

    tool = define_tool("fail", {}).bind(afail if is_async else fail)
    events = await _run_one(tool, {})
    assert _results(events) == [{"error": "ValueError: bad sku"}]
    assert [e["type"] for e in events][-2:] == ["finish", "tool-agent"]


# --------------------------------------------------------------------------- UI channels


async def test_ui_channels_are_emitted_before_the_result_and_stripped_from_it() -> None:
    @define_tool("card", {})
    def card(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {
            "approvalDsl": "<card/>",
            "displaySummary": "Updated 3 rows",
            "_cardEmitted": True,
            "rows": 3,
        }

    events = await _run_one(card, {})
    body = [{k: v for k, v in e.items() if k != "sequence"} for e in events[2:6]]
    assert body == [
        {
            "type": "tool-invocation",
            "toolInvocationId": "scripted-tool-1",
            "toolName": "card",
            "args": {},
            "state": "call",
        },
        {"type": "data-flow-ui", "data": {"dsl": "<card/>"}},
        {"type": "text", "text": "Updated 3 rows"},
        {
            "type": "tool-invocation",
            "toolInvocationId": "scripted-tool-1",
            "toolName": "card",
            "args": {},
            "state": "result",
            "result": {"rows": 3},
        },
    ]


async def test_non_string_approval_dsl_is_stringified_as_compact_json() -> None:
    @define_tool("card", {})
    def card(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"approvalDsl": {"card": "confirm", "n": 1}}

    events = await _run_one(card, {})
    assert events_of_type(events, "data-flow-ui")[0]["data"] == {"dsl": '{"card":"confirm","n":1}'}
    assert _results(events) == [{}]


async def test_ui_channels_never_reach_the_model() -> None:
    @define_tool("card", {})
    def card(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"approvalDsl": "<card/>", "displaySummary": "done", "rows": 1}

    model = ScriptedModel().add_turn(tool_calls=[("card", {})]).add_turn("ok")
    runtime = runtime_of(specialist("w", tools=[card]), interpreter=model)
    await collect_events(runtime.run_specialist("w", "go"))
    assert model.requests[1].turns[0][0].result == {"rows": 1}


# --------------------------------------------------------------------------- call_agent


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"prompt": "x"}, "Missing 'agent' name string"),
        ({"agent": "", "prompt": "x"}, "Missing 'agent' name string"),
        ({"agent": 3, "prompt": "x"}, "Missing 'agent' name string"),
        (None, "Missing 'agent' name string"),
        ({"agent": "w"}, "Missing 'prompt' string"),
        ({"agent": "w", "prompt": 5}, "Missing 'prompt' string"),
        ({"agent": "x", "prompt": "hi"}, "Agent 'x' is not in this caller's allowed routes: ['w']"),
        ({"agent": "c", "prompt": "hi"}, "Agent 'c' is not in this caller's allowed routes: ['w']"),
    ],
)
async def test_call_agent_argument_errors_use_the_spec_messages(args: Any, message: str) -> None:
    runtime = runtime_of(
        coordinator(["w"]), specialist("w"), specialist("x"), interpreter="scripted"
    )
    events = await collect_events(runtime.query(script(("call_agent", args)), thread_id="t"))
    assert _results(events) == [{"error": message}]
    assert [e["agentName"] for e in events if e["type"] == "tool-agent"] == ["c", "c"]


async def test_a_handler_mutating_its_args_changes_neither_events_nor_memory() -> None:
    @define_tool("mutate", {"x": int})
    async def mutate(args: dict[str, Any], ctx: Any) -> str:
        args["x"] = 99
        args["added"] = True
        return "ok"

    model = ScriptedModel().add_turn(tool_calls=[("mutate", {"x": 1})]).add_turn("done")
    runtime = runtime_of(specialist("w", tools=[mutate], stateful=True), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go", thread_id="t"))
    assert [e["args"] for e in events if e["type"] == "tool-invocation"] == [{"x": 1}, {"x": 1}]
    assert model.requests[1].turns[0][0].arguments == {"x": 1}
    model.add_turn("again")
    await collect_events(runtime.run_specialist("w", "next", thread_id="t"))
    assert model.requests[2].history[1].tool_interactions[0].arguments == {"x": 1}


async def test_mutating_an_event_dict_does_not_change_what_the_model_sees() -> None:
    def hook(event: dict[str, Any]) -> None:
        if event["type"] == "tool-invocation" and event["state"] == "result":
            event["result"]["tampered"] = True

    @define_tool("give", {})
    def give(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"rows": 1}

    model = ScriptedModel().add_turn(tool_calls=[("give", {})]).add_turn("done")
    # capacity 1: the run waits for the consumer (and its hook) after every event
    runtime = engine_runtime(
        specialist("w", tools=[give]), client=model, stream_capacity=1, event_hooks=[hook]
    )
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert _results(events) == [{"rows": 1, "tampered": True}]
    assert model.requests[1].turns[0][0].result == {"rows": 1}
