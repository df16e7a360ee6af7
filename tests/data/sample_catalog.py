"""A small shop catalog (tables, columns, a foreign key, enums, a metric, knowledge, a document)
and the matching SQLite target database, shared by the data tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flowai_harness.data.catalog.entries import generated_id

DB = "shop"


def table_id(table: str, schema: str = "main") -> str:
    """The generated id of a table of the sample database."""
    return generated_id("table", DB, schema, table)


def column_id(table: str, column: str, schema: str = "main") -> str:
    """The generated id of a column of the sample database."""
    return generated_id("column", DB, schema, table, column)


def _table(
    name: str,
    description: str,
    *,
    columns: list[str],
    tags: list[str] | None = None,
    preferred: bool = False,
) -> dict[str, Any]:
    return {
        "id": table_id(name),
        "itemType": "table",
        "name": name,
        "qualified_name": f"main.{name}",
        "content": description,
        "tags": ["[TYPE:table]", "[SCHEMA:main]", f"[TABLE:{name}]", *(tags or [])],
        "related": [
            {"target_id": column_id(name, c), "relationType": "has_column", "description": None}
            for c in columns
        ],
        "metadata": {
            "databaseId": DB,
            "schemaName": "main",
            "tableName": name,
            "rowCount": 4,
            "columnCount": len(columns),
            "preferredQuerySurface": preferred,
        },
    }


def _column(
    table: str,
    name: str,
    data_type: str,
    description: str,
    *,
    position: int,
    semantic: str | None = None,
    pk: bool = False,
    low_cardinality: bool = False,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "databaseId": DB,
        "schemaName": "main",
        "tableName": table,
        "columnName": name,
        "dataType": data_type,
        "nullable": not pk,
        "primaryKey": pk,
        "ordinalPosition": position,
        "lowCardinalityEnum": low_cardinality,
    }
    if semantic:
        metadata["semanticType"] = semantic
    return {
        "id": column_id(table, name),
        "itemType": "column",
        "name": name,
        "qualified_name": f"main.{table}.{name}",
        "content": description,
        "tags": ["[TYPE:column]", f"[TABLE:{table}]", f"[COLUMN:{name}]", *(tags or [])],
        "related": [
            {"target_id": table_id(table), "relationType": "belongs_to", "description": None}
        ],
        "metadata": metadata,
    }


def sample_entries() -> list[dict[str, Any]]:
    """Entries of the shop catalog, in wire shape."""
    entries = [
        _table(
            "customers",
            "Registered shop customers with their home region.",
            columns=["customer_id", "name", "region"],
            tags=["pii"],
        ),
        _table(
            "orders",
            "Customer orders with status and total amount in EUR.",
            columns=["order_id", "customer_id", "status", "total"],
            preferred=True,
        ),
        _table(
            "products",
            "Catalog of products sold in the shop.",
            columns=["product_id", "product_name", "price"],
        ),
        _column("customers", "customer_id", "INTEGER", "Customer identifier.", position=1, pk=True),
        _column(
            "customers",
            "name",
            "TEXT",
            "Full name of the customer.",
            position=2,
            semantic="person_name",
            tags=["pii"],
        ),
        _column(
            "customers",
            "region",
            "TEXT",
            "Sales region of the customer.",
            position=3,
            low_cardinality=True,
        ),
        _column("orders", "order_id", "INTEGER", "Order identifier.", position=1, pk=True),
        _column("orders", "customer_id", "INTEGER", "Customer who placed the order.", position=2),
        _column(
            "orders",
            "status",
            "TEXT",
            "Fulfilment status of the order.",
            position=3,
            low_cardinality=True,
        ),
        _column(
            "orders", "total", "REAL", "Order total amount in EUR.", position=4, semantic="currency"
        ),
        _column("products", "product_id", "TEXT", "Product identifier.", position=1, pk=True),
        _column("products", "product_name", "TEXT", "Display name of the product.", position=2),
        _column("products", "price", "REAL", "Unit price in EUR.", position=3, semantic="currency"),
        {
            "id": "relationship:orders_customer",
            "itemType": "relationship",
            "name": "orders.customer_id -> customers.customer_id",
            "qualified_name": None,
            "content": "Each order belongs to one customer.",
            "tags": ["[TYPE:relationship]"],
            "related": [
                {
                    "target_id": table_id("orders"),
                    "relationType": "relationship_source_table",
                    "description": None,
                },
                {
                    "target_id": table_id("customers"),
                    "relationType": "relationship_target_table",
                    "description": None,
                },
            ],
            "metadata": {
                "databaseId": DB,
                "sourceTableId": table_id("orders"),
                "targetTableId": table_id("customers"),
                "sourceSchema": "main",
                "sourceTable": "orders",
                "sourceColumn": "customer_id",
                "targetSchema": "main",
                "targetTable": "customers",
                "targetColumn": "customer_id",
                "sourceCardinality": "many",
                "targetCardinality": "one",
                "relationshipKind": "foreign_key",
                "confidence": 1.0,
            },
        },
        {
            "id": "enum:orders.status.shipped",
            "itemType": "enum",
            "name": "shipped",
            "qualified_name": "main.orders.status.shipped",
            "content": "Order left the warehouse.",
            "tags": ["[TYPE:enum]"],
            "related": [
                {
                    "target_id": column_id("orders", "status"),
                    "relationType": "enum_value_of",
                    "description": None,
                }
            ],
            "metadata": {
                "databaseId": DB,
                "schemaName": "main",
                "tableName": "orders",
                "columnName": "status",
                "columnId": column_id("orders", "status"),
                "value": "shipped",
                "normalizedValue": "shipped",
                "displayValue": "Shipped",
                "synonyms": ["dispatched", "sent"],
            },
        },
        {
            "id": "metric:revenue",
            "itemType": "metric",
            "name": "revenue",
            "qualified_name": None,
            "content": "Total revenue: sum of order totals.",
            "tags": ["finance"],
            "related": [
                {
                    "target_id": table_id("orders"),
                    "relationType": "metric_uses",
                    "description": "sums totals",
                }
            ],
            "metadata": {
                "formula": "SUM(orders.total)",
                "sourceTables": ["orders"],
                "synonyms": ["turnover", "sales"],
            },
        },
        {
            "id": "knowledge:refund-rule",
            "itemType": "knowledge",
            "name": "refund window",
            "qualified_name": None,
            "content": "Short refund rule.",
            "tags": ["[KNOWLEDGE_TYPE:business_rule]"],
            "related": [
                {
                    "target_id": table_id("orders"),
                    "relationType": "knowledge_applies_to",
                    "description": None,
                },
                {
                    "target_id": "document:policy",
                    "relationType": "extracted_from",
                    "description": None,
                },
            ],
            "metadata": {"knowledgeType": "business_rule", "scopeTables": ["orders"]},
        },
        {
            "id": "document:policy",
            "itemType": "document",
            "name": "refund-policy.md",
            "qualified_name": None,
            "content": "",
            "tags": [],
            "related": [],
            "metadata": {
                "sourceDocumentId": "doc-policy",
                "contentAvailable": True,
                "contentSource": "kv",
                "extractionStatus": "processed",
            },
        },
        {
            "id": "special:config",
            "itemType": "special",
            "name": "orders",
            "qualified_name": "main.orders.special",
            "content": "reserved",
            "tags": [],
            "related": [],
            "metadata": {},
        },
    ]
    return entries


def create_target_database(path: Path) -> Path:
    """Create the shop's SQLite target database at ``path``."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, region TEXT,
                                secret_score REAL);
        CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER
                             REFERENCES customers(customer_id), status TEXT, total REAL);
        CREATE TABLE products (product_id TEXT PRIMARY KEY, product_name TEXT, price REAL);
        INSERT INTO customers VALUES (1, 'Ada', 'north', 0.1), (2, 'Grace', 'south', 0.2),
                                     (3, 'Linus', 'north', 0.3);
        INSERT INTO orders VALUES (10, 1, 'shipped', 12.5), (11, 1, 'open', 3.0),
                                  (12, 2, 'shipped', 99.0), (13, 3, 'cancelled', 7.25);
        INSERT INTO products VALUES ('p-001', 'Sparkling Water 12pk', 6.49),
                                    ('p-002', 'Coffee Beans', 12.0);
        """
    )
    conn.commit()
    conn.close()
    return path
