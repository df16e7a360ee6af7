"""Reference kinds: named, schema-checked payloads that agents pass around by handle.

A ``ReferenceSpec`` declares a kind (``name``), the JSON Schema every stored value must satisfy,
an optional time to live and an optional host-side glimpse callback. Creating, storing and
resolving references is the engine's job; this module only describes the kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field, field_validator

from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.schema import normalize_schema

__all__ = ["ReferenceSpec", "define_reference"]


class ReferenceSpec(WireModel):
    """A reference kind: ``{"name", "schema", "ttlMs"}`` on the wire; ``glimpse`` stays in Python.

    ``glimpse`` is called once by the host with the original Python value right before the value
    is stored; its result becomes the stored glimpse.
    """

    name: str = Field(min_length=1)
    schema_: dict[str, Any] = Field(alias="schema")
    ttl_ms: int | None = Field(default=None, ge=0)
    glimpse: Callable[[Any], Any] | None = Field(default=None, exclude=True)

    @field_validator("schema_", mode="before")
    @classmethod
    def _normalize_schema(cls, value: Any) -> dict[str, Any]:
        return normalize_schema(value)


def define_reference(
    name: str,
    schema: Any,
    ttl_ms: int | None = None,
    glimpse: Callable[[Any], Any] | None = None,
) -> ReferenceSpec:
    """Declare a reference kind.

    Example: ``define_reference("ItemSet", {"item_ids": list[str]}, ttl_ms=3_600_000)``.

    Args:
        name: The reference kind; handles carry it as ``kind``.
        schema: The full payload schema, any input :func:`normalize_schema` accepts.
        ttl_ms: Time to live in milliseconds (``>= 0``); ``None`` means no expiry.
        glimpse: Optional ``value -> JSON-able`` summary callback; never sent on the wire.

    Returns:
        A frozen ``ReferenceSpec``.

    Raises:
        pydantic.ValidationError: an empty name, a negative ``ttl_ms``, a non-callable
            ``glimpse``, or a malformed JSON Schema dict.
        SpecTypeError: a schema input :func:`normalize_schema` cannot turn into JSON Schema.
    """
    return ReferenceSpec.model_validate(
        {"name": name, "schema": schema, "ttl_ms": ttl_ms, "glimpse": glimpse}
    )
