"""Approvals: rule evaluation, policy precedence, the gate on both channels, and the broker."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from typing import Any

import pytest

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_runtime,
    define_specialist,
    define_tool,
)
from flowai_harness.engine.approvals import (
    ALWAYS,
    NEVER,
    ApprovalBroker,
    ApprovalRule,
    Decision,
    Predicate,
    approval_required,
)
from flowai_harness.engine.context import AgentScope, RunContext, ToolCall
from flowai_harness.engine.dispatch import dispatch_tool
from flowai_harness.engine.emit import EventSink
from flowai_harness.engine.locks import KeyedLocks
from flowai_harness.engine.plans import execute_plan
from flowai_harness.errors import (
    ApprovalAlreadyResolvedError,
    ApprovalError,
    ApprovalNotFoundError,
)
from flowai_harness.testing import ScriptedModel, ToolCallStep, collect_events
from tests.engine.helpers import run_usage
from tests.engine.plan_helpers import (
    MODEL,
    TENANT,
    approvals_of,
    assert_sequenced,
    execute,
    flow,
    plan_runtime,
    run,
    script,
    status_changes,
    store,
    stored_plan,
    tool_results,
)
from tests.waiting import wait_until

# --------------------------------------------------------------------------- rule evaluation


def _raises(args: Any, ctx: Any) -> bool:
    raise RuntimeError("predicate bug")


async def _coroutine(args: Any, ctx: Any) -> bool:
    return False


RULES = [
    (NEVER, False),
    (ALWAYS, True),
    (Predicate("p", lambda a, c: True), True),
    (Predicate("p", lambda a, c: False), False),
    (Predicate("p", _raises), True),
    (Predicate("p", lambda a, c: 0), True),
    (Predicate("p", lambda a, c: "no"), True),
    (Predicate("p", lambda a, c: None), True),
    (Predicate("p", _coroutine), True),
]


@pytest.mark.parametrize(("rule", "required"), RULES)
def test_approval_required_evaluates_rules_and_fails_closed(
    rule: ApprovalRule, required: bool
) -> None:
    assert (
        approval_required(rule, kind="tool", target="t", args={"x": 1}, tenant="acme") is required
    )


def test_a_predicate_gets_a_copy_of_the_args_and_the_call_context() -> None:
    seen: list[tuple[Any, Any]] = []

    def predicate(args: Any, ctx: Any) -> bool:
        seen.append((dict(args), ctx))
        args["amount"] = 0
        return args["amount"] > 100

    args = {"amount": 500}
    assert (
        approval_required(
            Predicate("p", predicate), kind="plan", target="p-1", args=args, tenant="acme"
        )
        is False
    )
    assert seen == [({"amount": 500}, {"kind": "plan", "target": "p-1", "tenant": "acme"})]
    assert args == {"amount": 500}


@pytest.mark.parametrize(
    ("predicate", "logged"),
    [(_raises, "raised RuntimeError: predicate bug"), (lambda a, c: "yes", "returned str")],
)
def test_a_failing_predicate_is_logged_as_a_warning(
    predicate: Any, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="flowai_harness.approvals"):
        approval_required(
            Predicate("risk", predicate), kind="tool", target="t", args={}, tenant="acme"
        )
    assert f"approval predicate 'risk' {logged}" in caplog.text
    assert "approval required" in caplog.text


def test_a_rule_the_spec_does_not_know_is_refused_before_anything_runs() -> None:
    # What an unknown kind or a missing predicate would mean at call time cannot happen: the
    # spec refuses unknown kinds, and the compiler refuses an unregistered predicate.
    with pytest.raises(ValueError, match="invalid approval rule kind 'sometimes'"):
        define_runtime(
            TENANT,
            agents=[define_specialist("w", model="claude-haiku-4-5", prompt="p")],
            approval_policies={"tools": {"kind": "sometimes"}},
        )
    spec = define_runtime(
        TENANT,
        agents=[define_specialist("w", model="claude-haiku-4-5", prompt="p")],
        approval_policies={"tools": {"kind": "dynamic", "value": "p"}},
    )
    with pytest.raises(ValueError, match="dynamic approval predicate 'p' is not registered"):
        create_runtime(spec)


# --------------------------------------------------------------------------- precedence


def precedence_runtime(
    *,
    floor: Any = None,
    coordinator: Any = None,
    agent: Any = None,
    own: Any = "never",
    tool_approvals: Any = None,
    overrides: Any = None,
    predicates: Any = None,
) -> Any:
    lookup = define_tool("lookup", {"sku": str}, approval=own).bind(
        lambda args, ctx: {"sku": args["sku"]}
    )
    agents = [
        define_coordinator("c", model=MODEL, prompt="c", routes=["w"], approval=coordinator),
        define_specialist(
            "w",
            model=MODEL,
            prompt="w",
            tools=[lookup],
            toolkits=["plans"],
            approval=agent,
            tool_approvals=tool_approvals,
        ),
    ]
    spec = define_runtime(
        TENANT, agents=agents, approval_policies=floor, approval_overrides=overrides
    )
    return create_runtime(spec, interpreter="scripted", approval_predicates=predicates)


# fmt: off
TOOLS_CHANNEL = [
    # id: floor, coordinator approval=, w approval=, lookup's own rule, w tool_approvals -> gated
    ("defaults", None, None, None, "never", None, []),
    ("floor always: built-ins follow it, a python tool keeps its own never",
     {"tools": "always"}, None, None, "never", None, ["call_agent", "getPlan"]),
    ("agent patch tightens", {"tools": "never"}, None, {"tools": "always"}, "never", None,
     ["getPlan"]),
    ("agent patch relaxes", {"tools": "always"}, None, {"tools": "never"}, "never", None,
     ["call_agent"]),
    ("agent patch default inherits", {"tools": "always"}, None, {"tools": "default"}, "never",
     None, ["call_agent", "getPlan"]),
    ("coordinator approval is the floor", None, {"tools": "always"}, None, "never", None,
     ["call_agent", "getPlan"]),
    ("coordinator default keeps the default floor", None, {"tools": "default"}, None, "never",
     None, []),
    ("explicit floor makes coordinator approval its own override", {"tools": "never"},
     {"tools": "always"}, None, "never", None, ["call_agent"]),
    ("tool's own rule beats a never floor", None, None, None, "always", None, ["lookup"]),
    ("tool's own rule beats the agent patch", None, None, {"tools": "never"}, "always", None,
     ["lookup"]),
    ("tool's own never beats an always patch", None, None, {"tools": "always"}, "never", None,
     ["getPlan"]),
    ("per-agent override beats the tool's own rule", None, None, None, "always",
     {"lookup": "never"}, []),
    ("per-agent override gates a built-in", None, None, None, "never", {"getPlan": "always"},
     ["getPlan"]),
    ("per-agent override beats floor and patch", {"tools": "always"}, None, {"tools": "always"},
     "never", {"getPlan": "never"}, ["call_agent"]),
]
# fmt: on


@pytest.mark.parametrize(
    ("floor", "coordinator", "agent", "own", "tool_approvals", "gated"),
    [case[1:] for case in TOOLS_CHANNEL],
    ids=[case[0] for case in TOOLS_CHANNEL],
)
async def test_tools_channel_precedence(
    floor: Any, coordinator: Any, agent: Any, own: Any, tool_approvals: Any, gated: list[str]
) -> None:
    runtime = precedence_runtime(
        floor=floor, coordinator=coordinator, agent=agent, own=own, tool_approvals=tool_approvals
    )
    inner = script(("getPlan", {"planId": "x"}), ("lookup", {"sku": "A"}))
    events = await run(runtime, flow(("call_agent", {"agent": "w", "prompt": inner})))
    assert sorted(a["target"] for a in approvals_of(events, "tool")) == sorted(gated)
    assert tool_results(events, "lookup") == [{"sku": "A"}]


async def test_explicit_approval_overrides_replace_the_collected_tool_rules() -> None:
    runtime = precedence_runtime(
        own="always",
        tool_approvals={"lookup": "never"},
        overrides={"tools": {"w": {"getPlan": "always"}}},
    )
    inner = script(("getPlan", {"planId": "x"}), ("lookup", {"sku": "A"}))
    events = await run(runtime, flow(("call_agent", {"agent": "w", "prompt": inner})))
    assert sorted(a["target"] for a in approvals_of(events, "tool")) == ["getPlan", "lookup"]


# fmt: off
PLANS_CHANNEL = [
    # id: floor, coordinator approval=, executor approval=, executor tool_approvals -> approvals
    ("default floor gates plans", None, None, None, None, [("plan", "p-1")]),
    ("floor never", {"plans": "never"}, None, None, None, []),
    ("coordinator approval is the floor", None, {"plans": "never"}, None, None, []),
    ("explicit floor keeps coordinator approval to itself", {"plans": "always"},
     {"plans": "never"}, None, None, [("plan", "p-1")]),
    ("executor patch relaxes", {"plans": "always"}, None, {"plans": "never"}, None, []),
    ("executor patch tightens", {"plans": "never"}, None, {"plans": "always"}, None,
     [("plan", "p-1")]),
    ("executor default inherits the coordinator floor", None, {"plans": "never"},
     {"plans": "default"}, None, []),
    ("tool overrides do not reach the plans channel", {"plans": "never"}, None, None,
     {"executePlan": "always"}, [("tool", "executePlan")]),
    ("tools always and plans always: executePlan needs two approvals",
     {"plans": "always", "tools": "always"}, None, None, None,
     [("tool", "call_agent"), ("tool", "storePlan"), ("tool", "call_agent"),
      ("tool", "executePlan"), ("plan", "p-1")]),
]
# fmt: on


@pytest.mark.parametrize(
    ("floor", "coordinator", "executor_patch", "tool_approvals", "expected"),
    [case[1:] for case in PLANS_CHANNEL],
    ids=[case[0] for case in PLANS_CHANNEL],
)
async def test_plans_channel_precedence(
    floor: Any,
    coordinator: Any,
    executor_patch: Any,
    tool_approvals: Any,
    expected: list[tuple[str, str]],
) -> None:
    runtime = plan_runtime(
        approval_policies=floor,
        coordinator_approval=coordinator,
        executor_approval=executor_patch,
        executor_tool_approvals=tool_approvals,
    )
    events = await run(runtime, flow(store("p-1"), execute("p-1")))
    assert [(a["kind"], a["target"]) for a in approvals_of(events)] == expected
    assert (await stored_plan(runtime, "p-1"))["status"] == "executed"


# --------------------------------------------------------------------------- dynamic predicates


@pytest.mark.parametrize(
    ("predicate", "gated"),
    [
        (lambda args, ctx: len(args["actions"]) > 1, False),
        (lambda args, ctx: ctx == {"kind": "plan", "target": "p-1", "tenant": "acme"}, True),
        (_raises, True),
        (lambda args, ctx: "yes", True),
        (_coroutine, True),
    ],
    ids=["false", "true", "raises", "non-bool", "coroutine"],
)
async def test_a_plans_predicate_decides_the_plan_gate_and_fails_closed(
    predicate: Any, gated: bool
) -> None:
    runtime = plan_runtime(
        approval_policies={"plans": {"kind": "dynamic", "value": "big"}},
        approval_predicates={"big": predicate},
    )
    events = await run(runtime, flow(store("p-1"), execute("p-1")))
    assert bool(approvals_of(events, "plan")) is gated
    assert (await stored_plan(runtime, "p-1"))["status"] == "executed"


@pytest.mark.parametrize(
    ("how", "predicate", "gated"),
    [
        ("define_tool", lambda args, ctx: args["sku"].startswith("VIP"), ["VIP-1"]),
        ("define_tool", _raises, ["A", "VIP-1"]),
        ("define_tool", lambda args, ctx: 1, ["A", "VIP-1"]),
        ("approval_predicates", lambda args, ctx: args["sku"].startswith("VIP"), ["VIP-1"]),
        ("approval_predicates", _raises, ["A", "VIP-1"]),
        ("approval_predicates", _coroutine, ["A", "VIP-1"]),
    ],
)
async def test_a_tools_predicate_decides_per_call_and_fails_closed(
    how: str, predicate: Any, gated: list[str]
) -> None:
    if how == "define_tool":
        runtime = precedence_runtime(own=predicate)
    else:
        runtime = precedence_runtime(
            tool_approvals={"lookup": {"kind": "dynamic", "value": "vip"}},
            predicates={"vip": predicate},
        )
    inner = script(("lookup", {"sku": "A"}), ("lookup", {"sku": "VIP-1"}))
    events = await run(runtime, flow(("call_agent", {"agent": "w", "prompt": inner})))
    assert [a["payload"]["sku"] for a in approvals_of(events, "tool")] == gated


# --------------------------------------------------------------------------- outcomes


def gated_tool_runtime(handled: list[Any], model: Any = "scripted", hooks: Any = None) -> Any:
    transfer = define_tool("transfer", {"amount": int}, approval="always").bind(
        lambda args, ctx: handled.append(args["amount"]) or {"sent": args["amount"]}
    )
    spec = define_runtime(
        TENANT, agents=[define_specialist("w", model=MODEL, prompt="w", tools=[transfer])]
    )
    return create_runtime(spec, interpreter=model, event_hooks=hooks)


@pytest.mark.parametrize("channel", ["tool", "plan"])
async def test_the_pending_approval_exists_before_its_event_is_seen(channel: str) -> None:
    pending_when_seen: list[bool] = []
    runtime: Any = None

    def hook(event: dict[str, Any]) -> None:
        if event["type"] == "approval-required":
            ids = [p["id"] for p in runtime.pending_approvals()]
            pending_when_seen.append(event["data"]["id"] in ids)

    if channel == "tool":
        runtime = gated_tool_runtime([], hooks=[hook])
        stream = runtime.run_specialist("w", script(("transfer", {"amount": 1})), thread_id="t")
    else:
        runtime = plan_runtime(event_hooks=[hook])
        stream = runtime.query(flow(store("p-1"), execute("p-1")), thread_id="t")
    await collect_events(stream, runtime, approve="approve")
    assert pending_when_seen == [True]


async def answer_all(
    stream: Any, runtime: Any, outcome: str, feedback: str | None = None, partial: Any = None
) -> list[dict[str, Any]]:
    events = []
    async for event in stream:
        events.append(event)
        if event["type"] == "approval-required":
            await runtime.respond_to_approval(
                event["data"]["id"], outcome, feedback=feedback, partial=partial
            )
    return events


# fmt: off
TOOL_OUTCOMES = [
    # outcome, feedback, partial -> tool result, decision outcome, handler calls
    ("approve", None, None, {"sent": 500}, {"outcome": "approve"}, [500]),
    ("reject", "too risky", None,
     {"error": "approval_rejected", "rejected": True, "reason": "too risky", "do_not_retry": True},
     {"outcome": "reject"}, []),
    ("reject", None, None,
     {"error": "approval_rejected", "rejected": True, "reason": "Approval rejected",
      "do_not_retry": True},
     {"outcome": "reject"}, []),
    ("revise", "at most 100", {"amount": 100},
     {"error": "approval_rejected", "rejected": True, "reason": "at most 100",
      "should_revise": True, "feedback": "at most 100", "partial": {"amount": 100},
      "do_not_retry": False},
     {"outcome": "revise", "partial": {"amount": 100}}, []),
    ("revise", None, None,
     {"error": "approval_rejected", "rejected": True, "reason": "Approval rejected",
      "should_revise": True, "feedback": None, "partial": None, "do_not_retry": False},
     {"outcome": "revise", "partial": None}, []),
]
# fmt: on


@pytest.mark.parametrize(
    ("outcome", "feedback", "partial", "result", "decision", "handled"), TOOL_OUTCOMES
)
async def test_tool_gate_outcomes(
    outcome: str,
    feedback: str | None,
    partial: Any,
    result: Any,
    decision: Any,
    handled: list[int],
) -> None:
    calls: list[Any] = []
    runtime = gated_tool_runtime(calls)
    stream = runtime.run_specialist("w", script(("transfer", {"amount": 500})), thread_id="t")
    events = await answer_all(stream, runtime, outcome, feedback, partial)
    required, decided = [e for e in events if e["type"].startswith("approval-")]
    assert required["type"] == "approval-required"
    assert required["data"] == {
        "id": required["data"]["id"],
        "kind": "tool",
        "target": "transfer",
        "payload": {"amount": 500},
        "resourceId": "acme",
        "threadId": "t",
        "correlationId": "scripted-tool-1",
        "runUsage": run_usage(model_calls=0, tool_calls=1),
    }
    expected_decision: dict[str, Any] = {"id": required["data"]["id"], "outcome": decision}
    if feedback is not None:
        expected_decision["feedback"] = feedback
    assert decided == {
        "type": "approval-decision",
        "data": expected_decision,
        "sequence": required["sequence"] + 1,
    }
    assert tool_results(events, "transfer") == [result]
    assert calls == handled


async def test_a_revised_tool_call_lets_the_model_retry_with_the_reviewers_changes() -> None:
    model = ScriptedModel()
    model.add_turn(tool_calls=[ToolCallStep("transfer", {"amount": 500})])
    model.add_turn(tool_calls=[ToolCallStep("transfer", {"amount": 100})])
    model.add_turn(text="sent 100")
    calls: list[Any] = []
    runtime = gated_tool_runtime(calls, model)
    events = []
    async for event in runtime.run_specialist("w", "send 500", thread_id="t"):
        events.append(event)
        if event["type"] == "approval-required":
            first = event["data"]["payload"]["amount"] == 500
            await runtime.respond_to_approval(
                event["data"]["id"],
                "revise" if first else "approve",
                feedback="at most 100" if first else None,
                partial={"amount": 100} if first else None,
            )
    seen = model.requests[1].turns[0][0]
    assert seen.result["should_revise"] is True
    assert seen.result["feedback"] == "at most 100"
    assert seen.result["partial"] == {"amount": 100}
    assert calls == [100]
    model.assert_all_used()


# fmt: off
PLAN_OUTCOMES = [
    # outcome, feedback, partial -> executePlan result (subset), stored status, status events
    ("approve", None, None, {"entitiesAffected": 0}, "executed",
     [("pending_approval", "approved"), ("approved", "executing"), ("executing", "executed")]),
    ("reject", "not this quarter", None, {"error": "Plan p-1 rejected: not this quarter"},
     "draft", [("pending_approval", "draft")]),
    ("reject", None, None, {"error": "Plan p-1 rejected: Plan rejected"}, "draft",
     [("pending_approval", "draft")]),
    ("revise", "only 3%", {"pct": 3},
     {"rejected": True, "should_revise": True, "plan_id": "p-1", "partial": {"pct": 3},
      "feedback": "only 3%"},
     "draft", [("pending_approval", "draft")]),
]
# fmt: on


@pytest.mark.parametrize(
    ("outcome", "feedback", "partial", "result", "status", "changes"), PLAN_OUTCOMES
)
async def test_plan_gate_outcomes(
    outcome: str,
    feedback: str | None,
    partial: Any,
    result: dict[str, Any],
    status: str,
    changes: list[tuple[str, str]],
) -> None:
    runtime = plan_runtime()
    await run(runtime, flow(store("p-1")))
    stream = runtime.query(flow(execute("p-1")), thread_id="t")
    events = await answer_all(stream, runtime, outcome, feedback, partial)
    [executed] = tool_results(events, "executePlan")
    assert {k: executed[k] for k in result} == result
    assert status_changes(events) == [("draft", "pending_approval"), *changes]
    assert (await stored_plan(runtime, "p-1"))["status"] == status
    [decided] = [e["data"] for e in events if e["type"] == "approval-decision"]
    assert decided["outcome"]["outcome"] == outcome
    assert decided.get("feedback") == feedback


# --------------------------------------------------------------------------- respond_to_approval


async def test_responding_to_an_unknown_id_raises_a_value_error_naming_it_and_the_listing() -> None:
    runtime = plan_runtime()
    with pytest.raises(ApprovalNotFoundError, match=r"^approval not found: nope; ") as caught:
        await runtime.respond_to_approval("nope", "approve")
    assert isinstance(caught.value, ValueError)
    assert "await runtime.list_pending_approvals()" in str(caught.value)


async def test_responding_twice_raises_already_resolved_naming_the_id() -> None:
    runtime = plan_runtime()
    ids: list[str] = []
    async for event in runtime.query(flow(store("p-1"), execute("p-1")), thread_id="t"):
        if event["type"] == "approval-required":
            ids.append(event["data"]["id"])
            await runtime.respond_to_approval(ids[0], "approve")
            with pytest.raises(
                ApprovalAlreadyResolvedError, match=rf"^approval already resolved: {ids[0]}$"
            ) as caught:
                await runtime.respond_to_approval(ids[0], "reject")
            assert isinstance(caught.value, ValueError)
    with pytest.raises(ApprovalAlreadyResolvedError):
        await runtime.respond_to_approval(ids[0], "approve")
    assert (await stored_plan(runtime, "p-1"))["status"] == "executed"


@pytest.mark.parametrize("outcome", ["approved", "APPROVE", "", None])
def test_an_unknown_outcome_is_refused_when_called(outcome: Any) -> None:
    runtime = plan_runtime()
    with pytest.raises(
        ValueError, match="approval outcome must be one of 'approve', 'reject', 'revise'"
    ):
        runtime.respond_to_approval("any-id", outcome)


def test_non_string_feedback_is_refused_when_called() -> None:
    with pytest.raises(ApprovalError, match="approval feedback must be a string or None"):
        plan_runtime().respond_to_approval("any-id", "reject", feedback=42)  # type: ignore[arg-type]


async def test_the_broker_hides_approvals_of_another_tenant() -> None:
    broker = ApprovalBroker()
    request, future = broker.register(
        {"kind": "tool", "target": "t", "payload": {}, "resource_id": "globex", "thread_id": "x"}
    )
    with pytest.raises(ApprovalNotFoundError, match=f"approval not found: {request.id}"):
        broker.respond("acme", request.id, Decision("approve"))
    assert broker.pending("acme") == [] and broker.pending("globex") == [request]
    broker.respond("globex", request.id, Decision("reject", "no"))
    assert await future == Decision("reject", "no")


# --------------------------------------------------------------------------- suspend and resume


async def test_an_approval_answered_from_another_task_resumes_the_suspended_stream() -> None:
    handled: list[Any] = []
    runtime = gated_tool_runtime(handled)
    consumer = asyncio.create_task(
        collect_events(
            runtime.run_specialist("w", script(("transfer", {"amount": 5})), thread_id="t")
        )
    )
    [pending] = await wait_until(runtime.pending_approvals)
    assert not consumer.done()
    await runtime.respond_to_approval(pending["id"], "approve")
    events = await asyncio.wait_for(consumer, 5)
    assert handled == [5]
    assert_sequenced(events)
    assert events[-1] == {
        "type": "tool-agent",
        "agentName": "w",
        "toolInvocationId": events[0]["toolInvocationId"],
        "state": "result",
        "sequence": len(events),
    }


async def test_an_approval_answered_from_another_thread_resumes_the_stream() -> None:
    runtime = plan_runtime()
    consumer = asyncio.create_task(run(runtime, flow(store("p-1"), execute("p-1")), approve=None))
    approval_id = (await wait_until(runtime.pending_approvals))[0]["id"]
    await asyncio.to_thread(
        lambda: asyncio.run(runtime.respond_to_approval(approval_id, "approve"))  # type: ignore[arg-type]
    )
    events = await asyncio.wait_for(consumer, 5)
    assert status_changes(events)[-1] == ("executing", "executed")


@pytest.mark.parametrize("leave", ["aclose", "cancel", "drop"])
async def test_when_the_consumer_is_gone_the_gate_gives_up_instead_of_waiting(
    leave: str,
) -> None:
    handled: list[Any] = []
    runtime = gated_tool_runtime(handled)
    stream = runtime.run_specialist("w", script(("transfer", {"amount": 5})), thread_id="t")
    approval_id = None
    async for event in stream:
        if event["type"] == "approval-required":
            approval_id = event["data"]["id"]
            break
    assert runtime.pending_approvals() != []
    if leave == "aclose":
        await stream.aclose()
    elif leave == "cancel":
        stream.cancel()
    else:
        del stream
        gc.collect()
    await wait_until(lambda: runtime.pending_approvals() == [])
    with pytest.raises(
        ApprovalAlreadyResolvedError, match=f"approval already resolved: {approval_id}"
    ):
        await runtime.respond_to_approval(approval_id, "approve")  # type: ignore[arg-type]
    assert handled == []


class _ClosingSink(EventSink):
    """An event channel that closes after ``open_for`` events, as when the consumer leaves."""

    def __init__(self, open_for: int) -> None:
        super().__init__(64)
        self.open_for = open_for
        self.closed = open_for == 0

    async def emit(self, event: Any) -> None:
        await super().emit(event)
        self.open_for -= 1
        self.closed = self.open_for <= 0


def _scope_with_sink(runtime: Any, agent: str, sink: EventSink) -> AgentScope:
    context = RunContext(
        runtime._compiled, sink, "t", runtime._approvals, runtime._references, KeyedLocks()
    )
    return AgentScope(context, runtime._compiled.agents[agent], f"t-{agent}")


async def test_a_plan_gate_whose_event_channel_is_closed_fails_without_waiting() -> None:
    runtime = plan_runtime()
    await run(runtime, flow(store("p-1")))
    scope = _scope_with_sink(runtime, "executor", _ClosingSink(0))
    outcome = await asyncio.wait_for(
        execute_plan(ToolCall(scope, "call-1", "executePlan"), {"planId": "p-1"}), 5
    )
    assert outcome.is_error
    assert outcome.content == {"error": "Plan p-1 approval channel closed before resolution"}
    assert runtime.pending_approvals() == []
    assert (await stored_plan(runtime, "p-1"))["status"] == "draft"


async def test_a_tool_gate_whose_event_channel_is_closed_fails_without_waiting() -> None:
    handled: list[Any] = []
    runtime = gated_tool_runtime(handled)
    scope = _scope_with_sink(runtime, "w", _ClosingSink(1))
    # The gate expires its approval and returns; reporting the result then ends the run.
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(dispatch_tool(scope, "c1", "transfer", {"amount": 1}), 5)
    assert runtime.pending_approvals() == []
    assert handled == []


# --------------------------------------------------------------------------- many runs at once

N_RUNS = 24
OUTCOME_OF = ("approve", "reject", "revise")


async def test_many_concurrent_runs_each_get_their_own_decision_in_any_order() -> None:
    handled: list[int] = []
    tool_runtime = gated_tool_runtime(handled)
    dispatched: list[str] = []
    plans_runtime = plan_runtime(
        dispatcher=lambda actions, ctx: dispatched.append(actions[0]["kind"])
    )
    for i in range(1, N_RUNS, 2):
        await run(
            plans_runtime,
            flow(store(f"p-{i}", {"actions": [{"kind": f"k{i}"}]})),
            thread_id=f"setup-{i}",
        )
    requests: asyncio.Queue[tuple[int, str]] = asyncio.Queue()

    async def consume(i: int) -> list[dict[str, Any]]:
        if i % 2 == 0:
            runtime = tool_runtime
            stream = runtime.run_specialist(
                "w", script(("transfer", {"amount": i})), thread_id=f"t{i}"
            )
        else:
            stream = plans_runtime.query(flow(execute(f"p-{i}")), thread_id=f"t{i}")
        events = []
        async for event in stream:
            events.append(event)
            if event["type"] == "approval-required":
                await requests.put((i, event["data"]["id"]))
        return events

    async def approver() -> None:
        waiting = [await requests.get() for _ in range(N_RUNS)]
        random.Random(7).shuffle(waiting)
        for i, approval_id in waiting:
            runtime = tool_runtime if i % 2 == 0 else plans_runtime
            await runtime.respond_to_approval(approval_id, OUTCOME_OF[i % 3], feedback=f"f{i}")
            await asyncio.sleep(0)

    results = await asyncio.wait_for(
        asyncio.gather(*(consume(i) for i in range(N_RUNS)), approver()), 20
    )
    for i, events in enumerate(results[:N_RUNS]):
        assert_sequenced(events)
        assert events[-1]["type"] == "tool-agent" and events[-1]["state"] == "result"
        [required] = [e for e in events if e["type"] == "approval-required"]
        [decided] = [e for e in events if e["type"] == "approval-decision"]
        assert decided["data"]["id"] == required["data"]["id"]
        assert decided["data"]["outcome"]["outcome"] == OUTCOME_OF[i % 3]
        assert decided["data"]["feedback"] == f"f{i}"
        outcome = OUTCOME_OF[i % 3]
        if i % 2 == 0:
            [result] = tool_results(events, "transfer")
            if outcome == "approve":
                assert result == {"sent": i}
            else:
                assert (result["reason"], result.get("should_revise")) == (
                    f"f{i}",
                    True if outcome == "revise" else None,
                )
        else:
            [result] = tool_results(events, "executePlan")
            expected = {
                "approve": {"entitiesAffected": 0},
                "reject": {"error": f"Plan p-{i} rejected: f{i}"},
                "revise": {"should_revise": True, "feedback": f"f{i}", "plan_id": f"p-{i}"},
            }[outcome]
            assert {k: result.get(k) for k in expected} == expected
            status = (await stored_plan(plans_runtime, f"p-{i}"))["status"]
            assert status == ("executed" if outcome == "approve" else "draft")
    assert sorted(handled) == [i for i in range(0, N_RUNS, 2) if OUTCOME_OF[i % 3] == "approve"]
    assert sorted(dispatched) == sorted(
        f"k{i}" for i in range(1, N_RUNS, 2) if OUTCOME_OF[i % 3] == "approve"
    )
