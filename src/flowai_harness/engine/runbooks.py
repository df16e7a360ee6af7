"""Where the runs of one runtime are kept, and the journal each run gets.

* **durable store** (SQLite, Postgres, Redis): :class:`StoreRunBook`. Records and run logs live
  in the store (:mod:`flowai_harness.engine.runlog` gives their keys), every run gets a
  store-backed journal (:mod:`flowai_harness.engine.durable_journal`), and any process sharing
  the store can list, read, follow and resume the runs.
* **in-memory store** (the default): :class:`MemoryRunBook`. Records are kept in process (the
  1,000 most recent runs); runs get a journal that does nothing, so no event log is written,
  the per-turn cost of a run stays what it was, and such runs cannot be resumed.
"""

from __future__ import annotations

from typing import Any, Protocol

from flowai_harness.engine.approval_records import list_pending_in_store, record_decision_in_store
from flowai_harness.engine.approvals import Decision
from flowai_harness.engine.durable_journal import StoreRunJournal
from flowai_harness.engine.journal import InProcessJournal, RunJournal
from flowai_harness.engine.leases import Heartbeat, RunLease, ThreadLease, new_owner_id
from flowai_harness.engine.runlog import (
    DEFAULT_FLUSH_WINDOW,
    FINAL_STATUSES,
    MEMORY_RUN_LIMIT,
    RUN_PREFIX,
    RunRecord,
    RunRecorder,
    StoredRun,
    events_after,
    prune_ended_runs,
    read_segments,
    scan_values,
)
from flowai_harness.errors import ApprovalNotFoundError
from flowai_harness.ports import KeyValueStore

__all__ = ["MemoryRunBook", "RunBook", "StoreRunBook"]


class RunBook(Protocol):
    """Where the runs of one runtime are recorded."""

    durable: bool

    def open(
        self,
        record: RunRecord,
        stored: StoredRun | None = None,
        *,
        lease: RunLease | None = None,
        thread: ThreadLease | None = None,
    ) -> RunJournal:
        """Start the book-keeping of a new (or resumed, ``stored``) run; return its journal.

        A durable book fences the run's writes with ``lease`` (a resumed run's claimed lease;
        a new run takes a fresh one when it starts) and renews it and ``thread`` while the run
        goes on.
        """
        ...

    async def get(self, run_id: str) -> RunRecord | None:
        """Return the record of ``run_id``, or ``None``."""
        ...

    async def records(self, thread_id: str | None) -> list[RunRecord]:
        """Return the records of every run (of one thread), oldest first."""
        ...

    async def events(self, run_id: str, after_sequence: int) -> list[dict[str, Any]]:
        """Return the logged events of ``run_id`` with a sequence above ``after_sequence``."""
        ...

    async def load(self, run_id: str) -> StoredRun | None:
        """Read everything a resume needs, or ``None`` when the run is unknown."""
        ...

    async def record_decision(
        self, approval_id: str, decision: Decision, local_request: dict[str, Any] | None = None
    ) -> None:
        """Answer an approval in the book (a compare-and-set in a durable store); a gate of
        this process that waits for it passes its ``local_request`` (wire form).

        Raises:
            ApprovalNotFoundError: no such approval waits in this book.
            ApprovalAlreadyResolvedError: it was already answered or has expired.
        """
        ...

    async def pending_approvals(self) -> list[dict[str, Any]]:
        """The approvals of this book's runs that wait in the store, with their ``runId``."""
        ...

    async def prune(self, before: float) -> int:
        """Forget the runs that ended before the epoch time ``before``; return how many."""
        ...


# --------------------------------------------------------------------------- in memory


class MemoryRunBook:
    """Run records kept in process (the most recent :data:`MEMORY_RUN_LIMIT`), no event log."""

    durable = False

    def __init__(self, limit: int = MEMORY_RUN_LIMIT) -> None:
        # A plain dict keeps insertion order and is cheaper than an OrderedDict on this path.
        self._records: dict[str, RunRecord] = {}
        self._limit = limit

    def open(
        self,
        record: RunRecord,
        stored: StoredRun | None = None,
        *,
        lease: RunLease | None = None,
        thread: ThreadLease | None = None,
    ) -> RunJournal:
        records = self._records
        records[record.run_id] = record
        if len(records) > self._limit:
            del records[next(iter(records))]
        return InProcessJournal(record)

    async def get(self, run_id: str) -> RunRecord | None:
        return self._records.get(run_id)

    async def records(self, thread_id: str | None) -> list[RunRecord]:
        return [r for r in self._records.values() if thread_id is None or r.thread_id == thread_id]

    async def events(self, run_id: str, after_sequence: int) -> list[dict[str, Any]]:
        return []

    async def load(self, run_id: str) -> StoredRun | None:
        record = self._records.get(run_id)
        return None if record is None else StoredRun(record, [], record.last_sequence, 0)

    async def record_decision(
        self, approval_id: str, decision: Decision, local_request: dict[str, Any] | None = None
    ) -> None:
        # Only the gates of this process could have asked for it, and none does.
        raise ApprovalNotFoundError(f"approval not found: {approval_id}")

    async def pending_approvals(self) -> list[dict[str, Any]]:
        return []

    async def prune(self, before: float) -> int:
        ended = [
            run_id
            for run_id, r in self._records.items()
            if r.status in FINAL_STATUSES and (r.updated_at or r.created_at) < before
        ]
        for run_id in ended:
            del self._records[run_id]
        return len(ended)


# --------------------------------------------------------------------------- in the store


class StoreRunBook:
    """Run records and run logs in the runtime's durable key-value store."""

    durable = True

    def __init__(
        self,
        kv: KeyValueStore,
        tenant: str,
        *,
        poll_secs: float = 1.0,
        lease_secs: float = 30.0,
        owner: str | None = None,
        flush_window: float = DEFAULT_FLUSH_WINDOW,
    ) -> None:
        self._kv = kv
        #: how long a run's oldest uncommitted event waits for a checkpoint (seconds)
        self.flush_window = flush_window
        self._tenant = tenant
        #: how often a waiting gate looks in the store for a decision made elsewhere
        self.poll_secs = poll_secs
        #: how long a run's lease lasts without renewal (the heartbeat renews it every third)
        self.lease_secs = lease_secs
        #: this worker's id in the leases it takes
        self.owner = owner or new_owner_id()

    @property
    def kv(self) -> KeyValueStore:
        """The store the runs are kept in."""
        return self._kv

    @property
    def tenant(self) -> str:
        """The tenant namespace the runs are kept in."""
        return self._tenant

    def lease(self, run_id: str) -> RunLease:
        """A lease of this worker on ``run_id``, not taken yet."""
        return RunLease(self._kv, self._tenant, run_id, self.owner, self.lease_secs)

    def thread_lease(self, thread_id: str, run_id: str) -> ThreadLease:
        """A lease of run ``run_id`` on thread ``thread_id``, not taken yet."""
        return ThreadLease(self._kv, self._tenant, thread_id, run_id, self.owner, self.lease_secs)

    def open(
        self,
        record: RunRecord,
        stored: StoredRun | None = None,
        *,
        lease: RunLease | None = None,
        thread: ThreadLease | None = None,
    ) -> RunJournal:
        record.durable = True
        lease = lease or self.lease(record.run_id)
        heartbeat = Heartbeat(lease, thread, self.lease_secs)
        if stored is None:
            recorder = RunRecorder(
                self._kv, self._tenant, record, lease=lease, flush_window=self.flush_window
            )
            return StoreRunJournal(recorder, poll_secs=self.poll_secs, heartbeat=heartbeat)
        recorder = RunRecorder(
            self._kv,
            self._tenant,
            record,
            logged_through=stored.last_sequence,
            next_segment=stored.next_segment,
            replayed=stored.event_types,
            lease=lease,
            flush_window=self.flush_window,
        )
        return StoreRunJournal(
            recorder, stored.journal, poll_secs=self.poll_secs, heartbeat=heartbeat
        )

    async def get(self, run_id: str) -> RunRecord | None:
        stored = await self._kv.get(self._tenant, f"{RUN_PREFIX}{run_id}")
        if not isinstance(stored, dict) or stored.get("runId") != run_id:
            return None
        return RunRecord.from_dict(stored)

    async def records(self, thread_id: str | None) -> list[RunRecord]:
        # One scan; the thread filter runs in the store (an index on Postgres and SQLite).
        where = None if thread_id is None else {"threadId": thread_id}
        pairs = await scan_values(self._kv, self._tenant, RUN_PREFIX, where=where)
        records = [RunRecord.from_dict(v) for _, v in pairs if isinstance(v, dict) and "runId" in v]
        return sorted(records, key=lambda r: (r.created_at, r.run_id))

    async def events(self, run_id: str, after_sequence: int) -> list[dict[str, Any]]:
        return events_after(await self._segments(run_id), after_sequence)

    async def load(self, run_id: str) -> StoredRun | None:
        record = await self.get(run_id)
        if record is None:
            return None
        segments = await self._segments(run_id)
        journal: list[dict[str, Any]] = []
        types: dict[int, str] = {}
        for _, segment in segments:
            journal.extend(e for e in segment.get("journal") or [] if isinstance(e, dict))
            for event in segment.get("events") or []:
                sequence = event.get("sequence") if isinstance(event, dict) else None
                if isinstance(sequence, int):
                    types[sequence] = str(event.get("type"))
        next_segment = segments[-1][0] + 1 if segments else 0
        return StoredRun(record, journal, max(types, default=0), next_segment, types)

    async def record_decision(
        self, approval_id: str, decision: Decision, local_request: dict[str, Any] | None = None
    ) -> None:
        await record_decision_in_store(self._kv, self._tenant, approval_id, decision, local_request)

    async def pending_approvals(self) -> list[dict[str, Any]]:
        return await list_pending_in_store(self._kv, self._tenant)

    async def prune(self, before: float) -> int:
        return await prune_ended_runs(self._kv, self._tenant, before)

    async def _segments(self, run_id: str) -> list[tuple[int, dict[str, Any]]]:
        return await read_segments(self._kv, self._tenant, run_id)
