"""Serve an MCP server over Streamable HTTP (stateless, JSON responses) with uvicorn.

Request checks, outermost first (one middleware, :class:`RequestGuard`):

1. ``Host`` must name the server (421 otherwise), see
   :class:`~flowai_harness._mcp_serving.exposure.HostPolicy`: on a loopback bind, loopback names and
   the bind host; on a network bind, the bound address, the bind host name and the
   ``allowed_hosts`` (loopback names are refused there, even on a wildcard bind when the
   connection did not arrive on a loopback interface). Always on.
2. With a bearer token configured, ``Authorization: Bearer <token>`` must match (401
   otherwise, compared in constant time). A bind reachable from the network refuses to start
   without a token.
3. ``Origin``: on by default; a request without ``Origin`` (a non-browser client) passes, one
   with an ``Origin`` passes only when it is in the allow-list (403 otherwise).
   ``require_origin=False`` turns it off.

The SDK's own body limit (4 MiB) and ``Content-Type`` check for POST stay in place.

The socket is bound before uvicorn starts, so a bind failure is reported as a ``RuntimeError``
naming the address, and port ``0`` resolves to the real port in the printed URL.

This module imports the MCP SDK, Starlette and uvicorn at import time; load it lazily.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from flowai_harness._mcp_serving.exposure import (
    HostPolicy,
    bearer_token_matches,
    origin_allowed,
    require_token_for_network,
    resolve_bind_host,
)
from flowai_harness._mcp_serving.serve_options import HttpOptions
from flowai_harness.errors import RunError, SpecValueError

__all__ = ["HttpEndpoint", "RequestGuard", "mcp_http_app", "running_http_server", "serve_http"]

_TOKEN_REMEDY = "bearer_token= (CLI: --token or FLOWAI_MCP_TOKEN)"

_GRACEFUL_SHUTDOWN_SECS = 5.0


@dataclass(frozen=True, slots=True)
class HttpEndpoint:
    """A running server: its URL and the task that serves it."""

    url: str
    task: asyncio.Task[None]


async def serve_http(server: Server[Any], options: HttpOptions, *, agent: str) -> None:
    """Serve ``server`` until uvicorn stops (SIGINT/SIGTERM) or the caller is cancelled.

    Prints ``... listening on <url>`` to stderr once the socket is bound.

    Raises:
        SpecValueError: the host does not resolve to a bind address.
        RunError: the address cannot be bound, or the server failed.
    """
    async with running_http_server(server, options) as endpoint:
        print(
            f"flowai-harness MCP server for agent '{agent}' listening on {endpoint.url}",
            file=sys.stderr,
            flush=True,
        )
        await asyncio.shield(endpoint.task)


@asynccontextmanager
async def running_http_server(
    server: Server[Any], options: HttpOptions
) -> AsyncIterator[HttpEndpoint]:
    """Bind, start serving, and yield the endpoint; stop gracefully on exit.

    Raises:
        SpecValueError: the host does not resolve to a bind address.
        ConfigurationError: the address is reachable from the network and no token is set.
        RunError: the address cannot be bound, or the server failed to start.
    """
    sock = await _bind(options)
    try:
        address = sock.getsockname()
        bound_ip, port = str(address[0]), int(address[1])
        url = f"http://{_bracketed(bound_ip)}:{port}{options.path}"
        app = mcp_http_app(server, options, bound_address=bound_ip)
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=int(_GRACEFUL_SHUTDOWN_SECS),
        )
        runner = uvicorn.Server(config)
        task = asyncio.get_running_loop().create_task(runner.serve(sockets=[sock]))
        try:
            await _wait_started(runner, task, url)
            yield HttpEndpoint(url, task)
        finally:
            runner.should_exit = True
            if not task.done():
                await asyncio.shield(task)
    finally:
        sock.close()


async def _wait_started(runner: uvicorn.Server, task: asyncio.Task[None], url: str) -> None:
    while not runner.started:
        if task.done():
            exc = task.exception()
            raise RunError(f"the MCP HTTP server at {url} failed to start: {exc!r}")
        await asyncio.sleep(0.01)


async def _bind(options: HttpOptions) -> socket.socket:
    where = f"{options.host}:{options.port}{options.path}"
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            options.host, options.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise SpecValueError(
            f"invalid MCP bind address {options.host!r}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    family, kind, proto, _name, address = infos[0]
    target = resolve_bind_host(options.host, bound_address=str(address[0]))
    require_token_for_network(
        target, options.bearer_token, server="MCP tools", remedy=_TOKEN_REMEDY
    )
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise RunError(
            f"cannot bind the MCP HTTP server to {where}: {exc.strerror or exc}"
        ) from None
    return sock


def mcp_http_app(server: Server[Any], options: HttpOptions, *, bound_address: str) -> ASGIApp:
    """The ASGI app serving ``server`` for a socket bound to ``bound_address``.

    Raises:
        ConfigurationError: ``bound_address`` is reachable from the network and ``options``
            has no bearer token.
    """
    target = resolve_bind_host(options.host, bound_address=bound_address)
    require_token_for_network(
        target, options.bearer_token, server="MCP tools", remedy=_TOKEN_REMEDY
    )
    app = server.streamable_http_app(
        streamable_http_path=options.path,
        json_response=True,
        stateless_http=True,
        # Host and Origin are checked by RequestGuard, which knows the bind address.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        host=bound_address,
    )
    return RequestGuard(
        app,
        hosts=HostPolicy.for_bind(target, options.allowed_hosts),
        bearer_token=options.bearer_token,
        allowed_origins=options.allowed_origins if options.require_origin else None,
    )


class RequestGuard:
    """ASGI middleware: the ``Host`` check, the bearer token and the ``Origin`` check.

    Args:
        app: The app to protect.
        hosts: The accepted ``Host`` values.
        bearer_token: The token every request must carry, or ``None``.
        allowed_origins: Browser origins accepted when a request has an ``Origin``; ``None``
            turns the ``Origin`` check off.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: HostPolicy,
        bearer_token: str | None,
        allowed_origins: Iterable[str] | None,
    ) -> None:
        self._app = app
        self._hosts = hosts
        self._token = bearer_token
        self._origins = None if allowed_origins is None else tuple(allowed_origins)

    def __repr__(self) -> str:
        return f"RequestGuard(hosts={self._hosts!r}, token={'set' if self._token else 'none'})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        server = scope.get("server")
        local = str(server[0]) if server else None
        refusal: Response | None = None
        if not self._hosts.allows(headers.get("host"), local):
            refusal = Response("Invalid Host header", status_code=421)
        elif self._token is not None and not bearer_token_matches(
            headers.get("authorization"), self._token
        ):
            refusal = Response(
                "Unauthorized: send 'Authorization: Bearer <token>'",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="flowai-harness-mcp"'},
            )
        elif (
            self._origins is not None
            and "origin" in headers
            and not origin_allowed(headers["origin"], self._origins)
        ):
            refusal = Response("Invalid Origin header", status_code=403)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self._app(scope, receive, send)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
