"""Serve an MCP server over the process's stdin and stdout (for local clients).

While serving, the SDK points file descriptors 0 and 1 away from the wire (stdin at the null
device, stdout at stderr), so a ``print`` in a tool cannot corrupt the protocol stream.

This module imports the MCP SDK at import time; load it lazily.
"""

from __future__ import annotations

from typing import Any

from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from flowai_harness.errors import RunError

__all__ = ["serve_stdio"]


async def serve_stdio(server: Server[Any]) -> None:
    """Serve ``server`` on stdin/stdout until the client closes stdin.

    Raises:
        RunError: the transport failed (for example another stdio server already owns stdin).
    """
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    except Exception as exc:
        raise RunError(f"MCP stdio server failed: {type(exc).__name__}: {exc}") from exc
