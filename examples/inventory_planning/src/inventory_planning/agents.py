"""The agents of the inventory planner and the runtime spec.

* ``inventory_coordinator`` routes: questions to ``inventory_analyst``; planning requests to
  ``replenishment_planner`` and, with the stored plan's id, to ``replenishment_executor``.
* ``inventory_analyst`` answers from the data: the catalog toolkit (search, schema, relations,
  samples) and ``execute_query`` (read-only SQL) on the inventory database.
* ``replenishment_planner`` reads the replenishment policy from the catalog, finds products at
  risk with ``find_stockout_risks`` and stores a typed ``ReplenishmentPlan``.
* ``replenishment_executor`` runs ``executePlan``: a person approves, the dispatcher places the
  orders on the planning platform.
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
from inventory_planning.domain import PLAN_SPEC_NAME, ReplenishmentPlan, StockoutRiskSet
from inventory_planning.tools import find_stockout_risks
from inventory_planning.workdir import TENANT

__all__ = ["ANALYST", "COORDINATOR", "EXECUTOR", "PLANNER", "build_spec"]

COORDINATOR = "inventory_coordinator"
ANALYST = "inventory_analyst"
PLANNER = "replenishment_planner"
EXECUTOR = "replenishment_executor"

MODEL = "claude-sonnet-4-6"

_DATA_RULES = [
    "Find tables and documents with search_catalog before writing SQL; check columns with "
    "list_schema_fields; run execute_query last.",
    "Days of cover = (on_hand + on_order) / average daily units over the demand window; each "
    "channel ships from the warehouse in dim_channels.warehouse_id.",
]


def build_spec() -> RuntimeSpec:
    """Return the runtime spec (tenant ``inventory-planning``)."""
    coordinator = define_coordinator(
        COORDINATOR,
        model=MODEL,
        routes=[ANALYST, PLANNER, EXECUTOR],
        approval={"plans": "always", "tools": "never"},
        prompt=layered_prompt(
            identity="You coordinate inventory questions and replenishment scenarios.",
            operational_rules=[
                f"Send questions about stock, demand or cover to {ANALYST}.",
                f"Send replenishment or transfer requests to {PLANNER}; it answers with the "
                "id of the plan it stored.",
                f"Unless the user asked only for a draft, send 'Execute plan <id>.' to "
                f"{EXECUTOR}; a person approves before any order is placed.",
            ],
        ),
    )
    analyst = define_specialist(
        ANALYST,
        model=MODEL,
        toolkits=["catalog"],
        prompt=layered_prompt(
            identity="You answer inventory questions from the catalog and the inventory data.",
            operational_rules=[*_DATA_RULES, "You cannot change anything."],
        ),
    )
    planner = define_planner(
        PLANNER,
        model=MODEL,
        plan=ReplenishmentPlan,
        tools=[find_stockout_risks],
        toolkits=["catalog"],
        max_turns=20,
        prompt=layered_prompt(
            identity="You draft replenishment scenarios as a typed ReplenishmentPlan.",
            operational_rules=[
                *_DATA_RULES,
                "Read the replenishment policy document (search_catalog with kinds "
                "['document'], then get_catalog_entities) for the target cover per channel.",
                "Call find_stockout_risks and put its reference in a reorder action; never "
                "list product ids yourself.",
                "Store the plan with storePlan, then answer 'Stored plan <planId> ...'.",
            ],
            output_format={
                "storePlan example": {
                    "specName": PLAN_SPEC_NAME,
                    "planId": "replenishment-plan-1a2b3c4d",
                    "body": {
                        "objective": "Bring online stockout risks up to 21 days of cover.",
                        "assumptions": ["Demand stays at the last 28 days' average."],
                        "actions": [
                            {
                                "kind": "reorder",
                                "target_days_of_cover": 21,
                                "reason": "Online policy target.",
                                "references": [
                                    {"kind": StockoutRiskSet.name, "id": "<from the tool>"}
                                ],
                            }
                        ],
                    },
                }
            },
        ),
    )
    executor = define_executor(
        EXECUTOR,
        model=MODEL,
        plan=ReplenishmentPlan,
        prompt=layered_prompt(
            identity="You execute approved ReplenishmentPlans with executePlan.",
            operational_rules=["Never resolve or change the plan's products; report the result."],
        ),
    )
    return define_runtime(
        define_tenant(TENANT, "v1"),
        agents=[coordinator, analyst, planner, executor],
        references=[StockoutRiskSet],
        plans=[ReplenishmentPlan],
        providers={"anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY"}},
    )
