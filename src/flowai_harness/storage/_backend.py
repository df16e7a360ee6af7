"""Pieces shared by the durable key-value stores (SQLite, Postgres, Redis).

* :func:`check_ttl`, :func:`encode_value` and :func:`decode_value` give every backend the same
  argument checks and JSON handling as the memory store.
* :class:`PerLoop` keeps one async client per running event loop. A runtime is built
  synchronously and may be driven by several loops over its life (``asyncio.run`` twice in a
  script, one loop per test), while async connection pools belong to the loop that opened them.
* :func:`scrub_secrets` removes connection secrets from driver messages before they reach an
  error, a log or an event; :func:`kv_location`, :func:`open_failed`, :func:`closed_store`
  and :func:`call_failed` word every backend's errors alike.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import unquote, urlsplit

import orjson

from flowai_harness.errors import DataEnvironmentError, SpecTypeError, SpecValueError, StoreError
from flowai_harness.specs.data_environment import redact_url

__all__ = [
    "PerLoop",
    "call_failed",
    "check_ttl",
    "closed_store",
    "decode_value",
    "encode_value",
    "json_equal",
    "kv_location",
    "open_failed",
    "scrub_secrets",
]

T = TypeVar("T")

_log = logging.getLogger(__name__)

_MASK = "***"
_EMBEDDED_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_SECRET_PAIR = re.compile(
    r"(?i)(?<![A-Za-z0-9_])(password|access_token|api_key|apikey|token)(\s*=\s*)"
    r"('(?:[^'\\]|\\.)*'|[^\s&]+)"
)


def scrub_secrets(message: str, url: str) -> str:
    """Return ``message`` without the password of ``url`` or any secret of an embedded URL.

    Args:
        message: Text from a driver (an exception message, usually).
        url: The connection URL the driver was given.

    Returns:
        The message with the URL's password (raw and percent-decoded) replaced by ``***``,
        every URL inside it passed through :func:`redact_url`, and libpq ``password=...``
        pairs masked.
    """
    for secret in _passwords(url):
        message = message.replace(secret, _MASK)
    message = _EMBEDDED_URL.sub(lambda match: redact_url(match[0]), message)
    return _SECRET_PAIR.sub(lambda match: f"{match[1]}{match[2]}{_MASK}", message)


def kv_location(kind: str, url: str, source: str) -> str:
    """Return how configuration errors name a KV store: kind, redacted URL and its source.

    Args:
        kind: The ``data_environment.kv`` kind (``postgres``, ``redis``).
        url: The connection URL; only its redacted form appears.
        source: How the URL was given (``url`` or ``url_env NAME``).
    """
    via = "" if source == "url" else f" from {source}"
    return f"data_environment.kv (kind '{kind}' at '{redact_url(url)}'{via})"


def open_failed(where: str, error: BaseException, url: str) -> DataEnvironmentError:
    """Return the error for a store that cannot be opened, secrets of ``url`` scrubbed."""
    return DataEnvironmentError(
        f"{where}: cannot open the store: {type(error).__name__}: {scrub_secrets(str(error), url)}"
    )


def closed_store(store: str, action: str, key: str) -> StoreError:
    """Return the error for a call (``read``, ``write``...) on a closed store."""
    return StoreError(f"{store} is closed; cannot {action} key '{key}'")


def call_failed(
    store: str, action: str, tenant: str, key: str, error: BaseException, *, url: str | None = None
) -> StoreError:
    """Return the error for a driver failure during a call; secrets of ``url`` are scrubbed."""
    detail = str(error) if url is None else scrub_secrets(str(error), url)
    return StoreError(
        f"{store}: cannot {action} key '{key}' of tenant '{tenant}': "
        f"{type(error).__name__}: {detail}"
    )


def _passwords(url: str) -> list[str]:
    try:
        raw = urlsplit(url).password
    except ValueError:
        raw = None
    found = {raw, unquote(raw)} if raw else set()
    for match in re.finditer(r"(?i)password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)", url):
        found.add(match[1].strip("'"))
    # Masking a one- or two-character password would garble the whole message; URLs and
    # password= pairs in the message are still masked by pattern.
    return sorted((s for s in found if s and len(s) >= 3), key=len, reverse=True)


@dataclass(eq=False)
class _Slot(Generic[T]):
    """The resource of one event loop, and the task that closes it when the loop shuts down."""

    lock: asyncio.Lock
    item: T | None = None
    guard: asyncio.Task[None] | None = None


class PerLoop(Generic[T]):
    """One async resource per running event loop, opened on first use inside that loop.

    A resource is closed by :meth:`close`, or else when its loop shuts down: ``asyncio.run``
    (and every ``asyncio.Runner``) cancels the tasks left at the end, and a guard task closes
    the resource then, inside its own loop. A store that nobody closes thus leaves no open
    sockets behind its loop.

    Args:
        opener: Coroutine function that opens the resource in the running loop.
        closer: Coroutine function that closes it (called in the loop that opened it).
    """

    def __init__(
        self,
        opener: Callable[[], Awaitable[T]],
        closer: Callable[[T], Coroutine[Any, Any, None]],
    ) -> None:
        self._opener = opener
        self._closer = closer
        self._slots: dict[asyncio.AbstractEventLoop, _Slot[T]] = {}
        self._mutex = threading.Lock()

    async def get(self) -> T:
        """Return the running loop's resource, opening it if this loop has none yet."""
        loop = asyncio.get_running_loop()
        slot = self._slots.get(loop)
        if slot is not None and slot.item is not None:
            return slot.item
        with self._mutex:
            for closed in [other for other in self._slots if other.is_closed()]:
                del self._slots[closed]
            slot = self._slots.setdefault(loop, _Slot(asyncio.Lock()))
        async with slot.lock:
            if slot.item is None:
                slot.item = await self._opener()
                slot.guard = loop.create_task(
                    self._close_at_shutdown(slot), name="flowai-kv-close-at-loop-shutdown"
                )
            return slot.item

    async def close(self) -> None:
        """Close every resource whose loop can still run code; forget the others.

        The running loop's resource is closed here; one that belongs to a loop running in
        another thread is closed on that loop.
        """
        current = asyncio.get_running_loop()
        with self._mutex:
            slots, self._slots = self._slots, {}
        for loop, slot in slots.items():
            item, slot.item = slot.item, None
            if slot.guard is not None and not loop.is_closed():
                loop.call_soon_threadsafe(slot.guard.cancel)
            if item is None:
                continue
            if loop is current:
                await self._closer(item)
            elif loop.is_running():
                future = asyncio.run_coroutine_threadsafe(self._closer(item), loop)
                await asyncio.wrap_future(future)

    async def _close_at_shutdown(self, slot: _Slot[T]) -> None:
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            item, slot.item = slot.item, None
            if item is not None:
                try:
                    await self._closer(item)
                except Exception as error:  # the loop is going away; nothing left to tell
                    _log.warning(
                        "closing a store connection at loop shutdown failed: %s",
                        type(error).__name__,
                    )
            raise


def check_ttl(ttl_ms: object) -> float | None:
    """Return ``ttl_ms`` as milliseconds, or ``None`` for no expiry.

    A TTL of zero or less stores an entry that is already expired (as the memory store does).

    Raises:
        SpecTypeError: ``ttl_ms`` is not a number (``bool`` included) nor ``None``.
        SpecValueError: ``ttl_ms`` is NaN or infinite.
    """
    if ttl_ms is None:
        return None
    if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int | float):
        raise SpecTypeError(
            f"ttl_ms must be a number of milliseconds or None; got {type(ttl_ms).__name__}"
        )
    if not math.isfinite(ttl_ms):
        raise SpecValueError(f"ttl_ms must be a finite number of milliseconds; got {ttl_ms}")
    return float(ttl_ms)


def encode_value(value: Any, tenant: str, key: str) -> bytes:
    """Return ``value`` as JSON bytes.

    Raises:
        SpecTypeError: ``value`` is not JSON (a set, an object, a non-string mapping key, ...).
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        raise SpecTypeError(
            f"value for key '{key}' of tenant '{tenant}' is not JSON: {error}"
        ) from None


def json_equal(left: Any, right: Any) -> bool:
    """Return whether two decoded JSON values are equal as JSON.

    Numbers compare by value (``1 == 1.0``, as JSONB does), booleans are never numbers
    (``True != 1``), object key order is ignored and arrays compare element by element.
    """
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(json_equal(item, right[name]) for name, item in left.items())
        )
    if isinstance(left, list | tuple):
        return (
            isinstance(right, list | tuple)
            and len(left) == len(right)
            and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
        )
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and bool(left == right)


def decode_value(raw: bytes | str, tenant: str, key: str, store: str) -> Any:
    """Return the JSON value stored as ``raw``.

    Raises:
        StoreError: The stored text is not JSON (written by something else).
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise StoreError(
            f"{store}: the value of key '{key}' of tenant '{tenant}' is not valid JSON ({error})"
        ) from None
