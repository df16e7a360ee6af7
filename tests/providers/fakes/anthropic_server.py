"""A fake Anthropic Messages API: the real SSE event names and JSON shapes, on 127.0.0.1.

``anthropic_stream`` builds the events of one streamed message exactly as the API sends them
(``message_start``, ``content_block_start`` / ``_delta`` / ``_stop`` with ``text_delta``,
``input_json_delta``, ``thinking_delta`` and ``signature_delta``, ``ping``, ``message_delta``
with the stop reason and usage, ``message_stop``); ``anthropic_error`` an error body.
``FakeAnthropic.cached_reply`` reports the usage its prompt cache computes from the request's
``cache_control`` markers (see :mod:`.prompt_cache`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .http import FakeHttpServer, RecordedRequest, Reply, StatusReply, StreamReply, sse
from .prompt_cache import CacheUsage, PromptCache

_ids = itertools.count(1)


@dataclass(frozen=True)
class ToolUse:
    """A tool_use block; ``raw_input`` streams a literal (possibly malformed) JSON text."""

    name: str
    input: Any = None
    id: str | None = None
    raw_input: str | None = None


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def anthropic_stream(
    *,
    text: str | Sequence[str] = "",
    tool_uses: Sequence[ToolUse] = (),
    thinking: Sequence[str] = (),
    stop_reason: str | None = None,
    model: str = "claude-sonnet-4-6",
    input_tokens: int = 120,
    output_tokens: int = 30,
    cache_read: int = 0,
    cache_creation: int = 0,
    error_after: tuple[str, str] | None = None,
) -> list[bytes]:
    """The SSE frames of one message: thinking, then text, then tool_use blocks.

    ``error_after`` appends an ``error`` event ``(type, message)`` instead of the message end.
    """
    message_id = f"msg_fake{next(_ids):04d}"
    events = [
        sse(
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": model,
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": input_tokens,
                        "cache_creation_input_tokens": cache_creation,
                        "cache_read_input_tokens": cache_read,
                        "output_tokens": 1,
                    },
                },
            },
            "message_start",
        )
    ]
    index = 0
    if thinking:
        events.append(_block_start(index, {"type": "thinking", "thinking": "", "signature": ""}))
        events.append(sse({"type": "ping"}, "ping"))
        for piece in thinking:
            events.append(_delta(index, {"type": "thinking_delta", "thinking": piece}))
        events.append(_delta(index, {"type": "signature_delta", "signature": f"sig-{message_id}"}))
        events.append(_block_stop(index))
        index += 1
    pieces = [text] if isinstance(text, str) else list(text)
    if any(pieces):
        events.append(_block_start(index, {"type": "text", "text": ""}))
        for piece in pieces:
            events.append(_delta(index, {"type": "text_delta", "text": piece}))
        events.append(_block_stop(index))
        index += 1
    for tool in tool_uses:
        tool_id = tool.id or f"toolu_fake{next(_ids):04d}"
        events.append(
            _block_start(index, {"type": "tool_use", "id": tool_id, "name": tool.name, "input": {}})
        )
        raw = tool.raw_input if tool.raw_input is not None else json.dumps(tool.input or {})
        events.append(_delta(index, {"type": "input_json_delta", "partial_json": ""}))
        for piece in _chunks(raw, 7):
            events.append(_delta(index, {"type": "input_json_delta", "partial_json": piece}))
        events.append(_block_stop(index))
        index += 1
    if error_after is not None:
        events.append(
            sse(
                {"type": "error", "error": {"type": error_after[0], "message": error_after[1]}},
                "error",
            )
        )
        return events
    reason = stop_reason or ("tool_use" if tool_uses else "end_turn")
    events.append(
        sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
            "message_delta",
        )
    )
    events.append(sse({"type": "message_stop"}, "message_stop"))
    return events


def _block_start(index: int, block: dict[str, Any]) -> bytes:
    return sse(
        {"type": "content_block_start", "index": index, "content_block": block},
        "content_block_start",
    )


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return sse(
        {"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"
    )


def _block_stop(index: int) -> bytes:
    return sse({"type": "content_block_stop", "index": index}, "content_block_stop")


def anthropic_error(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None
) -> StatusReply:
    """An error reply with the API's error body."""
    return StatusReply(
        status,
        {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": "req_fake",
        },
        headers or {},
    )


def anthropic_reply(**kwargs: Any) -> StreamReply:
    """A streamed message reply (see :func:`anthropic_stream` for the arguments)."""
    return StreamReply(anthropic_stream(**kwargs), headers={"request-id": "req_fake"})


class FakeAnthropic(FakeHttpServer):
    """The fake Messages API; ``message_bodies`` are the JSON bodies of ``/v1/messages``."""

    def __init__(
        self,
        respond: Callable[[RecordedRequest], Reply] | None = None,
        *,
        prompt_cache: PromptCache | None = None,
    ) -> None:
        super().__init__(respond)
        self.prompt_cache = prompt_cache or PromptCache()

    def cached_reply(self, request: RecordedRequest, **kwargs: Any) -> StreamReply:
        """A streamed reply (``kwargs`` as for :func:`anthropic_stream`) whose prompt usage
        the prompt cache computes from ``request``: cache reads, cache writes, fresh input."""
        usage: CacheUsage = self.prompt_cache.account(request.json)
        return anthropic_reply(
            input_tokens=usage.input_tokens,
            cache_read=usage.cache_read_input_tokens,
            cache_creation=usage.cache_creation_input_tokens,
            **kwargs,
        )

    @property
    def message_bodies(self) -> list[Any]:
        """The bodies of every ``POST /v1/messages`` so far."""
        return [r.json for r in self.requests if r.path.startswith("/v1/messages")]


def last_tool_results(request: RecordedRequest) -> list[dict[str, Any]]:
    """The tool_result blocks of a request's last message, their text parsed as JSON."""
    last = request.json["messages"][-1]
    out = []
    for block in last["content"]:
        if block.get("type") == "tool_result":
            out.append(
                {
                    "tool_use_id": block["tool_use_id"],
                    "content": json.loads(block["content"][0]["text"]),
                }
            )
    return out
