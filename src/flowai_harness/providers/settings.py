"""A provider config once checked: what the live adapters are built from.

:mod:`flowai_harness.providers.factory` reads and checks the configs; the adapters
(:mod:`~flowai_harness.providers.anthropic`, :mod:`~flowai_harness.providers.openai`,
:mod:`~flowai_harness.providers.sdk`) only read the settings, so they need nothing from the
factory that builds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from flowai_harness.providers.pricing import PriceTable
from flowai_harness.providers.retry import RetryPolicy

__all__ = ["DEFAULT_MAX_TOKENS", "ApiKind", "ProviderSettings"]

#: the official SDK a provider entry is served by
ApiKind = Literal["anthropic", "openai"]

#: ``max_tokens`` of every Anthropic request unless ``maxTokens`` says otherwise
DEFAULT_MAX_TOKENS = 16384


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """A provider config, checked and resolved (the API key read from its variable).

    ``api_key`` never appears in ``repr`` and adapters never put it in messages. Credentials in
    the configured ``baseUrl`` are split off into ``base_auth`` (not in ``repr`` either), so
    ``base_url`` is safe to log.
    """

    key: str
    api: ApiKind
    api_key: str | None = field(repr=False)
    base_url: str | None = None
    timeout_secs: float = 300.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    thinking_budget_tokens: int | None = None
    fallback_models: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    prices: PriceTable = field(default_factory=PriceTable)
    #: ``(user, password)`` from the configured ``baseUrl``, sent as HTTP basic auth
    base_auth: tuple[str, str] | None = field(default=None, repr=False)

    def models_for(self, model: str) -> list[str]:
        """Return ``model`` followed by its configured fallback models."""
        return [model, *self.fallback_models.get(model, ())]
