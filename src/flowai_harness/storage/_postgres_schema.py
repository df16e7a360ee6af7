"""The schema of the Postgres KV table: its steps, applied once per fleet under a lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowai_harness.storage._postgres_runstore import schema_steps

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.sql import Composed

__all__ = ["SCHEMA_VERSION_TABLE", "migrate", "schema"]

#: the advisory lock every schema set-up takes (one constant for all tables and processes)
_SCHEMA_LOCK_KEY = 0x666C6F7761690001
#: the table recording, per KV table, how many schema steps have been applied
SCHEMA_VERSION_TABLE = "flowai_kv_schema_version"


def migrate(conn: Connection[Any], table: str) -> None:
    """Bring the table to the latest schema version, one process at a time.

    Every process of a fleet may start at once: the steps run in one transaction under a
    transaction-scoped advisory lock (so concurrent ``CREATE TABLE IF NOT EXISTS`` never
    race on the catalog), and the version reached is kept per table in
    :data:`SCHEMA_VERSION_TABLE`. A table dropped by hand is created again (its recorded
    version no longer counts).
    """
    from psycopg import sql

    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {versions} ("
                " table_name TEXT PRIMARY KEY,"
                " version INTEGER NOT NULL,"
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            ).format(versions=sql.Identifier(SCHEMA_VERSION_TABLE))
        )
        row = conn.execute(
            sql.SQL(
                "SELECT v.version FROM {versions} v"
                " WHERE v.table_name = %s AND to_regclass(%s) IS NOT NULL"
            ).format(versions=sql.Identifier(SCHEMA_VERSION_TABLE)),
            (table, sql.Identifier(table).as_string(conn)),
        ).fetchone()
        current = row[0] if row else 0
        migrations = schema(table)
        for statement in migrations[current:]:
            conn.execute(statement)
        conn.execute(
            sql.SQL(
                "INSERT INTO {versions} (table_name, version) VALUES (%s, %s)"
                " ON CONFLICT (table_name) DO UPDATE"
                " SET version = EXCLUDED.version, applied_at = now()"
            ).format(versions=sql.Identifier(SCHEMA_VERSION_TABLE)),
            (table, len(migrations)),
        )


def schema(name: str) -> list[Composed]:
    """The schema steps in order; step ``n`` takes the table to version ``n + 1``. A new
    step is appended, never inserted: the recorded version counts the steps applied."""
    from psycopg import sql

    table = sql.Identifier(name)
    index = sql.Identifier(f"{name}_expires_at_idx"[:63])
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {table} ("
            " tenant TEXT NOT NULL,"
            " key TEXT NOT NULL,"
            " value JSONB NOT NULL,"
            " expires_at TIMESTAMPTZ NULL,"
            " created_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
            " updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
            " PRIMARY KEY (tenant, key))"
        ).format(table=table),
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS {index} ON {table} (expires_at)"
            " WHERE expires_at IS NOT NULL"
        ).format(index=index, table=table),
        *schema_steps(name),
    ]
