"""Mistakes a newcomer makes get an error that names the problem and the fix, in plain words.

Each test makes one mistake through the public API and checks the message: what is wrong, how
to fix it, and none of pydantic's noise (input dumps, documentation links).
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
from pydantic import ValidationError

from flowai_harness import (
    create_runtime,
    define_coordinator,
    define_eval_config,
    define_runtime,
    define_specialist,
    define_tenant,
)
from flowai_harness.errors import DataEnvironmentError, HarnessError, SpecValidationError
from flowai_harness.specs.data_environment import normalize_data_environment

NOISE = ("pydantic", "input_value", "input_type", "errors.pydantic.dev", "[type=")


def assert_plain(text: str) -> None:
    for noise in NOISE:
        assert noise not in text, f"{noise!r} in {text!r}"


def greeter() -> Any:
    return define_specialist("greeter", model="claude-haiku-4-5", prompt="Greet.")


def normalize(environment: dict[str, Any]) -> dict[str, Any] | None:
    return normalize_data_environment(environment, runtime_resource_id=None)


# ------------------------------------------------------------------------ spec validation


def test_an_unknown_route_suggests_the_agent_meant_and_how_to_fix_it() -> None:
    coordinator = define_coordinator(
        "desk", model="claude-sonnet-4-6", routes=["greter"], prompt="Route."
    )
    with pytest.raises(ValidationError) as caught:
        define_runtime(define_tenant("acme", "v1"), agents=[coordinator, greeter()])
    text = str(caught.value)
    assert text.startswith(
        "RuntimeSpec: agent 'desk' declares unknown route target 'greter'; did you mean 'greeter'?"
    )
    assert "pass an agent named 'greter' to define_runtime(agents=[...])" in text
    assert_plain(text)
    assert isinstance(caught.value, SpecValidationError)
    assert isinstance(caught.value, HarnessError)
    assert caught.value.errors()[0]["type"] == "value_error"  # the structured form is kept


def test_a_misspelled_data_environment_key_suggests_the_close_match() -> None:
    with pytest.raises(ValidationError) as caught:
        normalize({"kv_store": {"kind": "memory"}})
    text = str(caught.value)
    assert text.startswith("data_environment: unknown key 'kv_store'; did you mean 'kv'?")
    assert "valid keys: tenant_id, workspace_id, kv, catalog, catalog_search" in text
    assert_plain(text)


def test_a_misspelled_nested_key_names_its_place_and_the_close_match() -> None:
    with pytest.raises(ValidationError) as caught:
        normalize({"kv": {"kind": "sqlite", "uri": "sqlite:kv.db"}})
    text = str(caught.value)
    assert text.splitlines() == [
        "data_environment: 2 problems:",
        "  - data_environment.kv: the required key 'url' is missing",
        "  - data_environment.kv: unknown key 'uri'; did you mean 'url'? "
        "(valid keys: kind, url, ensure_schema)",
    ]


def test_a_key_given_in_both_spellings_says_to_keep_one() -> None:
    with pytest.raises(ValidationError) as caught:
        normalize({"kv": {"kind": "postgres", "url_env": "A", "urlEnv": "A"}})
    assert str(caught.value) == (
        "data_environment.kv: 'url_env' is given twice (as url_env and urlEnv); keep one spelling"
    )


def test_a_value_of_the_wrong_type_names_the_field_in_snake_case_and_the_type_given() -> None:
    with pytest.raises(ValidationError) as caught:
        define_specialist("w", model="claude-haiku-4-5", prompt="p", max_turns="many")
    text = str(caught.value)
    assert "max_turns: Input should be a valid integer" in text
    assert text.endswith("; got str")
    assert "many" not in text  # no input is echoed
    assert_plain(text)


# ------------------------------------------------------------------------ URL schemes


@pytest.mark.parametrize(
    ("section", "kind", "schemes"),
    [
        ("kv", "sqlite", "sqlite: or file: URLs or a plain file path"),
        ("catalog", "sqlite", "sqlite: or file: URLs or a plain file path"),
        ("target_database", "sqlite", "sqlite: or file: URLs or a plain file path"),
        ("kv", "postgres", "postgresql:// or postgres:// URLs"),
        ("target_database", "postgres", "postgresql:// or postgres:// URLs"),
        ("kv", "redis", "redis://, rediss:// (TLS) or unix:// URLs"),
    ],
)
def test_a_url_with_an_unknown_scheme_says_so_and_lists_the_valid_schemes(
    section: str, kind: str, schemes: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize({section: {"kind": kind, "url": "htp://user:hunter2@x/db"}})
    text = str(caught.value)
    assert text.startswith(
        f"data_environment.{section}.url 'htp://user:***@x/db' has an unknown scheme 'htp:'; "
        f"a {section} of kind '{kind}' takes {schemes}"
    )
    assert "hunter2" not in text
    assert_plain(text)


@pytest.mark.parametrize("url", ["sqlite:kv.db", "kv.db", "/srv/kv.db", "C:/kv.db", "data:v1.db"])
def test_sqlite_urls_and_plain_paths_are_accepted(url: str) -> None:
    assert normalize({"kv": {"kind": "sqlite", "url": url}}) is not None


def test_a_url_env_holding_an_unknown_scheme_fails_create_runtime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWAI_TEST_KV_URL", "htp://x")
    spec = define_runtime(define_tenant("acme", "v1"), agents=[greeter()])
    with pytest.raises(DataEnvironmentError) as caught:
        create_runtime(
            spec, data_environment={"kv": {"kind": "redis", "url_env": "FLOWAI_TEST_KV_URL"}}
        )
    assert str(caught.value).startswith(
        "environment variable FLOWAI_TEST_KV_URL (data_environment.kv.url_env) 'htp://x' has an "
        "unknown scheme 'htp:'; a kv of kind 'redis' takes redis://"
    )


def test_a_search_index_path_that_is_a_url_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        normalize({"catalog_search": {"index_path": "s3://bucket/index"}})
    assert "must be a local directory path, not a URL" in str(caught.value)


def test_a_single_agent_not_in_a_list_says_to_wrap_it() -> None:
    with pytest.raises(TypeError) as caught:
        define_runtime(define_tenant("acme", "v1"), agents=greeter())
    assert str(caught.value) == (
        "define_runtime agents must be a list of AgentSpec or mappings, got AgentSpec; "
        "wrap a single one in a list: agents=[...]"
    )


def test_the_plain_text_survives_pickling_and_copying() -> None:
    with pytest.raises(ValidationError) as caught:
        define_tenant("", "v1")
    error = caught.value
    assert str(error) == "TenantIdentity.resource_id: String should have at least 1 character"
    for copied in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
        assert isinstance(copied, SpecValidationError)
        assert str(copied) == str(error)
        assert copied.errors() == error.errors()


def test_a_misspelled_choice_suggests_the_valid_one() -> None:
    with pytest.raises(ValidationError) as caught:
        define_eval_config(mode="planer")
    assert str(caught.value) == (
        "EvalConfig.mode: Input should be 'planner', 'executor', 'sequential', 'specialist' or "
        "'testCaseBuilder'; did you mean 'planner'?"
    )
