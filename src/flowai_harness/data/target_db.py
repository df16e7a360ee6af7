"""The target database port: the read-only source where samples and agent queries run.

Two backends, chosen by the data environment: ``sqlite`` (a file opened read-only) and
``postgres`` (pooled, every statement in a ``READ ONLY`` transaction with a 30 s statement
timeout). Both accept only what :mod:`flowai_harness.data.sql_safety` lets through, and both
return rows as JSON-safe dicts.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import math
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from flowai_harness.data.sql_safety import Dialect, prepare_query
from flowai_harness.errors import DataEnvironmentError, SqlRejectedError

__all__ = [
    "MAX_SAMPLE_ROWS",
    "STATEMENT_TIMEOUT_S",
    "BlockingTargetDatabase",
    "QueryResult",
    "TargetDatabase",
    "json_value",
    "open_target_database",
    "quoted_table_name",
    "rows_to_result",
]

#: Statement timeout of every query, in seconds.
STATEMENT_TIMEOUT_S = 30.0
#: Backends never return more sample rows than this.
MAX_SAMPLE_ROWS = 100

_NAME_SEGMENT = re.compile(r"[A-Za-z0-9_]+")
_FORBIDDEN_SEGMENTS = frozenset(
    {"drop", "delete", "truncate", "insert", "update", "alter", "create"}
)


@dataclass(slots=True)
class QueryResult:
    """Rows of a query: column names, rows as ``{column: value}``, and whether more existed."""

    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        """How many rows are returned."""
        return len(self.rows)


@runtime_checkable
class TargetDatabase(Protocol):
    """A read-only database for ``execute_query`` and ``sample_table_data``."""

    #: descriptor kind (``sqlite`` or ``postgres``)
    kind: str
    #: SQL dialect used to check statements
    dialect: Dialect
    #: schema profiling and unqualified sampling default to
    default_schema: str

    async def execute_query(
        self, sql: str, params: Sequence[Any] = (), *, limit: int = 100
    ) -> QueryResult:
        """Check and run one read-only query; at most ``limit`` rows, ``truncated`` if more."""
        ...

    async def sample_table(
        self, table: str, columns: Sequence[str] | None, limit: int
    ) -> QueryResult:
        """Return up to ``limit`` rows (capped at 100) of ``table`` (``[schema.]table``)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def json_value(value: Any) -> Any:
    """Return a database value as JSON: dates as ISO strings, decimals as numbers when exact,
    bytes as base64, non-finite floats as strings, containers converted recursively."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out: list[str] = []
    for name in names:
        candidate, n = name, seen.get(name, 0)
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen[name] = n
        seen.setdefault(candidate, 0)
        out.append(candidate)
    return out


def rows_to_result(names: Sequence[str], rows: Sequence[Sequence[Any]], limit: int) -> QueryResult:
    """Build a :class:`QueryResult` from driver rows fetched with ``LIMIT limit + 1``.

    Duplicate column names (``a.id, b.id``) get ``_1``, ``_2`` suffixes so no value is lost.
    """
    columns = _unique_names([str(name) for name in names])
    kept = rows[:limit]
    return QueryResult(
        columns=columns,
        rows=[dict(zip(columns, (json_value(v) for v in row), strict=False)) for row in kept],
        truncated=len(rows) > limit,
    )


def quoted_table_name(table: str) -> list[str]:
    """Check a physical table name for ``sample_table_data``; return its segments.

    Rules (guides.md §2.3): only ``[A-Za-z0-9_.]``, at most 128 characters, no ``--`` or ``/*``,
    no segment equal to drop/delete/truncate/insert/update/alter/create.

    Raises:
        SqlRejectedError: The name breaks a rule.
    """
    if not table or len(table) > 128:
        raise SqlRejectedError(f"invalid table name for sample_table_data: {table[:140]!r}")
    if "--" in table or "/*" in table:
        raise SqlRejectedError(f"invalid table name for sample_table_data: {table!r}")
    segments = table.split(".")
    for segment in segments:
        if not _NAME_SEGMENT.fullmatch(segment):
            raise SqlRejectedError(f"invalid table name for sample_table_data: {table!r}")
        if segment.lower() in _FORBIDDEN_SEGMENTS:
            raise SqlRejectedError(
                f"invalid table name for sample_table_data: {table!r} (segment {segment!r})"
            )
    return segments


class BlockingTargetDatabase(ABC):
    """Base of the backends whose driver blocks: every statement runs in a worker thread.

    A subclass sets :attr:`dialect` and :attr:`sample_placeholder` and implements :meth:`_run`,
    which executes one checked statement and fetches at most ``limit + 1`` rows.
    """

    #: SQL dialect used to check statements
    dialect: Dialect
    #: the driver's placeholder for the one parameter (the row limit) of a sample statement
    sample_placeholder: str

    @abstractmethod
    def _run(self, sql: str, params: Sequence[Any], limit: int) -> QueryResult:
        """Execute one checked statement; fetch at most ``limit + 1`` rows."""

    async def execute_query(
        self, sql: str, params: Sequence[Any] = (), *, limit: int = 100
    ) -> QueryResult:
        """Check ``sql`` (see :func:`~flowai_harness.data.sql_safety.prepare_query`) and run it
        read-only.

        Raises:
            SqlRejectedError: The statement is not one read-only SELECT.
            StoreError: The database refused or failed the statement (or timed out).
            DataEnvironmentError: The database cannot be opened or reached.
        """
        prepared = prepare_query(sql, dialect=self.dialect, params=params, limit=limit)
        return await asyncio.to_thread(self._run, prepared.sql, prepared.params, prepared.limit)

    async def sample_table(
        self, table: str, columns: Sequence[str] | None, limit: int
    ) -> QueryResult:
        """Return up to ``limit`` rows of ``table``; ``columns`` (if given) are selected.

        Raises:
            SqlRejectedError: The table name breaks the naming rules.
            StoreError: The database failed the statement.
        """
        segments = quoted_table_name(table)
        limit = max(1, min(int(limit), MAX_SAMPLE_ROWS))
        selected = ", ".join(_quote(c) for c in columns) if columns else "*"
        name = ".".join(_quote(s) for s in segments)
        sql = f"SELECT {selected} FROM {name} LIMIT {self.sample_placeholder}"
        result = await asyncio.to_thread(self._run, sql, (limit,), limit)
        result.truncated = False
        return result


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def open_target_database(env: Mapping[str, Any] | None) -> TargetDatabase | None:
    """Return the target database of a data environment (wire form), or ``None`` if it has none.

    ``target_database`` descriptors and the legacy ``targetDatabaseUrl`` (``sqlite:…`` or
    ``postgres(ql)://…`` with ``targetDatabaseSchema``) are both understood. Connections open
    lazily, on first use.

    Raises:
        DataEnvironmentError: The descriptor cannot be used (unknown kind, unset ``url_env``).
        MissingDependencyError: The ``postgres`` kind needs ``psycopg``.
    """
    env = env or {}
    descriptor = env.get("targetDatabase")
    legacy = env.get("targetDatabaseUrl")
    if descriptor is None and legacy is None:
        return None
    if descriptor is None:
        url = str(legacy)
        schema = env.get("targetDatabaseSchema")
        if url.startswith("sqlite:"):
            descriptor = {"kind": "sqlite", "url": url}
        else:
            descriptor = {"kind": "postgres", "url": url, "schema": schema or "public"}
    kind = descriptor.get("kind")
    if kind == "sqlite":
        from flowai_harness.data.target_sqlite import SqliteTargetDatabase

        return SqliteTargetDatabase(str(descriptor["url"]))
    if kind == "postgres":
        from flowai_harness.data.target_postgres import PostgresTargetDatabase

        return PostgresTargetDatabase(descriptor)
    raise DataEnvironmentError(
        f"data_environment.target_database does not support kind '{kind}'; "
        "expected one of: sqlite, postgres"
    )
