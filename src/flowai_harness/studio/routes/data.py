"""Data (Connect) routes: the workspace source, discovery, profiling,
knowledge ingestion and lists, catalog search and metrics. All need a data environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from flowai_harness.studio.api_errors import StudioApiError
from flowai_harness.studio.context import Workspace, workspace_scope
from flowai_harness.studio.data_jobs import (
    ingest_knowledge,
    knowledge_documents,
    knowledge_items,
    profile,
    profile_estimate,
    stream_job,
)
from flowai_harness.studio.data_search import list_metrics, search_catalog
from flowai_harness.studio.sse import sse_response
from flowai_harness.studio.workspace_data import WorkspaceData, check_source

__all__ = ["router"]

W = "/api/workspaces/{workspace_key}"
D = f"{W}/data"


async def _body(request: Request) -> Mapping[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise StudioApiError(
            400, "request.invalid_json", "The request body must be valid JSON."
        ) from None
    if not isinstance(body, Mapping):
        raise StudioApiError(400, "request.invalid_body", "The request body must be an object.")
    return body


def _data(workspace: Workspace, source_id: str | None = None) -> WorkspaceData:
    data = workspace.data()
    data.require()
    check_source(source_id)
    return data


async def list_sources(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    return {"workspaceKey": workspace.key, "sources": _data(workspace).sources(workspace.key)}


async def list_schemas(
    workspace: Workspace = Depends(workspace_scope),
    source_id: str | None = Query(None, alias="sourceId"),
) -> dict[str, Any]:
    schemas = await _data(workspace, source_id).schemas()
    return {"workspaceKey": workspace.key, "schemas": schemas}


async def list_tables(
    workspace: Workspace = Depends(workspace_scope),
    schema: str | None = None,
    source_id: str | None = Query(None, alias="sourceId"),
) -> dict[str, Any]:
    tables = await _data(workspace, source_id).tables(schema)
    return {"workspaceKey": workspace.key, "tables": tables}


async def get_table(
    table_name: str,
    workspace: Workspace = Depends(workspace_scope),
    schema: str | None = None,
    source_id: str | None = Query(None, alias="sourceId"),
) -> dict[str, Any]:
    table = await _data(workspace, source_id).describe(schema, table_name)
    return {"workspaceKey": workspace.key, "table": table}


async def list_columns(
    table_name: str,
    workspace: Workspace = Depends(workspace_scope),
    schema: str | None = None,
    source_id: str | None = Query(None, alias="sourceId"),
) -> dict[str, Any]:
    table = await _data(workspace, source_id).describe(schema, table_name)
    return {
        "workspaceKey": workspace.key,
        "tableName": table_name,
        "schemaName": table["schemaName"],
        "columns": table["columns"],
    }


async def sample_table(
    table_name: str,
    workspace: Workspace = Depends(workspace_scope),
    schema: str | None = None,
    limit: int = Query(10, ge=1, le=100),
    source_id: str | None = Query(None, alias="sourceId"),
) -> dict[str, Any]:
    sample = await _data(workspace, source_id).sample(schema, table_name, limit)
    return {"workspaceKey": workspace.key, **sample}


async def estimate(request: Request, workspace: Workspace = Depends(workspace_scope)) -> Any:
    data = _data(workspace)
    body = await _body(request)
    return {"workspaceKey": workspace.key, "estimate": await profile_estimate(data, body)}


async def _run_profile(request: Request, workspace: Workspace, mode: str) -> Any:
    data = _data(workspace)
    body = await _body(request)
    runtime = await workspace.runtime()
    job_id, events = await profile(data, runtime, mode, body)
    return sse_response(stream_job(workspace.store, f"data.profile.{mode}", job_id, events))


async def profile_table(request: Request, workspace: Workspace = Depends(workspace_scope)) -> Any:
    return await _run_profile(request, workspace, "table")


async def profile_database(
    request: Request, workspace: Workspace = Depends(workspace_scope)
) -> Any:
    return await _run_profile(request, workspace, "database")


async def ingest(request: Request, workspace: Workspace = Depends(workspace_scope)) -> Any:
    data = _data(workspace)
    body = await _body(request)
    runtime = await workspace.runtime()
    job_id, events = await ingest_knowledge(data, runtime, body)
    return sse_response(stream_job(workspace.store, "data.knowledge.ingest", job_id, events))


async def list_documents(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    data = _data(workspace)
    documents = await knowledge_documents(data, await workspace.runtime())
    return {"workspaceKey": workspace.key, "documents": documents}


async def list_items(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    data = _data(workspace)
    items = await knowledge_items(data, await workspace.runtime())
    return {"workspaceKey": workspace.key, "items": items}


async def search(request: Request, workspace: Workspace = Depends(workspace_scope)) -> Any:
    data = _data(workspace)
    body = await _body(request)
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise StudioApiError(400, "request.invalid_body", "`query` (a string) is required.")
    mode = body.get("mode") or "all"
    limit = body.get("limit", 20)
    if not isinstance(mode, str) or not isinstance(limit, int) or isinstance(limit, bool):
        raise StudioApiError(
            400, "request.invalid_body", "`mode` must be a string and `limit` an integer."
        )
    result = await search_catalog(
        data, await workspace.runtime(), query.strip(), mode, max(1, min(limit, 20))
    )
    return {"workspaceKey": workspace.key, "search": result}


async def metrics(
    workspace: Workspace = Depends(workspace_scope),
    query: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
) -> dict[str, Any]:
    found = await list_metrics(_data(workspace), query, limit)
    return {"workspaceKey": workspace.key, "metrics": found}


def router() -> APIRouter:
    """Build the data routes."""
    api = APIRouter(tags=["data"])
    api.add_api_route(f"{D}/sources", list_sources, methods=["GET"])
    api.add_api_route(f"{D}/discovery/schemas", list_schemas, methods=["GET"])
    api.add_api_route(f"{D}/discovery/tables", list_tables, methods=["GET"])
    api.add_api_route(f"{D}/discovery/tables/{{table_name}}", get_table, methods=["GET"])
    api.add_api_route(f"{D}/discovery/tables/{{table_name}}/columns", list_columns, methods=["GET"])
    api.add_api_route(f"{D}/discovery/tables/{{table_name}}/sample", sample_table, methods=["GET"])
    api.add_api_route(f"{D}/profile/estimate", estimate, methods=["POST"])
    api.add_api_route(f"{D}/profile/table", profile_table, methods=["POST"])
    api.add_api_route(f"{D}/profile/database", profile_database, methods=["POST"])
    api.add_api_route(f"{D}/knowledge/ingest", ingest, methods=["POST"])
    api.add_api_route(f"{D}/knowledge/documents", list_documents, methods=["GET"])
    api.add_api_route(f"{D}/knowledge/items", list_items, methods=["GET"])
    api.add_api_route(f"{D}/search", search, methods=["POST"])
    api.add_api_route(f"{D}/metrics", metrics, methods=["GET"])
    return api
