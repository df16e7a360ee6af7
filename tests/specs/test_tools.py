from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from flowai_harness.errors import SpecTypeError
from flowai_harness.specs.tools import ToolSpec, define_tool

LOOKUP_SCHEMA = {
    "type": "object",
    "properties": {"sku": {"type": "string"}},
    "required": ["sku"],
}


def _handler(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"ok": True}


def _predicate(args: dict[str, Any], ctx: dict[str, Any]) -> bool:
    return True


# -- wire ---------------------------------------------------------------------------------------


def test_unbound_tool_wire_matches_spec_example() -> None:
    assert define_tool("lookup", LOOKUP_SCHEMA).to_wire() == {
        "name": "lookup",
        "description": "",
        "inputSchema": LOOKUP_SCHEMA,
        "approval": {"kind": "never"},
        "outputSchema": None,
        "bindingId": None,
    }


def test_wire_key_order_follows_the_spec() -> None:
    assert list(define_tool("lookup", LOOKUP_SCHEMA).to_wire()) == [
        "name",
        "description",
        "inputSchema",
        "approval",
        "outputSchema",
        "bindingId",
    ]


def test_full_tool_wire_uses_camel_case_keys() -> None:
    spec = define_tool(
        "refund",
        {"order_id": str, "amount": float},
        description="Refund an order",
        approval="always",
        output_schema={"refunded": bool},
        binding_id="refund_v2",
    )
    assert spec.to_wire() == {
        "name": "refund",
        "description": "Refund an order",
        "inputSchema": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
            "required": ["order_id", "amount"],
        },
        "approval": {"kind": "always"},
        "outputSchema": {
            "type": "object",
            "properties": {"refunded": {"type": "boolean"}},
            "required": ["refunded"],
        },
        "bindingId": "refund_v2",
    }


def test_handlers_are_py_only_and_never_on_the_wire() -> None:
    spec = define_tool("lookup", LOOKUP_SCHEMA, approval=_predicate).bind(_handler)
    wire = spec.to_wire()
    assert "handler" not in wire
    assert "approvalHandler" not in wire
    assert "approval_handler" not in wire


def test_tool_accepts_camel_case_input() -> None:
    spec = ToolSpec.model_validate(
        {"name": "lookup", "inputSchema": LOOKUP_SCHEMA, "bindingId": "b", "outputSchema": None}
    )
    assert spec.binding_id == "b"
    assert spec.input_schema == LOOKUP_SCHEMA


def test_tool_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        ToolSpec.model_validate({"name": "lookup", "inputSchema": {}, "colour": "red"})


def test_tool_is_frozen() -> None:
    spec = define_tool("lookup", LOOKUP_SCHEMA)
    with pytest.raises(ValidationError):
        spec.name = "other"  # type: ignore[misc]


# -- schemas ------------------------------------------------------------------------------------


def test_input_schema_type_map_is_normalised() -> None:
    spec = define_tool("lookup", {"q": str, "n": int})
    assert spec.input_schema == {
        "type": "object",
        "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["q", "n"],
    }


def test_input_schema_pydantic_model_is_normalised() -> None:
    class Query(BaseModel):
        q: str

    spec = define_tool("lookup", Query)
    assert spec.input_schema["properties"]["q"]["type"] == "string"
    assert spec.input_schema["required"] == ["q"]


def test_output_schema_none_stays_none() -> None:
    assert define_tool("lookup", LOOKUP_SCHEMA).output_schema is None


def test_unsupported_schema_input_is_type_error() -> None:
    with pytest.raises(TypeError):
        define_tool("lookup", object())


def test_invalid_json_schema_is_value_error() -> None:
    with pytest.raises(ValueError):
        define_tool("lookup", {"type": 3})


# -- approval -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("approval", "expected"),
    [
        ("never", {"kind": "never"}),
        ("always", {"kind": "always"}),
        ({"kind": "always", "reason": "dropped"}, {"kind": "always"}),
        ({"kind": "dynamic", "value": "check"}, {"kind": "dynamic", "value": "check"}),
    ],
)
def test_approval_forms_are_normalised(approval: Any, expected: dict[str, str]) -> None:
    spec = define_tool("lookup", LOOKUP_SCHEMA, approval=approval)
    assert spec.approval == expected
    assert spec.approval_handler is None


def test_callable_approval_becomes_dynamic_rule_named_after_the_tool() -> None:
    spec = define_tool("lookup", LOOKUP_SCHEMA, approval=_predicate)
    assert spec.approval == {"kind": "dynamic", "value": "lookup_approval"}
    assert spec.approval_handler is _predicate


def test_callable_approval_id_uses_binding_id_when_set() -> None:
    spec = define_tool("lookup", LOOKUP_SCHEMA, approval=_predicate, binding_id="lookup_v2")
    assert spec.approval == {"kind": "dynamic", "value": "lookup_v2"}


def test_callable_approval_through_model_validate_with_camel_case_binding_id() -> None:
    spec = ToolSpec.model_validate(
        {"name": "lookup", "inputSchema": LOOKUP_SCHEMA, "approval": _predicate, "bindingId": "b"}
    )
    assert spec.approval == {"kind": "dynamic", "value": "b"}
    assert spec.approval_handler is _predicate


def test_callable_approval_with_empty_name_is_rejected() -> None:
    with pytest.raises(ValidationError, match="callable approval needs a non-empty tool name"):
        define_tool("", LOOKUP_SCHEMA, approval=_predicate)


@pytest.mark.parametrize("approval", ["sometimes", "default", None, {"kind": "dynamic"}, 3])
def test_invalid_approval_is_validation_error_naming_the_tool(approval: Any) -> None:
    with pytest.raises(ValidationError, match="approval of tool 'lookup'"):
        define_tool("lookup", LOOKUP_SCHEMA, approval=approval)


def test_null_approval_says_must_not_be_null() -> None:
    with pytest.raises(ValidationError, match="must not be null"):
        define_tool("lookup", LOOKUP_SCHEMA, approval=None)


# -- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lookup", "get-sku", "A_1", "x" * 64])
def test_valid_model_tool_names_are_accepted(name: str) -> None:
    assert define_tool(name, LOOKUP_SCHEMA).name == name


def test_empty_tool_name_is_rejected() -> None:
    with pytest.raises(ValidationError, match="tool name must be a non-empty string"):
        define_tool("", LOOKUP_SCHEMA)


@pytest.mark.parametrize("name", ["look up", "lookup!", "x" * 65, "café", "a.b", "a/b"])
def test_names_unusable_by_models_are_rejected(name: str) -> None:
    with pytest.raises(ValidationError, match=r"is not usable as a model tool name"):
        define_tool(name, LOOKUP_SCHEMA)


# -- binding ------------------------------------------------------------------------------------


def test_binding_key_is_binding_id_or_name() -> None:
    assert define_tool("lookup", LOOKUP_SCHEMA).binding_key == "lookup"
    assert define_tool("lookup", LOOKUP_SCHEMA, binding_id="b").binding_key == "b"


def test_bind_returns_new_spec_with_handler_and_keeps_original_unbound() -> None:
    spec = define_tool("lookup", LOOKUP_SCHEMA)
    bound = spec.bind(_handler)
    assert bound.handler is _handler
    assert spec.handler is None
    assert bound.to_wire() == spec.to_wire()


def test_bind_keeps_approval_handler() -> None:
    bound = define_tool("lookup", LOOKUP_SCHEMA, approval=_predicate).bind(_handler)
    assert bound.approval_handler is _predicate
    assert bound.approval == {"kind": "dynamic", "value": "lookup_approval"}


def test_spec_used_as_decorator_binds_the_function() -> None:
    @define_tool("lookup", LOOKUP_SCHEMA, description="Find a SKU")
    def lookup(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"sku": args["sku"]}

    assert isinstance(lookup, ToolSpec)
    assert lookup.handler is not None
    assert lookup.handler({"sku": "A"}, None) == {"sku": "A"}
    assert lookup.description == "Find a SKU"


def test_bind_rejects_non_callable_handler() -> None:
    with pytest.raises(SpecTypeError, match="handler for tool 'lookup' must be callable"):
        define_tool("lookup", LOOKUP_SCHEMA).bind("not callable")  # type: ignore[arg-type]


# -- round trip ---------------------------------------------------------------------------------

_names = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
_property_schemas = st.sampled_from(
    [{"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}]
)
_object_schemas = st.dictionaries(st.text(min_size=1, max_size=8), _property_schemas).map(
    lambda props: {"type": "object", "properties": props, "required": sorted(props)}
)
_approvals = st.one_of(
    st.sampled_from(["never", "always"]),
    st.builds(lambda v: {"kind": "dynamic", "value": v}, _names),
)


@given(
    name=_names,
    description=st.text(),
    input_schema=_object_schemas,
    approval=_approvals,
    output_schema=st.one_of(st.none(), _object_schemas),
    binding_id=st.one_of(st.none(), _names),
)
def test_tool_spec_round_trips_through_wire(
    name: str,
    description: str,
    input_schema: dict[str, Any],
    approval: Any,
    output_schema: dict[str, Any] | None,
    binding_id: str | None,
) -> None:
    spec = define_tool(name, input_schema, description, approval, output_schema, binding_id)
    wire = spec.to_wire()
    again = ToolSpec.model_validate(wire)
    assert again == spec
    assert again.to_wire() == wire
