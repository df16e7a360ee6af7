"""Fault injection through the fake servers: every fault ends in success or a clear error.

Each run is bounded by ``asyncio.wait_for``; every test checks that no output is duplicated and
that the API key shows up in no event and no log record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from tests.waiting import wait_until

from .conftest import SECRET_KEY
from .fakes.anthropic_server import (
    FakeAnthropic,
    ToolUse,
    anthropic_error,
    anthropic_reply,
    anthropic_stream,
)
from .fakes.http import DropReply, HangReply, StreamReply
from .fakes.openai_server import FakeOpenAI, FunctionCall, openai_error, openai_reply
from .support import (
    anthropic_runtime,
    assert_no_secret,
    fast_retries,
    of_type,
    openai_runtime,
    run_pricing,
    texts,
)

BOUND_SECS = 20.0


@pytest.fixture(autouse=True)
def _capture_everything(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.DEBUG)
    yield
    assert_no_secret(caplog.text)


async def _run_anthropic(fake: FakeAnthropic, **config: Any) -> list[dict[str, Any]]:
    runtime = anthropic_runtime(fake.url, config=fast_retries(**config))
    events = await asyncio.wait_for(run_pricing(runtime), BOUND_SECS)
    assert_no_secret(events)
    return events


async def _run_openai(fake: FakeOpenAI, **config: Any) -> list[dict[str, Any]]:
    runtime = openai_runtime(fake.base_url, config=fast_retries(**config))
    events = await asyncio.wait_for(run_pricing(runtime), BOUND_SECS)
    assert_no_secret(events)
    return events


def _latency(events: list[dict[str, Any]]) -> dict[str, Any]:
    return of_type(events, "data-latency-summary")[0]["data"]


def _error(events: list[dict[str, Any]]) -> dict[str, Any]:
    errors = of_type(events, "error")
    assert errors, "expected an error event"
    return errors[0]["error"]


# --------------------------------------------------------------------------- retried, then fine


async def test_429_is_retried_after_the_retry_after_delay(anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.queue(
        anthropic_error(
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
            {"retry-after": "1"},
        ),
        anthropic_reply(text="ok"),
    )
    started = time.monotonic()
    events = await _run_anthropic(anthropic_fake)
    assert time.monotonic() - started >= 1.0
    assert texts(events) == "ok"
    latency = _latency(events)
    assert latency["retryCount"] == 1
    assert latency["retryEvents"] == [
        {
            "attempt": 1,
            "model": "claude-sonnet-4-6",
            "reason": "rate_limited",
            "status": 429,
            "delayMs": latency["retryEvents"][0]["delayMs"],
        }
    ]
    assert latency["retryEvents"][0]["delayMs"] >= 1000
    assert len(anthropic_fake.requests) == 2


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (529, "overloaded_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "api_error"),
        (504, "api_error"),
    ],
)
async def test_overloaded_and_server_errors_are_retried(
    anthropic_fake: FakeAnthropic, status: int, error_type: str
) -> None:
    anthropic_fake.queue(
        anthropic_error(status, error_type, "try again"), anthropic_reply(text="recovered")
    )
    events = await _run_anthropic(anthropic_fake)
    assert texts(events) == "recovered"
    assert _latency(events)["retryCount"] == 1
    assert of_type(events, "error") == []


async def test_connection_dropped_before_the_first_byte_is_retried(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(DropReply(), DropReply(), anthropic_reply(text="third time"))
    events = await _run_anthropic(anthropic_fake)
    assert texts(events) == "third time"
    assert [e["reason"] for e in _latency(events)["retryEvents"]] == ["connection_error"] * 2


async def test_stream_cut_before_any_output_is_retried_without_duplicates(
    anthropic_fake: FakeAnthropic,
) -> None:
    # message_start and an empty text block arrived, but no text yet: a retry is safe.
    anthropic_fake.queue(
        StreamReply(anthropic_stream(text="Hello"), cut_after=2), anthropic_reply(text="Hello")
    )
    events = await _run_anthropic(anthropic_fake)
    assert texts(events) == "Hello"
    assert _latency(events)["retryEvents"][0]["reason"] == "connection_error"


async def test_overloaded_error_event_inside_the_stream_is_retried(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(
        anthropic_reply(error_after=("overloaded_error", "Overloaded")),
        anthropic_reply(text="fine"),
    )
    events = await _run_anthropic(anthropic_fake)
    assert texts(events) == "fine"
    assert _latency(events)["retryEvents"][0]["status"] == 529


async def test_malformed_tool_input_before_any_output_is_retried(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(
        anthropic_reply(tool_uses=[ToolUse("lookup", raw_input='{"sku": "A-1"')]),
        anthropic_reply(tool_uses=[ToolUse("lookup", {"sku": "A-1"})]),
        anthropic_reply(text="4.50"),
    )
    events = await _run_anthropic(anthropic_fake)
    calls = [e for e in of_type(events, "tool-invocation") if e["state"] == "call"]
    assert [c["args"] for c in calls] == [{"sku": "A-1"}]
    assert _latency(events)["retryEvents"][0]["reason"] == "invalid_tool_input"


async def test_a_server_that_never_answers_times_out_then_recovers(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(HangReply(), anthropic_reply(text="late but fine"))
    events = await _run_anthropic(anthropic_fake, timeoutSecs=0.5)
    assert texts(events) == "late but fine"
    latency = _latency(events)
    assert latency["hadTimeout"] is True
    assert latency["retryEvents"][0]["reason"] == "timeout"


async def test_fallback_model_answers_when_the_primary_stays_overloaded(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(
        anthropic_error(529, "overloaded_error", "Overloaded"),
        anthropic_error(529, "overloaded_error", "Overloaded"),
        anthropic_reply(
            text="from haiku", model="claude-haiku-4-5", input_tokens=1_000_000, output_tokens=0
        ),
    )
    events = await _run_anthropic(
        anthropic_fake,
        maxRetries=1,
        fallbackModels={"claude-sonnet-4-6": ["claude-haiku-4-5"]},
    )
    assert texts(events) == "from haiku"
    assert [b["model"] for b in anthropic_fake.message_bodies] == [
        "claude-sonnet-4-6",
        "claude-sonnet-4-6",
        "claude-haiku-4-5",
    ]
    latency = _latency(events)
    assert latency["retryEvents"][-1] == {
        "fallbackFrom": "claude-sonnet-4-6",
        "fallbackTo": "claude-haiku-4-5",
        "reason": "overloaded",
        "status": 529,
    }
    # priced at the model that answered: haiku input is $1 per million tokens
    cost = of_type(events, "data-cost-summary")[0]["data"]
    assert cost["totalCostUsd"] == pytest.approx(1.0)


async def test_unknown_model_falls_back_without_retrying(anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.queue(
        anthropic_error(404, "not_found_error", "model: claude-x"), anthropic_reply(text="fallback")
    )
    runtime = anthropic_runtime(
        anthropic_fake.url,
        model="claude-x",
        config=fast_retries(fallbackModels={"claude-x": ["claude-haiku-4-5"]}),
    )
    events = await asyncio.wait_for(run_pricing(runtime), BOUND_SECS)
    assert texts(events) == "fallback"
    assert _latency(events)["retryCount"] == 0


# --------------------------------------------------------------------------- clear errors


async def test_persistent_server_errors_end_in_an_error_after_the_retries(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(*[anthropic_error(500, "api_error", "Internal server error")] * 3)
    events = await _run_anthropic(anthropic_fake, maxRetries=2)
    error = _error(events)
    assert error["code"] == "server_error"
    assert "HTTP 500 api_error: Internal server error" in error["message"]
    assert "gave up after 2 retries" in error["message"]
    assert "provider 'anthropic' for agent 'pricing' [claude-sonnet-4-6]" in error["message"]
    assert len(anthropic_fake.requests) == 3
    assert of_type(events, "finish") == []


async def test_stream_broken_after_output_ends_with_an_error_and_no_retry(
    anthropic_fake: FakeAnthropic,
) -> None:
    events_sent = anthropic_stream(text=["Hel", "lo"])
    anthropic_fake.queue(StreamReply(events_sent, cut_after=3), anthropic_reply(text="Hello"))
    events = await _run_anthropic(anthropic_fake)
    assert texts(events) == "Hel"  # emitted once, never replayed
    error = _error(events)
    assert error["code"] == "stream_interrupted"
    assert "not retried" in error["message"]
    assert len(anthropic_fake.requests) == 1


async def test_stream_broken_after_a_tool_ran_is_not_retried(
    anthropic_fake: FakeAnthropic,
) -> None:
    frames = anthropic_stream(tool_uses=[ToolUse("lookup", {"sku": "A-1"})])
    anthropic_fake.queue(StreamReply(frames, cut_after=len(frames) - 2))
    events = await _run_anthropic(anthropic_fake)
    assert len([e for e in of_type(events, "tool-invocation") if e["state"] == "call"]) == 1
    assert _error(events)["code"] == "stream_interrupted"
    assert len(anthropic_fake.requests) == 1


async def test_malformed_tool_input_after_text_is_a_clear_error(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(
        anthropic_reply(
            text="Let me look.", tool_uses=[ToolUse("lookup", id="toolu_9", raw_input='{"sku": ')]
        )
    )
    events = await _run_anthropic(anthropic_fake)
    error = _error(events)
    assert error["code"] == "invalid_tool_input"
    assert "malformed JSON as the input of tool 'lookup' (call toolu_9)" in error["message"]
    assert of_type(events, "tool-invocation") == []
    assert texts(events) == "Let me look."


async def test_a_server_that_never_answers_ends_in_a_timeout_error(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(HangReply(), HangReply())
    started = time.monotonic()
    events = await _run_anthropic(anthropic_fake, timeoutSecs=0.3, maxRetries=1)
    assert time.monotonic() - started < 5.0
    error = _error(events)
    assert error["code"] == "timeout"
    assert "no response within timeoutSecs=0.3" in error["message"]


async def test_a_stream_that_stalls_after_output_times_out_without_retry(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(StreamReply(anthropic_stream(text=["a", "b"]), stall_after=3))
    events = await _run_anthropic(anthropic_fake, timeoutSecs=0.3)
    assert texts(events) == "a"
    assert _error(events)["code"] == "stream_interrupted"
    assert len(anthropic_fake.requests) == 1


async def test_authentication_errors_are_not_retried_and_never_echo_the_key(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(
        anthropic_error(401, "authentication_error", f"invalid x-api-key {SECRET_KEY}")
    )
    events = await _run_anthropic(anthropic_fake)
    error = _error(events)
    assert error["code"] == "authentication_error"
    assert "invalid x-api-key ***" in error["message"]
    assert len(anthropic_fake.requests) == 1


async def test_should_retry_false_header_stops_retries(anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.queue(anthropic_error(500, "api_error", "nope", {"x-should-retry": "false"}))
    events = await _run_anthropic(anthropic_fake)
    assert _error(events)["code"] == "server_error"
    assert len(anthropic_fake.requests) == 1


async def test_retry_after_beyond_the_maximum_delay_is_not_waited_for(
    anthropic_fake: FakeAnthropic,
) -> None:
    anthropic_fake.queue(
        anthropic_error(429, "rate_limit_error", "slow down", {"retry-after": "3600"})
    )
    events = await _run_anthropic(anthropic_fake)
    message = _error(events)["message"]
    assert "asked to retry after 3600s, more than retryMaxDelaySecs=2" in message


# --------------------------------------------------------------------------- OpenAI


async def test_openai_429_and_dropped_connection_are_retried(openai_fake: FakeOpenAI) -> None:
    openai_fake.queue(
        openai_error(429, "requests", "Rate limit reached", {"retry-after-ms": "50"}),
        DropReply(),
        openai_reply(text="ok"),
    )
    events = await _run_openai(openai_fake)
    assert texts(events) == "ok"
    assert [e["reason"] for e in _latency(events)["retryEvents"]] == [
        "rate_limited",
        "connection_error",
    ]


async def test_openai_stream_cut_after_output_is_an_error(openai_fake: FakeOpenAI) -> None:
    from .fakes.openai_server import openai_stream

    openai_fake.queue(StreamReply(openai_stream(text=["one ", "two"]), cut_after=2))
    events = await _run_openai(openai_fake)
    assert texts(events) == "one "
    assert _error(events)["code"] == "stream_interrupted"
    assert len(openai_fake.requests) == 1


async def test_openai_malformed_arguments_are_retried_then_fine(openai_fake: FakeOpenAI) -> None:
    openai_fake.queue(
        openai_reply(calls=[FunctionCall("lookup", raw_arguments='{"sku":')]),
        openai_reply(calls=[FunctionCall("lookup", {"sku": "B"})]),
        openai_reply(text="done"),
    )
    events = await _run_openai(openai_fake)
    calls = [e for e in of_type(events, "tool-invocation") if e["state"] == "call"]
    assert [c["args"] for c in calls] == [{"sku": "B"}]


async def test_openai_malformed_arguments_after_text_are_an_error(
    openai_fake: FakeOpenAI,
) -> None:
    openai_fake.queue(
        openai_reply(text="Calling.", calls=[FunctionCall("lookup", raw_arguments="{oops")])
    )
    events = await _run_openai(openai_fake)
    assert _error(events)["code"] == "invalid_tool_input"
    assert of_type(events, "tool-invocation") == []


async def test_openai_hang_times_out(openai_fake: FakeOpenAI) -> None:
    openai_fake.queue(HangReply())
    events = await _run_openai(openai_fake, timeoutSecs=0.3, maxRetries=0)
    assert _error(events)["code"] == "timeout"


async def test_openai_error_inside_the_stream_is_retried(openai_fake: FakeOpenAI) -> None:
    from .fakes.http import sse

    broken = StreamReply(
        [
            sse(
                {
                    "error": {
                        "message": "The server had an error",
                        "type": "server_error",
                        "code": None,
                    }
                }
            )
        ]
    )
    openai_fake.queue(broken, openai_reply(text="ok"))
    events = await _run_openai(openai_fake)
    assert texts(events) == "ok"
    assert _latency(events)["retryEvents"][0]["status"] == 500


# --------------------------------------------------------------------------- cancellation


async def test_closing_the_stream_mid_response_closes_the_connection(
    anthropic_fake: FakeAnthropic,
) -> None:
    frames = anthropic_stream(text=["one ", "two ", "three ", "four"])
    anthropic_fake.queue(StreamReply(frames, delay_secs=0.2))
    runtime = anthropic_runtime(anthropic_fake.url, config=fast_retries())
    stream = runtime.run_specialist("pricing", "count", thread_id="t-1")
    async for event in stream:
        if event["type"] == "text":
            break
    await stream.aclose()
    await wait_until(lambda: anthropic_fake.open_connections == 0)  # the server sees the hang-up
    assert len(anthropic_fake.requests) == 1


async def test_closing_the_stream_during_a_retry_wait_ends_promptly(
    anthropic_fake: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    anthropic_fake.queue(
        anthropic_error(529, "overloaded_error", "Overloaded", {"retry-after": "10"})
    )
    runtime = anthropic_runtime(anthropic_fake.url, config=fast_retries(retryMaxDelaySecs=30))
    stream = runtime.run_specialist("pricing", "hello", thread_id="t-1")
    started = time.monotonic()
    async for event in stream:
        if event["type"] == "step-start":
            break
    # the client logs the retry just before it starts waiting out retry-after
    await wait_until(lambda: any("retry 1 of" in r.getMessage() for r in caplog.records))
    await stream.aclose()
    assert time.monotonic() - started < 3.0
    assert len(anthropic_fake.requests) == 1
