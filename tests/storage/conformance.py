"""The ``KeyValueStore`` conformance suite: what every backend must do (ports.py).

The tests take the fixtures ``store`` (a fresh store), ``open_store`` (opens more instances
over the same backing; ``open_store.durable`` is false for the memory store), ``tenant`` and
``new_tenant``. A module that imports them with ``from tests.storage.conformance import *``
runs them against whatever backends its ``store`` fixture yields; ``test_conformance.py``
does so for memory, SQLite, Postgres and Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from flowai_harness.errors import StoreError
from flowai_harness.ports import KeyValueStore
from tests.waiting import wait_until

JSON_VALUES: list[Any] = [
    True,
    False,
    0,
    -17,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    1.5,
    -0.25,
    0.1,
    3.0,
    1e-7,
    "",
    "plain text",
    [],
    {},
    [1, "two", 3.5, None, False, [], {}],
    {"nested": {"list": [{"a": 1}, {"b": [True, None]}], "empty": {}}, "n": -1.25},
]


def same_json(actual: Any, expected: Any) -> bool:
    """Equal as JSON values, with ``bool``/``int``/``float`` told apart (``True != 1``)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(same_json(actual[k], expected[k]) for k in expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same_json(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return type(actual) is type(expected) and actual == expected


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 5.0) -> float:
    """Poll ``check`` until it holds; return when it first held (monotonic)."""
    await wait_until(check, timeout=within)
    return time.monotonic()


# --------------------------------------------------------------------------- reads and writes


async def test_missing_keys_read_as_none(store: KeyValueStore, tenant: str) -> None:
    assert await store.get(tenant, "absent") is None
    assert await store.list_keys(tenant, "") == []


@pytest.mark.parametrize("value", JSON_VALUES, ids=repr)
async def test_values_round_trip_with_their_json_types(
    store: KeyValueStore, tenant: str, value: Any
) -> None:
    await store.put(tenant, "k", value)
    assert same_json(await store.get(tenant, "k"), value)


async def test_stored_json_null_is_listed(store: KeyValueStore, tenant: str) -> None:
    await store.put(tenant, "nothing", None)
    assert await store.get(tenant, "nothing") is None
    assert await store.list_keys(tenant, "") == ["nothing"]
    assert await store.delete(tenant, "nothing") is True


async def test_put_overwrites(store: KeyValueStore, tenant: str) -> None:
    await store.put(tenant, "k", {"version": 1})
    await store.put(tenant, "k", ["version", 2])
    assert await store.get(tenant, "k") == ["version", 2]
    assert await store.list_keys(tenant, "") == ["k"]


async def test_values_are_copies_not_aliases(store: KeyValueStore, tenant: str) -> None:
    value = {"items": [1, 2]}
    await store.put(tenant, "k", value)
    value["items"].append(3)
    read = await store.get(tenant, "k")
    read["items"].append(4)
    assert await store.get(tenant, "k") == {"items": [1, 2]}


async def test_delete_reports_whether_the_key_existed(store: KeyValueStore, tenant: str) -> None:
    await store.put(tenant, "k", 1)
    assert await store.delete(tenant, "k") is True
    assert await store.get(tenant, "k") is None
    assert await store.delete(tenant, "k") is False
    assert await store.delete(tenant, "never") is False


async def test_non_json_values_are_refused(store: KeyValueStore, tenant: str) -> None:
    with pytest.raises(TypeError):
        await store.put(tenant, "k", {1, 2})
    with pytest.raises(TypeError):
        await store.put(tenant, "k", object())
    assert await store.get(tenant, "k") is None


async def test_a_failed_write_leaves_the_old_value(store: KeyValueStore, tenant: str) -> None:
    await store.put(tenant, "k", "old")
    with pytest.raises(TypeError):
        await store.put(tenant, "k", {"bad": {1}})
    assert await store.get(tenant, "k") == "old"


async def test_unicode_keys_and_values_round_trip(store: KeyValueStore, tenant: str) -> None:
    value = {"text": "héllo wörld ✓ 日本語 🚀", "emoji-key 🔑": ["ß", "İ", "\u200b", "\U0010ffff"]}
    await store.put(tenant, "ключ:日本:🚀", value)
    assert await store.get(tenant, "ключ:日本:🚀") == value
    assert await store.list_keys(tenant, "ключ:") == ["ключ:日本:🚀"]


async def test_large_payloads_round_trip(store: KeyValueStore, tenant: str) -> None:
    big_text = "x" * (2 * 1024 * 1024)
    many = [{"i": i, "name": f"row {i}", "ok": i % 2 == 0} for i in range(50_000)]
    await store.put(tenant, "text", big_text)
    await store.put(tenant, "rows", many)
    assert await store.get(tenant, "text") == big_text
    assert await store.get(tenant, "rows") == many


# --------------------------------------------------------------------------- listing and tenants


async def test_list_keys_filters_by_prefix_and_sorts_by_code_point(
    store: KeyValueStore, tenant: str
) -> None:
    keys = ["plan:b", "plan:a", "plan:a:10", "plan:a:2", "plan:A", "plan:é", "plan:z", "plans"]
    for key in [*keys, "reference:x", "pla"]:
        await store.put(tenant, key, key)
    assert await store.list_keys(tenant, "plan:") == sorted(k for k in keys if k != "plans")
    assert await store.list_keys(tenant, "plan") == sorted(keys)
    assert await store.list_keys(tenant, "plan:a") == ["plan:a", "plan:a:10", "plan:a:2"]
    assert await store.list_keys(tenant, "nothing") == []
    assert await store.list_keys(tenant, "") == sorted([*keys, "reference:x", "pla"])


async def test_list_keys_treats_pattern_characters_literally(
    store: KeyValueStore, tenant: str
) -> None:
    keys = ["a*b", "a?c", "a[x]", "a\\d", "a%e", "a_f", "abc", "a.g"]
    for key in keys:
        await store.put(tenant, key, 1)
    for prefix in ("a*", "a?", "a[", "a[x", "a\\", "a%", "a_", "a."):
        assert await store.list_keys(tenant, prefix) == sorted(
            k for k in keys if k.startswith(prefix)
        ), prefix


async def test_tenants_are_isolated(
    store: KeyValueStore, tenant: str, new_tenant: Callable[[], str]
) -> None:
    other = new_tenant()
    longer = tenant + "x"  # a tenant id that extends another must not see its keys
    await store.put(tenant, "shared", "mine")
    await store.put(other, "shared", "theirs")
    await store.put(longer, "shared", "longer")
    assert await store.get(tenant, "shared") == "mine"
    assert await store.get(other, "shared") == "theirs"
    assert await store.list_keys(tenant, "") == ["shared"]
    assert await store.delete(other, "shared") is True
    assert await store.get(tenant, "shared") == "mine"
    assert await store.get(longer, "shared") == "longer"
    assert await store.list_keys(other, "") == []


# --------------------------------------------------------------------------- expiry


async def test_ttl_entry_is_readable_until_it_expires(store: KeyValueStore, tenant: str) -> None:
    ttl_ms = 300
    started = time.monotonic()
    await store.put(tenant, "short", {"v": 1}, ttl_ms=ttl_ms)
    await store.put(tenant, "long", {"v": 2}, ttl_ms=600_000)
    assert await store.get(tenant, "short") == {"v": 1}
    assert await store.list_keys(tenant, "") == ["long", "short"]

    async def expired() -> bool:
        return await store.get(tenant, "short") is None

    gone_at = await eventually(expired)
    # Never before its TTL (a little slack for clock granularity across processes).
    assert gone_at - started >= ttl_ms / 1000 * 0.9
    assert await store.get(tenant, "long") == {"v": 2}


async def test_expired_entries_are_missing_everywhere(store: KeyValueStore, tenant: str) -> None:
    await store.put(tenant, "gone", "soon", ttl_ms=50)
    await store.put(tenant, "kept", "here")

    async def expired() -> bool:
        return await store.get(tenant, "gone") is None

    await eventually(expired)
    assert await store.list_keys(tenant, "") == ["kept"]
    assert await store.delete(tenant, "gone") is False


async def test_zero_ttl_is_expired_at_once(store: KeyValueStore, tenant: str) -> None:
    await store.put(tenant, "k", "before")
    await store.put(tenant, "k", "now", ttl_ms=0)
    assert await store.get(tenant, "k") is None
    assert await store.list_keys(tenant, "") == []


async def _witness_expired(store: KeyValueStore, tenant: str, ttl_ms: int) -> None:
    """Put a key with ``ttl_ms`` now and wait until it has expired: a TTL set earlier is past."""
    await store.put(tenant, "witness", True, ttl_ms=ttl_ms)

    async def expired() -> bool:
        return await store.get(tenant, "witness") is None

    await eventually(expired)


async def test_put_without_ttl_clears_an_earlier_ttl(store: KeyValueStore, tenant: str) -> None:
    await store.put(tenant, "k", "temporary", ttl_ms=50)
    await store.put(tenant, "k", "permanent")
    await _witness_expired(store, tenant, 50)
    assert await store.get(tenant, "k") == "permanent"


# --------------------------------------------------------------------------- concurrency


async def test_concurrent_writers_lose_nothing(store: KeyValueStore, tenant: str) -> None:
    async def writer(n: int) -> None:
        await store.put(tenant, f"item:{n:03d}", {"n": n})
        assert await store.get(tenant, f"item:{n:03d}") == {"n": n}

    await asyncio.gather(*(writer(n) for n in range(200)))
    assert await store.list_keys(tenant, "item:") == [f"item:{n:03d}" for n in range(200)]
    values = await asyncio.gather(*(store.get(tenant, f"item:{n:03d}") for n in range(200)))
    assert values == [{"n": n} for n in range(200)]


async def test_concurrent_writers_to_one_key_leave_one_of_their_values(
    store: KeyValueStore, tenant: str
) -> None:
    await asyncio.gather(*(store.put(tenant, "contended", {"writer": n}) for n in range(50)))
    final = await store.get(tenant, "contended")
    assert final in [{"writer": n} for n in range(50)]


async def test_two_instances_share_the_data(open_store: Any, tenant: str) -> None:
    first, second = open_store(), open_store()

    async def write(store: KeyValueStore, name: str) -> None:
        for n in range(25):
            await store.put(tenant, f"{name}:{n:02d}", n)

    await asyncio.gather(write(first, "first"), write(second, "second"))
    expected = sorted(
        [f"first:{n:02d}" for n in range(25)] + [f"second:{n:02d}" for n in range(25)]
    )
    assert await first.list_keys(tenant, "") == expected
    assert await second.list_keys(tenant, "") == expected
    assert await second.get(tenant, "first:07") == 7


# --------------------------------------------------------------------------- lifecycle


async def test_close_is_idempotent(store: KeyValueStore) -> None:
    await store.close()
    await store.close()


async def test_data_survives_close_and_reopen(open_store: Any, tenant: str) -> None:
    if not open_store.durable:
        pytest.skip("the memory store keeps nothing after close")
    store = open_store()
    await store.put(tenant, "plan:p1", {"status": "draft"})
    await store.put(tenant, "reference:note:1", "body", ttl_ms=600_000)
    await store.close()
    reopened = open_store()
    assert await reopened.get(tenant, "plan:p1") == {"status": "draft"}
    assert await reopened.get(tenant, "reference:note:1") == "body"
    assert await reopened.list_keys(tenant, "") == ["plan:p1", "reference:note:1"]


async def test_closed_store_refuses_calls(open_store: Any, tenant: str) -> None:
    if not open_store.durable:
        pytest.skip("the memory store holds no connection to close")
    store = open_store()
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.get(tenant, "k")
    with pytest.raises(StoreError, match="closed"):
        await store.put(tenant, "k", 1)


# --------------------------------------------------------------------------- compare-and-set


async def test_compare_and_set_on_an_absent_key_needs_expected_none(
    store: KeyValueStore, tenant: str
) -> None:
    assert await store.compare_and_set(tenant, "k", {"status": "draft"}, "x") is False
    assert await store.get(tenant, "k") is None
    assert await store.compare_and_set(tenant, "k", None, {"status": "draft"}) is True
    assert await store.get(tenant, "k") == {"status": "draft"}
    assert await store.compare_and_set(tenant, "k", None, "again") is False
    assert await store.get(tenant, "k") == {"status": "draft"}


async def test_compare_and_set_writes_when_the_value_matches(
    store: KeyValueStore, tenant: str
) -> None:
    plan = {"id": "p1", "status": "approved", "actions": [{"kind": "a", "n": 1}]}
    await store.put(tenant, "plan:p1", plan)
    reordered = {"actions": [{"n": 1.0, "kind": "a"}], "status": "approved", "id": "p1"}
    moved = dict(plan, status="executing")
    assert await store.compare_and_set(tenant, "plan:p1", reordered, moved) is True
    assert await store.get(tenant, "plan:p1") == moved
    assert await store.list_keys(tenant, "plan:") == ["plan:p1"]


async def test_compare_and_set_refuses_a_mismatch(store: KeyValueStore, tenant: str) -> None:
    await store.put(tenant, "k", {"status": "executing", "flag": True})
    for stale in ({"status": "approved", "flag": True}, {"status": "executing", "flag": 1}, None):
        assert await store.compare_and_set(tenant, "k", stale, {"status": "mine"}) is False
    assert await store.get(tenant, "k") == {"status": "executing", "flag": True}


async def test_compare_and_set_counts_an_expired_key_as_absent(
    store: KeyValueStore, tenant: str
) -> None:
    await store.put(tenant, "lease", {"owner": "a"}, ttl_ms=50)

    async def expired() -> bool:
        return await store.get(tenant, "lease") is None

    await eventually(expired)
    assert await store.compare_and_set(tenant, "lease", {"owner": "a"}, {"owner": "b"}) is False
    assert await store.compare_and_set(tenant, "lease", None, {"owner": "c"}) is True
    assert await store.get(tenant, "lease") == {"owner": "c"}


async def test_compare_and_set_applies_its_ttl(store: KeyValueStore, tenant: str) -> None:
    assert await store.compare_and_set(tenant, "lease", None, "held", ttl_ms=50) is True

    async def expired() -> bool:
        return await store.get(tenant, "lease") is None

    await eventually(expired)
    # long enough that the key is still live when compare_and_set reads it, even on a busy box
    await store.put(tenant, "k", 1, ttl_ms=500)
    assert await store.compare_and_set(tenant, "k", 1, 2) is True
    await _witness_expired(store, tenant, 500)
    assert await store.get(tenant, "k") == 2  # no TTL given: the new value never expires


async def test_compare_and_set_refuses_non_json(store: KeyValueStore, tenant: str) -> None:
    with pytest.raises(TypeError):
        await store.compare_and_set(tenant, "k", None, {1, 2})
    with pytest.raises(TypeError):
        await store.compare_and_set(tenant, "k", {1, 2}, "value")
    assert await store.get(tenant, "k") is None


@pytest.mark.parametrize("expected", [None, {"status": "approved"}], ids=["absent", "present"])
async def test_fifty_concurrent_compare_and_sets_have_one_winner(
    open_store: Any, tenant: str, expected: Any
) -> None:
    stores = [open_store(), open_store()]
    if expected is not None:
        await stores[0].put(tenant, "plan:p1", expected)

    async def contend(n: int) -> bool:
        claim = {"status": "executing", "by": n}
        return await stores[n % 2].compare_and_set(tenant, "plan:p1", expected, claim)

    won = await asyncio.gather(*(contend(n) for n in range(50)))
    assert won.count(True) == 1
    winner = won.index(True)
    assert await stores[1].get(tenant, "plan:p1") == {"status": "executing", "by": winner}
