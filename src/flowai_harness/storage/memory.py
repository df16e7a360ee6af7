"""The in-process key-value store: the default for a runtime without a data environment.

It implements ``RunStore`` too: a batch is applied without awaiting (atomic within the event
loop), ``scan`` walks the entries, and ``notify`` wakes waiters of this process only.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson

from flowai_harness.storage._backend import check_ttl, encode_value, json_equal
from flowai_harness.storage._runstore import (
    Channels,
    check_delete_prefix,
    check_scan,
    guard_holds,
    prepare_batch,
    where_matches,
)

__all__ = ["MemoryKeyValueStore"]


class MemoryKeyValueStore:
    """A dict-backed ``KeyValueStore``; values are stored as JSON bytes so callers never alias.

    TTL is measured from the write and checked lazily on read, on ``clock`` (seconds,
    ``time.monotonic`` by default; tests pass a fake one).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[tuple[str, str], tuple[bytes, float | None]] = {}
        #: when each key was last written, epoch ms (for ``delete_prefix(updated_before_ms)``)
        self._written: dict[tuple[str, str], int] = {}
        self._clock = clock
        self._channels = Channels()

    async def get(self, tenant: str, key: str) -> Any | None:
        """Return the stored value, or ``None`` when missing or expired."""
        raw = self._live(tenant, key)
        return None if raw is None else orjson.loads(raw)

    async def put(self, tenant: str, key: str, value: Any, ttl_ms: int | None = None) -> None:
        """Store ``value`` under ``key``; ``ttl_ms`` of ``None`` never expires."""
        expires_at = None if ttl_ms is None else self._clock() + ttl_ms / 1000.0
        self._items[(tenant, key)] = (orjson.dumps(value), expires_at)
        self._written[(tenant, key)] = _now_ms()

    async def delete(self, tenant: str, key: str) -> bool:
        """Delete ``key``; return whether it existed (expired entries count as missing)."""
        item = self._items.pop((tenant, key), None)
        self._written.pop((tenant, key), None)
        if item is None:
            return False
        expires_at = item[1]
        return expires_at is None or self._clock() < expires_at

    async def compare_and_set(
        self, tenant: str, key: str, expected: Any | None, value: Any, ttl_ms: int | None = None
    ) -> bool:
        """Store ``value`` if the live value of ``key`` equals ``expected`` (JSON equality).

        ``expected=None`` matches a missing or expired key. Nothing awaits between the check
        and the write, so the step is atomic within the event loop.
        """
        ttl = check_ttl(ttl_ms)
        raw = encode_value(value, tenant, key)
        wanted = orjson.loads(encode_value(expected, tenant, key))
        current = self._live(tenant, key)
        if not json_equal(None if current is None else orjson.loads(current), wanted):
            return False
        expires_at = None if ttl is None else self._clock() + ttl / 1000.0
        self._items[(tenant, key)] = (raw, expires_at)
        self._written[(tenant, key)] = _now_ms()
        return True

    async def list_keys(self, tenant: str, prefix: str) -> list[str]:
        """Return the live keys of ``tenant`` starting with ``prefix``."""
        now = self._clock()
        return sorted(
            key
            for (owner, key), (_, expires_at) in self._items.items()
            if owner == tenant
            and key.startswith(prefix)
            and (expires_at is None or now < expires_at)
        )

    # ------------------------------------------------------------------ the RunStore port

    async def write_batch(
        self,
        tenant: str,
        puts: Sequence[tuple[str, Any]],
        *,
        deletes: Sequence[str] = (),
        guard: tuple[str, Any] | None = None,
        notify: Sequence[str] = (),
    ) -> bool:
        """Apply the puts and deletes at once if the guard holds; then signal ``notify``."""
        batch = prepare_batch(tenant, puts, deletes, guard, notify)
        if batch.guard is not None:
            key, expected = batch.guard
            if not guard_holds(self._live(tenant, key), expected, tenant, "memory KV store"):
                return False
        now = _now_ms()
        for key, raw in batch.puts.items():
            self._items[(tenant, key)] = (raw, None)
            self._written[(tenant, key)] = now
        for key in batch.deletes:
            self._items.pop((tenant, key), None)
            self._written.pop((tenant, key), None)
        for channel in batch.notify:
            self._channels.signal(tenant, channel)
        return True

    async def get_many(self, tenant: str, keys: Sequence[str]) -> dict[str, Any]:
        """Return the live values of those ``keys`` that exist."""
        found: dict[str, Any] = {}
        for key in keys:
            raw = self._live(tenant, key)
            if raw is not None:
                found[key] = orjson.loads(raw)
        return found

    async def scan(
        self,
        tenant: str,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        where: Mapping[str, str] | None = None,
    ) -> list[tuple[str, Any]]:
        """Return ``(key, value)`` of the live keys starting with ``prefix``, by key."""
        fields = check_scan(prefix, start_after, limit, where)
        pairs: list[tuple[str, Any]] = []
        for key in await self.list_keys(tenant, prefix):
            if start_after is not None and key <= start_after:
                continue
            if limit is not None and len(pairs) >= limit:
                break
            raw = self._live(tenant, key)
            if raw is None:
                continue
            value = orjson.loads(raw)
            if where_matches(value, fields):
                pairs.append((key, value))
        return pairs

    async def delete_prefix(
        self, tenant: str, prefix: str, *, updated_before_ms: int | None = None
    ) -> int:
        """Delete the live keys starting with ``prefix`` (written before the instant, if
        given); return how many went."""
        check_delete_prefix(prefix, updated_before_ms)
        removed = 0
        for key in await self.list_keys(tenant, prefix):
            written = self._written.get((tenant, key), 0)
            if updated_before_ms is not None and written >= updated_before_ms:
                continue
            self._items.pop((tenant, key), None)
            self._written.pop((tenant, key), None)
            removed += 1
        return removed

    def wait_notify(self, tenant: str, channel: str, timeout: float) -> Awaitable[bool]:
        """Start waiting for ``channel`` now; the result is ``True`` once it is signalled."""
        name, waiter = self._channels.register(tenant, channel)
        return self._channels.wait(name, waiter, timeout)

    async def notify(self, tenant: str, channel: str) -> None:
        """Wake the waiters of ``channel`` (this process only: the store lives here)."""
        self._channels.signal(tenant, channel)

    async def close(self) -> None:
        """Nothing to release."""

    def _live(self, tenant: str, key: str) -> bytes | None:
        """The stored JSON bytes of ``key``, or ``None`` when missing or expired."""
        item = self._items.get((tenant, key))
        if item is None:
            return None
        raw, expires_at = item
        if expires_at is not None and self._clock() >= expires_at:
            del self._items[(tenant, key)]
            self._written.pop((tenant, key), None)
            return None
        return raw


def _now_ms() -> int:
    return int(time.time() * 1000)
