"""Final-response evaluation: response scorers, the authored eval and judge verdicts.

Wire shapes::

    ResponseScorer     {"id", "method", "weight", "required", "instructions",
                        "referenceResponse", "rubric", "context", "expected", "text",
                        "pattern", "caseSensitive"}  (every key present, null when unused)
    FinalResponseEval  {"scorers": [...], "passThreshold"}
    JudgeVerdict       {"passed", "selected_rubric_score", "reason"}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import AliasChoices, Field, field_validator, model_validator

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.evals._common import (
    JsonValue,
    Number,
    ResponseScorerMethod,
    check_distinct,
)

__all__ = [
    "JUDGE_VERDICTS_EXTRA_KEY",
    "FinalResponseEval",
    "JudgeVerdict",
    "ResponseScorer",
    "define_final_response_eval",
    "final_response_judge_verdicts_extra",
]

#: The ``RawSampleOutput.extra`` key holding precomputed judge verdicts by scorer id.
JUDGE_VERDICTS_EXTRA_KEY = "finalResponseJudgeVerdicts"

# Fields each method takes besides id/method/required/weight; the first one is mandatory.
_METHOD_FIELDS: dict[str, tuple[str, ...]] = {
    "exact": ("expected",),
    "contains": ("text", "case_sensitive"),
    "regex": ("pattern",),
    "judge": ("instructions", "reference_response", "rubric", "context"),
}
_METHOD_SPECIFIC = frozenset(name for names in _METHOD_FIELDS.values() for name in names)


class ResponseScorer(WireModel):
    """One scorer of the final response; build it with the ``exact``/``contains``/``regex``/
    ``judge`` class methods.

    Deterministic methods score 1.0 or 0.0: ``exact`` compares the whole string (no trimming),
    ``contains`` looks for a substring (lower-cased when not case-sensitive), ``regex`` searches
    with Python's :mod:`re`. A ``judge`` scorer is scored by the eval runner with a live model
    (with an offline interpreter it fails closed). ``weight`` is positive and finite; a
    ``required`` scorer that fails fails the whole final-response eval. The wire dict always
    holds all twelve keys, ``null`` for fields the method does not use; ``caseSensitive``
    defaults to ``true`` and only ``contains`` reads it. Values for another method's fields are
    rejected.
    """

    id: str
    method: ResponseScorerMethod
    weight: float = 1.0
    required: bool = False
    instructions: str | None = None
    reference_response: str | None = None
    rubric: dict[int, str] | None = None
    context: JsonValue = None
    expected: str | None = None
    text: str | None = None
    pattern: str | None = None
    case_sensitive: bool = True

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("response scorer id must be non-empty")
        return value

    @field_validator("case_sensitive", mode="before")
    @classmethod
    def _default_case_sensitive(cls, value: Any) -> Any:
        return True if value is None else value

    @field_validator("weight", mode="before")
    @classmethod
    def _check_weight(cls, weight: Any) -> Any:
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValueError(
                f"response scorer weight must be a number, got {type(weight).__name__} {weight!r}"
            )
        if weight <= 0 or not math.isfinite(weight):
            raise ValueError(f"response scorer weight must be positive and finite, got {weight!r}")
        return weight

    @field_validator("rubric")
    @classmethod
    def _check_rubric(cls, rubric: dict[int, str] | None) -> dict[int, str] | None:
        if rubric is None:
            return None
        if set(rubric) != {0, 1}:
            raise ValueError(
                f"judge response scorer rubric must define exactly 0 and 1, got {sorted(rubric)!r}"
            )
        if any(not description.strip() for description in rubric.values()):
            raise ValueError("judge response scorer rubric descriptions must be non-empty")
        return rubric

    @model_validator(mode="after")
    def _check_method_fields(self) -> ResponseScorer:
        own = _METHOD_FIELDS[self.method]
        # case_sensitive always has a value (default true); only false counts as set.
        unset = {name: None for name in _METHOD_SPECIFIC} | {"case_sensitive": True}
        foreign = sorted(
            name for name in _METHOD_SPECIFIC - set(own) if getattr(self, name) != unset[name]
        )
        if foreign:
            raise ValueError(
                f"response scorer {self.id!r} (method {self.method!r}) does not take "
                f"{', '.join(foreign)}; {self.method} takes: {', '.join(own)}"
            )
        problem = _METHOD_CHECKS[self.method](self)
        if problem:
            raise ValueError(problem)
        return self

    @classmethod
    def exact(
        cls, id: str, expected: str, *, required: bool = False, weight: float = 1.0
    ) -> ResponseScorer:
        """Score 1.0 when the final response equals ``expected`` exactly (no trimming).

        Args:
            id: Scorer id, unique within its final-response eval.
            expected: The whole expected response.
            required: Fail the final-response eval when this scorer fails.
            weight: Share of the final-response score (finite, > 0).

        Returns:
            The frozen scorer.

        Raises:
            pydantic.ValidationError: blank id, non-string ``expected`` or a bad weight.
        """
        return cls(id=id, method="exact", expected=expected, required=required, weight=weight)

    @classmethod
    def contains(
        cls,
        id: str,
        text: str,
        case_sensitive: bool = True,
        *,
        required: bool = False,
        weight: float = 1.0,
    ) -> ResponseScorer:
        """Score 1.0 when the final response contains ``text``.

        Args:
            id: Scorer id, unique within its final-response eval.
            text: The required substring (non-empty).
            case_sensitive: Compare as-is (default) or lower-cased.
            required: Fail the final-response eval when this scorer fails.
            weight: Share of the final-response score (finite, > 0).

        Returns:
            The frozen scorer.

        Raises:
            pydantic.ValidationError: blank id, empty text or a bad weight.
        """
        return cls(
            id=id,
            method="contains",
            text=text,
            case_sensitive=case_sensitive,
            required=required,
            weight=weight,
        )

    @classmethod
    def regex(
        cls, id: str, pattern: str, *, required: bool = False, weight: float = 1.0
    ) -> ResponseScorer:
        """Score 1.0 when ``pattern`` is found anywhere in the final response (``re.search``).

        Args:
            id: Scorer id, unique within its final-response eval.
            pattern: A Python regular expression; it must compile.
            required: Fail the final-response eval when this scorer fails.
            weight: Share of the final-response score (finite, > 0).

        Returns:
            The frozen scorer.

        Raises:
            pydantic.ValidationError: blank id, a pattern that does not compile or a bad weight.
        """
        return cls(id=id, method="regex", pattern=pattern, required=required, weight=weight)

    @classmethod
    def judge(
        cls,
        id: str,
        instructions: str,
        reference_response: str | None = None,
        rubric: Mapping[int, str] | None = None,
        context: Any = None,
        required: bool = False,
        weight: float = 1.0,
    ) -> ResponseScorer:
        """Let a model judge the final response against ``instructions`` (needs a live model).

        Args:
            id: Scorer id, unique within its final-response eval.
            instructions: What the response must do (non-blank).
            reference_response: Optional example of a good response (non-blank when given).
            rubric: Optional ``{0: "...", 1: "..."}`` (exactly these keys, non-blank texts);
                the runner defaults to 0 = fails the instructions, 1 = satisfies them.
            context: Optional JSON context shown to the judge.
            required: Fail the final-response eval when this scorer fails.
            weight: Share of the final-response score (finite, > 0).

        Returns:
            The frozen scorer.

        Raises:
            pydantic.ValidationError: blank texts, a rubric without exactly keys 0 and 1,
                non-JSON context or a bad weight.
        """
        return cls(
            id=id,
            method="judge",
            instructions=instructions,
            reference_response=reference_response,
            rubric=None if rubric is None else dict(rubric),
            context=context,
            required=required,
            weight=weight,
        )


def _exact_problem(scorer: ResponseScorer) -> str | None:
    if scorer.expected is None:
        return "exact response scorer expected text must be provided"
    return None


def _contains_problem(scorer: ResponseScorer) -> str | None:
    if not scorer.text:
        return "contains response scorer text must be non-empty"
    return None


def _regex_problem(scorer: ResponseScorer) -> str | None:
    if not scorer.pattern:
        return "regex response scorer pattern must be non-empty"
    try:
        re.compile(scorer.pattern)
    except re.error as error:
        return (
            f"regex response scorer {scorer.id!r} has an invalid regex {scorer.pattern!r}: {error}"
        )
    return None


def _judge_problem(scorer: ResponseScorer) -> str | None:
    if scorer.instructions is None or not scorer.instructions.strip():
        return "judge response scorer instructions must be non-empty"
    if scorer.reference_response is not None and not scorer.reference_response.strip():
        return "judge response scorer referenceResponse must be non-empty when given"
    return None


_METHOD_CHECKS: dict[str, Callable[[ResponseScorer], str | None]] = {
    "exact": _exact_problem,
    "contains": _contains_problem,
    "regex": _regex_problem,
    "judge": _judge_problem,
}


class FinalResponseEval(WireModel):
    """The authored final-response check of a test case: ``{"scorers", "passThreshold"}``.

    At least one scorer, scorer ids unique, ``pass_threshold`` within [0, 1] (default 1.0).
    The eval passes when the weighted share of passed scorers reaches the threshold and no
    ``required`` scorer failed.
    """

    scorers: list[ResponseScorer]
    pass_threshold: Number = 1.0

    @field_validator("scorers")
    @classmethod
    def _check_scorers(cls, scorers: list[ResponseScorer]) -> list[ResponseScorer]:
        if not scorers:
            raise ValueError("a final-response eval needs at least one scorer, got none")
        check_distinct((s.id for s in scorers), "response scorer ids must be unique")
        return scorers

    @field_validator("pass_threshold")
    @classmethod
    def _check_threshold(cls, threshold: float) -> float:
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(
                f"final response pass_threshold must be between 0 and 1, got {threshold!r}"
            )
        return threshold


_VERDICT_FIELDS = ("passed", "selected_rubric_score", "reason")


class JudgeVerdict(WireModel):
    """A judge's decision for one scorer: ``{"passed", "selected_rubric_score", "reason"}``.

    The wire form keeps the snake_case ``selected_rubric_score`` (the shape a judge answers
    in and the shape of ``extra.finalResponseJudgeVerdicts``); ``selectedRubricScore`` is
    accepted on input too. ``selected_rubric_score`` is 0 or 1 and ``passed`` is true exactly
    when it is 1; when ``passed`` is left out it is derived from the score. ``reason`` is
    stripped and must not be blank.
    """

    passed: bool
    selected_rubric_score: int = Field(
        alias="selected_rubric_score",
        validation_alias=AliasChoices("selected_rubric_score", "selectedRubricScore"),
    )
    reason: str

    def __init__(self, *args: Any, **data: Any) -> None:
        """Build from keywords, or positionally as ``(passed, selected_rubric_score, reason)``."""
        if len(args) > len(_VERDICT_FIELDS):
            raise TypeError(
                f"JudgeVerdict takes at most 3 positional arguments ({len(args)} given)"
            )
        for name, value in zip(_VERDICT_FIELDS, args, strict=False):
            if name in data:
                raise TypeError(f"JudgeVerdict got multiple values for {name!r}")
            data[name] = value
        super().__init__(**data)

    @model_validator(mode="before")
    @classmethod
    def _derive_passed(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "passed" not in data:
            score = data.get("selected_rubric_score", data.get("selectedRubricScore"))
            if score in (0, 1) and not isinstance(score, bool):
                data = {**data, "passed": score == 1}
        return data

    @field_validator("selected_rubric_score", mode="before")
    @classmethod
    def _check_score(cls, score: Any) -> int:
        if isinstance(score, bool) or not isinstance(score, int | float) or score not in (0, 1):
            raise ValueError(f"selected_rubric_score must be 0 or 1, got {score!r}")
        return int(score)

    @field_validator("reason")
    @classmethod
    def _strip_reason(cls, reason: str) -> str:
        if not reason.strip():
            raise ValueError("judge verdict reason must be non-empty")
        return reason.strip()

    @model_validator(mode="after")
    def _check_passed_matches_score(self) -> JudgeVerdict:
        if self.passed != (self.selected_rubric_score == 1):
            raise ValueError(
                "judge verdict passed must be true exactly when selected_rubric_score is 1 "
                f"(got passed={self.passed}, selected_rubric_score={self.selected_rubric_score})"
            )
        return self


def define_final_response_eval(
    *, scorers: Sequence[ResponseScorer | Mapping[str, Any]], pass_threshold: float = 1.0
) -> FinalResponseEval:
    """Define how a test case's final response is scored.

    Args:
        scorers: One or more :class:`ResponseScorer` (or their wire mappings), unique ids.
        pass_threshold: Weighted share of passed scorers needed to pass, within [0, 1].

    Returns:
        The frozen :class:`FinalResponseEval`.

    Raises:
        SpecTypeError: ``scorers`` is not a list of scorers.
        pydantic.ValidationError: no scorer, repeated ids or a threshold outside [0, 1].
    """
    if isinstance(scorers, str | bytes | Mapping) or not isinstance(scorers, Sequence):
        raise SpecTypeError(
            f"scorers must be a list of ResponseScorer, got {type(scorers).__name__}"
        )
    return FinalResponseEval(scorers=list(scorers), pass_threshold=pass_threshold)


def final_response_judge_verdicts_extra(
    verdicts: Mapping[str, JudgeVerdict | Mapping[str, Any]],
) -> dict[str, Any]:
    """Build the ``RawSampleOutput.extra`` entry carrying precomputed judge verdicts.

    Args:
        verdicts: Judge verdict (or its mapping) per judge scorer id.

    Returns:
        ``{"finalResponseJudgeVerdicts": {scorer_id: {"passed", "selected_rubric_score",
        "reason"}}}`` (snake_case inner keys, reasons stripped).

    Raises:
        SpecTypeError: ``verdicts`` is not a mapping.
        SpecValueError: a blank scorer id.
        pydantic.ValidationError: an invalid verdict.
    """
    if not isinstance(verdicts, Mapping):
        raise SpecTypeError(
            "verdicts must be a mapping of scorer id to JudgeVerdict, got "
            f"{type(verdicts).__name__}"
        )
    wire: dict[str, Any] = {}
    for scorer_id, verdict in verdicts.items():
        if not isinstance(scorer_id, str) or not scorer_id.strip():
            raise SpecValueError(
                f"response scorer ids must be non-empty (judge verdict keys), got {scorer_id!r}"
            )
        checked = (
            verdict if isinstance(verdict, JudgeVerdict) else JudgeVerdict.model_validate(verdict)
        )
        wire[scorer_id] = checked.to_wire()
    return {JUDGE_VERDICTS_EXTRA_KEY: wire}
