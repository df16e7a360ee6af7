"""The commerce service: reads, guarded writes, and all-or-nothing transactions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from pricing_promotions.commerce import CommerceError, CommerceService


@pytest.fixture
def commerce() -> Iterator[CommerceService]:
    with CommerceService(today=lambda: date(2025, 3, 3)) as service:
        yield service


def test_seeded_store_lists_products_by_category_with_margins(commerce: CommerceService) -> None:
    snacks = commerce.products("snacks")
    assert [p["productId"] for p in snacks] == ["p-003", "p-004", "p-005"]
    assert snacks[0]["marginPercent"] == round((3.29 - 1.40) / 3.29 * 100, 1)
    assert commerce.categories() == ["beverages", "breakfast", "snacks"]


def test_sales_are_ranked_by_revenue_at_current_price(commerce: CommerceService) -> None:
    sales = commerce.sales_by_product(4)
    assert sales[0]["productId"] == "p-001"
    assert sales[0]["units"] == 410 + 385 + 402 + 431
    assert sales[0]["revenue"] == round(sales[0]["units"] * 5.99, 2)
    assert [s["revenue"] for s in sales] == sorted((s["revenue"] for s in sales), reverse=True)
    last_week = {s["productId"]: s["units"] for s in commerce.sales_by_product(1)}
    assert last_week["p-001"] == 431


def test_set_price_records_the_change(commerce: CommerceService) -> None:
    product = commerce.set_price("p-001", 6.49, "match competitor")
    assert product["price"] == 6.49
    assert commerce.price_changes() == [
        {
            "productId": "p-001",
            "oldPrice": 5.99,
            "newPrice": 6.49,
            "reason": "match competitor",
            "changedOn": "2025-03-03",
        }
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.set_price("p-003", 1.40, "x"), "not above its unit cost 1.40"),
        (lambda c: c.set_price("p-999", 2.0, "x"), "unknown product 'p-999'"),
        (lambda c: c.products("toys"), "unknown category 'toys'"),
        (lambda c: c.launch_promotion("Big", ["p-004"], 95, 7), "discount_percent must be 1-90"),
        (lambda c: c.launch_promotion("Deep", ["p-004"], 70, 7), "puts p-004 at 0.84"),
        (lambda c: c.launch_promotion("Empty", [], 10, 7), "names no products"),
        (lambda c: c.end_promotion("promo-7"), "unknown promotion 'promo-7'"),
        (lambda c: c.sales_by_product(9), "weeks must be between 1 and 4"),
    ],
)
def test_refused_changes_name_what_is_wrong(
    commerce: CommerceService, call: object, message: str
) -> None:
    with pytest.raises(CommerceError, match=message.replace("(", r"\(")):
        call(commerce)  # type: ignore[operator]
    assert commerce.price_changes() == [] and commerce.promotions() == []


def test_promotion_lifecycle_runs_from_today(commerce: CommerceService) -> None:
    promo = commerce.launch_promotion("Snacks week", ["p-004", "p-003", "p-003"], 15, 7)
    assert promo == {
        "promotionId": "promo-1",
        "name": "Snacks week",
        "discountPercent": 15,
        "productIds": ["p-003", "p-004"],
        "startsOn": "2025-03-03",
        "endsOn": "2025-03-10",
        "status": "active",
    }
    ended = commerce.end_promotion("promo-1")
    assert ended["status"] == "ended" and ended["endsOn"] == "2025-03-03"
    with pytest.raises(CommerceError, match="already ended"):
        commerce.end_promotion("promo-1")


def test_a_failing_transaction_keeps_nothing(commerce: CommerceService) -> None:
    with pytest.raises(CommerceError), commerce.transaction():
        commerce.set_price("p-001", 6.49, "first change is fine")
        commerce.set_price("p-002", 1.00, "second is under cost")
    assert commerce.product("p-001")["price"] == 5.99
    assert commerce.price_changes() == []


def test_a_file_store_keeps_its_state_across_reopens(tmp_path) -> None:
    path = tmp_path / "nested" / "commerce.db"
    first = CommerceService(path)
    first.set_price("p-006", 5.99, "new packaging")
    first.close()
    second = CommerceService(path)
    try:
        assert second.product("p-006")["price"] == 5.99
        assert len(second.products()) == 6  # not seeded twice
    finally:
        second.close()
