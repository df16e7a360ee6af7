"""Target databases: the same suite on SQLite and PostgreSQL, the database-side guards behind
the statement check, timeouts, value conversion and secret-free errors."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.data.target.database import quoted_table_name
from flowai_harness.data.target.factory import open_target_database
from flowai_harness.data.target.postgres import PostgresTargetDatabase
from flowai_harness.data.target.results import (
    MAX_VALUE_BYTES,
    QueryResult,
    ResultCollector,
    json_value,
)
from flowai_harness.data.target.sql_functions import SQLITE_FUNCTIONS
from flowai_harness.data.target.sqlite import SqliteTargetDatabase
from flowai_harness.errors import DataEnvironmentError, SqlRejectedError, StoreError
from flowai_harness.specs.data_environment import TARGET_MAX_RESULT_BYTES
from tests.data.conftest import PgSchema
from tests.data.sample_catalog import create_target_database
from tests.data.test_sql_safety import LiveTarget, _create_pg_shop, _pg_snapshot, _sqlite_snapshot


@pytest.fixture(params=["sqlite", "postgres"])
async def live(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        path = create_target_database(tmp_path / "target.db")
        yield LiveTarget(
            SqliteTargetDatabase(f"sqlite:{path}", statement_timeout_s=0.3),
            lambda: _sqlite_snapshot(path),
        )
        return
    schema: PgSchema = request.getfixturevalue("pg_schema")
    _create_pg_shop(schema)
    target = PostgresTargetDatabase(
        {"kind": "postgres", "url": schema.url, "schema": schema.name}, statement_timeout_s=0.3
    )
    yield LiveTarget(target, lambda: _pg_snapshot(schema.url, schema.name))
    await target.close()


async def test_sample_table_returns_capped_rows_of_selected_columns(live: LiveTarget) -> None:
    result = await live.target.sample_table("orders", ["order_id", "status"], 2)
    assert result.columns == ["order_id", "status"] and result.row_count == 2
    everything = await live.target.sample_table("orders", None, 500)
    assert everything.row_count <= 100 and not everything.truncated
    assert "total" in everything.columns


async def test_sample_table_rejects_names_breaking_the_rules(live: LiveTarget) -> None:
    for name in ("orders; drop", "orders--", "a/*b", "main.drop", "x" * 129, "", "or ders"):
        with pytest.raises(SqlRejectedError, match="invalid table name"):
            await live.target.sample_table(name, None, 1)


async def test_database_errors_become_store_errors(live: LiveTarget) -> None:
    with pytest.raises(StoreError, match=r"query failed: .*nope"):
        await live.target.execute_query("SELECT * FROM nope")


async def test_long_queries_hit_the_statement_timeout(live: LiveTarget) -> None:
    slow = (
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100000000) "
        "SELECT count(*) AS n FROM c"
    )
    with pytest.raises(StoreError, match="statement timeout"):
        await live.target.execute_query(slow)


async def test_duplicate_column_names_keep_every_value(live: LiveTarget) -> None:
    result = await live.target.execute_query(
        "SELECT o.order_id, c.customer_id AS order_id FROM orders o "
        "JOIN customers c ON c.customer_id = o.customer_id ORDER BY 1 LIMIT 1"
    )
    # SQLite renames the second column itself ("order_id:1"); PostgreSQL keeps both names
    assert len(set(result.columns)) == 2 and result.columns[0] == "order_id"
    assert sorted(result.rows[0].values()) == [1, 10]


# --------------------------------------------------------------------------- database guards


async def test_sqlite_connection_refuses_writes_even_past_the_statement_check(
    target_db_path: Path,
) -> None:
    target = SqliteTargetDatabase(str(target_db_path))
    before = _sqlite_snapshot(target_db_path)
    for sql in (
        "DELETE FROM orders",
        "ATTACH DATABASE '/tmp/fh_evil.db' AS x",
        "PRAGMA query_only = 0",
        "SELECT load_extension('x')",
        "CREATE TABLE evil (x)",
        "SELECT 1; DELETE FROM orders",
    ):
        with pytest.raises(StoreError):
            target._run(sql, (), 5)
    assert _sqlite_snapshot(target_db_path) == before


async def test_postgres_transaction_refuses_writes_even_past_the_statement_check(
    pg_schema: PgSchema,
) -> None:
    _create_pg_shop(pg_schema)
    target = PostgresTargetDatabase(
        {"kind": "postgres", "url": pg_schema.url, "schema": pg_schema.name}
    )
    before = _pg_snapshot(pg_schema.url, pg_schema.name)
    for sql in (
        "DELETE FROM orders",
        "CREATE TABLE evil (x int)",
        "SELECT 1; DELETE FROM orders",
        "SET TRANSACTION READ WRITE",
    ):
        with pytest.raises(StoreError):
            target._run(sql, (1,), 5)
    assert _pg_snapshot(pg_schema.url, pg_schema.name) == before
    await target.close()


async def test_sqlite_results_stop_at_the_byte_cap_and_cut_wide_values(tmp_path: Path) -> None:
    path = tmp_path / "wide.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO docs VALUES (?, ?)", [(i, "x" * 200_000) for i in range(1, 101)])
    conn.commit()
    conn.close()
    target = SqliteTargetDatabase(str(path), descriptor={"maxResultBytes": 300_000})
    result = await target.execute_query("SELECT id, body FROM docs ORDER BY id", limit=1000)
    assert result.truncated and result.truncated_reason == "bytes"
    assert result.row_count == 4 and len(json.dumps(result.rows)) <= 300_000
    assert all(row["body"].endswith("…[truncated]") for row in result.rows)
    assert result.warnings[0].startswith("4 value(s) of column body were longer than")
    ids = await target.execute_query("SELECT id FROM docs ORDER BY id", limit=7)
    assert ids.row_count == 7 and ids.truncated_reason == "rows"


async def test_sqlite_refuses_to_build_a_huge_value(target_db_path: Path) -> None:
    target = SqliteTargetDatabase(str(target_db_path))
    with pytest.raises(StoreError, match="a value is larger than 16777216 bytes"):
        await target.execute_query("SELECT zeroblob(100000000) AS blob")


async def test_sqlite_authorizer_allows_only_listed_functions(target_db_path: Path) -> None:
    target = SqliteTargetDatabase(str(target_db_path))
    with pytest.raises(StoreError, match="not authorized"):
        target._run("SELECT sqlite_compileoption_used('THREADSAFE') AS x", (), 1)
    assert target._run("SELECT upper('a') AS x", (), 1).rows == [{"x": "A"}]
    custom = SqliteTargetDatabase(
        str(target_db_path), descriptor={"allowedFunctions": ["sqlite_compileoption_used"]}
    )
    assert custom._run("SELECT sqlite_compileoption_used('X') AS x", (), 1).rows == [{"x": 0}]


def test_the_sqlite_authorizer_lets_every_listed_function_run(target_db_path: Path) -> None:
    target = SqliteTargetDatabase(str(target_db_path))
    denied = []
    for name in sorted(n for n in SQLITE_FUNCTIONS if n.replace("_", "").isalnum()):
        for args in ("", "1", "1, 1", "1, 1, 1"):
            try:
                target._run(f"SELECT {name}({args}) AS v", (), 1)
                break
            except StoreError as exc:
                if "not authorized" in str(exc):
                    denied.append(name)
                    break
    assert "->" in SQLITE_FUNCTIONS
    assert target._run("""SELECT '{"a": 1}' ->> '$.a' AS v""", (), 1).rows == [{"v": 1}]
    assert denied == []


def test_never_allowed_functions_cannot_be_configured(target_db_path: Path) -> None:
    with pytest.raises(DataEnvironmentError, match="load_extension cannot be allowed"):
        SqliteTargetDatabase(
            str(target_db_path), descriptor={"allowedFunctions": ["load_extension"]}
        )
    with pytest.raises(DataEnvironmentError, match="dblink_exec cannot be allowed"):
        open_target_database(
            {
                "targetDatabase": {
                    "kind": "postgres",
                    "url": "postgresql://u@127.0.0.1/db",
                    "allowedFunctions": ["Dblink_Exec"],
                }
            }
        )


# --------------------------------------------------------------------------- opening


def test_legacy_urls_choose_the_backend(tmp_path: Path) -> None:
    sqlite = open_target_database({"targetDatabaseUrl": f"sqlite:{tmp_path / 't.db'}"})
    assert isinstance(sqlite, SqliteTargetDatabase) and sqlite.default_schema == "main"
    pg = open_target_database(
        {"targetDatabaseUrl": "postgresql://u:p@127.0.0.1/db", "targetDatabaseSchema": "sales"}
    )
    assert isinstance(pg, PostgresTargetDatabase) and pg.default_schema == "sales"
    assert open_target_database({}) is None and open_target_database(None) is None


async def test_a_missing_sqlite_file_is_a_clear_error(tmp_path: Path) -> None:
    target = SqliteTargetDatabase(str(tmp_path / "absent.db"))
    with pytest.raises(DataEnvironmentError, match=r"absent\.db does not exist"):
        await target.execute_query("SELECT 1")
    assert not (tmp_path / "absent.db").exists()


async def test_postgres_errors_never_show_the_password(postgres_url: str) -> None:
    url = "postgresql://postgres:s3cr3t-pw@127.0.0.1:1/test?sslmode=disable"
    target = open_target_database({"targetDatabase": {"kind": "postgres", "url": url}})
    assert target is not None
    with pytest.raises(DataEnvironmentError) as info:
        await target.execute_query("SELECT 1")
    assert "s3cr3t-pw" not in str(info.value) and "postgres:***@" in str(info.value)
    await target.close()


async def test_postgres_url_env_must_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FH_TARGET_URL", raising=False)
    with pytest.raises(
        DataEnvironmentError,
        match=re.escape(
            "environment variable FH_TARGET_URL is not set for data_environment.target_database"
        ),
    ):
        open_target_database({"targetDatabase": {"kind": "postgres", "urlEnv": "FH_TARGET_URL"}})


# --------------------------------------------------------------------------- values


def test_values_become_json() -> None:
    assert json_value(Decimal("6.49")) == 6.49
    assert json_value(Decimal("10.00")) == 10
    assert json_value(Decimal("0.1000000000000000055511151231257827")) == (
        "0.1000000000000000055511151231257827"
    )
    assert json_value(float("nan")) == "nan"
    assert json_value(dt.date(2024, 1, 2)) == "2024-01-02"
    assert json_value(b"\x00\x01") == "AAE="
    assert json_value(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert json_value({"a": [Decimal("1.5")]}) == {"a": [1.5]}


def _collect(
    names: list[str],
    rows: list[tuple[Any, ...]],
    limit: int,
    max_bytes: int = TARGET_MAX_RESULT_BYTES,
) -> QueryResult:
    """Feed ``rows`` to a collector until it wants no more, as the backends do."""
    collector = ResultCollector(names, limit, max_bytes)
    for row in rows:
        if not collector.add(row):
            break
    return collector.result()


def test_the_row_limit_stops_the_result_and_says_so() -> None:
    result = _collect(["a"], [(1,), (2,), (3,)], 2)
    assert result == QueryResult(
        ["a"], [{"a": 1}, {"a": 2}], truncated=True, truncated_reason="rows"
    )


def test_the_byte_cap_stops_the_result_and_says_so() -> None:
    rows = [(i, "x" * 400) for i in range(100)]
    result = _collect(["id", "body"], rows, 1000, max_bytes=4096)
    assert 0 < result.row_count < 10 and result.truncated and result.truncated_reason == "bytes"
    assert len(json.dumps(result.rows)) <= 4096
    assert "4096-byte result cap" in result.warnings[-1]


def test_values_longer_than_the_value_cap_are_cut_and_named() -> None:
    result = _collect(["id", "body"], [(1, "é" * MAX_VALUE_BYTES), (2, "short")], 10)
    body = result.rows[0]["body"]
    assert body.endswith("…[truncated]") and len(body.encode()) <= MAX_VALUE_BYTES + 20
    assert result.rows[1]["body"] == "short" and not result.truncated
    assert result.warnings == [
        f"1 value(s) of column body were longer than {MAX_VALUE_BYTES} bytes and were cut "
        "(marked …[truncated])"
    ]


def test_collector_batches_shrink_for_wide_rows() -> None:
    collector = ResultCollector(["body"], 1000, 10_000)
    assert collector.batch_size() == 100
    collector.add(("x" * 3000,))
    assert collector.batch_size() <= 3


def test_quoted_table_name_splits_segments() -> None:
    assert quoted_table_name("main.orders") == ["main", "orders"]
