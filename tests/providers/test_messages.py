"""The provider-neutral conversation: history expansion, the prompt and this invocation's turns."""

from __future__ import annotations

from typing import Any

from flowai_harness.ports import Message, ModelRequest, ToolInteraction
from flowai_harness.providers.messages import (
    AssistantItem,
    ToolCallItem,
    ToolResultItem,
    UserItem,
    conversation,
    model_result_json,
)


def _request(**kw: Any) -> ModelRequest:
    values: dict[str, Any] = {
        "agent": "a",
        "model": "m",
        "provider": "p",
        "system_prompt": "s",
        "prompt": "now",
        "history": [],
        "tools": [],
        "turn": 1,
        "max_turns": 4,
    }
    values.update(kw)
    return ModelRequest(**values)


def test_results_are_objects_wrapped_and_flagged_as_the_engine_spec_says() -> None:
    assert model_result_json({"b": 1, "a": 2}, False) == '{"a":2,"b":1}'
    assert model_result_json([1, 2], False) == '{"value":[1,2]}'
    assert model_result_json("text", False) == '{"value":"text"}'
    assert model_result_json({"error": "x"}, True) == '{"error":"x","isError":true}'
    assert model_result_json(None, True) == '{"isError":true,"value":null}'


def test_history_tool_interactions_come_before_the_text_and_system_is_skipped() -> None:
    history = [
        Message("user", "hi"),
        Message(
            "assistant",
            "done",
            [
                ToolInteraction("c1", "t", {"x": 1}, [1]),
                ToolInteraction("c2", "u", None, {"ok": True}),
            ],
        ),
        Message("user", "   "),
    ]
    assert conversation(_request(history=history)) == [
        UserItem("hi"),
        AssistantItem("", [ToolCallItem("c1", "t", {"x": 1}), ToolCallItem("c2", "u", None)]),
        ToolResultItem("c1", "t", "[1]"),
        ToolResultItem("c2", "u", '{"ok":true}'),
        AssistantItem("done"),
        UserItem("now"),
    ]


def test_this_invocations_turns_follow_the_prompt_with_their_text() -> None:
    turns = [
        [ToolInteraction("k1", "t", {}, "fine")],
        [ToolInteraction("k2", "t", {}, {"error": "bad"}, is_error=True)],
    ]
    items = conversation(_request(turns=turns, assistant_texts=["Looking.", ""], turn=3))
    assert items == [
        UserItem("now"),
        AssistantItem("Looking.", [ToolCallItem("k1", "t", {})], turn=0),
        ToolResultItem("k1", "t", '{"value":"fine"}'),
        AssistantItem("", [ToolCallItem("k2", "t", {})], turn=1),
        ToolResultItem("k2", "t", '{"error":"bad","isError":true}'),
    ]
