"""Metadata per kind: required keys, types, and the details the tools show."""

from __future__ import annotations

from typing import Any

from flowai_harness.data.catalog.entries import CatalogEntry, parse_entry
from flowai_harness.data.catalog.metadata import details_of, metadata_problem, snake_case
from tests.data.sample_catalog import sample_entries


def _with(item_type: str, metadata: dict[str, Any]) -> CatalogEntry:
    return parse_entry(
        {
            "id": "x",
            "itemType": item_type,
            "name": "x",
            "content": "",
            "tags": [],
            "related": [],
            "metadata": metadata,
        }
    )


def test_sample_entries_decode() -> None:
    for raw in sample_entries():
        assert metadata_problem(parse_entry(raw)) is None, raw["id"]


def test_missing_required_key_or_wrong_type_makes_metadata_undecodable() -> None:
    assert metadata_problem(_with("table", {"databaseId": "d", "schemaName": "s"})) == (
        "table metadata is missing 'tableName'"
    )
    column = {
        "databaseId": "d",
        "schemaName": "s",
        "tableName": "t",
        "columnName": "c",
        "dataType": "int",
        "nullable": "yes",
    }
    assert (
        metadata_problem(_with("column", column)) == "column metadata 'nullable' must be a boolean"
    )
    table = {"databaseId": "d", "schemaName": "s", "tableName": "t", "rowCount": True}
    assert metadata_problem(_with("table", table)) == "table metadata 'rowCount' must be a integer"
    assert (
        metadata_problem(_with("document", {})) == "document metadata is missing 'sourceDocumentId'"
    )
    assert metadata_problem(_with("metric", {})) is None
    assert metadata_problem(_with("special", {"anything": 1})) is None


def test_relationship_cardinality_must_be_one_many_or_unknown() -> None:
    relationship = next(e for e in sample_entries() if e["itemType"] == "relationship")
    bad = dict(relationship["metadata"], sourceCardinality="several")
    assert "one, many, unknown" in str(metadata_problem(_with("relationship", bad)))


def test_details_are_snake_case_and_summary_is_a_subset_of_full() -> None:
    entry = parse_entry(sample_entries()[4])  # customers.name
    full = details_of(entry, full=True)
    summary = details_of(entry, full=False)
    assert full["ordinal_position"] == 2 and full["database_id"] == "shop"
    assert set(summary) < set(full)
    assert "ordinal_position" not in summary
    assert details_of(_with("table", {}), full=True) == {}


def test_snake_case_handles_camel_case_keys() -> None:
    assert snake_case("preferredQuerySurface") == "preferred_query_surface"
    assert snake_case("databaseId") == "database_id"
    assert snake_case("already_snake") == "already_snake"
