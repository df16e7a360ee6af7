"""The one wire base model every spec inherits.

Frozen, unknown keys rejected, snake_case or camelCase accepted on input, camelCase on output.
Models build their validators lazily (``defer_build``) so importing the package stays cheap.
A failed validation raises :class:`~flowai_harness.errors.SpecValidationError`: still a
``pydantic.ValidationError``, with plain text saying what is wrong and how to fix it.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from flowai_harness.specs._problems import spec_validation_error

__all__ = ["IdWireModel", "WireModel"]


class WireModel(BaseModel):
    """Base of every public spec: frozen pydantic model with a camelCase wire form."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        defer_build=True,
    )

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise spec_validation_error(error, type(self)) from None

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Self:
        """Validate ``obj`` (see ``pydantic.BaseModel.model_validate``), with plain errors."""
        try:
            return super().model_validate(obj, **options)
        except ValidationError as error:
            raise spec_validation_error(error, cls) from None

    def to_wire(self) -> dict[str, Any]:
        """Return the camelCase wire dict (``model_dump(by_alias=True, mode="json")``)."""
        return self.model_dump(by_alias=True, mode="json")


class IdWireModel(WireModel):
    """A wire model named by a non-empty ``id``; a bare string ``s`` validates to ``{"id": s}``."""

    id: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _coerce_bare_id(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"id": data}
        return data
