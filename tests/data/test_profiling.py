"""Profiling (src/flowai_harness/data/profiling/) on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.data.catalog.entries import CatalogEntry, generated_id, parse_entry
from flowai_harness.data.catalog.metadata import metadata_problem
from flowai_harness.data.environment import DataBackends
from flowai_harness.data.profiling.enrichment import (
    DatabaseContext,
    FallbackEnricher,
    ModelEnricher,
    TableEnricher,
)
from flowai_harness.data.profiling.profiler import (
    JOB_STATUS_TTL_MS,
    Profiler,
    ProfileRequest,
    estimate_profile,
    job_status_key,
    target_fingerprint,
)
from flowai_harness.data.profiling.schema import (
    ColumnSchema,
    SqliteSchemaReader,
    open_schema_reader,
)
from flowai_harness.data.profiling.stats import (
    ColumnProfile,
    TableProfile,
    profile_table,
    semantic_type_of,
    type_category,
)
from flowai_harness.data.target.database import TargetDatabase
from flowai_harness.data.target.results import QueryResult
from flowai_harness.errors import DataEnvironmentError, SpecValueError, StoreError
from flowai_harness.ports import ModelClient, ModelPart, ModelRequest, ModelText
from flowai_harness.providers.factory import provider_client
from flowai_harness.storage.memory import MemoryKeyValueStore
from tests.data.conftest import PgSchema
from tests.data.sample_catalog import create_target_database
from tests.providers.fakes.anthropic_server import FakeAnthropic, anthropic_error, anthropic_reply

DB = "shop"
SECRET_KEY = "sk-test-SECRET-profiling-0123456789"


def sqlite_env(tmp_path: Path, target: Path) -> dict[str, Any]:
    return {
        "catalog": {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'catalog.db'}"},
        "targetDatabase": {"kind": "sqlite", "url": f"sqlite:{target}"},
    }


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[tuple[dict[str, Any], DataBackends]]:
    env = sqlite_env(tmp_path, create_target_database(tmp_path / "target.db"))
    backends = DataBackends(env, "acme")
    try:
        yield env, backends
    finally:
        await backends.aclose()


async def run_profile(
    env: dict[str, Any],
    backends: DataBackends,
    request: ProfileRequest,
    mode: str = "database",
    enricher: TableEnricher | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    assert backends.target is not None
    reader = open_schema_reader(env, backends.target)
    profiler = Profiler(backends, reader, enricher or FallbackEnricher(), **kwargs)
    return [event async for event in profiler.run(request, mode)]  # type: ignore[arg-type]


def by_type(events: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


async def entries_of(backends: DataBackends, *kinds: str) -> list[CatalogEntry]:
    assert backends.catalog is not None
    return await backends.catalog.list_entries(backends.scope, list(kinds) or None)


# ------------------------------------------------------------------ schema and statistics


async def test_sqlite_reader_lists_tables_and_reads_keys(target_db_path: Path) -> None:
    reader = SqliteSchemaReader(str(target_db_path))
    assert await reader.list_tables("main") == [
        ("customers", "table"),
        ("orders", "table"),
        ("products", "table"),
    ]
    orders = await reader.describe_table("main", "orders", "table")
    assert [c.name for c in orders.columns] == ["order_id", "customer_id", "status", "total"]
    assert orders.primary_key == ("order_id",)
    key = orders.foreign_keys[0]
    assert (key.columns, key.referenced_table, key.referenced_columns) == (
        ("customer_id",),
        "customers",
        ("customer_id",),
    )


async def test_sqlite_reader_resolves_a_reference_to_the_primary_key(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            "CREATE TABLE a (code TEXT PRIMARY KEY); CREATE TABLE b (a_code TEXT REFERENCES a);"
        )
    table = await SqliteSchemaReader(str(path)).describe_table("main", "b", "table")
    assert table.foreign_keys[0].referenced_columns == ("code",)


async def test_sqlite_reader_refuses_other_schemas(target_db_path: Path) -> None:
    with pytest.raises(DataEnvironmentError, match="one schema, 'main'"):
        await SqliteSchemaReader(str(target_db_path)).list_tables("public")


def test_declared_types_fall_into_categories() -> None:
    assert type_category("INTEGER") == "integer"
    assert type_category("character varying") == "text"
    assert type_category("timestamp with time zone") == "temporal"
    assert type_category("NUMERIC(10,2)") == "number"
    assert type_category("jsonb") == "json"
    assert type_category("BLOB") == "binary"
    assert type_category("boolean") == "boolean"


def _column(name: str, data_type: str = "TEXT", **kwargs: Any) -> ColumnProfile:
    return ColumnProfile(
        ColumnSchema(name, data_type, True, None, 1, **kwargs), type_category(data_type)
    )


def test_semantic_types_come_from_keys_names_and_values() -> None:
    assert semantic_type_of(_column("id", "INTEGER", primary_key=True), False) == "identifier"
    assert semantic_type_of(_column("customer_id", "INTEGER"), True) == "foreign_key"
    assert semantic_type_of(_column("contact"), False, ["a@b.io", "c@d.org"]) == "email"
    assert semantic_type_of(_column("unit_price", "REAL"), False) == "currency"
    assert semantic_type_of(_column("created_at"), False) == "timestamp"
    assert semantic_type_of(_column("birth", "DATE"), False) == "date"
    assert semantic_type_of(_column("region"), False) == "location"
    assert semantic_type_of(_column("blurb"), False) is None


class _BrokenSampling:
    """A target whose sampling fails (everything else delegates to the real one)."""

    def __init__(self, inner: TargetDatabase) -> None:
        self.inner = inner
        self.kind, self.dialect, self.default_schema = inner.kind, inner.dialect, "main"

    async def execute_query(
        self, sql: str, params: Sequence[Any] = (), *, limit: int = 100
    ) -> QueryResult:
        return await self.inner.execute_query(sql, params, limit=limit)

    async def sample_table(
        self, table: str, columns: Sequence[str] | None, limit: int
    ) -> QueryResult:
        raise StoreError("sampling is switched off")

    async def close(self) -> None:
        await self.inner.close()


async def test_a_failed_sample_is_not_fatal_and_becomes_a_note(shop: Any) -> None:
    env, backends = shop
    reader = open_schema_reader(env, backends.target)
    table = await reader.describe_table("main", "orders", "table")
    profile = await profile_table(_BrokenSampling(backends.target), table, sample_size=5)  # type: ignore[arg-type]
    assert profile.sample_error == "sampling is switched off"
    assert profile.row_count == 4
    assert profile.notes[0].finding_type == "sampling_failed"
    status = profile.column("status")
    assert status is not None and status.low_cardinality
    assert [value for value, _ in status.top_values] == ["shipped", "cancelled", "open"]


# --------------------------------------------------------------------------- profiling


async def test_database_profiling_writes_tables_columns_keys_and_enums(shop: Any) -> None:
    env, backends = shop
    events = await run_profile(env, backends, ProfileRequest(DB))
    assert events[0]["type"] == "started"
    assert events[-1]["type"] == "completed"
    assert {e["tableName"] for e in by_type(events, "tableCompleted")} == {
        "customers",
        "orders",
        "products",
    }
    assert all(e["source"] == "fallback" for e in by_type(events, "tableEnriched"))
    summary = events[-1]["summary"]
    assert summary["tablesDiscovered"] == 3
    assert summary["columnsProfiled"] == 11
    assert summary["enumsExtracted"] == 5  # orders.status (3), customers.region (2)
    assert summary["relationshipsFound"] == 1
    assert summary["enrichmentFallbacks"] == 3
    statuses = [e["status"]["status"] for e in by_type(events, "progress")]
    assert statuses[:2] == ["queued", "discovering"] and statuses[-1] == "completed"

    entries = await entries_of(backends)
    assert len(entries) == summary["catalogItemsIndexed"]
    assert all(metadata_problem(e) is None for e in entries)
    by_id = {e.id: e for e in entries}
    orders = by_id[generated_id("table", DB, "main", "orders")]
    assert orders.qualified_name == "main.orders"
    assert orders.metadata["rowCount"] == 4
    assert orders.metadata["source"]["origin"] == "fallback"
    assert [link.relation_type for link in orders.related] == ["has_column"] * 4
    customer_id = by_id[generated_id("column", DB, "main", "orders", "customer_id")]
    assert customer_id.metadata["foreignKey"]["referencedTable"] == "customers"
    assert customer_id.metadata["semanticType"] == "foreign_key"
    relationship = next(e for e in entries if e.item_type == "relationship")
    assert relationship.metadata["sourceCardinality"] == "many"
    assert relationship.metadata["targetTableId"] == generated_id("table", DB, "main", "customers")
    shipped = by_id[generated_id("enum", DB, "main", "orders", "status", "shipped")]
    assert shipped.metadata["frequency"] == 2
    assert shipped.metadata["rank"] == 1


async def test_entries_round_trip_through_the_wire_shape(shop: Any) -> None:
    env, backends = shop
    await run_profile(env, backends, ProfileRequest(DB))
    for entry in await entries_of(backends):
        assert parse_entry(entry.to_wire()).to_wire() == entry.to_wire()


async def test_table_mode_profiles_one_table(shop: Any) -> None:
    env, backends = shop
    events = await run_profile(env, backends, ProfileRequest(DB, tables=("ORDERS",)), "table")
    assert [e["tableName"] for e in by_type(events, "tableCompleted")] == ["orders"]
    assert {e.name for e in await entries_of(backends, "table")} == {"orders"}


async def test_unknown_tables_end_in_one_error_event(shop: Any) -> None:
    env, backends = shop
    events = await run_profile(env, backends, ProfileRequest(DB, tables=("orders", "nope")))
    assert events[-1]["type"] == "error"
    assert events[-1]["message"].startswith("requested tables not found in schema: nope")
    assert await entries_of(backends) == []


def test_blank_database_ids_and_sample_sizes_are_refused() -> None:
    with pytest.raises(SpecValueError, match="catalog profiling database_id must not be blank"):
        ProfileRequest("  ")
    with pytest.raises(SpecValueError, match="sample_size must be between 1 and 100"):
        ProfileRequest(DB, sample_size=0)


async def test_profiling_needs_a_writable_catalog_and_a_target(tmp_path: Path) -> None:
    target = create_target_database(tmp_path / "target.db")
    inline = {
        "catalog": {"kind": "empty"},
        "targetDatabase": {"kind": "sqlite", "url": str(target)},
    }
    backends = DataBackends(inline, "acme")
    assert backends.target is not None
    reader = open_schema_reader(inline, backends.target)
    with pytest.raises(DataEnvironmentError, match="kind=empty is read-only"):
        Profiler(backends, reader, FallbackEnricher())
    with pytest.raises(DataEnvironmentError, match=r"requires data_environment\.target_database"):
        Profiler(DataBackends({"catalog": {"kind": "empty"}}, "acme"), reader, FallbackEnricher())


async def test_profiling_again_replaces_entries_and_drops_stale_ones(
    shop: Any, tmp_path: Path
) -> None:
    env, backends = shop
    await run_profile(env, backends, ProfileRequest(DB))
    manual = parse_entry(
        {
            "id": "metric:revenue",
            "itemType": "metric",
            "name": "revenue",
            "content": "hand written",
            "tags": [],
            "related": [],
            "metadata": {"formula": "SUM(orders.total)"},
        }
    )
    await backends.write_entries([manual])
    with closing(sqlite3.connect(tmp_path / "target.db")) as conn, conn:
        conn.execute("UPDATE orders SET status = 'pending' WHERE status = 'open'")
    before = {e.id for e in await entries_of(backends)}
    await run_profile(env, backends, ProfileRequest(DB))
    after = {e.id for e in await entries_of(backends)}
    assert generated_id("enum", DB, "main", "orders", "status", "open") in before
    assert generated_id("enum", DB, "main", "orders", "status", "open") not in after
    assert generated_id("enum", DB, "main", "orders", "status", "pending") in after
    assert "metric:revenue" in after
    assert len(after) == len(before)


async def test_job_status_is_kept_in_kv_for_a_day(shop: Any) -> None:
    env, backends = shop
    kv = MemoryKeyValueStore()
    events = await run_profile(env, backends, ProfileRequest(DB), status_kv=kv)
    job_id = events[0]["jobId"]
    record = await kv.get("acme", job_status_key(job_id))
    assert record["status"] == "completed"
    assert record["tablesCompleted"] == 3
    assert JOB_STATUS_TTL_MS == 86_400_000


async def test_a_table_that_fails_is_reported_and_the_others_are_written(shop: Any) -> None:
    env, backends = shop

    class FailingOn:
        name, model_id = "deterministic", None

        async def enrich(self, profile: TableProfile, context: DatabaseContext) -> Any:
            if profile.table.name == "orders":
                raise RuntimeError("boom")
            return FallbackEnricher().describe(profile, context)

    events = await run_profile(env, backends, ProfileRequest(DB), enricher=FailingOn())
    failed = by_type(events, "tableFailed")
    assert failed == [{"type": "tableFailed", "tableName": "orders", "error": "RuntimeError: boom"}]
    assert events[-1]["summary"]["tablesFailed"] == 1
    assert {e.name for e in await entries_of(backends, "table")} == {"customers", "products"}


async def test_joins_without_foreign_keys_are_inferred_from_names(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);
            CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL);
            INSERT INTO customers VALUES (1, 'a'), (2, 'b');
            INSERT INTO invoices VALUES (1, 1, 2.0), (2, 1, 3.0), (3, 2, NULL);
            """
        )
    env = sqlite_env(tmp_path, path)
    backends = DataBackends(env, "acme")
    try:
        await run_profile(env, backends, ProfileRequest(DB))
        relationship = (await entries_of(backends, "relationship"))[0]
        assert relationship.metadata["relationshipKind"] == "inferred"
        assert relationship.metadata["sourceColumn"] == "customer_id"
        assert relationship.metadata["targetTable"] == "customers"
        assert relationship.metadata["confidence"] < 1
    finally:
        await backends.aclose()


# ---------------------------------------------------------------------------- estimate


async def test_estimate_counts_tables_and_columns_without_a_price(shop: Any) -> None:
    env, backends = shop
    reader = open_schema_reader(env, backends.target)
    estimate = await estimate_profile(reader, ProfileRequest(DB), model_id="claude-haiku-4-5")
    assert (estimate.tables, estimate.columns) == (3, 11)
    assert estimate.estimated_duration_secs == 22
    assert estimate.estimated_cost_usd is None
    assert estimate.to_dict()["priced"] is False
    filtered = await estimate_profile(
        reader,
        ProfileRequest(DB, tables=("orders",)),
        model_id="m",
        cost_of=lambda model, i, o, c: (i + o) / 1e6,
    )
    assert (filtered.tables, filtered.columns) == (1, 4)
    assert filtered.estimated_cost_usd is not None and filtered.estimated_cost_usd > 0
    assert filtered.estimated_cached_tokens == 0


# -------------------------------------------------------------------------- enrichment


def _anthropic(base_url: str) -> ModelClient:
    """The live Anthropic client the CLI builds, pointed at the fake API, without retries."""
    config = {"apiKey": SECRET_KEY, "baseUrl": base_url, "maxRetries": 0, "maxTokens": 4096}
    return provider_client("anthropic", config)


async def test_llm_enrichment_fills_descriptions_from_the_model(shop: Any) -> None:
    env, backends = shop
    answer = (
        '```json\n{"description": "Orders placed in the shop.", "shortDescription": "Orders",'
        ' "columns": {"status": "Where the order is.", "bogus": "ignored"},'
        ' "qualityNotes": [{"column": "total", "notes": "EUR only",'
        ' "validationRules": ["total >= 0"]}]}\n```'
    )
    async with FakeAnthropic() as server:
        server.queue(anthropic_reply(text=answer, model="claude-haiku-4-5"))
        events = await run_profile(
            env,
            backends,
            ProfileRequest(DB, tables=("orders",)),
            "table",
            enricher=ModelEnricher(_anthropic(server.url), "claude-haiku-4-5"),
        )
        [body] = server.message_bodies
    assert by_type(events, "tableEnriched")[0]["source"] == "fresh"
    assert body["model"] == "claude-haiku-4-5"
    assert body["max_tokens"] == 4096
    assert "tools" not in body
    assert "orders" in body["messages"][0]["content"][0]["text"]
    entries = {e.name: e for e in await entries_of(backends)}
    assert entries["orders"].content == "Orders placed in the shop."
    assert entries["orders"].metadata["source"]["origin"] == "llm_enrichment"
    assert entries["orders"].metadata["source"]["modelId"] == "claude-haiku-4-5"
    assert entries["orders"].metadata["source"]["enrichmentSource"] == "anthropic"
    assert entries["status"].content == "Where the order is."
    finding = (await entries_of(backends, "data_quality_finding"))[0]
    assert finding.content == "EUR only"
    assert finding.metadata["validationRules"] == ["total >= 0"]
    assert events[-1]["summary"]["enrichmentFresh"] == 1


async def test_a_failing_model_falls_back_and_says_why_without_the_key(shop: Any) -> None:
    env, backends = shop
    async with FakeAnthropic() as server:
        server.queue(anthropic_error(401, "authentication_error", f"bad key {SECRET_KEY}"))
        events = await run_profile(
            env,
            backends,
            ProfileRequest(DB, tables=("orders",)),
            "table",
            enricher=ModelEnricher(_anthropic(server.url), "claude-haiku-4-5"),
        )
    enriched = by_type(events, "tableEnriched")[0]
    assert enriched["source"] == "fallback"
    assert "HTTP 401" in enriched["fallbackReason"]
    assert SECRET_KEY not in repr(events)
    assert events[-1]["summary"]["enrichmentDegraded"] == 1
    table = (await entries_of(backends, "table"))[0]
    assert SECRET_KEY not in repr(table.metadata)
    assert table.metadata["source"]["fallbackReason"].startswith(
        "provider 'anthropic' for agent 'profiling-enrichment' [claude-haiku-4-5]: HTTP 401"
    )


async def test_retryable_model_errors_are_retried_before_the_answer_is_used(shop: Any) -> None:
    env, backends = shop
    answer = '{"description": "Orders placed in the shop."}'
    config = {"apiKey": SECRET_KEY, "maxRetries": 2, "retryInitialDelaySecs": 0}
    async with FakeAnthropic() as server:
        server.queue(anthropic_error(529, "overloaded_error", "busy"), anthropic_reply(text=answer))
        client = provider_client("anthropic", {**config, "baseUrl": server.url})
        events = await run_profile(
            env,
            backends,
            ProfileRequest(DB, tables=("orders",)),
            "table",
            enricher=ModelEnricher(client, "claude-haiku-4-5"),
        )
        assert len(server.message_bodies) == 2
    assert by_type(events, "tableEnriched")[0] == {
        "type": "tableEnriched",
        "tableName": "orders",
        "source": "fresh",
    }


class _RaisingClient:
    """A user-supplied model client whose stream raises."""

    live = True

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        raise RuntimeError(f"socket closed {SECRET_KEY}")
        yield ModelText("never")  # pragma: no cover - makes this an async generator


async def test_a_model_client_that_raises_falls_back_and_the_reason_is_scrubbed(
    shop: Any,
) -> None:
    env, backends = shop
    events = await run_profile(
        env,
        backends,
        ProfileRequest(DB, tables=("orders",)),
        "table",
        enricher=ModelEnricher(_RaisingClient(), "m", provider="custom"),
        scrub=lambda text: text.replace(SECRET_KEY, "***"),
    )
    enriched = by_type(events, "tableEnriched")[0]
    assert enriched["fallbackReason"] == "RuntimeError: socket closed ***"
    table = (await entries_of(backends, "table"))[0]
    assert table.metadata["source"]["fallbackReason"] == "RuntimeError: socket closed ***"
    assert table.metadata["source"]["enrichmentSource"] == "custom"
    assert events[-1]["type"] == "completed"


def test_the_target_fingerprint_holds_no_secret() -> None:
    env = {"targetDatabase": {"kind": "postgres", "url": "postgresql://u:hunter22@h/db"}}
    fingerprint = target_fingerprint(env)
    assert len(fingerprint) == 32 and "hunter22" not in fingerprint
    assert fingerprint == target_fingerprint(env)


# -------------------------------------------------------------------------- PostgreSQL


async def test_postgres_profiling_reads_keys_composite_keys_and_json(
    pg_schema: PgSchema, tmp_path: Path
) -> None:
    import psycopg

    with psycopg.connect(pg_schema.url, autocommit=True) as conn:
        conn.execute(
            f"""
            CREATE TABLE "{pg_schema.name}".regions (code text PRIMARY KEY, label text);
            CREATE TABLE "{pg_schema.name}".stores (
                id integer PRIMARY KEY, region text REFERENCES "{pg_schema.name}".regions(code),
                attrs json, opened date);
            CREATE TABLE "{pg_schema.name}".shelves (
                store_id integer, shelf integer, PRIMARY KEY (store_id, shelf));
            CREATE TABLE "{pg_schema.name}".slots (
                store_id integer, shelf integer, kind text,
                FOREIGN KEY (store_id, shelf)
                REFERENCES "{pg_schema.name}".shelves(store_id, shelf));
            INSERT INTO "{pg_schema.name}".regions VALUES ('n', 'North'), ('s', 'South');
            INSERT INTO "{pg_schema.name}".stores VALUES
                (1, 'n', '{{"a": 1}}', '2020-01-01'), (2, 'n', '{{}}', NULL), (3, 's', NULL, NULL);
            INSERT INTO "{pg_schema.name}".shelves VALUES (1, 1), (1, 2);
            INSERT INTO "{pg_schema.name}".slots
                VALUES (1, 1, 'cold'), (1, 2, 'cold'), (1, 2, 'dry');
            """
        )
    env = {
        "catalog": {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'catalog.db'}"},
        "targetDatabase": {
            "kind": "postgres",
            "url": "postgresql://postgres@127.0.0.1:5432/test",
            "schema": pg_schema.name,
        },
    }
    backends = DataBackends(env, "acme")
    try:
        events = await run_profile(env, backends, ProfileRequest("stores-db"))
        assert events[-1]["type"] == "completed", events[-1]
        assert events[-1]["summary"]["tablesDiscovered"] == 4
        entries = await entries_of(backends)
        assert all(metadata_problem(e) is None for e in entries)
        columns = {e.qualified_name: e for e in entries if e.item_type == "column"}
        attrs = columns[f"{pg_schema.name}.stores.attrs"]
        assert attrs.metadata["dataType"] == "json"
        assert attrs.metadata["nullCount"] == 1
        assert columns[f"{pg_schema.name}.stores.opened"].metadata["semanticType"] == "date"
        relationships = {
            (e.metadata["sourceTable"], e.metadata["sourceColumn"], e.metadata["targetColumn"])
            for e in entries
            if e.item_type == "relationship"
        }
        assert relationships == {
            ("stores", "region", "code"),
            ("slots", "store_id", "store_id"),
            ("slots", "shelf", "shelf"),
        }
        enums = {e.name for e in entries if e.item_type == "enum"}
        assert {"cold", "dry"} <= enums
        table = next(e for e in entries if e.name == "stores" and e.item_type == "table")
        assert table.metadata["schemaName"] == pg_schema.name
        assert table.metadata["rowCount"] == 3
    finally:
        await backends.aclose()


async def test_wide_tables_are_counted_in_several_queries(tmp_path: Path) -> None:
    path = tmp_path / "wide.db"
    names = [f"c{i}" for i in range(450)]
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(f"CREATE TABLE wide ({', '.join(f'{n} INTEGER' for n in names)})")
        conn.execute(f"INSERT INTO wide VALUES ({', '.join('?' * len(names))})", range(450))
    reader = SqliteSchemaReader(str(path))
    env = sqlite_env(tmp_path, path)
    backends = DataBackends(env, "acme")
    try:
        assert backends.target is not None
        table = await reader.describe_table("main", "wide", "table")
        profile = await profile_table(backends.target, table, sample_size=1)
    finally:
        await backends.aclose()
    assert profile.notes == []
    last = profile.column("c449")
    assert last is not None
    assert (last.total_count, last.null_count, last.distinct_count) == (1, 0, 1)
    assert last.statistics == {"min": 449, "max": 449, "mean": 449.0}
