"""Leases: which worker owns a durable run, and which run holds a conversation thread.

Both live in the runtime tenant's namespace of the durable store, so they hold across every
process sharing it.

**Run lease** ``run-lease:<runId>``: ``{"runId", "owner", "epoch", "state", "leaseUntil"}``.

* ``held``: the worker ``owner`` runs the run until ``leaseUntil`` (epoch milliseconds); a
  heartbeat renews it every third of the lease while the run goes on. A worker that dies stops
  renewing; once ``leaseUntil`` has passed any worker may claim the run.
* ``parked``: the run waits at an approval gate (``approvalId``) and owns nothing; its worker
  waits for the answer (a store notification wakes it) and takes the lease back. A parked run
  whose worker died is claimed once its approval has been answered for longer than a lease.
* ``suspended``: the run's stream was dropped; only an explicit ``resume_run`` takes it.

Every claim is a compare-and-set over the lease as it was read, and bumps ``epoch``: of racing
claims exactly one wins. Every write of the owner (run log segments, the run record) is
*fenced*: it is committed only if the lease is still exactly the one the owner holds
(``RunStore.write_batch(guard=...)``), so a stale owner, one whose run another worker has taken
over, can no longer write anything; it stops its run instead. The lease is deleted in the
transaction that writes the run's final status.

**Thread lease** ``thread-lease:<threadId>``: ``{"threadId", "runId", "owner", "leaseUntil"}``,
renewed by the same heartbeat while the run's task lives (also while it waits at a gate) and
deleted when the run ends or stops; a waiting query is woken by the notification
``thread:<threadId>``. An expired thread lease (its worker died) may be taken by anyone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from flowai_harness.errors import ThreadBusyError
from flowai_harness.ports import KeyValueStore, RunStore

__all__ = [
    "LEASE_PREFIX",
    "THREAD_PREFIX",
    "Heartbeat",
    "RunLease",
    "ThreadLease",
    "ThreadPolicy",
    "guarded_write",
    "new_owner_id",
    "now_ms",
    "signal",
    "wait_signal",
]

log = logging.getLogger("flowai_harness.runs")

#: the key of a run's lease is this prefix and the run id
LEASE_PREFIX = "run-lease:"
#: the key of a thread's lease is this prefix and the thread id
THREAD_PREFIX = "thread-lease:"

ThreadPolicy = Literal["enqueue", "reject"]

#: how long a waiting query sleeps at most between two looks at a thread lease it cannot take
_THREAD_POLL_SECS = 1.0


def now_ms() -> int:
    """The wall clock in epoch milliseconds (leases compare across processes and hosts)."""
    return int(time.time() * 1000)


def new_owner_id() -> str:
    """A worker id: host, process id and a random suffix (two runtimes of one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


# --------------------------------------------------------------------------- store helpers


async def guarded_write(
    kv: KeyValueStore,
    tenant: str,
    puts: Sequence[tuple[str, Any]],
    *,
    deletes: Sequence[str] = (),
    guard: tuple[str, Any],
    notify: Sequence[str] = (),
) -> bool:
    """Write ``puts`` and ``deletes`` only if the live value at ``guard[0]`` equals ``guard[1]``.

    A :class:`~flowai_harness.ports.RunStore` does it in one transaction. A plain key-value
    store checks the guard with a compare-and-set that changes nothing, then writes: a claim
    made between the check and the writes is not seen (every built-in store is a RunStore).
    """
    if isinstance(kv, RunStore):
        return await kv.write_batch(tenant, puts, deletes=deletes, guard=guard, notify=notify)
    key, expected = guard
    if not await kv.compare_and_set(tenant, key, expected, expected):
        return False
    for name, value in puts:
        await kv.put(tenant, name, value)
    for name in deletes:
        await kv.delete(tenant, name)
    for channel in notify:
        await signal(kv, tenant, channel)
    return True


async def signal(kv: KeyValueStore, tenant: str, channel: str) -> None:
    """Wake whoever waits on ``channel`` (nothing on a store without notifications)."""
    if isinstance(kv, RunStore):
        await kv.notify(tenant, channel)


def wait_signal(
    kv: KeyValueStore, tenant: str, channel: str, timeout: float
) -> asyncio.Future[bool]:
    """Start waiting up to ``timeout`` seconds for ``channel``; the future says whether it was
    signalled (cancel it when no longer needed).

    The waiter is registered by this call, so a signal sent after it is never missed. A store
    without notifications just times out.
    """
    if isinstance(kv, RunStore):
        return asyncio.ensure_future(kv.wait_notify(tenant, channel, timeout))
    return asyncio.ensure_future(asyncio.sleep(timeout, result=False))


def _lease_until(value: Any) -> int:
    until = value.get("leaseUntil") if isinstance(value, Mapping) else None
    return until if isinstance(until, int) and not isinstance(until, bool) else 0


# --------------------------------------------------------------------------- run lease


class RunLease:
    """The lease of one durable run, as held by this worker.

    ``value`` is exactly what the store holds for this owner; every change of it (renew, park,
    take back) and every fenced write runs under :attr:`lock`, so a write never carries a guard
    the heartbeat has just replaced. Once the store says otherwise the lease is *lost*: nothing
    more is written and ``on_lost`` (set by the run) stops the run.
    """

    __slots__ = (
        "_kv",
        "_tenant",
        "handoff",
        "key",
        "lease_ms",
        "lock",
        "lost",
        "on_lost",
        "owner",
        "pending",
        "run_id",
        "value",
    )

    def __init__(
        self, kv: KeyValueStore, tenant: str, run_id: str, owner: str, lease_secs: float
    ) -> None:
        self._kv = kv
        self._tenant = tenant
        self.run_id = run_id
        self.owner = owner
        self.key = f"{LEASE_PREFIX}{run_id}"
        self.lease_ms = max(1, int(lease_secs * 1000))
        self.value: dict[str, Any] | None = None
        self.lost = False
        self.lock = asyncio.Lock()
        self.on_lost: Callable[[], None] | None = None
        #: the worker is shutting down: a stop hands the run to the fleet (an expired lease,
        #: which recovery claims) instead of suspending it
        self.handoff = False
        #: taken (a new run) but not in the store yet: it goes with the run's first write
        self.pending = False

    @property
    def epoch(self) -> int:
        """The fencing epoch this worker holds (0 before the lease was taken)."""
        return int(self.value["epoch"]) if self.value is not None else 0

    @property
    def parked(self) -> bool:
        """Whether the run waits at a gate without owning its lease."""
        return self.value is not None and self.value.get("state") == "parked"

    def _state(self, state: str, epoch: int, **extra: Any) -> dict[str, Any]:
        until = now_ms() + self.lease_ms if state == "held" else 0
        return {
            "runId": self.run_id,
            "owner": self.owner,
            "epoch": epoch,
            "state": state,
            "leaseUntil": until,
            **extra,
        }

    async def take_new(self, *, defer: bool = False) -> bool:
        """Take the lease of a run that has none (a new run); whether it was free.

        With ``defer`` (on a ``RunStore``) nothing is written now: the lease goes into the
        store with the run's first write (its record), in the same batch. A new run's id is
        fresh and random, so no other worker can hold its lease meanwhile.
        """
        held = self._state("held", 1)
        if defer and isinstance(self._kv, RunStore):
            self.value, self.pending = held, True
            return True
        if await self._kv.compare_and_set(self._tenant, self.key, None, held):
            self.value = held
            return True
        return False

    async def read(self) -> dict[str, Any] | None:
        """The lease as stored now (``None``: no lease)."""
        value = await self._kv.get(self._tenant, self.key)
        return value if isinstance(value, dict) else None

    def busy_with(self, current: Mapping[str, Any] | None) -> str | None:
        """Who holds ``current`` when it is a live lease of another worker, else ``None``."""
        if current is None or current.get("state") != "held":
            return None
        if _lease_until(current) <= now_ms():
            return None
        return str(current.get("owner"))

    async def claim(self, current: dict[str, Any] | None) -> bool:
        """Take the lease over from ``current`` (as read; ``None``: no lease), bumping the epoch.

        Returns:
            Whether this worker won it (another claim made meanwhile makes it ``False``).
        """
        epoch = int(current.get("epoch") or 0) + 1 if current is not None else 1
        held = self._state("held", epoch)
        if await self._kv.compare_and_set(self._tenant, self.key, current, held):
            self.value = held
            return True
        return False

    async def renew(self) -> None:
        """Push ``leaseUntil`` a lease further (nothing while parked or lost)."""
        async with self.lock:
            if self.lost or self.value is None or self.parked:
                return
            await self._swap(self._state("held", self.epoch))

    async def park(self, approval_id: str) -> None:
        """Let go of the run while its gate waits for ``approval_id``."""
        async with self.lock:
            if not self.lost and self.value is not None:
                await self._swap(self._state("parked", self.epoch, approvalId=approval_id))

    async def take_back(self) -> bool:
        """Own the run again after its gate was answered; ``False``: another worker took it."""
        async with self.lock:
            if self.lost or self.value is None:
                return not self.lost
            if not self.parked:
                return True
            return await self._swap(self._state("held", self.epoch))

    async def suspend(self) -> None:
        """The run's stream was dropped: only an explicit resume takes it from here (or, when
        handed off, any worker's recovery: the lease is left expired)."""
        async with self.lock:
            if not self.lost and self.value is not None:
                if self.handoff:
                    await self._swap({**self._state("held", self.epoch), "leaseUntil": 0})
                else:
                    await self._swap(self._state("suspended", self.epoch))

    async def write(
        self,
        puts: Sequence[tuple[str, Any]],
        *,
        final: bool = False,
        notify: Sequence[str] = (),
    ) -> bool:
        """Write ``puts`` fenced by this lease (``final``: and delete the lease with them).

        Returns:
            Whether it was written; ``False`` marks the lease lost (the run was taken over).

        Raises:
            Exception: whatever the store raised (the lease is not lost then).
        """
        async with self.lock:
            if self.lost or self.value is None:
                return False
            if self.pending:
                return await self._first_write(puts, final, notify)
            guard = (self.key, self.value)
            deletes = (self.key,) if final else ()
            if await guarded_write(
                self._kv, self._tenant, puts, deletes=deletes, guard=guard, notify=notify
            ):
                if final:
                    self.value = None
                return True
            self._lose()
            return False

    async def _first_write(
        self, puts: Sequence[tuple[str, Any]], final: bool, notify: Sequence[str]
    ) -> bool:
        """The first write of a new run: the lease goes into the store with it (a final one
        never writes the lease at all)."""
        assert isinstance(self._kv, RunStore)
        lease = [] if final else [(self.key, self.value)]
        await self._kv.write_batch(self._tenant, [*lease, *puts], notify=notify)
        self.pending = False
        if final:
            self.value = None
        return True

    async def _swap(self, new: dict[str, Any]) -> bool:
        if self.pending:  # not in the store yet: the first write takes the new value
            self.value = new
            return True
        try:
            if await self._kv.compare_and_set(self._tenant, self.key, self.value, new):
                self.value = new
                return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The store is unreachable: the next renew or fenced write tries again.
            log.warning(
                "run %s: could not update its lease: %s: %s", self.run_id, type(exc).__name__, exc
            )
            return True
        self._lose()
        return False

    def _lose(self) -> None:
        if self.lost:
            return
        self.lost = True
        log.warning(
            "run %s: its lease was taken by another worker (epoch %d lost); stopping it here",
            self.run_id,
            self.epoch,
        )
        if self.on_lost is not None:
            self.on_lost()


# --------------------------------------------------------------------------- thread lease


class ThreadLease:
    """The lease that makes one run at a time use a conversation thread, fleet-wide."""

    __slots__ = ("_kv", "_tenant", "key", "lease_ms", "owner", "run_id", "thread_id", "value")

    def __init__(
        self,
        kv: KeyValueStore,
        tenant: str,
        thread_id: str,
        run_id: str,
        owner: str,
        lease_secs: float,
    ) -> None:
        self._kv = kv
        self._tenant = tenant
        self.thread_id = thread_id
        self.run_id = run_id
        self.owner = owner
        self.key = f"{THREAD_PREFIX}{thread_id}"
        self.lease_ms = max(1, int(lease_secs * 1000))
        self.value: dict[str, Any] | None = None

    def _mine(self) -> dict[str, Any]:
        return {
            "threadId": self.thread_id,
            "runId": self.run_id,
            "owner": self.owner,
            "leaseUntil": now_ms() + self.lease_ms,
        }

    async def acquire(self, policy: ThreadPolicy) -> None:
        """Take the thread; ``enqueue`` waits for the run holding it to end.

        Raises:
            ThreadBusyError: ``reject`` and another run holds the thread.
        """
        channel = f"thread:{self.thread_id}"
        # The usual case, a free thread, costs one statement: take it without reading first.
        mine = self._mine()
        if await self._kv.compare_and_set(self._tenant, self.key, None, mine):
            self.value = mine
            return
        while True:
            current = await self._kv.get(self._tenant, self.key)
            until = _lease_until(current)
            if current is None or until <= now_ms() or _held_by(current, self.run_id):
                mine = self._mine()
                if await self._kv.compare_and_set(self._tenant, self.key, current, mine):
                    self.value = mine
                    return
                continue
            if policy == "reject":
                raise ThreadBusyError(
                    f"thread '{self.thread_id}' is busy: run {current.get('runId')} is using it "
                    f"(worker {current.get('owner')}); one run per thread at a time. Wait for it "
                    f"to end, or create the runtime with durability={{'thread_policy': "
                    f"'enqueue'}} to queue behind it"
                )
            wait = min(_THREAD_POLL_SECS, max(0.01, (until - now_ms()) / 1000))
            await wait_signal(self._kv, self._tenant, channel, wait)

    async def renew(self) -> None:
        """Push ``leaseUntil`` a lease further."""
        if self.value is None:
            return
        mine = self._mine()
        if await self._kv.compare_and_set(self._tenant, self.key, self.value, mine):
            self.value = mine
        else:
            self.value = None
            log.warning("thread %s: its lease expired and was taken meanwhile", self.thread_id)

    async def release(self) -> None:
        """Let the thread go and wake the queries waiting for it."""
        value, self.value = self.value, None
        if value is None:
            return
        channel = f"thread:{self.thread_id}"
        if isinstance(self._kv, RunStore):
            # The signal rides in the delete's transaction (one statement on Postgres).
            guard = (self.key, value)
            notify = (channel,)
            if await self._kv.write_batch(
                self._tenant, (), deletes=(self.key,), guard=guard, notify=notify
            ):
                return
        elif await self._kv.compare_and_set(self._tenant, self.key, value, None):
            pass
        await signal(self._kv, self._tenant, channel)


def _held_by(current: Any, run_id: str) -> bool:
    return isinstance(current, Mapping) and current.get("runId") == run_id


# --------------------------------------------------------------------------- heartbeat


class Heartbeat:
    """Renews a run's leases every third of a lease while the run's task lives."""

    __slots__ = ("_every", "_run", "_task", "_thread")

    def __init__(self, run: RunLease | None, thread: ThreadLease | None, lease_secs: float) -> None:
        self._run = run
        self._thread = thread
        self._every = max(0.01, lease_secs / 3)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start beating (on the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> None:
        """Stop beating."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            for renew in (self._run, self._thread):
                if renew is None:
                    continue
                try:
                    await renew.renew()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("could not renew a lease: %s: %s", type(exc).__name__, exc)
