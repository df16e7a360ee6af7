"""The Postgres key-value store against the real server: layout, TTL precision, errors, loops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from flowai_harness.errors import DataEnvironmentError, StoreError
from flowai_harness.storage.postgres import PostgresKeyValueStore
from tests.storage.conftest import POSTGRES_URL, RUN_ID, PostgresTables
from tests.waiting import wait_until


def query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run ``sql`` on a connection of its own; return its rows (none for a command)."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []


@pytest.fixture
def table(postgres_tables: PostgresTables) -> str:
    return postgres_tables.new()


@pytest.fixture
async def store(table: str) -> AsyncIterator[PostgresKeyValueStore]:
    opened = PostgresKeyValueStore(POSTGRES_URL, table=table, ensure_schema=True)
    yield opened
    await opened.close()


# --------------------------------------------------------------------------- layout


async def test_ensure_schema_creates_the_documented_table(
    store: PostgresKeyValueStore, table: str
) -> None:
    columns = query(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_name = %s ORDER BY ordinal_position",
        table,
    )
    assert columns == [
        ("tenant", "text", "NO"),
        ("key", "text", "NO"),
        ("value", "jsonb", "NO"),
        ("expires_at", "timestamp with time zone", "YES"),
        ("created_at", "timestamp with time zone", "NO"),
        ("updated_at", "timestamp with time zone", "NO"),
    ]
    (primary_key,) = query(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'p'",
        f'"{table}"',
    )
    assert primary_key == ("PRIMARY KEY (tenant, key)",)
    (index,) = query(
        "SELECT indexdef FROM pg_indexes WHERE indexname = %s", f"{table}_expires_at_idx"
    )
    assert index[0].endswith("(expires_at) WHERE (expires_at IS NOT NULL)")


async def test_values_are_jsonb_and_ttls_keep_milliseconds(
    store: PostgresKeyValueStore, table: str
) -> None:
    await store.put("acme", "plan:p1", {"id": "p1", "actions": [1, 2]})
    await store.put("acme", "reference:r:1", "short", ttl_ms=1500)
    stored = query(
        f'SELECT key, value, EXTRACT(EPOCH FROM expires_at - now()) FROM "{table}"'
        " WHERE tenant = 'acme' ORDER BY key"
    )
    assert stored[0][:2] == ("plan:p1", {"id": "p1", "actions": [1, 2]})
    assert stored[0][2] is None
    assert stored[1][:2] == ("reference:r:1", "short")
    assert 1.0 < float(stored[1][2]) <= 1.5  # not truncated to whole seconds


async def test_overwrite_moves_updated_at_and_keeps_created_at(
    store: PostgresKeyValueStore, table: str
) -> None:
    await store.put("acme", "k", 1)
    ((created, updated),) = query(f'SELECT created_at, updated_at FROM "{table}"')
    await wait_until(lambda: query("SELECT clock_timestamp()")[0][0] > updated)
    await store.put("acme", "k", 2)
    ((created_after, updated_after),) = query(f'SELECT created_at, updated_at FROM "{table}"')
    assert created_after == created
    assert updated_after > updated


async def test_jsonb_normalises_exponent_numbers_to_equal_values(
    store: PostgresKeyValueStore,
) -> None:
    await store.put("acme", "k", {"big": 1e16, "small": 1e-7, "z": 1, "a": 2})
    assert await store.get("acme", "k") == {"big": 10**16, "small": 1e-7, "z": 1, "a": 2}


async def test_a_nul_character_in_a_value_is_a_store_error(store: PostgresKeyValueStore) -> None:
    await store.put("acme", "k", "before")
    with pytest.raises(StoreError, match=r"cannot write key 'k' of tenant 'acme'"):
        await store.put("acme", "k", "nul \u0000 inside")
    assert await store.get("acme", "k") == "before"


async def test_a_table_name_starting_with_a_digit_is_quoted(
    postgres_tables: PostgresTables,
) -> None:
    name = f"{RUN_ID[-1]}9_kv_{RUN_ID}"
    postgres_tables.created.append(name)
    store = PostgresKeyValueStore(POSTGRES_URL, table=name, ensure_schema=True)
    await store.put("acme", "k", [1])
    assert await store.get("acme", "k") == [1]
    await store.close()


# --------------------------------------------------------------------------- open errors


def test_a_missing_table_without_ensure_schema_is_explained(table: str) -> None:
    with pytest.raises(DataEnvironmentError) as caught:
        PostgresKeyValueStore(POSTGRES_URL, table=table)
    assert str(caught.value) == (
        f"data_environment.kv (kind 'postgres' at '{POSTGRES_URL}'): the table '{table}' "
        "does not exist; create it or set ensure_schema=True"
    )


def test_a_table_of_another_shape_is_refused(table: str) -> None:
    query(f'CREATE TABLE "{table}" (id int)')
    with pytest.raises(DataEnvironmentError, match="does not have the KV columns"):
        PostgresKeyValueStore(POSTGRES_URL, table=table)


@pytest.mark.parametrize("table", ["kv-store", "kv store", "kv;drop", ""])
def test_a_table_name_must_be_an_identifier(table: str) -> None:
    with pytest.raises(DataEnvironmentError, match=r"data_environment.kv.table must match"):
        PostgresKeyValueStore(POSTGRES_URL, table=table)


def test_an_unreachable_server_fails_with_the_url_redacted() -> None:
    url = "postgresql://app:s3cret-pw@127.0.0.1:1/test?sslmode=disable"
    with pytest.raises(DataEnvironmentError) as caught:
        PostgresKeyValueStore(url)
    message = str(caught.value)
    assert message.startswith(
        "data_environment.kv (kind 'postgres' at "
        "'postgresql://app:***@127.0.0.1:1/test?sslmode=disable'): cannot open the store: "
        "OperationalError:"
    )
    assert "s3cret-pw" not in message
    assert "s3cret-pw" not in repr(caught.value)


def test_a_malformed_url_is_a_data_environment_error() -> None:
    with pytest.raises(DataEnvironmentError, match="cannot open the store: ProgrammingError"):
        PostgresKeyValueStore("host=127.0.0.1 password=hunter22 nonsense")


# --------------------------------------------------------------------------- loops and lifetime


def test_one_store_serves_several_event_loops(table: str) -> None:
    store = PostgresKeyValueStore(POSTGRES_URL, table=table, ensure_schema=True)
    asyncio.run(store.put("acme", "k", {"loop": 1}))
    # The first loop's pool was closed when that loop shut down; this loop opens its own.
    assert asyncio.run(store.get("acme", "k")) == {"loop": 1}
    asyncio.run(store.close())


async def test_a_server_error_during_a_call_is_a_store_error(
    store: PostgresKeyValueStore, table: str
) -> None:
    await store.put("acme", "k", 1)
    query(f'DROP TABLE "{table}"')
    with pytest.raises(StoreError, match=r"cannot read key 'k' of tenant 'acme': UndefinedTable"):
        await store.get("acme", "k")


async def test_connections_the_server_dropped_are_replaced_transparently(
    store: PostgresKeyValueStore, table: str
) -> None:
    await asyncio.gather(*(store.put("acme", f"k{n}", n) for n in range(5)))
    # The pool names its connections after the table, so only this store's are dropped.
    killed = query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        f"flowai-kv-{table}",
    )
    assert killed and all(ok for (ok,) in killed)
    assert await asyncio.gather(*(store.get("acme", f"k{n}") for n in range(5))) == list(range(5))
    await store.put("acme", "after", True)
    assert await store.list_keys("acme", "") == ["after", "k0", "k1", "k2", "k3", "k4"]


# --------------------------------------------------------------------------- run-store side


async def test_pool_size_comes_from_the_data_environment(table: str) -> None:
    from flowai_harness.storage.factory import open_key_value_store

    descriptor = {"kind": "postgres", "url": POSTGRES_URL, "table": table, "ensureSchema": True}
    sized = open_key_value_store({"kv": {**descriptor, "poolSize": 3}})
    default = open_key_value_store({"kv": descriptor})
    assert isinstance(sized, PostgresKeyValueStore)
    assert isinstance(default, PostgresKeyValueStore)
    assert (await sized._pools.get()).max_size == 3
    assert (await default._pools.get()).max_size == 10
    await sized.close()
    await default.close()
    with pytest.raises(DataEnvironmentError, match="pool_size must be an integer >= 1"):
        PostgresKeyValueStore(POSTGRES_URL, table=table, pool_size=0)


async def test_the_run_store_indexes_are_a_schema_step(table: str) -> None:
    store = PostgresKeyValueStore(POSTGRES_URL, table=table, ensure_schema=True)
    await store.close()
    indexes = {
        row[0] for row in query("SELECT indexname FROM pg_indexes WHERE tablename = %s", table)
    }
    assert {f"{table}_key_c_idx", f"{table}_threadid_idx", f"{table}_status_idx"} <= indexes
    (version,) = query("SELECT version FROM flowai_kv_schema_version WHERE table_name = %s", table)
    assert version == (5,)


async def test_scan_where_uses_the_status_index(table: str) -> None:
    store = PostgresKeyValueStore(POSTGRES_URL, table=table, ensure_schema=True)
    await store.write_batch(
        "t", [(f"run:{n:04d}", {"status": "completed", "threadId": f"t{n}"}) for n in range(2000)]
    )
    await store.put("t", "run:9999", {"status": "waiting_approval", "threadId": "t1"})
    await store.close()
    from flowai_harness.storage._postgres_runstore import scan_statement

    statement, params = scan_statement(
        table, "t", "run:", None, None, {"status": "waiting_approval"}
    )
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'ANALYZE "{table}"')
        plan = "\n".join(
            row[0] for row in conn.execute(psycopg.sql.SQL("EXPLAIN ") + statement, params)
        )
    assert f"{table}_status_idx" in plan, plan


async def test_concurrent_batches_share_statements_and_keep_their_own_results(table: str) -> None:
    store = PostgresKeyValueStore(POSTGRES_URL, table=table, ensure_schema=True)
    sizes: list[int] = []
    write_many = store._write_many

    async def counted(batches: Any) -> list[bool]:
        sizes.append(len(batches))
        return await write_many(batches)

    store._write_many = counted  # type: ignore[method-assign]
    try:
        await store.put("t", "lease", {"epoch": 1})
        writes = [
            store.write_batch("t", [(f"k{n}", n)], guard=("lease", {"epoch": 1 if n % 2 else 2}))
            for n in range(20)
        ]
        # Postgres refuses \u0000 in a string: that batch fails alone, the others are written.
        writes.append(store.write_batch("t", [("bad", "nul \u0000 here")]))
        results = await asyncio.gather(*writes, return_exceptions=True)
        assert results[:20] == [n % 2 == 1 for n in range(20)]
        assert isinstance(results[20], StoreError)
        assert sorted(await store.list_keys("t", "k")) == sorted(f"k{n}" for n in range(1, 20, 2))
        assert await store.get("t", "bad") is None
        assert sizes and max(sizes) > 1  # they did share statements
        # batches on one key never share a statement: one winner of the lease
        swaps = await asyncio.gather(
            *(
                store.write_batch(
                    "t", [("lease", {"epoch": 2, "by": n})], guard=("lease", {"epoch": 1})
                )
                for n in range(10)
            )
        )
        assert swaps.count(True) == 1
    finally:
        await store.close()
