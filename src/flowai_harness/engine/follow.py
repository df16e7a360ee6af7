"""Following a durable run from any process: its committed events, then the live tail.

:func:`follow_events` reads what the run's log holds after a sequence number, then waits for
the run's store signal (``run:<runId>``, sent by every checkpoint's batch) and reads the new
segments, until the run's record has a final status. A checkpoint writes its segment and the
record together, so once the record reads final, the segments read after it hold every event
of the run. Without a signal (a store without notifications, or one missed while a
connection was re-established) the log is read again every ``poll_secs`` seconds.

Every event comes out exactly once, in sequence order, with the content the log holds: a
follower that disconnects and follows again from the last sequence it saw gets the same
events the first one would have.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from flowai_harness.engine.leases import wait_signal
from flowai_harness.engine.runlog import (
    FINAL_STATUSES,
    RUN_PREFIX,
    events_after,
    read_segments,
)
from flowai_harness.errors import SpecValueError
from flowai_harness.ports import KeyValueStore

__all__ = ["follow_events", "run_channel"]

#: how long a follower waits for a signal before it reads the log anyway
DEFAULT_POLL_SECS = 1.0


def run_channel(run_id: str) -> str:
    """The store signal channel of ``run_id`` (a checkpoint of the run was committed)."""
    return f"run:{run_id}"


async def follow_events(
    kv: KeyValueStore,
    tenant: str,
    run_id: str,
    after_sequence: int = 0,
    *,
    poll_secs: float = DEFAULT_POLL_SECS,
) -> AsyncIterator[dict[str, Any]]:
    """Yield the committed events of ``run_id`` numbered above ``after_sequence``, then the
    new ones as they are committed, until the run has ended.

    Raises:
        SpecValueError: the store holds no run ``run_id``.
    """
    sent = after_sequence
    read_through: int | None = None  # the last segment number read
    first = True
    while True:
        # Registered before the reads: a checkpoint committed after them wakes this wait.
        signal = wait_signal(kv, tenant, run_channel(run_id), poll_secs)
        try:
            record = await kv.get(tenant, f"{RUN_PREFIX}{run_id}")
            status = record.get("status") if isinstance(record, dict) else None
            known = isinstance(record, dict) and record.get("runId") == run_id
            if first and not known:
                raise SpecValueError(f"run not found: {run_id}")
            first = False
            segments = await read_segments(kv, tenant, run_id, after=read_through)
            if segments:
                read_through = segments[-1][0]
            for event in events_after(segments, sent):
                sent = event["sequence"]
                yield event
            if not known or status in FINAL_STATUSES:
                return  # ended (or pruned meanwhile)
            await signal
        finally:
            if not signal.done():
                signal.cancel()
                await asyncio.gather(signal, return_exceptions=True)
