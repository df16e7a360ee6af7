"""PydanticAI: an ``Agent`` on its ``FunctionModel`` test model, streamed with ``run_stream_events``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from importlib.metadata import version as dist_version
from typing import Any

from pydantic_ai import Agent, AgentRunResultEvent
from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

from ._common import ANSWER, SYSTEM_PROMPT, USER_PROMPT, RunFn, lookup_price, main, next_call

NAME = "pydantic-ai"
IMPORT = "from pydantic_ai import Agent"


def version() -> str:
    return dist_version("pydantic-ai-slim")


def build(calls: int, latency: float) -> RunFn:
    async def script(
        messages: list[ModelMessage], info: AgentInfo
    ) -> AsyncIterator[str | DeltaToolCalls]:
        if latency:
            await asyncio.sleep(latency)
        done = sum(
            1
            for message in messages
            if isinstance(message, ModelRequest)
            for part in message.parts
            if isinstance(part, ToolReturnPart)
        )
        args = next_call(done, calls)
        if args is None:
            yield ANSWER
        else:
            yield {0: DeltaToolCall("lookup", json.dumps(args), tool_call_id=f"call-{done}")}

    agent = Agent(FunctionModel(stream_function=script), instructions=SYSTEM_PROMPT)

    @agent.tool_plain
    async def lookup(sku: str) -> dict[str, Any]:
        """Look up the price of a SKU."""
        return await lookup_price(sku)

    async def run(session: int, first: list[float] | None) -> str:
        output = ""
        async with agent.run_stream_events(USER_PROMPT) as events:
            async for event in events:
                if first is not None and not first:
                    first.append(time.perf_counter())
                if isinstance(event, AgentRunResultEvent):
                    output = str(event.result.output)
        return output

    return run


if __name__ == "__main__":
    import sys

    main(sys.modules[__name__])  # type: ignore[arg-type]
