from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.plans import define_plan
from flowai_harness.specs.schema import normalize_schema
from flowai_harness.specs.unions import TaggedUnion


class Discount(BaseModel):
    kind: Literal["discount"] = "discount"
    pct: int = Field(ge=0, le=100)


class Refund(BaseModel):
    """Give money back."""

    kind: str = Field("refund", description="action tag")
    order_id: str


class Reference(BaseModel):
    kind: str
    id: str


class Reorder(BaseModel):
    kind: str = "reorder"
    quantity: int = Field(gt=0)
    references: list[Reference] = []


def _parts(union: Any) -> tuple[tuple[type[BaseModel], ...], FieldInfo]:
    assert typing.get_origin(union) is Annotated
    inner, *metadata = typing.get_args(union)
    assert isinstance(inner, types.UnionType)
    (field,) = metadata
    assert isinstance(field, FieldInfo)
    return typing.get_args(inner), field


def test_tagged_union_returns_an_annotated_union_with_a_discriminator() -> None:
    variants, field = _parts(TaggedUnion(Discount, Refund))
    assert field.discriminator == "kind"
    assert len(variants) == 2
    assert issubclass(variants[0], Discount)
    assert issubclass(variants[1], Refund)


def test_members_with_a_required_literal_tag_are_used_unchanged() -> None:
    class Hold(BaseModel):
        kind: Literal["hold"]

    class Release(BaseModel):
        kind: Literal["release"]

    variants, _ = _parts(TaggedUnion(Hold, Release))
    assert variants == (Hold, Release)


def test_a_literal_tag_with_a_default_becomes_required_in_the_variant() -> None:
    variants, _ = _parts(TaggedUnion(Discount, Refund))
    rewritten = variants[0]
    assert rewritten is not Discount
    assert issubclass(rewritten, Discount)
    assert rewritten.model_fields["kind"].annotation == Literal["discount"]
    assert rewritten.model_fields["kind"].is_required()
    assert Discount(pct=1).kind == "discount"  # the user's own class keeps its default


def test_every_variant_schema_lists_the_discriminator_as_required() -> None:
    schema = TypeAdapter(TaggedUnion(Discount, Refund, Reorder)).json_schema()
    variants = [schema["$defs"][ref["$ref"].rsplit("/", 1)[1]] for ref in schema["oneOf"]]
    assert len(variants) == 3
    for variant in variants:
        assert "kind" in variant["required"]
        assert "default" not in variant["properties"]["kind"]


def test_instances_of_the_original_models_are_accepted_by_the_union() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(list[TaggedUnion(Discount, Refund)])
    discount, refund = adapter.validate_python([Discount(pct=3), Refund(order_id="o-2")])
    assert (type(discount).__name__, discount.pct) == ("Discount", 3)
    assert (type(refund).__name__, refund.order_id, refund.kind) == ("Refund", "o-2", "refund")
    with pytest.raises(ValidationError):
        adapter.validate_python([{"pct": 3}])  # a dict must carry its tag


def test_shorthand_member_becomes_a_literal_subclass_keeping_its_name() -> None:
    variants, _ = _parts(TaggedUnion(Discount, Refund))
    rewritten = variants[1]
    assert rewritten is not Refund
    assert issubclass(rewritten, Refund)
    assert rewritten.__name__ == "Refund"
    assert rewritten.__qualname__ == Refund.__qualname__
    assert rewritten.__module__ == Refund.__module__
    assert rewritten.__doc__ == Refund.__doc__
    field = rewritten.model_fields["kind"]
    assert field.annotation == Literal["refund"]
    assert field.is_required()
    assert field.description == "action tag"


def test_validation_picks_the_member_by_tag() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(list[TaggedUnion(Discount, Refund)])
    discount, refund = adapter.validate_python(
        [{"kind": "discount", "pct": 5}, {"kind": "refund", "order_id": "o-1"}]
    )
    assert isinstance(discount, Discount)
    assert isinstance(refund, Refund)
    assert refund.order_id == "o-1"


def test_validation_rejects_an_unknown_tag() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(TaggedUnion(Discount, Refund))
    with pytest.raises(ValidationError, match="union_tag_invalid"):
        adapter.validate_python({"kind": "teleport"})


def test_a_custom_discriminator_name_is_used() -> None:
    class Up(BaseModel):
        op: Literal["up"]

    class Down(BaseModel):
        op: str = "down"

    adapter: TypeAdapter[Any] = TypeAdapter(TaggedUnion(Up, Down, discriminator="op"))
    assert type(adapter.validate_python({"op": "down"})).__name__ == "Down"
    assert _parts(TaggedUnion(Up, Down, discriminator="op"))[1].discriminator == "op"


@pytest.mark.parametrize("models", [(), (Discount,)])
def test_fewer_than_two_models_is_a_value_error(models: tuple[type[BaseModel], ...]) -> None:
    with pytest.raises(SpecValueError, match=f"at least two models; got {len(models)}"):
        TaggedUnion(*models)


@pytest.mark.parametrize("bad", [dict, Discount(pct=1), "Discount", 3])
def test_members_must_be_base_model_subclasses(bad: Any) -> None:
    with pytest.raises(SpecTypeError, match="must be pydantic BaseModel subclasses") as exc:
        TaggedUnion(Discount, bad)
    assert isinstance(exc.value, TypeError)


def test_a_member_without_the_discriminator_field_is_a_value_error() -> None:
    class NoTag(BaseModel):
        value: int

    with pytest.raises(SpecValueError, match="NoTag has no discriminator field 'kind'"):
        TaggedUnion(Discount, NoTag)


def test_a_plain_str_field_without_default_is_a_value_error() -> None:
    class Untagged(BaseModel):
        kind: str

    with pytest.raises(SpecValueError, match="Untagged field 'kind' needs a single non-empty"):
        TaggedUnion(Discount, Untagged)


@pytest.mark.parametrize("default", ["", 7, None])
def test_a_non_string_or_empty_default_is_a_value_error(default: Any) -> None:
    class Bad(BaseModel):
        kind: Any = default

    with pytest.raises(SpecValueError, match=r"needs a single non-empty string tag"):
        TaggedUnion(Discount, Bad)


@pytest.mark.parametrize("literal", [Literal["a", "b"], Literal[""], Literal[1]])
def test_a_literal_must_hold_exactly_one_non_empty_string(literal: Any) -> None:
    Bad = type("Bad", (BaseModel,), {"__annotations__": {"kind": literal}})

    with pytest.raises(SpecValueError, match="must be a Literal of exactly one non-empty string"):
        TaggedUnion(Discount, Bad)


def test_duplicate_tag_values_are_a_value_error() -> None:
    class OtherDiscount(BaseModel):
        kind: str = "discount"

    expected = r"duplicate discriminator value `discount` for Discount and OtherDiscount"
    with pytest.raises(SpecValueError, match=expected):
        TaggedUnion(Discount, Refund, OtherDiscount)


def test_discriminator_name_must_be_a_non_empty_string() -> None:
    with pytest.raises(SpecValueError, match="non-empty field name"):
        TaggedUnion(Discount, Refund, discriminator="")
    with pytest.raises(SpecTypeError, match="field name string"):
        TaggedUnion(Discount, Refund, discriminator=1)  # type: ignore[arg-type]


class PromoPlan(BaseModel):
    rationale: str
    actions: list[TaggedUnion(Discount, Refund, Reorder)] = Field(min_length=1)  # type: ignore[valid-type]


def test_plan_schema_with_a_tagged_union_validates_flat_actions_by_kind() -> None:
    schema = normalize_schema(PromoPlan)
    assert "$defs" not in schema
    validator = jsonschema.Draft202012Validator(schema)
    good = {
        "rationale": "spring sale",
        "actions": [
            {"kind": "discount", "pct": 10},
            {"kind": "refund", "order_id": "o-9"},
            {"kind": "reorder", "quantity": 3, "references": [{"kind": "ItemSet", "id": "x"}]},
        ],
    }
    assert validator.is_valid(good)
    for bad_action in (
        {"kind": "discount", "pct": 101},
        {"kind": "refund"},
        {"kind": "reorder", "quantity": 0},
        {"kind": "teleport"},
        {"kind": "discount", "order_id": "o-9"},
    ):
        assert not validator.is_valid({"rationale": "r", "actions": [bad_action]}), bad_action
    assert not validator.is_valid({"rationale": "r", "actions": []})


def test_define_plan_with_a_tagged_union_model_pins_the_action_variants() -> None:
    plan = define_plan("Promo", PromoPlan)
    variants = plan.schema_["properties"]["actions"]["items"]["oneOf"]
    assert [v["properties"]["kind"]["const"] for v in variants] == ["discount", "refund", "reorder"]
    assert variants[1] == {
        "description": "Give money back.",
        "properties": {
            "kind": {
                "const": "refund",
                "description": "action tag",
                "title": "Kind",
                "type": "string",
            },
            "order_id": {"title": "Order Id", "type": "string"},
        },
        "required": ["kind", "order_id"],
        "title": "Refund",
        "type": "object",
    }
