"""Data commands the Studio runs for a workspace: profile estimate, profiling,
knowledge ingestion, knowledge lists and direct catalog tool calls (search and metrics live
in ``data_search``).

Profiling enrichment and knowledge extraction call a model only when the workspace's runtime is
live and one of its clients serves the model's provider (the app's providers config, read by
``create_runtime``); they then go through that client, as the runtime's agents do. With an
offline runtime (noop, scripted, the testing mock) profiling uses the deterministic enricher and
nothing leaves the machine, and extraction is refused.

A profiling or ingest job is checked first (a bad request is a 4xx before any stream starts),
then streamed live: :func:`stream_job` runs it in a task of its own, records each event as a run
event as it happens (thread ``data:<operation>``, agent ``flowai-runtime-data``, run id = the
job id) and sends it to the browser at once. A browser that leaves does not stop the job; it is
recorded to its end and can be read back from the runs list. Each event keeps its native fields
(``type`` …) and also carries the Studio event fields (``schemaVersion``, ``seq``, ``kind`` such
as ``profile.progress``, ``payload``). A job that fails after the stream started ends with an
``error`` event (``profile.failed`` / ``ingest.failed``) whose message is scrubbed of secrets.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import unquote, urlparse

from flowai_harness.studio.api_errors import StudioApiError, scrub_secrets
from flowai_harness.studio.apps import STUDIO_API_VERSION
from flowai_harness.studio.live_runs import Frame
from flowai_harness.studio.workspace_data import WorkspaceData, command_failed
from flowai_harness.studio.workspace_store import WorkspaceStore

if TYPE_CHECKING:
    from flowai_harness.data.profiling.enrichment import TableEnricher
    from flowai_harness.ports import ModelClient

__all__ = [
    "DATA_AGENT",
    "DEFAULT_DATABASE_ID",
    "execute_catalog_tool",
    "ingest_knowledge",
    "knowledge_documents",
    "knowledge_items",
    "profile",
    "profile_estimate",
    "record_job",
    "stream_job",
]

_log = logging.getLogger(__name__)
#: Job tasks still running; a strong reference keeps a job whose browser left from being
#: garbage-collected before it ends.
_JOBS: Final[set[asyncio.Task[None]]] = set()

#: The agent id data jobs are recorded under.
DATA_AGENT: Final = "flowai-runtime-data"
#: The logical database id of profiling and ingestion when the request names none.
DEFAULT_DATABASE_ID: Final = "default"

_PROFILE_KINDS: Final = {
    "started": "profile.started",
    "progress": "profile.progress",
    "tableProfiled": "profile.table.profiled",
    "tableEnriched": "profile.table.enriched",
    "tableCompleted": "profile.table.completed",
    "tableFailed": "profile.table.failed",
    "completed": "profile.completed",
    "error": "profile.failed",
}
_INGEST_KINDS: Final = {
    "discovered": "ingest.discovered",
    "ingesting": "ingest.progress",
    "completed": "ingest.completed",
    "error": "ingest.failed",
}


def _bad(code: str, message: str) -> StudioApiError:
    return StudioApiError(400, code, message)


def _text(body: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _bad("request.invalid_body", f"`{names[0]}` must be a string.")
        return value.strip() or None
    return None


def _tables(body: Mapping[str, Any]) -> tuple[str, ...]:
    tables = body.get("tables", body.get("tableNames")) or []
    if isinstance(tables, str):
        tables = [tables]
    if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
        raise _bad("request.invalid_body", "`tables` must be a list of table names.")
    return tuple(t for t in tables if t.strip())


def _profile_request(body: Mapping[str, Any], tables: Sequence[str]) -> Any:
    from flowai_harness.data.profiling.profiler import ProfileRequest

    size = body.get("sampleSize", body.get("sample_size", 10))
    if not isinstance(size, int) or isinstance(size, bool):
        raise _bad("request.invalid_body", "`sampleSize` must be an integer between 1 and 100.")
    try:
        return ProfileRequest(
            _text(body, "databaseId", "database_id") or DEFAULT_DATABASE_ID,
            _text(body, "schemaName", "schema", "schema_name"),
            tuple(tables),
            size,
        )
    except ValueError as exc:
        raise _bad("request.invalid_body", str(exc)) from None


def _model_id(body: Mapping[str, Any]) -> str:
    from flowai_harness.data.profiling.profiler import DEFAULT_ENRICHMENT_MODEL

    return _text(body, "modelId", "model_id", "model") or DEFAULT_ENRICHMENT_MODEL


def _runtime_client(runtime: Any, model: str) -> tuple[ModelClient, str] | None:
    """The runtime's live client for ``model``'s provider, with that provider key; ``None``
    when the runtime answers offline or none of its clients serves the provider."""
    from flowai_harness.specs.agents import ModelSpec, resolve_model_provider

    provider = resolve_model_provider(ModelSpec(id=model))
    agents = getattr(getattr(runtime, "_compiled", None), "agents", None) or {}
    for agent in agents.values():
        if agent.provider == provider and getattr(agent.client, "live", False):
            return agent.client, provider
    return None


def _enricher(runtime: Any, body: Mapping[str, Any]) -> TableEnricher:
    from flowai_harness.data.profiling.enrichment import FallbackEnricher, ModelEnricher

    model = _model_id(body)
    found = _runtime_client(runtime, model)
    if found is None:
        return FallbackEnricher()
    client, provider = found
    return ModelEnricher(client, model, provider=provider)


async def profile_estimate(data: WorkspaceData, body: Mapping[str, Any]) -> dict[str, Any]:
    """Estimate a profiling job (no writes, no network)."""
    from flowai_harness.data.profiling.profiler import estimate_profile

    request = _profile_request(body, _tables(body))
    reader = await data.reader()
    model = _model_id(body)
    try:
        estimate = await estimate_profile(reader, request, model_id=model)
    except Exception as exc:
        raise command_failed(exc) from None
    native = estimate.to_dict()
    return {
        **native,
        "rowsSampled": estimate.tables * request.sample_size,
        "estimatedMs": estimate.estimated_duration_secs * 1000,
        "sampleSize": request.sample_size,
    }


async def profile(
    data: WorkspaceData, runtime: Any, mode: str, body: Mapping[str, Any]
) -> tuple[str, AsyncIterator[dict[str, Any]]]:
    """Check and start one profiling job (``table`` or ``database``).

    Returns:
        ``(job id, its native events)``; the job runs as the events are read.

    Raises:
        StudioApiError: The request is invalid or the data environment cannot start.
    """
    from flowai_harness.data.profiling.profiler import Profiler, target_fingerprint

    if mode == "table":
        table = _text(body, "tableName", "table_name", "table")
        if table is None:
            raise _bad("request.invalid_body", "`tableName` is required to profile a table.")
        tables: Sequence[str] = (table,)
    else:
        tables = _tables(body)
    request = _profile_request(body, tables)
    backends = await data.backends()
    reader = await data.reader()
    kv = await data.kv(runtime)
    try:
        profiler = Profiler(
            backends,
            reader,
            _enricher(runtime, body),
            kv=kv,
            status_kv=kv,
            target_fingerprint=target_fingerprint(data.env),
            scrub=lambda text: scrub_secrets(backends.scrub(text)),
        )
        await backends.ensure_started(kv)
    except Exception as exc:
        raise command_failed(exc) from None
    job_id = str(uuid.uuid4())
    job_mode: Literal["table", "database"] = "table" if mode == "table" else "database"
    return job_id, profiler.run(request, job_mode, job_id=job_id)


def _local_dir(source: Mapping[str, Any]) -> Path:
    raw = source.get("path", source.get("localDir", source.get("local_dir", source.get("uri"))))
    if not isinstance(raw, str) or not raw.strip():
        raise _bad(
            "data.knowledge.invalid_source",
            "`source` needs `path` (a local folder) or a `file://` `uri`.",
        )
    raw = raw.strip()
    if "://" in raw:
        parsed = urlparse(raw)
        if parsed.scheme != "file":
            raise _bad(
                "data.knowledge.invalid_source",
                f"Only local folders can be ingested; got a {parsed.scheme}:// URI.",
            )
        raw = unquote(parsed.path)
    return Path(raw).expanduser()


def _extensions(source: Mapping[str, Any]) -> tuple[str, ...]:
    raw = source.get("extensions", source.get("ext")) or ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not all(isinstance(e, str) for e in raw):
        raise _bad("data.knowledge.invalid_source", "`source.extensions` must be a list.")
    return tuple(raw)


def reshape_ingest(event: Mapping[str, Any]) -> dict[str, Any]:
    """An ingest event in the Studio's shape."""
    kind = event.get("type")
    if kind == "discovered":
        return {"type": "discovered", "totalFiles": event.get("total", 0)}
    if kind == "ingesting":
        return {
            "type": "ingesting",
            "current": event.get("current", 0),
            "total": event.get("total", 0),
            "fileName": event.get("name", ""),
        }
    if kind == "completed":
        return {
            "type": "completed",
            "documentsIngested": event.get("new", 0),
            "documentsSkipped": event.get("skippedDuplicate", 0),
            "knowledgeItemsExtracted": event.get("knowledgeItemsExtracted", 0),
            "errors": event.get("errors", []),
            "skipped": event.get("skipped", []),
        }
    return {"type": "error", "message": str(event.get("message", "ingestion failed"))}


def _extraction_model(runtime: Any, body: Mapping[str, Any]) -> tuple[ModelClient, str, str]:
    """The runtime's client, provider key and model id for knowledge extraction (409 when the
    runtime has no live client for the model's provider)."""
    model = _model_id(body)
    found = _runtime_client(runtime, model)
    if found is None:
        raise StudioApiError(
            409,
            "data.command_failed",
            f"Knowledge extraction calls a model, and this workspace's runtime has no live client "
            f"for model {model!r} (it answers with an offline interpreter, or no provider entry "
            "serves the model); ingest without extractKnowledge, give the workspace a live "
            "runtime, or use `flowai-harness data knowledge ingest --extract-knowledge`.",
        )
    client, provider = found
    return client, provider, model


async def _extractor(data: WorkspaceData, model: tuple[ModelClient, str, str]) -> Any:
    """The knowledge extractor, grounded in the target database's tables and columns."""
    from flowai_harness.data.knowledge.extraction import KnowledgeExtractor, schema_outline

    reader = await data.reader()
    try:
        outline = await schema_outline(reader)
    except Exception as exc:
        raise command_failed(exc) from None
    client, provider, model_id = model
    return KnowledgeExtractor(client, model_id, outline, provider=provider)


async def ingest_knowledge(
    data: WorkspaceData, runtime: Any, body: Mapping[str, Any]
) -> tuple[str, AsyncIterator[dict[str, Any]]]:
    """Check and start ingesting a local folder of documents.

    Returns:
        ``(job id, its Studio-shaped events)``; the job runs as the events are read.

    Raises:
        StudioApiError: The source is invalid or extraction has no live model.
    """
    from flowai_harness.data.knowledge.ingestion import IngestRequest, KnowledgeIngestor

    source = body.get("source")
    if not isinstance(source, Mapping):
        raise _bad("data.knowledge.invalid_source", "`source` (an object) is required.")
    model = _extraction_model(runtime, body) if body.get("extractKnowledge") else None
    folder = _local_dir(source)
    if not folder.is_dir():
        raise _bad("data.knowledge.invalid_source", f"`{folder}` is not a folder.")
    try:
        request = IngestRequest(
            folder,
            _text(source, "databaseId", "database_id") or DEFAULT_DATABASE_ID,
            _extensions(source),
        )
    except ValueError as exc:
        raise _bad("data.knowledge.invalid_source", str(exc)) from None
    backends = await data.backends()
    kv = await data.kv(runtime)
    extractor = None if model is None else await _extractor(data, model)
    try:
        ingestor = KnowledgeIngestor(backends, kv, extractor=extractor, scrub=backends.scrub)
    except Exception as exc:
        raise command_failed(exc) from None

    async def events() -> AsyncIterator[dict[str, Any]]:
        async for event in ingestor.run(request):
            yield reshape_ingest(event)

    return str(uuid.uuid4()), events()


def _payload(kind: str, event: Mapping[str, Any]) -> dict[str, Any]:
    payload = {k: v for k, v in event.items() if k != "type"}
    status = event.get("status")
    if kind == "profile.progress" and isinstance(status, Mapping):
        # The contract's profile.progress fields, next to the native status record.
        payload.update(
            resourceId=status.get("databaseId"),
            status=status.get("status"),
            jobStatus=dict(status),
            tablesFound=status.get("tablesTotal", 0),
            tablesCompleted=status.get("tablesCompleted", 0),
            columnsProfiled=status.get("columnsProfiled", 0),
        )
    return payload


def _studio_kind(operation: str, event: Mapping[str, Any]) -> str:
    table = _INGEST_KINDS if operation == "data.knowledge.ingest" else _PROFILE_KINDS
    return table.get(str(event.get("type")), "data.event")


def _frame(
    store: WorkspaceStore, operation: str, run_id: str, seq: int, event: Mapping[str, Any]
) -> dict[str, Any]:
    kind = _studio_kind(operation, event)
    return {
        **event,
        "schemaVersion": STUDIO_API_VERSION,
        "workspaceKey": store.workspace_key,
        "runId": run_id,
        "threadId": f"data:{operation}",
        "agentId": DATA_AGENT,
        "seq": seq,
        "kind": kind,
        "payload": _payload(kind, event),
    }


async def _record(
    store: WorkspaceStore, operation: str, run_id: str, seq: int, event: Mapping[str, Any]
) -> dict[str, Any]:
    framed = _frame(store, operation, run_id, seq, event)
    await store.append_run_event(
        thread_id=framed["threadId"],
        run_id=run_id,
        seq=seq,
        kind=str(event.get("type", "event")),
        event=framed,
        raw_event=dict(event),
        operation=operation,
        agent_id=DATA_AGENT,
    )
    return framed


async def record_job(
    store: WorkspaceStore, operation: str, run_id: str, events: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Record a finished job's events as a run; return them with the Studio event fields."""
    return [
        await _record(store, operation, run_id, seq, event)
        for seq, event in enumerate(events, start=1)
    ]


async def _pump(
    store: WorkspaceStore,
    operation: str,
    run_id: str,
    events: AsyncIterator[Mapping[str, Any]],
    out: asyncio.Queue[dict[str, Any] | None],
) -> None:
    seq = 0
    try:
        try:
            async for event in events:
                seq += 1
                out.put_nowait(await _record(store, operation, run_id, seq, event))
        except Exception as exc:  # the job failed after its stream started
            message = scrub_secrets(command_failed(exc).message)
            seq += 1
            failed = {"type": "error", "message": message}
            out.put_nowait(await _record(store, operation, run_id, seq, failed))
    except Exception:  # the store itself failed: nothing more can be recorded
        _log.exception("data job %s (%s) could not be recorded", run_id, operation)
    finally:
        out.put_nowait(None)


async def stream_job(
    store: WorkspaceStore,
    operation: str,
    run_id: str,
    events: AsyncIterator[Mapping[str, Any]],
) -> AsyncIterator[Frame]:
    """Run a job in a task of its own, recording each event as a run event, and yield each
    one as a frame as soon as it is recorded. A reader that stops early leaves the job going."""
    out: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    task = asyncio.create_task(_pump(store, operation, run_id, events, out))
    _JOBS.add(task)
    task.add_done_callback(_JOBS.discard)
    while (framed := await out.get()) is not None:
        yield Frame("", framed)


async def _kv_index(data: WorkspaceData, runtime: Any, index_key: str, prefix: str) -> list[Any]:
    from flowai_harness.data.knowledge.projection import index_ids

    backends = await data.backends()
    kv = await data.kv(runtime)
    tenant = backends.scope.kv_tenant
    try:
        ids = index_ids(await kv.get(tenant, index_key))
        values = [await kv.get(tenant, f"{prefix}{item_id}") for item_id in ids]
    except Exception as exc:
        raise command_failed(exc) from None
    return [value for value in values if isinstance(value, dict)]


async def knowledge_documents(data: WorkspaceData, runtime: Any) -> list[dict[str, Any]]:
    """Ingested documents, newest first, without their bodies (``contentLength`` instead)."""
    from flowai_harness.data.knowledge.projection import DOCUMENTS_INDEX_KEY

    documents = await _kv_index(data, runtime, DOCUMENTS_INDEX_KEY, "data:document:")
    listed = []
    for document in documents:
        content = document.get("content")
        summary = {k: v for k, v in document.items() if k != "content"}
        summary["contentLength"] = len(content) if isinstance(content, str) else 0
        listed.append(summary)
    return listed


async def knowledge_items(data: WorkspaceData, runtime: Any) -> list[dict[str, Any]]:
    """Extracted knowledge items, newest first."""
    from flowai_harness.data.knowledge.projection import KNOWLEDGE_INDEX_KEY

    return await _kv_index(data, runtime, KNOWLEDGE_INDEX_KEY, "data:knowledge:")


async def execute_catalog_tool(data: WorkspaceData, runtime: Any, name: str, args: Any) -> Any:
    """Run one catalog tool directly; return its ``ToolOutcome``."""
    toolkit = await data.toolkit(runtime)
    handler: Any = toolkit.handlers()[name]
    # Catalog handlers read the call only to find the runtime's KV store, set on the backends.
    return await handler(None, args)
