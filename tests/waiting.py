"""Waiting in tests: poll a condition until it holds or a deadline passes, never a bare sleep.

A test that needs something to have happened waits for it here; when the deadline passes the
test fails with a message naming what never happened, instead of passing (or failing) by luck.
To check that something does *not* happen, first wait for a positive sign that the system has
reached the state where it would have happened (the run is parked on a full buffer, a witness
key with the same TTL has expired), then assert.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_TIMEOUT",
    "other_tasks",
    "wait_for_other_tasks",
    "wait_until",
    "wait_until_sync",
]

T = TypeVar("T")

#: Generous on purpose: a loaded CI machine (two cores shared by xdist workers) is slow, and a
#: condition that holds returns at once anyway.
DEFAULT_TIMEOUT = 10.0
_INTERVAL = 0.005

Message = str | Callable[[], str] | None


async def wait_until(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = _INTERVAL,
    message: Message = None,
) -> T:
    """Yield to the event loop until ``predicate()`` is truthy; return that value.

    ``predicate`` may be a coroutine function (a store read); its result is awaited.

    Raises:
        AssertionError: the predicate was still falsy after ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(_timed_out(predicate, timeout, message))
        await asyncio.sleep(interval)


def wait_until_sync(
    predicate: Callable[[], T],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = _INTERVAL,
    message: Message = None,
) -> T:
    """Block the calling thread until ``predicate()`` is truthy; return that value.

    The sync twin of :func:`wait_until`, for threads, subprocesses and servers.

    Raises:
        AssertionError: the predicate was still falsy after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(_timed_out(predicate, timeout, message))
        time.sleep(interval)
    return value


def other_tasks() -> list[asyncio.Task[Any]]:
    """The unfinished tasks of the running loop other than the calling one."""
    current = asyncio.current_task()
    return [task for task in asyncio.all_tasks() if task is not current]


async def wait_for_other_tasks(*, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Wait until the calling task is the only one left on the loop (runs and tools ended).

    Raises:
        AssertionError: other tasks were still running after ``timeout`` seconds (named).
    """
    await wait_until(
        lambda: not other_tasks(),
        timeout=timeout,
        message=lambda: f"tasks still running: {other_tasks()}",
    )


def _timed_out(predicate: Callable[[], object], timeout: float, message: Message) -> str:
    if callable(message):
        message = message()
    what = message or getattr(predicate, "__qualname__", repr(predicate))
    return f"condition not met within {timeout:g}s: {what}"
