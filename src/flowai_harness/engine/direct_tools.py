"""Call one agent's tools outside a model turn (the engine side of MCP serving).

A :class:`DirectTools` exposes the composed tool set of one agent (role defaults, toolkits and
bound Python tools) so a host can call a tool by name without running the model. Each call goes
through the same pipeline as a model's tool call (:func:`~flowai_harness.engine.dispatch.
dispatch_tool`): argument validation against the input schema, the agent's approval policy,
the handler, the UI channels.

Nobody reads the events of such calls, so they go to a sink that discards them and never
blocks. That sink refuses ``approval-required`` events: a tool (or plan) that needs a human
decision fails at once with the engine's "sink closed" error result instead of waiting for an
answer that can never come. Only non-interactive policies let a call through (``never``, or a
dynamic predicate returning ``False``). Each call gets its own approval broker, so refused
requests never show up among the runtime's pending approvals.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from flowai_harness.engine.approvals import ApprovalBroker
from flowai_harness.engine.compiled import CompiledAgent, EngineTool
from flowai_harness.engine.context import AgentScope, RunContext
from flowai_harness.engine.core import EngineCore
from flowai_harness.engine.dispatch import dispatch_tool
from flowai_harness.engine.emit import EventSink
from flowai_harness.errors import ConfigurationError, SpecTypeError, SpecValueError
from flowai_harness.events import ApprovalRequired, RuntimeEvent
from flowai_harness.ports import ToolDefinition, ToolOutcome, error_outcome

__all__ = ["ROUTING_TOOLS", "DirectTools"]

#: Built-in tools that hand work to another agent; they need a model-driven run.
ROUTING_TOOLS = frozenset({"call_agent"})


class _DiscardingSink(EventSink):
    """An event sink nobody reads: events are dropped, approval requests are refused."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(1)

    async def emit(self, event: RuntimeEvent) -> None:
        if isinstance(event, ApprovalRequired):
            # The gate reads this as "the consumer is gone" and fails the call immediately.
            raise ConnectionError("event sink closed")
        self.sequence += 1


class DirectTools:
    """The tools of one agent, callable one at a time without a model.

    Args:
        runtime: The engine runtime the agent belongs to.
        agent: The agent whose composed tool set is exposed.
        expose_agent_tools: Reserved for exposing sub-agent routing. ``False`` (the default)
            leaves ``call_agent`` out; ``True`` is refused for an agent that has it, because a
            routed call needs a model-driven run.
        thread_id: The thread every call runs on (``mcp-<uuid4>`` when ``None``).

    Raises:
        ConfigurationError: the agent does not exist, ``expose_agent_tools=True`` for an agent
            with ``call_agent``, or a tool has an input schema that is not an object schema.
        SpecValueError: ``thread_id`` is an empty string.
        SpecTypeError: ``agent`` or ``thread_id`` is not a string.
    """

    __slots__ = ("_agent", "_runtime", "_thread_id", "_tools")

    def __init__(
        self,
        runtime: EngineCore,
        agent: str,
        *,
        expose_agent_tools: bool = False,
        thread_id: str | None = None,
    ) -> None:
        if not isinstance(agent, str):
            raise SpecTypeError(f"agent must be a string; got {type(agent).__name__}")
        if thread_id is not None and not isinstance(thread_id, str):
            raise SpecTypeError(
                f"thread_id must be a string or None; got {type(thread_id).__name__}"
            )
        if thread_id is not None and not thread_id.strip():
            raise SpecValueError("thread_id must be a non-empty string when given")
        compiled = runtime._compiled.agents.get(agent)
        if compiled is None:
            raise ConfigurationError(f"agent '{agent}' not found in runtime")
        self._runtime = runtime
        self._agent = compiled
        self._tools = _exposed_tools(compiled, expose_agent_tools=bool(expose_agent_tools))
        self._thread_id = thread_id or f"mcp-{uuid.uuid4()}"

    @property
    def agent(self) -> str:
        """The name of the agent whose tools are exposed."""
        return self._agent.name

    @property
    def thread_id(self) -> str:
        """The thread every call runs on."""
        return self._thread_id

    @property
    def definitions(self) -> tuple[ToolDefinition, ...]:
        """The exposed tools, in the agent's order (role defaults, toolkits, bound tools)."""
        return tuple(tool.definition for tool in self._tools.values())

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    async def call(self, name: str, args: Any, *, call_id: str | None = None) -> ToolOutcome:
        """Run one tool call through the agent's pipeline and return its outcome.

        Args:
            name: The tool name; a name that is not exposed gives an ``Unknown tool`` error.
            args: The arguments (``None`` becomes ``{}`` for object schemas).
            call_id: The tool-use id handed to the handler as ``ctx.tool_use_id``
                (a fresh UUID when ``None``).

        Returns:
            The outcome; failures (invalid arguments, approval needed, handler errors) are
            error outcomes, never exceptions.
        """
        if name not in self._tools:
            return error_outcome(f"Unknown tool: {name}")
        runtime = self._runtime
        run = RunContext(
            runtime._compiled,
            _DiscardingSink(),
            self._thread_id,
            ApprovalBroker(),
            runtime._references,
            runtime._plan_locks,
        )
        scope = AgentScope(run, self._agent, self._thread_id)
        return await dispatch_tool(scope, call_id or str(uuid.uuid4()), name, args)


def _exposed_tools(agent: CompiledAgent, *, expose_agent_tools: bool) -> Mapping[str, EngineTool]:
    routing = [name for name in agent.tools if name in ROUTING_TOOLS]
    if routing and expose_agent_tools:
        raise ConfigurationError(
            f"direct MCP exposure of recursive agent tools is not supported: agent "
            f"'{agent.name}' has {', '.join(routing)}; serve it with expose_agent_tools=False "
            f"(routing tools are then left out)"
        )
    tools = {name: tool for name, tool in agent.tools.items() if name not in ROUTING_TOOLS}
    for name, tool in tools.items():
        if tool.definition.input_schema.get("type") != "object":
            raise ConfigurationError(
                f"tool '{name}' of agent '{agent.name}' cannot be served over MCP: its input "
                f'schema must be a JSON Schema object ({{"type": "object", ...}}); got '
                f"type {tool.definition.input_schema.get('type')!r}"
            )
    return tools
