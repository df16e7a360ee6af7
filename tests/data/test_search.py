"""The catalog search index: layout, health, rebuilds, write-through, ranking, facets, scopes."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from flowai_harness.data.catalog.entries import parse_entry
from flowai_harness.data.catalog.factory import open_catalog
from flowai_harness.data.catalog.indexing import (
    STALE_AFTER_WRITE,
    rebuild_index,
    sync_index_after_write,
)
from flowai_harness.data.catalog.memory import MemoryCatalog
from flowai_harness.data.catalog.projection import FieldClause
from flowai_harness.data.catalog.search_index import (
    CatalogSearchIndex,
    SearchQuery,
    scope_index_dir,
)
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.errors import StoreError
from flowai_harness.storage.memory import MemoryKeyValueStore
from tests.data.conftest import SCOPE
from tests.data.sample_catalog import column_id, sample_entries, table_id


def _h(value: str) -> str:
    return hashlib.sha256(value.encode()).digest()[:16].hex()


async def _search(
    index: CatalogSearchIndex,
    text: str,
    kinds: tuple[str, ...] = (),
    clauses: tuple[FieldClause, ...] = (),
) -> list[str]:
    query = SearchQuery(text, kinds, clauses)
    window = await asyncio.to_thread(index.search, query, offset=0, limit=50)
    return [hit.entry_id for hit in window.hits]


@pytest.fixture
async def ready_index(shop_catalog: CatalogStore, tmp_path: Path) -> CatalogSearchIndex:
    index = CatalogSearchIndex(tmp_path / "idx", SCOPE)
    await rebuild_index(shop_catalog, index, SCOPE)
    return index


def test_scope_directory_follows_the_spec_layout(tmp_path: Path) -> None:
    path = scope_index_dir(tmp_path, CatalogScope("acme", "ws"))
    assert path == tmp_path / ".agent-fw" / "indexes" / "catalog" / _h("acme") / _h("ws")


async def test_health_goes_unavailable_then_ready_then_stale(
    shop_catalog: CatalogStore, tmp_path: Path
) -> None:
    index = CatalogSearchIndex(tmp_path / "idx", SCOPE)
    status = index.status()
    assert status.health == "unavailable" and "no catalog search index" in str(status.reason)
    with pytest.raises(
        StoreError, match=r"unavailable.*Rebuild or attach the catalog search index"
    ):
        index.search(SearchQuery("orders"), offset=0, limit=5)
    report = await rebuild_index(shop_catalog, index, SCOPE)
    assert report.status is not None and report.status.health == "ready"
    # every searchable entry but the reserved special one
    assert report.indexed == len(sample_entries()) - 1 == index.status().documents
    index.mark_stale("rebuild required after catalog write")
    assert index.status().health == "stale"
    assert index.status().reason == "rebuild required after catalog write"
    with pytest.raises(StoreError, match="stale: rebuild required after catalog write"):
        index.search(SearchQuery("orders"), offset=0, limit=5)
    await rebuild_index(shop_catalog, index, SCOPE)
    assert index.status().health == "ready"
    assert not (index.path / ".stale").exists()


async def test_a_different_projection_version_or_schema_makes_the_index_stale(
    ready_index: CatalogSearchIndex,
) -> None:
    manifest_path = ready_index.path / "projection.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps(dict(manifest, projectionVersion=2)))
    assert ready_index.status().health == "stale"
    assert ready_index.status().reason == "projection version 2 != 3"
    manifest_path.write_text(json.dumps(dict(manifest, schemaFingerprint="other")))
    assert "schema differs" in str(ready_index.status().reason)
    manifest_path.unlink()
    assert ready_index.status().health == "stale"


async def test_lexical_search_ranks_names_above_descriptions(
    ready_index: CatalogSearchIndex,
) -> None:
    hits = await _search(ready_index, "revenue")
    assert hits[0] == "metric:revenue"
    assert (await _search(ready_index, "orders"))[0] == table_id("orders")
    # stemming and identifier splitting: "order item" finds order_id
    assert column_id("orders", "order_id") in await _search(ready_index, "order identifier")
    # synonyms and enum display values are searchable
    assert await _search(ready_index, "turnover") == ["metric:revenue"]
    assert "enum:orders.status.shipped" in await _search(ready_index, "dispatched")
    # exact qualified name and id matches
    assert (await _search(ready_index, "main.customers.region"))[0] == column_id(
        "customers", "region"
    )
    assert (await _search(ready_index, "metric:revenue"))[0] == "metric:revenue"
    assert await _search(ready_index, "zzzz nothing matches") == []
    assert "special:config" not in await _search(ready_index, "orders reserved")


async def test_kinds_and_filter_clauses_restrict_results(ready_index: CatalogSearchIndex) -> None:
    column_ids = {e["id"] for e in sample_entries() if e["itemType"] == "column"}
    columns = await _search(ready_index, "customer", kinds=("column",))
    assert columns and set(columns) <= column_ids
    currency = await _search(
        ready_index, "eur", clauses=(FieldClause("semantic_type", ("currency",)),)
    )
    assert set(currency) == {column_id("orders", "total"), column_id("products", "price")}
    assert (
        await _search(ready_index, "customer", clauses=(FieldClause("schema", ("sales",)),)) == []
    )


async def test_facets_count_kinds_schemas_tables_and_tags(ready_index: CatalogSearchIndex) -> None:
    window = await asyncio.to_thread(
        ready_index.search, SearchQuery("customer"), offset=0, limit=3, facets=True
    )
    assert window.facets is not None
    kinds = dict(window.facets["kinds"])
    assert kinds["column"] >= 2 and kinds["table"] >= 1
    counts = [count for _, count in window.facets["kinds"]]
    assert counts == sorted(counts, reverse=True)
    assert ("main", window.facets["schemas"][0][1]) == window.facets["schemas"][0]
    assert len(window.hits) == 3 and window.more


async def test_facets_of_broad_queries_count_the_top_thousand_matches(tmp_path: Path) -> None:
    def column(i: int) -> dict[str, object]:
        schema = "wide" if i % 3 else "narrow"
        return {
            "id": f"column:{i}",
            "itemType": "column",
            "name": f"alpha_{i}",
            "qualified_name": f"{schema}.t.alpha_{i}",
            "content": "alpha column" + (" zebra" if i == 7 else ""),
            "tags": ["[TYPE:column]", "odd" if i % 2 else "even"],
            "related": [],
            "metadata": {
                "databaseId": "d",
                "schemaName": schema,
                "tableName": "t",
                "columnName": f"alpha_{i}",
                "dataType": "int",
                "nullable": True,
            },
        }

    catalog = MemoryCatalog([parse_entry(column(i)) for i in range(1200)])
    index = CatalogSearchIndex(tmp_path / "idx", SCOPE)
    await rebuild_index(catalog, index, SCOPE)
    broad = index.search(SearchQuery("alpha"), offset=0, limit=5, facets=True)
    assert broad.facets is not None
    assert broad.facets["kinds"] == [("column", 1000)]
    assert sum(count for _, count in broad.facets["schemas"]) == 1000
    assert dict(broad.facets["tags"])["[TYPE:column]"] == 1000
    narrow = index.search(SearchQuery("zebra"), offset=0, limit=5, facets=True)
    assert narrow.facets is not None and narrow.facets["kinds"] == [("column", 1)]
    assert narrow.facets["schemas"] == [("wide", 1)]
    assert narrow.facets["tags"] == [("[TYPE:column]", 1), ("odd", 1)]


async def test_an_index_copied_to_another_scope_is_not_served(
    ready_index: CatalogSearchIndex, tmp_path: Path
) -> None:
    import shutil

    other = CatalogSearchIndex(tmp_path / "idx", CatalogScope("globex"))
    shutil.copytree(ready_index.path, other.path)
    status = other.status()
    assert status.health == "unavailable" and "belongs to another scope" in str(status.reason)


async def test_rebuild_skips_undecodable_entries_with_a_warning(tmp_path: Path) -> None:
    broken = dict(sample_entries()[0], id="table:broken", metadata={"databaseId": "shop"})
    catalog = MemoryCatalog([parse_entry(e) for e in [*sample_entries(), broken]])
    index = CatalogSearchIndex(tmp_path / "idx", SCOPE)
    report = await rebuild_index(catalog, index, SCOPE)
    assert report.skipped == 1
    assert "table:broken (table metadata is missing 'schemaName')" in report.warnings[0]
    assert "table:broken" not in await _search(index, "customers")


async def test_rebuild_caps_entries_per_kind(shop_catalog: CatalogStore, tmp_path: Path) -> None:
    index = CatalogSearchIndex(tmp_path / "idx", SCOPE)
    report = await rebuild_index(shop_catalog, index, SCOPE, max_per_kind=3)
    assert any("column has more than 3 entries" in w for w in report.warnings)
    assert report.indexed == len(sample_entries()) - 1 - (10 - 3)


async def test_document_bodies_come_from_kv_under_the_workspace_tenant(tmp_path: Path) -> None:
    catalog = MemoryCatalog([parse_entry(e) for e in sample_entries()])
    scope = CatalogScope("acme", "ws-1")
    kv = MemoryKeyValueStore()
    await kv.put(
        "acme::workspace:ws-1",
        "data:document:doc-policy",
        {"id": "doc-policy", "content": "Refunds are accepted within thirty days."},
    )
    index = CatalogSearchIndex(tmp_path / "idx", scope)
    report = await rebuild_index(catalog, index, scope, kv)
    assert report.warnings == []
    assert await _search(index, "thirty days") == ["document:policy"]
    without_kv = await rebuild_index(catalog, index, scope, None)
    assert "document:policy indexed without its body: no kv store" in without_kv.warnings[0]
    assert await _search(index, "thirty days") == []


async def test_scope_indexes_are_isolated(tmp_path: Path) -> None:
    root = tmp_path / "idx"
    catalog = open_catalog({"kind": "sqlite", "url": str(tmp_path / "c.db")})
    acme, globex = CatalogScope("acme"), CatalogScope("globex")
    staging = CatalogScope("acme", "staging")
    await catalog.upsert_entries(acme, [parse_entry(e) for e in sample_entries()])
    await catalog.upsert_entries(staging, [parse_entry(sample_entries()[0])])
    for scope in (acme, globex, staging):
        await rebuild_index(catalog, CatalogSearchIndex(root, scope), scope)
    assert await _search(CatalogSearchIndex(root, globex), "orders") == []
    assert await _search(CatalogSearchIndex(root, staging), "orders") == []
    assert await _search(CatalogSearchIndex(root, staging), "customers") == [table_id("customers")]
    assert table_id("orders") in await _search(CatalogSearchIndex(root, acme), "orders")
    await catalog.close()


async def test_write_through_updates_a_ready_index_in_place(
    ready_index: CatalogSearchIndex,
) -> None:
    renamed = parse_entry(dict(sample_entries()[0], content="Loyal buyers and zebras."))
    warnings = await sync_index_after_write(
        ready_index, SCOPE, write_through=True, upserted=[renamed], deleted=["metric:revenue"]
    )
    assert warnings == []
    assert ready_index.status().health == "ready"
    assert await _search(ready_index, "zebras") == [table_id("customers")]
    assert await _search(ready_index, "turnover") == []


async def test_write_through_on_a_stale_index_keeps_it_stale(
    ready_index: CatalogSearchIndex,
) -> None:
    ready_index.mark_stale("manual")
    warnings = await sync_index_after_write(
        ready_index, SCOPE, write_through=True, upserted=[parse_entry(sample_entries()[0])]
    )
    assert "marked stale" in warnings[0] and ready_index.status().health == "stale"


async def test_writes_without_write_through_mark_the_index_stale(
    ready_index: CatalogSearchIndex,
) -> None:
    await sync_index_after_write(ready_index, SCOPE, write_through=False, deleted=["x"])
    status = ready_index.status()
    assert status.health == "stale" and status.reason == STALE_AFTER_WRITE


async def test_a_second_handle_sees_a_rebuild_made_by_another(
    shop_catalog: CatalogStore, tmp_path: Path
) -> None:
    reader = CatalogSearchIndex(tmp_path / "idx", SCOPE)
    writer = CatalogSearchIndex(tmp_path / "idx", SCOPE)
    await rebuild_index(MemoryCatalog([parse_entry(sample_entries()[0])]), writer, SCOPE)
    assert await _search(reader, "orders") == []
    await rebuild_index(shop_catalog, writer, SCOPE)
    assert table_id("orders") in await _search(reader, "orders")
