"""Eval config, scorer config and requests, with their enforced bounds (specs/evals/config.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.evals import (
    EvalConfig,
    EvalRequest,
    EvalTestCase,
    ResponseScorer,
    ScorerConfig,
    define_eval_config,
    define_eval_request,
    define_final_response_eval,
    define_final_response_scorer_config,
    define_scorer_preset,
    define_test_case,
    define_trajectory_scorer_config,
)

RUNTIME = SimpleNamespace(resource_id="acme")
FINAL = define_final_response_eval(scorers=[ResponseScorer.contains("c", "30 days")])


def case(case_id: str, **kwargs: Any) -> EvalTestCase:
    return define_test_case(case_id, f"input of {case_id}", **kwargs)


# --- EvalConfig ---------------------------------------------------------------------------


def test_define_eval_config_defaults_wire_dict() -> None:
    assert define_eval_config().to_wire() == {
        "mode": "sequential",
        "targetAgentId": None,
        "testCaseSetId": "",
        "testCaseIds": None,
        "samplesPerCase": 3,
        "passThreshold": 0.7,
        "concurrency": 2,
        "kValues": [1, 3],
        "provider": None,
        "model": None,
        "timeoutPerSampleSecs": 120,
        "tagsFilter": None,
        "aggregationStrategy": "passRate",
        "scoreWeights": None,
        "scorerConfig": None,
        "requestOverrides": None,
    }
    assert EvalConfig() == define_eval_config()


def test_first_eval_config_wire_dict() -> None:
    config = define_eval_config(
        samples_per_case=1, concurrency=1, score_weights={"final_response": 1.0}
    )
    wire = config.to_wire()
    assert wire["samplesPerCase"] == 1
    assert wire["concurrency"] == 1
    assert wire["scoreWeights"] == {"final_response": 1.0}


def test_config_accepts_camel_case_and_snake_case_keys() -> None:
    camel = EvalConfig.model_validate({"samplesPerCase": 5, "kValues": [1, 5]})
    snake = EvalConfig.model_validate({"samples_per_case": 5, "k_values": [1, 5]})
    assert camel == snake


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples_per_case": 0}, "samples_per_case must be between 1 and 100, got 0"),
        ({"samples_per_case": 101}, "samples_per_case must be between 1 and 100, got 101"),
        ({"samples_per_case": True}, "expected an integer, got bool"),
        ({"samples_per_case": 2.5}, "fractional part"),
        ({"concurrency": 0}, "concurrency must be between 1 and 64, got 0"),
        ({"concurrency": 65}, "concurrency must be between 1 and 64, got 65"),
        ({"pass_threshold": -0.1}, r"pass_threshold must be within \[0, 1\], got -0.1"),
        ({"pass_threshold": 1.5}, r"pass_threshold must be within \[0, 1\], got 1.5"),
        ({"pass_threshold": float("nan")}, "expected a finite number"),
        ({"k_values": [0, 1]}, "every k_values entry must be between 1 and 100, got 0"),
        ({"k_values": [1, 101]}, "every k_values entry must be between 1 and 100, got 101"),
        ({"k_values": [1, 3, 1]}, r"k_values must be distinct, repeated: \[1\]"),
        ({"timeout_per_sample_secs": 0}, "timeout_per_sample_secs must be > 0 and <= 86400"),
        ({"timeout_per_sample_secs": -5}, "timeout_per_sample_secs must be > 0"),
        ({"timeout_per_sample_secs": 86401}, "<= 86400, got 86401"),
        ({"test_case_ids": ["a", "a"]}, r"test_case_ids must be distinct, repeated: \['a'\]"),
        ({"test_case_ids": [""]}, "expected a non-blank string"),
        ({"tags_filter": [" "]}, "expected a non-blank string"),
        ({"mode": "specialist"}, "target_agent_id is required when mode is 'specialist'"),
        (
            {"mode": "chat"},
            "'planner', 'executor', 'sequential', 'specialist' or 'testCaseBuilder'",
        ),
        ({"aggregation_strategy": "median"}, "'passRate' or 'meanScore'"),
        ({"score_weights": {"final_response": -1}}, "must be non-negative"),
        ({"provider": ""}, "expected a non-blank string"),
    ],
)
def test_config_bounds_and_values_are_enforced(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        define_eval_config(**kwargs)


def test_config_bounds_accept_their_limits() -> None:
    config = define_eval_config(
        samples_per_case=100,
        concurrency=64,
        pass_threshold=1,
        k_values=[100],
        timeout_per_sample_secs=0.5,
    )
    assert config.samples_per_case == 100
    assert config.timeout_per_sample_secs == 0.5
    assert define_eval_config(samples_per_case=1, concurrency=1, pass_threshold=0).concurrency == 1


def test_k_values_default_and_may_exceed_the_samples() -> None:
    assert define_eval_config(k_values=None).k_values == [1, 3]
    assert EvalConfig.model_validate({"kValues": None}).k_values == [1, 3]
    assert define_eval_config(samples_per_case=1).k_values == [1, 3]
    assert define_eval_config(k_values=[]).k_values == []


def test_specialist_mode_with_a_target_agent_is_accepted() -> None:
    config = define_eval_config(mode="specialist", target_agent_id="policy_answers")
    assert config.to_wire()["targetAgentId"] == "policy_answers"


@pytest.mark.parametrize("name", ["test_case_ids", "k_values", "tags_filter"])
def test_list_arguments_given_as_a_string_are_type_errors(name: str) -> None:
    with pytest.raises(SpecTypeError, match=f"{name} must be a list, got the string"):
        define_eval_config(**{name: "abc"})


def test_request_overrides_live_on_the_model_only() -> None:
    config = EvalConfig.model_validate({"requestOverrides": {"maxTurns": 3}})
    assert config.to_wire()["requestOverrides"] == {"maxTurns": 3}


def test_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="unknown key"):
        EvalConfig.model_validate({"samples": 3})


# --- scorer config --------------------------------------------------------------------------


def test_define_trajectory_scorer_config_trims_and_deduplicates_tool_names() -> None:
    assert define_trajectory_scorer_config() == {
        "trajectory": {"includeSubAgents": False, "ignoreTools": []}
    }
    assert define_trajectory_scorer_config(
        include_sub_agents=True, ignore_tools=[" getPlan", "getPlan ", "glimpseRef"]
    ) == {"trajectory": {"includeSubAgents": True, "ignoreTools": ["getPlan", "glimpseRef"]}}


@pytest.mark.parametrize("tools", [["  "], [""], [3]])
def test_define_trajectory_scorer_config_rejects_blank_tool_names(tools: list[Any]) -> None:
    with pytest.raises(ValidationError, match="ignore_tools entries must be non-blank tool names"):
        define_trajectory_scorer_config(ignore_tools=tools)


def test_define_trajectory_scorer_config_rejects_a_single_string() -> None:
    with pytest.raises(ValidationError, match="ignore_tools must be a list of tool names"):
        define_trajectory_scorer_config(ignore_tools="getPlan")


def test_define_final_response_scorer_config_wire_shape() -> None:
    assert define_final_response_scorer_config() == {"finalResponse": {"includeJudgeTrace": False}}
    assert define_final_response_scorer_config(include_judge_trace=True) == {
        "finalResponse": {"includeJudgeTrace": True}
    }


def test_merged_scorer_configs_round_trip_through_eval_config() -> None:
    merged = {
        **define_trajectory_scorer_config(ignore_tools=["getPlan"]),
        **define_final_response_scorer_config(include_judge_trace=True),
    }
    config = define_eval_config(scorer_config=merged)
    assert config.to_wire()["scorerConfig"] == merged
    only_trajectory = define_eval_config(scorer_config=define_trajectory_scorer_config())
    assert only_trajectory.to_wire()["scorerConfig"] == define_trajectory_scorer_config()


def test_scorer_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="unknown key"):
        define_eval_config(scorer_config={"plannedActions": {}})
    with pytest.raises(ValidationError, match="unknown key"):
        ScorerConfig.model_validate({"trajectory": {"ignore": []}})


def test_scorer_config_sections_default_when_absent() -> None:
    config = ScorerConfig()
    assert config.trajectory_config.include_sub_agents is False
    assert config.final_response_config.include_judge_trace is False


# --- EvalRequest ----------------------------------------------------------------------------


def test_define_eval_request_takes_the_tenant_from_the_runtime() -> None:
    request = define_eval_request(
        RUNTIME, workspace_id="workspace-main", test_cases=[case("a", final_response=FINAL)]
    )
    assert request.tenant_id == "acme"
    wire = request.to_wire()
    assert list(wire) == [
        "tenantId",
        "workspaceId",
        "config",
        "testCases",
        "scorerPreset",
        "scoreWeights",
    ]
    assert wire["tenantId"] == "acme"
    assert wire["workspaceId"] == "workspace-main"
    assert wire["config"] == EvalConfig().to_wire()
    assert wire["testCases"] == [case("a", final_response=FINAL).to_wire()]
    assert wire["scorerPreset"] is None
    assert wire["scoreWeights"] is None
    assert EvalRequest.model_validate(wire) == request


@pytest.mark.parametrize(
    "runtime",
    [
        object(),
        SimpleNamespace(resource_id=""),
        SimpleNamespace(resource_id=None),
        SimpleNamespace(resource_id=7),
    ],
)
def test_define_eval_request_needs_a_usable_tenant(runtime: object) -> None:
    with pytest.raises(SpecValueError, match=r"runtime.resource_id is missing or blank"):
        define_eval_request(runtime, workspace_id="w", test_cases=[case("a")])


def test_define_eval_request_tenant_id_is_used_when_the_runtime_has_none() -> None:
    request = define_eval_request(
        object(), workspace_id="w", test_cases=[case("a")], tenant_id="globex"
    )
    assert request.tenant_id == "globex"
    same = define_eval_request(RUNTIME, workspace_id="w", test_cases=[case("a")], tenant_id="acme")
    assert same.tenant_id == "acme"


def test_define_eval_request_refuses_another_tenant_than_the_runtimes() -> None:
    with pytest.raises(
        SpecValueError, match=r"tenant_id 'globex' does not match runtime.resource_id 'acme'"
    ):
        define_eval_request(RUNTIME, workspace_id="w", test_cases=[case("a")], tenant_id="globex")


def test_define_eval_request_test_cases_must_be_a_list() -> None:
    with pytest.raises(
        SpecTypeError, match="test_cases must be a list of EvalTestCase, got EvalTestCase"
    ):
        define_eval_request(RUNTIME, workspace_id="w", test_cases=case("a"))  # type: ignore[arg-type]


def test_define_eval_request_accepts_wire_mappings() -> None:
    request = define_eval_request(
        RUNTIME,
        workspace_id="w",
        test_cases=[case("a").to_wire()],
        config={"samplesPerCase": 1},
        scorer_preset="planner",
        score_weights={"trajectory": 1},
    )
    assert request.config.samples_per_case == 1
    assert request.test_cases == [case("a")]
    assert request.to_wire()["scorerPreset"] == "planner"
    assert request.to_wire()["scoreWeights"] == {"trajectory": 1.0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workspace_id": " "}, "expected a non-blank string"),
        ({"test_cases": []}, "at least one test case, got none"),
        ({"test_cases": [case("a"), case("a")]}, r"unique within a request, repeated: \['a'\]"),
        (
            {"config": define_eval_config(test_case_ids=["a", "zz"])},
            r"config.test_case_ids names unknown test case\(s\) \['zz'\]",
        ),
        (
            {"config": define_eval_config(tags_filter=["nightly"])},
            r"tags_filter \['nightly'\] matches none",
        ),
        (
            {"test_cases": [case("a", final_response=FINAL)], "scorer_preset": "trajectory_only"},
            "'trajectory_only' cannot score final_response",
        ),
        (
            {
                "scorer_preset": define_scorer_preset("sequential", weights={"trajectory": 1}),
                "score_weights": {"trajectory": 1},
            },
            "weights were given twice",
        ),
        ({"score_weights": {"final_response": 0}}, "at least one score weight must be positive"),
        ({"scorer_preset": "specialist"}, "conflicts with scorerPreset 'specialist'"),
    ],
)
def test_eval_request_validation(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"workspace_id": "w", "test_cases": [case("a"), case("b")]}
    arguments.update(kwargs)
    with pytest.raises(ValidationError, match=message):
        define_eval_request(RUNTIME, **arguments)


def test_eval_request_takes_at_most_500_cases() -> None:
    cases = [case(f"c{i}") for i in range(501)]
    with pytest.raises(ValidationError, match="at most 500 test cases, got 501"):
        define_eval_request(RUNTIME, workspace_id="w", test_cases=cases)


def test_selected_test_cases_apply_ids_and_tags() -> None:
    cases = [
        case("a", tags=["nightly"]),
        case("b", tags=["smoke"]),
        case("c", tags=["nightly", "smoke"]),
        case("d"),
    ]

    def selected(**config: Any) -> list[str]:
        request = define_eval_request(
            RUNTIME, workspace_id="w", test_cases=cases, config=define_eval_config(**config)
        )
        return [c.id for c in request.selected_test_cases()]

    assert selected() == ["a", "b", "c", "d"]
    assert selected(test_case_ids=["d", "a"]) == ["a", "d"]
    assert selected(tags_filter=["smoke"]) == ["b", "c"]
    assert selected(tags_filter=["smoke", "nightly"]) == ["a", "b", "c"]
    assert selected(test_case_ids=["a", "b"], tags_filter=["smoke"]) == ["b"]
    assert selected(test_case_ids=[], tags_filter=[]) == ["a", "b", "c", "d"]


def test_scoring_plan_of_a_request_uses_the_selected_cases() -> None:
    cases = [case("a", final_response=FINAL), case("b", tags=["fast"])]
    request = define_eval_request(
        RUNTIME, workspace_id="w", test_cases=cases, config=define_eval_config(tags_filter=["fast"])
    )
    plan = request.scoring_plan()
    assert plan.preset == "sequential"
    assert "final_response" not in plan.weights


def test_offline_only_presets_pass_construction_but_not_the_run_plan() -> None:
    request = define_eval_request(
        RUNTIME, workspace_id="w", test_cases=[case("a")], scorer_preset="trajectory_only"
    )
    with pytest.raises(SpecValueError, match="only available offline"):
        request.scoring_plan()


# --- property: spec -> wire -> spec -----------------------------------------------------------

_names = st.text(alphabet="abcxyz_-0123456789", min_size=1, max_size=8)
_weights = st.dictionaries(
    st.sampled_from(["trajectory", "planned_actions", "executed_actions", "final_response"]),
    st.floats(min_value=0, max_value=100),
    min_size=1,
).filter(lambda weights: any(value > 0 for value in weights.values()))
_scorer_configs = st.fixed_dictionaries(
    {},
    optional={
        "trajectory": st.fixed_dictionaries(
            {"includeSubAgents": st.booleans(), "ignoreTools": st.lists(_names, unique=True)}
        ),
        "finalResponse": st.fixed_dictionaries({"includeJudgeTrace": st.booleans()}),
    },
)


@st.composite
def _configs(draw: st.DrawFn) -> EvalConfig:
    mode = draw(
        st.sampled_from(["planner", "executor", "sequential", "specialist", "testCaseBuilder"])
    )
    return define_eval_config(
        mode=mode,
        target_agent_id=draw(_names) if mode == "specialist" else draw(st.none() | _names),
        test_case_set_id=draw(st.text(max_size=8)),
        test_case_ids=draw(st.none() | st.lists(_names, unique=True, max_size=4)),
        samples_per_case=draw(st.integers(1, 100)),
        pass_threshold=draw(st.floats(min_value=0, max_value=1)),
        concurrency=draw(st.integers(1, 64)),
        k_values=draw(st.none() | st.lists(st.integers(1, 100), unique=True, max_size=4)),
        provider=draw(st.none() | _names),
        model=draw(st.none() | _names),
        timeout_per_sample_secs=draw(
            st.integers(1, 86_400) | st.floats(min_value=0.001, max_value=86_400)
        ),
        tags_filter=draw(st.none() | st.lists(_names, max_size=3)),
        aggregation_strategy=draw(st.sampled_from(["passRate", "meanScore"])),
        score_weights=draw(st.none() | _weights),
        scorer_config=draw(st.none() | _scorer_configs),
    )


@settings(max_examples=150, deadline=None)
@given(_configs())
def test_eval_config_round_trips_through_its_wire_dict(config: EvalConfig) -> None:
    wire = config.to_wire()
    again = EvalConfig.model_validate(wire)
    assert again == config
    assert again.to_wire() == wire
