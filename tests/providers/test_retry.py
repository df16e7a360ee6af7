"""The retry driver: backoff, retry-after, no retry after output, fallback, turn statistics."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowai_harness.events import TokenUsage
from flowai_harness.ports import ModelError, ModelFinish, ModelLatency, ModelPart, ModelText
from flowai_harness.providers.pricing import PriceTable
from flowai_harness.providers.retry import (
    AttemptFailed,
    RetryPolicy,
    resilient_turn,
    retry_after_secs,
    scrub_secret,
)


def _failure(retryable: bool = True, retry_after: float | None = None, **kw: Any) -> AttemptFailed:
    return AttemptFailed(
        "boom", code="server_error", retryable=retryable, retry_after=retry_after, **kw
    )


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay_secs=0.5, max_delay_secs=4.0)
    full = [policy.delay(n, _failure(), lambda: 1.0) for n in range(6)]
    assert full == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    half = [policy.delay(n, _failure(), lambda: 0.0) for n in range(3)]
    assert half == [0.25, 0.5, 1.0]


@given(attempt=st.integers(0, 20), jitter=st.floats(0.0, 0.999999))
def test_jittered_delay_stays_within_half_and_full_backoff(attempt: int, jitter: float) -> None:
    policy = RetryPolicy(max_retries=30, initial_delay_secs=0.1, max_delay_secs=8.0)
    delay = policy.delay(attempt, _failure(), lambda: jitter)
    backoff = min(8.0, 0.1 * 2**attempt)
    assert delay is not None and backoff / 2 <= delay <= backoff


def test_retry_after_is_a_floor_and_too_long_a_wait_stops_retrying() -> None:
    policy = RetryPolicy(max_retries=3, initial_delay_secs=0.1, max_delay_secs=10.0)
    assert policy.delay(0, _failure(retry_after=3.0), lambda: 0.5) == 3.0
    assert policy.delay(0, _failure(retry_after=11.0), lambda: 0.5) is None


def test_non_retryable_failures_and_exhausted_attempts_stop() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.delay(0, _failure(retryable=False), lambda: 0.5) is None
    assert policy.delay(2, _failure(), lambda: 0.5) is None


def test_retry_after_headers_in_ms_seconds_and_dates() -> None:
    assert retry_after_secs({"retry-after-ms": "250"}) == 0.25
    assert retry_after_secs({"retry-after": "7"}) == 7.0
    assert retry_after_secs({"retry-after": "1.5"}) == 1.5
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    parsed = retry_after_secs({"retry-after": future})
    assert parsed is not None and 25 <= parsed <= 31
    assert retry_after_secs({"retry-after": "soon"}) is None
    assert retry_after_secs({}) is None


def test_secrets_are_scrubbed_from_messages() -> None:
    assert scrub_secret("bad key sk-abc123", "sk-abc123") == "bad key ***"
    assert scrub_secret("nothing here", None) == "nothing here"


class _Script:
    """Attempts that fail or stream as scripted; records the models asked for."""

    def __init__(self, *plans: list[ModelPart | AttemptFailed]) -> None:
        self.plans = list(plans)
        self.models: list[str] = []
        self.closed = 0

    async def __call__(self, model: str) -> AsyncGenerator[ModelPart, None]:
        self.models.append(model)
        plan = self.plans.pop(0)
        try:
            for step in plan:
                if isinstance(step, AttemptFailed):
                    raise step
                yield step
        finally:
            self.closed += 1


async def _drive(
    script: _Script, models: list[str] | None = None, **policy: Any
) -> tuple[list[ModelPart], list[float]]:
    sleeps: list[float] = []

    async def sleep(secs: float) -> None:
        sleeps.append(secs)

    parts = [
        part
        async for part in resilient_turn(
            script,
            models=models or ["m1"],
            policy=RetryPolicy(**policy),
            prices=PriceTable(),
            label="provider 'p' for agent 'a'",
            sleep=sleep,
            rng=lambda: 1.0,
        )
    ]
    return parts, sleeps


FINISH = ModelFinish("stop", TokenUsage(prompt_tokens=10, completion_tokens=5))


async def test_failures_before_output_are_retried_with_backoff() -> None:
    script = _Script([_failure()], [_failure()], [ModelText("hi"), FINISH])
    parts, sleeps = await _drive(script, initial_delay_secs=1.0)
    assert sleeps == [1.0, 2.0]
    assert [type(p).__name__ for p in parts] == ["ModelText", "ModelLatency", "ModelFinish"]
    latency = parts[1]
    assert isinstance(latency, ModelLatency)
    assert latency.summary.retry_count == 2 and latency.summary.llm_calls == 1
    finish = parts[2]
    assert isinstance(finish, ModelFinish) and finish.retry_count == 2
    assert script.closed == 3


async def test_a_failure_after_output_is_an_error_without_retry() -> None:
    timeout = AttemptFailed("no response", code="timeout", retryable=True, timed_out=True)
    script = _Script([ModelText("par"), timeout], [ModelText("never")])
    parts, sleeps = await _drive(script)
    assert parts[0] == ModelText("par")
    assert isinstance(parts[1], ModelError) and parts[1].code == "stream_interrupted"
    assert sleeps == [] and len(script.plans) == 1


async def test_a_stream_that_ends_without_finish_counts_as_broken() -> None:
    script = _Script([], [ModelText("ok"), FINISH])
    parts, _ = await _drive(script)
    assert parts[0] == ModelText("ok")


async def test_exhausted_retries_fall_back_to_the_next_model() -> None:
    script = _Script([_failure()], [_failure()], [FINISH])
    parts, _ = await _drive(script, models=["m1", "m2"], max_retries=1)
    assert script.models == ["m1", "m1", "m2"]
    latency = parts[0]
    assert isinstance(latency, ModelLatency)
    assert latency.summary.retry_events[-1] == {
        "fallbackFrom": "m1",
        "fallbackTo": "m2",
        "reason": "server_error",
    }


async def test_non_retryable_errors_neither_retry_nor_fall_back() -> None:
    script = _Script([_failure(retryable=False, status=400)])
    parts, sleeps = await _drive(script, models=["m1", "m2"])
    assert parts == [ModelError("provider 'p' for agent 'a' [m1]: boom", "server_error")]
    assert sleeps == []


async def test_finished_turns_are_priced_at_the_answering_model() -> None:
    script = _Script([ModelFinish("stop", TokenUsage(prompt_tokens=1_000_000))])
    parts, _ = await _drive(script, models=["claude-haiku-4-5"])
    finish = parts[-1]
    assert isinstance(finish, ModelFinish) and finish.usage.cost_usd == pytest.approx(1.0)


async def test_closing_the_turn_closes_the_running_attempt() -> None:
    script = _Script([ModelText("a"), ModelText("b"), FINISH])
    turn = resilient_turn(
        script, models=["m"], policy=RetryPolicy(), prices=PriceTable(), label="x"
    )
    assert await anext(turn) == ModelText("a")
    await turn.aclose()
    assert script.closed == 1
