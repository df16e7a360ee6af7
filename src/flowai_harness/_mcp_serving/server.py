"""The MCP server of one agent, built on the official SDK's low-level ``Server``.

The server offers the tools capability only: ``tools/list`` returns the agent's exposed tools
with their input schemas verbatim, and ``tools/call`` runs one tool through the engine
(:class:`~flowai_harness.engine.direct_tools.DirectTools`), so validation and approval policy
are the same as in a model-driven run.

Results map to MCP content as the reference does: a string becomes one text item; any
other JSON becomes a text item holding its compact JSON plus ``structuredContent``; an error
result sets ``isError``. Protocol versions before 2026-07-28 only allow a JSON *object* as
``structuredContent``, so on those connections arrays, numbers, booleans and ``null`` travel as
text only.

This module imports the MCP SDK at import time; load it lazily (see
:mod:`flowai_harness._mcp_serving.runtime_methods`).
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from flowai_harness._version import installed_version
from flowai_harness.engine.direct_tools import DirectTools
from flowai_harness.engine.jsonvalues import compact_json
from flowai_harness.ports import ToolOutcome

__all__ = ["build_server", "server_name", "tool_result"]


def server_name(agent: str) -> str:
    """The MCP server name of an agent: ``flowai-runtime:<agent>``."""
    return f"flowai-runtime:{agent}"


def tool_result(
    outcome: ToolOutcome, *, protocol_version: str | None = None
) -> types.CallToolResult:
    """Map an engine tool outcome to an MCP ``CallToolResult``.

    Args:
        outcome: The outcome of the call.
        protocol_version: The negotiated MCP protocol version; before 2026-07-28 only a JSON
            object may be sent as ``structuredContent``.
    """
    content = outcome.content
    if isinstance(content, str):
        return types.CallToolResult(
            content=[types.TextContent(text=content)], is_error=outcome.is_error
        )
    structured_allowed = isinstance(content, dict) or (
        content is not None and protocol_version in MODERN_PROTOCOL_VERSIONS
    )
    return types.CallToolResult(
        content=[types.TextContent(text=compact_json(content))],
        structured_content=content if structured_allowed else None,
        is_error=outcome.is_error,
    )


def build_server(tools: DirectTools, *, tenant: str, call_timeout_secs: float) -> Server[Any]:
    """Build the SDK server that serves ``tools``.

    Args:
        tools: The agent's exposed tools.
        tenant: The runtime tenant (mentioned in the instructions).
        call_timeout_secs: How long one tool call may run before it fails with an internal
            error naming the tool.

    Returns:
        A low-level SDK server named ``flowai-runtime:<agent>`` with the package version.
    """
    listing = types.ListToolsResult(
        tools=[
            types.Tool(
                name=d.name,
                description=d.description,
                input_schema=copy.deepcopy(dict(d.input_schema)),
            )
            for d in tools.definitions
        ]
    )

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return listing.model_copy(deep=True)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        name = params.name
        if name not in tools:
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {name}")
        arguments: dict[str, Any] = params.arguments if params.arguments is not None else {}
        try:
            async with asyncio.timeout(call_timeout_secs):
                outcome = await tools.call(name, arguments)
        except TimeoutError:
            raise MCPError(
                types.INTERNAL_ERROR,
                f"Tool `{name}` timed out after {call_timeout_secs:g}s",
            ) from None
        return tool_result(outcome, protocol_version=ctx.protocol_version)

    agent = tools.agent
    return Server(
        server_name(agent),
        version=installed_version(),
        instructions=(
            f"Tools of the flowai-harness agent '{agent}' (tenant '{tenant}'). Calls run with "
            f"the agent's argument validation and approval policy; a tool that needs a human "
            f"approval returns an error instead of waiting."
        ),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
