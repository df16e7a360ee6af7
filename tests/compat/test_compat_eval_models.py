"""Eval models and their wire shapes as a program written against the reference uses them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flowai_harness import (
    EvalArtifact,
    EvalTestCase,
    FinalResponseEval,
    GroundTruth,
    HarnessEvalEventEnvelope,
    JudgeVerdict,
    RawSampleOutput,
    ResponseScorer,
    SampleArtifact,
    ScoreWeights,
    TestCaseArtifact,
    TestingConfig,
    create_runtime,
    define_action_ground_truth,
    define_coordinator,
    define_eval_config,
    define_eval_request,
    define_expected_actions,
    define_final_response_eval,
    define_runtime,
    define_specialist,
    define_tenant,
    define_test_case,
    final_response_judge_verdicts_extra,
)

MODEL = "claude-haiku-4-5"

# ----------------------------------------------------------------------------- ScoreWeights


def test_score_weights_take_one_positional_mapping() -> None:
    weights = ScoreWeights({"trajectory": 0.5, "executed_actions": 0.5})
    assert weights.as_dict() == {"trajectory": 0.5, "executed_actions": 0.5}
    assert weights.weights == {"trajectory": 0.5, "executed_actions": 0.5}
    assert weights.model_dump() == {"trajectory": 0.5, "executed_actions": 0.5}
    assert ScoreWeights(weights={"trajectory": 1.0}).as_dict() == {"trajectory": 1.0}


def test_score_weights_refuse_a_positional_mapping_and_weights_together() -> None:
    with pytest.raises(TypeError):
        ScoreWeights({"trajectory": 1.0}, weights={"trajectory": 1.0})


def test_a_negative_score_weight_is_a_validation_error_saying_non_negative() -> None:
    with pytest.raises(ValidationError, match="non-negative"):
        ScoreWeights({"trajectory": -0.5})


@pytest.mark.parametrize("key", ["planner", "fusedExecutor", "composite"])
def test_an_unknown_score_weight_key_names_the_unknown_scorer(key: str) -> None:
    with pytest.raises(ValidationError, match="unknown scorer") as exc:
        ScoreWeights({key: 1.0})
    assert (
        f"unknown scorer weight key '{key}'; expected one of: trajectory, planned_actions, "
        "executed_actions, final_response"
    ) in str(exc.value)


def test_score_weights_must_be_finite_and_one_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="score weights must be finite"):
        ScoreWeights({"trajectory": float("inf")})
    with pytest.raises(ValidationError, match="at least one score weight must be positive"):
        ScoreWeights({"trajectory": 0.0, "final_response": 0.0})


def test_eval_config_keeps_taking_a_score_weights_object() -> None:
    config = define_eval_config(score_weights=ScoreWeights({"final_response": 1.0}))
    assert config.to_wire()["scoreWeights"] == {"final_response": 1.0}


# --------------------------------------------------------------------------- ResponseScorer


def test_a_regex_scorer_dumps_all_twelve_keys_with_nulls() -> None:
    scorer = ResponseScorer.regex(id="mentions_email", pattern=r"\bjane@example\.com\b")
    assert scorer.model_dump(by_alias=True, mode="json") == {
        "id": "mentions_email",
        "method": "regex",
        "weight": 1.0,
        "required": False,
        "instructions": None,
        "referenceResponse": None,
        "rubric": None,
        "context": None,
        "expected": None,
        "text": None,
        "pattern": r"\bjane@example\.com\b",
        "caseSensitive": True,
    }


def test_every_method_dumps_the_same_twelve_keys() -> None:
    scorers = [
        ResponseScorer.exact("e", "x"),
        ResponseScorer.contains("c", "x"),
        ResponseScorer.regex("r", "x"),
        ResponseScorer.judge("j", "Be kind.", rubric={0: "unkind", 1: "kind"}, weight=2),
    ]
    dumps = [s.model_dump(by_alias=True, mode="json") for s in scorers]
    assert all(len(d) == 12 and set(d) == set(dumps[0]) for d in dumps)
    assert all(d["caseSensitive"] is True for d in dumps)
    judge = dumps[3]
    assert judge["rubric"] == {"0": "unkind", "1": "kind"}
    assert judge["weight"] == 2.0 and isinstance(judge["weight"], float)
    for scorer, dump in zip(scorers, dumps, strict=True):
        assert ResponseScorer.model_validate(dump) == scorer


def test_final_response_eval_dumps_scorers_and_pass_threshold() -> None:
    evaluation = define_final_response_eval(
        scorers=[ResponseScorer.exact("e", "x")], pass_threshold=0.75
    )
    dump = evaluation.model_dump(by_alias=True, mode="json")
    assert set(dump) == {"scorers", "passThreshold"}
    assert dump["passThreshold"] == 0.75


def test_a_judge_rubric_must_define_exactly_0_and_1() -> None:
    with pytest.raises(ValidationError, match="rubric must define exactly 0 and 1"):
        ResponseScorer.judge("j", "Be kind.", rubric={1: "passes"})


def test_an_uncompilable_regex_is_an_invalid_regex() -> None:
    with pytest.raises(ValidationError, match="invalid regex"):
        ResponseScorer.regex(id="broken", pattern="[")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ResponseScorer.exact(" ", "x"), "response scorer id must be non-empty"),
        (
            lambda: ResponseScorer.exact("e", "x", weight=0),
            "response scorer weight must be positive and finite",
        ),
        (
            lambda: ResponseScorer.judge("j", " "),
            "judge response scorer instructions must be non-empty",
        ),
        (
            lambda: ResponseScorer.judge("j", "i", rubric={0: "a", 1: " "}),
            "judge response scorer rubric descriptions must be non-empty",
        ),
        (
            lambda: ResponseScorer.model_validate({"id": "e", "method": "exact"}),
            "exact response scorer expected text must be provided",
        ),
        (
            lambda: ResponseScorer.contains("c", ""),
            "contains response scorer text must be non-empty",
        ),
        (
            lambda: ResponseScorer.model_validate({"id": "r", "method": "regex", "pattern": ""}),
            "regex response scorer pattern must be non-empty",
        ),
        (
            lambda: FinalResponseEval(
                scorers=[ResponseScorer.exact("a", "x"), ResponseScorer.exact("a", "y")]
            ),
            "response scorer ids must be unique",
        ),
        (
            lambda: FinalResponseEval(scorers=[ResponseScorer.exact("a", "x")], pass_threshold=2),
            "final response pass_threshold must be between 0 and 1",
        ),
    ],
)
def test_response_scorer_messages_use_the_reference_wording(build: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build()


# ------------------------------------------------------------------------------ JudgeVerdict


def test_a_judge_verdict_strips_its_reason() -> None:
    verdict = JudgeVerdict(passed=True, selected_rubric_score=1, reason="  The response matches. ")
    assert verdict.reason == "The response matches."


def test_a_judge_verdict_score_must_be_0_or_1() -> None:
    with pytest.raises(ValidationError, match="selected_rubric_score must be 0 or 1"):
        JudgeVerdict(passed=True, selected_rubric_score=2, reason="r")


def test_a_judge_verdict_passed_must_follow_the_score() -> None:
    with pytest.raises(ValidationError, match="passed must be true exactly"):
        JudgeVerdict(passed=True, selected_rubric_score=0, reason="r")


def test_judge_verdicts_extra_uses_snake_case_inner_keys_and_stripped_reasons() -> None:
    extra = final_response_judge_verdicts_extra(
        {
            "matches_reference": JudgeVerdict(
                passed=True, selected_rubric_score=1, reason=" The response matches.  "
            )
        }
    )
    assert extra == {
        "finalResponseJudgeVerdicts": {
            "matches_reference": {
                "passed": True,
                "selected_rubric_score": 1,
                "reason": "The response matches.",
            }
        }
    }


def test_judge_verdicts_extra_refuses_an_empty_scorer_id() -> None:
    with pytest.raises(ValueError, match="response scorer ids must be non-empty"):
        final_response_judge_verdicts_extra({"": {"selected_rubric_score": 1, "reason": "ok"}})


# --------------------------------------------------------------------------- sample outputs


def test_resolved_actions_in_extra_are_validated_and_other_keys_pass_through() -> None:
    output = RawSampleOutput(
        extra={
            "resolvedActions": [{"type": "price_change", "payload": {"productId": "p-001"}}],
            "custom": {"kept": [1, 2]},
        }
    )
    assert output.extra == {
        "resolvedActions": [{"type": "price_change", "payload": {"productId": "p-001"}}],
        "custom": {"kept": [1, 2]},
    }


def test_an_old_shape_resolved_action_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        RawSampleOutput(
            extra={
                "resolvedActions": [
                    {"type": "price_change", "changeType": "absolute", "value": 10.0}
                ]
            }
        )


# ------------------------------------------------------------------------------- GroundTruth

PLANNED = {"type": "price_change", "payload": {"productId": "p-001", "newPrice": 6.49}}


def test_ground_truth_exposes_a_flat_payload_model() -> None:
    truth = GroundTruth.model_validate(
        {
            "kind": "structured",
            "payload": {"kind": "flat", "payloadMatch": "subset", "plannedActions": [PLANNED]},
        }
    )
    flat = truth.payload
    assert flat.kind == "flat"
    assert flat.payload_match == "subset"
    assert [(a.type, a.payload) for a in flat.planned_actions] == [
        ("price_change", {"productId": "p-001", "newPrice": 6.49})
    ]
    assert flat.executed_actions == []
    assert truth.model_dump(by_alias=True, mode="json") == {
        "kind": "structured",
        "data": {
            "kind": "flat",
            "plannedActions": [PLANNED],
            "executedActions": [],
            "payloadMatch": "subset",
        },
    }


def test_ground_truth_accepts_data_as_well_as_payload() -> None:
    by_data = GroundTruth.model_validate({"kind": "structured", "data": {"answer": 42}})
    by_payload = GroundTruth.model_validate({"kind": "structured", "payload": {"answer": 42}})
    assert by_data == by_payload
    assert by_data.payload == {"answer": 42}


def test_a_ground_truth_schema_is_an_opaque_string_kept_on_the_wire() -> None:
    truth = GroundTruth.model_validate({"kind": "structured", "schema": "x.y", "payload": {"a": 1}})
    assert truth.schema_ == "x.y"
    assert truth.to_wire() == {"kind": "structured", "data": {"a": 1}, "schema": "x.y"}


def test_a_test_case_validates_the_examples_json() -> None:
    case = EvalTestCase.model_validate(
        {
            "id": "lower-price",
            "input": "Lower the price of p-001",
            "expectedTrajectory": ["call_agent"],
            "trajectoryMode": "subsequence",
            "tags": ["pricing"],
            "structuredGroundTruth": {
                "kind": "structured",
                "payload": {"kind": "flat", "payloadMatch": "subset", "plannedActions": [PLANNED]},
            },
        }
    )
    assert case.actions is not None
    wire = case.model_dump(by_alias=True, mode="json")
    assert wire["structuredGroundTruth"]["data"]["plannedActions"] == [PLANNED]
    assert EvalTestCase.model_validate(wire) == case


@pytest.mark.parametrize(
    "build",
    [
        lambda: define_expected_actions(),
        lambda: define_action_ground_truth(
            planned_actions=[PLANNED],
            kind="multiGroup",  # type: ignore[arg-type]
        ),
        lambda: GroundTruth.model_validate(
            {
                "kind": "structured",
                "data": {"kind": "flat", "plannedActions": [], "executedActions": []},
            }
        ),
        lambda: define_expected_actions(
            planned_actions=[PLANNED],
            payload_match="strict",  # type: ignore[arg-type]
        ),
    ],
)
def test_empty_or_unknown_flat_ground_truth_is_a_validation_error(build: Any) -> None:
    with pytest.raises(ValidationError):
        build()


def test_empty_expected_actions_use_the_reference_message() -> None:
    with pytest.raises(
        ValidationError,
        match="expected actions must declare at least one of planned_actions or executed_actions",
    ):
        define_expected_actions()


@pytest.mark.parametrize("actions_key", ["expectedActions", "expected_actions"])
@pytest.mark.parametrize("truth_key", ["structuredGroundTruth", "groundTruth", "ground_truth"])
def test_a_test_case_with_actions_and_ground_truth_is_ambiguous(
    actions_key: str, truth_key: str
) -> None:
    actions = define_expected_actions(planned_actions=[PLANNED]).to_wire()
    with pytest.raises(ValidationError, match="expected_actions or ground_truth"):
        EvalTestCase.model_validate(
            {"id": "t", "input": "i", actions_key: actions, truth_key: {"answer": 1}}
        )


# ---------------------------------------------------------------------------------- artifacts


def _reference_artifact() -> dict[str, Any]:
    usage = {"inputTokens": 50, "outputTokens": 25, "cachedTokens": 0, "cacheCreationTokens": 0}
    sample = {
        "sampleIndex": 0,
        "passed": True,
        "aggregateScore": 1.0,
        "componentScores": [
            {"scorerName": "trajectory", "score": 1.0, "details": None},
            {"scorerName": "composite", "score": 1.0, "details": {"weights": {}}},
        ],
        "responseText": "Done.",
        "actualTrajectory": [],
        "finalResponseEval": None,
        "plannedActions": [],
        "resolvedActions": [],
        "durationMs": 3,
        "modelInvocations": [
            {
                "agent": "desk",
                "provider": None,
                "model": "mock",
                "inputTokens": 50,
                "outputTokens": 25,
                "cachedTokens": 0,
                "cacheCreationTokens": 0,
                "estimatedCostUsd": None,
            }
        ],
        "tokenUsage": usage,
        "cost": None,
        "latency": None,
        "threadId": None,
        "trace": None,
        "metadata": None,
        "error": None,
    }
    pass_at = {"k": 3, "simpleEstimate": 1.0, "unbiasedEstimate": None, "numSamples": 1}
    pass_at["numCorrect"] = 1
    return {
        "runId": "eval-1",
        "tenantId": "acme",
        "workspaceId": "ws",
        "mode": "sequential",
        "summary": {
            "totalTestCases": 1,
            "passed": 1,
            "failed": 0,
            "skipped": 0,
            "aggregateScore": 1.0,
            "passRate": 1.0,
            "passAtK": [pass_at],
            "totalDurationMs": 3,
            "totalUsage": usage,
            "cost": None,
            "latency": None,
            "metadata": None,
        },
        "testCases": [
            {
                "testCaseId": "tc-1",
                "input": None,
                "samples": [sample],
                "passAtK": [pass_at],
                "aggregateScore": 1.0,
            }
        ],
        "metadata": {
            "schemaVersion": 1,
            "scorerPreset": "sequential",
            "scoreWeights": {"trajectory": 1.0},
        },
    }


def test_an_artifact_round_trips_exactly_with_nulls_kept() -> None:
    wire = _reference_artifact()
    assert EvalArtifact.model_validate(wire).model_dump(by_alias=True, mode="json") == wire


def test_token_usage_has_exactly_four_keys() -> None:
    artifact = EvalArtifact.model_validate(_reference_artifact())
    usage = artifact.summary.total_usage.model_dump(by_alias=True, mode="json")
    assert set(usage) == {"inputTokens", "outputTokens", "cachedTokens", "cacheCreationTokens"}


def test_a_sample_without_an_answer_omits_only_its_response_text() -> None:
    sample = SampleArtifact(sample_index=0, passed=False, aggregate_score=0.0, metadata=None)
    dump = sample.model_dump(by_alias=True, mode="json")
    assert "responseText" not in dump
    for key in ("finalResponseEval", "cost", "latency", "threadId", "trace", "metadata", "error"):
        assert dump[key] is None


# ---------------------------------------------------------------------------------- envelopes


def test_an_envelope_exposes_its_typed_event() -> None:
    artifact = _reference_artifact()
    flat = {"runId": "eval-1", "sequence": 4, "type": "evalCompleted"}
    flat["data"] = {"artifact": artifact}
    envelope = HarnessEvalEventEnvelope.model_validate(flat)
    assert (envelope.run_id, envelope.sequence) == ("eval-1", 4)
    assert envelope.event.type == "evalCompleted"
    assert envelope.event.data.artifact == EvalArtifact.model_validate(artifact)
    assert envelope.model_dump(by_alias=True, mode="json") == flat
    assert (
        HarnessEvalEventEnvelope.model_validate_json(envelope.model_dump_json(by_alias=True))
        == envelope
    )


@pytest.mark.parametrize(
    ("flat_data", "event_type", "attribute", "expected_type"),
    [
        ({"testCaseId": "tc-1"}, "testCaseStarted", "test_case_id", str),
        (
            {"sample": _reference_artifact()["testCases"][0]["samples"][0]},
            "sampleCompleted",
            "sample",
            SampleArtifact,
        ),
        (
            {"testCase": _reference_artifact()["testCases"][0]},
            "testCaseCompleted",
            "test_case",
            TestCaseArtifact,
        ),
        ({"error": "boom"}, "evalFailed", "error", str),
        ({"reason": "stopped"}, "evalCancelled", "reason", str),
    ],
)
def test_each_envelope_type_has_typed_data(
    flat_data: dict[str, Any], event_type: str, attribute: str, expected_type: type
) -> None:
    envelope = HarnessEvalEventEnvelope.model_validate(
        {"runId": "eval-1", "sequence": 1, "type": event_type, "data": flat_data}
    )
    assert isinstance(getattr(envelope.event.data, attribute), expected_type)


async def test_a_streamed_eval_validates_into_typed_envelopes() -> None:
    agents = [
        define_coordinator("desk", model=MODEL, prompt="route", routes=["helper"]),
        define_specialist("helper", model=MODEL, prompt="help"),
    ]
    runtime = create_runtime(
        define_runtime(define_tenant("acme", "v1"), agents=agents),
        testing=TestingConfig(mock_response="Done."),
    )
    request = define_eval_request(
        runtime,
        workspace_id="ws",
        test_cases=[define_test_case("tc-1", "hi", expected_trajectory=[])],
        config=define_eval_config(samples_per_case=1),
    )
    stream = runtime.stream_eval(request)
    envelopes = [HarnessEvalEventEnvelope.model_validate(e) async for e in stream]
    assert [e.event.type for e in envelopes] == [
        "evalStarted",
        "testCaseStarted",
        "sampleCompleted",
        "testCaseCompleted",
        "evalCompleted",
    ]
    assert [e.sequence for e in envelopes] == [0, 1, 2, 3, 4]
    assert len({e.run_id for e in envelopes}) == 1
    assert isinstance(envelopes[-1].event.data.artifact, EvalArtifact)


def test_a_judge_verdict_can_be_built_positionally_as_passed_score_reason() -> None:
    verdict = JudgeVerdict(True, 1, "  The response matches.  ")
    assert verdict == JudgeVerdict(
        passed=True, selected_rubric_score=1, reason="The response matches."
    )
    with pytest.raises(TypeError, match="multiple values for 'reason'"):
        JudgeVerdict(True, 1, "x", reason="y")
    with pytest.raises(ValidationError, match="passed must be true exactly"):
        JudgeVerdict(True, 0, "x")
