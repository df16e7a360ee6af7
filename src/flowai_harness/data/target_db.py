"""The target database port: the read-only source where samples and agent queries run.

Two backends, chosen by the data environment: ``sqlite`` (a file opened read-only) and
``postgres`` (pooled, every statement in a ``READ ONLY`` transaction with a 30 s statement
timeout). Both accept only what :mod:`flowai_harness.data.sql_safety` lets through, and both
return rows as JSON-safe dicts.

Results are bounded twice: at most ``limit`` rows, and at most ``max_result_bytes`` of JSON
(1 MiB by default). Rows are fetched incrementally and fetching stops at whichever cap is hit
first; :attr:`QueryResult.truncated_reason` says which. A single value longer than 64 KiB is cut
(its text form, marked ``…[truncated]``) and a warning names the columns concerned.
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
from typing import Any, Literal, Protocol, runtime_checkable

import orjson

from flowai_harness.data.sql_functions import check_allowed_function_names
from flowai_harness.data.sql_safety import Dialect, prepare_query
from flowai_harness.errors import DataEnvironmentError, SqlRejectedError
from flowai_harness.specs.data_environment import TARGET_MAX_RESULT_BYTES

__all__ = [
    "MAX_SAMPLE_ROWS",
    "MAX_VALUE_BYTES",
    "STATEMENT_TIMEOUT_S",
    "BlockingTargetDatabase",
    "CutText",
    "QueryResult",
    "ResultCollector",
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
#: A value whose JSON text is longer than this is cut.
MAX_VALUE_BYTES = 65_536
_CUT_MARK = "…[truncated]"

_NAME_SEGMENT = re.compile(r"[A-Za-z0-9_]+")
_FORBIDDEN_SEGMENTS = frozenset(
    {"drop", "delete", "truncate", "insert", "update", "alter", "create"}
)


@dataclass(slots=True)
class QueryResult:
    """Rows of a query: column names, rows as ``{column: value}``, and whether more existed.

    ``truncated_reason`` is ``"rows"`` when more than ``limit`` rows existed and ``"bytes"``
    when the next row would have passed the result's byte cap (``None`` when not truncated).
    """

    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)
    truncated_reason: Literal["rows", "bytes"] | None = None

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


@dataclass(frozen=True, slots=True)
class CutText:
    """The leading part of a value the database already cut because it was too long."""

    text: str


def _cut(text: str, max_bytes: int) -> str:
    head = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    return head + _CUT_MARK


class ResultCollector:
    """Turns driver rows into a :class:`QueryResult` under a row limit and a byte cap.

    Feed rows with :meth:`add` until it returns ``False``; :meth:`batch_size` suggests how many
    rows to fetch next so a batch of wide rows does not overshoot the byte cap by much.

    Args:
        names: The column names reported by the driver (duplicates get ``_1``, ``_2`` …).
        limit: Rows to return; one more row is enough to know the result is truncated.
        max_bytes: Cap on the JSON size of the returned rows.
    """

    def __init__(self, names: Sequence[str], limit: int, max_bytes: int) -> None:
        self.columns = _unique_names([str(name) for name in names])
        self.limit = limit
        self.max_bytes = max_bytes
        self.max_value_bytes = min(MAX_VALUE_BYTES, max_bytes)
        self._rows: list[dict[str, Any]] = []
        self._bytes = 2
        self._reason: Literal["rows", "bytes"] | None = None
        self._cut_columns: dict[str, int] = {}

    def _value(self, raw: Any) -> tuple[Any, bool]:
        """The JSON form of a value, and whether it was cut."""
        if isinstance(raw, CutText):
            return _cut(raw.text, self.max_value_bytes), True
        value = json_value(raw)
        # a character takes at most 4 bytes: shorter values need no exact measure
        if isinstance(value, str | list | dict) and len(value) * 4 > self.max_value_bytes:
            text = value if isinstance(value, str) else orjson.dumps(value).decode()
            if len(text.encode("utf-8")) > self.max_value_bytes:
                return _cut(text, self.max_value_bytes), True
        return value, False

    def add(self, row: Sequence[Any]) -> bool:
        """Add one driver row; return whether more rows are wanted."""
        if len(self._rows) >= self.limit:
            self._reason = "rows"
            return False
        converted: dict[str, Any] = {}
        cut: list[str] = []
        for column, raw in zip(self.columns, row, strict=False):
            converted[column], was_cut = self._value(raw)
            if was_cut:
                cut.append(column)
        size = len(orjson.dumps(converted, option=orjson.OPT_NON_STR_KEYS)) + 1
        if self._bytes + size > self.max_bytes:
            self._reason = "bytes"
            return False
        self._bytes += size
        self._rows.append(converted)
        for column in cut:
            self._cut_columns[column] = self._cut_columns.get(column, 0) + 1
        return True

    def batch_size(self) -> int:
        """How many rows to fetch next (at least one, at most 100)."""
        wanted = self.limit + 1 - len(self._rows)
        if self._rows:
            average = max(1, (self._bytes - 2) // len(self._rows))
            wanted = min(wanted, (self.max_bytes - self._bytes) // average + 1)
        return max(1, min(wanted, 100))

    def result(self) -> QueryResult:
        """The rows collected so far, with truncation and warnings."""
        warnings = [
            f"{count} value(s) of column {column} were longer than {self.max_value_bytes} bytes "
            "and were cut (marked …[truncated])"
            for column, count in self._cut_columns.items()
        ]
        if self._reason == "bytes":
            warnings.append(
                f"result cut at {len(self._rows)} row(s): the next row would pass the "
                f"{self.max_bytes}-byte result cap; select fewer or narrower columns, or "
                "aggregate"
            )
        return QueryResult(
            columns=self.columns,
            rows=self._rows,
            truncated=self._reason is not None,
            warnings=warnings,
            truncated_reason=self._reason,
        )


def rows_to_result(
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    limit: int,
    max_bytes: int = TARGET_MAX_RESULT_BYTES,
) -> QueryResult:
    """Build a :class:`QueryResult` from driver rows fetched with ``LIMIT limit + 1``.

    Duplicate column names (``a.id, b.id``) get ``_1``, ``_2`` suffixes so no value is lost.
    """
    collector = ResultCollector(names, limit, max_bytes)
    for row in rows:
        if not collector.add(row):
            break
    return collector.result()


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
    #: functions allowed beyond the built-in allow-list (lower case)
    allowed_functions: tuple[str, ...] = ()
    #: cap on the JSON size of one result
    max_result_bytes: int = TARGET_MAX_RESULT_BYTES

    def _read_settings(self, descriptor: Mapping[str, Any]) -> None:
        """Take ``allowedFunctions`` and ``maxResultBytes`` from a descriptor (wire form).

        Raises:
            DataEnvironmentError: ``allowedFunctions`` names a function that can never be
                allowed.
        """
        self.allowed_functions = check_allowed_function_names(
            descriptor.get("allowedFunctions") or (),
            "data_environment.target_database.allowed_functions",
        )
        self.max_result_bytes = int(descriptor.get("maxResultBytes") or TARGET_MAX_RESULT_BYTES)

    @abstractmethod
    def _run(self, sql: str, params: Sequence[Any], limit: int) -> QueryResult:
        """Execute one checked statement; fetch incrementally, at most ``limit + 1`` rows and
        no more than the byte cap allows (see :class:`ResultCollector`)."""

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
        prepared = prepare_query(
            sql,
            dialect=self.dialect,
            params=params,
            limit=limit,
            allowed_functions=self.allowed_functions,
        )
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
        if result.truncated_reason == "rows":
            result.truncated, result.truncated_reason = False, None
        return result


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def open_target_database(env: Mapping[str, Any] | None) -> TargetDatabase | None:
    """Return the target database of a data environment (wire form), or ``None`` if it has none.

    ``target_database`` descriptors and the legacy ``targetDatabaseUrl`` (``sqlite:…`` or
    ``postgres(ql)://…`` with ``targetDatabaseSchema``) are both understood. Connections open
    lazily, on first use.

    Raises:
        DataEnvironmentError: The descriptor cannot be used (unknown kind, unset ``url_env``,
            a never-allowed name in ``allowed_functions``).
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

        return SqliteTargetDatabase(str(descriptor["url"]), descriptor=descriptor)
    if kind == "postgres":
        from flowai_harness.data.target_postgres import PostgresTargetDatabase

        return PostgresTargetDatabase(descriptor)
    raise DataEnvironmentError(
        f"data_environment.target_database does not support kind '{kind}'; "
        "expected one of: sqlite, postgres"
    )
