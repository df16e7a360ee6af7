"""Evaluation: the eval models and Literal aliases, offline scoring, and the eval runner.

The models and aliases come from :mod:`flowai_harness.specs.evals`; :func:`score_sample` scores
one sample offline. Importing this package loads only pydantic and the standard library; the
runner (:func:`run_eval_sync`) is loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from flowai_harness.evals.scoring import score_sample
from flowai_harness.specs.evals import (
    ActionGroundTruth,
    ActionPayloadMatchMode,
    AggregationStrategy,
    ArtifactMetadata,
    CostAgentBreakdown,
    EvalArtifact,
    EvalArtifactSummary,
    EvalConfig,
    EvalEventType,
    EvalMode,
    EvalRequest,
    EvalTestCase,
    ExpectedAction,
    FinalResponseEval,
    FinalResponseScorerConfig,
    GroundTruth,
    HarnessEvalEventEnvelope,
    JudgeVerdict,
    ModelInvocation,
    PassAtKResult,
    RawSampleOutput,
    ResolvedAction,
    ResponseScorer,
    ResponseScorerMethod,
    SampleArtifact,
    SampleCost,
    SampleLatency,
    SampleTrace,
    ScoredSample,
    ScorerConfig,
    ScorerName,
    ScorerPreset,
    ScorerPresetName,
    ScorerResult,
    ScoreWeights,
    SummaryCost,
    SummaryLatency,
    TestCaseArtifact,
    TokenUsageSummary,
    TrajectoryMode,
    TrajectoryScorerConfig,
)

if TYPE_CHECKING:  # pragma: no cover
    from flowai_harness.evals.runner import run_eval_sync

__all__ = [
    "ActionGroundTruth",
    "ActionPayloadMatchMode",
    "AggregationStrategy",
    "ArtifactMetadata",
    "CostAgentBreakdown",
    "EvalArtifact",
    "EvalArtifactSummary",
    "EvalConfig",
    "EvalEventType",
    "EvalMode",
    "EvalRequest",
    "EvalTestCase",
    "ExpectedAction",
    "FinalResponseEval",
    "FinalResponseScorerConfig",
    "GroundTruth",
    "HarnessEvalEventEnvelope",
    "JudgeVerdict",
    "ModelInvocation",
    "PassAtKResult",
    "RawSampleOutput",
    "ResolvedAction",
    "ResponseScorer",
    "ResponseScorerMethod",
    "SampleArtifact",
    "SampleCost",
    "SampleLatency",
    "SampleTrace",
    "ScoreWeights",
    "ScoredSample",
    "ScorerConfig",
    "ScorerName",
    "ScorerPreset",
    "ScorerPresetName",
    "ScorerResult",
    "SummaryCost",
    "SummaryLatency",
    "TestCaseArtifact",
    "TokenUsageSummary",
    "TrajectoryMode",
    "TrajectoryScorerConfig",
    "run_eval_sync",
    "score_sample",
]


def __getattr__(name: str) -> Any:
    # The runner pulls in the engine; load it only when asked for.
    if name == "run_eval_sync":
        value = importlib.import_module("flowai_harness.evals.runner").run_eval_sync
        globals()[name] = value
        return value
    raise AttributeError(f"module 'flowai_harness.evals' has no attribute {name!r}")
