"""The scenario plan and the reference it carries.

``find_stockout_risks`` stores the products at risk as a ``StockoutRiskSet`` reference: the
model sees a glimpse (count, a few ids, the lowest cover), the plan's ``reorder`` action carries
the handle, and the dispatcher gets every item back when the approved plan runs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from flowai_harness import TaggedUnion, define_plan, define_reference

__all__ = [
    "PLAN_SPEC_NAME",
    "RefHandle",
    "Reorder",
    "ReplenishmentAction",
    "ReplenishmentPlan",
    "ReplenishmentPlanBody",
    "RiskItem",
    "StockoutRiskSet",
    "StockoutRiskSetPayload",
    "Transfer",
]

PLAN_SPEC_NAME = "ReplenishmentPlan"


class RiskItem(BaseModel):
    """One product short of cover in one channel."""

    product_id: str
    name: str
    supplier_id: str
    warehouse_id: str
    on_hand: int
    on_order: int
    daily_units: float
    days_of_cover: float
    lead_time_days: int
    min_order_units: int


class StockoutRiskSetPayload(BaseModel):
    """Products of one channel under a days-of-cover threshold."""

    channel: str = Field(min_length=1)
    max_days_of_cover: float = Field(gt=0)
    items: list[RiskItem] = Field(min_length=1)


def _risk_glimpse(value: StockoutRiskSetPayload) -> dict[str, Any]:
    return {
        "channel": value.channel,
        "productCount": len(value.items),
        "previewProductIds": [item.product_id for item in value.items[:3]],
        "lowestDaysOfCover": min(item.days_of_cover for item in value.items),
    }


StockoutRiskSet = define_reference(
    "StockoutRiskSet",
    StockoutRiskSetPayload,
    ttl_ms=7 * 24 * 60 * 60 * 1000,
    glimpse=_risk_glimpse,
)


class RefHandle(BaseModel):
    """A reference handle ``{kind, id}``."""

    kind: str
    id: str


class Reorder(BaseModel):
    """Order every product of a risk set up to a target cover from its supplier."""

    kind: str = "reorder"
    target_days_of_cover: int = Field(ge=1, le=120)
    reason: str = Field(min_length=1)
    references: list[RefHandle] = Field(min_length=1, max_length=1)


class Transfer(BaseModel):
    """Move units of one product between warehouses."""

    kind: str = "transfer"
    product_id: str = Field(min_length=1)
    from_warehouse_id: str = Field(min_length=1)
    to_warehouse_id: str = Field(min_length=1)
    units: int = Field(gt=0)
    reason: str = Field(min_length=1)


ReplenishmentAction = TaggedUnion(Reorder, Transfer)


class ReplenishmentPlanBody(BaseModel):
    """What the planner stores."""

    objective: str = Field(min_length=1)
    assumptions: list[str] = Field(default_factory=list)
    actions: list[ReplenishmentAction] = Field(min_length=1)  # type: ignore[valid-type]


ReplenishmentPlan = define_plan(
    PLAN_SPEC_NAME,
    ReplenishmentPlanBody,
    display_aliases={
        "draft": "Scenario",
        "approved": "Approved",
        "executing": "Placing orders",
        "executed": "Orders placed",
        "failed": "Failed",
    },
)
