"""The durability seam: what the turn loop, tool dispatch and approval gates tell a run's journal.

The engine's algorithm is written once, as the live algorithm, and calls its run's journal at
fixed points: when an agent invocation starts, for the model client of each turn, before each
tool call, around a Python tool's handler, at each approval gate, and after conversation memory
is appended. What the journal does there is its own business:

* :class:`NullJournal` (runs on the in-memory store, eval samples, MCP calls) does nothing: the
  model is asked, tools run, gates wait for the local answer;
* :class:`InProcessJournal` does nothing either, and at the end of the run stamps its record
  (kept in process, see :mod:`flowai_harness.engine.runbooks`);
* the store-backed journal of a durable run (:mod:`flowai_harness.engine.durable_journal`)
  records what the run does, replays it when the run is resumed in another process, and
  watches the store for approval decisions made elsewhere.

The seam has two levels: :class:`RunJournal` for the run (status, checkpoints, the event log,
gates) and :class:`InvocationJournal` for one agent invocation (its turns and tool calls).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal, Protocol

from flowai_harness.engine.approvals import Decision
from flowai_harness.engine.emit import EventSink
from flowai_harness.engine.runlog import RunRecord, RunStatus
from flowai_harness.ports import ModelClient, ToolOutcome

__all__ = [
    "NULL_INVOCATION",
    "NULL_JOURNAL",
    "ROOT_INVOCATION",
    "GateKind",
    "InProcessJournal",
    "InvocationJournal",
    "NullInvocation",
    "NullJournal",
    "RunJournal",
]

#: the journal key of a run's entry invocation
ROOT_INVOCATION = "0"

GateKind = Literal["tool", "plan"]


class InvocationJournal(Protocol):
    """The journal of one agent invocation, with a cursor on the tool call being dispatched."""

    @property
    def memory_appended(self) -> bool:
        """Whether this invocation's turn is already in conversation memory (a resumed run)."""
        ...

    def client(self, inner: ModelClient) -> ModelClient:
        """The model client to ask for the next turn (``inner``, or one that replays)."""
        ...

    def child_key(self) -> str:
        """The journal key of an agent invocation started by the current tool call."""
        ...

    def begin_call(self, turn: int, call: int) -> None:
        """The ``call``-th tool call (0-based) of turn ``turn`` is about to be dispatched."""
        ...

    def run_call(
        self, tool: str, sink: EventSink, live: Coroutine[Any, Any, ToolOutcome]
    ) -> Awaitable[ToolOutcome]:
        """The current call's outcome: ``live`` (the dispatch, not started yet), or what a
        resumed run had (``live`` is then closed without running)."""
        ...

    def run_handler(self, sequence: int, handler: Coroutine[Any, Any, Any]) -> Awaitable[Any]:
        """A Python tool's ``handler`` call, not started yet (``sequence``: the sink's event
        count); a durable journal writes down that it starts before it runs."""
        ...

    def has_gate(self, kind: GateKind) -> bool:
        """Whether the current call had opened a ``kind`` gate before the run stopped."""
        ...

    def recorded_gate(self, kind: GateKind) -> str | None:
        """The approval id of the gate the current call had opened, if any."""
        ...

    def record_gate(self, kind: GateKind, approval_id: str) -> None:
        """The current call opened a new ``kind`` gate."""
        ...

    @property
    def writes_memory(self) -> bool:
        """Whether :meth:`record_memory` takes the memory record and writes it itself."""
        ...

    async def record_memory(self, key: str | None = None, value: Any = None) -> None:
        """This invocation's turn was appended to conversation memory; a journal that
        :attr:`writes_memory` is given the memory record (``key``, ``value``) and writes it
        in the same transaction as this note."""
        ...


class RunJournal(Protocol):
    """The journal of one run: its status, its event log and its approval gates."""

    @property
    def suspended(self) -> bool:
        """Whether the run's stream was dropped and the run is to stay resumable as it is."""
        ...

    @property
    def taken_over(self) -> bool:
        """Whether another worker took the run over (its lease): this one must stop it."""
        ...

    @property
    def lease_epoch(self) -> int:
        """The fencing epoch of the run's lease as held by this worker (0: no lease)."""
        ...

    def invocation(self, key: str) -> InvocationJournal:
        """The journal of the agent invocation at position ``key`` of the run."""
        ...

    async def start(self, sink: EventSink) -> None:
        """The run starts emitting on ``sink``."""
        ...

    async def finish(self, status: RunStatus) -> None:
        """The run ended with ``status``."""
        ...

    async def set_status(self, status: RunStatus) -> None:
        """The run moved to ``status`` (``waiting_approval`` at a gate, then ``running``)."""
        ...

    async def checkpoint(self, *, record: bool = False) -> None:
        """A point the run can be resumed from: make what happened so far last."""
        ...

    def go_live(self) -> None:
        """What comes next is new history, not a replay of what a resumed run had done."""
        ...

    def redelivering(self) -> AbstractContextManager[None]:
        """Events emitted inside are shown to the consumer even if they replay logged ones."""
        ...

    async def approval_pending(self, approval_id: str, request: Any) -> None:
        """The gate of ``approval_id`` (``request`` in wire form) waits for a decision."""
        ...

    async def approval_closed(self, approval_id: str) -> None:
        """The gate of ``approval_id`` no longer waits."""
        ...

    async def decision(self, approval_id: str, local: asyncio.Future[Decision]) -> Decision:
        """Wait for the decision on ``approval_id``: the ``local`` answer of this process, or
        one recorded elsewhere."""
        ...


class NullInvocation:
    """An invocation journal that records nothing and replays nothing."""

    __slots__ = ()

    @property
    def memory_appended(self) -> bool:
        """Never: the turn is appended live."""
        return False

    def client(self, inner: ModelClient) -> ModelClient:
        """``inner`` itself."""
        return inner

    def child_key(self) -> str:
        """An empty key: nothing is journaled under it."""
        return ""

    def begin_call(self, turn: int, call: int) -> None:
        """Nothing to note."""

    def run_call(
        self, tool: str, sink: EventSink, live: Coroutine[Any, Any, ToolOutcome]
    ) -> Awaitable[ToolOutcome]:
        """The call, run live."""
        return live

    def run_handler(self, sequence: int, handler: Coroutine[Any, Any, Any]) -> Awaitable[Any]:
        """The handler call itself."""
        return handler

    def has_gate(self, kind: GateKind) -> bool:
        """Never: no gate was opened before."""
        return False

    def recorded_gate(self, kind: GateKind) -> str | None:
        """None: no gate was opened before."""
        return None

    def record_gate(self, kind: GateKind, approval_id: str) -> None:
        """Nothing to record."""

    @property
    def writes_memory(self) -> bool:
        """No: the caller puts the memory record."""
        return False

    async def record_memory(self, key: str | None = None, value: Any = None) -> None:
        """Nothing to record."""


NULL_INVOCATION = NullInvocation()


class NullJournal:
    """A run journal that does nothing: the run is live from start to end, in this process."""

    __slots__ = ()

    @property
    def suspended(self) -> bool:
        """Never: a dropped stream cancels the run."""
        return False

    @property
    def taken_over(self) -> bool:
        """Never: the run has no lease."""
        return False

    @property
    def lease_epoch(self) -> int:
        """0: the run has no lease."""
        return 0

    def invocation(self, key: str) -> InvocationJournal:
        """The invocation journal that does nothing."""
        return NULL_INVOCATION

    async def start(self, sink: EventSink) -> None:
        """Nothing to write."""

    async def finish(self, status: RunStatus) -> None:
        """Nothing to write."""

    async def set_status(self, status: RunStatus) -> None:
        """Nothing to write."""

    async def checkpoint(self, *, record: bool = False) -> None:
        """Nothing to write."""

    def go_live(self) -> None:
        """The run is always live."""

    def redelivering(self) -> AbstractContextManager[None]:
        """Every event is delivered anyway."""
        return nullcontext()

    async def approval_pending(self, approval_id: str, request: Any) -> None:
        """Only this process can answer: nothing to index."""

    async def approval_closed(self, approval_id: str) -> None:
        """Nothing was indexed."""

    async def decision(self, approval_id: str, local: asyncio.Future[Decision]) -> Decision:
        """The local answer."""
        return await local


NULL_JOURNAL = NullJournal()


class InProcessJournal(NullJournal):
    """A run kept in process: nothing is journaled; its record is stamped when it ends."""

    __slots__ = ("_record", "_sink")

    def __init__(self, record: RunRecord) -> None:
        self._record = record
        self._sink: EventSink | None = None

    async def start(self, sink: EventSink) -> None:
        """Remember the sink, whose count is the run's last sequence number at the end."""
        self._sink = sink

    async def finish(self, status: RunStatus) -> None:
        """Stamp the record with its final status and last sequence number."""
        self._record.end(status, self._sink.sequence if self._sink is not None else 0)
