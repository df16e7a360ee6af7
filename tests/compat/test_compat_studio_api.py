"""Compatibility of the Studio Python API with the reference (one test per behaviour)."""

from __future__ import annotations

import inspect

import pytest

import flowai_harness.studio as studio
from flowai_harness.studio import AppImportError, define_app, resolve_app_reference
from flowai_harness.studio.apps import define_workspace_runtime

from .studio_fakes import COORDINATOR, scenario_spec

# ---------------------------------------------------------------- PY-1


def test_a_binding_summarises_its_runtime_without_the_provider_key() -> None:
    app = define_app(
        name="compat-api",
        workspaces={"acme": define_workspace_runtime(runtime_spec=scenario_spec())},
        default_workspace="acme",
    )
    summary = app.workspace("acme").runtime_summary()
    assert set(summary) == {"workspaceKey", "tenant", "agents", "providers", "plans", "references"}
    assert summary["workspaceKey"] == "acme"
    assert summary["tenant"] == {"tenantId": "acme", "version": "v1"}
    assert [agent["agentId"] for agent in summary["agents"]] == [COORDINATOR, "insights", "planner"]
    assert summary["providers"] == [
        {"name": "anthropic", "configured": True, "credential": {"kind": "serverManaged"}}
    ]
    assert "sk-ant-compat-not-a-real-key" not in repr(summary)


def test_a_binding_answers_the_agents_capabilities_and_eval_modes_bodies() -> None:
    binding = define_app(name="compat-api", runtime_spec=scenario_spec()).default_binding()
    assert binding.agents_response()["workspaceKey"] == "default"
    assert [m["mode"] for m in binding.eval_capabilities_response()["modes"]] == [
        "sequential",
        "planner",
        "specialist",
    ]
    assert {c["id"] for c in binding.capability_registry()} >= {"chat.stream", "evals.run"}
    assert binding.has_data_environment is False and binding.data_environment_json() is None


# ---------------------------------------------------------------- PY-2


def test_an_unimportable_module_renders_as_the_module_failed_error_response() -> None:
    with pytest.raises(AppImportError) as caught:
        resolve_app_reference("missing_module:app")
    response = caught.value.to_error_response()
    error = response["error"]
    assert set(response) == {"error"}
    assert error["code"] == "app_import.module_failed"
    assert error["retryable"] is False
    assert error["details"] == {
        "reference": "missing_module:app",
        "module": "missing_module",
        "symbol": "app",
    }
    assert isinstance(error["message"], str) and "missing_module" in error["message"]


def test_a_reference_without_a_colon_is_an_invalid_reference() -> None:
    with pytest.raises(AppImportError) as caught:
        resolve_app_reference("missing-colon")
    assert caught.value.to_error_response()["error"]["code"] == "app_import.invalid_reference"


# ---------------------------------------------------------------- PY-3


def test_the_import_resolver_module_exports_the_studio_resolver_and_its_error() -> None:
    from flowai_harness.studio import import_resolver

    assert import_resolver.resolve_app_reference is studio.resolve_app_reference
    assert import_resolver.AppImportError is studio.AppImportError


# ---------------------------------------------------------------- PY-4


def test_an_approval_decision_projects_to_its_verb_and_its_data() -> None:
    from flowai_harness.studio.sse import project_runtime_event

    data = {"id": "appr-1", "outcome": {"outcome": "approve"}}
    assert project_runtime_event({"type": "approval-decision", "data": data}) == (
        "approval.decision",
        {"approvalId": "appr-1", "status": "approve", "raw": data},
    )


@pytest.mark.parametrize(
    ("outcome", "status"),
    [({"outcome": "revise", "feedback": "x"}, "revise"), ("reject", "reject"), (None, "resolved")],
)
def test_an_approval_decision_status_is_the_outcome_verb_or_resolved(
    outcome: object, status: str
) -> None:
    from flowai_harness.studio.sse import project_runtime_event

    event = {"type": "approval-decision", "data": {"id": "a", "outcome": outcome}}
    assert project_runtime_event(event)[1]["status"] == status


def test_other_runtime_events_project_to_their_studio_kinds() -> None:
    from flowai_harness.studio.sse import project_runtime_event

    assert project_runtime_event({"type": "text", "text": "hi"}) == (
        "message.delta",
        {"role": "assistant", "text": "hi"},
    )
    assert project_runtime_event({"type": "finish"})[0] == "runtime.finish"
    assert project_runtime_event({"type": "step-start"}) == (
        "runtime.event",
        {"raw": {"type": "step-start"}},
    )


# ---------------------------------------------------------------- PY-5


def test_the_server_module_exposes_the_chat_stream_handler() -> None:
    from flowai_harness.studio.server import _stream_chat

    assert inspect.iscoroutinefunction(_stream_chat)
