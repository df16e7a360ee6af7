"""The ``sample_table_data`` and ``execute_query`` tools.

``sample_table_data`` samples a catalog table on the target database under its physical name
(the qualified name, or ``schema.table``); requested columns must be known to the catalog, and
without ``columns`` rows are projected to the catalog's columns. ``execute_query`` runs one
checked, read-only SELECT and reports whether the result was cut (``truncated``), and if so
whether by the row limit or the byte cap (``truncated_reason``: ``"rows"`` or ``"bytes"``);
``warnings`` names values that were cut; its ``purpose`` is only logged.
"""

from __future__ import annotations

import logging
from typing import Any

from flowai_harness.data.catalog.entries import CatalogEntry
from flowai_harness.data.catalog.metadata import text_of
from flowai_harness.data.catalog.store import CatalogScope, CatalogStore
from flowai_harness.data.target.database import TargetDatabase
from flowai_harness.data.target.sql_safety import DEFAULT_LIMIT, MAX_LIMIT
from flowai_harness.data.toolkit.entities import columns_of_table
from flowai_harness.data.toolkit.inputs import (
    ToolFailure,
    ToolInputError,
    check_keys,
    clamped_int,
    optional_str,
    string_list,
)
from flowai_harness.data.toolkit.refs import parse_ref, resolve_refs

__all__ = ["execute_query", "sample_table_data"]

logger = logging.getLogger("flowai_harness.data")


def physical_name(table: CatalogEntry) -> str:
    """The name a table is queried under: its qualified name, else ``schema.table``.

    Raises:
        ToolFailure: Neither is known.
    """
    if table.qualified_name:
        return table.qualified_name
    schema, name = text_of(table.metadata, "schemaName"), text_of(table.metadata, "tableName")
    if schema and name:
        return f"{schema}.{name}"
    raise ToolFailure(
        f"table {table.id} has neither a qualified name nor schemaName/tableName "
        "metadata, so it cannot be sampled"
    )


def _column_name(column: CatalogEntry) -> str:
    return text_of(column.metadata, "columnName") or column.name


async def sample_table_data(
    catalog: CatalogStore, target: TargetDatabase, scope: CatalogScope, raw: Any
) -> dict[str, Any]:
    """Run ``sample_table_data``; see the module doc.

    Raises:
        ToolFailure: Bad input, an unknown table or column, or a name breaking the rules.
        HarnessError: The target database failed.
    """
    tool = "sample_table_data"
    args = check_keys(raw, ("table", "columns", "limit"), ("table",), tool)
    ref = parse_ref(args["table"], f"{tool}.table")
    requested = string_list(args, "columns", tool)
    limit = clamped_int(args, "limit", 10, 1, 20, tool)
    resolution = (await resolve_refs(catalog, scope, [ref]))[0]
    table = resolution.entry
    if table is None:
        raise ToolFailure(f"{tool}.table: {resolution.describe()}")
    if table.kind != "table":
        raise ToolFailure(f"{tool}.table must reference a table; {table.id} is a {table.kind}")
    name = physical_name(table)
    known = {
        _column_name(c).lower(): _column_name(c)
        for c in await columns_of_table(catalog, scope, table)
    }
    warnings: list[str] = []
    selected: list[str] | None = None
    if requested:
        selected = []
        for column in dict.fromkeys(requested):
            if column.lower() not in known:
                raise ToolFailure(f"unknown column for sample_table_data: {column}")
            selected.append(known[column.lower()])
    result = await target.sample_table(name, selected, limit)
    columns, rows = result.columns, result.rows
    warnings += result.warnings
    if selected is None and known:
        missing = [c for c in columns if c.lower() not in known]
        if missing:
            warnings.append("table columns not in the catalog were left out: " + ", ".join(missing))
            columns = [c for c in columns if c.lower() in known]
            rows = [{c: row[c] for c in columns} for row in rows]
    elif selected is None:
        warnings.append("the catalog lists no columns for this table; all columns are shown")
    out: dict[str, Any] = {
        "table": name,
        "columns": columns,
        "rows": rows,
        "row_count": len(rows),
        "sample_note": f"up to {limit} rows in database order; not a random or representative "
        "sample",
    }
    if warnings:
        out["warnings"] = warnings
    return out


async def execute_query(target: TargetDatabase, raw: Any) -> dict[str, Any]:
    """Run ``execute_query``; see the module doc.

    Raises:
        ToolFailure: Bad input.
        SqlRejectedError: The statement is not one read-only SELECT.
        HarnessError: The target database failed.
    """
    tool = "execute_query"
    args = check_keys(raw, ("sql", "params", "limit", "purpose"), ("sql",), tool)
    sql = args["sql"]
    if not isinstance(sql, str):
        raise ToolInputError(f"{tool}.sql must be a string")
    params = args.get("params") or []
    if not isinstance(params, list):
        raise ToolInputError(f"{tool}.params must be a list")
    limit = clamped_int(args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT, tool)
    purpose = optional_str(args, "purpose", tool, blank_ok=True)
    if purpose:
        logger.info("execute_query purpose: %s", purpose)
    result = await target.execute_query(sql, params, limit=limit)
    out: dict[str, Any] = {
        "columns": result.columns,
        "rows": result.rows,
        "row_count": result.row_count,
        "truncated": result.truncated,
    }
    if result.truncated_reason is not None:
        out["truncated_reason"] = result.truncated_reason
    if result.warnings:
        out["warnings"] = result.warnings
    return out
