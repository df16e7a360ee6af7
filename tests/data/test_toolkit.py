"""The seven catalog tools over the sample catalog: shapes, limits, errors and placeholders."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from flowai_harness.data.catalog.entries import parse_entry
from flowai_harness.data.factory import catalog_tool_handlers
from flowai_harness.data.toolkit.handlers import CATALOG_TOOLS, CatalogToolkit
from flowai_harness.specs.builtin_tools import BUILTIN_TOOLKITS
from flowai_harness.specs.data_environment import normalize_data_environment
from flowai_harness.storage.memory import MemoryKeyValueStore
from tests.data.sample_catalog import column_id, sample_entries, table_id

Handlers = dict[str, Any]


def _toolkit(handlers: Handlers) -> CatalogToolkit:
    toolkit: CatalogToolkit = handlers["search_catalog"].__self__
    return toolkit


def _call(kv: Any = None) -> Any:
    return SimpleNamespace(
        scope=SimpleNamespace(run=SimpleNamespace(runtime=SimpleNamespace(kv=kv)))
    )


@pytest.fixture
async def tools(tmp_path: Path, target_db_path: Path) -> AsyncIterator[Handlers]:
    env = normalize_data_environment(
        {
            "catalog": {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'catalog.db'}"},
            "catalog_search": {"index_path": str(tmp_path / "idx"), "write_through": True},
            "target_database": {"kind": "sqlite", "url": str(target_db_path)},
        },
        runtime_resource_id="acme",
    )
    handlers = catalog_tool_handlers(env, "acme")
    toolkit: CatalogToolkit = _toolkit(handlers)
    await toolkit.backends.write_entries([parse_entry(e) for e in sample_entries()])
    await toolkit.backends.rebuild_index()
    yield handlers
    await toolkit.backends.aclose()


async def _ok(handlers: Handlers, tool: str, args: Any, kv: Any = None) -> dict[str, Any]:
    outcome = await handlers[tool](_call(kv), args)
    assert not outcome.is_error, outcome.content
    return dict(outcome.content)


async def _error(handlers: Handlers, tool: str, args: Any) -> str:
    outcome = await handlers[tool](_call(), args)
    assert outcome.is_error, outcome.content
    return str(outcome.content["error"])


def test_the_toolkit_serves_exactly_the_catalog_tools() -> None:
    assert BUILTIN_TOOLKITS["catalog"] == CATALOG_TOOLS
    assert set(catalog_tool_handlers(None, "acme")) == set(CATALOG_TOOLS)


# --------------------------------------------------------------------------- search_catalog


async def test_search_catalog_output_shape(tools: Handlers) -> None:
    out = await _ok(tools, "search_catalog", {"query": "customer"})
    assert set(out) == {
        "query",
        "results",
        "facets",
        "suggested_filters",
        "filter_resolution",
        "pagination",
        "diagnostics",
    }
    assert out["diagnostics"]["search_mode"] == "lexical"
    assert out["diagnostics"]["backend"] == "runtime_internal"
    first = out["results"][0]
    assert first["match"]["rank"] == 1 and first["match"]["score"] == 1.0
    assert first["match"]["score_interpretation"] == "response_local_relevance"
    assert all(0 < r["match"]["score"] <= 1 for r in out["results"])
    assert "relations" not in first
    assert set(out["facets"]) == {"kinds", "schemas", "tables", "tags"}
    assert out["facets"]["schemas"][0] == {
        "value": "main",
        "count": out["facets"]["schemas"][0]["count"],
    }
    assert out["suggested_filters"][0]["field"] == "schema"


async def test_search_catalog_pages_with_a_cursor_bound_to_the_query(tools: Handlers) -> None:
    first = await _ok(tools, "search_catalog", {"query": "order", "limit": 2})
    assert first["pagination"]["returned"] == 2 and first["pagination"]["has_more"]
    cursor = first["pagination"]["next_cursor"]
    assert cursor.startswith("v1:")
    second = await _ok(tools, "search_catalog", {"query": "order", "limit": 2, "cursor": cursor})
    ids = {r["id"] for r in first["results"]} | {r["id"] for r in second["results"]}
    assert len(ids) == 4
    assert "different query" in await _error(
        tools, "search_catalog", {"query": "orders", "limit": 2, "cursor": cursor}
    )
    assert "Invalid cursor" in await _error(
        tools, "search_catalog", {"query": "order", "cursor": "garbage"}
    )


async def test_search_catalog_caps_a_page_at_twenty(tools: Handlers) -> None:
    out = await _ok(tools, "search_catalog", {"query": "main", "limit": 50})
    assert out["pagination"]["limit"] == 20
    assert "limit 50 reduced to 20" in out["warnings"][0]
    assert (await _ok(tools, "search_catalog", {"query": "main", "limit": 0}))["pagination"][
        "limit"
    ] == 1


async def test_search_catalog_filters_by_kind_and_resolved_refs(tools: Handlers) -> None:
    out = await _ok(
        tools,
        "search_catalog",
        {"query": "customer", "kinds": ["column"], "filters": {"table": "orders"}},
    )
    assert [r["id"] for r in out["results"]] == [column_id("orders", "customer_id")]
    resolution = out["filter_resolution"]
    assert resolution["applied"] == {"table": table_id("orders")}
    assert resolution["canonicalized"][0]["qualified_name"] == "main.orders"
    missing = await _ok(
        tools, "search_catalog", {"query": "customer", "filters": {"table": "nope"}}
    )
    assert missing["filter_resolution"]["unresolved"] == [
        {"field": "table", "input": "nope", "code": "no_matching_public_entity"}
    ]
    assert "was not applied" in missing["warnings"][0]
    ambiguous = await _ok(
        tools, "search_catalog", {"query": "customer", "filters": {"column": "customer_id"}}
    )
    assert len(ambiguous["filter_resolution"]["ambiguous"][0]["candidates"]) == 2


async def test_search_catalog_truncates_long_descriptions(tools: Handlers, tmp_path: Path) -> None:
    toolkit: CatalogToolkit = _toolkit(tools)
    long = dict(sample_entries()[0], content="loyal " * 100)
    await toolkit.backends.write_entries([parse_entry(long)])
    out = await _ok(tools, "search_catalog", {"query": "loyal"})
    assert len(out["results"][0]["description"]) == 240
    assert "1 description was truncated to 240 characters" in out["warnings"]


async def test_search_catalog_refuses_a_stale_index(tools: Handlers) -> None:
    toolkit: CatalogToolkit = _toolkit(tools)
    toolkit.backends.write_through = False
    await toolkit.backends.write_entries([parse_entry(sample_entries()[0])])
    message = await _error(tools, "search_catalog", {"query": "orders"})
    assert "stale: rebuild required after catalog write" in message
    assert "Rebuild or attach the catalog search index before retrying search_catalog" in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"query": "  "}, "Invalid input: search_catalog.query must not be blank"),
        ({"query": "x", "kinds": ["special"]}, "special kind is reserved"),
        ({"query": "x", "bogus": 1}, "Invalid input: search_catalog got unknown field"),
        ({"query": "x", "filters": {"colour": "red"}}, "filters has unknown field"),
        ({"query": "x", "filters": {"table": {"name": "orders", "extra": 1}}}, "unknown field"),
    ],
)
async def test_search_catalog_rejects_bad_input(tools: Handlers, args: Any, message: str) -> None:
    assert message in await _error(tools, "search_catalog", args)


# --------------------------------------------------------------------------- entities & fields


async def test_get_catalog_entities_keeps_order_and_reports_missing(tools: Handlers) -> None:
    out = await _ok(
        tools,
        "get_catalog_entities",
        {
            "refs": [
                {"id": "metric:revenue"},
                {"qualified_name": "main.orders"},
                {"name": "shipped", "kind": "enum_value"},
                {"name": "orders"},
                {"id": "special:config"},
                {"name": "customer_id", "kind": "column"},
                {"id": "a", "name": "b"},
            ]
        },
    )
    assert [e["id"] for e in out["entities"]] == [
        "metric:revenue",
        table_id("orders"),
        "enum:orders.status.shipped",
    ]
    assert [m["code"] for m in out["missing"]] == [
        "kind_required_for_name_reference",
        "no_matching_id",
        "ambiguous_reference",
        "exactly_one_of_id_qualified_name_or_name_required",
    ]
    table = out["entities"][1]
    assert table["details"]["database_id"] == "shop"
    assert table["relations"][0] == {
        "relation_kind": "has_column",
        "target_id": column_id("orders", "order_id"),
    }


async def test_more_than_five_refs_get_summary_details(tools: Handlers) -> None:
    refs = [
        {"qualified_name": f"main.orders.{c}"}
        for c in ("order_id", "customer_id", "status", "total")
    ] + [{"qualified_name": "main.orders"}, {"qualified_name": "main.customers"}]
    out = await _ok(tools, "get_catalog_entities", {"refs": refs})
    assert "ordinal_position" not in out["entities"][0]["details"]
    assert "reduced to the summary" in out["warnings"][0]
    few = await _ok(tools, "get_catalog_entities", {"refs": refs[:1]})
    assert few["entities"][0]["details"]["ordinal_position"] == 1


async def test_documents_and_knowledge_are_hydrated_from_kv(tools: Handlers) -> None:
    kv = MemoryKeyValueStore()
    await kv.put("acme", "data:document:doc-policy", {"content": "Full policy text."})
    await kv.put("acme", "data:knowledge:refund-rule", {"description": "Refunds within 30 days."})
    out = await _ok(
        tools,
        "get_catalog_entities",
        {"refs": [{"id": "document:policy"}, {"id": "knowledge:refund-rule"}]},
        kv=kv,
    )
    assert [e["description"] for e in out["entities"]] == [
        "Full policy text.",
        "Refunds within 30 days.",
    ]
    empty = await _ok(
        tools,
        "get_catalog_entities",
        {"refs": [{"id": "document:policy"}]},
        kv=MemoryKeyValueStore(),
    )
    assert "not found in kv" in empty["entities"][0]["warnings"][0]


async def test_list_schema_fields_lists_columns_in_order_with_filters(tools: Handlers) -> None:
    out = await _ok(tools, "list_schema_fields", {"tables": [{"qualified_name": "main.orders"}]})
    fields = out["tables"][0]["fields"]
    assert [f["name"] for f in fields] == ["order_id", "customer_id", "status", "total"]
    assert fields[0]["details"]["ordinal_position"] == 1  # one table: full details
    filtered = await _ok(
        tools,
        "list_schema_fields",
        {
            "tables": [{"qualified_name": "main.orders"}, {"qualified_name": "main.products"}],
            "filters": {"semantic_type": "currency"},
            "limit_per_table": 1,
        },
    )
    assert [[f["name"] for f in t["fields"]] for t in filtered["tables"]] == [["total"], ["price"]]
    assert "ordinal_position" not in filtered["tables"][0]["fields"][0]["details"]
    capped = await _ok(
        tools,
        "list_schema_fields",
        {"tables": [{"qualified_name": "main.orders"}], "limit_per_table": 2},
    )
    assert capped["tables"][0]["pagination"] == {"limit": 2, "returned": 2, "has_more": True}
    not_table = await _ok(
        tools, "list_schema_fields", {"tables": [{"qualified_name": "main.orders.total"}]}
    )
    assert not_table["tables"] == [] and "not a table" in not_table["warnings"][0]


# --------------------------------------------------------------------------- relations & paths


async def test_get_catalog_relations_folds_foreign_keys(tools: Handlers) -> None:
    out = await _ok(
        tools,
        "get_catalog_relations",
        {
            "refs": [{"qualified_name": "main.customers"}],
            "direction": "incoming",
            "relation_kinds": ["referenced_by_table", "no_such_kind"],
        },
    )
    relations = out["results"][0]["relations"]
    assert [r["relation_kind"] for r in relations] == ["referenced_by_table"]
    assert relations[0]["target"]["id"] == table_id("orders")
    assert relations[0]["relationship"]["source_column"] == "customer_id"
    assert "unknown relation kind(s) ignored: no_such_kind" in out["warnings"]
    column = await _ok(
        tools,
        "get_catalog_relations",
        {"refs": [{"qualified_name": "main.orders.customer_id"}], "direction": "outgoing"},
    )
    kinds = {(r["relation_kind"], r["target"]["id"]) for r in column["results"][0]["relations"]}
    assert ("references", column_id("customers", "customer_id")) in kinds
    assert ("belongs_to", table_id("orders")) in kinds


async def test_get_catalog_relations_limits_and_filters_target_kinds(tools: Handlers) -> None:
    out = await _ok(
        tools,
        "get_catalog_relations",
        {
            "refs": [{"qualified_name": "main.orders"}],
            "limit_per_ref": 2,
            "target_kinds": ["column"],
        },
    )
    result = out["results"][0]
    assert result["pagination"] == {"limit": 2, "returned": 2, "has_more": True}
    assert all(r["target"]["kind"] == "column" for r in result["relations"])
    assert "showing 2 of" in result["warnings"][0]


async def test_relation_paths_join_semantic_and_missing(tools: Handlers) -> None:
    out = await _ok(
        tools,
        "get_relation_paths_between",
        {
            "from": {"qualified_name": "main.orders"},
            "to": [
                {"qualified_name": "main.customers"},
                {"id": "metric:revenue"},
                {"qualified_name": "main.products"},
                {"id": "nope"},
            ],
        },
    )
    join, metric, products, missing = out["paths"]
    assert join["found"] and join["path_type"] == "join" and join["length"] == 1
    via = join["steps"][0]["via_relation"]
    assert via["from_column"] == "orders.customer_id" and via["relationship_id"] == (
        "relationship:orders_customer"
    )
    assert metric["found"] and metric["path_type"] == "semantic"
    assert not products["found"] and products["path_type"] == "any"
    assert not missing["found"] and "no_matching_id" in missing["warnings"][0]
    only_join = await _ok(
        tools,
        "get_relation_paths_between",
        {
            "from": {"qualified_name": "main.orders"},
            "to": [{"id": "metric:revenue"}],
            "path_type": "join",
        },
    )
    assert not only_join["paths"][0]["found"]
    assert "join paths connect two tables" in only_join["paths"][0]["warnings"][0]
    unknown = await _ok(
        tools,
        "get_relation_paths_between",
        {"from": {"id": "nope"}, "to": [{"id": "metric:revenue"}]},
    )
    assert unknown["paths"] == [] and "no_matching_id" in unknown["warnings"][0]


# --------------------------------------------------------------------------- target database


async def test_sample_table_data_projects_to_catalog_columns(tools: Handlers) -> None:
    out = await _ok(tools, "sample_table_data", {"table": {"qualified_name": "main.customers"}})
    assert out["columns"] == ["customer_id", "name", "region"]
    assert out["row_count"] == 3 and "secret_score" not in out["rows"][0]
    assert "secret_score" in out["warnings"][0]
    picked = await _ok(
        tools,
        "sample_table_data",
        {"table": {"qualified_name": "main.customers"}, "columns": ["REGION"], "limit": 99},
    )
    assert picked["columns"] == ["region"] and picked["row_count"] == 3
    assert (
        await _error(
            tools,
            "sample_table_data",
            {"table": {"qualified_name": "main.customers"}, "columns": ["secret_score"]},
        )
        == "unknown column for sample_table_data: secret_score"
    )
    assert "must reference a table" in await _error(
        tools, "sample_table_data", {"table": {"id": "metric:revenue"}}
    )


async def test_execute_query_returns_rows_and_truncation(tools: Handlers) -> None:
    out = await _ok(
        tools,
        "execute_query",
        {
            "sql": "SELECT order_id FROM orders WHERE total > ? ORDER BY 1",
            "params": [5],
            "limit": 1,
            "purpose": "testing",
        },
    )
    assert out == {
        "columns": ["order_id"],
        "rows": [{"order_id": 10}],
        "row_count": 1,
        "truncated": True,
        "truncated_reason": "rows",
    }
    assert await _error(tools, "execute_query", {"sql": "DROP TABLE orders"}) == (
        "Only read-only SELECT/WITH queries are allowed; DROP statements are refused"
    )
    assert await _error(tools, "execute_query", {"sql": "SELECT 1; SELECT 2"}) == (
        "Multiple statements not allowed"
    )
    assert "params[0] must be a string" in await _error(
        tools, "execute_query", {"sql": "SELECT ?", "params": [[1]]}
    )


async def test_execute_query_reports_a_result_cut_at_the_byte_cap(tools: Handlers) -> None:
    sql = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100) "
        "SELECT n, printf('%.*c', 60000, 'x') AS body FROM r"
    )
    out = await _ok(tools, "execute_query", {"sql": sql, "limit": 1000})
    assert out["truncated"] is True and out["truncated_reason"] == "bytes"
    assert 10 < out["row_count"] < 20 and out["row_count"] == len(out["rows"])
    assert len(json.dumps(out["rows"])) <= 1_048_576
    assert "1048576-byte result cap" in out["warnings"][-1]


# --------------------------------------------------------------------------- placeholders


async def test_tools_without_backends_say_which_section_to_add() -> None:
    handlers = catalog_tool_handlers(None, "acme")
    for tool in CATALOG_TOOLS[:-1]:
        outcome = await handlers[tool](_call(), {})
        assert outcome.is_error
        assert outcome.content["error"].startswith(
            "DataCatalog missing: pass data_environment.catalog"
        ), tool
    outcome = await handlers["execute_query"](_call(), {"sql": "SELECT 1"})
    assert outcome.content["error"].startswith(
        "TargetDatabase missing: pass data_environment.target_database or "
    )
    catalog_only = catalog_tool_handlers({"catalog": {"kind": "empty"}}, "acme")
    outcome = await catalog_only["sample_table_data"](_call(), {"table": {"id": "x"}})
    assert outcome.content["error"].startswith("TargetDatabase missing")
    outcome = await catalog_only["search_catalog"](_call(), {"query": "x"})
    assert outcome.content["error"].startswith("CatalogSearch missing")
