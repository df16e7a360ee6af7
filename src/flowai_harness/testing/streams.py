"""Helpers to run an event stream to completion in tests."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from typing import Any, Literal

__all__ = ["collect_events", "events_of_type"]

ApprovalAnswer = Literal["approve", "reject", "revise"]


async def collect_events(
    stream: AsyncIterable[dict[str, Any]],
    runtime: Any = None,
    *,
    approve: ApprovalAnswer | Callable[[dict[str, Any]], ApprovalAnswer] | None = None,
    feedback: str | None = None,
    limit: int = 100_000,
) -> list[dict[str, Any]]:
    """Iterate ``stream`` to its end and return every event.

    Args:
        stream: the stream of ``runtime.query(...)`` or ``runtime.run_specialist(...)``.
        runtime: the runtime to answer approvals on (needed when ``approve`` is set).
        approve: how to answer each ``approval-required`` event: an outcome for all of them,
            or a function of the event returning one. ``None`` leaves approvals unanswered
            (the run then waits, so only use it for runs without gates).
        feedback: feedback sent with every answer.
        limit: fail instead of looping forever when a run produces more events than this.

    Returns:
        The events, in order.
    """
    if approve is not None and runtime is None:
        raise ValueError("collect_events needs the runtime to answer approvals")
    events: list[dict[str, Any]] = []
    async for event in stream:
        events.append(event)
        if len(events) > limit:
            raise AssertionError(f"stream produced more than {limit} events")
        if event.get("type") == "approval-required" and approve is not None:
            outcome = approve(event) if callable(approve) else approve
            await runtime.respond_to_approval(event["data"]["id"], outcome, feedback=feedback)
    return events


def events_of_type(events: list[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    """Return the events whose ``type`` is one of ``types``."""
    return [event for event in events if event.get("type") in types]
