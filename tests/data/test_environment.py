"""The data environment end to end: backends bound to a scope, rebuild on start, writes that
keep the index in step, and the catalog toolkit inside a real runtime."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowai_harness import create_runtime, define_runtime, define_specialist, define_tenant
from flowai_harness.data.catalog.entries import parse_entry
from flowai_harness.data.catalog.store import CatalogScope
from flowai_harness.data.environment import DataBackends
from flowai_harness.errors import DataEnvironmentError
from flowai_harness.testing import ScriptedModel, collect_events
from tests.data.conftest import PgSchema
from tests.data.sample_catalog import sample_entries, table_id

SEARCHABLE = len(sample_entries()) - 1  # all but the reserved special entry


def _env(tmp_path: Path, **search: Any) -> dict[str, Any]:
    return {
        "catalog": {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'catalog.db'}"},
        "catalogSearch": {"indexPath": str(tmp_path / "idx"), **search},
    }


def test_scope_is_the_runtime_tenant_and_the_workspace(tmp_path: Path) -> None:
    assert DataBackends(_env(tmp_path), "acme").scope == CatalogScope("acme", "default")
    env = {**_env(tmp_path), "workspaceId": "ws-2"}
    assert DataBackends(env, "acme").scope == CatalogScope("acme", "ws-2")
    assert CatalogScope("acme", "ws-2").kv_tenant == "acme::workspace:ws-2"


def test_rebuild_on_start_needs_a_catalog(tmp_path: Path) -> None:
    with pytest.raises(DataEnvironmentError, match="rebuild_on_start requires data_environment"):
        DataBackends(
            {"catalogSearch": {"indexPath": str(tmp_path), "rebuildOnStart": True}}, "acme"
        )


async def test_rebuild_on_start_runs_once_before_the_first_search(tmp_path: Path) -> None:
    env = {
        "catalog": {"kind": "inline", "entries": sample_entries()},
        "catalogSearch": {"indexPath": str(tmp_path / "idx"), "rebuildOnStart": True},
    }
    backends = DataBackends(env, "acme")
    assert (await backends.index_status()).health == "unavailable"
    await backends.ensure_started()
    assert (await backends.index_status()).health == "ready"
    assert backends.start_report is not None and backends.start_report.indexed == SEARCHABLE
    backends.start_report = None
    await backends.ensure_started()
    assert backends.start_report is None


async def test_writes_to_a_read_only_catalog_fail_with_the_spec_message(tmp_path: Path) -> None:
    backends = DataBackends({"catalog": {"kind": "inline", "entries": []}}, "acme")
    with pytest.raises(DataEnvironmentError, match="kind=inline is read-only"):
        await backends.write_entries([parse_entry(sample_entries()[0])])


async def test_writes_keep_the_index_in_step_or_mark_it_stale(tmp_path: Path) -> None:
    through = DataBackends(_env(tmp_path, writeThrough=True), "acme")
    await through.write_entries([parse_entry(e) for e in sample_entries()])
    assert (await through.index_status()).health == "unavailable"  # never built: nothing to update
    await through.rebuild_index()
    assert await through.write_entries([parse_entry(sample_entries()[0])]) == []
    assert (await through.index_status()).health == "ready"
    deleted, _ = await through.delete_entries(["metric:revenue"])
    assert deleted == 1 and (await through.index_status()).health == "ready"
    stale = DataBackends(_env(tmp_path, writeThrough=False), "acme")
    await stale.write_entries([parse_entry(sample_entries()[0])])
    status = await stale.index_status()
    assert status.health == "stale" and status.reason == "rebuild required after catalog write"
    await through.aclose()
    await stale.aclose()


async def test_workspaces_sharing_a_catalog_database_do_not_see_each_other(
    pg_schema: PgSchema, tmp_path: Path
) -> None:
    base = {
        "catalog": {"kind": "postgres", "url": pg_schema.url, "ensureSchema": True},
        "catalogSearch": {"indexPath": str(tmp_path / "idx")},
    }
    main = DataBackends(base, "acme")
    other = DataBackends({**base, "workspaceId": "other"}, "acme")
    stranger = DataBackends(base, "globex")
    await main.write_entries([parse_entry(e) for e in sample_entries()])
    for backends in (main, other, stranger):
        await backends.rebuild_index()
    assert (await main.index_status()).documents == SEARCHABLE
    assert (await other.index_status()).documents == 0
    assert (await stranger.index_status()).documents == 0
    assert main.index is not None and other.index is not None
    assert main.index.path != other.index.path
    for backends in (main, other, stranger):
        await backends.aclose()


# --------------------------------------------------------------------------- in a runtime


def _runtime(env: dict[str, Any], model: ScriptedModel) -> Any:
    analyst = define_specialist(
        "analyst", model="claude-haiku-4-5", prompt="Answer with data.", toolkits=["catalog"]
    )
    spec = define_runtime(define_tenant("acme", "v1"), agents=[analyst])
    return create_runtime(spec, data_environment=env, interpreter=model)


def _results(events: list[dict[str, Any]]) -> list[Any]:
    return [
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    ]


async def test_an_agent_uses_the_catalog_tools_inside_a_runtime(
    tmp_path: Path, target_db_path: Path
) -> None:
    env = {
        "catalog": {"kind": "inline", "entries": sample_entries()},
        "catalog_search": {"index_path": str(tmp_path / "idx"), "rebuild_on_start": True},
        "target_database": {"kind": "sqlite", "url": str(target_db_path)},
    }
    model = (
        ScriptedModel()
        .add_turn(tool_calls=[("search_catalog", {"query": "orders", "kinds": ["table"]})])
        .add_turn(tool_calls=[("list_schema_fields", {"tables": [{"id": table_id("orders")}]})])
        .add_turn(tool_calls=[("execute_query", {"sql": "SELECT count(*) AS n FROM orders"})])
        .add_turn(tool_calls=[("execute_query", {"sql": "DELETE FROM orders"})])
        .add_turn(tool_calls=[("search_catalog", {"query": "x", "limit": "ten"})])
        .add_turn("There are 4 orders.")
    )
    runtime = _runtime(env, model)
    events = await collect_events(runtime.run_specialist("analyst", "How many orders?"))
    search, fields, count, refused, invalid = _results(events)
    assert search["results"][0]["id"] == table_id("orders")
    assert len(fields["tables"][0]["fields"]) == 4
    assert count["rows"] == [{"n": 4}]
    assert refused == {
        "error": "Only read-only SELECT/WITH queries are allowed; DELETE statements are refused"
    }
    assert invalid["error"].startswith("Invalid input: ")
    model.assert_all_used()


def test_an_agent_with_the_catalog_toolkit_needs_catalog_search() -> None:
    with pytest.raises(ValueError, match="catalog search is not configured"):
        _runtime({"catalog": {"kind": "empty"}}, ScriptedModel())


def test_a_broken_inline_entry_fails_create_runtime(tmp_path: Path) -> None:
    env = {
        "catalog": {"kind": "inline", "entries": [{"id": "x"}]},
        "catalog_search": {"index_path": str(tmp_path)},
    }
    with pytest.raises(ValueError, match=r"data_environment.catalog.entries\[0\] is missing"):
        _runtime(env, ScriptedModel())


async def test_credentials_never_reach_events_or_errors(tmp_path: Path, postgres_url: str) -> None:
    secret = "pa55-w0rd-xyz"
    env: dict[str, Any] = {
        "catalog": {"kind": "postgres", "url": f"postgresql://postgres:{secret}@127.0.0.1:1/x"},
        "catalog_search": {"index_path": str(tmp_path / "idx")},
        "target_database_url": f"postgresql://postgres:{secret}@127.0.0.1:1/x?password={secret}",
    }
    # the target database is opened (and its role checked) by create_runtime
    with pytest.raises(DataEnvironmentError) as info:
        _runtime(env, ScriptedModel())
    assert "cannot connect" in str(info.value) and "postgres:***@127.0.0.1:1" in str(info.value)
    assert secret not in str(info.value)
    del env["target_database_url"]
    model = (
        ScriptedModel()
        .add_turn(tool_calls=[("get_catalog_entities", {"refs": [{"id": "x"}]})])
        .add_turn("failed")
    )
    events = await collect_events(_runtime(env, model).run_specialist("analyst", "go"))
    (catalog_error,) = _results(events)
    assert "postgres:***@127.0.0.1:1" in catalog_error["error"]
    assert secret not in json.dumps(events)


async def test_a_narrowed_toolkit_offers_only_its_tools(
    tmp_path: Path, target_db_path: Path
) -> None:
    analyst = define_specialist(
        "analyst", model="claude-haiku-4-5", prompt="Query.", toolkits=["catalog"]
    )
    spec = define_runtime(
        define_tenant("acme", "v1"),
        agents=[analyst],
        toolkits=[{"id": "catalog", "config": {"tools": ["execute_query"]}}],
    )
    env = {
        "catalog_search": {"index_path": str(tmp_path / "idx")},
        "target_database_url": f"sqlite:{target_db_path}",
    }
    model = (
        ScriptedModel()
        .add_turn(tool_calls=[("execute_query", {"sql": "SELECT 1 AS one"})])
        .add_turn(tool_calls=[("search_catalog", {"query": "orders"})])
        .add_turn("done")
    )
    runtime = create_runtime(spec, data_environment=env, interpreter=model)
    events = await collect_events(runtime.run_specialist("analyst", "go"))
    assert [tool.name for tool in model.requests[0].tools] == ["execute_query"]
    query, unknown = _results(events)
    assert query["rows"] == [{"one": 1}]
    assert unknown == {"error": "Unknown tool: search_catalog"}


def test_a_narrowed_catalog_toolkit_still_needs_catalog_search(target_db_path: Path) -> None:
    analyst = define_specialist(
        "analyst", model="claude-haiku-4-5", prompt="Q.", toolkits=["catalog"]
    )
    spec = define_runtime(
        define_tenant("acme", "v1"),
        agents=[analyst],
        toolkits=[{"id": "catalog", "config": {"tools": ["execute_query"]}}],
    )
    with pytest.raises(ValueError, match="catalog search is not configured"):
        create_runtime(spec, target_database_url=f"sqlite:{target_db_path}")


def test_an_unset_url_env_fails_create_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FH_UNSET_CATALOG_URL", raising=False)
    env = {
        "catalog": {"kind": "postgres", "url_env": "FH_UNSET_CATALOG_URL"},
        "catalog_search": {"index_path": str(tmp_path)},
    }
    with pytest.raises(ValueError, match="FH_UNSET_CATALOG_URL is not set"):
        _runtime(env, ScriptedModel())
