"""Compatibility of the Studio HTTP routes with the reference server (one test per behaviour)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowai_harness import TestingConfig, create_runtime, define_test_case
from flowai_harness.studio import StudioStore, define_app
from flowai_harness.testing import ScriptedModel
from flowai_harness.testing.fake_model import ModelTurn, ToolCallStep
from tests.studio.studio_apps import chat_spec, data_app, parse_sse

from .studio_fakes import (
    COORDINATOR,
    WAIT_FOREVER,
    ReplayRuntime,
    W,
    client_for,
    replay_app,
    sub_agent,
    text,
    tool,
)

CONFIG = {"samplesPerCase": 1, "concurrency": 1, "kValues": [1]}


def _mock_app() -> Any:
    spec = chat_spec()
    return define_app(
        name="compat-evals",
        runtime_spec=spec,
        runtime_factory=lambda: create_runtime(
            spec, testing=TestingConfig(mock_response="Refunds take 30 days.")
        ),
    )


def _create_eval(client: Any, case: dict[str, Any], **config: Any) -> str:
    assert client.post(f"{W}/tests", json=case).status_code == 200
    body = {"id": "eval-1", "config": {**CONFIG, **config}, "testCaseIds": [case["id"]]}
    response = client.post(f"{W}/evals", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["eval"]["id"])


# ---------------------------------------------------------------- HTTP-1


def test_creating_a_test_answers_200_with_its_normalised_test_case() -> None:
    body = {
        "id": "tc-gt",
        "input": "What changed?",
        "groundTruth": {
            "kind": "structured",
            "schema": "x.y",
            "payload": {"any": {"nested": [1, 2]}},
        },
    }
    with client_for(replay_app(ReplayRuntime())) as client:
        response = client.post(f"{W}/tests", json=body)
        invalid = client.post(f"{W}/tests", json={"id": "no-input"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["workspaceKey"] == "default"
    row = answer["test"]
    assert {"id", "testCase", "createdAt", "updatedAt"} <= set(row)
    assert row["id"] == "tc-gt"
    ground_truth = row["testCase"]["structuredGroundTruth"]
    assert (ground_truth["kind"], ground_truth["data"]) == (
        "structured",
        {"any": {"nested": [1, 2]}},
    )
    assert ground_truth.get("schema") == "x.y"  # kept on the wire (the reference drops it)
    assert "groundTruth" not in row["testCase"]
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "test.invalid"


# ---------------------------------------------------------------- HTTP-2


def test_creating_an_eval_answers_200_with_status_created_and_its_config() -> None:
    body = {"id": "eval-1", "config": {**CONFIG, "samplesPerCase": 2}, "testCaseIds": ["tc-1"]}
    with client_for(replay_app(ReplayRuntime())) as client:
        response = client.post(f"{W}/evals", json=body)
        detail = client.get(f"{W}/evals/eval-1").json()
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["workspaceKey"] == "default"
    row = created["eval"]
    assert {
        "id",
        "config",
        "scorerPreset",
        "testCaseIds",
        "status",
        "latestSummary",
        "createdAt",
        "updatedAt",
    } <= set(row)
    assert (row["id"], row["status"], row["testCaseIds"], row["latestSummary"]) == (
        "eval-1",
        "created",
        ["tc-1"],
        None,
    )
    assert detail["eval"]["config"]["samplesPerCase"] == 2
    assert detail["runs"] == []


# ---------------------------------------------------------------- HTTP-3


def test_cancelling_an_eval_records_cancelled_and_an_unknown_eval_is_not_found() -> None:
    with client_for(replay_app(ReplayRuntime())) as client:
        client.post(f"{W}/evals", json={"id": "eval-1", "config": CONFIG, "testCaseIds": []})
        cancel = client.post(f"{W}/evals/eval-1/cancel")
        row = client.get(f"{W}/evals/eval-1").json()["eval"]
        unknown = client.post(f"{W}/evals/eval-none/cancel")
    assert cancel.status_code == 200
    body = cancel.json()
    assert (body["workspaceKey"], body["evalId"], body["status"]) == (
        "default",
        "eval-1",
        "cancelled",
    )
    assert row["status"] == "cancelled"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "eval.not_found"


def test_a_cancelled_eval_run_stays_cancelled_after_its_stream_ends() -> None:
    case = define_test_case("refund", "How long do refunds take?").to_wire()
    with client_for(_mock_app()) as client:
        eval_id = _create_eval(client, case)
        with client.stream("GET", f"{W}/evals/{eval_id}/stream") as stream:
            next(stream.iter_lines())  # the eval is running
            client.post(f"{W}/evals/{eval_id}/cancel")
        row = client.get(f"{W}/evals/{eval_id}").json()["eval"]
    assert row["status"] == "cancelled"


# ---------------------------------------------------------------- HTTP-4


def test_eval_capabilities_describe_each_mode_with_the_reference_words() -> None:
    with client_for(replay_app(ReplayRuntime())) as client:
        modes = client.get(f"{W}/eval-capabilities").json()["modes"]
    assert [(m["mode"], m["label"], m["description"]) for m in modes] == [
        ("sequential", "Sequential", "Evaluate the coordinator-led workflow."),
        ("planner", "Planner", "Evaluate planned actions."),
        ("specialist", "Insights", "Evaluate the insights specialist directly."),
    ]
    assert modes[-1] == {
        "mode": "specialist",
        "label": "Insights",
        "description": "Evaluate the insights specialist directly.",
        "agentId": "insights",
        "role": "specialist",
        "targetAgentId": "insights",
    }
    assert (modes[0]["agentId"], modes[0]["role"]) == (COORDINATOR, "coordinator")


# ---------------------------------------------------------------- HTTP-5


def test_a_specialist_eval_without_scoreable_expectations_fails_with_the_runtime_message() -> None:
    case = define_test_case("bare", "Just answer.").to_wire()
    with client_for(_mock_app()) as client:
        eval_id = _create_eval(client, case, mode="specialist", targetAgentId="helper")
        run = client.post(f"{W}/evals/{eval_id}/run")
    assert run.status_code == 400
    error = run.json()["error"]
    assert error["code"] == "eval.run_failed"
    assert "no scoreable expectations" in error["message"]


# ---------------------------------------------------------------- HTTP-6


def _tool_calling_app() -> Any:
    spec = chat_spec()

    def respond(request: Any) -> ModelTurn:
        if request.turn == 1:
            return ModelTurn("", [ToolCallStep("echo", {"text": "hello"})])
        return ModelTurn("echoed hello")

    return define_app(
        name="compat-traces",
        runtime_spec=spec,
        runtime_factory=lambda: create_runtime(spec, interpreter=ScriptedModel(respond=respond)),
    )


def test_eval_sample_traces_are_stored_and_found_by_their_ids() -> None:
    case = define_test_case("tc-1", "Echo hello", expected_trajectory=["echo"]).to_wire()
    with client_for(_tool_calling_app()) as client:
        eval_id = _create_eval(client, case, mode="specialist", targetAgentId="helper")
        run = client.post(f"{W}/evals/{eval_id}/run").json()
        run_id = run["runId"]
        sample = run["artifact"]["testCases"][0]["samples"][0]
        trace_id = sample["trace"]["traceId"]
        one = client.get(f"{W}/traces/{trace_id}")
        listed = client.get(f"{W}/traces", params={"evalRunId": run_id, "testCaseId": "tc-1"})
    assert one.status_code == 200
    row = one.json()["trace"]
    assert {"traceId", "evalRunId", "testCaseId", "threadId", "sampleIndex", "trace"} <= set(row)
    assert (row["traceId"], row["evalRunId"], row["testCaseId"], row["sampleIndex"]) == (
        trace_id,
        run_id,
        "tc-1",
        0,
    )
    assert trace_id.startswith("trace-") and row["trace"]["status"] == "completed"
    scope = row["trace"]["scope"]
    assert (scope["evalRunId"], scope["testCaseId"], scope["sampleIndex"]) == (run_id, "tc-1", 0)
    step = row["trace"]["steps"][0]
    assert step["toolName"] == "echo" and step["arguments"]["value"] == {"text": "hello"}
    assert [t["traceId"] for t in listed.json()["traces"]] == [trace_id]


# ---------------------------------------------------------------- HTTP-7


def test_answering_an_approval_calls_the_runtime_and_stores_the_verb_as_its_status() -> None:
    runtime = ReplayRuntime()
    with client_for(replay_app(runtime)) as client:
        answer = client.post(
            f"{W}/approvals/approval-1/respond",
            json={"decision": "approved", "reason": "looks good"},
        )
        listed = client.get(f"{W}/approvals").json()["approvals"]
        rejected = client.post(f"{W}/approvals/approval-2/respond", json={"outcome": "rejected"})
        decision_route = client.post(
            f"{W}/approvals/approval-1/decision", json={"decision": "approved"}
        )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["workspaceKey"], body["approvalId"], body["status"]) == (
        "default",
        "approval-1",
        "approve",
    )
    assert runtime.answers[0] == {
        "approvalId": "approval-1",
        "outcome": "approve",
        "feedback": "looks good",
        "partial": None,
    }
    assert [(a["approvalId"], a["status"]) for a in listed] == [("approval-1", "approve")]
    assert rejected.json()["status"] == "reject"
    assert decision_route.status_code == 404


def test_a_recorded_approval_request_is_listed_with_its_decision_verb() -> None:
    required = {
        "type": "approval-required",
        "data": {"id": "approval-9", "kind": "tool", "target": "search"},
    }
    decided = {"type": "approval-decision", "data": {"id": "approval-9", "outcome": "revise"}}
    with client_for(replay_app(ReplayRuntime([required, decided]))) as client:
        frames = parse_sse(
            client.post(f"{W}/agents/{COORDINATOR}/stream", json={"prompt": "go"}).text
        )
        listed = client.get(f"{W}/approvals").json()["approvals"]
    decision = next(f["data"]["payload"] for f in frames if f["event"] == "approval.decision")
    assert decision["status"] == "revise"
    assert [(a["approvalId"], a["status"]) for a in listed] == [("approval-9", "revise")]


# ---------------------------------------------------------------- HTTP-8


def test_the_data_source_has_an_id_a_database_type_and_is_active(tmp_path: Path) -> None:
    with client_for(data_app(tmp_path)) as client:
        source = client.get(f"{W}/data/sources").json()["sources"][0]
    assert source["id"] == "workspace-runtime" and source["sourceId"] == "workspace-runtime"
    assert source["databaseType"] == "sqlite"
    assert source["isActive"] is True
    assert (source["databaseName"], source["schemaName"]) == ("shop.db", "main")
    assert source["encryptedCredentials"] is None
    assert {"readOnly": True, "workspaceKey": "default"}.items() <= source["metadata"].items()


# ---------------------------------------------------------------- HTTP-9


def _plan_turn() -> list[dict[str, Any]]:
    actions = {
        "head": {
            "kind": "promotion_launch",
            "payload": {"product_ids": ["SKU-1", "SKU-2"], "discount_pct": 15},
        },
        "tail": {
            "head": {
                "kind": "price_change",
                "payload": {"product_id": "SKU-1", "new_price": 79.99},
            },
            "tail": None,
        },
    }
    return [
        tool("call-1", "search", "call", args={"q": "promo"}),
        tool("call-1", "search", "result", result={"hits": 2}),
        tool("call-2", "storePlan", "call", args={"actions": []}),
        tool("call-2", "storePlan", "result", result={"planId": "plan-1", "actions": actions}),
        text("Planned."),
    ]


def test_a_test_drafted_from_chat_is_saved_with_the_actions_of_the_last_plan() -> None:
    with client_for(replay_app(ReplayRuntime(_plan_turn(), [text("No plan here.")]))) as client:
        client.post(
            f"{W}/agents/{COORDINATOR}/stream",
            json={"prompt": "Plan a promo", "threadId": "t-plan"},
        )
        client.post(f"{W}/agents/{COORDINATOR}/stream", json={"prompt": "Hi", "threadId": "t-chat"})
        drafted = client.post(f"{W}/tests/from-chat", json={"threadId": "t-plan"})
        plain = client.post(
            f"{W}/tests/from-chat", json={"threadId": "t-chat", "id": "tc-mine", "input": "Hello?"}
        )
        saved = client.get(f"{W}/tests").json()["tests"]
        missing_thread = client.post(f"{W}/tests/from-chat", json={})
        unknown_thread = client.post(f"{W}/tests/from-chat", json={"threadId": "t-none"})
    assert drafted.status_code == 200, drafted.text
    row = drafted.json()["test"]
    case = row["testCase"]
    assert row["id"] == case["id"] and len(case["id"]) == len("tc-") + 8
    assert case["input"] == "Plan a promo"
    assert case["expectedTrajectory"] == ["search", "storePlan"]
    assert case["sourceThreadId"] == "t-plan"
    assert case["structuredGroundTruth"] == {
        "kind": "structured",
        "data": {
            "kind": "flat",
            "plannedActions": [
                {
                    "type": "promotion_launch",
                    "payload": {"product_ids": ["SKU-1", "SKU-2"], "discount_pct": 15},
                },
                {"type": "price_change", "payload": {"product_id": "SKU-1", "new_price": 79.99}},
            ],
            "executedActions": [],
            "payloadMatch": "subset",
        },
    }
    other = plain.json()["test"]["testCase"]
    assert (other["id"], other["input"], other["structuredGroundTruth"]) == (
        "tc-mine",
        "Hello?",
        None,
    )
    assert {t["id"] for t in saved} == {row["id"], "tc-mine"}
    assert missing_thread.status_code == 400
    assert unknown_thread.status_code == 404


# ---------------------------------------------------------------- HTTP-10


def test_the_builder_trace_counts_each_call_once_and_404s_an_unknown_thread() -> None:
    turn = [
        tool("call-1", "search", "call", args={"q": "stock"}),
        sub_agent("planner", "agent-1", "call"),
        tool("call-2", "executePlan", "call", args={"planId": "p1"}),
        tool("call-1", "search", "result", result={"hits": 1}),
        text("Done."),
    ]
    with client_for(replay_app(ReplayRuntime(turn))) as client:
        client.post(f"{W}/agents/{COORDINATOR}/stream", json={"prompt": "go", "threadId": "t-1"})
        trace = client.get(f"{W}/tests/builder/threads/t-1/trace").json()["trace"]
        unknown = client.get(f"{W}/tests/builder/threads/t-none/trace")
    assert trace["trajectory"] == ["search", "executePlan"]
    calls = {call["toolCallId"]: call for call in trace["toolCalls"]}
    assert calls["call-1"]["status"] == "completed" and calls["call-1"]["result"] == {"hits": 1}
    assert calls["call-2"]["arguments"] == {"planId": "p1"} and "status" not in calls["call-2"]
    assert [s["targetAgentId"] for s in trace["subAgentCalls"]] == ["planner"]
    assert trace["resolvedActions"] == []
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "thread.not_found"


# ---------------------------------------------------------------- HTTP-11


def test_chat_reads_every_spelling_of_raw_event_fields() -> None:
    turn = [
        {
            "type": "tool-invocation",
            "tool_call_id": "c1",
            "tool_name": "search",
            "state": "call",
            "arguments": {"q": "a"},
        },
        {
            "type": "tool-invocation",
            "tool_invocation_id": "c1",
            "tool_name": "search",
            "state": "result",
            "result": 1,
        },
        {
            "type": "tool-agent",
            "agent_name": "insights",
            "invocation_id": "s1",
            "state": "call",
            "prompt": "Dig in.",
        },
        {"type": "tool-agent", "agent_name": "insights", "invocation_id": "s1", "state": "result"},
        {
            "type": "tool-invocation",
            "toolInvocationId": "c2",
            "toolName": "lookup",
            "state": "call",
            "args": {"sku": "A"},
        },
    ]
    with client_for(replay_app(ReplayRuntime(turn))) as client:
        frames = parse_sse(
            client.post(f"{W}/agents/{COORDINATOR}/stream", json={"prompt": "go"}).text
        )
    payloads = {
        (f["event"], f["data"]["payload"].get("toolCallId")): f["data"]["payload"] for f in frames
    }
    started = payloads[("tool.call.started", "c1")]
    assert (started["toolName"], started["arguments"]) == ("search", {"q": "a"})
    assert payloads[("tool.call.completed", "c1")]["result"] == 1
    agent = payloads[("sub_agent.call.started", "s1")]
    assert (agent["targetAgentId"], agent["message"]) == ("insights", "Dig in.")
    assert ("sub_agent.call.completed", "s1") in payloads
    assert payloads[("tool.call.started", "c2")]["arguments"] == {"sku": "A"}


# ---------------------------------------------------------------- HTTP-12


def test_message_listing_edits_metadata_parts_as_well_as_parts() -> None:
    store = StudioStore()
    app = replay_app(ReplayRuntime())
    scope = {"app_id": app.app_id, "workspace_key": "default"}
    store.upsert_thread(**scope, thread_id="t-1", title="Chat")
    store.append_run_event(
        **scope,
        thread_id="t-1",
        run_id="run-1",
        seq=1,
        kind="tool.call.started",
        event={
            "kind": "tool.call.started",
            "payload": {"toolCallId": "c1", "toolName": "search", "arguments": {"q": "shoes"}},
        },
    )
    parts = [
        {"type": "tool-agent", "toolCallId": "inv", "agentName": COORDINATOR, "state": "result"},
        {
            "type": "tool-invocation",
            "toolCallId": "c1",
            "toolName": "search",
            "args": {},
            "state": "result",
            "result": 3,
        },
        {"type": "tool-agent", "toolCallId": "c9", "agentName": "insights", "state": "result"},
        {"type": "text", "text": "Found 3."},
    ]
    store.append_message(
        **scope,
        thread_id="t-1",
        role="assistant",
        content="Found 3.",
        metadata={"runId": "run-1", "parts": parts},
    )
    with client_for(app, store) as client:
        message = client.get(f"{W}/threads/t-1/messages").json()["messages"][0]
    expected = [
        {
            "type": "tool-invocation",
            "toolCallId": "c1",
            "toolName": "search",
            "args": {"q": "shoes"},
            "state": "result",
            "result": 3,
        },
        {"type": "tool-agent", "toolCallId": "c9", "agentName": "insights", "state": "result"},
        {"type": "text", "text": "Found 3."},
    ]
    assert message["metadata"]["parts"] == expected
    assert message["parts"] == expected
    store.close()


# ---------------------------------------------------------------- HTTP-13


def test_an_eval_answer_is_rebuilt_from_its_stored_trace() -> None:
    store = StudioStore()
    app = replay_app(ReplayRuntime())
    scope = {"app_id": app.app_id, "workspace_key": "default"}
    ids = {"evalRunId": "run-e", "testCaseId": "tc-1", "threadId": "t-eval", "sampleIndex": 0}
    step = {"toolName": "search", "arguments": {"kind": "inline", "value": {"q": "x"}}}
    store.upsert_trace(
        **scope,
        trace={
            "traceId": "trace-1",
            "scope": ids,
            "steps": [
                {
                    **step,
                    "ordinal": 1,
                    "toolCallId": "c2",
                    "result": {"kind": "inline", "value": 2},
                },
                {
                    **step,
                    "ordinal": 0,
                    "toolCallId": "c1",
                    "result": {"kind": "inline", "value": 1},
                },
            ],
        },
    )
    store.upsert_trace(
        **scope,
        trace={"traceId": "trace-other", "scope": {**ids, "testCaseId": "tc-2"}, "steps": []},
    )
    metadata = {"source": "eval", "runId": "run-e", "testCaseId": "tc-1", "sampleIndex": 0}
    store.append_message(
        **scope, thread_id="t-eval", role="user", content="Find x", metadata=metadata
    )
    store.append_message(
        **scope, thread_id="t-eval", role="assistant", content="Found.", metadata=metadata
    )
    with client_for(app, store) as client:
        answer = client.get(f"{W}/threads/t-eval/messages").json()["messages"][1]
    call = {"type": "tool-invocation", "toolName": "search", "args": {"q": "x"}, "state": "result"}
    assert answer["parts"] == [
        {**call, "toolCallId": "c1", "result": 1},
        {**call, "toolCallId": "c2", "result": 2},
        {"type": "text", "text": "Found."},
    ]
    assert answer["metadata"]["traceId"] == "trace-1"
    store.close()


def test_a_cancelled_chat_run_is_stopped_even_without_a_stream_cancel_method() -> None:
    with client_for(replay_app(ReplayRuntime([text("Working"), WAIT_FOREVER]))) as client:
        with client.stream(
            "POST", f"{W}/agents/{COORDINATOR}/stream", json={"prompt": "go", "runId": "run-stop"}
        ) as stream:
            lines = stream.iter_lines()
            next(line for line in lines if line.startswith("event: message.delta"))
            cancel = client.post(f"{W}/runs/run-stop/cancel").json()
            rest = list(lines)
        run = client.get(f"{W}/runs/run-stop").json()["run"]
    assert cancel["cancelled"] is True
    assert "event: run.cancelled" in rest
    assert run["status"] == "cancelled"
