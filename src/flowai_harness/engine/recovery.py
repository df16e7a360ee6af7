"""Recovery: finding the durable runs whose owner died, and the sweeper that resumes them.

A run is *claimable* when its lease (:mod:`flowai_harness.engine.leases`) is

* ``held`` but expired: its worker stopped renewing it (it died, or lost the store for longer
  than a lease);
* ``parked`` at a gate whose approval was answered more than a lease ago: the worker that
  waited would have taken the run back within that time, so it is gone.

``suspended`` runs (their stream was dropped) and parked runs still waiting for an answer are
left alone. :meth:`flowai_harness.engine.core.EngineCore.recover_runs` claims each claimable
run (a compare-and-set that bumps the lease's epoch, so of racing workers one wins) and resumes
it in the background; a :class:`Sweeper` calls it periodically.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from flowai_harness.engine.approval_records import decided_at
from flowai_harness.engine.leases import LEASE_PREFIX, now_ms
from flowai_harness.ports import KeyValueStore, RunStore

__all__ = ["Sweeper", "claimable_runs"]

log = logging.getLogger("flowai_harness.runs")


async def _leases(kv: KeyValueStore, tenant: str) -> list[tuple[str, Any]]:
    if isinstance(kv, RunStore):
        return await kv.scan(tenant, LEASE_PREFIX)
    keys = await kv.list_keys(tenant, LEASE_PREFIX)
    values = await asyncio.gather(*(kv.get(tenant, key) for key in keys))
    return list(zip(keys, values, strict=True))


async def claimable_runs(kv: KeyValueStore, tenant: str, *, grace_ms: int) -> list[dict[str, Any]]:
    """The leases (as read) of the runs another worker may claim now, oldest key first.

    Args:
        kv: The runtime's durable store.
        tenant: The runtime's tenant.
        grace_ms: How long an answered approval leaves its parked run to the worker that
            waited for it.
    """
    now = now_ms()
    found = []
    for _, lease in await _leases(kv, tenant):
        if not isinstance(lease, dict) or not isinstance(lease.get("runId"), str):
            continue
        state = lease.get("state")
        until = lease.get("leaseUntil")
        if state == "held" and isinstance(until, int) and until <= now:
            found.append(lease)
        elif state == "parked" and isinstance(lease.get("approvalId"), str):
            answered = await decided_at(kv, tenant, lease["approvalId"])
            if answered is not None and answered <= now - grace_ms:
                found.append(lease)
    return found


class Sweeper:
    """Calls ``recover`` every ``every`` seconds on the loop it was started on."""

    __slots__ = ("_every", "_recover", "_task")

    def __init__(self, recover: Callable[[], Awaitable[list[str]]], every: float) -> None:
        self._recover = recover
        self._every = max(0.05, every)
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the sweeper is going."""
        return self._task is not None and not self._task.done()

    def ensure_started(self) -> None:
        """Start sweeping on the running loop (once; again if its loop ended)."""
        if self.running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._sweep())

    async def stop(self) -> None:
        """Stop sweeping."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _sweep(self) -> None:
        while True:
            try:
                claimed = await self._recover()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store is down: try again next time
                log.warning("run recovery failed: %s: %s", type(exc).__name__, exc)
            else:
                if claimed:
                    log.info("recovered %d run(s): %s", len(claimed), ", ".join(claimed))
            await asyncio.sleep(self._every)
