"""The SQLite key-value store (``data_environment.kv`` kind ``sqlite``).

Layout: table ``kv_store(tenant TEXT, key TEXT, value TEXT, expires_at INTEGER
NULL, PRIMARY KEY(tenant, key), updated_at INTEGER NULL)``, created on open whatever
``ensure_schema`` says; ``value`` is JSON text, ``expires_at`` and ``updated_at`` epoch
milliseconds. A table without ``updated_at`` (made by an earlier version, or by another
program) gets the column added; rows written without it have no known write time and are
never removed by ``delete_prefix(updated_before_ms=...)``. Two expression indexes serve
``scan(where=...)`` on the top-level fields ``threadId`` and ``status``, and the table
``kv_notify`` carries ``notify`` signals to other processes (see ``RunStore``). The database
runs in WAL mode with a 5 s busy timeout, so several processes can share one file.

The stdlib ``sqlite3`` module blocks, so each store owns one connection served by one worker
thread: calls never block the event loop, run one at a time in the order they were made, and
work from any event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import sqlite3
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from flowai_harness.errors import DataEnvironmentError
from flowai_harness.storage import _sqlite_runstore as runsql
from flowai_harness.storage._backend import (
    call_failed,
    check_ttl,
    closed_store,
    decode_value,
    encode_value,
    json_equal,
)
from flowai_harness.storage._runstore import (
    Batch,
    Channels,
    check_delete_prefix,
    check_scan,
    guard_holds,
    prepare_batch,
)

__all__ = ["SqliteKeyValueStore", "sqlite_path"]

R = TypeVar("R")

_PREFIX = "sqlite:"
_BUSY_TIMEOUT_S = 5.0
_PURGE_EVERY_S = 60.0
#: how often a process waiting for a signal looks for one committed by another process
_NOTIFY_POLL_S = 0.05
#: a poller with nobody waiting keeps going this long (the next wait then starts at once)
_NOTIFY_LINGER_S = 5.0
_log = logging.getLogger(__name__)
_REQUIRED_COLUMNS = frozenset({"tenant", "key", "value", "expires_at"})
_TABLE = (
    "CREATE TABLE IF NOT EXISTS kv_store ("
    " tenant TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " expires_at INTEGER NULL,"
    " PRIMARY KEY (tenant, key))"
)
_EXPIRY_INDEX = (
    "CREATE INDEX IF NOT EXISTS kv_store_expires_at ON kv_store (expires_at)"
    " WHERE expires_at IS NOT NULL"
)
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


def sqlite_path(url: str) -> str:
    """Return the file path of a ``sqlite:<path>`` URL (a bare path is returned as is).

    Only the leading ``sqlite:`` is removed; ``sqlite:///tmp/kv.db`` is the path
    ``///tmp/kv.db`` (that is ``/tmp/kv.db``) and ``sqlite::memory:`` a private in-memory
    database.

    Raises:
        DataEnvironmentError: Nothing is left after the prefix.
    """
    path = url[len(_PREFIX) :] if url.startswith(_PREFIX) else url
    if not path.strip():
        raise DataEnvironmentError(
            f"data_environment.kv (kind 'sqlite') url '{url}' names no file; "
            "expected 'sqlite:<path>', for example 'sqlite:./data/kv.db'"
        )
    return path


class SqliteKeyValueStore:
    """A ``KeyValueStore`` in one SQLite file; TTLs are checked against ``clock``.

    Args:
        url: ``sqlite:<path>`` or a bare path. The file is created if missing; its directory
            must exist.
        clock: Wall-clock seconds (``time.time``); expiry instants are stored as epoch ms so
            other processes agree on them.

    Raises:
        DataEnvironmentError: The file cannot be opened or created, is not an SQLite database,
            or holds a ``kv_store`` table without the expected columns.
    """

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        self._url = url
        self._path = sqlite_path(url)
        self._clock = clock
        self._closed = False
        self._next_purge = 0.0
        self._channels = Channels()
        self._pollers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}
        self._watcher: runsql.Watcher | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flowai-kv-sqlite")
        try:
            self._connection = self._executor.submit(self._connect).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise
        # A store nobody closes still releases its file when collected.
        self._finalizer = weakref.finalize(self, _release, self._connection, self._executor)

    @property
    def path(self) -> str:
        """The database file path (``:memory:`` for a private in-memory database)."""
        return self._path

    def __repr__(self) -> str:
        return f"SqliteKeyValueStore(path={self._path!r})"

    # ------------------------------------------------------------------ the KeyValueStore port

    async def get(self, tenant: str, key: str) -> Any | None:
        """Return the stored value, or ``None`` when missing or expired."""
        raw = await self._call("read", tenant, key, self._get, tenant, key)
        return None if raw is None else decode_value(raw, tenant, key, self._name)

    async def put(self, tenant: str, key: str, value: Any, ttl_ms: int | None = None) -> None:
        """Store ``value`` under ``key``; ``ttl_ms`` of ``None`` never expires."""
        ttl = check_ttl(ttl_ms)
        text = encode_value(value, tenant, key).decode()
        await self._call("write", tenant, key, self._put, tenant, key, text, ttl)

    async def delete(self, tenant: str, key: str) -> bool:
        """Delete ``key``; return whether it existed (expired entries count as missing)."""
        return await self._call("delete", tenant, key, self._delete, tenant, key)

    async def compare_and_set(
        self, tenant: str, key: str, expected: Any | None, value: Any, ttl_ms: int | None = None
    ) -> bool:
        """Store ``value`` if the live value of ``key`` equals ``expected`` (JSON equality).

        ``expected=None`` matches a missing or expired key. The read and the write share one
        ``BEGIN IMMEDIATE`` transaction, so processes sharing the file take turns.
        """
        ttl = check_ttl(ttl_ms)
        text = encode_value(value, tenant, key).decode()
        wanted = decode_value(encode_value(expected, tenant, key), tenant, key, self._name)
        return await self._call(
            "compare-and-set", tenant, key, self._compare_and_set, tenant, key, wanted, text, ttl
        )

    async def list_keys(self, tenant: str, prefix: str) -> list[str]:
        """Return the live keys of ``tenant`` starting with ``prefix``, sorted."""
        return await self._call("list", tenant, prefix, self._list_keys, tenant, prefix)

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
        """Write the batch in one ``BEGIN IMMEDIATE`` transaction if the guard holds.

        The signals of ``notify`` are rows of ``kv_notify`` in the same transaction; waiters of
        this process are woken at once, those of other processes at their next poll.
        """
        batch = prepare_batch(tenant, puts, deletes, guard, notify)
        first = next(iter(batch.puts), batch.guard[0] if batch.guard else "<batch>")
        written = await self._call("write-batch", tenant, first, self._write_batch, tenant, batch)
        if written:
            for channel in batch.notify:
                self._channels.signal(tenant, channel)
        return written

    async def get_many(self, tenant: str, keys: Sequence[str]) -> dict[str, Any]:
        """Return the live values of those ``keys`` that exist (one statement per 500 keys)."""
        keys = list(keys)
        rows = await self._call(
            "read", tenant, keys[0] if keys else "<none>", self._get_many, tenant, keys
        )
        return {key: decode_value(text, tenant, key, self._name) for key, text in rows}

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
        rows = await self._call(
            "scan", tenant, prefix, self._scan, tenant, prefix, start_after, limit, fields
        )
        return [(key, decode_value(text, tenant, key, self._name)) for key, text in rows]

    async def delete_prefix(
        self, tenant: str, prefix: str, *, updated_before_ms: int | None = None
    ) -> int:
        """Delete the live keys starting with ``prefix``; return how many went.

        With ``updated_before_ms``, only rows whose write time is known and earlier.
        """
        check_delete_prefix(prefix, updated_before_ms)
        return await self._call(
            "delete", tenant, prefix, self._delete_prefix, tenant, prefix, updated_before_ms
        )

    def wait_notify(self, tenant: str, channel: str, timeout: float) -> Awaitable[bool]:
        """Start waiting for ``channel`` now; the result is ``True`` once it is signalled.

        Signals from this process arrive at once; from other processes within about 50 ms
        (a ``PRAGMA data_version`` poll, shared by every waiter of the event loop).
        """
        if self._closed:
            raise closed_store(self._name, "wait for", channel)
        name, waiter = self._channels.register(tenant, channel)
        if self._path != ":memory:":  # a private database has no other process to hear from
            self._ensure_poller()
        return self._channels.wait(name, waiter, timeout)

    async def notify(self, tenant: str, channel: str) -> None:
        """Signal ``channel`` to the waiters of every process sharing the file."""
        await self._call("notify", tenant, channel, self._notify, tenant, channel)
        self._channels.signal(tenant, channel)

    async def close(self) -> None:
        """Close the database; later calls raise ``StoreError``. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connection.close)
        self._finalizer.detach()
        self._executor.shutdown(wait=False)
        if self._watcher is not None:
            await asyncio.to_thread(self._watcher.close)

    # ------------------------------------------------------------------ worker-thread side

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self._path,
                timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as error:
            raise self._open_error(error) from None
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
            connection.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL keeps every commit across a process crash; only an OS crash or power
            # loss can drop the latest commits.
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute(_TABLE)
            columns = {row[1] for row in connection.execute("PRAGMA table_info(kv_store)")}
            missing = sorted(_REQUIRED_COLUMNS - columns)
            if not missing:
                connection.execute(_EXPIRY_INDEX)
                runsql.migrate(connection)
        except sqlite3.Error as error:
            connection.close()
            raise self._open_error(error) from None
        if missing:
            connection.close()
            raise DataEnvironmentError(
                f"data_environment.kv (kind 'sqlite'): the table kv_store in '{self._path}' "
                f"lacks the column(s) {', '.join(missing)}; expected (tenant, key, value, "
                "expires_at)"
            )
        return connection

    def _open_error(self, error: sqlite3.Error) -> DataEnvironmentError:
        reason = str(error)
        directory = os.path.dirname(os.path.abspath(self._path))
        if self._path != ":memory:" and not os.path.isdir(directory):
            reason += f" (the directory '{directory}' does not exist)"
        return DataEnvironmentError(
            f"data_environment.kv (kind 'sqlite'): cannot open '{self._url}': {reason}"
        )

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _get(self, tenant: str, key: str) -> str | None:
        row = self._connection.execute(
            "SELECT value, expires_at FROM kv_store WHERE tenant = ? AND key = ?", (tenant, key)
        ).fetchone()
        if row is None:
            return None
        value, expires_at = row
        if expires_at is not None and expires_at <= self._now_ms():
            self._connection.execute(
                "DELETE FROM kv_store WHERE tenant = ? AND key = ? AND expires_at = ?",
                (tenant, key, expires_at),
            )
            return None
        return str(value)

    def _put(self, tenant: str, key: str, text: str, ttl: float | None) -> None:
        now = self._now_ms()
        expires_at = None if ttl is None else now + math.ceil(ttl)
        self._connection.execute(
            "INSERT OR REPLACE INTO kv_store (tenant, key, value, expires_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (tenant, key, text, expires_at, now),
        )
        self._purge_if_due(now)

    def _purge_if_due(self, now: int) -> None:
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + _PURGE_EVERY_S
            self._connection.execute(
                "DELETE FROM kv_store WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
            )
            runsql.purge_notifications(self._connection, now)

    def _compare_and_set(
        self, tenant: str, key: str, wanted: Any, text: str, ttl: float | None
    ) -> bool:
        # IMMEDIATE takes the write lock before the read, so no other writer (thread or
        # process) can change the row between the comparison and the write.
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            row = self._connection.execute(
                f"SELECT value FROM kv_store WHERE tenant = ? AND key = ? AND {_LIVE}",
                (tenant, key, self._now_ms()),
            ).fetchone()
            current = None if row is None else decode_value(row[0], tenant, key, self._name)
            matched = json_equal(current, wanted)
            if matched:
                self._put(tenant, key, text, ttl)
            self._connection.execute("COMMIT")
        except BaseException:
            if self._connection.in_transaction:
                self._connection.execute("ROLLBACK")
            raise
        return matched

    def _delete(self, tenant: str, key: str) -> bool:
        live = self._connection.execute(
            f"DELETE FROM kv_store WHERE tenant = ? AND key = ? AND {_LIVE}",
            (tenant, key, self._now_ms()),
        ).rowcount
        if not live:
            self._connection.execute(
                "DELETE FROM kv_store WHERE tenant = ? AND key = ?", (tenant, key)
            )
        return live > 0

    def _list_keys(self, tenant: str, prefix: str) -> list[str]:
        # "key >= prefix" lets SQLite walk the primary key from the prefix on.
        rows = self._connection.execute(
            f"SELECT key FROM kv_store WHERE tenant = ? AND key >= ? AND {_LIVE}"
            " AND substr(key, 1, ?) = ?",
            (tenant, prefix, self._now_ms(), len(prefix), prefix),
        ).fetchall()
        return sorted(str(row[0]) for row in rows)

    def _write_batch(self, tenant: str, batch: Batch) -> bool:
        now = self._now_ms()
        expected = batch.guard[1] if batch.guard else None

        def guard_ok(raw: str | None) -> bool:
            return guard_holds(raw, expected, tenant, self._name)

        written = runsql.write_rows(self._connection, tenant, batch, now, guard_ok)
        self._purge_if_due(now)
        return written

    def _get_many(self, tenant: str, keys: list[str]) -> list[tuple[str, str]]:
        return runsql.get_many(self._connection, tenant, keys, self._now_ms())

    def _scan(
        self,
        tenant: str,
        prefix: str,
        start_after: str | None,
        limit: int | None,
        where: dict[str, str],
    ) -> list[tuple[str, str]]:
        now = self._now_ms()
        return runsql.scan(self._connection, tenant, prefix, start_after, limit, where, now)

    def _delete_prefix(self, tenant: str, prefix: str, before: int | None) -> int:
        return runsql.delete_prefix(self._connection, tenant, prefix, before, self._now_ms())

    def _notify(self, tenant: str, channel: str) -> None:
        runsql.add_notifications(self._connection, tenant, [channel], self._now_ms())

    # ------------------------------------------------------------------ signals between processes

    def _ensure_poller(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._pollers.get(loop)
        if task is not None and not task.done():
            return
        try:
            if self._watcher is None:
                self._watcher = runsql.Watcher(self._path, _BUSY_TIMEOUT_S)
            # Taken now, on the caller's thread: no signal committed after the wait was
            # registered is missed.
            mark = self._watcher.mark()
        except sqlite3.Error as error:
            raise call_failed(self._name, "wait for", "", "<signals>", error) from error
        self._pollers[loop] = loop.create_task(
            self._poll(self._watcher, mark), name="flowai-kv-sqlite-notify"
        )

    async def _poll(self, watcher: runsql.Watcher, mark: tuple[int, int]) -> None:
        loop = asyncio.get_running_loop()
        idle = 0.0
        version, last_id = mark
        try:
            while not self._closed:
                await asyncio.sleep(_NOTIFY_POLL_S)
                idle = 0.0 if len(self._channels) else idle + _NOTIFY_POLL_S
                if idle >= _NOTIFY_LINGER_S:
                    return
                version, last_id, signals = await asyncio.to_thread(watcher.since, version, last_id)
                for tenant, channel in signals:
                    self._channels.signal(tenant, channel)
        except (sqlite3.Error, RuntimeError) as error:
            if not self._closed:
                _log.warning(
                    "%s: stopped watching for signals of other processes (%s: %s); waiters "
                    "fall back to their timeouts",
                    self._name,
                    type(error).__name__,
                    error,
                )
            self._channels.signal_all()
        finally:
            if self._pollers.get(loop) is asyncio.current_task():
                del self._pollers[loop]

    # ------------------------------------------------------------------ plumbing

    @property
    def _name(self) -> str:
        return f"SQLite KV store '{self._path}'"

    async def _call(
        self, action: str, tenant: str, key: str, fn: Callable[..., R], *args: Any
    ) -> R:
        if self._closed:
            raise closed_store(self._name, action, key)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except sqlite3.Error as error:
            raise call_failed(self._name, action, tenant, key, error) from error
        except RuntimeError:
            if self._closed:  # closed while this call waited for the worker
                raise closed_store(self._name, action, key) from None
            raise


def _release(connection: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
    executor.shutdown(wait=False)
    connection.close()
