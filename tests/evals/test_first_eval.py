"""The first-eval tutorial: its promised numbers, offline, without credentials."""

from __future__ import annotations

from typing import Any

import pytest

from flowai_harness import (
    EvalArtifact,
    ResponseScorer,
    TestingConfig,
    create_runtime,
    define_coordinator,
    define_eval_config,
    define_eval_request,
    define_final_response_eval,
    define_runtime,
    define_specialist,
    define_tenant,
    define_test_case,
    run_eval_sync,
)
from flowai_harness.handle import Runtime

MOCK = "Acme offers full refunds within 30 days of purchase."
CONTAINS_MISS = "The final response did not contain the required text."


def tutorial_runtime() -> Runtime:
    policy_answers = define_specialist(
        "policy_answers",
        model="claude-haiku-4-5",
        prompt="Answer questions about Acme's refund policy.",
    )
    coordinator = define_coordinator(
        "support_coordinator",
        model="claude-sonnet-4-6",
        routes=["policy_answers"],
        prompt="Route refund policy questions to policy_answers.",
    )
    spec = define_runtime(define_tenant("acme", "v1"), agents=[coordinator, policy_answers])
    return create_runtime(spec, testing=TestingConfig(mock_response=MOCK))


REFUND_WINDOW = define_test_case(
    "refund-window",
    "How long do I have to ask for a refund?",
    final_response=define_final_response_eval(
        scorers=[ResponseScorer.contains(id="mentions_30_days", text="30 days")]
    ),
)
REFUND_OFFER = define_test_case(
    "refund-offer",
    "Do you offer refunds?",
    final_response=define_final_response_eval(
        scorers=[ResponseScorer.regex(id="mentions_refunds", pattern="refunds?")]
    ),
)
REFUND_STORE_CREDIT = define_test_case(
    "refund-store-credit",
    "Can I exchange my purchase instead of getting my money back?",
    final_response=define_final_response_eval(
        scorers=[ResponseScorer.contains(id="mentions_store_credit", text="store credit")]
    ),
)
CONFIG = define_eval_config(
    samples_per_case=1, concurrency=1, score_weights={"final_response": 1.0}
)


def case_of(artifact: dict[str, Any], case_id: str) -> dict[str, Any]:
    return next(case for case in artifact["testCases"] if case["testCaseId"] == case_id)


async def test_first_run_passes_both_cases() -> None:
    runtime = tutorial_runtime()
    request = define_eval_request(
        runtime,
        workspace_id="workspace-main",
        test_cases=[REFUND_WINDOW, REFUND_OFFER],
        config=CONFIG,
    )
    artifact = await runtime.run_eval(request)

    summary = artifact["summary"]
    assert (summary["totalTestCases"], summary["passed"], summary["failed"]) == (2, 2, 0)
    assert summary["passRate"] == 1.0
    assert summary["aggregateScore"] == 1.0
    assert artifact["runId"].startswith("eval-")
    assert (artifact["tenantId"], artifact["workspaceId"]) == ("acme", "workspace-main")
    for case in artifact["testCases"]:
        (sample,) = case["samples"]
        assert sample["passed"] is True
        assert sample["aggregateScore"] == 1.0
    assert artifact["metadata"] == {
        "schemaVersion": 1,
        "scorerPreset": "sequential",
        "scoreWeights": {"final_response": 1.0},
    }


async def test_second_run_fails_the_store_credit_case_with_the_contains_miss_reason() -> None:
    runtime = tutorial_runtime()
    request = define_eval_request(
        runtime,
        workspace_id="workspace-main",
        test_cases=[REFUND_STORE_CREDIT, REFUND_OFFER],
        config=CONFIG,
    )
    artifact = await runtime.run_eval(request)

    summary = artifact["summary"]
    assert (summary["totalTestCases"], summary["passed"], summary["failed"]) == (2, 1, 1)
    assert summary["passRate"] == 0.5
    assert summary["aggregateScore"] == 0.5

    (sample,) = case_of(artifact, "refund-store-credit")["samples"]
    assert sample["sampleIndex"] == 0
    assert sample["passed"] is False
    assert sample["aggregateScore"] == 0.0
    assert sample["responseText"] == f"Received: {REFUND_STORE_CREDIT.input}\n\n{MOCK}"
    (scorer,) = sample["finalResponseEval"]["responseScorers"]
    assert scorer["id"] == "mentions_store_credit"
    assert scorer["passed"] is False
    assert scorer["score"] == 0.0
    assert scorer["reason"] == CONTAINS_MISS

    (offer,) = case_of(artifact, "refund-offer")["samples"]
    assert offer["passed"] is True
    assert offer["aggregateScore"] == 1.0


def test_run_eval_sync_returns_the_validated_artifact_model() -> None:
    runtime = tutorial_runtime()
    request = define_eval_request(
        runtime,
        workspace_id="workspace-main",
        test_cases=[REFUND_WINDOW, REFUND_OFFER],
        config=CONFIG,
    )
    artifact = run_eval_sync(runtime, request)
    assert isinstance(artifact, EvalArtifact)
    assert artifact.summary.passed == 2
    assert artifact.summary.pass_rate == 1.0
    window = next(c for c in artifact.test_cases if c.test_case_id == "refund-window")
    assert window.samples[0].response_text == f"Received: {REFUND_WINDOW.input}\n\n{MOCK}"
    # a second call on the same runtime runs on a fresh event loop and works as well
    again = run_eval_sync(runtime, request)
    assert again.run_id != artifact.run_id
    assert again.summary.aggregate_score == 1.0


async def test_run_eval_sync_inside_a_running_loop_raises_runtime_error() -> None:
    runtime = tutorial_runtime()
    request = define_eval_request(
        runtime, workspace_id="workspace-main", test_cases=[REFUND_WINDOW], config=CONFIG
    )
    with pytest.raises(RuntimeError, match=r"await runtime\.run_eval\(request\)"):
        run_eval_sync(runtime, request)
