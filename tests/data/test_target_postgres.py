"""The PostgreSQL target's own guards, behind the statement check: a SELECT-only role holds
hostile statements that get past it, the pool hands back clean sessions, results are bounded
in rows, bytes and value size, and a busy pool fails clearly and in time."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowai_harness.data.target.postgres import PostgresTargetDatabase
from flowai_harness.errors import SqlRejectedError, StoreError, TargetDatabaseBusyError
from tests.data.conftest import PgSchema
from tests.data.sql_corpus import BYPASS_POSTGRES
from tests.data.test_sql_safety import (
    _create_pg_shop,
    _pg_snapshot,
    pg_live_target,
    pg_session_state,
)


@pytest.fixture
def shop(pg_schema: PgSchema, pg_extensions: frozenset[str]) -> PgSchema:
    """The shop tables in a fresh schema (dblink and friends installed when available)."""
    _create_pg_shop(pg_schema)
    return pg_schema


@pytest.fixture
async def superuser_target(shop: PgSchema) -> AsyncIterator[PostgresTargetDatabase]:
    target = pg_live_target(shop.url, shop, allowPrivileged=True).target
    yield target  # type: ignore[misc]
    await target.close()


def _run_quietly(target: PostgresTargetDatabase, sql: str) -> Any:
    try:
        return target._run(sql, (), 5)
    except StoreError as exc:
        return exc


# --------------------------------------------------------------------------- the role holds


def test_a_select_only_role_holds_hostile_statements_past_the_check(
    shop: PgSchema, reader_url: str
) -> None:
    target = pg_live_target(reader_url, shop).target
    assert isinstance(target, PostgresTargetDatabase)
    target.verify()
    before, session = _pg_snapshot(shop.url, shop.name), pg_session_state(target)
    assert session["usr"] == "flowai_reader" and session["advisory_locks"] == 0
    for template in BYPASS_POSTGRES:
        sql = template.replace("{schema}", shop.name)
        outcome = _run_quietly(target, sql)
        assert pg_session_state(target) == session, (sql, outcome)
    assert _pg_snapshot(shop.url, shop.name) == before
    target.close_sync()


async def test_the_ts_stat_dblink_attack_is_real_and_refused(
    superuser_target: PostgresTargetDatabase, shop: PgSchema, pg_extensions: frozenset[str]
) -> None:
    if "dblink" not in pg_extensions:
        pytest.skip("dblink is not available on this server")
    attack = BYPASS_POSTGRES[0].replace("{schema}", shop.name)
    with pytest.raises(SqlRejectedError, match="Function ts_stat is not allowed"):
        await superuser_target.execute_query(attack)
    count = "SELECT count(*) AS n FROM orders"
    assert (await superuser_target.execute_query(count)).rows == [{"n": 3}]
    # the same text past the check deletes a row through a second connection: the statement
    # check is what stops it for a privileged role
    superuser_target._run(attack, (), 5)
    assert (await superuser_target.execute_query(count)).rows == [{"n": 2}]


def test_pooled_connections_come_back_clean(superuser_target: PostgresTargetDatabase) -> None:
    clean = pg_session_state(superuser_target)
    pid = superuser_target._run("SELECT pg_backend_pid() AS pid", (), 1).rows[0]["pid"]
    for sql in (
        "SELECT set_config('role', 'flowai_reader', false)",
        "SELECT set_config('work_mem', '77MB', false)",
        "SELECT set_config('search_path', 'pg_temp', false)",
        "SELECT pg_advisory_lock(4242)",
        "SELECT pg_advisory_lock_shared(4243)",
    ):
        superuser_target._run(sql, (), 1)
        for _ in range(6):
            assert pg_session_state(superuser_target) == clean, sql
    again = superuser_target._run("SELECT pg_backend_pid() AS pid", (), 1).rows[0]["pid"]
    assert again == pid  # the same connection, reset rather than replaced


# --------------------------------------------------------------------------- bounded results


def _execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def wide_table(shop: PgSchema) -> str:
    """120 rows of 1 MB text each (compressed on disk)."""
    _execute(
        shop.url,
        "CREATE TABLE docs (id int PRIMARY KEY, body text, meta jsonb);"
        "INSERT INTO docs SELECT g, repeat(chr(97 + g % 26), 1000000), '{\"k\": 1}' "
        "FROM generate_series(1, 120) AS g",
    )
    return "docs"


async def test_results_stop_at_the_byte_cap_without_loading_everything(
    superuser_target: PostgresTargetDatabase, wide_table: str
) -> None:
    await superuser_target.execute_query("SELECT 1 AS warm")
    tracemalloc.start()
    try:
        result = await superuser_target.execute_query(
            "SELECT id, body, meta FROM docs ORDER BY id", limit=1000
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.truncated and result.truncated_reason == "bytes"
    assert 0 < result.row_count < 20
    assert len(json.dumps(result.rows)) <= superuser_target.max_result_bytes
    assert result.rows[0]["meta"] == {"k": 1} and result.rows[0]["id"] == 1
    assert result.rows[0]["body"].startswith("bbbb") and result.rows[0]["body"].endswith(
        "…[truncated]"
    )
    assert peak < 32 * 1_048_576, peak  # 120 MB of values stayed in the database
    narrow = await superuser_target.execute_query("SELECT id FROM docs ORDER BY id", limit=1000)
    assert narrow.row_count == 120 and not narrow.truncated


async def test_a_single_huge_value_is_cut_by_the_database(
    superuser_target: PostgresTargetDatabase, shop: PgSchema
) -> None:
    _execute(
        shop.url,
        "CREATE TABLE blobs (id int, doc jsonb);"
        "INSERT INTO blobs SELECT 1, jsonb_build_object('text', repeat('y', 5000000))",
    )
    result = await superuser_target.execute_query("SELECT id, doc FROM blobs")
    doc = result.rows[0]["doc"]
    assert isinstance(doc, str) and doc.startswith('{"text": "yyy') and doc.endswith("…[truncated]")
    assert len(doc.encode()) < 70_000 and not result.truncated
    assert result.warnings == [
        "1 value(s) of column doc were longer than 65536 bytes and were cut (marked …[truncated])"
    ]


async def test_the_row_limit_is_reported(superuser_target: PostgresTargetDatabase) -> None:
    result = await superuser_target.execute_query("SELECT order_id FROM orders", limit=2)
    assert result.row_count == 2 and result.truncated and result.truncated_reason == "rows"


# --------------------------------------------------------------------------- a busy pool


async def test_a_busy_pool_fails_clearly_within_its_timeout(shop: PgSchema) -> None:
    import psycopg

    target = PostgresTargetDatabase(
        {
            "kind": "postgres",
            "url": shop.url,
            "schema": shop.name,
            "poolSize": 2,
            "poolTimeoutSecs": 0.5,
        },
        statement_timeout_s=20,
    )
    await target.execute_query("SELECT 1 AS warm")
    side = psycopg.connect(shop.url)
    side.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")  # held until rollback
    blocked = [
        asyncio.create_task(target.execute_query("SELECT count(*) AS n FROM orders"))
        for _ in range(2)
    ]
    try:
        await _wait_for_lock_waiters(shop, 2)
        started = time.monotonic()
        with pytest.raises(TargetDatabaseBusyError) as info:
            await target.execute_query("SELECT 1 AS one")
        waited = time.monotonic() - started
    finally:
        side.rollback()
        side.close()
    assert 0.4 <= waited < 3, waited
    assert str(info.value) == (
        "target database busy: all 2 connections in use for 0.5 s; raise "
        "data_environment.target_database.pool_size or retry later"
    )
    assert [task.rows for task in await asyncio.gather(*blocked)] == [[{"n": 3}], [{"n": 3}]]
    await target.close()


async def _wait_for_lock_waiters(shop: PgSchema, count: int) -> None:
    import psycopg

    deadline = time.monotonic() + 10
    with psycopg.connect(shop.url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass",
                (f'"{shop.name}".orders',),
            ).fetchone()
            if row is not None and row[0] >= count:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"{count} queries never queued behind the lock")


def test_concurrent_statements_never_see_each_others_settings(shop: PgSchema) -> None:
    target = PostgresTargetDatabase(
        {"kind": "postgres", "url": shop.url, "schema": shop.name, "poolSize": 2}
    )
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            if index % 2:
                target._run("SELECT set_config('work_mem', '99MB', false)", (), 1)
            else:
                assert pg_session_state(target)["work_mem"] != "99MB"
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    target.close_sync()
    assert errors == []
