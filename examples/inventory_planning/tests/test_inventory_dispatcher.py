"""The dispatcher: purchase orders from hydrated risk sets, checked transfers, all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from inventory_planning.dispatcher import make_dispatcher
from inventory_planning.planning_platform import PlanningPlatform
from inventory_planning.seed_db import seed_database
from inventory_planning.stock import StockError, StockReader, order_quantity

HANDLE = {"kind": "StockoutRiskSet", "id": "risk-1"}


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> StockReader:
    path = tmp_path_factory.mktemp("dispatch") / "inventory.db"
    seed_database(path)
    return StockReader(path)


def _reorder(target: int = 21) -> dict[str, Any]:
    return {
        "kind": "reorder",
        "payload": {"target_days_of_cover": target, "reason": "policy"},
        "references": [HANDLE],
    }


def _transfer(units: int, source: str = "wh-online", dest: str = "wh-retail") -> dict[str, Any]:
    return {
        "kind": "transfer",
        "payload": {
            "product_id": "sku-203",
            "from_warehouse_id": source,
            "to_warehouse_id": dest,
            "units": units,
            "reason": "rebalance",
        },
        "references": [],
    }


@pytest.fixture
def platform() -> Iterator[PlanningPlatform]:
    with PlanningPlatform() as opened:
        yield opened


def _ctx(items: list[dict[str, Any]]) -> dict[str, Any]:
    payload = {"channel": "online", "max_days_of_cover": 7, "items": items}
    return {"resolved_refs": {"StockoutRiskSet": {"risk-1": payload}}}


def test_reorder_places_one_rounded_order_per_product_short_of_the_target(
    stock: StockReader, platform: PlanningPlatform
) -> None:
    items = stock.stockout_risks("online", 7)
    result = make_dispatcher(platform, stock)([_reorder(21), _transfer(20)], _ctx(items))
    orders = platform.purchase_orders()
    assert [(o["product_id"], o["units"]) for o in orders] == [
        (item["product_id"], order_quantity(item, 21)) for item in items
    ]
    assert all(o["units"] % i["min_order_units"] == 0 for o, i in zip(orders, items, strict=True))
    assert platform.transfers()[0]["units"] == 20
    assert result["entitiesAffected"] == len(items) + 1
    assert result["summary"] == (
        f"Placed {len(items)} purchase order(s) and booked 1 transfer(s) for "
        f"{len(items) + 1} product(s)."
    )


@pytest.mark.parametrize(
    ("actions", "error", "message"),
    [
        ([_transfer(10_000)], StockError, "exceeds the 75 on hand in wh-online"),
        ([_transfer(5, dest="wh-online")], StockError, "same source and destination"),
        ([_transfer(5, dest="wh-moon")], StockError, "not stocked in warehouse 'wh-moon'"),
        (
            [{"kind": "discontinue", "payload": {}, "references": []}],
            ValueError,
            "action #1 \\('discontinue'\\) is not a valid action",
        ),
        ([_transfer(0)], ValueError, "is not a valid action"),
    ],
)
def test_a_refused_action_fails_the_plan_and_nothing_is_written(
    stock: StockReader,
    platform: PlanningPlatform,
    actions: list[dict[str, Any]],
    error: type[Exception],
    message: str,
) -> None:
    items = stock.stockout_risks("online", 7)
    with pytest.raises(error, match=message):
        make_dispatcher(platform, stock)([_reorder(), *actions], _ctx(items))
    assert platform.purchase_orders() == [] and platform.transfers() == []


def test_a_reorder_without_its_resolved_risk_set_is_refused(
    stock: StockReader, platform: PlanningPlatform
) -> None:
    with pytest.raises(ValueError, match="needs a resolved StockoutRiskSet"):
        make_dispatcher(platform, stock)([_reorder()], {"resolved_refs": {}})


def test_the_platform_keeps_orders_across_reopens(tmp_path: Path) -> None:
    first = PlanningPlatform(tmp_path / "planning.db")
    first.place_order("sku-101", "sup-northwind", "wh-online", 48, "r")
    first.close()
    second = PlanningPlatform(tmp_path / "planning.db")
    try:
        assert [o["units"] for o in second.purchase_orders()] == [48]
    finally:
        second.close()
