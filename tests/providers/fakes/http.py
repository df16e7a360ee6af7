"""A tiny HTTP/1.1 server on 127.0.0.1 for fake model APIs, with fault injection.

Each request is answered by the next queued :class:`Reply` (or by a ``respond`` callback):
a streamed body of server-sent events (chunked transfer encoding, one event per chunk, as the
real APIs send them), a plain status reply, a connection dropped before the first byte, one cut
after some events, or a server that never answers. Every request is recorded with its headers
and JSON body. Connections close after each reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The parsed JSON body."""
        return json.loads(self.body)


@dataclass(frozen=True)
class StreamReply:
    """200 with a text/event-stream body of ``events`` (raw SSE frames).

    ``cut_after`` aborts the connection after that many events (no terminating chunk);
    ``stall_after`` stops sending (but keeps the connection open) after that many events.
    """

    events: Sequence[bytes]
    cut_after: int | None = None
    stall_after: int | None = None
    delay_secs: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusReply:
    """A non-streamed reply: ``status`` with a JSON ``body``."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DropReply:
    """Read the request, then close the connection without a single byte."""


@dataclass(frozen=True)
class HangReply:
    """Read the request and never answer."""


Reply = StreamReply | StatusReply | DropReply | HangReply

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Overloaded",
}


class FakeHttpServer:
    """Serves queued replies on 127.0.0.1; use as ``async with FakeHttpServer() as server``."""

    def __init__(self, respond: Callable[[RecordedRequest], Reply] | None = None) -> None:
        self.respond = respond
        self.replies: list[Reply] = []
        self.requests: list[RecordedRequest] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._closing = asyncio.Event()
        self.port = 0

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        """How many client connections are open right now."""
        return len(self._writers)

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        self.replies.extend(replies)

    async def __aenter__(self) -> FakeHttpServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        await asyncio.sleep(0)

    def _next_reply(self, request: RecordedRequest) -> Reply:
        if self.replies:
            return self.replies.pop(0)
        if self.respond is not None:
            return self.respond(request)
        return StatusReply(500, {"error": {"type": "api_error", "message": "no reply queued"}})

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            request = await _read_request(reader)
            if request is None:
                return
            self.requests.append(request)
            await self._answer(self._next_reply(request), writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _answer(self, reply: Reply, writer: asyncio.StreamWriter) -> None:
        if isinstance(reply, DropReply):
            writer.transport.abort()
            return
        if isinstance(reply, HangReply):
            await self._closing.wait()
            return
        if isinstance(reply, StatusReply):
            body = json.dumps(reply.body).encode()
            headers = {
                "content-type": "application/json",
                "content-length": str(len(body)),
                **reply.headers,
            }
            writer.write(_head(reply.status, headers) + body)
            await writer.drain()
            return
        headers = {
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache",
            "transfer-encoding": "chunked",
            **reply.headers,
        }
        writer.write(_head(200, headers))
        await writer.drain()
        for index, event in enumerate(reply.events):
            if reply.cut_after is not None and index >= reply.cut_after:
                writer.transport.abort()
                return
            if reply.stall_after is not None and index >= reply.stall_after:
                await self._closing.wait()
                return
            if reply.delay_secs:
                await asyncio.sleep(reply.delay_secs)
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", "connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    line = await reader.readline()
    if not line:
        return None
    method, path, _version = line.decode().split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return RecordedRequest(method, path, headers, body)


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event frame with a compact JSON ``data`` line (or a raw string)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()
