"""Catalog conformance: the same suite on the inline, SQLite and PostgreSQL backends, plus
what only durable catalogs do (writes, scope isolation, undecodable rows)."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from flowai_harness.data.catalog.entries import CatalogLink, parse_entry
from flowai_harness.data.catalog.factory import open_catalog
from flowai_harness.data.catalog.memory import MemoryCatalog
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.errors import DataEnvironmentError, SpecValueError
from tests.data.conftest import SCOPE, PgSchema
from tests.data.sample_catalog import column_id, sample_entries, table_id

# --------------------------------------------------------------------------- every backend


async def test_get_entries_returns_exactly_the_existing_ids(shop_catalog: CatalogStore) -> None:
    found = await shop_catalog.get_entries(SCOPE, [table_id("orders"), "nope", "metric:revenue"])
    assert set(found) == {table_id("orders"), "metric:revenue"}
    assert found["metric:revenue"].to_wire() == next(
        e for e in sample_entries() if e["id"] == "metric:revenue"
    )


async def test_entries_round_trip_unchanged(shop_catalog: CatalogStore) -> None:
    wanted = {e["id"]: e for e in sample_entries()}
    found = await shop_catalog.get_entries(SCOPE, list(wanted))
    assert {k: v.to_wire() for k, v in found.items()} == wanted


async def test_find_entries_is_exact_trimmed_and_case_insensitive(
    shop_catalog: CatalogStore,
) -> None:
    found = await shop_catalog.find_entries(SCOPE, "qualified_name", "  MAIN.Orders ")
    assert [e.id for e in found] == [table_id("orders")]
    assert await shop_catalog.find_entries(SCOPE, "qualified_name", "main.order") == []
    by_name = await shop_catalog.find_entries(SCOPE, "name", "customer_id", ["column"])
    assert {e.id for e in by_name} == {
        column_id("orders", "customer_id"),
        column_id("customers", "customer_id"),
    }
    assert await shop_catalog.find_entries(SCOPE, "name", "customer_id", ["table"]) == []


async def test_list_entries_pages_by_id(shop_catalog: CatalogStore) -> None:
    columns = await shop_catalog.list_entries(SCOPE, ["column"])
    assert len(columns) == 10
    assert [c.id for c in columns] == sorted(c.id for c in columns)
    first = await shop_catalog.list_entries(SCOPE, ["column"], limit=4)
    rest = await shop_catalog.list_entries(SCOPE, ["column"], after_id=first[-1].id)
    assert [c.id for c in first + rest] == [c.id for c in columns]
    assert await shop_catalog.list_entries(SCOPE, []) == []


async def test_find_by_table_matches_table_and_schema_metadata(shop_catalog: CatalogStore) -> None:
    found = await shop_catalog.find_by_table(SCOPE, "ORDERS", "main", ["column"])
    assert len(found) == 4
    assert await shop_catalog.find_by_table(SCOPE, "orders", "sales", ["column"]) == []
    enums = await shop_catalog.find_by_table(SCOPE, "orders", None, ["enum"])
    assert [e.id for e in enums] == ["enum:orders.status.shipped"]


async def test_incoming_links_reverse_the_stored_links(shop_catalog: CatalogStore) -> None:
    incoming = await shop_catalog.incoming_links(SCOPE, [table_id("orders")])
    pairs = {(source, link.relation_type) for source, link in incoming}
    assert ("metric:revenue", "metric_uses") in pairs
    assert ("knowledge:refund-rule", "knowledge_applies_to") in pairs
    assert (column_id("orders", "total"), "belongs_to") in pairs
    assert len(await shop_catalog.incoming_links(SCOPE, [table_id("orders")], limit=2)) == 2


async def test_count_entries(shop_catalog: CatalogStore) -> None:
    assert await shop_catalog.count_entries(SCOPE) == len(sample_entries())


# --------------------------------------------------------------------------- read-only kinds


@pytest.mark.parametrize("kind", ["inline", "empty"])
async def test_in_memory_catalogs_refuse_writes_with_the_spec_message(kind: str) -> None:
    catalog = open_catalog({"kind": kind, "entries": []} if kind == "inline" else {"kind": kind})
    assert not catalog.writable
    message = (
        "profiling/ingestion requires a durable catalog backend; "
        f"data_environment.catalog kind={kind} is read-only"
    )
    with pytest.raises(DataEnvironmentError, match=message):
        await catalog.upsert_entries(SCOPE, [])
    with pytest.raises(DataEnvironmentError, match=message):
        await catalog.delete_entries(SCOPE, ["x"])


async def test_inline_catalog_ignores_scope_and_rejects_bad_entries() -> None:
    catalog = MemoryCatalog.from_descriptor({"kind": "inline", "entries": sample_entries()})
    other = CatalogScope("someone-else", "elsewhere")
    assert await catalog.count_entries(other) == len(sample_entries())
    broken = [*sample_entries()[:1], {"id": "x"}]
    with pytest.raises(SpecValueError, match=r"data_environment.catalog.entries\[1\] is missing"):
        MemoryCatalog.from_descriptor({"kind": "inline", "entries": broken})
    duplicate = sample_entries()[:1] * 2
    with pytest.raises(SpecValueError, match="two entries with id"):
        MemoryCatalog.from_descriptor({"kind": "inline", "entries": duplicate})


# --------------------------------------------------------------------------- durable kinds


@pytest.fixture(params=["sqlite", "postgres"])
async def durable_catalog(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        catalog = open_catalog({"kind": "sqlite", "url": f"sqlite:{tmp_path / 'c.db'}"})
    else:
        schema: PgSchema = request.getfixturevalue("pg_schema")
        catalog = open_catalog({"kind": "postgres", "url": schema.url, "ensureSchema": True})
    try:
        yield catalog
    finally:
        await catalog.close()


async def test_scopes_are_isolated_between_tenants_and_workspaces(
    durable_catalog: CatalogStore,
) -> None:
    entries = [parse_entry(e) for e in sample_entries()]
    scopes = [CatalogScope("acme"), CatalogScope("acme", "staging"), CatalogScope("globex")]
    await durable_catalog.upsert_entries(scopes[0], entries)
    await durable_catalog.upsert_entries(scopes[1], entries[:3])
    assert await durable_catalog.count_entries(scopes[0]) == len(entries)
    assert await durable_catalog.count_entries(scopes[1]) == 3
    assert await durable_catalog.count_entries(scopes[2]) == 0
    assert await durable_catalog.get_entries(scopes[2], [e.id for e in entries]) == {}
    assert await durable_catalog.find_entries(scopes[2], "name", "orders") == []
    assert await durable_catalog.incoming_links(scopes[1], [table_id("orders")]) == []
    assert await durable_catalog.find_by_table(scopes[2], "orders") == []
    assert await durable_catalog.delete_entries(scopes[2], [e.id for e in entries]) == 0
    assert await durable_catalog.count_entries(scopes[0]) == len(entries)


async def test_upsert_replaces_an_entry_and_its_links(durable_catalog: CatalogStore) -> None:
    raw = sample_entries()[1]
    await durable_catalog.upsert_entries(SCOPE, [parse_entry(raw)])
    changed = dict(
        raw,
        content="changed",
        related=[{"target_id": "x", "relationType": "applies_to", "description": "d"}],
    )
    await durable_catalog.upsert_entries(SCOPE, [parse_entry(changed)])
    stored = (await durable_catalog.get_entries(SCOPE, [raw["id"]]))[raw["id"]]
    assert stored.content == "changed"
    assert stored.related == (CatalogLink("x", "applies_to", "d"),)
    assert await durable_catalog.incoming_links(SCOPE, [column_id("orders", "order_id")]) == []
    assert await durable_catalog.count_entries(SCOPE) == 1


async def test_delete_removes_entries_and_their_links(durable_catalog: CatalogStore) -> None:
    await durable_catalog.upsert_entries(SCOPE, [parse_entry(e) for e in sample_entries()])
    assert await durable_catalog.delete_entries(SCOPE, ["metric:revenue", "nope"]) == 1
    incoming = await durable_catalog.incoming_links(SCOPE, [table_id("orders")])
    assert "metric:revenue" not in {source for source, _ in incoming}


async def test_metadata_key_order_survives_storage(durable_catalog: CatalogStore) -> None:
    raw = dict(
        sample_entries()[0],
        metadata={
            "tableName": "t",
            "databaseId": "d",
            "schemaName": "s",
            "zeta": [1, {"b": 2, "a": 1}],
        },
    )
    await durable_catalog.upsert_entries(SCOPE, [parse_entry(raw)])
    stored = (await durable_catalog.get_entries(SCOPE, [raw["id"]]))[raw["id"]]
    assert list(stored.metadata) == ["tableName", "databaseId", "schemaName", "zeta"]
    assert stored.to_wire() == raw


async def test_sqlite_rows_with_broken_metadata_are_read_as_undecodable(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    catalog = open_catalog({"kind": "sqlite", "url": str(path)})
    await catalog.upsert_entries(SCOPE, [parse_entry(sample_entries()[0])])
    await catalog.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE catalog_entries SET metadata = '{not json', tags = 'nope'")
    conn.commit()
    conn.close()
    entry = (await catalog.get_entries(SCOPE, [table_id("customers")]))[table_id("customers")]
    assert entry.metadata == {} and entry.metadata_error == "stored metadata is not valid JSON"
    assert entry.tags == ()
    await catalog.close()


async def test_sqlite_catalog_creates_its_tables_even_without_ensure_schema(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fresh.db"
    catalog = open_catalog({"kind": "sqlite", "url": f"sqlite:{path}", "ensureSchema": False})
    assert await catalog.count_entries(SCOPE) == 0
    await catalog.close()
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    tables = {row[0] for row in rows}
    assert {"catalog_entries", "catalog_relations"} <= tables


async def test_sqlite_catalog_in_a_missing_directory_fails_clearly(tmp_path: Path) -> None:
    catalog = open_catalog({"kind": "sqlite", "url": str(tmp_path / "no" / "such" / "c.db")})
    with pytest.raises(DataEnvironmentError, match="does not exist"):
        await catalog.count_entries(SCOPE)


async def test_postgres_catalog_without_ensure_schema_needs_existing_tables(
    pg_schema: PgSchema,
) -> None:
    catalog = open_catalog({"kind": "postgres", "url": pg_schema.url})
    with pytest.raises(DataEnvironmentError, match="table catalog_entries does not exist"):
        await catalog.count_entries(SCOPE)
    await catalog.close()
    creating = open_catalog({"kind": "postgres", "url": pg_schema.url, "ensureSchema": True})
    assert await creating.count_entries(SCOPE) == 0
    await creating.close()
    reopened = open_catalog({"kind": "postgres", "url": pg_schema.url})
    assert await reopened.count_entries(SCOPE) == 0
    await reopened.close()


async def test_postgres_connection_errors_never_show_the_password(postgres_url: str) -> None:
    url = "postgresql://postgres:hunter2secret@127.0.0.1:1/test"
    catalog = open_catalog({"kind": "postgres", "url": url})
    with pytest.raises(DataEnvironmentError) as info:
        await catalog.count_entries(SCOPE)
    assert "hunter2secret" not in str(info.value)
    assert "postgres:***@127.0.0.1:1" in str(info.value)
    await catalog.close()


async def test_postgres_url_env_is_read_when_the_catalog_opens(
    pg_schema: PgSchema,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FH_TEST_CATALOG_URL", raising=False)
    with pytest.raises(
        DataEnvironmentError,
        match=re.escape(
            "environment variable FH_TEST_CATALOG_URL is not set for "
            "data_environment.catalog.url_env"
        ),
    ):
        open_catalog({"kind": "postgres", "urlEnv": "FH_TEST_CATALOG_URL"})
    monkeypatch.setenv("FH_TEST_CATALOG_URL", pg_schema.url)
    catalog = open_catalog(
        {"kind": "postgres", "urlEnv": "FH_TEST_CATALOG_URL", "ensureSchema": True}
    )
    assert await catalog.count_entries(SCOPE) == 0
    await catalog.close()
