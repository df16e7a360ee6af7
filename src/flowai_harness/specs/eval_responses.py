"""Final-response evaluation: response scorers, the authored eval and judge verdicts.

Wire shapes::

    ResponseScorer     {"id", "method", "required", "weight", <method fields>}
                       exact: "expected"; contains: "text", "caseSensitive"; regex: "pattern";
                       judge: "instructions", "referenceResponse"?, "rubric"?, "context"?
    FinalResponseEval  {"scorers": [...], "passThreshold"}
    JudgeVerdict       {"passed", "selectedRubricScore", "reason"}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import field_validator, model_validator

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs._eval_common import (
    JsonValue,
    NonBlankStr,
    Number,
    OptionalKeysWireModel,
    ResponseScorerMethod,
    check_distinct,
    check_unit_interval,
)
from flowai_harness.specs._wire import WireModel

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


class ResponseScorer(OptionalKeysWireModel):
    """One scorer of the final response; build it with the ``exact``/``contains``/``regex``/
    ``judge`` class methods.

    Deterministic methods score 1.0 or 0.0: ``exact`` compares the whole string (no trimming),
    ``contains`` looks for a substring (lower-cased when not case-sensitive), ``regex`` searches
    with Python's :mod:`re`. A ``judge`` scorer needs a live model and is scored by the eval
    runner. ``weight`` is a finite number > 0; a ``required`` scorer that fails fails the
    whole final-response eval. Fields of other methods are rejected; absent optional fields are
    left out of the wire dict.
    """

    _omit_when_none = _METHOD_SPECIFIC

    id: NonBlankStr
    method: ResponseScorerMethod
    required: bool = False
    weight: Number = 1.0
    expected: str | None = None
    text: str | None = None
    case_sensitive: bool | None = None
    pattern: str | None = None
    instructions: NonBlankStr | None = None
    reference_response: NonBlankStr | None = None
    rubric: dict[int, NonBlankStr] | None = None
    context: JsonValue = None

    @model_validator(mode="before")
    @classmethod
    def _contains_is_case_sensitive_by_default(cls, data: Any) -> Any:
        if (
            isinstance(data, Mapping)
            and data.get("method") == "contains"
            and data.get("case_sensitive", data.get("caseSensitive")) is None
        ):
            data = {
                **{k: v for k, v in data.items() if k not in ("caseSensitive", "case_sensitive")},
                "case_sensitive": True,
            }
        return data

    @field_validator("weight")
    @classmethod
    def _check_weight(cls, weight: float) -> float:
        if weight <= 0 or not math.isfinite(weight):
            raise ValueError(f"response scorer weight must be a finite number > 0, got {weight!r}")
        return weight

    @field_validator("rubric")
    @classmethod
    def _check_rubric(cls, rubric: dict[int, str] | None) -> dict[int, str] | None:
        if rubric is not None and set(rubric) != {0, 1}:
            raise ValueError(
                f"judge rubric must have exactly the keys 0 and 1, got {sorted(rubric)!r}"
            )
        return rubric

    @model_validator(mode="after")
    def _check_method_fields(self) -> ResponseScorer:
        own = _METHOD_FIELDS[self.method]
        foreign = sorted(n for n in _METHOD_SPECIFIC - set(own) if getattr(self, n) is not None)
        if foreign:
            raise ValueError(
                f"response scorer {self.id!r} (method {self.method!r}) does not take "
                f"{', '.join(foreign)}; {self.method} takes: {', '.join(own)}"
            )
        if getattr(self, own[0]) is None:
            raise ValueError(f"response scorer {self.id!r} (method {self.method!r}) needs {own[0]}")
        if self.method == "contains" and not self.text:
            raise ValueError(f"response scorer {self.id!r}: contains text must be non-empty")
        if self.method == "regex" and self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(
                    f"response scorer {self.id!r}: pattern {self.pattern!r} does not compile "
                    f"as a regular expression ({error})"
                ) from None
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
        return check_unit_interval(threshold, "pass_threshold")


class JudgeVerdict(WireModel):
    """A judge's decision for one scorer: ``{"passed", "selectedRubricScore", "reason"}``.

    ``selected_rubric_score`` is 0 or 1 and ``passed`` is true exactly when it is 1; when
    ``passed`` is left out it is derived from the score.
    """

    passed: bool
    selected_rubric_score: Literal[0, 1]
    reason: str

    @model_validator(mode="before")
    @classmethod
    def _derive_passed(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "passed" not in data:
            score = data.get("selected_rubric_score", data.get("selectedRubricScore"))
            if score in (0, 1) and not isinstance(score, bool):
                data = {**data, "passed": score == 1}
        return data

    @model_validator(mode="after")
    def _check_passed_matches_score(self) -> JudgeVerdict:
        if self.passed != (self.selected_rubric_score == 1):
            raise ValueError(
                f"judge verdict passed={self.passed} contradicts selected_rubric_score="
                f"{self.selected_rubric_score}; passed is true exactly when the score is 1"
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
        ``{"finalResponseJudgeVerdicts": {scorer_id: verdict_wire_dict}}``.

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
                f"judge verdict keys must be non-blank scorer ids, got {scorer_id!r}"
            )
        checked = (
            verdict if isinstance(verdict, JudgeVerdict) else JudgeVerdict.model_validate(verdict)
        )
        wire[scorer_id] = checked.to_wire()
    return {JUDGE_VERDICTS_EXTRA_KEY: wire}
