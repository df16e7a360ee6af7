"""Fixtures of the multi-process durability tests: a fresh durable store per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.storage.conftest import (  # noqa: F401  (fixtures used through kv_descriptor)
    kv_descriptor,
    postgres_tables,
    redis_prefixes,
)


@pytest.fixture(params=["sqlite", "postgres"])
def shared_kv(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A fresh store several processes share: SQLite, and the real PostgreSQL."""
    return kv_descriptor(str(request.param), request, tmp_path)


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def durable_kv(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """A fresh durable store of each kind: SQLite, and the real PostgreSQL and Redis."""
    return kv_descriptor(str(request.param), request, tmp_path)
