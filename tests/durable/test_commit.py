"""Committed before seen: a durable run's consumer only ever gets events already in the store.

Events wait in the run's sink until the checkpoint that logs them commits; a flush window
commits them anyway once the oldest has waited ``durability.flush_window_ms``, so a long model
turn still streams. An in-memory run shows each event at once.
"""

from __future__ import annotations

import asyncio
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

DELTAS = 6
GAP = 0.08


class SlowText:
    """One turn calling ``lookup`` (with ``tools``), then a turn of slow text deltas."""

    live = False

    def __init__(self, tools: bool = False) -> None:
        self.tools = tools
        self.last_delta_at = 0.0

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[Any]:
        if self.tools and request.turn == 1:
            yield ModelToolCall("c1", "lookup", {"sku": "A-1"})
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
    tool = define_tool("lookup", {"sku": str})(lookup)
    agent = define_specialist("s", model="claude-haiku-4-5", prompt="p", tools=[tool])
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
