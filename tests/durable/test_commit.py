"""Committed before seen: a durable run's consumer only ever gets events already in the store.

Events wait in the run's sink until the checkpoint that logs them commits; a flush window
commits them anyway once the oldest has waited ``durability.flush_window_ms``, so a long model
turn still streams. An in-memory run shows each event at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

from flowai_harness import (
    create_runtime,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.handle import Runtime
from flowai_harness.ports import ModelFinish, ModelRequest, ModelText, ModelToolCall
from flowai_harness.storage.memory import MemoryKeyValueStore

DELTAS = 6
GAP = 0.08


class SlowText:
    """One turn calling ``lookup`` (with ``tools``), then a turn of slow text deltas."""

    live = False

    def __init__(self, tools: bool = False, tool: str = "lookup") -> None:
        self.tools = tools
        self.tool = tool
        self.last_delta_at = 0.0

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[Any]:
        if self.tools and request.turn == 1:
            yield ModelToolCall("c1", self.tool, {"sku": "A-1"})
            yield ModelFinish("tool-calls")
            return
        for index in range(DELTAS):
            yield ModelText(f"d{index} ")
            self.last_delta_at = time.monotonic()
            await asyncio.sleep(GAP)
        yield ModelFinish("stop")


async def lookup(args: dict[str, Any]) -> dict[str, Any]:
    return {"sku": args["sku"], "price": 4.5}


def runtime(model: SlowText, kv: dict[str, Any] | None, window_ms: float = 100) -> Runtime:
    tools = [
        define_tool("lookup", {"sku": str})(lookup),
        define_tool("refund", {"sku": str}, approval="always")(lookup),
    ]
    agent = define_specialist("s", model="claude-haiku-4-5", prompt="p", tools=tools)
    spec = define_runtime(define_tenant("acme", "v1"), agents=[agent])
    return create_runtime(
        spec,
        interpreter=model,
        data_environment=None if kv is None else {"kv": kv},
        durability={"flush_window_ms": window_ms},
    )


async def test_every_event_is_in_the_store_when_the_consumer_gets_it(
    durable_kv: dict[str, Any],
) -> None:
    rt = runtime(SlowText(tools=True), durable_kv)
    try:
        stream = rt.run_specialist("s", "go", "t-1")
        seen = 0
        async for event in stream:
            logged = await rt.run_events(str(stream.run_id), event["sequence"] - 1)
            assert logged[:1] == [event], f"event {event['sequence']} reached the consumer first"
            seen += 1
        assert seen == len(await rt.run_events(str(stream.run_id)))
    finally:
        await rt.aclose()


async def test_a_long_turn_streams_through_the_flush_window(durable_kv: dict[str, Any]) -> None:
    model = SlowText()
    rt = runtime(model, durable_kv, window_ms=30)
    try:
        texts: list[float] = []
        async for event in rt.run_specialist("s", "go", "t-1"):
            if event["type"] == "text":
                texts.append(time.monotonic())
        assert len(texts) == DELTAS
        # the first deltas arrived while the model was still producing the later ones
        assert texts[0] < model.last_delta_at
    finally:
        await rt.aclose()


async def test_without_a_window_events_wait_for_the_checkpoint(
    durable_kv: dict[str, Any],
) -> None:
    model = SlowText()
    rt = runtime(model, durable_kv, window_ms=60_000)
    try:
        texts: list[float] = []
        async for event in rt.run_specialist("s", "go", "t-1"):
            if event["type"] == "text":
                texts.append(time.monotonic())
        assert len(texts) == DELTAS
        assert texts[0] >= model.last_delta_at  # held until the end-of-turn checkpoint
    finally:
        await rt.aclose()


async def test_an_in_memory_run_shows_each_event_at_once() -> None:
    model = SlowText()
    rt = runtime(model, None, window_ms=60_000)
    try:
        texts: list[float] = []
        async for event in rt.run_specialist("s", "go", "t-1"):
            if event["type"] == "text":
                texts.append(time.monotonic())
        assert texts[0] < model.last_delta_at
    finally:
        await rt.aclose()


class _DownStore(MemoryKeyValueStore):
    """A store whose run writes always fail (it is down for the whole run)."""

    durable = True

    async def put(self, tenant: str, key: str, value: Any, ttl_ms: int | None = None) -> None:
        if key.startswith("run"):
            raise ConnectionError("store is down")
        await super().put(tenant, key, value, ttl_ms)

    async def write_batch(self, tenant: str, puts: Any, **options: Any) -> bool:
        if any(key.startswith("run") for key, _ in puts) or options.get("deletes"):
            raise ConnectionError("store is down")
        return await super().write_batch(tenant, puts, **options)


async def test_a_store_down_for_the_whole_run_does_not_stall_its_stream() -> None:
    # The consumer must see the approval request to answer it: held events would wait for
    # a store that never comes back. After three failed commits they are shown uncommitted.
    model = SlowText(tools=True, tool="refund")
    base = runtime(model, None, window_ms=10)
    compiled = dataclasses.replace(base._compiled, kv=_DownStore())
    rt = Runtime(compiled, durable_runs=True)

    async def consume() -> list[dict[str, Any]]:
        seen = []
        async for event in rt.run_specialist("s", "go", "t-1"):
            seen.append(event)
            if event["type"] == "approval-required":
                await rt.respond_to_approval(event["data"]["id"], "approve")
        return seen

    try:
        events = await asyncio.wait_for(consume(), 30)
        assert [e["type"] for e in events if e["type"] == "text"] == ["text"] * DELTAS
        assert any(e["type"] == "approval-required" for e in events)
    finally:
        await rt.aclose()
        await base.aclose()
