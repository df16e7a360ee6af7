"""Scoring results, artifacts and eval envelopes (specs/evals/artifacts.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flowai_harness.specs.evals import (
    ArtifactMetadata,
    EvalArtifact,
    EvalArtifactSummary,
    HarnessEvalEventEnvelope,
    ModelInvocation,
    PassAtKResult,
    SampleArtifact,
    ScoredSample,
    ScorerResult,
    TestCaseArtifact,
    TokenUsageSummary,
)


def test_scorer_result_keeps_absent_details_as_null() -> None:
    assert ScorerResult(scorer_name="trajectory", score=1).to_wire() == {
        "scorerName": "trajectory",
        "score": 1.0,
        "details": None,
    }
    with_details = ScorerResult(scorer_name="composite", score=0.5, details={"weights": {}})
    assert with_details.to_wire() == {
        "scorerName": "composite",
        "score": 0.5,
        "details": {"weights": {}},
    }


def test_scorer_result_name_and_score_are_checked() -> None:
    with pytest.raises(ValidationError, match=r"scorerName|scorer_name"):
        ScorerResult(scorer_name="speed", score=1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"a score must be within \[0, 1\], got 1.5"):
        ScorerResult(scorer_name="trajectory", score=1.5)


def test_scored_sample_wire_shape_and_component_lookup() -> None:
    sample = ScoredSample(
        aggregate=1.0,
        component_scores=[
            ScorerResult(scorer_name="final_response", score=1.0),
            ScorerResult(scorer_name="composite", score=1.0),
        ],
    )
    assert sample.to_wire() == {
        "aggregate": 1.0,
        "componentScores": [
            {"scorerName": "final_response", "score": 1.0, "details": None},
            {"scorerName": "composite", "score": 1.0, "details": None},
        ],
    }
    assert sample.component("final_response") == sample.component_scores[0]
    assert sample.component("trajectory") is None


def test_token_usage_has_exactly_four_keys_and_derives_the_total() -> None:
    usage = TokenUsageSummary.model_validate({"inputTokens": 50, "outputTokens": 25})
    assert usage.to_wire() == {
        "inputTokens": 50,
        "outputTokens": 25,
        "cachedTokens": 0,
        "cacheCreationTokens": 0,
    }
    assert usage.total_tokens == 75
    legacy = {"inputTokens": 50, "outputTokens": 25, "totalTokens": 75}
    assert TokenUsageSummary.model_validate(legacy) == usage
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        TokenUsageSummary(input_tokens=-1)


def test_token_usages_add_up() -> None:
    total = TokenUsageSummary(input_tokens=1, output_tokens=2, cached_tokens=3) + TokenUsageSummary(
        input_tokens=10, output_tokens=20, cache_creation_tokens=4
    )
    assert total == TokenUsageSummary(
        input_tokens=11, output_tokens=22, cached_tokens=3, cache_creation_tokens=4
    )
    assert total.total_tokens == 33


def test_model_invocation_keeps_absent_provider_and_cost_as_null() -> None:
    assert ModelInvocation(agent="judge", model="claude-haiku-4-5").to_wire() == {
        "agent": "judge",
        "provider": None,
        "estimatedCostUsd": None,
        "model": "claude-haiku-4-5",
        "inputTokens": 0,
        "outputTokens": 0,
        "cachedTokens": 0,
        "cacheCreationTokens": 0,
    }
    priced = ModelInvocation(agent="a", provider="anthropic", model="m", estimated_cost_usd=0.01)
    assert priced.to_wire()["provider"] == "anthropic"
    assert priced.to_wire()["estimatedCostUsd"] == 0.01


def test_failed_sample_artifact_keeps_absent_keys_as_null_but_omits_response_text() -> None:
    sample = SampleArtifact(
        sample_index=0, passed=False, aggregate_score=0, response_text="", error="timed out"
    )
    assert sample.to_wire() == {
        "sampleIndex": 0,
        "passed": False,
        "aggregateScore": 0.0,
        "componentScores": [],
        "actualTrajectory": [],
        "plannedActions": [],
        "resolvedActions": [],
        "durationMs": 0,
        "modelInvocations": [],
        "tokenUsage": {
            "inputTokens": 0,
            "outputTokens": 0,
            "cachedTokens": 0,
            "cacheCreationTokens": 0,
        },
        "finalResponseEval": None,
        "cost": None,
        "latency": None,
        "threadId": None,
        "trace": None,
        "metadata": None,
        "error": "timed out",
    }
    assert SampleArtifact.model_validate(sample.to_wire()) == sample


def test_sample_with_an_error_cannot_pass() -> None:
    with pytest.raises(ValidationError, match="sample 2 has an error, so it cannot pass"):
        SampleArtifact(sample_index=2, passed=True, aggregate_score=1, error="boom")


def test_sample_counters_are_non_negative() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        SampleArtifact(sample_index=-1, passed=False, aggregate_score=0)


def _artifact_wire() -> dict[str, Any]:
    sample = {
        "sampleIndex": 0,
        "passed": True,
        "aggregateScore": 1.0,
        "componentScores": [
            {"scorerName": "trajectory", "score": 1.0, "details": None},
            {"scorerName": "final_response", "score": 1.0, "details": {"passed": True}},
            {
                "scorerName": "composite",
                "score": 1.0,
                "details": {"weights": {"final_response": 1.0}},
            },
        ],
        "responseText": "Received: hi\n\nAcme offers full refunds within 30 days of purchase.",
        "actualTrajectory": [],
        "finalResponseEval": {"passed": True, "responseScorers": []},
        "plannedActions": [{"type": "price_change", "payload": {"productId": "p-001"}}],
        "resolvedActions": [],
        "durationMs": 12,
        "modelInvocations": [
            {
                "agent": "support_coordinator",
                "provider": None,
                "estimatedCostUsd": None,
                "model": "mock",
                "inputTokens": 50,
                "outputTokens": 25,
                "cachedTokens": 0,
                "cacheCreationTokens": 0,
            }
        ],
        "tokenUsage": {
            "inputTokens": 50,
            "outputTokens": 25,
            "cachedTokens": 0,
            "cacheCreationTokens": 0,
        },
        "cost": {"estimatedCostUsd": 0.0, "pricedInvocations": 1, "unpricedInvocations": 0},
        "latency": {"totalMs": 12, "firstTokenMs": None, "modelMs": 5, "toolMs": 0},
        "threadId": "eval-eval-1-refund-window-0",
        "trace": {
            "traceId": "trace-1",
            "threadId": "eval-eval-1-refund-window-0",
            "url": None,
            "metadata": {},
        },
        "metadata": {"trajectoryEvents": []},
        "error": None,
    }
    pass_at_1 = {
        "k": 1,
        "simpleEstimate": 1.0,
        "unbiasedEstimate": 1.0,
        "numSamples": 1,
        "numCorrect": 1,
    }
    return {
        "runId": "eval-1",
        "tenantId": "acme",
        "workspaceId": "workspace-main",
        "mode": "sequential",
        "summary": {
            "totalTestCases": 1,
            "passed": 1,
            "failed": 0,
            "skipped": 0,
            "aggregateScore": 1.0,
            "passRate": 1.0,
            "passAtK": [pass_at_1],
            "totalDurationMs": 12,
            "totalUsage": sample["tokenUsage"],
            "cost": {
                "estimatedCostUsd": 0.0,
                "pricedInvocations": 1,
                "unpricedInvocations": 0,
                "byAgent": [
                    {"agent": "support_coordinator", "estimatedCostUsd": 0.0, "invocations": 1}
                ],
            },
            "latency": {"p50Ms": None, "p90Ms": None, "p95Ms": None, "p99Ms": None},
            "metadata": None,
        },
        "testCases": [
            {
                "testCaseId": "refund-window",
                "input": "hi",
                "samples": [sample],
                "passAtK": [pass_at_1],
                "aggregateScore": 1.0,
            }
        ],
        "metadata": {
            "schemaVersion": 1,
            "scorerPreset": "sequential",
            "scoreWeights": {"final_response": 1.0},
        },
    }


def test_eval_artifact_round_trips_its_wire_dict_unchanged() -> None:
    wire = _artifact_wire()
    artifact = EvalArtifact.model_validate(wire)
    assert artifact.to_wire() == wire
    assert artifact.test_cases[0].samples[0].token_usage.total_tokens == 75


def test_artifact_accepts_snake_case_input() -> None:
    artifact = EvalArtifact(
        run_id="eval-2",
        tenant_id="acme",
        workspace_id="w",
        mode="planner",
        metadata=ArtifactMetadata(scorer_preset="planner", score_weights={"trajectory": 1.0}),
    )
    assert artifact.summary == EvalArtifactSummary()
    assert artifact.to_wire()["summary"]["passAtK"] == []
    summary = artifact.to_wire()["summary"]
    assert (summary["cost"], summary["latency"], summary["metadata"]) == (None, None, None)


def test_artifact_metadata_checks_schema_version_and_scorer_names() -> None:
    with pytest.raises(ValidationError, match=r"schemaVersion|schema_version"):
        ArtifactMetadata.model_validate(
            {"schemaVersion": 2, "scorerPreset": "planner", "scoreWeights": {}}
        )
    with pytest.raises(ValidationError, match=r"scoreWeights|score_weights"):
        ArtifactMetadata.model_validate({"scorerPreset": "planner", "scoreWeights": {"speed": 1}})


def test_test_case_artifact_and_pass_at_k_wire_shapes() -> None:
    case = TestCaseArtifact(
        test_case_id="t",
        input="i",
        pass_at_k=[
            PassAtKResult(
                k=3, simple_estimate=1, unbiased_estimate=None, num_samples=1, num_correct=1
            )
        ],
        aggregate_score=0.5,
    )
    assert case.to_wire() == {
        "testCaseId": "t",
        "input": "i",
        "samples": [],
        "passAtK": [
            {
                "k": 3,
                "simpleEstimate": 1.0,
                "unbiasedEstimate": None,
                "numSamples": 1,
                "numCorrect": 1,
            }
        ],
        "aggregateScore": 0.5,
    }


def _sample_wire() -> dict[str, Any]:
    return _artifact_wire()["testCases"][0]["samples"][0]


def _case_wire() -> dict[str, Any]:
    return _artifact_wire()["testCases"][0]


@pytest.mark.parametrize(
    ("event_type", "data", "attribute", "model"),
    [
        ("evalStarted", lambda: {"artifact": _artifact_wire()}, "artifact", EvalArtifact),
        ("testCaseStarted", lambda: {"testCaseId": "t"}, "test_case_id", str),
        ("sampleCompleted", lambda: {"sample": _sample_wire()}, "sample", SampleArtifact),
        ("testCaseCompleted", lambda: {"testCase": _case_wire()}, "test_case", TestCaseArtifact),
        ("evalCompleted", lambda: {"artifact": _artifact_wire()}, "artifact", EvalArtifact),
        ("evalFailed", lambda: {"error": "boom"}, "error", str),
        ("evalCancelled", lambda: {"reason": "dropped"}, "reason", str),
    ],
)
def test_envelope_types_its_data_and_dumps_flat(
    event_type: str, data: Any, attribute: str, model: type
) -> None:
    wire = {"runId": "eval-1", "sequence": 4, "type": event_type, "data": data()}
    envelope = HarnessEvalEventEnvelope.model_validate(wire)
    assert (envelope.run_id, envelope.sequence, envelope.event.type) == ("eval-1", 4, event_type)
    assert isinstance(getattr(envelope.event.data, attribute), model)
    assert envelope.type == event_type
    assert envelope.to_wire() == wire
    assert envelope.model_dump(by_alias=True, mode="json") == wire


def test_envelope_accepts_snake_case_data_keys() -> None:
    envelope = HarnessEvalEventEnvelope.model_validate(
        {"runId": "r", "sequence": 0, "type": "testCaseStarted", "data": {"test_case_id": "t"}}
    )
    assert envelope.to_wire()["data"] == {"testCaseId": "t"}


def test_envelope_data_must_carry_the_key_of_its_type() -> None:
    with pytest.raises(ValidationError, match=r"test_case_id|testCaseId"):
        HarnessEvalEventEnvelope.model_validate(
            {"runId": "r", "sequence": 0, "type": "testCaseStarted", "data": {}}
        )
    with pytest.raises(ValidationError, match="unknown key"):
        HarnessEvalEventEnvelope.model_validate(
            {"runId": "r", "sequence": 0, "type": "evalFailed", "data": {"error": "x", "y": 1}}
        )


def test_envelope_sequence_and_type_are_checked() -> None:
    failed = HarnessEvalEventEnvelope.model_validate(
        {"runId": "r", "sequence": -1, "type": "evalFailed", "data": {"error": "x"}}
    )
    assert failed.sequence == -1
    with pytest.raises(ValidationError, match="greater than or equal to -1"):
        HarnessEvalEventEnvelope.model_validate(
            {"runId": "r", "sequence": -2, "type": "evalFailed", "data": {"error": "x"}}
        )
    with pytest.raises(ValidationError, match="evalPaused"):
        HarnessEvalEventEnvelope.model_validate(
            {"runId": "r", "sequence": 0, "type": "evalPaused", "data": {}}
        )
