"""The compiled runtime: the typed runtime spec plus Python callbacks, checked once.

``compile_runtime`` is the engine's only entry point for configuration. It reads a validated
:class:`~flowai_harness.specs.runtime.RuntimeSpec`, whose own validation already checked what
the spec alone can tell (agent names, routes, the coordinator, overrides naming agents, turn
budgets, duplicate kinds). It adds the checks that need the host's callbacks, the model clients
and the data environment, and returns immutable per-agent tool tables and approval rules that
every request reuses without rebuilding. A wire dict (a file, Studio) is validated into a
``RuntimeSpec`` before it gets here; the engine never reads the wire form.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.engine.approvals import ALWAYS, NEVER, ApprovalRule, Predicate
from flowai_harness.engine.budget import RunBudget
from flowai_harness.engine.cassette import NO_CASSETTE, CassetteWriter, NoCassette
from flowai_harness.engine.limits import DEFAULT_LIMITS, TOOL_RESULT_KIND, RuntimeLimits
from flowai_harness.engine.observer import NULL_OBSERVER, RunObserver
from flowai_harness.engine.schemas import SchemaValidator, compile_schema
from flowai_harness.errors import ConfigurationError
from flowai_harness.ports import KeyValueStore, ModelClient, ToolDefinition, ToolOutcome
from flowai_harness.specs.agents import (
    DEFAULT_MAX_PARALLEL_TOOL_CALLS,
    DEFAULT_MAX_TURNS,
    AgentSpec,
    resolve_model_provider,
)
from flowai_harness.specs.builtin_tools import (
    BUILTIN_TOOLS,
    role_default_tools,
    toolkit_tools_for_role,
)
from flowai_harness.specs.runtime import RuntimeSpec
from flowai_harness.specs.tools import ToolSpec

__all__ = [
    "BuiltinHandler",
    "CompiledAgent",
    "CompiledPlan",
    "CompiledReference",
    "CompiledRuntime",
    "EngineInputs",
    "EngineTool",
    "compile_runtime",
]

#: A built-in tool's handler: ``(call, args) -> outcome``, where ``call`` is the
#: :class:`~flowai_harness.engine.context.ToolCall` of the dispatch.
BuiltinHandler = Callable[[Any, Any], Awaitable[ToolOutcome]]
WireRule = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class EngineTool:
    """One callable tool of one agent."""

    definition: ToolDefinition
    builtin: bool
    handler: Callable[..., Any]
    is_async: bool
    validator: SchemaValidator
    approval_rule: ApprovalRule


@dataclass(frozen=True, slots=True)
class CompiledAgent:
    """An agent ready to run: its model client, tools and approval rules."""

    name: str
    role: str
    stateful: bool
    model: str
    provider: str
    system_prompt: str
    routes: tuple[str, ...]
    max_turns: int
    tools: Mapping[str, EngineTool]
    tool_definitions: tuple[ToolDefinition, ...]
    plan_rule: ApprovalRule
    client: ModelClient
    #: how many tool calls of one model turn may run at once (1: one after another)
    max_parallel_tool_calls: int = DEFAULT_MAX_PARALLEL_TOOL_CALLS


@dataclass(frozen=True, slots=True)
class CompiledReference:
    """A declared reference kind."""

    name: str
    validator: SchemaValidator
    ttl_ms: int | None


@dataclass(frozen=True, slots=True)
class CompiledPlan:
    """A declared plan kind."""

    name: str
    validator: SchemaValidator
    display_aliases: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class EngineInputs:
    """What ``create_runtime`` hands the engine: the typed spec and the Python callbacks."""

    spec: RuntimeSpec
    clients: Mapping[str, ModelClient]
    kv: KeyValueStore
    #: the handler of every built-in tool by name: the engine's own (routing, plans,
    #: references; ``engine.builtins.engine_tool_handlers``) and the adapters' (catalog)
    builtin_handlers: Mapping[str, BuiltinHandler]
    #: bound Python tools by binding key, each the one carrying the handler
    tools: Mapping[str, ToolSpec] = field(default_factory=dict)
    predicates: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    action_dispatcher: Callable[..., Any] | None = None
    event_hooks: Sequence[Callable[[dict[str, Any]], Any]] = ()
    services: Mapping[str, Any] = field(default_factory=dict)
    data_environment: Mapping[str, Any] | None = None
    #: size limits on tool results and arguments
    limits: RuntimeLimits = DEFAULT_LIMITS
    #: the default budget of every run (a call may override it)
    budget: RunBudget = field(default_factory=RunBudget)
    #: where runs are recorded (``create_runtime(record=...)``; the clients record the turns)
    cassette: CassetteWriter | NoCassette = NO_CASSETTE
    #: what the engine tells about each step (OpenTelemetry spans when configured)
    observer: RunObserver = NULL_OBSERVER


@dataclass(frozen=True, slots=True)
class CompiledRuntime:
    """Everything a request needs, shared by all requests of one runtime."""

    resource_id: str
    agents: Mapping[str, CompiledAgent]
    coordinator: str | None
    references: Mapping[str, CompiledReference]
    plans: Mapping[str, CompiledPlan]
    action_dispatcher: Callable[..., Any] | None
    event_hooks: tuple[Callable[[dict[str, Any]], Any], ...]
    services: Mapping[str, Any]
    kv: KeyValueStore
    data_environment: Mapping[str, Any] | None
    limits: RuntimeLimits = DEFAULT_LIMITS
    budget: RunBudget = field(default_factory=RunBudget)
    cassette: CassetteWriter | NoCassette = NO_CASSETTE
    observer: RunObserver = NULL_OBSERVER


def compile_runtime(inputs: EngineInputs) -> CompiledRuntime:
    """Check the configuration against the callbacks and build the shared runtime tables.

    Raises:
        ConfigurationError: a dynamic approval predicate is not registered; an agent uses a
            toolkit the spec does not declare, or the catalog toolkit without catalog search;
            a toolkit narrowing does not fit the agent's role; a bound tool has no handler or
            shares its name with another tool of the agent; a built-in tool has no handler; a
            reference kind is reserved; a schema is not valid JSON Schema; or no model client
            serves an agent's provider.
    """
    spec = inputs.spec
    _require_predicates(spec, inputs.tools.values(), inputs.predicates)
    rules = _RuleTable(spec, inputs.predicates)
    agents = {agent.name: _compile_agent(agent, inputs, rules) for agent in spec.agents}
    return CompiledRuntime(
        resource_id=spec.tenant.resource_id,
        agents=agents,
        coordinator=next((a.name for a in spec.agents if a.role == "coordinator"), None),
        references=_compile_references(spec, inputs.limits),
        plans=_compile_plans(spec),
        action_dispatcher=inputs.action_dispatcher,
        event_hooks=tuple(inputs.event_hooks),
        services=dict(inputs.services),
        kv=inputs.kv,
        data_environment=inputs.data_environment,
        limits=inputs.limits,
        budget=inputs.budget,
        cassette=inputs.cassette,
        observer=inputs.observer,
    )


def _compile_agent(agent: AgentSpec, inputs: EngineInputs, rules: _RuleTable) -> CompiledAgent:
    tools = _AgentTools(agent, inputs, rules).compile()
    provider = resolve_model_provider(agent.model)
    client = inputs.clients.get(provider) or inputs.clients.get("*")
    if client is None:
        raise ConfigurationError(
            f"agent '{agent.name}' references provider '{provider}' for model "
            f"'{agent.model.id}', but no such provider is declared in RuntimeSpec.providers"
        )
    return CompiledAgent(
        name=agent.name,
        role=agent.role,
        stateful=agent.stateful,
        model=agent.model.id,
        provider=provider,
        system_prompt=agent.system_prompt,
        routes=tuple(agent.routes),
        max_turns=agent.max_turns or DEFAULT_MAX_TURNS[agent.role],
        tools=tools,
        tool_definitions=tuple(t.definition for t in tools.values()),
        plan_rule=rules.plan_rule(agent.name),
        client=client,
        max_parallel_tool_calls=agent.max_parallel_tool_calls or DEFAULT_MAX_PARALLEL_TOOL_CALLS,
    )


# --------------------------------------------------------------------------- approval rules


def _wire_rules(spec: RuntimeSpec, tools: Iterable[ToolSpec]) -> list[WireRule]:
    """Every rule the spec and the bound tools declare, used or not."""
    floor, overrides = spec.approval_policies, spec.approval_overrides
    found: list[WireRule | None] = [floor.plans, floor.tools]
    for patch in overrides.agents.values():
        found += [patch.plans, patch.tools]
    for per_tool in overrides.tools.values():
        found += list(per_tool.values())
    for agent in spec.agents:
        found += [tool.approval for tool in agent.tools]
    found += [tool.approval for tool in tools]
    return [rule for rule in found if rule is not None]


def _require_predicates(
    spec: RuntimeSpec, tools: Iterable[ToolSpec], predicates: Mapping[str, Callable[..., Any]]
) -> None:
    # Checked before any tool is compiled: a missing predicate is reported before a missing
    # handler, which is the order the reference reports them in.
    named = {rule["value"] for rule in _wire_rules(spec, tools) if rule["kind"] == "dynamic"}
    missing = sorted(named - set(predicates))
    if missing:
        raise ConfigurationError(f"dynamic approval predicate '{missing[0]}' is not registered")


class _RuleTable:
    """The spec's approval rules resolved per agent, most specific last (see ``approvals``)."""

    __slots__ = ("_predicates", "_spec")

    def __init__(self, spec: RuntimeSpec, predicates: Mapping[str, Callable[..., Any]]) -> None:
        self._spec = spec
        self._predicates = predicates

    def rule(self, wire: WireRule) -> ApprovalRule:
        """The typed form of a wire rule the spec has already normalized."""
        match wire:
            case {"kind": "never"}:
                return NEVER
            case {"kind": "always"}:
                return ALWAYS
            case {"kind": "dynamic", "value": str(predicate_id)}:
                return Predicate(predicate_id, self._predicates[predicate_id])
        raise ConfigurationError(f"unsupported approval rule {dict(wire)!r}")

    def plan_rule(self, agent: str) -> ApprovalRule:
        """The plans channel of ``agent``: its patch, else the floor."""
        patch = self._spec.approval_overrides.agents.get(agent)
        wire = patch.plans if patch is not None and patch.plans else None
        return self.rule(wire or self._spec.approval_policies.plans)

    def tool_rule(self, agent: str, keys: Sequence[str], own: WireRule | None) -> ApprovalRule:
        """The rule of one tool: a per-tool override (first of ``keys``), else the tool's own
        rule, else the agent's patch, else the floor."""
        per_tool = self._spec.approval_overrides.tools.get(agent) or {}
        for key in keys:
            if per_tool.get(key):
                return self.rule(per_tool[key])
        if own:
            return self.rule(own)
        patch = self._spec.approval_overrides.agents.get(agent)
        wire = patch.tools if patch is not None and patch.tools else None
        return self.rule(wire or self._spec.approval_policies.tools)


# --------------------------------------------------------------------------- tools


# Built-ins whose handlers check their own arguments and answer with the reference's exact
# messages ("Missing 'agent' name string", ...); generic schema validation would pre-empt them.
_SELF_VALIDATING = frozenset({"call_agent"})


class _AgentTools:
    """Builds one agent's tool table: role defaults, then toolkits, then bound tools."""

    __slots__ = ("_agent", "_inputs", "_rules", "_tools")

    def __init__(self, agent: AgentSpec, inputs: EngineInputs, rules: _RuleTable) -> None:
        self._agent = agent
        self._inputs = inputs
        self._rules = rules
        self._tools: dict[str, EngineTool] = {}

    def compile(self) -> dict[str, EngineTool]:
        agent = self._agent
        for name in role_default_tools(agent.role, has_routes=bool(agent.routes)):
            self._tools[name] = self._builtin(name)
        configs = {toolkit.id: toolkit.config for toolkit in self._inputs.spec.toolkits}
        for toolkit_id in agent.toolkits:
            for name in self._toolkit_tools(toolkit_id, configs):
                if name not in self._tools:  # role defaults win silently
                    self._tools[name] = self._builtin(name)
        for tool in agent.tools:
            self._add_bound(tool)
        return self._tools

    def _toolkit_tools(self, toolkit_id: str, configs: Mapping[str, Any]) -> tuple[str, ...]:
        agent = self._agent
        if toolkit_id not in configs:
            raise ConfigurationError(f"agent '{agent.name}' uses unknown toolkit id '{toolkit_id}'")
        if toolkit_id == "catalog":
            _require_catalog(agent.name, self._inputs.data_environment)
        try:
            return toolkit_tools_for_role(toolkit_id, role=agent.role, config=configs[toolkit_id])
        except ValueError as exc:
            raise ConfigurationError(f"agent '{agent.name}': {exc}") from exc

    def _builtin(self, name: str) -> EngineTool:
        definition = BUILTIN_TOOLS[name]
        handler = self._inputs.builtin_handlers.get(name)
        if handler is None:
            raise ConfigurationError(
                f"built-in tool '{name}' of agent '{self._agent.name}' has no handler (the "
                f"engine's own come from engine.builtins.engine_tool_handlers)"
            )
        schema = {} if name in _SELF_VALIDATING else definition.input_schema
        return EngineTool(
            definition=ToolDefinition(name, definition.description, definition.input_schema),
            builtin=True,
            handler=handler,
            is_async=True,
            validator=compile_schema(schema),
            approval_rule=self._rules.tool_rule(self._agent.name, (name,), None),
        )

    def _add_bound(self, declared: ToolSpec) -> None:
        agent, key = self._agent.name, declared.binding_key
        tool = self._inputs.tools.get(key, declared)
        if tool.handler is None:
            raise ConfigurationError(
                f"tool binding '{key}' for agent '{agent}' has no Python handler; attach one: "
                f"decorate the function with the tool (`@tool` over `def handler(args, ctx)`, "
                f"where tool = define_tool({tool.name!r}, ...)), or call tool.bind(handler), or "
                f"pass the bound tool to create_runtime(spec, tool_bindings=[tool])"
            )
        if tool.name in self._tools:
            raise ConfigurationError(
                f"agent '{agent}' has two tools named '{tool.name}' (tool names must be unique "
                f"across role built-ins, toolkits and bound tools)"
            )
        self._tools[tool.name] = EngineTool(
            definition=ToolDefinition(tool.name, tool.description, tool.input_schema),
            builtin=False,
            handler=tool.handler,
            is_async=inspect.iscoroutinefunction(tool.handler),
            validator=_validator(tool.input_schema, f"tool '{tool.name}' input"),
            approval_rule=self._rules.tool_rule(agent, (key, tool.name), tool.approval),
        )


def _require_catalog(agent: str, data_environment: Mapping[str, Any] | None) -> None:
    if not data_environment or not data_environment.get("catalogSearch"):
        raise ConfigurationError(
            f"agent '{agent}' uses the catalog toolkit but catalog search is not configured: "
            f"add data_environment.catalog_search.index_path"
        )


# --------------------------------------------------------------------------- kinds


def _compile_references(spec: RuntimeSpec, limits: RuntimeLimits) -> dict[str, CompiledReference]:
    out: dict[str, CompiledReference] = {}
    for ref in spec.references:
        if ref.name == TOOL_RESULT_KIND:
            raise ConfigurationError(
                f"reference kind '{ref.name}' is reserved: the runtime stores tool results too "
                f"large to send to the model under it; choose another name"
            )
        validator = _validator(ref.schema_, f"reference '{ref.name}'")
        out[ref.name] = CompiledReference(ref.name, validator, ref.ttl_ms)
    out[TOOL_RESULT_KIND] = CompiledReference(
        TOOL_RESULT_KIND, compile_schema({}), limits.stored_result_ttl_ms
    )
    return out


def _compile_plans(spec: RuntimeSpec) -> dict[str, CompiledPlan]:
    return {
        plan.name: CompiledPlan(
            plan.name,
            _validator(plan.schema_, f"plan '{plan.name}'"),
            {alias.status: alias.alias for alias in plan.display_aliases},
        )
        for plan in spec.plans
    }


def _validator(schema: Mapping[str, Any], what: str) -> SchemaValidator:
    try:
        return compile_schema(schema)
    except Exception as exc:  # jsonschema.SchemaError and friends
        raise ConfigurationError(f"{what} has an invalid JSON Schema: {exc}") from exc
