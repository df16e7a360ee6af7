"""The desk end to end with the offline model: questions, drafts, approvals and rejections."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pricing_promotions.agents import COORDINATOR, EXECUTOR, INSIGHTS, PLANNER
from pricing_promotions.commerce import CommerceService
from pricing_promotions.runtime import build_runtime

from flowai_harness.testing import collect_events


@pytest.fixture
def commerce() -> Iterator[CommerceService]:
    with CommerceService() as service:
        yield service


def _run(
    commerce: CommerceService, request: str, approve: str | None = "approve"
) -> list[dict[str, Any]]:
    runtime = build_runtime(commerce, interpreter="offline")
    stream = runtime.query(request, thread_id="t-flow")
    return asyncio.run(
        collect_events(stream, runtime if approve else None, approve=approve, feedback="no")
    )


def _agents_called(events: list[dict[str, Any]]) -> list[str]:
    return [e["agentName"] for e in events if e["type"] == "tool-agent" and e["state"] == "call"]


def _final_text(events: list[dict[str, Any]]) -> str:
    return [e["text"] for e in events if e["type"] == "text"][-1]


def test_a_question_goes_to_insights_and_changes_nothing(commerce: CommerceService) -> None:
    events = _run(commerce, "Which product brings in the most revenue?", approve=None)
    assert _agents_called(events) == [COORDINATOR, INSIGHTS]
    assert "Top product by revenue: Sparkling Water 12pk (p-001)" in _final_text(events)
    assert not any(e["type"] == "approval-required" for e in events)
    assert commerce.price_changes() == [] and commerce.promotions() == []


def test_an_approved_request_flows_through_planner_and_executor_into_the_store(
    commerce: CommerceService,
) -> None:
    events = _run(commerce, 'Set p-001 to 6.49 and run 20% off beverages called "Fizz".')
    assert _agents_called(events) == [COORDINATOR, PLANNER, EXECUTOR]
    gate = next(e for e in events if e["type"] == "approval-required")
    assert gate["data"]["kind"] == "plan" and gate["data"]["target"] == "pricing-plan-1"
    assert commerce.product("p-001")["price"] == 6.49
    (promo,) = commerce.promotions()
    assert promo["name"] == "Fizz" and promo["productIds"] == ["p-001", "p-002"]
    assert promo["discountPercent"] == 20
    assert _final_text(events).startswith("Plan pricing-plan-1 is live.")


def test_the_model_only_sees_a_glimpse_of_the_product_selection(commerce: CommerceService) -> None:
    events = _run(commerce, "Draft a 10% promotion on snacks.", approve=None)
    selected = next(
        e["result"]
        for e in events
        if e["type"] == "tool-invocation"
        and e["toolName"] == "select_products"
        and e["state"] == "result"
    )
    assert set(selected) == {"reference", "glimpse"}
    assert selected["glimpse"] == {
        "category": "snacks",
        "productCount": 3,
        "preview": ["p-003", "p-004", "p-005"],
    }


def test_a_draft_request_stores_the_plan_without_executing_it(commerce: CommerceService) -> None:
    events = _run(commerce, "Draft a 10% promotion on snacks.", approve=None)
    assert _agents_called(events) == [COORDINATOR, PLANNER]
    assert "Stored plan pricing-plan-1 with 1 action(s) (promotion_launch)" in _final_text(events)
    assert commerce.promotions() == []


def test_a_rejected_plan_leaves_the_store_untouched(commerce: CommerceService) -> None:
    events = _run(commerce, "Set p-002 to 7.99.", approve="reject")
    decision = next(e for e in events if e["type"] == "approval-decision")
    assert decision["data"]["outcome"] == {"outcome": "reject"}
    assert "was not applied" in _final_text(events)
    assert "rejected" in _final_text(events)
    assert commerce.price_changes() == []


def test_a_below_cost_request_is_refused_before_any_plan_is_stored(
    commerce: CommerceService,
) -> None:
    events = _run(commerce, "Set p-004 to 0.50.", approve=None)
    assert _agents_called(events) == [COORDINATOR, PLANNER]
    assert "0.50 for p-004 is not above its unit cost 1.10" in _final_text(events)
    assert not any(e.get("toolName") == "storePlan" for e in events)
    assert commerce.price_changes() == []


def test_an_unknown_category_is_reported_back(commerce: CommerceService) -> None:
    events = _run(commerce, "Launch a 10% promotion on toys.", approve=None)
    assert "unknown category 'toys'" in _final_text(events)
    assert commerce.promotions() == []


def test_a_request_without_a_recognised_change_is_treated_as_a_question(
    commerce: CommerceService,
) -> None:
    events = _run(commerce, "Make everything cheaper please.", approve=None)
    assert _agents_called(events) == [COORDINATOR, INSIGHTS]
    assert _final_text(events).startswith("Over the last 4 weeks revenue was $")
    assert not any(e.get("toolName") == "storePlan" for e in events)
    assert commerce.price_changes() == []
