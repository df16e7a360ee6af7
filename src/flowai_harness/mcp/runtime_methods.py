"""The MCP methods of the public ``Runtime``: list an agent's tools, serve them over MCP.

Mixed into :class:`flowai_harness.handle.Runtime`. Importing this module stays cheap: the MCP
SDK, Starlette and uvicorn load on the first serve call, and a missing SDK raises
:class:`~flowai_harness.errors.MissingDependencyError` naming the extra to install.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from flowai_harness.engine.direct_tools import DirectTools
from flowai_harness.engine.core import EngineCore
from flowai_harness.errors import MissingDependencyError, SpecTypeError
from flowai_harness.mcp.serve_options import (
    DEFAULT_CALL_TIMEOUT_SECS,
    DEFAULT_HOST,
    DEFAULT_PATH,
    DEFAULT_PORT,
    HTTP_TRANSPORT,
    check_call_timeout,
    check_http_options,
)

__all__ = ["McpMethods"]

_INSTALL_HINT = "pip install 'flowai-harness[mcp]'"


class McpMethods:
    """``list_mcp_tools``, ``serve_mcp_stdio`` and ``serve_mcp_http`` (mixin of ``Runtime``).

    MCP clients see one agent's composed tools (role defaults, toolkits, bound Python tools)
    with their input schemas. Calls go through the agent's validation and approval policy;
    runtime events of MCP calls are discarded, so a call that needs a human approval fails at
    once with a tool error. Sub-agent routing (``call_agent``) is not served.
    """

    __slots__ = ()

    def list_mcp_tools(
        self, agent: str, *, expose_agent_tools: bool = False
    ) -> list[dict[str, Any]]:
        """Return the MCP descriptors of ``agent``'s tools, exactly as MCP clients see them.

        Args:
            agent: The agent whose tools are listed.
            expose_agent_tools: Reserved; ``False`` leaves ``call_agent`` out, ``True`` is
                refused for an agent that has it.

        Returns:
            ``[{"name", "description", "inputSchema"}, ...]`` in the agent's tool order.

        Raises:
            ValueError: unknown agent ("agent 'x' not found in runtime"), routing tools with
                ``expose_agent_tools=True``, or a tool whose input schema is not an object.
        """
        tools = self._mcp_tools(agent, expose_agent_tools=expose_agent_tools, thread_id=None)
        return [
            {
                "name": d.name,
                "description": d.description,
                "inputSchema": copy.deepcopy(dict(d.input_schema)),
            }
            for d in tools.definitions
        ]

    async def serve_mcp_stdio(
        self,
        agent: str,
        *,
        thread_id: str | None = None,
        call_timeout_secs: float = DEFAULT_CALL_TIMEOUT_SECS,
        expose_agent_tools: bool = False,
    ) -> None:
        """Serve ``agent``'s tools over MCP on stdin/stdout until the client disconnects.

        Args:
            agent: The agent whose tools are served.
            thread_id: The thread every call runs on (``mcp-<uuid4>`` when ``None``).
            call_timeout_secs: Per-call time limit (positive, finite); a call running longer
                fails with an MCP internal error naming the tool.
            expose_agent_tools: See :meth:`list_mcp_tools`.

        Raises:
            ValueError: as :meth:`list_mcp_tools`, or a non-positive / non-finite timeout.
            MissingDependencyError: the ``mcp`` extra is not installed.
            RuntimeError: the stdio transport failed.
        """
        timeout = check_call_timeout(call_timeout_secs)
        tools = self._mcp_tools(agent, expose_agent_tools=expose_agent_tools, thread_id=thread_id)
        _require_sdk()
        from flowai_harness.mcp.server import build_server
        from flowai_harness.mcp.stdio import serve_stdio

        server = build_server(
            tools, tenant=self._mcp_engine().resource_id, call_timeout_secs=timeout
        )
        await serve_stdio(server)

    async def serve_mcp_http(
        self,
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
        """Serve ``agent``'s tools over MCP Streamable HTTP until stopped.

        The server is stateless and answers with JSON. It prints ``... listening on <url>``
        to stderr once bound (port ``0`` picks a free port; the URL shows the real one).

        Args:
            agent: The agent whose tools are served.
            host: Bind address.
            port: TCP port (``0`` = any free port).
            path: Endpoint path, starting with ``/``.
            transport: Only ``"streamable-http"``.
            thread_id: The thread every call runs on (``mcp-<uuid4>`` when ``None``).
            call_timeout_secs: Per-call time limit (positive, finite).
            expose_agent_tools: See :meth:`list_mcp_tools`.
            allowed_origins: Browser origins allowed when the ``Origin`` check is on (exact
                values such as ``http://localhost:3000``, or ``http://localhost:*``). Requests
                without an ``Origin`` header (non-browser clients) are always accepted.
            require_origin: Check ``Origin`` (DNS-rebinding protection); ``False`` turns the
                check off. The ``Host`` header is always checked.
            bearer_token: When set, every request needs ``Authorization: Bearer <token>``
                (the CLI reads it from ``--token`` or ``FLOWAI_MCP_TOKEN``). Required when
                ``host`` is reachable from the network (not a loopback address).
            allowed_hosts: ``Host`` header names accepted besides the bind address (the
                ``Host`` header is always checked; loopback names only count on a loopback
                or wildcard bind, for connections arriving on loopback). On a wildcard bind
                without them, any name is accepted and the token is the guard.

        Raises:
            ValueError: another transport, a bad bind address, path, port, origin, host or
                timeout, a network bind without ``bearer_token`` (``ConfigurationError``), or
                an agent problem as in :meth:`list_mcp_tools`.
            MissingDependencyError: the ``mcp`` extra is not installed.
            RuntimeError: the address cannot be bound (the message names host:port/path) or
                the server failed.
        """
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
        tools = self._mcp_tools(agent, expose_agent_tools=expose_agent_tools, thread_id=thread_id)
        _require_sdk()
        from flowai_harness.mcp.http import serve_http
        from flowai_harness.mcp.server import build_server

        server = build_server(
            tools, tenant=self._mcp_engine().resource_id, call_timeout_secs=timeout
        )
        await serve_http(server, options, agent=tools.agent)

    def _mcp_tools(
        self, agent: str, *, expose_agent_tools: bool, thread_id: str | None
    ) -> DirectTools:
        if not isinstance(expose_agent_tools, bool):
            raise SpecTypeError(
                f"expose_agent_tools must be a bool; got {type(expose_agent_tools).__name__}"
            )
        return DirectTools(
            self._mcp_engine(), agent, expose_agent_tools=expose_agent_tools, thread_id=thread_id
        )

    def _mcp_engine(self) -> EngineCore:
        if not isinstance(self, EngineCore):
            raise TypeError("McpMethods must be mixed into the engine Runtime")
        return self


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
