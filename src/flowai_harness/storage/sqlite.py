"""The SQLite key-value store (``data_environment.kv`` kind ``sqlite``).

Layout: table ``kv_store(tenant TEXT, key TEXT, value TEXT, expires_at INTEGER
NULL, PRIMARY KEY(tenant, key))``, created on open whatever ``ensure_schema`` says; ``value`` is
JSON text and ``expires_at`` epoch milliseconds. The database runs in WAL mode with a 5 s busy
timeout, so several processes can share one file.

The stdlib ``sqlite3`` module blocks, so each store owns one connection served by one worker
thread: calls never block the event loop, run one at a time in the order they were made, and
work from any event loop.
"""

from __future__ import annotations

import asyncio
import functools
import math
import os
import sqlite3
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from flowai_harness.errors import DataEnvironmentError
from flowai_harness.storage._backend import (
    call_failed,
    check_ttl,
    closed_store,
    decode_value,
    encode_value,
    json_equal,
)

__all__ = ["SqliteKeyValueStore", "sqlite_path"]

R = TypeVar("R")

_PREFIX = "sqlite:"
_BUSY_TIMEOUT_S = 5.0
_PURGE_EVERY_S = 60.0
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

    async def close(self) -> None:
        """Close the database; later calls raise ``StoreError``. Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connection.close)
        self._finalizer.detach()
        self._executor.shutdown(wait=False)

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
            "INSERT OR REPLACE INTO kv_store (tenant, key, value, expires_at) VALUES (?, ?, ?, ?)",
            (tenant, key, text, expires_at),
        )
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + _PURGE_EVERY_S
            self._connection.execute(
                "DELETE FROM kv_store WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)
            )

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
