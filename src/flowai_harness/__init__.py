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


if TYPE_CHECKING:  # pragma: no cover - static view of the lazy exports (explicit re-exports)
    from flowai_harness import mcp as mcp

    __version__: str
    from flowai_harness.assemble import (
        create_runtime as create_runtime,
    )
    from flowai_harness.evals.runner import (
        run_eval_sync as run_eval_sync,
    )
    from flowai_harness.evals.scoring import (
        score_sample as score_sample,
    )
    from flowai_harness.handle import (
        Runtime as Runtime,
    )
    from flowai_harness.specs.agents import (
        AgentSpec as AgentSpec,
    )
    from flowai_harness.specs.agents import (
        ModelSpec as ModelSpec,
    )
    from flowai_harness.specs.agents import (
        define_coordinator as define_coordinator,
    )
    from flowai_harness.specs.agents import (
        define_executor as define_executor,
    )
    from flowai_harness.specs.agents import (
        define_planner as define_planner,
    )
    from flowai_harness.specs.agents import (
        define_specialist as define_specialist,
    )
    from flowai_harness.specs.approvals import (
        ApprovalOverrides as ApprovalOverrides,
    )
    from flowai_harness.specs.approvals import (
        ApprovalPolicies as ApprovalPolicies,
    )
    from flowai_harness.specs.approvals import (
        ApprovalPolicyPatch as ApprovalPolicyPatch,
    )
    from flowai_harness.specs.data_environment import (
        DataEnvironmentConfig as DataEnvironmentConfig,
    )
    from flowai_harness.specs.data_environment import (
        normalize_data_environment as normalize_data_environment,
    )
    from flowai_harness.specs.evals import (
        ActionPayloadMatchMode as ActionPayloadMatchMode,
    )
    from flowai_harness.specs.evals import (
        ArtifactMetadata as ArtifactMetadata,
    )
    from flowai_harness.specs.evals import (
        CostAgentBreakdown as CostAgentBreakdown,
    )
    from flowai_harness.specs.evals import (
        EvalArtifact as EvalArtifact,
    )
    from flowai_harness.specs.evals import (
        EvalArtifactSummary as EvalArtifactSummary,
    )
    from flowai_harness.specs.evals import (
        EvalConfig as EvalConfig,
    )
    from flowai_harness.specs.evals import (
        EvalRequest as EvalRequest,
    )
    from flowai_harness.specs.evals import (
        EvalTestCase as EvalTestCase,
    )
    from flowai_harness.specs.evals import (
        ExpectedAction as ExpectedAction,
    )
    from flowai_harness.specs.evals import (
        FinalResponseEval as FinalResponseEval,
    )
    from flowai_harness.specs.evals import (
        FinalResponseScorerConfig as FinalResponseScorerConfig,
    )
    from flowai_harness.specs.evals import (
        GroundTruth as GroundTruth,
    )
    from flowai_harness.specs.evals import (
        HarnessEvalEventEnvelope as HarnessEvalEventEnvelope,
    )
    from flowai_harness.specs.evals import (
        JudgeVerdict as JudgeVerdict,
    )
    from flowai_harness.specs.evals import (
        ModelInvocation as ModelInvocation,
    )
    from flowai_harness.specs.evals import (
        PassAtKResult as PassAtKResult,
    )
    from flowai_harness.specs.evals import (
        RawSampleOutput as RawSampleOutput,
    )
    from flowai_harness.specs.evals import (
        ResolvedAction as ResolvedAction,
    )
    from flowai_harness.specs.evals import (
        ResponseScorer as ResponseScorer,
    )
    from flowai_harness.specs.evals import (
        SampleArtifact as SampleArtifact,
    )
    from flowai_harness.specs.evals import (
        SampleCost as SampleCost,
    )
    from flowai_harness.specs.evals import (
        SampleLatency as SampleLatency,
    )
    from flowai_harness.specs.evals import (
        ScoredSample as ScoredSample,
    )
    from flowai_harness.specs.evals import (
        ScorerName as ScorerName,
    )
    from flowai_harness.specs.evals import (
        ScorerPreset as ScorerPreset,
    )
    from flowai_harness.specs.evals import (
        ScorerResult as ScorerResult,
    )
    from flowai_harness.specs.evals import (
        ScoreWeights as ScoreWeights,
    )
    from flowai_harness.specs.evals import (
        SummaryCost as SummaryCost,
    )
    from flowai_harness.specs.evals import (
        SummaryLatency as SummaryLatency,
    )
    from flowai_harness.specs.evals import (
        TestCaseArtifact as TestCaseArtifact,
    )
    from flowai_harness.specs.evals import (
        TokenUsageSummary as TokenUsageSummary,
    )
    from flowai_harness.specs.evals import (
        TrajectoryScorerConfig as TrajectoryScorerConfig,
    )
    from flowai_harness.specs.evals import (
        define_action_ground_truth as define_action_ground_truth,
    )
    from flowai_harness.specs.evals import (
        define_eval_config as define_eval_config,
    )
    from flowai_harness.specs.evals import (
        define_eval_request as define_eval_request,
    )
    from flowai_harness.specs.evals import (
        define_expected_action as define_expected_action,
    )
    from flowai_harness.specs.evals import (
        define_expected_actions as define_expected_actions,
    )
    from flowai_harness.specs.evals import (
        define_final_response_eval as define_final_response_eval,
    )
    from flowai_harness.specs.evals import (
        define_final_response_scorer_config as define_final_response_scorer_config,
    )
    from flowai_harness.specs.evals import (
        define_ground_truth as define_ground_truth,
    )
    from flowai_harness.specs.evals import (
        define_resolved_action as define_resolved_action,
    )
    from flowai_harness.specs.evals import (
        define_scorer_preset as define_scorer_preset,
    )
    from flowai_harness.specs.evals import (
        define_test_case as define_test_case,
    )
    from flowai_harness.specs.evals import (
        define_trajectory_scorer_config as define_trajectory_scorer_config,
    )
    from flowai_harness.specs.evals import (
        final_response_judge_verdicts_extra as final_response_judge_verdicts_extra,
    )
    from flowai_harness.specs.glimpses import (
        glimpse as glimpse,
    )
    from flowai_harness.specs.plans import (
        PlanDisplayAlias as PlanDisplayAlias,
    )
    from flowai_harness.specs.plans import (
        PlanSpec as PlanSpec,
    )
    from flowai_harness.specs.plans import (
        define_plan as define_plan,
    )
    from flowai_harness.specs.prompts import (
        LayeredPrompt as LayeredPrompt,
    )
    from flowai_harness.specs.prompts import (
        layered_prompt as layered_prompt,
    )
    from flowai_harness.specs.references import (
        ReferenceSpec as ReferenceSpec,
    )
    from flowai_harness.specs.references import (
        define_reference as define_reference,
    )
    from flowai_harness.specs.runtime import (
        RuntimeSpec as RuntimeSpec,
    )
    from flowai_harness.specs.runtime import (
        StorageFactories as StorageFactories,
    )
    from flowai_harness.specs.runtime import (
        StorageFactorySpec as StorageFactorySpec,
    )
    from flowai_harness.specs.runtime import (
        TestingConfig as TestingConfig,
    )
    from flowai_harness.specs.runtime import (
        ToolkitSpec as ToolkitSpec,
    )
    from flowai_harness.specs.runtime import (
        define_runtime as define_runtime,
    )
    from flowai_harness.specs.schema import (
        normalize_schema as normalize_schema,
    )
    from flowai_harness.specs.tenant import (
        TenantIdentity as TenantIdentity,
    )
    from flowai_harness.specs.tenant import (
        define_tenant as define_tenant,
    )
    from flowai_harness.specs.tools import (
        ToolSpec as ToolSpec,
    )
    from flowai_harness.specs.tools import (
        define_tool as define_tool,
    )
    from flowai_harness.specs.unions import (
        TaggedUnion as TaggedUnion,
    )
    from flowai_harness.studio.apps import (
        FlowAIApp as FlowAIApp,
    )
    from flowai_harness.studio.apps import (
        WorkspaceRuntimeBinding as WorkspaceRuntimeBinding,
    )
    from flowai_harness.studio.apps import (
        define_app as define_app,
    )
    from flowai_harness.studio.apps import (
        define_workspace_runtime as define_workspace_runtime,
    )
