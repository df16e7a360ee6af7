"""Read-only stock arithmetic over the inventory database.

Days of cover = (on hand + on order) / average daily units sold over the demand window, per
channel, where each channel ships from its own warehouse (``dim_channels.warehouse_id``). The
database is opened read-only for every call, so nothing here can change it.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from pathlib import Path
from typing import Any

__all__ = ["StockError", "StockReader", "order_quantity"]

_RISKS_SQL = """
WITH demand_window AS (SELECT COUNT(DISTINCT day) AS days FROM fact_daily_demand),
demand AS (
    SELECT product_id, channel_id,
           SUM(units) * 1.0 / (SELECT days FROM demand_window) AS daily_units
    FROM fact_daily_demand GROUP BY product_id, channel_id
)
SELECT p.product_id, p.name, p.supplier_id, p.lead_time_days, s.min_order_units,
       c.warehouse_id, k.on_hand, k.on_order, d.daily_units,
       (k.on_hand + k.on_order) / d.daily_units AS days_of_cover
FROM dim_channels c
JOIN demand d ON d.channel_id = c.channel_id
JOIN dim_products p ON p.product_id = d.product_id
JOIN dim_suppliers s ON s.supplier_id = p.supplier_id
JOIN fact_stock k ON k.product_id = p.product_id AND k.warehouse_id = c.warehouse_id
WHERE c.channel_id = ? AND d.daily_units > 0
  AND (k.on_hand + k.on_order) / d.daily_units < ?
ORDER BY days_of_cover, p.product_id
"""


class StockError(ValueError):
    """A stock question or move the inventory data cannot support (unknown channel, ...)."""


class StockReader:
    """Answers stock questions from the inventory database at ``path`` (read-only).

    Raises:
        StockError: on construction, when ``path`` does not exist.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise StockError(
                f"inventory database {self.path} does not exist; run "
                "'python -m inventory_planning.seed_db' first"
            )

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        uri = f"{self.path.as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql, params)]

    def channels(self) -> dict[str, str]:
        """Channel id -> the warehouse it ships from."""
        rows = self._query("SELECT channel_id, warehouse_id FROM dim_channels ORDER BY 1")
        return {row["channel_id"]: row["warehouse_id"] for row in rows}

    def stockout_risks(self, channel: str, max_days_of_cover: float) -> list[dict[str, Any]]:
        """Products of ``channel`` with fewer than ``max_days_of_cover`` days of cover.

        Raises:
            StockError: unknown channel, or a threshold that is not positive.
        """
        known = self.channels()
        if channel not in known:
            raise StockError(f"unknown channel {channel!r}; known channels: {sorted(known)}")
        if not max_days_of_cover > 0:
            raise StockError(f"max_days_of_cover must be positive, got {max_days_of_cover}")
        rows = self._query(_RISKS_SQL, (channel, max_days_of_cover))
        for row in rows:
            row["daily_units"] = round(row["daily_units"], 2)
            row["days_of_cover"] = round(row["days_of_cover"], 1)
        return rows

    def on_hand(self, product_id: str, warehouse_id: str) -> int:
        """Units of ``product_id`` on hand in ``warehouse_id``.

        Raises:
            StockError: the product is not stocked in that warehouse.
        """
        rows = self._query(
            "SELECT on_hand FROM fact_stock WHERE product_id = ? AND warehouse_id = ?",
            (product_id, warehouse_id),
        )
        if not rows:
            raise StockError(f"{product_id} is not stocked in warehouse {warehouse_id!r}")
        return int(rows[0]["on_hand"])


def order_quantity(item: dict[str, Any], target_days_of_cover: int) -> int:
    """Units to order so ``item`` reaches the target cover, rounded up to the supplier minimum.

    ``item`` is one entry of :meth:`StockReader.stockout_risks`. Returns 0 when the product
    already has enough cover.
    """
    shortfall = (
        target_days_of_cover * float(item["daily_units"])
        - int(item["on_hand"])
        - int(item["on_order"])
    )
    if shortfall <= 0:
        return 0
    minimum = max(1, int(item["min_order_units"]))
    return math.ceil(shortfall / minimum) * minimum
