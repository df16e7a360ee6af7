"""A small commerce back office in SQLite: the system the approved pricing plans write to.

It stands in for a real commerce platform. Agents never write here directly: they read it
through tools, and only the action dispatcher (after a plan is approved) changes prices and
promotions, inside one transaction per plan so a plan applies completely or not at all.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

__all__ = ["CommerceError", "CommerceService"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    product_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price REAL NOT NULL,
    unit_cost REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS weekly_sales (
    product_id TEXT NOT NULL REFERENCES products(product_id),
    week INTEGER NOT NULL,
    units INTEGER NOT NULL,
    PRIMARY KEY (product_id, week)
);
CREATE TABLE IF NOT EXISTS price_changes (
    change_id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id TEXT NOT NULL REFERENCES products(product_id),
    old_price REAL NOT NULL,
    new_price REAL NOT NULL,
    reason TEXT NOT NULL,
    changed_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS promotions (
    promotion_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    discount_percent INTEGER NOT NULL,
    product_ids TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    status TEXT NOT NULL
);
"""

# (id, name, category, price, unit cost, units sold in each of the last four weeks)
_CATALOG: tuple[tuple[str, str, str, float, float, tuple[int, ...]], ...] = (
    ("p-001", "Sparkling Water 12pk", "beverages", 5.99, 3.10, (410, 385, 402, 431)),
    ("p-002", "Cold Brew Coffee 4pk", "beverages", 8.49, 4.80, (120, 131, 118, 127)),
    ("p-003", "Sea Salt Crisps", "snacks", 3.29, 1.40, (260, 244, 251, 270)),
    ("p-004", "Dark Chocolate Bar", "snacks", 2.79, 1.10, (330, 318, 342, 336)),
    ("p-005", "Trail Mix 500g", "snacks", 6.99, 3.90, (95, 102, 88, 91)),
    ("p-006", "Oat Granola", "breakfast", 5.49, 2.60, (150, 162, 149, 158)),
)


class CommerceError(ValueError):
    """A change the commerce service refuses (unknown product, price under cost, ...)."""


class CommerceService:
    """Products, weekly sales, price changes and promotions, kept in one SQLite database.

    Safe to share between threads: every operation holds one lock, and the connection is
    opened without the same-thread check for that reason.

    Args:
        path: Database file, or ``":memory:"`` (the default) for a throwaway store.
        seed: Fill an empty database with the demo catalog and four weeks of sales.
        today: Clock for price-change and promotion dates (injectable for tests).
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        seed: bool = True,
        today: Callable[[], date] = date.today,
    ) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._today = today
        self._lock = threading.RLock()
        self._in_transaction = False
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(_SCHEMA)
        if seed and not self._db.execute("SELECT 1 FROM products LIMIT 1").fetchone():
            self._seed()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> CommerceService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[CommerceService]:
        """Group several changes: all are kept, or none if the block raises."""
        with self._lock:
            if self._in_transaction:
                yield self
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._in_transaction = False

    # ------------------------------------------------------------------ reads

    def categories(self) -> list[str]:
        """Every product category, sorted."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT category FROM products ORDER BY category")
            return [row["category"] for row in rows]

    def products(self, category: str | None = None) -> list[dict[str, Any]]:
        """Products (optionally of one category) with price, unit cost and margin.

        Raises:
            CommerceError: ``category`` is not a known category.
        """
        if category is not None:
            self._check_category(category)
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM products WHERE ?1 IS NULL OR category = ?1 ORDER BY product_id",
                (category,),
            ).fetchall()
        return [_product_dict(row) for row in rows]

    def product(self, product_id: str) -> dict[str, Any]:
        """One product.

        Raises:
            CommerceError: no product has this id.
        """
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM products WHERE product_id = ?", (product_id,)
            ).fetchone()
        if row is None:
            raise CommerceError(
                f"unknown product {product_id!r}; known products: {self._product_ids()}"
            )
        return _product_dict(row)

    def sales_by_product(self, weeks: int = 4) -> list[dict[str, Any]]:
        """Units and revenue (at today's price) per product over the last ``weeks``, best first.

        Raises:
            CommerceError: ``weeks`` is not between 1 and 4.
        """
        if not 1 <= weeks <= 4:
            raise CommerceError(f"weeks must be between 1 and 4 (the history kept), got {weeks}")
        with self._lock:
            rows = self._db.execute(
                "SELECT p.product_id, p.name, p.category, p.price, SUM(s.units) AS units "
                "FROM products p JOIN weekly_sales s ON s.product_id = p.product_id "
                "WHERE s.week > (SELECT MAX(week) FROM weekly_sales) - ? "
                "GROUP BY p.product_id ORDER BY p.product_id",
                (weeks,),
            ).fetchall()
        sales = [
            {
                "productId": row["product_id"],
                "name": row["name"],
                "category": row["category"],
                "units": row["units"],
                "revenue": round(row["units"] * row["price"], 2),
            }
            for row in rows
        ]
        return sorted(sales, key=lambda item: (-item["revenue"], item["productId"]))

    def promotions(self, status: str | None = None) -> list[dict[str, Any]]:
        """Promotions, optionally only those with ``status`` (``active`` or ``ended``)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM promotions WHERE ?1 IS NULL OR status = ?1 ORDER BY promotion_id",
                (status,),
            ).fetchall()
        return [_promotion_dict(row) for row in rows]

    def price_changes(self) -> list[dict[str, Any]]:
        """Every price change applied so far, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM price_changes ORDER BY change_id").fetchall()
        return [
            {
                "productId": row["product_id"],
                "oldPrice": row["old_price"],
                "newPrice": row["new_price"],
                "reason": row["reason"],
                "changedOn": row["changed_on"],
            }
            for row in rows
        ]

    def snapshot(self) -> dict[str, Any]:
        """Everything the store holds now: products, price changes and promotions."""
        return {
            "products": self.products(),
            "priceChanges": self.price_changes(),
            "promotions": self.promotions(),
        }

    # ------------------------------------------------------------------ writes

    def set_price(self, product_id: str, new_price: float, reason: str) -> dict[str, Any]:
        """Change a product's price and record the change.

        Raises:
            CommerceError: unknown product, or a price that is not above the unit cost.
        """
        with self.transaction():
            product = self.product(product_id)
            if new_price <= product["unitCost"]:
                raise CommerceError(
                    f"new price {new_price:.2f} for {product_id} is not above its unit cost "
                    f"{product['unitCost']:.2f}; pricing below cost is not allowed"
                )
            self._db.execute(
                "UPDATE products SET price = ? WHERE product_id = ?", (new_price, product_id)
            )
            self._db.execute(
                "INSERT INTO price_changes (product_id, old_price, new_price, reason, changed_on) "
                "VALUES (?, ?, ?, ?, ?)",
                (product_id, product["price"], new_price, reason, self._today().isoformat()),
            )
        return self.product(product_id)

    def launch_promotion(
        self, name: str, product_ids: list[str], discount_percent: int, duration_days: int
    ) -> dict[str, Any]:
        """Start a promotion today on ``product_ids``; returns the stored promotion.

        Raises:
            CommerceError: no or unknown products, a discount outside 1-90 %, a duration
                outside 1-90 days, or a discounted price that would fall to the unit cost.
        """
        if not product_ids:
            raise CommerceError(f"promotion {name!r} names no products")
        if not 1 <= discount_percent <= 90:
            raise CommerceError(f"discount_percent must be 1-90, got {discount_percent}")
        if not 1 <= duration_days <= 90:
            raise CommerceError(f"duration_days must be 1-90, got {duration_days}")
        with self.transaction():
            for product_id in product_ids:
                product = self.product(product_id)
                promoted = product["price"] * (100 - discount_percent) / 100
                if promoted <= product["unitCost"]:
                    raise CommerceError(
                        f"a {discount_percent}% discount puts {product_id} at {promoted:.2f}, "
                        f"not above its unit cost {product['unitCost']:.2f}"
                    )
            count = self._db.execute("SELECT COUNT(*) FROM promotions").fetchone()[0]
            promotion_id = f"promo-{count + 1}"
            starts = self._today()
            self._db.execute(
                "INSERT INTO promotions VALUES (?, ?, ?, ?, ?, ?, 'active')",
                (
                    promotion_id,
                    name,
                    discount_percent,
                    json.dumps(sorted(set(product_ids))),
                    starts.isoformat(),
                    (starts + timedelta(days=duration_days)).isoformat(),
                ),
            )
        return self._promotion(promotion_id)

    def end_promotion(self, promotion_id: str) -> dict[str, Any]:
        """End an active promotion today.

        Raises:
            CommerceError: unknown promotion, or one that has already ended.
        """
        with self.transaction():
            promotion = self._promotion(promotion_id)
            if promotion["status"] != "active":
                raise CommerceError(f"promotion {promotion_id} has already ended")
            self._db.execute(
                "UPDATE promotions SET status = 'ended', ends_on = ? WHERE promotion_id = ?",
                (self._today().isoformat(), promotion_id),
            )
        return self._promotion(promotion_id)

    # ------------------------------------------------------------------ internals

    def _promotion(self, promotion_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM promotions WHERE promotion_id = ?", (promotion_id,)
            ).fetchone()
        if row is None:
            raise CommerceError(f"unknown promotion {promotion_id!r}")
        return _promotion_dict(row)

    def _check_category(self, category: str) -> None:
        known = self.categories()
        if category not in known:
            raise CommerceError(f"unknown category {category!r}; known categories: {known}")

    def _product_ids(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT product_id FROM products ORDER BY product_id")
            return [row["product_id"] for row in rows]

    def _seed(self) -> None:
        with self.transaction():
            for product_id, name, category, price, cost, weekly in _CATALOG:
                self._db.execute(
                    "INSERT INTO products VALUES (?, ?, ?, ?, ?)",
                    (product_id, name, category, price, cost),
                )
                self._db.executemany(
                    "INSERT INTO weekly_sales VALUES (?, ?, ?)",
                    [(product_id, week, units) for week, units in enumerate(weekly, start=1)],
                )


def _product_dict(row: sqlite3.Row) -> dict[str, Any]:
    price, cost = row["price"], row["unit_cost"]
    return {
        "productId": row["product_id"],
        "name": row["name"],
        "category": row["category"],
        "price": price,
        "unitCost": cost,
        "marginPercent": round((price - cost) / price * 100, 1),
    }


def _promotion_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "promotionId": row["promotion_id"],
        "name": row["name"],
        "discountPercent": row["discount_percent"],
        "productIds": json.loads(row["product_ids"]),
        "startsOn": row["starts_on"],
        "endsOn": row["ends_on"],
        "status": row["status"],
    }
