"""Response scorers, final-response evals and judge verdicts (specs/evals/responses.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.evals import (
    FinalResponseEval,
    JudgeVerdict,
    ResponseScorer,
    define_final_response_eval,
    final_response_judge_verdicts_extra,
)

NULLS: dict[str, Any] = {
    "instructions": None,
    "referenceResponse": None,
    "rubric": None,
    "context": None,
    "expected": None,
    "text": None,
    "pattern": None,
    "caseSensitive": True,
}


def test_exact_scorer_wire_shape_keeps_every_key() -> None:
    assert ResponseScorer.exact("greeting", "Hello!").to_wire() == {
        **NULLS,
        "id": "greeting",
        "method": "exact",
        "required": False,
        "weight": 1.0,
        "expected": "Hello!",
    }


def test_contains_scorer_wire_shape_and_keyword_form() -> None:
    scorer = ResponseScorer.contains(id="mentions_30_days", text="30 days", required=True, weight=2)
    assert scorer.to_wire() == {
        **NULLS,
        "id": "mentions_30_days",
        "method": "contains",
        "required": True,
        "weight": 2.0,
        "text": "30 days",
    }
    assert ResponseScorer.contains("c", "x", case_sensitive=False).case_sensitive is False


def test_regex_scorer_wire_shape() -> None:
    assert ResponseScorer.regex(id="offer", pattern="refunds?").to_wire() == {
        **NULLS,
        "id": "offer",
        "method": "regex",
        "required": False,
        "weight": 1.0,
        "pattern": "refunds?",
    }


def test_judge_scorer_wire_shape_keeps_absent_options_as_null() -> None:
    assert ResponseScorer.judge("polite", "Be polite.").to_wire() == {
        **NULLS,
        "id": "polite",
        "method": "judge",
        "required": False,
        "weight": 1.0,
        "instructions": "Be polite.",
    }
    full = ResponseScorer.judge(
        "polite",
        "Be polite.",
        reference_response="Thank you!",
        rubric={0: "rude", 1: "polite"},
        context={"customer": "vip"},
        required=True,
        weight=0.5,
    )
    assert full.to_wire() == {
        **NULLS,
        "id": "polite",
        "method": "judge",
        "required": True,
        "weight": 0.5,
        "instructions": "Be polite.",
        "referenceResponse": "Thank you!",
        "rubric": {"0": "rude", "1": "polite"},
        "context": {"customer": "vip"},
    }


def test_scorers_round_trip_through_the_wire() -> None:
    scorers = [
        ResponseScorer.exact("e", ""),
        ResponseScorer.contains("c", "x", case_sensitive=False),
        ResponseScorer.regex("r", r"\d+"),
        ResponseScorer.judge("j", "ok", rubric={0: "no", 1: "yes"}, context=[1, "a"]),
    ]
    for scorer in scorers:
        assert ResponseScorer.model_validate(scorer.to_wire()) == scorer


def test_contains_from_a_mapping_is_case_sensitive_by_default() -> None:
    scorer = ResponseScorer.model_validate({"id": "c", "method": "contains", "text": "x"})
    assert scorer.case_sensitive is True


@pytest.mark.parametrize("weight", [0, -1, float("inf"), float("nan")])
def test_scorer_weight_must_be_finite_and_positive(weight: float) -> None:
    with pytest.raises(
        ValidationError,
        match="response scorer weight must be positive and finite",
    ):
        ResponseScorer.exact("e", "x", weight=weight)


def test_scorer_weight_rejects_booleans() -> None:
    with pytest.raises(ValidationError, match="response scorer weight must be a number, got bool"):
        ResponseScorer.exact("e", "x", weight=True)


def test_regex_pattern_must_compile() -> None:
    with pytest.raises(
        ValidationError, match=r"regex response scorer 'r' has an invalid regex '\('"
    ):
        ResponseScorer.regex("r", "(")


def test_scorer_id_must_not_be_blank() -> None:
    with pytest.raises(ValidationError, match="response scorer id must be non-empty"):
        ResponseScorer.exact(" ", "x")


def test_contains_text_must_not_be_empty() -> None:
    with pytest.raises(ValidationError, match="contains response scorer text must be non-empty"):
        ResponseScorer.contains("c", "")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "e", "method": "exact"}, "exact response scorer expected text must be provided"),
        ({"id": "r", "method": "regex"}, "regex response scorer pattern must be non-empty"),
        ({"id": "j", "method": "judge"}, "judge response scorer instructions must be non-empty"),
        ({"id": "c", "method": "contains"}, "contains response scorer text must be non-empty"),
    ],
)
def test_each_method_needs_its_own_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ResponseScorer.model_validate(data)


def test_fields_of_another_method_are_rejected() -> None:
    with pytest.raises(ValidationError, match=r"does not take pattern; exact takes: expected"):
        ResponseScorer.model_validate(
            {"id": "e", "method": "exact", "expected": "x", "pattern": "y"}
        )
    with pytest.raises(ValidationError, match="does not take case_sensitive"):
        ResponseScorer.model_validate(
            {"id": "e", "method": "exact", "expected": "x", "caseSensitive": False}
        )


def test_unknown_method_is_rejected() -> None:
    with pytest.raises(ValidationError, match="'judge', 'exact', 'contains' or 'regex'"):
        ResponseScorer.model_validate({"id": "x", "method": "fuzzy"})


def test_judge_rubric_needs_exactly_keys_0_and_1() -> None:
    assert ResponseScorer.model_validate(
        {"id": "j", "method": "judge", "instructions": "i", "rubric": {"0": "a", "1": "b"}}
    ).rubric == {0: "a", 1: "b"}
    with pytest.raises(ValidationError, match=r"rubric must define exactly 0 and 1, got \[0\]"):
        ResponseScorer.judge("j", "i", rubric={0: "a"})
    with pytest.raises(ValidationError, match=r"exactly 0 and 1, got \[0, 1, 2\]"):
        ResponseScorer.judge("j", "i", rubric={0: "a", 1: "b", 2: "c"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"instructions": " "}, "judge response scorer instructions must be non-empty"),
        (
            {"instructions": "i", "reference_response": ""},
            "judge response scorer referenceResponse must be non-empty",
        ),
        (
            {"instructions": "i", "rubric": {0: "a", 1: " "}},
            "judge response scorer rubric descriptions must be non-empty",
        ),
    ],
)
def test_judge_texts_must_not_be_blank(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ResponseScorer.judge("j", **kwargs)


def test_judge_context_must_be_json() -> None:
    with pytest.raises(ValidationError, match="context must be JSON-compatible"):
        ResponseScorer.judge("j", "i", context=object())


def test_define_final_response_eval_wire_shape() -> None:
    evaluation = define_final_response_eval(
        scorers=[ResponseScorer.contains("c", "30 days")], pass_threshold=0.5
    )
    assert evaluation.to_wire() == {
        "scorers": [
            {
                **NULLS,
                "id": "c",
                "method": "contains",
                "required": False,
                "weight": 1.0,
                "text": "30 days",
                "caseSensitive": True,
            }
        ],
        "passThreshold": 0.5,
    }
    assert define_final_response_eval(scorers=[ResponseScorer.exact("e", "x")]).pass_threshold == 1


def test_define_final_response_eval_needs_a_scorer() -> None:
    with pytest.raises(ValidationError, match="at least one scorer, got none"):
        define_final_response_eval(scorers=[])


def test_define_final_response_eval_needs_unique_scorer_ids() -> None:
    with pytest.raises(ValidationError, match=r"ids must be unique, repeated: \['a'\]"):
        define_final_response_eval(
            scorers=[ResponseScorer.exact("a", "x"), ResponseScorer.regex("a", "y")]
        )


@pytest.mark.parametrize("threshold", [-0.01, 1.01])
def test_define_final_response_eval_threshold_within_0_and_1(threshold: float) -> None:
    with pytest.raises(
        ValidationError, match="final response pass_threshold must be between 0 and 1"
    ):
        define_final_response_eval(
            scorers=[ResponseScorer.exact("a", "x")], pass_threshold=threshold
        )


def test_define_final_response_eval_rejects_a_single_scorer_not_in_a_list() -> None:
    with pytest.raises(SpecTypeError, match="scorers must be a list of ResponseScorer"):
        define_final_response_eval(scorers=ResponseScorer.exact("a", "x"))  # type: ignore[arg-type]


def test_final_response_eval_accepts_wire_mappings_of_scorers() -> None:
    evaluation = FinalResponseEval.model_validate(
        {"scorers": [{"id": "e", "method": "exact", "expected": "x"}], "passThreshold": 1}
    )
    assert evaluation.scorers == [ResponseScorer.exact("e", "x")]


def test_judge_verdict_wire_shape_is_snake_case_and_camel_case_input_is_accepted() -> None:
    verdict = JudgeVerdict.model_validate(
        {"passed": True, "selected_rubric_score": 1, "reason": "fine"}
    )
    assert verdict.to_wire() == {"passed": True, "selected_rubric_score": 1, "reason": "fine"}
    camel = JudgeVerdict.model_validate(
        {"passed": True, "selectedRubricScore": 1, "reason": "fine"}
    )
    assert camel == verdict


def test_judge_verdict_reason_is_stripped_and_must_not_be_blank() -> None:
    verdict = JudgeVerdict(passed=False, selected_rubric_score=0, reason="  too long \n")
    assert verdict.reason == "too long"
    with pytest.raises(ValidationError, match="judge verdict reason must be non-empty"):
        JudgeVerdict(passed=False, selected_rubric_score=0, reason="   ")


def test_judge_verdict_derives_passed_from_the_score() -> None:
    assert JudgeVerdict.model_validate({"selectedRubricScore": 1, "reason": "r"}).passed is True
    assert JudgeVerdict.model_validate({"selectedRubricScore": 0, "reason": "r"}).passed is False


def test_judge_verdict_passed_must_match_the_score() -> None:
    with pytest.raises(
        ValidationError,
        match="judge verdict passed must be true exactly when selected_rubric_score is 1",
    ):
        JudgeVerdict(passed=True, selected_rubric_score=0, reason="r")


def test_judge_verdict_score_is_0_or_1() -> None:
    with pytest.raises(ValidationError, match="selected_rubric_score must be 0 or 1, got 2"):
        JudgeVerdict.model_validate({"passed": True, "selectedRubricScore": 2, "reason": "r"})


def test_final_response_judge_verdicts_extra_wire_shape() -> None:
    extra = final_response_judge_verdicts_extra(
        {
            "polite": JudgeVerdict(passed=True, selected_rubric_score=1, reason="ok"),
            "accurate": {"passed": False, "selected_rubric_score": 0, "reason": "wrong"},
        }
    )
    assert extra == {
        "finalResponseJudgeVerdicts": {
            "polite": {"passed": True, "selected_rubric_score": 1, "reason": "ok"},
            "accurate": {"passed": False, "selected_rubric_score": 0, "reason": "wrong"},
        }
    }


def test_final_response_judge_verdicts_extra_rejects_bad_input() -> None:
    with pytest.raises(SpecTypeError, match="must be a mapping of scorer id"):
        final_response_judge_verdicts_extra([])  # type: ignore[arg-type]
    with pytest.raises(SpecValueError, match="response scorer ids must be non-empty"):
        final_response_judge_verdicts_extra({"": {"selectedRubricScore": 1, "reason": "r"}})
    with pytest.raises(ValidationError):
        final_response_judge_verdicts_extra({"j": {"reason": "no score"}})
