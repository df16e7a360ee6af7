"""Relation diagnostics (src/flowai_harness/data/catalog/doctor.py) and the catalog graph
(src/flowai_harness/data/catalog/graph.py) on the sample catalog."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flowai_harness.data.catalog.doctor import diagnose_relations
from flowai_harness.data.catalog.entries import parse_entry
from flowai_harness.data.catalog.graph import build_graph, render_html
from flowai_harness.data.catalog.memory import MemoryCatalog
from flowai_harness.errors import SpecValueError
from tests.data.conftest import SCOPE
from tests.data.sample_catalog import sample_entries, table_id


def catalog_of(entries: list[dict[str, Any]]) -> MemoryCatalog:
    return MemoryCatalog([parse_entry(e) for e in entries])


async def test_a_consistent_catalog_has_no_issues() -> None:
    report = await diagnose_relations(catalog_of(sample_entries()), SCOPE)
    found = report.to_dict()
    assert found["totalRelations"] > 0
    assert found["samples"] == []
    assert (found["orphanedRelations"], found["databaseMismatchedRelations"]) == (0, 0)


async def test_each_kind_of_broken_relation_is_named() -> None:
    entries = copy.deepcopy(sample_entries())
    relationship = next(e for e in entries if e["itemType"] == "relationship")
    relationship["metadata"]["sourceTableId"] = "table:gone"
    other_db = copy.deepcopy(relationship)
    other_db["id"] = "relationship:other-db"
    other_db["metadata"]["sourceTableId"] = table_id("orders")
    other_db["metadata"]["databaseId"] = "elsewhere"
    broken = copy.deepcopy(relationship)
    broken["id"] = "relationship:broken"
    broken["metadata"]["sourceCardinality"] = "lots"
    column = next(e for e in entries if e["itemType"] == "column")
    column["related"].append(
        {"target_id": "column:missing", "relationType": "references", "description": None}
    )
    foreign = copy.deepcopy(column)
    foreign["id"] = "column:foreign"
    foreign["metadata"]["databaseId"] = "elsewhere"
    foreign["related"] = [
        {"target_id": table_id("orders"), "relationType": "belongs_to", "description": None}
    ]
    report = await diagnose_relations(catalog_of([*entries, other_db, broken, foreign]), SCOPE)
    issues = {(s.source_id, s.issue) for s in report.samples}
    assert (relationship["id"], "missing_source") in issues
    assert (column["id"], "missing_target") in issues
    assert ("relationship:other-db", "relationship_target_database_mismatch") in issues
    assert ("relationship:broken", "invalid_relationship_metadata") in issues
    assert ("column:foreign", "relation_endpoint_database_mismatch") in issues
    assert report.orphaned_relations == 2
    # the other-db relationship: its target table, and both of its links to shop tables
    assert report.database_mismatched_relations == 4
    assert report.invalid_relationships == 1


async def test_samples_are_capped() -> None:
    entries = copy.deepcopy(sample_entries())
    for entry in entries:
        entry["related"] = [
            {"target_id": f"gone:{i}", "relationType": "references", "description": None}
            for i in range(5)
        ]
    report = await diagnose_relations(catalog_of(entries), SCOPE, max_samples=3)
    assert len(report.samples) == 3
    assert report.orphaned_relations == 5 * len(entries)


async def test_the_graph_keeps_primary_kinds_and_link_targets() -> None:
    graph = await build_graph(catalog_of(sample_entries()), SCOPE)
    kinds = graph.summary["countsByKind"]
    assert kinds["table"] == 3 and kinds["metric"] == 1
    assert "column" in kinds  # targets of the tables' has_column links
    assert "enum_value" not in kinds and "special" not in kinds
    ids = {node["id"] for node in graph.nodes}
    assert all(edge["source"] in ids and edge["target"] in ids for edge in graph.edges)
    with_columns = await build_graph(catalog_of(sample_entries()), SCOPE, include_columns=True)
    assert with_columns.summary["countsByKind"]["enum_value"] == 1


async def test_the_graph_is_cut_at_max_nodes_and_escapes_html() -> None:
    entries = copy.deepcopy(sample_entries())
    entries[0]["content"] = "</script><script>alert(1)</script>"
    graph = await build_graph(catalog_of(entries), SCOPE, max_nodes=3)
    assert len(graph.nodes) == 3 and graph.summary["truncated"] is True
    page = render_html(graph, "a <b> title")
    assert "<script>alert(1)" not in page
    assert "a &lt;b&gt; title" in page
    with pytest.raises(SpecValueError, match="--max-nodes must be a positive integer"):
        await build_graph(catalog_of(entries), SCOPE, max_nodes=0)
