"""The offline interpreters behind the ModelClient port: noop, mock and scripted."""

from __future__ import annotations

from typing import Any

import pytest

from flowai_harness.events import LatencySummary, TokenUsage
from flowai_harness.ports import (
    ModelClient,
    ModelError,
    ModelFinish,
    ModelLatency,
    ModelPart,
    ModelRequest,
    ModelText,
    ModelToolCall,
    ToolDefinition,
    ToolOutcome,
)
from flowai_harness.providers.deterministic import (
    MockClient,
    NoopClient,
    ScriptedClient,
    parse_script,
)

TOOL = ToolDefinition("t", "", {"type": "object"})


def _request(prompt: str, tools: tuple[ToolDefinition, ...] = (TOOL,)) -> ModelRequest:
    return ModelRequest(
        agent="w",
        model="m",
        provider="anthropic",
        system_prompt="",
        prompt=prompt,
        history=[],
        tools=tools,
        turn=1,
        max_turns=12,
    )


async def _play(
    client: ModelClient, request: ModelRequest, outcomes: dict[str, ToolOutcome] | None = None
) -> list[ModelPart]:
    """Iterate like the engine: answer each tool call before resuming the client."""
    parts = []
    async for part in client.stream_turn(request):
        parts.append(part)
        if isinstance(part, ModelToolCall):
            request.tool_results[part.id] = (outcomes or {}).get(
                part.id, ToolOutcome({"ok": part.id})
            )
    return parts


@pytest.mark.parametrize("client", [NoopClient(), MockClient("M"), ScriptedClient()])
def test_every_offline_client_is_a_deterministic_model_client(client: Any) -> None:
    assert isinstance(client, ModelClient)
    assert client.live is False


async def test_noop_only_finishes_with_zero_usage() -> None:
    assert await _play(NoopClient(), _request('{"tool": "t"}')) == [ModelFinish("stop")]


async def test_mock_echoes_the_prompt_then_answers_with_latency_and_usage_50_25() -> None:
    assert await _play(MockClient("canned"), _request("hi")) == [
        ModelText("Received: hi\n\n"),
        ModelText("canned"),
        ModelLatency(LatencySummary(llm_calls=1)),
        ModelFinish("stop", TokenUsage(prompt_tokens=50, completion_tokens=25)),
    ]


@pytest.mark.parametrize(
    ("prompt", "calls"),
    [
        ('{"tool": "t", "args": {"x": 1}}', [("t", {"x": 1})]),
        ('{"tool": "t"}', [("t", None)]),
        ('{"tool": "t", "args": [1], "note": "extra keys ignored"}', [("t", [1])]),
        ('{"script": [{"tool": "a", "args": {}}, {"tool": "b"}]}', [("a", {}), ("b", None)]),
        ('{"script": []}', []),
        ('{"tool": "t", "script": [{"tool": "b"}]}', [("t", None)]),
    ],
)
def test_parse_script_accepts_both_forms(prompt: str, calls: list[Any]) -> None:
    assert parse_script(prompt) == calls


@pytest.mark.parametrize(
    "prompt",
    [
        "hello",
        "",
        "{not json",
        "[]",
        "42",
        '"t"',
        '{"tool": 1}',
        '{"args": {}}',
        '{"script": {"tool": "t"}}',
        '{"script": [{"tool": "t"}, {"args": 1}]}',
        '{"script": ["t"]}',
    ],
)
def test_parse_script_returns_none_for_echo_mode(prompt: str) -> None:
    assert parse_script(prompt) is None


async def test_scripted_echo_mode_sends_the_prompt_back() -> None:
    assert await _play(ScriptedClient(), _request("plain words", tools=())) == [
        ModelText("plain words"),
        ModelFinish("stop"),
    ]


async def test_scripted_calls_tools_in_order_with_numbered_ids_and_echoes_results() -> None:
    request = _request(
        '{"script": [{"tool": "a", "args": {"n": 1}}, {"tool": "b"}, {"tool": "c"}]}'
    )
    outcomes = {
        "scripted-tool-1": ToolOutcome({"z": 1, "a": "é"}),
        "scripted-tool-2": ToolOutcome({"error": "nope"}, is_error=True),
        "scripted-tool-3": ToolOutcome("plain"),
    }
    assert await _play(ScriptedClient(), request, outcomes) == [
        ModelToolCall("scripted-tool-1", "a", {"n": 1}),
        ModelText('{"a":"é","z":1}'),
        ModelToolCall("scripted-tool-2", "b", None),
        ModelToolCall("scripted-tool-3", "c", None),
        ModelText('"plain"'),
        ModelFinish("stop"),
    ]


async def test_scripted_ids_restart_for_every_invocation() -> None:
    client = ScriptedClient()
    first = await _play(client, _request('{"tool": "t"}'))
    second = await _play(client, _request('{"tool": "t"}'))
    assert first[0] == second[0] == ModelToolCall("scripted-tool-1", "t", None)


async def test_scripted_without_tools_reports_no_dispatcher() -> None:
    assert await _play(ScriptedClient(), _request('{"tool": "t"}', tools=())) == [
        ModelError("scripted interpreter has no dispatcher"),
    ]


async def test_scripted_usage_is_zero() -> None:
    parts = await _play(ScriptedClient(), _request('{"tool": "t"}'))
    assert parts[-1] == ModelFinish("stop", TokenUsage())
