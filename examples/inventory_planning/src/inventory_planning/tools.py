"""The planner's own tool; everything else agents read comes from the built-in catalog toolkit.

``find_stockout_risks`` runs a fixed, read-only query (the ``stock`` service opens the
inventory database read-only), stores the products at risk as a ``StockoutRiskSet`` reference
and returns only the handle and a glimpse, however many products there are.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from flowai_harness import define_tool
from inventory_planning.domain import StockoutRiskSet, StockoutRiskSetPayload

__all__ = ["find_stockout_risks"]


class FindStockoutRisksArgs(BaseModel):
    """Input of ``find_stockout_risks``."""

    channel: str = Field(description="Sales channel id, e.g. 'online' or 'retail'.")
    max_days_of_cover: float = Field(
        7, gt=0, description="Products with fewer days of cover than this are at risk."
    )


@define_tool(
    "find_stockout_risks",
    FindStockoutRisksArgs,
    description=(
        "Find the channel's products with fewer than max_days_of_cover days of cover "
        "((on hand + on order) / average daily units). Returns a StockoutRiskSet reference "
        "for a reorder action, and a glimpse; productCount 0 means nothing is at risk."
    ),
)
async def find_stockout_risks(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    threshold = args.get("max_days_of_cover", 7)
    items = ctx.stock.stockout_risks(args["channel"], threshold)
    if not items:
        return {
            "reference": None,
            "glimpse": {"channel": args["channel"], "productCount": 0},
        }
    payload = StockoutRiskSetPayload(
        channel=args["channel"], max_days_of_cover=threshold, items=items
    )
    created = await ctx.references.create(StockoutRiskSet, payload)
    return {
        "reference": {"kind": created["kind"], "id": created["id"]},
        "glimpse": created["glimpse"],
    }
