"""LangGraph: the documented tool-calling agent graph, with a plain node simulating the model.

``StateGraph(MessagesState)``: a ``model`` node (the scripted model, returning an
``AIMessage`` with tool calls or the answer), the prebuilt ``ToolNode`` and
``tools_condition`` routing between them; streamed with ``astream(stream_mode="updates")``.
"""

from __future__ import annotations

import asyncio
import time
from importlib.metadata import version as dist_version
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from ._common import ANSWER, SYSTEM_PROMPT, USER_PROMPT, RunFn, lookup_price, main, next_call

NAME = "langgraph"
IMPORT = (
    "from langgraph.graph import START, MessagesState, StateGraph; "
    "from langgraph.prebuilt import ToolNode, tools_condition"
)


def version() -> str:
    return dist_version("langgraph")


@tool
async def lookup(sku: str) -> dict[str, Any]:
    """Look up the price of a SKU."""
    return await lookup_price(sku)


def build(calls: int, latency: float) -> RunFn:
    async def model(state: MessagesState) -> dict[str, Any]:
        if latency:
            await asyncio.sleep(latency)
        done = sum(1 for message in state["messages"] if isinstance(message, ToolMessage))
        args = next_call(done, calls)
        if args is None:
            return {"messages": [AIMessage(content=ANSWER)]}
        call = {"name": "lookup", "args": args, "id": f"call-{done}", "type": "tool_call"}
        return {"messages": [AIMessage(content="", tool_calls=[call])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", model)
    graph.add_node("tools", ToolNode([lookup]))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    app = graph.compile()
    # Each step is two supersteps (model, tools); the default recursion limit may be lower.
    config = {"recursion_limit": 2 * calls + 10}
    inputs = {"messages": [("system", SYSTEM_PROMPT), ("user", USER_PROMPT)]}

    async def run(session: int, first: list[float] | None) -> str:
        answer = ""
        async for update in app.astream(inputs, config, stream_mode="updates"):
            if first is not None and not first:
                first.append(time.perf_counter())
            step = update.get("model")
            if step is not None:
                answer = str(step["messages"][-1].content)
        return answer

    return run


if __name__ == "__main__":
    import sys

    main(sys.modules[__name__])  # type: ignore[arg-type]
