"""The public surface promised to users: every exported name resolves."""

from __future__ import annotations

import importlib
import inspect

import pytest

import flowai_harness

# The documented top-level `__all__` (minus the eval names, listed below).
SPEC_TOP_LEVEL = [
    "__version__",
    "TenantIdentity",
    "define_tenant",
    "normalize_schema",
    "ToolSpec",
    "define_tool",
    "PlanSpec",
    "PlanDisplayAlias",
    "define_plan",
    "ReferenceSpec",
    "define_reference",
    "glimpse",
    "LayeredPrompt",
    "layered_prompt",
    "TaggedUnion",
    "define_coordinator",
    "define_planner",
    "define_executor",
    "define_specialist",
    "AgentSpec",
    "ModelSpec",
    "ToolkitSpec",
    "ApprovalPolicies",
    "ApprovalPolicyPatch",
    "ApprovalOverrides",
    "StorageFactorySpec",
    "StorageFactories",
    "RuntimeSpec",
    "TestingConfig",
    "DataEnvironmentConfig",
    "Runtime",
    "define_runtime",
    "create_runtime",
    "normalize_data_environment",
    "FlowAIApp",
    "WorkspaceRuntimeBinding",
    "define_app",
    "define_workspace_runtime",
    "mcp",
]

SPEC_EVAL_NAMES = [
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
    "score_sample",
    "run_eval_sync",
]

SPEC_STUDIO_NAMES = (
    "FlowAIApp",
    "WorkspaceRuntimeBinding",
    "define_app",
    "define_workspace_runtime",
    "AppImportError",
    "resolve_app_reference",
)


def test_all_matches_the_export_map_of_the_spec() -> None:
    assert sorted(flowai_harness.__all__) == sorted(SPEC_TOP_LEVEL + SPEC_EVAL_NAMES)


def test_all_has_no_duplicates() -> None:
    assert len(flowai_harness.__all__) == len(set(flowai_harness.__all__))


@pytest.mark.parametrize("name", sorted(flowai_harness.__all__))
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(flowai_harness, name) is not None


def test_dir_lists_every_exported_name() -> None:
    assert set(flowai_harness.__all__) <= set(dir(flowai_harness))


def test_unknown_attribute_raises_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        _ = flowai_harness.no_such_name  # type: ignore[attr-defined]


def test_version_is_a_non_empty_string() -> None:
    assert isinstance(flowai_harness.__version__, str)
    assert flowai_harness.__version__


def test_mcp_is_importable_as_a_submodule() -> None:
    module = importlib.import_module("flowai_harness.mcp")
    assert inspect.ismodule(module)
    assert flowai_harness.mcp is module
    for name in ("list_tools", "serve_stdio", "serve_http", "create_mcp_runtime"):
        assert name in module.__all__
        assert callable(getattr(module, name))


def test_prompts_module_exposes_augment_prompt_tools() -> None:
    prompts = importlib.import_module("flowai_harness.prompts")
    assert callable(prompts.augment_prompt_tools)


@pytest.mark.parametrize("name", SPEC_STUDIO_NAMES)
def test_studio_exports_resolve(name: str) -> None:
    studio = importlib.import_module("flowai_harness.studio")
    assert name in studio.__all__
    assert getattr(studio, name) is not None


@pytest.mark.parametrize(
    "name", ["FlowAIApp", "WorkspaceRuntimeBinding", "define_app", "define_workspace_runtime"]
)
def test_top_level_studio_names_are_the_studio_objects(name: str) -> None:
    studio = importlib.import_module("flowai_harness.studio")
    assert getattr(flowai_harness, name) is getattr(studio, name)


def test_every_lazy_export_is_an_explicit_re_export_for_type_checkers() -> None:
    """``from flowai_harness import X`` type-checks under mypy --strict (no implicit re-export)."""
    import ast
    from pathlib import Path

    source = Path(flowai_harness.__file__).read_text()
    tree = ast.parse(source)
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )
    re_exported = {
        alias.asname
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname == alias.name
    }
    missing = sorted(set(flowai_harness.__all__) - {"__version__"} - re_exported)
    assert missing == []
