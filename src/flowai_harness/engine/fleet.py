"""The fleet side of an engine core: thread leases, run claims, and background recovery.

A durable runtime is one worker of a fleet sharing a store (:mod:`flowai_harness.engine.leases`
says how leases work). :class:`Fleet` gives the core:

* :meth:`Fleet.thread`: hold a conversation thread for one run, in this process (a lock) and,
  for a durable run, fleet-wide (the thread lease), waiting or refusing per the thread policy;
* :meth:`Fleet.claim`: take over the lease of a stopped run before resuming it;
* :meth:`Fleet.recover`: claim every run whose owner died and drive each in the background,
  with no consumer (followers read its events from the store); a :class:`~flowai_harness.
  engine.recovery.Sweeper` calls it periodically when recovery is on;
* :meth:`Fleet.close`: hand the runs driven in the background back to the fleet (their leases
  left expired, so another worker's recovery takes them at once) before the store closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager

from flowai_harness.engine.emit import EventSink
from flowai_harness.engine.leases import RunLease, ThreadLease, ThreadPolicy
from flowai_harness.engine.locks import KeyedLocks
from flowai_harness.engine.recovery import Sweeper, claimable_runs
from flowai_harness.engine.runbooks import RunBook, StoreRunBook
from flowai_harness.errors import StoreError, ThreadBusyError

__all__ = ["Fleet"]

log = logging.getLogger("flowai_harness.runs")

RunBody = Callable[[EventSink], Awaitable[None]]


class Fleet:
    """Leases, claims and recovery of one engine core's runs."""

    def __init__(
        self,
        runs: RunBook,
        *,
        thread_policy: ThreadPolicy = "enqueue",
        recover: bool = False,
        stream_capacity: int = 256,
        locks: KeyedLocks | None = None,
    ) -> None:
        self._book = runs if isinstance(runs, StoreRunBook) else None
        self.thread_policy: ThreadPolicy = thread_policy
        self._locks = KeyedLocks() if locks is None else locks
        self._capacity = stream_capacity
        self._background: dict[asyncio.Task[None], tuple[EventSink, RunLease]] = {}
        self.sweeper: Sweeper | None = None
        self._recover_with: Callable[[], Awaitable[list[str]]] | None = None
        if recover and self._book is not None:
            self.sweeper = Sweeper(self._sweep, self._book.lease_secs / 2)

    @property
    def durable(self) -> bool:
        """Whether runs are leased in a durable store."""
        return self._book is not None

    @asynccontextmanager
    async def thread(
        self, thread_id: str, run_id: str, *, leased: bool = True
    ) -> AsyncIterator[ThreadLease | None]:
        """Hold ``thread_id`` for run ``run_id`` for the body (a durable, ``leased`` run also
        fleet-wide: the thread lease is yielded, for the run's heartbeat to renew).

        Raises:
            ThreadBusyError: the policy is ``reject`` and another run holds the thread.
            StoreError: the store failed while the thread lease was being taken.
        """
        if self.thread_policy == "reject" and self._locks.busy(thread_id):
            raise ThreadBusyError(
                f"thread '{thread_id}' is busy: another run of this worker is using it; one "
                f"run per thread at a time (thread_policy 'reject')"
            )
        async with self._locks.hold(thread_id):
            if self._book is None or not leased:
                yield None
                return
            lease = self._book.thread_lease(thread_id, run_id)
            try:
                await lease.acquire(self.thread_policy)
            except ThreadBusyError:
                raise
            except Exception as exc:
                raise StoreError(
                    f"thread '{thread_id}' could not be taken: reading or writing its lease "
                    f"failed: {type(exc).__name__}: {exc}"
                ) from exc
            try:
                yield lease
            finally:
                await asyncio.shield(_release(lease))

    async def claim(self, run_id: str) -> tuple[RunLease | None, str | None]:
        """Take over the lease of stopped run ``run_id``: ``(lease, None)``, or ``(None,
        problem)`` when a live worker owns it or another claim won."""
        book = self._book
        if book is None:
            return None, None
        lease = book.lease(run_id)
        current = await lease.read()
        owner = lease.busy_with(current)
        if owner is not None:
            return None, (
                f"run {run_id} cannot be resumed: worker {owner} is running it (its lease is "
                f"live); a run whose worker died can be resumed once its lease expires"
            )
        if not await lease.claim(current):
            return None, f"run {run_id} cannot be resumed: another worker claimed it just now"
        return lease, None

    def start_sweeper(self, recover: Callable[[], Awaitable[list[str]]]) -> None:
        """Start the background sweeper (if recovery is on) with the core's ``recover``."""
        if self.sweeper is None:
            return
        self._recover_with = recover
        self.sweeper.ensure_started()

    async def _sweep(self) -> list[str]:
        return [] if self._recover_with is None else await self._recover_with()

    async def recover(
        self, resume: Callable[[str, RunLease], RunBody], active: Collection[str]
    ) -> list[str]:
        """Claim every run whose owner died and drive each in the background; their ids."""
        book = self._book
        if book is None:
            return []
        grace = int(book.lease_secs * 1000)
        claimed = []
        for found in await claimable_runs(book.kv, book.tenant, grace_ms=grace):
            run_id = found["runId"]
            if run_id in active:
                continue
            lease = book.lease(run_id)
            if not await lease.claim(found):
                continue  # another worker was quicker
            claimed.append(run_id)
            self._drive(resume(run_id, lease), lease)
        return claimed

    def _drive(self, body: RunBody, lease: RunLease) -> None:
        sink = EventSink(self._capacity)
        task = asyncio.get_running_loop().create_task(_drive(body, sink))
        self._background[task] = (sink, lease)
        task.add_done_callback(self._background.pop)

    @property
    def background_runs(self) -> int:
        """How many recovered runs this worker drives right now."""
        return len(self._background)

    async def close(self) -> None:
        """Stop the sweeper; hand the runs driven in the background back to the fleet."""
        if self.sweeper is not None:
            await self.sweeper.stop()
        tasks = list(self._background.items())
        for task, (sink, lease) in tasks:
            lease.handoff = True
            sink.abandon(suspend=True)
            task.cancel()
        await asyncio.gather(*(task for task, _ in tasks), return_exceptions=True)


async def _drive(body: RunBody, sink: EventSink) -> None:
    """Run ``body`` with nobody watching: its events are read and dropped (they are logged)."""

    async def drain() -> None:
        while await sink.get() is not None:
            pass

    reader = asyncio.get_running_loop().create_task(drain())
    try:
        await body(sink)
    except ConnectionError:
        if not sink.closed:
            raise
    except Exception as exc:  # a recovered run must not end as "Task exception never retrieved"
        log.warning("recovered run failed: %s: %s", type(exc).__name__, exc)
    finally:
        sink.end()
        await asyncio.gather(reader, return_exceptions=True)


async def _release(lease: ThreadLease) -> None:
    try:
        await lease.release()
    except Exception as exc:  # it expires by itself
        log.warning("could not release thread %s: %s: %s", lease.thread_id, type(exc).__name__, exc)
