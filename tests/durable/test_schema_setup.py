"""Postgres schema set-up is safe when a whole fleet starts at once: eight processes opening
the store with ``ensure_schema`` at the same instant all succeed, and the schema version is
recorded once per table."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from flowai_harness.storage.postgres import SCHEMA_VERSION_TABLE
from tests.durable.race_workers import open_stores
from tests.storage.conftest import POSTGRES_URL, PostgresTables

PROCESSES = 8
ROUNDS = 20


@pytest.fixture
def tables(postgres_tables: PostgresTables) -> Iterator[list[str]]:
    """Fresh table names; their schema version rows go at the end."""
    names = [postgres_tables.new() for _ in range(ROUNDS)]
    yield names
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DELETE FROM "{SCHEMA_VERSION_TABLE}" WHERE table_name = ANY(%s)', (names,))


async def test_eight_processes_setting_up_the_schema_at_once_all_succeed(
    tables: list[str],
) -> None:
    descriptors: list[dict[str, Any]] = [
        {"kind": "postgres", "url": POSTGRES_URL, "table": name, "ensureSchema": True}
        for name in tables
    ]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=open_stores, args=(descriptors, barrier, results, f"w{n}"))
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    collected = [await asyncio.to_thread(results.get, True, 120) for _ in range(PROCESSES * ROUNDS)]
    for worker in workers:
        await asyncio.to_thread(worker.join, 60)
    failures = [item for item in collected if item[2] != "ok"]
    assert failures == []
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        versions = conn.execute(
            f'SELECT table_name, version FROM "{SCHEMA_VERSION_TABLE}" WHERE table_name = ANY(%s)',
            (tables,),
        ).fetchall()
    # one row per table, all at the same (latest) version
    assert sorted(name for name, _ in versions) == sorted(tables)
    assert len({version for _, version in versions}) == 1 and versions[0][1] > 0


async def test_a_table_dropped_by_hand_is_created_again(tables: list[str]) -> None:
    from flowai_harness.storage.factory import open_key_value_store

    descriptor = {"kv": {"kind": "postgres", "url": POSTGRES_URL, "table": tables[0]}}
    descriptor["kv"]["ensureSchema"] = True
    store = open_key_value_store(descriptor)
    await store.put("t", "k", 1)
    await store.close()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP TABLE "{tables[0]}"')
    store = open_key_value_store(descriptor)
    assert await store.get("t", "k") is None
    await store.close()
