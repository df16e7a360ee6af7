"""Eval test cases and raw sample outputs (specs/evals/cases.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.evals import (
    EvalTestCase,
    GroundTruth,
    JudgeVerdict,
    RawSampleOutput,
    ResponseScorer,
    define_expected_action,
    define_expected_actions,
    define_final_response_eval,
    define_ground_truth,
    define_test_case,
)

PLANNED = define_expected_actions(
    planned_actions=[define_expected_action("price_change", {"productId": "p-001"})],
    payload_match="subset",
)


def test_define_test_case_minimal_wire_dict_keeps_every_key() -> None:
    assert define_test_case("refund-window", "How long do refunds take?").to_wire() == {
        "id": "refund-window",
        "input": "How long do refunds take?",
        "tags": [],
        "expectedTrajectory": None,
        "trajectoryMode": "unordered",
        "structuredGroundTruth": None,
        "finalResponse": None,
        "sourceThreadId": None,
    }


def test_define_test_case_full_wire_dict() -> None:
    case = define_test_case(
        "plan-p-001",
        "Set p-001 to 6.49",
        tags=["planner", "pricing"],
        expected_trajectory=["storePlan"],
        trajectory_mode="subsequence",
        expected_actions=PLANNED,
        final_response=define_final_response_eval(scorers=[ResponseScorer.regex("r", "6\\.49")]),
        source_thread_id="thread_1",
    )
    assert case.to_wire() == {
        "id": "plan-p-001",
        "input": "Set p-001 to 6.49",
        "tags": ["planner", "pricing"],
        "expectedTrajectory": ["storePlan"],
        "trajectoryMode": "subsequence",
        "structuredGroundTruth": {
            "kind": "structured",
            "data": {
                "kind": "flat",
                "plannedActions": [{"type": "price_change", "payload": {"productId": "p-001"}}],
                "executedActions": [],
                "payloadMatch": "subset",
            },
        },
        "finalResponse": {
            "scorers": [
                {
                    "id": "r",
                    "method": "regex",
                    "weight": 1.0,
                    "required": False,
                    "instructions": None,
                    "referenceResponse": None,
                    "rubric": None,
                    "context": None,
                    "expected": None,
                    "text": None,
                    "pattern": "6\\.49",
                    "caseSensitive": True,
                }
            ],
            "passThreshold": 1.0,
        },
        "sourceThreadId": "thread_1",
    }


def test_define_test_case_rejects_both_action_arguments() -> None:
    with pytest.raises(
        SpecValueError, match="provide either expected_actions or ground_truth, not both"
    ):
        define_test_case("t", "i", expected_actions=PLANNED, ground_truth=define_ground_truth({}))


def test_ground_truth_argument_wraps_a_plain_mapping() -> None:
    case = define_test_case("t", "i", ground_truth={"answer": 42})
    assert case.structured_ground_truth == GroundTruth(data={"answer": 42})
    wrapped = define_test_case("t", "i", ground_truth=define_ground_truth({"answer": 42}))
    assert wrapped == case


def test_expected_actions_accepts_a_flat_mapping() -> None:
    case = define_test_case(
        "t",
        "i",
        expected_actions={
            "kind": "flat",
            "plannedActions": [{"type": "a"}],
            "payloadMatch": "subset",
        },
    )
    assert case.actions is not None
    assert case.actions.payload_match == "subset"


def test_expected_actions_must_be_action_ground_truth() -> None:
    with pytest.raises(ValidationError, match="expected_actions must be action ground truth"):
        define_test_case("t", "i", expected_actions=define_ground_truth({"answer": 42}))


@pytest.mark.parametrize(
    "key", ["groundTruth", "ground_truth", "expectedActions", "structuredGroundTruth"]
)
def test_model_reads_every_ground_truth_key_and_writes_structured_ground_truth(key: str) -> None:
    case = EvalTestCase.model_validate({"id": "t", "input": "i", key: PLANNED.to_wire()})
    assert case.structured_ground_truth == PLANNED
    assert "structuredGroundTruth" in case.to_wire()
    assert key == "structuredGroundTruth" or key not in case.to_wire()


def test_model_rejects_two_ground_truth_keys() -> None:
    with pytest.raises(
        ValidationError,
        match=r"expected_actions or ground_truth, not both.*'groundTruth' and 'expectedActions'",
    ):
        EvalTestCase.model_validate(
            {"id": "t", "input": "i", "groundTruth": {"a": 1}, "expectedActions": PLANNED.to_wire()}
        )


def test_tags_default_to_empty_and_are_deduplicated() -> None:
    assert define_test_case("t", "i", tags=None).tags == []
    assert define_test_case("t", "i", tags=["a", "b", "a"]).tags == ["a", "b"]


def test_list_arguments_given_as_a_string_are_type_errors() -> None:
    with pytest.raises(SpecTypeError, match="tags must be a list of strings"):
        define_test_case("t", "i", tags="urgent")
    with pytest.raises(SpecTypeError, match="expected_trajectory must be a list of strings"):
        define_test_case("t", "i", expected_trajectory="storePlan")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"id": " ", "input": "i"},
        {"id": "t", "input": ""},
        {"id": "t", "input": "i", "tags": [""]},
        {"id": "t", "input": "i", "expected_trajectory": ["storePlan", " "]},
        {"id": "t", "input": "i", "source_thread_id": ""},
    ],
)
def test_texts_must_not_be_blank(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="expected a non-blank string"):
        define_test_case(**kwargs)


def test_trajectory_mode_must_be_known() -> None:
    with pytest.raises(
        ValidationError, match="'strict', 'unordered', 'subset', 'superset' or 'subsequence'"
    ):
        define_test_case("t", "i", trajectory_mode="fuzzy")  # type: ignore[arg-type]


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown key"):
        EvalTestCase.model_validate({"id": "t", "input": "i", "expected": "x"})


def test_authored_scorers_follow_the_evidence() -> None:
    assert define_test_case("t", "i").authored_scorers() == ()
    assert define_test_case("t", "i", expected_trajectory=[]).authored_scorers() == ("trajectory",)
    both = define_expected_actions(
        planned_actions=[define_expected_action("a")],
        executed_actions=[define_expected_action("a")],
    )
    final = define_final_response_eval(scorers=[ResponseScorer.exact("e", "x")])
    case = define_test_case("t", "i", expected_actions=both, final_response=final)
    assert case.authored_scorers() == ("planned_actions", "executed_actions", "final_response")
    free_form = define_test_case("t", "i", ground_truth={"answer": 1})
    assert free_form.authored_scorers() == ()


def test_raw_sample_output_defaults_and_wire_shape() -> None:
    assert RawSampleOutput().to_wire() == {
        "actualTrajectory": [],
        "responseText": None,
        "extra": {},
    }
    output = RawSampleOutput(
        actual_trajectory=["storePlan"], response_text="done", extra={"plannedActions": []}
    )
    assert output.to_wire() == {
        "actualTrajectory": ["storePlan"],
        "responseText": "done",
        "extra": {"plannedActions": []},
    }
    assert RawSampleOutput.model_validate(output.to_wire()) == output


def test_raw_sample_output_extra_must_be_a_json_object() -> None:
    with pytest.raises(ValidationError, match="extra must be a JSON object"):
        RawSampleOutput.model_validate({"extra": [1]})
    with pytest.raises(ValidationError, match=r"extra.when must be JSON-compatible"):
        RawSampleOutput.model_validate({"extra": {"when": object()}})


def test_with_judge_verdicts_sets_the_extra_key_and_keeps_the_rest() -> None:
    output = RawSampleOutput(extra={"plannedActions": [], "finalResponseJudgeVerdicts": {"old": 1}})
    updated = output.with_judge_verdicts(
        {"polite": JudgeVerdict(passed=False, selected_rubric_score=0, reason="rude")}
    )
    assert updated.extra == {
        "plannedActions": [],
        "finalResponseJudgeVerdicts": {
            "polite": {"passed": False, "selected_rubric_score": 0, "reason": "rude"}
        },
    }
    assert output.extra["finalResponseJudgeVerdicts"] == {"old": 1}
    assert updated.judge_verdicts == updated.extra["finalResponseJudgeVerdicts"]


# --- property: spec -> wire -> spec -----------------------------------------------------------

_names = st.text(alphabet="abcxyz_-0123456789", min_size=1, max_size=8)
_texts = st.text(min_size=1, max_size=12).filter(lambda text: bool(text.strip()))
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5).filter(lambda k: k != "kind"), inner, max_size=3)
    ),
    max_leaves=8,
)
_actions = st.lists(st.builds(define_expected_action, _names, _json), max_size=3)
_scorers = st.one_of(
    st.builds(ResponseScorer.exact, _names, st.text(max_size=10)),
    st.builds(ResponseScorer.contains, _names, _texts, st.booleans()),
    st.builds(ResponseScorer.regex, _names, st.sampled_from(["a+", r"\d{2}", "^x$"])),
    st.builds(
        ResponseScorer.judge,
        _names,
        _texts,
        st.none() | _texts,
        st.none() | st.just({0: "no", 1: "yes"}),
        _json,
        st.booleans(),
        st.floats(min_value=0.01, max_value=10),
    ),
)


@st.composite
def _ground_truths(draw: st.DrawFn) -> dict[str, Any]:
    choice = draw(st.sampled_from(["none", "actions", "structured"]))
    if choice == "none":
        return {}
    if choice == "structured":
        data = draw(st.dictionaries(_names.filter(lambda k: k != "kind"), _json, max_size=3))
        return {"ground_truth": define_ground_truth(data)}
    planned, executed = draw(_actions), draw(_actions)
    if not planned and not executed:
        planned = [define_expected_action("fallback")]
    truth = define_expected_actions(
        planned_actions=planned,
        executed_actions=executed,
        payload_match=draw(st.sampled_from(["exact", "subset"])),
    )
    return {"expected_actions": truth}


@st.composite
def _test_cases(draw: st.DrawFn) -> EvalTestCase:
    scorers = draw(st.lists(_scorers, min_size=1, max_size=3, unique_by=lambda s: s.id))
    final = define_final_response_eval(
        scorers=scorers, pass_threshold=draw(st.floats(min_value=0, max_value=1))
    )
    return define_test_case(
        draw(_names),
        draw(_texts),
        tags=draw(st.none() | st.lists(_names, max_size=3)),
        expected_trajectory=draw(st.none() | st.lists(_names, max_size=4)),
        trajectory_mode=draw(
            st.sampled_from(["strict", "unordered", "subset", "superset", "subsequence"])
        ),
        final_response=draw(st.none() | st.just(final)),
        source_thread_id=draw(st.none() | _names),
        **draw(_ground_truths()),
    )


@settings(max_examples=150, deadline=None)
@given(_test_cases())
def test_test_case_round_trips_through_its_wire_dict(case: EvalTestCase) -> None:
    wire = case.to_wire()
    again = EvalTestCase.model_validate(wire)
    assert again == case
    assert again.to_wire() == wire
