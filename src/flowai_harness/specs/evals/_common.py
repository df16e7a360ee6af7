"""Building blocks shared by the eval spec modules: Literal aliases, value checks, a wire base.

The Literal aliases are the one source of truth for the eval vocabularies; tuples derived from
them with ``get_args`` serve the checks that need to list the accepted values.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    model_serializer,
)

from flowai_harness.specs._wire import WireModel

__all__ = [
    "SCORER_NAMES",
    "ActionPayloadMatchMode",
    "AggregationStrategy",
    "EvalEventType",
    "EvalMode",
    "Integer",
    "JsonObject",
    "JsonValue",
    "NonBlankStr",
    "Number",
    "OptionalKeysWireModel",
    "ResponseScorerMethod",
    "ScorerName",
    "ScorerPresetName",
    "TrajectoryMode",
    "check_distinct",
    "check_number",
    "check_unit_interval",
    "json_object",
    "json_value",
]

EvalMode = Literal["planner", "executor", "sequential", "specialist", "testCaseBuilder"]
TrajectoryMode = Literal["strict", "unordered", "subset", "superset", "subsequence"]
AggregationStrategy = Literal["passRate", "meanScore"]
ScorerPresetName = Literal[
    "trajectory_only", "planner", "executor", "sequential", "specialist", "test_case_builder"
]
ScorerName = Literal["trajectory", "planned_actions", "executed_actions", "final_response"]
ResponseScorerMethod = Literal["judge", "exact", "contains", "regex"]
ActionPayloadMatchMode = Literal["subset", "exact"]
EvalEventType = Literal[
    "evalStarted",
    "testCaseStarted",
    "sampleCompleted",
    "testCaseCompleted",
    "evalCompleted",
    "evalFailed",
    "evalCancelled",
]

#: Scorer names in their canonical order (the order component scores are reported in).
SCORER_NAMES: tuple[ScorerName, ...] = get_args(ScorerName)


def json_value(value: Any, path: str = "value") -> Any:
    """Return a JSON-compatible copy of ``value`` (tuples become lists).

    Args:
        value: Any Python value.
        path: Where the value sits, used in error messages (``payload.items[0]``).

    Returns:
        A structure of ``dict`` (str keys), ``list``, ``str``, ``int``, finite ``float``,
        ``bool`` and ``None``.

    Raises:
        ValueError: a key is not a string, a float is not finite, or a value has a type JSON
            cannot represent.
    """
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path} must be a finite number, got {value!r}")
        return value
    if isinstance(value, Mapping):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path} has the key {key!r}; JSON object keys must be strings")
            copied[key] = json_value(item, f"{path}.{key}")
        return copied
    if isinstance(value, list | tuple):
        return [json_value(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise ValueError(
        f"{path} must be JSON-compatible (dict, list, str, int, float, bool or None), "
        f"got {type(value).__name__}"
    )


def json_object(value: Any, path: str = "value") -> dict[str, Any]:
    """Return a JSON-compatible copy of the mapping ``value``.

    Args:
        value: The value that must be a mapping.
        path: Where the value sits, used in error messages.

    Returns:
        A plain ``dict`` holding only JSON-compatible values.

    Raises:
        ValueError: ``value`` is not a mapping or holds a non-JSON value.
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"{path} must be a JSON object (a mapping), got {type(value).__name__}")
    copied: dict[str, Any] = json_value(value, path)
    return copied


def _check_non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError(f"expected a non-blank string, got {value!r}")
    return value


def check_number(value: Any) -> Any:
    """Accept a finite int or float (not a bool); raise ValueError naming the value otherwise.

    Args:
        value: The raw input.

    Returns:
        ``value`` unchanged.

    Raises:
        ValueError: ``value`` is a bool, not a number, or not finite.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return value


def check_unit_interval(value: float, label: str) -> float:
    """Return ``value`` when it is within [0, 1].

    Raises:
        ValueError: ``"<label> must be within [0, 1], got <value>"``.
    """
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{label} must be within [0, 1], got {value!r}")
    return value


_Key = TypeVar("_Key", str, int)


def check_distinct(values: Iterable[_Key], rule: str) -> None:
    """Raise when a value appears more than once.

    Raises:
        ValueError: ``"<rule>, repeated: [<each repeated value, sorted>]"``.
    """
    repeated = sorted(value for value, count in Counter(values).items() if count > 1)
    if repeated:
        raise ValueError(f"{rule}, repeated: {repeated}")


def _check_integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected an integer, got {type(value).__name__} {value!r}")
    return value


NonBlankStr = Annotated[str, AfterValidator(_check_non_blank)]
#: A finite int or float; booleans and numeric strings are rejected.
Number = Annotated[float, BeforeValidator(check_number)]
#: An int (an integral float such as ``3.0`` is accepted); booleans and strings are rejected.
Integer = Annotated[int, BeforeValidator(_check_integer)]


def _json_value_field(value: Any, info: ValidationInfo) -> Any:
    return json_value(value, info.field_name or "value")


def _json_object_field(value: Any, info: ValidationInfo) -> dict[str, Any]:
    return json_object(value, info.field_name or "value")


#: Any JSON value; errors name the path inside the field (``payload.items[0]``).
JsonValue = Annotated[Any, BeforeValidator(_json_value_field)]
#: A JSON object (mapping with string keys and JSON values).
JsonObject = Annotated[dict[str, Any], BeforeValidator(_json_object_field)]


class OptionalKeysWireModel(WireModel):
    """A wire model that leaves the fields named in ``_omit_when_none`` out when they are None.

    Used where the contract marks a key optional (``error?``, ``details?``) rather than null.
    """

    _omit_when_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_absent_optionals(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        fields = type(self).model_fields
        for name in self._omit_when_none:
            for key in (name, fields[name].alias or name):
                if key in data and data[key] is None:
                    del data[key]
        return data
