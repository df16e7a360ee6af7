"""Tests for flowai_harness.specs.data_environment (and its descriptor models)."""

from __future__ import annotations

import string
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from flowai_harness.errors import DataEnvironmentError, SpecTypeError, SpecValueError
from flowai_harness.specs.data_environment import (
    CatalogSearch,
    DataEnvironment,
    DataEnvironmentConfig,
    EmptyCatalog,
    InlineCatalog,
    MemoryKv,
    PostgresCatalog,
    PostgresKv,
    PostgresTargetDatabase,
    RedisKv,
    SqliteCatalog,
    SqliteKv,
    SqliteTargetDatabase,
    normalize_data_environment,
    redact_url,
    resolve_url,
    scope_tenant_key,
)

PROPERTY_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def normalize(env: Any, url: Any = None, tenant: str | None = None) -> dict[str, Any] | None:
    return normalize_data_environment(env, url, runtime_resource_id=tenant)


# --- wire snapshots -------------------------------------------------------------------------


def test_brief_example_emits_defaults_and_camel_case_keys() -> None:
    env = {
        "kv": {"kind": "sqlite", "url": "sqlite:/tmp/kv.db"},
        "catalog_search": {"index_path": "/x"},
    }
    assert normalize(env) == {
        "kv": {"kind": "sqlite", "url": "sqlite:/tmp/kv.db", "ensureSchema": False},
        "catalogSearch": {"indexPath": "/x", "rebuildOnStart": False, "writeThrough": False},
    }


@pytest.mark.parametrize(
    ("section", "descriptor", "wire_key", "expected"),
    [
        ("kv", {"kind": "memory"}, "kv", {"kind": "memory"}),
        (
            "kv",
            {"kind": "sqlite", "url": "/var/kv.db", "ensure_schema": True},
            "kv",
            {"kind": "sqlite", "url": "/var/kv.db", "ensureSchema": True},
        ),
        (
            "kv",
            {"kind": "postgres", "url": "postgres://h/db"},
            "kv",
            {
                "kind": "postgres",
                "url": "postgres://h/db",
                "table": "kv_store",
                "ensureSchema": False,
            },
        ),
        (
            "kv",
            {"kind": "postgres", "url_env": "KV_URL", "table": "Kv_2", "ensure_schema": True},
            "kv",
            {"kind": "postgres", "urlEnv": "KV_URL", "table": "Kv_2", "ensureSchema": True},
        ),
        (
            "kv",
            {"kind": "redis", "url": "redis://localhost:6379/0"},
            "kv",
            {"kind": "redis", "url": "redis://localhost:6379/0", "prefix": "afw:"},
        ),
        (
            "kv",
            {"kind": "redis", "urlEnv": "REDIS_URL", "prefix": "app:"},
            "kv",
            {"kind": "redis", "urlEnv": "REDIS_URL", "prefix": "app:"},
        ),
        ("catalog", {"kind": "empty"}, "catalog", {"kind": "empty"}),
        ("catalog", {"kind": "inline"}, "catalog", {"kind": "inline", "entries": []}),
        (
            "catalog",
            {"kind": "sqlite", "url": "sqlite:cat.db"},
            "catalog",
            {"kind": "sqlite", "url": "sqlite:cat.db", "ensureSchema": False},
        ),
        (
            "catalog",
            {"kind": "postgres", "urlEnv": "CAT", "ensureSchema": True},
            "catalog",
            {"kind": "postgres", "urlEnv": "CAT", "ensureSchema": True},
        ),
        (
            "target_database",
            {"kind": "sqlite", "url": "sqlite:shop.db"},
            "targetDatabase",
            {"kind": "sqlite", "url": "sqlite:shop.db"},
        ),
        (
            "target_database",
            {"kind": "postgres", "url": "postgresql://h/shop"},
            "targetDatabase",
            {"kind": "postgres", "url": "postgresql://h/shop", "schema": "public"},
        ),
        (
            "targetDatabase",
            {"kind": "postgres", "url_env": "SHOP", "schema": "sales_2"},
            "targetDatabase",
            {"kind": "postgres", "urlEnv": "SHOP", "schema": "sales_2"},
        ),
    ],
)
def test_every_descriptor_kind_has_a_pinned_wire_form(
    section: str, descriptor: dict[str, Any], wire_key: str, expected: dict[str, Any]
) -> None:
    assert normalize({section: descriptor}) == {wire_key: expected}


def test_inline_entries_are_kept_unchanged_including_mixed_case_and_nulls() -> None:
    entry = {
        "id": "table:products",
        "itemType": "table",
        "name": "products",
        "qualified_name": None,
        "content": "All products",
        "tags": ["[TYPE:table]"],
        "related": [{"target_id": "column:x", "relationType": "has_column", "description": None}],
        "metadata": {"databaseId": "shop", "schemaName": "main", "tableName": "products"},
    }
    wire = normalize({"catalog": {"kind": "inline", "entries": [entry]}})
    assert wire == {"catalog": {"kind": "inline", "entries": [entry]}}


def test_top_level_scalars_and_catalog_search_flags_use_camel_case_wire_keys() -> None:
    env = {
        "tenant_id": "acme",
        "workspace_id": "sales",
        "catalog_search": {"index_path": "/idx", "rebuild_on_start": True, "write_through": True},
        "target_database_url": "postgres://h/db",
        "target_database_schema": "analytics",
    }
    assert normalize(env, tenant="acme") == {
        "tenantId": "acme",
        "workspaceId": "sales",
        "catalogSearch": {"indexPath": "/idx", "rebuildOnStart": True, "writeThrough": True},
        "targetDatabaseUrl": "postgres://h/db",
        "targetDatabaseSchema": "analytics",
    }


def test_camel_case_input_is_accepted_at_every_level() -> None:
    env = {
        "tenantId": "acme",
        "workspaceId": "w",
        "catalogSearch": {"indexPath": "/i", "rebuildOnStart": True, "writeThrough": False},
        "targetDatabase": {"kind": "postgres", "urlEnv": "DB", "schema": "s"},
        "kv": {"kind": "postgres", "urlEnv": "KV", "ensureSchema": True},
    }
    assert normalize(env, tenant="acme") == {
        "tenantId": "acme",
        "workspaceId": "w",
        "kv": {"kind": "postgres", "urlEnv": "KV", "table": "kv_store", "ensureSchema": True},
        "catalogSearch": {"indexPath": "/i", "rebuildOnStart": True, "writeThrough": False},
        "targetDatabase": {"kind": "postgres", "urlEnv": "DB", "schema": "s"},
    }


def test_none_values_are_dropped_from_the_wire() -> None:
    env = {"tenant_id": None, "kv": {"kind": "postgres", "url": "postgres://h/d", "url_env": None}}
    assert normalize(env) == {
        "kv": {
            "kind": "postgres",
            "url": "postgres://h/d",
            "table": "kv_store",
            "ensureSchema": False,
        }
    }


@pytest.mark.parametrize("env", [None, {}, {"kv": None, "tenantId": None, "catalog_search": None}])
def test_empty_environment_normalizes_to_none(env: Any) -> None:
    assert normalize(env, tenant="acme") is None


def test_data_environment_model_and_descriptor_instances_are_accepted() -> None:
    env = {
        "kv": PostgresKv(url_env="KV"),
        "catalog": InlineCatalog(entries=[{"id": "a"}]),
        "catalog_search": CatalogSearch(index_path="/i"),
        "target_database": SqliteTargetDatabase(url="sqlite:db"),
    }
    expected = {
        "kv": {"kind": "postgres", "urlEnv": "KV", "table": "kv_store", "ensureSchema": False},
        "catalog": {"kind": "inline", "entries": [{"id": "a"}]},
        "catalogSearch": {"indexPath": "/i", "rebuildOnStart": False, "writeThrough": False},
        "targetDatabase": {"kind": "sqlite", "url": "sqlite:db"},
    }
    assert normalize(env) == expected
    assert normalize(DataEnvironment.model_validate(env)) == expected


def test_descriptor_models_default_their_kind_and_dump_to_wire() -> None:
    assert MemoryKv().to_wire() == {"kind": "memory"}
    assert EmptyCatalog().to_wire() == {"kind": "empty"}
    assert RedisKv(url="redis://h").to_wire() == {
        "kind": "redis",
        "url": "redis://h",
        "prefix": "afw:",
    }
    assert SqliteKv(url="kv.db").to_wire() == {
        "kind": "sqlite",
        "url": "kv.db",
        "ensureSchema": False,
    }
    assert SqliteCatalog(url="c.db", ensure_schema=True).to_wire() == {
        "kind": "sqlite",
        "url": "c.db",
        "ensureSchema": True,
    }
    assert PostgresCatalog(url_env="C").to_wire() == {
        "kind": "postgres",
        "urlEnv": "C",
        "ensureSchema": False,
    }
    assert PostgresTargetDatabase(url="postgres://h/d", schema="s").to_wire() == {
        "kind": "postgres",
        "url": "postgres://h/d",
        "schema": "s",
    }


def test_data_environment_is_frozen() -> None:
    env = DataEnvironment(tenant_id="acme")
    with pytest.raises(ValidationError):
        env.tenant_id = "other"  # type: ignore[misc]


def test_config_typed_dict_lists_every_top_level_key_in_snake_case() -> None:
    assert DataEnvironmentConfig.__required_keys__ == frozenset()
    assert DataEnvironmentConfig.__optional_keys__ == {
        "tenant_id",
        "workspace_id",
        "kv",
        "catalog",
        "catalog_search",
        "target_database",
        "target_database_url",
        "target_database_schema",
    }
    assert set(DataEnvironmentConfig.__optional_keys__) == set(DataEnvironment.model_fields)


# --- the target_database_url argument -------------------------------------------------------


def test_url_argument_alone_becomes_the_legacy_target() -> None:
    assert normalize(None, "sqlite:/tmp/shop.db") == {"targetDatabaseUrl": "sqlite:/tmp/shop.db"}


def test_url_argument_equal_to_the_environment_url_is_accepted() -> None:
    env = {"targetDatabaseUrl": "postgres://h/db", "target_database_schema": "s"}
    assert normalize(env, "postgres://h/db") == {
        "targetDatabaseUrl": "postgres://h/db",
        "targetDatabaseSchema": "s",
    }


def test_url_argument_conflicting_with_a_different_url_is_a_value_error_with_redacted_urls() -> (
    None
):
    env = {"target_database_url": "postgres://u:one@h/a"}
    with pytest.raises(SpecValueError) as caught:
        normalize(env, "postgres://u:two@h/b")
    assert str(caught.value) == (
        "target_database_url 'postgres://u:***@h/b' conflicts with "
        "data_environment.target_database_url 'postgres://u:***@h/a'"
    )


def test_url_argument_conflicting_with_a_target_database_descriptor_is_a_value_error() -> None:
    env = {"target_database": {"kind": "sqlite", "url": "sqlite:a.db"}}
    with pytest.raises(SpecValueError, match=r"conflicts with data_environment\.target_database;"):
        normalize(env, "sqlite:a.db")


def test_url_argument_that_is_not_a_string_is_a_type_error() -> None:
    with pytest.raises(SpecTypeError, match=r"^target_database_url must be a string; got int$"):
        normalize({}, 5)


# --- type checks, ids, tenant ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "snake"),
    [
        ("tenant_id", "tenant_id"),
        ("tenantId", "tenant_id"),
        ("workspace_id", "workspace_id"),
        ("workspaceId", "workspace_id"),
        ("target_database_url", "target_database_url"),
        ("targetDatabaseUrl", "target_database_url"),
        ("target_database_schema", "target_database_schema"),
        ("targetDatabaseSchema", "target_database_schema"),
    ],
)
def test_non_string_scalar_is_a_type_error_naming_the_key(key: str, snake: str) -> None:
    with pytest.raises(SpecTypeError) as caught:
        normalize({key: 42})
    assert str(caught.value) == f"data_environment['{snake}'] must be a string; got int"


@pytest.mark.parametrize("key", ["tenant_id", "tenantId", "workspace_id", "workspaceId"])
@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_id_is_a_value_error(key: str, blank: str) -> None:
    snake = "tenant_id" if key.startswith("tenant") else "workspace_id"
    with pytest.raises(SpecValueError) as caught:
        normalize({key: blank})
    assert str(caught.value) == f"data_environment['{snake}'] must not be blank"


def test_tenant_different_from_the_runtime_tenant_is_a_value_error() -> None:
    with pytest.raises(SpecValueError) as caught:
        normalize({"tenant_id": "other"}, tenant="acme")
    assert str(caught.value) == "data_environment.tenant_id must match the runtime tenant 'acme'"


def test_tenant_equal_to_the_runtime_tenant_is_accepted() -> None:
    assert normalize({"tenantId": "acme"}, tenant="acme") == {"tenantId": "acme"}


def test_tenant_is_not_checked_without_a_runtime_tenant() -> None:
    assert normalize({"tenant_id": "anyone"}, tenant=None) == {"tenantId": "anyone"}


def test_runtime_resource_id_is_keyword_only_and_required() -> None:
    with pytest.raises(TypeError):
        normalize_data_environment({}, None, "acme")  # type: ignore[misc]
    with pytest.raises(TypeError):
        normalize_data_environment({})  # type: ignore[call-arg]


@pytest.mark.parametrize("env", [["kv"], "kv", 3, ("a", "b")])
def test_environment_that_is_not_a_mapping_is_a_type_error(env: Any) -> None:
    with pytest.raises(SpecTypeError, match=r"^data_environment must be a mapping; got "):
        normalize(env)


def test_key_given_in_both_spellings_is_a_value_error() -> None:
    with pytest.raises(SpecValueError, match="sets both 'tenant_id' and 'tenantId'"):
        normalize({"tenant_id": "a", "tenantId": "a"})


# --- descriptors ----------------------------------------------------------------------------

SECTION_KINDS = {
    "kv": "memory, postgres, redis, sqlite",
    "target_database": "postgres, sqlite",
    "catalog": "empty, inline, postgres, sqlite",
}


@pytest.mark.parametrize("section", list(SECTION_KINDS))
@pytest.mark.parametrize("value", ["sqlite", 1, ["kind"], True])
def test_descriptor_that_is_not_a_mapping_is_a_type_error(section: str, value: Any) -> None:
    with pytest.raises(SpecTypeError) as caught:
        normalize({section: value})
    assert str(caught.value).startswith(f"data_environment['{section}'] must be a mapping")


@pytest.mark.parametrize("section", list(SECTION_KINDS))
@pytest.mark.parametrize("descriptor", [{}, {"kind": 1}, {"kind": None, "url": "x"}])
def test_descriptor_kind_that_is_not_a_string_is_a_type_error(
    section: str, descriptor: dict[str, Any]
) -> None:
    with pytest.raises(SpecTypeError) as caught:
        normalize({section: descriptor})
    assert str(caught.value).startswith(f"data_environment['{section}']['kind'] must be a string")
    assert SECTION_KINDS[section] in str(caught.value)


@pytest.mark.parametrize(
    ("section", "kind", "guess"),
    [
        ("kv", "mongo", ""),
        ("kv", "inline", ""),
        ("kv", "Memory", "; did you mean 'memory'?"),
        ("kv", "sqlit", "; did you mean 'sqlite'?"),
        ("catalog", "redis", ""),
        ("catalog", "memory", ""),
        ("target_database", "mysql", ""),
        ("target_database", "memory", ""),
    ],
)
def test_unsupported_kind_is_a_value_error_listing_the_supported_kinds(
    section: str, kind: str, guess: str
) -> None:
    with pytest.raises(SpecValueError) as caught:
        normalize({section: {"kind": kind}})
    assert str(caught.value) == (
        f"data_environment['{section}'] does not support kind '{kind}'; "
        f"expected one of: {SECTION_KINDS[section]}{guess}"
    )


def test_camel_case_section_name_is_checked_like_the_snake_case_one() -> None:
    with pytest.raises(
        SpecValueError, match=r"data_environment\['target_database'\] does not support"
    ):
        normalize({"targetDatabase": {"kind": "oracle"}})


@pytest.mark.parametrize("value", ["/idx", 1, ["/idx"]])
def test_catalog_search_that_is_not_a_mapping_is_a_type_error(value: Any) -> None:
    with pytest.raises(
        SpecTypeError, match=r"^data_environment\['catalog_search'\] must be a mapping"
    ):
        normalize({"catalogSearch": value})


# --- order of checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "url", "tenant", "error", "fragment"),
    [
        # the URL merge runs before the type checks
        (
            {"tenant_id": 5, "target_database": {"kind": "sqlite", "url": "a"}},
            "sqlite:a",
            None,
            SpecValueError,
            "conflicts with",
        ),
        # type checks run before the non-blank checks
        (
            {"tenant_id": " ", "workspace_id": 5},
            None,
            None,
            SpecTypeError,
            "workspace_id'] must be",
        ),
        # ids are checked before the tenant match
        ({"tenant_id": "other", "workspace_id": ""}, None, "acme", SpecValueError, "not be blank"),
        # the tenant match runs before descriptor checks
        ({"tenant_id": "other", "kv": 5}, None, "acme", SpecValueError, "must match"),
        # descriptors are checked before catalog_search
        ({"catalog_search": 5, "kv": {"kind": "x"}}, None, None, SpecValueError, "kind 'x'"),
        # catalog_search is checked before full model validation
        ({"catalog_search": 5, "bogus": 1}, None, None, SpecTypeError, "catalog_search"),
        # descriptor checks come before full model validation
        ({"kv": 5, "bogus": 1}, None, None, SpecTypeError, "data_environment['kv'] must be"),
    ],
)
def test_checks_run_in_the_documented_order(
    env: dict[str, Any], url: str | None, tenant: str | None, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error) as caught:
        normalize(env, url, tenant)
    assert fragment in str(caught.value)
    assert not isinstance(caught.value, ValidationError)


# --- full model validation (pydantic.ValidationError) ---------------------------------------


def _message(error: ValidationError) -> str:
    return "\n".join(line["msg"] for line in error.errors())


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"kv": {"kind": "memory"}, "storage": {}}, "Extra inputs are not permitted"),
        ({"kv": {"kind": "memory", "url": "x"}}, "Extra inputs are not permitted"),
        ({"catalog": {"kind": "empty", "entries": []}}, "Extra inputs are not permitted"),
        ({"kv": {"kind": "sqlite", "url": "a", "table": "t"}}, "Extra inputs are not permitted"),
        ({"kv": {"kind": "redis", "url": "r", "ttl": 1}}, "Extra inputs are not permitted"),
        (
            {"catalog": {"kind": "postgres", "url": "p", "table": "t"}},
            "Extra inputs are not permitted",
        ),
        ({"target_database": {"kind": "sqlite", "url": "a", "schema": "main"}}, "Extra inputs"),
        ({"catalog_search": {"index_path": "/i", "path": "/j"}}, "Extra inputs are not permitted"),
        ({"kv": {"kind": "sqlite"}}, "Field required"),
        ({"catalog": {"kind": "sqlite"}}, "Field required"),
        ({"target_database": {"kind": "sqlite"}}, "Field required"),
        ({"catalog_search": {}}, "Field required"),
        ({"catalog_search": {"rebuild_on_start": True}}, "Field required"),
        (
            {"kv": {"kind": "sqlite", "url": "  "}},
            "data_environment.kv.url must be a non-blank string",
        ),
        (
            {"catalog": {"kind": "sqlite", "url": ""}},
            "data_environment.catalog.url must be a non-blank",
        ),
        (
            {"kv": {"kind": "redis", "url": ""}},
            "data_environment.kv.url must be a non-blank string",
        ),
        (
            {"kv": {"kind": "redis", "url_env": " "}},
            "data_environment.kv.url_env must be a non-blank",
        ),
        ({"catalog_search": {"index_path": ""}}, "catalog_search.index_path must be a non-blank"),
        (
            {"kv": {"kind": "postgres", "url": "p", "table": "kv-store"}},
            "data_environment.kv.table must match [A-Za-z0-9_]+; got 'kv-store'",
        ),
        (
            {"kv": {"kind": "postgres", "url": "p", "table": ""}},
            "kv.table must match [A-Za-z0-9_]+",
        ),
        (
            {"target_database": {"kind": "postgres", "url": "p", "schema": "a.b"}},
            "data_environment.target_database.schema must match [A-Za-z0-9_]+; got 'a.b'",
        ),
        (
            {"target_database_schema": "my schema"},
            "data_environment.target_database_schema must match [A-Za-z0-9_]+",
        ),
        ({"kv": {"kind": "sqlite", "url": "a", "ensure_schema": "perhaps"}}, "valid boolean"),
        ({"catalog_search": {"index_path": "/i", "write_through": "often"}}, "valid boolean"),
        ({"catalog": {"kind": "inline", "entries": "all"}}, "valid list"),
        ({"catalog": {"kind": "inline", "entries": ["table:products"]}}, "valid dictionary"),
        (
            {"target_database": {"kind": "sqlite", "url": "a"}, "target_database_url": "sqlite:a"},
            "data_environment accepts either target_database or target_database_url, not both",
        ),
    ],
)
def test_model_rule_violation_is_a_pydantic_validation_error(
    env: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize(env)
    assert fragment in _message(caught.value)


@pytest.mark.parametrize(
    ("section", "kind"),
    [("kv", "postgres"), ("kv", "redis"), ("catalog", "postgres"), ("target_database", "postgres")],
)
def test_remote_descriptor_needs_exactly_one_of_url_and_url_env(section: str, kind: str) -> None:
    where = f"data_environment.{section} (kind '{kind}')"
    with pytest.raises(ValidationError) as both:
        normalize({section: {"kind": kind, "url": "x://h", "url_env": "X"}})
    assert f"{where} accepts either url or url_env, not both" in _message(both.value)
    with pytest.raises(ValidationError) as neither:
        normalize({section: {"kind": kind}})
    assert f"{where} requires url_env or url" in _message(neither.value)


def test_nested_key_in_both_spellings_is_rejected() -> None:
    with pytest.raises(ValidationError, match="'url_env' is given twice"):
        normalize({"kv": {"kind": "postgres", "url_env": "A", "urlEnv": "A"}})


@pytest.mark.parametrize(
    "url", ["sqlite:/tmp/a.db", "sqlite:a.db", "postgres://h/db", "postgresql://u:p@h:5432/db"]
)
def test_legacy_url_with_an_accepted_prefix_is_kept(url: str) -> None:
    assert normalize({"target_database_url": url}) == {"targetDatabaseUrl": url}


@pytest.mark.parametrize(
    "url", ["mysql://h/db", "SQLITE:a.db", "postgres:/h/db", "/tmp/a.db", "", "redis://h"]
)
def test_legacy_url_with_another_prefix_is_rejected(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize({}, url)
    assert (
        "data_environment.target_database_url must start with one of: "
        f"sqlite:, postgres://, postgresql://; got '{url}'"
    ) in _message(caught.value)


def test_direct_model_construction_reports_the_spec_kind_message() -> None:
    with pytest.raises(ValidationError) as caught:
        DataEnvironment.model_validate({"kv": {"kind": "etcd"}})
    assert (
        "data_environment['kv'] does not support kind 'etcd'; "
        "expected one of: memory, postgres, redis, sqlite"
    ) in _message(caught.value)
    with pytest.raises(ValidationError, match=r"\['kind'\] must be a string"):
        DataEnvironment.model_validate({"catalog": {"url": "x"}})


def test_direct_model_construction_rejects_blank_ids() -> None:
    with pytest.raises(ValidationError, match=r"data_environment\['tenant_id'\] must not be blank"):
        DataEnvironment(tenant_id=" ")


# --- redaction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://alice:s3cret@db:5432/app", "postgres://alice:***@db:5432/app"),
        ("postgresql://alice@db/app", "postgresql://alice@db/app"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
        ("postgres://u:p/ss@h/db", "postgres://u:***@h/db"),
        (
            "postgres://h/db?sslmode=require&password=x",
            "postgres://h/db?sslmode=require&password=***",
        ),
        (
            "redis://h/0?apikey=a&api_key=b&token=c&access_token=d&db=1",
            "redis://h/0?apikey=***&api_key=***&token=***&access_token=***&db=1",
        ),
        ("postgres://h/db?PassWord=x#frag", "postgres://h/db?PassWord=***#frag"),
        ("postgres://h/db?api%5Fkey=x", "postgres://h/db?api%5Fkey=***"),
        ("postgres://h/db?tokens=x&mytoken=y", "postgres://h/db?tokens=x&mytoken=y"),
        ("sqlite:/tmp/a.db", "sqlite:/tmp/a.db"),
        ("sqlite:///tmp/a.db?mode=ro", "sqlite:///tmp/a.db?mode=ro"),
        ("host=h password=s3cret dbname=d", "host=h password=*** dbname=d"),
        ("host=h password = 'a b' dbname=d", "host=h password = *** dbname=d"),
        ("", ""),
    ],
)
def test_redact_url_masks_passwords_and_secret_query_parameters(url: str, expected: str) -> None:
    assert redact_url(url) == expected


PASSWORD_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=%:@/"
passwords = st.text(alphabet=PASSWORD_CHARS, min_size=1, max_size=24).map(lambda s: "Qz9" + s)
query_passwords = st.text(
    alphabet=string.ascii_letters + string.digits + "-._~!$'()*+,;=%:@/", max_size=24
).map(lambda s: "Qz9" + s)


@given(password=passwords, query_secret=query_passwords)
def test_redact_url_never_leaks_and_is_idempotent(password: str, query_secret: str) -> None:
    for url in (
        f"postgres://alice:{password}@db.example:5432/app",
        f"redis://:{password}@cache:6379/0",
        f"redis://cache:6379/0?db=1&token={query_secret}",
        f"postgresql://db/app?access_token={query_secret}#x",
        f"host=db password={password} dbname=app",
    ):
        redacted = redact_url(url)
        assert "Qz9" not in redacted
        assert redact_url(redacted) == redacted


def test_repr_of_models_redacts_urls() -> None:
    env = DataEnvironment(
        kv={"kind": "postgres", "url": "postgres://u:hunter2@h/db"},
        target_database_url="postgres://u:hunter2@h/db",
    )
    assert "hunter2" not in repr(env)
    assert "postgres://u:***@h/db" in repr(env)


def _secret_scenarios(pw: str) -> list[tuple[Any, Any, str | None]]:
    """Invalid (environment, url argument, runtime tenant) triples that all carry ``pw``."""
    pg = f"postgres://alice:{pw}@db.example:5432/app"
    redis = f"redis://cache:6379/0?db=1&token={pw}"
    return [
        ({"kv": {"kind": "postgres", "url": pg, "url_env": "PG"}}, None, None),
        ({"kv": {"kind": "redis", "url": redis, "colour": "blue"}}, None, None),
        ({"catalog": {"kind": "postgres", "url": pg, "ensure_schema": "perhaps"}}, None, None),
        ({"target_database": {"kind": "postgres", "url": pg, "schema": "bad-schema"}}, None, None),
        ({"target_database_url": f"mysql://alice:{pw}@h/db"}, None, None),
        ({"target_database_url": f"host=h password={pw}"}, None, None),
        ({"target_database_url": "sqlite:a.db"}, pg, None),
        ({"targetDatabaseUrl": pg}, f"postgresql://bob:{pw}@other/db", None),
        ({"target_database": {"kind": "postgres", "url": pg}}, pg, None),
        ({"kv": {"kind": "mongo", "url": pg}}, None, None),
        ({"kv": {"kind": pg}}, None, None),
        ({"database_url": pg}, None, None),
        (
            {"target_database": {"kind": "postgres", "url": pg}, "target_database_url": pg},
            None,
            None,
        ),
        ({"tenant_id": "intruder", "kv": {"kind": "postgres", "url": pg}}, None, "acme"),
        ({"catalog": {"kind": "sqlite", "url": pg, "password": pw}}, None, None),
        ({"kv": pg}, None, None),
        (
            {
                "kv": SqliteCatalog.model_construct(url=pg),
                "catalog": {"kind": "inline", "entries": [pg]},
            },
            None,
            None,
        ),
        ([pg], None, None),
        ({"catalog_search": {"index_path": "/i", "rebuild_on_start": redis}}, None, None),
    ]


def _error_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), repr(error.args)]
    if isinstance(error, ValidationError):
        texts += [error.json(), repr(error.errors())]
    return texts


@PROPERTY_SETTINGS
@given(password=passwords)
def test_no_raised_error_ever_contains_a_connection_password(password: str) -> None:
    for env, url, tenant in _secret_scenarios(password):
        with pytest.raises((TypeError, ValueError)) as caught:
            normalize(env, url, tenant)
        for text in _error_texts(caught.value):
            assert "Qz9" not in text
        if isinstance(env, dict) and url is None:
            try:
                DataEnvironment.model_validate(env)
            except ValidationError as error:
                for text in _error_texts(error):
                    assert "Qz9" not in text


@PROPERTY_SETTINGS
@given(password=passwords)
def test_descriptor_models_built_directly_never_leak_a_password_in_errors(password: str) -> None:
    url = f"postgres://alice:{password}@db/app"
    attempts: list[Callable[[], object]] = [
        lambda: PostgresKv(url=url, url_env="PG"),
        lambda: PostgresCatalog(url=url, ensure_schema="perhaps"),
        lambda: PostgresTargetDatabase(url=url, schema="a-b"),
        lambda: RedisKv.model_validate({"url": url, "prefix": 3}),
        lambda: SqliteKv.model_validate({"url": url, "token": password}),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as caught:
            attempt()
        for text in _error_texts(caught.value):
            assert "Qz9" not in text


# --- resolve_url ----------------------------------------------------------------------------


def test_resolve_url_returns_the_url_when_given() -> None:
    assert (
        resolve_url({"kind": "postgres", "url": "postgres://h/db"}, section="kv")
        == "postgres://h/db"
    )


def test_resolve_url_reads_the_environment_variable_named_by_url_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWAI_TEST_KV_URL", "redis://h:6379/1")
    assert resolve_url({"urlEnv": "FLOWAI_TEST_KV_URL"}, section="kv") == "redis://h:6379/1"
    assert resolve_url({"url_env": "FLOWAI_TEST_KV_URL"}, section="kv") == "redis://h:6379/1"


@pytest.mark.parametrize("value", [None, ""])
def test_resolve_url_with_an_unset_variable_is_a_value_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("FLOWAI_TEST_MISSING", raising=False)
    else:
        monkeypatch.setenv("FLOWAI_TEST_MISSING", value)
    with pytest.raises(DataEnvironmentError) as caught:
        resolve_url(
            {"kind": "postgres", "urlEnv": "FLOWAI_TEST_MISSING"}, section="target_database"
        )
    assert isinstance(caught.value, SpecValueError)
    assert str(caught.value) == (
        "environment variable FLOWAI_TEST_MISSING is not set for "
        "data_environment.target_database.url_env"
    )


def test_resolve_url_without_url_or_url_env_is_a_value_error() -> None:
    with pytest.raises(
        DataEnvironmentError, match=r"^data_environment\.catalog requires url_env or url$"
    ):
        resolve_url({"kind": "postgres"}, section="catalog")


def test_resolve_url_with_non_string_values_is_a_type_error() -> None:
    with pytest.raises(SpecTypeError, match=r"kv\.url must be a string"):
        resolve_url({"url": 5}, section="kv")
    with pytest.raises(SpecTypeError, match=r"kv\.url_env must be a string"):
        resolve_url({"urlEnv": 5}, section="kv")


# --- scope_tenant_key -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant", "workspace", "expected"),
    [
        ("acme", "default", "acme"),
        ("a:b%c", "default", "a:b%c"),
        ("acme", "sales", "acme::workspace:sales"),
        ("a:b%c", "w:1%", "a%3Ab%25c::workspace:w%3A1%25"),
        ("acme", "Default", "acme::workspace:Default"),
        ("%3A", "x", "%253A::workspace:x"),
    ],
)
def test_scope_tenant_key_matches_the_documented_escaping(
    tenant: str, workspace: str, expected: str
) -> None:
    assert scope_tenant_key(tenant, workspace) == expected


@given(a=st.tuples(st.text(), st.text()), b=st.tuples(st.text(), st.text()))
def test_scope_tenant_keys_of_distinct_non_default_scopes_differ(
    a: tuple[str, str], b: tuple[str, str]
) -> None:
    if a != b and "default" not in (a[1], b[1]):
        assert scope_tenant_key(*a) != scope_tenant_key(*b)


def test_scope_tenant_key_rejects_non_strings() -> None:
    with pytest.raises(SpecTypeError, match="workspace must be a string"):
        scope_tenant_key("acme", None)  # type: ignore[arg-type]


# --- round trips ----------------------------------------------------------------------------

non_blank = st.text(min_size=1, max_size=12).filter(lambda s: bool(s.strip()))
identifiers = st.from_regex(r"[A-Za-z0-9_]{1,12}", fullmatch=True)
json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
url_source: st.SearchStrategy[dict[str, str]] = st.one_of(
    st.builds(lambda u: {"url": u}, non_blank), st.builds(lambda e: {"url_env": e}, non_blank)
)


def _with_source(
    model: Callable[..., Any], **fields: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    return st.builds(
        lambda source, extra: model(**source, **extra), url_source, st.fixed_dictionaries(fields)
    )


kv_descriptors = st.one_of(
    st.just(MemoryKv()),
    st.builds(SqliteKv, url=non_blank, ensure_schema=st.booleans()),
    _with_source(PostgresKv, table=identifiers, ensure_schema=st.booleans()),
    _with_source(RedisKv, prefix=st.text(max_size=6)),
)
catalog_descriptors = st.one_of(
    st.just(EmptyCatalog()),
    st.builds(
        InlineCatalog,
        entries=st.lists(st.dictionaries(st.text(max_size=6), json_values, max_size=3), max_size=3),
    ),
    st.builds(SqliteCatalog, url=non_blank, ensure_schema=st.booleans()),
    _with_source(PostgresCatalog, ensure_schema=st.booleans()),
)
target_descriptors = st.one_of(
    st.builds(SqliteTargetDatabase, url=non_blank),
    _with_source(PostgresTargetDatabase, schema=identifiers),
)
legacy_urls = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["sqlite:", "postgres://", "postgresql://"]),
    st.text(max_size=12),
)


@st.composite
def environments(draw: st.DrawFn) -> DataEnvironment:
    target: dict[str, Any] = draw(
        st.one_of(
            st.just({}),
            st.builds(lambda t: {"target_database": t}, target_descriptors),
            st.builds(
                lambda u, s: {"target_database_url": u, "target_database_schema": s},
                legacy_urls,
                st.none() | identifiers,
            ),
        )
    )
    return DataEnvironment(
        tenant_id=draw(st.none() | non_blank),
        workspace_id=draw(st.none() | non_blank),
        kv=draw(st.none() | kv_descriptors),
        catalog=draw(st.none() | catalog_descriptors),
        catalog_search=draw(
            st.none()
            | st.fixed_dictionaries(
                {
                    "index_path": non_blank,
                    "rebuild_on_start": st.booleans(),
                    "write_through": st.booleans(),
                }
            ).map(lambda fields: CatalogSearch(**fields))
        ),
        **target,
    )


@PROPERTY_SETTINGS
@given(env=environments())
def test_environment_round_trips_through_the_wire(env: DataEnvironment) -> None:
    wire = env.to_wire()
    assert DataEnvironment.model_validate(wire) == env
    assert DataEnvironment.model_validate(env.model_dump()) == env
    assert normalize(wire, tenant=env.tenant_id) == (wire or None)
    assert normalize(wire, tenant=env.tenant_id) == normalize(
        env.model_dump(), tenant=env.tenant_id
    )
    assert None not in _top_and_descriptor_values(wire)


def _top_and_descriptor_values(wire: dict[str, Any]) -> list[Any]:
    values = list(wire.values())
    for value in wire.values():
        if isinstance(value, dict):
            values += value.values()
    return values


# --- import cost ----------------------------------------------------------------------------


def test_importing_the_module_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, flowai_harness.specs.data_environment\n"
        "heavy = {'jsonschema', 'orjson', 'psycopg', 'redis', 'tantivy', 'sqlglot'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
