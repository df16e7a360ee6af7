"""Serve an agent's tools to MCP clients over stdio or Streamable HTTP.

Built on the official MCP Python SDK, which loads on the first serve call (importing this
module stays cheap). The functions delegate to the ``Runtime`` methods of the same purpose,
whose machinery lives in the internal :mod:`flowai_harness._mcp_serving`::

    from flowai_harness.mcp import create_mcp_runtime, serve_stdio

    runtime = create_mcp_runtime(tools=[lookup_price])
    asyncio.run(serve_stdio(runtime, agent="mcp"))

or from a shell: ``flowai-harness mcp python my_app:runtime --agent pricing``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from flowai_harness.mcp.runtime_factory import create_mcp_runtime

__all__ = ["create_mcp_runtime", "list_tools", "serve_http", "serve_stdio"]


class _McpRuntime(Protocol):
    def list_mcp_tools(
        self, agent: str, *, expose_agent_tools: bool = ...
    ) -> list[dict[str, Any]]: ...

    async def serve_mcp_stdio(
        self,
        agent: str,
        *,
        thread_id: str | None = ...,
        call_timeout_secs: float = ...,
        expose_agent_tools: bool = ...,
    ) -> None: ...

    async def serve_mcp_http(
        self,
        agent: str,
        *,
        host: str = ...,
        port: int = ...,
        path: str = ...,
        transport: str = ...,
        thread_id: str | None = ...,
        call_timeout_secs: float = ...,
        expose_agent_tools: bool = ...,
        allowed_origins: Iterable[str] | None = ...,
        require_origin: bool = ...,
        bearer_token: str | None = ...,
        allowed_hosts: Iterable[str] | None = ...,
    ) -> None: ...


def list_tools(
    runtime: _McpRuntime, *, agent: str, expose_agent_tools: bool = False
) -> list[dict[str, Any]]:
    """Return the MCP descriptors ``{"name", "description", "inputSchema"}`` of ``agent``'s tools.

    Delegates to ``runtime.list_mcp_tools``.

    Raises:
        ValueError: unknown agent, routing tools with ``expose_agent_tools=True``, or a tool
            whose input schema is not an object.
    """
    return runtime.list_mcp_tools(agent, expose_agent_tools=expose_agent_tools)


async def serve_stdio(
    runtime: _McpRuntime,
    *,
    agent: str,
    thread_id: str | None = None,
    call_timeout_secs: float = 30.0,
    expose_agent_tools: bool = False,
) -> None:
    """Serve ``agent``'s tools on stdin/stdout until the client disconnects.

    Delegates to ``runtime.serve_mcp_stdio``.

    Raises:
        ValueError: unknown agent or a non-positive / non-finite timeout.
        MissingDependencyError: the ``mcp`` extra is not installed.
        RuntimeError: the transport failed.
    """
    await runtime.serve_mcp_stdio(
        agent,
        thread_id=thread_id,
        call_timeout_secs=call_timeout_secs,
        expose_agent_tools=expose_agent_tools,
    )


async def serve_http(
    runtime: _McpRuntime,
    *,
    agent: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    path: str = "/mcp",
    transport: str = "streamable-http",
    thread_id: str | None = None,
    call_timeout_secs: float = 30.0,
    expose_agent_tools: bool = False,
    allowed_origins: Iterable[str] | None = None,
    require_origin: bool = True,
    bearer_token: str | None = None,
    allowed_hosts: Iterable[str] | None = None,
) -> None:
    """Serve ``agent``'s tools over Streamable HTTP until stopped.

    Delegates to ``runtime.serve_mcp_http`` with every argument (defaults included); see that
    method for their meaning. ``bearer_token`` and ``allowed_hosts`` are additions of
    flowai-harness, forwarded only when given, so runtimes without them keep working. A bind
    address reachable from the network needs ``bearer_token``.

    Raises:
        ValueError: another transport, a bad bind address, path, port, origin, host or
            timeout, an unknown agent, or a network bind without a token.
        MissingDependencyError: the ``mcp`` extra is not installed.
        RuntimeError: the address cannot be bound, or the server failed.
    """
    extensions: dict[str, Any] = {}
    if bearer_token is not None:
        extensions["bearer_token"] = bearer_token
    if allowed_hosts is not None:
        extensions["allowed_hosts"] = allowed_hosts
    await runtime.serve_mcp_http(
        agent,
        host=host,
        port=port,
        path=path,
        transport=transport,
        thread_id=thread_id,
        call_timeout_secs=call_timeout_secs,
        expose_agent_tools=expose_agent_tools,
        allowed_origins=allowed_origins,
        require_origin=require_origin,
        **extensions,
    )
