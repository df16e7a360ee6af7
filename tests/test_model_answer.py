"""One question to a model (src/flowai_harness/_model_answer.py): the answer's text and usage,
tool calls refused, model errors raised, and the JSON object read out of the text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from flowai_harness._model_answer import ask_for_json, ask_model, json_object_in, question
from flowai_harness.errors import ProviderError
from flowai_harness.events import TokenUsage
from flowai_harness.ports import (
    ModelError,
    ModelFinish,
    ModelPart,
    ModelRequest,
    ModelText,
    ModelToolCall,
    ToolOutcome,
)


class PartsClient:
    """Streams fixed parts; records the outcome the caller left for each tool call."""

    live = True

    def __init__(self, parts: Sequence[ModelPart]) -> None:
        self.parts = parts
        self.tool_outcomes: list[ToolOutcome] = []
        self.closed = False

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        try:
            for part in self.parts:
                yield part
                if isinstance(part, ModelToolCall):
                    self.tool_outcomes.append(request.tool_results[part.id])
        finally:
            self.closed = True


def _request() -> ModelRequest:
    return question(agent="judge", provider="anthropic", model="m", system="s", prompt="p")


def test_a_question_is_one_turn_without_tools_or_history() -> None:
    request = _request()
    assert (request.agent, request.provider, request.model) == ("judge", "anthropic", "m")
    assert (request.system_prompt, request.prompt) == ("s", "p")
    assert (request.turn, request.max_turns, list(request.tools), list(request.history)) == (
        1,
        1,
        [],
        [],
    )


async def test_the_answer_is_the_text_and_the_usage_of_the_finish() -> None:
    usage = TokenUsage(prompt_tokens=7, completion_tokens=3)
    client = PartsClient([ModelText("Hel"), ModelText("lo"), ModelFinish("stop", usage)])
    answer = await ask_model(client, _request())
    assert (answer.text, answer.usage) == ("Hello", usage)
    assert client.closed


async def test_a_tool_call_gets_an_error_result_and_the_turn_goes_on() -> None:
    client = PartsClient(
        [ModelToolCall("call-1", "search", {}), ModelText("done"), ModelFinish("stop")]
    )
    answer = await ask_model(client, _request())
    assert answer.text == "done"
    assert client.tool_outcomes == [
        ToolOutcome({"error": "tools are not available to judge"}, is_error=True)
    ]


async def test_a_model_error_is_raised_with_its_message() -> None:
    client = PartsClient([ModelText("partial"), ModelError("overloaded", code="overloaded")])
    with pytest.raises(ProviderError, match=r"^overloaded$"):
        await ask_model(client, _request())
    assert client.closed


async def test_a_stream_without_a_finish_has_zero_usage() -> None:
    answer = await ask_model(PartsClient([ModelText("cut")]), _request())
    assert (answer.text, answer.usage) == ("cut", TokenUsage())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": {"b": [1]}}\n```', {"a": {"b": [1]}}),
        ('Sure! ```\n{"a": 1}\n``` Anything else?', {"a": 1}),
        ('Sure! {"a": 1} hope that helps', {"a": 1}),
    ],
)
def test_the_json_object_is_read_bare_fenced_or_inside_prose(
    text: str, expected: dict[str, object]
) -> None:
    assert json_object_in(text) == expected


@pytest.mark.parametrize("text", ["[1, 2]", "no json here", '"a string"', "{broken"])
def test_an_answer_without_a_json_object_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        json_object_in(text)


async def test_asking_for_json_names_an_unusable_answer() -> None:
    client = PartsClient([ModelText("I would rather not."), ModelFinish("stop")])
    with pytest.raises(ProviderError, match="the model's answer was not usable"):
        await ask_for_json(client, _request())
    answer = PartsClient([ModelText('{"ok": true}'), ModelFinish("stop")])
    assert await ask_for_json(answer, _request()) == {"ok": True}
