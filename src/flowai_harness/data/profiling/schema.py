"""Reading the physical schema of a target database for profiling.

A :class:`SchemaReader` lists the tables of a schema and describes one table: its columns (type,
nullability, default, ordinal, primary key) and its foreign keys. Two readers, chosen by the
target's kind:

* SQLite: the target connection forbids ``PRAGMA`` (its authorizer allows reads only), so the
  reader opens its own short-lived connection to the same file, read-only (``mode=ro`` and
  ``query_only``), and runs only the fixed ``pragma_table_info`` / ``pragma_foreign_key_list``
  queries written here. A SQLite file has one schema, ``main``.
* PostgreSQL: ``information_schema`` queries through the target's own checked, read-only path.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from flowai_harness.data.connections import sqlite_path
from flowai_harness.data.target.database import TargetDatabase
from flowai_harness.errors import DataEnvironmentError, StoreError

__all__ = [
    "ColumnSchema",
    "ForeignKey",
    "PostgresSchemaReader",
    "SchemaReader",
    "SqliteSchemaReader",
    "TableKind",
    "TableSchema",
    "open_schema_reader",
]

TableKind = Literal["table", "view"]

_PAGE = 1000


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    """One physical column: name, declared type, nullability, default, 1-based ordinal, PK."""

    name: str
    data_type: str
    nullable: bool
    default: str | None
    ordinal: int
    primary_key: bool = False


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key: local columns referencing columns of another table (same order)."""

    columns: tuple[str, ...]
    referenced_schema: str
    referenced_table: str
    referenced_columns: tuple[str, ...]
    constraint_name: str | None = None


@dataclass(frozen=True, slots=True)
class TableSchema:
    """A table or view with its columns (in ordinal order) and foreign keys."""

    schema: str
    name: str
    kind: TableKind
    columns: tuple[ColumnSchema, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Names of the primary-key columns, in column order."""
        return tuple(column.name for column in self.columns if column.primary_key)

    def foreign_key_of(self, column: str) -> tuple[ForeignKey, str, str] | None:
        """The foreign key a column belongs to, with the referenced schema and column."""
        for key in self.foreign_keys:
            for local, remote in zip(key.columns, key.referenced_columns, strict=False):
                if local == column:
                    return key, key.referenced_schema, remote
        return None


class SchemaReader(Protocol):
    """Lists and describes the tables of a target database (read-only)."""

    #: the schema used when none is given (``main`` for SQLite, the target's for PostgreSQL)
    default_schema: str

    async def list_tables(self, schema: str) -> list[tuple[str, TableKind]]:
        """Return ``(table name, kind)`` of every table and view of ``schema``, by name."""
        ...

    async def describe_table(self, schema: str, table: str, kind: TableKind) -> TableSchema:
        """Return the columns and foreign keys of one table."""
        ...


class SqliteSchemaReader:
    """Reads a SQLite file's schema on a private read-only connection."""

    default_schema = "main"

    def __init__(self, path: str) -> None:
        self._path = Path(path).expanduser()

    def _connect(self) -> sqlite3.Connection:
        if not self._path.is_file():
            raise DataEnvironmentError(
                f"data_environment.target_database (sqlite): cannot open: file {self._path} "
                "does not exist"
            )
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise DataEnvironmentError(
                f"data_environment.target_database (sqlite): cannot open {self._path}: {exc}"
            ) from exc
        return conn

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        conn = self._connect()
        try:
            return list(conn.execute(sql, tuple(params)).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"reading the SQLite schema failed: {exc}") from exc
        finally:
            conn.close()

    @staticmethod
    def _check_schema(schema: str) -> None:
        if schema != "main":
            raise DataEnvironmentError(
                f"a SQLite target database has one schema, 'main'; got schema {schema!r}"
            )

    async def list_tables(self, schema: str) -> list[tuple[str, TableKind]]:
        """Return the tables and views of ``main`` (internal ``sqlite_*`` tables left out)."""
        self._check_schema(schema)
        rows = await asyncio.to_thread(
            self._query,
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        return [(str(name), "view" if kind == "view" else "table") for name, kind in rows]

    def _describe(self, table: str, kind: TableKind) -> TableSchema:
        info = self._query(
            'SELECT cid, name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)',
            (table,),
        )
        if not info:
            raise StoreError(f"table main.{table} has no columns or does not exist")
        columns = tuple(
            ColumnSchema(
                name=str(name),
                data_type=str(declared or "").strip().upper() or "ANY",
                nullable=not notnull and not pk,
                default=None if default is None else str(default),
                ordinal=int(cid) + 1,
                primary_key=bool(pk),
            )
            for cid, name, declared, notnull, default, pk in info
        )
        fk_rows = self._query(
            'SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?) '
            "ORDER BY id, seq",
            (table,),
        )
        grouped: dict[int, list[tuple[str, str, str | None]]] = {}
        for key_id, _seq, target, local, remote in fk_rows:
            grouped.setdefault(int(key_id), []).append((str(target), str(local), remote))
        keys: list[ForeignKey] = []
        for parts in grouped.values():
            target = parts[0][0]
            declared = [remote for _, _, remote in parts]
            # ``REFERENCES t`` without columns points at t's primary key
            remotes = (
                self._primary_key(target)
                if any(remote is None for remote in declared)
                else [str(remote) for remote in declared]
            )
            keys.append(
                ForeignKey(
                    columns=tuple(local for _, local, _ in parts),
                    referenced_schema="main",
                    referenced_table=target,
                    referenced_columns=tuple(str(r) for r in remotes),
                )
            )
        return TableSchema("main", table, kind, columns, tuple(keys))

    def _primary_key(self, table: str) -> list[str]:
        rows = self._query("SELECT name, pk FROM pragma_table_info(?) WHERE pk > 0", (table,))
        return [str(name) for name, _ in sorted(rows, key=lambda row: int(row[1]))]

    async def describe_table(self, schema: str, table: str, kind: TableKind) -> TableSchema:
        """Return the columns (``pragma_table_info``) and foreign keys of ``table``."""
        self._check_schema(schema)
        return await asyncio.to_thread(self._describe, table, kind)


_PG_TABLES = (
    "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = $1 "
    "AND table_type IN ('BASE TABLE', 'VIEW', 'FOREIGN') ORDER BY table_name"
)
_PG_COLUMNS = (
    "SELECT column_name, data_type, udt_name, is_nullable, column_default, ordinal_position "
    "FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 "
    "ORDER BY ordinal_position"
)
_PG_PRIMARY_KEY = (
    "SELECT kcu.column_name FROM information_schema.table_constraints AS tc "
    "JOIN information_schema.key_column_usage AS kcu ON kcu.constraint_schema = "
    "tc.constraint_schema AND kcu.constraint_name = tc.constraint_name AND kcu.table_name = "
    "tc.table_name WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = $1 AND "
    "tc.table_name = $2 ORDER BY kcu.ordinal_position"
)
_PG_FOREIGN_KEYS = (
    "SELECT kcu.constraint_name, kcu.column_name, kcu.ordinal_position, rk.table_schema AS "
    "ref_schema, rk.table_name AS ref_table, rk.column_name AS ref_column FROM "
    "information_schema.referential_constraints AS rc JOIN information_schema.key_column_usage "
    "AS kcu ON kcu.constraint_schema = rc.constraint_schema AND kcu.constraint_name = "
    "rc.constraint_name JOIN information_schema.key_column_usage AS rk ON rk.constraint_schema "
    "= rc.unique_constraint_schema AND rk.constraint_name = rc.unique_constraint_name AND "
    "rk.ordinal_position = kcu.position_in_unique_constraint WHERE kcu.table_schema = $1 AND "
    "kcu.table_name = $2 ORDER BY kcu.constraint_name, kcu.ordinal_position"
)


class PostgresSchemaReader:
    """Reads a PostgreSQL schema through ``information_schema`` on the target's read-only path."""

    def __init__(self, target: TargetDatabase) -> None:
        self._target = target
        self.default_schema = target.default_schema

    async def _rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = await self._target.execute_query(
                f"{sql} LIMIT {_PAGE} OFFSET {len(rows)}", params, limit=_PAGE
            )
            rows += page.rows
            if len(page.rows) < _PAGE:
                return rows

    async def list_tables(self, schema: str) -> list[tuple[str, TableKind]]:
        """Return base tables, views and foreign tables of ``schema`` by name."""
        rows = await self._rows(_PG_TABLES, [schema])
        return [
            (str(row["table_name"]), "view" if row["table_type"] == "VIEW" else "table")
            for row in rows
        ]

    async def describe_table(self, schema: str, table: str, kind: TableKind) -> TableSchema:
        """Return the columns, primary key and foreign keys of ``schema.table``."""
        info = await self._rows(_PG_COLUMNS, [schema, table])
        if not info:
            raise StoreError(f"table {schema}.{table} has no columns or does not exist")
        primary = {
            str(r["column_name"]) for r in await self._rows(_PG_PRIMARY_KEY, [schema, table])
        }
        columns = tuple(
            ColumnSchema(
                name=str(row["column_name"]),
                data_type=_pg_type(row),
                nullable=row["is_nullable"] == "YES",
                default=None if row["column_default"] is None else str(row["column_default"]),
                ordinal=int(row["ordinal_position"]),
                primary_key=str(row["column_name"]) in primary,
            )
            for row in info
        )
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for row in await self._rows(_PG_FOREIGN_KEYS, [schema, table]):
            grouped.setdefault(str(row["constraint_name"]), []).append(row)
        keys = tuple(
            ForeignKey(
                columns=tuple(str(r["column_name"]) for r in parts),
                referenced_schema=str(parts[0]["ref_schema"]),
                referenced_table=str(parts[0]["ref_table"]),
                referenced_columns=tuple(str(r["ref_column"]) for r in parts),
                constraint_name=name,
            )
            for name, parts in grouped.items()
        )
        return TableSchema(schema, table, kind, columns, keys)


def _pg_type(row: Mapping[str, Any]) -> str:
    declared = str(row["data_type"])
    if declared in ("USER-DEFINED", "ARRAY"):
        udt = str(row["udt_name"])
        return f"{udt.removeprefix('_')}[]" if declared == "ARRAY" else udt
    return declared


def open_schema_reader(env: Mapping[str, Any] | None, target: TargetDatabase) -> SchemaReader:
    """Return the schema reader of a target database.

    Args:
        env: The data environment wire dict the target came from (the SQLite reader needs the
            file path of ``target_database`` / ``target_database_url``).
        target: The opened target database.

    Raises:
        DataEnvironmentError: The target kind has no schema reader.
    """
    if target.kind == "postgres":
        return PostgresSchemaReader(target)
    if target.kind == "sqlite":
        env = env or {}
        descriptor = env.get("targetDatabase") or {}
        url = descriptor.get("url") or env.get("targetDatabaseUrl")
        if not isinstance(url, str) or not url:
            raise DataEnvironmentError("data_environment.target_database.url must name a file")
        return SqliteSchemaReader(sqlite_path(url))
    raise DataEnvironmentError(
        f"profiling does not support target databases of kind {target.kind!r}; "
        "expected sqlite or postgres"
    )
