"""Choose the target database backend of a data environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowai_harness.data.target.database import TargetDatabase
from flowai_harness.errors import DataEnvironmentError

__all__ = ["open_target_database"]


def open_target_database(env: Mapping[str, Any] | None) -> TargetDatabase | None:
    """Return the target database of a data environment (wire form), or ``None`` if it has none.

    ``target_database`` descriptors and the legacy ``targetDatabaseUrl`` (``sqlite:…`` or
    ``postgres(ql)://…`` with ``targetDatabaseSchema``) are both understood. Connections open
    lazily, on first use.

    Raises:
        DataEnvironmentError: The descriptor cannot be used (unknown kind, unset ``url_env``,
            a never-allowed name in ``allowed_functions``).
        MissingDependencyError: The ``postgres`` kind needs ``psycopg``.
    """
    env = env or {}
    descriptor = env.get("targetDatabase")
    legacy = env.get("targetDatabaseUrl")
    if descriptor is None and legacy is None:
        return None
    if descriptor is None:
        url = str(legacy)
        schema = env.get("targetDatabaseSchema")
        if url.startswith("sqlite:"):
            descriptor = {"kind": "sqlite", "url": url}
        else:
            descriptor = {"kind": "postgres", "url": url, "schema": schema or "public"}
    kind = descriptor.get("kind")
    if kind == "sqlite":
        from flowai_harness.data.target.sqlite import SqliteTargetDatabase

        return SqliteTargetDatabase(str(descriptor["url"]), descriptor=descriptor)
    if kind == "postgres":
        from flowai_harness.data.target.postgres import PostgresTargetDatabase

        return PostgresTargetDatabase(descriptor)
    raise DataEnvironmentError(
        f"data_environment.target_database does not support kind '{kind}'; "
        "expected one of: sqlite, postgres"
    )
