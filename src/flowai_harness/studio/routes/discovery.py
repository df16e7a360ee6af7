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


def router() -> APIRouter:
    """Build the discovery routes."""
    api = APIRouter(tags=["discovery"])

    @api.get("/api/status")
    async def get_status() -> dict[str, Any]:
        return dict(status_body())

    @api.get("/api/workspaces")
    async def list_workspaces(
        context: StudioContext = Depends(studio_context),
    ) -> dict[str, Any]:
        return context.app.workspaces_response()

    @api.get(W)
    async def get_workspace(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
        return workspace.binding.workspace_summary()

    def runtime_body(workspace: Workspace) -> dict[str, Any]:
        spec = workspace.binding.runtime_spec
        # providerReadiness: whether each provider's key is really there (the UI's readiness).
        return {
            **workspace.binding.runtime_summary(),
            "providerReadiness": provider_readiness(spec.providers),
        }

    @api.get(f"{W}/runtime")
    async def get_runtime(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
        return runtime_body(workspace)

    @api.get("/api/runtime")
    async def get_default_runtime(
        workspace: Workspace = Depends(default_workspace_scope),
    ) -> dict[str, Any]:
        return runtime_body(workspace)

    @api.get(f"{W}/capabilities")
    async def list_capabilities(
        workspace: Workspace = Depends(workspace_scope),
    ) -> dict[str, Any]:
        capabilities = workspace.binding.capability_registry()
        return {"workspaceKey": workspace.key, "capabilities": capabilities}

    @api.get(f"{W}/agents")
    async def list_agents(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
        return workspace.binding.agents_response()

    @api.get("/api/agents")
    async def list_default_agents(
        workspace: Workspace = Depends(default_workspace_scope),
    ) -> dict[str, Any]:
        return workspace.binding.agents_response()

    @api.get(f"{W}/agents/{{agent_id}}")
    async def get_agent(
        agent_id: str, workspace: Workspace = Depends(workspace_scope)
    ) -> dict[str, Any]:
        for agent in workspace.binding.runtime_spec.agents:
            if agent.name == agent_id:
                return {"workspaceKey": workspace.key, **agent_summary(agent)}
        raise not_found(workspace.key, "agent", "agentId", agent_id)

    @api.get(f"{W}/eval-capabilities")
    async def list_eval_modes(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
        return workspace.binding.eval_capabilities_response()

    @api.get(f"{W}/toolkits")
    async def list_toolkits(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
        binding = workspace.binding
        toolkits = toolkit_summaries(
            binding.runtime_spec, has_data=binding.data_environment is not None
        )
        return {"workspaceKey": workspace.key, "toolkits": toolkits}

    return api
