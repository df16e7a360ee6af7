"""Open the key-value store a data environment asks for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowai_harness.errors import ConfigurationError
from flowai_harness.ports import KeyValueStore

__all__ = ["open_key_value_store"]


def open_key_value_store(env: Mapping[str, Any] | None) -> KeyValueStore:
    """Return the store of ``env["kv"]`` (camelCase wire form); in-memory when unset."""
    from flowai_harness.storage.memory import MemoryKeyValueStore

    kv = (env or {}).get("kv")
    if kv is None or kv.get("kind") == "memory":
        return MemoryKeyValueStore()
    raise ConfigurationError(
        f"data_environment.kv kind '{kv.get('kind')}' is not available in this build yet; "
        f"use kind 'memory'"
    )
