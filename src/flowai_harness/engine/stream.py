"""The event stream returned by ``Runtime.query`` and ``Runtime.run_specialist``.

The run starts lazily on the first ``__anext__`` as a background task that writes events (as
dict snapshots, see ``EventSink``) into a bounded queue; a slow consumer makes the run wait,
nothing is dropped. ``cancel()``,
``aclose()`` or simply dropping the stream stops the run and its tools, and the consumer's
``async for`` ends quietly.

``cancel()`` and ``aclose()`` end the run for good. Dropping a started stream without
cancelling it (the consumer went away) *suspends* it instead: with the in-memory store that is
the same as cancelling, but a durable run stays in the store as it was (its pending approval
included), to be resumed later with ``Runtime.resume_run`` or ``query(..., resume=run_id)``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from flowai_harness.engine.emit import EventSink
from flowai_harness.engine.user_code import describe_failure, is_user_failure
from flowai_harness.errors import RunError, SpecTypeError

__all__ = ["RuntimeEventStream"]

_NOT_ITERABLE = (
    "the event stream is asynchronous: a plain `for` cannot read it; write "
    "`async for event in runtime.query(...)` inside an `async def` function and run that with "
    "asyncio.run(...)"
)

RunBody = Callable[[EventSink], Awaitable[None]]


class RuntimeEventStream:
    """An async iterator of event dicts for one request (single use)."""

    __slots__ = (
        "__weakref__",
        "_body",
        "_capacity",
        "_done",
        "_finalizer",
        "_hooks",
        "_run_id",
        "_sink",
        "_task",
    )

    def __init__(
        self,
        body: RunBody,
        hooks: Sequence[Callable[[dict[str, Any]], Any]] = (),
        *,
        capacity: int = 256,
        run_id: str | None = None,
    ) -> None:
        self._body: RunBody | None = body
        self._run_id = run_id
        self._hooks = tuple(hooks)
        self._sink: EventSink | None = None
        self._task: asyncio.Task[None] | None = None
        self._done = False
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._capacity = capacity

    @property
    def run_id(self) -> str | None:
        """The id of this stream's run (known before iteration); ``None`` for a stream that only
        reports a pre-flight error (no run was started)."""
        return self._run_id

    def __aiter__(self) -> RuntimeEventStream:
        return self

    if not TYPE_CHECKING:  # type checkers keep flagging a plain ``for`` themselves

        def __iter__(self) -> NoReturn:
            raise SpecTypeError(_NOT_ITERABLE)

    async def __anext__(self) -> dict[str, Any]:
        if self._done:
            raise StopAsyncIteration
        if self._task is None:
            self._start()
        assert self._sink is not None
        event = await self._sink.get()
        if event is None:
            self._finish()
            raise StopAsyncIteration
        for hook in self._hooks:
            try:
                hook(event)
            except Exception:
                raise  # the contract: a hook's exception comes out of ``__anext__`` as it is
            except BaseException as exc:
                if not is_user_failure(exc):
                    raise
                # SystemExit, KeyboardInterrupt or a stray CancelledError would end the
                # consumer's task (or the process) instead of reporting the faulty hook.
                raise RunError(
                    f"event hook {getattr(hook, '__qualname__', repr(hook))} raised "
                    f"{describe_failure(exc)}"
                ) from exc
        return event

    def _start(self) -> None:
        body = self._body
        assert body is not None
        self._body = None
        sink = EventSink(self._capacity)
        self._sink = sink
        task = asyncio.get_running_loop().create_task(_run_body(body, sink))
        self._task = task
        self._finalizer = weakref.finalize(self, _abandon, task, sink, True)
        # At interpreter exit the loop is gone; asyncio.run has already cancelled the task.
        self._finalizer.atexit = False

    def cancel(self) -> None:
        """Stop the run now: running tools are cancelled, pending approvals expire."""
        if self._done:
            return
        self._body = None
        self._finish()
        if self._sink is not None:
            _abandon(self._task, self._sink)

    async def aclose(self) -> None:
        """Cancel the run and wait until it has stopped."""
        task = self._task
        self.cancel()
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    def _finish(self) -> None:
        self._done = True
        if self._finalizer is not None:
            self._finalizer.detach()


async def _run_body(body: RunBody, sink: EventSink) -> None:
    try:
        await body(sink)
    except ConnectionError:
        # The consumer left (cancel or abandon) while the run was emitting; that is how a
        # run learns it should stop, not a failure worth a "Task exception" log.
        if not sink.closed:
            raise
    finally:
        # Never waits: a run cancelled from outside (loop shutdown) must end now.
        sink.end()


def _abandon(task: asyncio.Task[None] | None, sink: EventSink, suspend: bool = False) -> None:
    """Cancel an abandoned run and unblock any reader; ``suspend``: the stream was dropped."""
    # The flag is set before the task learns of the cancellation, so the run sees it.
    sink.abandon(suspend=suspend)
    if task is not None and not task.done():
        task.cancel()
