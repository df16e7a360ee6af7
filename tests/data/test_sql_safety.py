"""execute_query's SQL rules: an adversarial corpus and generated statements are refused on
SQLite and PostgreSQL, the data is unchanged afterwards, and read-only queries still work."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowai_harness.data.sql_safety import (
    MAX_SQL_CHARS,
    check_read_only,
    denied_function,
    prepare_query,
)
from flowai_harness.data.target_db import TargetDatabase
from flowai_harness.data.target_postgres import PostgresTargetDatabase
from flowai_harness.data.target_sqlite import SqliteTargetDatabase
from flowai_harness.errors import HarnessError, SqlRejectedError
from tests.data.conftest import PgSchema
from tests.data.sample_catalog import create_target_database
from tests.data.sql_corpus import HARMLESS, REFUSED

DIALECTS = ("sqlite", "postgres")

# --------------------------------------------------------------------------- static rules


def test_the_corpus_is_large_enough() -> None:
    assert len(REFUSED) >= 50


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql", REFUSED, ids=lambda s: s[:40])
def test_every_corpus_statement_is_refused(sql: str, dialect: str) -> None:
    with pytest.raises(SqlRejectedError):
        prepare_query(sql, dialect=dialect)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 1; SELECT 2", "Multiple statements not allowed"),
        ("", "Empty SQL statement"),
        ("SELECT ((1", "SQL parse error: "),
        ("DELETE FROM orders", "Only read-only SELECT/WITH queries are allowed; DELETE"),
        ("EXPLAIN SELECT 1", "Only safe SELECT queries can be automatically limited"),
        ("VALUES (1)", "Only safe SELECT queries can be automatically limited"),
        (
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "Only safe SELECT queries can be automatically limited",
        ),
        ("SELECT * INTO x FROM t", "SELECT INTO is not allowed"),
        ("SELECT * FROM t FOR UPDATE", "Locking clauses"),
        ("SELECT pg_catalog.pg_sleep(1)", "Function pg_sleep is not allowed"),
        ("SELECT x FROM t WHERE y IN (SELECT lo_import('/x'))", "Function lo_import"),
        ("SELECT 1" + " " * MAX_SQL_CHARS, "SQL statement is too long"),
    ],
)
def test_refusals_say_why(sql: str, message: str) -> None:
    with pytest.raises(SqlRejectedError, match=message.replace("(", r"\(").replace("*", r"\*")):
        prepare_query(sql, dialect="postgres")


def test_the_deny_list_matches_prefixes_and_ignores_case_and_schema() -> None:
    for name in (
        "pg_read_file",
        "PG_LS_DIR",
        "lo_unlink",
        "dblink_connect",
        "pg_sleep_for",
        "pg_catalog.pg_sleep",
        "xml_is_well_formed",
        "LOAD_EXTENSION",
    ):
        assert denied_function(name), name
    for name in ("count", "lower", "pg_backend_pid", "coalesce", "date_trunc"):
        assert not denied_function(name), name


@pytest.mark.parametrize("dialect", DIALECTS)
def test_read_only_queries_are_wrapped_with_a_limit_placeholder(dialect: str) -> None:
    prepared = prepare_query(
        "WITH big AS (SELECT * FROM orders WHERE total > "
        + ("?" if dialect == "sqlite" else "$1")
        + ") SELECT status, count(*) FROM big GROUP BY status ORDER BY 2 DESC;",
        dialect=dialect,  # type: ignore[arg-type]
        params=[5],
        limit=5000,
    )
    placeholder = "?" if dialect == "sqlite" else "$2"
    assert prepared.sql.startswith("SELECT * FROM (WITH big AS")
    assert prepared.sql.endswith(f") AS agent_fw_limited LIMIT {placeholder}")
    assert prepared.params == (5, 1001) and prepared.limit == 1000


def test_comments_are_dropped_from_the_statement_that_runs() -> None:
    prepared = prepare_query("SELECT 1 -- */ ; DROP TABLE orders\n", dialect="sqlite")
    assert "DROP" not in prepared.sql and "--" not in prepared.sql


def test_params_must_be_scalars() -> None:
    with pytest.raises(SqlRejectedError, match=r"params\[1\] must be a string, number"):
        prepare_query("SELECT ?, ?", dialect="sqlite", params=[1, {"a": 1}])


def test_check_read_only_returns_the_tree_of_a_valid_query() -> None:
    tree = check_read_only("SELECT a FROM t UNION SELECT b FROM u", "postgres")
    assert tree.key == "union"


# --------------------------------------------------------------------------- live databases


def _sqlite_snapshot(path: Path) -> str:
    conn = sqlite3.connect(path)
    parts = [
        repr(conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall())
    ]
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        parts.append(repr(conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()))
    conn.close()
    parts.append(repr(sorted(p.name for p in path.parent.iterdir())))
    parts.append(repr(sorted(p.name for p in Path("/tmp").glob("fh_evil*"))))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _pg_snapshot(url: str, schema: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        parts = [
            repr(
                conn.execute(
                    "SELECT relname, relkind FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE nspname = %s ORDER BY 1",
                    (schema,),
                ).fetchall()
            )
        ]
        for table in ("customers", "orders", "products"):
            parts.append(
                repr(conn.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1').fetchall())
            )
        parts.append(repr(conn.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchall()))
        parts.append(repr(conn.execute("SHOW default_transaction_read_only").fetchall()))
    parts.append(repr(sorted(p.name for p in Path("/tmp").glob("fh_evil*"))))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _create_pg_shop(schema: PgSchema) -> None:
    import psycopg

    with psycopg.connect(schema.url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE customers (customer_id int PRIMARY KEY, name text, region text);"
            "CREATE TABLE orders (order_id int PRIMARY KEY, customer_id int REFERENCES "
            "customers, status text, total numeric(10,2));"
            "CREATE TABLE products (product_id text PRIMARY KEY, product_name text, "
            "price numeric(10,2));"
            "INSERT INTO customers VALUES (1, 'Ada', 'north'), (2, 'Grace', 'south');"
            "INSERT INTO orders VALUES (10, 1, 'shipped', 12.5), (11, 1, 'open', 3),"
            " (12, 2, 'shipped', 99);"
            "INSERT INTO products VALUES ('p-001', 'Sparkling Water 12pk', 6.49);"
        )


class LiveTarget:
    """A target database with the shop data and a way to fingerprint everything it holds."""

    def __init__(self, target: TargetDatabase, snapshot: Callable[[], str]) -> None:
        self.target = target
        self.snapshot = snapshot

    async def attempt(self, sql: str) -> Any:
        try:
            return await self.target.execute_query(sql, limit=5)
        except HarnessError as exc:
            return exc


@pytest.fixture(params=DIALECTS)
async def live(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        path = create_target_database(tmp_path / "target.db")
        yield LiveTarget(
            SqliteTargetDatabase(str(path), statement_timeout_s=2), lambda: _sqlite_snapshot(path)
        )
        return
    schema: PgSchema = request.getfixturevalue("pg_schema")
    _create_pg_shop(schema)
    target = PostgresTargetDatabase(
        {"kind": "postgres", "url": schema.url, "schema": schema.name}, statement_timeout_s=2
    )
    yield LiveTarget(target, lambda: _pg_snapshot(schema.url, schema.name))
    await target.close()


async def test_corpus_leaves_the_data_unchanged(live: LiveTarget) -> None:
    before = live.snapshot()
    for sql in REFUSED:
        outcome = await live.attempt(sql)
        assert isinstance(outcome, SqlRejectedError), (sql, outcome)
    for sql in HARMLESS:
        await live.attempt(sql)
    assert live.snapshot() == before


async def test_read_only_queries_run_with_truncation(live: LiveTarget) -> None:
    result = await live.target.execute_query(
        "SELECT order_id, status FROM orders ORDER BY order_id", limit=2
    )
    assert result.columns == ["order_id", "status"]
    assert [row["order_id"] for row in result.rows] == [10, 11]
    assert result.truncated and result.row_count == 2
    whole = await live.target.execute_query("SELECT count(*) AS n FROM orders")
    assert whole.rows[0]["n"] >= 3 and not whole.truncated


async def test_user_params_are_bound_before_the_limit(live: LiveTarget) -> None:
    placeholder = "?" if live.target.dialect == "sqlite" else "$1"
    result = await live.target.execute_query(
        f"SELECT order_id FROM orders WHERE status = {placeholder} ORDER BY 1", ["shipped"]
    )
    assert [row["order_id"] for row in result.rows] == [10, 12]


async def test_a_runaway_recursive_query_stops_at_the_limit(live: LiveTarget) -> None:
    result = await live.target.execute_query(HARMLESS[6], limit=50)
    assert result.row_count == 50 and result.truncated


# --------------------------------------------------------------------------- generated SQL

_TABLES = st.sampled_from(["orders", "customers", "products", "evil", '"orders"', "main.orders"])
_VALUES = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.text(alphabet="ab;'-*/ \n", max_size=10).map(lambda s: "'" + s.replace("'", "''") + "'"),
)
_FILLERS = st.sampled_from([" ", "  ", "\n", "\t", " /* c */ ", " /* ; */ ", " -- x\n"])
_TEMPLATES = (
    "INSERT INTO {t} VALUES ({v})",
    "INSERT INTO {t} SELECT * FROM {t}",
    "UPDATE {t} SET total = {v}",
    "DELETE FROM {t} WHERE total > {v}",
    "REPLACE INTO {t} VALUES ({v})",
    "DROP TABLE {t}",
    "CREATE TABLE x{n} AS SELECT {v}",
    "ALTER TABLE {t} ADD COLUMN c{n} INT",
    "TRUNCATE {t}",
    "PRAGMA query_only = {v}",
    "ATTACH DATABASE {v} AS x{n}",
    "WITH w AS (DELETE FROM {t} RETURNING *) SELECT * FROM w",
    "WITH w AS (SELECT {v}) UPDATE {t} SET total = 1",
    "SELECT {v}; DELETE FROM {t}",
    "SELECT {v} ; DROP TABLE {t}",
    "SELECT * FROM {t} FOR UPDATE",
    "SELECT * INTO x{n} FROM {t}",
    "SELECT {f}({v})",
    "SELECT count(*) FROM {t} WHERE total < (SELECT {f}({v}))",
    "CREATE INDEX i{n} ON {t} (total)",
    "GRANT SELECT ON {t} TO PUBLIC",
    "VACUUM",
    "COPY {t} TO {v}",
    "SET search_path = x{n}",
    "EXPLAIN DELETE FROM {t}",
)
_DENIED = st.sampled_from(
    [
        "pg_sleep",
        "PG_READ_FILE",
        "lo_import",
        "dblink_exec",
        "load_extension",
        "readfile",
        "writefile",
        "set_config",
        "pg_catalog.pg_terminate_backend",
        "query_to_xml",
        "nextval",
    ]
)


def _case(text: str, style: int) -> str:
    if style == 0:
        return text.upper()
    if style == 1:
        return text.lower()
    return "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(text))


@st.composite
def write_statements(draw: st.DrawFn) -> str:
    """A statement that is not a single read-only SELECT, in varied spelling."""
    template = _case(draw(st.sampled_from(_TEMPLATES)), draw(st.integers(0, 2)))
    template = template.replace("{T}", "{t}").replace("{V}", "{v}").replace("{N}", "{n}")
    template = template.replace("{F}", "{f}")
    words = template.split(" ")
    spaced = words[0] + "".join(draw(_FILLERS) + w for w in words[1:])
    sql = spaced.format(
        t=draw(_TABLES), v=draw(_VALUES), n=draw(st.integers(0, 99)), f=draw(_DENIED)
    )
    return draw(st.sampled_from(["", "SELECT 1;", "/* lead */ "])) + sql


@st.composite
def read_queries(draw: st.DrawFn) -> str:
    """A read-only SELECT over the shop's orders."""
    columns = draw(
        st.lists(
            st.sampled_from(["order_id", "status", "total", "customer_id"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    sql = f"SELECT {', '.join(columns)} FROM orders"
    if draw(st.booleans()):
        sql += f" WHERE total > {draw(st.integers(0, 100))}"
    sql += f" ORDER BY {columns[0]}, order_id"
    if draw(st.booleans()):
        sql += f" LIMIT {draw(st.integers(0, 5))}"
    return sql + draw(st.sampled_from(["", ";", " -- done"]))


@settings(max_examples=300, deadline=None)
@given(sql=write_statements())
def test_generated_write_statements_are_refused_by_both_dialects(sql: str) -> None:
    for dialect in DIALECTS:
        with pytest.raises(SqlRejectedError):
            prepare_query(sql, dialect=dialect)  # type: ignore[arg-type]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sql=write_statements())
def test_generated_write_statements_leave_sqlite_unchanged(sql: str, target_db_path: Path) -> None:
    target = SqliteTargetDatabase(str(target_db_path))
    before = _sqlite_snapshot(target_db_path)
    with pytest.raises(SqlRejectedError):
        asyncio.run(target.execute_query(sql))
    assert _sqlite_snapshot(target_db_path) == before


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sql=st.lists(write_statements(), min_size=5, max_size=5))
def test_generated_write_statements_leave_postgres_unchanged(
    sql: list[str], pg_schema: PgSchema
) -> None:
    import psycopg

    with psycopg.connect(pg_schema.url) as conn:
        exists = conn.execute("SELECT to_regclass('orders')").fetchone()
    if exists is None or exists[0] is None:
        _create_pg_shop(pg_schema)
    target = PostgresTargetDatabase(
        {"kind": "postgres", "url": pg_schema.url, "schema": pg_schema.name}
    )

    async def attempt_all() -> None:
        try:
            for statement in sql:
                with pytest.raises(SqlRejectedError):
                    await target.execute_query(statement)
        finally:
            await target.close()

    before = _pg_snapshot(pg_schema.url, pg_schema.name)
    asyncio.run(attempt_all())
    assert _pg_snapshot(pg_schema.url, pg_schema.name) == before


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sql=read_queries())
def test_generated_read_queries_return_what_the_database_returns(
    sql: str, target_db_path: Path
) -> None:
    target = SqliteTargetDatabase(str(target_db_path))
    result = asyncio.run(target.execute_query(sql, limit=3))
    conn = sqlite3.connect(target_db_path)
    expected = conn.execute(sql.split(" -- ")[0].rstrip(";")).fetchall()
    conn.close()
    assert [tuple(row.values()) for row in result.rows] == expected[:3]
    assert result.truncated == (len(expected) > 3)
