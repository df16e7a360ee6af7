"""No tenant, thread or agent name can reach into another's keys, on every backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from flowai_harness.ports import KeyValueStore, Message
from flowai_harness.storage.redis import RedisKeyValueStore, escape_tenant
from flowai_harness.testing import ScriptedModel, collect_events
from tests.engine.helpers import specialist
from tests.storage.conftest import REDIS_URL, RedisPrefixes

# Tenant ids built to collide with ``base`` under a naive ``<tenant>:<key>`` layout or a LIKE
# pattern: separators, percent escapes and SQL/glob wildcards.
SUFFIXES = [":run", ":run:", "%3Arun", "%", "_", "*", "?", "[a]", "\\"]


async def test_a_tenant_never_sees_keys_of_a_tenant_named_like_it_plus_a_separator(
    store: KeyValueStore, new_tenant: Callable[[], str]
) -> None:
    base = new_tenant()
    tenants = [base, *(base + suffix for suffix in SUFFIXES)]
    for owner in tenants:
        await store.put(owner, "run:r-1", owner)
        await store.put(owner, "r-1", owner)
    for owner in tenants:
        assert await store.list_keys(owner, "run:") == ["run:r-1"], owner
        assert await store.list_keys(owner, "") == ["r-1", "run:r-1"], owner
        assert await store.get(owner, "run:r-1") == owner
        assert await store.get(owner, "r-1") == owner


async def test_deleting_in_one_tenant_leaves_the_look_alike_tenant_alone(
    store: KeyValueStore, new_tenant: Callable[[], str]
) -> None:
    base = new_tenant()
    await store.put(base, "run:x", 1)
    await store.put(f"{base}:run", "x", 2)
    assert await store.delete(f"{base}:run", "x") is True
    assert await store.get(base, "run:x") == 1
    assert await store.list_keys(f"{base}:run", "") == []


async def test_list_runs_of_a_tenant_shows_only_its_own_runs(
    backend: str, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    from flowai_harness import create_runtime, define_runtime, define_tenant
    from tests.storage.conftest import kv_descriptor

    if backend == "memory":
        pytest.skip("runs are recorded in the store only with a durable backend")
    descriptor = kv_descriptor(backend, request, tmp_path)
    runtimes = []
    for tenant in ("acme", "acme:run"):
        spec = define_runtime(define_tenant(tenant, "v1"), agents=[specialist("w")])
        runtime = create_runtime(
            spec,
            interpreter=ScriptedModel().add_turn("hi"),
            data_environment={"kv": descriptor},
        )
        runtimes.append(runtime)
        await collect_events(runtime.run_specialist("w", "go", thread_id=f"t-{tenant}"))
    try:
        for runtime, tenant in zip(runtimes, ("acme", "acme:run"), strict=True):
            threads = [run["threadId"] for run in await runtime.list_runs()]
            assert threads == [f"t-{tenant}"], (tenant, threads)
    finally:
        for runtime in runtimes:
            await runtime.aclose()


async def test_agent_memory_of_one_thread_and_agent_is_not_another_pair() -> None:
    from flowai_harness.engine.memory import append_turn, load_history
    from flowai_harness.storage.memory import MemoryKeyValueStore

    kv = MemoryKeyValueStore()
    await append_turn(kv, "acme", "a:b", "c", "first", "one", [])
    assert await load_history(kv, "acme", "a", "b:c") == []
    assert await load_history(kv, "acme", "a:b", "c") == [
        Message("user", "first"),
        Message("assistant", "one"),
    ]
    # the plain layout is kept for names without ':' or '%' (existing memory still reads)
    assert await kv.list_keys("acme", "") == ["agent-memory:a:b:c"]
    await append_turn(kv, "acme", "a", "b:c", "second", "two", [])
    assert sorted(await kv.list_keys("acme", "")) == [
        "agent-memory:a:b%3Ac",
        "agent-memory:a:b:c",
    ]


async def test_a_reference_is_not_readable_under_a_kind_that_shares_its_key() -> None:
    from flowai_harness import define_reference
    from tests.engine.helpers import runtime_of

    runtime = runtime_of(
        specialist("w"),
        references=[define_reference("a", {"v": int}), define_reference("a:b", {"v": int})],
    )
    made = await runtime.create_reference("a:b", {"v": 1})
    # kind "a" with id "b:<id>" is the same store key as kind "a:b" with id "<id>"
    with pytest.raises(ValueError, match="reference not found"):
        await runtime.resolve_reference({"kind": "a", "id": f"b:{made['id']}"})
    assert await runtime.resolve_reference(made) == {"v": 1}


# --------------------------------------------------------------------------- Redis layout


def test_the_tenant_escape_keeps_plain_ids_and_removes_every_colon() -> None:
    assert escape_tenant("acme") == "acme"
    assert escape_tenant("acme-v1.prod_2") == "acme-v1.prod_2"
    assert escape_tenant("acme:run") == "acme%3Arun"
    assert escape_tenant("acme%3Arun") == "acme%253Arun"
    assert escape_tenant("a:%:b") == "a%3A%25%3Ab"


async def test_redis_keys_of_plain_tenants_keep_their_layout_and_others_are_escaped(
    redis_prefixes: RedisPrefixes,
) -> None:
    prefix = redis_prefixes.new()
    store = RedisKeyValueStore(REDIS_URL, prefix=prefix)
    raw = redis.Redis.from_url(REDIS_URL)
    try:
        # written by an earlier version under the plain layout: still found
        raw.set(f"{prefix}acme:run:old", b'"kept"')
        assert await store.get("acme", "run:old") == "kept"
        await store.put("acme:run", "x", 1)
        assert raw.get(f"{prefix}acme%3Arun:x") == b"1"
        assert raw.get(f"{prefix}acme:run:x") is None
        assert await store.list_keys("acme", "run:") == ["run:old"]
    finally:
        raw.close()
        await store.close()
