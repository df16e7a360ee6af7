"""flowai-harness: multi-step, tool-using data agents with typed plans, approvals and references.

Public names are loaded on first access so that ``import flowai_harness`` stays cheap: provider
SDKs, database drivers, the search engine and the web stack are only imported when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> module that defines it
_EXPORTS: dict[str, str] = {
    # tenant
    "TenantIdentity": "flowai_harness.specs.tenant",
    "define_tenant": "flowai_harness.specs.tenant",
    # schema
    "normalize_schema": "flowai_harness.specs.schema",
    # tools
    "ToolSpec": "flowai_harness.specs.tools",
    "define_tool": "flowai_harness.specs.tools",
    # plans
    "PlanSpec": "flowai_harness.specs.plans",
    "PlanDisplayAlias": "flowai_harness.specs.plans",
    "define_plan": "flowai_harness.specs.plans",
    # references
    "ReferenceSpec": "flowai_harness.specs.references",
    "define_reference": "flowai_harness.specs.references",
    "glimpse": "flowai_harness.specs.glimpses",
    # prompts
    "LayeredPrompt": "flowai_harness.specs.prompts",
    "layered_prompt": "flowai_harness.specs.prompts",
    # unions
    "TaggedUnion": "flowai_harness.specs.unions",
    # agents
    "define_coordinator": "flowai_harness.specs.agents",
    "define_planner": "flowai_harness.specs.agents",
    "define_executor": "flowai_harness.specs.agents",
    "define_specialist": "flowai_harness.specs.agents",
    "AgentSpec": "flowai_harness.specs.agents",
    "ModelSpec": "flowai_harness.specs.agents",
    # runtime
    "ToolkitSpec": "flowai_harness.specs.runtime",
    "ApprovalPolicies": "flowai_harness.specs.approvals",
    "ApprovalPolicyPatch": "flowai_harness.specs.approvals",
    "ApprovalOverrides": "flowai_harness.specs.approvals",
    "StorageFactorySpec": "flowai_harness.specs.runtime",
    "StorageFactories": "flowai_harness.specs.runtime",
    "RuntimeSpec": "flowai_harness.specs.runtime",
    "TestingConfig": "flowai_harness.specs.runtime",
    "define_runtime": "flowai_harness.specs.runtime",
    "DataEnvironmentConfig": "flowai_harness.specs.data_environment",
    "normalize_data_environment": "flowai_harness.specs.data_environment",
    "Runtime": "flowai_harness.handle",
    "create_runtime": "flowai_harness.assemble",
    # studio
    "FlowAIApp": "flowai_harness.studio.apps",
    "WorkspaceRuntimeBinding": "flowai_harness.studio.apps",
    "define_app": "flowai_harness.studio.apps",
    "define_workspace_runtime": "flowai_harness.studio.apps",
}

_EVAL_EXPORTS = [
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
for _name in _EVAL_EXPORTS:
    _EXPORTS[_name] = "flowai_harness.specs.evals"
_EXPORTS["score_sample"] = "flowai_harness.evals.scoring"
_EXPORTS["run_eval_sync"] = "flowai_harness.evals.runner"

__all__ = ["__version__", *_EXPORTS, "mcp"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from flowai_harness._version import installed_version

        return installed_version()
    if name == "mcp":
        return importlib.import_module("flowai_harness.mcp")
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'flowai_harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - static view of the lazy exports
    __version__: str
    from flowai_harness.assemble import create_runtime
    from flowai_harness.handle import Runtime
    from flowai_harness.specs.agents import (
        AgentSpec,
        ModelSpec,
        define_coordinator,
        define_executor,
        define_planner,
        define_specialist,
    )
    from flowai_harness.specs.approvals import (
        ApprovalOverrides,
        ApprovalPolicies,
        ApprovalPolicyPatch,
    )
    from flowai_harness.specs.data_environment import (
        DataEnvironmentConfig,
        normalize_data_environment,
    )
    from flowai_harness.specs.glimpses import glimpse
    from flowai_harness.specs.plans import PlanDisplayAlias, PlanSpec, define_plan
    from flowai_harness.specs.prompts import LayeredPrompt, layered_prompt
    from flowai_harness.specs.references import ReferenceSpec, define_reference
    from flowai_harness.specs.runtime import (
        RuntimeSpec,
        StorageFactories,
        StorageFactorySpec,
        TestingConfig,
        ToolkitSpec,
        define_runtime,
    )
    from flowai_harness.specs.schema import normalize_schema
    from flowai_harness.specs.tenant import TenantIdentity, define_tenant
    from flowai_harness.specs.tools import ToolSpec, define_tool
    from flowai_harness.specs.unions import TaggedUnion
