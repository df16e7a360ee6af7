"""Fixtures for the key-value store tests: every backend, real PostgreSQL and Redis included.

Each test run uses its own Postgres tables (``kv_test_<run>_<n>``) and Redis keys (under
``flowai-test-<run>:``), removed when the session ends. A missing server skips its tests
locally and fails them in CI (``CI=true``).
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.ports import KeyValueStore
from flowai_harness.storage.factory import open_key_value_store

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
BACKENDS = ("memory", "sqlite", "postgres", "redis")
DURABLE_BACKENDS = ("sqlite", "postgres", "redis")
RUN_ID = uuid.uuid4().hex[:10]
# One numbering for every PostgresTables / RedisPrefixes of this process: other test modules
# import the session fixtures, and each import is a fixture of its own with its own instance.
_NAMES = itertools.count()


def server_missing(name: str, error: Exception) -> None:
    """Skip the test locally; fail it in CI, where the server must be running."""
    message = f"{name} is not reachable on 127.0.0.1: {type(error).__name__}: {error}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true requires it)")
    pytest.skip(message)


class PostgresTables:
    """Hands out table names unique to this run and drops them at the end of the session."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def new(self) -> str:
        """A fresh table name (the store creates it with ``ensure_schema``)."""
        name = f"kv_test_{RUN_ID}_{next(_NAMES)}"
        self.created.append(name)
        return name


class RedisPrefixes:
    """Hands out key prefixes under one root unique to this run; its keys go at session end."""

    root = f"flowai-test-{RUN_ID}:"

    def new(self) -> str:
        """A fresh key prefix under :attr:`root`."""
        return f"{self.root}{next(_NAMES)}:"


@pytest.fixture(scope="session")
def postgres_tables() -> Iterator[PostgresTables]:
    """Unique Postgres table names; the server must answer or the test skips (fails in CI)."""
    import psycopg

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        server_missing("PostgreSQL", error)
    tables = PostgresTables()
    yield tables
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        for name in tables.created:
            conn.execute(f'DROP TABLE IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def redis_prefixes() -> Iterator[RedisPrefixes]:
    """Unique Redis key prefixes; the server must answer or the test skips (fails in CI)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        server_missing("Redis", error)
    prefixes = RedisPrefixes()
    yield prefixes
    names = list(client.scan_iter(match=f"{RedisPrefixes.root}*", count=1000))
    if names:
        client.delete(*names)
    client.close()


def kv_descriptor(backend: str, request: pytest.FixtureRequest, directory: Path) -> dict[str, Any]:
    """A fresh ``data_environment.kv`` wire descriptor of ``backend``."""
    if backend == "memory":
        return {"kind": "memory"}
    if backend == "sqlite":
        return {"kind": "sqlite", "url": f"sqlite:{directory / 'kv.db'}", "ensureSchema": False}
    if backend == "postgres":
        table = request.getfixturevalue("postgres_tables").new()
        return {"kind": "postgres", "url": POSTGRES_URL, "table": table, "ensureSchema": True}
    if backend == "redis":
        prefix = request.getfixturevalue("redis_prefixes").new()
        return {"kind": "redis", "url": REDIS_URL, "prefix": prefix}
    raise AssertionError(f"unknown backend {backend}")


class StoreOpener:
    """Opens store instances over one backing (file, table, prefix) and closes them all.

    A memory store lives only in its instance, so every call returns the same one.
    """

    def __init__(self, backend: str, descriptor: dict[str, Any]) -> None:
        self.backend = backend
        self.descriptor = descriptor
        self.durable = backend != "memory"
        self.opened: list[KeyValueStore] = []

    def __call__(self) -> KeyValueStore:
        if self.opened and not self.durable:
            return self.opened[0]
        store = open_key_value_store({"kv": self.descriptor})
        self.opened.append(store)
        return store

    async def close_all(self) -> None:
        for store in self.opened:
            await store.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each key-value backend in turn."""
    return str(request.param)


@pytest.fixture
async def open_store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StoreOpener]:
    """Opens stores of ``backend`` over one fresh backing; closes them after the test."""
    opener = StoreOpener(backend, kv_descriptor(backend, request, tmp_path))
    yield opener
    await opener.close_all()


@pytest.fixture
def store(open_store: StoreOpener) -> KeyValueStore:
    """A fresh, empty store of each backend in turn."""
    return open_store()


@pytest.fixture
def tenant() -> str:
    """A tenant id no other test uses."""
    return f"tenant-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def new_tenant() -> Callable[[], str]:
    """Makes further tenant ids no other test uses."""
    return lambda: f"tenant-{uuid.uuid4().hex[:8]}"
