"""``create_runtime`` opens a PostgreSQL target and refuses a connection role that could write
or is privileged, unless ``allow_privileged`` says otherwise (then it warns)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from flowai_harness import create_runtime, define_runtime, define_specialist, define_tenant
from flowai_harness.errors import DataEnvironmentError, PrivilegedTargetRoleError
from flowai_harness.testing import ScriptedModel, collect_events
from tests.data.conftest import PgSchema, ensure_role, grant_select, role_url
from tests.data.test_sql_safety import _create_pg_shop

SECRET = "n0t-a-real-pw"


def _runtime(target: dict[str, Any], tmp_path: Path, model: ScriptedModel | None = None) -> Any:
    analyst = define_specialist(
        "analyst", model="claude-haiku-4-5", prompt="Answer with data.", toolkits=["catalog"]
    )
    spec = define_runtime(define_tenant("acme", "v1"), agents=[analyst])
    env = {"catalog_search": {"index_path": str(tmp_path / "idx")}, "target_database": target}
    return create_runtime(spec, data_environment=env, interpreter=model or ScriptedModel())


def _superuser_url(schema: PgSchema) -> str:
    # trust authentication ignores the password; it is there to prove it is never echoed
    return (
        f"postgresql://postgres:{SECRET}@127.0.0.1:5432/test?options=-csearch_path%3D{schema.name}"
    )


def test_a_superuser_target_is_refused(pg_schema: PgSchema, tmp_path: Path) -> None:
    target = {"kind": "postgres", "url": _superuser_url(pg_schema), "schema": pg_schema.name}
    with pytest.raises(PrivilegedTargetRoleError) as info:
        _runtime(target, tmp_path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "the connection role 'postgres' is not safe for agent queries: it is a superuser" in (
        message
    )
    assert "docs/security.md" in message and "allow_privileged" in message
    assert "postgres:***@127.0.0.1:5432" in message and SECRET not in message


def test_allow_privileged_accepts_the_superuser_with_a_warning(
    pg_schema: PgSchema, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = {
        "kind": "postgres",
        "url": _superuser_url(pg_schema),
        "schema": pg_schema.name,
        "allow_privileged": True,
    }
    with caplog.at_level(logging.WARNING, logger="flowai_harness.data"):
        runtime = _runtime(target, tmp_path)
    assert runtime is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("role 'postgres' is privileged (it is a superuser" in w for w in warnings)
    assert all(SECRET not in w for w in warnings)


async def test_a_select_only_role_is_accepted_and_queries(
    pg_schema: PgSchema, reader_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _create_pg_shop(pg_schema)
    model = (
        ScriptedModel()
        .add_turn(tool_calls=[("execute_query", {"sql": "SELECT count(*) AS n FROM orders"})])
        .add_turn(tool_calls=[("execute_query", {"sql": "SELECT * FROM pg_stat_activity"})])
        .add_turn("done")
    )
    target = {"kind": "postgres", "url": reader_url, "schema": pg_schema.name}
    with caplog.at_level(logging.WARNING, logger="flowai_harness.data"):
        runtime = _runtime(target, tmp_path, model)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    events = await collect_events(runtime.run_specialist("analyst", "go"))
    results = [
        e["result"] for e in events if e["type"] == "tool-invocation" and e["state"] == "result"
    ]
    assert results[0] == {"columns": ["n"], "rows": [{"n": 3}], "row_count": 1, "truncated": False}
    assert "Table pg_stat_activity is not allowed in a read-only query" in results[1]["error"]


@pytest.mark.parametrize(
    ("grant", "problem"),
    [
        ('GRANT INSERT ON "{schema}".orders TO "{role}"', "it can write to or owns tables"),
        ('GRANT CREATE ON SCHEMA "{schema}" TO "{role}"', "it can create objects in schema"),
        ('GRANT pg_read_server_files TO "{role}"', "it is a member of pg_read_server_files"),
        ('ALTER ROLE "{role}" CREATEROLE', "it has CREATEROLE"),
    ],
)
def test_a_role_that_can_write_or_is_privileged_is_refused(
    grant: str, problem: str, pg_schema: PgSchema, tmp_path: Path
) -> None:
    import psycopg

    role = f"flowai_test_{pg_schema.name[-12:]}"
    _create_pg_shop(pg_schema)
    ensure_role(role)
    grant_select(pg_schema.name, role)
    with psycopg.connect(pg_schema.url, autocommit=True) as conn:
        conn.execute(grant.format(schema=pg_schema.name, role=role))
    target = {"kind": "postgres", "url": role_url(role, pg_schema.name), "schema": pg_schema.name}
    try:
        with pytest.raises(PrivilegedTargetRoleError, match=f"'{role}' is not safe") as info:
            _runtime(target, tmp_path)
        assert problem in str(info.value)
    finally:
        with psycopg.connect(pg_schema.url, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}"; DROP ROLE "{role}"')


def test_an_unreachable_target_fails_create_runtime_without_its_password(
    tmp_path: Path, postgres_url: str
) -> None:
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:1/x?password={SECRET}"
    with pytest.raises(DataEnvironmentError) as info:
        _runtime({"kind": "postgres", "url": url}, tmp_path)
    message = str(info.value)
    assert "cannot connect" in message and "postgres:***@127.0.0.1:1" in message
    assert "password=***" in message and SECRET not in message
