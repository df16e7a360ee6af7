"""The Redis key-value store (``data_environment.kv`` kind ``redis``).

Layout: each entry is the Redis string ``<prefix><tenant>:<key>`` holding the JSON value; TTLs
are native Redis expiries (``SET ... PX``). The tenant is escaped (``%`` -> ``%25``, ``:`` ->
``%3A``), so the first ``:`` after the prefix always ends it: the tenant ``acme`` with key
``run:x`` and the tenant ``acme:run`` with key ``x`` are different Redis keys, and a prefix scan
of one tenant never reaches another's keys. Tenant ids without ``%`` or ``:`` (the usual case)
are unchanged by the escape, so their existing keys read as before; entries written by earlier
versions for tenants containing those characters are no longer found.

``redis`` (the ``redis.asyncio`` client) is imported on first use; without it opening the store
raises ``MissingDependencyError`` naming the ``redis`` extra. Each event loop that uses the
store gets its own client (see ``PerLoop``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flowai_harness.errors import DataEnvironmentError, MissingDependencyError
from flowai_harness.specs.data_environment import redact_url
from flowai_harness.storage._backend import (
    PerLoop,
    call_failed,
    check_ttl,
    closed_store,
    decode_value,
    encode_value,
    json_equal,
    kv_location,
    open_failed,
    scrub_secrets,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisKeyValueStore", "escape_tenant"]

R = TypeVar("R")

_CONNECT_TIMEOUT_S = 10.0
_POOL_MAX_SIZE = 20
_POOL_WAIT_S = 30.0
_SCAN_COUNT = 1000
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


def _require_driver() -> None:
    try:
        import redis  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "data_environment.kv kind 'redis' needs the redis client (redis is not installed): "
            "pip install 'flowai-harness[redis]'"
        ) from None


class RedisKeyValueStore:
    """A ``KeyValueStore`` in Redis strings under ``<prefix><escaped tenant>:<key>``.

    Construction connects once (synchronously, ``PING``) to fail fast; the async client of each
    event loop connects on first use.

    Args:
        url: A ``redis://``, ``rediss://`` or ``unix://`` URL; it may hold a password, which
            never appears in errors.
        prefix: Prepended to every Redis key (default ``afw:``).
        source: How the URL was given, for messages (``url`` or ``url_env NAME``).

    Raises:
        MissingDependencyError: the ``redis`` package is not installed.
        DataEnvironmentError: The URL is malformed or the server cannot be reached.
    """

    def __init__(self, url: str, *, prefix: str = "afw:", source: str = "url") -> None:
        if not isinstance(prefix, str):
            raise DataEnvironmentError(
                f"data_environment.kv.prefix must be a string; got {type(prefix).__name__}"
            )
        _require_driver()
        self._url = url
        self._prefix = prefix
        self._where = kv_location("redis", url, source)
        self._closed = False
        self._clients: PerLoop[Redis] = PerLoop(self._open_client, _close_client)
        self._ping()

    @property
    def prefix(self) -> str:
        """The prefix of every Redis key this store writes."""
        return self._prefix

    def __repr__(self) -> str:
        return f"RedisKeyValueStore(url={redact_url(self._url)!r}, prefix={self._prefix!r})"

    # ------------------------------------------------------------------ the KeyValueStore port

    async def get(self, tenant: str, key: str) -> Any | None:
        """Return the stored value, or ``None`` when missing or expired."""
        raw = await self._run("read", tenant, key, lambda r: r.get(self._key(tenant, key)))
        return None if raw is None else decode_value(raw, tenant, key, self._name)

    async def put(self, tenant: str, key: str, value: Any, ttl_ms: int | None = None) -> None:
        """Store ``value`` under ``key``; ``ttl_ms`` of ``None`` never expires.

        A TTL of zero or less deletes the entry (it would be expired at once).
        """
        ttl = check_ttl(ttl_ms)
        raw = encode_value(value, tenant, key)
        name = self._key(tenant, key)

        def write(client: Redis) -> Awaitable[Any]:
            if ttl is None:
                return client.set(name, raw)
            if ttl <= 0:
                return client.delete(name)
            return client.set(name, raw, px=math.ceil(ttl))

        await self._run("write", tenant, key, write)

    async def delete(self, tenant: str, key: str) -> bool:
        """Delete ``key``; return whether it existed (expired entries count as missing)."""
        removed = await self._run("delete", tenant, key, lambda r: r.delete(self._key(tenant, key)))
        return bool(removed)

    async def compare_and_set(
        self, tenant: str, key: str, expected: Any | None, value: Any, ttl_ms: int | None = None
    ) -> bool:
        """Store ``value`` if the live value of ``key`` equals ``expected`` (JSON equality).

        ``expected=None`` matches a missing or expired key. Uses ``WATCH`` / ``MULTI``: the
        write is discarded if anyone changed the key after it was read, and the comparison is
        then made again against the new value.
        """
        import redis

        ttl = check_ttl(ttl_ms)
        raw = encode_value(value, tenant, key)
        wanted = decode_value(encode_value(expected, tenant, key), tenant, key, self._name)
        name = self._key(tenant, key)

        async def swap(client: Redis) -> bool:
            async with client.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(name)
                        current = await pipe.get(name)
                        found = (
                            None
                            if current is None
                            else decode_value(current, tenant, key, self._name)
                        )
                        if not json_equal(found, wanted):
                            return False  # leaving the pipeline block drops the WATCH
                        pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                        if ttl is None:
                            pipe.set(name, raw)
                        elif ttl <= 0:
                            pipe.delete(name)
                        else:
                            pipe.set(name, raw, px=math.ceil(ttl))
                        await pipe.execute()
                        return True
                    except redis.WatchError:
                        continue

        return await self._run("compare-and-set", tenant, key, swap)

    async def list_keys(self, tenant: str, prefix: str) -> list[str]:
        """Return the live keys of ``tenant`` starting with ``prefix``, sorted by code point."""
        head = self._key(tenant, "")
        pattern = _GLOB_SPECIAL.sub(r"\\\1", head + prefix) + "*"

        async def scan(client: Redis) -> list[str]:
            # SCAN may report a key twice; the set removes repeats.
            found = {
                name.decode("utf-8", "surrogateescape")[len(head) :]
                async for name in client.scan_iter(match=pattern, count=_SCAN_COUNT)
            }
            return sorted(found)

        return await self._run("list", tenant, prefix, scan)

    async def close(self) -> None:
        """Close the clients; later calls raise ``StoreError``. Closing twice is harmless."""
        self._closed = True
        await self._clients.close()

    # ------------------------------------------------------------------ plumbing

    @property
    def _name(self) -> str:
        return f"Redis KV store (prefix '{self._prefix}' at '{redact_url(self._url)}')"

    def _key(self, tenant: str, key: str) -> str:
        return f"{self._prefix}{escape_tenant(tenant)}:{key}"

    def _ping(self) -> None:
        import redis

        try:
            client = redis.Redis.from_url(
                self._url,
                socket_connect_timeout=_CONNECT_TIMEOUT_S,
                socket_timeout=_CONNECT_TIMEOUT_S,
            )
        except ValueError as error:
            raise DataEnvironmentError(
                f"{self._where}: invalid Redis URL: {scrub_secrets(str(error), self._url)}"
            ) from None
        try:
            client.ping()
        except redis.RedisError as error:
            raise open_failed(self._where, error, self._url) from None
        finally:
            client.close()

    async def _open_client(self) -> Redis:
        from redis.asyncio import BlockingConnectionPool, Redis

        # A blocking pool makes a burst of calls wait for a free connection instead of failing
        # with "Too many connections".
        pool = BlockingConnectionPool.from_url(
            self._url,
            max_connections=_POOL_MAX_SIZE,
            timeout=_POOL_WAIT_S,
            socket_connect_timeout=_CONNECT_TIMEOUT_S,
            health_check_interval=30,
        )
        return Redis.from_pool(pool)

    async def _run(
        self, action: str, tenant: str, key: str, work: Callable[[Redis], Awaitable[R]]
    ) -> R:
        import redis

        if self._closed:
            raise closed_store(self._name, action, key)
        client = await self._clients.get()
        try:
            return await work(client)
        except redis.RedisError as error:
            raise call_failed(self._name, action, tenant, key, error, url=self._url) from None


def escape_tenant(tenant: str) -> str:
    """Return ``tenant`` with ``%`` and ``:`` percent-encoded, so it never contains ``:``."""
    return tenant.replace("%", "%25").replace(":", "%3A")


async def _close_client(client: Redis) -> None:
    await client.aclose()
