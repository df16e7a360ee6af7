"""Open the key-value store a data environment asks for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowai_harness.errors import DataEnvironmentError
from flowai_harness.ports import KeyValueStore
from flowai_harness.specs.data_environment import redact_url, resolve_url

__all__ = ["KV_KINDS", "open_key_value_store"]

KV_KINDS = ("memory", "sqlite", "postgres", "redis")
"""The ``data_environment.kv`` kinds this build can open."""


def open_key_value_store(env: Mapping[str, Any] | None) -> KeyValueStore:
    """Open the store of ``env["kv"]`` (the camelCase wire form); in-memory when unset.

    The SQLite file is opened, and Postgres and Redis are connected to once, right here, so a
    bad path, URL or password fails the runtime build instead of the first request.

    Args:
        env: The data environment wire dict from ``normalize_data_environment``, or ``None``.

    Returns:
        A ``KeyValueStore``: memory, SQLite, Postgres or Redis.

    Raises:
        DataEnvironmentError: The ``kv`` section is malformed, its ``url_env`` variable is
            unset, or the backend cannot be opened (the message names the section and the URL
            with its secrets masked).
        MissingDependencyError: The backend's client library is not installed (the message
            names the extra to install).
    """
    kv = (env or {}).get("kv")
    if kv is None:
        return _memory()
    if not isinstance(kv, Mapping):
        raise DataEnvironmentError(
            f"data_environment.kv must be a mapping with a 'kind' key; got {type(kv).__name__}"
        )
    kind = kv.get("kind", "memory")
    if kind == "memory":
        return _memory()
    if kind == "sqlite":
        from flowai_harness.storage.sqlite import SqliteKeyValueStore

        return SqliteKeyValueStore(resolve_url(kv, section="kv"))
    if kind == "postgres":
        from flowai_harness.storage.postgres import DEFAULT_POOL_SIZE, PostgresKeyValueStore

        return PostgresKeyValueStore(
            resolve_url(kv, section="kv"),
            table=kv.get("table", "kv_store"),
            ensure_schema=bool(kv.get("ensureSchema", kv.get("ensure_schema", False))),
            source=_source(kv),
            pool_size=kv.get("poolSize", kv.get("pool_size")) or DEFAULT_POOL_SIZE,
        )
    if kind == "redis":
        from flowai_harness.storage.redis import RedisKeyValueStore

        return RedisKeyValueStore(
            resolve_url(kv, section="kv"), prefix=kv.get("prefix", "afw:"), source=_source(kv)
        )
    shown = redact_url(kind) if isinstance(kind, str) else type(kind).__name__
    raise DataEnvironmentError(
        f"data_environment.kv does not support kind '{shown}'; expected one of: "
        f"{', '.join(KV_KINDS)}"
    )


def _memory() -> KeyValueStore:
    from flowai_harness.storage.memory import MemoryKeyValueStore

    return MemoryKeyValueStore()


def _source(kv: Mapping[str, Any]) -> str:
    """Say where the URL came from: ``url`` or ``url_env NAME``."""
    if kv.get("url") is not None:
        return "url"
    return f"url_env {kv.get('urlEnv', kv.get('url_env'))}"
