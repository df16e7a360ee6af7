"""The OpenAI provider through the official SDK against a fake Chat Completions API."""

from __future__ import annotations

import json

import pytest

from flowai_harness import create_runtime, define_runtime, define_specialist
from flowai_harness.ports import Message, ModelRequest, ToolInteraction
from flowai_harness.providers.messages import conversation
from flowai_harness.providers.openai import map_finish_reason, openai_messages

from .conftest import SECRET_KEY
from .fakes.openai_server import FakeOpenAI, FunctionCall, openai_reply
from .support import TENANT, assert_no_secret, of_type, openai_runtime, run_pricing, texts


async def test_text_streams_and_the_request_has_the_chat_shape(openai_fake: FakeOpenAI) -> None:
    openai_fake.queue(openai_reply(text=["Hel", "lo"]))
    events = await run_pricing(openai_runtime(openai_fake.base_url))
    assert [e["text"] for e in of_type(events, "text")] == ["Hel", "lo"]
    request = openai_fake.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {SECRET_KEY}"
    body = request.json
    assert body["model"] == "gpt-4o"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][0]["role"] == "system"
    assert body["messages"][1] == {"role": "user", "content": "price of A-1?"}
    assert body["tools"][0]["type"] == "function"
    assert body["tools"][0]["function"]["name"] == "lookup"
    assert body["tool_choice"] == "auto"
    assert "max_tokens" not in body and "max_completion_tokens" not in body


async def test_streamed_tool_calls_run_and_results_go_back_as_tool_messages(
    openai_fake: FakeOpenAI,
) -> None:
    openai_fake.queue(
        openai_reply(
            text="Checking.", calls=[FunctionCall("lookup", {"sku": "A-1"}, id="call_abc")]
        ),
        openai_reply(text="4.50"),
    )
    events = await run_pricing(openai_runtime(openai_fake.base_url))
    calls = of_type(events, "tool-invocation")
    assert [(c["state"], c["toolInvocationId"], c["args"]) for c in calls] == [
        ("call", "call_abc", {"sku": "A-1"}),
        ("result", "call_abc", {"sku": "A-1"}),
    ]
    messages = openai_fake.completion_bodies[1]["messages"]
    assert messages[2] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_abc",
                "type": "function",
                "function": {"name": "lookup", "arguments": '{"sku": "A-1"}'},
            }
        ],
    }
    assert messages[3]["role"] == "tool" and messages[3]["tool_call_id"] == "call_abc"
    assert json.loads(messages[3]["content"]) == {"sku": "A-1", "price": 4.5}
    assert texts(events) == "Checking.4.50"


async def test_several_tool_calls_in_one_turn_run_in_order(openai_fake: FakeOpenAI) -> None:
    openai_fake.queue(
        openai_reply(
            calls=[FunctionCall("lookup", {"sku": "A"}), FunctionCall("lookup", {"sku": "B"})]
        ),
        openai_reply(text="done"),
    )
    events = await run_pricing(openai_runtime(openai_fake.base_url))
    calls = [c["args"]["sku"] for c in of_type(events, "tool-invocation") if c["state"] == "call"]
    assert calls == ["A", "B"]
    tool_messages = [m for m in openai_fake.completion_bodies[1]["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 2


async def test_usage_with_cached_tokens_is_reported_and_priced(openai_fake: FakeOpenAI) -> None:
    openai_fake.queue(
        openai_reply(text="ok", prompt_tokens=1000, completion_tokens=100, cached_tokens=400)
    )
    events = await run_pricing(openai_runtime(openai_fake.base_url, model="gpt-4o-mini"))
    usage = of_type(events, "finish")[0]["usage"]
    assert usage == {
        "promptTokens": 1000,
        "completionTokens": 100,
        "cacheReadInputTokens": 400,
        "cacheCreationInputTokens": 0,
        "totalTokens": 1100,
    }
    cost = of_type(events, "data-cost-summary")[0]["data"]
    expected = (600 * 0.15 + 400 * 0.075 + 100 * 0.6) / 1_000_000
    assert cost["totalCostUsd"] == pytest.approx(expected)
    assert cost["agents"][0]["agentName"] == "pricing"


async def test_compatible_server_without_key_gets_max_tokens_and_reasoning(
    openai_fake: FakeOpenAI,
) -> None:
    openai_fake.queue(openai_reply(reasoning=["think"], text="hi", model="llama3.1"))
    runtime = openai_runtime(
        openai_fake.base_url, model="llama3.1", api_key=False, config={"maxTokens": 512}
    )
    events = await run_pricing(runtime)
    assert [e["text"] for e in of_type(events, "reasoning")] == ["think"]
    body = openai_fake.completion_bodies[0]
    assert body["max_tokens"] == 512 and "max_completion_tokens" not in body
    assert "data-cost-summary" in {e["type"] for e in events}


async def test_custom_provider_key_with_api_openai(openai_fake: FakeOpenAI) -> None:
    openai_fake.queue(openai_reply(text="from ollama"))
    spec = define_runtime(
        TENANT,
        agents=[
            define_specialist("pricing", model={"id": "qwen3", "provider": "ollama"}, prompt="p")
        ],
        providers={"ollama": {"api": "openai", "baseUrl": openai_fake.base_url}},
    )
    events = await run_pricing(create_runtime(spec, interpreter="openai"))
    assert texts(events) == "from ollama"


@pytest.mark.parametrize(
    ("finish_reason", "expected"),
    [("stop", "stop"), ("length", "length"), ("content_filter", "content-filter")],
)
async def test_finish_reasons_map(
    openai_fake: FakeOpenAI, finish_reason: str, expected: str
) -> None:
    openai_fake.queue(openai_reply(text="x", finish_reason=finish_reason))
    events = await run_pricing(openai_runtime(openai_fake.base_url))
    assert of_type(events, "finish")[0]["finishReason"] == expected
    assert map_finish_reason(finish_reason) == expected


async def test_tool_calls_reported_with_finish_stop_still_run(openai_fake: FakeOpenAI) -> None:
    openai_fake.queue(
        openai_reply(calls=[FunctionCall("lookup", {"sku": "A"})], finish_reason="stop"),
        openai_reply(text="done"),
    )
    events = await run_pricing(openai_runtime(openai_fake.base_url))
    assert len(of_type(events, "tool-invocation")) == 2
    assert texts(events) == "done"


async def test_missing_usage_chunk_reports_zero_usage(openai_fake: FakeOpenAI) -> None:
    openai_fake.queue(openai_reply(text="x", usage=False))
    events = await run_pricing(openai_runtime(openai_fake.base_url))
    assert of_type(events, "finish")[0]["usage"]["totalTokens"] == 0
    assert_no_secret(events)


def test_messages_map_history_prompt_and_turns() -> None:
    request = ModelRequest(
        agent="a",
        model="gpt-4o",
        provider="openai",
        system_prompt="sys",
        prompt="now",
        history=[
            Message("user", "before"),
            Message("assistant", "said", [ToolInteraction("c1", "t", None, "ok")]),
        ],
        tools=[],
        turn=2,
        max_turns=4,
        turns=[[ToolInteraction("c2", "t", {"a": 1}, {"boom": 1}, is_error=True)]],
        assistant_texts=[""],
    )
    messages = openai_messages(request.system_prompt, conversation(request))
    roles = [m["role"] for m in messages]
    assert roles == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
        "tool",
    ]
    assert messages[2]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert messages[3]["content"] == '"ok"'
    assert messages[6]["content"] is None
    assert json.loads(messages[7]["content"]) == {"boom": 1, "isError": True}


def test_api_openai_com_gets_max_completion_tokens() -> None:
    from flowai_harness.providers.factory import provider_settings
    from flowai_harness.providers.openai import openai_request

    request = ModelRequest(
        agent="a",
        model="gpt-5",
        provider="openai",
        system_prompt="",
        prompt="hi",
        history=[],
        tools=[],
        turn=1,
        max_turns=2,
    )
    settings = provider_settings("openai", {"apiKey": "k", "maxTokens": 1000})
    body = openai_request(request, "gpt-5", settings, official=True)
    assert body["max_completion_tokens"] == 1000 and "max_tokens" not in body
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert "tools" not in body
