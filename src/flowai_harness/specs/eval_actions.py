"""Expected and resolved actions, and the structured ground truth a test case carries.

Wire shapes (guides §4.2)::

    ExpectedAction / ResolvedAction  {"type": str, "payload": JSON}
    ActionGroundTruth                {"kind": "flat", "plannedActions": [...],
                                      "executedActions": [...], "payloadMatch": "exact"|"subset"}
    GroundTruth                      {"kind": "structured", "data": {...}, "schema"?: {...}}

A ground truth whose ``data`` has ``kind: "flat"`` is validated as an :class:`ActionGroundTruth`;
any other mapping is kept as free-form structured data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, Tag, field_validator

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs._eval_common import (
    ActionPayloadMatchMode,
    JsonObject,
    JsonValue,
    NonBlankStr,
    OptionalKeysWireModel,
)
from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.schema import normalize_schema

__all__ = [
    "ActionGroundTruth",
    "ExpectedAction",
    "GroundTruth",
    "ResolvedAction",
    "define_action_ground_truth",
    "define_expected_action",
    "define_expected_actions",
    "define_ground_truth",
    "define_resolved_action",
]

_ACTION_KEYS = ("plannedActions", "executedActions", "planned_actions", "executed_actions")


class _Action(WireModel):
    type: NonBlankStr
    payload: JsonValue = Field(default_factory=dict)

    @field_validator("payload", mode="before")
    @classmethod
    def _absent_payload_is_empty_object(cls, payload: Any) -> Any:
        # A missing payload means "no payload fields": {} matches anything under ``subset``.
        return {} if payload is None else payload


class ExpectedAction(_Action):
    """An action a test case expects the agent to plan or execute: ``{type, payload}``.

    ``payload`` is any JSON value; ``None`` becomes ``{}``.
    """


class ResolvedAction(_Action):
    """An action the agent actually planned or executed: ``{type, payload}``.

    ``payload`` is any JSON value; ``None`` becomes ``{}``.
    """


class ActionGroundTruth(WireModel):
    """Expected planned and executed actions plus how payloads are compared.

    Wire form: ``{"kind": "flat", "plannedActions", "executedActions", "payloadMatch"}``.
    Either bucket may be empty here; :func:`define_expected_actions` requires one non-empty.
    """

    kind: Literal["flat"] = "flat"
    planned_actions: list[ExpectedAction] = Field(default_factory=list)
    executed_actions: list[ExpectedAction] = Field(default_factory=list)
    payload_match: ActionPayloadMatchMode = "exact"

    @field_validator("planned_actions", "executed_actions", mode="before")
    @classmethod
    def _absent_bucket_is_empty(cls, bucket: Any) -> Any:
        return [] if bucket is None else [_as_action_input(item) for item in _items(bucket)]


def _ground_truth_data_tag(data: Any) -> str:
    kind = data.get("kind") if isinstance(data, Mapping) else getattr(data, "kind", None)
    return "flat" if kind == "flat" else "structured"


class GroundTruth(OptionalKeysWireModel):
    """Structured ground truth of a test case: ``{"kind": "structured", "data", "schema"?}``.

    ``data`` is a JSON object; when its ``kind`` is ``"flat"`` it must be a valid
    :class:`ActionGroundTruth`. ``schema`` (optional, omitted from the wire when absent) goes
    through ``normalize_schema``.
    """

    _omit_when_none = frozenset({"schema_"})

    kind: Literal["structured"] = "structured"
    data: Annotated[
        Annotated[ActionGroundTruth, Tag("flat")] | Annotated[JsonObject, Tag("structured")],
        Discriminator(_ground_truth_data_tag),
    ]
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")

    @field_validator("schema_", mode="before")
    @classmethod
    def _normalize_schema(cls, schema: Any) -> dict[str, Any] | None:
        return None if schema is None else normalize_schema(schema)

    @property
    def actions(self) -> ActionGroundTruth | None:
        """The action ground truth when ``data`` is ``kind: "flat"``, else ``None``."""
        return self.data if isinstance(self.data, ActionGroundTruth) else None


def _items(bucket: Any) -> list[Any]:
    # pydantic models iterate over their fields, so a lone action must be refused explicitly.
    if isinstance(bucket, str | bytes | Mapping | BaseModel) or not isinstance(bucket, Iterable):
        raise ValueError(f"an action bucket must be a list of actions, got {type(bucket).__name__}")
    return list(bucket)


def _as_action_input(item: Any) -> Any:
    # Expected and resolved actions share one shape; accept either model in a bucket.
    return item.model_dump() if isinstance(item, _Action) else item


def define_expected_action(type: str, payload: Any = None) -> ExpectedAction:
    """Define one expected action.

    Args:
        type: Action type (for plan actions, the action's ``kind``), non-blank.
        payload: JSON payload; ``None`` means ``{}``.

    Returns:
        The frozen :class:`ExpectedAction` (wire ``{"type", "payload"}``).

    Raises:
        pydantic.ValidationError: blank type or a payload that is not JSON-compatible.
    """
    return ExpectedAction(type=type, payload=payload)


def define_resolved_action(type: str, payload: Any = None) -> ResolvedAction:
    """Define one resolved (actually planned or executed) action, e.g. for a sample output.

    Args:
        type: Action type, non-blank.
        payload: JSON payload; ``None`` means ``{}``.

    Returns:
        The frozen :class:`ResolvedAction` (wire ``{"type", "payload"}``).

    Raises:
        pydantic.ValidationError: blank type or a payload that is not JSON-compatible.
    """
    return ResolvedAction(type=type, payload=payload)


def define_expected_actions(
    *,
    planned_actions: Iterable[ExpectedAction | Mapping[str, Any]] | None = None,
    executed_actions: Iterable[ExpectedAction | Mapping[str, Any]] | None = None,
    payload_match: ActionPayloadMatchMode = "exact",
) -> GroundTruth:
    """Define the actions a test case expects, as structured ground truth.

    Args:
        planned_actions: Actions the planner should store in its plan.
        executed_actions: Actions the executor should execute.
        payload_match: ``"exact"`` (semantic JSON equality) or ``"subset"`` (expected keys
            present and matching).

    Returns:
        ``GroundTruth`` dumping as ``{"kind": "structured", "data": {"kind": "flat",
        "plannedActions", "executedActions", "payloadMatch"}}``.

    Raises:
        SpecValueError: both buckets are empty or missing.
        pydantic.ValidationError: an invalid action or ``payload_match``.
    """
    return define_action_ground_truth(
        planned_actions=planned_actions,
        executed_actions=executed_actions,
        payload_match=payload_match,
    )


def define_action_ground_truth(
    *,
    planned_actions: Iterable[ExpectedAction | Mapping[str, Any]] | None = None,
    executed_actions: Iterable[ExpectedAction | Mapping[str, Any]] | None = None,
    payload_match: ActionPayloadMatchMode = "exact",
    kind: Literal["flat"] = "flat",
) -> GroundTruth:
    """Define action ground truth; the same as :func:`define_expected_actions` plus ``kind``.

    Args:
        planned_actions: Actions the planner should store in its plan.
        executed_actions: Actions the executor should execute.
        payload_match: ``"exact"`` or ``"subset"``.
        kind: The action ground truth layout; only ``"flat"`` exists.

    Returns:
        The structured :class:`GroundTruth` wrapping an :class:`ActionGroundTruth`.

    Raises:
        SpecValueError: ``kind`` is not ``"flat"`` or both buckets are empty.
        pydantic.ValidationError: an invalid action or ``payload_match``.
    """
    if kind != "flat":
        raise SpecValueError(f"action ground truth kind must be 'flat', got {kind!r}")
    actions = ActionGroundTruth(
        planned_actions=planned_actions,
        executed_actions=executed_actions,
        payload_match=payload_match,
    )
    if not actions.planned_actions and not actions.executed_actions:
        raise SpecValueError(
            "expected actions need at least one non-empty bucket: pass planned_actions or "
            "executed_actions with at least one action"
        )
    return GroundTruth(data=actions)


def define_ground_truth(
    payload: Mapping[str, Any] | ActionGroundTruth,
    *,
    schema: Any = None,
    kind: Literal["structured"] = "structured",
) -> GroundTruth:
    """Wrap a mapping as structured ground truth.

    Args:
        payload: The expected structured data (a JSON object). A payload with
            ``"kind": "flat"`` is validated as action ground truth.
        schema: Optional schema of the payload (any ``normalize_schema`` input).
        kind: The ground truth kind; only ``"structured"`` exists.

    Returns:
        ``GroundTruth`` dumping as ``{"kind": "structured", "data": payload}`` (plus
        ``"schema"`` when given).

    Raises:
        SpecValueError: ``kind`` is not ``"structured"``.
        SpecTypeError: ``payload`` is not a mapping.
        pydantic.ValidationError: a ``kind: "flat"`` payload that is not valid action ground
            truth, or a payload that is not JSON-compatible.
    """
    if kind != "structured":
        raise SpecValueError(f"ground truth kind must be 'structured', got {kind!r}")
    if not isinstance(payload, Mapping | ActionGroundTruth):
        raise SpecTypeError(f"ground truth payload must be a mapping, got {type(payload).__name__}")
    return GroundTruth.model_validate({"data": payload, "schema": schema})
