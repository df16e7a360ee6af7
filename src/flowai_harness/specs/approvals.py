"""Approval rules and the three approval models: runtime floor, agent patch, overrides.

An approval rule says whether a tool call (or a plan execution) must wait for a human decision.
Every place that accepts a rule goes through :func:`normalize_approval_rule`, so the accepted
forms and the error messages are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_serializer
from pydantic_core.core_schema import SerializerFunctionWrapHandler

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs._wire import WireModel

__all__ = [
    "ApprovalOverrides",
    "ApprovalPolicies",
    "ApprovalPolicyPatch",
    "apply_patch",
    "normalize_approval_rule",
    "parse_agent_approval",
]

_ACCEPTED_FORMS = (
    "'never', 'always', {'kind': 'never'}, {'kind': 'always'} "
    "or {'kind': 'dynamic', 'value': '<predicate id>'}"
)


def normalize_approval_rule(value: Any, *, field: str) -> dict[str, str]:
    """Normalise one approval rule to its wire form.

    Args:
        value: ``"never"``, ``"always"``, a mapping ``{"kind": "never" | "always"}`` (other keys
            are dropped) or ``{"kind": "dynamic", "value": "<predicate id>"}``.
        field: Name of the field being validated, used in error messages.

    Returns:
        ``{"kind": "never"}``, ``{"kind": "always"}`` or ``{"kind": "dynamic", "value": id}``.

    Raises:
        SpecValueError: ``value`` is ``None`` ("must not be null"), a dynamic rule without a
            non-empty string ``value``, or any other unsupported value.
    """
    if value is None:
        raise SpecValueError(f"{field} must not be null; expected {_ACCEPTED_FORMS}")
    if isinstance(value, str):
        if value in ("never", "always"):
            return {"kind": value}
        raise SpecValueError(
            f"{field} has invalid approval rule {value!r}; expected {_ACCEPTED_FORMS}"
        )
    if isinstance(value, Mapping):
        kind = value.get("kind")
        if kind in ("never", "always"):
            return {"kind": kind}
        if kind == "dynamic":
            predicate_id = value.get("value")
            if not isinstance(predicate_id, str) or not predicate_id.strip():
                raise SpecValueError(
                    f"{field} is a dynamic approval rule and needs a non-empty string 'value' "
                    f"(the predicate id), got {predicate_id!r}"
                )
            return {"kind": "dynamic", "value": predicate_id}
        raise SpecValueError(
            f"{field} has invalid approval rule kind {kind!r}; expected {_ACCEPTED_FORMS}"
        )
    raise SpecValueError(
        f"{field} has invalid approval rule of type {type(value).__name__}: {value!r}; "
        f"expected {_ACCEPTED_FORMS}"
    )


class ApprovalPolicies(WireModel):
    """The runtime floor: the approval rule every agent starts from, per channel.

    ``plans`` gates ``executePlan`` (default ``always``); ``tools`` gates every tool call
    (default ``never``). Both accept any approval rule form and store the wire form.
    """

    plans: dict[str, str] = Field(default_factory=lambda: {"kind": "always"})
    tools: dict[str, str] = Field(default_factory=lambda: {"kind": "never"})

    @field_validator("plans", "tools", mode="before")
    @classmethod
    def _normalize_channel(cls, value: Any, info: ValidationInfo) -> dict[str, str]:
        return normalize_approval_rule(value, field=f"approval_policies.{info.field_name}")


class ApprovalPolicyPatch(WireModel):
    """An agent-level change to the runtime floor; a ``None`` channel inherits the floor.

    The wire form omits ``None`` channels: ``ApprovalPolicyPatch(tools="always")`` dumps as
    ``{"tools": {"kind": "always"}}``. The ``"default"`` keyword of the ``define_*`` helpers is
    not accepted here; use :func:`parse_agent_approval` for that input.
    """

    plans: dict[str, str] | None = None
    tools: dict[str, str] | None = None

    @field_validator("plans", "tools", mode="before")
    @classmethod
    def _normalize_channel(cls, value: Any, info: ValidationInfo) -> dict[str, str] | None:
        if value is None:
            return None
        if value == "default":
            raise SpecValueError(
                f"approval_policies.{info.field_name}: 'default' is only accepted by the "
                f"define_* helpers' approval= parameter; use None to inherit, or "
                f"{_ACCEPTED_FORMS}"
            )
        return normalize_approval_rule(value, field=f"approval_policies.{info.field_name}")

    @model_serializer(mode="wrap")
    def _drop_unset_channels(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}


def _require_name(key: Any, *, what: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise SpecValueError(f"approval_overrides {what} must be non-empty strings, got {key!r}")
    return key


class ApprovalOverrides(WireModel):
    """Per-agent approval overrides layered on top of the runtime floor.

    ``agents`` maps an agent name to an :class:`ApprovalPolicyPatch`; ``tools`` maps an agent
    name to ``{tool key: approval rule}``. The most specific rule wins: tool override, then
    agent patch, then runtime floor.
    """

    agents: dict[str, ApprovalPolicyPatch] = Field(default_factory=dict)
    tools: dict[str, dict[str, dict[str, str]]] = Field(default_factory=dict)

    @field_validator("agents", mode="before")
    @classmethod
    def _check_agent_names(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            for agent in value:
                _require_name(agent, what="agent names")
        return value

    @field_validator("tools", mode="before")
    @classmethod
    def _normalize_tool_rules(cls, value: Any) -> dict[str, dict[str, dict[str, str]]]:
        # A TypeError escapes pydantic unconverted, which is what the spec promises (TE).
        if not isinstance(value, Mapping):
            raise SpecTypeError(
                "approval_overrides.tools must be a mapping of agent name to "
                f"{{tool name: approval rule}}, got {type(value).__name__}"
            )
        normalized: dict[str, dict[str, dict[str, str]]] = {}
        for agent, rules in value.items():
            _require_name(agent, what="agent names")
            if not isinstance(rules, Mapping):
                raise SpecTypeError(
                    f"approval_overrides.tools[{agent!r}] must be a mapping of tool name to "
                    f"approval rule, got {type(rules).__name__}"
                )
            normalized[agent] = {
                _require_name(tool, what="tool names"): normalize_approval_rule(
                    rule, field=f"approval_overrides.tools[{agent!r}][{tool!r}]"
                )
                for tool, rule in rules.items()
            }
        return normalized


def apply_patch(policies: ApprovalPolicies, patch: ApprovalPolicyPatch | None) -> ApprovalPolicies:
    """Return the policies with every non-``None`` channel of ``patch`` applied.

    Args:
        policies: The policies to start from (usually the runtime floor).
        patch: The agent patch; ``None`` leaves ``policies`` unchanged.

    Returns:
        A new :class:`ApprovalPolicies` (or ``policies`` itself when there is nothing to apply).
    """
    if patch is None or (patch.plans is None and patch.tools is None):
        return policies
    return ApprovalPolicies(
        plans=patch.plans if patch.plans is not None else policies.plans,
        tools=patch.tools if patch.tools is not None else policies.tools,
    )


def parse_agent_approval(value: Any) -> ApprovalPolicyPatch | None:
    """Parse the ``approval=`` parameter of the ``define_*`` agent helpers.

    Args:
        value: ``None``, an :class:`ApprovalPolicyPatch`, or a mapping with ``plans`` and/or
            ``tools``; a channel set to ``"default"`` is removed so it inherits the floor.

    Returns:
        The patch, or ``None`` when ``value`` is ``None``.

    Raises:
        SpecTypeError: ``value`` is not a patch, a mapping or ``None``.
        pydantic.ValidationError: the mapping is not a valid patch (unknown channel, bad rule).
    """
    if value is None:
        return None
    if isinstance(value, ApprovalPolicyPatch):
        return value
    if isinstance(value, Mapping):
        kept = {
            key: rule
            for key, rule in value.items()
            if not (isinstance(rule, str) and rule == "default")
        }
        return ApprovalPolicyPatch.model_validate(kept)
    raise SpecTypeError(
        "approval must be an ApprovalPolicyPatch, a mapping with 'plans' and/or 'tools', or None; "
        f"got {type(value).__name__}"
    )
