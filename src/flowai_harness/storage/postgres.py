"""The Postgres key-value store (``data_environment.kv`` kind ``postgres``).

Layout: ``<table>(tenant TEXT, key TEXT, value JSONB, expires_at TIMESTAMPTZ
NULL, created_at, updated_at, PRIMARY KEY(tenant, key))`` plus a partial index on
``expires_at``; created only when ``ensure_schema`` is set, under an advisory lock and
versioned in ``flowai_kv_schema_version``, so a fleet starting at once sets it up once. Expiry
is judged by the server clock (``now()``), so every process sharing the table agrees; TTLs keep
millisecond precision.

``psycopg`` (3) and ``psycopg_pool`` are imported on first use; without them opening the store
raises ``MissingDependencyError`` naming the ``postgres`` extra. Each event loop that uses the
store gets its own async connection pool (see ``PerLoop``).

JSONB normalises what it stores: object keys come back in JSONB order, numbers written in
exponent form come back in positional form (``1e16`` reads back as the integer
``10000000000000000``, equal in value), and strings cannot hold ``\\u0000`` (such a write
raises ``StoreError``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from flowai_harness.errors import DataEnvironmentError, MissingDependencyError, StoreError
from flowai_harness.specs.data_environment import redact_url
from flowai_harness.storage._backend import (
    PerLoop,
    call_failed,
    check_ttl,
    closed_store,
    decode_value,
    encode_value,
    kv_location,
    open_failed,
    scrub_secrets,
)
from flowai_harness.storage._postgres_group import GroupWriter
from flowai_harness.storage._postgres_runstore import (
    Listener,
    batch_statement,
    group_statement,
    notify_channel,
    payload,
    prefix_range,
    scan_statement,
)
from flowai_harness.storage._postgres_schema import SCHEMA_VERSION_TABLE, migrate
from flowai_harness.storage._runstore import (
    Batch,
    Channels,
    check_delete_prefix,
    check_scan,
    prepare_batch,
)

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.sql import Composed
    from psycopg_pool import AsyncConnectionPool

__all__ = ["SCHEMA_VERSION_TABLE", "PostgresKeyValueStore"]

R = TypeVar("R")

_IDENTIFIER = re.compile(r"[A-Za-z0-9_]+")
_CONNECT_TIMEOUT_S = 10
#: the default ``data_environment.kv.pool_size``: connections per event loop
DEFAULT_POOL_SIZE = 10
_PURGE_EVERY_S = 60.0
_LIVE = "(expires_at IS NULL OR expires_at > now())"


def _require_driver() -> None:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as error:
        raise MissingDependencyError(
            "data_environment.kv kind 'postgres' needs psycopg 3 and psycopg_pool "
            f"({error.name or 'psycopg'} is not installed): "
            "pip install 'flowai-harness[postgres]'"
        ) from None


class PostgresKeyValueStore:
    """A ``KeyValueStore`` in one Postgres table.

    Construction connects once (synchronously) to fail fast: it creates the table when
    ``ensure_schema`` is set and otherwise checks that it exists with the expected columns.
    Connections for the async calls are pooled per event loop, opened on first use, and
    named ``flowai-kv-<table>`` (``application_name``) for the server's activity views.

    Args:
        url: A libpq connection URL or keyword string; it may hold a password, which never
            appears in errors.
        table: Table name, ``[A-Za-z0-9_]+`` (quoted, so its case is kept).
        ensure_schema: Create the table and its indexes when missing, and bring an older
            table's indexes up to date.
        source: How the URL was given, for messages (``url`` or ``url_env NAME``).
        pool_size: At most this many pooled connections per event loop (plus one ``LISTEN``
            connection per loop that waits for signals).

    Raises:
        MissingDependencyError: psycopg or psycopg_pool is not installed.
        DataEnvironmentError: ``table`` is not an identifier, the server cannot be reached, or
            the table is missing (without ``ensure_schema``) or lacks expected columns.
    """

    def __init__(
        self,
        url: str,
        *,
        table: str = "kv_store",
        ensure_schema: bool = False,
        source: str = "url",
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        if not isinstance(table, str) or _IDENTIFIER.fullmatch(table) is None:
            raise DataEnvironmentError(
                f"data_environment.kv.table must match [A-Za-z0-9_]+; got {table!r}"
            )
        _require_driver()
        self._url = url
        self._table = table
        self._where = kv_location("postgres", url, source)
        self._closed = False
        self._next_purge = 0.0
        self._statements: dict[str, Composed] = {}
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise DataEnvironmentError(
                f"data_environment.kv.pool_size must be an integer >= 1; got {pool_size!r}"
            )
        self._pool_size = pool_size
        self._pools: PerLoop[AsyncConnectionPool[Any]] = PerLoop(self._open_pool, _close_pool)
        self._channel = notify_channel(table)
        self._channels = Channels()
        self._listeners: PerLoop[Listener] = PerLoop(self._open_listener, _close_listener)
        self._groups: PerLoop[GroupWriter] = PerLoop(self._open_group, _close_group)
        self._check_table(ensure_schema)

    @property
    def table(self) -> str:
        """The table holding the entries."""
        return self._table

    def __repr__(self) -> str:
        return f"PostgresKeyValueStore(url={redact_url(self._url)!r}, table={self._table!r})"

    # ------------------------------------------------------------------ the KeyValueStore port

    async def get(self, tenant: str, key: str) -> Any | None:
        """Return the stored value, or ``None`` when missing or expired."""
        query = self._sql(
            f"SELECT value::text FROM {{table}} WHERE tenant = %s AND key = %s AND {_LIVE}"
        )

        async def read(conn: AsyncConnection[Any]) -> Any:
            cursor = await conn.execute(query, (tenant, key))
            return await cursor.fetchone()

        row = await self._run("read", tenant, key, read)
        return None if row is None else decode_value(row[0], tenant, key, self._name)

    async def put(self, tenant: str, key: str, value: Any, ttl_ms: int | None = None) -> None:
        """Store ``value`` under ``key``; ``ttl_ms`` of ``None`` never expires."""
        ttl = check_ttl(ttl_ms)
        text = encode_value(value, tenant, key).decode()
        # An entry that had expired is a new entry: its created_at restarts.
        upsert = self._sql(
            "INSERT INTO {table} AS t (tenant, key, value, expires_at)"
            " VALUES (%s, %s, %s::jsonb, now() + %s::float8 * interval '1 millisecond')"
            " ON CONFLICT (tenant, key) DO UPDATE SET value = EXCLUDED.value,"
            " expires_at = EXCLUDED.expires_at, updated_at = now(),"
            " created_at = CASE WHEN t.expires_at IS NOT NULL AND t.expires_at <= now()"
            " THEN now() ELSE t.created_at END"
        )
        purge = self._purge_due()

        async def write(conn: AsyncConnection[Any]) -> None:
            await conn.execute(upsert, (tenant, key, text, ttl))
            if purge is not None:
                await conn.execute(purge)

        await self._run("write", tenant, key, write)

    async def delete(self, tenant: str, key: str) -> bool:
        """Delete ``key``; return whether it existed (expired entries count as missing)."""
        query = self._sql(f"DELETE FROM {{table}} WHERE tenant = %s AND key = %s RETURNING {_LIVE}")

        async def remove(conn: AsyncConnection[Any]) -> bool:
            cursor = await conn.execute(query, (tenant, key))
            row = await cursor.fetchone()
            return bool(row and row[0])

        return await self._run("delete", tenant, key, remove)

    async def compare_and_set(
        self, tenant: str, key: str, expected: Any | None, value: Any, ttl_ms: int | None = None
    ) -> bool:
        """Store ``value`` if the live value of ``key`` equals ``expected`` (JSONB equality).

        ``expected=None`` matches a missing or expired key. Each case is one statement: an
        ``UPDATE ... WHERE value = expected`` or an ``INSERT ... ON CONFLICT DO UPDATE ... WHERE
        expired``; the row lock makes concurrent callers take turns, and each re-checks the
        condition against the row the previous one committed.
        """
        ttl = check_ttl(ttl_ms)
        text = encode_value(value, tenant, key).decode()
        wanted = encode_value(expected, tenant, key).decode()
        if expected is None:
            statement = self._sql(
                "INSERT INTO {table} AS t (tenant, key, value, expires_at)"
                " VALUES (%s, %s, %s::jsonb, now() + %s::float8 * interval '1 millisecond')"
                " ON CONFLICT (tenant, key) DO UPDATE SET value = EXCLUDED.value,"
                " expires_at = EXCLUDED.expires_at, updated_at = now(), created_at = now()"
                " WHERE (t.expires_at IS NOT NULL AND t.expires_at <= now())"
                " OR t.value = 'null'::jsonb"
                " RETURNING 1"
            )
            params: tuple[Any, ...] = (tenant, key, text, ttl)
        else:
            statement = self._sql(
                "UPDATE {table} SET value = %s::jsonb,"
                " expires_at = now() + %s::float8 * interval '1 millisecond', updated_at = now()"
                f" WHERE tenant = %s AND key = %s AND {_LIVE} AND value = %s::jsonb"
                " RETURNING 1"
            )
            params = (text, ttl, tenant, key, wanted)

        async def swap(conn: AsyncConnection[Any]) -> bool:
            cursor = await conn.execute(statement, params)
            return await cursor.fetchone() is not None

        return await self._run("compare-and-set", tenant, key, swap)

    async def list_keys(self, tenant: str, prefix: str) -> list[str]:
        """Return the live keys of ``tenant`` starting with ``prefix``, sorted by code point."""
        query = self._sql(
            f"SELECT key FROM {{table}} WHERE tenant = %s AND starts_with(key, %s) AND {_LIVE}"
        )

        async def keys(conn: AsyncConnection[Any]) -> list[str]:
            cursor = await conn.execute(query, (tenant, prefix))
            return sorted(str(row[0]) for row in await cursor.fetchall())

        return await self._run("list", tenant, prefix, keys)

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
        """Write the batch in one statement (one transaction) if the guard holds.

        ``pg_notify`` runs in the same transaction, so a signal is delivered only if the batch
        commits. A guard of ``None`` first takes an advisory lock on the guard key (a second
        statement in the same transaction).
        """
        batch = prepare_batch(tenant, puts, deletes, guard, notify)
        if self._closed:
            raise closed_store(self._name, "write-batch", _first_key(batch))
        writer = await self._groups.get()
        written = await writer.submit(tenant, batch)
        if written:
            # The LISTEN connection delivers these too; waking local waiters now saves the
            # round trip.
            for channel in batch.notify:
                self._channels.signal(tenant, channel)
        return written

    async def _write_one(self, tenant: str, batch: Batch) -> bool:
        """Write one batch in its own statement (two, under an advisory lock, when its guard
        is ``None``)."""
        statement, params = batch_statement(self._table, tenant, batch, self._channel)
        absent_guard = batch.guard is not None and batch.guard[1] is None

        async def write(conn: AsyncConnection[Any]) -> bool:
            if not absent_guard:
                cursor = await conn.execute(statement, params)
                row = await cursor.fetchone()
                return bool(row and row[0])
            assert batch.guard is not None
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (payload(self._table, f"{tenant}/{batch.guard[0]}"),),
                )
                cursor = await conn.execute(statement, params)
                row = await cursor.fetchone()
                return bool(row and row[0])

        return await self._run("write-batch", tenant, _first_key(batch), write)

    async def _write_many(self, batches: Sequence[tuple[str, Batch]]) -> list[bool]:
        """Write batches with disjoint keys in one statement, each under its own guard."""
        statement, params = group_statement(self._table, batches, self._channel)

        async def write(conn: AsyncConnection[Any]) -> list[bool]:
            cursor = await conn.execute(statement, params)
            row = await cursor.fetchone()
            assert row is not None
            return [bool(held) for held in row[: len(batches)]]

        tenant, batch = batches[0]
        return await self._run("write-batch", tenant, _first_key(batch), write)

    async def _open_group(self) -> GroupWriter:
        return GroupWriter(
            self._write_one,
            self._write_many,
            lambda: closed_store(self._name, "write-batch", "<batch>"),
        )

    async def get_many(self, tenant: str, keys: Sequence[str]) -> dict[str, Any]:
        """Return the live values of those ``keys`` that exist (one statement)."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        query = self._sql(
            "SELECT key, value::text FROM {table} WHERE tenant = %s"
            f" AND key = ANY(%s::text[]) AND {_LIVE}"
        )

        async def read(conn: AsyncConnection[Any]) -> list[Any]:
            cursor = await conn.execute(query, (tenant, wanted))
            return await cursor.fetchall()

        rows = await self._run("read", tenant, wanted[0], read)
        return {str(k): decode_value(v, tenant, str(k), self._name) for k, v in rows}

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

        One statement over the ``(tenant, key COLLATE "C")`` index; ``where`` on ``threadId``
        and ``status`` uses their partial indexes.
        """
        fields = check_scan(prefix, start_after, limit, where)
        query, params = scan_statement(self._table, tenant, prefix, start_after, limit, fields)

        async def read(conn: AsyncConnection[Any]) -> list[Any]:
            cursor = await conn.execute(query, params)
            return await cursor.fetchall()

        rows = await self._run("scan", tenant, prefix, read)
        return [(str(k), decode_value(v, tenant, str(k), self._name)) for k, v in rows]

    async def delete_prefix(
        self, tenant: str, prefix: str, *, updated_before_ms: int | None = None
    ) -> int:
        """Delete the live keys starting with ``prefix`` (last written before the epoch-ms
        instant, if given); return how many went."""
        check_delete_prefix(prefix, updated_before_ms)
        low, high = prefix_range(prefix)
        text = (
            'DELETE FROM {table} WHERE tenant = %s AND key COLLATE "C" >= %s'
            f" AND starts_with(key, %s) AND {_LIVE}"
        )
        params: list[Any] = [tenant, low, prefix]
        if high is not None:
            text += ' AND key COLLATE "C" < %s'
            params.append(high)
        if updated_before_ms is not None:
            text += " AND updated_at < to_timestamp(%s::float8 / 1000)"
            params.append(updated_before_ms)
        query = self._sql(text)

        async def remove(conn: AsyncConnection[Any]) -> int:
            cursor = await conn.execute(query, params)
            return int(cursor.rowcount)

        return await self._run("delete", tenant, prefix, remove)

    def wait_notify(self, tenant: str, channel: str, timeout: float) -> Awaitable[bool]:
        """Start waiting for ``channel`` now; the result is ``True`` once it is signalled.

        Each event loop that waits keeps one ``LISTEN`` connection; a signal from another
        process arrives as soon as its transaction commits.
        """
        if self._closed:
            raise closed_store(self._name, "wait for", channel)
        name, waiter = self._channels.register(tenant, channel)
        return self._wait(name, waiter, timeout)

    async def notify(self, tenant: str, channel: str) -> None:
        """Signal ``channel`` to the waiters of every process sharing the table."""
        text = payload(tenant, channel)

        async def send(conn: AsyncConnection[Any]) -> None:
            await conn.execute("SELECT pg_notify(%s, %s)", (self._channel, text))

        await self._run("notify", tenant, channel, send)
        self._channels.signal(tenant, channel)

    async def close(self) -> None:
        """Close the connection pools; later calls raise ``StoreError``. Idempotent."""
        self._closed = True
        await self._listeners.close()
        await self._groups.close()
        await self._pools.close()

    # ------------------------------------------------------------------ plumbing

    @property
    def _name(self) -> str:
        return f"Postgres KV store (table '{self._table}' at '{redact_url(self._url)}')"

    def _sql(self, text: str) -> Composed:
        """Return ``text`` with ``{table}`` bound to the quoted table name (built once)."""
        statement = self._statements.get(text)
        if statement is None:
            from psycopg import sql

            statement = sql.SQL(text).format(table=sql.Identifier(self._table))
            self._statements[text] = statement
        return statement

    async def _wait(self, name: tuple[str, str], waiter: Any, timeout: float) -> bool:
        started = time.monotonic()
        try:
            listener = await self._listeners.get()
            if not listener.ready.is_set():
                # Its first connection wakes every waiter anyway (see Listener).
                await asyncio.wait_for(listener.ready.wait(), timeout)
        except TimeoutError:
            pass
        except BaseException:
            await self._channels.wait(name, waiter, 0)
            raise
        left = max(0.0, timeout - (time.monotonic() - started))
        return await self._channels.wait(name, waiter, left)

    async def _open_listener(self) -> Listener:
        return Listener(self._url, self._channel, self._channels, self._name)

    def _purge_due(self) -> Composed | None:
        if time.monotonic() < self._next_purge:
            return None
        self._next_purge = time.monotonic() + _PURGE_EVERY_S
        return self._sql("DELETE FROM {table} WHERE expires_at <= now()")

    async def _open_pool(self) -> AsyncConnectionPool[Any]:
        from psycopg_pool import AsyncConnectionPool, PoolTimeout

        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self._url,
            min_size=1,
            max_size=self._pool_size,
            open=False,
            kwargs={
                "autocommit": True,
                "connect_timeout": _CONNECT_TIMEOUT_S,
                "application_name": f"flowai-kv-{self._table}"[:63],
            },
            name=f"flowai-kv-{self._table}",
        )
        try:
            await pool.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
        except PoolTimeout as error:
            await pool.close()
            raise StoreError(
                f"{self._name}: cannot connect within {_CONNECT_TIMEOUT_S} s: "
                f"{scrub_secrets(str(error), self._url)}"
            ) from None
        return pool

    async def _run(
        self,
        action: str,
        tenant: str,
        key: str,
        work: Callable[[AsyncConnection[Any]], Awaitable[R]],
    ) -> R:
        import psycopg
        from psycopg_pool import PoolTimeout

        if self._closed:
            raise closed_store(self._name, action, key)
        pool = await self._pools.get()
        try:
            return await self._attempt(pool, work)
        except (psycopg.Error, PoolTimeout) as error:
            raise call_failed(self._name, action, tenant, key, error, url=self._url) from None

    @staticmethod
    async def _attempt(
        pool: AsyncConnectionPool[Any], work: Callable[[AsyncConnection[Any]], Awaitable[R]]
    ) -> R:
        import psycopg

        # Pooled connections are not pinged before use (that would double every call's round
        # trips). A connection the server dropped (restart, idle timeout) fails at once and the
        # pool discards it; the call is then tried once more on a fresh connection. Every call
        # is idempotent, except that a retried delete may report False for a row the first
        # attempt removed, and a retried compare-and-set False for a write the first attempt
        # made (never a second write: the condition no longer holds).
        broken = False
        try:
            async with pool.connection() as conn:
                try:
                    return await work(conn)
                except psycopg.OperationalError:
                    broken = conn.broken
                    if not broken:
                        raise
        except psycopg.OperationalError:
            if not broken:
                raise
        async with pool.connection() as conn:
            return await work(conn)

    def _check_table(self, ensure_schema: bool) -> None:
        import psycopg

        try:
            with psycopg.connect(
                self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
            ) as conn:
                if ensure_schema:
                    migrate(conn, self._table)
                conn.execute(
                    self._sql("SELECT tenant, key, value, expires_at FROM {table} LIMIT 0")
                )
        except psycopg.errors.UndefinedTable:
            raise DataEnvironmentError(
                f"{self._where}: the table '{self._table}' does not exist; create it or set "
                "ensure_schema=True"
            ) from None
        except psycopg.errors.UndefinedColumn as error:
            raise DataEnvironmentError(
                f"{self._where}: the table '{self._table}' does not have the KV columns "
                f"(tenant, key, value, expires_at): {scrub_secrets(str(error), self._url)}"
            ) from None
        except psycopg.Error as error:
            raise open_failed(self._where, error, self._url) from None


async def _close_pool(pool: AsyncConnectionPool[Any]) -> None:
    await pool.close()


async def _close_listener(listener: Listener) -> None:
    await listener.close()


async def _close_group(writer: GroupWriter) -> None:
    await writer.close()


def _first_key(batch: Batch) -> str:
    """The key a batch's errors name: its first put, else its guard."""
    return next(iter(batch.puts), batch.guard[0] if batch.guard else "<batch>")
