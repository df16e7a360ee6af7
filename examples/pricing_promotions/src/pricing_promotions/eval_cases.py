"""Eval cases for the pricing desk, grouped by the eval mode they are written for.

Each case carries a ``mode:<mode>`` tag: planner cases run the planner alone, sequential cases
the whole coordinator -> planner -> executor flow (approvals are bypassed in evals), and
specialist cases the insights specialist. In Studio, create one eval per mode with that mode's
cases (Tests lists them after ``python -m pricing_promotions.seed_eval_tests``).
"""

from __future__ import annotations

from flowai_harness import (
    EvalTestCase,
    ResponseScorer,
    define_expected_action,
    define_expected_actions,
    define_final_response_eval,
    define_test_case,
)
from pricing_promotions.agents import INSIGHTS

__all__ = ["CASES_BY_MODE", "SPECIALIST_TARGET", "all_cases"]

#: the specialist the ``specialist`` cases are written for
SPECIALIST_TARGET = INSIGHTS

CASES_BY_MODE: dict[str, tuple[EvalTestCase, ...]] = {
    "planner": (
        define_test_case(
            "plan-price-change",
            "Set the price of p-001 to 6.49.",
            tags=["mode:planner", "price-change"],
            expected_trajectory=["list_products", "storePlan"],
            trajectory_mode="subsequence",
            expected_actions=define_expected_actions(
                planned_actions=[
                    define_expected_action(
                        "price_change", {"product_id": "p-001", "new_price": 6.49}
                    )
                ],
                payload_match="subset",
            ),
        ),
        define_test_case(
            "plan-snacks-promotion",
            "Draft a 15% promotion on snacks for 14 days.",
            tags=["mode:planner", "promotion"],
            expected_trajectory=["select_products", "storePlan"],
            trajectory_mode="subsequence",
            expected_actions=define_expected_actions(
                planned_actions=[
                    define_expected_action(
                        "promotion_launch", {"discount_percent": 15, "duration_days": 14}
                    )
                ],
                payload_match="subset",
            ),
        ),
        define_test_case(
            "refuse-price-below-cost",
            "Set p-003 to 1.00.",
            tags=["mode:planner", "guardrail"],
            expected_trajectory=["list_products"],
            trajectory_mode="strict",
            final_response=define_final_response_eval(
                scorers=[
                    ResponseScorer.contains(
                        id="names_unit_cost", text="unit cost", case_sensitive=False
                    )
                ]
            ),
        ),
    ),
    "sequential": (
        define_test_case(
            "apply-price-change",
            "Set p-002 to 7.99.",
            tags=["mode:sequential", "price-change"],
            expected_trajectory=["call_agent", "call_agent"],
            trajectory_mode="strict",
            expected_actions=define_expected_actions(
                planned_actions=[
                    define_expected_action(
                        "price_change", {"product_id": "p-002", "new_price": 7.99}
                    )
                ],
                executed_actions=[
                    define_expected_action(
                        "price_change", {"product_id": "p-002", "new_price": 7.99}
                    )
                ],
                payload_match="subset",
            ),
        ),
    ),
    "specialist": (
        define_test_case(
            "insights-top-revenue",
            "Which product brings in the most revenue?",
            tags=["mode:specialist", "insights"],
            expected_trajectory=["sales_summary"],
            trajectory_mode="superset",
            final_response=define_final_response_eval(
                scorers=[
                    ResponseScorer.contains(id="names_top_product", text="Sparkling Water 12pk"),
                    ResponseScorer.regex(id="quotes_revenue", pattern=r"\$\d[\d,]*\.\d{2}"),
                ]
            ),
        ),
    ),
}


def all_cases() -> list[EvalTestCase]:
    """Every case, planner cases first."""
    return [case for cases in CASES_BY_MODE.values() for case in cases]
