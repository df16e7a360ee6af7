"""Catalog search at scale: the Tantivy index against a SQLite FTS5 baseline, same entries.

Generates N catalog entries (default 100,000: tables, columns, enum values, relationships,
metrics, knowledge, documents; fixed seed), then for each engine:

* **build**: wall time to index every entry (Tantivy: projection + ``CatalogSearchIndex.rebuild``
  through the real rebuild path; FTS5: the same projected texts inserted into an on-disk FTS5
  table with the ``porter unicode61`` tokenizer, then committed);
* **query latency**: p50 / p99 over a fixed set of 1-3 word queries, top 30 candidates with
  the same field weights (name 4, qualified name 4, synonyms 3.5, description 1.5, tags 1,
  context 0.5). Tantivy is timed through ``CatalogSearchIndex.search`` (health check, query
  compilation, scope clauses and id retrieval included); FTS5 through one ``MATCH`` query.

Extra Tantivy lines: the same search with facets (counted over the top 1,000 matches), and the
whole ``search_catalog`` tool (filters, hydration from an in-memory catalog, re-check,
rendering).

Target: Tantivy query p50 <= 2 ms.

Usage: ``python benchmarks/catalog_search.py [--entries N] [--queries Q] [--json] [--no-check]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowai_harness.data.catalog.entries import CatalogEntry, CatalogLink, generated_id
from flowai_harness.data.catalog.indexing import rebuild_index
from flowai_harness.data.catalog.memory import MemoryCatalog
from flowai_harness.data.catalog.projection import project_entry
from flowai_harness.data.catalog.search_index import CatalogSearchIndex, SearchQuery
from flowai_harness.data.catalog.store import CatalogScope
from flowai_harness.data.toolkit.search import search_catalog

TARGET_P50_MS = 2.0
SCOPE = CatalogScope("bench", "default")
WORDS = [
    "order",
    "customer",
    "product",
    "price",
    "revenue",
    "region",
    "store",
    "item",
    "stock",
    "shipment",
    "invoice",
    "payment",
    "account",
    "user",
    "session",
    "event",
    "supplier",
    "warehouse",
    "channel",
    "campaign",
    "discount",
    "return",
    "refund",
    "category",
    "brand",
    "margin",
    "forecast",
    "inventory",
    "delivery",
    "carrier",
    "contract",
    "employee",
    "department",
    "budget",
    "ledger",
    "tax",
    "currency",
    "country",
    "city",
    "segment",
    "loyalty",
    "subscription",
    "plan",
    "usage",
]
TYPES = ("INTEGER", "TEXT", "REAL", "DATE", "BOOLEAN", "NUMERIC")


def generate_entries(total: int, seed: int = 7) -> list[CatalogEntry]:
    """``total`` deterministic entries shaped like a profiled warehouse."""
    rng = random.Random(seed)
    entries: list[CatalogEntry] = []
    tables: list[tuple[str, str, str]] = []
    n_tables = max(10, total // 40)
    for t in range(n_tables):
        schema = f"{rng.choice(WORDS)}_{t % 20}"
        name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{t}"
        table_id = generated_id("table", "bench", schema, name)
        tables.append((table_id, schema, name))
        entries.append(
            CatalogEntry(
                id=table_id,
                item_type="table",
                name=name,
                qualified_name=f"{schema}.{name}",
                content=" ".join(rng.choices(WORDS, k=14)),
                tags=(f"[SCHEMA:{schema}]", rng.choice(("pii", "finance", "core", "ops"))),
                metadata={
                    "databaseId": "bench",
                    "schemaName": schema,
                    "tableName": name,
                    "rowCount": rng.randint(0, 10**7),
                },
            )
        )
    kinds = (
        ["column"] * 88
        + ["enum"] * 6
        + ["relationship", "metric", "knowledge", "document"]
        + ["relationship"] * 2
    )
    while len(entries) < total:
        kind = rng.choice(kinds)
        table_id, schema, table = rng.choice(tables)
        index = len(entries)
        if kind == "column":
            column = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{index}"
            entries.append(
                CatalogEntry(
                    id=generated_id("column", "bench", schema, table, column),
                    item_type="column",
                    name=column,
                    qualified_name=f"{schema}.{table}.{column}",
                    content=" ".join(rng.choices(WORDS, k=9)),
                    tags=(f"[TABLE:{table}]",),
                    related=(CatalogLink(table_id, "belongs_to"),),
                    metadata={
                        "databaseId": "bench",
                        "schemaName": schema,
                        "tableName": table,
                        "columnName": column,
                        "dataType": rng.choice(TYPES),
                        "nullable": rng.random() < 0.5,
                    },
                )
            )
        elif kind == "enum":
            value = f"{rng.choice(WORDS)}-{index % 50}"
            entries.append(
                CatalogEntry(
                    id=f"enum:{index}",
                    item_type="enum",
                    name=value,
                    qualified_name=None,
                    content=f"{value} value",
                    metadata={
                        "databaseId": "bench",
                        "schemaName": schema,
                        "tableName": table,
                        "columnName": "status",
                        "columnId": f"col:{index}",
                        "value": value,
                        "normalizedValue": value,
                        "synonyms": rng.choices(WORDS, k=2),
                    },
                )
            )
        elif kind == "relationship":
            other_id, other_schema, other = rng.choice(tables)
            entries.append(
                CatalogEntry(
                    id=f"relationship:{index}",
                    item_type="relationship",
                    name=f"{table}.{other}_id -> {other}.id",
                    qualified_name=None,
                    content=f"{table} references {other}",
                    metadata={
                        "databaseId": "bench",
                        "sourceTableId": table_id,
                        "targetTableId": other_id,
                        "sourceSchema": schema,
                        "sourceTable": table,
                        "sourceColumn": f"{other}_id",
                        "targetSchema": other_schema,
                        "targetTable": other,
                        "targetColumn": "id",
                        "sourceCardinality": "many",
                        "targetCardinality": "one",
                        "relationshipKind": "foreign_key",
                    },
                )
            )
        else:
            entries.append(
                CatalogEntry(
                    id=f"{kind}:{index}",
                    item_type=kind,
                    name=f"{rng.choice(WORDS)} {kind} {index}",
                    qualified_name=None,
                    content=" ".join(rng.choices(WORDS, k=20)),
                    metadata={"sourceDocumentId": f"doc-{index}"}
                    if kind == "document"
                    else {"synonyms": rng.choices(WORDS, k=2), "sourceTables": [table]},
                )
            )
    return entries[:total]


def make_queries(entries: list[CatalogEntry], count: int, seed: int = 11) -> list[str]:
    """1-3 word queries, plus some exact names and qualified names."""
    rng = random.Random(seed)
    queries: list[str] = []
    while len(queries) < count:
        roll = rng.random()
        if roll < 0.6:
            queries.append(" ".join(rng.sample(WORDS, rng.randint(1, 3))))
        elif roll < 0.8:
            queries.append(rng.choice(entries).name)
        else:
            qualified = rng.choice(entries).qualified_name
            queries.append(qualified or rng.choice(WORDS))
    return queries


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of samples, in the samples' unit."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_queries(run: Callable[[str], Any], queries: list[str], rounds: int) -> list[float]:
    """Milliseconds per query over ``rounds`` passes (one untimed warm-up pass first)."""
    for query in queries:
        run(query)
    samples: list[float] = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            run(query)
            samples.append((time.perf_counter() - started) * 1000.0)
    return samples


# ----------------------------------------------------------------------------- FTS5 baseline

_FTS_COLUMNS = (
    "name_text",
    "qualified_name_text",
    "synonyms_text",
    "description_text",
    "tags_text",
    "context_text",
)
_FTS_WEIGHTS = (4.0, 4.0, 3.5, 1.5, 1.0, 0.5)


def build_fts(path: Path, entries: list[CatalogEntry]) -> sqlite3.Connection:
    """An FTS5 table over the same projected texts (porter stemming, unicode61)."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE VIRTUAL TABLE catalog_fts USING fts5(entry_id UNINDEXED, "
        + ", ".join(_FTS_COLUMNS)
        + ", tokenize = 'porter unicode61')"
    )
    rows = []
    for entry in entries:
        texts = project_entry(entry).texts
        rows.append((entry.id, *(texts.get(c, "") for c in _FTS_COLUMNS)))
    conn.executemany(f"INSERT INTO catalog_fts VALUES ({', '.join('?' * 7)})", rows)
    conn.commit()
    return conn


def fts_search(conn: sqlite3.Connection, query: str) -> list[str]:
    """Top 30 ids by weighted BM25 for any of the query's tokens."""
    tokens = [t for t in "".join(c if c.isalnum() else " " for c in query).split() if t]
    if not tokens:
        return []
    match = " OR ".join(f'"{t}"' for t in tokens)
    weights = ", ".join(str(w) for w in _FTS_WEIGHTS)
    rows = conn.execute(
        f"SELECT entry_id FROM catalog_fts WHERE catalog_fts MATCH ? "
        f"ORDER BY bm25(catalog_fts, 0, {weights}) LIMIT 30",
        (match,),
    ).fetchall()
    return [row[0] for row in rows]


# ----------------------------------------------------------------------------- main


def run(n_entries: int, n_queries: int, rounds: int) -> dict[str, Any]:
    """Build both indexes over the same entries and time both; return the figures."""
    entries = generate_entries(n_entries)
    queries = make_queries(entries, n_queries)
    catalog = MemoryCatalog(entries)
    with tempfile.TemporaryDirectory() as tmp:
        index = CatalogSearchIndex(Path(tmp) / "idx", SCOPE)
        started = time.perf_counter()
        report = asyncio.run(rebuild_index(catalog, index, SCOPE))
        tantivy_build = time.perf_counter() - started
        started = time.perf_counter()
        fts = build_fts(Path(tmp) / "fts.db", entries)
        fts_build = time.perf_counter() - started

        def tantivy_query(text: str) -> Any:
            return index.search(SearchQuery(text), offset=0, limit=30)

        def tantivy_facets(text: str) -> Any:
            return index.search(SearchQuery(text), offset=0, limit=30, facets=True)

        tantivy = time_queries(tantivy_query, queries, rounds)
        facets = time_queries(tantivy_facets, queries[: max(1, len(queries) // 4)], 1)
        baseline = time_queries(lambda q: fts_search(fts, q), queries, rounds)

        async def tool_loop() -> list[float]:
            samples = []
            for query in queries[: max(1, len(queries) // 4)]:
                started = time.perf_counter()
                await search_catalog(catalog, index, SCOPE, {"query": query})
                samples.append((time.perf_counter() - started) * 1000.0)
            return samples

        tool = asyncio.run(tool_loop())
        hits = [len(tantivy_query(q).hits) for q in queries]
        fts.close()
    tantivy_p50 = statistics.median(tantivy)
    summary: dict[str, Any] = {
        "entries": n_entries,
        "indexedEntries": report.indexed,
        "queries": len(queries),
        "tantivy": {
            "buildS": round(tantivy_build, 2),
            "p50Ms": round(statistics.median(tantivy), 3),
            "p99Ms": round(percentile(tantivy, 0.99), 3),
        },
        "tantivyWithFacets": {
            "p50Ms": round(statistics.median(facets), 3),
            "p99Ms": round(percentile(facets, 0.99), 3),
        },
        "searchCatalogTool": {
            "p50Ms": round(statistics.median(tool), 3),
            "p99Ms": round(percentile(tool, 0.99), 3),
        },
        "fts5": {
            "buildS": round(fts_build, 2),
            "p50Ms": round(statistics.median(baseline), 3),
            "p99Ms": round(percentile(baseline, 0.99), 3),
        },
        "meanHits": round(statistics.mean(hits), 1),
        "targetP50Ms": TARGET_P50_MS,
    }
    summary["withinTarget"] = tantivy_p50 <= TARGET_P50_MS
    return summary


def main() -> int:
    """Parse arguments, run, print; exit 1 when over target (unless ``--no-check``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-check", action="store_true", help="always exit 0")
    args = parser.parse_args()
    summary = run(args.entries, args.queries, args.rounds)
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['entries']:,} entries ({summary['indexedEntries']:,} indexed), "
            f"{summary['queries']} queries, mean {summary['meanHits']} hits of 30"
        )
        print(f"{'engine':<28}{'build s':>10}{'p50 ms':>10}{'p99 ms':>10}")
        for label, key in (
            ("tantivy (index search)", "tantivy"),
            ("tantivy + facets", "tantivyWithFacets"),
            ("search_catalog tool", "searchCatalogTool"),
            ("sqlite fts5 baseline", "fts5"),
        ):
            row = summary[key]
            build = f"{row['buildS']:.2f}" if "buildS" in row else "-"
            print(f"{label:<28}{build:>10}{row['p50Ms']:>10.3f}{row['p99Ms']:>10.3f}")
        verdict = "OK" if summary["withinTarget"] else "OVER TARGET"
        print(f"target: tantivy p50 <= {TARGET_P50_MS} ms -> {verdict}")
    return 0 if summary["withinTarget"] or args.no_check else 1


if __name__ == "__main__":
    sys.exit(main())
