"""Run records and the run log: what a run leaves behind, and what a resumed run reads back.

Every run started by ``query`` or ``run_specialist`` gets a run id (``run-<uuid4>``) and a
:class:`RunRecord`; :mod:`flowai_harness.engine.runbooks` says where records are kept. On a
durable store (SQLite, Postgres, Redis), in the runtime tenant's namespace, ``run:<runId>``
holds the record and ``run-log:<runId>:<segment>`` (segment number zero-padded to 8 digits, so
keys list in order) holds one *segment* of the run log: ``{"events": [event dicts...],
"journal": [journal entries...]}``.

A :class:`RunRecorder` buffers a durable run's events and journal entries and writes a segment
at *checkpoints* only (the run's journal decides where: before and after a Python tool runs,
at an approval gate, at the end of each model turn, after memory is appended, at the end of the
run). One put per segment keeps events and journal consistent with each other on every
backend: a crash loses at most the entries after the last checkpoint, never half of one. The
record is rewritten at the start, at each status change, at a gate and at the end (not at
every checkpoint).

Writes are best effort: a store failure is logged on the ``flowai_harness.runs`` logger and
never fails the run; the unwritten entries stay buffered for the next checkpoint. A recorder
given the run's lease (:mod:`flowai_harness.engine.leases`) writes each checkpoint (segment and
record) as one batch fenced by that lease, signalling ``run:<runId>`` to followers; a batch the
fence refuses means another worker took the run over: the recorder writes nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from flowai_harness._clock import utc_millis
from flowai_harness.events import json_copy
from flowai_harness.ports import KeyValueStore, RunStore

if TYPE_CHECKING:
    from flowai_harness.engine.emit import EventSink
    from flowai_harness.engine.leases import RunLease

__all__ = [
    "DEFAULT_FLUSH_WINDOW",
    "FINAL_STATUSES",
    "LOG_PREFIX",
    "MEMORY_RUN_LIMIT",
    "RUN_PREFIX",
    "RunRecord",
    "RunRecorder",
    "RunStatus",
    "StoredRun",
    "events_after",
    "new_run_id",
    "prune_ended_runs",
    "read_segments",
    "scan_values",
    "segment_key",
    "store_is_durable",
]

log = logging.getLogger("flowai_harness.runs")

RunStatus = Literal["running", "waiting_approval", "completed", "failed", "cancelled"]
#: statuses after which a run never changes again (and cannot be resumed)
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
#: how many run records an in-memory runtime keeps (oldest dropped first)
MEMORY_RUN_LIMIT = 1_000

#: the key of a run record is this prefix and the run id
RUN_PREFIX = "run:"
#: the code of the ``error`` event that ends the stream of a run another worker took over
TAKEN_OVER = "run_taken_over"
#: the keys of a run log's segments are this prefix, the run id, ":" and the segment number
LOG_PREFIX = "run-log:"
#: seconds a durable run's oldest uncommitted event waits for a checkpoint before it is
#: committed on its own (``durability={"flush_window_ms": ...}``)
DEFAULT_FLUSH_WINDOW = 0.1
#: after this many failed commits in a row a run's events stop waiting for the store
_HOLD_FAILURES = 3


def new_run_id() -> str:
    """Return a fresh run id: ``run-`` and 32 random hex digits (128 bits)."""
    # os.urandom directly: uuid4 formatting costs more than the rest of a run's book-keeping.
    return f"run-{os.urandom(16).hex()}"


def store_is_durable(kv: KeyValueStore, data_environment: Mapping[str, Any] | None) -> bool:
    """Say whether runs on this store should be journaled (the store outlives the process).

    A store may declare itself with a ``durable`` attribute. Otherwise the data environment
    decides: ``data_environment.kv`` of kind ``sqlite``, ``postgres`` or ``redis`` is durable;
    no ``kv`` section (or kind ``memory``) is the in-process store.
    """
    declared = getattr(kv, "durable", None)
    if isinstance(declared, bool):
        return declared
    section = (data_environment or {}).get("kv")
    return isinstance(section, Mapping) and section.get("kind", "memory") != "memory"


async def scan_values(
    kv: KeyValueStore,
    tenant: str,
    prefix: str,
    *,
    start_after: str | None = None,
    where: Mapping[str, str] | None = None,
) -> list[tuple[str, Any]]:
    """``(key, value)`` of the keys starting with ``prefix`` (after ``start_after``), by key.

    One ``RunStore.scan`` (filtered by ``where`` in the store, over its indexes); a plain
    key-value store is listed and read key by key, and filtered here.
    """
    if isinstance(kv, RunStore):
        return await kv.scan(tenant, prefix, start_after=start_after, where=where)
    keys = [k for k in await kv.list_keys(tenant, prefix) if start_after is None or k > start_after]
    values = await asyncio.gather(*(kv.get(tenant, key) for key in keys))
    return [
        (key, value)
        for key, value in zip(keys, values, strict=True)
        if value is not None
        and (
            not where
            or (isinstance(value, dict) and all(value.get(f) == v for f, v in where.items()))
        )
    ]


def segment_key(run_id: str, number: int) -> str:
    """The key of segment ``number`` of the log of ``run_id``."""
    return f"{LOG_PREFIX}{run_id}:{number:08d}"


async def read_segments(
    kv: KeyValueStore, tenant: str, run_id: str, *, after: int | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """The log segments of ``run_id`` (numbered above ``after``, if given), in order; one
    scan on a ``RunStore``."""
    prefix = f"{LOG_PREFIX}{run_id}:"
    start = None if after is None else segment_key(run_id, after)
    pairs = await scan_values(kv, tenant, prefix, start_after=start)
    numbered = [
        (int(key[len(prefix) :]), value)
        for key, value in pairs
        if key[len(prefix) :].isdigit() and isinstance(value, dict)
    ]
    numbered.sort(key=lambda item: item[0])
    return numbered


def events_after(
    segments: list[tuple[int, dict[str, Any]]], after_sequence: int
) -> list[dict[str, Any]]:
    """The logged events of ``segments`` numbered above ``after_sequence``, in order (a number
    logged twice keeps its first content)."""
    seen: dict[int, dict[str, Any]] = {}
    for _, segment in segments:
        for event in segment.get("events") or []:
            sequence = event.get("sequence") if isinstance(event, dict) else None
            if isinstance(sequence, int) and sequence > after_sequence:
                seen.setdefault(sequence, event)
    return [seen[number] for number in sorted(seen)]


async def prune_ended_runs(kv: KeyValueStore, tenant: str, before: float) -> int:
    """Delete the record and the log (events and journal) of every run that ended before the
    epoch time ``before``; return how many runs went.

    Runs still going (or waiting at a gate) are kept whatever their age, and so are approval
    audit records. On a ``RunStore`` each final status is one indexed scan, and each run one
    batch plus one prefix delete.
    """
    pruned = 0
    for status in sorted(FINAL_STATUSES):
        for key, value in await scan_values(kv, tenant, RUN_PREFIX, where={"status": status}):
            if not isinstance(value, dict) or value.get("status") != status:
                continue
            ended = _epoch(value.get("updatedAt")) or _epoch(value.get("createdAt"))
            if ended >= before:
                continue
            run_id = key[len(RUN_PREFIX) :]
            await _delete_run(kv, tenant, key, run_id)
            pruned += 1
    return pruned


async def _delete_run(kv: KeyValueStore, tenant: str, key: str, run_id: str) -> None:
    # The log first: a prune cut short leaves a record without a log (listed, with no
    # events), never a log nobody can find.
    prefix = f"{LOG_PREFIX}{run_id}:"
    if isinstance(kv, RunStore):
        await kv.delete_prefix(tenant, prefix)
    else:
        for name in await kv.list_keys(tenant, prefix):
            await kv.delete(tenant, name)
    await kv.delete(tenant, key)


def _epoch(iso: Any) -> float:
    if not isinstance(iso, str):
        return 0.0
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


@dataclass(slots=True)
class RunRecord:
    """One run: who started it where, and how far it got.

    Wire form (``run:<runId>`` and ``Runtime.get_run``): ``{"runId", "entryAgent", "threadId",
    "prompt", "entryInvocationId", "status", "createdAt", "updatedAt", "lastSequence",
    "durable", "resumeCount"}``, plus ``"reason"`` when the run was stopped by something
    other than its own failure (its budget); times are ISO 8601 UTC with milliseconds.
    """

    run_id: str
    entry_agent: str
    thread_id: str
    prompt: str
    entry_invocation_id: str
    status: RunStatus = "running"
    created_at: float = field(default_factory=time.time)
    updated_at: float = 0.0
    last_sequence: int = 0
    durable: bool = False
    resume_count: int = 0
    #: why the run stopped, when a limit stopped it (``budget exceeded: ...``)
    reason: str | None = None

    def end(self, status: RunStatus, last_sequence: int) -> None:
        """Mark the run as ended (an in-process record)."""
        self.status = status
        self.last_sequence = last_sequence
        self.updated_at = time.time()

    def to_dict(self) -> dict[str, Any]:
        """Return the camelCase wire form."""
        return {
            "runId": self.run_id,
            "entryAgent": self.entry_agent,
            "threadId": self.thread_id,
            "prompt": self.prompt,
            "entryInvocationId": self.entry_invocation_id,
            "status": self.status,
            "createdAt": utc_millis(self.created_at),
            "updatedAt": utc_millis(self.updated_at or self.created_at),
            "lastSequence": self.last_sequence,
            "durable": self.durable,
            "resumeCount": self.resume_count,
            **({"reason": self.reason} if self.reason is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Read a stored record (unknown keys are ignored)."""
        return cls(
            run_id=str(data["runId"]),
            entry_agent=str(data.get("entryAgent") or ""),
            thread_id=str(data.get("threadId") or ""),
            prompt=str(data.get("prompt") or ""),
            entry_invocation_id=str(data.get("entryInvocationId") or ""),
            status=data.get("status") or "running",
            created_at=_epoch(data.get("createdAt")),
            updated_at=_epoch(data.get("updatedAt")),
            last_sequence=int(data.get("lastSequence") or 0),
            durable=bool(data.get("durable", True)),
            resume_count=int(data.get("resumeCount") or 0),
            reason=data["reason"] if isinstance(data.get("reason"), str) else None,
        )


@dataclass(slots=True)
class StoredRun:
    """A run as read back from the store: its record, journal entries and log position."""

    record: RunRecord
    journal: list[dict[str, Any]]
    last_sequence: int
    next_segment: int
    #: the ``type`` of each logged event by sequence, to check the replay against
    event_types: dict[int, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- the recorder


class RunRecorder:
    """Buffers one durable run's events and journal entries; writes them at checkpoints.

    Events reach :meth:`on_event` from the event sink as their wire dicts. When the run is a
    resumed one, every event numbered up to ``logged_through`` is a replay of an event the
    first stream already logged (and delivered): it is not logged again and not delivered
    again, unless :attr:`redeliver` is set (a gate that must wait again shows its request).

    Once the stream is *suspended* (dropped by its consumer, see ``RuntimeEventStream``) the
    recorder writes nothing more: the run stays in the store exactly as a crash would leave it.
    """

    __slots__ = (
        "_entries",
        "_events",
        "_failed",
        "_failures",
        "_flush_window",
        "_kv",
        "_lock",
        "_next_segment",
        "_puts",
        "_replayed",
        "_sink",
        "_tasks",
        "_tenant",
        "_timer",
        "lease",
        "logged_through",
        "record",
        "redeliver",
    )

    def __init__(
        self,
        kv: KeyValueStore,
        tenant: str,
        record: RunRecord,
        *,
        logged_through: int = 0,
        next_segment: int = 0,
        replayed: dict[int, str] | None = None,
        lease: RunLease | None = None,
        flush_window: float = DEFAULT_FLUSH_WINDOW,
    ) -> None:
        self._kv = kv
        #: seconds the oldest held event waits for a checkpoint before it is committed alone
        self._flush_window = flush_window
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: the run's lease, which fences every write (``None``: unfenced puts)
        self.lease = lease
        self._replayed = replayed or {}
        self._tenant = tenant
        self.record = record
        self.logged_through = logged_through
        self.redeliver = False
        self._events: list[dict[str, Any]] = []
        self._entries: list[dict[str, Any]] = []
        #: other keys to write with the next checkpoint (the memory record of a turn)
        self._puts: list[tuple[str, Any]] = []
        self._next_segment = next_segment
        self._sink: EventSink | None = None
        self._failed = False
        #: commits failed in a row (the store is down); from the third on events are not held
        self._failures = 0
        self._lock = asyncio.Lock()

    @property
    def kv(self) -> KeyValueStore:
        """The store the run is written to."""
        return self._kv

    @property
    def tenant(self) -> str:
        """The tenant namespace the run is written in."""
        return self._tenant

    @property
    def frozen(self) -> bool:
        """Whether the run was suspended, or taken over by another worker: nothing more is
        recorded."""
        if self.lease is not None and self.lease.lost:
            return True
        return self._sink is not None and self._sink.suspended

    def on_event(self, wire: dict[str, Any]) -> bool:
        """Log ``wire`` (a copy) unless it replays a logged event; return whether to deliver it."""
        sequence: int = wire["sequence"]
        if sequence <= self.logged_through:
            expected = self._replayed.get(sequence)
            if expected is None or expected == wire["type"]:
                return self.redeliver
            self._diverged(wire, expected)
        self._events.append(json_copy(wire))
        if self.frozen:
            # Nothing more is committed: what is held is dropped, what comes is shown as is,
            # except after a takeover: then the run's log goes on in the other worker, and
            # this stream shows only why it ends (anything else would not be in that log).
            if self._sink is not None:
                self._sink.stop_holding(drop=True)
            if self.lease is not None and self.lease.lost:
                return bool(wire["type"] == "error" and wire["error"].get("code") == TAKEN_OVER)
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._flush_window, self._window_due)
        return True

    def _window_due(self) -> None:
        """The oldest held event has waited a flush window: commit the events now."""
        self._timer = None
        if self.frozen or not self._events:
            return
        task = asyncio.get_running_loop().create_task(self._write(False, events_only=True))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def go_live(self) -> None:
        """Stop replaying: whatever comes next is new, numbered after the logged events."""
        if self._sink is not None and self._sink.sequence < self.logged_through:
            self._sink.sequence = self.logged_through
        self._replayed = {}

    def _diverged(self, wire: dict[str, Any], expected: str) -> None:
        """The replay emitted something the log does not have at that number: from here on the
        run is live, and its events are numbered after the logged ones (none is hidden)."""
        log.warning(
            "run %s: the replay diverged from its log at event %d (%s, logged %s); the run "
            "continues live from here",
            self.record.run_id,
            wire["sequence"],
            wire["type"],
            expected,
        )
        number = self.logged_through + 1
        wire["sequence"] = number
        if self._sink is not None:
            self._sink.sequence = number
        self._replayed = {}

    def add(self, entry: dict[str, Any]) -> None:
        """Buffer one journal entry (written at the next checkpoint)."""
        self._entries.append(entry)

    def add_put(self, key: str, value: Any) -> None:
        """Write ``key`` (another record, such as agent memory) with the next checkpoint."""
        self._puts.append((key, value))

    async def start(self, sink: EventSink) -> None:
        """Attach to the run's sink and write the record (status ``running``).

        From here on the sink holds each new event until the checkpoint logging it commits.
        """
        self._sink = sink
        sink.tap = self.on_event
        sink.hold(self.logged_through)
        await self._flush(record=True)

    async def checkpoint(self, *, record: bool = False) -> None:
        """Write the buffered events and journal entries as one segment.

        The record (and its ``lastSequence``) is rewritten only when ``record`` is true: at
        status changes, at a gate, and at the end of the run; the log itself is in the segments.
        """
        if self.frozen or not (self._events or self._entries or self._puts or record):
            return
        await self._flush(record=record)

    async def set_status(self, status: RunStatus) -> None:
        """Write the buffered log and the record with a new status."""
        if self.frozen:
            return
        self.record.status = status
        await self._flush(record=True)

    async def finish(self, status: RunStatus | None) -> None:
        """Write what is left and the final status (``None``: suspended, write nothing).

        A suspended run writes nothing more, but its end waits for a checkpoint the stop cut
        short to complete, so a store closed right after the run has ended loses nothing.
        """
        if status is not None and not self.frozen:
            self.record.status = status
            await self._flush(record=True, final=status in FINAL_STATUSES)
        async with self._lock:
            pass
        lease = self.lease
        if lease is not None and lease.value is not None and not lease.lost:
            await asyncio.shield(lease.suspend())

    async def _flush(self, *, record: bool, final: bool = False) -> None:
        # A checkpoint that has started completes even if the run is cancelled meanwhile (its
        # stream dropped): the store then holds exactly what the first stream delivered.
        await asyncio.shield(self._write(record, final))

    async def _write(self, record: bool, final: bool = False, *, events_only: bool = False) -> None:
        """Commit the buffered events (and journal entries, unless ``events_only``: a flush
        window's write never splits the entries of a checkpoint) and maybe the record."""
        async with self._lock:
            if self.lease is not None and self.lease.lost:
                self._lost()
                return
            # Swapped out before the await: what the run records meanwhile goes to the next one.
            events, entries = self._events, [] if events_only else self._entries
            extra = [] if events_only else self._puts
            self._events = []
            if not events_only:
                self._entries, self._puts = [], []
            puts: list[tuple[str, Any]] = list(extra)
            segment = f"{LOG_PREFIX}{self.record.run_id}:{self._next_segment:08d}"
            if events or entries:
                puts.append((segment, {"events": events, "journal": entries}))
            if record:
                last = events[-1]["sequence"] if events else self.record.last_sequence
                self.record.last_sequence = last
                self.record.updated_at = time.time()
                puts.append((f"{RUN_PREFIX}{self.record.run_id}", self.record.to_dict()))
            if not puts:
                return
            if not await self._commit(puts, final):
                self._events, self._entries = events + self._events, entries + self._entries
                self._puts = extra + self._puts
                if self.frozen:
                    self._lost()
                    return
                self._failures += 1
                if self._failures == _HOLD_FAILURES and self._sink is not None:
                    # The store is down: the stream goes on without waiting for it (its
                    # events are still written once it is back), rather than stalling.
                    # The first failure was already logged as a warning (once per run).
                    log.info(
                        "run %s: the store failed %d times in a row; events reach the stream "
                        "before they are committed until it is back",
                        self.record.run_id,
                        self._failures,
                    )
                    self._sink.stop_holding(drop=False)
                if self._events and self._timer is None:  # retried after a window
                    loop = asyncio.get_running_loop()
                    self._timer = loop.call_later(self._flush_window, self._window_due)
                return
            if self._failures >= _HOLD_FAILURES and self._sink is not None and events:
                self._sink.hold(events[-1]["sequence"])  # back: hold again
            self._failures = 0
            if events:
                self.record.last_sequence = events[-1]["sequence"]
                if self._sink is not None:
                    self._sink.release(events[-1]["sequence"])
            if events or entries:
                self._next_segment += 1
            if not self._events and self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _lost(self) -> None:
        """Another worker took the run over: the held events will never be committed here."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sink is not None:
            self._sink.stop_holding(drop=True)

    async def _commit(self, puts: list[tuple[str, Any]], final: bool) -> bool:
        """Write one checkpoint: fenced by the lease when the run has one."""
        lease = self.lease
        if lease is None:
            for key, value in puts:
                if not await self._put(key, value, "its log and record"):
                    return False
            return True
        try:
            written = await lease.write(puts, final=final, notify=(f"run:{self.record.run_id}",))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._warn("its log and record", exc)
            return False
        return written

    def _warn(self, what: str, exc: Exception) -> None:
        if not self._failed:
            log.warning(
                "could not record run %s (%s): %s: %s; the run continues, later checkpoints retry",
                self.record.run_id,
                what,
                type(exc).__name__,
                exc,
            )
        self._failed = True

    async def _put(self, key: str, value: Any, what: str) -> bool:
        try:
            await self._kv.put(self._tenant, key, value)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._warn(what, exc)
            return False
        return True
