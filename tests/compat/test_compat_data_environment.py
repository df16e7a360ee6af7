"""Data-environment validation messages a program written against the reference relies on."""

from __future__ import annotations

from typing import Any

import pytest

from flowai_harness import (
    create_runtime,
    define_runtime,
    define_specialist,
    define_tenant,
    normalize_data_environment,
)

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
