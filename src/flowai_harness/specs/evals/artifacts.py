"""Scoring results, eval artifacts and the eval event envelope.

Every key of these models is always present on the wire, ``null`` when unset (``details``,
``cost``, ``latency``, ``metadata``, ``error``, ...), so an artifact round-trips exactly through
``model_validate`` / ``model_dump(by_alias=True, mode="json")``. The one exception is a
sample's ``responseText``, left out when the sample has no answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.evals._common import (
    EvalMode,
    Integer,
    JsonObject,
    NonBlankStr,
    Number,
    OptionalKeysWireModel,
    ScorerName,
    ScorerPresetName,
    check_unit_interval,
)
from flowai_harness.specs.evals.actions import ResolvedAction

__all__ = [
    "ArtifactMetadata",
    "CostAgentBreakdown",
    "EvalArtifact",
    "EvalArtifactSummary",
    "ModelInvocation",
    "PassAtKResult",
    "SampleArtifact",
    "SampleCost",
    "SampleLatency",
    "SampleTrace",
    "ScoredSample",
    "ScorerResult",
    "SummaryCost",
    "SummaryLatency",
    "TestCaseArtifact",
    "TokenUsageSummary",
]

#: A counter (tokens, milliseconds, indexes): an int >= 0.
Count = Annotated[Integer, Field(ge=0)]


class ScorerResult(WireModel):
    """One component score: ``{"scorerName", "score", "details"}`` (``details`` may be null).

    ``scorer_name`` is a :data:`ScorerName` or ``"composite"`` (the weighted mean, reported
    last); ``score`` is within [0, 1].
    """

    scorer_name: ScorerName | Literal["composite"]
    score: Number
    details: JsonObject | None = None

    @field_validator("score")
    @classmethod
    def _check_score(cls, score: float) -> float:
        return check_unit_interval(score, "a score")


class ScoredSample(WireModel):
    """Result of ``score_sample``: ``{"aggregate", "componentScores"}`` (no pass/fail).

    ``component_scores`` holds each scorer's result then the ``composite`` entry, whose score
    is ``aggregate``.
    """

    aggregate: Number
    component_scores: list[ScorerResult]

    def component(self, name: str) -> ScorerResult | None:
        """Return the component named ``name`` (a scorer name or ``"composite"``), if scored.

        Args:
            name: Scorer name.

        Returns:
            The :class:`ScorerResult` or ``None``.
        """
        return next((c for c in self.component_scores if c.scorer_name == name), None)


class PassAtKResult(WireModel):
    """pass@k estimate: ``{"k", "simpleEstimate", "unbiasedEstimate", "numSamples",
    "numCorrect"}``; ``unbiased_estimate`` is ``None`` when k > n."""

    k: Count
    simple_estimate: Number
    unbiased_estimate: Number | None
    num_samples: Count
    num_correct: Count


class ModelInvocation(WireModel):
    """One model call made for a sample (judge calls use ``agent="judge"``).

    Wire: ``{"agent", "provider", "model", "inputTokens", "outputTokens", "cachedTokens",
    "cacheCreationTokens", "estimatedCostUsd"}``; ``provider`` and ``estimatedCostUsd`` may be
    null.
    """

    agent: str
    provider: str | None = None
    model: str
    input_tokens: Count = 0
    output_tokens: Count = 0
    cached_tokens: Count = 0
    cache_creation_tokens: Count = 0
    estimated_cost_usd: Number | None = None


class TokenUsageSummary(WireModel):
    """Summed token usage: exactly ``{"inputTokens", "outputTokens", "cachedTokens",
    "cacheCreationTokens"}``.

    A ``totalTokens`` key written by earlier pre-releases of this package is accepted on input
    and dropped; :attr:`total_tokens` derives the total.
    """

    input_tokens: Count = 0
    output_tokens: Count = 0
    cached_tokens: Count = 0
    cache_creation_tokens: Count = 0

    @model_validator(mode="before")
    @classmethod
    def _drop_legacy_total(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and ("totalTokens" in data or "total_tokens" in data):
            return {k: v for k, v in data.items() if k not in ("totalTokens", "total_tokens")}
        return data

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: TokenUsageSummary) -> TokenUsageSummary:
        """Sum two usages field by field."""
        fields = type(self).model_fields
        return TokenUsageSummary(**{n: getattr(self, n) + getattr(other, n) for n in fields})


class SampleCost(WireModel):
    """Estimated cost of one sample: ``{"estimatedCostUsd", "pricedInvocations",
    "unpricedInvocations"}`` (summed over invocations that carry a price)."""

    estimated_cost_usd: Number
    priced_invocations: Count
    unpriced_invocations: Count = 0


class CostAgentBreakdown(WireModel):
    """Cost share of one agent: ``{"agent", "estimatedCostUsd", "invocations"}``."""

    agent: str
    estimated_cost_usd: Number
    invocations: Count


class SummaryCost(WireModel):
    """Estimated cost of the whole eval: ``{"estimatedCostUsd", "pricedInvocations",
    "unpricedInvocations", "byAgent"}``."""

    estimated_cost_usd: Number
    priced_invocations: Count
    unpriced_invocations: Count = 0
    by_agent: list[CostAgentBreakdown] = Field(default_factory=list)


class SampleLatency(WireModel):
    """Latency of one sample in ms: ``{"totalMs", "firstTokenMs", "modelMs", "toolMs"}``."""

    total_ms: Count
    first_token_ms: Count | None = None
    model_ms: Count = 0
    tool_ms: Count = 0


class SummaryLatency(WireModel):
    """Latency percentiles of the eval in ms: ``{"p50Ms", "p90Ms", "p95Ms", "p99Ms"}``.

    The reference runner reports them as null; so does ours for now.
    """

    p50_ms: Number | None = None
    p90_ms: Number | None = None
    p95_ms: Number | None = None
    p99_ms: Number | None = None


class SampleTrace(WireModel):
    """Link to a sample's recorded trace: ``{"traceId", "threadId", "url", "metadata"}``."""

    trace_id: NonBlankStr
    thread_id: str
    url: str | None = None
    metadata: JsonObject = Field(default_factory=dict)


class SampleArtifact(OptionalKeysWireModel):
    """One sample of a test case in an eval artifact.

    A failed execution (timeout, agent error) has ``passed`` false, no component scores,
    aggregate 0 and ``error`` set. ``response_text`` is omitted from the wire when empty;
    ``finalResponseEval``, ``cost``, ``latency``, ``threadId``, ``trace``, ``metadata`` and
    ``error`` are written as ``null`` when unset. ``metadata`` carries scorer extras such as
    ``trajectoryEvents``.
    """

    _omit_when_none = frozenset({"response_text"})

    sample_index: Count
    passed: bool
    aggregate_score: Number
    component_scores: list[ScorerResult] = Field(default_factory=list)
    response_text: str | None = None
    actual_trajectory: list[str] = Field(default_factory=list)
    final_response_eval: JsonObject | None = None
    planned_actions: list[ResolvedAction] = Field(default_factory=list)
    resolved_actions: list[ResolvedAction] = Field(default_factory=list)
    duration_ms: Count = 0
    model_invocations: list[ModelInvocation] = Field(default_factory=list)
    token_usage: TokenUsageSummary = Field(default_factory=TokenUsageSummary)
    cost: SampleCost | None = None
    latency: SampleLatency | None = None
    thread_id: str | None = None
    trace: SampleTrace | None = None
    metadata: JsonObject | None = None
    error: str | None = None

    @field_validator("response_text")
    @classmethod
    def _empty_text_is_absent(cls, text: str | None) -> str | None:
        return text or None

    @model_validator(mode="after")
    def _check_consistency(self) -> SampleArtifact:
        if self.error is not None and self.passed:
            raise ValueError(f"sample {self.sample_index} has an error, so it cannot pass")
        return self


class TestCaseArtifact(WireModel):
    """All samples of one test case: ``{"testCaseId", "input", "samples", "passAtK",
    "aggregateScore"}``; the aggregate follows the config's aggregation strategy and ``input``
    may be null."""

    __test__ = False  # not a pytest test class despite the name

    test_case_id: NonBlankStr
    input: str | None = None
    samples: list[SampleArtifact] = Field(default_factory=list)
    pass_at_k: list[PassAtKResult] = Field(default_factory=list)
    aggregate_score: Number


class EvalArtifactSummary(WireModel):
    """Totals of an eval run.

    Wire: ``{"totalTestCases", "passed", "failed", "skipped", "aggregateScore", "passRate",
    "passAtK", "totalDurationMs", "totalUsage", "cost", "latency", "metadata"}``; the last three
    are null when unset.
    """

    total_test_cases: Count = 0
    passed: Count = 0
    failed: Count = 0
    skipped: Count = 0
    aggregate_score: Number = 0.0
    pass_rate: Number = 0.0
    pass_at_k: list[PassAtKResult] = Field(default_factory=list)
    total_duration_ms: Count = 0
    total_usage: TokenUsageSummary = Field(default_factory=TokenUsageSummary)
    cost: SummaryCost | None = None
    latency: SummaryLatency | None = None
    metadata: JsonObject | None = None


class ArtifactMetadata(WireModel):
    """``{"schemaVersion": 1, "scorerPreset", "scoreWeights"}`` (weights normalised)."""

    schema_version: Literal[1] = 1
    scorer_preset: ScorerPresetName
    score_weights: dict[ScorerName, Number]


class EvalArtifact(WireModel):
    """The result of an eval run: ``{"runId", "tenantId", "workspaceId", "mode", "summary",
    "testCases", "metadata"}``; ``run_id`` looks like ``eval-<uuid>``."""

    run_id: NonBlankStr
    tenant_id: NonBlankStr
    workspace_id: NonBlankStr
    mode: EvalMode
    summary: EvalArtifactSummary = Field(default_factory=EvalArtifactSummary)
    test_cases: list[TestCaseArtifact] = Field(default_factory=list)
    metadata: ArtifactMetadata
