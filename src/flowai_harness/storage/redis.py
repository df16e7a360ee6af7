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

``RunStore``: a batch is one ``MULTI`` / ``EXEC`` (with ``WATCH`` on the guard key when it has a
guard), signals travel by pub/sub, and write times are kept beside the data (see
``_redis_runstore``). Scans list the tenant's keys with ``SCAN`` and read them with ``MGET``:
Redis has no secondary index, so ``scan(where=...)`` filters in the client.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
from flowai_harness.storage._redis_runstore import (
    Subscriber,
    notify_channel,
    payload,
    written_set,
)
from flowai_harness.storage._runstore import (
    Batch,
    Channels,
    check_delete_prefix,
    check_scan,
    guard_holds,
    prepare_batch,
    where_matches,
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
_MGET_CHUNK = 500


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
        self._channels = Channels()
        self._subscribers: PerLoop[Subscriber] = PerLoop(self._open_subscriber, _close_subscriber)
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

        written = self._written(tenant)

        async def write(client: Redis) -> Any:
            async with client.pipeline(transaction=True) as pipe:
                if ttl is None:
                    pipe.set(name, raw)
                    pipe.zadd(written, {key: _now_ms()})
                else:
                    if ttl <= 0:
                        pipe.delete(name)
                    else:
                        pipe.set(name, raw, px=math.ceil(ttl))
                    pipe.zrem(written, key)
                return await pipe.execute()

        await self._run("write", tenant, key, write)

    async def delete(self, tenant: str, key: str) -> bool:
        """Delete ``key``; return whether it existed (expired entries count as missing)."""
        name, written = self._key(tenant, key), self._written(tenant)

        async def remove(client: Redis) -> Any:
            async with client.pipeline(transaction=True) as pipe:
                pipe.delete(name)
                pipe.zrem(written, key)
                return await pipe.execute()

        removed, _ = await self._run("delete", tenant, key, remove)
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
        written = self._written(tenant)

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
                            pipe.zadd(written, {key: _now_ms()})
                        else:
                            if ttl <= 0:
                                pipe.delete(name)
                            else:
                                pipe.set(name, raw, px=math.ceil(ttl))
                            pipe.zrem(written, key)
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
        """Write the batch in one ``MULTI`` / ``EXEC`` if the guard holds.

        With a guard the key is ``WATCH`` ed, read and compared first; a change made by anyone
        between the read and ``EXEC`` discards the batch, and the comparison is made again.
        The ``PUBLISH`` of each ``notify`` channel is part of the ``MULTI``.
        """
        import redis

        batch = prepare_batch(tenant, puts, deletes, guard, notify)
        first = next(iter(batch.puts), batch.guard[0] if batch.guard else "<batch>")

        async def write(client: Redis) -> bool:
            async with client.pipeline(transaction=True) as pipe:
                if batch.guard is None:
                    self._queue_batch(pipe, tenant, batch)
                    await pipe.execute()
                    return True
                guard_name = self._key(tenant, batch.guard[0])
                while True:
                    try:
                        await pipe.watch(guard_name)
                        current = await pipe.get(guard_name)
                        if not guard_holds(current, batch.guard[1], tenant, self._name):
                            return False  # leaving the pipeline block drops the WATCH
                        pipe.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                        self._queue_batch(pipe, tenant, batch)
                        await pipe.execute()
                        return True
                    except redis.WatchError:
                        continue

        written = await self._run("write-batch", tenant, first, write)
        if written:
            for channel in batch.notify:
                self._channels.signal(tenant, channel)
        return written

    async def get_many(self, tenant: str, keys: Sequence[str]) -> dict[str, Any]:
        """Return the live values of those ``keys`` that exist (``MGET``)."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        raws = await self._run("read", tenant, wanted[0], lambda r: self._mget(r, tenant, wanted))
        return {
            key: decode_value(raw, tenant, key, self._name)
            for key, raw in zip(wanted, raws, strict=True)
            if raw is not None
        }

    async def scan(
        self,
        tenant: str,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        where: Mapping[str, str] | None = None,
    ) -> list[tuple[str, Any]]:
        """Return ``(key, value)`` of the live keys starting with ``prefix``, by code point.

        The keys come from ``SCAN`` (every key of the prefix is listed, then sorted) and the
        values from ``MGET``, 500 at a time until ``limit`` pairs matched ``where``.
        """
        fields = check_scan(prefix, start_after, limit, where)
        keys = await self.list_keys(tenant, prefix)
        if start_after is not None:
            keys = [key for key in keys if key > start_after]
        pairs: list[tuple[str, Any]] = []
        for start in range(0, len(keys), _MGET_CHUNK):
            if limit is not None and len(pairs) >= limit:
                break
            chunk = keys[start : start + _MGET_CHUNK]
            raws = await self._run(
                "scan", tenant, prefix, functools.partial(self._mget, tenant=tenant, keys=chunk)
            )
            for key, raw in zip(chunk, raws, strict=True):
                if raw is None:
                    continue
                value = decode_value(raw, tenant, key, self._name)
                if where_matches(value, fields):
                    pairs.append((key, value))
        return pairs if limit is None else pairs[:limit]

    async def delete_prefix(
        self, tenant: str, prefix: str, *, updated_before_ms: int | None = None
    ) -> int:
        """Delete the live keys starting with ``prefix``; return how many went.

        With ``updated_before_ms``, only keys with a recorded write time before it.
        """
        check_delete_prefix(prefix, updated_before_ms)
        keys = await self.list_keys(tenant, prefix)
        written = self._written(tenant)
        removed = 0
        for start in range(0, len(keys), _MGET_CHUNK):
            chunk = keys[start : start + _MGET_CHUNK]
            if updated_before_ms is not None:
                scores = await self._run(
                    "delete", tenant, prefix, functools.partial(_scores, name=written, keys=chunk)
                )
                chunk = [
                    key
                    for key, score in zip(chunk, scores, strict=True)
                    if score is not None and score < updated_before_ms
                ]
            if chunk:
                removed += await self._run(
                    "delete",
                    tenant,
                    prefix,
                    functools.partial(self._delete_keys, tenant=tenant, keys=chunk),
                )
        return removed

    def wait_notify(self, tenant: str, channel: str, timeout: float) -> Awaitable[bool]:
        """Start waiting for ``channel`` now; the result is ``True`` once it is signalled.

        Each event loop that waits keeps one pub/sub connection subscribed to the prefix's
        channel.
        """
        if self._closed:
            raise closed_store(self._name, "wait for", channel)
        name, waiter = self._channels.register(tenant, channel)
        return self._wait(name, waiter, timeout)

    async def notify(self, tenant: str, channel: str) -> None:
        """Signal ``channel`` to the waiters of every process sharing the prefix."""
        message = payload(tenant, channel)
        await self._run(
            "notify", tenant, channel, lambda r: r.publish(notify_channel(self._prefix), message)
        )
        self._channels.signal(tenant, channel)

    async def close(self) -> None:
        """Close the clients; later calls raise ``StoreError``. Closing twice is harmless."""
        self._closed = True
        await self._subscribers.close()
        await self._clients.close()

    # ------------------------------------------------------------------ plumbing

    @property
    def _name(self) -> str:
        return f"Redis KV store (prefix '{self._prefix}' at '{redact_url(self._url)}')"

    def _key(self, tenant: str, key: str) -> str:
        return f"{self._prefix}{escape_tenant(tenant)}:{key}"

    def _written(self, tenant: str) -> str:
        return written_set(self._prefix, escape_tenant(tenant))

    def _queue_batch(self, pipe: Any, tenant: str, batch: Batch) -> None:
        written = self._written(tenant)
        if batch.puts:
            now = _now_ms()
            pipe.mset({self._key(tenant, key): raw for key, raw in batch.puts.items()})
            pipe.zadd(written, dict.fromkeys(batch.puts, now))
        if batch.deletes:
            pipe.delete(*(self._key(tenant, key) for key in batch.deletes))
            pipe.zrem(written, *batch.deletes)
        for channel in batch.notify:
            pipe.publish(notify_channel(self._prefix), payload(tenant, channel))

    async def _mget(self, client: Redis, tenant: str, keys: list[str]) -> list[Any]:
        return list(await client.mget([self._key(tenant, key) for key in keys]))

    async def _delete_keys(self, client: Redis, tenant: str, keys: list[str]) -> int:
        async with client.pipeline(transaction=True) as pipe:
            pipe.delete(*(self._key(tenant, key) for key in keys))
            pipe.zrem(self._written(tenant), *keys)
            removed, _ = await pipe.execute()
        return int(removed)

    async def _wait(self, name: tuple[str, str], waiter: Any, timeout: float) -> bool:
        started = time.monotonic()
        try:
            subscriber = await self._subscribers.get()
            if not subscriber.ready.is_set():
                # Its first subscription wakes every waiter anyway (see Subscriber).
                await asyncio.wait_for(subscriber.ready.wait(), timeout)
        except TimeoutError:
            pass
        except BaseException:
            await self._channels.wait(name, waiter, 0)
            raise
        left = max(0.0, timeout - (time.monotonic() - started))
        return await self._channels.wait(name, waiter, left)

    async def _open_subscriber(self) -> Subscriber:
        client = await self._clients.get()
        return Subscriber(client, notify_channel(self._prefix), self._channels, self._name)

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


async def _close_subscriber(subscriber: Subscriber) -> None:
    await subscriber.close()


async def _scores(client: Redis, name: str, keys: list[str]) -> list[float | None]:
    return list(await client.zmscore(name, keys))


def _now_ms() -> int:
    return int(time.time() * 1000)
