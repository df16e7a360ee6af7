"""The eval surface of specs/evals/__init__.py and the flowai_harness.evals package."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import get_args

import flowai_harness
import flowai_harness.evals as evals_package
from flowai_harness.specs import evals

SPEC_NAMES = [
    "ActionPayloadMatchMode",
    "ScorerName",
    "EvalConfig",
    "EvalRequest",
    "EvalTestCase",
    "GroundTruth",
    "ExpectedAction",
    "ResolvedAction",
    "RawSampleOutput",
    "ScoreWeights",
    "ScorerPreset",
    "FinalResponseEval",
    "FinalResponseScorerConfig",
    "ResponseScorer",
    "JudgeVerdict",
    "TrajectoryScorerConfig",
    "ScoredSample",
    "ScorerResult",
    "EvalArtifact",
    "EvalArtifactSummary",
    "TestCaseArtifact",
    "SampleArtifact",
    "ArtifactMetadata",
    "ModelInvocation",
    "TokenUsageSummary",
    "SampleCost",
    "SummaryCost",
    "CostAgentBreakdown",
    "SampleLatency",
    "SummaryLatency",
    "PassAtKResult",
    "HarnessEvalEventEnvelope",
    "define_eval_config",
    "define_eval_request",
    "define_test_case",
    "define_expected_actions",
    "define_expected_action",
    "define_action_ground_truth",
    "define_ground_truth",
    "define_resolved_action",
    "define_final_response_eval",
    "define_scorer_preset",
    "define_trajectory_scorer_config",
    "define_final_response_scorer_config",
    "final_response_judge_verdicts_extra",
]

ALIASES = {
    "EvalMode": ("planner", "executor", "sequential", "specialist", "testCaseBuilder"),
    "TrajectoryMode": ("strict", "unordered", "subset", "superset", "subsequence"),
    "AggregationStrategy": ("passRate", "meanScore"),
    "ScorerPresetName": (
        "trajectory_only",
        "planner",
        "executor",
        "sequential",
        "specialist",
        "test_case_builder",
    ),
    "ScorerName": ("trajectory", "planned_actions", "executed_actions", "final_response"),
    "ResponseScorerMethod": ("judge", "exact", "contains", "regex"),
    "ActionPayloadMatchMode": ("subset", "exact"),
}


def test_specs_evals_exports_every_name_of_the_spec() -> None:
    missing = [name for name in SPEC_NAMES if name not in evals.__all__]
    assert missing == []
    for name in SPEC_NAMES:
        assert getattr(evals, name) is getattr(flowai_harness, name)


def test_literal_aliases_have_the_spec_values() -> None:
    for name, values in ALIASES.items():
        assert get_args(getattr(evals_package, name)) == values
        assert name in evals_package.__all__


def test_evals_package_re_exports_the_models_and_score_sample() -> None:
    for name in ("EvalTestCase", "RawSampleOutput", "ScoredSample", "EvalArtifact"):
        assert getattr(evals_package, name) is getattr(evals, name)
    assert evals_package.score_sample is flowai_harness.score_sample


def test_importing_the_evals_package_stays_cheap() -> None:
    probe = (
        "import json, sys, flowai_harness.evals\n"
        "print(json.dumps(sorted({n.partition('.')[0] for n in sys.modules})))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(json.loads(completed.stdout.splitlines()[-1]))
    heavy = {"jsonschema", "anthropic", "openai", "fastapi", "sqlglot", "rich", "click", "mcp"}
    assert loaded & heavy == set()
    assert "flowai_harness" in loaded
