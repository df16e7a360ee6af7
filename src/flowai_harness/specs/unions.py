"""``TaggedUnion``: a discriminated union of pydantic models for typed plan actions.

A plan's ``actions`` list usually holds several kinds of business operation, each a pydantic model
tagged by a string field (``kind`` by default). ``TaggedUnion(A, B)`` builds the annotated union
pydantic needs to pick the right model by that tag, and whose JSON Schema (``oneOf`` with a
``const`` tag per variant) lets the engine validate flat action objects.
"""

from __future__ import annotations

import copy
import functools
import operator
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, create_model, model_validator
from pydantic_core import PydanticUndefined

from flowai_harness.errors import SpecTypeError, SpecValueError

__all__ = ["TaggedUnion"]


def TaggedUnion(*models: type[BaseModel], discriminator: str = "kind") -> Any:
    """Build ``Annotated[M1 | M2 | ..., Field(discriminator=discriminator)]``.

    Each model must declare the discriminator field either as a single non-empty string
    ``Literal`` (``kind: Literal["refund"]``) or, as a shorthand, as a plain field with a non-empty
    string default (``kind: str = "refund"``). In every variant the discriminator is a required
    ``Literal`` without a default, so each variant's JSON Schema lists it under ``required``: a
    shorthand model, or a ``Literal`` field with a default, is replaced by a subclass with the
    same name whose field is a required ``Literal["refund"]``. The subclass still accepts
    instances of the original model, so ``Plan(actions=[Refund(order_id="o-1")])`` works.

    Args:
        *models: Two or more pydantic ``BaseModel`` subclasses.
        discriminator: Name of the tag field shared by every model.

    Returns:
        An ``Annotated`` union type usable as a field annotation, e.g.
        ``actions: list[TaggedUnion(Refund, Discount)]``.

    Raises:
        SpecValueError: fewer than two models, an empty discriminator name, a model without a
            usable discriminator field, or two models with the same tag value.
        SpecTypeError: a member that is not a ``BaseModel`` subclass, or a discriminator name that
            is not a string.
    """
    if not isinstance(discriminator, str):
        raise SpecTypeError(
            f"TaggedUnion discriminator must be a field name string; got {discriminator!r}"
        )
    if not discriminator:
        raise SpecValueError("TaggedUnion discriminator must be a non-empty field name")
    if len(models) < 2:
        raise SpecValueError(f"TaggedUnion needs at least two models; got {len(models)}")
    for model in models:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise SpecTypeError(
                f"TaggedUnion members must be pydantic BaseModel subclasses; got {model!r}"
            )

    variants: list[type[BaseModel]] = []
    owners: dict[str, type[BaseModel]] = {}
    for model in models:
        tag, is_literal = _discriminator_value(model, discriminator)
        if tag in owners:
            raise SpecValueError(
                f"duplicate discriminator value `{tag}` for {owners[tag].__name__} and "
                f"{model.__name__} (field {discriminator!r}; tag values must be unique)"
            )
        owners[tag] = model
        required = is_literal and model.model_fields[discriminator].is_required()
        variants.append(model if required else _literal_variant(model, discriminator, tag))

    union = functools.reduce(operator.or_, variants)
    return Annotated[union, Field(discriminator=discriminator)]


def _discriminator_value(model: type[BaseModel], discriminator: str) -> tuple[str, bool]:
    """Return the model's tag value and whether it is already declared as a ``Literal``."""
    field = model.model_fields.get(discriminator)
    accepted = (
        f"declare it as {discriminator}: Literal['<value>'] or {discriminator}: str = '<value>'"
    )
    if field is None:
        raise SpecValueError(
            f"TaggedUnion member {model.__name__} has no discriminator field {discriminator!r}; "
            f"{accepted}"
        )
    if typing.get_origin(field.annotation) is Literal:
        values = typing.get_args(field.annotation)
        if len(values) == 1 and isinstance(values[0], str) and values[0]:
            return values[0], True
        raise SpecValueError(
            f"TaggedUnion member {model.__name__} field {discriminator!r} must be a Literal of "
            f"exactly one non-empty string; got Literal{list(values)!r}"
        )
    default = field.default
    if isinstance(default, str) and default:
        return default, False
    raise SpecValueError(
        f"TaggedUnion member {model.__name__} field {discriminator!r} needs a single non-empty "
        f"string tag (got default {default!r}); {accepted}"
    )


def _literal_variant(model: type[BaseModel], discriminator: str, tag: str) -> type[BaseModel]:
    """Subclass ``model`` with the tag field narrowed to a required ``Literal[tag]``.

    The subclass keeps the model's name, docstring and the field's alias and description, and
    turns an instance of ``model`` itself into the subclass, so callers may keep building the
    original class.
    """
    field = copy.copy(model.model_fields[discriminator])
    field.default = PydanticUndefined
    narrowed: Any = Annotated[Literal[tag], field]

    def _accept_original(data: Any) -> Any:
        if isinstance(data, model) and not isinstance(data, variant):
            return data.model_dump(by_alias=True)
        return data

    validators: Any = {"_accept_original": model_validator(mode="before")(_accept_original)}
    variant: type[BaseModel] = create_model(
        model.__name__,
        __base__=model,
        __module__=model.__module__,
        __doc__=model.__doc__,
        __validators__=validators,
        **{discriminator: narrowed},
    )
    variant.__qualname__ = model.__qualname__
    return variant
