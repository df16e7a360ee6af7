"""The action dispatcher: hydration, the return contract, failures, and at-most-once dispatch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowai_harness import define_reference
from tests.engine.plan_helpers import (
    execute,
    flow,
    plan_runtime,
    run,
    status_changes,
    store,
    stored_plan,
    tool_results,
)
from tests.waiting import wait_until

ITEM_SET = define_reference("ItemSet", {"item_ids": list[str]})
OWNER = define_reference("Owner", {"name": str})
NEVER = {"plans": "never"}


def recording(result: Any = None) -> tuple[Any, list[tuple[Any, Any]]]:
    calls: list[tuple[Any, Any]] = []

    def dispatcher(actions: Any, ctx: Any) -> Any:
        calls.append((actions, ctx))
        return result

    return dispatcher, calls


async def execute_one(runtime: Any, body: Any = None) -> tuple[list[dict[str, Any]], Any]:
    events = await run(runtime, flow(store("p-1", body), execute("p-1")))
    [result] = tool_results(events, "executePlan")
    return events, result


# --------------------------------------------------------------------------- the call


@pytest.mark.parametrize("flavour", ["sync", "async", "sync returning an awaitable"])
async def test_dispatcher_gets_plan_actions_and_hydrated_references_grouped_by_kind_and_id(
    flavour: str,
) -> None:
    calls: list[tuple[Any, Any]] = []

    def record(actions: Any, ctx: Any) -> dict[str, Any]:
        calls.append((actions, ctx))
        return {"entitiesAffected": 5, "summary": "applied", "details": {"batch": 1}}

    async def async_dispatcher(actions: Any, ctx: Any) -> dict[str, Any]:
        return record(actions, ctx)

    async def later(actions: Any, ctx: Any) -> dict[str, Any]:
        return record(actions, ctx)

    dispatcher = {
        "sync": record,
        "async": async_dispatcher,
        "sync returning an awaitable": lambda actions, ctx: later(actions, ctx),
    }[flavour]
    runtime = plan_runtime(
        dispatcher=dispatcher, executor_approval=NEVER, references=[ITEM_SET, OWNER]
    )
    items = await runtime.create_reference(ITEM_SET, {"item_ids": ["a", "b", "c"]})
    owner = await runtime.create_reference(OWNER, {"name": "Dana"})
    items_ref = {"kind": "ItemSet", "id": items["id"]}
    owner_ref = {"kind": "Owner", "id": owner["id"]}
    body = {
        "actions": [
            {"kind": "status_update", "status": "done", "references": [items_ref]},
            {"kind": "owner_assignment", "references": [items_ref, owner_ref]},
            {"kind": "note", "text": "hi"},
        ]
    }
    _, result = await execute_one(runtime, body)
    [(actions, ctx)] = calls
    assert actions == [
        {"kind": "status_update", "payload": {"status": "done"}, "references": [items_ref]},
        {"kind": "owner_assignment", "payload": {}, "references": [items_ref, owner_ref]},
        {"kind": "note", "payload": {"text": "hi"}, "references": []},
    ]
    assert ctx == {
        "resolved_refs": {
            "ItemSet": {items["id"]: {"item_ids": ["a", "b", "c"]}},
            "Owner": {owner["id"]: {"name": "Dana"}},
        }
    }
    resolved_actions = [
        {"type": "status_update", "payload": {"status": "done"}},
        {"type": "owner_assignment", "payload": {}},
        {"type": "note", "payload": {"text": "hi"}},
    ]
    assert result == {
        "entitiesAffected": 5,
        "summary": "applied",
        "details": {"resolvedActions": resolved_actions, "batch": 1},
        "resolvedActions": resolved_actions,
    }


async def test_dispatcher_mutating_its_arguments_cannot_change_the_stored_plan() -> None:
    def vandal(actions: Any, ctx: Any) -> None:
        actions[0]["kind"] = "hacked"
        actions.clear()

    runtime = plan_runtime(dispatcher=vandal, executor_approval=NEVER)
    _, result = await execute_one(runtime)
    assert result["resolvedActions"] == [{"type": "discount", "payload": {"pct": 5}}]
    assert (await stored_plan(runtime, "p-1"))["actions"][0]["kind"] == "discount"


async def test_without_a_dispatcher_execution_is_a_no_op_affecting_nothing() -> None:
    runtime = plan_runtime(dispatcher=None, executor_approval=NEVER)
    _, result = await execute_one(runtime)
    resolved = [{"type": "discount", "payload": {"pct": 5}}]
    assert result == {
        "entitiesAffected": 0,
        "summary": None,
        "details": {"resolvedActions": resolved},
        "resolvedActions": resolved,
    }


RESOLVED = [{"type": "discount", "payload": {"pct": 5}}]
GOOD_RETURNS = [
    (None, 0, None, {"resolvedActions": RESOLVED}),
    ({"entitiesAffected": 2}, 2, None, {"resolvedActions": RESOLVED}),
    (
        {"entitiesAffected": 0, "summary": None, "details": None},
        0,
        None,
        {"resolvedActions": RESOLVED},
    ),
    (
        {"entitiesAffected": 1, "summary": "ok", "details": {"id": 9}},
        1,
        "ok",
        {"resolvedActions": RESOLVED, "id": 9},
    ),
    (
        {"entitiesAffected": 1, "details": {"resolvedActions": "mine"}},
        1,
        None,
        {"resolvedActions": "mine"},
    ),
    (
        {"entitiesAffected": 1, "details": [1, 2]},
        1,
        None,
        {"result": [1, 2], "resolvedActions": RESOLVED},
    ),
    (
        {"entitiesAffected": 1, "details": "text"},
        1,
        None,
        {"result": "text", "resolvedActions": RESOLVED},
    ),
]


@pytest.mark.parametrize(("returned", "count", "summary", "details"), GOOD_RETURNS)
async def test_a_valid_dispatcher_return_becomes_the_execute_plan_result(
    returned: Any, count: int, summary: str | None, details: Any
) -> None:
    dispatcher, _ = recording(returned)
    runtime = plan_runtime(dispatcher=dispatcher, executor_approval=NEVER)
    events, result = await execute_one(runtime)
    assert result == {
        "entitiesAffected": count,
        "summary": summary,
        "details": details,
        "resolvedActions": RESOLVED,
    }
    plan = await stored_plan(runtime, "p-1")
    assert plan["status"] == "executed"
    assert plan["outcome"] == {"state": "executed", **result}
    assert status_changes(events)[-1] == ("executing", "executed")


BAD_RETURNS = [
    (
        [1],
        "action_dispatcher must return None or an object with required field "
        "`entitiesAffected`, optional `summary`, and optional `details`; got list",
    ),
    (
        "done",
        "action_dispatcher must return None or an object with required field "
        "`entitiesAffected`, optional `summary`, and optional `details`; got str",
    ),
    (
        {"entitiesAffected": 1, "status": "ok"},
        "action_dispatcher returned unexpected field `status`; "
        "put domain-specific data under `details`",
    ),
    (
        {"summary": "no count"},
        "action_dispatcher must return None or an object with required field "
        "`entitiesAffected` as a non-negative integer",
    ),
    (
        {"entitiesAffected": -1},
        "action_dispatcher field `entitiesAffected` must be a non-negative integer, got -1",
    ),
    (
        {"entitiesAffected": True},
        "action_dispatcher field `entitiesAffected` must be a non-negative integer, got True",
    ),
    (
        {"entitiesAffected": 1.0},
        "action_dispatcher field `entitiesAffected` must be a non-negative integer, got 1.0",
    ),
    (
        {"entitiesAffected": "3"},
        "action_dispatcher field `entitiesAffected` must be a non-negative integer, got '3'",
    ),
    (
        {"entitiesAffected": 1, "summary": 5},
        "action_dispatcher field 'summary' must be a string or null, got int",
    ),
]


@pytest.mark.parametrize(("returned", "reason"), BAD_RETURNS)
async def test_a_bad_dispatcher_return_fails_the_plan_with_the_reason_in_the_events(
    returned: Any, reason: str
) -> None:
    dispatcher, calls = recording(returned)
    runtime = plan_runtime(dispatcher=dispatcher, executor_approval=NEVER)
    events, result = await execute_one(runtime)
    assert len(calls) == 1
    await assert_failed(runtime, events, result, reason)


async def test_dispatcher_details_that_are_not_json_fail_the_plan() -> None:
    dispatcher, _ = recording({"entitiesAffected": 1, "details": {"handle": object()}})
    runtime = plan_runtime(dispatcher=dispatcher, executor_approval=NEVER)
    events, result = await execute_one(runtime)
    assert result["error"].startswith(
        "Dispatch failed: action_dispatcher field 'details' must be JSON: "
    )
    assert (await stored_plan(runtime, "p-1"))["status"] == "failed"
    assert status_changes(events)[-1] == ("executing", "failed")


async def assert_failed(
    runtime: Any, events: list[dict[str, Any]], result: Any, reason: str
) -> None:
    """The plan is stored as failed with ``reason``, and the events show both."""
    assert result == {"error": f"Dispatch failed: {reason}"}
    assert status_changes(events)[-2:] == [("approved", "executing"), ("executing", "failed")]
    failed_at = next(
        i
        for i, e in enumerate(events)
        if e["type"] == "plan-status-change" and e["data"]["to"] == "failed"
    )
    result_at = next(
        i
        for i, e in enumerate(events)
        if e["type"] == "tool-invocation"
        and e["state"] == "result"
        and e["toolName"] == "executePlan"
    )
    assert failed_at < result_at
    plan = await stored_plan(runtime, "p-1")
    assert plan["status"] == "failed"
    assert plan["outcome"] == {"state": "failed", "message": reason, "code": None, "details": None}


@pytest.mark.parametrize("is_async", [False, True])
async def test_a_raising_dispatcher_fails_the_plan_with_the_exception_in_the_events(
    is_async: bool,
) -> None:
    def sync_boom(actions: Any, ctx: Any) -> None:
        raise ValueError("unknown action kind 'discount'")

    async def async_boom(actions: Any, ctx: Any) -> None:
        sync_boom(actions, ctx)

    runtime = plan_runtime(
        dispatcher=async_boom if is_async else sync_boom, executor_approval=NEVER
    )
    events, result = await execute_one(runtime)
    await assert_failed(
        runtime,
        events,
        result,
        "inner dispatcher failed: ValueError: unknown action kind 'discount'",
    )
    assert events[-1]["type"] == "tool-agent"  # the run itself survives and ends normally


# --------------------------------------------------------------------------- references


async def test_a_missing_reference_fails_the_plan_before_the_dispatcher_runs() -> None:
    dispatcher, calls = recording()
    runtime = plan_runtime(dispatcher=dispatcher, executor_approval=NEVER, references=[ITEM_SET])
    body = {"actions": [{"kind": "a", "references": [{"kind": "ItemSet", "id": "nope"}]}]}
    events, result = await execute_one(runtime, body)
    assert calls == []
    await assert_failed(
        runtime,
        events,
        result,
        "reference required by plan is missing: kind=ItemSet id=nope (never created, expired, "
        "or owned by another tenant)",
    )


async def test_an_expired_reference_fails_the_plan_before_the_dispatcher_runs() -> None:
    short_lived = define_reference("ItemSet", {"item_ids": list[str]}, ttl_ms=1)
    dispatcher, calls = recording()
    runtime = plan_runtime(dispatcher=dispatcher, executor_approval=NEVER, references=[short_lived])
    ref = await runtime.create_reference(short_lived, {"item_ids": ["a"]})
    await asyncio.sleep(0.02)
    body = {"actions": [{"kind": "a", "references": [{"kind": "ItemSet", "id": ref["id"]}]}]}
    events, result = await execute_one(runtime, body)
    assert calls == []
    await assert_failed(
        runtime,
        events,
        result,
        f"reference required by plan is missing: kind=ItemSet id={ref['id']} (never created, "
        f"expired, or owned by another tenant)",
    )


async def test_a_reference_of_an_undeclared_kind_fails_the_plan() -> None:
    dispatcher, calls = recording()
    runtime = plan_runtime(dispatcher=dispatcher, executor_approval=NEVER, references=[ITEM_SET])
    body = {"actions": [{"kind": "a", "references": [{"kind": "Ghost", "id": "g"}]}]}
    events, result = await execute_one(runtime, body)
    assert calls == []
    await assert_failed(
        runtime,
        events,
        result,
        "reference kind required by plan is not declared: kind=Ghost id=g (unknown reference "
        "kind: Ghost (declared kinds: ['ItemSet']))",
    )


# --------------------------------------------------------------------------- at most once


async def test_a_second_execute_plan_on_an_executed_plan_is_refused() -> None:
    dispatcher, calls = recording({"entitiesAffected": 1})
    runtime = plan_runtime(dispatcher=dispatcher, executor_approval=NEVER)
    events = await run(runtime, flow(store("p-1"), execute("p-1", times=2)))
    first, second = tool_results(events, "executePlan")
    assert first["entitiesAffected"] == 1
    assert second == {
        "error": "Invalid plan state for execution: executed (plan 'p-1' was already "
        "dispatched; an approved plan is dispatched at most once; store the plan again (a new "
        "draft) to act again)"
    }
    later = await run(runtime, flow(execute("p-1")), thread_id="t2")
    assert tool_results(later, "executePlan") == [second]
    assert len(calls) == 1


async def test_a_failed_plan_is_never_dispatched_again() -> None:
    attempts: list[Any] = []

    def flaky(actions: Any, ctx: Any) -> None:
        attempts.append(actions)
        raise RuntimeError("timeout")

    runtime = plan_runtime(dispatcher=flaky, executor_approval=NEVER)
    events = await run(runtime, flow(store("p-1"), execute("p-1", times=2)))
    _, second = tool_results(events, "executePlan")
    assert second["error"].startswith(
        "Invalid plan state for execution: failed (plan 'p-1' "
        "failed (inner dispatcher failed: RuntimeError: timeout)"
    )
    assert len(attempts) == 1


async def test_concurrent_execute_plan_calls_dispatch_an_approved_plan_exactly_once() -> None:
    release = asyncio.Event()
    calls: list[Any] = []

    async def slow(actions: Any, ctx: Any) -> dict[str, Any]:
        calls.append(actions)
        await release.wait()
        return {"entitiesAffected": 1}

    runtime = plan_runtime(dispatcher=slow, executor_approval=NEVER)
    await run(runtime, flow(store("p-1")))
    runs = [
        asyncio.create_task(run(runtime, flow(execute("p-1")), thread_id=f"t{i}")) for i in range(5)
    ]
    await wait_until(lambda: calls)
    # the other four are refused while the first dispatch is still running
    await wait_until(lambda: sum(task.done() for task in runs) == 4)
    release.set()
    results = [tool_results(events, "executePlan")[0] for events in await asyncio.gather(*runs)]
    assert len(calls) == 1
    assert sum(1 for r in results if r.get("entitiesAffected") == 1) == 1
    refused = [r["error"] for r in results if "error" in r]
    assert len(refused) == 4
    assert all(
        e.startswith(
            (
                "Invalid plan state for execution: executing (",
                "Invalid plan state for execution: executed (",
            )
        )
        for e in refused
    )


async def test_two_gates_approved_for_one_draft_still_dispatch_it_once() -> None:
    dispatcher, calls = recording({"entitiesAffected": 1})
    runtime = plan_runtime(dispatcher=dispatcher, executor_approval={"plans": "always"})
    await run(runtime, flow(store("p-1")))
    waiting: list[str] = []
    both_waiting = asyncio.Event()

    async def consume(thread_id: str) -> list[dict[str, Any]]:
        events = []
        async for event in runtime.query(flow(execute("p-1")), thread_id=thread_id):
            events.append(event)
            if event["type"] == "approval-required":
                waiting.append(event["data"]["id"])
                if len(waiting) == 2:
                    both_waiting.set()
        return events

    runs = [asyncio.create_task(consume(t)) for t in ("t1", "t2")]
    await both_waiting.wait()
    for approval_id in waiting:
        await runtime.respond_to_approval(approval_id, "approve")
    results = [tool_results(e, "executePlan")[0] for e in await asyncio.gather(*runs)]
    assert len(calls) == 1
    assert sorted("error" in r for r in results) == [False, True]


async def test_cancelling_the_run_during_dispatch_marks_the_plan_failed() -> None:
    started = asyncio.Event()

    async def hangs(actions: Any, ctx: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    runtime = plan_runtime(dispatcher=hangs, executor_approval=NEVER)
    stream = runtime.query(flow(store("p-1"), execute("p-1")), thread_id="t")
    consumer = asyncio.create_task(_drain(stream))
    await started.wait()
    await stream.aclose()
    await consumer
    plan = await stored_plan(runtime, "p-1")
    assert plan["status"] == "failed"
    assert plan["outcome"]["message"] == (
        "dispatch cancelled: the run ended while the dispatcher was running"
    )


async def _drain(stream: Any) -> None:
    async for _ in stream:
        pass
