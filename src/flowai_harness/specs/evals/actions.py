"""Expected and resolved actions, and the structured ground truth a test case carries.

Wire shapes::

    ExpectedAction / ResolvedAction  {"type": str, "payload": JSON}
    ActionGroundTruth                {"kind": "flat", "plannedActions": [...],
                                      "executedActions": [...], "payloadMatch": "exact"|"subset"}
    GroundTruth                      {"kind": "structured", "data": {...}, "schema"?: "<id>"}

A ground truth whose payload has ``kind: "flat"`` is validated as an :class:`ActionGroundTruth`;
any other mapping is kept as free-form structured data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.evals._common import (
    ActionPayloadMatchMode,
    JsonObject,
    JsonValue,
    NonBlankStr,
    OptionalKeysWireModel,
)

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
    A missing bucket is empty, but at least one bucket must hold an action.
    """

    kind: Literal["flat"] = "flat"
    planned_actions: list[ExpectedAction] = Field(default_factory=list)
    executed_actions: list[ExpectedAction] = Field(default_factory=list)
    payload_match: ActionPayloadMatchMode = "exact"

    @field_validator("planned_actions", "executed_actions", mode="before")
    @classmethod
    def _absent_bucket_is_empty(cls, bucket: Any) -> Any:
        return [] if bucket is None else [_as_action_input(item) for item in _items(bucket)]

    @model_validator(mode="after")
    def _need_one_action(self) -> ActionGroundTruth:
        if not self.planned_actions and not self.executed_actions:
            raise ValueError(
                "expected actions must declare at least one of planned_actions or executed_actions"
            )
        return self


def _ground_truth_payload_tag(payload: Any) -> str:
    kind = payload.get("kind") if isinstance(payload, Mapping) else getattr(payload, "kind", None)
    return "flat" if kind == "flat" else "structured"


class GroundTruth(OptionalKeysWireModel):
    """Structured ground truth of a test case: ``{"kind": "structured", "data", "schema"?}``.

    The Python attribute is ``payload``; input accepts the key ``payload`` or ``data`` and the
    wire form writes ``data``. A payload whose ``kind`` is ``"flat"`` is validated as an
    :class:`ActionGroundTruth`; any other payload is kept as a free-form JSON object.
    ``schema`` is an optional opaque string naming the payload's schema (for example
    ``"inventory.price_change.v1"``); it is kept as given and written to the wire when set.
    """

    _omit_when_none = frozenset({"schema_"})

    kind: Literal["structured"] = "structured"
    payload: Annotated[
        Annotated[ActionGroundTruth, Tag("flat")] | Annotated[JsonObject, Tag("structured")],
        Discriminator(_ground_truth_payload_tag),
    ] = Field(validation_alias=AliasChoices("payload", "data"), serialization_alias="data")
    schema_: str | None = Field(default=None, alias="schema")

    @model_validator(mode="before")
    @classmethod
    def _one_payload_key(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "payload" in data and "data" in data:
            raise ValueError("ground truth takes its payload as 'payload' or 'data', not both")
        return data

    @field_validator("schema_", mode="before")
    @classmethod
    def _schema_is_an_identifier(cls, schema: Any) -> Any:
        if schema is not None and not isinstance(schema, str):
            raise ValueError(
                "ground truth schema must be a string identifier (e.g. 'orders.refund.v1'), "
                f"got {type(schema).__name__}"
            )
        return schema

    @property
    def actions(self) -> ActionGroundTruth | None:
        """The action ground truth when the payload is ``kind: "flat"``, else ``None``."""
        return self.payload if isinstance(self.payload, ActionGroundTruth) else None


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
        pydantic.ValidationError: both buckets are empty or missing, an invalid action or
            ``payload_match``.
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
        pydantic.ValidationError: ``kind`` is not ``"flat"``, both buckets are empty, an
            invalid action or ``payload_match``.
    """
    actions = ActionGroundTruth.model_validate(
        {
            "kind": kind,
            "planned_actions": planned_actions,
            "executed_actions": executed_actions,
            "payload_match": payload_match,
        }
    )
    return GroundTruth(payload=actions)


def define_ground_truth(
    payload: Mapping[str, Any] | ActionGroundTruth,
    *,
    schema: str | None = None,
    kind: Literal["structured"] = "structured",
) -> GroundTruth:
    """Wrap a mapping as structured ground truth.

    Args:
        payload: The expected structured data (a JSON object). A payload with
            ``"kind": "flat"`` is validated as action ground truth.
        schema: Optional opaque identifier of the payload's schema (a string, kept as given;
            it is not a JSON Schema).
        kind: The ground truth kind; only ``"structured"`` exists.

    Returns:
        ``GroundTruth`` dumping as ``{"kind": "structured", "data": payload}`` (plus
        ``"schema"`` when given).

    Raises:
        SpecValueError: ``kind`` is not ``"structured"``.
        SpecTypeError: ``payload`` is not a mapping.
        pydantic.ValidationError: a ``kind: "flat"`` payload that is not valid action ground
            truth, a payload that is not JSON-compatible, or a ``schema`` that is not a string.
    """
    if kind != "structured":
        raise SpecValueError(f"ground truth kind must be 'structured', got {kind!r}")
    if not isinstance(payload, Mapping | ActionGroundTruth):
        raise SpecTypeError(f"ground truth payload must be a mapping, got {type(payload).__name__}")
    return GroundTruth.model_validate({"payload": payload, "schema": schema})
