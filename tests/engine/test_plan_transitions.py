"""The plan status machine: the transition table, and executePlan from every stored status."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from flowai_harness.engine.plans import (
    PENDING_APPROVAL,
    TRANSITIONS,
    InvalidTransition,
    transition,
)
from flowai_harness.specs.plans import PLAN_STATUSES
from tests.engine.plan_helpers import (
    execute,
    flow,
    kv_of,
    plan_runtime,
    run,
    status_changes,
    store,
    stored_plan,
    tool_results,
)

LEGAL = {
    ("draft", "approved"),
    ("approved", "executing"),
    ("executing", "executed"),
    ("executing", "failed"),
    ("executing", "needs_reconciliation"),
    ("needs_reconciliation", "executed"),
    ("needs_reconciliation", "failed"),
}
TIMESTAMP_OF = {
    "approved": "approvedAt",
    "executing": "startedAt",
    "executed": "completedAt",
    "failed": "failedAt",
    "needs_reconciliation": "interruptedAt",
}


def a_plan(status: str = "draft", plan_id: str = "p-1") -> dict[str, Any]:
    return {
        "id": plan_id,
        "owner": "acme",
        "specName": "Promo",
        "actions": [{"kind": "discount", "payload": {"pct": 5}, "references": []}],
        "status": status,
        "description": None,
        "context": {},
        "createdAt": "2026-01-01T00:00:00Z",
        "approvedAt": None,
        "startedAt": None,
        "completedAt": None,
        "failedAt": None,
        "approvedBy": None,
        "outcome": None,
    }


# --------------------------------------------------------------------------- the table


def test_transition_table_is_exactly_the_spec_lifecycle() -> None:
    assert set(TRANSITIONS) == LEGAL


def test_pending_approval_is_not_a_stored_status() -> None:
    assert PENDING_APPROVAL == "pending_approval"
    assert PENDING_APPROVAL not in PLAN_STATUSES
    assert all(PENDING_APPROVAL not in pair for pair in TRANSITIONS)


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    sorted(LEGAL),
)
def test_legal_transition_moves_status_and_stamps_its_timestamp(
    from_status: str, to_status: str
) -> None:
    plan = a_plan(from_status)
    moved = transition(plan, to_status, approvedBy="runtime")
    assert moved["status"] == to_status
    assert moved[TIMESTAMP_OF[to_status]] is not None
    assert moved["approvedBy"] == "runtime"
    assert plan["status"] == from_status  # the input is not mutated
    untouched = {k for k in plan if k not in ("status", "approvedBy", TIMESTAMP_OF[to_status])}
    assert {k: moved[k] for k in untouched} == {k: plan[k] for k in untouched}


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    sorted(
        pair
        for pair in itertools.product([*PLAN_STATUSES, PENDING_APPROVAL], repeat=2)
        if pair not in LEGAL
    ),
)
def test_illegal_transition_is_refused_naming_both_statuses(
    from_status: str, to_status: str
) -> None:
    with pytest.raises(InvalidTransition) as caught:
        transition(a_plan(from_status), to_status)
    message = str(caught.value)
    assert f"plan 'p-1' cannot move from {from_status} to {to_status}" in message
    assert isinstance(caught.value, ValueError)


def test_illegal_transition_message_lists_the_legal_moves() -> None:
    with pytest.raises(InvalidTransition, match=r"from draft it can move to: approved\)"):
        transition(a_plan("draft"), "executed")
    with pytest.raises(InvalidTransition, match=r"nothing, it is final"):
        transition(a_plan("executed"), "draft")


# --------------------------------------------------------------------------- executePlan by status


async def _seed(runtime: Any, status: str) -> None:
    plan = a_plan(status)
    if status == "failed":
        plan["outcome"] = {"state": "failed", "message": "boom", "code": None, "details": None}
    await kv_of(runtime).put("acme", "plan:p-1", plan)


def _ok(actions_seen: list[Any]) -> Any:
    def dispatcher(actions: list[Any], ctx: dict[str, Any]) -> dict[str, Any]:
        actions_seen.append(actions)
        return {"entitiesAffected": len(actions), "summary": "done"}

    return dispatcher


# fmt: off
EXECUTE_FROM = [
    # seeded status, plans rule, host answer -> status events, dispatched, final stored status
    ("draft", "never", None,
     [("draft", "approved"), ("approved", "executing"), ("executing", "executed")],
     True, "executed"),
    ("draft", "always", "approve",
     [("draft", "pending_approval"), ("pending_approval", "approved"),
      ("approved", "executing"), ("executing", "executed")],
     True, "executed"),
    ("draft", "always", "reject",
     [("draft", "pending_approval"), ("pending_approval", "draft")], False, "draft"),
    ("draft", "always", "revise",
     [("draft", "pending_approval"), ("pending_approval", "draft")], False, "draft"),
    ("approved", "always", None,
     [("approved", "executing"), ("executing", "executed")], True, "executed"),
    ("executing", "never", None, [], False, "executing"),
    ("executed", "never", None, [], False, "executed"),
    ("failed", "never", None, [], False, "failed"),
]
# fmt: on


@pytest.mark.parametrize(
    ("seeded", "rule", "answer", "changes", "dispatched", "final"), EXECUTE_FROM
)
async def test_execute_plan_from_each_stored_status(
    seeded: str,
    rule: str,
    answer: str | None,
    changes: list[tuple[str, str]],
    dispatched: bool,
    final: str,
) -> None:
    seen: list[Any] = []
    runtime = plan_runtime(dispatcher=_ok(seen), executor_approval={"plans": rule})
    await _seed(runtime, seeded)
    events = await run(runtime, flow(execute("p-1")), approve=answer or "approve")
    assert status_changes(events) == changes
    assert bool(seen) is dispatched
    assert (await stored_plan(runtime, "p-1"))["status"] == final
    approvals = [e for e in events if e["type"] == "approval-required"]
    assert len(approvals) == (1 if answer else 0)


@pytest.mark.parametrize("terminal", ["executing", "executed", "failed"])
async def test_execute_plan_refuses_a_plan_that_already_left_approved(terminal: str) -> None:
    runtime = plan_runtime(executor_approval={"plans": "never"})
    await _seed(runtime, terminal)
    events = await run(runtime, flow(execute("p-1")))
    [result] = tool_results(events, "executePlan")
    assert result["error"].startswith(f"Invalid plan state for execution: {terminal} (")
    assert "plan 'p-1'" in result["error"]


async def test_refusal_of_a_failed_plan_quotes_its_failure() -> None:
    runtime = plan_runtime(executor_approval={"plans": "never"})
    await _seed(runtime, "failed")
    events = await run(runtime, flow(execute("p-1")))
    [result] = tool_results(events, "executePlan")
    assert result == {
        "error": "Invalid plan state for execution: failed (plan 'p-1' failed (boom); store the "
        "plan again (a new draft) to try again)"
    }


async def test_each_transition_stamps_its_timestamp_and_approved_by_runtime() -> None:
    runtime = plan_runtime(dispatcher=_ok([]), executor_approval={"plans": "never"})
    await run(runtime, flow(store("p-1"), execute("p-1")))
    plan = await stored_plan(runtime, "p-1")
    assert plan["status"] == "executed"
    assert plan["approvedBy"] == "runtime"
    for field in ("createdAt", "approvedAt", "startedAt", "completedAt"):
        assert isinstance(plan[field], str) and plan[field].endswith("Z")
    assert plan["failedAt"] is None


async def test_failed_dispatch_moves_executing_to_failed_and_stamps_failed_at() -> None:
    def broken(actions: Any, ctx: Any) -> None:
        raise RuntimeError("warehouse offline")

    runtime = plan_runtime(dispatcher=broken, executor_approval={"plans": "never"})
    events = await run(runtime, flow(store("p-1"), execute("p-1")))
    assert status_changes(events) == [
        ("draft", "approved"),
        ("approved", "executing"),
        ("executing", "failed"),
    ]
    plan = await stored_plan(runtime, "p-1")
    assert plan["status"] == "failed"
    assert plan["completedAt"] is None and isinstance(plan["failedAt"], str)
    assert plan["outcome"] == {
        "state": "failed",
        "message": "inner dispatcher failed: RuntimeError: warehouse offline",
        "code": None,
        "details": None,
    }


async def test_pending_approval_is_shown_in_events_while_the_stored_plan_stays_draft() -> None:
    runtime = plan_runtime(dispatcher=_ok([]), executor_approval={"plans": "always"})
    await run(runtime, flow(store("p-1")))
    stored_while_waiting: list[str] = []
    events = []
    async for event in runtime.query(flow(execute("p-1")), thread_id="t"):
        events.append(event)
        if event["type"] == "plan-status-change" and event["data"]["to"] == PENDING_APPROVAL:
            stored_while_waiting.append((await stored_plan(runtime, "p-1"))["status"])
            approval_id = next(e["data"]["id"] for e in events if e["type"] == "approval-required")
            await runtime.respond_to_approval(approval_id, "approve")
    assert stored_while_waiting == ["draft"]
    assert (await stored_plan(runtime, "p-1"))["status"] == "executed"


async def test_rejected_plan_returns_to_draft_and_can_be_approved_later() -> None:
    seen: list[Any] = []
    runtime = plan_runtime(dispatcher=_ok(seen), executor_approval={"plans": "always"})
    first = await run(runtime, flow(store("p-1"), execute("p-1")), approve="reject")
    assert status_changes(first)[-1] == ("pending_approval", "draft")
    assert (await stored_plan(runtime, "p-1"))["status"] == "draft"
    second = await run(runtime, flow(execute("p-1")), approve="approve", thread_id="t2")
    assert status_changes(second)[-1] == ("executing", "executed")
    assert len(seen) == 1
