"""Tagged unions as the reference builds them: required tags and the duplicate-tag message."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from flowai_harness import TaggedUnion, normalize_schema


class PriceChange(BaseModel):
    kind: str = "price_change"
    product_id: str
    new_price: float


class Restock(BaseModel):
    kind: str = "restock"
    product_id: str
    quantity: int


class PricingPlan(BaseModel):
    actions: list[TaggedUnion(PriceChange, Restock)]  # type: ignore[valid-type]


def test_every_variant_schema_requires_the_discriminator() -> None:
    variants = normalize_schema(PricingPlan)["properties"]["actions"]["items"]["oneOf"]
    assert [v["properties"]["kind"]["const"] for v in variants] == ["price_change", "restock"]
    for variant in variants:
        assert "kind" in variant["required"]


def test_the_shorthand_tag_becomes_a_required_literal_without_default() -> None:
    variants = normalize_schema(PricingPlan)["properties"]["actions"]["items"]["oneOf"]
    tag: dict[str, Any] = variants[0]["properties"]["kind"]
    assert tag["const"] == "price_change"
    assert "default" not in tag


def test_two_variants_with_the_same_tag_report_a_duplicate_discriminator() -> None:
    class DuplicatePriceChange(BaseModel):
        kind: str = "price_change"
        percent: float

    with pytest.raises(ValueError, match="duplicate discriminator") as exc:
        TaggedUnion(PriceChange, DuplicatePriceChange)
    assert "`price_change` for PriceChange and DuplicatePriceChange" in str(exc.value)
