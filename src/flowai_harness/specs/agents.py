"""Agent specs and the ``define_*`` agent constructors.

An :class:`AgentSpec` is one agent of a runtime: its role, model, system prompt, routes and
toolkits travel on the wire; its plan, bound Python tools and approval settings are py-only and
are folded into the runtime spec by ``define_runtime``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal, get_args

from pydantic import Field, field_validator, model_serializer, model_validator
from pydantic_core.core_schema import SerializerFunctionWrapHandler

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs._wire import IdWireModel, WireModel
from flowai_harness.specs.approvals import (
    ApprovalPolicyPatch,
    normalize_approval_rule,
    parse_agent_approval,
)
from flowai_harness.specs.plans import PlanSpec
from flowai_harness.specs.prompts import LayeredPrompt
from flowai_harness.specs.tools import ToolSpec

__all__ = [
    "AGENT_ROLES",
    "DEFAULT_MAX_PARALLEL_TOOL_CALLS",
    "DEFAULT_MAX_TURNS",
    "DEFAULT_STATEFUL",
    "AgentRole",
    "AgentSpec",
    "ModelSpec",
    "define_coordinator",
    "define_executor",
    "define_planner",
    "define_specialist",
    "normalize_tool_approvals",
    "resolve_model_provider",
]

AgentRole = Literal["coordinator", "planner", "executor", "specialist"]
"""The four agent roles."""

AGENT_ROLES: tuple[AgentRole, ...] = get_args(AgentRole)
"""Every :data:`AgentRole`, in declaration order."""

DEFAULT_MAX_TURNS: Mapping[AgentRole, int] = MappingProxyType(
    {"coordinator": 12, "planner": 8, "executor": 4, "specialist": 12}
)
"""Turn budget the engine applies when an agent leaves ``max_turns`` unset."""

DEFAULT_MAX_PARALLEL_TOOL_CALLS = 8
"""How many tool calls of one model turn may run at once when an agent leaves
``max_parallel_tool_calls`` unset."""

DEFAULT_STATEFUL: Mapping[AgentRole, bool] = MappingProxyType(
    {"coordinator": True, "planner": True, "executor": False, "specialist": False}
)
"""``stateful`` value an agent gets when it does not set one."""

# Checked in order; the first matching id prefix picks the provider key.
_PROVIDER_PREFIXES: tuple[tuple[str, str], ...] = (
    ("claude-", "anthropic"),
    ("anthropic.", "bedrock"),
    ("us.anthropic.", "bedrock"),
    ("gpt-", "openai-compatible"),
    ("o1-", "openai-compatible"),
    ("o3-", "openai-compatible"),
)
_FALLBACK_PROVIDER = "anthropic"


class ModelSpec(IdWireModel):
    """The model an agent runs on; a bare string validates to ``ModelSpec(id=s)``.

    Wire: ``{"id": "claude-sonnet-4-6", "provider": null}``.
    """

    provider: str | None = Field(default=None, min_length=1)


def resolve_model_provider(model: ModelSpec) -> str:
    """Return the provider key a model routes to.

    An explicit ``provider`` wins; otherwise the id prefix decides: ``claude-`` -> ``anthropic``;
    ``anthropic.`` / ``us.anthropic.`` -> ``bedrock``; ``gpt-``, ``o1-``, ``o3-`` ->
    ``openai-compatible``; anything else -> ``anthropic``.

    Args:
        model: The model spec to route.

    Returns:
        The key expected in ``RuntimeSpec.providers``.
    """
    if model.provider is not None:
        return model.provider
    for prefix, provider in _PROVIDER_PREFIXES:
        if model.id.startswith(prefix):
            return provider
    return _FALLBACK_PROVIDER


class AgentSpec(WireModel):
    """One agent of a runtime.

    Wire example: ``{"name": "worker", "role": "specialist", "stateful": false, "model":
    {"id": "claude-sonnet-4-6", "provider": null}, "systemPrompt": "...", "routes": [],
    "toolkits": []}``. ``maxTurns`` and ``maxParallelToolCalls`` are present only when set.
    ``max_parallel_tool_calls`` (an extension of ours) caps how many tool calls of one model
    turn run at once (``None``: 8; ``1``: one after another). ``plan``, ``tools``,
    ``approval_policies``, ``tool_approval_policies`` and ``prompt_cache_key`` are py-only.
    """

    name: str = Field(min_length=1)
    role: AgentRole
    stateful: bool
    model: ModelSpec
    system_prompt: str
    routes: list[str] = Field(default_factory=list)
    toolkits: list[str] = Field(default_factory=list)
    max_turns: int | None = Field(default=None, ge=1)
    max_parallel_tool_calls: int | None = None
    plan: PlanSpec | None = Field(default=None, exclude=True)
    tools: tuple[ToolSpec, ...] = Field(default=(), exclude=True)
    approval_policies: ApprovalPolicyPatch | None = Field(default=None, exclude=True)
    tool_approval_policies: dict[str, dict[str, str]] = Field(default_factory=dict, exclude=True)
    prompt_cache_key: str | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _fill_stateful_from_role(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or data.get("stateful") is not None:
            return data
        role = data.get("role")
        default = next((value for known, value in DEFAULT_STATEFUL.items() if known == role), None)
        if default is None:
            return data  # the role error is reported by field validation
        return {**data, "stateful": default}

    @field_validator("max_turns", mode="before")
    @classmethod
    def _reject_bool_max_turns(cls, value: Any) -> Any:
        # bool is an int subclass; max_turns=True is a mistake, not "1 turn".
        if isinstance(value, bool):
            raise ValueError(f"max_turns must be an integer >= 1 or None, got {value!r}")
        return value

    @field_validator("max_parallel_tool_calls", mode="before")
    @classmethod
    def _check_max_parallel(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                "max_parallel_tool_calls must be an integer >= 1 (1 runs the tool calls of a "
                f"turn one after another) or None for the default "
                f"{DEFAULT_MAX_PARALLEL_TOOL_CALLS}; got {value!r}"
            )
        return value

    @field_validator("tool_approval_policies", mode="before")
    @classmethod
    def _normalize_tool_rules(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError(
                "tool_approval_policies must be a mapping of tool name to approval rule, "
                f"got {type(value).__name__}"
            )
        return normalize_tool_approvals(value, field="tool_approval_policies")

    @model_validator(mode="after")
    def _check_role_requirements(self) -> AgentSpec:
        if self.role == "coordinator" and not self.routes:
            raise ValueError(
                f"coordinator agents require at least one route (agent {self.name!r} has none)"
            )
        return self

    @model_serializer(mode="wrap")
    def _omit_unset_max_turns(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in ("maxTurns", "max_turns", "maxParallelToolCalls", "max_parallel_tool_calls"):
            if key in data and data[key] is None:
                del data[key]
        return data


def normalize_tool_approvals(rules: Mapping[Any, Any], *, field: str) -> dict[str, dict[str, str]]:
    """Validate a ``{tool name: approval rule}`` mapping and normalise every rule.

    Args:
        rules: Mapping of tool name (or binding key) to an approval rule.
        field: Name of the argument, used in error messages.

    Returns:
        A new dict with the same keys and wire-form rules.

    Raises:
        SpecValueError: A key is not a non-empty string, or a rule is invalid.
    """
    normalized: dict[str, dict[str, str]] = {}
    for key, rule in rules.items():
        if not isinstance(key, str) or not key:
            raise SpecValueError(
                f"{field} keys must be non-empty tool names (strings), got {key!r}"
            )
        normalized[key] = normalize_approval_rule(rule, field=f"{field}[{key!r}]")
    return normalized


def _model_spec(model: Any, *, constructor: str) -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str | Mapping):
        return ModelSpec.model_validate(model)
    raise SpecTypeError(
        f"{constructor} requires model: a model id string, a ModelSpec or a mapping "
        f"{{'id': ..., 'provider': ...}}, got {type(model).__name__}"
    )


def _prompt_parts(prompt: Any, *, constructor: str) -> tuple[str, str | None]:
    if isinstance(prompt, LayeredPrompt):
        return prompt.text, prompt.cache_key
    if isinstance(prompt, str):
        return prompt, None
    raise SpecTypeError(
        f"{constructor} prompt must be a str or a LayeredPrompt, got {type(prompt).__name__}"
    )


def _as_list(values: Any, *, field: str, constructor: str, expected: str) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise SpecTypeError(
            f"{constructor} {field} must be an iterable of {expected}, got {type(values).__name__}"
        )
    return list(values)


def _plan_spec(plan: Any, *, constructor: str) -> PlanSpec:
    if isinstance(plan, PlanSpec):
        return plan
    if isinstance(plan, Mapping):
        return PlanSpec.model_validate(plan)
    raise SpecTypeError(
        f"{constructor} requires plan: a PlanSpec or a mapping, got {type(plan).__name__}"
    )


def _build_agent(
    constructor: str,
    name: str,
    role: AgentRole,
    *,
    model: Any,
    prompt: Any,
    tools: Iterable[ToolSpec],
    stateful: bool | None,
    max_turns: int | None,
    approval: Any,
    tool_approvals: Mapping[str, Any] | None,
    toolkits: Iterable[str] | None,
    routes: Iterable[str] = (),
    plan: Any = None,
    max_parallel_tool_calls: int | None = None,
) -> AgentSpec:
    model_spec = _model_spec(model, constructor=constructor)
    system_prompt, cache_key = _prompt_parts(prompt, constructor=constructor)
    if tool_approvals is not None and not isinstance(tool_approvals, Mapping):
        raise SpecTypeError(
            f"{constructor} tool_approvals must be a mapping of tool name to approval rule, "
            f"got {type(tool_approvals).__name__}"
        )
    tool_rules = normalize_tool_approvals(tool_approvals or {}, field="tool_approvals")
    toolkit_ids = _as_list(
        toolkits, field="toolkits", constructor=constructor, expected="toolkit ids (str)"
    )
    fields: dict[str, Any] = {
        "name": name,
        "role": role,
        "model": model_spec,
        "system_prompt": system_prompt,
        "routes": _as_list(
            routes, field="routes", constructor=constructor, expected="agent names (str)"
        ),
        "toolkits": list(dict.fromkeys(toolkit_ids)),
        "max_turns": max_turns,
        "max_parallel_tool_calls": max_parallel_tool_calls,
        "plan": plan,
        "tools": tuple(
            _as_list(tools, field="tools", constructor=constructor, expected="ToolSpec")
        ),
        "approval_policies": parse_agent_approval(approval),
        "tool_approval_policies": tool_rules,
        "prompt_cache_key": cache_key,
    }
    if stateful is not None:
        fields["stateful"] = stateful
    return AgentSpec(**fields)


def define_coordinator(
    name: str,
    *,
    model: str | ModelSpec | Mapping[str, Any],
    prompt: str | LayeredPrompt,
    routes: Iterable[str] = (),
    tools: Iterable[ToolSpec] = (),
    stateful: bool | None = None,
    max_turns: int | None = None,
    approval: ApprovalPolicyPatch | Mapping[str, Any] | None = None,
    tool_approvals: Mapping[str, Any] | None = None,
    toolkits: Iterable[str] | None = None,
    max_parallel_tool_calls: int | None = None,
) -> AgentSpec:
    """Define the coordinator: the entry agent of ``query``, which hands work to its routes.

    Args:
        name: Agent name (non-empty).
        model: Model id string, :class:`ModelSpec` or ``{"id", "provider"?}`` mapping.
        prompt: System prompt text or a :class:`LayeredPrompt` (which also sets the cache key).
        routes: Names of the agents this coordinator may call (at least one).
        tools: Python tools bound to the agent.
        stateful: Keep per-thread memory; ``None`` takes the role default (``True``).
        max_turns: Turn budget (>= 1); ``None`` takes the engine default.
        approval: Agent approval patch ``{plans?, tools?}``; a channel set to ``"default"``
            inherits the runtime floor.
        tool_approvals: Per-tool approval rules, keyed by tool name.
        toolkits: Extra toolkit ids (deduplicated, order kept).
        max_parallel_tool_calls: How many tool calls of one model turn may run at once
            (>= 1; ``1`` runs them one after another); ``None`` takes the default, 8.

    Returns:
        The coordinator :class:`AgentSpec`.

    Raises:
        SpecValueError: ``routes`` is empty, or a ``tool_approvals`` key/rule is invalid.
        SpecTypeError: ``model``, ``prompt``, ``routes``, ``toolkits`` or ``tool_approvals``
            has the wrong type (a missing ``model`` or ``prompt`` is a ``TypeError`` too).
        pydantic.ValidationError: Any other field is invalid.
    """
    route_names = _as_list(
        routes, field="routes", constructor="define_coordinator", expected="agent names (str)"
    )
    if not route_names:
        raise SpecValueError(
            f"define_coordinator requires at least one route (coordinator {name!r} has none)"
        )
    return _build_agent(
        "define_coordinator",
        name,
        "coordinator",
        model=model,
        prompt=prompt,
        tools=tools,
        stateful=stateful,
        max_turns=max_turns,
        approval=approval,
        tool_approvals=tool_approvals,
        toolkits=toolkits,
        max_parallel_tool_calls=max_parallel_tool_calls,
        routes=route_names,
    )


def define_planner(
    name: str,
    *,
    model: str | ModelSpec | Mapping[str, Any],
    prompt: str | LayeredPrompt,
    plan: PlanSpec | Mapping[str, Any],
    tools: Iterable[ToolSpec] = (),
    stateful: bool | None = None,
    max_turns: int | None = None,
    approval: ApprovalPolicyPatch | Mapping[str, Any] | None = None,
    tool_approvals: Mapping[str, Any] | None = None,
    toolkits: Iterable[str] | None = None,
    max_parallel_tool_calls: int | None = None,
) -> AgentSpec:
    """Define a planner: drafts plans of one kind with ``storePlan`` / ``getPlan``.

    Args:
        name: Agent name (non-empty).
        model: Model id string, :class:`ModelSpec` or ``{"id", "provider"?}`` mapping.
        prompt: System prompt text or a :class:`LayeredPrompt` (which also sets the cache key).
        plan: The plan kind, a :class:`PlanSpec` or a mapping validated as one.
        tools: Python tools bound to the agent.
        stateful: Keep per-thread memory; ``None`` takes the role default (``True``).
        max_turns: Turn budget (>= 1); ``None`` takes the engine default.
        approval: Agent approval patch ``{plans?, tools?}``; ``"default"`` channels inherit.
        tool_approvals: Per-tool approval rules, keyed by tool name.
        toolkits: Extra toolkit ids (deduplicated, order kept).
        max_parallel_tool_calls: How many tool calls of one model turn may run at once
            (>= 1; ``1`` runs them one after another); ``None`` takes the default, 8.

    Returns:
        The planner :class:`AgentSpec`.

    Raises:
        SpecValueError: A ``tool_approvals`` key or rule is invalid.
        SpecTypeError: ``model``, ``prompt``, ``plan``, ``toolkits`` or ``tool_approvals`` has
            the wrong type.
        pydantic.ValidationError: Any other field (or a plan mapping) is invalid.
    """
    return _build_agent(
        "define_planner",
        name,
        "planner",
        model=model,
        prompt=prompt,
        tools=tools,
        stateful=stateful,
        max_turns=max_turns,
        approval=approval,
        tool_approvals=tool_approvals,
        toolkits=toolkits,
        max_parallel_tool_calls=max_parallel_tool_calls,
        plan=_plan_spec(plan, constructor="define_planner"),
    )


def define_executor(
    name: str,
    *,
    model: str | ModelSpec | Mapping[str, Any],
    prompt: str | LayeredPrompt,
    plan: PlanSpec | Mapping[str, Any],
    tools: Iterable[ToolSpec] = (),
    stateful: bool | None = None,
    max_turns: int | None = None,
    approval: ApprovalPolicyPatch | Mapping[str, Any] | None = None,
    tool_approvals: Mapping[str, Any] | None = None,
    toolkits: Iterable[str] | None = None,
    max_parallel_tool_calls: int | None = None,
) -> AgentSpec:
    """Define an executor: runs approved plans with ``getPlan`` / ``executePlan``.

    Args:
        name: Agent name (non-empty).
        model: Model id string, :class:`ModelSpec` or ``{"id", "provider"?}`` mapping.
        prompt: System prompt text or a :class:`LayeredPrompt` (which also sets the cache key).
        plan: The plan kind, a :class:`PlanSpec` or a mapping validated as one.
        tools: Python tools bound to the agent.
        stateful: Keep per-thread memory; ``None`` takes the role default (``False``).
        max_turns: Turn budget (>= 1); ``None`` takes the engine default.
        approval: Agent approval patch ``{plans?, tools?}``; ``"default"`` channels inherit.
        tool_approvals: Per-tool approval rules, keyed by tool name.
        toolkits: Extra toolkit ids (deduplicated, order kept).
        max_parallel_tool_calls: How many tool calls of one model turn may run at once
            (>= 1; ``1`` runs them one after another); ``None`` takes the default, 8.

    Returns:
        The executor :class:`AgentSpec`.

    Raises:
        SpecValueError: A ``tool_approvals`` key or rule is invalid.
        SpecTypeError: ``model``, ``prompt``, ``plan``, ``toolkits`` or ``tool_approvals`` has
            the wrong type.
        pydantic.ValidationError: Any other field (or a plan mapping) is invalid.
    """
    return _build_agent(
        "define_executor",
        name,
        "executor",
        model=model,
        prompt=prompt,
        tools=tools,
        stateful=stateful,
        max_turns=max_turns,
        approval=approval,
        tool_approvals=tool_approvals,
        toolkits=toolkits,
        max_parallel_tool_calls=max_parallel_tool_calls,
        plan=_plan_spec(plan, constructor="define_executor"),
    )


def define_specialist(
    name: str,
    *,
    model: str | ModelSpec | Mapping[str, Any],
    prompt: str | LayeredPrompt,
    tools: Iterable[ToolSpec] = (),
    stateful: bool | None = None,
    max_turns: int | None = None,
    approval: ApprovalPolicyPatch | Mapping[str, Any] | None = None,
    tool_approvals: Mapping[str, Any] | None = None,
    toolkits: Iterable[str] | None = None,
    max_parallel_tool_calls: int | None = None,
) -> AgentSpec:
    """Define a specialist: a narrow agent reached by routing or ``run_specialist``.

    Args:
        name: Agent name (non-empty).
        model: Model id string, :class:`ModelSpec` or ``{"id", "provider"?}`` mapping.
        prompt: System prompt text or a :class:`LayeredPrompt` (which also sets the cache key).
        tools: Python tools bound to the agent.
        stateful: Keep per-thread memory; ``None`` takes the role default (``False``).
        max_turns: Turn budget (>= 1); ``None`` takes the engine default.
        approval: Agent approval patch ``{plans?, tools?}``; ``"default"`` channels inherit.
        tool_approvals: Per-tool approval rules, keyed by tool name.
        toolkits: Extra toolkit ids (deduplicated, order kept).
        max_parallel_tool_calls: How many tool calls of one model turn may run at once
            (>= 1; ``1`` runs them one after another); ``None`` takes the default, 8.

    Returns:
        The specialist :class:`AgentSpec`.

    Raises:
        SpecValueError: A ``tool_approvals`` key or rule is invalid.
        SpecTypeError: ``model``, ``prompt``, ``toolkits`` or ``tool_approvals`` has the wrong
            type.
        pydantic.ValidationError: Any other field is invalid.
    """
    return _build_agent(
        "define_specialist",
        name,
        "specialist",
        model=model,
        prompt=prompt,
        tools=tools,
        stateful=stateful,
        max_turns=max_turns,
        approval=approval,
        tool_approvals=tool_approvals,
        toolkits=toolkits,
        max_parallel_tool_calls=max_parallel_tool_calls,
    )
