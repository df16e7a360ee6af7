"""Glimpses: small, JSON-friendly summaries stored beside a reference's full value.

:func:`to_json_compatible` is the one place that turns host Python values (pydantic models,
dataclasses, decimals, dates, sets...) into plain JSON data; the engine reuses it for glimpse
callback results. :func:`glimpse` builds the default summary shape from such a value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

from flowai_harness.errors import SpecTypeError, SpecValueError

__all__ = ["glimpse", "to_json_compatible"]

_TEXT_TYPES = (str, bytes, bytearray, memoryview)


def to_json_compatible(value: Any) -> Any:
    """Convert a Python value into data ``json.dumps`` accepts, recursively.

    Pydantic models become ``model_dump(mode="json")``; dataclass instances become dicts
    (``dataclasses.asdict``); mapping keys become strings; ``Decimal`` becomes a fixed-point
    string (``Decimal("1E+2")`` -> ``"100"``); ``date``/``time``/``datetime`` become ISO strings;
    enums become their value; tuples, sets and other iterables (not ``str``/``bytes``) become
    lists. Other objects pydantic knows how to serialise (``UUID``, ``Path``, UTF-8 ``bytes``...)
    go through ``pydantic_core.to_jsonable_python``.

    Args:
        value: Any Python value.

    Returns:
        A structure of ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``.

    Raises:
        SpecTypeError: the value (or something inside it) has no JSON form.
    """
    if isinstance(value, enum.Enum):
        return to_json_compatible(value.value)
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, BaseModel):
        try:
            return value.model_dump(mode="json")
        except PydanticSerializationError as exc:
            raise SpecTypeError(f"cannot convert {type(value).__name__} to JSON: {exc}") from exc
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json_compatible(dataclasses.asdict(value))
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_json_key(key): to_json_compatible(item) for key, item in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, _TEXT_TYPES):
        return [to_json_compatible(item) for item in value]
    try:
        return to_jsonable_python(value)
    except PydanticSerializationError as exc:
        raise SpecTypeError(
            f"cannot convert a value of type {type(value).__name__} to JSON; use JSON data, "
            "pydantic models, dataclasses, mappings, iterables, Decimal or dates"
        ) from exc


def glimpse(value: Any, *, max_items: int = 3) -> dict[str, Any]:
    """Build a small JSON summary of ``value``.

    The value is first made JSON-friendly (see :func:`to_json_compatible`). Then a mapping is
    returned as that dict, a sequence or other iterable (not ``str``/``bytes``) becomes
    ``{"count": n, "sample": <first max_items items>}``, and any other value becomes
    ``{"value": v}``.

    Args:
        value: The value to summarise (a pydantic instance, list, dict, scalar...).
        max_items: How many leading items of a sequence go into ``sample``.

    Returns:
        The glimpse dict.

    Raises:
        SpecValueError: ``max_items`` is negative.
        SpecTypeError: ``max_items`` is not an integer, or the value has no JSON form.
    """
    if isinstance(max_items, bool) or not isinstance(max_items, int):
        raise SpecTypeError(f"max_items must be an integer >= 0; got {max_items!r}")
    if max_items < 0:
        raise SpecValueError(f"max_items must be >= 0; got {max_items}")
    if _is_collection(value):
        # Only the sampled items need converting; the count comes from the raw items.
        items = list(value)
        return {
            "count": len(items),
            "sample": [to_json_compatible(item) for item in items[:max_items]],
        }
    converted = to_json_compatible(value)
    if isinstance(converted, dict):
        return converted
    if isinstance(converted, list):
        return {"count": len(converted), "sample": converted[:max_items]}
    return {"value": converted}


def _is_collection(value: Any) -> bool:
    """True for values :func:`to_json_compatible` turns into a list item by item."""
    return (
        isinstance(value, Iterable)
        and not isinstance(value, (*_TEXT_TYPES, Mapping, BaseModel, enum.Enum))
        and not (dataclasses.is_dataclass(value) and not isinstance(value, type))
    )


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    converted = to_json_compatible(key)
    return converted if isinstance(converted, str) else str(key)
