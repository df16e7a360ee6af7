"""The pricing desk's vocabulary: the product-selection reference and the typed pricing plan.

A plan is a rationale plus a list of actions drawn from a tagged union (``kind`` tells them
apart). The planner stores it with ``storePlan``; the runtime validates the body against the
JSON Schema generated from these models, so a plan with a negative price or a 95 % discount is
refused before anyone is asked to approve it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from flowai_harness import TaggedUnion, define_plan, define_reference

__all__ = [
    "PLAN_SPEC_NAME",
    "PriceChange",
    "PricingAction",
    "PricingPlan",
    "PricingPlanBody",
    "ProductSelection",
    "ProductSelectionPayload",
    "PromotionEnd",
    "PromotionLaunch",
    "RefHandle",
]

PLAN_SPEC_NAME = "PricingPlan"


class ProductSelectionPayload(BaseModel):
    """The products a promotion applies to, chosen by category."""

    category: str = Field(min_length=1)
    product_ids: list[str] = Field(min_length=1)
    reason: str = Field(min_length=1)


def _selection_glimpse(value: ProductSelectionPayload) -> dict[str, Any]:
    return {
        "category": value.category,
        "productCount": len(value.product_ids),
        "preview": value.product_ids[:3],
    }


ProductSelection = define_reference(
    "ProductSelection",
    ProductSelectionPayload,
    ttl_ms=24 * 60 * 60 * 1000,
    glimpse=_selection_glimpse,
)


class RefHandle(BaseModel):
    """A reference handle ``{kind, id}`` carried by an action."""

    kind: str
    id: str


class PriceChange(BaseModel):
    """Set one product's shelf price."""

    kind: str = "price_change"
    product_id: str = Field(min_length=1)
    new_price: float = Field(gt=0)
    reason: str = Field(min_length=1)


class PromotionLaunch(BaseModel):
    """Start a percentage-off promotion, today, on the products of one selection."""

    kind: str = "promotion_launch"
    name: str = Field(min_length=1)
    discount_percent: int = Field(ge=1, le=90)
    duration_days: int = Field(ge=1, le=90)
    references: list[RefHandle] = Field(min_length=1, max_length=1)


class PromotionEnd(BaseModel):
    """End a running promotion early."""

    kind: str = "promotion_end"
    promotion_id: str = Field(min_length=1)
    reason: str = Field(min_length=1)


PricingAction = TaggedUnion(PriceChange, PromotionLaunch, PromotionEnd)


class PricingPlanBody(BaseModel):
    """What the planner stores: why, and the actions to apply once approved."""

    rationale: str = Field(min_length=1)
    actions: list[PricingAction] = Field(min_length=1)  # type: ignore[valid-type]


PricingPlan = define_plan(
    PLAN_SPEC_NAME,
    PricingPlanBody,
    display_aliases={
        "draft": "Proposed",
        "approved": "Approved",
        "executing": "Applying",
        "executed": "Live",
        "failed": "Failed",
    },
)
