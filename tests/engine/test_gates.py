"""The approval gate records every approval in the store (its audit records)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from flowai_harness import define_tool
from flowai_harness.testing import collect_events, events_of_type
from tests.waiting import wait_until

from .helpers import runtime_of, script, specialist


def _gated_runtime() -> Any:
    tool = define_tool("wipe", {"table": str}, approval="always")(lambda args, ctx: {"ok": True})
    return runtime_of(specialist("w", tools=[tool]), interpreter="scripted")


async def _audit(runtime: Any, approval_id: str) -> Any:
    return await runtime._compiled.kv.get("acme", f"approval:{approval_id}")


@pytest.mark.parametrize("outcome", ["approve", "reject", "revise"])
async def test_a_decided_approval_is_recorded_as_resolved_with_its_decision(outcome: str) -> None:
    runtime = _gated_runtime()
    events = await collect_events(
        runtime.run_specialist("w", script(("wipe", {"table": "t"})), "t-1"),
        runtime,
        approve=outcome,  # type: ignore[arg-type]
        feedback="because",
    )
    request = events_of_type(events, "approval-required")[0]["data"]
    record = await _audit(runtime, request["id"])
    assert record["request"] == request
    expected: dict[str, Any] = {"outcome": outcome}
    if outcome == "revise":
        expected["partial"] = None
    assert record["status"] == {
        "status": "resolved",
        "decision": {"outcome": expected, "feedback": "because"},
    }


async def test_a_pending_approval_is_recorded_before_the_event_is_seen() -> None:
    runtime = _gated_runtime()
    stream = runtime.run_specialist("w", script(("wipe", {"table": "t"})), "t-1")
    async for event in stream:
        if event["type"] == "approval-required":
            record = await _audit(runtime, event["data"]["id"])
            assert record["status"] == {"status": "pending"}
            await runtime.respond_to_approval(event["data"]["id"], "approve")


async def test_cancelling_a_waiting_run_records_the_approval_as_expired() -> None:
    runtime = _gated_runtime()
    stream = runtime.run_specialist("w", script(("wipe", {"table": "t"})), "t-1")
    approval_id = None
    async for event in stream:
        if event["type"] == "approval-required":
            approval_id = event["data"]["id"]
            await stream.aclose()
    assert approval_id is not None
    record = await _audit(runtime, approval_id)
    assert record["status"] == {"status": "expired", "reason": "cancelled"}
    assert runtime.pending_approvals() == []


async def test_a_store_that_fails_to_record_does_not_fail_the_gate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = _gated_runtime()
    kv = runtime._compiled.kv
    real_put = kv.put

    async def flaky_put(tenant: str, key: str, value: Any, ttl_ms: Any = None) -> None:
        if key.startswith("approval:"):
            raise OSError("disk full")
        await real_put(tenant, key, value, ttl_ms)

    async def flaky_compare_and_set(
        tenant: str, key: str, expected: Any, value: Any, ttl_ms: Any = None
    ) -> bool:
        raise OSError("disk full")

    kv.put = flaky_put  # type: ignore[method-assign]
    kv.compare_and_set = flaky_compare_and_set  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="flowai_harness.approvals"):
        events = await collect_events(
            runtime.run_specialist("w", script(("wipe", {"table": "t"})), "t-1"),
            runtime,
            approve="approve",
        )
    results = [e["result"] for e in events_of_type(events, "tool-invocation") if "result" in e]
    assert results == [{"ok": True}]
    assert "could not record approval" in caplog.text and "disk full" in caplog.text


async def test_an_approval_answered_from_another_task_is_recorded_once_resolved() -> None:
    runtime = _gated_runtime()
    stream = runtime.run_specialist("w", script(("wipe", {"table": "t"})), "t-1")
    seen: list[str] = []

    async def answer() -> None:
        approval_id = (await wait_until(runtime.pending_approvals))[0]["id"]
        seen.append(approval_id)
        await runtime.respond_to_approval(approval_id, "approve")

    answering = asyncio.create_task(answer())
    await collect_events(stream)
    await answering
    record = await _audit(runtime, seen[0])
    assert record["status"]["status"] == "resolved"
