"""Model prices in USD per million tokens, and the cost of a turn's usage.

The built-in table covers the Anthropic and OpenAI models in common use (list prices, standard
tier, 5-minute cache writes). A provider's ``prices`` config overrides or extends it per model::

    providers={"anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY",
                             "prices": {"claude-sonnet-4-6": {"inputPerMTok": 3.0,
                                                              "outputPerMTok": 15.0}}}}

A model id matches an entry exactly, or as the entry followed by a dated snapshot suffix
(``claude-sonnet-4-5-20250929``, ``gpt-4o-2024-08-06``, ``...-latest``). A model with no
price is simply not priced: its usage is still reported, its cost is left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowai_harness.errors import ConfigurationError
from flowai_harness.events import TokenUsage

__all__ = ["DEFAULT_PRICES", "ModelPrice", "PriceTable", "parse_prices"]


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens: fresh input, output, cache reads and cache writes."""

    input_per_mtok: float
    output_per_mtok: float
    cache_read_per_mtok: float
    cache_write_per_mtok: float

    def cost_usd(self, usage: TokenUsage) -> float:
        """Return the cost of ``usage`` (its ``prompt_tokens`` include the cached tokens)."""
        cached = usage.cache_read_input_tokens + usage.cache_creation_input_tokens
        fresh = max(0, usage.prompt_tokens - cached)
        micro = (
            fresh * self.input_per_mtok
            + usage.completion_tokens * self.output_per_mtok
            + usage.cache_read_input_tokens * self.cache_read_per_mtok
            + usage.cache_creation_input_tokens * self.cache_write_per_mtok
        )
        return micro / 1_000_000


def _anthropic(input_: float, output: float) -> ModelPrice:
    # Anthropic bills 5-minute cache writes at 1.25x and cache reads at 0.1x the input price.
    return ModelPrice(input_, output, round(input_ * 0.1, 6), round(input_ * 1.25, 6))


def _openai(input_: float, output: float, cached: float) -> ModelPrice:
    # OpenAI caches prompts automatically: no write surcharge, discounted reads.
    return ModelPrice(input_, output, cached, input_)


#: List prices (USD per million tokens) as of early 2026; override them with ``prices``.
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "claude-opus-4-6": _anthropic(5.0, 25.0),
    "claude-opus-4-5": _anthropic(5.0, 25.0),
    "claude-opus-4-1": _anthropic(15.0, 75.0),
    "claude-opus-4-0": _anthropic(15.0, 75.0),
    "claude-opus-4": _anthropic(15.0, 75.0),
    "claude-sonnet-4-6": _anthropic(3.0, 15.0),
    "claude-sonnet-4-5": _anthropic(3.0, 15.0),
    "claude-sonnet-4-0": _anthropic(3.0, 15.0),
    "claude-sonnet-4": _anthropic(3.0, 15.0),
    "claude-3-7-sonnet": _anthropic(3.0, 15.0),
    "claude-haiku-4-5": _anthropic(1.0, 5.0),
    "claude-3-5-haiku": _anthropic(0.8, 4.0),
    "claude-3-haiku": ModelPrice(0.25, 1.25, 0.03, 0.3),
    "gpt-5": _openai(1.25, 10.0, 0.125),
    "gpt-5-mini": _openai(0.25, 2.0, 0.025),
    "gpt-5-nano": _openai(0.05, 0.4, 0.005),
    "gpt-4.1": _openai(2.0, 8.0, 0.5),
    "gpt-4.1-mini": _openai(0.4, 1.6, 0.1),
    "gpt-4.1-nano": _openai(0.1, 0.4, 0.025),
    "gpt-4o": _openai(2.5, 10.0, 1.25),
    "gpt-4o-mini": _openai(0.15, 0.6, 0.075),
    "o1": _openai(15.0, 60.0, 7.5),
    "o3": _openai(2.0, 8.0, 0.5),
    "o3-mini": _openai(1.1, 4.4, 0.55),
    "o4-mini": _openai(1.1, 4.4, 0.275),
}

# What may follow a table entry in a served model id: a dated or "latest" snapshot.
_SNAPSHOT_SUFFIX = re.compile(r"^(?:-\d{8}|-\d{4}-\d{2}-\d{2}|-latest|@\d{8})$")

_PRICE_KEYS = {
    "inputPerMTok": "input_per_mtok",
    "input_per_mtok": "input_per_mtok",
    "outputPerMTok": "output_per_mtok",
    "output_per_mtok": "output_per_mtok",
    "cacheReadPerMTok": "cache_read_per_mtok",
    "cache_read_per_mtok": "cache_read_per_mtok",
    "cacheWritePerMTok": "cache_write_per_mtok",
    "cache_write_per_mtok": "cache_write_per_mtok",
}


class PriceTable:
    """Prices by model id: the built-in table with a provider's overrides on top."""

    __slots__ = ("_prices",)

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        self._prices: dict[str, ModelPrice] = {**DEFAULT_PRICES, **(overrides or {})}

    def price_of(self, model: str) -> ModelPrice | None:
        """Return the price of ``model`` (exact id, or a table entry plus a snapshot suffix)."""
        exact = self._prices.get(model)
        if exact is not None:
            return exact
        best: str | None = None
        for name in self._prices:
            if (
                model.startswith(name)
                and _SNAPSHOT_SUFFIX.match(model[len(name) :])
                and (best is None or len(name) > len(best))
            ):
                best = name
        return self._prices[best] if best is not None else None

    def cost_usd(self, model: str, usage: TokenUsage) -> float | None:
        """Return the cost of ``usage`` on ``model``, or ``None`` when the model has no price."""
        price = self.price_of(model)
        return None if price is None else price.cost_usd(usage)


def parse_prices(provider: str, value: Any) -> dict[str, ModelPrice]:
    """Validate a provider's ``prices`` config into :class:`ModelPrice` entries.

    Each entry needs ``inputPerMTok`` and ``outputPerMTok``; ``cacheReadPerMTok`` defaults to
    the input price and ``cacheWritePerMTok`` to the input price (snake_case keys work too).

    Raises:
        ConfigurationError: the value is not a mapping of model id to a price mapping, a key is
            unknown, or a price is not a finite non-negative number.
    """
    where = f"providers['{provider}'].prices"
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{where} must map model ids to prices; got {type(value).__name__}"
        )
    out: dict[str, ModelPrice] = {}
    for model, entry in value.items():
        if not isinstance(model, str) or not model:
            raise ConfigurationError(f"{where} keys must be model ids; got {model!r}")
        if not isinstance(entry, Mapping):
            raise ConfigurationError(
                f"{where}['{model}'] must be a mapping like {{'inputPerMTok': 3.0, "
                f"'outputPerMTok': 15.0}}; got {type(entry).__name__}"
            )
        fields: dict[str, float] = {}
        for key, amount in entry.items():
            name = _PRICE_KEYS.get(key)
            if name is None:
                accepted = ", ".join(k for k in _PRICE_KEYS if not k.islower())
                raise ConfigurationError(
                    f"{where}['{model}'] has unknown key {key!r}; accepted: {accepted}"
                )
            if (
                isinstance(amount, bool)
                or not isinstance(amount, int | float)
                or not math.isfinite(amount)
                or amount < 0
            ):
                raise ConfigurationError(
                    f"{where}['{model}'].{key} must be a non-negative number of USD per "
                    f"million tokens; got {amount!r}"
                )
            fields[name] = float(amount)
        for required in ("input_per_mtok", "output_per_mtok"):
            if required not in fields:
                camel = next(k for k, v in _PRICE_KEYS.items() if v == required)
                raise ConfigurationError(f"{where}['{model}'] needs '{camel}'")
        fields.setdefault("cache_read_per_mtok", fields["input_per_mtok"])
        fields.setdefault("cache_write_per_mtok", fields["input_per_mtok"])
        out[model] = ModelPrice(**fields)
    return out
