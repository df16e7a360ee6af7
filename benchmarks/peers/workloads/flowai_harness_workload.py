"""flowai-harness: one specialist, the model a ``ModelClient`` playing the script.

The model is a plain ``ModelClient`` (the port every interpreter implements) rather than
``flowai_harness.testing.ScriptedModel``, which deep-copies every request for later inspection:
that bookkeeping is test tooling, not framework cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from importlib.metadata import version as dist_version
from typing import Any

from flowai_harness import (
    create_runtime,
    define_runtime,
    define_specialist,
    define_tenant,
    define_tool,
)
from flowai_harness.ports import ModelFinish, ModelPart, ModelRequest, ModelText, ModelToolCall

from ._common import ANSWER, SYSTEM_PROMPT, USER_PROMPT, RunFn, lookup_price, main, next_call

NAME = "flowai-harness"
IMPORT = (
    "from flowai_harness import create_runtime, define_runtime, define_specialist, "
    "define_tenant, define_tool"
)


def version() -> str:
    return dist_version("flowai-harness")


class BenchModel:
    """Answers from the tool calls already made in this invocation."""

    live = False

    def __init__(self, calls: int, latency: float) -> None:
        self.calls = calls
        self.latency = latency

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        if self.latency:
            await asyncio.sleep(self.latency)
        done = sum(len(turn) for turn in request.turns)
        args = next_call(done, self.calls)
        if args is None:
            yield ModelText(ANSWER)
            yield ModelFinish("stop")
        else:
            yield ModelToolCall(f"call-{done}", "lookup", args)
            yield ModelFinish("tool-calls")


@define_tool("lookup", {"sku": str}, description="Look up the price of a SKU.")
async def lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return await lookup_price(args["sku"])


def build(calls: int, latency: float) -> RunFn:
    agent = define_specialist(
        "pricing",
        model="claude-haiku-4-5",
        prompt=SYSTEM_PROMPT,
        tools=[lookup],
        max_turns=calls + 1,
    )
    spec = define_runtime(define_tenant("bench", "v1"), agents=[agent])
    runtime = create_runtime(spec, interpreter=BenchModel(calls, latency))

    async def run(session: int, first: list[float] | None) -> str:
        text = ""
        async for event in runtime.run_specialist("pricing", USER_PROMPT, thread_id=f"t-{session}"):
            if first is not None and not first:
                first.append(time.perf_counter())
            if event["type"] == "text":
                text += event["text"]
        return text

    return run


if __name__ == "__main__":
    import sys

    main(sys.modules[__name__])  # type: ignore[arg-type]
