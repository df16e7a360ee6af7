"""Catalog entries: stored wire shape, entity kinds, generated ids and tags.

An entry's wire form is ``{id, itemType, name, qualified_name, content, tags, related, metadata}``
with ``related`` items ``{target_id, relationType, description}``. The casing is deliberately
mixed and round-trips unchanged. Storage kinds (``itemType``) map to public kinds; ``enum`` is
the one that differs (``enum_value``), and ``special`` is reserved: never searched or emitted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowai_harness.errors import SpecTypeError, SpecValueError

__all__ = [
    "PUBLIC_KINDS",
    "RELATION_KINDS",
    "SEARCHABLE_STORAGE_KINDS",
    "STORAGE_KINDS",
    "CatalogEntry",
    "CatalogLink",
    "generated_id",
    "generated_tags",
    "normalize_key",
    "parse_entry",
    "public_kind",
    "storage_kind",
]

_STORAGE_TO_PUBLIC: dict[str, str] = {
    "table": "table",
    "column": "column",
    "relationship": "relationship",
    "enum": "enum_value",
    "metric": "metric",
    "document": "document",
    "knowledge": "knowledge",
    "data_quality_finding": "data_quality_finding",
    "special": "special",
}
_PUBLIC_TO_STORAGE = {public: storage for storage, public in _STORAGE_TO_PUBLIC.items()}

#: Every storage kind (``itemType``), ``special`` included.
STORAGE_KINDS: tuple[str, ...] = tuple(_STORAGE_TO_PUBLIC)
#: Storage kinds that are indexed and returned by the tools (everything but ``special``).
SEARCHABLE_STORAGE_KINDS: tuple[str, ...] = tuple(k for k in STORAGE_KINDS if k != "special")
#: Public kinds of searchable entries, as the tools name them.
PUBLIC_KINDS: tuple[str, ...] = tuple(_STORAGE_TO_PUBLIC[k] for k in SEARCHABLE_STORAGE_KINDS)

#: The kinds a catalog relation may have.
RELATION_KINDS: tuple[str, ...] = (
    "has_column",
    "belongs_to",
    "references",
    "referenced_by",
    "references_table",
    "referenced_by_table",
    "relationship_source_table",
    "relationship_target_table",
    "enum_value_of",
    "has_enum_value",
    "metric_uses",
    "knowledge_applies_to",
    "data_quality_finding_applies_to",
    "extracted_from",
    "synonym_of",
    "equivalent_to",
    "sub_class_of",
    "applies_to",
)

_ENTRY_KEYS = ("id", "itemType", "name", "qualified_name", "content", "tags", "related", "metadata")
_REQUIRED_KEYS = ("id", "itemType", "name", "content", "tags", "related", "metadata")
_LINK_KEYS = ("target_id", "relationType", "description")


def public_kind(item_type: str) -> str:
    """Return the public kind of a storage ``itemType`` (``enum`` -> ``enum_value``)."""
    return _STORAGE_TO_PUBLIC.get(item_type, item_type)


def storage_kind(kind: str) -> str:
    """Return the storage ``itemType`` of a public kind (``enum_value`` -> ``enum``)."""
    return _PUBLIC_TO_STORAGE.get(kind, kind)


def normalize_key(value: str) -> str:
    """Return the lookup form of a name: trimmed and lower-cased."""
    return value.strip().lower()


@dataclass(frozen=True, slots=True)
class CatalogLink:
    """One outgoing link of an entry (``related`` item)."""

    target_id: str
    relation_type: str
    description: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """Return ``{"target_id", "relationType", "description"}``."""
        return {
            "target_id": self.target_id,
            "relationType": self.relation_type,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A catalog entry as stored.

    ``metadata_error`` is set when the stored metadata could not be decoded (not JSON, not an
    object); ``metadata`` is then empty and tools emit the entry with empty details and a warning.
    """

    id: str
    item_type: str
    name: str
    qualified_name: str | None
    content: str
    tags: tuple[str, ...] = ()
    related: tuple[CatalogLink, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    metadata_error: str | None = None

    @property
    def kind(self) -> str:
        """The public kind of the entry."""
        return public_kind(self.item_type)

    @property
    def is_special(self) -> bool:
        """Whether the entry is of the reserved ``special`` kind."""
        return self.item_type == "special"

    def to_wire(self) -> dict[str, Any]:
        """Return the entry wire shape (mixed casing, ``qualified_name`` may be ``None``)."""
        return {
            "id": self.id,
            "itemType": self.item_type,
            "name": self.name,
            "qualified_name": self.qualified_name,
            "content": self.content,
            "tags": list(self.tags),
            "related": [link.to_wire() for link in self.related],
            "metadata": dict(self.metadata),
        }


def _expect_str(value: Any, where: str, *, blank_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise SpecTypeError(f"{where} must be a string; got {type(value).__name__}")
    if not blank_ok and not value.strip():
        raise SpecValueError(f"{where} must be a non-blank string")
    return value


def _parse_link(raw: Any, where: str) -> CatalogLink:
    if not isinstance(raw, Mapping):
        raise SpecTypeError(
            f"{where} must be an object {{target_id, relationType, description}}; "
            f"got {type(raw).__name__}"
        )
    unknown = sorted(str(key) for key in raw if key not in _LINK_KEYS)
    if unknown:
        raise SpecValueError(
            f"{where} has unknown key(s) {unknown}; expected target_id, relationType, description"
        )
    for key in ("target_id", "relationType"):
        if key not in raw:
            raise SpecValueError(f"{where} is missing '{key}'")
    description = raw.get("description")
    if description is not None:
        _expect_str(description, f"{where}.description", blank_ok=True)
    return CatalogLink(
        target_id=_expect_str(raw["target_id"], f"{where}.target_id"),
        relation_type=_expect_str(raw["relationType"], f"{where}.relationType"),
        description=description,
    )


def parse_entry(raw: Any, where: str = "catalog entry") -> CatalogEntry:
    """Validate one entry in wire shape and return it.

    ``id``, ``itemType``, ``name``, ``content``, ``tags``, ``related`` and ``metadata`` are
    required; ``qualified_name`` is optional (``None`` allowed). Unknown keys are rejected.

    Args:
        raw: The entry mapping.
        where: How to name the entry in messages (``data_environment.catalog.entries[3]``).

    Returns:
        The parsed entry.

    Raises:
        SpecTypeError: A field has the wrong type.
        SpecValueError: A key is missing or unknown, a string is blank, or ``itemType`` is not a
            storage kind.
    """
    if not isinstance(raw, Mapping):
        raise SpecTypeError(f"{where} must be an object; got {type(raw).__name__}")
    unknown = sorted(str(key) for key in raw if key not in _ENTRY_KEYS)
    if unknown:
        raise SpecValueError(
            f"{where} has unknown key(s) {unknown}; expected: {', '.join(_ENTRY_KEYS)}"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in raw]
    if missing:
        raise SpecValueError(f"{where} is missing required key(s): {', '.join(missing)}")
    entry_id = _expect_str(raw["id"], f"{where}.id")
    item_type = _expect_str(raw["itemType"], f"{where}.itemType")
    if item_type not in _STORAGE_TO_PUBLIC:
        raise SpecValueError(
            f"{where}.itemType {item_type!r} is not a catalog kind; expected one of: "
            f"{', '.join(STORAGE_KINDS)}"
        )
    qualified = raw.get("qualified_name")
    if qualified is not None:
        _expect_str(qualified, f"{where}.qualified_name", blank_ok=True)
    tags = raw["tags"]
    if isinstance(tags, str) or not isinstance(tags, Sequence):
        raise SpecTypeError(f"{where}.tags must be a list of strings")
    related = raw["related"]
    if isinstance(related, str) or not isinstance(related, Sequence):
        raise SpecTypeError(f"{where}.related must be a list of links")
    metadata = raw["metadata"]
    if not isinstance(metadata, Mapping):
        raise SpecTypeError(f"{where}.metadata must be an object; got {type(metadata).__name__}")
    return CatalogEntry(
        id=entry_id,
        item_type=item_type,
        name=_expect_str(raw["name"], f"{where}.name", blank_ok=True),
        qualified_name=qualified or None,
        content=_expect_str(raw["content"], f"{where}.content", blank_ok=True),
        tags=tuple(_expect_str(tag, f"{where}.tags[{i}]") for i, tag in enumerate(tags)),
        related=tuple(_parse_link(link, f"{where}.related[{i}]") for i, link in enumerate(related)),
        metadata=dict(metadata),
    )


def generated_id(item_type: str, database_id: str, *parts: str) -> str:
    """Return the generated id of an entry: hex SHA-256 of ``<kind>:<database id>:<part>…``.

    Args:
        item_type: Storage kind (``table``, ``column``, ``document``, ``knowledge``, ...).
        database_id: Logical id of the target database.
        *parts: Kind-specific parts (table: schema, table; column: schema, table, column; ...).

    Returns:
        64 lower-case hex characters.
    """
    text = ":".join((item_type, database_id, *parts))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def generated_tags(
    kind: str,
    *,
    schema: str | None = None,
    table: str | None = None,
    column: str | None = None,
    knowledge_type: str | None = None,
    scope_tables: Sequence[str] = (),
) -> list[str]:
    """Return the generated tags ``[TYPE:k]``, ``[SCHEMA:s]``, ``[TABLE:t]``, ``[COLUMN:c]``.

    Knowledge entries add ``[KNOWLEDGE_TYPE:x]`` and one ``[SCOPE_TABLE:t]`` per scope table.
    """
    tags = [f"[TYPE:{kind}]"]
    for label, value in (("SCHEMA", schema), ("TABLE", table), ("COLUMN", column)):
        if value:
            tags.append(f"[{label}:{value}]")
    if knowledge_type:
        tags.append(f"[KNOWLEDGE_TYPE:{knowledge_type}]")
    tags.extend(f"[SCOPE_TABLE:{scope}]" for scope in scope_tables)
    return tags
