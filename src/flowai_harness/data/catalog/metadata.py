"""Entry metadata per kind: decoding rules and the ``details`` the tools show.

Metadata keys are camelCase. An entry whose metadata misses a required key or has a key of the
wrong type is *undecodable*: the index skips it (counted, with a warning) and the tools emit it
with empty ``details`` and a warning. Unknown keys are kept; ``None`` counts as absent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowai_harness.data.catalog.entries import CatalogEntry

__all__ = ["details_of", "metadata_problem", "snake_case", "string_list", "text_of"]

_STR, _BOOL, _INT, _NUM, _LIST, _OBJ, _ANY, _SCALAR = (
    "string",
    "boolean",
    "integer",
    "number",
    "list of strings",
    "object",
    "any",
    "scalar",
)

_CARDINALITIES = frozenset({"one", "many", "unknown"})

# kind -> (required fields, optional fields), each field -> expected type
_RULES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "table": (
        {"databaseId": _STR, "schemaName": _STR, "tableName": _STR},
        {
            "relationType": _STR,
            "rowCount": _INT,
            "columnCount": _INT,
            "preferredQuerySurface": _BOOL,
            "source": _OBJ,
        },
    ),
    "column": (
        {
            "databaseId": _STR,
            "schemaName": _STR,
            "tableName": _STR,
            "columnName": _STR,
            "dataType": _STR,
            "nullable": _BOOL,
        },
        {
            "primaryKey": _BOOL,
            "foreignKey": _OBJ,
            "semanticType": _STR,
            "distinctCount": _INT,
            "nullCount": _INT,
            "totalCount": _INT,
            "lowCardinalityEnum": _BOOL,
            "source": _OBJ,
        },
    ),
    "enum": (
        {
            "databaseId": _STR,
            "schemaName": _STR,
            "tableName": _STR,
            "columnName": _STR,
            "columnId": _STR,
            "value": _SCALAR,
            "normalizedValue": _STR,
        },
        {
            "displayValue": _STR,
            "frequency": _NUM,
            "frequencyPercentage": _NUM,
            "rank": _INT,
            "synonyms": _LIST,
        },
    ),
    "relationship": (
        {
            "databaseId": _STR,
            "sourceTableId": _STR,
            "targetTableId": _STR,
            "sourceSchema": _STR,
            "sourceTable": _STR,
            "sourceColumn": _STR,
            "targetSchema": _STR,
            "targetTable": _STR,
            "targetColumn": _STR,
            "sourceCardinality": _STR,
            "targetCardinality": _STR,
            "relationshipKind": _STR,
        },
        {"confidence": _NUM, "source": _OBJ},
    ),
    "metric": (
        {},
        {"formula": _STR, "sourceTables": _LIST, "sourceColumns": _LIST, "synonyms": _LIST},
    ),
    "knowledge": (
        {},
        {
            "knowledgeType": _STR,
            "scopeTables": _LIST,
            "scopeColumns": _LIST,
            "sqlExpression": _STR,
            "synonyms": _LIST,
            "sourceKnowledgeId": _STR,
            "sourceDocumentId": _STR,
        },
    ),
    "document": (
        {"sourceDocumentId": _STR},
        {
            "contentAvailable": _BOOL,
            "contentSource": _STR,
            "extractionStatus": _STR,
            "extractedKnowledgeIds": _LIST,
        },
    ),
    "data_quality_finding": (
        {"databaseId": _STR, "schemaName": _STR, "tableName": _STR},
        {
            "columnName": _STR,
            "findingType": _STR,
            "scopeTables": _LIST,
            "scopeColumns": _LIST,
            "source": _OBJ,
            "typicalValueRange": _ANY,
            "validationRules": _LIST,
        },
    ),
}

# The metadata keys shown as ``details`` in summary output, per kind.
_SUMMARY_KEYS: dict[str, tuple[str, ...]] = {
    "table": (
        "databaseId",
        "schemaName",
        "tableName",
        "rowCount",
        "columnCount",
        "preferredQuerySurface",
    ),
    "column": (
        "schemaName",
        "tableName",
        "columnName",
        "dataType",
        "nullable",
        "primaryKey",
        "foreignKey",
        "semanticType",
        "lowCardinalityEnum",
    ),
    "enum": ("tableName", "columnName", "value", "displayValue", "frequency"),
    "relationship": (
        "sourceTable",
        "sourceColumn",
        "targetTable",
        "targetColumn",
        "sourceCardinality",
        "targetCardinality",
        "relationshipKind",
    ),
    "metric": ("formula", "sourceTables"),
    "knowledge": ("knowledgeType", "scopeTables", "sqlExpression"),
    "document": ("sourceDocumentId", "contentAvailable", "extractionStatus"),
    "data_quality_finding": ("schemaName", "tableName", "columnName", "findingType"),
}

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_case(name: str) -> str:
    """Return ``name`` in snake_case (``databaseId`` -> ``database_id``)."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def _snake_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {snake_case(str(key)): _snake_keys(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_snake_keys(item) for item in value]
    return value


def _type_ok(value: Any, expected: str) -> bool:
    if expected == _ANY:
        return True
    if expected == _STR:
        return isinstance(value, str)
    if expected == _BOOL:
        return isinstance(value, bool)
    if expected == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == _NUM:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == _LIST:
        return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)
    if expected == _OBJ:
        return isinstance(value, Mapping)
    return isinstance(value, str | int | float | bool)  # scalar


def metadata_problem(entry: CatalogEntry) -> str | None:
    """Return why ``entry``'s metadata cannot be decoded for its kind, or ``None`` if it can."""
    if entry.metadata_error is not None:
        return entry.metadata_error
    rules = _RULES.get(entry.item_type)
    if rules is None:
        return None
    required, optional = rules
    metadata = entry.metadata
    for key, expected in required.items():
        value = metadata.get(key)
        if value is None:
            return f"{entry.item_type} metadata is missing '{key}'"
        if not _type_ok(value, expected):
            return f"{entry.item_type} metadata '{key}' must be a {expected}"
    for key, expected in optional.items():
        value = metadata.get(key)
        if value is not None and not _type_ok(value, expected):
            return f"{entry.item_type} metadata '{key}' must be a {expected}"
    if entry.item_type == "relationship":
        for key in ("sourceCardinality", "targetCardinality"):
            if metadata[key] not in _CARDINALITIES:
                return f"relationship metadata '{key}' must be one of: one, many, unknown"
    return None


def details_of(entry: CatalogEntry, *, full: bool) -> dict[str, Any]:
    """Return the ``details`` of an entity: snake_case metadata, all of it or the kind's summary.

    Undecodable metadata gives ``{}`` (the caller adds the warning).
    """
    if metadata_problem(entry) is not None:
        return {}
    metadata = entry.metadata
    if full:
        keys: tuple[str, ...] = tuple(str(key) for key in metadata)
    else:
        keys = _SUMMARY_KEYS.get(entry.item_type, ())
    return {
        snake_case(key): _snake_keys(metadata[key]) for key in keys if metadata.get(key) is not None
    }


def text_of(metadata: Mapping[str, Any], key: str) -> str | None:
    """Return ``metadata[key]`` as a string (scalars are converted), or ``None``."""
    value = metadata.get(key)
    if value is None or isinstance(value, Mapping | list | tuple):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def string_list(metadata: Mapping[str, Any], key: str) -> list[str]:
    """Return ``metadata[key]`` as a list of strings (missing or malformed -> ``[]``)."""
    value = metadata.get(key)
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, str)]
