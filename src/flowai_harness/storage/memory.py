"""The in-process key-value store: the default for a runtime without a data environment."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

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
        item = self._items.get((tenant, key))
        if item is None:
            return None
        raw, expires_at = item
        if expires_at is not None and self._clock() >= expires_at:
            del self._items[(tenant, key)]
            return None
        return orjson.loads(raw)

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
