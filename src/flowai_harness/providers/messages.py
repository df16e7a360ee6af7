"""The conversation a live model sees, before it takes a provider's shape.

:func:`conversation` turns a :class:`~flowai_harness.ports.ModelRequest` into an ordered list of
neutral items:

1. the stored history of a stateful agent, message by message: an assistant message with tool
   interactions becomes one assistant item holding the tool calls, then one tool-result item
   per interaction (content = compact JSON of the stored result), then its text if non-blank;
   a message without interactions becomes a user or assistant text item when non-blank;
2. the current prompt as a user item;
3. this invocation's earlier turns: the turn's text and tool calls as an assistant item, then
   its results.

The Anthropic and OpenAI adapters map these items onto their own message formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowai_harness.engine.jsonvalues import compact_json
from flowai_harness.ports import Message, ModelRequest, ToolInteraction

__all__ = [
    "AssistantItem",
    "ConversationItem",
    "ToolCallItem",
    "ToolResultItem",
    "UserItem",
    "conversation",
    "model_result_json",
]


@dataclass(frozen=True, slots=True)
class UserItem:
    """A user text message."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallItem:
    """A tool call the model made."""

    call_id: str
    name: str
    arguments: Any


@dataclass(frozen=True, slots=True)
class AssistantItem:
    """An assistant message: text and/or tool calls.

    ``turn`` is the index of the turn in the current invocation (``request.turns[turn]``), or
    ``None`` for history; adapters use it to re-attach provider-only content such as thinking
    blocks.
    """

    text: str
    calls: list[ToolCallItem] = field(default_factory=list)
    turn: int | None = None


@dataclass(frozen=True, slots=True)
class ToolResultItem:
    """The result of one tool call, as the JSON text the model reads."""

    call_id: str
    name: str
    content: str


ConversationItem = UserItem | AssistantItem | ToolResultItem


def model_result_json(content: Any, is_error: bool) -> str:
    """Return the JSON text a model reads as a tool result.

    An object is sent as is; any other value is wrapped as ``{"value": x}``; an error gains
    ``"isError": true``.
    """
    body: dict[str, Any] = dict(content) if isinstance(content, dict) else {"value": content}
    if is_error:
        body["isError"] = True
    return compact_json(body)


def conversation(request: ModelRequest) -> list[ConversationItem]:
    """Return the history, the prompt and this invocation's tool turns, in order."""
    items: list[ConversationItem] = []
    for message in request.history:
        items.extend(_history_items(message))
    items.append(UserItem(request.prompt))
    for index, interactions in enumerate(request.turns):
        text = request.assistant_texts[index] if index < len(request.assistant_texts) else ""
        items.extend(_turn_items(text, interactions, index))
    return items


def _history_items(message: Message) -> list[ConversationItem]:
    items: list[ConversationItem] = []
    if message.tool_interactions:
        items.append(
            AssistantItem(
                "",
                [
                    ToolCallItem(i.call_id, i.tool_name, i.arguments)
                    for i in message.tool_interactions
                ],
            )
        )
        items.extend(
            # Stored memory keeps the raw result, sent as compact JSON.
            ToolResultItem(i.call_id, i.tool_name, compact_json(i.result))
            for i in message.tool_interactions
        )
    if message.content.strip():
        if message.role == "user":
            items.append(UserItem(message.content))
        else:
            items.append(AssistantItem(message.content))
    return items


def _turn_items(
    text: str, interactions: list[ToolInteraction], index: int
) -> list[ConversationItem]:
    calls = [ToolCallItem(i.call_id, i.tool_name, i.arguments) for i in interactions]
    items: list[ConversationItem] = [AssistantItem(text, calls, turn=index)]
    items.extend(
        ToolResultItem(i.call_id, i.tool_name, model_result_json(i.result, i.is_error))
        for i in interactions
    )
    return items
