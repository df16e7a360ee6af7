"""Tool calls of one model turn run at the same time, up to the agent's limit.

The model is a live ``ScriptedModel``: it yields every call of a turn, then finishes, and only
sees the results in its next request (an offline client may read a result as soon as it
resumes, so its calls run one after another; see ``engine/tool_batch.py``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from flowai_harness import define_tool
from flowai_harness.engine.memory import load_history
from flowai_harness.storage.memory import MemoryKeyValueStore
from flowai_harness.testing import ScriptedModel, ToolCallStep, collect_events
from tests.engine.helpers import coordinator, engine_runtime, runtime_of, specialist
from tests.waiting import wait_until


def _live_model(*turns: list[tuple[str, Any]], agent: str | None = None) -> ScriptedModel:
    model = ScriptedModel(live=True)
    for index, calls in enumerate(turns):
        steps = [
            ToolCallStep(name, args, id=f"call-{index}-{n}") for n, (name, args) in enumerate(calls)
        ]
        model.add_turn(tool_calls=steps, agent=agent)
    model.add_turn("done", agent=agent)
    return model


def _tool_events(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["state"], e["toolInvocationId"]) for e in events if e["type"] == "tool-invocation"]


def _ended_well(events: list[dict[str, Any]]) -> bool:
    return [e["type"] for e in events][-2:] == ["finish", "tool-agent"]


def _results_seen_by_model(model: ScriptedModel, request: int = 1) -> list[tuple[str, Any]]:
    turn = model.requests[request].turns[0]
    return [(i.call_id, i.result) for i in turn]


# --------------------------------------------------------------------------- concurrency


async def test_three_sleeping_tools_of_one_turn_take_the_time_of_one() -> None:
    @define_tool("nap", {"n": int})
    async def nap(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return {"n": args["n"]}

    model = _live_model([("nap", {"n": 0}), ("nap", {"n": 1}), ("nap", {"n": 2})])
    runtime = runtime_of(specialist("w", tools=[nap]), interpreter=model)
    seen: list[tuple[float, dict[str, Any]]] = []
    async for event in runtime.run_specialist("w", "go", thread_id="t"):
        seen.append((time.perf_counter(), event))
    events = [e for _, e in seen]
    steps = [at for at, e in seen if e["type"] == "step-start"]
    assert len(steps) == 2
    assert steps[1] - steps[0] < 0.4  # three 0.2 s naps, one after another, take 0.6 s
    ids = [f"call-0-{n}" for n in range(3)]
    assert _tool_events(events) == [("call", i) for i in ids] + [("result", i) for i in ids]
    assert _results_seen_by_model(model) == [(i, {"n": n}) for n, i in enumerate(ids)]
    assert _ended_well(events)


async def test_results_go_back_in_the_order_the_model_asked_whatever_order_they_finish_in() -> None:
    # "first" can only finish after "last" did: proof that they run at the same time.
    last_done = asyncio.Event()

    @define_tool("first", {})
    async def first(args: Any, ctx: Any) -> str:
        await last_done.wait()
        return "first"

    @define_tool("last", {})
    async def last(args: Any, ctx: Any) -> str:
        last_done.set()
        return "last"

    model = _live_model([("first", {}), ("last", {})])
    runtime = runtime_of(specialist("w", tools=[first, last]), interpreter=model)
    events = await asyncio.wait_for(
        collect_events(runtime.run_specialist("w", "go", thread_id="t")), timeout=10
    )
    assert _tool_events(events) == [
        ("call", "call-0-0"),
        ("call", "call-0-1"),
        ("result", "call-0-1"),
        ("result", "call-0-0"),
    ]
    assert _results_seen_by_model(model) == [("call-0-0", "first"), ("call-0-1", "last")]


async def test_sync_tools_run_at_the_same_time_on_worker_threads() -> None:
    threads: set[int] = set()

    @define_tool("block", {"n": int})
    def block(args: dict[str, Any], ctx: Any) -> int:
        threads.add(threading.get_ident())
        time.sleep(0.2)
        return args["n"]

    model = _live_model([("block", {"n": n}) for n in range(3)])
    runtime = runtime_of(specialist("w", tools=[block]), interpreter=model)
    started = time.perf_counter()
    events = await collect_events(runtime.run_specialist("w", "go", thread_id="t"))
    assert time.perf_counter() - started < 0.4
    assert len(threads) == 3
    assert _results_seen_by_model(model) == [(f"call-0-{n}", n) for n in range(3)]
    assert _ended_well(events)


async def test_the_limit_caps_how_many_calls_run_at_once() -> None:
    running = 0
    most = 0
    release = asyncio.Event()

    @define_tool("hold", {"n": int})
    async def hold(args: dict[str, Any], ctx: Any) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1
        return args["n"]

    model = _live_model([("hold", {"n": n}) for n in range(5)])
    runtime = runtime_of(
        specialist("w", tools=[hold], max_parallel_tool_calls=2), interpreter=model
    )
    run = asyncio.ensure_future(collect_events(runtime.run_specialist("w", "go", thread_id="t")))
    await wait_until(lambda: running == 2, message="two calls never ran at once")
    release.set()
    events = await asyncio.wait_for(run, timeout=10)
    assert most == 2
    assert _results_seen_by_model(model) == [(f"call-0-{n}", n) for n in range(5)]
    assert _ended_well(events)


async def test_a_limit_of_one_runs_the_calls_one_after_another() -> None:
    running = 0
    most = 0

    @define_tool("step", {"n": int})
    async def step(args: dict[str, Any], ctx: Any) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        return args["n"]

    model = _live_model([("step", {"n": n}) for n in range(3)])
    runtime = runtime_of(
        specialist("w", tools=[step], max_parallel_tool_calls=1), interpreter=model
    )
    events = await collect_events(runtime.run_specialist("w", "go", thread_id="t"))
    ids = [f"call-0-{n}" for n in range(3)]
    assert _tool_events(events) == [(state, i) for i in ids for state in ("call", "result")]
    assert most == 1
    assert _results_seen_by_model(model) == [(i, n) for n, i in enumerate(ids)]


async def test_an_offline_client_gets_each_result_before_it_resumes() -> None:
    # The scripted interpreter echoes each result in the same turn: its calls stay sequential.
    @define_tool("echo", {"n": int})
    async def echo(args: dict[str, Any], ctx: Any) -> int:
        await asyncio.sleep(0)
        return args["n"]

    runtime = runtime_of(specialist("w", tools=[echo]), interpreter="scripted")
    prompt = '{"script": [{"tool": "echo", "args": {"n": 1}}, {"tool": "echo", "args": {"n": 2}}]}'
    events = await collect_events(runtime.run_specialist("w", prompt, thread_id="t"))
    shown = [
        (e["type"], e.get("state"), e.get("text"))
        for e in events
        if e["type"] in ("tool-invocation", "text")
    ]
    assert shown == [
        ("tool-invocation", "call", None),
        ("tool-invocation", "result", None),
        ("text", None, "1"),
        ("tool-invocation", "call", None),
        ("tool-invocation", "result", None),
        ("text", None, "2"),
    ]


# --------------------------------------------------------------------------- approvals, failures


async def test_a_gated_call_waits_while_the_others_complete() -> None:
    @define_tool("read", {"n": int})
    async def read(args: dict[str, Any], ctx: Any) -> int:
        return args["n"]

    @define_tool("write", {"n": int}, approval="always")
    async def write(args: dict[str, Any], ctx: Any) -> str:
        return f"wrote {args['n']}"

    model = _live_model([("read", {"n": 0}), ("write", {"n": 1}), ("read", {"n": 2})])
    runtime = runtime_of(specialist("w", tools=[read, write]), interpreter=model)
    events: list[dict[str, Any]] = []
    pending: str | None = None
    async for event in runtime.run_specialist("w", "go", thread_id="t"):
        events.append(event)
        if event["type"] == "approval-required":
            pending = event["data"]["id"]
        done = {e["toolInvocationId"] for e in events if e.get("state") == "result"}
        if pending is not None and {"call-0-0", "call-0-2"} <= done:
            await runtime.respond_to_approval(pending, "approve")
            pending = None
    order = [
        (e["type"], e.get("state"), e.get("toolInvocationId"))
        for e in events
        if e["type"].startswith(("tool-invocation", "approval"))
    ]
    decision = order.index(("approval-decision", None, None))
    assert order.index(("tool-invocation", "result", "call-0-0")) < decision
    assert order.index(("tool-invocation", "result", "call-0-2")) < decision
    assert order.index(("tool-invocation", "result", "call-0-1")) > decision
    assert _results_seen_by_model(model) == [
        ("call-0-0", 0),
        ("call-0-1", "wrote 1"),
        ("call-0-2", 2),
    ]


async def test_a_raising_tool_among_others_is_an_error_result_in_its_place() -> None:
    @define_tool("ok", {"n": int})
    async def ok(args: dict[str, Any], ctx: Any) -> int:
        await asyncio.sleep(0.01)
        return args["n"]

    @define_tool("boom", {})
    async def boom(args: Any, ctx: Any) -> None:
        raise ValueError("no stock")

    model = _live_model([("ok", {"n": 0}), ("boom", {}), ("ok", {"n": 2})])
    runtime = runtime_of(specialist("w", tools=[ok, boom]), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go", thread_id="t"))
    assert _results_seen_by_model(model) == [
        ("call-0-0", 0),
        ("call-0-1", {"error": "ValueError: no stock"}),
        ("call-0-2", 2),
    ]
    assert [i.is_error for i in model.requests[1].turns[0]] == [False, True, False]
    assert _ended_well(events)


async def test_cancelling_the_run_cancels_every_call_in_flight() -> None:
    started = 0
    cancelled = 0

    @define_tool("wait", {})
    async def wait(args: Any, ctx: Any) -> None:
        nonlocal started, cancelled
        started += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled += 1
            raise

    model = _live_model([("wait", {}), ("wait", {}), ("wait", {})])
    runtime = runtime_of(specialist("w", tools=[wait]), interpreter=model)
    stream = runtime.run_specialist("w", "go", thread_id="t")
    consumer = asyncio.ensure_future(collect_events(stream))
    await wait_until(lambda: started == 3, message="the three calls never all started")
    stream.cancel()
    events = await asyncio.wait_for(consumer, timeout=10)
    assert [e["state"] for e in events if e["type"] == "tool-invocation"] == ["call"] * 3
    await wait_until(lambda: cancelled == 3, message="a call kept running after the cancel")


async def test_the_tool_call_budget_is_exact_when_calls_run_at_once() -> None:
    ran: list[int] = []

    @define_tool("count", {"n": int})
    async def count(args: dict[str, Any], ctx: Any) -> int:
        ran.append(args["n"])
        await asyncio.sleep(0.01)
        return args["n"]

    model = _live_model([("count", {"n": n}) for n in range(4)])
    runtime = runtime_of(specialist("w", tools=[count]), interpreter=model)
    stream = runtime.run_specialist("w", "go", thread_id="t", budget={"max_tool_calls": 2})
    events = await collect_events(stream)
    assert sorted(ran) == [0, 1]
    results = {e["toolInvocationId"]: e["result"] for e in events if e.get("state") == "result"}
    assert results["call-0-0"] == 0 and results["call-0-1"] == 1
    for refused in ("call-0-2", "call-0-3"):
        assert results[refused]["code"] == "budget_exceeded"
    assert events[-2]["type"] == "error" and events[-2]["error"]["code"] == "budget_exceeded"
    assert len(model.requests) == 1  # the next model call was refused


# --------------------------------------------------------------------------- sub-agents


async def test_call_agent_fan_out_runs_the_sub_agents_at_the_same_time() -> None:
    @define_tool("nap", {})
    async def nap(args: Any, ctx: Any) -> str:
        await asyncio.sleep(0.2)
        return "rested"

    model = ScriptedModel(live=True)
    names = ["s1", "s2", "s3"]
    model.add_turn(
        tool_calls=[
            ToolCallStep("call_agent", {"agent": n, "prompt": f"go {n}"}, id=f"route-{n}")
            for n in names
        ],
        agent="c",
    )
    model.add_turn("all done", agent="c")
    for name in names:
        model.add_turn(tool_calls=[ToolCallStep("nap", {})], agent=name)
        model.add_turn(f"{name} rested", agent=name)
    agents = [specialist(n, tools=[nap], stateful=True) for n in names]
    runtime = runtime_of(coordinator(names), *agents, interpreter=model)
    started = time.perf_counter()
    events = await collect_events(runtime.query("fan out", thread_id="t"))
    assert time.perf_counter() - started < 0.4  # three sub-agents napping 0.2 s each
    answers = [(i.call_id, i.result["response"]) for i in model.requests[-1].turns[0]]
    assert answers == [(f"route-{n}", f"{n} rested") for n in names]
    agent_events = [(e["agentName"], e["state"]) for e in events if e["type"] == "tool-agent"]
    for name in names:  # each sub-agent's events are well-ordered
        assert agent_events.index((name, "call")) < agent_events.index((name, "result"))
    assert _ended_well(events)


class _SlowStore(MemoryKeyValueStore):
    """A store whose reads take a while, as a database's do."""

    async def get(self, tenant: str, key: str) -> Any:
        value = await super().get(tenant, key)
        await asyncio.sleep(0.01)  # the answer travels back: a write meanwhile is not in it
        return value


async def test_two_calls_of_one_stateful_sub_agent_both_reach_its_memory() -> None:
    model = ScriptedModel(live=True)
    model.add_turn(
        tool_calls=[
            ToolCallStep("call_agent", {"agent": "s", "prompt": f"note {n}"}, id=f"r{n}")
            for n in range(2)
        ],
        agent="c",
    )
    model.add_turn("noted", agent="c")
    model.add_turn("first", agent="s")
    model.add_turn("second", agent="s")
    kv = _SlowStore()
    runtime = engine_runtime(
        coordinator(["s"]), specialist("s", stateful=True), client=model, kv=kv
    )
    await collect_events(runtime.query("note twice", thread_id="t"))
    history = await load_history(kv, "acme", "t-s", "s")
    assert sorted(m.content for m in history if m.role == "user") == ["note 0", "note 1"]


# --------------------------------------------------------------------------- the spec field


def test_max_parallel_tool_calls_round_trips_on_the_wire() -> None:
    agent = specialist("w", max_parallel_tool_calls=3)
    wire = agent.to_wire()
    assert wire["maxParallelToolCalls"] == 3
    assert "maxParallelToolCalls" not in specialist("w").to_wire()
    assert type(agent).model_validate(wire).max_parallel_tool_calls == 3


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "4"])
def test_max_parallel_tool_calls_rejects_what_is_not_a_positive_integer(value: Any) -> None:
    with pytest.raises(ValueError, match="max_parallel_tool_calls must be an integer >= 1"):
        specialist("w", max_parallel_tool_calls=value)
