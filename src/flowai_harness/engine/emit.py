"""Where every event of a run goes: the run's :class:`EventSink`.

Everything the engine reports (turns, tool calls, approvals, plan moves, errors) goes through
one method, :meth:`EventSink.emit`. It numbers the event, turns it into its public dict form,
lets a durable run's recorder see it (``tap``), and queues it for the stream's consumer.

**Committed before seen.** A durable run's recorder makes the sink *hold* its events
(:meth:`EventSink.hold`): an event waits in the sink until the checkpoint that logs it has
committed (:meth:`EventSink.release`), so a consumer never sees an event the store could
lose, and a resumed run never re-issues a number the consumer saw with other content. An
in-memory run never holds: its events are queued at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from flowai_harness.events import RuntimeEvent

__all__ = ["EventSink"]


class EventSink:
    """The request channel: a bounded buffer with back-pressure, numbering every event.

    A full buffer makes the producer wait (a slow consumer slows the run); nothing is dropped.
    Events enter as their public dict form; ``to_dict`` copies the JSON they share with user
    code (tool arguments and results, plans), so neither side can change what the other saw.
    A lean hand-written channel rather than ``asyncio.Queue``: one reader, one writer, and this
    sits on the hot path of every event.

    ``tap`` (set by a durable run's recorder) sees every numbered event dict before it is
    queued and returns whether to deliver it: a resumed run does not deliver again what the
    first stream already delivered. ``suspended`` marks a sink whose consumer dropped the stream
    without cancelling it: a durable run then stays resumable instead of being cancelled.
    """

    __slots__ = (
        "_capacity",
        "_committed",
        "_ended",
        "_getter",
        "_held",
        "_items",
        "_putters",
        "closed",
        "sequence",
        "suspended",
        "tap",
    )

    def __init__(self, capacity: int) -> None:
        self._capacity = max(1, capacity)
        self._items: deque[dict[str, Any]] = deque()
        #: events waiting for their checkpoint to commit (``None``: nothing is held)
        self._held: deque[dict[str, Any]] | None = None
        #: events numbered up to this are committed (never held)
        self._committed = 0
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()
        self._ended = False
        self.sequence = 0
        self.closed = False
        self.suspended = False
        self.tap: Callable[[dict[str, Any]], bool] | None = None

    async def emit(self, event: RuntimeEvent) -> None:
        """Queue ``event``, waiting while the consumer is behind.

        Raises:
            ConnectionError: the consumer is gone (the stream was cancelled or dropped).
        """
        if self.closed:
            raise ConnectionError("event sink closed")
        self.sequence += 1
        # The stream hands on plain dicts; their shape is the event's TypedDict (event_dicts).
        wire = cast("dict[str, Any]", event.to_dict(self.sequence))
        tap = self.tap
        if tap is not None and not tap(wire):
            return
        held = self._held
        if held is not None and wire["sequence"] > self._committed:
            while len(self._items) + len(held) >= self._capacity:
                await self._wait_for_room()
            held.append(wire)
            return
        while len(self._items) >= self._capacity:
            waiter = asyncio.get_running_loop().create_future()
            self._putters.append(waiter)
            await waiter
            if self.closed:
                raise ConnectionError("event sink closed")
        self._items.append(wire)
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)

    async def _wait_for_room(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._putters.append(waiter)
        await waiter
        if self.closed:
            raise ConnectionError("event sink closed")

    def hold(self, committed_through: int = 0) -> None:
        """Hold every event numbered above ``committed_through`` until :meth:`release` says
        it is committed."""
        if self._held is None:
            self._held = deque()
        self._committed = max(self._committed, committed_through)

    def release(self, through: int) -> None:
        """Queue the held events numbered up to ``through`` (their checkpoint committed)."""
        self._committed = max(self._committed, through)
        held = self._held
        if not held:
            return
        released = False
        while held and held[0]["sequence"] <= through:
            self._items.append(held.popleft())
            released = True
        if released:
            getter, self._getter = self._getter, None
            if getter is not None and not getter.done():
                getter.set_result(None)

    def stop_holding(self, *, drop: bool) -> None:
        """Stop holding: queue what is held (or ``drop`` it: it will never be committed)."""
        held, self._held = self._held, None
        if held and not drop:
            self._items.extend(held)
            getter, self._getter = self._getter, None
            if getter is not None and not getter.done():
                getter.set_result(None)

    async def get(self) -> dict[str, Any] | None:
        """Return the next event, or ``None`` once the run has ended and all were read."""
        while not self._items:
            if self._ended:
                return None
            getter = asyncio.get_running_loop().create_future()
            self._getter = getter
            try:
                await getter
            finally:
                if self._getter is getter:
                    self._getter = None
        item = self._items.popleft()
        while self._putters:
            putter = self._putters.popleft()
            if not putter.done():
                putter.set_result(None)
                break
        return item

    def end(self) -> None:
        """Mark the end of the run; the reader gets ``None`` after the remaining events.

        Events still held (their checkpoint could not be written: the store failed) are
        queued now rather than lost to the consumer.
        """
        if self._held:
            self.stop_holding(drop=False)
        self.closed = True
        self._ended = True
        self._wake_all()

    def abandon(self, *, suspend: bool = False) -> None:
        """Drop unread events and end now (the consumer cancelled or went away).

        Args:
            suspend: The consumer dropped the stream without cancelling it (see ``suspended``).
        """
        self.suspended = suspend
        self._items.clear()
        self._held = None
        self.end()

    def _wake_all(self) -> None:
        getter, self._getter = self._getter, None
        if getter is not None and not getter.done():
            getter.set_result(None)
        while self._putters:
            putter = self._putters.popleft()
            if not putter.done():
                putter.set_result(None)
