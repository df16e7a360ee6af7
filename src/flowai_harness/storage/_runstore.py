"""Pieces shared by the ``RunStore`` side of every store: argument checks and in-process signals.

* :func:`prepare_batch`, :func:`check_scan` and :func:`check_delete_prefix` give every backend
  the same checks and error messages for ``write_batch``, ``scan`` and ``delete_prefix``.
* :class:`Channels` wakes the waiters of this process: ``wait_notify`` registers a waiter at
  call time, and ``notify`` (or a committed ``write_batch``) wakes it, from any thread or loop.
  Backends add their own cross-process transport on top (Postgres ``LISTEN``, Redis pub/sub,
  SQLite a notification table polled through ``PRAGMA data_version``).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.storage._backend import decode_value, encode_value, json_equal

__all__ = [
    "Batch",
    "Channels",
    "check_delete_prefix",
    "check_scan",
    "guard_holds",
    "prepare_batch",
    "where_matches",
]

#: fields whose top-level string value Postgres and SQLite index for ``scan(where=...)``
INDEXED_FIELDS = ("threadId", "status")


@dataclass(frozen=True, slots=True)
class Batch:
    """A checked ``write_batch``: encoded puts (last value per key wins), deletes, guard."""

    puts: dict[str, bytes]
    deletes: tuple[str, ...]
    guard: tuple[str, Any] | None
    notify: tuple[str, ...]


def prepare_batch(
    tenant: str,
    puts: Sequence[tuple[str, Any]],
    deletes: Sequence[str],
    guard: tuple[str, Any] | None,
    notify: Sequence[str],
) -> Batch:
    """Check and encode the arguments of ``write_batch``.

    Raises:
        SpecTypeError: a key or channel is not a string, or a value is not JSON.
        SpecValueError: a key is both put and deleted, or the guard is not a ``(key, value)``
            pair.
    """
    encoded: dict[str, bytes] = {}
    for item in puts:
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise SpecTypeError(
                f"write_batch puts must be (key, value) pairs; got {type(item).__name__}"
            )
        key, value = item
        _check_key(key, "put key")
        encoded[key] = encode_value(value, tenant, key)
    for key in deletes:
        _check_key(key, "delete key")
    both = sorted(set(encoded) & set(deletes))
    if both:
        raise SpecValueError(
            f"write_batch cannot both put and delete the key(s) {', '.join(both)}; keep one"
        )
    checked_guard: tuple[str, Any] | None = None
    if guard is not None:
        if not isinstance(guard, tuple | list) or len(guard) != 2:
            raise SpecValueError(
                f"write_batch guard must be a (key, expected value) pair or None; got {guard!r:.80}"
            )
        _check_key(guard[0], "guard key")
        raw = encode_value(guard[1], tenant, guard[0])
        checked_guard = (guard[0], orjson.loads(raw))
    for channel in notify:
        _check_key(channel, "notify channel")
    return Batch(encoded, tuple(dict.fromkeys(deletes)), checked_guard, tuple(notify))


def guard_holds(current: bytes | str | None, expected: Any, tenant: str, store: str) -> bool:
    """Say whether the live value ``current`` (raw JSON, ``None`` = absent) matches ``expected``."""
    found = None if current is None else decode_value(current, tenant, "<guard>", store)
    return json_equal(found, expected)


def check_scan(
    prefix: object, start_after: object, limit: object, where: Mapping[str, str] | None
) -> dict[str, str]:
    """Check the arguments of ``scan``; return ``where`` as a plain dict (empty when unset).

    Raises:
        SpecTypeError: a wrong type.
        SpecValueError: a negative ``limit``.
    """
    _check_key(prefix, "scan prefix")
    if start_after is not None:
        _check_key(start_after, "scan start_after")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise SpecTypeError(f"scan limit must be an int or None; got {type(limit).__name__}")
    if isinstance(limit, int) and limit < 0:
        raise SpecValueError(f"scan limit must be >= 0; got {limit}")
    fields: dict[str, str] = {}
    for name, wanted in (where or {}).items():
        if not isinstance(name, str) or not isinstance(wanted, str):
            raise SpecTypeError(
                "scan where must map field names to strings; "
                f"got {name!r:.40}: {type(wanted).__name__}"
            )
        fields[name] = wanted
    return fields


def where_matches(value: Any, where: Mapping[str, str]) -> bool:
    """Say whether ``value`` is an object whose top-level fields equal every ``where`` string."""
    if not where:
        return True
    return isinstance(value, dict) and all(value.get(k) == v for k, v in where.items())


def check_delete_prefix(prefix: object, updated_before_ms: object) -> None:
    """Check the arguments of ``delete_prefix``.

    Raises:
        SpecTypeError: a wrong type.
        SpecValueError: an empty prefix without ``updated_before_ms`` (it would empty the
            tenant).
    """
    _check_key(prefix, "delete_prefix prefix")
    if updated_before_ms is not None and (
        isinstance(updated_before_ms, bool) or not isinstance(updated_before_ms, int)
    ):
        raise SpecTypeError(
            "delete_prefix updated_before_ms must be an int (epoch ms) or None; "
            f"got {type(updated_before_ms).__name__}"
        )
    if prefix == "" and updated_before_ms is None:
        raise SpecValueError(
            "delete_prefix with an empty prefix would delete every key of the tenant; "
            "pass a prefix or updated_before_ms"
        )


def _check_key(key: object, what: str) -> None:
    if not isinstance(key, str):
        raise SpecTypeError(f"{what} must be a string; got {type(key).__name__}")


class _Waiter:
    __slots__ = ("__weakref__", "future", "loop")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[bool] = self.loop.create_future()


def _wake(future: asyncio.Future[bool]) -> None:
    if not future.done():
        future.set_result(True)


class Channels:
    """The waiters of this process, per ``(tenant, channel)``; safe from any thread and loop.

    A waiter is one-shot: the first signal after it registered wakes it, and it is forgotten.
    Waiters are held weakly: one whose wait is dropped unawaited (a task cancelled before it
    started) goes away with it.
    """

    def __init__(self) -> None:
        self._waiters: dict[tuple[str, str], weakref.WeakSet[_Waiter]] = {}
        self._mutex = threading.Lock()

    def register(self, tenant: str, channel: str) -> tuple[tuple[str, str], _Waiter]:
        """Register a waiter of the running loop; the caller awaits it with :meth:`wait`."""
        _check_key(channel, "wait_notify channel")
        waiter = _Waiter()
        name = (tenant, channel)
        with self._mutex:
            self._waiters.setdefault(name, weakref.WeakSet()).add(waiter)
        return name, waiter

    async def wait(self, name: tuple[str, str], waiter: _Waiter, timeout: float) -> bool:
        """Await ``waiter`` for at most ``timeout`` seconds; forget it either way."""
        try:
            if timeout <= 0:
                return waiter.future.done()
            try:
                return await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
            except TimeoutError:
                return waiter.future.done()
        finally:
            self._forget(name, waiter)

    def waited(self) -> list[tuple[str, str]]:
        """The ``(tenant, channel)`` pairs someone in this process waits for."""
        with self._mutex:
            return list(self._waiters)

    def __len__(self) -> int:
        with self._mutex:
            for name in [name for name, waiters in self._waiters.items() if not waiters]:
                del self._waiters[name]
            return len(self._waiters)

    def signal(self, tenant: str, channel: str) -> None:
        """Wake every waiter of ``(tenant, channel)``."""
        with self._mutex:
            waiters = self._waiters.pop((tenant, channel), None)
            woken = list(waiters or ())
        for waiter in woken:
            self._resolve(waiter)

    def signal_all(self) -> None:
        """Wake every waiter (a transport reconnected and may have missed signals)."""
        with self._mutex:
            everyone, self._waiters = self._waiters, {}
            woken = [waiter for waiters in everyone.values() for waiter in waiters]
        for waiter in woken:
            self._resolve(waiter)

    @staticmethod
    def _resolve(waiter: _Waiter) -> None:
        loop = waiter.loop
        if loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            _wake(waiter.future)
            return
        try:
            loop.call_soon_threadsafe(_wake, waiter.future)
        except RuntimeError:  # the loop closed meanwhile: nobody is left to wake
            pass

    def _forget(self, name: tuple[str, str], waiter: _Waiter) -> None:
        with self._mutex:
            waiters = self._waiters.get(name)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[name]
