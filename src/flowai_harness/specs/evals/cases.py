"""Eval test cases and the raw output of one sample.

Wire shapes::

    EvalTestCase     {"id", "input", "tags", "expectedTrajectory", "trajectoryMode",
                      "structuredGroundTruth", "finalResponse", "sourceThreadId"}
    RawSampleOutput  {"actualTrajectory", "responseText", "extra"}

``EvalTestCase`` reads its ground truth from ``structuredGroundTruth``, ``groundTruth`` or
``expectedActions`` (snake_case too) and always writes ``structuredGroundTruth``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.evals._common import (
    JsonObject,
    NonBlankStr,
    ScorerName,
    TrajectoryMode,
)
from flowai_harness.specs.evals.actions import ActionGroundTruth, GroundTruth, ResolvedAction
from flowai_harness.specs.evals.responses import (
    JUDGE_VERDICTS_EXTRA_KEY,
    FinalResponseEval,
    JudgeVerdict,
    final_response_judge_verdicts_extra,
)

__all__ = ["EvalTestCase", "RawSampleOutput", "define_test_case"]

_GROUND_TRUTH_KEYS = (
    "structuredGroundTruth",
    "structured_ground_truth",
    "groundTruth",
    "ground_truth",
    "expectedActions",
    "expected_actions",
)
_ACTION_BUCKET_KEYS = ("plannedActions", "executedActions", "planned_actions", "executed_actions")


def _ground_truth_input(key: str, value: Any) -> Any:
    """Turn whichever ground-truth input was given into ``GroundTruth`` input."""
    already_wrapped = isinstance(value, Mapping) and value.get("kind") == "structured"
    if already_wrapped or not isinstance(value, Mapping | ActionGroundTruth):
        ground_truth = value
    else:
        # A bare payload: action buckets or free-form data to wrap as structured ground truth.
        ground_truth = {"kind": "structured", "payload": value}
    if key in ("expectedActions", "expected_actions"):
        payload = (
            ground_truth.payload
            if isinstance(ground_truth, GroundTruth)
            else ground_truth.get("payload", ground_truth.get("data"))
            if isinstance(ground_truth, Mapping)
            else None
        )
        if not _looks_like_actions(payload):
            raise ValueError(
                "expected_actions must be action ground truth (kind 'flat' with plannedActions "
                "/ executedActions), e.g. from define_expected_actions(...)"
            )
    return ground_truth


def _looks_like_actions(data: Any) -> bool:
    if isinstance(data, ActionGroundTruth):
        return True
    if not isinstance(data, Mapping):
        return False
    return data.get("kind") == "flat" or (
        "kind" not in data and any(key in data for key in _ACTION_BUCKET_KEYS)
    )


class EvalTestCase(WireModel):
    """One eval test case: an input prompt plus what a good run looks like.

    Fields: non-blank ``id`` and ``input``; ``tags`` (non-blank, de-duplicated, ``None`` ->
    ``[]``); ``expected_trajectory`` (tool names, ``None`` = not authored);
    ``trajectory_mode`` (strict / unordered / subset / superset / subsequence, default
    unordered); ``structured_ground_truth`` (wire ``structuredGroundTruth``; input also as
    ``groundTruth`` or ``expectedActions``, at most one of them); ``final_response``;
    ``source_thread_id`` (provenance only).
    """

    id: NonBlankStr
    input: NonBlankStr
    tags: list[NonBlankStr] = Field(default_factory=list)
    expected_trajectory: list[NonBlankStr] | None = None
    trajectory_mode: TrajectoryMode = "unordered"
    structured_ground_truth: GroundTruth | None = None
    final_response: FinalResponseEval | None = None
    source_thread_id: NonBlankStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _merge_ground_truth_inputs(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        given = [key for key in _GROUND_TRUTH_KEYS if data.get(key) is not None]
        if len(given) > 1:
            raise ValueError(
                "provide either expected_actions or ground_truth, not both (a test case takes "
                f"one ground truth; got {' and '.join(repr(key) for key in given)})"
            )
        merged = {key: value for key, value in data.items() if key not in _GROUND_TRUTH_KEYS}
        if given:
            merged["structured_ground_truth"] = _ground_truth_input(given[0], data[given[0]])
        return merged

    @field_validator("tags", mode="before")
    @classmethod
    def _absent_tags_are_empty(cls, tags: Any) -> Any:
        return [] if tags is None else tags

    @field_validator("tags")
    @classmethod
    def _dedupe_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tags))

    @property
    def actions(self) -> ActionGroundTruth | None:
        """The action ground truth, when the structured ground truth holds one."""
        return (
            None if self.structured_ground_truth is None else self.structured_ground_truth.actions
        )

    def authored_scorers(self) -> tuple[ScorerName, ...]:
        """The scorers this case gives evidence for, in canonical order.

        Returns:
            ``trajectory`` if an expected trajectory is authored (even empty),
            ``planned_actions`` / ``executed_actions`` if that bucket is non-empty,
            ``final_response`` if a final-response eval is authored.
        """
        actions = self.actions
        authored: list[ScorerName] = []
        if self.expected_trajectory is not None:
            authored.append("trajectory")
        if actions is not None and actions.planned_actions:
            authored.append("planned_actions")
        if actions is not None and actions.executed_actions:
            authored.append("executed_actions")
        if self.final_response is not None:
            authored.append("final_response")
        return tuple(authored)


class RawSampleOutput(WireModel):
    """What one sample run produced, as input to the offline scorer.

    ``actual_trajectory`` lists called tool names in order; ``response_text`` is the final
    answer (``None`` or empty = no answer). ``extra`` keys read by the scorers (camelCase only,
    anything else is ignored): ``plannedActions`` and ``resolvedActions`` (lists of
    ``{type, payload}``), ``trajectoryEvents`` (``{kind, name, agent, invocationId, depth}``)
    and ``finalResponseJudgeVerdicts`` (verdict per judge scorer id). Each
    ``resolvedActions`` item is validated as a :class:`ResolvedAction` (other keys rejected)
    and stored in its wire form; the other ``extra`` keys are kept as given.
    """

    actual_trajectory: list[str] = Field(default_factory=list)
    response_text: str | None = None
    extra: JsonObject = Field(default_factory=dict)

    @field_validator("actual_trajectory", "extra", mode="before")
    @classmethod
    def _absent_is_empty(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return {} if info.field_name == "extra" else []
        return value

    @field_validator("extra")
    @classmethod
    def _check_resolved_actions(cls, extra: dict[str, Any]) -> dict[str, Any]:
        if "resolvedActions" not in extra:
            return extra
        items = extra["resolvedActions"]
        if not isinstance(items, list):
            raise ValueError(
                "extra.resolvedActions must be a list of {type, payload} actions, got "
                f"{type(items).__name__}"
            )
        resolved: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                resolved.append(ResolvedAction.model_validate(item).to_wire())
            except ValidationError as error:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in error.errors()
                )
                raise ValueError(
                    f"extra.resolvedActions[{index}] must be a {{type, payload}} action: {problems}"
                ) from None
        return {**extra, "resolvedActions": resolved}

    def with_judge_verdicts(
        self, verdicts: Mapping[str, JudgeVerdict | Mapping[str, Any]]
    ) -> RawSampleOutput:
        """Return a copy whose ``extra.finalResponseJudgeVerdicts`` is ``verdicts``.

        Args:
            verdicts: Judge verdict (or its mapping) per judge scorer id.

        Returns:
            A new :class:`RawSampleOutput`; the other ``extra`` keys are kept.

        Raises:
            SpecTypeError: ``verdicts`` is not a mapping.
            pydantic.ValidationError: an invalid verdict.
        """
        entry = final_response_judge_verdicts_extra(verdicts)
        return self.model_copy(update={"extra": {**self.extra, **entry}})

    @property
    def judge_verdicts(self) -> Any:
        """The raw ``extra.finalResponseJudgeVerdicts`` value (``None`` when absent)."""
        return self.extra.get(JUDGE_VERDICTS_EXTRA_KEY)


def define_test_case(
    id: str,
    input: str,
    *,
    tags: Iterable[str] | None = None,
    expected_trajectory: Iterable[str] | None = None,
    trajectory_mode: TrajectoryMode = "unordered",
    expected_actions: GroundTruth | Mapping[str, Any] | None = None,
    ground_truth: GroundTruth | Mapping[str, Any] | None = None,
    final_response: FinalResponseEval | Mapping[str, Any] | None = None,
    source_thread_id: str | None = None,
) -> EvalTestCase:
    """Define one eval test case.

    Args:
        id: Unique id within the request (non-blank).
        input: The user prompt sent to the entry agent (non-blank).
        tags: Labels used by ``EvalConfig.tags_filter``.
        expected_trajectory: Tool names the run should call; ``[]`` expects no tool call.
        trajectory_mode: strict / unordered / subset / superset / subsequence.
        expected_actions: Action ground truth, e.g. from :func:`define_expected_actions`.
        ground_truth: Structured ground truth, e.g. from :func:`define_ground_truth`; a
            plain mapping is wrapped as its ``data``.
        final_response: A :class:`FinalResponseEval`.
        source_thread_id: Thread the case was drafted from (provenance only).

    Returns:
        The frozen :class:`EvalTestCase`.

    Raises:
        SpecValueError: both ``expected_actions`` and ``ground_truth`` were given.
        SpecTypeError: ``tags`` or ``expected_trajectory`` is a string, not a list.
        pydantic.ValidationError: any other invalid field.
    """
    if expected_actions is not None and ground_truth is not None:
        raise SpecValueError(
            "provide either expected_actions or ground_truth, not both (action ground truth "
            "is itself structured ground truth)"
        )
    for name, value in (("tags", tags), ("expected_trajectory", expected_trajectory)):
        if isinstance(value, str):
            raise SpecTypeError(f"{name} must be a list of strings, got the string {value!r}")
    fields: dict[str, Any] = {
        "id": id,
        "input": input,
        "tags": None if tags is None else list(tags),
        "expected_trajectory": None if expected_trajectory is None else list(expected_trajectory),
        "trajectory_mode": trajectory_mode,
        "final_response": final_response,
        "source_thread_id": source_thread_id,
    }
    if expected_actions is not None:
        fields["expected_actions"] = expected_actions
    if ground_truth is not None:
        fields["ground_truth"] = ground_truth
    return EvalTestCase.model_validate(fields)
