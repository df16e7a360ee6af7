"""Discovery and inspection routes: status, workspaces, runtime, capabilities, agents, eval
modes and toolkits, with the default-workspace aliases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from flowai_harness._version import installed_version
from flowai_harness.studio.api_errors import not_found
from flowai_harness.studio.apps import STUDIO_API_VERSION
from flowai_harness.studio.context import (
    IMPLEMENTATION_NAME,
    StudioContext,
    Workspace,
    default_workspace_scope,
    studio_context,
    workspace_scope,
)
from flowai_harness.studio.inspection import agent_summary, provider_readiness, toolkit_summaries
from flowai_harness.studio.payloads import StatusResponse

__all__ = ["router"]

W = "/api/workspaces/{workspace_key}"


def status_body() -> StatusResponse:
    """The body of ``GET /api/status``."""
    return {
        "studioApiVersion": STUDIO_API_VERSION,
        "supportedVersions": [STUDIO_API_VERSION],
        "status": "ready",
        "implementation": {
            "name": IMPLEMENTATION_NAME,
            "version": installed_version(),
            "mode": "local",
        },
    }


async def get_status() -> dict[str, Any]:
    return dict(status_body())


async def list_workspaces(
    context: StudioContext = Depends(studio_context),
) -> dict[str, Any]:
    return context.app.workspaces_response()


async def get_workspace(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    return workspace.binding.workspace_summary()


def _runtime_body(workspace: Workspace) -> dict[str, Any]:
    spec = workspace.binding.runtime_spec
    # providerReadiness: whether each provider's key is really there (the UI's readiness).
    return {
        **workspace.binding.runtime_summary(),
        "providerReadiness": provider_readiness(spec.providers),
    }


async def get_runtime(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    return _runtime_body(workspace)


async def get_default_runtime(
    workspace: Workspace = Depends(default_workspace_scope),
) -> dict[str, Any]:
    return _runtime_body(workspace)


async def list_capabilities(
    workspace: Workspace = Depends(workspace_scope),
) -> dict[str, Any]:
    capabilities = workspace.binding.capability_registry()
    return {"workspaceKey": workspace.key, "capabilities": capabilities}


async def list_agents(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    return workspace.binding.agents_response()


async def list_default_agents(
    workspace: Workspace = Depends(default_workspace_scope),
) -> dict[str, Any]:
    return workspace.binding.agents_response()


async def get_agent(
    agent_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    for agent in workspace.binding.runtime_spec.agents:
        if agent.name == agent_id:
            return {"workspaceKey": workspace.key, **agent_summary(agent)}
    raise not_found(workspace.key, "agent", "agentId", agent_id)


async def list_eval_modes(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    return workspace.binding.eval_capabilities_response()


async def list_toolkits(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    binding = workspace.binding
    toolkits = toolkit_summaries(
        binding.runtime_spec, has_data=binding.data_environment is not None
    )
    return {"workspaceKey": workspace.key, "toolkits": toolkits}


def router() -> APIRouter:
    """Build the discovery routes."""
    api = APIRouter(tags=["discovery"])
    api.add_api_route("/api/status", get_status, methods=["GET"])
    api.add_api_route("/api/workspaces", list_workspaces, methods=["GET"])
    api.add_api_route(W, get_workspace, methods=["GET"])
    api.add_api_route(f"{W}/runtime", get_runtime, methods=["GET"])
    api.add_api_route("/api/runtime", get_default_runtime, methods=["GET"])
    api.add_api_route(f"{W}/capabilities", list_capabilities, methods=["GET"])
    api.add_api_route(f"{W}/agents", list_agents, methods=["GET"])
    api.add_api_route("/api/agents", list_default_agents, methods=["GET"])
    api.add_api_route(f"{W}/agents/{{agent_id}}", get_agent, methods=["GET"])
    api.add_api_route(f"{W}/eval-capabilities", list_eval_modes, methods=["GET"])
    api.add_api_route(f"{W}/toolkits", list_toolkits, methods=["GET"])
    return api
