"""Fixtures of the data tests: the sample catalog, SQLite files, and PostgreSQL schemas.

Tests needing PostgreSQL use the server on 127.0.0.1:5432 (database ``test``). Locally they are
skipped when it is not running; in CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.data.catalog import CatalogScope, CatalogStore, MemoryCatalog, open_catalog
from flowai_harness.data.entries import parse_entry
from tests.data.sample_catalog import create_target_database, sample_entries

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SCOPE = CatalogScope("acme", "default")


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
