"""The event stream: lazy start, back-pressure, cancellation, abandonment and event hooks."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowai_harness import define_tool
from flowai_harness.providers.deterministic import ScriptedClient
from flowai_harness.testing import ScriptedModel, collect_events, events_of_type
from tests.engine.helpers import (
    coordinator,
    engine_runtime,
    runtime_of,
    script,
    specialist,
)
from tests.waiting import other_tasks, wait_for_other_tasks, wait_until


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """Everything reported to the loop's exception handler (e.g. never-retrieved errors)."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    yield seen
    gc.collect()
    await asyncio.sleep(0)
    loop.set_exception_handler(previous)
    assert seen == []


def _parked_on_a_full_buffer(stream: Any) -> bool:
    """Whether the run of ``stream`` is waiting for the consumer to make room."""
    return stream._sink is not None and bool(stream._sink._putters)


class SlowTool:
    """An async tool that blocks until cancelled, recording what happened."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False
        self.finished = False
        self.spec = define_tool("slow", {}).bind(self.run)

    async def run(self, args: dict[str, Any], ctx: Any) -> str:
        self.started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.finished = True
        return "late"


@define_tool("tick", {})
def tick(args: dict[str, Any], ctx: Any) -> int:
    return 1


# --------------------------------------------------------------------------- lazy start


async def test_nothing_runs_until_the_first_anext() -> None:
    model = ScriptedModel().add_turn("hi")
    runtime = runtime_of(specialist("w"), interpreter=model)
    stream = runtime.run_specialist("w", "go")
    assert other_tasks() == []  # no run task exists to make a request later
    assert model.requests == []
    first = await stream.__anext__()
    assert first["type"] == "tool-agent"
    rest = [e async for e in stream]
    assert len(model.requests) == 1 and rest[-1]["state"] == "result"


async def test_stream_is_its_own_iterator_and_single_use() -> None:
    runtime = runtime_of(specialist("w"))
    stream = runtime.run_specialist("w", "go")
    assert stream.__aiter__() is stream
    assert len(await collect_events(stream)) == 4
    assert await collect_events(stream) == []
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


# --------------------------------------------------------------------------- back-pressure


async def test_a_slow_consumer_pauses_the_run_instead_of_losing_events() -> None:
    calls = 0

    @define_tool("count", {})
    def count(args: dict[str, Any], ctx: Any) -> int:
        nonlocal calls
        calls += 1
        return calls

    runtime = engine_runtime(
        specialist("w", tools=[count]), client=ScriptedClient(), stream_capacity=4
    )
    stream = runtime.run_specialist("w", script(*[("count", {})] * 50))
    events = [await stream.__anext__()]
    # an unbounded run would finish all 50 calls without ever waiting for room
    await wait_until(lambda: _parked_on_a_full_buffer(stream))
    assert calls <= 4
    events += [e async for e in stream]
    assert calls == 50
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert len(events) == 2 + 50 * 3 + 2


async def test_no_event_is_lost_beyond_the_reference_1024_event_buffer() -> None:
    runtime = runtime_of(specialist("w", tools=[tick]), interpreter="scripted")
    stream = runtime.run_specialist("w", script(*[("tick", {})] * 600))
    events = []
    async for event in stream:
        events.append(event)
        if len(events) % 97 == 0:
            await asyncio.sleep(0.01)  # the consumer falls far behind now and then
    assert [e["sequence"] for e in events] == list(range(1, 2 + 600 * 3 + 3))
    calls = [e for e in events if e["type"] == "tool-invocation" and e["state"] == "call"]
    results = [e for e in events if e["type"] == "tool-invocation" and e["state"] == "result"]
    expected_ids = [f"scripted-tool-{i}" for i in range(1, 601)]
    assert [e["toolInvocationId"] for e in calls] == expected_ids
    assert [e["toolInvocationId"] for e in results] == expected_ids
    assert events[-1]["type"] == "tool-agent" and events[-1]["state"] == "result"


async def test_the_end_of_a_run_never_waits_for_the_consumer() -> None:
    runtime = engine_runtime(
        specialist("w", tools=[tick]), client=ScriptedClient(), stream_capacity=2
    )
    stream = runtime.run_specialist("w", script(("tick", {}), ("tick", {})))
    events = []
    while len(events) < 8:  # all but the last two events (finish, tool-agent result)
        events.append(await stream.__anext__())
    await wait_for_other_tasks()  # the run is over although its last events wait
    events += [e async for e in stream]
    assert [e["sequence"] for e in events] == list(range(1, 11))
    assert events[-1]["type"] == "tool-agent" and events[-1]["state"] == "result"


def test_asyncio_run_exits_while_an_unread_stream_is_still_referenced() -> None:
    import subprocess
    import sys
    import textwrap

    program = textwrap.dedent(
        """
        import asyncio, json
        from flowai_harness import create_runtime, define_runtime, define_specialist
        from flowai_harness import define_tenant, define_tool

        @define_tool("tick", {})
        def tick(args, ctx):
            return 1

        kept = []

        async def main():
            agent = define_specialist("w", model="claude-haiku-4-5", prompt="p", tools=[tick])
            spec = define_runtime(define_tenant("acme", "v1"), agents=[agent])
            runtime = create_runtime(spec, interpreter="scripted")
            prompt = json.dumps({"script": [{"tool": "tick"}] * 1000})
            stream = runtime.run_specialist("w", prompt)
            await stream.__anext__()
            deadline = asyncio.get_running_loop().time() + 10
            while not stream._sink._putters:  # the run fills the queue and waits
                assert asyncio.get_running_loop().time() < deadline, "the queue never filled"
                await asyncio.sleep(0.005)
            kept.append(stream)

        asyncio.run(main())
        print("exited")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "exited"


# --------------------------------------------------------------------------- cancellation


async def test_cancel_stops_a_running_tool_and_the_loop_just_ends(
    loop_errors: list[dict[str, Any]],
) -> None:
    slow = SlowTool()
    runtime = runtime_of(specialist("w", tools=[slow.spec]), interpreter="scripted")
    stream = runtime.run_specialist("w", script(("slow", {}), ("slow", {})))
    seen = []
    async for event in stream:
        seen.append(event)
        if event["type"] == "tool-invocation":
            await slow.started.wait()
            stream.cancel()
    assert [e["type"] for e in seen] == ["tool-agent", "step-start", "tool-invocation"]
    await wait_for_other_tasks()
    assert slow.cancelled and not slow.finished


async def test_cancel_before_the_first_anext_runs_nothing() -> None:
    model = ScriptedModel().add_turn("never")
    runtime = runtime_of(specialist("w"), interpreter=model)
    stream = runtime.run_specialist("w", "go")
    stream.cancel()
    assert [e async for e in stream] == []
    assert other_tasks() == []  # no run task was ever started
    assert model.requests == []


async def test_cancel_from_another_task_ends_a_waiting_consumer(
    loop_errors: list[dict[str, Any]],
) -> None:
    slow = SlowTool()
    runtime = runtime_of(specialist("w", tools=[slow.spec]), interpreter="scripted")
    stream = runtime.run_specialist("w", '{"tool": "slow"}')

    async def consume() -> list[dict[str, Any]]:
        return [e async for e in stream]

    consumer = asyncio.create_task(consume())
    await slow.started.wait()
    stream.cancel()
    events = await asyncio.wait_for(consumer, 10)
    assert events[-1]["type"] == "tool-invocation" and events[-1]["state"] == "call"
    await wait_for_other_tasks()
    assert slow.cancelled


async def test_cancel_is_idempotent_and_safe_after_the_end() -> None:
    runtime = runtime_of(specialist("w"))
    stream = runtime.run_specialist("w", "go")
    assert len(await collect_events(stream)) == 4
    stream.cancel()
    stream.cancel()
    assert [e async for e in stream] == []


async def test_cancel_does_not_wait_for_a_blocking_sync_tool() -> None:
    release = threading.Event()
    entered = threading.Event()

    @define_tool("block", {})
    def block(args: dict[str, Any], ctx: Any) -> str:
        entered.set()
        release.wait(5)
        return "done"

    runtime = runtime_of(specialist("w", tools=[block]), interpreter="scripted")
    stream = runtime.run_specialist("w", '{"tool": "block"}')
    try:
        async for event in stream:
            if event["type"] == "tool-invocation":
                await asyncio.to_thread(entered.wait, 5)
                stream.cancel()
        await wait_for_other_tasks()
    finally:
        release.set()


async def test_cancel_while_waiting_for_approval_expires_the_approval() -> None:
    @define_tool("gated", {}, approval="always")
    def gated(args: dict[str, Any], ctx: Any) -> str:
        raise AssertionError("must not run")

    runtime = runtime_of(specialist("w", tools=[gated]), interpreter="scripted")
    stream = runtime.run_specialist("w", '{"tool": "gated"}', thread_id="t")
    approval_id = None
    async for event in stream:
        if event["type"] == "approval-required":
            approval_id = event["data"]["id"]
            assert len(runtime.pending_approvals()) == 1
            stream.cancel()
    assert approval_id is not None
    await wait_for_other_tasks()
    assert runtime.pending_approvals() == []
    with pytest.raises(ValueError, match=f"^approval already resolved: {approval_id}$"):
        await runtime.respond_to_approval(approval_id, "approve")


async def test_cancel_stops_nested_sub_agents_and_their_tools() -> None:
    slow = SlowTool()
    runtime = runtime_of(
        coordinator(["w"]), specialist("w", tools=[slow.spec]), interpreter="scripted"
    )
    stream = runtime.query(
        script(("call_agent", {"agent": "w", "prompt": '{"tool": "slow"}'})), thread_id="t"
    )
    async for event in stream:
        if event["type"] == "tool-invocation" and event["toolName"] == "slow":
            await slow.started.wait()
            stream.cancel()
    await wait_for_other_tasks()
    assert slow.cancelled


async def test_aclose_cancels_and_waits_for_the_run(
    loop_errors: list[dict[str, Any]],
) -> None:
    slow = SlowTool()
    runtime = runtime_of(specialist("w", tools=[slow.spec]), interpreter="scripted")
    stream = runtime.run_specialist("w", '{"tool": "slow"}')
    async for event in stream:
        if event["type"] == "tool-invocation":
            break
    await slow.started.wait()
    await stream.aclose()
    assert slow.cancelled
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_cancel_while_the_run_waits_on_a_full_queue_leaves_no_error_behind(
    loop_errors: list[dict[str, Any]],
) -> None:
    runtime = engine_runtime(
        specialist("w", tools=[tick]), client=ScriptedClient(), stream_capacity=2
    )
    stream = runtime.run_specialist("w", script(*[("tick", {})] * 20))
    await stream.__anext__()
    await wait_until(lambda: _parked_on_a_full_buffer(stream))
    stream.cancel()
    await wait_for_other_tasks()


# --------------------------------------------------------------------------- abandonment


async def test_breaking_out_of_the_loop_stops_the_run_and_frees_the_thread(
    loop_errors: list[dict[str, Any]],
) -> None:
    slow = SlowTool()
    runtime = runtime_of(specialist("w", tools=[slow.spec, tick]), interpreter="scripted")
    async for event in runtime.run_specialist("w", '{"tool": "slow"}', thread_id="t"):
        if event["type"] == "tool-invocation":
            await slow.started.wait()
            break
    await wait_for_other_tasks()
    assert slow.cancelled
    # the thread lock was released: a new run on the same thread completes
    events = await asyncio.wait_for(
        collect_events(runtime.run_specialist("w", '{"tool": "tick"}', thread_id="t")), 10
    )
    assert events[-1]["state"] == "result"


async def test_dropping_a_started_stream_stops_the_run() -> None:
    slow = SlowTool()
    runtime = runtime_of(specialist("w", tools=[slow.spec]), interpreter="scripted")
    stream = runtime.run_specialist("w", '{"tool": "slow"}')
    await stream.__anext__()
    await slow.started.wait()
    del stream
    gc.collect()
    await wait_for_other_tasks()
    assert slow.cancelled


# --------------------------------------------------------------------------- hooks


async def test_hooks_see_every_event_once_in_order_as_the_same_dict() -> None:
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    order: list[str] = []

    def hook_a(event: dict[str, Any]) -> None:
        order.append("a")
        first.append(event)
        event["seenBy"] = "a"

    def hook_b(event: dict[str, Any]) -> None:
        order.append("b")
        second.append(event)

    runtime = runtime_of(specialist("w"), event_hooks=[hook_a, hook_b])
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert len(events) == 4
    assert all(a is b is e for a, b, e in zip(first, second, events, strict=True))
    assert all(e["seenBy"] == "a" for e in events)
    assert order == ["a", "b"] * 4


async def test_a_hook_exception_is_raised_from_anext_and_iteration_may_continue() -> None:
    def hook(event: dict[str, Any]) -> None:
        if event["type"] == "step-start":
            raise RuntimeError("hook failed")

    runtime = runtime_of(specialist("w"), event_hooks=[hook])
    stream = runtime.run_specialist("w", "go")
    assert (await stream.__anext__())["type"] == "tool-agent"
    with pytest.raises(RuntimeError, match="hook failed"):
        await stream.__anext__()
    rest = [e async for e in stream]
    assert [e["type"] for e in rest] == ["finish", "tool-agent"]
    assert [e["sequence"] for e in rest] == [3, 4]


async def test_hooks_also_see_pre_flight_error_events() -> None:
    seen: list[dict[str, Any]] = []
    runtime = runtime_of(specialist("w"), event_hooks=[seen.append])
    events = await collect_events(runtime.query("go", thread_id="t"))  # no coordinator
    assert seen == events and events[0]["type"] == "error"


# --------------------------------------------------------------------------- event shape


def _nested_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [key for k, v in value.items() for key in (k, *_nested_keys(v))]
    if isinstance(value, list):
        return [key for v in value for key in _nested_keys(v)]
    return []


async def test_every_event_has_a_type_camel_case_keys_and_a_contiguous_sequence() -> None:
    @define_tool("gated", {}, approval="always")
    def gated(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"approvalDsl": "<card/>", "displaySummary": "done", "snake_case_result": 1}

    model = ScriptedModel(live=True)
    model.add_turn("thinking...", tool_calls=[("tick", {}), ("gated", {})], reasoning="hmm")
    model.add_turn("done")
    runtime = runtime_of(specialist("w", tools=[tick, gated]), interpreter=model)
    events = await collect_events(runtime.run_specialist("w", "go"), runtime, approve="approve")
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    for event in events:
        # tool args and results are free-form JSON owned by the tool, not wire keys
        wire = {k: v for k, v in event.items() if k not in ("args", "result")}
        if event["type"] == "approval-required":
            wire["data"] = {k: v for k, v in event["data"].items() if k != "payload"}
        assert all("_" not in key for key in _nested_keys(wire)), event
    assert {e["type"] for e in events} == {
        "tool-agent",
        "step-start",
        "reasoning",
        "text",
        "tool-invocation",
        "approval-required",
        "approval-decision",
        "data-flow-ui",
        "data-cost-summary",
        "data-latency-summary",
        "finish",
    }
    assert events_of_type(events, "reasoning") == [
        {"type": "reasoning", "text": "hmm", "sequence": 3}
    ]


async def test_a_tool_that_swallows_cancellation_still_lets_the_run_stop_cleanly(
    loop_errors: list[dict[str, Any]],
) -> None:
    started = asyncio.Event()

    @define_tool("stubborn", {})
    async def stubborn(args: dict[str, Any], ctx: Any) -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return "ignored the cancel"  # user code that should not do this, but may
        return "late"

    runtime = runtime_of(specialist("w", tools=[stubborn]), interpreter="scripted")
    stream = runtime.run_specialist("w", '{"tool": "stubborn"}')
    async for event in stream:
        if event["type"] == "tool-invocation":
            await started.wait()
            stream.cancel()
    await wait_for_other_tasks()
