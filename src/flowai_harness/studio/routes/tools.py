"""Tools (contract ``ToolsResponse``): list the workspace's tools and run one.

The list holds every tool of the workspace's agents (host tools, role and toolkit tools) and,
with a data environment, the seven catalog tools. Catalog tools run directly against the data
environment; other tools run through the agent that has them (argument validation and the
agent's approval policy included: a tool that needs a human approval fails at once, as over
MCP). ``call_agent`` needs a model-driven run and cannot be executed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request

from flowai_harness.studio.api_errors import StudioApiError, not_found, scrub_secrets
from flowai_harness.studio.context import Workspace, workspace_scope
from flowai_harness.studio.data_jobs import execute_catalog_tool
from flowai_harness.studio.inspection import CATALOG_TOOLKIT, ToolInfo, tool_inventory

__all__ = ["router"]

W = "/api/workspaces/{workspace_key}"


def _tools(workspace: Workspace) -> list[ToolInfo]:
    binding = workspace.binding
    return tool_inventory(binding.runtime_spec, with_catalog=binding.data_environment is not None)


def _find(workspace: Workspace, tool_id: str) -> ToolInfo:
    for tool in _tools(workspace):
        if tool_id in (tool.tool_id, tool.name):
            return tool
    raise not_found(workspace.key, "tool", "toolId", tool_id)


async def _input(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise StudioApiError(400, "tool.invalid_input", "The body must be valid JSON.") from None
    if not isinstance(body, Mapping):
        raise StudioApiError(400, "tool.invalid_input", 'The body must be `{"input": {...}}`.')
    args = body.get("input", {})
    if not isinstance(args, Mapping):
        raise StudioApiError(400, "tool.invalid_input", "`input` must be an object.")
    return dict(args)


async def _execute(workspace: Workspace, tool: ToolInfo, args: dict[str, Any]) -> Any:
    from flowai_harness.engine.direct_tools import ROUTING_TOOLS, DirectTools

    runtime = await workspace.runtime()
    if tool.toolkit == CATALOG_TOOLKIT and (
        not tool.agents or workspace.binding.data_environment is not None
    ):
        return await execute_catalog_tool(workspace.data(), runtime, tool.name, args)
    if tool.name in ROUTING_TOOLS or not tool.agents:
        raise StudioApiError(
            409,
            "tool.not_executable",
            f"Tool `{tool.name}` can only run inside an agent run.",
            {"toolId": tool.tool_id},
        )
    if tool.approval == "always":
        raise _needs_approval(tool)
    try:
        direct = DirectTools(runtime, tool.agents[0], thread_id=f"studio-tools-{workspace.key}")
    except ValueError as exc:
        raise StudioApiError(409, "tool.not_executable", scrub_secrets(str(exc))) from None
    outcome = await direct.call(tool.name, args)
    content = outcome.content
    if outcome.is_error and isinstance(content, Mapping) and content.get("error") == _REFUSED:
        raise _needs_approval(tool)  # a predicate asked for a person on these arguments
    return outcome


#: The engine's result for an approval that a direct call (no one to ask) cannot wait for.
_REFUSED = "Approval event sink closed before request was emitted"


def _needs_approval(tool: ToolInfo) -> StudioApiError:
    return StudioApiError(
        409,
        "tool.needs_approval",
        f"Tool `{tool.name}` needs a person's approval for this call, and a direct run has "
        "no one to ask: run it from an agent in the Playground and answer the approval there "
        "(or in the Approvals inbox).",
        {"toolId": tool.tool_id},
    )


async def list_tools(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    return {
        "workspaceKey": workspace.key,
        "tools": [tool.summary() for tool in _tools(workspace)],
    }


async def execute_tool(
    tool_id: str, request: Request, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    tool = _find(workspace, tool_id)
    args = await _input(request)
    outcome = await _execute(workspace, tool, args)
    data = outcome.content
    if outcome.is_error:
        message = data.get("error") if isinstance(data, Mapping) else data
        if isinstance(message, str) and message.startswith(("Invalid input", "Invalid argu")):
            raise StudioApiError(
                400, "tool.invalid_input", scrub_secrets(message), {"toolId": tool.tool_id}
            )
    return {
        "workspaceKey": workspace.key,
        "result": {"toolId": tool.tool_id, "success": not outcome.is_error, "data": data},
    }


def router() -> APIRouter:
    """Build the tool routes."""
    api = APIRouter(tags=["tools"])
    api.add_api_route(f"{W}/tools", list_tools, methods=["GET"])
    api.add_api_route(f"{W}/tools/{{tool_id}}/execute", execute_tool, methods=["POST"])
    return api
