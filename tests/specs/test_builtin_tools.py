from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from flowai_harness.errors import SpecValueError
from flowai_harness.specs.builtin_tools import (
    BUILTIN_TOOLKITS,
    BUILTIN_TOOLS,
    BuiltinTool,
    ToolkitConfig,
    parse_toolkit_config,
    role_default_tools,
    toolkit_tools_for_role,
)

CATALOG_TOOLS = (
    "search_catalog",
    "get_catalog_entities",
    "list_schema_fields",
    "get_catalog_relations",
    "get_relation_paths_between",
    "sample_table_data",
    "execute_query",
)


# -- definitions --------------------------------------------------------------------------------


def test_toolkits_list_their_tools_in_order() -> None:
    assert dict(BUILTIN_TOOLKITS) == {
        "agents": ("call_agent",),
        "plans": ("storePlan", "getPlan", "executePlan"),
        "references": ("resolveRef", "glimpseRef"),
        "catalog": CATALOG_TOOLS,
    }


def test_every_toolkit_tool_has_a_definition_in_that_toolkit() -> None:
    names = [name for tools in BUILTIN_TOOLKITS.values() for name in tools]
    assert sorted(BUILTIN_TOOLS) == sorted(names)
    for toolkit, tools in BUILTIN_TOOLKITS.items():
        for name in tools:
            assert BUILTIN_TOOLS[name].name == name
            assert BUILTIN_TOOLS[name].toolkit == toolkit


@pytest.mark.parametrize("name", sorted(BUILTIN_TOOLS))
def test_descriptions_are_single_non_empty_lines_without_pipes(name: str) -> None:
    description = BUILTIN_TOOLS[name].description
    assert description.strip() == description != ""
    assert "\n" not in description
    assert "|" not in description
    assert len(description) <= 120


@pytest.mark.parametrize("name", sorted(BUILTIN_TOOLS))
def test_input_schemas_are_valid_object_schemas(name: str) -> None:
    schema = BUILTIN_TOOLS[name].input_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert set(schema["required"]) <= set(schema["properties"])
    for prop in schema["properties"].values():
        assert "description" in prop or "anyOf" in prop or prop.get("type") == "object"


def test_registries_are_read_only() -> None:
    with pytest.raises(TypeError):
        BUILTIN_TOOLS["x"] = BUILTIN_TOOLS["getPlan"]  # type: ignore[index]
    with pytest.raises(TypeError):
        BUILTIN_TOOLKITS["x"] = ()  # type: ignore[index]


def test_shared_schema_fragments_are_not_aliased_between_tools() -> None:
    first = BUILTIN_TOOLS["get_catalog_entities"].input_schema["properties"]["refs"]["items"]
    second = BUILTIN_TOOLS["get_catalog_relations"].input_schema["properties"]["refs"]["items"]
    assert first == second
    assert first is not second


def test_call_agent_schema() -> None:
    schema = BUILTIN_TOOLS["call_agent"].input_schema
    assert schema["required"] == ["agent", "prompt"]
    assert {key: prop["type"] for key, prop in schema["properties"].items()} == {
        "agent": "string",
        "prompt": "string",
    }


@pytest.mark.parametrize(
    ("name", "required"),
    [
        ("storePlan", ["specName", "planId", "body"]),
        ("getPlan", ["planId"]),
        ("executePlan", ["planId"]),
        ("resolveRef", ["kind", "id"]),
        ("glimpseRef", ["kind", "id"]),
    ],
)
def test_plan_and_reference_tools_require_all_their_properties(
    name: str, required: list[str]
) -> None:
    schema = BUILTIN_TOOLS[name].input_schema
    assert schema["required"] == required
    assert list(schema["properties"]) == required


def _accepts(name: str, args: Any) -> bool:
    validator = jsonschema.Draft202012Validator(BUILTIN_TOOLS[name].input_schema)
    return validator.is_valid(args)


def test_plan_and_reference_schemas_accept_the_documented_args() -> None:
    assert _accepts("call_agent", {"agent": "planner", "prompt": "Plan it"})
    assert _accepts("storePlan", {"specName": "Promo", "planId": "p-1", "body": {"actions": []}})
    assert _accepts("getPlan", {"planId": "p-1"})
    assert _accepts("executePlan", {"planId": "p-1"})
    assert _accepts("resolveRef", {"kind": "Product", "id": "abc"})
    assert not _accepts("getPlan", {})
    assert not _accepts("resolveRef", {"kind": "Product"})


@pytest.mark.parametrize(
    ("name", "required"),
    [
        ("search_catalog", ["query"]),
        ("get_catalog_entities", ["refs"]),
        ("list_schema_fields", ["tables"]),
        ("get_catalog_relations", ["refs"]),
        ("get_relation_paths_between", ["from", "to"]),
        ("sample_table_data", ["table"]),
        ("execute_query", ["sql"]),
    ],
)
def test_catalog_tools_are_strict_with_their_required_inputs(
    name: str, required: list[str]
) -> None:
    schema = BUILTIN_TOOLS[name].input_schema
    assert schema["required"] == required
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("name", "field", "max_items"),
    [
        ("get_catalog_entities", "refs", 50),
        ("list_schema_fields", "tables", 10),
        ("get_catalog_relations", "refs", 20),
        ("get_relation_paths_between", "to", 20),
    ],
)
def test_catalog_ref_arrays_carry_their_size_limits(name: str, field: str, max_items: int) -> None:
    prop = BUILTIN_TOOLS[name].input_schema["properties"][field]
    assert (prop["minItems"], prop["maxItems"]) == (1, max_items)


@pytest.mark.parametrize(
    ("name", "field", "default", "bounds"),
    [
        ("search_catalog", "limit", 10, "1-50"),
        ("list_schema_fields", "limit_per_table", 200, "1-200"),
        ("get_catalog_relations", "limit_per_ref", 25, "1-100"),
        ("get_relation_paths_between", "max_depth", 6, "1-6"),
        ("sample_table_data", "limit", 10, "1-20"),
        ("execute_query", "limit", 100, "1-1000"),
    ],
)
def test_clamped_integers_document_default_and_bounds(
    name: str, field: str, default: int, bounds: str
) -> None:
    prop = BUILTIN_TOOLS[name].input_schema["properties"][field]
    assert prop["type"] == "integer"
    assert prop["default"] == default
    assert bounds in prop["description"]
    # clamped by the handler, so the schema must not reject out-of-range values
    assert "minimum" not in prop
    assert "maximum" not in prop


def test_catalog_schemas_accept_documented_inputs_and_reject_unknown_keys() -> None:
    assert _accepts(
        "search_catalog",
        {
            "query": "orders",
            "kinds": ["table", "column"],
            "filters": {"schema": "sales", "table": "sales.orders", "tags": ["pii"]},
            "limit": 5,
        },
    )
    assert _accepts("get_catalog_entities", {"refs": [{"id": "table:orders"}]})
    assert _accepts("get_catalog_entities", {"refs": [{"name": "orders", "kind": "table"}]})
    assert _accepts(
        "get_relation_paths_between",
        {"from": {"qualified_name": "sales.orders"}, "to": [{"id": "t2"}], "path_type": "join"},
    )
    assert _accepts("sample_table_data", {"table": {"id": "t"}, "columns": ["a"], "limit": 3})
    assert _accepts("execute_query", {"sql": "select 1", "params": [1, "x"], "purpose": "p"})
    assert not _accepts("search_catalog", {"query": ""})
    assert not _accepts("search_catalog", {"query": "x", "kinds": ["special"]})
    assert not _accepts("search_catalog", {"query": "x", "colour": "red"})
    assert not _accepts("get_catalog_entities", {"refs": []})
    assert not _accepts("get_catalog_entities", {"refs": [{"id": "t", "extra": 1}]})
    assert not _accepts("get_catalog_relations", {"refs": [{"id": "t"}], "direction": "up"})


def test_prompt_row_uses_runtime_approval_label() -> None:
    assert BUILTIN_TOOLS["getPlan"].prompt_row() == {
        "name": "getPlan",
        "description": BUILTIN_TOOLS["getPlan"].description,
        "approval": "runtime",
    }


def test_builtin_tool_is_frozen() -> None:
    tool = BUILTIN_TOOLS["getPlan"]
    assert isinstance(tool, BuiltinTool)
    with pytest.raises(AttributeError):
        tool.name = "other"  # type: ignore[misc]


# -- role defaults ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "has_routes", "expected"),
    [
        ("coordinator", True, ("call_agent",)),
        ("coordinator", False, ()),
        ("planner", False, ("storePlan", "getPlan")),
        ("planner", True, ("storePlan", "getPlan")),
        ("executor", False, ("getPlan", "executePlan", "resolveRef", "glimpseRef")),
        ("specialist", True, ()),
        ("specialist", False, ()),
        ("unknown", True, ()),
    ],
)
def test_role_default_tools(role: str, has_routes: bool, expected: tuple[str, ...]) -> None:
    assert role_default_tools(role, has_routes=has_routes) == expected


# -- toolkit tools for a role -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "planner", "executor", "specialist"])
def test_unscoped_toolkits_give_all_their_tools(role: str) -> None:
    assert toolkit_tools_for_role("agents", role=role) == ("call_agent",)
    assert toolkit_tools_for_role("references", role=role) == ("resolveRef", "glimpseRef")
    assert toolkit_tools_for_role("catalog", role=role) == CATALOG_TOOLS


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("planner", ("storePlan", "getPlan")),
        ("executor", ("getPlan", "executePlan")),
        ("coordinator", ("getPlan",)),
        ("specialist", ("getPlan",)),
    ],
)
def test_plans_toolkit_is_scoped_by_role(role: str, expected: tuple[str, ...]) -> None:
    assert toolkit_tools_for_role("plans", role=role) == expected


def test_narrowing_config_keeps_toolkit_order_and_drops_duplicates() -> None:
    config = {"tools": ["execute_query", "search_catalog", "execute_query"]}
    assert toolkit_tools_for_role("catalog", role="specialist", config=config) == (
        "search_catalog",
        "execute_query",
    )


def test_narrowing_plans_within_the_role_set() -> None:
    config = {"tools": ["executePlan"]}
    assert toolkit_tools_for_role("plans", role="executor", config=config) == ("executePlan",)


def test_empty_narrowing_list_gives_no_tools() -> None:
    assert toolkit_tools_for_role("references", role="executor", config={"tools": []}) == ()


def test_config_with_only_expose_diagnostics_keeps_all_tools() -> None:
    config = {"exposeDiagnostics": True}
    assert toolkit_tools_for_role("catalog", role="specialist", config=config) == CATALOG_TOOLS


def test_unknown_toolkit_id_is_rejected_listing_the_known_ids() -> None:
    with pytest.raises(
        SpecValueError,
        match=r"^unknown toolkit id 'files'; expected one of: agents, plans, references, catalog$",
    ):
        toolkit_tools_for_role("files", role="specialist")


def test_narrowing_name_outside_the_toolkit_is_rejected() -> None:
    with pytest.raises(SpecValueError, match=r"^toolkit 'catalog' has no tool named 'drop_table'"):
        toolkit_tools_for_role("catalog", role="specialist", config={"tools": ["drop_table"]})


@pytest.mark.parametrize(
    ("role", "tool"),
    [("executor", "storePlan"), ("planner", "executePlan"), ("specialist", "storePlan")],
)
def test_plans_narrowing_outside_the_role_set_is_rejected(role: str, tool: str) -> None:
    with pytest.raises(
        SpecValueError,
        match=rf"^toolkit 'plans' tools are scoped by agent role: {tool} not available for "
        rf"{role} agents",
    ):
        toolkit_tools_for_role("plans", role=role, config={"tools": [tool]})


@pytest.mark.parametrize(
    "config",
    [
        ["search_catalog"],
        "search_catalog",
        {"tools": "search_catalog"},
        {"tools": [1]},
        {"tools": {"search_catalog": True}},
        {"exposeDiagnostics": "yes"},
        {"tool": ["search_catalog"]},
    ],
)
def test_malformed_config_is_rejected(config: Any) -> None:
    with pytest.raises(SpecValueError, match=r"^toolkit 'catalog' config is malformed"):
        toolkit_tools_for_role("catalog", role="specialist", config=config)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, ToolkitConfig()),
        ({}, ToolkitConfig()),
        ({"tools": None, "exposeDiagnostics": None}, ToolkitConfig()),
        ({"tools": ("a", "b", "a")}, ToolkitConfig(tools=("a", "b"))),
        ({"exposeDiagnostics": True}, ToolkitConfig(expose_diagnostics=True)),
        ({"expose_diagnostics": True}, ToolkitConfig(expose_diagnostics=True)),
    ],
)
def test_parse_toolkit_config(config: Any, expected: ToolkitConfig) -> None:
    assert parse_toolkit_config("catalog", config) == expected
