"""Profiling the data of one table: a sample, counts, statistics,
top values of low-cardinality columns and a semantic type per column.

Every statement goes through the target database's checked read-only path. Counts and
statistics come from aggregate queries over up to 100 columns each; if the database refuses one
(a type without equality, such as PostgreSQL ``json``), each of its columns is retried alone
with fewer aggregates, and a column that still fails keeps its schema facts plus a note. A
failed sample is not fatal either: the table is profiled and enriched from its schema, with a
note saying why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flowai_harness.data.profiling.schema import ColumnSchema, TableSchema
from flowai_harness.data.target.database import TargetDatabase
from flowai_harness.errors import HarnessError

__all__ = [
    "ENUM_MAX_VALUES",
    "ColumnProfile",
    "ProfilingNote",
    "TableProfile",
    "TypeCategory",
    "profile_table",
    "quote_identifier",
    "semantic_type_of",
    "type_category",
]

TypeCategory = Literal[
    "integer", "number", "text", "temporal", "boolean", "binary", "json", "other"
]

#: Columns with at most this many distinct values (and some repeats) become enum entries.
ENUM_MAX_VALUES = 50
_ENUM_MAX_LENGTH = 100
_COLUMNS_PER_QUERY = 100
_SAMPLE_VALUE_CHARS = 200


@dataclass(frozen=True, slots=True)
class ProfilingNote:
    """A data-quality observation made while profiling (becomes a finding entry)."""

    notes: str
    column: str | None = None
    finding_type: str = "profiling"
    typical_range: Any = None
    validation_rules: tuple[str, ...] = ()


@dataclass(slots=True)
class ColumnProfile:
    """What profiling learned about one column."""

    column: ColumnSchema
    category: TypeCategory
    total_count: int | None = None
    null_count: int | None = None
    distinct_count: int | None = None
    statistics: dict[str, Any] = field(default_factory=dict)
    top_values: list[tuple[Any, int]] = field(default_factory=list)
    low_cardinality: bool = False
    semantic_type: str | None = None


@dataclass(slots=True)
class TableProfile:
    """A table's schema, row count, column profiles, sample rows and profiling notes."""

    table: TableSchema
    row_count: int | None
    columns: list[ColumnProfile]
    sample_rows: list[dict[str, Any]] = field(default_factory=list)
    sample_error: str | None = None
    notes: list[ProfilingNote] = field(default_factory=list)

    def column(self, name: str) -> ColumnProfile | None:
        """The profile of column ``name``, if the table has it."""
        return next((c for c in self.columns if c.column.name == name), None)


def quote_identifier(name: str) -> str:
    """Quote an identifier for SQLite and PostgreSQL (double quotes, doubled inside)."""
    return '"' + name.replace('"', '""') + '"'


def type_category(data_type: str) -> TypeCategory:
    """Classify a declared column type (SQLite affinity rules, PostgreSQL type names)."""
    declared = data_type.lower()
    if declared.endswith("[]"):
        return "other"
    if "bool" in declared:
        return "boolean"
    if "json" in declared:
        return "json"
    if any(word in declared for word in ("timestamp", "date", "time", "interval")):
        return "temporal"
    if "int" in declared or declared in ("serial", "bigserial", "smallserial"):
        return "integer"
    if any(word in declared for word in ("char", "clob", "text", "citext", "string")):
        return "text"
    if any(word in declared for word in ("blob", "bytea", "binary")):
        return "binary"
    if any(word in declared for word in ("real", "floa", "doub", "numeric", "decimal", "money")):
        return "number"
    return "other"


def _aggregates(
    index: int, column: ColumnProfile, *, distinct: bool = True, stats: bool = True
) -> list[str]:
    name = quote_identifier(column.column.name)
    parts = [f"COUNT({name}) AS n{index}"]
    if distinct and column.category not in ("json", "other", "binary"):
        parts.append(f"COUNT(DISTINCT {name}) AS d{index}")
    if not stats:
        return parts
    if column.category in ("integer", "number"):
        parts += [f"MIN({name}) AS min{index}", f"MAX({name}) AS max{index}"]
        parts.append(f"AVG({name}) AS avg{index}")
    elif column.category == "temporal":
        parts += [f"MIN({name}) AS min{index}", f"MAX({name}) AS max{index}"]
    elif column.category == "text":
        parts += [f"MIN(LENGTH({name})) AS minlen{index}", f"MAX(LENGTH({name})) AS maxlen{index}"]
    return parts


def _apply_counts(column: ColumnProfile, index: int, row: dict[str, Any], total: int) -> None:
    non_null = row.get(f"n{index}")
    column.total_count = total
    if isinstance(non_null, int):
        column.null_count = total - non_null
    distinct = row.get(f"d{index}")
    if isinstance(distinct, int):
        column.distinct_count = distinct
    for key, label in (
        ("min", "min"),
        ("max", "max"),
        ("avg", "mean"),
        ("minlen", "minLength"),
        ("maxlen", "maxLength"),
    ):
        value = row.get(f"{key}{index}")
        if value is not None:
            column.statistics[label] = round(value, 6) if isinstance(value, float) else value


def _short(message: BaseException) -> str:
    text = str(message).strip().splitlines()[0] if str(message).strip() else type(message).__name__
    return text[:300]


async def _count_columns(target: TargetDatabase, source: str, profile: TableProfile) -> None:
    """Counts and statistics, :data:`_COLUMNS_PER_QUERY` columns per aggregate query (SQLite
    and PostgreSQL cap the width of a result row)."""
    try:
        result = await target.execute_query(f"SELECT COUNT(*) AS total_rows FROM {source}", limit=1)
    except HarnessError as exc:
        profile.notes.append(ProfilingNote(f"row count failed: {_short(exc)}"))
        return
    total = int((result.rows[0] if result.rows else {}).get("total_rows") or 0)
    profile.row_count = total
    indexed = list(enumerate(profile.columns))
    for start in range(0, len(indexed), _COLUMNS_PER_QUERY):
        chunk = indexed[start : start + _COLUMNS_PER_QUERY]
        parts = [part for index, column in chunk for part in _aggregates(index, column)]
        try:
            result = await target.execute_query(f"SELECT {', '.join(parts)} FROM {source}", limit=1)
        except HarnessError:
            for index, column in chunk:
                await _count_one_column(target, source, profile, index, column, total)
            continue
        row = result.rows[0] if result.rows else {}
        for index, column in chunk:
            _apply_counts(column, index, row, total)


async def _count_one_column(
    target: TargetDatabase,
    source: str,
    profile: TableProfile,
    index: int,
    column: ColumnProfile,
    total: int,
) -> None:
    """Retry one column alone, dropping statistics, then distinct counts, until one works."""
    problem = ""
    for distinct, stats in ((True, True), (True, False), (False, False)):
        selected = ", ".join(_aggregates(index, column, distinct=distinct, stats=stats))
        try:
            result = await target.execute_query(f"SELECT {selected} FROM {source}", limit=1)
        except HarnessError as exc:
            problem = _short(exc)
            continue
        _apply_counts(column, index, result.rows[0] if result.rows else {}, total)
        return
    profile.notes.append(
        ProfilingNote(f"column statistics failed: {problem}", column=column.column.name)
    )


def _enum_candidate(column: ColumnProfile, foreign_key: bool) -> bool:
    distinct, total, nulls = column.distinct_count, column.total_count, column.null_count or 0
    if column.column.primary_key or foreign_key or distinct is None or total is None:
        return False
    if column.category not in ("text", "integer", "boolean"):
        return False
    if (
        column.category == "text"
        and int(column.statistics.get("maxLength") or 0) > _ENUM_MAX_LENGTH
    ):
        return False
    # A repeated value is needed: a column whose values are all different is not an enum.
    return 0 < distinct <= ENUM_MAX_VALUES and distinct < total - nulls


async def _top_values(
    target: TargetDatabase, source: str, column: ColumnProfile, profile: TableProfile
) -> None:
    name = quote_identifier(column.column.name)
    query = (
        f"SELECT {name} AS value, COUNT(*) AS frequency FROM {source} WHERE {name} IS NOT NULL "
        f"GROUP BY {name} ORDER BY COUNT(*) DESC LIMIT {ENUM_MAX_VALUES}"
    )
    try:
        result = await target.execute_query(query, limit=ENUM_MAX_VALUES)
    except HarnessError as exc:
        profile.notes.append(
            ProfilingNote(f"top values failed: {_short(exc)}", column=column.column.name)
        )
        return
    pairs = [(row["value"], int(row["frequency"])) for row in result.rows]
    column.top_values = sorted(pairs, key=lambda pair: (-pair[1], str(pair[0])))
    column.low_cardinality = bool(column.top_values)


async def profile_table(
    target: TargetDatabase, table: TableSchema, *, sample_size: int
) -> TableProfile:
    """Sample and profile one table.

    Args:
        target: The target database (read-only path).
        table: The table's schema, from a schema reader.
        sample_size: Rows to sample (1-100).

    Returns:
        The profile; failures of single statements are recorded as notes, never raised.
    """
    source = f"{quote_identifier(table.schema)}.{quote_identifier(table.name)}"
    profile = TableProfile(
        table=table,
        row_count=None,
        columns=[ColumnProfile(c, type_category(c.data_type)) for c in table.columns],
    )
    try:
        sample = await target.sample_table(f"{table.schema}.{table.name}", None, sample_size)
        profile.sample_rows = [
            {key: _clip(value) for key, value in row.items()} for row in sample.rows
        ]
    except HarnessError as exc:
        profile.sample_error = _short(exc)
        profile.notes.append(
            ProfilingNote(
                f"sampling failed, enriched from the schema only: {profile.sample_error}",
                finding_type="sampling_failed",
            )
        )
    await _count_columns(target, source, profile)
    for column in profile.columns:
        is_foreign = table.foreign_key_of(column.column.name) is not None
        if _enum_candidate(column, is_foreign):
            await _top_values(target, source, column, profile)
        samples = [row.get(column.column.name) for row in profile.sample_rows]
        column.semantic_type = semantic_type_of(column, is_foreign, samples)
    return profile


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _SAMPLE_VALUE_CHARS:
        return value[:_SAMPLE_VALUE_CHARS] + "…"
    return value


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^https?://", re.IGNORECASE)
_NAME_RULES: tuple[tuple[tuple[str, ...], str, tuple[TypeCategory, ...] | None], ...] = (
    (("email", "e_mail"), "email", None),
    (("url", "website", "homepage", "link"), "url", ("text",)),
    (("phone", "mobile", "fax", "telephone"), "phone", None),
    (("latitude", "longitude", "lat", "lng", "lon"), "geo_coordinate", ("number",)),
    (
        ("price", "amount", "total", "cost", "revenue", "balance", "fee", "salary", "spend"),
        "currency",
        ("number", "integer"),
    ),
    (("percent", "pct", "ratio", "rate", "share"), "percentage", ("number",)),
    (
        ("qty", "quantity", "count", "units", "stock", "inventory"),
        "quantity",
        ("integer", "number"),
    ),
    (
        ("country", "region", "city", "state", "zip", "postal", "address", "location"),
        "location",
        ("text",),
    ),
    (("status", "type", "kind", "category", "tier", "segment", "channel"), "category", None),
    (("name", "title", "label"), "name", ("text",)),
    (("description", "comment", "note", "notes", "summary"), "free_text", ("text",)),
)


def _words(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [word for word in re.split(r"[^a-z0-9]+", spaced.lower()) if word]


def semantic_type_of(
    column: ColumnProfile, foreign_key: bool, samples: Sequence[Any] = ()
) -> str | None:
    """Infer a semantic type from the column's name, type, keys and sample values.

    Returns:
        ``identifier``, ``foreign_key``, ``email``, ``url``, ``phone``, ``geo_coordinate``,
        ``currency``, ``percentage``, ``quantity``, ``location``, ``category``, ``name``,
        ``free_text``, ``timestamp``, ``date``, ``boolean`` or ``None`` when nothing fits.
    """
    name, category = column.column.name, column.category
    words = _words(name)
    if column.column.primary_key:
        return "identifier"
    if foreign_key:
        return "foreign_key"
    if words and words[-1] == "id" and category in ("integer", "text", "other"):
        return "identifier"
    texts = [value for value in samples if isinstance(value, str) and value]
    if texts and all(_EMAIL.match(value) for value in texts):
        return "email"
    if texts and all(_URL.match(value) for value in texts):
        return "url"
    for keywords, semantic, categories in _NAME_RULES:
        if any(word in keywords for word in words) and (
            categories is None or category in categories
        ):
            return semantic
    if category == "temporal" or (words and words[-1] in ("at", "date", "timestamp")):
        date_only = column.column.data_type.lower() == "date" or words[-1:] == ["date"]
        return "date" if date_only else "timestamp"
    if category == "boolean" or (words and words[0] in ("is", "has", "can")):
        return "boolean"
    if column.low_cardinality:
        return "category"
    return None
