"""Builders shared by the plan, approval and dispatcher tests.

The runtimes here use the ``scripted`` interpreter: the coordinator's prompt is a script of
``call_agent`` calls whose prompts are themselves scripts for the planner and the executor
(the scripted interpreter), so every test drives the real tool stack without a model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_executor,
    define_plan,
    define_planner,
    define_runtime,
    define_tenant,
)
from flowai_harness.handle import Runtime
from flowai_harness.ports import KeyValueStore
from flowai_harness.testing import collect_events

TENANT = define_tenant("acme", "v1")
MODEL = "claude-sonnet-4-6"
PROMO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"actions": {"type": "array"}},
    "required": ["actions"],
}
PROMO = define_plan("Promo", PROMO_SCHEMA)
ONE_ACTION = {"actions": [{"kind": "discount", "pct": 5}]}


def plan_runtime(
    *,
    plan: Any = PROMO,
    dispatcher: Callable[..., Any] | None = None,
    executor_approval: Mapping[str, Any] | None = None,
    executor_tool_approvals: Mapping[str, Any] | None = None,
    coordinator_approval: Mapping[str, Any] | None = None,
    approval_policies: Any = None,
    approval_predicates: Mapping[str, Callable[..., Any]] | None = None,
    references: Iterable[Any] = (),
    plans: Iterable[Any] = (),
    interpreter: Any = "scripted",
    event_hooks: Iterable[Callable[[dict[str, Any]], Any]] | None = None,
) -> Runtime:
    """Coordinator ``c`` routing to ``planner`` and ``executor``, both on ``plan``."""
    agents = [
        define_coordinator(
            "c",
            model=MODEL,
            prompt="route",
            routes=["planner", "executor"],
            approval=coordinator_approval,
        ),
        define_planner("planner", model=MODEL, prompt="plan", plan=plan),
        define_executor(
            "executor",
            model=MODEL,
            prompt="execute",
            plan=plan,
            approval=executor_approval,
            tool_approvals=executor_tool_approvals,
        ),
    ]
    spec = define_runtime(
        TENANT,
        agents=agents,
        references=list(references),
        plans=list(plans),
        approval_policies=approval_policies,
    )
    return create_runtime(
        spec,
        interpreter=interpreter,
        action_dispatcher=dispatcher,
        approval_predicates=approval_predicates,
        event_hooks=event_hooks,
    )


def script(*calls: tuple[str, Any]) -> str:
    """A scripted-interpreter prompt running ``calls`` in order."""
    return json.dumps({"script": [{"tool": name, "args": args} for name, args in calls]})


def store(plan_id: str, body: Any = None, spec_name: str = "Promo") -> tuple[str, Any]:
    """A coordinator step: the planner stores ``body`` (default: one discount action)."""
    inner = script(
        (
            "storePlan",
            {
                "specName": spec_name,
                "planId": plan_id,
                "body": ONE_ACTION if body is None else body,
            },
        )
    )
    return ("call_agent", {"agent": "planner", "prompt": inner})


def execute(plan_id: str, times: int = 1) -> tuple[str, Any]:
    """A coordinator step: the executor calls ``executePlan`` ``times`` times."""
    inner = script(*[("executePlan", {"planId": plan_id})] * times)
    return ("call_agent", {"agent": "executor", "prompt": inner})


def flow(*steps: tuple[str, Any]) -> str:
    """The coordinator's prompt running ``steps``."""
    return script(*steps)


async def run(
    runtime: Runtime,
    prompt: str,
    approve: Any = "approve",
    *,
    feedback: str | None = None,
    thread_id: str = "t",
) -> list[dict[str, Any]]:
    """Run a coordinator query to its end, answering every approval with ``approve``."""
    return await collect_events(
        runtime.query(prompt, thread_id=thread_id), runtime, approve=approve, feedback=feedback
    )


def tool_results(events: list[dict[str, Any]], name: str) -> list[Any]:
    """The ``result`` of every ``tool-invocation`` result event of tool ``name``."""
    return [
        e["result"]
        for e in events
        if e["type"] == "tool-invocation" and e["state"] == "result" and e["toolName"] == name
    ]


def status_changes(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(from, to)`` of every ``plan-status-change`` event."""
    return [
        (e["data"]["from"], e["data"]["to"]) for e in events if e["type"] == "plan-status-change"
    ]


def approvals_of(events: list[dict[str, Any]], kind: str | None = None) -> list[dict[str, Any]]:
    """The data of every ``approval-required`` event (optionally of one kind)."""
    return [
        e["data"]
        for e in events
        if e["type"] == "approval-required" and (kind is None or e["data"]["kind"] == kind)
    ]


def kv_of(runtime: Runtime) -> KeyValueStore:
    """The runtime's key-value store (to seed or inspect stored plans)."""
    return runtime._compiled.kv


async def stored_plan(runtime: Runtime, plan_id: str) -> Any:
    """The plan stored under ``plan_id`` in the runtime tenant, or ``None``."""
    return await kv_of(runtime).get(runtime.resource_id, f"plan:{plan_id}")


def assert_sequenced(events: list[dict[str, Any]]) -> None:
    """Every event carries ``sequence`` 1, 2, 3, ... (nothing lost, nothing reordered)."""
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))


def normalised(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events without ``sequence`` (checked first), with stable names for random ids.

    ``inv-<uuid>`` invocation ids become ``INV``, ``INV2``, ...; approval ids become
    ``APPROVAL-1``, ``APPROVAL-2``, ... in order of first appearance.
    """
    assert_sequenced(events)
    names: dict[str, str] = {}

    def rename(value: str, prefix: str) -> str:
        if value not in names:
            count = sum(1 for name in names.values() if name.startswith(prefix)) + 1
            names[value] = prefix if prefix == "INV" and count == 1 else f"{prefix}{count}"
        return names[value]

    out = []
    for event in events:
        event = {k: v for k, v in event.items() if k != "sequence"}
        if str(event.get("toolInvocationId", "")).startswith("inv-"):
            event["toolInvocationId"] = rename(event["toolInvocationId"], "INV")
        if event["type"] in ("approval-required", "approval-decision"):
            event["data"] = {**event["data"], "id": rename(event["data"]["id"], "APPROVAL-")}
        out.append(event)
    return out
