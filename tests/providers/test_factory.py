"""Provider configs and live-client selection at create_runtime."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowai_harness import create_runtime, define_runtime, define_specialist
from flowai_harness.errors import ConfigurationError, MissingDependencyError
from flowai_harness.providers.anthropic import AnthropicClient
from flowai_harness.providers.factory import build_model_clients, provider_settings
from flowai_harness.providers.openai import OpenAIClient

from .conftest import SECRET_KEY
from .support import TENANT

REPO_ROOT = Path(__file__).resolve().parents[2]


def _spec(model: Any = "claude-haiku-4-5", providers: dict[str, Any] | None = None) -> Any:
    return define_runtime(
        TENANT, agents=[define_specialist("w", model=model, prompt="p")], providers=providers
    )


def _clients(model: Any, providers: dict[str, Any], interpreter: str = "anthropic") -> Any:
    return build_model_clients(_spec(model, providers), interpreter, None)


def test_each_provider_key_gets_its_sdk_client() -> None:
    clients = build_model_clients(
        define_runtime(
            TENANT,
            agents=[
                define_specialist("a", model="claude-haiku-4-5", prompt="p"),
                define_specialist("b", model="gpt-4o", prompt="p"),
                define_specialist("c", model={"id": "llama3", "provider": "local"}, prompt="p"),
            ],
            providers={
                "anthropic": {"apiKey": SECRET_KEY},
                "openai-compatible": {"apiKey": SECRET_KEY},
                "local": {"api": "openai", "baseUrl": "http://127.0.0.1:11434/v1"},
                "unused": {"whatever": True},
            },
        ),
        "openai",
        None,
    )
    assert sorted(clients) == ["anthropic", "local", "openai-compatible"]
    assert isinstance(clients["anthropic"], AnthropicClient)
    assert isinstance(clients["local"], OpenAIClient)
    assert all(client.live for client in clients.values())


def test_a_model_no_provider_serves_is_refused_naming_agent_model_and_key() -> None:
    with pytest.raises(
        ConfigurationError,
        match=(
            r"agent 'w' \(model 'gpt-4o'\) routes to provider 'openai-compatible', so a live "
            r"interpreter needs providers\['openai-compatible'\]"
        ),
    ):
        create_runtime(_spec("gpt-4o", {"anthropic": {"apiKey": "k"}}), interpreter="anthropic")


def test_unset_api_key_variable_is_named_and_no_value_leaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLOWAI_UNSET_KEY", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        create_runtime(
            _spec(providers={"anthropic": {"apiKeyEnv": "FLOWAI_UNSET_KEY"}}),
            interpreter="anthropic",
        )
    assert "'FLOWAI_UNSET_KEY', which is not set" in str(caught.value)
    assert "agent 'w' (model 'claude-haiku-4-5') needs it" in str(caught.value)


def test_api_key_is_read_from_the_variable_at_create_runtime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWAI_KEY", SECRET_KEY)
    clients = _clients("claude-haiku-4-5", {"anthropic": {"apiKeyEnv": "FLOWAI_KEY"}})
    settings = clients["anthropic"].settings
    assert settings.api_key == SECRET_KEY
    assert SECRET_KEY not in repr(settings) and SECRET_KEY not in repr(clients["anthropic"])


def test_snake_case_keys_are_accepted() -> None:
    settings = provider_settings(
        "anthropic",
        {"api_key": "k", "base_url": "http://127.0.0.1:1", "max_retries": 1, "timeout_secs": 2},
    )
    assert (settings.base_url, settings.retry.max_retries, settings.timeout_secs) == (
        "http://127.0.0.1:1",
        1,
        2.0,
    )


def test_defaults() -> None:
    anthropic = provider_settings("anthropic", {"apiKey": "k"})
    assert anthropic.max_tokens == 16384 and anthropic.timeout_secs == 300.0
    assert anthropic.retry.max_retries == 4 and anthropic.base_url is None
    assert provider_settings("openai", {"apiKey": "k"}).max_tokens is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"apiKey": "k", "apiKye": 1}, "unknown key 'apiKye'; accepted: api, apiKey"),
        ({"apiKey": 5}, r"apiKey must be a non-empty string"),
        ({"apiKeyEnv": ""}, "apiKeyEnv must name an environment variable"),
        ({}, r"needs 'apiKey' or 'apiKeyEnv' \(for example \{'apiKeyEnv': 'ANTHROPIC_API_KEY'"),
        ({"apiKey": "k", "baseUrl": "ftp://x"}, "baseUrl must be an http"),
        ({"apiKey": "k", "timeoutSecs": 0}, "timeoutSecs must be a number > 0; got 0"),
        ({"apiKey": "k", "maxRetries": -1}, "maxRetries must be an integer >= 0"),
        ({"apiKey": "k", "maxRetries": 1.5}, "maxRetries must be an integer"),
        ({"apiKey": "k", "maxRetries": True}, "maxRetries must be an integer"),
        ({"apiKey": "k", "maxTokens": 0}, "maxTokens must be an integer >= 1"),
        ({"apiKey": "k", "thinkingBudgetTokens": 512}, "thinkingBudgetTokens must be an integer"),
        ({"apiKey": "k", "thinkingBudgetTokens": 20000}, "must be below maxTokens"),
        ({"apiKey": "k", "fallbackModels": ["x"]}, "fallbackModels must map a model id"),
        ({"apiKey": "k", "fallbackModels": {"a": "b"}}, "fallbackModels must map a model id"),
        ({"apiKey": "k", "fallbackModels": {"a": ["a"]}}, "lists the model itself"),
        ({"apiKey": "k", "prices": {"m": {"inputPerMTok": 1}}}, "needs 'outputPerMTok'"),
        ({"apiKey": "k", "api": "openai"}, "always served by 'anthropic'"),
        ({"apiKey": "k", "api": "gemini"}, "api must be 'anthropic' or 'openai'"),
        ({"apiKey": "k", "apiKey_": 1}, "unknown key"),
    ],
)
def test_invalid_configs_are_refused_with_a_precise_message(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        provider_settings("anthropic", config)


def test_base_url_passwords_are_masked_in_errors() -> None:
    with pytest.raises(ConfigurationError) as caught:
        provider_settings("openai", {"apiKey": "k", "baseUrl": "ws://user:hunter2@host/v1"})
    assert "hunter2" not in str(caught.value)


def test_provider_keys_without_an_adapter_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="provider 'bedrock' has no live adapter"):
        _clients("anthropic.claude-v2", {"bedrock": {"region": "us-east-1"}})
    with pytest.raises(ConfigurationError, match="thinkingBudgetTokens applies to Anthropic"):
        provider_settings("openai", {"apiKey": "k", "thinkingBudgetTokens": 2048})


def test_local_openai_compatible_servers_need_no_key() -> None:
    settings = provider_settings("openai-compatible", {"baseUrl": "http://127.0.0.1:8000/v1"})
    assert settings.api_key is None
    with pytest.raises(ConfigurationError, match="needs 'apiKey' or 'apiKeyEnv'"):
        provider_settings("openai-compatible", {})


def test_a_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "anthropic" else real(name, *a),
    )
    with pytest.raises(MissingDependencyError, match=r"pip install 'flowai-harness\[anthropic\]'"):
        _clients("claude-haiku-4-5", {"anthropic": {"apiKey": "k"}})


def test_create_runtime_does_not_import_the_sdks() -> None:
    code = textwrap.dedent(
        """
        import sys
        from flowai_harness import create_runtime, define_runtime, define_specialist
        from flowai_harness import define_tenant
        spec = define_runtime(
            define_tenant("acme", "v1"),
            agents=[define_specialist("a", model="claude-haiku-4-5", prompt="p"),
                    define_specialist("b", model="gpt-4o", prompt="p")],
            providers={"anthropic": {"apiKey": "k"}, "openai-compatible": {"apiKey": "k"}},
        )
        create_runtime(spec, interpreter="anthropic")
        loaded = {name.partition(".")[0] for name in sys.modules}
        print(sorted(loaded & {"anthropic", "openai", "httpx2"}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_offline_interpreters_ignore_provider_configs() -> None:
    runtime = create_runtime(
        _spec(providers={"anthropic": {"nonsense": 1}}), interpreter="scripted"
    )
    assert runtime.agent_names == ["w"]
