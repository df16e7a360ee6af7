"""One run at a time per thread_id; runs on different threads are concurrent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from flowai_harness import define_tool
from flowai_harness.handle import Runtime
from flowai_harness.ports import ModelPart, ModelRequest
from flowai_harness.testing import ModelTurn, ScriptedModel, collect_events
from tests.engine.helpers import coordinator, runtime_of, specialist
from tests.waiting import wait_until


class Gate:
    """A tool whose calls wait until the test opens the gate, logging entries and exits."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.inside = 0
        self.max_inside = 0
        self.log: list[str] = []
        self.entered = asyncio.Event()
        self.spec = define_tool("hold", {"label": str}).bind(self.run)

    async def run(self, args: dict[str, Any], ctx: Any) -> str:
        self.inside += 1
        self.max_inside = max(self.max_inside, self.inside)
        self.log.append(f"enter {args['label']}")
        self.entered.set()
        await self.open.wait()
        self.log.append(f"exit {args['label']}")
        self.inside -= 1
        return args["label"]


def _hold(label: str) -> str:
    return f'{{"tool": "hold", "args": {{"label": "{label}"}}}}'


def _holders(runtime: Runtime, thread_id: str) -> int:
    """How many runs hold or wait for the lock of ``thread_id``."""
    return runtime._thread_locks._locks.get(thread_id, (None, 0))[1]


async def test_runs_on_the_same_thread_are_serialized() -> None:
    gate = Gate()
    runtime = runtime_of(specialist("w", tools=[gate.spec]), interpreter="scripted")
    second_events: list[dict[str, Any]] = []

    async def second() -> None:
        async for event in runtime.run_specialist("w", _hold("two"), thread_id="t"):
            second_events.append(event)

    first = asyncio.create_task(
        collect_events(runtime.run_specialist("w", _hold("one"), thread_id="t"))
    )
    await gate.entered.wait()
    waiting = asyncio.create_task(second())
    await wait_until(lambda: _holders(runtime, "t") == 2)  # the second run queues for the thread
    assert second_events == []  # not even its opening frame: the thread is busy
    gate.open.set()
    await asyncio.wait_for(asyncio.gather(first, waiting), 10)
    assert gate.log == ["enter one", "exit one", "enter two", "exit two"]
    assert gate.max_inside == 1
    assert second_events[-1]["state"] == "result"


async def test_runs_on_different_threads_run_concurrently() -> None:
    gate = Gate()
    runtime = runtime_of(specialist("w", tools=[gate.spec]), interpreter="scripted")
    runs = [
        asyncio.create_task(
            collect_events(runtime.run_specialist("w", _hold(str(i)), thread_id=f"t{i}"))
        )
        for i in range(3)
    ]

    await wait_until(lambda: gate.inside == 3)  # would time out if the threads were serialized
    gate.open.set()
    results = await asyncio.wait_for(asyncio.gather(*runs), 10)
    assert gate.max_inside == 3
    assert all(events[-1]["state"] == "result" for events in results)


async def test_a_run_waiting_for_approval_holds_only_its_own_thread() -> None:
    @define_tool("gated", {}, approval="always")
    def gated(args: dict[str, Any], ctx: Any) -> str:
        return "ok"

    runtime = runtime_of(specialist("w", tools=[gated]), interpreter="scripted")
    held = runtime.run_specialist("w", '{"tool": "gated"}', thread_id="a")
    approval = None
    async for event in held:
        if event["type"] == "approval-required":
            approval = event["data"]["id"]
            break_out = await asyncio.wait_for(
                collect_events(runtime.run_specialist("w", "echo", thread_id="b")), 10
            )
            assert break_out[-1]["state"] == "result"
            await runtime.respond_to_approval(approval, "approve")
    assert approval is not None


class YieldingModel(ScriptedModel):
    """Echoes the prompt, yielding to the loop first so concurrent turns would interleave."""

    def __init__(self) -> None:
        super().__init__(respond=lambda r: ModelTurn(f"answer:{r.prompt}"))

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        await asyncio.sleep(0.01)
        async for part in super().stream_turn(request):
            yield part


async def test_concurrent_turns_on_one_thread_lose_no_conversation_memory() -> None:
    model = YieldingModel()
    runtime = runtime_of(coordinator(["w"]), specialist("w"), interpreter=model)
    await asyncio.gather(*(collect_events(runtime.query(f"q{i}", thread_id="t")) for i in range(5)))
    await collect_events(runtime.query("last", thread_id="t"))
    history = model.requests[-1].history
    assert len(history) == 10
    assert sorted(m.content for m in history if m.role == "user") == ["q0", "q1", "q2", "q3", "q4"]
    # each turn saw exactly the turns that finished before it: 0, 2, 4, 6, 8 messages
    assert sorted(len(r.history) for r in model.requests[:5]) == [0, 2, 4, 6, 8]
