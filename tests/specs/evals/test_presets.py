"""Score weights, presets and weight resolution (specs/evals/presets.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flowai_harness.errors import SpecValueError
from flowai_harness.specs.evals import (
    EvalTestCase,
    ResponseScorer,
    ScorerPreset,
    ScoreWeights,
    define_expected_action,
    define_expected_actions,
    define_final_response_eval,
    define_scorer_preset,
    define_test_case,
    resolve_scoring_plan,
)

FINAL = define_final_response_eval(scorers=[ResponseScorer.exact("e", "x")])
PLANNED = define_expected_actions(planned_actions=[define_expected_action("a")])
EXECUTED = define_expected_actions(executed_actions=[define_expected_action("a")])
BOTH = define_expected_actions(
    planned_actions=[define_expected_action("a")], executed_actions=[define_expected_action("a")]
)


def case(case_id: str = "t", **kwargs: Any) -> EvalTestCase:
    return define_test_case(case_id, "input", **kwargs)


# --- ScoreWeights -----------------------------------------------------------------------------


def test_score_weights_dump_as_the_bare_mapping_of_given_keys() -> None:
    weights = ScoreWeights.model_validate({"final_response": 1.0, "trajectory": 0})
    assert weights.to_wire() == {"trajectory": 0.0, "final_response": 1.0}
    assert weights.weights == {"trajectory": 0.0, "final_response": 1.0}
    assert ScoreWeights.model_validate(weights.to_wire()) == weights


def test_score_weights_keys_are_the_snake_case_scorer_names_only() -> None:
    with pytest.raises(ValidationError, match=r"unknown scorer weight key 'plannedActions'"):
        ScoreWeights.model_validate({"plannedActions": 1})
    with pytest.raises(
        ValidationError,
        match="expected one of: trajectory, planned_actions, executed_actions, final_response",
    ):
        ScoreWeights.model_validate({"composite": 1})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-0.5, "score weight 'trajectory' must be non-negative, got -0.5"),
        (float("inf"), "score weights must be finite"),
        (True, "must be a number, got bool"),
        ("1", "must be a number, got str"),
    ],
)
def test_score_weight_values_are_finite_non_negative_numbers(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScoreWeights.model_validate({"trajectory": value})


@pytest.mark.parametrize("data", [{}, {"trajectory": 0, "final_response": 0.0}])
def test_score_weights_need_one_positive_weight(data: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="at least one score weight must be positive"):
        ScoreWeights.model_validate(data)


# --- presets --------------------------------------------------------------------------------


def test_define_scorer_preset_wire_shape() -> None:
    assert define_scorer_preset("planner").to_wire() == {"name": "planner", "weights": None}
    preset = define_scorer_preset("planner", weights={"trajectory": 1, "planned_actions": 3})
    assert preset.to_wire() == {
        "name": "planner",
        "weights": {"trajectory": 1.0, "planned_actions": 3.0},
    }
    assert ScorerPreset.model_validate(preset.to_wire()) == preset


def test_define_scorer_preset_rejects_an_unknown_name() -> None:
    with pytest.raises(ValidationError, match="'trajectory_only', 'planner'"):
        define_scorer_preset("everything")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "weights", "refused"),
    [
        ("trajectory_only", {"final_response": 1}, "final_response"),
        ("planner", {"executed_actions": 1}, "executed_actions"),
        ("executor", {"planned_actions": 0.5, "trajectory": 0.5}, "planned_actions"),
    ],
)
def test_preset_weights_must_name_allowed_scorers(
    name: Any, weights: dict[str, float], refused: str
) -> None:
    with pytest.raises(ValidationError, match=f"does not allow weighting {refused}"):
        define_scorer_preset(name, weights=weights)


def test_preset_weights_may_zero_a_scorer_the_preset_refuses() -> None:
    preset = define_scorer_preset("planner", weights={"trajectory": 1, "executed_actions": 0})
    assert preset.weights is not None


# --- resolution: defaults -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "cases", "expected"),
    [
        ("trajectory_only", [case()], {"trajectory": 1.0}),
        ("planner", [case()], {"trajectory": 0.5, "planned_actions": 0.5}),
        ("executor", [case()], {"executed_actions": 1.0}),
        (
            "executor",
            [case("a"), case("b", expected_trajectory=["executePlan"])],
            {"trajectory": 0.2, "executed_actions": 0.8},
        ),
        (
            "sequential",
            [case()],
            {"trajectory": 0.5, "planned_actions": 0.25, "executed_actions": 0.25},
        ),
        (
            "test_case_builder",
            [case()],
            {"trajectory": 0.5, "planned_actions": 0.25, "executed_actions": 0.25},
        ),
        (
            "planner",
            [case(final_response=FINAL)],
            {"trajectory": 0.5, "planned_actions": 0.5, "final_response": 0.5},
        ),
        (
            "specialist",
            [case("a", expected_trajectory=[]), case("b", final_response=FINAL)],
            {"trajectory": 1.0, "final_response": 1.0},
        ),
        (
            "specialist",
            [case("a", expected_actions=BOTH)],
            {"planned_actions": 1.0, "executed_actions": 1.0},
        ),
    ],
)
def test_default_weights_per_preset_are_normalised(
    preset: Any, cases: list[EvalTestCase], expected: dict[str, float]
) -> None:
    plan = resolve_scoring_plan(cases, mode=None, scorer_preset=preset, offline=True)
    total = sum(expected.values())
    assert plan.weights == pytest.approx({k: v / total for k, v in expected.items()})
    assert list(plan.weights) == [k for k in expected]
    assert plan.explicit is False


def test_specialist_defaults_refuse_a_case_authoring_nothing() -> None:
    with pytest.raises(
        SpecValueError, match="specialist eval test case 'empty' has no scoreable expectations"
    ):
        resolve_scoring_plan(
            [case("ok", final_response=FINAL), case("empty")],
            mode="specialist",
            offline=True,
        )


# --- resolution: explicit weights -----------------------------------------------------------


def test_explicit_weights_drop_zeros_and_normalise() -> None:
    plan = resolve_scoring_plan(
        [case()],
        mode=None,
        score_weights={"trajectory": 3, "planned_actions": 1, "executed_actions": 0},
        offline=True,
    )
    assert plan.weights == {"trajectory": 0.75, "planned_actions": 0.25}
    assert plan.explicit is True


def test_request_weights_beat_config_weights() -> None:
    plan = resolve_scoring_plan(
        [case()],
        mode="sequential",
        score_weights=ScoreWeights(trajectory=1.0),
        config_score_weights=ScoreWeights(final_response=1.0),
    )
    assert plan.weights == {"trajectory": 1.0}
    from_config = resolve_scoring_plan(
        [case()], mode="sequential", config_score_weights=ScoreWeights(final_response=1.0)
    )
    assert from_config.weights == {"final_response": 1.0}


def test_preset_weights_count_as_explicit() -> None:
    plan = resolve_scoring_plan(
        [case()],
        mode="planner",
        scorer_preset=define_scorer_preset("planner", weights={"planned_actions": 2}),
    )
    assert plan.weights == {"planned_actions": 1.0}
    assert plan.explicit is True


def test_weights_given_by_preset_and_score_weights_are_refused() -> None:
    with pytest.raises(SpecValueError, match="weights were given twice"):
        resolve_scoring_plan(
            [case()],
            mode=None,
            scorer_preset=define_scorer_preset("sequential", weights={"trajectory": 1}),
            score_weights={"trajectory": 1},
            offline=True,
        )


def test_explicit_weights_must_be_allowed_by_the_preset() -> None:
    with pytest.raises(SpecValueError, match="preset 'planner' does not allow weighting executed"):
        resolve_scoring_plan([case()], mode="planner", score_weights={"executed_actions": 1})


def test_explicit_specialist_final_response_weight_needs_it_on_every_case() -> None:
    cases = [case("a", final_response=FINAL), case("b", expected_trajectory=["x"])]
    with pytest.raises(SpecValueError, match="requires test case 'b' to author finalResponse"):
        resolve_scoring_plan(cases, mode="specialist", score_weights={"final_response": 1})
    plan = resolve_scoring_plan(cases, mode="specialist", score_weights={"trajectory": 1})
    assert plan.weights == {"trajectory": 1.0}


def test_trajectory_only_refuses_a_case_with_a_final_response() -> None:
    with pytest.raises(SpecValueError, match="test case 'a' authors one"):
        resolve_scoring_plan(
            [case("a", final_response=FINAL)],
            mode=None,
            scorer_preset="trajectory_only",
            score_weights={"trajectory": 1},
            offline=True,
        )


# --- resolution: preset choice ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (None, "sequential"),
        ("planner", "planner"),
        ("executor", "executor"),
        ("sequential", "sequential"),
        ("testCaseBuilder", "test_case_builder"),
    ],
)
def test_offline_preset_defaults_to_the_modes_then_sequential(mode: Any, expected: str) -> None:
    assert resolve_scoring_plan([case()], mode=mode, offline=True).preset == expected


def test_offline_refuses_trajectory_only_with_a_mode() -> None:
    with pytest.raises(SpecValueError, match="trajectory_only' is valid only when mode is omitted"):
        resolve_scoring_plan(
            [case()], mode="planner", scorer_preset="trajectory_only", offline=True
        )


def test_offline_refuses_a_preset_contradicting_the_mode() -> None:
    with pytest.raises(
        SpecValueError, match="mode 'planner' conflicts with scorerPreset 'executor'"
    ):
        resolve_scoring_plan([case()], mode="planner", scorer_preset="executor", offline=True)


def test_runs_allow_another_non_specialist_preset_than_the_modes() -> None:
    plan = resolve_scoring_plan([case()], mode="sequential", scorer_preset="planner")
    assert plan.preset == "planner"


@pytest.mark.parametrize(
    ("mode", "preset"), [("specialist", "sequential"), ("sequential", "specialist")]
)
def test_runs_pair_the_specialist_preset_with_the_specialist_mode(mode: Any, preset: Any) -> None:
    with pytest.raises(SpecValueError, match="conflicts with scorerPreset"):
        resolve_scoring_plan([case(final_response=FINAL)], mode=mode, scorer_preset=preset)


def test_runs_refuse_offline_only_presets_and_modes() -> None:
    with pytest.raises(SpecValueError, match="'trajectory_only' is only available offline"):
        resolve_scoring_plan([case()], mode="sequential", scorer_preset="trajectory_only")
    with pytest.raises(SpecValueError, match="mode 'testCaseBuilder' is only available offline"):
        resolve_scoring_plan([case()], mode="testCaseBuilder")
    relaxed = resolve_scoring_plan([case()], mode="testCaseBuilder", check_runtime_support=False)
    assert relaxed.preset == "test_case_builder"


def test_runs_need_a_mode_and_names_must_be_known() -> None:
    with pytest.raises(SpecValueError, match="needs a mode"):
        resolve_scoring_plan([case()], mode=None)
    with pytest.raises(SpecValueError, match="unknown scorer preset 'nope'"):
        resolve_scoring_plan([case()], mode="sequential", scorer_preset="nope")  # type: ignore[arg-type]
    with pytest.raises(SpecValueError, match="unknown eval mode 'chat'"):
        resolve_scoring_plan([case()], mode="chat")  # type: ignore[arg-type]


# --- per-case evidence --------------------------------------------------------------------------


def test_case_weights_keep_action_scorers_only_with_a_non_empty_bucket() -> None:
    plan = resolve_scoring_plan([case()], mode="sequential")
    assert plan.case_weights(case(expected_actions=PLANNED)) == {
        "trajectory": pytest.approx(2 / 3),
        "planned_actions": pytest.approx(1 / 3),
    }
    assert plan.case_weights(case(expected_actions=EXECUTED)) == {
        "trajectory": pytest.approx(2 / 3),
        "executed_actions": pytest.approx(1 / 3),
    }
    assert plan.case_weights(case()) == {"trajectory": 1.0}


def test_case_weights_keep_final_response_only_when_authored() -> None:
    plan = resolve_scoring_plan([case(final_response=FINAL)], mode="planner")
    assert plan.case_weights(case(final_response=FINAL)) == {
        "trajectory": 0.5,
        "final_response": 0.5,
    }
    assert plan.case_weights(case()) == {"trajectory": 1.0}


def test_executor_trajectory_default_drops_trajectory_for_cases_without_one() -> None:
    with_trajectory = case("a", expected_trajectory=["executePlan"], expected_actions=EXECUTED)
    without = case("b", expected_actions=EXECUTED)
    plan = resolve_scoring_plan([with_trajectory, without], mode="executor")
    assert plan.executor_trajectory_default is True
    assert plan.case_weights(with_trajectory) == pytest.approx(
        {"trajectory": 0.2, "executed_actions": 0.8}
    )
    assert plan.case_weights(without) == {"executed_actions": 1.0}


def test_explicit_weights_keep_trajectory_without_an_expected_trajectory() -> None:
    plan = resolve_scoring_plan(
        [case()], mode="executor", score_weights={"trajectory": 1, "executed_actions": 1}
    )
    assert plan.case_weights(case()) == {"trajectory": 1.0}


def test_case_with_no_evidence_falls_back_to_the_weights_without_trajectory() -> None:
    plan = resolve_scoring_plan(
        [case()], mode="sequential", score_weights={"planned_actions": 1, "executed_actions": 3}
    )
    assert plan.case_weights(case()) == {"planned_actions": 0.25, "executed_actions": 0.75}


def test_offline_plans_always_keep_the_trajectory_scorer() -> None:
    with_trajectory = case("a", expected_trajectory=["executePlan"], expected_actions=EXECUTED)
    without = case("b", expected_actions=EXECUTED)
    plan = resolve_scoring_plan([with_trajectory, without], mode="executor", offline=True)
    assert plan.case_weights(without) == pytest.approx({"trajectory": 0.2, "executed_actions": 0.8})
