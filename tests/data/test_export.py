"""Catalog export (src/flowai_harness/data/catalog/export.py): byte-stable, loads as an
inline catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.data.catalog.entries import parse_entry
from flowai_harness.data.catalog.export import (
    EXPORTED_KINDS,
    collect_export_entries,
    export_catalog,
    render_export,
)
from flowai_harness.data.catalog.factory import open_catalog
from flowai_harness.data.catalog.memory import MemoryCatalog
from flowai_harness.data.catalog.store import CatalogScope
from flowai_harness.errors import SpecValueError
from tests.data.conftest import SCOPE
from tests.data.sample_catalog import sample_entries


async def _sqlite_catalog(path: Path, entries: list[dict[str, Any]]) -> Any:
    catalog = open_catalog({"kind": "sqlite", "url": f"sqlite:{path}"})
    await catalog.upsert_entries(SCOPE, [parse_entry(e) for e in entries])
    return catalog


async def test_two_exports_of_one_catalog_are_identical_bytes(tmp_path: Path) -> None:
    catalog = await _sqlite_catalog(tmp_path / "catalog.db", sample_entries())
    try:
        first = await export_catalog(catalog, SCOPE, tmp_path / "a" / "export.json")
        second = await export_catalog(catalog, SCOPE, tmp_path / "b" / "export.json")
    finally:
        await catalog.close()
    data = (tmp_path / "a" / "export.json").read_bytes()
    assert data == (tmp_path / "b" / "export.json").read_bytes()
    assert data.endswith(b"]\n")
    assert first.to_dict() == {**second.to_dict(), "outputPath": first.output_path}


async def test_enum_and_special_entries_are_left_out_and_kinds_are_ordered(tmp_path: Path) -> None:
    catalog = await _sqlite_catalog(tmp_path / "catalog.db", sample_entries())
    try:
        summary = await export_catalog(catalog, SCOPE, tmp_path / "export.json")
    finally:
        await catalog.close()
    exported = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))
    kinds = [entry["itemType"] for entry in exported]
    assert "enum" not in kinds and "special" not in kinds
    assert kinds == sorted(kinds, key=EXPORTED_KINDS.index)
    tables = [e["qualified_name"] for e in exported if e["itemType"] == "table"]
    assert tables == ["main.customers", "main.orders", "main.products"]
    assert summary.counts_by_kind == {
        "table": 3,
        "column": 10,
        "relationship": 1,
        "metric": 1,
        "knowledge": 1,
        "document": 1,
    }
    assert summary.entries_written == len(exported) == 17


async def test_the_artifact_loads_unchanged_as_an_inline_catalog(tmp_path: Path) -> None:
    catalog = await _sqlite_catalog(tmp_path / "catalog.db", sample_entries())
    try:
        await export_catalog(catalog, SCOPE, tmp_path / "export.json")
        original = await collect_export_entries(catalog, SCOPE)
    finally:
        await catalog.close()
    artifact = json.loads((tmp_path / "export.json").read_text(encoding="utf-8"))
    inline = MemoryCatalog.from_descriptor({"kind": "inline", "entries": artifact})
    reloaded = await collect_export_entries(inline, SCOPE)
    assert [e.to_wire() for e in reloaded] == [e.to_wire() for e in original]
    assert render_export(reloaded) == (tmp_path / "export.json").read_bytes()


def test_metadata_key_order_does_not_change_the_bytes() -> None:
    entry = sample_entries()[0]
    shuffled = {**entry, "metadata": dict(reversed(list(entry["metadata"].items())))}
    assert render_export([parse_entry(entry)]) == render_export([parse_entry(shuffled)])


async def test_only_the_requested_scope_is_exported(tmp_path: Path) -> None:
    catalog = await _sqlite_catalog(tmp_path / "catalog.db", sample_entries())
    try:
        other = await export_catalog(catalog, CatalogScope("acme", "other"), tmp_path / "o.json")
    finally:
        await catalog.close()
    assert other.entries_written == 0
    assert (tmp_path / "o.json").read_text(encoding="utf-8") == "[]\n"


async def test_a_directory_as_output_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecValueError, match="--out must be a file path"):
        await export_catalog(MemoryCatalog(), SCOPE, tmp_path)
