"""What the Studio shows about a workspace's runtime spec.

Pure functions of the :class:`~flowai_harness.specs.runtime.RuntimeSpec` and the binding: the
runtime summary, agent summaries, provider credentials (as references, never values), the
capability registry, the eval modes on offer and the tool inventory. No runtime is built here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, Final

from flowai_harness.errors import SpecValueError
from flowai_harness.specs.agents import AgentSpec
from flowai_harness.specs.builtin_tools import (
    BUILTIN_TOOLKITS,
    BUILTIN_TOOLS,
    role_default_tools,
    toolkit_tools_for_role,
)
from flowai_harness.specs.runtime import RuntimeSpec

__all__ = [
    "CATALOG_TOOLKIT",
    "ToolInfo",
    "agent_summary",
    "eval_modes",
    "provider_readiness",
    "provider_summaries",
    "runtime_summary",
    "tool_inventory",
    "toolkit_summaries",
]

CATALOG_TOOLKIT: Final = "catalog"
_MODE_TEXT: Final = {
    "sequential": ("Sequential", "Evaluate the coordinator-led workflow."),
    "planner": ("Planner", "Evaluate planned actions."),
    "executor": ("Executor", "Evaluate executed actions."),
}


def agent_summary(agent: AgentSpec) -> dict[str, Any]:
    """The ``AgentSummary`` of one agent."""
    return {
        "agentId": agent.name,
        "name": agent.name,
        "role": agent.role,
        "model": agent.model.id,
        "stateful": agent.stateful,
        "entrypoint": agent.role == "coordinator",
        "toolkits": list(agent.toolkits),
        "tools": [tool.binding_id or tool.name for tool in agent.tools],
        "routes": list(agent.routes),
    }


def _first(config: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = config.get(name)
        if value not in (None, ""):
            return value
    return None


def provider_readiness(providers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Whether each provider can answer now: ``{name, ready, missing?}``.

    ``configured`` in :func:`provider_summaries` says a credential is *declared*; this says it is
    *there*: an ``apiKeyEnv`` variable unset in the server's environment is ``missing``. Only the
    variable's name is reported, never its value.
    """
    rows: list[dict[str, Any]] = []
    for summary in provider_summaries(providers):
        credential = summary["credential"]
        row: dict[str, Any] = {"name": summary["name"], "ready": True}
        if credential["kind"] == "missing":
            row.update(ready=False, missing="no credential is configured (apiKeyEnv or secretRef)")
        elif credential["kind"] == "env" and not os.environ.get(str(credential["ref"])):
            row.update(ready=False, missing=f"environment variable {credential['ref']} is not set")
        rows.append(row)
    return rows


def provider_summaries(providers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Provider names with how their credential is supplied; never a key's value."""
    summaries: list[dict[str, Any]] = []
    for name, raw in providers.items():
        config = raw if isinstance(raw, Mapping) else {}
        env = _first(config, "apiKeyEnv", "api_key_env")
        secret_ref = _first(config, "secretRef", "secret_ref")
        if isinstance(env, str):
            credential: dict[str, Any] = {"kind": "env", "ref": env}
        elif isinstance(secret_ref, str):
            credential = {"kind": "secretRef", "ref": secret_ref}
        elif _first(config, "serverManaged", "server_managed", "apiKey", "api_key") is not None:
            credential = {"kind": "serverManaged"}
        else:
            credential = {"kind": "missing"}
        summaries.append(
            {
                "name": str(name),
                "configured": credential["kind"] != "missing",
                "credential": credential,
            }
        )
    return summaries


def runtime_summary(workspace_key: str, spec: RuntimeSpec) -> dict[str, Any]:
    """The body of ``GET W/runtime``."""
    return {
        "workspaceKey": workspace_key,
        "tenant": {"tenantId": spec.tenant.resource_id, "version": spec.tenant.version},
        "agents": [agent_summary(agent) for agent in spec.agents],
        "providers": provider_summaries(spec.providers),
        "plans": [
            {"name": plan.name, "schemaRef": f"runtime://plans/{plan.name}/schema"}
            for plan in spec.plans
        ],
        "references": [
            {
                "name": reference.name,
                "ttlMs": reference.ttl_ms,
                "schemaRef": f"runtime://references/{reference.name}/schema",
            }
            for reference in spec.references
        ],
    }


def _specialist_mode(agent: AgentSpec) -> dict[str, Any]:
    label = agent.name.replace("_", " ").replace("-", " ").title()
    return {
        "mode": "specialist",
        "label": label,
        "description": f"Evaluate the {agent.name} specialist directly.",
        "agentId": agent.name,
        "role": "specialist",
        "targetAgentId": agent.name,
    }


def eval_modes(spec: RuntimeSpec) -> list[dict[str, Any]]:
    """The eval modes the workspace can run: ``sequential`` (the first coordinator),
    ``planner`` and ``executor`` (the first agent of each role), then one ``specialist`` mode
    per specialist, labelled with its title-cased name."""
    modes: list[dict[str, Any]] = []
    seen_roles: set[str] = set()
    for agent in spec.agents:
        mode = {"coordinator": "sequential"}.get(agent.role, agent.role)
        if mode not in _MODE_TEXT or agent.role in seen_roles:
            continue
        seen_roles.add(agent.role)
        label, description = _MODE_TEXT[mode]
        modes.append(
            {
                "mode": mode,
                "label": label,
                "description": description,
                "agentId": agent.name,
                "role": agent.role,
            }
        )
    modes += [_specialist_mode(agent) for agent in spec.agents if agent.role == "specialist"]
    return modes


class ToolInfo:
    """One tool of the workspace and the agents that can call it."""

    __slots__ = (
        "agents",
        "approval",
        "description",
        "input_schema",
        "name",
        "origin",
        "output_schema",
        "toolkit",
    )

    def __init__(
        self,
        name: str,
        *,
        origin: str,
        description: str = "",
        toolkit: str | None = None,
        approval: str = "never",
        input_schema: Mapping[str, Any] | None = None,
        output_schema: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.origin = origin
        self.description = description
        self.toolkit = toolkit
        self.approval = approval
        self.input_schema = dict(input_schema or {"type": "object"})
        self.output_schema = None if output_schema is None else dict(output_schema)
        self.agents: list[str] = []

    @property
    def tool_id(self) -> str:
        """``<name>`` for host tools, ``<toolkit>.<name>`` for built-in ones."""
        return self.name if self.toolkit is None else f"{self.toolkit}.{self.name}"

    def summary(self, workspace_key: str | None = None) -> dict[str, Any]:
        """The ``ToolSummary`` wire form (plus the agents that have the tool)."""
        out: dict[str, Any] = {
            "toolId": self.tool_id,
            "name": self.name,
            "description": self.description,
            "origin": self.origin,
            "approval": self.approval,
            "inputSchema": self.input_schema,
            "agents": list(self.agents),
        }
        if self.toolkit is not None:
            out["toolkit"] = self.toolkit
        if self.output_schema is not None:
            out["outputSchema"] = self.output_schema
        return out


def _builtin(name: str, origin: str) -> ToolInfo:
    tool = BUILTIN_TOOLS[name]
    return ToolInfo(
        name,
        origin=origin,
        description=tool.description,
        toolkit=tool.toolkit,
        input_schema=tool.input_schema,
    )


def _toolkit_config(spec: RuntimeSpec, toolkit_id: str) -> Any:
    for toolkit in spec.toolkits:
        if toolkit.id == toolkit_id:
            return toolkit.config
    return None


def _agent_tools(spec: RuntimeSpec, agent: AgentSpec) -> Iterable[ToolInfo]:
    for name in role_default_tools(agent.role, has_routes=bool(agent.routes)):
        yield _builtin(name, "runtime")
    for toolkit_id in agent.toolkits:
        if toolkit_id not in BUILTIN_TOOLKITS:
            continue
        try:
            names = toolkit_tools_for_role(
                toolkit_id, role=agent.role, config=_toolkit_config(spec, toolkit_id)
            )
        except SpecValueError:
            continue  # create_runtime reports a bad toolkit config; the inventory skips it
        for name in names:
            yield _builtin(name, "toolkit")
    for tool in agent.tools:
        yield ToolInfo(
            tool.name,
            origin="host",
            description=tool.description,
            approval=tool.approval.get("kind", "never"),
            input_schema=tool.input_schema,
            output_schema=tool.output_schema,
        )


def tool_inventory(spec: RuntimeSpec, *, with_catalog: bool = False) -> list[ToolInfo]:
    """Every tool of the workspace's agents, by name (with the agents that have each).

    Args:
        spec: The runtime spec.
        with_catalog: Add the seven catalog tools even when no agent has the toolkit (the
            workspace has a data environment, so the Studio can run them directly).
    """
    tools: dict[str, ToolInfo] = {}
    for agent in spec.agents:
        for info in _agent_tools(spec, agent):
            known = tools.setdefault(info.name, info)
            if agent.name not in known.agents:
                known.agents.append(agent.name)
    if with_catalog:
        for name in BUILTIN_TOOLKITS[CATALOG_TOOLKIT]:
            tools.setdefault(name, _builtin(name, "toolkit"))
    return sorted(tools.values(), key=lambda info: info.name)


def toolkit_summaries(spec: RuntimeSpec, *, has_data: bool) -> list[dict[str, Any]]:
    """Every built-in toolkit, enabled when an agent uses it (catalog: or a data environment)."""
    used = {toolkit for agent in spec.agents for toolkit in agent.toolkits}
    for agent in spec.agents:
        for name in role_default_tools(agent.role, has_routes=bool(agent.routes)):
            used.add(BUILTIN_TOOLS[name].toolkit)
    return [
        {
            "toolkitId": toolkit,
            "name": toolkit,
            "enabled": toolkit in used or (toolkit == CATALOG_TOOLKIT and has_data),
            "tools": list(names),
        }
        for toolkit, names in BUILTIN_TOOLKITS.items()
    ]
