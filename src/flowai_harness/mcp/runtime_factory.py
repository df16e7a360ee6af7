"""``create_mcp_runtime``: a one-agent runtime that only serves tools over MCP.

The runtime has one specialist carrying the given Python tools and built-in toolkits, a
placeholder provider entry and the ``noop`` interpreter: no model is ever called and no
credentials are needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from flowai_harness.errors import SpecTypeError, SpecValueError

if TYPE_CHECKING:
    from flowai_harness.handle import Runtime
    from flowai_harness.specs.tools import ToolSpec

__all__ = ["MCP_AGENT_MODEL", "MCP_AGENT_PROMPT", "create_mcp_runtime"]

MCP_AGENT_MODEL = "claude-sonnet-4-6"
MCP_AGENT_PROMPT = "You expose tools to MCP clients. Tools are called directly; no model runs."


def create_mcp_runtime(
    *,
    tools: Iterable[ToolSpec] | None = None,
    toolkits: Iterable[str] | None = None,
    agent: str = "mcp",
    tenant: str = "flowai-mcp",
    data_environment: Mapping[str, Any] | None = None,
    services: Mapping[str, Any] | None = None,
) -> Runtime:
    """Build a runtime whose single specialist ``agent`` carries ``tools`` and ``toolkits``.

    Args:
        tools: Python tools with handlers (``ToolSpec`` values).
        toolkits: Built-in toolkit ids (``catalog``, ``plans``, ``references``, ``agents``).
        agent: Name of the specialist (and of the served MCP agent).
        tenant: Tenant id (version ``v1``); a data environment ``tenant_id`` must equal it.
        data_environment: Storage and data backends, as for ``create_runtime``.
        services: Host objects handed to tool handlers as ``ctx.<name>``.

    Returns:
        The runtime; serve it with ``serve_stdio`` / ``serve_http`` (agent ``agent``).

    Raises:
        ValueError: a blank tenant or agent name, an unknown toolkit, a data environment that
            names another tenant, ``catalog`` without ``catalog_search``, or any other
            ``create_runtime`` check.
        TypeError: an argument has the wrong type.
    """
    from flowai_harness.assemble import create_runtime
    from flowai_harness.specs.agents import define_specialist
    from flowai_harness.specs.runtime import define_runtime
    from flowai_harness.specs.tenant import define_tenant

    if not isinstance(tenant, str):
        raise SpecTypeError(f"tenant must be a string; got {type(tenant).__name__}")
    if not tenant.strip():
        raise SpecValueError("tenant must be a non-empty string")
    if not isinstance(agent, str):
        raise SpecTypeError(f"agent must be a string; got {type(agent).__name__}")
    if not agent.strip():
        raise SpecValueError("agent must be a non-empty string")
    if isinstance(toolkits, str):
        raise SpecTypeError(
            f"toolkits must be a list of toolkit ids, not a string; got {toolkits!r}"
        )
    tool_list = list(tools or ())
    specialist = define_specialist(
        agent,
        model=MCP_AGENT_MODEL,
        prompt=MCP_AGENT_PROMPT,
        tools=tool_list,
        toolkits=list(toolkits) if toolkits is not None else None,
    )
    spec = define_runtime(
        define_tenant(tenant, "v1"),
        agents=[specialist],
        providers={"anthropic": {"apiKey": "unused"}},
    )
    return create_runtime(
        spec,
        tool_bindings=tool_list,
        services=services or {},
        data_environment=data_environment,
        interpreter="noop",
    )
