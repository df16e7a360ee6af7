"""Evaluation: running and scoring evals, plus the eval models and Literal aliases.

This package is the one home of eval behaviour: ``setup`` reads and checks a request,
``runner`` runs the samples on a runtime, ``traces`` records what each sample did, ``scoring``
and ``judges`` score one sample, ``aggregation`` decides passes and summarises, and
``runtime_methods`` puts ``run_eval`` and friends on the runtime. The models and aliases are
data and live in :mod:`flowai_harness.specs.evals`; they are re-exported here. Every name is
loaded on first access, so importing this package (or one of its submodules) costs next to
nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from flowai_harness.evals.runner import run_eval_sync
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
    # Everything loads on first access: importing a submodule (the runtime mixin does) must not
    # pay for the eval models, the scorer or the runner (which pulls in the engine).
    if name == "run_eval_sync":
        module = "flowai_harness.evals.runner"
    elif name == "score_sample":
        module = "flowai_harness.evals.scoring"
    elif name in __all__:
        module = "flowai_harness.specs.evals"
    else:
        raise AttributeError(f"module 'flowai_harness.evals' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
