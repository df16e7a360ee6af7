"""Read-only tools over the commerce service (handed to tools as the ``commerce`` service).

Agents inspect with tools and change things only through approved plans, so none of these
write. ``select_products`` stores its selection as a ``ProductSelection`` reference and returns
only the handle and a glimpse: promotions carry the handle, and the dispatcher gets the full id
list back when the plan runs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from flowai_harness import define_tool
from pricing_promotions.domain import ProductSelection, ProductSelectionPayload

__all__ = ["list_products", "list_promotions", "sales_summary", "select_products"]


class ListProductsArgs(BaseModel):
    """Input of ``list_products``."""

    category: str | None = Field(None, description="Only this category (omit for all).")


class SalesSummaryArgs(BaseModel):
    """Input of ``sales_summary``."""

    weeks: int = Field(4, ge=1, le=4, description="How many recent weeks to total (1-4).")


class SelectProductsArgs(BaseModel):
    """Input of ``select_products``."""

    category: str = Field(description="The category whose products the selection holds.")
    reason: str = Field(description="Why these products are selected.")


class ListPromotionsArgs(BaseModel):
    """Input of ``list_promotions``."""

    status: str | None = Field(None, description="'active' or 'ended' (omit for all).")


@define_tool(
    "list_products",
    ListProductsArgs,
    description="List products with price, unit cost and margin, optionally for one category.",
)
def list_products(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    products = ctx.commerce.products(args.get("category"))
    return {"products": products, "categories": ctx.commerce.categories()}


@define_tool(
    "sales_summary",
    SalesSummaryArgs,
    description="Units sold and revenue per product over recent weeks, best seller first.",
)
def sales_summary(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    weeks = args.get("weeks", 4)
    sales = ctx.commerce.sales_by_product(weeks)
    by_category: dict[str, float] = {}
    for item in sales:
        by_category[item["category"]] = by_category.get(item["category"], 0.0) + item["revenue"]
    return {
        "weeks": weeks,
        "products": sales,
        "revenueByCategory": {name: round(total, 2) for name, total in sorted(by_category.items())},
        "totalRevenue": round(sum(item["revenue"] for item in sales), 2),
    }


@define_tool(
    "list_promotions",
    ListPromotionsArgs,
    description="List promotions with their products, discount, dates and status.",
)
def list_promotions(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    return {"promotions": ctx.commerce.promotions(args.get("status"))}


@define_tool(
    "select_products",
    SelectProductsArgs,
    description=(
        "Select every product of a category for a promotion. Returns a ProductSelection "
        "reference handle (put it in the action's references) and a glimpse."
    ),
)
async def select_products(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    products = ctx.commerce.products(args["category"])
    payload = ProductSelectionPayload(
        category=args["category"],
        product_ids=[product["productId"] for product in products],
        reason=args["reason"],
    )
    created = await ctx.references.create(ProductSelection, payload)
    return {
        "reference": {"kind": created["kind"], "id": created["id"]},
        "glimpse": created["glimpse"],
    }
