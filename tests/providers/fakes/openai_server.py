"""A fake OpenAI Chat Completions API: real ``chat.completion.chunk`` SSE frames on 127.0.0.1.

``openai_stream`` builds one streamed completion as the API sends it: a role chunk, content
deltas, tool-call deltas (id and name first, then argument fragments), the chunk with the
``finish_reason``, the usage chunk (``stream_options.include_usage``) and ``data: [DONE]``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .http import FakeHttpServer, StatusReply, StreamReply, sse

_ids = itertools.count(1)


@dataclass(frozen=True)
class FunctionCall:
    """A streamed tool call; ``raw_arguments`` streams a literal (maybe malformed) JSON text."""

    name: str
    arguments: Any = None
    id: str | None = None
    raw_arguments: str | None = None


def openai_stream(
    *,
    text: str | Sequence[str] = "",
    calls: Sequence[FunctionCall] = (),
    reasoning: Sequence[str] = (),
    finish_reason: str | None = None,
    model: str = "gpt-4o",
    prompt_tokens: int = 90,
    completion_tokens: int = 25,
    cached_tokens: int = 0,
    usage: bool = True,
) -> list[bytes]:
    """The SSE frames of one streamed completion."""
    completion_id = f"chatcmpl-fake{next(_ids):04d}"

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": 1_760_000_000,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
        )

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    for piece in reasoning:
        events.append(chunk({"reasoning_content": piece}))
    pieces = [text] if isinstance(text, str) else list(text)
    for piece in pieces:
        if piece:
            events.append(chunk({"content": piece}))
    for index, call in enumerate(calls):
        call_id = call.id or f"call_fake{next(_ids):04d}"
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        raw = call.raw_arguments
        if raw is None:
            raw = json.dumps(call.arguments or {})
        for start in range(0, len(raw), 6):
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {"index": index, "function": {"arguments": raw[start : start + 6]}}
                        ]
                    }
                )
            )
    events.append(chunk({}, finish_reason or ("tool_calls" if calls else "stop")))
    if usage:
        events.append(
            sse(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": 1_760_000_000,
                    "model": model,
                    "choices": [],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                        "prompt_tokens_details": {"cached_tokens": cached_tokens},
                    },
                }
            )
        )
    events.append(sse("[DONE]"))
    return events


def openai_reply(**kwargs: Any) -> StreamReply:
    """A streamed completion reply (see :func:`openai_stream` for the arguments)."""
    return StreamReply(openai_stream(**kwargs), headers={"x-request-id": "req_fake"})


def openai_error(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None
) -> StatusReply:
    """An error reply with the API's error body."""
    return StatusReply(
        status,
        {"error": {"message": message, "type": error_type, "param": None, "code": None}},
        headers or {},
    )


class FakeOpenAI(FakeHttpServer):
    """The fake Chat Completions API; ``base_url`` includes ``/v1`` as the SDK expects."""

    @property
    def base_url(self) -> str:
        """The URL to configure as ``baseUrl``."""
        return f"{self.url}/v1"

    @property
    def completion_bodies(self) -> list[Any]:
        """The bodies of every ``POST /v1/chat/completions`` so far."""
        return [r.json for r in self.requests if r.path.startswith("/v1/chat/completions")]
