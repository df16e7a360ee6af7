"""The data side of a Studio workspace: its one source, schema discovery,
samples, knowledge lists, catalog search, metrics and the catalog tools.

:class:`WorkspaceData` wraps the workspace's data environment with the data adapters
(:mod:`flowai_harness.data`): a :class:`~flowai_harness.data.environment.DataBackends` bound to
the runtime tenant, the target database's schema reader, and the key-value store the runtime
uses (so documents ingested here are the ones its agents read). Everything is opened on first
use and closed with the Studio. Errors are scrubbed of connection secrets.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from flowai_harness.errors import HarnessError
from flowai_harness.studio.api_errors import StudioApiError, scrub_secrets
from flowai_harness.studio.store_db import utc_now
from flowai_harness.studio.workspaces import WorkspaceRuntimeBinding

if TYPE_CHECKING:
    from flowai_harness.data.environment import DataBackends
    from flowai_harness.data.profiling.schema import SchemaReader
    from flowai_harness.data.target.database import TargetDatabase
    from flowai_harness.data.toolkit.handlers import CatalogToolkit
    from flowai_harness.ports import KeyValueStore

__all__ = ["SOURCE_ID", "WorkspaceData", "check_source"]

#: The one synthetic data source of a workspace with a data environment.
SOURCE_ID: Final = "workspace-runtime"
_SOURCE_ALIASES: Final = ("", SOURCE_ID, "default")
_PG_SCHEMAS: Final = (
    "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN "
    "('information_schema', 'pg_catalog') AND schema_name NOT LIKE 'pg_toast%' "
    "AND schema_name NOT LIKE 'pg_temp%' ORDER BY schema_name"
)


def check_source(source_id: str | None) -> None:
    """Refuse any source but the workspace runtime's (404 ``data.source_not_found``)."""
    if (source_id or "") not in _SOURCE_ALIASES:
        raise StudioApiError(
            404,
            "data.source_not_found",
            f"Data source `{source_id}` was not found; this workspace has `{SOURCE_ID}`.",
            {"sourceId": source_id},
        )


def command_failed(exc: BaseException) -> StudioApiError:
    """A data command failed (409 ``data.command_failed``), message scrubbed."""
    text = str(exc) if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"
    return StudioApiError(409, "data.command_failed", scrub_secrets(text))


def _credential(descriptor: Mapping[str, Any]) -> dict[str, Any]:
    if descriptor.get("urlEnv"):
        return {"kind": "env", "ref": str(descriptor["urlEnv"])}
    if descriptor.get("secretRef"):
        return {"kind": "secretRef", "ref": str(descriptor["secretRef"])}
    url = str(descriptor.get("url") or "")
    if "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        return {"kind": "serverManaged"}
    return {"kind": "none"}


def _database_name(descriptor: Mapping[str, Any]) -> str | None:
    """The database file or name of a target URL (no credentials), or ``None`` if unknown."""
    url = descriptor.get("url")
    if not url and descriptor.get("urlEnv"):
        url = os.environ.get(str(descriptor["urlEnv"]))
    if not isinstance(url, str) or not url:
        return None
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:").lstrip("/").split("?", 1)[0]
        return PurePosixPath(path).name or None
    return urlsplit(url).path.lstrip("/") or None


class WorkspaceData:
    """Data services of one workspace; see the module doc.

    Args:
        binding: The workspace binding (its data environment and spec tenant).
    """

    def __init__(self, binding: WorkspaceRuntimeBinding) -> None:
        self.binding = binding
        self.env = binding.data_environment
        self.tenant = binding.runtime_spec.tenant.resource_id
        self._backends: DataBackends | None = None
        self._kv: KeyValueStore | None = None
        self._own_kv = False
        self._toolkit: CatalogToolkit | None = None
        self._lock = asyncio.Lock()
        self._opened_at = utc_now()

    # ------------------------------------------------------------------ plumbing

    def require(self) -> dict[str, Any]:
        """The data environment (409 ``data.environment_missing`` without one)."""
        if self.env is None:
            raise StudioApiError(
                409,
                "data.environment_missing",
                "This workspace has no data environment; pass data_environment to "
                "define_workspace_runtime() to use the data screens.",
                {"workspaceKey": self.binding.workspace_key},
            )
        return self.env

    async def backends(self) -> DataBackends:
        """The workspace's data backends (opened once)."""
        env = self.require()
        async with self._lock:
            if self._backends is None:
                from flowai_harness.data.environment import DataBackends

                try:
                    self._backends = DataBackends(env, self.tenant)
                except Exception as exc:
                    raise command_failed(exc) from None
            return self._backends

    async def kv(self, runtime: Any) -> KeyValueStore:
        """The key-value store of document bodies: the runtime's own, so agents see them."""
        compiled = getattr(runtime, "_compiled", None)
        kv: KeyValueStore | None = getattr(compiled, "kv", None)
        if kv is not None:
            return kv
        async with self._lock:
            if self._kv is None:
                from flowai_harness.storage.factory import open_key_value_store

                self._kv = open_key_value_store(self.require())
                self._own_kv = True
            return self._kv

    async def toolkit(self, runtime: Any) -> CatalogToolkit:
        """The catalog tools over this workspace's backends (one toolkit, reused: it closes
        the backends' pools when collected)."""
        from flowai_harness.data.toolkit.handlers import CatalogToolkit

        backends = await self.backends()
        if backends.kv is None:
            backends.kv = await self.kv(runtime)
        if self._toolkit is None:
            self._toolkit = CatalogToolkit(backends)
        return self._toolkit

    async def target(self) -> TargetDatabase:
        """The target database (409 when the environment has none)."""
        backends = await self.backends()
        if backends.target is None:
            raise StudioApiError(
                409,
                "data.command_failed",
                "This workspace's data environment has no target_database.",
            )
        return backends.target

    async def reader(self) -> SchemaReader:
        """The schema reader of the target database."""
        from flowai_harness.data.profiling.schema import open_schema_reader

        target = await self.target()
        try:
            return open_schema_reader(self.env, target)
        except Exception as exc:
            raise command_failed(exc) from None

    async def aclose(self) -> None:
        """Close the connections this object opened."""
        self._toolkit = None
        if self._backends is not None:
            await self._backends.aclose()
            self._backends = None
        if self._kv is not None and self._own_kv:
            await self._kv.close()
            self._kv = None

    # ------------------------------------------------------------------ sources

    def sources(self, workspace_key: str) -> list[dict[str, Any]]:
        """The workspace's one read-only source (``workspace-runtime``)."""
        env = self.require()
        target = env.get("targetDatabase") or {}
        legacy = env.get("targetDatabaseUrl")
        kind = target.get("kind") or (
            "sqlite" if isinstance(legacy, str) and legacy.startswith("sqlite:") else "postgres"
        )
        if not target and not legacy:
            kind = "custom"
        schema = target.get("schema") or env.get("targetDatabaseSchema")
        if schema is None:
            schema = "main" if kind == "sqlite" else "public"
        descriptor = target or ({"url": legacy} if legacy else {})
        database_type = "postgresql" if kind == "postgres" else kind
        return [
            {
                "id": SOURCE_ID,
                "sourceId": SOURCE_ID,
                "name": "Workspace runtime",
                "displayName": "Workspace runtime",
                "kind": kind,
                "type": database_type,
                "databaseType": database_type,
                "status": "configured",
                "state": "ready",
                "host": SOURCE_ID,
                "port": 0,
                "databaseName": _database_name(descriptor) or self.binding.resource_id,
                "schemaName": schema,
                "encryptedCredentials": None,
                "isActive": True,
                "createdAt": self._opened_at,
                "updatedAt": self._opened_at,
                "credential": _credential(descriptor),
                "metadata": {
                    "readOnly": True,
                    "resourceId": self.binding.resource_id,
                    "workspaceKey": workspace_key,
                },
            }
        ]

    # ------------------------------------------------------------------ discovery

    async def schemas(self) -> list[str]:
        """Schema names of the target database."""
        target = await self.target()
        if target.kind != "postgres":
            return [target.default_schema]
        try:
            result = await target.execute_query(_PG_SCHEMAS, limit=1000)
        except Exception as exc:
            raise command_failed(exc) from None
        return [str(row["schema_name"]) for row in result.rows]

    async def _row_count(self, schema: str, table: str) -> int | None:
        from flowai_harness.data.profiling.stats import quote_identifier

        target = await self.target()
        source = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        try:
            result = await target.execute_query(f"SELECT COUNT(*) AS n FROM {source}", limit=1)
        except Exception:
            return None  # a table the read-only user cannot count still lists
        value = result.rows[0].get("n") if result.rows else None
        return value if isinstance(value, int) else None

    async def _descriptions(self, schema: str) -> dict[str, str]:
        backends = await self.backends()
        if backends.catalog is None:
            return {}
        try:
            entries = await backends.catalog.list_entries(backends.scope, ["table"], limit=10_000)
        except Exception:
            return {}
        found: dict[str, str] = {}
        for entry in entries:
            meta = entry.metadata if isinstance(entry.metadata, Mapping) else {}
            if str(meta.get("schemaName", schema)).lower() == schema.lower():
                found[str(meta.get("tableName", entry.name)).lower()] = entry.content
        return found

    async def _column_profiles(self, schema: str, table: str) -> dict[str, dict[str, Any]]:
        """What profiling stored about each column of a table, by lower-cased column name:
        ``description`` and the ``distinctCount`` / ``nullCount`` / ``totalCount`` /
        ``semanticType`` it found (empty before the table is profiled)."""
        backends = await self.backends()
        if backends.catalog is None:
            return {}
        try:
            entries = await backends.catalog.list_entries(backends.scope, ["column"], limit=10_000)
        except Exception:
            return {}
        found: dict[str, dict[str, Any]] = {}
        for entry in entries:
            meta = entry.metadata if isinstance(entry.metadata, Mapping) else {}
            if str(meta.get("schemaName", "")).lower() != schema.lower():
                continue
            if str(meta.get("tableName", "")).lower() != table.lower():
                continue
            keys = ("distinctCount", "nullCount", "totalCount", "semanticType")
            profile = {key: meta[key] for key in keys if meta.get(key) is not None}
            if entry.content:
                profile["description"] = entry.content
            found[str(meta.get("columnName", entry.name)).lower()] = profile
        return found

    def _schema(self, schema: str | None, reader: SchemaReader) -> str:
        return schema.strip() if schema and schema.strip() else reader.default_schema

    async def tables(self, schema: str | None) -> list[dict[str, Any]]:
        """The tables of a schema with column and row counts and catalog descriptions."""
        reader = await self.reader()
        name = self._schema(schema, reader)
        try:
            listed = await reader.list_tables(name)
            descriptions = await self._descriptions(name)
            rows = []
            for table, kind in listed:
                described = await reader.describe_table(name, table, kind)
                rows.append(
                    {
                        "tableName": table,
                        "schemaName": name,
                        "columnCount": len(described.columns),
                        "tableType": kind,
                        "rowCount": await self._row_count(name, table),
                        "description": descriptions.get(table.lower()),
                    }
                )
        except StudioApiError:
            raise
        except Exception as exc:
            raise command_failed(exc) from None
        return rows

    async def describe(self, schema: str | None, table: str) -> dict[str, Any]:
        """One table: type, columns (with keys), foreign keys, row count, description."""
        reader = await self.reader()
        name = self._schema(schema, reader)
        try:
            kinds = dict(await reader.list_tables(name))
            if table not in kinds:
                raise StudioApiError(
                    404,
                    "data.table_not_found",
                    f"Table `{table}` was not found in schema `{name}`.",
                    {"schemaName": name, "tableName": table},
                )
            described = await reader.describe_table(name, table, kinds[table])
            descriptions = await self._descriptions(name)
            profiles = await self._column_profiles(name, table)
        except StudioApiError:
            raise
        except Exception as exc:
            raise command_failed(exc) from None
        columns = [
            {
                "name": column.name,
                "columnName": column.name,
                "dataType": column.data_type,
                "nullable": column.nullable,
                "default": column.default,
                "ordinal": column.ordinal,
                "primaryKey": column.primary_key,
                "foreignKey": self._foreign(described, column.name),
                "profile": profiles.get(column.name.lower()),
            }
            for column in described.columns
        ]
        return {
            "tableName": table,
            "schemaName": name,
            "tableType": kinds[table],
            "columnCount": len(columns),
            "rowCount": await self._row_count(name, table),
            "description": descriptions.get(table.lower()),
            "primaryKey": list(described.primary_key),
            "foreignKeys": [
                {
                    "columns": list(key.columns),
                    "referencedSchema": key.referenced_schema,
                    "referencedTable": key.referenced_table,
                    "referencedColumns": list(key.referenced_columns),
                }
                for key in described.foreign_keys
            ],
            "columns": columns,
        }

    @staticmethod
    def _foreign(described: Any, column: str) -> dict[str, str] | None:
        found = described.foreign_key_of(column)
        if found is None:
            return None
        key, _schema, ref_column = found
        return {
            "referencedSchema": key.referenced_schema,
            "referencedTable": key.referenced_table,
            "referencedColumn": ref_column,
        }

    async def sample(self, schema: str | None, table: str, limit: int) -> dict[str, Any]:
        """Up to ``limit`` rows of a table, read through the checked read-only path."""
        detail = await self.describe(schema, table)
        target = await self.target()
        started = time.perf_counter()
        try:
            result = await target.sample_table(f"{detail['schemaName']}.{table}", None, limit)
        except Exception as exc:
            raise command_failed(exc) from None
        return {
            "rows": result.rows,
            "metadata": {
                "tableName": table,
                "schemaName": detail["schemaName"],
                "columns": result.columns,
                "rowCount": result.row_count,
                "truncated": result.truncated,
                "queryTimeMs": round((time.perf_counter() - started) * 1000),
            },
        }
