"""Generate the inventory database: ``python -m inventory_planning.seed_db [--dir .inventory]``.

An outdoor-gear retailer with two sales channels (online, retail), each fulfilled from its own
warehouse: products, suppliers, stock per warehouse, and 28 days of daily demand per channel.
The numbers are generated from a fixed seed, so every run produces the same database; a few
products are deliberately short online so there is something to plan. Also writes the data
environment file the ``flowai-harness data ...`` commands read.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from inventory_planning.workdir import WorkDir

__all__ = ["DEMAND_DAYS", "LAST_DAY", "main", "seed_database"]

DEMAND_DAYS = 28
LAST_DAY = date(2025, 6, 30)

_SCHEMA = """
CREATE TABLE dim_suppliers (
    supplier_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    min_order_units INTEGER NOT NULL
);
CREATE TABLE dim_products (
    product_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    supplier_id TEXT NOT NULL REFERENCES dim_suppliers(supplier_id),
    unit_cost REAL NOT NULL,
    lead_time_days INTEGER NOT NULL
);
CREATE TABLE dim_warehouses (
    warehouse_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL
);
CREATE TABLE dim_channels (
    channel_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    warehouse_id TEXT NOT NULL REFERENCES dim_warehouses(warehouse_id)
);
CREATE TABLE fact_stock (
    product_id TEXT NOT NULL REFERENCES dim_products(product_id),
    warehouse_id TEXT NOT NULL REFERENCES dim_warehouses(warehouse_id),
    on_hand INTEGER NOT NULL,
    on_order INTEGER NOT NULL,
    PRIMARY KEY (product_id, warehouse_id)
);
CREATE TABLE fact_daily_demand (
    day TEXT NOT NULL,
    product_id TEXT NOT NULL REFERENCES dim_products(product_id),
    channel_id TEXT NOT NULL REFERENCES dim_channels(channel_id),
    units INTEGER NOT NULL,
    PRIMARY KEY (day, product_id, channel_id)
);
"""

_SUPPLIERS = [
    ("sup-northwind", "Northwind Footwear", 24),
    ("sup-ridge", "Ridge Apparel", 12),
    ("sup-basecamp", "Basecamp Gear", 6),
]
_WAREHOUSES = [
    ("wh-online", "Online fulfilment centre", "central"),
    ("wh-retail", "Retail distribution centre", "north"),
]
_CHANNELS = [("online", "Web shop", "wh-online"), ("retail", "Stores", "wh-retail")]

# (id, name, category, supplier, unit cost, lead time days,
#  online units/day, retail units/day, online days of cover, retail days of cover, on order)
_PRODUCTS = [
    ("sku-101", "Trail Runner Shoe", "footwear", "sup-northwind", 38.0, 21, 9, 6, 4, 18, 0),
    ("sku-102", "Hiking Boot", "footwear", "sup-northwind", 61.0, 28, 5, 4, 26, 20, 0),
    ("sku-103", "Camp Sandal", "footwear", "sup-northwind", 14.5, 21, 7, 5, 5, 12, 24),
    ("sku-104", "Wool Sock 3-Pack", "footwear", "sup-northwind", 6.2, 14, 14, 11, 19, 25, 0),
    ("sku-201", "Rain Shell Jacket", "outerwear", "sup-ridge", 44.0, 30, 6, 3, 3, 16, 0),
    ("sku-202", "Insulated Vest", "outerwear", "sup-ridge", 29.0, 30, 3, 2, 31, 28, 0),
    ("sku-203", "Fleece Pullover", "outerwear", "sup-ridge", 21.0, 25, 5, 4, 15, 6, 0),
    ("sku-204", "Packable Down Jacket", "outerwear", "sup-ridge", 57.0, 35, 4, 2, 22, 30, 12),
    ("sku-301", "Two-Person Tent", "camping", "sup-basecamp", 83.0, 20, 2, 1, 35, 40, 0),
    ("sku-302", "Sleeping Bag 0C", "camping", "sup-basecamp", 47.0, 18, 3, 2, 12, 24, 0),
    ("sku-303", "Camp Stove", "camping", "sup-basecamp", 26.0, 16, 2, 2, 28, 21, 0),
    ("sku-304", "Rechargeable Headlamp", "camping", "sup-basecamp", 12.0, 12, 8, 6, 6, 20, 0),
]


def seed_database(path: Path, *, seed: int = 2025) -> dict[str, int]:
    """Create the inventory database at ``path`` (replacing any earlier one).

    Returns:
        Row counts per table.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    rng = random.Random(seed)
    days = [LAST_DAY - timedelta(days=offset) for offset in range(DEMAND_DAYS - 1, -1, -1)]
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO dim_suppliers VALUES (?, ?, ?)", _SUPPLIERS)
        db.executemany("INSERT INTO dim_warehouses VALUES (?, ?, ?)", _WAREHOUSES)
        db.executemany("INSERT INTO dim_channels VALUES (?, ?, ?)", _CHANNELS)
        for pid, name, category, supplier, cost, lead, online, retail, *cover in _PRODUCTS:
            online_cover, retail_cover, on_order = cover
            db.execute(
                "INSERT INTO dim_products VALUES (?, ?, ?, ?, ?, ?)",
                (pid, name, category, supplier, cost, lead),
            )
            db.executemany(
                "INSERT INTO fact_stock VALUES (?, ?, ?, ?)",
                [
                    (pid, "wh-online", online * online_cover, on_order),
                    (pid, "wh-retail", retail * retail_cover, 0),
                ],
            )
            db.executemany(
                "INSERT INTO fact_daily_demand VALUES (?, ?, ?, ?)",
                [
                    (day.isoformat(), pid, channel, _noisy(rng, rate))
                    for day in days
                    for channel, rate in (("online", online), ("retail", retail))
                ],
            )
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}


def _noisy(rng: random.Random, rate: int) -> int:
    """A day's units around ``rate``: +-30 %, never negative."""
    return max(0, round(rate * rng.uniform(0.7, 1.3)))


def main(argv: list[str] | None = None) -> int:
    """Entry point: seed the database and write the data environment file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dir", default=None, help="working directory (default: .inventory)")
    args = parser.parse_args(argv)
    workdir = WorkDir.at(args.dir)
    counts = seed_database(workdir.target_db)
    env_file = workdir.write_environment_file()
    print(f"target database: {workdir.target_db}")
    for table, count in counts.items():
        print(f"  {table}: {count} rows")
    print(f"data environment: {env_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
