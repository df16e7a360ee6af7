"""The target database port: the read-only source where samples and agent queries run.

Two backends, chosen by the data environment: ``sqlite`` (a file opened read-only) and
``postgres`` (pooled, every statement in a ``READ ONLY`` transaction with a 30 s statement
timeout). Both accept only what :mod:`flowai_harness.data.target.sql_safety` lets through, and
both return rows as JSON-safe dicts, bounded as :mod:`flowai_harness.data.target.results`
describes.
"""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from flowai_harness.data.target.results import QueryResult
from flowai_harness.data.target.sql_functions import check_allowed_function_names
from flowai_harness.data.target.sql_safety import Dialect, prepare_query
from flowai_harness.errors import SqlRejectedError
from flowai_harness.specs.data_environment import TARGET_MAX_RESULT_BYTES

__all__ = [
    "MAX_SAMPLE_ROWS",
    "STATEMENT_TIMEOUT_S",
    "BlockingTargetDatabase",
    "TargetDatabase",
    "quoted_table_name",
]

#: Statement timeout of every query, in seconds.
STATEMENT_TIMEOUT_S = 30.0
#: Backends never return more sample rows than this.
MAX_SAMPLE_ROWS = 100
_NAME_SEGMENT = re.compile(r"[A-Za-z0-9_]+")
_FORBIDDEN_SEGMENTS = frozenset(
    {"drop", "delete", "truncate", "insert", "update", "alter", "create"}
)


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


def quoted_table_name(table: str) -> list[str]:
    """Check a physical table name for ``sample_table_data``; return its segments.

    Rules: only ``[A-Za-z0-9_.]``, at most 128 characters, no ``--`` or ``/*``,
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
        no more than the byte cap allows (see
        :class:`~flowai_harness.data.target.results.ResultCollector`)."""

    async def execute_query(
        self, sql: str, params: Sequence[Any] = (), *, limit: int = 100
    ) -> QueryResult:
        """Check ``sql`` (see :func:`~flowai_harness.data.target.sql_safety.prepare_query`) and
        run it read-only.

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
