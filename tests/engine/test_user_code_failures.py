"""Nothing user code raises ends the run or the host process; a real cancellation still cancels.

The ``SystemExit`` and ``KeyboardInterrupt`` cases run in-process on purpose: if the engine let
one escape, it would end the event loop and pytest with it, a failure nobody can miss.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from flowai_harness import define_reference, define_tool
from flowai_harness.errors import RunError
from flowai_harness.ports import ModelFinish, ModelRequest
from flowai_harness.testing import ScriptedModel, collect_events
from tests.engine.helpers import runtime_of, specialist
from tests.engine.plan_helpers import execute, flow, plan_runtime, run, store, tool_results
from tests.waiting import wait_until


def _raise_cancelled_of_an_inner_task() -> Any:
    """What a tool does when a task it started (and cancelled) is awaited."""

    async def inner() -> None:
        await asyncio.sleep(10)

    async def go() -> None:
        task = asyncio.ensure_future(inner())
        task.cancel()
        await task

    return go()


def _raise(kind: str) -> None:
    if kind == "SystemExit":
        raise SystemExit(3)
    if kind == "KeyboardInterrupt":
        raise KeyboardInterrupt
    raise asyncio.CancelledError("stray")


EXPECTED = {
    "SystemExit": "SystemExit: 3",
    "KeyboardInterrupt": "KeyboardInterrupt",
    "CancelledError": "CancelledError: stray (raised by user code while the run was not cancelled)",
}


def _tool(kind: str, flavour: str) -> Any:
    if flavour == "sync":

        @define_tool("boom", {})
        def boom_sync(args: dict[str, Any], ctx: Any) -> Any:
            _raise(kind)

        return boom_sync

    @define_tool("boom", {})
    async def boom_async(args: dict[str, Any], ctx: Any) -> Any:
        _raise(kind)

    return boom_async


async def _run_tool(tool: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    model = ScriptedModel().add_turn(tool_calls=[("boom", {})]).add_turn("recovered")
    runtime = runtime_of(specialist("w", tools=[tool]), interpreter=model)
    stream = runtime.run_specialist("w", "go", thread_id="t")
    events = await collect_events(stream)
    return events, await runtime.get_run(str(stream.run_id))


def _results(events: list[dict[str, Any]]) -> list[Any]:
    return [
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    ]


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt", "CancelledError"])
async def test_a_tool_raising_a_base_exception_gets_an_error_result_and_the_run_finishes(
    kind: str, flavour: str
) -> None:
    events, record = await _run_tool(_tool(kind, flavour))
    assert _results(events) == [{"error": EXPECTED[kind]}]
    assert [e["type"] for e in events][-3:] == ["text", "finish", "tool-agent"]
    assert record is not None and record["status"] == "completed"


async def test_a_cancelled_inner_task_of_an_async_tool_is_an_error_result_not_a_cancelled_run() -> (
    None
):
    @define_tool("boom", {})
    async def boom(args: dict[str, Any], ctx: Any) -> Any:
        await _raise_cancelled_of_an_inner_task()

    events, record = await _run_tool(boom)
    [result] = _results(events)
    assert result["error"].startswith("CancelledError")
    assert events[-2]["type"] == "finish"
    assert record is not None and record["status"] == "completed"


# --------------------------------------------------------------------------- real cancellation


class _Blocked:
    """An async tool that waits until released, recording whether it was cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

        @define_tool("wait", {})
        async def wait(args: dict[str, Any], ctx: Any) -> str:
            self.started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
            return "never"

        self.spec = wait


async def test_stream_cancel_still_cancels_the_run_and_its_tool() -> None:
    blocked = _Blocked()
    runtime = runtime_of(
        specialist("w", tools=[blocked.spec]),
        interpreter=ScriptedModel().add_turn(tool_calls=[("wait", {})]).add_turn("x"),
    )
    stream = runtime.run_specialist("w", "go", thread_id="t")
    seen = []
    async for event in stream:
        seen.append(event)
        if event["type"] == "tool-invocation":
            await blocked.started.wait()
            stream.cancel()
    assert seen[-1]["state"] == "call"  # no error result was made up for a real cancellation
    await wait_until(lambda: blocked.cancelled)
    run_id = str(stream.run_id)

    async def status() -> Any:
        return (await runtime.get_run(run_id) or {}).get("status")

    deadline = asyncio.get_running_loop().time() + 10
    while await status() != "cancelled":
        assert asyncio.get_running_loop().time() < deadline, await status()
        await asyncio.sleep(0.005)


async def test_cancelling_the_consumer_task_with_aclose_cancels_a_sync_tool_run() -> None:
    entered = threading.Event()
    release = threading.Event()

    @define_tool("block", {})
    def block(args: dict[str, Any], ctx: Any) -> str:
        entered.set()
        release.wait(10)
        return "late"

    runtime = runtime_of(
        specialist("w", tools=[block]),
        interpreter=ScriptedModel().add_turn(tool_calls=[("block", {})]).add_turn("x"),
    )
    stream = runtime.run_specialist("w", "go", thread_id="t")

    async def consume() -> list[dict[str, Any]]:
        return [event async for event in stream]

    consumer = asyncio.create_task(consume())
    try:
        await asyncio.to_thread(entered.wait, 10)
        await stream.aclose()
        events = await asyncio.wait_for(consumer, 10)
    finally:
        release.set()
    assert events[-1]["state"] == "call"
    record = await runtime.get_run(str(stream.run_id))
    assert record is not None and record["status"] == "cancelled"


# --------------------------------------------------------------------------- other callbacks


@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt", "CancelledError"])
async def test_an_approval_predicate_raising_a_base_exception_fails_closed(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    def predicate(args: Any, ctx: Any) -> bool:
        _raise(kind)
        return False

    @define_tool("gated", {}, approval=predicate)
    def gated(args: dict[str, Any], ctx: Any) -> str:
        return "ran"

    runtime = runtime_of(
        specialist("w", tools=[gated]),
        interpreter=ScriptedModel().add_turn(tool_calls=[("gated", {})]).add_turn("ok"),
    )
    with caplog.at_level(logging.WARNING, logger="flowai_harness.approvals"):
        events = await collect_events(runtime.run_specialist("w", "go"), runtime, approve="reject")
    assert [e["type"] for e in events].count("approval-required") == 1
    assert _results(events)[0]["rejected"] is True
    assert events[-2]["type"] == "finish"
    assert any(EXPECTED[kind] in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt", "CancelledError"])
async def test_an_action_dispatcher_raising_a_base_exception_fails_the_plan_not_the_host(
    kind: str, flavour: str
) -> None:
    def dispatcher(actions: Any, ctx: Any) -> Any:
        _raise(kind)

    async def async_dispatcher(actions: Any, ctx: Any) -> Any:
        _raise(kind)

    runtime = plan_runtime(
        dispatcher=dispatcher if flavour == "sync" else async_dispatcher,
        executor_approval={"plans": "never"},
    )
    events = await run(runtime, flow(store("p-1"), execute("p-1")))
    [result] = tool_results(events, "executePlan")
    assert result == {"error": f"Dispatch failed: inner dispatcher failed: {EXPECTED[kind]}"}
    assert events[-1]["type"] == "tool-agent" and events[-2]["type"] == "finish"


class _Details:
    """Dispatcher details whose conversion to JSON raises SystemExit."""

    def model_dump(self, mode: str = "python") -> Any:
        raise SystemExit(4)


async def test_dispatcher_details_whose_conversion_raises_fail_the_plan_not_the_host() -> None:
    runtime = plan_runtime(
        dispatcher=lambda actions, ctx: {"entitiesAffected": 1, "details": _Details()},
        executor_approval={"plans": "never"},
    )
    events = await run(runtime, flow(store("p-1"), execute("p-1")))
    [result] = tool_results(events, "executePlan")
    assert result == {
        "error": "Dispatch failed: action_dispatcher field 'details' could not be converted to "
        "JSON: SystemExit: 4"
    }
    assert events[-2]["type"] == "finish"


@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt", "CancelledError"])
async def test_a_glimpse_callback_raising_a_base_exception_is_a_reference_error(kind: str) -> None:
    def bad_glimpse(value: Any) -> Any:
        _raise(kind)

    note = define_reference("note", {"text": str}, glimpse=bad_glimpse)

    @define_tool("save", {})
    async def save(args: dict[str, Any], ctx: Any) -> Any:
        return await ctx.references.create(note, {"text": "hi"})

    model = ScriptedModel().add_turn(tool_calls=[("save", {})]).add_turn("ok")
    runtime = runtime_of(specialist("w", tools=[save]), interpreter=model, references=[note])
    events = await collect_events(runtime.run_specialist("w", "go"))
    assert _results(events) == [
        {
            "error": "ReferenceValidationError: glimpse callback of reference kind 'note' raised "
            + EXPECTED[kind]
        }
    ]
    assert events[-2]["type"] == "finish"


class _RaisingModel:
    """A ``ModelClient`` whose stream raises ``kind`` after a first part."""

    live = False

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def stream_turn(self, request: ModelRequest) -> AsyncIterator[Any]:
        async def parts() -> AsyncIterator[Any]:
            _raise(self.kind)
            yield ModelFinish("stop")

        return parts()


@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt", "CancelledError"])
async def test_a_model_client_raising_a_base_exception_fails_the_run_with_an_error_event(
    kind: str,
) -> None:
    runtime = runtime_of(specialist("w"), interpreter=_RaisingModel(kind))
    stream = runtime.run_specialist("w", "go")
    events = await collect_events(stream)
    errors = [e["error"]["message"] for e in events if e["type"] == "error"]
    assert errors[0] == f"model client for agent 'w' raised {EXPECTED[kind]}"
    record = await runtime.get_run(str(stream.run_id))
    assert record is not None and record["status"] == "failed"


@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt", "CancelledError"])
async def test_an_event_hook_raising_a_base_exception_surfaces_as_a_run_error(kind: str) -> None:
    def hook(event: dict[str, Any]) -> None:
        if event["type"] == "finish":
            _raise(kind)

    hooks: list[Callable[[dict[str, Any]], None]] = [hook]
    runtime = runtime_of(specialist("w"), event_hooks=hooks)
    stream = runtime.run_specialist("w", "go")
    with pytest.raises(RunError, match=f"event hook .*hook raised {EXPECTED[kind][:12]}"):
        await collect_events(stream)
    await stream.aclose()
