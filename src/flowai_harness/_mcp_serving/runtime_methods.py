"""MCP serving of one runtime: list an agent's tools, serve them over MCP.

Functions of the runtime; ``Runtime.list_mcp_tools``, ``Runtime.serve_mcp_stdio`` and
``Runtime.serve_mcp_http`` delegate to them. MCP clients see one agent's composed tools (role
defaults, toolkits, bound Python tools) with their input schemas. Calls go through the agent's
validation and approval policy; runtime events of MCP calls are discarded, so a call that needs
a human approval fails at once with a tool error. Sub-agent routing (``call_agent``) is not
served.

Importing this module stays cheap: the MCP SDK, Starlette and uvicorn load on the first serve
call, and a missing SDK raises :class:`~flowai_harness.errors.MissingDependencyError` naming
the extra to install.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from flowai_harness._mcp_serving.serve_options import (
    DEFAULT_CALL_TIMEOUT_SECS,
    DEFAULT_HOST,
    DEFAULT_PATH,
    DEFAULT_PORT,
    HTTP_TRANSPORT,
    check_call_timeout,
    check_http_options,
)
from flowai_harness.engine.core import EngineCore
from flowai_harness.engine.direct_tools import DirectTools
from flowai_harness.errors import MissingDependencyError, SpecTypeError

__all__ = ["list_mcp_tools", "serve_mcp_http", "serve_mcp_stdio"]

_INSTALL_HINT = "pip install 'flowai-harness[mcp]'"


def list_mcp_tools(
    runtime: EngineCore, agent: str, *, expose_agent_tools: bool = False
) -> list[dict[str, Any]]:
    """Return the MCP descriptors of ``agent``'s tools (``Runtime.list_mcp_tools``)."""
    tools = _mcp_tools(runtime, agent, expose_agent_tools=expose_agent_tools, thread_id=None)
    return [
        {
            "name": d.name,
            "description": d.description,
            "inputSchema": copy.deepcopy(dict(d.input_schema)),
        }
        for d in tools.definitions
    ]


async def serve_mcp_stdio(
    runtime: EngineCore,
    agent: str,
    *,
    thread_id: str | None = None,
    call_timeout_secs: float = DEFAULT_CALL_TIMEOUT_SECS,
    expose_agent_tools: bool = False,
) -> None:
    """Serve ``agent``'s tools of ``runtime`` on stdin/stdout (``Runtime.serve_mcp_stdio``)."""
    timeout = check_call_timeout(call_timeout_secs)
    tools = _mcp_tools(runtime, agent, expose_agent_tools=expose_agent_tools, thread_id=thread_id)
    _require_sdk()
    from flowai_harness._mcp_serving.server import build_server
    from flowai_harness._mcp_serving.stdio import serve_stdio

    server = build_server(tools, tenant=runtime.resource_id, call_timeout_secs=timeout)
    await serve_stdio(server)


async def serve_mcp_http(
    runtime: EngineCore,
    agent: str,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    path: str = DEFAULT_PATH,
    transport: str = HTTP_TRANSPORT,
    thread_id: str | None = None,
    call_timeout_secs: float = DEFAULT_CALL_TIMEOUT_SECS,
    expose_agent_tools: bool = False,
    allowed_origins: Iterable[str] | None = None,
    require_origin: bool = True,
    bearer_token: str | None = None,
    allowed_hosts: Iterable[str] | None = None,
) -> None:
    """Serve ``agent``'s tools of ``runtime`` over Streamable HTTP (``Runtime.serve_mcp_http``)."""
    options = check_http_options(
        host=host,
        port=port,
        path=path,
        transport=transport,
        allowed_origins=allowed_origins,
        require_origin=require_origin,
        bearer_token=bearer_token,
        allowed_hosts=allowed_hosts,
    )
    timeout = check_call_timeout(call_timeout_secs)
    tools = _mcp_tools(runtime, agent, expose_agent_tools=expose_agent_tools, thread_id=thread_id)
    _require_sdk()
    from flowai_harness._mcp_serving.http import serve_http
    from flowai_harness._mcp_serving.server import build_server

    server = build_server(tools, tenant=runtime.resource_id, call_timeout_secs=timeout)
    await serve_http(server, options, agent=tools.agent)


def _mcp_tools(
    runtime: EngineCore, agent: str, *, expose_agent_tools: bool, thread_id: str | None
) -> DirectTools:
    if not isinstance(expose_agent_tools, bool):
        raise SpecTypeError(
            f"expose_agent_tools must be a bool; got {type(expose_agent_tools).__name__}"
        )
    return DirectTools(runtime, agent, expose_agent_tools=expose_agent_tools, thread_id=thread_id)


def _require_sdk() -> None:
    """Fail with the install hint when the MCP SDK (2.x) or its web stack is missing."""
    try:
        import mcp.server.lowlevel  # noqa: F401
        import mcp_types  # noqa: F401
        import uvicorn  # noqa: F401
        from mcp.server.context import ServerRequestContext  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            f"MCP serving needs the official MCP SDK 2.x and its web stack "
            f"({type(exc).__name__}: {exc}); install it with: {_INSTALL_HINT}"
        ) from exc
