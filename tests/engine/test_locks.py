"""KeyedLocks: one lock per key, dropped when idle."""

from __future__ import annotations

import asyncio

import pytest

from flowai_harness.engine.locks import KeyedLocks
from flowai_harness.testing import collect_events
from tests.engine.helpers import runtime_of, specialist
from tests.waiting import wait_until


async def test_holders_of_one_key_take_turns() -> None:
    locks = KeyedLocks()
    log: list[str] = []

    async def work(name: str) -> None:
        async with locks.hold("k"):
            log.append(f"in {name}")
            await asyncio.sleep(0.01)
            log.append(f"out {name}")

    await asyncio.gather(work("a"), work("b"))
    assert log == ["in a", "out a", "in b", "out b"]


async def test_different_keys_do_not_wait_for_each_other() -> None:
    locks = KeyedLocks()
    inside = asyncio.Event()

    async with locks.hold("a"):

        async def other() -> None:
            async with locks.hold("b"):
                inside.set()

        await asyncio.wait_for(other(), 10)
    assert inside.is_set()


async def test_idle_locks_are_dropped() -> None:
    locks = KeyedLocks()
    async with locks.hold("a"):
        assert len(locks) == 1
    assert len(locks) == 0


async def test_a_cancelled_waiter_does_not_leak_its_lock_entry() -> None:
    locks = KeyedLocks()
    release = asyncio.Event()
    holding = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("k"):
            holding.set()
            await release.wait()

    async def waiter() -> None:
        async with locks.hold("k"):
            pytest.fail("the waiter was cancelled before it got the lock")

    first = asyncio.create_task(holder())
    await holding.wait()
    second = asyncio.create_task(waiter())
    await wait_until(lambda: locks._locks["k"][1] == 2)  # the waiter is queued on the lock
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    release.set()
    await first
    assert len(locks) == 0


async def test_the_runtime_keeps_no_thread_lock_after_its_runs() -> None:
    runtime = runtime_of(specialist("w"))
    for thread in ("a", "b", "a"):
        await collect_events(runtime.run_specialist("w", "hi", thread_id=thread))
    assert len(runtime._thread_locks) == 0
