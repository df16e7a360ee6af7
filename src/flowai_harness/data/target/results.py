"""The rows of a target database query, bounded in count and in bytes, as JSON-safe values.

Results are bounded twice: at most ``limit`` rows, and at most ``max_result_bytes`` of JSON
(1 MiB by default). Rows are fetched incrementally and fetching stops at whichever cap is hit
first; :attr:`QueryResult.truncated_reason` says which. A single value longer than 64 KiB is cut
(its text form, marked ``…[truncated]``) and a warning names the columns concerned.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import orjson

__all__ = [
    "MAX_VALUE_BYTES",
    "CutText",
    "QueryResult",
    "ResultCollector",
    "json_value",
]

#: A value whose JSON text is longer than this is cut.
MAX_VALUE_BYTES = 65_536
_CUT_MARK = "…[truncated]"


@dataclass(slots=True)
class QueryResult:
    """Rows of a query: column names, rows as ``{column: value}``, and whether more existed.

    ``truncated_reason`` is ``"rows"`` when more than ``limit`` rows existed and ``"bytes"``
    when the next row would have passed the result's byte cap (``None`` when not truncated).
    """

    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)
    truncated_reason: Literal["rows", "bytes"] | None = None

    @property
    def row_count(self) -> int:
        """How many rows are returned."""
        return len(self.rows)


def json_value(value: Any) -> Any:
    """Return a database value as JSON: dates as ISO strings, decimals as numbers when exact,
    bytes as base64, non-finite floats as strings, containers converted recursively."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out: list[str] = []
    for name in names:
        candidate, n = name, seen.get(name, 0)
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen[name] = n
        seen.setdefault(candidate, 0)
        out.append(candidate)
    return out


@dataclass(frozen=True, slots=True)
class CutText:
    """The leading part of a value the database already cut because it was too long."""

    text: str


def _cut(text: str, max_bytes: int) -> str:
    head = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    return head + _CUT_MARK


class ResultCollector:
    """Turns driver rows into a :class:`QueryResult` under a row limit and a byte cap.

    Feed rows with :meth:`add` until it returns ``False``; :meth:`batch_size` suggests how many
    rows to fetch next so a batch of wide rows does not overshoot the byte cap by much.

    Args:
        names: The column names reported by the driver (duplicates get ``_1``, ``_2`` …).
        limit: Rows to return; one more row is enough to know the result is truncated.
        max_bytes: Cap on the JSON size of the returned rows.
    """

    def __init__(self, names: Sequence[str], limit: int, max_bytes: int) -> None:
        self.columns = _unique_names([str(name) for name in names])
        self.limit = limit
        self.max_bytes = max_bytes
        self.max_value_bytes = min(MAX_VALUE_BYTES, max_bytes)
        self._rows: list[dict[str, Any]] = []
        self._bytes = 2
        self._reason: Literal["rows", "bytes"] | None = None
        self._cut_columns: dict[str, int] = {}

    def _value(self, raw: Any) -> tuple[Any, bool]:
        """The JSON form of a value, and whether it was cut."""
        if isinstance(raw, CutText):
            return _cut(raw.text, self.max_value_bytes), True
        value = json_value(raw)
        # a character takes at most 4 bytes: shorter values need no exact measure
        if isinstance(value, str | list | dict) and len(value) * 4 > self.max_value_bytes:
            text = value if isinstance(value, str) else orjson.dumps(value).decode()
            if len(text.encode("utf-8")) > self.max_value_bytes:
                return _cut(text, self.max_value_bytes), True
        return value, False

    def add(self, row: Sequence[Any]) -> bool:
        """Add one driver row; return whether more rows are wanted."""
        if len(self._rows) >= self.limit:
            self._reason = "rows"
            return False
        converted: dict[str, Any] = {}
        cut: list[str] = []
        for column, raw in zip(self.columns, row, strict=False):
            converted[column], was_cut = self._value(raw)
            if was_cut:
                cut.append(column)
        size = len(orjson.dumps(converted, option=orjson.OPT_NON_STR_KEYS)) + 1
        if self._bytes + size > self.max_bytes:
            self._reason = "bytes"
            return False
        self._bytes += size
        self._rows.append(converted)
        for column in cut:
            self._cut_columns[column] = self._cut_columns.get(column, 0) + 1
        return True

    def batch_size(self) -> int:
        """How many rows to fetch next (at least one, at most 100)."""
        wanted = self.limit + 1 - len(self._rows)
        if self._rows:
            average = max(1, (self._bytes - 2) // len(self._rows))
            wanted = min(wanted, (self.max_bytes - self._bytes) // average + 1)
        return max(1, min(wanted, 100))

    def result(self) -> QueryResult:
        """The rows collected so far, with truncation and warnings."""
        warnings = [
            f"{count} value(s) of column {column} were longer than {self.max_value_bytes} bytes "
            "and were cut (marked …[truncated])"
            for column, count in self._cut_columns.items()
        ]
        if self._reason == "bytes":
            warnings.append(
                f"result cut at {len(self._rows)} row(s): the next row would pass the "
                f"{self.max_bytes}-byte result cap; select fewer or narrower columns, or "
                "aggregate"
            )
        return QueryResult(
            columns=self.columns,
            rows=self._rows,
            truncated=self._reason is not None,
            warnings=warnings,
            truncated_reason=self._reason,
        )
