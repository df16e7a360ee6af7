"""The compiled runtime: the wire spec plus Python callbacks, checked once and ready to run.

``compile_runtime`` is the engine's only entry point for configuration. It takes the camelCase
wire dict of a ``RuntimeSpec`` (so the engine can be driven from JSON in tests) and a table of
callbacks, runs every construction-time check of engine.md §0.2, and returns immutable
per-agent tool tables and approval policies that each request reuses without rebuilding.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.engine.builtins import builtin_handler
from flowai_harness.engine.limits import DEFAULT_LIMITS, TOOL_RESULT_KIND, RuntimeLimits
from flowai_harness.engine.schemas import SchemaValidator, compile_schema
from flowai_harness.errors import ConfigurationError
from flowai_harness.ports import KeyValueStore, ModelClient, ToolDefinition
from flowai_harness.specs.agents import (
    DEFAULT_MAX_TURNS,
    DEFAULT_STATEFUL,
    ModelSpec,
    resolve_model_provider,
)
from flowai_harness.specs.builtin_tools import (
    BUILTIN_TOOLS,
    role_default_tools,
    toolkit_tools_for_role,
)

__all__ = ["CompiledAgent", "CompiledRuntime", "EngineInputs", "EngineTool", "compile_runtime"]

Rule = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class EngineTool:
    """One callable tool of one agent."""

    definition: ToolDefinition
    builtin: bool
    handler: Callable[..., Any]
    is_async: bool
    validator: SchemaValidator
    approval_rule: Rule


@dataclass(frozen=True, slots=True)
class CompiledAgent:
    """An agent ready to run: its model client, tools and approval policy."""

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
    plan_rule: Rule
    client: ModelClient


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


@dataclass(slots=True)
class EngineInputs:
    """What ``create_runtime`` hands the engine: the wire spec and the Python callbacks."""

    spec: Mapping[str, Any]
    resource_id: str
    clients: Mapping[str, ModelClient]
    kv: KeyValueStore
    agent_tools: Mapping[str, Sequence[str]] = field(default_factory=dict)
    tool_specs: Sequence[Mapping[str, Any]] = ()
    handlers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    predicates: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    action_dispatcher: Callable[..., Any] | None = None
    event_hooks: Sequence[Callable[[dict[str, Any]], Any]] = ()
    services: Mapping[str, Any] = field(default_factory=dict)
    data_environment: Mapping[str, Any] | None = None
    mock_response: str | None = None
    #: handlers of built-in tools served by adapters (the catalog toolkit), by tool name
    builtin_handlers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    #: size limits on tool results and arguments
    limits: RuntimeLimits = DEFAULT_LIMITS


@dataclass(frozen=True, slots=True)
class CompiledRuntime:
    """Everything a request needs, shared by all requests of one ``Runtime``."""

    resource_id: str
    agents: Mapping[str, CompiledAgent]
    coordinator: str | None
    references: Mapping[str, CompiledReference]
    plans: Mapping[str, CompiledPlan]
    predicates: Mapping[str, Callable[..., Any]]
    action_dispatcher: Callable[..., Any] | None
    event_hooks: tuple[Callable[[dict[str, Any]], Any], ...]
    services: Mapping[str, Any]
    kv: KeyValueStore
    data_environment: Mapping[str, Any] | None
    limits: RuntimeLimits = DEFAULT_LIMITS


def compile_runtime(inputs: EngineInputs) -> CompiledRuntime:
    """Check the configuration and build the shared runtime tables.

    Raises:
        ConfigurationError: any construction-time check of engine.md §0.2 fails.
    """
    spec = inputs.spec
    tenant = spec.get("tenant") or {}
    if tenant.get("resourceId") != inputs.resource_id:
        raise ConfigurationError(
            f"resource_id mismatch with runtime tenant: spec tenant "
            f"{tenant.get('resourceId')!r} != {inputs.resource_id!r}"
        )
    agents_wire: list[Mapping[str, Any]] = list(spec.get("agents") or [])
    _check_topology(agents_wire, spec)
    references = _compile_references(spec, inputs.limits)
    plans = _compile_plans(spec)
    toolkit_configs = {t["id"]: t.get("config") for t in spec.get("toolkits") or []}
    tool_specs = {s.get("bindingId") or s["name"]: s for s in inputs.tool_specs}
    floor = spec.get("approvalPolicies") or {
        "plans": {"kind": "always"},
        "tools": {"kind": "never"},
    }
    overrides = spec.get("approvalOverrides") or {}
    used_predicates = _dynamic_rule_ids(floor, overrides)

    compiled: dict[str, CompiledAgent] = {}
    for wire in agents_wire:
        name = wire["name"]
        patch = (overrides.get("agents") or {}).get(name) or {}
        tool_rule = patch.get("tools") or floor["tools"]
        plan_rule = patch.get("plans") or floor["plans"]
        per_tool = dict((overrides.get("tools") or {}).get(name) or {})
        tools = _compile_agent_tools(
            wire,
            toolkit_configs,
            inputs.agent_tools.get(name, ()),
            tool_specs,
            inputs.handlers,
            tool_rule,
            per_tool,
            inputs.data_environment,
            inputs.builtin_handlers,
        )
        for rule in [plan_rule, *(t.approval_rule for t in tools.values())]:
            if rule.get("kind") == "dynamic":
                used_predicates.add(rule["value"])
        model = ModelSpec.model_validate(wire["model"])
        provider = resolve_model_provider(model)
        client = inputs.clients.get(provider) or inputs.clients.get("*")
        if client is None:
            raise ConfigurationError(
                f"agent '{name}' references provider '{provider}' for model '{model.id}', but no "
                f"such provider is declared in RuntimeSpec.providers"
            )
        compiled[name] = CompiledAgent(
            name=name,
            role=wire["role"],
            stateful=bool(
                DEFAULT_STATEFUL[wire["role"]] if wire.get("stateful") is None else wire["stateful"]
            ),
            model=model.id,
            provider=provider,
            system_prompt=wire.get("systemPrompt") or "",
            routes=tuple(wire.get("routes") or ()),
            max_turns=int(wire.get("maxTurns") or DEFAULT_MAX_TURNS[wire["role"]]),
            tools=tools,
            tool_definitions=tuple(t.definition for t in tools.values()),
            plan_rule=plan_rule,
            client=client,
        )
    missing = sorted(used_predicates - set(inputs.predicates))
    if missing:
        raise ConfigurationError(f"dynamic approval predicate '{missing[0]}' is not registered")
    coordinator = next((a["name"] for a in agents_wire if a["role"] == "coordinator"), None)
    return CompiledRuntime(
        resource_id=inputs.resource_id,
        agents=compiled,
        coordinator=coordinator,
        references=references,
        plans=plans,
        predicates=dict(inputs.predicates),
        action_dispatcher=inputs.action_dispatcher,
        event_hooks=tuple(inputs.event_hooks),
        services=dict(inputs.services),
        kv=inputs.kv,
        data_environment=inputs.data_environment,
        limits=inputs.limits,
    )


def _dynamic_rule_ids(floor: Mapping[str, Any], overrides: Mapping[str, Any]) -> set[str]:
    """Predicate ids of every dynamic rule in the floor and the overrides, used or not."""
    rules: list[Any] = [floor.get("plans"), floor.get("tools")]
    for patch in (overrides.get("agents") or {}).values():
        rules += [(patch or {}).get("plans"), (patch or {}).get("tools")]
    for per_tool in (overrides.get("tools") or {}).values():
        rules += list((per_tool or {}).values())
    return {
        rule["value"]
        for rule in rules
        if isinstance(rule, Mapping) and rule.get("kind") == "dynamic"
    }


def _check_topology(agents: Sequence[Mapping[str, Any]], spec: Mapping[str, Any]) -> None:
    names = [a["name"] for a in agents]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigurationError(f"duplicate agent name '{name}'")
        seen.add(name)
    coordinators = [a["name"] for a in agents if a["role"] == "coordinator"]
    if len(coordinators) > 1:
        raise ConfigurationError("multiple coordinator agents are not supported")
    for agent in agents:
        routes = list(agent.get("routes") or [])
        if agent["role"] == "coordinator" and not routes:
            raise ConfigurationError("coordinator agents require at least one route")
        for route in routes:
            if route == agent["name"]:
                raise ConfigurationError(f"agent '{route}' cannot route to itself")
            if route not in seen:
                raise ConfigurationError(
                    f"agent '{agent['name']}' declares unknown route target '{route}'"
                )
        duplicates = sorted({route for route in routes if routes.count(route) > 1})
        if duplicates:
            raise ConfigurationError(
                f"agent '{agent['name']}' declares duplicate route '{duplicates[0]}'"
            )
        max_turns = agent.get("maxTurns")
        if max_turns is not None and int(max_turns) < 1:
            raise ConfigurationError(f"agent '{agent['name']}' maxTurns must be >= 1")
    overrides = spec.get("approvalOverrides") or {}
    unknown = sorted(
        (set(overrides.get("agents") or {}) | set(overrides.get("tools") or {})) - seen
    )
    if unknown:
        raise ConfigurationError(f"approval_overrides references unknown agent(s): {unknown}")


def _compile_references(
    spec: Mapping[str, Any], limits: RuntimeLimits
) -> dict[str, CompiledReference]:
    out: dict[str, CompiledReference] = {}
    for ref in spec.get("references") or []:
        name = ref["name"]
        if name in out:
            raise ConfigurationError(f"duplicate reference kind '{name}'")
        if name == TOOL_RESULT_KIND:
            raise ConfigurationError(
                f"reference kind '{name}' is reserved: the runtime stores tool results too "
                f"large to send to the model under it; choose another name"
            )
        out[name] = CompiledReference(
            name, _validator(ref["schema"], f"reference '{name}'"), ref.get("ttlMs")
        )
    out[TOOL_RESULT_KIND] = CompiledReference(
        TOOL_RESULT_KIND, compile_schema({}), limits.stored_result_ttl_ms
    )
    return out


def _compile_plans(spec: Mapping[str, Any]) -> dict[str, CompiledPlan]:
    out: dict[str, CompiledPlan] = {}
    for plan in spec.get("plans") or []:
        name = plan["name"]
        if name in out:
            raise ConfigurationError(f"duplicate plan spec '{name}'")
        aliases = {a["status"]: a["alias"] for a in plan.get("displayAliases") or []}
        out[name] = CompiledPlan(name, _validator(plan["schema"], f"plan '{name}'"), aliases)
    return out


def _validator(schema: Mapping[str, Any], what: str) -> SchemaValidator:
    try:
        return compile_schema(schema)
    except Exception as exc:  # jsonschema.SchemaError and friends
        raise ConfigurationError(f"{what} has an invalid JSON Schema: {exc}") from exc


def _compile_agent_tools(
    agent: Mapping[str, Any],
    toolkit_configs: Mapping[str, Any],
    bound_keys: Sequence[str],
    tool_specs: Mapping[str, Mapping[str, Any]],
    handlers: Mapping[str, Callable[..., Any]],
    default_rule: Rule,
    per_tool: Mapping[str, Rule],
    data_environment: Mapping[str, Any] | None,
    adapters: Mapping[str, Callable[..., Any]],
) -> dict[str, EngineTool]:
    name, role = agent["name"], agent["role"]
    tools: dict[str, EngineTool] = {}
    for tool_name in role_default_tools(role, has_routes=bool(agent.get("routes"))):
        tools[tool_name] = _builtin(tool_name, per_tool.get(tool_name) or default_rule, adapters)
    for toolkit_id in agent.get("toolkits") or []:
        if toolkit_id not in toolkit_configs:
            raise ConfigurationError(f"agent '{name}' uses unknown toolkit id '{toolkit_id}'")
        if toolkit_id == "catalog":
            _require_catalog(name, data_environment)
        try:
            names = toolkit_tools_for_role(
                toolkit_id, role=role, config=toolkit_configs[toolkit_id]
            )
        except ValueError as exc:
            raise ConfigurationError(f"agent '{name}': {exc}") from exc
        for tool_name in names:
            if tool_name not in tools:  # role defaults win silently
                tools[tool_name] = _builtin(
                    tool_name, per_tool.get(tool_name) or default_rule, adapters
                )
    for key in bound_keys:
        spec = tool_specs.get(key)
        if spec is None:
            raise ConfigurationError(f"tool binding '{key}' for agent '{name}' is not declared")
        handler = handlers.get(key) or handlers.get(spec["name"])
        if handler is None:
            raise ConfigurationError(
                f"tool binding '{key}' for agent '{name}' has no Python handler"
            )
        tool_name = spec["name"]
        if tool_name in tools:
            raise ConfigurationError(
                f"agent '{name}' has two tools named '{tool_name}' (tool names must be unique "
                f"across role built-ins, toolkits and bound tools)"
            )
        rule = per_tool.get(key) or per_tool.get(tool_name) or spec.get("approval") or default_rule
        tools[tool_name] = EngineTool(
            definition=ToolDefinition(
                tool_name, spec.get("description") or "", spec["inputSchema"]
            ),
            builtin=False,
            handler=handler,
            is_async=inspect.iscoroutinefunction(handler),
            validator=_validator(spec["inputSchema"], f"tool '{tool_name}' input"),
            approval_rule=rule,
        )
    return tools


# Built-ins whose handlers check their own arguments and answer with the spec's exact
# messages (engine.md §1.7: "Missing 'agent' name string", ...); generic schema validation
# would pre-empt those messages.
_SELF_VALIDATING = frozenset({"call_agent"})


def _builtin(tool_name: str, rule: Rule, adapters: Mapping[str, Callable[..., Any]]) -> EngineTool:
    definition = BUILTIN_TOOLS[tool_name]
    schema = {} if tool_name in _SELF_VALIDATING else definition.input_schema
    return EngineTool(
        definition=ToolDefinition(definition.name, definition.description, definition.input_schema),
        builtin=True,
        handler=adapters.get(tool_name) or builtin_handler(tool_name),
        is_async=True,
        validator=compile_schema(schema),
        approval_rule=rule,
    )


def _require_catalog(agent: str, data_environment: Mapping[str, Any] | None) -> None:
    if not data_environment or not data_environment.get("catalogSearch"):
        raise ConfigurationError(
            f"agent '{agent}' uses the catalog toolkit but catalog search is not configured: "
            f"add data_environment.catalog_search.index_path"
        )
