"""The exact event sequences of the offline interpreters (one call and one result per tool call)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from flowai_harness import TestingConfig, create_runtime, define_runtime, define_tool
from flowai_harness.errors import UnknownAgentError
from flowai_harness.testing import collect_events
from tests.engine.helpers import (
    INV_RE,
    TENANT,
    ZERO_USAGE,
    coordinator,
    executor,
    planner,
    run_usage,
    runtime_of,
    script,
    snapshot,
    specialist,
)

MOCK_USAGE = {
    "promptTokens": 50,
    "completionTokens": 25,
    "cacheReadInputTokens": 0,
    "cacheCreationInputTokens": 0,
    "totalTokens": 75,
}
MOCK_LATENCY = {
    "totalDurationMs": 0,
    "phases": {"llmTimeMs": 0, "toolTimeMs": 0, "subAgentTimeMs": 0, "llmCalls": 1},
    "toolTimings": [],
    "retryCount": 0,
    "hadTimeout": False,
}
FINISH = {"type": "finish", "finishReason": "stop", "usage": ZERO_USAGE}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def frame(agent: str, inv: str = "INV") -> tuple[dict[str, Any], dict[str, Any]]:
    """The tool-agent call/result pair of one invocation."""
    return (
        {"type": "tool-agent", "agentName": agent, "toolInvocationId": inv, "state": "call"},
        {"type": "tool-agent", "agentName": agent, "toolInvocationId": inv, "state": "result"},
    )


def call(call_id: str, name: str, args: Any) -> dict[str, Any]:
    return {
        "type": "tool-invocation",
        "toolInvocationId": call_id,
        "toolName": name,
        "args": args,
        "state": "call",
    }


def result(call_id: str, name: str, args: Any, value: Any) -> dict[str, Any]:
    return {
        "type": "tool-invocation",
        "toolInvocationId": call_id,
        "toolName": name,
        "args": args,
        "state": "result",
        "result": value,
    }


@define_tool("t", {"x": int})
def echo_x(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"got": args["x"]}


@define_tool("gated", {"x": int}, approval="always")
def gated(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"done": args["x"]}


@define_tool("boom", {})
def boom(args: dict[str, Any], ctx: Any) -> None:
    raise RuntimeError("nope")


# --------------------------------------------------------------------------- noop


async def test_noop_query_is_frame_step_start_finish_with_zero_usage() -> None:
    runtime = runtime_of(coordinator(["w"]), specialist("w"))
    events = await collect_events(runtime.query("hi", thread_id="t"))
    start, end = frame("c")
    assert snapshot(events) == [start, {"type": "step-start"}, FINISH, end]
    assert INV_RE.match(events[0]["toolInvocationId"])


async def test_noop_run_specialist_frames_the_specialist() -> None:
    runtime = runtime_of(specialist("w", tools=[echo_x]))
    events = await collect_events(runtime.run_specialist("w", "anything", thread_id="t"))
    start, end = frame("w")
    assert snapshot(events) == [start, {"type": "step-start"}, FINISH, end]


async def test_noop_ignores_a_scripted_prompt() -> None:
    runtime = runtime_of(specialist("w", tools=[echo_x]))
    events = await collect_events(runtime.run_specialist("w", script(("t", {"x": 1}))))
    assert [e["type"] for e in events] == ["tool-agent", "step-start", "finish", "tool-agent"]


# --------------------------------------------------------------------------- mock


async def test_mock_sequence_echoes_prompt_then_response_latency_and_finish_50_25() -> None:
    spec = define_runtime(TENANT, agents=[coordinator(["w"]), specialist("w")])
    runtime = create_runtime(spec, testing=TestingConfig(mock_response="M"))
    events = await collect_events(runtime.query("hi", thread_id="t"))
    start, end = frame("c")
    assert snapshot(events) == [
        start,
        {"type": "step-start"},
        {"type": "text", "text": "Received: hi\n\n"},
        {"type": "text", "text": "M"},
        {"type": "data-latency-summary", "data": MOCK_LATENCY},
        {"type": "finish", "finishReason": "stop", "usage": MOCK_USAGE},
        end,
    ]


@pytest.mark.parametrize("prompt", ["", "   \n"])
async def test_mock_blank_prompt_is_received_as_hello(prompt: str) -> None:
    spec = define_runtime(TENANT, agents=[specialist("w")])
    runtime = create_runtime(spec, testing={"mock_response": "ok"})
    events = await collect_events(runtime.run_specialist("w", prompt))
    assert events[2] == {"type": "text", "text": "Received: Hello\n\n", "sequence": 3}


async def test_mock_never_calls_tools_or_sub_agents() -> None:
    spec = define_runtime(TENANT, agents=[coordinator(["w"]), specialist("w", tools=[echo_x])])
    runtime = create_runtime(spec, testing={"mock_response": "R"})
    prompt = script(("call_agent", {"agent": "w", "prompt": script(("t", {"x": 1}))}))
    events = await collect_events(runtime.query(prompt, thread_id="t"))
    assert {e["type"] for e in events} == {
        "tool-agent",
        "step-start",
        "text",
        "data-latency-summary",
        "finish",
    }
    assert [e["agentName"] for e in events if e["type"] == "tool-agent"] == ["c", "c"]


# --------------------------------------------------------------------------- scripted


async def test_scripted_echo_mode_repeats_a_non_script_prompt_verbatim() -> None:
    runtime = runtime_of(specialist("w"), interpreter="scripted")
    events = await collect_events(runtime.run_specialist("w", "just {text}"))
    start, end = frame("w")
    assert snapshot(events) == [
        start,
        {"type": "step-start"},
        {"type": "text", "text": "just {text}"},
        FINISH,
        end,
    ]


@pytest.mark.parametrize(
    "prompt",
    ['"a json string"', "[1, 2]", '{"tool": 3}', '{"script": [{"args": {}}]}', '{"other": 1}'],
)
async def test_scripted_json_that_is_not_a_script_is_echoed(prompt: str) -> None:
    runtime = runtime_of(specialist("w", tools=[echo_x]), interpreter="scripted")
    events = await collect_events(runtime.run_specialist("w", prompt))
    assert [e["type"] for e in events] == [
        "tool-agent",
        "step-start",
        "text",
        "finish",
        "tool-agent",
    ]
    assert events[2]["text"] == prompt


async def test_scripted_single_tool_call_emits_one_call_one_result_and_compact_text() -> None:
    runtime = runtime_of(specialist("w", tools=[echo_x]), interpreter="scripted")
    prompt = json.dumps({"tool": "t", "args": {"x": 1}, "ignored": True})
    events = await collect_events(runtime.run_specialist("w", prompt, thread_id="t"))
    start, end = frame("w")
    assert snapshot(events) == [
        start,
        {"type": "step-start"},
        call("scripted-tool-1", "t", {"x": 1}),
        result("scripted-tool-1", "t", {"x": 1}, {"got": 1}),
        {"type": "text", "text": '{"got":1}'},
        FINISH,
        end,
    ]


async def test_scripted_text_is_compact_json_with_sorted_keys_and_raw_utf8() -> None:
    @define_tool("info", {})
    def info(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"zeta": "é", "alpha": [1, {"b": None, "a": 2.5}]}

    runtime = runtime_of(specialist("w", tools=[info]), interpreter="scripted")
    events = await collect_events(runtime.run_specialist("w", '{"tool": "info"}'))
    assert events[4]["text"] == '{"alpha":[1,{"a":2.5,"b":null}],"zeta":"é"}'


async def test_scripted_script_ids_count_from_one_and_errors_do_not_stop_later_calls() -> None:
    runtime = runtime_of(specialist("w", tools=[echo_x, boom]), interpreter="scripted")
    prompt = script(("boom", None), ("t", {"x": "bad"}), ("t", {"x": 2}), ("nosuch", {}))
    events = await collect_events(runtime.run_specialist("w", prompt))
    start, end = frame("w")
    assert snapshot(events) == [
        start,
        {"type": "step-start"},
        call("scripted-tool-1", "boom", None),
        result("scripted-tool-1", "boom", None, {"error": "RuntimeError: nope"}),
        call("scripted-tool-2", "t", {"x": "bad"}),
        result(
            "scripted-tool-2",
            "t",
            {"x": "bad"},
            {"error": "Invalid arguments for tool 't': x: 'bad' is not of type 'integer'"},
        ),
        call("scripted-tool-3", "t", {"x": 2}),
        result("scripted-tool-3", "t", {"x": 2}, {"got": 2}),
        {"type": "text", "text": '{"got":2}'},
        call("scripted-tool-4", "nosuch", {}),
        result("scripted-tool-4", "nosuch", {}, {"error": "Unknown tool: nosuch"}),
        FINISH,
        end,
    ]


async def test_scripted_agent_without_tools_fails_with_the_two_error_tail() -> None:
    runtime = runtime_of(specialist("w"), interpreter="scripted")
    events = await collect_events(runtime.run_specialist("w", '{"tool": "t"}'))
    start, _ = frame("w")
    assert snapshot(events) == [
        start,
        {"type": "step-start"},
        {"type": "error", "error": {"message": "scripted interpreter has no dispatcher"}},
        {
            "type": "error",
            "error": {"message": "agent failed: scripted interpreter has no dispatcher"},
        },
    ]


async def test_scripted_approval_always_approved_sits_between_call_and_result() -> None:
    runtime = runtime_of(specialist("w", tools=[gated]), interpreter="scripted")
    stream = runtime.run_specialist("w", '{"tool": "gated", "args": {"x": 1}}', thread_id="t")
    events = await collect_events(stream, runtime, approve="approve")
    start, end = frame("w")
    assert snapshot(events) == [
        start,
        {"type": "step-start"},
        call("scripted-tool-1", "gated", {"x": 1}),
        {
            "type": "approval-required",
            "data": {
                "id": "APPROVAL-1",
                "kind": "tool",
                "target": "gated",
                "payload": {"x": 1},
                "resourceId": "acme",
                "threadId": "t",
                "correlationId": "scripted-tool-1",
                "runUsage": run_usage(model_calls=0, tool_calls=1),
            },
        },
        {
            "type": "approval-decision",
            "data": {"id": "APPROVAL-1", "outcome": {"outcome": "approve"}},
        },
        result("scripted-tool-1", "gated", {"x": 1}, {"done": 1}),
        {"type": "text", "text": '{"done":1}'},
        FINISH,
        end,
    ]


async def test_scripted_rejected_tool_gets_the_rejection_result_and_no_text() -> None:
    runtime = runtime_of(specialist("w", tools=[gated]), interpreter="scripted")
    stream = runtime.run_specialist("w", '{"tool": "gated", "args": {"x": 1}}', thread_id="t")
    events = await collect_events(stream, runtime, approve="reject", feedback="too big")
    body = snapshot(events)[2:]
    assert body[2] == {
        "type": "approval-decision",
        "data": {"id": "APPROVAL-1", "outcome": {"outcome": "reject"}, "feedback": "too big"},
    }
    assert body[3] == result(
        "scripted-tool-1",
        "gated",
        {"x": 1},
        {
            "error": "approval_rejected",
            "rejected": True,
            "reason": "too big",
            "do_not_retry": True,
        },
    )
    assert [e["type"] for e in body[4:]] == ["finish", "tool-agent"]


async def test_scripted_sub_agent_block_nests_inside_call_agent_and_reuses_its_id() -> None:
    runtime = runtime_of(
        coordinator(["w"]), specialist("w", tools=[echo_x]), interpreter="scripted"
    )
    inner = '{"tool": "t", "args": {"x": 7}}'
    events = await collect_events(
        runtime.query(script(("call_agent", {"agent": "w", "prompt": inner})), thread_id="t")
    )
    c_start, c_end = frame("c")
    w_start, w_end = frame("w", "scripted-tool-1")
    args = {"agent": "w", "prompt": inner}
    reply = {"agent": "w", "response": '{"got":7}', "model": "claude-haiku-4-5"}
    assert snapshot(events) == [
        c_start,
        {"type": "step-start"},
        call("scripted-tool-1", "call_agent", args),
        w_start,
        {"type": "step-start"},
        call("scripted-tool-1", "t", {"x": 7}),
        result("scripted-tool-1", "t", {"x": 7}, {"got": 7}),
        {"type": "text", "text": '{"got":7}'},
        FINISH,
        w_end,
        result("scripted-tool-1", "call_agent", args, reply),
        {
            "type": "text",
            "text": '{"agent":"w","model":"claude-haiku-4-5","response":"{\\"got\\":7}"}',
        },
        FINISH,
        c_end,
    ]


async def test_sub_agent_failure_is_relayed_mid_stream_and_the_parent_keeps_running() -> None:
    runtime = runtime_of(coordinator(["w"]), specialist("w"), interpreter="scripted")
    args = {"agent": "w", "prompt": '{"tool": "t"}'}
    events = await collect_events(
        runtime.query(
            script(("call_agent", args), ("call_agent", {"agent": "w", "prompt": "hi"})),
            thread_id="t",
        )
    )
    c_start, c_end = frame("c")
    w_start, _ = frame("w", "scripted-tool-1")
    w2_start, w2_end = frame("w", "scripted-tool-2")
    hi_args = {"agent": "w", "prompt": "hi"}
    assert snapshot(events) == [
        c_start,
        {"type": "step-start"},
        call("scripted-tool-1", "call_agent", args),
        w_start,
        {"type": "step-start"},
        {"type": "error", "error": {"message": "scripted interpreter has no dispatcher"}},
        result(
            "scripted-tool-1",
            "call_agent",
            args,
            {"error": "Sub-agent failed: agent failed: scripted interpreter has no dispatcher"},
        ),
        call("scripted-tool-2", "call_agent", hi_args),
        w2_start,
        {"type": "step-start"},
        {"type": "text", "text": "hi"},
        FINISH,
        w2_end,
        result(
            "scripted-tool-2",
            "call_agent",
            hi_args,
            {"agent": "w", "response": "hi", "model": "claude-haiku-4-5"},
        ),
        {"type": "text", "text": '{"agent":"w","model":"claude-haiku-4-5","response":"hi"}'},
        FINISH,
        c_end,
    ]


# --------------------------------------------------------------------------- plan flow


def _without_timestamps(value: Any) -> Any:
    if isinstance(value, str):
        return TIMESTAMP.sub("TS", value)
    if isinstance(value, dict):
        return {k: _without_timestamps(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_timestamps(v) for v in value]
    return value


async def test_reference_flow_coordinator_planner_executor_with_plan_approval() -> None:
    dispatched: list[Any] = []

    def dispatcher(actions: list[dict[str, Any]], ctx: dict[str, Any]) -> dict[str, Any]:
        dispatched.append((actions, ctx))
        return {"entitiesAffected": len(actions), "summary": "ok"}

    runtime = runtime_of(
        coordinator(["planner", "executor"]),
        planner(),
        executor(),
        interpreter="scripted",
        action_dispatcher=dispatcher,
    )
    store = {
        "tool": "storePlan",
        "args": {
            "specName": "Promo",
            "planId": "p-1",
            "body": {"actions": [{"kind": "discount", "pct": 5}]},
        },
    }
    execute = {"tool": "executePlan", "args": {"planId": "p-1"}}
    to_planner = {"agent": "planner", "prompt": json.dumps(store)}
    to_executor = {"agent": "executor", "prompt": json.dumps(execute)}
    events = await collect_events(
        runtime.query(
            script(("call_agent", to_planner), ("call_agent", to_executor)), thread_id="t"
        ),
        runtime,
        approve="approve",
    )
    actions = [{"kind": "discount", "payload": {"pct": 5}, "references": []}]
    draft = {
        "id": "p-1",
        "owner": "acme",
        "specName": "Promo",
        "actions": actions,
        "status": "draft",
        "description": None,
        "context": {},
        "createdAt": "TS",
        "approvedAt": None,
        "startedAt": None,
        "completedAt": None,
        "failedAt": None,
        "approvedBy": None,
        "outcome": None,
    }
    draft_text = (
        '{"actions":[{"kind":"discount","payload":{"pct":5},"references":[]}],'
        '"approvedAt":null,"approvedBy":null,"completedAt":null,"context":{},'
        '"createdAt":"TS","description":null,"failedAt":null,"id":"p-1","outcome":null,'
        '"owner":"acme","specName":"Promo","startedAt":null,"status":"draft"}'
    )
    resolved = [{"type": "discount", "payload": {"pct": 5}}]
    executed = {
        "entitiesAffected": 1,
        "summary": "ok",
        "details": {"resolvedActions": resolved},
        "resolvedActions": resolved,
    }
    executed_text = (
        '{"details":{"resolvedActions":[{"payload":{"pct":5},"type":"discount"}]},'
        '"entitiesAffected":1,"resolvedActions":[{"payload":{"pct":5},"type":"discount"}],'
        '"summary":"ok"}'
    )
    c_start, c_end = frame("c")
    p_start, p_end = frame("planner", "scripted-tool-1")
    e_start, e_end = frame("executor", "scripted-tool-2")
    planner_reply = {"agent": "planner", "response": draft_text, "model": "claude-haiku-4-5"}
    executor_reply = {"agent": "executor", "response": executed_text, "model": "claude-haiku-4-5"}
    assert _without_timestamps(snapshot(events)) == [
        c_start,
        {"type": "step-start"},
        call("scripted-tool-1", "call_agent", to_planner),
        p_start,
        {"type": "step-start"},
        call("scripted-tool-1", "storePlan", store["args"]),
        result("scripted-tool-1", "storePlan", store["args"], draft),
        {"type": "text", "text": draft_text},
        FINISH,
        p_end,
        result("scripted-tool-1", "call_agent", to_planner, planner_reply),
        {"type": "text", "text": json.dumps(planner_reply, sort_keys=True, separators=(",", ":"))},
        call("scripted-tool-2", "call_agent", to_executor),
        e_start,
        {"type": "step-start"},
        call("scripted-tool-1", "executePlan", {"planId": "p-1"}),
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
        # the execution transitions emit too (the reference emitted nothing for them)
        {
            "type": "plan-status-change",
            "data": {"planId": "p-1", "from": "approved", "to": "executing"},
        },
        {
            "type": "plan-status-change",
            "data": {"planId": "p-1", "from": "executing", "to": "executed"},
        },
        result("scripted-tool-1", "executePlan", {"planId": "p-1"}, executed),
        {"type": "text", "text": executed_text},
        FINISH,
        e_end,
        result("scripted-tool-2", "call_agent", to_executor, executor_reply),
        {"type": "text", "text": json.dumps(executor_reply, sort_keys=True, separators=(",", ":"))},
        FINISH,
        c_end,
    ]
    assert dispatched == [(actions, {"resolved_refs": {}})]


# --------------------------------------------------------------------------- pre-flight


async def test_query_without_coordinator_is_a_single_error_event() -> None:
    runtime = runtime_of(specialist("w"))
    events = await collect_events(runtime.query("hi", thread_id="t"))
    assert events == [
        {
            "type": "error",
            "sequence": 1,
            "error": {
                "message": "no coordinator agent registered in the spec; query starts at the "
                "coordinator: add one to define_runtime(agents=[...]) with "
                "define_coordinator(...), or start at a specialist with "
                "run_specialist(name, prompt)"
            },
        }
    ]


def test_run_specialist_with_unknown_name_raises_at_the_call_suggesting_the_close_name() -> None:
    runtime = runtime_of(specialist("worker"))
    with pytest.raises(UnknownAgentError) as caught:
        runtime.run_specialist("werker", "hi")
    assert str(caught.value).startswith(
        "specialist 'werker' not found; did you mean 'worker'? The specialists of this runtime "
        "are ['worker']"
    )
    assert isinstance(caught.value, ValueError)


async def test_run_specialist_on_a_non_specialist_is_a_single_error_event() -> None:
    runtime = runtime_of(coordinator(["w"]), specialist("w"))
    events = await collect_events(runtime.run_specialist("c", "hi"))
    assert events == [
        {
            "type": "error",
            "sequence": 1,
            "error": {
                "message": "agent 'c' is not a specialist; it is the coordinator: start it with "
                "runtime.query(prompt, thread_id)"
            },
        }
    ]
