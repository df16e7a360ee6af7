"""The planner end to end on the prepared data environment, with the offline model."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from inventory_planning.agents import ANALYST, COORDINATOR, EXECUTOR, PLANNER, build_spec
from inventory_planning.offline_model import COVER_BY_CHANNEL_SQL
from inventory_planning.planning_platform import PlanningPlatform
from inventory_planning.runtime import build_runtime
from inventory_planning.stock import StockReader, order_quantity
from inventory_planning.workdir import WorkDir

from flowai_harness import create_runtime
from flowai_harness.testing import collect_events


@pytest.fixture
def platform() -> Iterator[PlanningPlatform]:
    with PlanningPlatform() as opened:
        yield opened


def _run(
    workdir: WorkDir, platform: PlanningPlatform, request: str, approve: str | None = "approve"
) -> list[dict[str, Any]]:
    runtime = build_runtime(workdir, platform=platform, interpreter="offline")
    stream = runtime.query(request, thread_id="t-flow")
    events = asyncio.run(
        collect_events(stream, runtime if approve else None, approve=approve, feedback="not now")
    )
    assert not [e for e in events if e["type"] == "error"]
    return events


def _agents(events: list[dict[str, Any]]) -> list[str]:
    return [e["agentName"] for e in events if e["type"] == "tool-agent" and e["state"] == "call"]


def _result(events: list[dict[str, Any]], tool: str) -> Any:
    return next(
        e["result"]
        for e in events
        if e["type"] == "tool-invocation" and e["toolName"] == tool and e["state"] == "result"
    )


def _final(events: list[dict[str, Any]]) -> str:
    return [e["text"] for e in events if e["type"] == "text"][-1]


def test_the_analyst_answers_from_the_catalog_and_a_read_only_query(
    workdir: WorkDir, platform: PlanningPlatform
) -> None:
    events = _run(workdir, platform, "What are the days of cover by channel?", approve=None)
    assert _agents(events) == [COORDINATOR, ANALYST]
    search = _result(events, "search_catalog")
    assert {hit["kind"] for hit in search["results"]} & {"table", "column"}
    db = sqlite3.connect(f"{workdir.target_db.as_uri()}?mode=ro", uri=True)
    try:
        expected = db.execute(COVER_BY_CHANNEL_SQL).fetchall()
    finally:
        db.close()
    for channel, _, _, _, cover in expected:
        assert f"- {channel}: {cover} days of cover" in _final(events)
    assert platform.purchase_orders() == []


def test_execute_query_refuses_a_write_on_the_target(workdir: WorkDir) -> None:
    # the offline model only reads; a scripted turn shows what a model asking to write gets
    scripted = create_runtime(
        build_spec(),
        interpreter="scripted",
        data_environment=workdir.data_environment(),
        services={"stock": StockReader(workdir.target_db)},
    )
    script = '{"tool": "execute_query", "args": {"sql": "DELETE FROM fact_stock"}}'
    events = asyncio.run(collect_events(scripted.run_specialist(ANALYST, script, "t-write")))
    refused = _result(events, "execute_query")
    assert set(refused) == {"error"} and "read-only" in refused["error"]
    assert StockReader(workdir.target_db).on_hand("sku-101", "wh-online") == 36


def test_an_approved_plan_orders_every_online_risk_up_to_the_policy_target(
    workdir: WorkDir, platform: PlanningPlatform
) -> None:
    events = _run(workdir, platform, "Replenish online products under 7 days of cover.")
    assert _agents(events) == [COORDINATOR, PLANNER, EXECUTOR]
    risks = _result(events, "find_stockout_risks")
    assert set(risks) == {"reference", "glimpse"}  # the model never sees the product list
    assert risks["glimpse"]["productCount"] == 3
    stored = _result(events, "storePlan")
    (reorder,) = stored["actions"]
    # 21 days comes from knowledge/replenishment-policy.md, read through the catalog
    assert reorder["payload"]["target_days_of_cover"] == 21
    items = StockReader(workdir.target_db).stockout_risks("online", 7)
    assert [(o["product_id"], o["units"]) for o in platform.purchase_orders()] == [
        (item["product_id"], order_quantity(item, 21)) for item in items
    ]
    assert "executed. Placed 3 purchase order(s)" in _final(events)


def test_an_explicit_target_and_a_transfer_end_up_in_one_plan(
    workdir: WorkDir, platform: PlanningPlatform
) -> None:
    events = _run(
        workdir,
        platform,
        "Restock retail products under 7 days of cover to 30 days and transfer 20 sku-203 "
        "from wh-online to wh-retail.",
    )
    kinds = [a["kind"] for a in _result(events, "storePlan")["actions"]]
    assert kinds == ["reorder", "transfer"]
    (order,) = platform.purchase_orders()
    (item,) = StockReader(workdir.target_db).stockout_risks("retail", 7)
    assert (order["product_id"], order["units"]) == ("sku-203", order_quantity(item, 30))
    assert platform.transfers()[0]["units"] == 20


def test_a_rejected_plan_places_no_order(workdir: WorkDir, platform: PlanningPlatform) -> None:
    events = _run(workdir, platform, "Replenish online products under 7 days of cover.", "reject")
    decision = next(e for e in events if e["type"] == "approval-decision")
    assert decision["data"]["outcome"] == {"outcome": "reject"}
    assert "was not executed" in _final(events) and "not now" in _final(events)
    assert platform.purchase_orders() == []


def test_a_draft_is_stored_but_not_executed(workdir: WorkDir, platform: PlanningPlatform) -> None:
    events = _run(workdir, platform, "Draft a restock of online products under 7 days.", None)
    assert _agents(events) == [COORDINATOR, PLANNER]
    assert _final(events).startswith("Stored plan replenishment-plan-")
    assert platform.purchase_orders() == []


def test_nothing_at_risk_means_no_plan(workdir: WorkDir, platform: PlanningPlatform) -> None:
    events = _run(workdir, platform, "Replenish retail products under 1 days of cover.", None)
    assert _final(events) == "No retail product is under 1 days of cover; nothing to plan."
    assert not any(e.get("toolName") == "storePlan" for e in events)
    assert platform.purchase_orders() == []
