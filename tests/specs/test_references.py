from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from flowai_harness.errors import SpecTypeError
from flowai_harness.specs.references import ReferenceSpec, define_reference
from flowai_harness.specs.schema import normalize_schema

ITEM_SET_SCHEMA = {
    "type": "object",
    "properties": {"item_ids": {"type": "array", "items": {"type": "string"}}},
    "required": ["item_ids"],
}


class ProductSet(BaseModel):
    product_ids: list[str]
    summary: str | None = None


def _item_glimpse(value: Any) -> dict[str, Any]:
    return {"itemCount": len(value["item_ids"])}


def test_define_reference_pins_the_wire_dict() -> None:
    spec = define_reference("ItemSet", {"item_ids": list[str]}, ttl_ms=3600000)
    assert spec.to_wire() == {"name": "ItemSet", "schema": ITEM_SET_SCHEMA, "ttlMs": 3600000}


def test_without_ttl_the_wire_keeps_a_null_ttl() -> None:
    assert define_reference("ItemSet", ITEM_SET_SCHEMA).to_wire() == {
        "name": "ItemSet",
        "schema": ITEM_SET_SCHEMA,
        "ttlMs": None,
    }


def test_glimpse_callback_is_kept_in_python_and_left_off_the_wire() -> None:
    spec = define_reference("ItemSet", ITEM_SET_SCHEMA, glimpse=_item_glimpse)
    assert spec.glimpse is _item_glimpse
    assert "glimpse" not in spec.to_wire()
    assert spec.glimpse({"item_ids": ["a", "b"]}) == {"itemCount": 2}


def test_schema_is_normalised_from_a_pydantic_model() -> None:
    spec = define_reference("ProductSet", ProductSet)
    assert spec.schema_ == normalize_schema(ProductSet)
    assert spec.to_wire()["schema"]["required"] == ["product_ids"]


def test_ttl_zero_is_accepted() -> None:
    assert define_reference("ItemSet", ITEM_SET_SCHEMA, ttl_ms=0).ttl_ms == 0


def test_negative_ttl_is_a_validation_error_located_at_the_snake_case_field() -> None:
    with pytest.raises(ValidationError, match="ttl_ms") as exc:
        define_reference("ItemSet", ITEM_SET_SCHEMA, ttl_ms=-1)
    assert "greater than or equal to 0" in str(exc.value)


def test_empty_name_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="name"):
        define_reference("", ITEM_SET_SCHEMA)


def test_non_callable_glimpse_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="glimpse"):
        define_reference("ItemSet", ITEM_SET_SCHEMA, glimpse="summary")  # type: ignore[arg-type]


def test_malformed_json_schema_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="schema 'type' must be a string or a list"):
        define_reference("ItemSet", {"type": 5})


def test_unsupported_schema_input_is_a_type_error() -> None:
    with pytest.raises(SpecTypeError, match="unsupported schema input"):
        define_reference("ItemSet", 5)


def test_model_validate_accepts_camel_and_snake_keys() -> None:
    camel = ReferenceSpec.model_validate(
        {"name": "ItemSet", "schema": {"item_ids": list[str]}, "ttlMs": 5}
    )
    snake = ReferenceSpec.model_validate(
        {"name": "ItemSet", "schema_": {"item_ids": list[str]}, "ttl_ms": 5}
    )
    assert camel == snake == define_reference("ItemSet", {"item_ids": list[str]}, ttl_ms=5)


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError, match="owner"):
        ReferenceSpec.model_validate({"name": "ItemSet", "schema": ITEM_SET_SCHEMA, "owner": "x"})


def test_reference_spec_is_frozen() -> None:
    spec = define_reference("ItemSet", ITEM_SET_SCHEMA)
    with pytest.raises(ValidationError):
        spec.name = "Other"  # type: ignore[misc]


def test_caller_schema_dict_is_not_mutated_or_shared() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    spec = define_reference("A", schema)
    spec.schema_["properties"]["a"]["type"] = "integer"
    assert schema == {"type": "object", "properties": {"a": {"type": "string"}}}


_schemas = st.sampled_from(
    [
        {"item_ids": list[str]},
        {"q": str, "n": int | None},
        ProductSet,
        {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]},
        {"type": "array", "items": {"type": "integer"}},
    ]
)


@settings(deadline=None)
@given(
    name=st.text(min_size=1, max_size=20),
    schema=_schemas,
    ttl_ms=st.none() | st.integers(min_value=0, max_value=10**12),
)
def test_reference_spec_round_trips_through_the_wire(
    name: str, schema: Any, ttl_ms: int | None
) -> None:
    spec = define_reference(name, schema, ttl_ms=ttl_ms)
    wire = spec.to_wire()
    assert set(wire) == {"name", "schema", "ttlMs"}
    assert ReferenceSpec.model_validate(wire) == spec
    assert ReferenceSpec.model_validate(json.loads(json.dumps(wire))) == spec
