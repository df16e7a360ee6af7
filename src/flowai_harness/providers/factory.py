"""Choose the model client for each provider key of a runtime, and read provider configs.

Offline interpreters (``noop``, ``scripted``, the testing mock) serve every agent. A live
interpreter name (``"anthropic"`` or ``"openai"``) switches every agent to its own live provider:
each agent's model routes to a provider key, and each key used is served by the
SDK its config names:

============================  =====================================================
provider key                  served by
============================  =====================================================
``anthropic``                 the official ``anthropic`` SDK
``openai``                    the official ``openai`` SDK (api.openai.com by default)
``openai-compatible``         the ``openai`` SDK; ``baseUrl`` points at any compatible
                              server (vLLM, Ollama, LM Studio, llama.cpp server)
any other key                 the SDK named by ``"api": "anthropic" | "openai"``
============================  =====================================================

Provider config keys (camelCase, snake_case accepted): ``apiKey`` | ``apiKeyEnv``, ``baseUrl``,
``timeoutSecs``, ``maxRetries``, ``retryInitialDelaySecs``, ``retryMaxDelaySecs``,
``maxTokens``, ``thinkingBudgetTokens`` (Anthropic), ``fallbackModels``, ``prices``, ``api``.
Everything is checked here, at ``create_runtime``; the SDKs themselves are imported only when a
live provider is first called.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowai_harness.errors import ConfigurationError, MissingDependencyError
from flowai_harness.ports import ModelClient
from flowai_harness.providers.pricing import PriceTable, parse_prices
from flowai_harness.providers.retry import RetryPolicy
from flowai_harness.providers.sdk import split_userinfo
from flowai_harness.providers.settings import DEFAULT_MAX_TOKENS, ApiKind, ProviderSettings
from flowai_harness.specs.agents import resolve_model_provider
from flowai_harness.specs.data_environment import redact_url

if TYPE_CHECKING:
    from flowai_harness.specs.runtime import RuntimeSpec

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "LIVE_INTERPRETERS",
    "ProviderSettings",
    "build_model_clients",
    "provider_client",
    "provider_settings",
]

#: interpreter names that select the live providers
LIVE_INTERPRETERS = ("anthropic", "openai")

_BUILTIN_KEYS: Mapping[str, ApiKind] = {
    "anthropic": "anthropic",
    "openai": "openai",
    "openai-compatible": "openai",
}
_SDK_EXTRA: Mapping[ApiKind, str] = {"anthropic": "anthropic", "openai": "openai"}
_CONFIG_KEYS = (
    "api",
    "apiKey",
    "apiKeyEnv",
    "baseUrl",
    "timeoutSecs",
    "maxRetries",
    "retryInitialDelaySecs",
    "retryMaxDelaySecs",
    "maxTokens",
    "thinkingBudgetTokens",
    "fallbackModels",
    "prices",
)
_SNAKE = re.compile(r"_([a-z])")


def build_model_clients(
    spec: RuntimeSpec, interpreter: str, mock_response: str | None
) -> dict[str, ModelClient]:
    """Return the clients keyed by provider name (``"*"`` serves every provider).

    Offline interpreters serve every agent whatever its model, so they need no ``providers``
    entry in the spec. Live interpreters get one client per provider key the agents route to;
    a key missing from ``spec.providers`` is an error naming the agent, its model and the key.

    Args:
        spec: The validated runtime spec (the wire dict is validated into it once, in
            ``create_runtime``; nothing here parses it again).
        interpreter: ``noop``, ``scripted``, or a live interpreter (``anthropic``, ``openai``).
        mock_response: The fixed answer of the testing mock; it serves every agent when set.

    Raises:
        ConfigurationError: a provider config is invalid, its API key variable is unset, or a
            provider key has no live adapter.
        MissingDependencyError: the SDK a provider needs is not installed.
    """
    from flowai_harness.providers.deterministic import MockClient, NoopClient, ScriptedClient

    if mock_response is not None:
        return {"*": MockClient(mock_response)}
    if interpreter == "noop":
        return {"*": NoopClient()}
    if interpreter == "scripted":
        return {"*": ScriptedClient()}
    if interpreter not in LIVE_INTERPRETERS:
        raise ConfigurationError(
            f"unknown interpreter {interpreter!r}; expected noop, scripted, "
            f"{', '.join(LIVE_INTERPRETERS)}"
        )
    return _live_clients(spec)


def _live_clients(spec: RuntimeSpec) -> dict[str, ModelClient]:
    declared = spec.providers
    users: dict[str, str] = {}
    for agent in spec.agents:
        users.setdefault(
            resolve_model_provider(agent.model),
            f"agent '{agent.name}' (model '{agent.model.id}')",
        )
    clients: dict[str, ModelClient] = {}
    for key, used_by in users.items():
        if key not in declared:
            raise ConfigurationError(
                f"{used_by} routes to provider '{key}', so a live interpreter needs "
                f"providers['{key}'] with an 'apiKey' or an 'apiKeyEnv' naming a set "
                f"environment variable"
            )
        clients[key] = provider_client(key, declared[key], used_by=used_by)
    return clients


def provider_client(key: str, config: Any, *, used_by: str = "") -> ModelClient:
    """Return the live client of one provider config (the SDK loads on its first call).

    Args:
        key: The provider key (``"anthropic"``, ``"openai"``, ``"openai-compatible"`` or a key
            whose config names its ``api``).
        config: The provider config, as in ``RuntimeSpec.providers``.
        used_by: Who needs the provider, for error messages.

    Raises:
        ConfigurationError: The config is invalid or its API key cannot be resolved.
        MissingDependencyError: The SDK the provider needs is not installed.
    """
    from flowai_harness.providers.anthropic import AnthropicClient
    from flowai_harness.providers.openai import OpenAIClient

    settings = provider_settings(key, config, used_by=used_by)
    _require_sdk(settings)
    if settings.api == "anthropic":
        return AnthropicClient(settings)
    return OpenAIClient(settings)


def provider_settings(key: str, config: Any, *, used_by: str = "") -> ProviderSettings:
    """Check one provider config and resolve its API key.

    Args:
        key: the provider key in ``RuntimeSpec.providers``.
        config: its config mapping.
        used_by: who needs the provider, for error messages (``"agent 'x' (model)"``).

    Returns:
        The resolved settings.

    Raises:
        ConfigurationError: the config is invalid or its API key cannot be resolved; the
            message names the key or environment variable, never a key's value.
    """
    where = f"providers['{key}']"
    if not isinstance(config, Mapping):
        raise ConfigurationError(
            f"{where} must be a mapping such as {{'apiKeyEnv': 'ANTHROPIC_API_KEY'}}; got "
            f"{type(config).__name__}"
        )
    # Which SDK first: "no adapter for 'bedrock'" says more than its unknown config keys.
    api = _api_kind(key, config.get("api"), where)
    values = _camel_keys(where, config)
    base_url = _optional_url(where, values.get("baseUrl"))
    api_key = _api_key(key, api, values, where, base_url=base_url, used_by=used_by)
    plain_url, base_auth = split_userinfo(base_url)
    max_retries = _number(where, values, "maxRetries", 4, integer=True, minimum=0)
    retry = RetryPolicy(
        max_retries=int(max_retries),
        initial_delay_secs=_number(where, values, "retryInitialDelaySecs", 0.5, minimum=0),
        max_delay_secs=_number(where, values, "retryMaxDelaySecs", 30.0, minimum=0),
    )
    # Anthropic requires max_tokens; OpenAI-style servers know their own output limits.
    max_tokens: int | None = None
    if "maxTokens" in values:
        max_tokens = int(_number(where, values, "maxTokens", 0, integer=True, minimum=1))
    elif api == "anthropic":
        max_tokens = DEFAULT_MAX_TOKENS
    budget = values.get("thinkingBudgetTokens")
    if budget is not None:
        if api != "anthropic":
            raise ConfigurationError(f"{where}.thinkingBudgetTokens applies to Anthropic only")
        budget = int(_number(where, values, "thinkingBudgetTokens", 0, integer=True, minimum=1024))
        if budget >= (max_tokens or DEFAULT_MAX_TOKENS):
            raise ConfigurationError(
                f"{where}.thinkingBudgetTokens ({budget}) must be below maxTokens "
                f"({max_tokens or DEFAULT_MAX_TOKENS})"
            )
    return ProviderSettings(
        key=key,
        api=api,
        api_key=api_key,
        base_url=plain_url,
        base_auth=base_auth,
        timeout_secs=_number(where, values, "timeoutSecs", 300.0, minimum=0, exclusive=True),
        retry=retry,
        max_tokens=max_tokens,
        thinking_budget_tokens=budget,
        fallback_models=_fallbacks(where, values.get("fallbackModels")),
        prices=PriceTable(parse_prices(key, values["prices"]) if "prices" in values else None),
    )


def _camel_keys(where: str, config: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for raw in config:
        name = _SNAKE.sub(lambda m: m[1].upper(), raw) if isinstance(raw, str) else raw
        if name == "apiKeyEnvVar":
            name = "apiKeyEnv"
        if name not in _CONFIG_KEYS:
            raise ConfigurationError(
                f"{where} has unknown key {raw!r}; accepted: {', '.join(_CONFIG_KEYS)}"
            )
        if name in values:
            raise ConfigurationError(f"{where} sets {name!r} twice (camelCase and snake_case)")
        values[name] = config[raw]
    return values


def _api_kind(key: str, api: Any, where: str) -> ApiKind:
    builtin = _BUILTIN_KEYS.get(key)
    if api is None:
        if builtin is None:
            raise ConfigurationError(
                f"provider '{key}' has no live adapter: use one of "
                f"{', '.join(_BUILTIN_KEYS)}, or set {where}.api to 'anthropic' or 'openai' "
                f"for a compatible endpoint"
            )
        return builtin
    if api not in _SDK_EXTRA:
        raise ConfigurationError(f"{where}.api must be 'anthropic' or 'openai'; got {api!r}")
    if builtin is not None and api != builtin:
        raise ConfigurationError(
            f"{where}.api is {api!r} but provider '{key}' is always served by {builtin!r}"
        )
    result: ApiKind = "anthropic" if api == "anthropic" else "openai"
    return result


def _api_key(
    key: str,
    api: ApiKind,
    values: Mapping[str, Any],
    where: str,
    *,
    base_url: str | None,
    used_by: str,
) -> str | None:
    direct = values.get("apiKey")
    if direct is not None:
        if not isinstance(direct, str) or not direct:
            raise ConfigurationError(f"{where}.apiKey must be a non-empty string")
        return direct
    env_name = values.get("apiKeyEnv")
    if env_name is not None:
        if not isinstance(env_name, str) or not env_name:
            raise ConfigurationError(
                f"{where}.apiKeyEnv must name an environment variable; got {env_name!r}"
            )
        value = os.environ.get(env_name)
        if not value:
            needed = f" ({used_by} needs it)" if used_by else ""
            raise ConfigurationError(
                f"{where}.apiKeyEnv names the environment variable '{env_name}', which is not "
                f"set{needed}"
            )
        return value
    if api == "openai" and base_url is not None:
        return None  # local OpenAI-compatible servers usually need no key
    raise ConfigurationError(
        f"{where} needs 'apiKey' or 'apiKeyEnv' (for example {{'apiKeyEnv': "
        f"'{'ANTHROPIC_API_KEY' if api == 'anthropic' else 'OPENAI_API_KEY'}'}})"
    )


def _optional_url(where: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value):
        shown = redact_url(value) if isinstance(value, str) else type(value).__name__
        raise ConfigurationError(
            f"{where}.baseUrl must be an http(s) URL such as 'http://127.0.0.1:8000/v1'; "
            f"got {shown!r}"
        )
    return value


def _number(
    where: str,
    values: Mapping[str, Any],
    name: str,
    default: float,
    *,
    integer: bool = False,
    minimum: float,
    exclusive: bool = False,
) -> float:
    value = values.get(name, default)
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and (value > minimum if exclusive else value >= minimum)
        and (not integer or float(value).is_integer())
    )
    if not ok:
        kind = "an integer" if integer else "a number"
        bound = f"> {minimum:g}" if exclusive else f">= {minimum:g}"
        raise ConfigurationError(f"{where}.{name} must be {kind} {bound}; got {value!r}")
    return float(value)


def _fallbacks(where: str, value: Any) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    example = "{'claude-sonnet-4-6': ['claude-haiku-4-5']}"
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{where}.fallbackModels must map a model id to a list of fallback model ids, "
            f"e.g. {example}; got {type(value).__name__}"
        )
    out: dict[str, tuple[str, ...]] = {}
    for model, fallbacks in value.items():
        if (
            not isinstance(model, str)
            or not model
            or isinstance(fallbacks, str)
            or not isinstance(fallbacks, list | tuple)
            or not all(isinstance(f, str) and f for f in fallbacks)
        ):
            raise ConfigurationError(
                f"{where}.fallbackModels must map a model id to a list of fallback model ids, "
                f"e.g. {example}; got {model!r}: {fallbacks!r}"
            )
        if model in fallbacks:
            raise ConfigurationError(
                f"{where}.fallbackModels['{model}'] lists the model itself as a fallback"
            )
        out[model] = tuple(dict.fromkeys(fallbacks))
    return out


def _require_sdk(settings: ProviderSettings) -> None:
    # find_spec locates the package without importing it: the SDK loads on first use only.
    if importlib.util.find_spec(settings.api) is None:
        raise MissingDependencyError(
            f"provider '{settings.key}' needs the {settings.api} SDK: "
            f"pip install 'flowai-harness[{_SDK_EXTRA[settings.api]}]'"
        )
