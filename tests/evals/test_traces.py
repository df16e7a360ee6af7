"""Sample capture and the trace recorder (evals/traces.py)."""

from __future__ import annotations

from typing import Any

import pytest

from flowai_harness.evals.traces import (
    INLINE_PAYLOAD_LIMIT,
    AgentModel,
    SampleCapture,
    TraceStore,
    payload_record,
)

USAGE = {
    "promptTokens": 10,
    "completionTokens": 5,
    "cacheReadInputTokens": 2,
    "cacheCreationInputTokens": 1,
    "totalTokens": 15,
}


def agent(name: str, inv: str, state: str) -> dict[str, Any]:
    return {"type": "tool-agent", "agentName": name, "toolInvocationId": inv, "state": state}


def call(inv: str, name: str, args: Any = None) -> dict[str, Any]:
    return {
        "type": "tool-invocation",
        "toolInvocationId": inv,
        "toolName": name,
        "args": args,
        "state": "call",
    }


def result(inv: str, name: str, value: Any) -> dict[str, Any]:
    return {
        "type": "tool-invocation",
        "toolInvocationId": inv,
        "toolName": name,
        "args": None,
        "state": "result",
        "result": value,
    }


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def capture_of(*events: dict[str, Any], entry: str = "c") -> SampleCapture:
    capture = SampleCapture(
        entry,
        f"entry-{entry}",
        {
            "c": AgentModel("claude-sonnet-4-6", "anthropic"),
            "planner": AgentModel("claude-haiku-4-5"),
        },
    )
    for event in events:
        capture.observe(event)
    return capture


def test_scripted_call_ids_repeat_across_agents_and_are_kept_apart() -> None:
    plan = {"id": "p1", "actions": [{"kind": "discount", "payload": {"pct": 5}, "references": []}]}
    capture = capture_of(
        agent("c", "entry-c", "call"),
        call("scripted-tool-1", "call_agent", {"agent": "planner"}),
        agent("planner", "scripted-tool-1", "call"),
        call("scripted-tool-1", "storePlan", {"planId": "p1"}),
        result("scripted-tool-1", "storePlan", plan),
        text("planned"),
        {"type": "finish", "finishReason": "stop", "usage": USAGE},
        agent("planner", "scripted-tool-1", "result"),
        result("scripted-tool-1", "call_agent", {"agent": "planner", "response": "planned"}),
        text("done"),
        {"type": "finish", "finishReason": "stop", "usage": USAGE},
        agent("c", "entry-c", "result"),
    )
    assert [(s.tool_name, s.depth, s.agent) for s in capture.steps] == [
        ("call_agent", 1, "c"),
        ("storePlan", 2, "planner"),
    ]
    assert all(step.finished and step.error is None for step in capture.steps)
    assert capture.trajectory(include_sub_agents=False) == ["call_agent"]
    assert capture.trajectory(include_sub_agents=True) == ["call_agent", "storePlan"]
    assert capture.planned_actions == [{"type": "discount", "payload": {"pct": 5}}]
    assert capture.response_text == "done"
    assert capture.entry_completed and capture.error is None
    assert [(i.agent, i.model, i.provider) for i in capture.invocations] == [
        ("planner", "claude-haiku-4-5", None),
        ("c", "claude-sonnet-4-6", "anthropic"),
    ]
    first = capture.invocations[0]
    assert (
        first.input_tokens,
        first.output_tokens,
        first.cached_tokens,
        first.cache_creation_tokens,
    ) == (10, 5, 2, 1)
    kinds = [(e["kind"], e["name"], e["depth"]) for e in capture.trajectory_events]
    assert kinds == [
        ("agent", "c", 1),
        ("tool", "call_agent", 1),
        ("agent", "planner", 2),
        ("tool", "storePlan", 2),
    ]


def test_a_failed_sub_agent_closes_its_frame_and_the_run_goes_on() -> None:
    capture = capture_of(
        agent("c", "entry-c", "call"),
        call("k1", "call_agent"),
        agent("planner", "k1", "call"),
        {"type": "error", "error": {"message": "MaxTurnError: planner"}},
        result("k1", "call_agent", {"error": "Sub-agent failed: agent failed: MaxTurnError"}),
        text("sorry"),
        agent("c", "entry-c", "result"),
    )
    assert capture.entry_completed and capture.error is None
    assert capture.had_step_errors
    assert capture.response_text == "sorry"
    assert capture.steps[0].error == "Sub-agent failed: agent failed: MaxTurnError"


def test_an_entry_failure_reports_the_entry_message_not_the_wrapper() -> None:
    capture = capture_of(
        agent("c", "entry-c", "call"),
        {"type": "error", "error": {"message": "model exploded", "code": "model_error"}},
        {"type": "error", "error": {"message": "agent failed: model exploded"}},
    )
    assert not capture.entry_completed
    assert capture.error == "model exploded"


def test_executed_plans_add_their_resolved_actions_and_errors_are_skipped() -> None:
    resolved = [{"type": "discount", "payload": {"pct": 5}}]
    capture = capture_of(
        agent("c", "entry-c", "call"),
        call("e1", "executePlan"),
        result("e1", "executePlan", {"error": "plan not found: p0"}),
        call("e2", "executePlan"),
        result("e2", "executePlan", {"details": {"resolvedActions": resolved}}),
        call("e3", "executePlan"),
        result("e3", "executePlan", {"resolvedActions": [*resolved, {"type": ""}]}),
    )
    assert capture.resolved_actions == resolved * 2
    assert capture.steps[0].error == "plan not found: p0"


def test_latency_and_cost_summaries_are_summed_per_invocation() -> None:
    capture = capture_of(
        agent("c", "entry-c", "call"),
        {"type": "data-cost-summary", "data": {"totalCostUsd": 0.25}},
        {"type": "data-latency-summary", "data": {"phases": {"llmTimeMs": 40, "toolTimeMs": 7}}},
        {"type": "finish", "finishReason": "stop", "usage": USAGE},
        agent("c", "entry-c", "result"),
    )
    assert (capture.model_ms, capture.tool_ms) == (40, 7)
    assert capture.invocations[0].estimated_cost_usd == 0.25


def test_an_approval_request_is_noticed() -> None:
    capture = capture_of({"type": "approval-required", "data": {"id": "a1"}})
    assert capture.approval_requested


def test_large_payloads_are_omitted_from_traces() -> None:
    assert payload_record({"a": 1}) == {"kind": "inline", "value": {"a": 1}}
    record = payload_record("x" * (INLINE_PAYLOAD_LIMIT + 1))
    assert record["kind"] == "omitted"
    assert "exceeds the 65536-byte limit" in record["reason"]


def test_the_trace_store_keeps_the_newest_traces_and_hands_out_copies() -> None:
    store = TraceStore(capacity=2)
    for index in range(3):
        store.record({"traceId": f"t{index}", "scope": {"evalRunId": "r"}, "steps": []})
    assert len(store) == 2
    assert store.get("t0") is None
    trace = store.get("t1")
    assert trace is not None
    trace["steps"].append("x")
    assert store.get("t1") == {"traceId": "t1", "scope": {"evalRunId": "r"}, "steps": []}
    assert [t["traceId"] for t in store.select(eval_run_id="r")] == ["t1", "t2"]
    assert store.select(eval_run_id="other") == []
    with pytest.raises(ValueError, match="trace capacity must be >= 1, got 0"):
        TraceStore(capacity=0)
