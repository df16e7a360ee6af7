"""Serve an MCP server over Streamable HTTP (stateless, JSON responses) with uvicorn.

Request checks, outermost first:

1. ``Host`` must name the server: ``localhost``, ``127.0.0.1``, ``::1``, the bind host or the
   bound address (421 otherwise). Always on.
2. With a bearer token configured, ``Authorization: Bearer <token>`` must match (401
   otherwise, compared in constant time). Ours: the SDK's auth stack is OAuth-shaped.
3. ``Origin`` (DNS-rebinding protection, the SDK's transport security): on by default; a
   request without ``Origin`` (a non-browser client) passes, one with an ``Origin`` passes only
   when it is in the allow-list (403 otherwise). ``require_origin=False`` turns it off.

The socket is bound before uvicorn starts, so a bind failure is reported as a ``RuntimeError``
naming the address, and port ``0`` resolves to the real port in the printed URL.

This module imports the MCP SDK, Starlette and uvicorn at import time; load it lazily.
"""

from __future__ import annotations

import asyncio
import hmac
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

from flowai_harness.errors import RunError, SpecValueError
from flowai_harness.mcp.serve_options import HttpOptions

__all__ = ["LOOPBACK_HOSTS", "HttpEndpoint", "running_http_server", "serve_http"]

#: Host names a loopback client may use whatever the bind address.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

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
        RunError: the address cannot be bound, or the server failed to start.
    """
    sock = await _bind(options)
    try:
        address = sock.getsockname()
        bound_ip, port = str(address[0]), int(address[1])
        url = f"http://{_bracketed(bound_ip)}:{port}{options.path}"
        hosts = _allowed_hosts((*LOOPBACK_HOSTS, options.host, bound_ip))
        app = _build_app(server, options, hosts=hosts, bound_ip=bound_ip)
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


def _build_app(
    server: Server[Any], options: HttpOptions, *, hosts: frozenset[str], bound_ip: str
) -> ASGIApp:
    if options.require_origin:
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[pattern for host in sorted(hosts) for pattern in _host_patterns(host)],
            allowed_origins=list(options.allowed_origins),
        )
    else:
        security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app = server.streamable_http_app(
        streamable_http_path=options.path,
        json_response=True,
        stateless_http=True,
        transport_security=security,
        host=bound_ip,
    )
    return RequestGuard(app, hosts=hosts, bearer_token=options.bearer_token)


class RequestGuard:
    """ASGI middleware: refuse foreign ``Host`` headers and, when set, a missing bearer token."""

    def __init__(self, app: ASGIApp, *, hosts: Iterable[str], bearer_token: str | None) -> None:
        self._app = app
        self._hosts = frozenset(hosts)
        self._expected = f"Bearer {bearer_token}".encode() if bearer_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if _host_name(headers.get("host")) not in self._hosts:
            await Response("Invalid Host header", status_code=421)(scope, receive, send)
            return
        if self._expected is not None:
            given = headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, self._expected):
                response = Response(
                    "Unauthorized: send 'Authorization: Bearer <token>'",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="flowai-harness-mcp"'},
                )
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


def _host_name(header: str | None) -> str | None:
    """The host part of a ``Host`` header (IPv6 brackets and port removed), lowercased."""
    if not header:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else None
    name, _sep, _port = value.partition(":")
    return name or None


def _allowed_hosts(hosts: Iterable[str]) -> frozenset[str]:
    return frozenset(host.strip().lower().strip("[]") for host in hosts if host.strip())


def _host_patterns(host: str) -> tuple[str, str]:
    shown = _bracketed(host)
    return shown, f"{shown}:*"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
