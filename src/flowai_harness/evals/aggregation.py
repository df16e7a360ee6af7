"""Pass decisions, aggregation and pass@k over scored samples.

Pure functions the eval runner uses to fill test-case and summary artifacts; also usable on
artifacts loaded from Studio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from flowai_harness.errors import SpecValueError
from flowai_harness.specs.evals import (
    AggregationStrategy,
    CostAgentBreakdown,
    EvalArtifactSummary,
    ModelInvocation,
    PassAtKResult,
    SampleArtifact,
    SampleCost,
    SummaryCost,
    SummaryLatency,
    TestCaseArtifact,
    TokenUsageSummary,
)

__all__ = [
    "case_aggregate_score",
    "pass_at_k",
    "sample_cost",
    "sample_passed",
    "summarize_eval",
]

# Weighted float sums can land a hair under a threshold they meet exactly (0.1 + 0.6).
_PASS_TOLERANCE = 1e-9


def sample_passed(aggregate: float, pass_threshold: float) -> bool:
    """Whether a score reaches a threshold (with a 1e-9 tolerance for float sums).

    Args:
        aggregate: The score.
        pass_threshold: The threshold within [0, 1].

    Returns:
        ``aggregate >= pass_threshold`` up to the tolerance.
    """
    return aggregate >= pass_threshold - _PASS_TOLERANCE


def _pass_at_k_special(n: int, c: int, k: int) -> float | None:
    if k <= 0 or n <= 0 or c <= 0:
        return 0.0
    if c >= n:
        return 1.0
    if k == 1:
        return c / n
    return None


def _simple_pass_at_k(n: int, c: int, k: int) -> float:
    special = _pass_at_k_special(n, c, k)
    if special is not None:
        return special
    all_fail = 1.0
    for i in range(k):
        if n - c - i <= 0:
            return 1.0  # every draw of k must include a passing sample
        all_fail *= (n - c - i) / (n - i)
    return 1.0 - all_fail


def _unbiased_pass_at_k(n: int, c: int, k: int) -> float | None:
    if k > n:
        return None
    special = _pass_at_k_special(n, c, k)
    if special is not None:
        return special
    if n - c < k:
        return 1.0
    log_all_fail = sum(math.log(n - c - i) - math.log(n - i) for i in range(k))
    return 1.0 - math.exp(log_all_fail)


def pass_at_k(num_samples: int, num_correct: int, k: int) -> PassAtKResult:
    """Estimate pass@k from ``num_correct`` passes out of ``num_samples``.

    simple = 1 - prod_{i<k} (n-c-i)/(n-i) with k=1 -> c/n, c >= n -> 1, c = 0 -> 0, k or
    n = 0 -> 0, and 1 once the failures are exhausted; unbiased = the same in log space,
    ``None`` when k > n.

    Args:
        num_samples: n, the number of samples (>= 0).
        num_correct: c, how many passed (>= 0).
        k: The k of pass@k (>= 0).

    Returns:
        The :class:`PassAtKResult`.

    Raises:
        SpecValueError: a negative argument.
    """
    for name, value in (("num_samples", num_samples), ("num_correct", num_correct), ("k", k)):
        if value < 0:
            raise SpecValueError(f"pass_at_k {name} must be >= 0, got {value}")
    return PassAtKResult(
        k=k,
        simple_estimate=_simple_pass_at_k(num_samples, num_correct, k),
        unbiased_estimate=_unbiased_pass_at_k(num_samples, num_correct, k),
        num_samples=num_samples,
        num_correct=num_correct,
    )


def case_aggregate_score(
    samples: Sequence[SampleArtifact], aggregation_strategy: AggregationStrategy
) -> float:
    """Aggregate the samples of one case.

    Args:
        samples: The case's samples.
        aggregation_strategy: ``passRate`` (passed / n) or ``meanScore`` (mean aggregate).

    Returns:
        The case aggregate, 0.0 for no samples.
    """
    if not samples:
        return 0.0
    if aggregation_strategy == "passRate":
        return sum(sample.passed for sample in samples) / len(samples)
    return sum(sample.aggregate_score for sample in samples) / len(samples)


def sample_cost(invocations: Sequence[ModelInvocation]) -> SampleCost | None:
    """Sum the priced model invocations of a sample.

    Args:
        invocations: The sample's model invocations.

    Returns:
        ``SampleCost`` or ``None`` when no invocation carries a price.
    """
    priced = [i.estimated_cost_usd for i in invocations if i.estimated_cost_usd is not None]
    if not priced:
        return None
    return SampleCost(
        estimated_cost_usd=sum(priced),
        priced_invocations=len(priced),
        unpriced_invocations=len(invocations) - len(priced),
    )


def _summary_cost(invocations: Sequence[ModelInvocation]) -> SummaryCost | None:
    total = sample_cost(invocations)
    if total is None:
        return None
    by_agent: dict[str, list[ModelInvocation]] = {}
    for invocation in invocations:
        by_agent.setdefault(invocation.agent, []).append(invocation)
    breakdown = [
        CostAgentBreakdown(
            agent=agent,
            estimated_cost_usd=sum(i.estimated_cost_usd or 0.0 for i in calls),
            invocations=len(calls),
        )
        for agent, calls in by_agent.items()
    ]
    return SummaryCost(
        estimated_cost_usd=total.estimated_cost_usd,
        priced_invocations=total.priced_invocations,
        unpriced_invocations=total.unpriced_invocations,
        by_agent=breakdown,
    )


def summarize_eval(
    test_cases: Sequence[TestCaseArtifact],
    *,
    pass_threshold: float,
    aggregation_strategy: AggregationStrategy,
    k_values: Sequence[int],
    skipped: int = 0,
) -> EvalArtifactSummary:
    """Summarise scored test cases.

    A case passes when its aggregate reaches ``pass_threshold`` (passRate 2/3 = 0.667 fails at
    0.7). ``aggregateScore`` is passed / total (passRate) or the mean case aggregate
    (meanScore); ``passRate`` is passed / (passed + failed); pass@k uses n = cases and
    c = passed cases; durations and usage are summed; cost comes from priced invocations;
    latency percentiles are null.

    Args:
        test_cases: The case artifacts, aggregates already computed.
        pass_threshold: The config's pass threshold.
        aggregation_strategy: The config's aggregation strategy.
        k_values: The config's k values.
        skipped: Cases not evaluated.

    Returns:
        The :class:`EvalArtifactSummary`.
    """
    total = len(test_cases)
    passed = sum(sample_passed(case.aggregate_score, pass_threshold) for case in test_cases)
    if total == 0:
        aggregate = 0.0
    elif aggregation_strategy == "passRate":
        aggregate = passed / total
    else:
        aggregate = sum(case.aggregate_score for case in test_cases) / total
    samples = [sample for case in test_cases for sample in case.samples]
    usage = TokenUsageSummary()
    for sample in samples:
        usage = usage + sample.token_usage
    invocations = [invocation for sample in samples for invocation in sample.model_invocations]
    return EvalArtifactSummary(
        total_test_cases=total,
        passed=passed,
        failed=total - passed,
        skipped=skipped,
        aggregate_score=aggregate,
        pass_rate=passed / total if total else 0.0,
        pass_at_k=[pass_at_k(total, passed, k) for k in k_values],
        total_duration_ms=sum(sample.duration_ms for sample in samples),
        total_usage=usage,
        cost=_summary_cost(invocations),
        latency=SummaryLatency(),
    )
