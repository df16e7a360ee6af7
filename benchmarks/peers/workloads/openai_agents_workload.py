"""OpenAI Agents SDK: an ``Agent`` on a custom ``Model``, streamed with ``Runner.run_streamed``.

The model streams what the Responses API would end with: one ``response.completed`` event
carrying the function call or the message, as the SDK's own test model does. Tracing is
disabled (its default exporter would send spans to the network).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from importlib.metadata import version as dist_version
from typing import Any

from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.items import ModelResponse, TResponseStreamEvent
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from ._common import ANSWER, SYSTEM_PROMPT, USER_PROMPT, RunFn, lookup_price, main, next_call

NAME = "openai-agents"
IMPORT = "from agents import Agent, Runner, function_tool"

_ids = itertools.count()


def version() -> str:
    return dist_version("openai-agents")


class ScriptModel(Model):
    """Plays the script from the function call outputs already in the input."""

    def __init__(self, calls: int, latency: float) -> None:
        self.calls = calls
        self.latency = latency

    async def _response(self, input: str | list[Any]) -> Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        items = [] if isinstance(input, str) else input
        done = sum(1 for item in items if _item_type(item) == "function_call_output")
        args = next_call(done, self.calls)
        output: list[Any]
        if args is None:
            output = [
                ResponseOutputMessage(
                    id=f"msg-{next(_ids)}",
                    type="message",
                    role="assistant",
                    status="completed",
                    content=[ResponseOutputText(type="output_text", text=ANSWER, annotations=[])],
                )
            ]
        else:
            output = [
                ResponseFunctionToolCall(
                    type="function_call",
                    call_id=f"call-{done}",
                    name="lookup",
                    arguments=json.dumps(args),
                )
            ]
        return Response(
            id=f"resp-{next(_ids)}",
            created_at=0,
            model="script",
            object="response",
            output=output,
            parallel_tool_calls=False,
            tool_choice="auto",
            tools=[],
        )

    async def get_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        response = await self._response(input)
        return ModelResponse(output=response.output, usage=Usage(), response_id=response.id)

    async def stream_response(  # type: ignore[override]
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> AsyncIterator[TResponseStreamEvent]:
        response = await self._response(input)
        yield ResponseCompletedEvent(
            type="response.completed", response=response, sequence_number=0
        )


def _item_type(item: Any) -> Any:
    return item.get("type") if isinstance(item, dict) else getattr(item, "type", None)


def build(calls: int, latency: float) -> RunFn:
    set_tracing_disabled(True)

    @function_tool
    async def lookup(sku: str) -> dict[str, Any]:
        """Look up the price of a SKU."""
        return await lookup_price(sku)

    agent = Agent(
        name="pricing",
        instructions=SYSTEM_PROMPT,
        tools=[lookup],
        model=ScriptModel(calls, latency),
    )

    async def run(session: int, first: list[float] | None) -> str:
        result = Runner.run_streamed(agent, USER_PROMPT, max_turns=calls + 1)
        async for _event in result.stream_events():
            if first is not None and not first:
                first.append(time.perf_counter())
        return str(result.final_output)

    return run


if __name__ == "__main__":
    import sys

    main(sys.modules[__name__])  # type: ignore[arg-type]
