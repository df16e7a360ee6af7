"""The ``RunStore`` side of every store: batches, guards, scans, pruning and signals.

The ``store`` / ``open_store`` fixtures (``tests/storage/conftest.py``) give each backend in
turn; signals between two store instances over one backing are how another process's signal
arrives (each instance has its own connections and its own waiters).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from flowai_harness.errors import SpecTypeError, SpecValueError, StoreError
from flowai_harness.ports import KeyValueStore, RunStore
from tests.storage.conftest import StoreOpener


def run_store(store: KeyValueStore) -> RunStore:
    assert isinstance(store, RunStore)
    return store


async def listening(store: RunStore, tenant: str) -> None:
    """Let the store start listening for signals: its first connection may wake every waiter
    (a spurious wake-up the port allows), which would blur a test of who is not woken."""
    await store.wait_notify(tenant, "warm-up", 1)


# --------------------------------------------------------------------------- write_batch


async def test_every_built_in_store_is_a_run_store(store: KeyValueStore) -> None:
    assert isinstance(store, RunStore)


async def test_a_batch_writes_its_puts_and_deletes(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await rs.put(tenant, "old", 1)
    written = await rs.write_batch(
        tenant, [("a", {"n": 1}), ("b", [1, "two"]), ("a", {"n": 2})], deletes=["old", "never"]
    )
    assert written is True
    assert await rs.get_many(tenant, ["a", "b", "old", "missing"]) == {
        "a": {"n": 2},
        "b": [1, "two"],
    }
    assert await rs.list_keys(tenant, "") == ["a", "b"]


async def test_an_empty_batch_writes_nothing(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    assert await rs.write_batch(tenant, []) is True
    assert await rs.list_keys(tenant, "") == []


async def test_a_guard_that_does_not_hold_writes_nothing(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await rs.put(tenant, "lease", {"owner": "w1", "epoch": 3})
    await rs.put(tenant, "keep", "old")
    assert not await rs.write_batch(
        tenant, [("keep", "new"), ("x", 1)], deletes=["lease"], guard=("lease", {"owner": "w2"})
    )
    assert await rs.get_many(tenant, ["keep", "x", "lease"]) == {
        "keep": "old",
        "lease": {"owner": "w1", "epoch": 3},
    }


async def test_a_guard_compares_as_json(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await rs.put(tenant, "lease", {"owner": "w1", "epoch": 3})
    # key order does not matter and 3 == 3.0, as in compare_and_set
    assert await rs.write_batch(tenant, [("x", 1)], guard=("lease", {"epoch": 3.0, "owner": "w1"}))
    assert not await rs.write_batch(tenant, [("y", 1)], guard=("lease", {"owner": "w1"}))
    assert await rs.get_many(tenant, ["x", "y"]) == {"x": 1}


async def test_a_guard_of_none_means_absent(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    assert await rs.write_batch(tenant, [("claim", "me")], guard=("claim", None))
    assert not await rs.write_batch(tenant, [("claim", "you")], guard=("claim", None))
    assert await rs.get(tenant, "claim") == "me"


async def test_an_expired_guard_key_counts_as_absent(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await rs.put(tenant, "lease", "w1", ttl_ms=1)
    deadline = time.monotonic() + 10
    while await rs.get(tenant, "lease") is not None:
        assert time.monotonic() < deadline, "a 1 ms TTL never expired"
        await asyncio.sleep(0.01)
    assert await rs.write_batch(tenant, [("lease", "w2")], guard=("lease", None))
    assert await rs.get(tenant, "lease") == "w2"


async def test_a_guarded_batch_can_change_its_own_guard(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await rs.put(tenant, "lease", {"epoch": 1})
    assert await rs.write_batch(tenant, [("lease", {"epoch": 2})], guard=("lease", {"epoch": 1}))
    assert not await rs.write_batch(
        tenant, [("lease", {"epoch": 2})], guard=("lease", {"epoch": 1})
    )
    assert await rs.get(tenant, "lease") == {"epoch": 2}


async def test_concurrent_guarded_batches_have_one_winner(
    open_store: StoreOpener, tenant: str
) -> None:
    stores = [run_store(open_store()) for _ in range(3)]
    await stores[0].put(tenant, "lease", {"epoch": 0})
    results = await asyncio.gather(
        *(
            stores[i % 3].write_batch(
                tenant,
                [("lease", {"epoch": 1, "owner": i}), (f"won-{i}", True)],
                guard=("lease", {"epoch": 0}),
            )
            for i in range(12)
        )
    )
    assert results.count(True) == 1
    winner = results.index(True)
    assert await stores[1].get(tenant, "lease") == {"epoch": 1, "owner": winner}
    assert await stores[2].list_keys(tenant, "won-") == [f"won-{winner}"]


async def test_batch_arguments_are_checked(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    with pytest.raises(SpecValueError, match="both put and delete the key"):
        await rs.write_batch(tenant, [("k", 1)], deletes=["k"])
    with pytest.raises(SpecTypeError, match="not JSON"):
        await rs.write_batch(tenant, [("a", 1), ("k", {1, 2})])
    with pytest.raises(SpecTypeError, match="put key must be a string"):
        await rs.write_batch(tenant, [(1, 1)])  # type: ignore[list-item]
    with pytest.raises(SpecValueError, match="guard must be a"):
        await rs.write_batch(tenant, [("a", 1)], guard=("a",))  # type: ignore[arg-type]
    assert await rs.list_keys(tenant, "") == []


# --------------------------------------------------------------------------- reads


async def test_get_many_reads_only_live_keys(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await rs.put(tenant, "a", 1)
    await rs.put(tenant, "gone", 2, ttl_ms=0)
    await rs.put(tenant, "null", None)
    many = [f"k{i}" for i in range(1200)]  # more than one statement's parameter list
    assert await rs.get_many(tenant, ["a", "gone", "a", *many]) == {"a": 1}
    assert await rs.get_many(tenant, []) == {}
    assert "null" in await rs.get_many(tenant, ["null"])


async def test_scan_pages_through_a_prefix_in_key_order(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    keys = [f"log:r1:{n:08d}" for n in range(25)]
    await rs.write_batch(tenant, [(k, {"n": i}) for i, k in enumerate(reversed(keys))])
    await rs.put(tenant, "log:r10:00000000", "other run")
    await rs.put(tenant, "log;", "past the prefix")
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        page = await rs.scan(tenant, "log:r1:", start_after=after, limit=10)
        if not page:
            break
        pages.append([k for k, _ in page])
        after = page[-1][0]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [k for page in pages for k in page] == keys
    assert await rs.scan(tenant, "log:r1:", start_after=keys[-2]) == [(keys[-1], {"n": 0})]
    assert await rs.scan(tenant, "log:r1:", limit=0) == []


async def test_scan_orders_by_code_point(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    keys = ["p:B", "p:a", "p:é", "p:Z", "p:_", "p:🚀", "p:0"]
    await rs.write_batch(tenant, [(k, k) for k in keys])
    assert [k for k, _ in await rs.scan(tenant, "p:")] == sorted(keys)


async def test_scan_where_keeps_matching_objects(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await rs.write_batch(
        tenant,
        [
            ("run:1", {"threadId": "t1", "status": "waiting_approval"}),
            ("run:2", {"threadId": "t1", "status": "completed"}),
            ("run:3", {"threadId": "t2", "status": "waiting_approval"}),
            ("run:4", {"threadId": 1, "status": "waiting_approval"}),
            ("run:5", ["threadId", "t1"]),
            ("run:6", {"threadId": "t1", "status": "waiting_approval", "kind": "x"}),
            ("other:1", {"threadId": "t1", "status": "waiting_approval"}),
        ],
    )
    found = await rs.scan(tenant, "run:", where={"threadId": "t1", "status": "waiting_approval"})
    assert [k for k, _ in found] == ["run:1", "run:6"]
    assert [k for k, _ in await rs.scan(tenant, "run:", where={"kind": "x"})] == ["run:6"]
    assert [k for k, _ in await rs.scan(tenant, "run:", where={"threadId": "t1"}, limit=1)] == [
        "run:1"
    ]
    assert await rs.scan(tenant, "run:", where={"threadId": "t9"}) == []


async def test_scan_skips_expired_keys_and_other_tenants(
    store: KeyValueStore, tenant: str, new_tenant: Any
) -> None:
    rs = run_store(store)
    other = new_tenant()
    await rs.put(tenant, "p:gone", 1, ttl_ms=0)
    await rs.put(tenant, "p:here", 2)
    await rs.put(other, "p:theirs", 3)
    assert await rs.scan(tenant, "p:") == [("p:here", 2)]


async def test_scan_arguments_are_checked(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    with pytest.raises(SpecValueError, match="limit must be >= 0"):
        await rs.scan(tenant, "p:", limit=-1)
    with pytest.raises(SpecTypeError, match="limit must be an int"):
        await rs.scan(tenant, "p:", limit=True)
    with pytest.raises(SpecTypeError, match="where must map field names to strings"):
        await rs.scan(tenant, "p:", where={"status": 1})  # type: ignore[dict-item]


# --------------------------------------------------------------------------- delete_prefix


async def test_delete_prefix_counts_what_it_removed(
    store: KeyValueStore, tenant: str, new_tenant: Any
) -> None:
    rs = run_store(store)
    other = new_tenant()
    await rs.write_batch(tenant, [(f"run-log:r1:{n}", n) for n in range(5)] + [("run:r1", 1)])
    await rs.put(other, "run-log:r1:0", "theirs")
    assert await rs.delete_prefix(tenant, "run-log:r1:") == 5
    assert await rs.list_keys(tenant, "") == ["run:r1"]
    assert await rs.get(other, "run-log:r1:0") == "theirs"
    assert await rs.delete_prefix(tenant, "run-log:r1:") == 0


async def test_delete_prefix_can_keep_recent_writes(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await rs.write_batch(tenant, [("mem:old:1", 1), ("mem:old:2", 2)])
    await asyncio.sleep(0.01)  # the cut-off must fall strictly between the two writes
    cutoff = int(time.time() * 1000)
    await asyncio.sleep(0.01)
    await rs.put(tenant, "mem:new:1", 3)
    assert await rs.delete_prefix(tenant, "mem:", updated_before_ms=cutoff) == 2
    assert await rs.list_keys(tenant, "mem:") == ["mem:new:1"]


async def test_delete_prefix_refuses_to_empty_a_tenant(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await rs.put(tenant, "k", 1)
    with pytest.raises(SpecValueError, match="empty prefix would delete every key"):
        await rs.delete_prefix(tenant, "")
    assert await rs.get(tenant, "k") == 1


# --------------------------------------------------------------------------- signals


async def test_a_committed_batch_signals_its_channels(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await listening(rs, tenant)
    waiting = rs.wait_notify(tenant, "run:r1", 10)
    other = rs.wait_notify(tenant, "run:r2", 0.05)
    await rs.write_batch(tenant, [("run-log:r1:0", [])], notify=["run:r1"])
    assert await waiting is True
    assert await other is False


async def test_a_refused_batch_signals_nobody(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    await rs.put(tenant, "lease", "w1")
    await listening(rs, tenant)
    waiting = rs.wait_notify(tenant, "runs", 0.3)
    assert not await rs.write_batch(tenant, [("x", 1)], guard=("lease", "w2"), notify=["runs"])
    assert await waiting is False


async def test_the_wait_starts_when_it_is_asked_for(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    waiting = rs.wait_notify(tenant, "approval:a1", 10)
    await rs.notify(tenant, "approval:a1")  # before anyone awaits the wait
    assert await waiting is True


async def test_a_signal_reaches_only_its_tenant_and_channel(
    store: KeyValueStore, tenant: str, new_tenant: Any
) -> None:
    rs = run_store(store)
    await listening(rs, tenant)
    theirs = rs.wait_notify(new_tenant(), "runs", 0.3)
    other_channel = rs.wait_notify(tenant, "runs-other", 0.3)
    await rs.notify(tenant, "runs")
    assert await theirs is False
    assert await other_channel is False


async def test_every_waiter_of_a_channel_wakes(store: KeyValueStore, tenant: str) -> None:
    rs = run_store(store)
    waits = [rs.wait_notify(tenant, "thread:t1", 10) for _ in range(5)]
    await rs.notify(tenant, "thread:t1")
    assert await asyncio.gather(*waits) == [True] * 5


async def test_a_signal_reaches_another_instance(open_store: StoreOpener, tenant: str) -> None:
    if not open_store.durable:
        pytest.skip("a memory store is one instance")
    writer, reader = run_store(open_store()), run_store(open_store())
    for attempt in range(3):
        waiting = reader.wait_notify(tenant, "run:r1", 10)
        started = time.monotonic()
        if attempt % 2:
            await writer.notify(tenant, "run:r1")
        else:
            await writer.write_batch(tenant, [("k", attempt)], notify=["run:r1"])
        assert await waiting is True
        assert time.monotonic() - started < 5
    assert await reader.get(tenant, "k") == 2


async def test_waiting_on_a_closed_store_is_refused(open_store: StoreOpener, tenant: str) -> None:
    if not open_store.durable:
        pytest.skip("a memory store has nothing to close")
    rs = run_store(open_store())
    await rs.close()
    with pytest.raises(StoreError, match="closed"):
        await rs.wait_notify(tenant, "runs", 1)
