"""The four agents of the pricing desk and the runtime spec that ties them together.

* ``pricing_coordinator`` takes every request: questions go to ``pricing_insights``, change
  requests to ``pricing_planner`` and then, with the stored plan's id, to ``pricing_executor``.
* ``pricing_insights`` answers questions from sales and margin data; it changes nothing.
* ``pricing_planner`` turns a change request into a typed ``PricingPlan``.
* ``pricing_executor`` runs ``executePlan``; the plan gate asks a human first, then the action
  dispatcher writes to the commerce service.
"""

from __future__ import annotations

from flowai_harness import (
    RuntimeSpec,
    define_coordinator,
    define_executor,
    define_planner,
    define_runtime,
    define_specialist,
    define_tenant,
    layered_prompt,
)
from pricing_promotions.domain import (
    PLAN_SPEC_NAME,
    PricingPlan,
    PricingPlanBody,
    ProductSelection,
)
from pricing_promotions.tools import list_products, list_promotions, sales_summary, select_products

__all__ = ["COORDINATOR", "EXECUTOR", "INSIGHTS", "PLANNER", "TENANT", "build_spec"]

TENANT = "pricing-desk"
COORDINATOR = "pricing_coordinator"
INSIGHTS = "pricing_insights"
PLANNER = "pricing_planner"
EXECUTOR = "pricing_executor"

MODEL = "claude-sonnet-4-6"

_RULES = {
    "pricing": "A new price must stay above the product's unit cost.",
    "promotions": "Discounts are 1-90 % and run 1-90 days; the discounted price must stay "
    "above unit cost.",
    "products": "Product ids look like p-001; promotions look like promo-1.",
}

_EXAMPLE_PLAN = {
    "specName": PLAN_SPEC_NAME,
    "planId": "pricing-plan-1",
    "body": {
        "rationale": "Match the competitor price on sparkling water; push snacks for a week.",
        "actions": [
            {
                "kind": "price_change",
                "product_id": "p-001",
                "new_price": 6.49,
                "reason": "Competitor moved to 6.49.",
            },
            {
                "kind": "promotion_launch",
                "name": "Snacks 15% off",
                "discount_percent": 15,
                "duration_days": 7,
                "references": [{"kind": ProductSelection.name, "id": "<id from select_products>"}],
            },
        ],
    },
}


def build_spec() -> RuntimeSpec:
    """Return the runtime spec of the pricing desk (tenant ``pricing-desk``)."""
    coordinator = define_coordinator(
        COORDINATOR,
        model=MODEL,
        routes=[INSIGHTS, PLANNER, EXECUTOR],
        approval={"plans": "always", "tools": "never"},
        prompt=layered_prompt(
            identity="You run the pricing and promotions desk of a grocery shop.",
            operational_rules=[
                f"Send questions about sales, prices or margins to {INSIGHTS}.",
                f"Send change requests to {PLANNER}; it answers with the id of the plan it stored.",
                f"Unless the user only asked for a draft, send 'Execute plan <id>.' to "
                f"{EXECUTOR}; a human approves the plan before anything changes.",
                "Answer with what changed, or why nothing did.",
            ],
        ),
    )
    insights = define_specialist(
        INSIGHTS,
        model=MODEL,
        tools=[sales_summary, list_products, list_promotions],
        prompt=layered_prompt(
            identity="You answer questions about sales, prices, margins and promotions.",
            operational_rules=[
                "Ground every number in a tool result; never guess.",
                "You cannot change anything; say so if asked to.",
            ],
        ),
    )
    planner = define_planner(
        PLANNER,
        model=MODEL,
        plan=PricingPlan,
        tools=[list_products, list_promotions, select_products],
        prompt=layered_prompt(
            identity="You turn pricing requests into a typed PricingPlan.",
            operational_rules=[
                "Check current prices and unit costs with list_products first.",
                "For a promotion on a category, call select_products and put the returned "
                "reference in the promotion_launch action's references.",
                "Store the plan with storePlan, then answer 'Stored plan <planId> ...'.",
            ],
            domain_knowledge=_RULES,
            output_format={
                "storePlan example": _EXAMPLE_PLAN,
                "plan body schema": PricingPlanBody.model_json_schema(),
            },
        ),
    )
    executor = define_executor(
        EXECUTOR,
        model=MODEL,
        plan=PricingPlan,
        prompt=layered_prompt(
            identity="You execute approved PricingPlans with executePlan.",
            operational_rules=[
                "Call executePlan with the plan id you are given; never edit the plan.",
                "Report the summary of the result, or the error if it failed.",
            ],
        ),
    )
    return define_runtime(
        define_tenant(TENANT, "v1"),
        agents=[coordinator, insights, planner, executor],
        references=[ProductSelection],
        providers={"anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY"}},
    )
