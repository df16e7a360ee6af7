"""Runs that execute in the background of the Studio server, and who is watching them.

A chat or eval run is driven by its own task (a :class:`LiveRun`), not by the HTTP response
that started it: the run records every event in the store and fans the events out to its
subscribers. The browser that started the run holds a *lossless* subscription (a slow reader
slows the run, nothing is dropped); when it goes away a chat run goes on (only the cancel route
stops it) while an eval stream's run stops with its client. Other viewers
(``GET .../runs/{id}/stream``) hold *lagging-tolerant* subscriptions: one that falls too far
behind is closed, and the viewer reconnects with ``Last-Event-ID`` to replay the gap from the
store. Nothing is ever lost from the record.

The :class:`RunRegistry` is owned by one Studio app instance (no module-level state).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Frame", "LiveRun", "RunRegistry", "Subscription"]

logger = logging.getLogger("flowai_harness.studio")

_QUEUE_SIZE: Final = 256
_END: Final = object()


@dataclass(frozen=True, slots=True)
class Frame:
    """One server-sent event: ``id`` (the Studio seq, if any), ``event`` name and ``data``."""

    event: str
    data: dict[str, Any]
    id: int | None = None


class Subscription:
    """The frames of one live run as one viewer receives them (an async iterator)."""

    def __init__(self, run: LiveRun, *, lossless: bool) -> None:
        self._run = run
        self.lossless = lossless
        self._queue: asyncio.Queue[Any] = asyncio.Queue(_QUEUE_SIZE)
        self.closed = False
        self.lagged = False

    async def deliver(self, frame: Frame) -> None:
        if self.closed:
            return
        if self.lossless:
            await self._queue.put(frame)
            return
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            # A slow viewer loses its live feed, never the record: it reconnects and replays.
            self.lagged = True
            self._end()

    def _end(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
        self._queue.put_nowait(_END)

    def finish(self) -> None:
        """The run ended: the iterator stops after the frames already queued."""
        if self.closed:
            return
        try:
            self._queue.put_nowait(_END)
        except asyncio.QueueFull:
            self._end_after_pending()

    def _end_after_pending(self) -> None:
        async def put_end() -> None:
            await self._queue.put(_END)

        task = asyncio.get_running_loop().create_task(put_end())
        self._run.keep(task)

    def close(self) -> None:
        """Stop receiving (never blocks; unblocks a run waiting to deliver to this viewer)."""
        if self.closed:
            return
        self.closed = True
        self._run.unsubscribe(self)
        self._end()

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            yield item


RunBody = Callable[["LiveRun"], Awaitable[None]]


class LiveRun:
    """One run driven by a background task; see the module doc.

    Args:
        workspace_key: The workspace the run belongs to.
        run_id: The Studio run id.
        kind: ``chat`` or ``eval``.
        thread_id: The Studio thread the run records under.
    """

    def __init__(
        self, workspace_key: str, run_id: str, kind: str, thread_id: str | None = None
    ) -> None:
        self.workspace_key = workspace_key
        self.run_id = run_id
        self.kind = kind
        self.thread_id = thread_id
        self._subscribers: list[Subscription] = []
        self._task: asyncio.Task[None] | None = None
        self._extra: set[asyncio.Task[Any]] = set()
        self._cancel_hooks: list[Callable[[str], None]] = []
        self.cancel_reason: str | None = None
        self.done = asyncio.Event()
        self.last_seq = 0

    @property
    def cancel_requested(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self.cancel_reason is not None

    def subscribe(self, *, lossless: bool = False) -> Subscription:
        """Add a viewer; call before :meth:`start` to see every frame."""
        subscription = Subscription(self, lossless=lossless)
        if self.done.is_set():
            subscription.finish()
        else:
            self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a viewer (its iterator ends)."""
        with contextlib.suppress(ValueError):
            self._subscribers.remove(subscription)

    async def publish(self, frame: Frame) -> None:
        """Send a frame to every viewer (waits for lossless viewers with a full queue)."""
        if frame.id is not None:
            self.last_seq = frame.id
        for subscription in list(self._subscribers):
            await subscription.deliver(frame)

    def on_cancel(self, hook: Callable[[str], None]) -> None:
        """Call ``hook(reason)`` when the run is cancelled (stops the runtime stream)."""
        self._cancel_hooks.append(hook)

    def cancel(self, reason: str) -> bool:
        """Ask the run to stop; return whether it was still running."""
        if self.done.is_set() or self.cancel_requested:
            return False
        self.cancel_reason = reason
        for hook in self._cancel_hooks:
            try:
                hook(reason)
            except Exception:  # a failing hook must not keep the others from running
                logger.exception("cancel hook of run %s failed", self.run_id)
        return True

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Hold a reference to a helper task until it ends."""
        self._extra.add(task)
        task.add_done_callback(self._extra.discard)

    def start(self, body: RunBody, on_done: Callable[[LiveRun], None] | None = None) -> None:
        """Run ``body(self)`` in a background task."""

        async def drive() -> None:
            try:
                await body(self)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Studio run %s failed", self.run_id)
            finally:
                self.done.set()
                for subscription in list(self._subscribers):
                    subscription.finish()
                self._subscribers.clear()
                if on_done is not None:
                    on_done(self)

        self._task = asyncio.get_running_loop().create_task(drive())

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; return whether it did within ``timeout``."""
        try:
            await asyncio.wait_for(self.done.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def abort(self) -> None:
        """Cancel the driving task outright (server shutdown after a grace period)."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class RunRegistry:
    """The live runs of one Studio server, by workspace and run id."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str], LiveRun] = {}

    def get(self, workspace_key: str, run_id: str) -> LiveRun | None:
        """Return the live run, or ``None`` when it is not running here."""
        return self._runs.get((workspace_key, run_id))

    def running(self, workspace_key: str, run_id: str) -> bool:
        """Whether the run is live in this server."""
        run = self.get(workspace_key, run_id)
        return run is not None and not run.done.is_set()

    def for_thread(self, workspace_key: str, thread_id: str) -> list[LiveRun]:
        """The live runs recording under a thread."""
        return [
            run
            for (key, _), run in self._runs.items()
            if key == workspace_key and run.thread_id == thread_id and not run.done.is_set()
        ]

    def start(self, run: LiveRun, body: RunBody) -> LiveRun:
        """Register ``run`` and start ``body``; it leaves the registry when it ends.

        Raises:
            ValueError: A run with that id is already live in the workspace.
        """
        key = (run.workspace_key, run.run_id)
        existing = self._runs.get(key)
        if existing is not None and not existing.done.is_set():
            raise ValueError(f"run {run.run_id!r} is already running")
        self._runs[key] = run

        def forget(finished: LiveRun) -> None:
            if self._runs.get(key) is finished:
                del self._runs[key]

        run.start(body, forget)
        return run

    async def shutdown(self, grace_secs: float = 5.0) -> None:
        """Cancel every live run, wait up to ``grace_secs`` for them to record it, then abort."""
        runs = list(self._runs.values())
        for run in runs:
            run.cancel("server shutting down")
        for run in runs:
            if not await run.wait(grace_secs):
                await run.abort()
