"""Fixtures of the data tests: the sample catalog, SQLite files, and PostgreSQL schemas.

Tests needing PostgreSQL use the server on 127.0.0.1:5432 (database ``test``). Locally they are
skipped when it is not running; in CI (``CI=true``) they fail instead. ``reader_url`` connects
as ``flowai_reader``, a SELECT-only role created on demand (the recipe of docs/security.md);
``pg_extensions`` installs ``dblink``, ``tablefunc`` and ``xml2`` where the server has them, so
attacks through them are real.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.data.catalog.entries import parse_entry
from flowai_harness.data.catalog.factory import open_catalog
from flowai_harness.data.catalog.memory import MemoryCatalog
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from tests.data.sample_catalog import create_target_database, sample_entries

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SCOPE = CatalogScope("acme", "default")
READER_ROLE = "flowai_reader"


def _postgres_available() -> bool:
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL; skips (locally) or fails (CI) when it is not reachable."""
    if not _postgres_available():
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_URL


@dataclass(frozen=True)
class PgSchema:
    """A throw-away PostgreSQL schema and a URL whose search_path points at it."""

    name: str
    url: str


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[PgSchema]:
    """A unique schema, dropped (with everything in it) after the test."""
    import psycopg

    name = f"fh_data_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield PgSchema(name, f"{postgres_url}?options=-csearch_path%3D{name}")
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def ensure_role(name: str, *member_of: str) -> None:
    """Create a login role with no privileges (idempotent, safe when tests race to create it)."""
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        try:
            conn.execute(
                f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
                "NOBYPASSRLS"
            )
        except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pass
        for role in member_of:
            conn.execute(f'GRANT "{role}" TO "{name}"')


def grant_select(schema: str, role: str) -> None:
    """Let ``role`` read every table of ``schema``, present and future (created by postgres)."""
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
        conn.execute(
            f'ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA "{schema}" '
            f'GRANT SELECT ON TABLES TO "{role}"'
        )


def role_url(role: str, schema: str) -> str:
    """The test server's URL for ``role`` with ``schema`` on its search path."""
    return f"postgresql://{role}@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


@pytest.fixture
def reader_url(pg_schema: PgSchema) -> str:
    """A URL of the SELECT-only role ``flowai_reader``, allowed to read ``pg_schema``."""
    ensure_role(READER_ROLE)
    grant_select(pg_schema.name, READER_ROLE)
    return role_url(READER_ROLE, pg_schema.name)


@pytest.fixture(scope="session")
def pg_extensions(postgres_url: str) -> frozenset[str]:
    """Install dblink, tablefunc and xml2 in the test database where available; return the
    installed ones (the attacks through them then run for real)."""
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for name in ("dblink", "tablefunc", "xml2"):
            try:
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
            except psycopg.Error:
                pass  # not shipped with this server, or created by a concurrent session
        rows = conn.execute("SELECT extname FROM pg_extension").fetchall()
    return frozenset(str(row[0]) for row in rows)


@pytest.fixture
def target_db_path(tmp_path: Path) -> Path:
    """The shop's SQLite target database."""
    return create_target_database(tmp_path / "target.db")


@pytest.fixture(params=["inline", "sqlite", "postgres"])
def catalog_kind(request: pytest.FixtureRequest) -> str:
    """Each catalog backend kind in turn."""
    return str(request.param)


def catalog_descriptor(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """A catalog descriptor (wire form) of ``kind``; Postgres gets its own schema."""
    if kind == "inline":
        return {"kind": "inline", "entries": sample_entries()}
    if kind == "sqlite":
        return {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'catalog.db'}"}
    schema: PgSchema = request.getfixturevalue("pg_schema")
    return {"kind": "postgres", "url": schema.url, "ensureSchema": True}


@pytest.fixture
async def shop_catalog(
    catalog_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[CatalogStore]:
    """The sample catalog on each backend (written through the store for durable kinds)."""
    catalog = open_catalog(catalog_descriptor(catalog_kind, tmp_path, request))
    if not isinstance(catalog, MemoryCatalog):
        await catalog.upsert_entries(SCOPE, [parse_entry(e) for e in sample_entries()])
    try:
        yield catalog
    finally:
        await catalog.close()
