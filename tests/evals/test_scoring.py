"""Offline scoring of one sample (evals/scoring.py)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from pydantic import ValidationError

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.evals.scoring import (
    CONTAINS_MISS_REASON,
    score_actions,
    score_final_response,
    score_sample,
    score_trajectory,
)
from flowai_harness.specs.evals import (
    EvalTestCase,
    JudgeVerdict,
    RawSampleOutput,
    ResponseScorer,
    TrajectoryScorerConfig,
    define_expected_action,
    define_expected_actions,
    define_final_response_eval,
    define_ground_truth,
    define_scorer_preset,
    define_test_case,
    define_trajectory_scorer_config,
)

MOCK = "Acme offers full refunds within 30 days of purchase."


def case(**kwargs: Any) -> EvalTestCase:
    return define_test_case("t", "input", **kwargs)


def output(**kwargs: Any) -> RawSampleOutput:
    return RawSampleOutput(**kwargs)


# --- first eval ----------------------------------------------------------------------------


def _first_eval_case(case_id: str, scorer: ResponseScorer) -> EvalTestCase:
    return define_test_case(
        case_id, "question", final_response=define_final_response_eval(scorers=[scorer])
    )


@pytest.mark.parametrize(
    ("scorer", "aggregate"),
    [
        (ResponseScorer.contains(id="mentions_30_days", text="30 days"), 1.0),
        (ResponseScorer.regex(id="mentions_refund", pattern="refunds?"), 1.0),
        (ResponseScorer.contains(id="mentions_store_credit", text="store credit"), 0.0),
    ],
)
def test_first_eval_samples_score_as_the_tutorial_promises(
    scorer: ResponseScorer, aggregate: float
) -> None:
    scored = score_sample(
        _first_eval_case("c", scorer),
        output(response_text=f"Received: question\n\n{MOCK}"),
        score_weights={"final_response": 1.0},
    )
    assert scored.aggregate == aggregate
    assert [c.scorer_name for c in scored.component_scores] == ["final_response", "composite"]


def test_contains_miss_reports_the_exact_reason() -> None:
    scored = score_sample(
        _first_eval_case(
            "refund-store-credit",
            ResponseScorer.contains(id="mentions_store_credit", text="store credit"),
        ),
        output(response_text=MOCK),
        score_weights={"final_response": 1.0},
    )
    final = scored.component("final_response")
    assert final is not None and final.details is not None
    assert final.details["responseScorers"] == [
        {
            "id": "mentions_store_credit",
            "method": "contains",
            "passed": False,
            "score": 0.0,
            "required": False,
            "weight": 1.0,
            "reason": "The final response did not contain the required text.",
            "details": {},
        }
    ]
    assert CONTAINS_MISS_REASON == "The final response did not contain the required text."


# --- trajectory -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected", "actual", "passed"),
    [
        ("strict", ["a", "b"], ["a", "b"], True),
        ("strict", ["a", "b"], ["b", "a"], False),
        ("strict", ["a", "b"], ["a", "b", "c"], False),
        ("strict", [], [], True),
        ("strict", [], ["a"], False),
        ("unordered", ["a", "b", "a"], ["a", "a", "b"], True),
        ("unordered", ["a", "b"], ["a", "b", "b"], False),
        ("unordered", ["a", "b"], ["a"], False),
        ("unordered", [], [], True),
        ("unordered", [], ["a"], False),
        ("subset", ["a", "b"], ["b"], True),
        ("subset", ["a", "b"], ["a", "a"], False),
        ("subset", ["a"], ["a", "c"], False),
        ("subset", [], [], True),
        ("subset", [], ["a"], False),
        ("superset", ["a"], ["c", "a", "b"], True),
        ("superset", ["a", "a"], ["a", "b"], False),
        ("superset", [], ["x"], True),
        ("subsequence", ["a", "c"], ["a", "b", "c"], True),
        ("subsequence", ["a", "c"], ["c", "a"], False),
        ("subsequence", ["a", "a"], ["a", "b", "a"], True),
        ("subsequence", [], ["x", "y"], True),
    ],
)
def test_trajectory_modes_pass_and_fail_as_specified(
    mode: Any, expected: list[str], actual: list[str], passed: bool
) -> None:
    result = score_trajectory(
        case(expected_trajectory=expected, trajectory_mode=mode),
        output(actual_trajectory=actual),
    )
    assert result.score == (1.0 if passed else 0.0)
    assert result.details is not None and result.details["passed"] is passed


def test_unauthored_trajectory_counts_as_empty_expected() -> None:
    assert score_trajectory(case(), output()).score == 1.0
    assert score_trajectory(case(), output(actual_trajectory=["getPlan"])).score == 0.0


def test_trajectory_details_use_lcs_for_ordered_modes() -> None:
    result = score_trajectory(
        case(expected_trajectory=["a", "b", "c", "e"], trajectory_mode="strict"),
        output(actual_trajectory=["a", "c", "d", "e"]),
    )
    assert result.details == {
        "mode": "strict",
        "passed": False,
        "expected": ["a", "b", "c", "e"],
        "actual": ["a", "c", "d", "e"],
        "matched": ["a", "c", "e"],
        "missing": ["b"],
        "unexpected": ["d"],
        "diagnostics": {
            "precision": 0.75,
            "recall": 0.75,
            "f1": pytest.approx(0.75),
            "f2": pytest.approx(0.75),
        },
        "projection": {
            "observedTrajectory": ["a", "c", "d", "e"],
            "scoredTrajectory": ["a", "c", "d", "e"],
            "source": "actualTrajectory",
            "config": {"includeSubAgents": False, "ignoreTools": []},
        },
    }


def test_trajectory_details_use_multiset_difference_for_unordered_modes() -> None:
    result = score_trajectory(
        case(expected_trajectory=["a", "b", "a"], trajectory_mode="unordered"),
        output(actual_trajectory=["b", "c", "a"]),
    )
    assert result.details is not None
    assert result.details["matched"] == ["a", "b"]
    assert result.details["missing"] == ["a"]
    assert result.details["unexpected"] == ["c"]


def test_trajectory_diagnostics_of_two_empty_trajectories_are_perfect() -> None:
    result = score_trajectory(case(expected_trajectory=[]), output())
    assert result.details is not None
    assert result.details["diagnostics"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "f2": 1.0}


EVENTS = [
    {
        "kind": "agent",
        "name": "coordinator",
        "agent": "coordinator",
        "invocationId": "i0",
        "depth": 0,
    },
    {
        "kind": "tool",
        "name": "call_agent",
        "agent": "coordinator",
        "invocationId": "i1",
        "depth": 1,
    },
    {"kind": "agent", "name": "planner", "agent": "planner", "invocationId": "i2", "depth": 1},
    {"kind": "tool", "name": "storePlan", "agent": "planner", "invocationId": "i3", "depth": 2},
    {"kind": "tool", "name": "getPlan", "agent": "coordinator", "invocationId": "i4", "depth": 1},
]


@pytest.mark.parametrize(
    ("config", "scored"),
    [
        ({}, ["call_agent", "getPlan"]),
        ({"include_sub_agents": True}, ["call_agent", "storePlan", "getPlan"]),
        ({"include_sub_agents": True, "ignore_tools": ["call_agent"]}, ["storePlan", "getPlan"]),
        ({"ignore_tools": ["getPlan"]}, ["call_agent"]),
    ],
)
def test_trajectory_events_project_by_depth_and_ignored_tools(
    config: dict[str, Any], scored: list[str]
) -> None:
    sample = output(
        actual_trajectory=["ignored"], extra={"trajectoryEvents": copy.deepcopy(EVENTS)}
    )
    result = score_trajectory(
        case(expected_trajectory=scored, trajectory_mode="strict"),
        sample,
        TrajectoryScorerConfig(**config),
    )
    assert result.score == 1.0
    assert result.details is not None
    assert result.details["projection"]["source"] == "trajectoryEvents"
    assert result.details["projection"]["observedTrajectory"] == [
        "call_agent",
        "storePlan",
        "getPlan",
    ]
    assert result.details["projection"]["scoredTrajectory"] == scored
    assert sample.extra["trajectoryEvents"] == EVENTS


def test_actual_trajectory_drops_ignored_tools_without_mutating_the_output() -> None:
    sample = output(actual_trajectory=["getPlan", "storePlan", "getPlan"])
    result = score_trajectory(
        case(expected_trajectory=["storePlan"], trajectory_mode="strict"),
        sample,
        TrajectoryScorerConfig(ignore_tools=["getPlan"]),
    )
    assert result.score == 1.0
    assert sample.actual_trajectory == ["getPlan", "storePlan", "getPlan"]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ({"kind": "tool"}, "must be a list of events"),
        (["storePlan"], r"trajectoryEvents\[0\] must be an object"),
        ([{"kind": "tool", "name": ""}], "non-empty string name"),
        ([{"kind": "tool", "name": "a", "depth": "1"}], "integer depth"),
    ],
)
def test_undecodable_trajectory_events_score_zero_with_an_error(events: Any, message: str) -> None:
    result = score_trajectory(
        case(expected_trajectory=[]), output(extra={"trajectoryEvents": events})
    )
    assert result.score == 0.0
    assert result.details is not None
    assert re.search(message, result.details["error"])


# --- actions --------------------------------------------------------------------------------


def _actions_case(
    expected: list[dict[str, Any]], match: Any, bucket: str = "planned"
) -> EvalTestCase:
    actions = [define_expected_action(a["type"], a.get("payload")) for a in expected]
    truth = define_expected_actions(**{f"{bucket}_actions": actions}, payload_match=match)
    return case(expected_actions=truth)


@pytest.mark.parametrize(
    ("expected", "actual", "exact", "subset"),
    [
        ({"id": "p-001"}, {"id": "p-001"}, True, True),
        ({"id": "p-001"}, {"id": "p-001", "reason": "x"}, False, True),
        ({"id": "p-001", "reason": "x"}, {"id": "p-001"}, False, False),
        ({"price": 1}, {"price": 1.0}, True, True),
        ({"flag": True}, {"flag": 1}, False, False),
        ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, False, True),
        ({"ids": [1, 2]}, {"ids": [2, 1]}, False, True),
        ({"ids": [1, 2]}, {"ids": [1, 2, 3]}, False, False),
        ({"ids": [1, 1, 2]}, {"ids": [1, 2, 2]}, False, False),
        ({"rows": [{"a": 1}]}, {"rows": [{"a": 1, "b": 2}]}, False, True),
        ({"rows": [{"a": 1}, {"a": 2}]}, {"rows": [{"a": 2}, {"a": 1}]}, False, False),
        ({}, {"anything": 1}, False, True),
        ({"v": None}, {"v": None}, True, True),
        ({"v": None}, {}, False, False),
    ],
)
def test_payload_match_exact_versus_subset(
    expected: dict[str, Any], actual: dict[str, Any], exact: bool, subset: bool
) -> None:
    for match, passes in (("exact", exact), ("subset", subset)):
        result = score_actions(
            _actions_case([{"type": "t", "payload": expected}], match),
            output(extra={"plannedActions": [{"type": "t", "payload": actual}]}),
            "planned_actions",
        )
        assert result.score == (1.0 if passes else 0.0), match


def test_action_types_must_be_equal() -> None:
    result = score_actions(
        _actions_case([{"type": "price_change"}], "subset"),
        output(extra={"plannedActions": [{"type": "discontinue", "payload": {}}]}),
        "planned_actions",
    )
    assert result.score == 0.0


def test_action_score_is_f2_with_full_details() -> None:
    expected = [
        {"type": "price_change", "payload": {"productId": "p-001"}},
        {"type": "price_change", "payload": {"productId": "p-002"}},
    ]
    actual = [
        {"type": "price_change", "payload": {"productId": "p-002", "newPrice": 2}},
        {"type": "restock", "payload": {"productId": "p-009"}},
    ]
    result = score_actions(
        _actions_case(expected, "subset", bucket="executed"),
        output(extra={"resolvedActions": actual}),
        "executed_actions",
    )
    # matched 1, missing 1, extra 1: F2 = 5 / (5 + 4 + 1)
    assert result.score == pytest.approx(0.5)
    assert result.details == {
        "pass": False,
        "payloadMatch": "subset",
        "actions": [
            {"signature": 'price_change:{"productId":"p-001"}', "status": "missing"},
            {"signature": 'price_change:{"productId":"p-002"}', "status": "exact"},
            {"signature": 'restock:{"productId":"p-009"}', "status": "extra"},
        ],
        "summary": {
            "totalExpected": 2,
            "totalActual": 2,
            "exactCount": 1,
            "missingCount": 1,
            "extraCount": 1,
            "passRate": 0.5,
        },
        "issues": [
            'missing expected action price_change:{"productId":"p-001"}',
            'unexpected action restock:{"productId":"p-009"}',
        ],
    }


@pytest.mark.parametrize(
    ("found", "missing", "extra", "score"),
    [(2, 0, 0, 1.0), (1, 1, 0, 5 / 9), (1, 0, 1, 5 / 6), (0, 1, 0, 0.0), (0, 1, 3, 0.0)],
)
def test_action_f2_table(found: int, missing: int, extra: int, score: float) -> None:
    expected = [{"type": f"e{i}"} for i in range(found + missing)]
    actual = [{"type": f"e{i}", "payload": {}} for i in range(found)]
    actual += [{"type": f"x{i}", "payload": {}} for i in range(extra)]
    result = score_actions(
        _actions_case(expected, "exact"),
        output(extra={"plannedActions": actual}),
        "planned_actions",
    )
    assert result.score == pytest.approx(score)


def test_action_matching_is_a_maximum_one_to_one_assignment() -> None:
    # A greedy pass would give the first actual action to the first expected one and leave the
    # second expected action unmatched; the maximum assignment matches both.
    expected = [{"type": "t", "payload": {}}, {"type": "t", "payload": {"k": 1}}]
    actual = [{"type": "t", "payload": {"k": 1}}, {"type": "t", "payload": {"j": 2}}]
    result = score_actions(
        _actions_case(expected, "subset"),
        output(extra={"plannedActions": actual}),
        "planned_actions",
    )
    assert result.score == 1.0
    duplicate = score_actions(
        _actions_case([{"type": "t"}], "subset"),
        output(extra={"plannedActions": [{"type": "t"}, {"type": "t"}]}),
        "planned_actions",
    )
    assert duplicate.details is not None
    assert duplicate.details["summary"]["extraCount"] == 1


def test_actions_score_one_without_ground_truth_or_with_an_empty_bucket() -> None:
    extra = {"plannedActions": [{"type": "a", "payload": {}}]}
    assert score_actions(case(), output(extra=extra), "planned_actions").score == 1.0
    executed_only = _actions_case([{"type": "a"}], "exact", bucket="executed")
    assert score_actions(executed_only, output(extra=extra), "planned_actions").score == 1.0


def test_actions_score_zero_for_free_form_ground_truth() -> None:
    result = score_actions(
        case(ground_truth=define_ground_truth({"answer": 1})), output(), "planned_actions"
    )
    assert result.score == 0.0
    assert result.details is not None
    assert "not action ground truth" in result.details["error"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "a"}, "extra.plannedActions must be a list"),
        (["a"], "extra.plannedActions[0] is not a valid action"),
        ([{"type": "a"}, {"type": ""}], "extra.plannedActions[1] is not a valid action: type:"),
        ([{"kind": "a", "payload": {}}], "extra.plannedActions[0] is not a valid action"),
    ],
)
def test_undecodable_actual_actions_score_zero_with_an_error(raw: Any, message: str) -> None:
    result = score_actions(
        _actions_case([{"type": "a"}], "exact"),
        output(extra={"plannedActions": raw}),
        "planned_actions",
    )
    assert result.score == 0.0
    assert result.details is not None
    assert message in result.details["error"]


def test_missing_actual_actions_count_as_none() -> None:
    result = score_actions(_actions_case([{"type": "a"}], "exact"), output(), "planned_actions")
    assert result.score == 0.0
    assert result.details is not None
    assert result.details["summary"]["missingCount"] == 1


# --- final response -------------------------------------------------------------------------


def _final(*scorers: ResponseScorer, threshold: float = 1.0) -> EvalTestCase:
    return case(
        final_response=define_final_response_eval(scorers=list(scorers), pass_threshold=threshold)
    )


def test_unauthored_final_response_scores_one() -> None:
    result = score_final_response(case(), output())
    assert result.score == 1.0
    assert result.details == {"configured": False}


@pytest.mark.parametrize("text", [None, ""])
def test_missing_response_text_scores_zero(text: str | None) -> None:
    result = score_final_response(
        _final(ResponseScorer.regex("r", ".*"), threshold=0), output(response_text=text)
    )
    assert result.score == 0.0
    assert result.details is not None
    assert result.details["passed"] is False


@pytest.mark.parametrize(
    ("scorer", "text", "passed"),
    [
        (ResponseScorer.exact("e", "Hello"), "Hello", True),
        (ResponseScorer.exact("e", "Hello"), "Hello ", False),
        (ResponseScorer.exact("e", "Hello"), "hello", False),
        (ResponseScorer.contains("c", "30 Days"), MOCK, False),
        (ResponseScorer.contains("c", "30 Days", case_sensitive=False), MOCK, True),
        (ResponseScorer.contains("c", "30 days"), MOCK, True),
        (ResponseScorer.regex("r", r"\d+ days"), MOCK, True),
        (ResponseScorer.regex("r", r"^refunds"), MOCK, False),
    ],
)
def test_deterministic_scorers(scorer: ResponseScorer, text: str, passed: bool) -> None:
    result = score_final_response(_final(scorer), output(response_text=text))
    assert result.score == (1.0 if passed else 0.0)
    assert result.details is not None
    assert result.details["responseScorers"][0]["passed"] is passed


def test_final_response_score_is_the_passed_weight_share() -> None:
    evaluation = _final(
        ResponseScorer.contains("hit", "30 days", weight=3),
        ResponseScorer.contains("miss", "store credit", weight=1),
        threshold=0.75,
    )
    result = score_final_response(evaluation, output(response_text=MOCK))
    assert result.score == 0.75
    assert result.details is not None
    assert {
        k: result.details[k]
        for k in (
            "passed",
            "score",
            "effectiveScore",
            "passedWeight",
            "totalWeight",
            "passThreshold",
            "requiredFailed",
            "verdictSchemaVersion",
        )
    } == {
        "passed": True,
        "score": 0.75,
        "effectiveScore": 0.75,
        "passedWeight": 3.0,
        "totalWeight": 4.0,
        "passThreshold": 0.75,
        "requiredFailed": [],
        "verdictSchemaVersion": 1,
    }


def test_final_response_below_threshold_has_effective_score_zero() -> None:
    evaluation = _final(
        ResponseScorer.contains("hit", "30 days"),
        ResponseScorer.contains("miss", "store credit"),
        threshold=0.75,
    )
    result = score_final_response(evaluation, output(response_text=MOCK))
    assert result.score == 0.0
    assert result.details is not None
    assert result.details["score"] == 0.5
    assert result.details["passed"] is False


def test_a_failed_required_scorer_fails_the_final_response() -> None:
    evaluation = _final(
        ResponseScorer.contains("hit", "30 days", weight=9),
        ResponseScorer.contains("must", "store credit", required=True),
        threshold=0.5,
    )
    result = score_final_response(evaluation, output(response_text=MOCK))
    assert result.score == 0.0
    assert result.details is not None
    assert result.details["score"] == 0.9
    assert result.details["requiredFailed"] == ["must"]


def test_judge_scorers_read_precomputed_verdicts() -> None:
    evaluation = _final(
        ResponseScorer.judge("polite", "Be polite."),
        ResponseScorer.judge("short", "Be short."),
        threshold=0.5,
    )
    sample = output(response_text=MOCK).with_judge_verdicts(
        {"polite": JudgeVerdict(passed=True, selected_rubric_score=1, reason="Courteous.")}
    )
    result = score_final_response(evaluation, sample)
    assert result.score == 0.5
    assert result.details is not None
    polite, short = result.details["responseScorers"]
    assert polite["passed"] is True
    assert polite["reason"] == "Courteous."
    assert polite["details"] == {
        "verdict": {"passed": True, "selected_rubric_score": 1, "reason": "Courteous."}
    }
    assert short["passed"] is False
    assert short["details"] == {"missingVerdict": True}


def test_judge_runner_details_are_copied_and_invalid_verdicts_fail_closed() -> None:
    evaluation = _final(
        ResponseScorer.judge("a", "A."), ResponseScorer.judge("b", "B."), threshold=0
    )
    verdicts = {
        "a": {
            "passed": False,
            "selectedRubricScore": 0,
            "reason": "Judge failed.",
            "errorKind": "judge_invalid_json",
            "judgeRun": {"schemaVersion": 1, "provider": "anthropic", "model": "m"},
        },
        "b": {"selectedRubricScore": 7, "reason": "?"},
    }
    result = score_final_response(
        evaluation, output(response_text="x", extra={"finalResponseJudgeVerdicts": verdicts})
    )
    assert result.details is not None
    first, second = result.details["responseScorers"]
    assert first["details"]["errorKind"] == "judge_invalid_json"
    assert first["details"]["judgeRun"]["model"] == "m"
    assert second["passed"] is False
    assert second["details"]["errorKind"] == "judge_invalid_schema"
    assert "is invalid" in second["reason"]


# --- score_sample ---------------------------------------------------------------------------


def test_score_sample_weights_are_normalised_into_the_composite() -> None:
    scored = score_sample(
        case(
            expected_trajectory=["storePlan"],
            expected_actions=define_expected_actions(
                planned_actions=[define_expected_action("price_change", {"productId": "p-001"})],
                payload_match="subset",
            ),
        ),
        {
            "actualTrajectory": ["getPlan"],
            "extra": {
                "plannedActions": [
                    {"type": "price_change", "payload": {"productId": "p-001", "newPrice": 6.49}}
                ]
            },
        },
        score_weights={"trajectory": 1, "planned_actions": 3},
    )
    assert [c.scorer_name for c in scored.component_scores] == [
        "trajectory",
        "planned_actions",
        "composite",
    ]
    assert scored.aggregate == 0.75
    composite = scored.component("composite")
    assert composite is not None
    assert composite.score == 0.75
    assert composite.details == {"weights": {"trajectory": 0.25, "planned_actions": 0.75}}


def test_score_sample_defaults_to_the_sequential_preset() -> None:
    scored = score_sample(case(expected_trajectory=["a"]), {"actualTrajectory": ["a"]})
    assert scored.aggregate == 1.0
    assert [c.scorer_name for c in scored.component_scores] == ["trajectory", "composite"]


def test_score_sample_adds_the_default_final_response_share() -> None:
    evaluation = define_final_response_eval(scorers=[ResponseScorer.contains("c", "30 days")])
    scored = score_sample(case(final_response=evaluation), {"responseText": MOCK}, mode="planner")
    # planner defaults trajectory .5 + planned .5, plus final_response .5; planned has no
    # evidence, so trajectory and final_response share the sample evenly.
    composite = scored.component("composite")
    assert composite is not None and composite.details is not None
    assert composite.details["weights"] == {"trajectory": 0.5, "final_response": 0.5}
    assert scored.aggregate == 1.0


def test_score_sample_applies_the_scorer_config() -> None:
    scored = score_sample(
        case(expected_trajectory=["storePlan"], trajectory_mode="strict"),
        {"actualTrajectory": ["getPlan", "storePlan"]},
        scorer_config=define_trajectory_scorer_config(ignore_tools=["getPlan"]),
    )
    assert scored.aggregate == 1.0


def test_score_sample_rejects_weights_from_both_preset_and_argument() -> None:
    with pytest.raises(SpecValueError, match="weights were given twice"):
        score_sample(
            case(),
            output(),
            scorer_preset=define_scorer_preset("sequential", weights={"trajectory": 1}),
            score_weights={"trajectory": 1},
        )


def test_score_sample_rejects_a_preset_contradicting_the_mode() -> None:
    with pytest.raises(SpecValueError, match="conflicts with scorerPreset"):
        score_sample(case(), output(), mode="executor", scorer_preset="planner")
    with pytest.raises(SpecValueError, match="valid only when mode is omitted"):
        score_sample(case(), output(), mode="executor", scorer_preset="trajectory_only")


def test_score_sample_trajectory_only_preset_scores_the_trajectory() -> None:
    scored = score_sample(
        case(expected_trajectory=["a"]),
        output(actual_trajectory=["b"]),
        scorer_preset="trajectory_only",
    )
    assert scored.aggregate == 0.0


def test_score_sample_checks_its_input_types() -> None:
    with pytest.raises(
        SpecTypeError, match="test_case must be a EvalTestCase or its mapping, got str"
    ):
        score_sample("t", output())  # type: ignore[arg-type]
    with pytest.raises(SpecTypeError, match="output must be a RawSampleOutput"):
        score_sample(case(), ["a"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        score_sample({"id": "t"}, output())
    with pytest.raises(ValidationError, match="unknown key"):
        score_sample(case(), output(), scorer_config={"planned": {}})


def test_score_sample_result_round_trips_through_its_wire_dict() -> None:
    from flowai_harness.specs.evals import ScoredSample

    scored = score_sample(
        _first_eval_case("c", ResponseScorer.contains("c", "30 days")),
        output(response_text=MOCK),
        score_weights={"final_response": 1, "trajectory": 1},
    )
    assert ScoredSample.model_validate(scored.to_wire()) == scored
