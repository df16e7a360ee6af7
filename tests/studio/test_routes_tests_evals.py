"""Tests for the test-case and eval routes (src/flowai_harness/studio/routes/test_cases.py,
routes/evals.py, eval_run.py, transcripts.py)."""

from __future__ import annotations

from typing import Any

from flowai_harness import ResponseScorer, define_final_response_eval, define_test_case

from .studio_apps import (
    BackgroundRequest,
    chat_app,
    mock_app,
    parse_sse,
    pending_approval,
    studio_client,
)

W = "/api/workspaces/default"
CONFIG = {"samplesPerCase": 1, "concurrency": 1, "kValues": [1]}


def _refund_case(case_id: str = "refund") -> dict[str, Any]:
    scorer = ResponseScorer.contains(id="mentions_30", text="30 days")
    return define_test_case(
        case_id,
        "How long do refunds take?",
        tags=["smoke"],
        final_response=define_final_response_eval(scorers=[scorer]),
    ).to_wire()


def test_test_crud_with_summary_fields_and_errors() -> None:
    with studio_client(chat_app()) as client:
        created = client.post(f"{W}/tests", json=_refund_case())
        replaced = client.post(f"{W}/tests", json=_refund_case())
        minted = client.post(f"{W}/tests", json={"input": "no id given"})
        invalid = client.post(f"{W}/tests", json={"id": "x"})
        listed = client.get(f"{W}/tests").json()["tests"]
        one = client.get(f"{W}/tests/refund").json()
        put = client.put(f"{W}/tests/refund", json={"input": "Updated?"})
        mismatch = client.put(f"{W}/tests/refund", json={"id": "other", "input": "x"})
        deleted = client.delete(f"{W}/tests/refund").json()
        missing = client.get(f"{W}/tests/refund")
        other = client.get("/api/workspaces/sales/tests").json()["tests"]
    assert created.status_code == 200 and replaced.status_code == 200
    body = created.json()
    assert body["test"]["id"] == "refund" and body["testId"] == "refund"
    assert body["status"] == "ready" and body["tags"] == ["smoke"]
    assert body["test"]["testCase"]["finalResponse"]["scorers"][0]["id"] == "mentions_30"
    assert minted.status_code == 200 and minted.json()["testId"].startswith("tc-")
    assert len(minted.json()["testId"]) == len("tc-") + 8
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "test.invalid"
    assert {t["testId"] for t in listed} == {"refund", minted.json()["testId"]}
    assert one["test"]["testCase"]["input"] == "How long do refunds take?"
    assert put.status_code == 200 and put.json()["test"]["testCase"]["input"] == "Updated?"
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == "test.id_mismatch"
    assert deleted == {"workspaceKey": "default", "testId": "refund", "deleted": True}
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "test.not_found"
    assert other == []


def test_validate_scores_a_pasted_sample_offline() -> None:
    with studio_client(chat_app()) as client:
        client.post(f"{W}/tests", json=_refund_case())
        good = client.post(
            f"{W}/tests/refund/validate",
            json={"sample": {"responseText": "Refunds take 30 days."}},
        ).json()
        bad = client.post(
            f"{W}/tests/refund/validate", json={"sample": {"responseText": "No idea."}}
        ).json()
        broken = client.post(f"{W}/tests/refund/validate", json={"sample": {"nope": 1}})
    assert good["testId"] == "refund"
    assert good["scored"]["aggregate"] == 1.0
    assert bad["scored"]["aggregate"] < good["scored"]["aggregate"]
    assert broken.status_code == 400


def test_tool_palette_from_chat_draft_and_builder_trace() -> None:
    with studio_client(chat_app()) as client:
        tools = client.get(f"{W}/tests/tools").json()["tools"]
        chat = BackgroundRequest(
            lambda: client.post(
                f"{W}/agents/coord/stream", json={"prompt": "price?", "threadId": "t-draft"}
            )
        )
        approval = pending_approval(client)
        client.post(f"{W}/approvals/{approval['approvalId']}/respond", json={"outcome": "approve"})
        chat.join()
        trace = client.get(f"{W}/tests/builder/threads/t-draft/trace").json()
        draft = client.post(f"{W}/tests/from-chat", json={"threadId": "t-draft"}).json()
        named = client.post(
            f"{W}/tests/from-chat", json={"threadId": "t-draft", "id": "mine", "input": "Other?"}
        ).json()
        unknown = client.post(f"{W}/tests/from-chat", json={"threadId": "t-none"})
        saved_ids = {t["id"] for t in client.get(f"{W}/tests").json()["tests"]}
    by_name = {t["name"]: t["agents"] for t in tools}
    assert by_name["call_agent"] == ["coord"] and by_name["lookup"] == ["pricing"]
    assert by_name["storePlan"] == ["planner"]
    assert [t["name"] for t in tools] == sorted(by_name)
    assert trace["trace"]["trajectory"] == ["call_agent", "lookup"]
    assert trace["trace"]["subAgentCalls"][0]["targetAgentId"] == "pricing"
    test = draft["test"]["testCase"]
    assert draft["test"]["id"] == test["id"] and draft["test"]["id"] in saved_ids
    assert test["id"].startswith("tc-") and test["input"] == "price?"
    assert test["expectedTrajectory"] == ["call_agent", "lookup"]
    assert test["sourceThreadId"] == "t-draft"
    assert test["structuredGroundTruth"] is None  # no plan was stored in the thread
    assert (named["test"]["id"], named["test"]["testCase"]["input"]) == ("mine", "Other?")
    assert unknown.status_code == 404


def _create_eval(client: Any, **extra: Any) -> dict[str, Any]:
    client.post(f"{W}/tests", json=_refund_case())
    body = {"config": CONFIG, "testCaseIds": ["refund"], **extra}
    response = client.post(f"{W}/evals", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_eval_definition_run_list_detail_compare_and_delete() -> None:
    with studio_client(mock_app()) as client:
        created = _create_eval(client)
        eval_id = created["evalId"]
        first = client.post(f"{W}/evals/{eval_id}/run").json()
        second = client.post(f"{W}/evals/{eval_id}/rerun").json()
        listed = client.get(f"{W}/evals").json()["evals"]
        detail = client.get(f"{W}/evals/{eval_id}").json()
        compare = client.get(
            f"{W}/evals/compare", params={"left": first["runId"], "right": second["runId"]}
        ).json()
        bad_compare = client.get(f"{W}/evals/compare", params={"left": "x", "right": "y"})
        traces = client.get(f"{W}/traces", params={"evalRunId": first["runId"]}).json()["traces"]
        threads = client.get(f"{W}/threads").json()["threads"]
        runs = client.get(f"{W}/runs").json()["runs"]
        deleted = client.delete(f"{W}/evals/{eval_id}").json()
        gone = client.get(f"{W}/evals/{eval_id}")
    assert eval_id.startswith("eval-") and len(eval_id) == len("eval-") + 32
    assert created["eval"]["status"] == "created" and created["mode"] == "sequential"
    assert first["artifact"]["summary"]["passRate"] == 1.0
    assert first["runId"] != second["runId"]
    assert listed[0]["status"] == "completed"
    assert listed[0]["latestSummary"]["passRate"] == 1.0
    assert [r["runId"] for r in detail["runs"]] == [first["runId"], second["runId"]]
    assert compare["comparison"]["testCases"] == [
        {"testCaseId": "refund", "left": 1.0, "right": 1.0, "delta": 0.0}
    ]
    assert bad_compare.status_code == 404
    assert bad_compare.json()["error"]["code"] == "eval.run_not_found"
    assert len(traces) == 1 and traces[0]["testCaseId"] == "refund"
    sample_thread = traces[0]["threadId"]
    assert sample_thread in {t["threadId"] for t in threads}
    eval_runs = [r for r in runs if r["operation"] == "eval"]
    assert len(eval_runs) == 2 and all(r["status"] == "completed" for r in eval_runs)
    assert eval_runs[0]["threadId"] == f"eval:{eval_id}"
    assert deleted == {"workspaceKey": "default", "evalId": eval_id, "deleted": True}
    assert gone.status_code == 404


def test_eval_sample_threads_hold_the_prompt_and_the_answer() -> None:
    with studio_client(mock_app()) as client:
        eval_id = _create_eval(client)["evalId"]
        run = client.post(f"{W}/evals/{eval_id}/run").json()
        trace = client.get(f"{W}/traces", params={"evalRunId": run["runId"]}).json()["traces"][0]
        messages = client.get(f"{W}/threads/{trace['threadId']}/messages").json()["messages"]
        by_id = client.get(f"{W}/traces/{trace['traceId']}").json()["trace"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == "How long do refunds take?"
    assert "30 days" in messages[1]["content"]
    assert messages[1]["metadata"]["source"] == "eval"
    assert messages[1]["metadata"]["testCaseId"] == "refund"
    assert by_id["traceId"] == trace["traceId"]


def test_eval_stream_sends_typed_envelopes_with_studio_fields() -> None:
    with studio_client(mock_app()) as client:
        eval_id = _create_eval(client)["evalId"]
        response = client.get(f"{W}/evals/{eval_id}/stream")
        frames = parse_sse(response.text)
        row = client.get(f"{W}/evals/{eval_id}").json()
    types = [f["event"] for f in frames]
    assert types == [
        "evalStarted",
        "testCaseStarted",
        "sampleCompleted",
        "testCaseCompleted",
        "evalCompleted",
    ]
    assert all(f["id"] is None for f in frames)
    case_done = frames[3]["data"]
    assert case_done["type"] == "testCaseCompleted" and case_done["kind"] == "eval.case.completed"
    assert case_done["payload"] == {
        "evalId": eval_id,
        "caseId": "refund",
        "passed": True,
        "score": 1.0,
    }
    assert frames[-1]["data"]["data"]["artifact"]["summary"]["passRate"] == 1.0
    assert row["status"] == "completed" and len(row["runs"]) == 1


def test_eval_errors_before_running() -> None:
    with studio_client(mock_app()) as client:
        bad_config = client.post(f"{W}/evals", json={"config": {"samplesPerCase": 0}})
        bad_ids = client.post(f"{W}/evals", json={"config": {}, "testCaseIds": "x"})
        unknown = client.post(f"{W}/evals", json={"config": CONFIG, "testCaseIds": ["ghost"]})
        run_unknown = client.post(f"{W}/evals/{unknown.json()['evalId']}/run")
        empty = client.post(f"{W}/evals", json={"config": CONFIG, "testCaseIds": []})
        run_empty = client.post(f"{W}/evals/{empty.json()['evalId']}/run")
        client.post(f"{W}/tests", json=_refund_case())
        target = client.post(
            f"{W}/evals",
            json={
                "config": {**CONFIG, "mode": "specialist", "targetAgentId": "coord"},
                "testCaseIds": ["refund"],
            },
        )
        run_target = client.post(f"{W}/evals/{target.json()['evalId']}/run")
        missing = client.post(f"{W}/evals/eval-none/run")
        cancel = client.post(f"{W}/evals/{empty.json()['evalId']}/cancel").json()
        cancelled_row = client.get(f"{W}/evals/{empty.json()['evalId']}").json()
    assert bad_config.status_code == 400
    assert bad_config.json()["error"]["code"] == "eval.invalid_config"
    assert bad_ids.json()["error"]["code"] == "eval.invalid_config"
    assert run_unknown.json()["error"]["code"] == "eval.unknown_test_case"
    assert run_empty.json()["error"]["code"] == "eval.no_test_cases"
    assert run_target.json()["error"]["code"] == "eval.invalid_target_agent"
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "eval.not_found"
    assert cancel["status"] == "cancelled" and cancel["cancelled"] is False
    assert cancelled_row["eval"]["status"] == "cancelled"


def test_a_runtime_that_cannot_be_built_is_a_409() -> None:
    from flowai_harness.studio import define_app

    from .studio_apps import chat_spec

    def broken() -> Any:
        raise RuntimeError("no model for you")

    app = define_app(name="broken", runtime_spec=chat_spec(), runtime_factory=broken)
    with studio_client(app) as client:
        client.post(f"{W}/tests", json=_refund_case())
        eval_id = client.post(
            f"{W}/evals", json={"config": CONFIG, "testCaseIds": ["refund"]}
        ).json()["evalId"]
        run = client.post(f"{W}/evals/{eval_id}/run")
        chat = client.post(f"{W}/agents/coord/stream", json={"prompt": "hi"})
    assert run.status_code == 409 and run.json()["error"]["code"] == "eval.no_runtime_binding"
    assert chat.status_code == 409 and "no model for you" in chat.json()["error"]["message"]
