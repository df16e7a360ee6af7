"""End to end: coordinator -> planner -> executor, and the quickstart program."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from flowai_harness import (
    TaggedUnion,
    create_runtime,
    define_coordinator,
    define_executor,
    define_plan,
    define_planner,
    define_reference,
    define_runtime,
    define_tenant,
    define_tool,
    glimpse,
    layered_prompt,
)
from flowai_harness.engine import plan_store
from tests.engine.helpers import run_usage
from tests.engine.plan_helpers import (
    execute,
    flow,
    normalised,
    plan_runtime,
    store,
    tool_results,
)

NOW = "2026-01-01T00:00:00Z"
ZERO = {
    "promptTokens": 0,
    "completionTokens": 0,
    "cacheReadInputTokens": 0,
    "cacheCreationInputTokens": 0,
    "totalTokens": 0,
}


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_store, "utc_seconds", lambda: NOW)


def compact(value: Any) -> str:
    """The scripted interpreter's text form of a result: compact JSON, keys sorted."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- planner -> executor


async def test_coordinator_planner_executor_reference_flow_event_by_event() -> None:
    order: list[str] = []

    def dispatcher(actions: list[Any], ctx: Any) -> dict[str, Any]:
        order.append("dispatched")
        return {"entitiesAffected": len(actions), "summary": "ok"}

    runtime = plan_runtime(dispatcher=dispatcher)
    events = []
    async for event in runtime.query(flow(store("p-1"), execute("p-1")), thread_id="t"):
        events.append(event)
        if event["type"] == "approval-required":
            await runtime.respond_to_approval(event["data"]["id"], "approve")
            order.append("answered")

    planner_args = {
        "agent": "planner",
        "prompt": flow(
            (
                "storePlan",
                {
                    "specName": "Promo",
                    "planId": "p-1",
                    "body": {"actions": [{"kind": "discount", "pct": 5}]},
                },
            )
        ),
    }
    executor_args = {"agent": "executor", "prompt": flow(("executePlan", {"planId": "p-1"}))}
    store_args = {
        "specName": "Promo",
        "planId": "p-1",
        "body": {"actions": [{"kind": "discount", "pct": 5}]},
    }
    draft = {
        "id": "p-1",
        "owner": "acme",
        "specName": "Promo",
        "actions": [{"kind": "discount", "payload": {"pct": 5}, "references": []}],
        "status": "draft",
        "description": None,
        "context": {},
        "createdAt": NOW,
        "approvedAt": None,
        "startedAt": None,
        "completedAt": None,
        "failedAt": None,
        "approvedBy": None,
        "outcome": None,
    }
    resolved = [{"type": "discount", "payload": {"pct": 5}}]
    executed = {
        "entitiesAffected": 1,
        "summary": "ok",
        "details": {"resolvedActions": resolved},
        "resolvedActions": resolved,
    }
    planner_answer = {"agent": "planner", "response": compact(draft), "model": "claude-sonnet-4-6"}
    executor_answer = {
        "agent": "executor",
        "response": compact(executed),
        "model": "claude-sonnet-4-6",
    }
    assert normalised(events) == [
        {"type": "tool-agent", "agentName": "c", "toolInvocationId": "INV", "state": "call"},
        {"type": "step-start"},
        {
            "type": "tool-invocation",
            "toolInvocationId": "scripted-tool-1",
            "toolName": "call_agent",
            "args": planner_args,
            "state": "call",
        },
        {
            "type": "tool-agent",
            "agentName": "planner",
            "toolInvocationId": "scripted-tool-1",
            "state": "call",
        },
        {"type": "step-start"},
        {
            "type": "tool-invocation",
            "toolInvocationId": "scripted-tool-1",
            "toolName": "storePlan",
            "args": store_args,
            "state": "call",
        },
        {
            "type": "tool-invocation",
            "toolInvocationId": "scripted-tool-1",
            "toolName": "storePlan",
            "args": store_args,
            "state": "result",
            "result": draft,
        },
        {"type": "text", "text": compact(draft)},
        {"type": "finish", "finishReason": "stop", "usage": ZERO},
        {
            "type": "tool-agent",
            "agentName": "planner",
            "toolInvocationId": "scripted-tool-1",
            "state": "result",
        },
        {
            "type": "tool-invocation",
            "toolInvocationId": "scripted-tool-1",
            "toolName": "call_agent",
            "args": planner_args,
            "state": "result",
            "result": planner_answer,
        },
        {"type": "text", "text": compact(planner_answer)},
        {
            "type": "tool-invocation",
            "toolInvocationId": "scripted-tool-2",
            "toolName": "call_agent",
            "args": executor_args,
            "state": "call",
        },
        {
            "type": "tool-agent",
            "agentName": "executor",
            "toolInvocationId": "scripted-tool-2",
            "state": "call",
        },
        {"type": "step-start"},
        {
            "type": "tool-invocation",
            "toolInvocationId": "scripted-tool-1",
            "toolName": "executePlan",
            "args": {"planId": "p-1"},
            "state": "call",
        },
        {
            "type": "approval-required",
            "data": {
                "id": "APPROVAL-1",
                "kind": "plan",
                "target": "p-1",
                "payload": draft,
                "resourceId": "acme",
                "threadId": "t-executor",
                "correlationId": "p-1",
                "runUsage": run_usage(model_calls=1, tool_calls=4),
            },
        },
        {
            "type": "plan-status-change",
            "data": {"planId": "p-1", "from": "draft", "to": "pending_approval"},
        },
        {
            "type": "approval-decision",
            "data": {"id": "APPROVAL-1", "outcome": {"outcome": "approve"}},
        },
        {
            "type": "plan-status-change",
            "data": {"planId": "p-1", "from": "pending_approval", "to": "approved"},
        },
        {
            "type": "plan-status-change",
            "data": {"planId": "p-1", "from": "approved", "to": "executing"},
        },
        {
            "type": "plan-status-change",
            "data": {"planId": "p-1", "from": "executing", "to": "executed"},
        },
        {
            "type": "tool-invocation",
            "toolInvocationId": "scripted-tool-1",
            "toolName": "executePlan",
            "args": {"planId": "p-1"},
            "state": "result",
            "result": executed,
        },
        {
            "type": "text",
            "text": '{"details":{"resolvedActions":[{"payload":{"pct":5},'
            '"type":"discount"}]},"entitiesAffected":1,"resolvedActions":'
            '[{"payload":{"pct":5},"type":"discount"}],"summary":"ok"}',
        },
        {"type": "finish", "finishReason": "stop", "usage": ZERO},
        {
            "type": "tool-agent",
            "agentName": "executor",
            "toolInvocationId": "scripted-tool-2",
            "state": "result",
        },
        {
            "type": "tool-invocation",
            "toolInvocationId": "scripted-tool-2",
            "toolName": "call_agent",
            "args": executor_args,
            "state": "result",
            "result": executor_answer,
        },
        {"type": "text", "text": compact(executor_answer)},
        {"type": "finish", "finishReason": "stop", "usage": ZERO},
        {"type": "tool-agent", "agentName": "c", "toolInvocationId": "INV", "state": "result"},
    ]
    assert order == ["answered", "dispatched"]


async def test_without_a_plan_gate_the_flow_shows_one_draft_to_approved_change() -> None:
    runtime = plan_runtime(executor_approval={"plans": "never"})
    events = await _collect(runtime, flow(store("p-1"), execute("p-1")))
    kinds = [e["type"] for e in events]
    assert "approval-required" not in kinds and "approval-decision" not in kinds
    call_at = next(i for i, e in enumerate(events) if e.get("toolName") == "executePlan")
    assert [(e["type"], e.get("data", {}).get("to")) for e in events[call_at : call_at + 5]] == [
        ("tool-invocation", None),
        ("plan-status-change", "approved"),
        ("plan-status-change", "executing"),
        ("plan-status-change", "executed"),
        ("tool-invocation", None),
    ]


async def _collect(runtime: Any, prompt: str) -> list[dict[str, Any]]:
    return [event async for event in runtime.query(prompt, thread_id="t")]


# --------------------------------------------------------------------------- quickstart


class ItemSetPayload(BaseModel):
    item_ids: list[str]


ITEM_SET = define_reference(
    "ItemSet",
    ItemSetPayload,
    ttl_ms=3_600_000,
    glimpse=lambda value: {"itemCount": len(value.item_ids), "preview": value.item_ids[:3]},
)


class Handle(BaseModel):
    kind: str
    id: str


class StatusUpdate(BaseModel):
    kind: str = "status_update"
    item_id: str
    status: str
    references: list[Handle] = Field(default_factory=list)


class OwnerAssignment(BaseModel):
    kind: str = "owner_assignment"
    item_ids: list[str]
    owner: str
    references: list[Handle] = Field(default_factory=list)


class ChangePlanBody(BaseModel):
    target_ref: Handle
    rationale: str
    actions: list[TaggedUnion(StatusUpdate, OwnerAssignment)]  # type: ignore[valid-type]


CHANGE_PLAN = define_plan("ChangePlan", ChangePlanBody)
DIRECTORY = [
    {"id": "item-1", "title": "Refresh revenue dashboard"},
    {"id": "item-2", "title": "Backfill revenue table"},
    {"id": "item-3", "title": "Audit revenue metric"},
]


class Directory:
    def search(self, term: str, limit: int) -> list[dict[str, str]]:
        return [i for i in DIRECTORY if term.lower() in i["title"].lower()][:limit]


@define_tool("search_items", {"query": str, "limit": int}, approval="never")
def search_items(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    found = ctx.directory.search(args["query"], args["limit"])
    return {
        "items": found,
        "glimpse": glimpse({"resultCount": len(found), "preview": [i["id"] for i in found]}),
    }


def quickstart_runtime(lines: list[str]) -> Any:
    knowledge = {"owners": ["ops-team", "data-team"], "rule": "reference the ItemSet"}
    agents = [
        define_coordinator(
            "change_coordinator",
            model="claude-sonnet-4-6",
            routes=["change_planner", "change_executor"],
            approval={"plans": "always", "tools": "never"},
            prompt=layered_prompt(identity="You coordinate change requests."),
        ),
        define_planner(
            "change_planner",
            model="claude-sonnet-4-6",
            plan=CHANGE_PLAN,
            tools=[search_items],
            prompt=layered_prompt(identity="You plan changes.", domain_knowledge=knowledge),
        ),
        define_executor(
            "change_executor",
            model="claude-sonnet-4-6",
            plan=CHANGE_PLAN,
            prompt=layered_prompt(identity="You execute approved plans."),
        ),
    ]
    spec = define_runtime(define_tenant("demo", "v1"), agents=agents, references=[ITEM_SET])

    def dispatch(actions: list[dict[str, Any]], ctx: dict[str, Any]) -> dict[str, Any]:
        item_sets = ctx["resolved_refs"].get("ItemSet", {})
        items = sum(len(v["item_ids"]) for v in item_sets.values()) or len(actions)
        lines.append(f"dispatcher: {len(actions)} action(s) for {items} item(s)")
        return {
            "entitiesAffected": items,
            "summary": f"{len(actions)} change(s)",
            "details": {
                "actions": [a["kind"] for a in actions],
                "resolvedRefs": {k: sorted(v) for k, v in ctx["resolved_refs"].items()},
            },
        }

    return create_runtime(
        spec,
        interpreter="scripted",
        services={"directory": Directory()},
        action_dispatcher=dispatch,
    )


async def test_quickstart_planner_executor_scenario() -> None:
    lines: list[str] = []
    runtime = quickstart_runtime(lines)
    item_set = await runtime.create_reference(
        ITEM_SET, ItemSetPayload(item_ids=["item-1", "item-2", "item-3"])
    )
    assert item_set["glimpse"] == {"itemCount": 3, "preview": ["item-1", "item-2", "item-3"]}
    handle = {"kind": "ItemSet", "id": item_set["id"]}
    planner_script = flow(
        ("search_items", {"query": "revenue", "limit": 3}),
        (
            "storePlan",
            {
                "specName": "ChangePlan",
                "planId": "change-plan-1",
                "body": {
                    "target_ref": handle,
                    "rationale": "hand over to the data team",
                    "actions": [
                        {
                            "kind": "owner_assignment",
                            "item_ids": ["item-1", "item-2", "item-3"],
                            "owner": "data-team",
                            "references": [handle],
                        }
                    ],
                },
            },
        ),
    )
    prompt = flow(
        ("call_agent", {"agent": "change_planner", "prompt": planner_script}),
        (
            "call_agent",
            {
                "agent": "change_executor",
                "prompt": flow(("executePlan", {"planId": "change-plan-1"})),
            },
        ),
    )
    milestones: list[str] = []
    async for event in runtime.query(prompt, thread_id="quickstart-1"):
        kind = event["type"]
        if kind == "tool-agent" and event["state"] == "call":
            milestones.append(f"agent {event['agentName']}")
        elif (
            kind == "tool-invocation"
            and event["state"] == "result"
            and event["toolName"] != "call_agent"
        ):
            milestones.append(f"result {event['toolName']}")
        elif kind == "approval-required":
            milestones.append(f"approval {event['data']['kind']} {event['data']['target']}")
            await runtime.respond_to_approval(event["data"]["id"], "approve")
            milestones.extend(lines)
        elif kind == "approval-decision":
            milestones.append(f"decision {event['data']['outcome']}")
        elif kind == "error":
            milestones.append(f"error {event['error']['message']}")
    milestones.append(f"last {event['type']} {event.get('agentName')}")
    assert milestones == [
        "agent change_coordinator",
        "agent change_planner",
        "result search_items",
        "result storePlan",
        "agent change_executor",
        "approval plan change-plan-1",
        "decision {'outcome': 'approve'}",
        "result executePlan",
        "last tool-agent change_coordinator",
    ]
    assert lines == ["dispatcher: 1 action(s) for 3 item(s)"]


async def test_quickstart_results_carry_the_typed_plan_and_the_hydrated_dispatch() -> None:
    lines: list[str] = []
    runtime = quickstart_runtime(lines)
    item_set = await runtime.create_reference(
        ITEM_SET, ItemSetPayload(item_ids=["item-1", "item-2", "item-3"])
    )
    handle = {"kind": "ItemSet", "id": item_set["id"]}
    body = {
        "target_ref": handle,
        "rationale": "r",
        "actions": [
            {
                "kind": "owner_assignment",
                "item_ids": ["item-1"],
                "owner": "ops-team",
                "references": [handle],
            }
        ],
    }
    prompt = flow(
        (
            "call_agent",
            {
                "agent": "change_planner",
                "prompt": flow(
                    (
                        "storePlan",
                        {"specName": "ChangePlan", "planId": "change-plan-1", "body": body},
                    )
                ),
            },
        ),
        (
            "call_agent",
            {
                "agent": "change_executor",
                "prompt": flow(("executePlan", {"planId": "change-plan-1"})),
            },
        ),
    )
    events = []
    async for event in runtime.query(prompt, thread_id="quickstart-2"):
        events.append(event)
        if event["type"] == "approval-required":
            await runtime.respond_to_approval(event["data"]["id"], "approve")
    [stored] = tool_results(events, "storePlan")
    assert stored["context"] == {"target_ref": handle, "rationale": "r"}
    assert stored["actions"] == [
        {
            "kind": "owner_assignment",
            "payload": {"item_ids": ["item-1"], "owner": "ops-team"},
            "references": [handle],
        }
    ]
    [result] = tool_results(events, "executePlan")
    resolved = [
        {"type": "owner_assignment", "payload": {"item_ids": ["item-1"], "owner": "ops-team"}}
    ]
    assert result == {
        "entitiesAffected": 3,
        "summary": "1 change(s)",
        "details": {
            "resolvedActions": resolved,
            "actions": ["owner_assignment"],
            "resolvedRefs": {"ItemSet": [item_set["id"]]},
        },
        "resolvedActions": resolved,
    }
