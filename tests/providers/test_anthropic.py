"""The Anthropic provider through the official SDK against a fake Messages API on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowai_harness import ToolSpec
from flowai_harness.ports import Message, ModelRequest, ToolDefinition, ToolInteraction
from flowai_harness.providers.anthropic import anthropic_request, map_stop_reason
from flowai_harness.providers.factory import provider_settings

from .conftest import SECRET_KEY
from .fakes.anthropic_server import FakeAnthropic, ToolUse, anthropic_reply, last_tool_results
from .support import anthropic_runtime, assert_no_secret, of_type, run_pricing, texts


async def test_text_deltas_stream_as_text_events(anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.queue(anthropic_reply(text=["Hel", "lo ", "there"]))
    events = await run_pricing(anthropic_runtime(anthropic_fake.url))
    assert [e["text"] for e in of_type(events, "text")] == ["Hel", "lo ", "there"]
    assert of_type(events, "finish")[0]["finishReason"] == "stop"
    assert events[-1] == {**events[-1], "type": "tool-agent", "state": "result"}


async def test_request_carries_key_version_and_model_params(anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.queue(anthropic_reply(text="ok"))
    await run_pricing(anthropic_runtime(anthropic_fake.url))
    request = anthropic_fake.requests[0]
    assert request.method == "POST" and request.path == "/v1/messages"
    # The SDK decides the auth header (x-api-key or a bearer token) and the API version.
    auth = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    assert auth.endswith(SECRET_KEY)
    assert request.headers["anthropic-version"]
    body = request.json
    assert body["model"] == "claude-sonnet-4-6"
    assert body["max_tokens"] == 16384
    assert body["stream"] is True
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"] == {"effort": "high"}
    assert body["tool_choice"] == {"type": "auto"}


async def test_prompt_caching_marks_system_last_message_and_last_tool(
    anthropic_fake: FakeAnthropic,
) -> None:
    second = ToolSpec(
        name="stock",
        description="Stock level.",
        input_schema={"type": "object"},
        handler=lambda args, ctx: {"stock": 3},
    )
    from .support import lookup

    anthropic_fake.queue(anthropic_reply(text="ok"))
    await run_pricing(anthropic_runtime(anthropic_fake.url, tools=[lookup, second]))
    body = anthropic_fake.message_bodies[0]
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert [t.get("cache_control") for t in body["tools"]] == [None, {"type": "ephemeral"}]
    assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    marked = [
        block
        for message in body["messages"]
        for block in message["content"]
        if "cache_control" in block
    ]
    assert len(marked) == 1


async def test_tool_use_streams_json_input_and_results_go_back_with_provider_ids(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(
        anthropic_reply(
            text="Checking.", tool_uses=[ToolUse("lookup", {"sku": "A-1"}, id="toolu_01ABC")]
        ),
        anthropic_reply(text="It costs 4.50."),
    )
    events = await run_pricing(anthropic_runtime(anthropic_fake.url))
    calls = of_type(events, "tool-invocation")
    assert [(c["state"], c["toolInvocationId"], c["args"]) for c in calls] == [
        ("call", "toolu_01ABC", {"sku": "A-1"}),
        ("result", "toolu_01ABC", {"sku": "A-1"}),
    ]
    assert calls[1]["result"] == {"sku": "A-1", "price": 4.5}
    assert len(of_type(events, "step-start")) == 2
    second = anthropic_fake.requests[1]
    assistant = second.json["messages"][1]
    assert assistant["role"] == "assistant"
    assert [b["type"] for b in assistant["content"]] == ["text", "tool_use"]
    assert assistant["content"][1] == {
        "type": "tool_use",
        "id": "toolu_01ABC",
        "name": "lookup",
        "input": {"sku": "A-1"},
    }
    assert last_tool_results(second) == [
        {"tool_use_id": "toolu_01ABC", "content": {"sku": "A-1", "price": 4.5}}
    ]
    assert texts(events) == "Checking.It costs 4.50."


async def test_tool_errors_and_non_object_results_are_wrapped_for_the_model(
    anthropic_fake: FakeAnthropic,
) -> None:
    listing = ToolSpec(
        name="listing",
        description="",
        input_schema={"type": "object"},
        handler=lambda args, ctx: [1, 2],
    )

    def broken(args: dict[str, Any], ctx: Any) -> None:
        raise RuntimeError("database down")

    failing = ToolSpec(
        name="failing", description="", input_schema={"type": "object"}, handler=broken
    )
    anthropic_fake.queue(
        anthropic_reply(
            tool_uses=[ToolUse("listing", {}, id="toolu_1"), ToolUse("failing", {}, id="toolu_2")]
        ),
        anthropic_reply(text="done"),
    )
    await run_pricing(anthropic_runtime(anthropic_fake.url, tools=[listing, failing]))
    results = last_tool_results(anthropic_fake.requests[1])
    assert results[0] == {"tool_use_id": "toolu_1", "content": {"value": [1, 2]}}
    assert results[1]["content"]["isError"] is True
    assert "database down" in results[1]["content"]["error"]


async def test_thinking_streams_as_reasoning_and_is_sent_back_with_its_signature(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(
        anthropic_reply(
            thinking=["Need the ", "price."],
            tool_uses=[ToolUse("lookup", {"sku": "A-1"}, id="toolu_1")],
        ),
        anthropic_reply(text="4.50"),
    )
    events = await run_pricing(anthropic_runtime(anthropic_fake.url))
    assert [e["text"] for e in of_type(events, "reasoning")] == ["Need the ", "price."]
    assistant = anthropic_fake.message_bodies[1]["messages"][1]
    assert assistant["content"][0]["type"] == "thinking"
    assert assistant["content"][0]["thinking"] == "Need the price."
    assert assistant["content"][0]["signature"].startswith("sig-msg_fake")
    assert assistant["content"][1]["type"] == "tool_use"


async def test_usage_counts_cache_reads_and_writes_and_is_priced(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(
        anthropic_reply(
            tool_uses=[ToolUse("lookup", {"sku": "A-1"})],
            input_tokens=100,
            cache_creation=1000,
            output_tokens=40,
        ),
        anthropic_reply(text="4.50", input_tokens=20, cache_read=1000, output_tokens=10),
    )
    events = await run_pricing(anthropic_runtime(anthropic_fake.url))
    usage = of_type(events, "finish")[0]["usage"]
    assert usage == {
        "promptTokens": 100 + 1000 + 20 + 1000,
        "completionTokens": 50,
        "cacheReadInputTokens": 1000,
        "cacheCreationInputTokens": 1000,
        "totalTokens": 2170,
    }
    cost = of_type(events, "data-cost-summary")[0]["data"]
    agent = cost["agents"][0]
    assert agent["agentName"] == "pricing" and agent["model"] == "claude-sonnet-4-6"
    assert agent["usage"] == usage
    # sonnet: $3 in, $15 out, $3.75 cache write, $0.30 cache read per million tokens
    expected = (120 * 3 + 50 * 15 + 1000 * 3.75 + 1000 * 0.3) / 1_000_000
    assert agent["costUsd"] == pytest.approx(expected)
    assert cost["totalCostUsd"] == pytest.approx(expected)
    latency = of_type(events, "data-latency-summary")[0]["data"]
    assert latency["phases"]["llmCalls"] == 2
    assert latency["retryCount"] == 0 and latency["hadTimeout"] is False
    assert isinstance(latency["ttftMs"], int)


async def test_price_table_can_be_overridden_per_provider(anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.queue(anthropic_reply(text="ok", input_tokens=1_000_000, output_tokens=0))
    runtime = anthropic_runtime(
        anthropic_fake.url,
        model="claude-custom",
        config={"prices": {"claude-custom": {"inputPerMTok": 2.0, "outputPerMTok": 8.0}}},
    )
    events = await run_pricing(runtime)
    assert of_type(events, "data-cost-summary")[0]["data"]["totalCostUsd"] == pytest.approx(2.0)


async def test_unpriced_models_report_usage_without_cost(anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.queue(anthropic_reply(text="ok"))
    events = await run_pricing(anthropic_runtime(anthropic_fake.url, model="claude-custom"))
    data = of_type(events, "data-cost-summary")[0]["data"]
    assert "totalCostUsd" not in data and "costUsd" not in data["agents"][0]
    assert data["totalTokens"] == 150


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("refusal", "content-filter"),
        ("model_context_window_exceeded", "length"),
    ],
)
async def test_stop_reasons_map_to_finish_reasons(
    anthropic_fake: FakeAnthropic, stop_reason: str, finish: str
) -> None:
    anthropic_fake.queue(anthropic_reply(text="partial", stop_reason=stop_reason))
    events = await run_pricing(anthropic_runtime(anthropic_fake.url))
    assert of_type(events, "finish")[0]["finishReason"] == finish
    assert map_stop_reason(stop_reason) == finish


async def test_max_tokens_cut_inside_tool_input_finishes_with_length(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(
        anthropic_reply(
            tool_uses=[ToolUse("lookup", raw_input='{"sku": "A-')], stop_reason="max_tokens"
        )
    )
    events = await run_pricing(anthropic_runtime(anthropic_fake.url))
    assert of_type(events, "tool-invocation") == []
    assert of_type(events, "finish")[0]["finishReason"] == "length"


async def test_base_url_comes_from_the_sdk_environment_variable(
    anthropic_fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowai_harness import create_runtime, define_runtime, define_specialist

    from .support import TENANT

    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic_fake.url)
    monkeypatch.setenv("MY_ANTHROPIC_KEY", SECRET_KEY)
    spec = define_runtime(
        TENANT,
        agents=[define_specialist("pricing", model="claude-haiku-4-5", prompt="p")],
        providers={"anthropic": {"apiKeyEnv": "MY_ANTHROPIC_KEY"}},
    )
    anthropic_fake.queue(anthropic_reply(text="via env"))
    events = await run_pricing(create_runtime(spec, interpreter="anthropic"))
    assert texts(events) == "via env"
    body = anthropic_fake.message_bodies[0]
    assert "thinking" not in body and "output_config" not in body and "tools" not in body
    headers = anthropic_fake.requests[0].headers
    assert (headers.get("x-api-key") or headers.get("authorization", "")).endswith(SECRET_KEY)
    assert_no_secret(events)


def _request(**overrides: Any) -> ModelRequest:
    values: dict[str, Any] = {
        "agent": "a",
        "model": "claude-haiku-4-5",
        "provider": "anthropic",
        "system_prompt": "",
        "prompt": "next",
        "history": [],
        "tools": [],
        "turn": 1,
        "max_turns": 4,
    }
    values.update(overrides)
    return ModelRequest(**values)


def test_history_expands_tool_interactions_then_text() -> None:
    history = [
        Message("user", "first"),
        Message(
            "assistant",
            "answer",
            [ToolInteraction("scripted-tool-1", "lookup", {"sku": "A"}, {"price": 1})],
        ),
    ]
    settings = provider_settings("anthropic", {"apiKey": "k"})
    body = anthropic_request(_request(history=history), "claude-haiku-4-5", settings)
    assert [(m["role"], [b["type"] for b in m["content"]]) for m in body["messages"]] == [
        ("user", ["text"]),
        ("assistant", ["tool_use"]),
        ("user", ["tool_result"]),
        ("assistant", ["text"]),
        ("user", ["text"]),
    ]
    assert body["messages"][2]["content"][0]["tool_use_id"] == "scripted-tool-1"
    assert json.loads(body["messages"][2]["content"][0]["content"][0]["text"]) == {"price": 1}
    assert "system" not in body


def test_thinking_budget_enables_extended_thinking() -> None:
    settings = provider_settings("anthropic", {"apiKey": "k", "thinkingBudgetTokens": 2048})
    tools = [ToolDefinition("t", "", {"type": "object"})]
    body = anthropic_request(_request(tools=tools), "claude-haiku-4-5", settings)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["tools"] == [
        {"name": "t", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}}
    ]
