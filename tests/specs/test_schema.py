from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any, Literal, Optional, Union

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.schema import normalize_schema


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Address(BaseModel):
    city: str


class Customer(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    full_name: str
    home: Address = Field(description="where they live")


class Opaque:
    """A class pydantic cannot describe."""


# --- JSON Schema dicts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        {"$schema": "https://json-schema.org/draft/2020-12/schema"},
        {"properties": {"a": {"type": "string"}}},
        {"$ref": "https://example.com/other.json"},
        {"type": "object"},
        {"type": ["string", "null"]},
    ],
)
def test_dicts_with_a_json_schema_marker_are_returned_as_equal_copies(
    schema: dict[str, Any],
) -> None:
    result = normalize_schema(schema)
    assert result == schema
    assert result is not schema


def test_json_schema_input_is_deep_copied_and_never_mutated() -> None:
    schema = {
        "type": "object",
        "properties": {"item": {"$ref": "#/$defs/Item"}},
        "$defs": {"Item": {"type": "object", "properties": {"id": {"type": "string"}}}},
    }
    before = copy.deepcopy(schema)
    result = normalize_schema(schema)
    assert schema == before
    result["properties"]["item"]["properties"]["id"]["type"] = "integer"
    assert schema == before


def test_json_schema_with_description_and_type_keeps_every_keyword() -> None:
    schema = {"type": "object", "description": "d", "additionalProperties": False}
    assert normalize_schema(schema) == schema


@pytest.mark.parametrize("bad_type", [3, None, {"a": "b"}, ["string", 1]])
def test_json_schema_type_must_be_a_string_or_list_of_strings(bad_type: object) -> None:
    with pytest.raises(SpecValueError, match="schema 'type' must be a string or a list") as exc:
        normalize_schema({"type": bad_type})
    assert repr(bad_type) in str(exc.value)
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize("bad_properties", [["a"], "a", 1])
def test_json_schema_properties_must_be_a_mapping(bad_properties: object) -> None:
    with pytest.raises(SpecValueError, match="schema 'properties' must be an object") as exc:
        normalize_schema({"type": "object", "properties": bad_properties})
    assert type(bad_properties).__name__ in str(exc.value)


def test_local_defs_refs_are_inlined_and_defs_dropped() -> None:
    schema = {
        "type": "object",
        "properties": {
            "first": {"$ref": "#/$defs/Item"},
            "rest": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
        },
        "$defs": {
            "Item": {"type": "object", "properties": {"tag": {"$ref": "#/$defs/Tag"}}},
            "Tag": {"type": "string", "minLength": 1},
        },
    }
    item = {"type": "object", "properties": {"tag": {"type": "string", "minLength": 1}}}
    assert normalize_schema(schema) == {
        "type": "object",
        "properties": {"first": item, "rest": {"type": "array", "items": item}},
    }


def test_keywords_beside_a_ref_refine_the_inlined_definition() -> None:
    schema = {
        "type": "object",
        "properties": {"x": {"$ref": "#/$defs/X", "description": "outer"}},
        "$defs": {"X": {"type": "string", "description": "inner"}},
    }
    assert normalize_schema(schema)["properties"]["x"] == {
        "type": "string",
        "description": "outer",
    }


def test_a_root_ref_is_expanded() -> None:
    schema = {"$ref": "#/$defs/Root", "$defs": {"Root": {"type": "object", "required": ["a"]}}}
    assert normalize_schema(schema) == {"type": "object", "required": ["a"]}


def test_non_local_and_unknown_refs_are_left_alone() -> None:
    schema = {
        "type": "object",
        "properties": {
            "remote": {"$ref": "https://example.com/s.json"},
            "missing": {"$ref": "#/$defs/Missing"},
            "root": {"$ref": "#"},
        },
    }
    assert normalize_schema(schema) == schema


def test_recursive_json_schema_keeps_ref_and_top_level_defs() -> None:
    tree = {
        "type": "object",
        "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}},
    }
    schema = {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/Tree"}, "label": {"$ref": "#/$defs/Label"}},
        "$defs": {"Tree": tree, "Label": {"type": "string"}},
    }
    assert normalize_schema(schema) == {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/Tree"}, "label": {"type": "string"}},
        "$defs": {"Tree": tree},
    }


def test_mutually_recursive_definitions_are_all_kept() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}},
        "$defs": {
            "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
            "B": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
            "Unused": {"type": "string"},
        },
    }
    result = normalize_schema(schema)
    assert result["properties"] == {"a": {"$ref": "#/$defs/A"}}
    assert result["$defs"] == {
        "A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
        "B": {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}},
    }


def test_pointer_escapes_in_def_names_are_resolved() -> None:
    schema = {
        "type": "object",
        "properties": {"x": {"$ref": "#/$defs/a~1b~0c"}},
        "$defs": {"a/b~c": {"type": "integer"}},
    }
    assert normalize_schema(schema)["properties"]["x"] == {"type": "integer"}


# --- type maps -----------------------------------------------------------------------------------


def test_type_map_scalars_become_a_required_object() -> None:
    assert normalize_schema({"q": str, "n": int, "x": float, "ok": bool}) == {
        "type": "object",
        "properties": {
            "q": {"type": "string"},
            "n": {"type": "integer"},
            "x": {"type": "number"},
            "ok": {"type": "boolean"},
        },
        "required": ["q", "n", "x", "ok"],
    }


def test_a_type_map_key_named_type_makes_the_dict_a_json_schema() -> None:
    with pytest.raises(SpecValueError, match="schema 'type' must be a string"):
        normalize_schema({"type": str, "name": str})


def test_type_map_keeps_key_order_in_required() -> None:
    assert normalize_schema({"z": str, "a": str, "m": str})["required"] == ["z", "a", "m"]


def test_empty_type_map_is_an_empty_object() -> None:
    assert normalize_schema({}) == {"type": "object", "properties": {}, "required": []}


def test_a_map_with_a_description_key_is_still_a_type_map() -> None:
    assert normalize_schema({"description": str}) == {
        "type": "object",
        "properties": {"description": {"type": "string"}},
        "required": ["description"],
    }


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (dict, {"type": "object"}),
        (dict[str, int], {"type": "object"}),
        (list, {"type": "array", "items": {}}),
        (list[str], {"type": "array", "items": {"type": "string"}}),
        (
            list[list[int]],
            {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        ),
        (Optional[int], {"anyOf": [{"type": "integer"}, {"type": "null"}]}),  # noqa: UP045
        (str | None, {"anyOf": [{"type": "string"}, {"type": "null"}]}),
        (
            list[str] | None,
            {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        ),
        (
            Union[int, str, None],  # noqa: UP007
            {"anyOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"type": "null"}]},
        ),
        (Literal["a", "b"], {"enum": ["a", "b"], "type": "string"}),
        (Any, {}),
        (Opaque, {"type": "object"}),
        (
            {"inner": bool},
            {"type": "object", "properties": {"inner": {"type": "boolean"}}, "required": ["inner"]},
        ),
        ({"type": "string", "format": "date"}, {"type": "string", "format": "date"}),
    ],
)
def test_type_map_value_rules(hint: Any, expected: dict[str, Any]) -> None:
    assert normalize_schema({"field": hint})["properties"]["field"] == expected


def test_type_map_model_values_are_inlined() -> None:
    assert normalize_schema({"where": Address})["properties"]["where"] == {
        "properties": {"city": {"title": "City", "type": "string"}},
        "required": ["city"],
        "title": "Address",
        "type": "object",
    }


@pytest.mark.parametrize("key", [1, None, ("a",)])
def test_type_map_keys_must_be_strings(key: object) -> None:
    with pytest.raises(SpecTypeError, match="type map keys must be strings") as exc:
        normalize_schema({key: str})
    assert repr(key) in str(exc.value)


def test_nested_type_map_key_errors_are_raised_too() -> None:
    with pytest.raises(SpecTypeError):
        normalize_schema({"outer": {1: str}})


def test_type_map_with_a_recursive_model_hoists_defs_to_the_top() -> None:
    node = normalize_schema(Node)
    defs = node.pop("$defs")
    assert normalize_schema({"tree": Node, "maybe": Node | None}) == {
        "type": "object",
        "properties": {"tree": node, "maybe": {"anyOf": [node, {"type": "null"}]}},
        "required": ["tree", "maybe"],
        "$defs": defs,
    }


def test_clashing_recursive_definition_names_are_renamed() -> None:
    class Tree(BaseModel):
        label: str
        kids: list[Tree] = []

    first = Tree

    class Tree(BaseModel):  # type: ignore[no-redef]
        size: int
        kids: list[Tree] = []

    second = Tree
    result = normalize_schema({"a": first, "b": second})
    assert set(result["$defs"]) == {"Tree", "Tree_2"}
    assert result["properties"]["a"]["properties"]["kids"]["items"] == {"$ref": "#/$defs/Tree"}
    assert result["properties"]["b"]["properties"]["kids"]["items"] == {"$ref": "#/$defs/Tree_2"}
    validator = jsonschema.Draft202012Validator(result)
    ok = {"a": {"label": "x", "kids": [{"label": "y"}]}, "b": {"size": 1, "kids": [{"size": 2}]}}
    assert validator.is_valid(ok)
    assert not validator.is_valid({"a": ok["a"], "b": {"size": 1, "kids": [{"label": "y"}]}})


# --- pydantic models and other type hints --------------------------------------------------------


def test_pydantic_model_uses_aliases_and_inlines_nested_models() -> None:
    assert normalize_schema(Customer) == {
        "properties": {
            "fullName": {"title": "Fullname", "type": "string"},
            "home": {
                "properties": {"city": {"title": "City", "type": "string"}},
                "required": ["city"],
                "title": "Address",
                "type": "object",
                "description": "where they live",
            },
        },
        "required": ["fullName", "home"],
        "title": "Customer",
        "type": "object",
    }


def test_recursive_pydantic_model_keeps_ref_and_defs() -> None:
    node_body = {
        "properties": {
            "value": {"title": "Value", "type": "integer"},
            "children": {
                "default": [],
                "items": {"$ref": "#/$defs/Node"},
                "title": "Children",
                "type": "array",
            },
        },
        "required": ["value"],
        "title": "Node",
        "type": "object",
    }
    assert normalize_schema(Node) == {**node_body, "$defs": {"Node": node_body}}


def test_recursive_model_schema_validates_nested_values() -> None:
    validator = jsonschema.Draft202012Validator(normalize_schema(Node))
    assert validator.is_valid({"value": 1, "children": [{"value": 2, "children": []}]})
    assert not validator.is_valid({"value": 1, "children": [{"value": "deep"}]})


def test_other_type_hints_go_through_type_adapter() -> None:
    assert normalize_schema(list[str]) == {"items": {"type": "string"}, "type": "array"}
    assert normalize_schema(int | None) == {"anyOf": [{"type": "integer"}, {"type": "null"}]}


def test_dataclass_and_typed_dict_hints_are_supported() -> None:
    @dataclasses.dataclass
    class Point:
        x: int

    class Movie(TypedDict):
        title: str
        where: Address

    assert normalize_schema(Point)["properties"] == {"x": {"title": "X", "type": "integer"}}
    movie = normalize_schema(Movie)
    assert "$defs" not in movie
    assert movie["properties"]["where"]["properties"] == {
        "city": {"title": "City", "type": "string"}
    }


@pytest.mark.parametrize("bad", [5, "not a type", Opaque(), Opaque])
def test_unsupported_inputs_raise_type_error(bad: object) -> None:
    with pytest.raises(SpecTypeError, match="unsupported schema input") as exc:
        normalize_schema(bad)
    assert isinstance(exc.value, TypeError)


# --- properties ---------------------------------------------------------------------------------

_scalar_hints = st.sampled_from([str, int, float, bool, dict, list, dict[str, int], Any, Node])
_type_hints = st.recursive(
    _scalar_hints,
    lambda inner: st.one_of(
        inner.map(lambda h: list[h]),  # type: ignore[valid-type]
        inner.map(lambda h: Optional[h]),  # type: ignore[valid-type]  # noqa: UP045
    ),
    max_leaves=4,
)
# A key named like a JSON Schema keyword makes the dict a JSON Schema, not a type map.
_property_names = st.text(max_size=8).filter(
    lambda k: k not in {"$schema", "properties", "$ref", "type"}
)
_type_map_values = st.recursive(
    _type_hints, lambda inner: st.dictionaries(_property_names, inner, max_size=3), max_leaves=8
)
_type_maps = st.dictionaries(_property_names, _type_map_values, max_size=4)

_json_leaf = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer", "minimum": 0},
        {"$ref": "#/$defs/A"},
        {"$ref": "#/$defs/B"},
        {"type": ["string", "null"]},
    ]
)
_json_nodes = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.builds(lambda i: {"type": "array", "items": i}, inner),
        st.dictionaries(st.sampled_from(["p", "q", "r"]), inner, min_size=1, max_size=3).map(
            lambda props: {"type": "object", "properties": props}
        ),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"anyOf": xs}),
    ),
    max_leaves=6,
)
_json_schemas = st.builds(
    lambda root, a, b: {"type": "object", "properties": {"root": root}, "$defs": {"A": a, "B": b}},
    _json_nodes,
    _json_nodes,
    _json_nodes,
)


@settings(deadline=None)
@given(_type_maps)
def test_normalizing_a_type_map_is_idempotent(type_map: dict[str, Any]) -> None:
    once = normalize_schema(type_map)
    assert normalize_schema(once) == once


@settings(deadline=None)
@given(_json_schemas)
def test_normalizing_a_json_schema_is_idempotent_and_pure(schema: dict[str, Any]) -> None:
    before = copy.deepcopy(schema)
    once = normalize_schema(schema)
    assert schema == before
    assert normalize_schema(once) == once
    jsonschema.Draft202012Validator.check_schema(once)
    # Whatever is left as a local reference must resolve inside the result.
    refs = _local_refs(once)
    assert refs <= set(once.get("$defs", {}))
    if not refs:
        assert "$defs" not in once


def _local_refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[1]} if "$ref" in node else set()
        for value in node.values():
            found |= _local_refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_local_refs(item) for item in node)) if node else set()
    return set()


def test_a_model_pydantic_cannot_describe_raises_type_error() -> None:
    class WithCallback(BaseModel):
        callback: Callable[[int], int]

    with pytest.raises(SpecTypeError, match=r"unsupported schema input.*WithCallback"):
        normalize_schema(WithCallback)
