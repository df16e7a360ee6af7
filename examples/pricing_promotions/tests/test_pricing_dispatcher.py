"""The action dispatcher, alone and behind the real plan gate."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pricing_promotions.agents import COORDINATOR, EXECUTOR, PLANNER, build_spec
from pricing_promotions.commerce import CommerceError, CommerceService
from pricing_promotions.dispatcher import make_dispatcher

from flowai_harness import create_runtime
from flowai_harness.testing import collect_events

SELECTION = {"kind": "ProductSelection", "id": "sel-1"}


@pytest.fixture
def commerce() -> Iterator[CommerceService]:
    with CommerceService() as service:
        yield service


def _ctx(product_ids: list[str]) -> dict[str, Any]:
    return {
        "resolved_refs": {
            "ProductSelection": {
                "sel-1": {"category": "snacks", "product_ids": product_ids, "reason": "r"}
            }
        }
    }


def test_dispatcher_applies_every_action_kind_and_reports_products_touched(
    commerce: CommerceService,
) -> None:
    dispatch = make_dispatcher(commerce)
    actions = [
        {
            "kind": "price_change",
            "payload": {"product_id": "p-001", "new_price": 6.49, "reason": "competitor"},
            "references": [],
        },
        {
            "kind": "promotion_launch",
            "payload": {"name": "Snack week", "discount_percent": 10, "duration_days": 7},
            "references": [SELECTION],
        },
    ]
    result = dispatch(actions, _ctx(["p-003", "p-004"]))
    assert result["entitiesAffected"] == 3
    assert result["summary"] == "Applied 2 pricing action(s) to 3 product(s)."
    assert [entry["kind"] for entry in result["details"]["applied"]] == [
        "price_change",
        "promotion_launch",
    ]
    ended = dispatch(
        [{"kind": "promotion_end", "payload": {"promotion_id": "promo-1", "reason": "r"}}],
        {"resolved_refs": {}},
    )
    assert ended["entitiesAffected"] == 2
    assert commerce.promotions()[0]["status"] == "ended"
    assert commerce.product("p-001")["price"] == 6.49


@pytest.mark.parametrize(
    ("action", "ctx", "error", "message"),
    [
        (
            {"kind": "price_drop", "payload": {}, "references": []},
            {},
            ValueError,
            "action #1 \\('price_drop'\\) is not a valid action",
        ),
        (
            {"kind": "price_change", "payload": {"product_id": "p-001"}, "references": []},
            {},
            ValueError,
            "is not a valid action",
        ),
        (
            {
                "kind": "promotion_launch",
                "payload": {"name": "N", "discount_percent": 10, "duration_days": 7},
                "references": [SELECTION],
            },
            {"resolved_refs": {}},
            ValueError,
            "needs a resolved ProductSelection, got reference ProductSelection:sel-1",
        ),
        (
            {
                "kind": "price_change",
                "payload": {"product_id": "p-002", "new_price": 1.0, "reason": "r"},
                "references": [],
            },
            {},
            CommerceError,
            "not above its unit cost",
        ),
    ],
)
def test_a_bad_action_fails_the_whole_plan_and_writes_nothing(
    commerce: CommerceService,
    action: dict[str, Any],
    ctx: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    first = {
        "kind": "price_change",
        "payload": {"product_id": "p-001", "new_price": 6.49, "reason": "ok"},
        "references": [],
    }
    with pytest.raises(error, match=message):
        make_dispatcher(commerce)([first, action], ctx)
    assert commerce.price_changes() == []
    assert commerce.product("p-001")["price"] == 5.99


def _script(*steps: tuple[str, dict[str, Any]]) -> str:
    return json.dumps({"script": [{"tool": tool, "args": args} for tool, args in steps]})


def test_under_cost_plan_approved_through_the_runtime_fails_and_changes_nothing(
    commerce: CommerceService,
) -> None:
    runtime = create_runtime(
        build_spec(),
        interpreter="scripted",
        services={"commerce": commerce},
        action_dispatcher=make_dispatcher(commerce),
    )
    body = {
        "rationale": "Clear stock.",
        "actions": [
            {"kind": "price_change", "product_id": "p-001", "new_price": 6.49, "reason": "a"},
            {"kind": "price_change", "product_id": "p-004", "new_price": 0.99, "reason": "b"},
        ],
    }
    plan = {"specName": "PricingPlan", "planId": "under-cost", "body": body}
    request = _script(
        ("call_agent", {"agent": PLANNER, "prompt": _script(("storePlan", plan))}),
        (
            "call_agent",
            {"agent": EXECUTOR, "prompt": _script(("executePlan", {"planId": "under-cost"}))},
        ),
    )
    events = asyncio.run(
        collect_events(runtime.query(request, thread_id="t-under-cost"), runtime, approve="approve")
    )
    result = next(
        e
        for e in events
        if e["type"] == "tool-invocation"
        and e.get("toolName") == "executePlan"
        and e["state"] == "result"
    )
    assert "not above its unit cost 1.10" in json.dumps(result["result"])
    assert [e["data"]["to"] for e in events if e["type"] == "plan-status-change"][-1] == "failed"
    assert commerce.price_changes() == []
    assert events[0]["agentName"] == COORDINATOR
