"""The live Anthropic provider: the Messages API through the official ``anthropic`` SDK.

One :meth:`AnthropicClient.stream_turn` call is one streamed Messages request:

* ``system`` as one text block, the conversation of :mod:`~flowai_harness.providers.messages`,
  the agent's tools with ``tool_choice: auto``, ``max_tokens`` 16384 (``maxTokens``);
* prompt-caching markers (``cache_control: ephemeral``) on the last tool, on the system block,
  on the last content block of the last message, and on the last block the previous turn's
  request ended with (the four the API allows; see :func:`anthropic_messages`);
* ``output_config: {"effort": "high"}`` for Opus 4.5/4.6 and Sonnet 4.6, adaptive thinking for
  Opus 4.6 and Sonnet 4.6, or ``thinking: enabled`` with ``thinkingBudgetTokens`` when set.

The stream becomes model parts: text deltas, thinking deltas as reasoning, one tool call per
complete ``tool_use`` block (with the provider's ``toolu_...`` id, so results match), and a
finish with the mapped stop reason and the usage including cache reads and writes. Thinking
blocks are kept for the rest of the invocation and sent back with their signatures, as the API
requires during a tool-use loop.

Each model call opens its own HTTP connection (keep-alive is off): a run that is cancelled, or
an event loop that ends, never leaves a pooled socket behind, and no client needs closing.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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

__all__ = ["AnthropicClient", "anthropic_request", "map_stop_reason"]

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "tool_use": "tool-calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content-filter",
}
_EFFORT_MODELS = ("claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-5")
_ADAPTIVE_THINKING_MODELS = ("claude-opus-4-6", "claude-sonnet-4-6")
_EPHEMERAL = {"type": "ephemeral"}
_TOOL_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")
# Thinking blocks are kept per invocation until its last turn; this bounds what a cancelled
# invocation (which never reaches its last turn) can leave behind.
_MAX_OPEN_INVOCATIONS = 512
_ANTHROPIC_SDK = SdkBinding("anthropic", "AsyncAnthropic", "Anthropic")


def map_stop_reason(stop_reason: str | None) -> FinishReason:
    """Map an Anthropic ``stop_reason`` to a ``finishReason``."""
    return _STOP_REASONS.get(stop_reason or "end_turn", "stop")


@dataclass(slots=True)
class _Invocation:
    """Provider-only content of one agent invocation: thinking blocks per turn index."""

    request: ModelRequest
    thinking: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


class AnthropicClient:
    """A ``ModelClient`` backed by the Anthropic Messages API (streaming)."""

    live = True

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._sdk = SdkSession(settings, _ANTHROPIC_SDK)
        self._invocations: OrderedDict[int, _Invocation] = OrderedDict()

    def __repr__(self) -> str:
        return f"AnthropicClient(provider={self.settings.key!r})"

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Stream one model turn of ``request`` (retrying and falling back as configured)."""
        invocation = self._invocation(request)
        more_turns = False
        label = f"provider '{self.settings.key}' for agent '{request.agent}'"
        turn = resilient_turn(
            lambda model: self._attempt(invocation, model),
            models=self.settings.models_for(request.model),
            policy=self.settings.retry,
            prices=self.settings.prices,
            label=label,
        )
        try:
            async with aclosing(turn) as parts:
                async for part in parts:
                    if isinstance(part, ModelFinish):
                        more_turns = (
                            part.reason == "tool-calls" and request.turn < request.max_turns
                        )
                    yield part
        finally:
            if not more_turns:
                self._invocations.pop(id(request), None)

    def _invocation(self, request: ModelRequest) -> _Invocation:
        entry = self._invocations.get(id(request))
        if entry is None or entry.request is not request:
            entry = _Invocation(request)
            self._invocations[id(request)] = entry
            while len(self._invocations) > _MAX_OPEN_INVOCATIONS:
                self._invocations.popitem(last=False)
        return entry

    async def _attempt(
        self, invocation: _Invocation, model: str
    ) -> AsyncGenerator[ModelPart, None]:
        request = invocation.request
        sdk = self._sdk.client()
        params = anthropic_request(request, model, self.settings, invocation.thinking)
        parser = _StreamParser()
        parts = self._sdk.stream_parts(
            lambda: sdk.messages.create(**params, stream=True), parser.feed
        )
        async with aclosing(parts):
            async for part in parts:
                yield part
        finish = parser.finish()
        if parser.thinking_blocks:
            invocation.thinking[request.turn - 1] = parser.thinking_blocks
        yield finish


def anthropic_request(
    request: ModelRequest,
    model: str,
    settings: ProviderSettings,
    thinking: dict[int, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Return the Messages API body (without ``stream``) for one turn of ``request``."""
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": settings.max_tokens,
        "messages": anthropic_messages(conversation(request), thinking or {}),
    }
    if request.system_prompt:
        params["system"] = [
            {"type": "text", "text": request.system_prompt, "cache_control": _EPHEMERAL}
        ]
    if request.tools:
        tools: list[dict[str, Any]] = []
        for tool in request.tools:
            entry: dict[str, Any] = {"name": tool.name, "input_schema": dict(tool.input_schema)}
            if tool.description:
                entry["description"] = tool.description
            tools.append(entry)
        tools[-1]["cache_control"] = _EPHEMERAL
        params["tools"] = tools
        params["tool_choice"] = {"type": "auto"}
    if any(name in model for name in _EFFORT_MODELS):
        params["output_config"] = {"effort": "high"}
    if settings.thinking_budget_tokens is not None:
        params["thinking"] = {"type": "enabled", "budget_tokens": settings.thinking_budget_tokens}
    elif any(name in model for name in _ADAPTIVE_THINKING_MODELS):
        params["thinking"] = {"type": "adaptive"}
    return params


def anthropic_messages(
    items: list[ConversationItem], thinking: dict[int, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Map conversation items onto Messages API messages, merging consecutive roles.

    The last content block of the last message carries a prompt-caching marker, and so does
    the last block of the user message before the latest assistant turn: that is where the
    previous request ended and what it wrote to the cache. The API looks for earlier cache
    entries only about 20 blocks back from a marker, so without the second marker a turn with
    many tool calls (two blocks each) would miss the whole cached conversation.
    """
    messages: list[dict[str, Any]] = []
    for item in items:
        role, blocks = _blocks(item, thinking)
        if not blocks:
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    if messages:
        _mark_last_block(messages[-1])
    if len(messages) >= 3 and [m["role"] for m in messages[-3:]] == ["user", "assistant", "user"]:
        _mark_last_block(messages[-3])
    return messages


def _mark_last_block(message: dict[str, Any]) -> None:
    message["content"][-1] = {**message["content"][-1], "cache_control": _EPHEMERAL}


def _blocks(
    item: ConversationItem, thinking: dict[int, list[dict[str, Any]]]
) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(item, UserItem):
        return "user", [{"type": "text", "text": item.text}] if item.text.strip() else []
    if isinstance(item, ToolResultItem):
        return "user", [
            {
                "type": "tool_result",
                "tool_use_id": _tool_id(item.call_id),
                "content": [{"type": "text", "text": item.content}],
            }
        ]
    assert isinstance(item, AssistantItem)
    blocks: list[dict[str, Any]] = []
    if item.turn is not None:
        blocks.extend(thinking.get(item.turn, ()))
    if item.text.strip():
        blocks.append({"type": "text", "text": item.text})
    for call in item.calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": _tool_id(call.call_id),
                "name": call.name,
                "input": _tool_input(call.arguments),
            }
        )
    return "assistant", blocks


def _tool_id(call_id: str) -> str:
    # Anthropic accepts [a-zA-Z0-9_-] ids; ids from other interpreters may hold other chars.
    return _TOOL_ID_UNSAFE.sub("_", call_id) or "call"


def _tool_input(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    return {} if arguments is None else {"value": arguments}


@dataclass(slots=True)
class _Block:
    kind: str
    tool_id: str = ""
    name: str = ""
    text: list[str] = field(default_factory=list)
    signature: str = ""
    data: str = ""


class _StreamParser:
    """Turns raw Messages stream events into model parts."""

    def __init__(self) -> None:
        self.blocks: dict[int, _Block] = {}
        self.thinking_blocks: list[dict[str, Any]] = []
        self.usage: dict[str, int] = {}
        self.stop_reason: str | None = None
        self.stopped = False
        self.malformed: AttemptFailed | None = None

    def feed(self, event: Any) -> list[ModelPart]:
        """Consume one stream event; return the parts it completes."""
        kind = getattr(event, "type", None)
        if kind == "message_start":
            self._usage(getattr(event.message, "usage", None))
        elif kind == "content_block_start":
            return self._start(event.index, event.content_block)
        elif kind == "content_block_delta":
            return self._delta(event.index, event.delta)
        elif kind == "content_block_stop":
            return self._stop(event.index)
        elif kind == "message_delta":
            self.stop_reason = getattr(event.delta, "stop_reason", None) or self.stop_reason
            self._usage(getattr(event, "usage", None))
        elif kind == "message_stop":
            self.stopped = True
        return []

    def finish(self) -> ModelFinish:
        """Return the finish of a completed stream, or raise if the stream was cut short."""
        if not self.stopped:
            raise AttemptFailed(
                "the stream ended before message_stop", code="stream_interrupted", retryable=True
            )
        reason = map_stop_reason(self.stop_reason)
        if self.malformed is not None and reason != "length":
            raise self.malformed
        read = self.usage.get("cache_read_input_tokens", 0)
        write = self.usage.get("cache_creation_input_tokens", 0)
        usage = TokenUsage(
            prompt_tokens=self.usage.get("input_tokens", 0) + read + write,
            completion_tokens=self.usage.get("output_tokens", 0),
            cache_read_input_tokens=read,
            cache_creation_input_tokens=write,
        )
        return ModelFinish(reason, usage)

    def _usage(self, usage: Any) -> None:
        if usage is None:
            return
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        ):
            value = getattr(usage, name, None)
            if isinstance(value, int):
                self.usage[name] = value

    def _start(self, index: int, block: Any) -> list[ModelPart]:
        kind = getattr(block, "type", "")
        entry = _Block(kind)
        if kind == "tool_use":
            entry.tool_id, entry.name = block.id, block.name
        elif kind == "redacted_thinking":
            entry.data = block.data
        self.blocks[index] = entry
        if kind == "text" and getattr(block, "text", ""):
            entry.text.append(block.text)
            return [ModelText(block.text)]
        if kind == "thinking" and getattr(block, "thinking", ""):
            entry.text.append(block.thinking)
            return [ModelReasoning(block.thinking)]
        return []

    def _delta(self, index: int, delta: Any) -> list[ModelPart]:
        entry = self.blocks.get(index)
        kind = getattr(delta, "type", "")
        if entry is None:
            return []
        if kind == "text_delta" and delta.text:
            entry.text.append(delta.text)
            return [ModelText(delta.text)]
        if kind == "thinking_delta" and delta.thinking:
            entry.text.append(delta.thinking)
            return [ModelReasoning(delta.thinking)]
        if kind == "input_json_delta":
            entry.text.append(delta.partial_json)
        elif kind == "signature_delta":
            entry.signature += delta.signature
        return []

    def _stop(self, index: int) -> list[ModelPart]:
        entry = self.blocks.get(index)
        if entry is None:
            return []
        if entry.kind == "thinking":
            self.thinking_blocks.append(
                {"type": "thinking", "thinking": "".join(entry.text), "signature": entry.signature}
            )
        elif entry.kind == "redacted_thinking":
            self.thinking_blocks.append({"type": "redacted_thinking", "data": entry.data})
        elif entry.kind == "tool_use":
            raw = "".join(entry.text)
            try:
                args = json.loads(raw) if raw.strip() else {}
            except ValueError as exc:
                # Decided at message end: a max_tokens cut is a "length" finish, else an error.
                self.malformed = AttemptFailed(
                    f"the model sent malformed JSON as the input of tool '{entry.name}' "
                    f"(call {entry.tool_id}): {exc}",
                    code="invalid_tool_input",
                    retryable=True,
                )
                return []
            return [ModelToolCall(entry.tool_id, entry.name, args)]
        return []
