"""The Redis key-value store against the real server: key layout, native expiry, errors, loops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from flowai_harness.errors import DataEnvironmentError, StoreError
from flowai_harness.storage.redis import RedisKeyValueStore
from tests.storage.conftest import REDIS_URL, RedisPrefixes


@pytest.fixture
def prefix(redis_prefixes: RedisPrefixes) -> str:
    return redis_prefixes.new()


@pytest.fixture
def raw() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
async def store(prefix: str) -> AsyncIterator[RedisKeyValueStore]:
    opened = RedisKeyValueStore(REDIS_URL, prefix=prefix)
    yield opened
    await opened.close()


async def test_entries_are_json_strings_under_prefix_tenant_key(
    store: RedisKeyValueStore, prefix: str, raw: redis.Redis
) -> None:
    await store.put("acme", "plan:p1", {"id": "p1", "n": [1, 2.5]})
    await store.put("acme", "reference:r:1", "v", ttl_ms=1500)
    assert raw.get(f"{prefix}acme:plan:p1") == b'{"id":"p1","n":[1,2.5]}'
    assert raw.pttl(f"{prefix}acme:plan:p1") == -1
    assert 1000 < raw.pttl(f"{prefix}acme:reference:r:1") <= 1500


async def test_the_default_prefix_is_afw(raw: redis.Redis, prefix: str) -> None:
    store = RedisKeyValueStore(REDIS_URL)
    tenant = prefix.replace(":", "-")  # keeps the key under this run's namespace for cleanup
    try:
        assert store.prefix == "afw:"
        await store.put(tenant, "k", 1)
        assert raw.get(f"afw:{tenant}:k") == b"1"
    finally:
        raw.delete(f"afw:{tenant}:k")
        await store.close()


async def test_glob_characters_in_prefix_and_tenant_match_literally(
    redis_prefixes: RedisPrefixes,
) -> None:
    base = redis_prefixes.new()
    star = RedisKeyValueStore(REDIS_URL, prefix=f"{base}[*]?:")
    plain = RedisKeyValueStore(REDIS_URL, prefix=f"{base}x:")
    try:
        await star.put("t*", "k", "star")
        await plain.put("tx", "k", "plain")
        await plain.put("t", "k", "short")
        assert await star.list_keys("t*", "") == ["k"]
        assert await plain.list_keys("t", "") == ["k"]
        assert await star.list_keys("t?", "") == []
    finally:
        await star.close()
        await plain.close()


async def test_a_non_positive_ttl_removes_the_entry(
    store: RedisKeyValueStore, prefix: str, raw: redis.Redis
) -> None:
    await store.put("acme", "k", 1)
    await store.put("acme", "k", 2, ttl_ms=-5)
    assert raw.exists(f"{prefix}acme:k") == 0


async def test_a_value_of_another_redis_type_is_a_store_error(
    store: RedisKeyValueStore, prefix: str, raw: redis.Redis
) -> None:
    raw.rpush(f"{prefix}acme:list", "x")
    with pytest.raises(StoreError, match=r"cannot read key 'list' of tenant 'acme': ResponseError"):
        await store.get("acme", "list")


async def test_a_foreign_value_that_is_not_json_is_a_store_error(
    store: RedisKeyValueStore, prefix: str, raw: redis.Redis
) -> None:
    raw.set(f"{prefix}acme:k", b"not json")
    with pytest.raises(StoreError, match="is not valid JSON"):
        await store.get("acme", "k")


# --------------------------------------------------------------------------- open errors


def test_an_unreachable_server_fails_with_the_url_redacted() -> None:
    url = "redis://user:hunter22-pw@127.0.0.1:1/0"
    with pytest.raises(DataEnvironmentError) as caught:
        RedisKeyValueStore(url)
    message = str(caught.value)
    assert message.startswith(
        "data_environment.kv (kind 'redis' at 'redis://user:***@127.0.0.1:1/0'): "
        "cannot open the store: ConnectionError:"
    )
    assert "hunter22-pw" not in message


def test_a_url_with_another_scheme_is_refused() -> None:
    with pytest.raises(DataEnvironmentError, match="invalid Redis URL"):
        RedisKeyValueStore("http://u:hunter22-pw@127.0.0.1:6379")


def test_the_url_source_is_named_when_it_came_from_url_env() -> None:
    with pytest.raises(DataEnvironmentError, match=r"from url_env KV_URL\): cannot open"):
        RedisKeyValueStore("redis://127.0.0.1:1/0", source="url_env KV_URL")


# --------------------------------------------------------------------------- loops and lifetime


def test_one_store_serves_several_event_loops(prefix: str) -> None:
    store = RedisKeyValueStore(REDIS_URL, prefix=prefix)
    asyncio.run(store.put("acme", "k", {"loop": 1}))
    assert asyncio.run(store.get("acme", "k")) == {"loop": 1}
    asyncio.run(store.close())


async def test_bursts_beyond_the_pool_size_wait_for_a_connection(
    store: RedisKeyValueStore,
) -> None:
    await asyncio.gather(*(store.put("acme", f"k{n}", n) for n in range(300)))
    assert len(await store.list_keys("acme", "k")) == 300
