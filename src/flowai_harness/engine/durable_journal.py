"""The journal of a durable run: what the run did, recorded as it happens, so another process
can re-drive the run from its record (the store-backed side of :mod:`~flowai_harness.engine.
journal`).

For every agent invocation of a run (the entry agent's, and each one ``call_agent`` starts) the
journal records, in order:

* ``part``: each model part of each turn (text, reasoning, tool call, latency, finish, error);
* ``gate``: the approval id of the approval gate a tool call opened (a call has at most one tool
  gate and one plan gate: ``executePlan`` under ``tools: always`` has both);
* ``start``: that a Python tool's handler is about to run (written to the store *before* it runs);
* ``outcome``: each tool call's outcome, with how many events its dispatch emitted before it;
* ``memory``: that a stateful agent's turn was appended to its conversation memory.

Invocations are keyed by their position in the run, not by id: ``"0"`` is the entry invocation
and ``"<parent>/<turn>.<call>"`` the one started by the parent's ``<call>``-th tool call
(0-based) of turn ``<turn>``. Call ids are not unique (every scripted invocation numbers its
calls from 1), positions are.

Resume re-drives the run. Each invocation's model client is wrapped in a
:class:`JournaledClient` that yields the journaled parts of a turn instead of calling the model;
a journaled tool call returns its journaled outcome without running the tool again (the event
numbers of what its dispatch emitted are skipped, they were delivered already). Where the
journal stops, the run goes live:

* a turn cut short by the stop (always right after a tool call) is finished by the client
  itself: an offline client (``live`` false: the scripted interpreter, test fakes) is asked for
  the same turn again, must yield the journaled parts first (they are checked and skipped) and
  continues from there; a live model cannot repeat itself, so its cut turn ends after its last
  journaled tool call (``finish: tool-calls``) and the model continues in a new turn;
* a gate with a journaled approval id reuses that id: if the decision is in the store it is
  applied at once, else the gate waits again (see :mod:`flowai_harness.engine.gates`); while a
  gate waits, the run's lease is parked (:mod:`flowai_harness.engine.leases`) and the journal
  waits for the store's ``approval:<id>`` notification, sent by whichever process answers; as a
  fallback it also reads the audit record, every ``poll_secs`` at first and backing off to
  every ``8 * poll_secs``;
* a Python tool that had started but has no outcome is not run again (its effect is unknown):
  it returns an ``Interrupted`` error result the model can read. Tools therefore run at most
  once per run, and a plan, whose status is in the store, is dispatched at most once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.engine.approval_records import read_audit, remove_pending, write_pending
from flowai_harness.engine.approvals import Decision
from flowai_harness.engine.emit import EventSink
from flowai_harness.engine.journal import GateKind
from flowai_harness.engine.journal_parts import decode_part, encode_part
from flowai_harness.engine.leases import Heartbeat, wait_signal
from flowai_harness.engine.runlog import RunRecorder, RunStatus
from flowai_harness.events import json_copy
from flowai_harness.ports import (
    ModelClient,
    ModelError,
    ModelFinish,
    ModelPart,
    ModelReasoning,
    ModelRequest,
    ModelText,
    ModelToolCall,
    ToolOutcome,
    error_outcome,
)

__all__ = [
    "JournaledClient",
    "StoreInvocationJournal",
    "StoreRunJournal",
    "decode_part",
    "encode_part",
    "read_journal",
]

log = logging.getLogger("flowai_harness.runs")

#: a waiting gate reads its audit record every ``poll_secs``, backing off to this many times that
_POLL_BACKOFF = 8


# --------------------------------------------------------------------------- the record


@dataclass(slots=True)
class TurnRecord:
    """What one journaled model turn did."""

    parts: list[ModelPart] = field(default_factory=list)
    #: the turn ended (finish or error); otherwise the run stopped in the middle of it
    complete: bool = False
    #: call position -> (outcome, events its dispatch emitted before the outcome)
    outcomes: dict[int, tuple[ToolOutcome, int]] = field(default_factory=dict)
    #: call position -> events emitted before a Python handler started
    starts: dict[int, int] = field(default_factory=dict)
    #: call position -> gate kind ("tool" or "plan") -> approval id
    gates: dict[int, dict[str, str]] = field(default_factory=dict)


@dataclass(slots=True)
class InvocationRecord:
    """What one journaled agent invocation did, turn by turn."""

    turns: dict[int, TurnRecord] = field(default_factory=dict)
    memory_appended: bool = False

    def turn(self, number: int) -> TurnRecord:
        """Return turn ``number``, created empty when new."""
        record = self.turns.get(number)
        if record is None:
            record = self.turns[number] = TurnRecord()
        return record


def read_journal(entries: Iterable[dict[str, Any]]) -> dict[str, InvocationRecord]:
    """Rebuild the per-invocation record from journal entries, in the order they were written.

    Malformed entries are logged and skipped: what they described is re-done live.
    """
    invocations: dict[str, InvocationRecord] = {}
    for entry in entries:
        try:
            key = str(entry["inv"])
            kind = entry["kind"]
            invocation = invocations.setdefault(key, InvocationRecord())
            if kind == "memory":
                invocation.memory_appended = True
                continue
            turn = invocation.turn(int(entry["turn"]))
            if kind == "part":
                part = decode_part(entry["part"])
                turn.parts.append(part)
                turn.complete = isinstance(part, ModelFinish | ModelError)
            elif kind == "outcome":
                outcome = ToolOutcome(entry.get("content"), bool(entry.get("isError")))
                turn.outcomes[int(entry["call"])] = (outcome, int(entry.get("events") or 0))
            elif kind == "start":
                turn.starts[int(entry["call"])] = int(entry.get("events") or 0)
            elif kind == "gate":
                gates = turn.gates.setdefault(int(entry["call"]), {})
                gates[str(entry["gate"])] = str(entry["approvalId"])
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("skipping a malformed journal entry: %s: %s", type(exc).__name__, exc)
    return invocations


# --------------------------------------------------------------------------- the journal


class StoreRunJournal:
    """The journal of one durable run: its recorder, and the record a resume replays."""

    __slots__ = ("_heartbeat", "_record", "poll_secs", "recorder")

    def __init__(
        self,
        recorder: RunRecorder,
        entries: Iterable[dict[str, Any]] = (),
        *,
        poll_secs: float = 1.0,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.recorder = recorder
        self._record = read_journal(entries)
        #: how often a waiting gate looks in the store for a decision made by another process
        self.poll_secs = poll_secs
        self._heartbeat = heartbeat

    @property
    def run_id(self) -> str:
        """The id of the journaled run."""
        return self.recorder.record.run_id

    @property
    def suspended(self) -> bool:
        """Whether the run's stream was dropped (or the run was taken over by another worker):
        the run stays resumable, nothing is recorded."""
        return self.recorder.frozen

    @property
    def taken_over(self) -> bool:
        """Whether another worker claimed the run's lease: this one must stop the run."""
        lease = self.recorder.lease
        return lease is not None and lease.lost

    @property
    def lease_epoch(self) -> int:
        """The fencing epoch of the run's lease as held here (0 without a lease)."""
        lease = self.recorder.lease
        return 0 if lease is None else lease.epoch

    def invocation(self, key: str) -> StoreInvocationJournal:
        """Return the journal of the invocation at position ``key``."""
        return StoreInvocationJournal(self, key, self._record.get(key))

    async def start(self, sink: EventSink) -> None:
        """Take the run's lease (a new run), start its heartbeat, and write the record.

        Losing the lease later cancels the task running this (the run): the engine then ends
        the stream with a ``run_taken_over`` error.
        """
        lease = self.recorder.lease
        if lease is not None:
            task = asyncio.current_task()
            if task is not None:
                lease.on_lost = lambda: _stop(task)
            if lease.value is None and not await lease.take_new(defer=True):
                lease.lost = True
                raise asyncio.CancelledError(f"run {self.run_id} is owned by another worker")
        if self._heartbeat is not None:
            self._heartbeat.start()
        await self.recorder.start(sink)

    async def finish(self, status: RunStatus) -> None:
        """Write what is left and the final status (nothing when the run was suspended)."""
        try:
            # Store writes are not cut short by a second cancellation.
            await asyncio.shield(self.recorder.finish(status))
        finally:
            if self._heartbeat is not None:
                await self._heartbeat.stop()

    async def checkpoint(self, *, record: bool = False) -> None:
        """Write everything recorded so far to the store (and the run record, if ``record``).

        Raises:
            asyncio.CancelledError: another worker took the run over; nothing was written.
                Losing the lease also cancels the run's task, but that cancellation can be
                absorbed on its way; the run must not go on either way (a tool started after
                a refused checkpoint would run a second time).
        """
        await self.recorder.checkpoint(record=record)
        if self.taken_over:
            raise asyncio.CancelledError(f"run {self.run_id} was taken over by another worker")

    async def set_status(self, status: RunStatus) -> None:
        """Write the log and a new run status."""
        await self.recorder.set_status(status)

    def go_live(self) -> None:
        """Stop replaying: what comes next is numbered after the logged events."""
        self.recorder.go_live()

    @contextmanager
    def redelivering(self) -> Iterator[None]:
        """Deliver again the events emitted inside (a resumed gate that must wait again)."""
        self.recorder.redeliver = True
        try:
            yield
        finally:
            self.recorder.redeliver = False

    async def approval_pending(self, approval_id: str, request: Any) -> None:
        """Index the approval as pending, so that any process sharing the store can answer it."""
        await write_pending(
            self.recorder.kv, self.recorder.tenant, approval_id, request, self.run_id
        )

    async def approval_closed(self, approval_id: str) -> None:
        """Drop the approval from the index of pending approvals."""
        await remove_pending(self.recorder.kv, self.recorder.tenant, approval_id)

    async def decision(self, approval_id: str, local: asyncio.Future[Decision]) -> Decision:
        """Wait for the local answer or one made by another process, with the lease parked.

        Raises:
            asyncio.CancelledError: another worker took the run over meanwhile.
        """
        lease = self.recorder.lease
        if lease is not None:
            await lease.park(approval_id)
        decision = await self._wait(approval_id, local)
        if lease is not None and not await lease.take_back():
            # Losing the lease cancelled this task: the worker that took the run applies it.
            await asyncio.sleep(0)
        return decision

    async def _wait(self, approval_id: str, local: asyncio.Future[Decision]) -> Decision:
        """The answer: the local one, or one in the store (woken by its notification, or
        found by a look every ``poll_secs``, backing off to 8 times that)."""
        kv, tenant = self.recorder.kv, self.recorder.tenant
        delay = self.poll_secs
        while not local.done():
            # Listen first, then look: an answer written in between still wakes the gate.
            signalled = wait_signal(kv, tenant, f"approval:{approval_id}", delay)
            try:
                _, stored = await read_audit(kv, tenant, approval_id)
                if stored is not None and not local.done():
                    return stored
                await asyncio.wait((local, signalled), return_when=asyncio.FIRST_COMPLETED)
            finally:
                signalled.cancel()
            # Quick answers are seen quickly; a long wait costs the store little.
            delay = min(delay * 2, self.poll_secs * _POLL_BACKOFF)
        return local.result()


def _stop(task: asyncio.Task[Any]) -> None:
    """Stop the run's task: its lease was taken by another worker."""
    task.cancel("run taken over by another worker")


def _interrupted(tool: str) -> ToolOutcome:
    return error_outcome(
        f"Interrupted: the run stopped while tool '{tool}' was running; it was not run again, "
        "so whether it took effect is unknown"
    )


class StoreInvocationJournal:
    """The journal of one agent invocation of a durable run, with a cursor on the tool call
    being dispatched."""

    __slots__ = ("_mark", "_record", "_started", "call", "key", "run", "turn")

    def __init__(self, run: StoreRunJournal, key: str, record: InvocationRecord | None) -> None:
        self.run = run
        self.key = key
        self._record = record
        self.turn = 0
        self.call = 0
        self._mark = 0
        self._started = False

    def client(self, inner: ModelClient) -> ModelClient:
        """Wrap the agent's model client so that it replays and records this invocation."""
        return JournaledClient(inner, self)

    def replayed_turn(self, turn: int) -> TurnRecord | None:
        """Return the journaled turn ``turn``, or ``None`` when it is to be played live."""
        return None if self._record is None else self._record.turns.get(turn)

    def child_key(self) -> str:
        """The key of an invocation started by the current tool call."""
        return f"{self.key}/{self.turn}.{self.call}"

    def _entry(self, kind: str, **fields: Any) -> None:
        entry = {"kind": kind, "inv": self.key, "turn": self.turn, **fields}
        self.run.recorder.add(entry)

    # ---- model parts

    def record_part(self, turn: int, part: ModelPart) -> None:
        """Record one live model part of turn ``turn``."""
        self.run.recorder.add(
            {"kind": "part", "inv": self.key, "turn": turn, "part": encode_part(part)}
        )

    # ---- tool calls

    def begin_call(self, turn: int, call: int) -> None:
        """The engine is about to dispatch the ``call``-th tool call (0-based) of turn ``turn``."""
        self.turn = turn
        self.call = call
        self._started = False

    def run_call(
        self, tool: str, sink: EventSink, live: Coroutine[Any, Any, ToolOutcome]
    ) -> Awaitable[ToolOutcome]:
        """Return the journaled outcome of the current call, or run it live and journal it."""
        return self._run_call(tool, sink, live)

    async def _run_call(
        self, tool: str, sink: EventSink, live: Coroutine[Any, Any, ToolOutcome]
    ) -> ToolOutcome:
        replayed = self.replay_call(tool, sink.sequence)
        if replayed is not None:
            # A replayed call runs nothing: what its dispatch emitted before the run stopped
            # was delivered then, so those event numbers are skipped.
            live.close()
            outcome, delivered = replayed
            sink.sequence += delivered
            return outcome
        if self.run.taken_over:  # known lost (a refused write, the heartbeat): run nothing
            live.close()
            raise asyncio.CancelledError(f"run {self.run.run_id} was taken over")
        outcome = await live
        await self.record_outcome(outcome, sink.sequence)
        return outcome

    def replay_call(self, tool: str, sequence: int) -> tuple[ToolOutcome, int] | None:
        """Return the journaled outcome of the current call and how many events to skip.

        ``sequence`` is the sink's sequence number right after the ``call`` event. A Python
        tool that had started without an outcome gives an ``Interrupted`` error result (which
        is journaled, so a later resume gives the same answer). ``None``: dispatch it live.
        """
        self._mark = sequence
        turn = self.replayed_turn(self.turn)
        if turn is None:
            return None
        found = turn.outcomes.get(self.call)
        if found is not None:
            return found
        started = turn.starts.get(self.call)
        if started is None:
            return None
        outcome = _interrupted(tool)
        turn.outcomes[self.call] = (outcome, started)
        self._entry(
            "outcome", call=self.call, content=outcome.content, isError=True, events=started
        )
        return outcome, started

    def run_handler(self, sequence: int, handler: Coroutine[Any, Any, Any]) -> Awaitable[Any]:
        """Write down that a Python tool's handler starts, then run it."""
        return self._run_handler(sequence, handler)

    async def _run_handler(self, sequence: int, handler: Coroutine[Any, Any, Any]) -> Any:
        try:
            await self.record_start(sequence)
        except BaseException:
            handler.close()
            raise
        return await handler

    async def record_start(self, sequence: int) -> None:
        """A Python tool's handler is about to run: write that down first."""
        self._started = True
        self._entry("start", call=self.call, events=sequence - self._mark)
        await self.run.checkpoint()

    async def record_outcome(self, outcome: ToolOutcome, sequence: int) -> None:
        """Record the outcome of the current call (written at once after a Python tool)."""
        self._entry(
            "outcome",
            call=self.call,
            content=json_copy(outcome.content),
            isError=outcome.is_error,
            events=sequence - self._mark,
        )
        if self._started:
            await self.run.checkpoint()

    # ---- approval gates

    def has_gate(self, kind: GateKind) -> bool:
        """Whether the current call opened a ``kind`` gate (``"tool"``, ``"plan"``) before the
        run stopped.

        A resumed gate is taken again whatever a dynamic predicate says now, so the approval
        the host may already have answered is the one that counts.
        """
        return self.recorded_gate(kind) is not None

    def recorded_gate(self, kind: GateKind) -> str | None:
        """Return the journaled approval id of the current call's ``kind`` gate, if any."""
        turn = self.replayed_turn(self.turn)
        return None if turn is None else turn.gates.get(self.call, {}).get(kind)

    def record_gate(self, kind: GateKind, approval_id: str) -> None:
        """A new gate opened: record its approval id (the gate writes it before showing it)."""
        self._entry("gate", call=self.call, gate=kind, approvalId=approval_id)

    # ---- memory

    @property
    def memory_appended(self) -> bool:
        """Whether the journaled run already appended this invocation's turn to memory."""
        return self._record is not None and self._record.memory_appended

    @property
    def writes_memory(self) -> bool:
        """Yes: the memory record goes into the checkpoint noting it (one transaction)."""
        return True

    async def record_memory(self, key: str | None = None, value: Any = None) -> None:
        """The invocation's turn was appended to memory: write the memory record ``key``
        (when given) with the journal entry saying so, in one checkpoint."""
        if key is not None:
            self.run.recorder.add_put(key, value)
        self.run.recorder.add({"kind": "memory", "inv": self.key})
        await self.run.checkpoint()


# --------------------------------------------------------------------------- the client


def _same_part(live: ModelPart, journaled: ModelPart) -> bool:
    if isinstance(live, ModelToolCall) and isinstance(journaled, ModelToolCall):
        return live.name == journaled.name and live.args == journaled.args
    if isinstance(live, ModelText) and isinstance(journaled, ModelText):
        return live.text == journaled.text
    if isinstance(live, ModelReasoning) and isinstance(journaled, ModelReasoning):
        return live.text == journaled.text
    return type(live) is type(journaled) and not isinstance(live, ModelText | ModelReasoning)


class JournaledClient:
    """A model client that replays an invocation's journaled turns, then records live ones."""

    __slots__ = ("_inner", "_journal", "live")

    def __init__(self, inner: ModelClient, journal: StoreInvocationJournal) -> None:
        self._inner = inner
        self._journal = journal
        self.live = inner.live

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Yield the journaled parts of this turn, then whatever is still to come, live."""
        record = self._journal.replayed_turn(request.turn)
        if record is None:
            async for part in self._recorded(self._inner.stream_turn(request), request.turn):
                yield part
            return
        for part in record.parts:
            yield part
        if record.complete:
            return
        if not self.live:
            async for part in self._regenerated(request, record):
                yield part
            return
        yield await self._end_cut_turn(request.turn, record)

    async def _recorded(
        self, parts: AsyncIterator[ModelPart], turn: int
    ) -> AsyncIterator[ModelPart]:
        journal = self._journal
        try:
            async for part in parts:
                journal.record_part(turn, part)
                if isinstance(part, ModelFinish | ModelError):
                    await journal.run.checkpoint()
                yield part
        finally:
            aclose = getattr(parts, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _regenerated(
        self, request: ModelRequest, record: TurnRecord
    ) -> AsyncIterator[ModelPart]:
        """Ask an offline client for the cut turn again; skip what was replayed, keep the rest."""
        expected = record.parts
        skipped = 0
        fresh = False
        parts = self._inner.stream_turn(request)
        try:
            async for part in parts:
                if skipped < len(expected):
                    journaled = expected[skipped]
                    if not _same_part(part, journaled):
                        log.warning(
                            "resumed agent '%s' turn %d: the model client did not repeat the "
                            "journaled turn (got %s, journaled %s); the turn ends here",
                            request.agent,
                            request.turn,
                            type(part).__name__,
                            type(journaled).__name__,
                        )
                        break
                    if isinstance(part, ModelToolCall) and isinstance(journaled, ModelToolCall):
                        outcome = request.tool_results.get(journaled.id)
                        if outcome is not None:
                            request.tool_results[part.id] = outcome
                    skipped += 1
                    continue
                fresh = True
                self._journal.record_part(request.turn, part)
                if isinstance(part, ModelFinish | ModelError):
                    await self._journal.run.checkpoint()
                yield part
                if isinstance(part, ModelFinish | ModelError):
                    return
        finally:
            aclose = getattr(parts, "aclose", None)
            if aclose is not None:
                await aclose()
        if not fresh:
            # Nothing new came (a mismatch, or the client had nothing more): end it here. A
            # client that stops without a finish after new parts is reported by the turn loop.
            yield await self._end_cut_turn(request.turn, record)

    async def _end_cut_turn(self, turn: int, record: TurnRecord) -> ModelPart:
        """Finish a cut turn after its last journaled part; the model continues in a new turn."""
        called = any(isinstance(p, ModelToolCall) for p in record.parts)
        finish = ModelFinish("tool-calls" if called else "stop")
        self._journal.record_part(turn, finish)
        await self._journal.run.checkpoint()
        return finish
