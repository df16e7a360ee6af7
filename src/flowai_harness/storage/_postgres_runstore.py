"""The SQL and the ``LISTEN`` connection of the Postgres store's ``RunStore`` side.

* A batch is one statement (so one transaction and one round trip): a ``WITH`` query whose
  guard CTE locks the guard row ``FOR UPDATE`` when its value matches, and whose upsert,
  delete and ``pg_notify`` parts run only when the guard CTE has a row. Under READ COMMITTED a
  guard row changed by a concurrent transaction is re-checked against the committed version
  after the lock is granted, so two batches guarded by the same value cannot both commit.
  A guard of ``None`` (absent) has no row to lock: the batch first takes a transaction
  advisory lock on the guard key (two statements, one transaction), so guarded batches on an
  absent key take turns.
* Signals: every store instance over one table uses one Postgres channel, named from a hash
  of the table (``flowai_kv_<hash>``, a valid identifier whatever the table is called); the
  payload is ``[tenant, channel]`` as JSON. Each event loop that waits opens one dedicated
  connection that ``LISTEN`` s and wakes the waiters of the named channel.
* Scans compare keys ``COLLATE "C"`` (code-point order) over the index
  ``<table>_key_c_idx``; ``where`` on ``threadId`` / ``status`` uses the partial expression
  indexes ``<table>_threadid_idx`` / ``<table>_status_idx``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from flowai_harness.storage._runstore import INDEXED_FIELDS, Batch, Channels

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.sql import Composed

__all__ = [
    "Listener",
    "batch_statement",
    "group_statement",
    "notify_channel",
    "prefix_range",
    "scan_statement",
]

_log = logging.getLogger(__name__)
_LIVE = "(expires_at IS NULL OR expires_at > now())"
_RECONNECT_S = 0.5
_UPSERT = (
    " ON CONFLICT (tenant, key) DO UPDATE SET value = EXCLUDED.value, expires_at = NULL,"
    " updated_at = now(), created_at = CASE WHEN t.expires_at IS NOT NULL"
    " AND t.expires_at <= now() THEN now() ELSE t.created_at END"
)


def notify_channel(table: str) -> str:
    """The Postgres channel every store instance over ``table`` signals on."""
    return f"flowai_kv_{hashlib.sha256(table.encode()).hexdigest()[:24]}"


def prefix_range(prefix: str) -> tuple[str, str | None]:
    """``(low, high)``: the keys starting with ``prefix`` are ``>= low`` and ``< high`` in
    code-point order (``high`` is ``None`` when nothing bounds them)."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return prefix, None
    return prefix, stripped[:-1] + chr(ord(stripped[-1]) + 1)


def schema_steps(table: str) -> list[Composed]:
    """The ``RunStore`` schema steps, appended after the table's first two."""
    from psycopg import sql

    name = sql.Identifier(table)
    steps = [
        sql.SQL('CREATE INDEX IF NOT EXISTS {index} ON {table} (tenant, key COLLATE "C")').format(
            index=sql.Identifier(f"{table}_key_c_idx"[:63]), table=name
        )
    ]
    for field in INDEXED_FIELDS:
        steps.append(
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS {index} ON {table} (tenant, (value ->> {field}))"
                " WHERE value ? {field}"
            ).format(
                index=sql.Identifier(f"{table}_{field.lower()}_idx"[:63]),
                table=name,
                field=sql.Literal(field),
            )
        )
    return steps


def batch_statement(
    table: str, tenant: str, batch: Batch, channel: str
) -> tuple[str, dict[str, Any]]:
    """The one statement writing ``batch``; its first column says whether the guard held."""
    return group_statement(table, [(tenant, batch)], channel)


def group_statement(
    table: str, batches: Sequence[tuple[str, Batch]], channel: str
) -> tuple[str, dict[str, Any]]:
    """One statement writing several batches with disjoint keys, each under its own guard.

    Column ``i`` of its one row says whether batch ``i``'s guard held (only then is it
    written). The text depends only on the batches' shapes (which parts each has, the kind of
    guard), so it is built once per combination, and psycopg's prepared statements apply.
    """
    params: dict[str, Any] = {}
    shapes = []
    for index, (tenant, batch) in enumerate(batches):
        guard_kind = "" if batch.guard is None else "absent" if batch.guard[1] is None else "value"
        shapes.append((bool(batch.puts), bool(batch.deletes), guard_kind, bool(batch.notify)))
        params[f"t{index}"] = tenant
        if batch.guard is not None:
            params[f"gk{index}"] = batch.guard[0]
            if batch.guard[1] is not None:
                params[f"gv{index}"] = orjson.dumps(batch.guard[1]).decode()
        if batch.puts:
            # One JSON object, not a text[] of JSON texts: psycopg escapes array elements in
            # Python, which cost more than the rest of the batch.
            params[f"p{index}"] = b"".join(
                (b"{", b",".join(orjson.dumps(k) + b":" + v for k, v in batch.puts.items()), b"}")
            ).decode()
        if batch.deletes:
            params[f"d{index}"] = list(batch.deletes)
        if batch.notify:
            params["pg_channel"] = channel
            params[f"n{index}"] = [payload(tenant, name) for name in batch.notify]
    return _group_sql(table, tuple(shapes)), params


@functools.lru_cache(maxsize=512)
def _group_sql(table: str, shapes: tuple[tuple[bool, bool, str, bool], ...]) -> str:
    from psycopg import sql

    quoted = sql.Identifier(table).as_string()
    ctes: list[str] = []
    held: list[str] = []
    signals: list[str] = []
    for i, (puts, deletes, guard_kind, notify) in enumerate(shapes):
        ctes.extend(_group_ctes(quoted, i, puts, deletes, guard_kind, notify))
        held.append(f"EXISTS (SELECT 1 FROM g{i})")
        if notify:
            # A SELECT in WITH runs only if referenced: the final SELECT counts its rows.
            signals.append(f"(SELECT count(*) FROM s{i})")
    columns = held + ([" + ".join(signals)] if signals else [])
    return f"WITH {', '.join(ctes)} SELECT {', '.join(columns)}"


def _group_ctes(
    table: str, i: int, puts: bool, deletes: bool, guard_kind: str, notify: bool
) -> list[str]:
    where = f"tenant = %(t{i})s AND key = %(gk{i})s AND {_LIVE}"
    if not guard_kind:
        guard = "SELECT 1"
    elif guard_kind == "absent":
        guard = (
            f"SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {where}"
            " AND value <> 'null'::jsonb)"
        )
    else:
        guard = f"SELECT 1 FROM {table} WHERE {where} AND value = %(gv{i})s::jsonb FOR UPDATE"
    ctes = [f"g{i} AS ({guard})"]
    if puts:
        ctes.append(
            f"ins{i} AS (INSERT INTO {table} AS t (tenant, key, value, expires_at)"
            f" SELECT %(t{i})s, u.k, u.v, NULL FROM jsonb_each(%(p{i})s::jsonb) AS u(k, v)"
            f" WHERE EXISTS (SELECT 1 FROM g{i}){_UPSERT} RETURNING 1)"
        )
    if deletes:
        ctes.append(
            f"del{i} AS (DELETE FROM {table} WHERE tenant = %(t{i})s"
            f" AND key = ANY(%(d{i})s::text[]) AND EXISTS (SELECT 1 FROM g{i}) RETURNING 1)"
        )
    if notify:
        ctes.append(
            f"s{i} AS (SELECT pg_notify(%(pg_channel)s, p) FROM unnest(%(n{i})s::text[]) AS p"
            f" WHERE EXISTS (SELECT 1 FROM g{i}))"
        )
    return ctes


def payload(tenant: str, channel: str) -> str:
    """The ``pg_notify`` payload naming one ``(tenant, channel)``."""
    return orjson.dumps([tenant, channel]).decode()


def scan_statement(
    table: str,
    tenant: str,
    prefix: str,
    start_after: str | None,
    limit: int | None,
    where: Mapping[str, str],
    *,
    select: str = "key, value::text",
) -> tuple[Composed, list[Any]]:
    """``SELECT <select>`` over the live keys with ``prefix`` (and the rest), by key."""
    from psycopg import sql

    low, high = prefix_range(prefix)
    text = (
        f'SELECT {select} FROM {{table}} WHERE tenant = %s AND key COLLATE "C" >= %s'
        f" AND starts_with(key, %s) AND {_LIVE}"
    )
    params: list[Any] = [tenant, low, prefix]
    if high is not None:
        text += ' AND key COLLATE "C" < %s'
        params.append(high)
    if start_after is not None:
        text += ' AND key COLLATE "C" > %s'
        params.append(start_after)
    query = sql.SQL(text).format(table=sql.Identifier(table))
    for field, wanted in where.items():
        query += sql.SQL(" AND value ? {field} AND value ->> {field} = %s").format(
            field=sql.Literal(field)
        )
        params.append(wanted)
    query += sql.SQL(' ORDER BY key COLLATE "C"')
    if limit is not None:
        query += sql.SQL(" LIMIT %s")
        params.append(limit)
    return query, params


class Listener:
    """One ``LISTEN`` connection of one event loop; wakes :class:`Channels` waiters.

    It reconnects after a failure; every (re)connection wakes every waiter, who then reads the
    store again (a signal sent while no connection listened is not lost that way).
    """

    def __init__(self, url: str, channel: str, channels: Channels, name: str) -> None:
        self._url = url
        self._channel = channel
        self._channels = channels
        self._name = name
        self.ready = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self._listen(), name="flowai-kv-postgres-listen"
        )

    async def close(self) -> None:
        """Stop listening and close the connection."""
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def _listen(self) -> None:
        from psycopg import AsyncConnection, sql

        failures = 0
        while True:
            conn: AsyncConnection[Any] | None = None
            try:
                conn = await AsyncConnection.connect(
                    self._url,
                    autocommit=True,
                    connect_timeout=10,
                    application_name="flowai-kv-listen",
                )
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                failures = 0
                self.ready.set()
                self._channels.signal_all()
                async for note in conn.notifies():
                    self._deliver(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                if failures == 1:
                    _log.warning(
                        "%s: the LISTEN connection failed (%s); reconnecting, waiters fall back "
                        "to their timeouts meanwhile",
                        self._name,
                        type(error).__name__,
                    )
                self.ready.clear()
                await asyncio.sleep(_RECONNECT_S)
            finally:
                if conn is not None:
                    await conn.close()

    def _deliver(self, raw: str) -> None:
        try:
            tenant, channel = orjson.loads(raw)
        except (orjson.JSONDecodeError, ValueError, TypeError):
            return  # not ours: someone else notified on the channel
        if isinstance(tenant, str) and isinstance(channel, str):
            self._channels.signal(tenant, channel)
