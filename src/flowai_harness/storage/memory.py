"""The in-process key-value store: the default for a runtime without a data environment."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from flowai_harness.storage._backend import check_ttl, encode_value, json_equal

__all__ = ["MemoryKeyValueStore"]


class MemoryKeyValueStore:
    """A dict-backed ``KeyValueStore``; values are stored as JSON bytes so callers never alias.

    TTL is measured from the write and checked lazily on read, on ``clock`` (seconds,
    ``time.monotonic`` by default; tests pass a fake one).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[tuple[str, str], tuple[bytes, float | None]] = {}
        self._clock = clock

    async def get(self, tenant: str, key: str) -> Any | None:
        """Return the stored value, or ``None`` when missing or expired."""
        raw = self._live(tenant, key)
        return None if raw is None else orjson.loads(raw)

    async def put(self, tenant: str, key: str, value: Any, ttl_ms: int | None = None) -> None:
        """Store ``value`` under ``key``; ``ttl_ms`` of ``None`` never expires."""
        expires_at = None if ttl_ms is None else self._clock() + ttl_ms / 1000.0
        self._items[(tenant, key)] = (orjson.dumps(value), expires_at)

    async def delete(self, tenant: str, key: str) -> bool:
        """Delete ``key``; return whether it existed (expired entries count as missing)."""
        item = self._items.pop((tenant, key), None)
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
            return None
        return raw
