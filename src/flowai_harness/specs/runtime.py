"""The runtime spec: every agent, plan kind, reference kind and policy of one runtime.

:class:`RuntimeSpec` dumps to the camelCase wire dict that is the engine's only input.
:func:`define_runtime` assembles one from agent specs, folding in their plans, bound tools,
approval settings and prompt tool tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict, TypeVar

from pydantic import BaseModel, Field, ValidationError, model_serializer, model_validator
from pydantic_core import InitErrorDetails
from pydantic_core.core_schema import SerializerFunctionWrapHandler

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs._problems import closest, spec_validation_error
from flowai_harness.specs._wire import IdWireModel, WireModel
from flowai_harness.specs.agents import AgentSpec
from flowai_harness.specs.approvals import (
    ApprovalOverrides,
    ApprovalPolicies,
    ApprovalPolicyPatch,
    apply_patch,
)
from flowai_harness.specs.builtin_tools import (
    BUILTIN_TOOLS,
    role_default_tools,
    toolkit_tools_for_role,
)
from flowai_harness.specs.plans import PlanSpec
from flowai_harness.specs.prompts import augment_prompt_tools
from flowai_harness.specs.references import ReferenceSpec
from flowai_harness.specs.tenant import TenantIdentity
from flowai_harness.specs.tools import ToolSpec

__all__ = [
    "RuntimeSpec",
    "StorageFactories",
    "StorageFactorySpec",
    "TestingConfig",
    "ToolkitSpec",
    "augment_agent_prompts",
    "define_runtime",
]

_ModelT = TypeVar("_ModelT", bound=BaseModel)


class ToolkitSpec(IdWireModel):
    """A built-in toolkit declared on the runtime, optionally narrowed by ``config``.

    Built-in ids: ``agents``, ``plans``, ``references``, ``catalog``. Config understood by the
    engine: ``{"tools": [names]}`` (narrowing) and ``{"exposeDiagnostics": bool}``. A bare
    string validates to ``ToolkitSpec(id=s)``. Wire: ``{"id": "catalog", "config": null}``.
    """

    config: Any | None = None


class StorageFactorySpec(WireModel):
    """A storage backend descriptor, carried as metadata only (the engine does not read it)."""

    kind: str = Field(min_length=1)
    config: Any | None = None


class StorageFactories(WireModel):
    """Storage descriptors per store; wire ``{"kv": null, "plans": null, "memory": null}``."""

    kv: StorageFactorySpec | None = None
    plans: StorageFactorySpec | None = None
    memory: StorageFactorySpec | None = None


class TestingConfig(TypedDict):
    """``create_runtime(testing=...)``: the mock interpreter answers with ``mock_response``."""

    mock_response: str


# A class named Test* in a user's test module would otherwise be collected by pytest.
TestingConfig.__test__ = False  # type: ignore[attr-defined]


class RuntimeSpec(WireModel):
    """Everything the engine needs to build a runtime, as one frozen spec.

    ``approvalOverrides`` is omitted from the wire when both of its maps are empty;
    ``tool_bindings`` is py-only.
    """

    tenant: TenantIdentity
    agents: list[AgentSpec] = Field(default_factory=list)
    references: list[ReferenceSpec] = Field(default_factory=list)
    plans: list[PlanSpec] = Field(default_factory=list)
    toolkits: list[ToolkitSpec] = Field(default_factory=list)
    approval_policies: ApprovalPolicies = Field(default_factory=ApprovalPolicies)
    approval_overrides: ApprovalOverrides = Field(default_factory=ApprovalOverrides)
    storage_factories: StorageFactories = Field(default_factory=StorageFactories)
    providers: dict[str, Any] = Field(default_factory=dict)
    tool_bindings: tuple[ToolSpec, ...] = Field(default=(), exclude=True)

    @model_validator(mode="after")
    def _check_consistency(self) -> RuntimeSpec:
        _check_agents(self.agents)
        _check_override_agents(self.approval_overrides, {agent.name for agent in self.agents})
        _check_unique("reference name", [reference.name for reference in self.references])
        _check_unique("plan name", [plan.name for plan in self.plans])
        _check_unique("toolkit id", [toolkit.id for toolkit in self.toolkits])
        return self

    @model_serializer(mode="wrap")
    def _omit_empty_overrides(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        overrides = self.approval_overrides
        if not overrides.agents and not overrides.tools:
            data.pop("approvalOverrides", None)
            data.pop("approval_overrides", None)
        return data


def _check_unique(what: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} {name!r}")
        seen.add(name)


def _check_agents(agents: Sequence[AgentSpec]) -> None:
    _check_unique("agent name", [agent.name for agent in agents])
    coordinators = [agent.name for agent in agents if agent.role == "coordinator"]
    if len(coordinators) > 1:
        raise ValueError(f"multiple coordinator agents are not supported (found {coordinators!r})")
    names = {agent.name for agent in agents}
    for agent in agents:
        seen: set[str] = set()
        for route in agent.routes:
            if route == agent.name:
                raise ValueError(f"agent {agent.name!r} cannot route to itself")
            if route in seen:
                raise ValueError(f"agent {agent.name!r} declares duplicate route {route!r}")
            if route not in names:
                raise ValueError(_unknown_route(agent.name, route, names))
            seen.add(route)


def _unknown_route(agent: str, route: str, names: set[str]) -> str:
    match = closest(route, names - {agent})
    guess = f"; did you mean {match!r}?" if match else ""
    return (
        f"agent {agent!r} declares unknown route target {route!r}{guess} (registered agents: "
        f"{sorted(names)!r}). Fix the name in routes=[...] or pass an agent named {route!r} "
        f"to define_runtime(agents=[...])"
    )


def _check_override_agents(overrides: ApprovalOverrides, names: set[str]) -> None:
    unknown = sorted((set(overrides.agents) | set(overrides.tools)) - names)
    if unknown:
        raise ValueError(f"approval_overrides references unknown agent(s): {unknown!r}")


def _validation_error(title: str, field: str, message: str, value: Any) -> ValidationError:
    """Build the ValidationError a field validator raising ``ValueError(message)`` would."""
    detail: InitErrorDetails = {
        "type": "value_error",
        "loc": (field,),
        "input": value,
        "ctx": {"error": ValueError(message)},
    }
    return spec_validation_error(ValidationError.from_exception_data(title, [detail]), RuntimeSpec)


def _prompt_rows(agent: AgentSpec, toolkit_configs: Mapping[str, Any]) -> list[Any]:
    """Tool-table rows for every tool the agent really gets: role, toolkits, then bound tools."""
    builtin_names = list(role_default_tools(agent.role, has_routes=bool(agent.routes)))
    for toolkit_id in agent.toolkits:
        builtin_names.extend(
            toolkit_tools_for_role(
                toolkit_id, role=agent.role, config=toolkit_configs.get(toolkit_id)
            )
        )
    rows: list[Any] = [BUILTIN_TOOLS[name].prompt_row() for name in dict.fromkeys(builtin_names)]
    rows.extend(agent.tools)
    return rows


def _augment_agents(
    agents: Sequence[AgentSpec], toolkits: Sequence[ToolkitSpec]
) -> list[AgentSpec]:
    toolkit_configs = {toolkit.id: toolkit.config for toolkit in toolkits}
    augmented: list[AgentSpec] = []
    for agent in agents:
        prompt = augment_prompt_tools(agent.system_prompt, _prompt_rows(agent, toolkit_configs))
        augmented.append(
            agent.model_copy(
                update={"system_prompt": prompt.text, "prompt_cache_key": prompt.cache_key}
            )
        )
    return augmented


def augment_agent_prompts(spec: RuntimeSpec) -> RuntimeSpec:
    """Merge every agent's real tools into the ``# Tools`` table of its system prompt.

    Rows: the role's default tools and the tools of each toolkit on the agent (approval label
    ``runtime``, descriptions from the built-in tool definitions, narrowed by the runtime's
    :class:`ToolkitSpec` config), then the agent's bound Python tools. Rows already in the table
    win, so applying this twice gives the same spec.

    Args:
        spec: The runtime spec whose agent prompts to augment.

    Returns:
        A copy of ``spec`` with each agent's ``system_prompt`` and ``prompt_cache_key`` replaced.

    Raises:
        SpecValueError: An agent names an unknown toolkit id, or a toolkit narrowing is invalid
            for the agent's role.
    """
    return spec.model_copy(update={"agents": _augment_agents(spec.agents, spec.toolkits)})


def _validate_items(
    model: type[_ModelT], values: Iterable[Any] | None, *, field: str
) -> list[_ModelT]:
    if values is None:
        return []
    if isinstance(values, str | bytes | Mapping | BaseModel) or not isinstance(values, Iterable):
        wrap = f"; wrap a single one in a list: {field}=[...]" if isinstance(values, model) else ""
        raise SpecTypeError(
            f"define_runtime {field} must be a list of {model.__name__} or mappings, "
            f"got {type(values).__name__}{wrap}"
        )
    return [value if isinstance(value, model) else model.model_validate(value) for value in values]


def _validate_one(model: type[_ModelT], value: Any) -> _ModelT:
    return value if isinstance(value, model) else model.model_validate(value)


def _runtime_floor(
    agents: Sequence[AgentSpec], approval_policies: Any
) -> tuple[ApprovalPolicies, bool]:
    """Step 2: the explicit floor, else the defaults patched by the coordinator's patch."""
    if approval_policies is not None:
        return _validate_one(ApprovalPolicies, approval_policies), True
    patched = [
        agent
        for agent in agents
        if agent.role == "coordinator" and agent.approval_policies is not None
    ]
    if len(patched) > 1:
        raise _validation_error(
            "RuntimeSpec",
            "approval_policies",
            "only one coordinator can provide approval_policies; pass approval_policies "
            f"explicitly (coordinators with an approval patch: {[a.name for a in patched]!r})",
            [agent.name for agent in patched],
        )
    patch = patched[0].approval_policies if patched else None
    return apply_patch(ApprovalPolicies(), patch), False


def _collected_overrides(agents: Sequence[AgentSpec], *, explicit_floor: bool) -> ApprovalOverrides:
    """Step 3: agent patches (the coordinator's only beside an explicit floor) + tool rules."""
    agent_patches: dict[str, ApprovalPolicyPatch] = {}
    tool_rules: dict[str, dict[str, dict[str, str]]] = {}
    for agent in agents:
        if agent.approval_policies is not None and (explicit_floor or agent.role != "coordinator"):
            agent_patches[agent.name] = agent.approval_policies
        rules = {tool.binding_key: dict(tool.approval) for tool in agent.tools}
        rules.update(agent.tool_approval_policies)
        if rules:
            tool_rules[agent.name] = rules
    return ApprovalOverrides(agents=agent_patches, tools=tool_rules)


def _with_agent_toolkits(
    toolkits: list[ToolkitSpec], agents: Sequence[AgentSpec]
) -> list[ToolkitSpec]:
    """Step 4: the listed toolkits plus one per id an agent uses, in first-occurrence order."""
    declared = {toolkit.id for toolkit in toolkits}
    result = list(toolkits)
    for agent in agents:
        for toolkit_id in agent.toolkits:
            if toolkit_id not in declared:
                declared.add(toolkit_id)
                result.append(ToolkitSpec(id=toolkit_id))
    return result


def _with_agent_plans(plans: list[PlanSpec], agents: Sequence[AgentSpec]) -> list[PlanSpec]:
    """Step 6: the listed plans plus each agent's plan, deduplicated by name."""
    by_name = {plan.name: plan for plan in plans}
    result = list(plans)
    for agent in agents:
        plan = agent.plan
        if plan is None:
            continue
        known = by_name.get(plan.name)
        if known is None:
            by_name[plan.name] = plan
            result.append(plan)
        elif known != plan:
            raise SpecValueError(
                f"plan name {plan.name!r} of agent {agent.name!r} is already used by a "
                "different plan spec; give each plan kind a unique name"
            )
    return result


def _with_agent_tools(
    tool_bindings: list[ToolSpec], agents: Sequence[AgentSpec]
) -> tuple[ToolSpec, ...]:
    """Step 7: the listed tool bindings plus each agent's tools, deduplicated by binding key."""
    by_key: dict[str, ToolSpec] = {}
    for tool in [*tool_bindings, *(tool for agent in agents for tool in agent.tools)]:
        by_key.setdefault(tool.binding_key, tool)
    return tuple(by_key.values())


def define_runtime(
    tenant: TenantIdentity | Mapping[str, Any],
    *,
    agents: Iterable[AgentSpec | Mapping[str, Any]] | None = None,
    references: Iterable[ReferenceSpec | Mapping[str, Any]] | None = None,
    plans: Iterable[PlanSpec | Mapping[str, Any]] | None = None,
    toolkits: Iterable[ToolkitSpec | Mapping[str, Any] | str] | None = None,
    approval_policies: ApprovalPolicies | Mapping[str, Any] | None = None,
    approval_overrides: ApprovalOverrides | Mapping[str, Any] | None = None,
    storage_factories: StorageFactories | Mapping[str, Any] | None = None,
    providers: Mapping[str, Any] | None = None,
    tool_bindings: Iterable[ToolSpec | Mapping[str, Any]] | None = None,
) -> RuntimeSpec:
    """Assemble a :class:`RuntimeSpec` from agents and runtime-level declarations.

    Steps: (1) agents validated; (2) approval floor = ``approval_policies``, else the defaults
    patched by the coordinator's ``approval``; (3) overrides = ``approval_overrides``, else
    collected from agent patches (the coordinator's only when the floor was explicit), each
    bound tool's own rule (keyed by binding key) and then ``tool_approvals``; (4) toolkits
    listed plus every id an agent uses; (5) each agent prompt's ``# Tools`` table completed with
    its role, toolkit and bound tools; (6) plans listed plus each agent's plan; (7) tool
    bindings listed plus each agent's tools (deduplicated by binding key).

    Args:
        tenant: The tenant, a :class:`TenantIdentity` or mapping.
        agents: Agent specs (or mappings).
        references: Reference kinds (specs or mappings); names must be unique.
        plans: Plan kinds (specs or mappings); names must be unique.
        toolkits: Toolkit declarations (specs, mappings or bare ids).
        approval_policies: Explicit runtime approval floor.
        approval_overrides: Explicit per-agent overrides; replaces the collected ones.
        storage_factories: Storage descriptors (metadata only).
        providers: Opaque provider configuration, e.g. ``{"anthropic": {"apiKeyEnv": ...}}``.
        tool_bindings: Extra Python tools (py-only on the spec).

    Returns:
        The assembled, validated :class:`RuntimeSpec`.

    Raises:
        pydantic.ValidationError: A spec is invalid; duplicate agent, reference, plan or toolkit
            names; more than one coordinator; a bad route; overrides naming unknown agents;
            more than one coordinator with an ``approval`` patch and no explicit floor.
        SpecValueError: Unknown toolkit id or invalid toolkit narrowing on an agent; two
            different plan specs with one name.
        SpecTypeError: A list argument is not a list.
    """
    tenant_identity = _validate_one(TenantIdentity, tenant)
    agent_specs = _validate_items(AgentSpec, agents, field="agents")
    floor, explicit_floor = _runtime_floor(agent_specs, approval_policies)
    if approval_overrides is not None:
        overrides = _validate_one(ApprovalOverrides, approval_overrides)
    else:
        overrides = _collected_overrides(agent_specs, explicit_floor=explicit_floor)
    toolkit_specs = _with_agent_toolkits(
        _validate_items(ToolkitSpec, toolkits, field="toolkits"), agent_specs
    )
    agent_specs = _augment_agents(agent_specs, toolkit_specs)
    plan_specs = _with_agent_plans(_validate_items(PlanSpec, plans, field="plans"), agent_specs)
    bindings = _with_agent_tools(
        _validate_items(ToolSpec, tool_bindings, field="tool_bindings"), agent_specs
    )
    return RuntimeSpec(
        tenant=tenant_identity,
        agents=agent_specs,
        references=_validate_items(ReferenceSpec, references, field="references"),
        plans=plan_specs,
        toolkits=toolkit_specs,
        approval_policies=floor,
        approval_overrides=overrides,
        storage_factories=(
            StorageFactories()
            if storage_factories is None
            else _validate_one(StorageFactories, storage_factories)
        ),
        providers=providers if providers is not None else {},
        tool_bindings=bindings,
    )
