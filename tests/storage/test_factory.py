"""``open_key_value_store``: which store a data environment gets, and how opening fails."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from flowai_harness import create_runtime, define_runtime, define_specialist, define_tenant
from flowai_harness.errors import DataEnvironmentError, MissingDependencyError
from flowai_harness.storage.factory import open_key_value_store
from flowai_harness.storage.memory import MemoryKeyValueStore
from flowai_harness.storage.postgres import PostgresKeyValueStore
from flowai_harness.storage.redis import RedisKeyValueStore
from flowai_harness.storage.sqlite import SqliteKeyValueStore
from tests.storage.conftest import POSTGRES_URL, REDIS_URL, PostgresTables, RedisPrefixes


@pytest.mark.parametrize("env", [None, {}, {"kv": None}, {"kv": {"kind": "memory"}}])
def test_memory_is_the_default(env: Any) -> None:
    assert isinstance(open_key_value_store(env), MemoryKeyValueStore)


def test_each_call_gets_a_fresh_memory_store() -> None:
    assert open_key_value_store(None) is not open_key_value_store(None)


async def test_sqlite_kind_opens_the_file(tmp_path: Path) -> None:
    store = open_key_value_store(
        {"kv": {"kind": "sqlite", "url": f"sqlite:{tmp_path}/kv.db", "ensureSchema": False}}
    )
    assert isinstance(store, SqliteKeyValueStore)
    assert store.path == f"{tmp_path}/kv.db"
    await store.close()


async def test_postgres_kind_reads_table_and_ensure_schema(
    postgres_tables: PostgresTables,
) -> None:
    table = postgres_tables.new()
    store = open_key_value_store(
        {"kv": {"kind": "postgres", "url": POSTGRES_URL, "table": table, "ensureSchema": True}}
    )
    assert isinstance(store, PostgresKeyValueStore)
    assert store.table == table
    await store.close()


async def test_postgres_url_may_come_from_url_env(
    postgres_tables: PostgresTables, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWAI_TEST_KV_URL", POSTGRES_URL)
    table = postgres_tables.new()
    store = open_key_value_store(
        {
            "kv": {
                "kind": "postgres",
                "urlEnv": "FLOWAI_TEST_KV_URL",
                "table": table,
                "ensureSchema": True,
            }
        }
    )
    await store.put("t", "k", 1)
    assert await store.get("t", "k") == 1
    await store.close()


async def test_redis_kind_reads_the_prefix(redis_prefixes: RedisPrefixes) -> None:
    prefix = redis_prefixes.new()
    store = open_key_value_store({"kv": {"kind": "redis", "url": REDIS_URL, "prefix": prefix}})
    assert isinstance(store, RedisKeyValueStore)
    assert store.prefix == prefix
    await store.close()


def test_an_unset_url_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWAI_TEST_UNSET_URL", raising=False)
    with pytest.raises(DataEnvironmentError) as caught:
        open_key_value_store({"kv": {"kind": "redis", "urlEnv": "FLOWAI_TEST_UNSET_URL"}})
    assert str(caught.value) == (
        "environment variable FLOWAI_TEST_UNSET_URL is not set for data_environment.kv.url_env"
    )


def test_an_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(DataEnvironmentError) as caught:
        open_key_value_store({"kv": {"kind": "dynamo"}})
    assert str(caught.value) == (
        "data_environment.kv does not support kind 'dynamo'; expected one of: "
        "memory, sqlite, postgres, redis"
    )


def test_a_kv_section_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(DataEnvironmentError, match="must be a mapping with a 'kind' key; got str"):
        open_key_value_store({"kv": "sqlite:kv.db"})


@pytest.mark.parametrize(
    ("kind", "module", "extra"),
    [
        ("postgres", "psycopg", "postgres"),
        ("postgres", "psycopg_pool", "postgres"),
        ("redis", "redis", "redis"),
    ],
)
def test_a_missing_driver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, kind: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError) as caught:
        open_key_value_store({"kv": {"kind": kind, "url": "x://127.0.0.1:1"}})
    assert f"pip install 'flowai-harness[{extra}]'" in str(caught.value)
    assert module in str(caught.value)
    assert isinstance(caught.value, ImportError)


# --------------------------------------------------------------------------- through create_runtime

SPEC = define_runtime(
    define_tenant("acme", "v1"),
    agents=[define_specialist("w", model="claude-haiku-4-5", prompt="work")],
)


def test_create_runtime_fails_fast_on_an_unreachable_store_without_leaking_the_password() -> None:
    url = "postgresql://app:pw-s3cret@127.0.0.1:1/test"
    with pytest.raises(ValueError) as caught:
        create_runtime(SPEC, data_environment={"kv": {"kind": "postgres", "url": url}})
    assert isinstance(caught.value, DataEnvironmentError)
    assert "pw-s3cret" not in str(caught.value)
    assert "postgresql://app:***@127.0.0.1:1/test" in str(caught.value)


async def test_create_runtime_uses_the_configured_store(tmp_path: Path) -> None:
    runtime = create_runtime(
        SPEC, data_environment={"kv": {"kind": "sqlite", "url": f"sqlite:{tmp_path}/kv.db"}}
    )
    kv = runtime._compiled.kv
    assert isinstance(kv, SqliteKeyValueStore)
    await kv.close()
