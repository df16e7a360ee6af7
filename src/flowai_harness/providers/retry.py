"""Fault tolerance for live model calls: retries, backoff, fallback models, turn statistics.

:func:`resilient_turn` drives one model turn over any provider. The provider supplies
``open_attempt(model)``, an async iterator of model parts that raises :class:`AttemptFailed`
when the call fails. The driver then:

* retries a retryable failure (HTTP 408, 429, 500, 502, 503, 504, 529, an overloaded or
  rate-limit error inside the stream, a connection error, a timeout, a stream cut short) with
  exponential backoff and jitter, waiting at least what ``retry-after`` asks for;
* never retries once a part of the turn was yielded: output already reached the consumer (a
  tool may even have run), so a retry would duplicate it; the turn ends with a ``ModelError``
  instead (code ``stream_interrupted``);
* moves on to the next fallback model when the retries of a model are exhausted (or the model
  is unknown to the provider, HTTP 404);
* prices the turn's usage and reports its retries, timeouts and time to first token in a
  ``ModelLatency`` part just before the ``ModelFinish``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from flowai_harness.events import LatencySummary
from flowai_harness.ports import ModelError, ModelFinish, ModelLatency, ModelPart
from flowai_harness.providers.pricing import PriceTable

__all__ = [
    "RETRYABLE_STATUSES",
    "AttemptFailed",
    "RetryPolicy",
    "SdkErrors",
    "TurnStats",
    "failure_from_error",
    "resilient_turn",
    "retry_after_secs",
    "scrub_secret",
]

log = logging.getLogger("flowai_harness.providers")

#: HTTP statuses retried with backoff (529 is Anthropic's "overloaded").
RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504, 529})

# Error types a provider reports inside an already-open (HTTP 200) stream, as HTTP statuses.
_STREAM_ERROR_STATUS: Mapping[str, int] = {
    "overloaded_error": 529,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "api_error": 500,
    "server_error": 500,
    "internal_server_error": 500,
    "service_unavailable": 503,
    "timeout_error": 504,
}
# Failures that mean the transport broke, reported as "stream_interrupted" once output is out.
_BROKEN_STREAM = frozenset(
    {"connection_error", "timeout", "stream_interrupted", "invalid_response"}
)
_STATUS_CODES: Mapping[int, str] = {
    400: "invalid_request",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found",
    408: "timeout",
    413: "request_too_large",
    422: "invalid_request",
    429: "rate_limited",
    529: "overloaded",
}


class AttemptFailed(Exception):
    """One attempt of a model call failed; the message is safe to show (no secrets)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.timed_out = timed_out

    @property
    def allows_fallback(self) -> bool:
        """Whether another model may succeed where this one failed."""
        return self.retryable or self.status == 404


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait between attempts of one model call."""

    max_retries: int = 4
    initial_delay_secs: float = 0.5
    max_delay_secs: float = 30.0

    def delay(self, attempt: int, failure: AttemptFailed, rng: Callable[[], float]) -> float | None:
        """Return the wait before retry number ``attempt + 1``, or ``None`` to stop retrying.

        The wait is ``initial * 2**attempt`` capped at ``max_delay_secs``, scaled by a random
        factor in [0.5, 1) ("equal jitter"), and never shorter than the server's
        ``retry-after``. A server asking for more than ``max_delay_secs`` is not retried.
        """
        if not failure.retryable or attempt >= self.max_retries:
            return None
        if failure.retry_after is not None and failure.retry_after > self.max_delay_secs:
            return None
        backoff = min(self.max_delay_secs, self.initial_delay_secs * (2**attempt))
        jittered = backoff * (0.5 + 0.5 * rng())
        return float(max(jittered, failure.retry_after or 0.0))


@dataclass(slots=True)
class TurnStats:
    """What one turn went through before it finished."""

    retry_count: int = 0
    had_timeout: bool = False
    ttft_ms: int | None = None
    retry_events: list[dict[str, Any]] = field(default_factory=list)

    def latency(self, elapsed_ms: float) -> LatencySummary:
        """Return the per-turn latency part the engine folds into its summary."""
        return LatencySummary(
            total_duration_ms=int(elapsed_ms),
            llm_time_ms=int(elapsed_ms),
            llm_calls=1,
            retry_count=self.retry_count,
            had_timeout=self.had_timeout,
            ttft_ms=self.ttft_ms,
            retry_events=list(self.retry_events),
        )


@dataclass(frozen=True, slots=True)
class SdkErrors:
    """The exception classes of one provider SDK and of its HTTP library."""

    api_error: type[BaseException]
    status_error: type[BaseException]
    connection_error: type[BaseException]
    timeout_error: type[BaseException]
    transport_error: type[BaseException]
    transport_timeout: type[BaseException]


def scrub_secret(text: str, secret: str | None) -> str:
    """Return ``text`` with every occurrence of ``secret`` masked."""
    if secret and len(secret) >= 4:
        return text.replace(secret, "***")
    return text


def failure_from_error(
    exc: BaseException, errors: SdkErrors, *, timeout_secs: float, secret: str | None
) -> AttemptFailed | None:
    """Translate an SDK or HTTP exception into an :class:`AttemptFailed`; ``None`` if foreign.

    Timeouts and connection failures are retryable; an HTTP status is retryable when it is in
    :data:`RETRYABLE_STATUSES` (or the server says ``x-should-retry: true``); an error event
    inside an open stream counts as the status its error type stands for (``overloaded_error``
    as 529, ``rate_limit_error`` as 429, ``api_error`` as 500).
    """
    if isinstance(exc, errors.timeout_error | errors.transport_timeout):
        return AttemptFailed(
            f"no response within timeoutSecs={timeout_secs:g}",
            code="timeout",
            retryable=True,
            timed_out=True,
        )
    if isinstance(exc, errors.connection_error | errors.transport_error):
        cause = exc.__cause__ if isinstance(exc, errors.connection_error) else exc
        detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
        return AttemptFailed(
            scrub_secret(f"connection failed ({detail})", secret),
            code="connection_error",
            retryable=True,
        )
    if not isinstance(exc, errors.api_error):
        return None
    error_type, detail = _error_detail(getattr(exc, "body", None), str(exc))
    status = getattr(exc, "status_code", None) if isinstance(exc, errors.status_error) else None
    if status is None or 200 <= status < 300:
        status = _STREAM_ERROR_STATUS.get(error_type or "")
    retryable = status in RETRYABLE_STATUSES
    response = getattr(exc, "response", None)
    headers: Mapping[str, str] = getattr(response, "headers", None) or {}
    should_retry = headers.get("x-should-retry")
    if should_retry in ("true", "false"):
        retryable = should_retry == "true"
    prefix = f"HTTP {status}" if status is not None else "provider error"
    kind = f" {error_type}" if error_type else ""
    return AttemptFailed(
        scrub_secret(f"{prefix}{kind}: {detail}", secret),
        code=_STATUS_CODES.get(
            status or 0, "server_error" if (status or 0) >= 500 else "provider_error"
        ),
        retryable=retryable,
        status=status,
        retry_after=retry_after_secs(headers) if retryable else None,
    )


def _error_detail(body: Any, fallback: str) -> tuple[str | None, str]:
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        error = body if isinstance(body, Mapping) else {}
    error_type = error.get("type") or error.get("code")
    message = error.get("message")
    return (
        error_type if isinstance(error_type, str) else None,
        message if isinstance(message, str) and message else fallback,
    )


def retry_after_secs(headers: Mapping[str, str]) -> float | None:
    """Return the wait a response asks for (``retry-after-ms``, ``retry-after`` seconds or date).

    ``headers`` must look names up case-insensitively (as httpx headers do).
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(millis) / 1000.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


async def resilient_turn(
    open_attempt: Callable[[str], AsyncGenerator[ModelPart, None]],
    *,
    models: Sequence[str],
    policy: RetryPolicy,
    prices: PriceTable,
    label: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: Callable[[], float] = random.random,
) -> AsyncGenerator[ModelPart, None]:
    """Stream one turn, retrying and falling back as the module docstring describes.

    Args:
        open_attempt: starts one attempt on a model and streams its parts, ending with a
            ``ModelFinish``; raises :class:`AttemptFailed` on failure.
        models: the agent's model followed by its fallback models.
        policy: retry limits and delays.
        prices: prices the finished turn's usage.
        label: names the provider, agent and model in error messages and logs.
        sleep: the wait function (tests pass a fake clock).
        rng: random numbers in [0, 1) for the jitter.
    """
    started = time.perf_counter()
    stats = TurnStats()
    for index, model in enumerate(models):
        attempt = 0
        while True:
            outcome = _AttemptOutcome()
            attempt_parts = _attempt_parts(open_attempt, model, prices, started, stats, outcome)
            async with contextlib.aclosing(attempt_parts) as parts:
                async for part in parts:
                    yield part
            failure = outcome.failure
            if failure is None:
                return
            stats.had_timeout = stats.had_timeout or failure.timed_out
            if outcome.emitted:
                yield ModelError(
                    f"{label} [{model}]: {failure.message}, after part of the response was "
                    f"already streamed; not retried, so no output is duplicated",
                    code="stream_interrupted" if failure.code in _BROKEN_STREAM else failure.code,
                )
                return
            wait = policy.delay(attempt, failure, rng)
            if wait is not None:
                attempt += 1
                _note_retry(stats, label, model, failure, attempt, policy, wait)
                await sleep(wait)
                continue
            if failure.allows_fallback and index + 1 < len(models):
                _note_fallback(stats, label, model, models[index + 1], failure)
                break
            yield ModelError(_final_message(label, model, failure, attempt, policy), failure.code)
            return


@dataclass(slots=True)
class _AttemptOutcome:
    """How one attempt ended: ``failure`` is ``None`` once the model finished its turn."""

    emitted: bool = False
    failure: AttemptFailed | None = None


async def _attempt_parts(
    open_attempt: Callable[[str], AsyncGenerator[ModelPart, None]],
    model: str,
    prices: PriceTable,
    started: float,
    stats: TurnStats,
    outcome: _AttemptOutcome,
) -> AsyncGenerator[ModelPart, None]:
    """Stream one attempt on ``model``; a finished turn ends with its latency and priced
    finish, a failed one sets ``outcome.failure``."""
    try:
        async with contextlib.aclosing(open_attempt(model)) as parts:
            async for part in parts:
                if isinstance(part, ModelFinish):
                    elapsed = (time.perf_counter() - started) * 1000.0
                    usage = replace(part.usage, cost_usd=prices.cost_usd(model, part.usage))
                    yield ModelLatency(stats.latency(elapsed))
                    yield ModelFinish(part.reason, usage, stats.retry_count)
                    return
                if not outcome.emitted:
                    outcome.emitted = True
                    stats.ttft_ms = int((time.perf_counter() - started) * 1000.0)
                yield part
        outcome.failure = AttemptFailed(
            "the stream ended before the model finished its message",
            code="stream_interrupted",
            retryable=True,
        )
    except AttemptFailed as exc:
        outcome.failure = exc


def _note_retry(
    stats: TurnStats,
    label: str,
    model: str,
    failure: AttemptFailed,
    attempt: int,
    policy: RetryPolicy,
    wait: float,
) -> None:
    stats.retry_count += 1
    stats.retry_events.append(
        _retry_event(
            attempt=attempt,
            model=model,
            reason=failure.code,
            status=failure.status,
            delayMs=int(wait * 1000),
        )
    )
    log.warning(
        "%s [%s]: %s; retry %d of %d in %.2fs",
        label,
        model,
        failure.message,
        attempt,
        policy.max_retries,
        wait,
    )


def _note_fallback(
    stats: TurnStats, label: str, model: str, fallback: str, failure: AttemptFailed
) -> None:
    stats.retry_events.append(
        _retry_event(
            fallbackFrom=model,
            fallbackTo=fallback,
            reason=failure.code,
            status=failure.status,
        )
    )
    log.warning("%s [%s]: %s; falling back to model %s", label, model, failure.message, fallback)


def _retry_event(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _final_message(
    label: str, model: str, failure: AttemptFailed, attempts: int, policy: RetryPolicy
) -> str:
    message = f"{label} [{model}]: {failure.message}"
    if attempts:
        message += f" (gave up after {attempts} retr{'y' if attempts == 1 else 'ies'})"
    elif (
        failure.retryable
        and failure.retry_after is not None
        and failure.retry_after > policy.max_delay_secs
    ):
        message += (
            f" (the server asked to retry after {failure.retry_after:.0f}s, more than "
            f"retryMaxDelaySecs={policy.max_delay_secs:g})"
        )
    return message
