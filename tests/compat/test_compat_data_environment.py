"""Data-environment validation messages a program written against the reference relies on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowai_harness import (
    create_runtime,
    define_runtime,
    define_specialist,
    define_tenant,
    normalize_data_environment,
)
from flowai_harness.testing import collect_events

TENANT = define_tenant("acme", "v1")


def _normalize(environment: dict[str, Any]) -> Any:
    return normalize_data_environment(environment, runtime_resource_id="acme")


@pytest.mark.parametrize("key", ["tenant_id", "workspace_id"])
def test_a_blank_id_must_not_be_blank(key: str) -> None:
    with pytest.raises(ValueError, match=rf"data_environment\['{key}'\] must not be blank"):
        _normalize({key: "   "})


@pytest.mark.parametrize("key", ["tenant_id", "workspace_id"])
def test_a_non_string_id_must_be_a_string(key: str) -> None:
    with pytest.raises(TypeError, match=rf"data_environment\['{key}'\] must be a string"):
        _normalize({key: 7})


def test_a_descriptor_given_as_a_string_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match=r"data_environment\['target_database'\] must be a mapping"):
        _normalize({"target_database": "sqlite:/tmp/acme.db"})


def test_a_descriptor_kind_must_be_a_string() -> None:
    with pytest.raises(TypeError, match=r"data_environment\['kv'\]\['kind'\] must be a string"):
        _normalize({"kv": {"kind": 3}})


def test_catalog_search_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match=r"data_environment\['catalog_search'\] must be a mapping"):
        _normalize({"catalog_search": "/tmp/index"})


def test_an_unsupported_kind_lists_the_sorted_kinds() -> None:
    with pytest.raises(ValueError) as exc:
        _normalize({"kv": {"kind": "etcd"}})
    assert str(exc.value) == (
        "data_environment['kv'] does not support kind 'etcd'; "
        "expected one of: memory, postgres, redis, sqlite"
    )


def test_a_tenant_mismatch_keeps_the_dotted_wording() -> None:
    with pytest.raises(ValueError, match=r"data_environment\.tenant_id must match the runtime"):
        _normalize({"tenant_id": "globex"})


def test_the_target_database_is_opened_before_the_catalog_toolkit_check_with_a_redacted_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWAI_BAD_TARGET_URL", "postgresql://user:secret@/db?password=abc")
    analyst = define_specialist(
        "analyst", model="claude-haiku-4-5", prompt="answer", toolkits=["catalog"]
    )
    spec = define_runtime(TENANT, agents=[analyst])
    environment = {"target_database": {"kind": "postgres", "url_env": "FLOWAI_BAD_TARGET_URL"}}
    with pytest.raises(ValueError) as exc:
        create_runtime(spec, data_environment=environment)
    message = str(exc.value)
    assert "user:***@/db" in message
    assert "password=***" in message
    assert "secret" not in message
    assert "abc" not in message
    assert "catalog search" not in message


async def test_search_catalog_on_a_missing_index_says_catalog_search_index_is_unavailable(
    tmp_path: Path,
) -> None:
    call = json.dumps({"tool": "search_catalog", "args": {"query": "orders"}})
    analyst = define_specialist(
        "analyst", model="claude-haiku-4-5", prompt="p", toolkits=["catalog"]
    )
    runtime = create_runtime(
        define_runtime(TENANT, agents=[analyst]),
        interpreter="scripted",
        data_environment={
            "catalog": {"kind": "empty"},
            "catalog_search": {"index_path": str(tmp_path)},
        },
    )
    events = await collect_events(runtime.run_specialist("analyst", call), runtime)
    [result] = [e for e in events if e["type"] == "tool-invocation" and e["state"] == "result"]
    error = result["result"]["error"]
    assert error.startswith("Catalog search index is unavailable: ")
    assert "Rebuild or attach the catalog search index before retrying search_catalog" in error
