"""Pass decisions, aggregation and pass@k (evals/aggregation.py)."""

from __future__ import annotations

from math import comb

import pytest

from flowai_harness.errors import SpecValueError
from flowai_harness.evals.aggregation import (
    case_aggregate_score,
    pass_at_k,
    sample_cost,
    sample_passed,
    summarize_eval,
)
from flowai_harness.specs.evals import (
    ModelInvocation,
    SampleArtifact,
    SampleCost,
    SummaryLatency,
    TestCaseArtifact,
    TokenUsageSummary,
)


def sample(index: int, passed: bool, score: float, **kwargs: object) -> SampleArtifact:
    return SampleArtifact(sample_index=index, passed=passed, aggregate_score=score, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n", "c", "k", "simple", "unbiased"),
    [
        (3, 2, 1, 2 / 3, 2 / 3),
        (3, 0, 1, 0.0, 0.0),
        (3, 3, 3, 1.0, 1.0),
        (3, 5, 2, 1.0, 1.0),
        (0, 0, 1, 0.0, None),
        (3, 1, 0, 0.0, 0.0),
        (5, 2, 2, 1 - (3 / 5) * (2 / 4), 1 - (3 / 5) * (2 / 4)),
        (5, 3, 3, 1.0, 1.0),
        (10, 1, 5, 0.5, 0.5),
        (1, 1, 3, 1.0, None),
        (1, 0, 3, 0.0, None),
        (2, 1, 3, 1.0, None),
    ],
)
def test_pass_at_k_table(n: int, c: int, k: int, simple: float, unbiased: float | None) -> None:
    result = pass_at_k(n, c, k)
    assert result.simple_estimate == pytest.approx(simple)
    if unbiased is None:
        assert result.unbiased_estimate is None
    else:
        assert result.unbiased_estimate == pytest.approx(unbiased)
    assert (result.k, result.num_samples, result.num_correct) == (k, n, c)


@pytest.mark.parametrize("n", range(1, 9))
def test_unbiased_pass_at_k_matches_the_combinatorial_formula(n: int) -> None:
    for c in range(n + 1):
        for k in range(1, n + 1):
            expected = 1 - comb(n - c, k) / comb(n, k)
            result = pass_at_k(n, c, k)
            assert result.unbiased_estimate == pytest.approx(expected)
            assert result.simple_estimate == pytest.approx(expected)


def test_pass_at_k_wire_shape() -> None:
    assert pass_at_k(1, 1, 3).to_wire() == {
        "k": 3,
        "simpleEstimate": 1.0,
        "unbiasedEstimate": None,
        "numSamples": 1,
        "numCorrect": 1,
    }


def test_pass_at_k_rejects_negative_counts() -> None:
    with pytest.raises(SpecValueError, match="num_correct must be >= 0, got -1"):
        pass_at_k(3, -1, 1)


def test_sample_passes_at_the_threshold_despite_float_sums() -> None:
    assert sample_passed(0.1 + 0.6, 0.7)
    assert sample_passed(0.7, 0.7)
    assert not sample_passed(0.6999, 0.7)
    assert sample_passed(0.0, 0.0)


def test_case_aggregate_per_strategy() -> None:
    samples = [sample(0, True, 0.9), sample(1, False, 0.5), sample(2, True, 0.7)]
    assert case_aggregate_score(samples, "passRate") == pytest.approx(2 / 3)
    assert case_aggregate_score(samples, "meanScore") == pytest.approx(0.7)
    assert case_aggregate_score([], "passRate") == 0.0


def test_sample_cost_sums_priced_invocations_only() -> None:
    invocations = [
        ModelInvocation(agent="coordinator", model="m", estimated_cost_usd=0.25),
        ModelInvocation(agent="judge", model="m"),
        ModelInvocation(agent="judge", model="m", estimated_cost_usd=0.5),
    ]
    assert sample_cost(invocations) == SampleCost(
        estimated_cost_usd=0.75, priced_invocations=2, unpriced_invocations=1
    )
    assert sample_cost([ModelInvocation(agent="a", model="m")]) is None


def _case(case_id: str, aggregate: float, *samples: SampleArtifact) -> TestCaseArtifact:
    return TestCaseArtifact(
        test_case_id=case_id, input="i", samples=list(samples), aggregate_score=aggregate
    )


def test_summary_with_pass_rate_counts_cases_reaching_the_threshold() -> None:
    usage = TokenUsageSummary(input_tokens=50, output_tokens=25)
    cases = [
        _case("a", 2 / 3, sample(0, True, 1, duration_ms=10, token_usage=usage)),
        _case("b", 1.0, sample(0, True, 1, duration_ms=5, token_usage=usage)),
    ]
    summary = summarize_eval(
        cases, pass_threshold=0.7, aggregation_strategy="passRate", k_values=[1, 3]
    )
    assert (summary.total_test_cases, summary.passed, summary.failed) == (2, 1, 1)
    assert summary.pass_rate == 0.5
    assert summary.aggregate_score == 0.5
    assert summary.total_duration_ms == 15
    assert summary.total_usage == TokenUsageSummary(input_tokens=100, output_tokens=50)
    assert [p.to_wire() for p in summary.pass_at_k] == [
        pass_at_k(2, 1, 1).to_wire(),
        pass_at_k(2, 1, 3).to_wire(),
    ]
    assert summary.pass_at_k[1].unbiased_estimate is None
    assert summary.cost is None
    assert summary.latency == SummaryLatency()
    assert summary.to_wire()["latency"] == {
        "p50Ms": None,
        "p90Ms": None,
        "p95Ms": None,
        "p99Ms": None,
    }


def test_summary_with_mean_score_averages_case_aggregates() -> None:
    cases = [_case("a", 0.9), _case("b", 0.3)]
    summary = summarize_eval(
        cases, pass_threshold=0.5, aggregation_strategy="meanScore", k_values=[1]
    )
    assert summary.aggregate_score == pytest.approx(0.6)
    assert summary.passed == 1
    assert summary.pass_rate == 0.5


def test_summary_cost_breaks_down_by_agent() -> None:
    cases = [
        _case(
            "a",
            1.0,
            sample(
                0,
                True,
                1,
                model_invocations=[
                    ModelInvocation(agent="coordinator", model="m", estimated_cost_usd=0.5),
                    ModelInvocation(agent="judge", model="m", estimated_cost_usd=0.25),
                    ModelInvocation(agent="coordinator", model="m"),
                ],
            ),
        )
    ]
    summary = summarize_eval(
        cases, pass_threshold=0.7, aggregation_strategy="passRate", k_values=[]
    )
    assert summary.cost is not None
    assert summary.cost.to_wire() == {
        "estimatedCostUsd": 0.75,
        "pricedInvocations": 2,
        "unpricedInvocations": 1,
        "byAgent": [
            {"agent": "coordinator", "estimatedCostUsd": 0.5, "invocations": 2},
            {"agent": "judge", "estimatedCostUsd": 0.25, "invocations": 1},
        ],
    }


def test_summary_of_no_cases_is_zeroed() -> None:
    summary = summarize_eval([], pass_threshold=0.7, aggregation_strategy="passRate", k_values=[1])
    assert (summary.total_test_cases, summary.passed, summary.failed) == (0, 0, 0)
    assert summary.aggregate_score == 0.0
    assert summary.pass_rate == 0.0
    assert summary.pass_at_k[0].simple_estimate == 0.0


def test_first_eval_summaries_match_the_tutorial() -> None:
    passing = [_case("refund-window", 1.0), _case("refund-offer", 1.0)]
    first = summarize_eval(
        passing, pass_threshold=0.7, aggregation_strategy="passRate", k_values=[1, 3]
    )
    assert (first.passed, first.failed, first.pass_rate, first.aggregate_score) == (2, 0, 1.0, 1.0)
    mixed = [_case("refund-store-credit", 0.0), _case("refund-offer", 1.0)]
    second = summarize_eval(
        mixed, pass_threshold=0.7, aggregation_strategy="passRate", k_values=[1, 3]
    )
    assert (second.passed, second.failed, second.pass_rate, second.aggregate_score) == (
        1,
        1,
        0.5,
        0.5,
    )
