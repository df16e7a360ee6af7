"""execute_query's SQL rules: an adversarial corpus and generated statements are refused on
SQLite and PostgreSQL (as a superuser and as a SELECT-only role), the data and the session are
unchanged afterwards, and read-only queries still work."""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowai_harness.data.target.database import TargetDatabase
from flowai_harness.data.target.postgres import PostgresTargetDatabase
from flowai_harness.data.target.sql_functions import (
    POSTGRES_FUNCTIONS,
    SQLITE_FUNCTIONS,
    is_function_allowed,
)
from flowai_harness.data.target.sql_safety import (
    MAX_SQL_CHARS,
    check_read_only,
    prepare_query,
)
from flowai_harness.data.target.sqlite import SqliteTargetDatabase
from flowai_harness.errors import HarnessError, SqlRejectedError
from tests.data.conftest import PgSchema
from tests.data.sample_catalog import create_target_database
from tests.data.sql_corpus import HARMLESS, REFUSED, REFUSED_POSTGRES

DIALECTS = ("sqlite", "postgres")

# --------------------------------------------------------------------------- static rules


def test_the_corpus_is_large_enough() -> None:
    assert len(REFUSED) >= 50


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql", REFUSED, ids=lambda s: s[:40])
def test_every_corpus_statement_is_refused(sql: str, dialect: str) -> None:
    with pytest.raises(SqlRejectedError):
        prepare_query(sql, dialect=dialect)  # type: ignore[arg-type]


@pytest.mark.parametrize("sql", REFUSED_POSTGRES, ids=lambda s: s[:40])
def test_system_catalogs_are_refused_on_postgres(sql: str) -> None:
    with pytest.raises(SqlRejectedError, match=r"Table \S*pg_\w+ is not allowed in a read-only"):
        prepare_query(sql, dialect="postgres")


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
        ("SELECT pg_catalog.pg_sleep(1)", "Function pg_catalog.pg_sleep is not allowed"),
        ("SELECT x FROM t WHERE y IN (SELECT lo_import('/x'))", "Function lo_import"),
        ("SELECT 1" + " " * MAX_SQL_CHARS, "SQL statement is too long"),
        (
            "SELECT * FROM ts_stat('SELECT 1')",
            "Function ts_stat is not allowed in a read-only query (it runs SQL text",
        ),
        (
            "SELECT my_udf(1)",
            "Function my_udf is not allowed in a read-only query (only documented built-in "
            "functions and target_database.allowed_functions may be called)",
        ),
        (
            "SELECT * FROM pg_hba_file_rules",
            "Table pg_hba_file_rules is not allowed in a read-only",
        ),
        ("SELECT * FROM pg_catalog.pg_settings", "Table pg_catalog.pg_settings is not allowed"),
    ],
)
def test_refusals_say_why(sql: str, message: str) -> None:
    with pytest.raises(SqlRejectedError, match=re.escape(message)):
        prepare_query(sql, dialect="postgres")


def test_the_allow_list_refuses_side_effects_whatever_the_case_or_schema() -> None:
    for name in (
        "pg_read_file",
        "PG_LS_DIR",
        "lo_unlink",
        "dblink_connect",
        "pg_sleep_for",
        "pg_sleep",
        "xml_is_well_formed",
        "LOAD_EXTENSION",
        "ts_stat",
        "query_to_xmlschema",
        "set_config",
        "current_setting",
        "pg_stat_reset",
        "pg_logical_emit_message",
        "crosstab",
        "xpath_table",
        "my_udf",
    ):
        for dialect in DIALECTS:
            assert not is_function_allowed(name, dialect), (name, dialect)  # type: ignore[arg-type]
        assert not is_function_allowed(name, "postgres", schema="pg_catalog"), name
    for name in ("count", "lower", "coalesce", "date_trunc", "json_build_object", "row_number"):
        assert is_function_allowed(name, "postgres"), name
        assert is_function_allowed(name, "postgres", schema="PG_CATALOG"), name
        assert not is_function_allowed(name, "postgres", schema="public"), name
    assert is_function_allowed("my_udf", "postgres", ("my_udf",))
    assert is_function_allowed("my_udf", "postgres", ("app.my_udf",), schema="app")
    assert not is_function_allowed("my_udf", "postgres", ("my_udf",), schema="app")
    assert not is_function_allowed("dblink_exec", "postgres", ("dblink_exec",))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_allowed_function_survives_its_own_rewrite(dialect: str) -> None:
    """The check runs on the SQL sqlglot regenerates: an allowed function must not come out
    under a name the allow-list refuses."""
    names = POSTGRES_FUNCTIONS if dialect == "postgres" else SQLITE_FUNCTIONS
    refused: dict[str, str] = {}
    for name in sorted(n for n in names if n.replace("_", "").isalnum()):
        problems = []
        for args in ("x", "x, y", "x, y, z", ""):
            try:
                prepare_query(f"SELECT {name}({args}) FROM t", dialect=dialect)  # type: ignore[arg-type]
                break
            except SqlRejectedError as exc:
                problems.append(str(exc))
        else:
            refusals = [p for p in problems if "is not allowed" in p]
            if refusals:
                refused[name] = refusals[0]
    assert refused == {}


def test_user_functions_are_allowed_through_the_descriptor() -> None:
    with pytest.raises(SqlRejectedError, match="Function fiscal_quarter is not allowed"):
        prepare_query("SELECT fiscal_quarter(order_date) FROM orders", dialect="postgres")
    prepared = prepare_query(
        "SELECT fiscal_quarter(order_date), app.margin(total) FROM orders",
        dialect="postgres",
        allowed_functions=("fiscal_quarter", "app.margin"),
    )
    assert "FISCAL_QUARTER(order_date)" in prepared.sql and "app.margin(total)" in prepared.sql


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


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_length_limit_applies_to_the_text_written_not_the_rewrite(dialect: str) -> None:
    padding = MAX_SQL_CHARS - len("SELECT '' AS note")
    sql = f"SELECT '{'x' * padding}' AS note"
    assert len(sql) == MAX_SQL_CHARS
    prepared = prepare_query(sql, dialect=dialect)  # type: ignore[arg-type]
    assert len(prepared.sql) > MAX_SQL_CHARS
    with pytest.raises(SqlRejectedError, match="SQL statement is too long"):
        prepare_query(sql + " ", dialect=dialect)  # type: ignore[arg-type]


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
        parts.append(
            repr(conn.execute(f'SELECT last_value, is_called FROM "{schema}".order_ids').fetchall())
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
            "CREATE SEQUENCE order_ids;"
            "INSERT INTO customers VALUES (1, 'Ada', 'north'), (2, 'Grace', 'south');"
            "INSERT INTO orders VALUES (10, 1, 'shipped', 12.5), (11, 1, 'open', 3),"
            " (12, 2, 'shipped', 99);"
            "INSERT INTO products VALUES ('p-001', 'Sparkling Water 12pk', 6.49);"
        )


#: Session state of the pooled connection, read past the statement check (it uses catalogs).
SESSION_STATE_SQL = (
    "SELECT current_user AS usr, session_user AS session_usr, current_setting('role') AS role, "
    "current_setting('work_mem') AS work_mem, current_setting('search_path') AS search_path, "
    "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) "
    "AS advisory_locks"
)


def pg_session_state(target: PostgresTargetDatabase) -> dict[str, Any]:
    """What the next statement on the (single) pooled connection would see."""
    return target._run(SESSION_STATE_SQL, (), 1).rows[0]


class LiveTarget:
    """A target database with the shop data and a way to fingerprint everything it holds."""

    def __init__(
        self,
        target: TargetDatabase,
        snapshot: Callable[[], str],
        state: Callable[[], Any] = lambda: None,
    ) -> None:
        self.target = target
        self.snapshot = snapshot
        self.state = state

    async def attempt(self, sql: str) -> Any:
        try:
            return await self.target.execute_query(sql, limit=5)
        except HarnessError as exc:
            return exc


def pg_live_target(url: str, schema: PgSchema, **settings: Any) -> LiveTarget:
    """A one-connection PostgreSQL target on ``schema`` (so the session state is observable)."""
    timeout = settings.pop("statement_timeout_s", 2)
    target = PostgresTargetDatabase(
        {"kind": "postgres", "url": url, "schema": schema.name, "poolSize": 1, **settings},
        statement_timeout_s=timeout,
    )
    return LiveTarget(
        target, lambda: _pg_snapshot(schema.url, schema.name), lambda: pg_session_state(target)
    )


@pytest.fixture(params=["sqlite", "postgres-superuser", "postgres-reader"])
async def live(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The shop on SQLite, on PostgreSQL as a superuser (``allow_privileged``), and on
    PostgreSQL as the SELECT-only ``flowai_reader`` role."""
    if request.param == "sqlite":
        path = create_target_database(tmp_path / "target.db")
        yield LiveTarget(
            SqliteTargetDatabase(str(path), statement_timeout_s=2), lambda: _sqlite_snapshot(path)
        )
        return
    request.getfixturevalue("pg_extensions")
    schema: PgSchema = request.getfixturevalue("pg_schema")
    url = schema.url
    if request.param == "postgres-reader":
        url = request.getfixturevalue("reader_url")
    _create_pg_shop(schema)
    live = pg_live_target(url, schema, allowPrivileged=request.param == "postgres-superuser")
    live.target.verify()  # type: ignore[attr-defined]
    yield live
    await live.target.close()


async def test_corpus_leaves_the_data_and_the_session_unchanged(live: LiveTarget) -> None:
    before, session = live.snapshot(), live.state()
    refused = REFUSED + (REFUSED_POSTGRES if live.target.dialect == "postgres" else ())
    for sql in refused:
        outcome = await live.attempt(sql)
        assert isinstance(outcome, SqlRejectedError), (sql, outcome)
    assert live.state() == session
    for sql in HARMLESS:
        await live.attempt(sql)
        assert live.state() == session, sql
    assert live.snapshot() == before


async def test_read_only_queries_run_with_truncation(live: LiveTarget) -> None:
    result = await live.target.execute_query(
        "SELECT order_id, status FROM orders ORDER BY order_id", limit=2
    )
    assert result.columns == ["order_id", "status"]
    assert [row["order_id"] for row in result.rows] == [10, 11]
    assert result.truncated and result.row_count == 2 and result.truncated_reason == "rows"
    whole = await live.target.execute_query("SELECT count(*) AS n FROM orders")
    assert whole.rows[0]["n"] >= 3 and not whole.truncated and whole.truncated_reason is None


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


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sql=read_queries())
def test_generated_read_queries_succeed_on_postgres_as_the_reader(
    sql: str, pg_schema: PgSchema, reader_url: str
) -> None:
    import psycopg

    with psycopg.connect(pg_schema.url) as conn:
        if conn.execute("SELECT to_regclass('orders')").fetchone() == (None,):
            _create_pg_shop(pg_schema)
        expected = conn.execute(sql.split(" -- ")[0].rstrip(";")).fetchall()
    target = PostgresTargetDatabase(
        {"kind": "postgres", "url": reader_url, "schema": pg_schema.name}
    )

    async def run() -> Any:
        try:
            return await target.execute_query(sql, limit=3)
        finally:
            await target.close()

    result = asyncio.run(run())
    assert [tuple(row.values()) for row in result.rows] == [
        tuple(float(v) if hasattr(v, "as_tuple") else v for v in row) for row in expected[:3]
    ]
    assert result.truncated == (len(expected) > 3)
