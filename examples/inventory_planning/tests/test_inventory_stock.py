"""The generated database and the read-only stock arithmetic over it."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from inventory_planning.seed_db import seed_database
from inventory_planning.stock import StockError, StockReader, order_quantity


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stock") / "inventory.db"
    seed_database(path)
    return path


def _dump(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return "\n".join(db.iterdump())
    finally:
        db.close()


def test_seeding_is_deterministic_and_replaces_an_earlier_database(tmp_path: Path) -> None:
    first = tmp_path / "a.db"
    counts = seed_database(first)
    assert counts == {
        "dim_suppliers": 3,
        "dim_products": 12,
        "dim_warehouses": 2,
        "dim_channels": 2,
        "fact_stock": 24,
        "fact_daily_demand": 12 * 2 * 28,
    }
    digest = hashlib.sha256(_dump(first).encode()).hexdigest()
    assert seed_database(first) == counts
    assert hashlib.sha256(_dump(first).encode()).hexdigest() == digest


def test_online_risks_are_the_short_products_and_stock_on_order_counts(target: Path) -> None:
    risks = StockReader(target).stockout_risks("online", 7)
    assert [r["product_id"] for r in risks] == ["sku-201", "sku-101", "sku-304"]
    assert [r["days_of_cover"] for r in risks] == sorted(r["days_of_cover"] for r in risks)
    assert all(r["warehouse_id"] == "wh-online" and r["days_of_cover"] < 7 for r in risks)
    # sku-103 holds 5 days on the shelf online but has 24 units on order
    assert "sku-103" in {r["product_id"] for r in StockReader(target).stockout_risks("online", 9)}
    assert "sku-103" not in {r["product_id"] for r in risks}


def test_days_of_cover_matches_a_direct_computation(target: Path) -> None:
    (risk,) = [r for r in StockReader(target).stockout_risks("retail", 7)]
    db = sqlite3.connect(target)
    try:
        units = db.execute(
            "SELECT SUM(units) FROM fact_daily_demand "
            "WHERE product_id = ? AND channel_id = 'retail'",
            (risk["product_id"],),
        ).fetchone()[0]
        on_hand, on_order = db.execute(
            "SELECT on_hand, on_order FROM fact_stock WHERE product_id = ? "
            "AND warehouse_id = 'wh-retail'",
            (risk["product_id"],),
        ).fetchone()
    finally:
        db.close()
    assert risk["product_id"] == "sku-203"
    assert risk["days_of_cover"] == round((on_hand + on_order) / (units / 28), 1)


def test_order_quantity_reaches_the_target_and_rounds_to_the_supplier_minimum() -> None:
    item = {"daily_units": 6.2, "on_hand": 18, "on_order": 6, "min_order_units": 12}
    # 21 days need 130.2 units; 24 are covered; 106.2 short -> 9 lots of 12
    assert order_quantity(item, 21) == 108
    assert order_quantity(item, 3) == 0
    assert order_quantity({**item, "min_order_units": 0}, 21) == 107


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.stockout_risks("wholesale", 7), "unknown channel 'wholesale'"),
        (lambda s: s.stockout_risks("online", 0), "max_days_of_cover must be positive"),
        (lambda s: s.on_hand("sku-999", "wh-online"), "sku-999 is not stocked"),
    ],
)
def test_bad_stock_questions_name_what_is_wrong(target: Path, call, message: str) -> None:
    with pytest.raises(StockError, match=message):
        call(StockReader(target))


def test_a_missing_database_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(StockError, match=r"run 'python -m inventory_planning\.seed_db' first"):
        StockReader(tmp_path / "nope.db")


def test_the_reader_cannot_write(target: Path) -> None:
    reader = StockReader(target)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader._query("DELETE FROM fact_stock")
