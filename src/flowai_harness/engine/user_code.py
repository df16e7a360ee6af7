"""What the engine does with whatever user code raises.

User code (tool handlers, approval predicates, the action dispatcher, glimpse callbacks, model
clients passed as ``interpreter=``, event hooks) may raise anything, not only ``Exception``:

* ``SystemExit`` and ``KeyboardInterrupt`` raised on a worker thread (sync tools) travel back to
  the awaiting coroutine; left alone they end the event loop and so the host process. Raised
  by user code, they are failures of that code like any other.
* ``asyncio.CancelledError`` is how asyncio stops a task. User code can raise it without anyone
  cancelling the run (an inner task it cancelled, a stray ``raise``). Only when the task running
  the run has really been asked to stop (``Task.cancelling()``) is it a cancellation; otherwise
  it is a failure of the user code, reported like the others.

``GeneratorExit`` is deliberately not caught: it is thrown into a coroutine that is being
closed, which must not go on running.
"""

from __future__ import annotations

import asyncio

__all__ = ["describe_failure", "is_user_failure", "run_is_cancelled"]


def run_is_cancelled() -> bool:
    """Whether the task running this code has been asked to stop (a real cancellation)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def is_user_failure(exc: BaseException) -> bool:
    """Whether ``exc``, raised by user code, is its failure rather than the run's cancellation.

    Everything is a failure of the user code except ``GeneratorExit`` and a ``CancelledError``
    while the running task is being cancelled. Call it from an ``except BaseException`` clause
    on the task that awaited the user code.
    """
    if isinstance(exc, asyncio.CancelledError):
        return not run_is_cancelled()
    return not isinstance(exc, GeneratorExit)


def describe_failure(exc: BaseException) -> str:
    """``"<ExceptionType>: <message>"`` (the bare type name for an empty message), with a note
    for a ``CancelledError`` nobody asked for."""
    if isinstance(exc, asyncio.CancelledError):
        detail = str(exc)
        why = "raised by user code while the run was not cancelled"
        return f"CancelledError: {detail} ({why})" if detail else f"CancelledError ({why})"
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
