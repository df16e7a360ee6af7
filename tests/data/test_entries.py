"""Catalog entry wire shape: strict parsing, round trip, kinds, generated ids and tags."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from flowai_harness.data.catalog.entries import (
    PUBLIC_KINDS,
    CatalogEntry,
    generated_id,
    generated_tags,
    parse_entry,
    public_kind,
    storage_kind,
)
from flowai_harness.errors import SpecTypeError, SpecValueError
from tests.data.sample_catalog import sample_entries


def _entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "table:x",
        "itemType": "table",
        "name": "x",
        "qualified_name": None,
        "content": "",
        "tags": [],
        "related": [],
        "metadata": {},
    }
    base.update(overrides)
    return base


def test_every_sample_entry_round_trips_unchanged() -> None:
    for raw in sample_entries():
        assert parse_entry(raw).to_wire() == raw


def test_qualified_name_is_optional_but_tags_related_and_metadata_are_required() -> None:
    raw = _entry()
    del raw["qualified_name"]
    assert parse_entry(raw).qualified_name is None
    for key in ("tags", "related", "metadata", "content", "id", "itemType", "name"):
        broken = _entry()
        del broken[key]
        with pytest.raises(SpecValueError, match=f"missing required key.*{key}"):
            parse_entry(broken, "entries[0]")


def test_unknown_keys_and_unknown_item_types_are_rejected_with_the_entry_named() -> None:
    with pytest.raises(
        SpecValueError, match=r"entries\[2\] has unknown key\(s\) \['qualifiedName'\]"
    ):
        parse_entry(_entry(qualifiedName="a.b"), "entries[2]")
    with pytest.raises(SpecValueError, match="itemType 'view' is not a catalog kind"):
        parse_entry(_entry(itemType="view"))
    with pytest.raises(SpecTypeError, match="metadata must be an object"):
        parse_entry(_entry(metadata=[]))
    with pytest.raises(SpecValueError, match=r"related\[0\] is missing 'relationType'"):
        parse_entry(_entry(related=[{"target_id": "t"}]))
    with pytest.raises(SpecValueError, match="id must be a non-blank string"):
        parse_entry(_entry(id="  "))


def test_storage_and_public_kinds_map_enum_to_enum_value() -> None:
    assert public_kind("enum") == "enum_value"
    assert storage_kind("enum_value") == "enum"
    assert "special" not in PUBLIC_KINDS
    assert len(PUBLIC_KINDS) == 8
    entry = parse_entry(_entry(itemType="special"))
    assert isinstance(entry, CatalogEntry) and entry.is_special


def test_generated_ids_hash_kind_database_and_parts() -> None:
    expected = hashlib.sha256(b"table:db:public:orders").hexdigest()
    assert generated_id("table", "db", "public", "orders") == expected
    assert len(generated_id("column", "db", "s", "t", "c")) == 64


def test_generated_tags_follow_the_bracket_convention() -> None:
    assert generated_tags("column", schema="s", table="t", column="c") == [
        "[TYPE:column]",
        "[SCHEMA:s]",
        "[TABLE:t]",
        "[COLUMN:c]",
    ]
    assert generated_tags("knowledge", knowledge_type="business_rule", scope_tables=["t"]) == [
        "[TYPE:knowledge]",
        "[KNOWLEDGE_TYPE:business_rule]",
        "[SCOPE_TABLE:t]",
    ]
