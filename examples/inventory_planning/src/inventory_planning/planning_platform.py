"""The planning platform: where approved plans land as purchase orders and transfers.

It stands in for an ERP. It is a separate SQLite database from the inventory data agents query
(that one stays read-only); only the action dispatcher writes here, one transaction per plan.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["PlanningPlatform"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS purchase_orders (
    po_id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id TEXT NOT NULL,
    supplier_id TEXT NOT NULL,
    warehouse_id TEXT NOT NULL,
    units INTEGER NOT NULL CHECK (units > 0),
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS transfers (
    transfer_id INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id TEXT NOT NULL,
    from_warehouse_id TEXT NOT NULL,
    to_warehouse_id TEXT NOT NULL,
    units INTEGER NOT NULL CHECK (units > 0),
    reason TEXT NOT NULL
);
"""


class PlanningPlatform:
    """Purchase orders and stock transfers in one SQLite database (thread-safe).

    Args:
        path: Database file, or ``":memory:"`` for a throwaway platform.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._lock = threading.RLock()
        self._in_transaction = False
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> PlanningPlatform:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[PlanningPlatform]:
        """Group writes: all are kept, or none if the block raises."""
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

    def place_order(
        self, product_id: str, supplier_id: str, warehouse_id: str, units: int, reason: str
    ) -> dict[str, Any]:
        """Record a purchase order; returns it."""
        with self.transaction():
            cursor = self._db.execute(
                "INSERT INTO purchase_orders "
                "(product_id, supplier_id, warehouse_id, units, reason) VALUES (?, ?, ?, ?, ?)",
                (product_id, supplier_id, warehouse_id, units, reason),
            )
        return {"poId": f"po-{cursor.lastrowid}", "productId": product_id, "units": units}

    def book_transfer(
        self, product_id: str, from_warehouse_id: str, to_warehouse_id: str, units: int, reason: str
    ) -> dict[str, Any]:
        """Record a stock transfer; returns it."""
        with self.transaction():
            cursor = self._db.execute(
                "INSERT INTO transfers "
                "(product_id, from_warehouse_id, to_warehouse_id, units, reason) "
                "VALUES (?, ?, ?, ?, ?)",
                (product_id, from_warehouse_id, to_warehouse_id, units, reason),
            )
        return {"transferId": f"tr-{cursor.lastrowid}", "productId": product_id, "units": units}

    def purchase_orders(self) -> list[dict[str, Any]]:
        """Every purchase order, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM purchase_orders ORDER BY po_id").fetchall()
        return [dict(row) for row in rows]

    def transfers(self) -> list[dict[str, Any]]:
        """Every transfer, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM transfers ORDER BY transfer_id").fetchall()
        return [dict(row) for row in rows]
