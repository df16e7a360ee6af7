"""Model prices and the cost of a turn's usage."""

from __future__ import annotations

import pytest

from flowai_harness.errors import ConfigurationError
from flowai_harness.events import TokenUsage
from flowai_harness.providers.pricing import DEFAULT_PRICES, ModelPrice, PriceTable, parse_prices


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("claude-sonnet-4-6", "claude-sonnet-4-6"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4.1-nano", "gpt-4.1-nano"),
    ],
)
def test_models_match_their_entry_or_a_dated_snapshot(model: str, entry: str) -> None:
    assert PriceTable().price_of(model) == DEFAULT_PRICES[entry]


@pytest.mark.parametrize("model", ["claude-opus-4-7", "gpt-4o-audio-preview", "llama3.1", ""])
def test_other_models_are_not_priced_by_a_loose_prefix(model: str) -> None:
    assert PriceTable().price_of(model) is None
    assert PriceTable().cost_usd(model, TokenUsage(prompt_tokens=10)) is None


def test_cost_counts_fresh_input_output_cache_reads_and_writes() -> None:
    price = ModelPrice(3.0, 15.0, 0.3, 3.75)
    usage = TokenUsage(
        prompt_tokens=1_000_000 + 2_000_000 + 500_000,
        completion_tokens=100_000,
        cache_read_input_tokens=2_000_000,
        cache_creation_input_tokens=500_000,
    )
    assert price.cost_usd(usage) == pytest.approx(3.0 + 1.5 + 0.6 + 1.875)


def test_overrides_win_and_extend_the_table() -> None:
    table = PriceTable(
        parse_prices(
            "p",
            {
                "gpt-4o": {"inputPerMTok": 1, "outputPerMTok": 2},
                "my-model": {"input_per_mtok": 0.5, "output_per_mtok": 1, "cacheReadPerMTok": 0.05},
            },
        )
    )
    assert table.price_of("gpt-4o") == ModelPrice(1.0, 2.0, 1.0, 1.0)
    assert table.price_of("my-model") == ModelPrice(0.5, 1.0, 0.05, 0.5)
    assert table.price_of("claude-haiku-4-5") == DEFAULT_PRICES["claude-haiku-4-5"]


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ([], "must map model ids to prices; got list"),
        ({"": {}}, "keys must be model ids"),
        ({"m": 3}, r"must be a mapping like"),
        ({"m": {"inputPerMTok": 1, "outputPerMTok": -1}}, "must be a non-negative number"),
        ({"m": {"inputPerMTok": 1, "outputPerMTok": float("nan")}}, "non-negative number"),
        ({"m": {"inputPerMTok": True, "outputPerMTok": 1}}, "non-negative number"),
        ({"m": {"inputPerMTok": 1, "outputPerMTok": 1, "perCall": 1}}, "unknown key 'perCall'"),
        ({"m": {"outputPerMTok": 1}}, "needs 'inputPerMTok'"),
    ],
)
def test_invalid_price_configs_are_refused(prices: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_prices("anthropic", prices)


def test_usage_sums_cost_and_keeps_it_out_of_the_wire_form() -> None:
    total = TokenUsage()
    total.add(TokenUsage(prompt_tokens=1, cost_usd=0.25))
    total.add(TokenUsage(prompt_tokens=1))
    total.add(TokenUsage(completion_tokens=1, cost_usd=0.5))
    assert total.cost_usd == 0.75
    assert "costUsd" not in total.to_dict()
