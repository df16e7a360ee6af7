"""The live OpenAI provider: Chat Completions through the official ``openai`` SDK.

It serves OpenAI itself and any OpenAI-compatible server (vLLM, Ollama, LM Studio, the
llama.cpp server...) through ``baseUrl``. One :meth:`OpenAIClient.stream_turn` call is one
streamed ``chat.completions`` request with ``stream_options.include_usage``:

* the system prompt as a ``system`` message, the conversation of
  :mod:`~flowai_harness.providers.messages` (tool calls as assistant ``tool_calls``, results as
  ``tool`` messages), the agent's tools as functions with ``tool_choice: auto``;
* ``maxTokens``, when configured, as ``max_completion_tokens`` for api.openai.com and as
  ``max_tokens`` for other servers (which know their own limits when it is not set).

Text deltas stream as they come; ``reasoning_content`` / ``reasoning`` deltas of servers that
expose them become reasoning. Tool calls stream as argument fragments and are complete only
when the choice finishes, so they are handed to the engine after the stream, with the
provider's call ids. ``finish_reason`` maps to ``stop`` / ``tool-calls`` / ``length`` /
``content-filter``; a server that reports ``stop`` while returning tool calls (some do) is
treated as ``tool-calls``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flowai_harness.events import FinishReason, TokenUsage
from flowai_harness.ports import (
    ModelFinish,
    ModelPart,
    ModelReasoning,
    ModelRequest,
    ModelText,
    ModelToolCall,
)
from flowai_harness.providers.messages import (
    AssistantItem,
    ConversationItem,
    ToolResultItem,
    UserItem,
    conversation,
)
from flowai_harness.providers.retry import AttemptFailed, resilient_turn
from flowai_harness.providers.sdk import SdkBinding, SdkSession

if TYPE_CHECKING:
    from flowai_harness.providers.settings import ProviderSettings

__all__ = ["OpenAIClient", "map_finish_reason", "openai_messages", "openai_request"]

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "tool_calls": "tool-calls",
    "function_call": "tool-calls",
    "length": "length",
    "content_filter": "content-filter",
}
# Local servers need no key, but the SDK insists on one.
_OPENAI_SDK = SdkBinding("openai", "AsyncOpenAI", "OpenAI", placeholder_key="no-key")


def map_finish_reason(finish_reason: str | None) -> FinishReason:
    """Map a Chat Completions ``finish_reason`` to a ``finishReason``."""
    return _FINISH_REASONS.get(finish_reason or "stop", "stop")


class OpenAIClient:
    """A ``ModelClient`` backed by an OpenAI (or OpenAI-compatible) Chat Completions API."""

    live = True

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._sdk = SdkSession(settings, _OPENAI_SDK)

    def __repr__(self) -> str:
        return f"OpenAIClient(provider={self.settings.key!r})"

    def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Stream one model turn of ``request`` (retrying and falling back as configured)."""
        return resilient_turn(
            lambda model: self._attempt(request, model),
            models=self.settings.models_for(request.model),
            policy=self.settings.retry,
            prices=self.settings.prices,
            label=f"provider '{self.settings.key}' for agent '{request.agent}'",
        )

    async def _attempt(self, request: ModelRequest, model: str) -> AsyncGenerator[ModelPart, None]:
        sdk = self._sdk.client()
        params = openai_request(request, model, self.settings, official=_is_official(sdk))
        parser = _ChunkParser()
        parts = self._sdk.stream_parts(lambda: sdk.chat.completions.create(**params), parser.feed)
        async with aclosing(parts):
            async for part in parts:
                yield part
        for part in parser.finish():
            yield part


def _is_official(sdk: Any) -> bool:
    host = urlsplit(str(sdk.base_url)).hostname or ""
    return host == "openai.com" or host.endswith(".openai.com")


def openai_request(
    request: ModelRequest, model: str, settings: ProviderSettings, *, official: bool
) -> dict[str, Any]:
    """Return the streamed Chat Completions body for one turn of ``request``."""
    params: dict[str, Any] = {
        "model": model,
        "messages": openai_messages(request.system_prompt, conversation(request)),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": dict(tool.input_schema),
                },
            }
            for tool in request.tools
        ]
        params["tool_choice"] = "auto"
    if settings.max_tokens is not None:
        params["max_completion_tokens" if official else "max_tokens"] = settings.max_tokens
    return params


def openai_messages(system_prompt: str, items: list[ConversationItem]) -> list[dict[str, Any]]:
    """Map conversation items onto Chat Completions messages."""
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    for item in items:
        if isinstance(item, UserItem):
            messages.append({"role": "user", "content": item.text})
        elif isinstance(item, ToolResultItem):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.content})
        elif isinstance(item, AssistantItem) and (item.text.strip() or item.calls):
            message: dict[str, Any] = {"role": "assistant", "content": item.text or None}
            if item.calls:
                message["tool_calls"] = [
                    {
                        "id": call.call_id,
                        "type": "function",
                        "function": {
                            "name": call.name,
                            "arguments": json.dumps(
                                {} if call.arguments is None else call.arguments,
                                ensure_ascii=False,
                            ),
                        },
                    }
                    for call in item.calls
                ]
            messages.append(message)
    return messages


@dataclass(slots=True)
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class _ChunkParser:
    """Turns ``chat.completion.chunk`` objects into model parts."""

    def __init__(self) -> None:
        self.calls: dict[int, _PendingCall] = {}
        self.finish_reason: str | None = None
        self.usage: TokenUsage | None = None

    def feed(self, chunk: Any) -> list[ModelPart]:
        """Consume one chunk; return its text and reasoning deltas."""
        parts: list[ModelPart] = []
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = _usage(usage)
        for choice in getattr(chunk, "choices", None) or ():
            if getattr(choice, "index", 0) != 0:
                continue
            delta = getattr(choice, "delta", None)
            if delta is not None:
                reasoning = getattr(delta, "reasoning_content", None) or getattr(
                    delta, "reasoning", None
                )
                if isinstance(reasoning, str) and reasoning:
                    parts.append(ModelReasoning(reasoning))
                if delta.content:
                    parts.append(ModelText(delta.content))
                for fragment in getattr(delta, "tool_calls", None) or ():
                    self._tool_fragment(fragment)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return parts

    def finish(self) -> list[ModelPart]:
        """Return the tool calls and the finish of a completed stream."""
        if self.finish_reason is None:
            raise AttemptFailed(
                "the stream ended before a finish_reason",
                code="stream_interrupted",
                retryable=True,
            )
        reason = map_finish_reason(self.finish_reason)
        parts: list[ModelPart] = []
        if self.calls and reason not in ("length", "content-filter"):
            for index in sorted(self.calls):
                call = self.calls[index]
                raw = "".join(call.arguments)
                try:
                    args = json.loads(raw) if raw.strip() else {}
                except ValueError as exc:
                    raise AttemptFailed(
                        f"the model sent malformed JSON as the arguments of tool '{call.name}' "
                        f"(call {call.id}): {exc}",
                        code="invalid_tool_input",
                        retryable=True,
                    ) from None
                parts.append(ModelToolCall(call.id or f"call_{uuid.uuid4().hex}", call.name, args))
            reason = "tool-calls"
        parts.append(ModelFinish(reason, self.usage or TokenUsage()))
        return parts

    def _tool_fragment(self, fragment: Any) -> None:
        index = getattr(fragment, "index", None)
        call = self.calls.setdefault(
            index if isinstance(index, int) else len(self.calls), _PendingCall()
        )
        if getattr(fragment, "id", None):
            call.id = fragment.id
        function = getattr(fragment, "function", None)
        if function is not None:
            if getattr(function, "name", None):
                call.name = function.name
            if getattr(function, "arguments", None):
                call.arguments.append(function.arguments)


def _usage(usage: Any) -> TokenUsage:
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return TokenUsage(
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        cache_read_input_tokens=cached or 0,
    )
