"""Eval configuration and requests, with the bounds our runner enforces (see docs/decisions.md).

Wire shapes::

    EvalConfig   {"mode", "targetAgentId", "testCaseSetId", "testCaseIds", "samplesPerCase",
                  "passThreshold", "concurrency", "kValues", "provider", "model",
                  "timeoutPerSampleSecs", "tagsFilter", "aggregationStrategy", "scoreWeights",
                  "scorerConfig", "requestOverrides"}
    EvalRequest  {"tenantId", "workspaceId", "config", "testCases", "scorerPreset",
                  "scoreWeights"}
    scorerConfig {"trajectory"?: {"includeSubAgents", "ignoreTools"},
                  "finalResponse"?: {"includeJudgeTrace"}}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.evals._common import (
    AggregationStrategy,
    EvalMode,
    Integer,
    JsonObject,
    NonBlankStr,
    Number,
    OptionalKeysWireModel,
    ScorerPresetName,
    check_distinct,
    check_number,
    check_unit_interval,
)
from flowai_harness.specs.evals.cases import EvalTestCase
from flowai_harness.specs.evals.presets import (
    ScorerPreset,
    ScoreWeights,
    ScoringPlan,
    resolve_scoring_plan,
)

__all__ = [
    "MAX_CONCURRENCY",
    "MAX_K",
    "MAX_SAMPLES_PER_CASE",
    "MAX_TEST_CASES",
    "MAX_TIMEOUT_PER_SAMPLE_SECS",
    "EvalConfig",
    "EvalRequest",
    "FinalResponseScorerConfig",
    "ScorerConfig",
    "TrajectoryScorerConfig",
    "define_eval_config",
    "define_eval_request",
    "define_final_response_scorer_config",
    "define_trajectory_scorer_config",
]

MAX_SAMPLES_PER_CASE = 100
MAX_CONCURRENCY = 64
MAX_K = 100
MAX_TIMEOUT_PER_SAMPLE_SECS = 86_400
MAX_TEST_CASES = 500

#: Seconds as given: an int stays an int on the wire (``120``), a float stays a float.
Seconds = Annotated[int | float, BeforeValidator(check_number)]


class TrajectoryScorerConfig(WireModel):
    """Trajectory scorer options: ``{"includeSubAgents", "ignoreTools"}``.

    ``include_sub_agents`` also counts tools called by sub-agents (depth > 1) when the sample
    carries ``trajectoryEvents``; ``ignore_tools`` names tools never counted (trimmed,
    non-blank, de-duplicated).
    """

    include_sub_agents: bool = False
    ignore_tools: list[str] = Field(default_factory=list)

    @field_validator("ignore_tools", mode="before")
    @classmethod
    def _clean_tool_names(cls, names: Any) -> Any:
        if names is None:
            return []
        if isinstance(names, str) or not isinstance(names, Iterable):
            raise ValueError(f"ignore_tools must be a list of tool names, got {names!r}")
        cleaned: list[str] = []
        for name in names:
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"ignore_tools entries must be non-blank tool names, got {name!r}")
            cleaned.append(name.strip())
        return list(dict.fromkeys(cleaned))


class FinalResponseScorerConfig(WireModel):
    """Final-response scorer options: ``{"includeJudgeTrace"}`` (keep judge prompt/response)."""

    include_judge_trace: bool = False


class ScorerConfig(OptionalKeysWireModel):
    """Per-scorer options: ``{"trajectory"?, "finalResponse"?}``; absent sections are omitted.

    Build the mapping by merging :func:`define_trajectory_scorer_config` and
    :func:`define_final_response_scorer_config`; unknown keys are rejected.
    """

    _omit_when_none = frozenset({"trajectory", "final_response"})

    trajectory: TrajectoryScorerConfig | None = None
    final_response: FinalResponseScorerConfig | None = None

    @property
    def trajectory_config(self) -> TrajectoryScorerConfig:
        """The trajectory options, defaults when absent."""
        return self.trajectory or TrajectoryScorerConfig()

    @property
    def final_response_config(self) -> FinalResponseScorerConfig:
        """The final-response options, defaults when absent."""
        return self.final_response or FinalResponseScorerConfig()


def _bounded_int(value: int, field: str, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"{field} must be between {low} and {high}, got {value}")
    return value


class EvalConfig(WireModel):
    """How an eval runs and is scored.

    Bounds (enforced; the reference runner carried them without checking):
    ``samples_per_case`` 1..=100, ``concurrency`` 1..=64, ``pass_threshold`` within [0, 1],
    ``k_values`` distinct integers 1..=100 (``None`` -> ``[1, 3]``; k may exceed
    ``samples_per_case``, the unbiased pass@k is then null), ``timeout_per_sample_secs`` > 0
    and <= 86400. ``test_case_ids`` are distinct; ``tags_filter`` and ``test_case_ids`` select
    the request's cases (see :meth:`EvalRequest.selected_test_cases`). Mode ``specialist``
    needs ``target_agent_id``.
    """

    mode: EvalMode = "sequential"
    target_agent_id: NonBlankStr | None = None
    test_case_set_id: str = ""
    test_case_ids: list[NonBlankStr] | None = None
    samples_per_case: Integer = 3
    pass_threshold: Number = 0.7
    concurrency: Integer = 2
    k_values: list[Integer] = Field(default_factory=lambda: [1, 3])
    provider: NonBlankStr | None = None
    model: NonBlankStr | None = None
    timeout_per_sample_secs: Seconds = 120
    tags_filter: list[NonBlankStr] | None = None
    aggregation_strategy: AggregationStrategy = "passRate"
    score_weights: ScoreWeights | None = None
    scorer_config: ScorerConfig | None = None
    request_overrides: JsonObject | None = None

    @field_validator("samples_per_case")
    @classmethod
    def _check_samples(cls, value: int) -> int:
        return _bounded_int(value, "samples_per_case", 1, MAX_SAMPLES_PER_CASE)

    @field_validator("concurrency")
    @classmethod
    def _check_concurrency(cls, value: int) -> int:
        return _bounded_int(value, "concurrency", 1, MAX_CONCURRENCY)

    @field_validator("pass_threshold")
    @classmethod
    def _check_threshold(cls, value: float) -> float:
        return check_unit_interval(value, "pass_threshold")

    @field_validator("k_values", mode="before")
    @classmethod
    def _default_k_values(cls, value: Any) -> Any:
        return [1, 3] if value is None else value

    @field_validator("k_values")
    @classmethod
    def _check_k_values(cls, values: list[int]) -> list[int]:
        for k in values:
            _bounded_int(k, "every k_values entry", 1, MAX_K)
        check_distinct(values, "k_values must be distinct")
        return values

    @field_validator("timeout_per_sample_secs")
    @classmethod
    def _check_timeout(cls, value: float) -> float:
        if not 0 < value <= MAX_TIMEOUT_PER_SAMPLE_SECS:
            raise ValueError(
                f"timeout_per_sample_secs must be > 0 and <= {MAX_TIMEOUT_PER_SAMPLE_SECS}, "
                f"got {value!r}"
            )
        return value

    @field_validator("test_case_ids")
    @classmethod
    def _check_ids_distinct(cls, ids: list[str] | None) -> list[str] | None:
        if ids is not None:
            check_distinct(ids, "test_case_ids must be distinct")
        return ids

    @model_validator(mode="after")
    def _specialist_needs_target(self) -> EvalConfig:
        if self.mode == "specialist" and self.target_agent_id is None:
            raise ValueError(
                "target_agent_id is required when mode is 'specialist' (name the specialist "
                "agent to evaluate)"
            )
        return self


class EvalRequest(WireModel):
    """A complete eval request: tenant, workspace, config and test cases.

    Checked on construction: 1..=500 test cases with distinct ids; every id in
    ``config.test_case_ids`` names a case; the filters select at least one case; the scorer
    preset and weights resolve for the selected cases (e.g. ``trajectory_only``
    with a case authoring ``final_response`` is refused).
    """

    tenant_id: NonBlankStr
    workspace_id: NonBlankStr
    config: EvalConfig = Field(default_factory=EvalConfig)
    test_cases: list[EvalTestCase]
    scorer_preset: ScorerPresetName | ScorerPreset | None = None
    score_weights: ScoreWeights | None = None

    @field_validator("test_cases")
    @classmethod
    def _check_cases(cls, cases: list[EvalTestCase]) -> list[EvalTestCase]:
        if not cases:
            raise ValueError("an eval request needs at least one test case, got none")
        if len(cases) > MAX_TEST_CASES:
            raise ValueError(
                f"an eval request takes at most {MAX_TEST_CASES} test cases, got {len(cases)}"
            )
        check_distinct((c.id for c in cases), "test case ids must be unique within a request")
        return cases

    @model_validator(mode="after")
    def _check_selection_and_scoring(self) -> EvalRequest:
        known = {case.id for case in self.test_cases}
        unknown = [i for i in self.config.test_case_ids or () if i not in known]
        if unknown:
            raise ValueError(
                f"config.test_case_ids names unknown test case(s) {unknown}; the request has "
                f"{sorted(known)}"
            )
        selected = self.selected_test_cases()
        if not selected:
            raise ValueError(
                f"config.tags_filter {self.config.tags_filter} matches none of the selected "
                "test cases"
            )
        self._resolve(selected, check_runtime_support=False)
        return self

    def selected_test_cases(self) -> list[EvalTestCase]:
        """The cases this request evaluates, in request order.

        A case is kept when ``config.test_case_ids`` is unset or empty or lists its id, and
        ``config.tags_filter`` is unset or empty or shares at least one tag with it.

        Returns:
            The selected :class:`EvalTestCase` list.
        """
        ids = set(self.config.test_case_ids or ())
        tags = set(self.config.tags_filter or ())
        return [
            case
            for case in self.test_cases
            if (not ids or case.id in ids) and (not tags or tags.intersection(case.tags))
        ]

    def scoring_plan(self) -> ScoringPlan:
        """Resolve the preset and weights for a run of this request.

        Returns:
            The :class:`ScoringPlan` for the selected cases.

        Raises:
            SpecValueError: the request uses an offline-only preset or mode, or its weights
                do not resolve.
        """
        return self._resolve(self.selected_test_cases(), check_runtime_support=True)

    def _resolve(
        self, cases: Sequence[EvalTestCase], *, check_runtime_support: bool
    ) -> ScoringPlan:
        return resolve_scoring_plan(
            cases,
            mode=self.config.mode,
            scorer_preset=self.scorer_preset,
            score_weights=self.score_weights,
            config_score_weights=self.config.score_weights,
            check_runtime_support=check_runtime_support,
        )


def define_trajectory_scorer_config(
    *, include_sub_agents: bool = False, ignore_tools: Iterable[str] | None = None
) -> dict[str, Any]:
    """Trajectory scorer options, to merge into ``scorer_config``.

    Args:
        include_sub_agents: Count tools called by sub-agents too.
        ignore_tools: Tool names never counted (trimmed, non-blank, de-duplicated).

    Returns:
        ``{"trajectory": {"includeSubAgents": bool, "ignoreTools": [str]}}``.

    Raises:
        pydantic.ValidationError: a blank or non-string tool name.
    """
    config = TrajectoryScorerConfig(
        include_sub_agents=include_sub_agents,
        ignore_tools=ignore_tools,
    )
    return {"trajectory": config.to_wire()}


def define_final_response_scorer_config(*, include_judge_trace: bool = False) -> dict[str, Any]:
    """Final-response scorer options, to merge into ``scorer_config``.

    Args:
        include_judge_trace: Keep each judge's prompt and response in the sample details.

    Returns:
        ``{"finalResponse": {"includeJudgeTrace": bool}}``.
    """
    config = FinalResponseScorerConfig(include_judge_trace=include_judge_trace)
    return {"finalResponse": config.to_wire()}


def define_eval_config(
    *,
    mode: EvalMode = "sequential",
    target_agent_id: str | None = None,
    test_case_set_id: str = "",
    test_case_ids: Iterable[str] | None = None,
    samples_per_case: int = 3,
    pass_threshold: float = 0.7,
    concurrency: int = 2,
    k_values: Iterable[int] | None = None,
    provider: str | None = None,
    model: str | None = None,
    timeout_per_sample_secs: float = 120,
    tags_filter: Iterable[str] | None = None,
    aggregation_strategy: AggregationStrategy = "passRate",
    score_weights: ScoreWeights | Mapping[str, float] | None = None,
    scorer_config: ScorerConfig | Mapping[str, Any] | None = None,
) -> EvalConfig:
    """Define how an eval runs and is scored.

    Args:
        mode: planner, executor, sequential (coordinator), specialist or testCaseBuilder.
        target_agent_id: The specialist to evaluate (required for mode ``specialist``).
        test_case_set_id: Free label of the case set.
        test_case_ids: Run only these cases (distinct ids present in the request).
        samples_per_case: Runs per case, 1..=100.
        pass_threshold: Score a sample or case needs to pass, within [0, 1].
        concurrency: Samples of one case run at once, 1..=64.
        k_values: k of the pass@k estimates, distinct, 1..=100 (default ``[1, 3]``).
        provider: Judge model provider (with ``model``).
        model: Judge model.
        timeout_per_sample_secs: Bound of each sample run and judge call, > 0, <= 86400.
        tags_filter: Run only cases sharing at least one of these tags.
        aggregation_strategy: ``passRate`` or ``meanScore``.
        score_weights: Scorer weights (see :class:`ScoreWeights`).
        scorer_config: Merged output of the ``define_*_scorer_config`` helpers.

    Returns:
        The frozen :class:`EvalConfig`.

    Raises:
        SpecTypeError: a list argument was given as a single string.
        pydantic.ValidationError: a value outside its bounds or an unknown mode/strategy.
    """
    lists = {"test_case_ids": test_case_ids, "k_values": k_values, "tags_filter": tags_filter}
    for name, value in lists.items():
        if isinstance(value, str):
            raise SpecTypeError(f"{name} must be a list, got the string {value!r}")
    return EvalConfig.model_validate(
        {
            "mode": mode,
            "target_agent_id": target_agent_id,
            "test_case_set_id": test_case_set_id,
            "test_case_ids": None if test_case_ids is None else list(test_case_ids),
            "samples_per_case": samples_per_case,
            "pass_threshold": pass_threshold,
            "concurrency": concurrency,
            "k_values": None if k_values is None else list(k_values),
            "provider": provider,
            "model": model,
            "timeout_per_sample_secs": timeout_per_sample_secs,
            "tags_filter": None if tags_filter is None else list(tags_filter),
            "aggregation_strategy": aggregation_strategy,
            "score_weights": score_weights,
            "scorer_config": scorer_config,
        }
    )


def define_eval_request(
    runtime: Any,
    *,
    workspace_id: str,
    test_cases: Iterable[EvalTestCase | Mapping[str, Any]],
    config: EvalConfig | Mapping[str, Any] | None = None,
    scorer_preset: ScorerPresetName | ScorerPreset | None = None,
    score_weights: ScoreWeights | Mapping[str, float] | None = None,
    tenant_id: str | None = None,
) -> EvalRequest:
    """Build an eval request for ``runtime``'s tenant.

    Args:
        runtime: Any object with a ``resource_id`` (the tenant), e.g. a ``Runtime``.
        workspace_id: Workspace the eval belongs to (non-blank).
        test_cases: The cases (models or their wire mappings).
        config: An :class:`EvalConfig` (defaults when ``None``).
        scorer_preset: A preset name or :class:`ScorerPreset`.
        score_weights: Weights overriding ``config.score_weights`` and the preset defaults.
        tenant_id: Tenant of the request; defaults to ``runtime.resource_id`` and must equal
            it when both are set (a runtime only evaluates its own tenant).

    Returns:
        The validated :class:`EvalRequest`.

    Raises:
        SpecValueError: no usable tenant (``runtime.resource_id`` missing or blank and no
            ``tenant_id``), or ``tenant_id`` differs from ``runtime.resource_id``.
        SpecTypeError: ``test_cases`` is not a list of cases.
        pydantic.ValidationError: invalid cases, config, preset or weights (see
            :class:`EvalRequest`).
    """
    resource_id = getattr(runtime, "resource_id", None)
    usable = isinstance(resource_id, str) and bool(resource_id.strip())
    if tenant_id is None:
        if not usable:
            raise SpecValueError(
                "define_eval_request needs the runtime's tenant: runtime.resource_id is "
                f"missing or blank (got {resource_id!r}); pass a runtime created with a tenant "
                "or tenant_id=..."
            )
        tenant_id = resource_id
    elif usable and tenant_id != resource_id:
        raise SpecValueError(
            f"tenant_id {tenant_id!r} does not match runtime.resource_id {resource_id!r}; a "
            "runtime only evaluates its own tenant"
        )
    # pydantic models iterate over their fields, so a lone case must be refused explicitly.
    single = isinstance(test_cases, str | bytes | Mapping | BaseModel)
    if single or not isinstance(test_cases, Iterable):
        raise SpecTypeError(
            f"test_cases must be a list of EvalTestCase, got {type(test_cases).__name__}"
        )
    return EvalRequest.model_validate(
        {
            "tenant_id": tenant_id,
            "workspace_id": workspace_id,
            "config": EvalConfig() if config is None else config,
            "test_cases": list(test_cases),
            "scorer_preset": scorer_preset,
            "score_weights": score_weights,
        }
    )
