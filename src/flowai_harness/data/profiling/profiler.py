"""Profiling a target database into the catalog: estimate, table and database.

:class:`Profiler` runs one job and yields its events as camelCase dicts tagged by ``type``:

* ``started{jobId}``;
* ``progress{status{status, jobId, databaseId, tablesTotal, tablesCompleted, tablesFailed,
  columnsProfiled, tableName?}}`` with status ``queued``, ``discovering``, ``profiling``,
  ``enriching``, ``extracting``, ``indexing``, then ``completed`` or ``failed``;
* per table ``tableProfiled{tableName, columns, durationMs}``, ``tableEnriched{tableName,
  source, fallbackReason?}``, ``tableCompleted{tableName, summary}`` or
  ``tableFailed{tableName, error}``;
* ``completed{summary}`` (``tablesDiscovered``, ``columnsProfiled``, ``enumsExtracted``,
  ``relationshipsFound``, ``catalogItemsIndexed``, ``durationMs``, plus ``tablesFailed`` and the
  ``enrichment*`` counters when non-zero), or ``error{message}`` when the job cannot run.

Database mode lists the schema's tables (optionally only the requested ones) and profiles four
at a time; table mode profiles one. Each table's entries are written as soon as it is done, so
a failing table never loses the others. The job status is kept in KV at
``ingest:status:<jobId>`` for 24 hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from flowai_harness._clock import utc_millis
from flowai_harness.data.catalog.store import read_only_error
from flowai_harness.data.environment import DataBackends, check_database_id
from flowai_harness.data.profiling.enrichment import DatabaseContext, TableEnricher
from flowai_harness.data.profiling.entries import (
    ProfilingRun,
    TableEntries,
    build_table_entries,
    stale_entry_ids,
)
from flowai_harness.data.profiling.schema import SchemaReader, TableKind, TableSchema
from flowai_harness.data.profiling.stats import profile_table
from flowai_harness.data.target.database import TargetDatabase
from flowai_harness.errors import DataEnvironmentError, HarnessError, SpecValueError
from flowai_harness.ports import KeyValueStore
from flowai_harness.specs.data_environment import redact_url, resolve_url

__all__ = [
    "DEFAULT_ENRICHMENT_MODEL",
    "DEFAULT_SAMPLE_SIZE",
    "JOB_STATUS_TTL_MS",
    "ProfileEstimate",
    "ProfileRequest",
    "Profiler",
    "estimate_profile",
    "job_status_key",
    "require_target",
    "target_fingerprint",
]

DEFAULT_SAMPLE_SIZE = 10
#: Enrichment model when neither a flag nor ``FLOWAI_PROFILE_ANTHROPIC_MODEL`` names one.
DEFAULT_ENRICHMENT_MODEL = "claude-haiku-4-5"
#: Job status records expire after 24 hours.
JOB_STATUS_TTL_MS = 24 * 3600 * 1000
_CONCURRENCY = 4
# Token heuristics of the estimate (the enrichment prompt's fixed part is cached after the first
# table; each column costs its schema line, statistics and sampled values).
_PROMPT_TOKENS = 350
_TABLE_TOKENS = 120
_COLUMN_TOKENS = 40
_SAMPLE_VALUE_TOKENS = 6
_OUTPUT_TABLE_TOKENS = 150
_OUTPUT_COLUMN_TOKENS = 45

ProfileMode = Literal["table", "database"]
CostOf = Callable[[str, int, int, int], float | None]


def require_target(backends: DataBackends) -> TargetDatabase:
    """Return the environment's target database.

    Raises:
        DataEnvironmentError: The environment has none.
    """
    if backends.target is None:
        raise DataEnvironmentError(
            "profiling requires data_environment.target_database (or target_database_url)"
        )
    return backends.target


def target_fingerprint(env: Mapping[str, Any] | None) -> str:
    """A short, secret-free identifier of the target database (kind, redacted URL, schema)."""
    env = env or {}
    descriptor = env.get("targetDatabase") or {}
    try:
        url = resolve_url(descriptor, section="target_database") if descriptor else None
    except HarnessError:
        url = None
    url = url or env.get("targetDatabaseUrl") or ""
    kind = descriptor.get("kind") or ("sqlite" if str(url).startswith("sqlite:") else "postgres")
    schema = descriptor.get("schema") or env.get("targetDatabaseSchema") or ""
    text = f"{kind}:{redact_url(str(url))}:{schema}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ProfileRequest:
    """What to profile.

    Attributes:
        database_id: Logical id of the target database (reused by every command linking to it).
        schema: Schema to read; ``None`` is the target's default (``main`` / ``public``).
        tables: Only these tables (database mode) or the one table (table mode).
        sample_size: Rows sampled per table (1-100).
    """

    database_id: str
    schema: str | None = None
    tables: tuple[str, ...] = ()
    sample_size: int = DEFAULT_SAMPLE_SIZE

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "database_id", check_database_id(self.database_id, "catalog profiling")
        )
        if not 1 <= int(self.sample_size) <= 100:
            raise SpecValueError(f"sample_size must be between 1 and 100; got {self.sample_size}")
        if self.schema is not None and not self.schema.strip():
            raise SpecValueError("schema must not be blank")
        for table in self.tables:
            if not table.strip():
                raise SpecValueError("table names must not be blank")


@dataclass(frozen=True, slots=True)
class ProfileEstimate:
    """The cost of profiling before doing it (``data profile estimate``)."""

    model_id: str
    tables: int
    columns: int
    estimated_input_tokens: int
    estimated_output_tokens: int
    estimated_cached_tokens: int
    estimated_cost_usd: float | None
    estimated_duration_secs: int

    def to_dict(self) -> dict[str, Any]:
        """The camelCase form (``estimatedCostUsd`` is ``null`` when unpriced)."""
        return {
            "modelId": self.model_id,
            "priced": self.estimated_cost_usd is not None,
            "tables": self.tables,
            "columns": self.columns,
            "estimatedInputTokens": self.estimated_input_tokens,
            "estimatedOutputTokens": self.estimated_output_tokens,
            "estimatedCachedTokens": self.estimated_cached_tokens,
            "estimatedCostUsd": self.estimated_cost_usd,
            "estimatedDurationSecs": self.estimated_duration_secs,
        }


async def _select_tables(
    reader: SchemaReader,
    schema: str,
    wanted: Sequence[str],
    available: Sequence[tuple[str, TableKind]] | None = None,
) -> list[tuple[str, TableKind]]:
    available = list(available if available is not None else await reader.list_tables(schema))
    if not wanted:
        return available
    by_name = {name: (name, kind) for name, kind in available}
    by_folded: dict[str, list[tuple[str, TableKind]]] = {}
    for name, kind in available:
        by_folded.setdefault(name.lower(), []).append((name, kind))
    chosen: list[tuple[str, TableKind]] = []
    missing: list[str] = []
    for name in dict.fromkeys(t.strip() for t in wanted):
        folded = by_folded.get(name.lower(), [])
        match = by_name.get(name) or (folded[0] if len(folded) == 1 else None)
        if match is None:
            missing.append(name)
        elif match not in chosen:
            chosen.append(match)
    if missing:
        known = ", ".join(n for n, _ in available[:20]) or "none"
        raise SpecValueError(
            f"requested tables not found in schema: {', '.join(missing)} (schema {schema} has: "
            f"{known}{', …' if len(available) > 20 else ''})"
        )
    return chosen


async def estimate_profile(
    reader: SchemaReader,
    request: ProfileRequest,
    *,
    model_id: str,
    cost_of: CostOf | None = None,
) -> ProfileEstimate:
    """Count what profiling would cover and estimate its tokens, cost and duration.

    Args:
        reader: Schema reader of the target database.
        request: Schema and table filter (sample size sizes the prompts).
        model_id: The enrichment model.
        cost_of: ``(model, input, output, cached) -> USD`` or ``None``; without it (or when it
            returns ``None``) the cost is unavailable.

    Raises:
        SpecValueError: A requested table does not exist.
        StoreError: The schema could not be read.
    """
    schema = request.schema or reader.default_schema
    selected = await _select_tables(reader, schema, request.tables)
    columns = 0
    for name, kind in selected:
        columns += len((await reader.describe_table(schema, name, kind)).columns)
    tables = len(selected)
    per_column = _COLUMN_TOKENS + _SAMPLE_VALUE_TOKENS * request.sample_size
    cached = _PROMPT_TOKENS * max(0, tables - 1)
    input_tokens = tables * (_PROMPT_TOKENS + _TABLE_TOKENS) + columns * per_column
    output_tokens = tables * _OUTPUT_TABLE_TOKENS + columns * _OUTPUT_COLUMN_TOKENS
    cost = cost_of(model_id, input_tokens, output_tokens, cached) if cost_of else None
    return ProfileEstimate(
        model_id=model_id,
        tables=tables,
        columns=columns,
        estimated_input_tokens=input_tokens,
        estimated_output_tokens=output_tokens,
        estimated_cached_tokens=cached,
        estimated_cost_usd=None if cost is None else round(cost, 6),
        estimated_duration_secs=2 * columns,
    )


def _ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)


@dataclass(slots=True)
class _Job:
    job_id: str
    database_id: str
    emit: Callable[[dict[str, Any] | None], None]
    started: float = field(default_factory=time.monotonic)
    totals: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "tablesDiscovered",
                "columnsProfiled",
                "enumsExtracted",
                "relationshipsFound",
                "catalogItemsIndexed",
                "tablesCompleted",
                "tablesFailed",
                "enrichmentFresh",
                "enrichmentCacheHits",
                "enrichmentFallbacks",
                "enrichmentDegraded",
            ),
            0,
        )
    )

    def status(self, status: str, table: str | None = None) -> dict[str, Any]:
        record: dict[str, Any] = {
            "status": status,
            "jobId": self.job_id,
            "databaseId": self.database_id,
            "tablesTotal": self.totals["tablesDiscovered"],
            "tablesCompleted": self.totals["tablesCompleted"],
            "tablesFailed": self.totals["tablesFailed"],
            "columnsProfiled": self.totals["columnsProfiled"],
            "updatedAt": utc_millis(),
        }
        if table is not None:
            record["tableName"] = table
        return record

    def summary(self) -> dict[str, Any]:
        keys = (
            "tablesDiscovered",
            "columnsProfiled",
            "enumsExtracted",
            "relationshipsFound",
            "catalogItemsIndexed",
        )
        summary: dict[str, Any] = {key: self.totals[key] for key in keys}
        summary["durationMs"] = _ms(self.started)
        for key in (
            "tablesFailed",
            "enrichmentDegraded",
            "enrichmentCacheHits",
            "enrichmentFallbacks",
            "enrichmentFresh",
        ):
            if self.totals[key]:
                summary[key] = self.totals[key]
        return summary


class Profiler:
    """Runs profiling jobs against one data environment scope.

    Args:
        backends: The environment's backends (target database and a writable catalog needed).
        reader: The schema reader of the target database.
        enricher: Fallback (``--schema-only``) or LLM enricher.
        kv: KV store of document bodies, for index write-through.
        status_kv: Where job status records go (``ingest:status:<jobId>``); none if ``None``.
        target_fingerprint: An identifier of the target (no secrets) stored as provenance.
        scrub: Masks secrets in error messages before they become events.
    """

    def __init__(
        self,
        backends: DataBackends,
        reader: SchemaReader,
        enricher: TableEnricher,
        *,
        kv: KeyValueStore | None = None,
        status_kv: KeyValueStore | None = None,
        target_fingerprint: str = "",
        scrub: Callable[[str], str] = lambda text: text,
    ) -> None:
        require_target(backends)
        if backends.catalog is None:
            raise DataEnvironmentError(
                "profiling/ingestion requires a durable catalog backend; "
                "data_environment.catalog is not configured"
            )
        if not backends.catalog.writable:
            raise read_only_error(backends.catalog.kind)
        self.backends = backends
        self.reader = reader
        self.enricher = enricher
        self.kv = kv
        self.status_kv = status_kv
        self.target_fingerprint = target_fingerprint
        self.scrub = scrub

    async def run(
        self, request: ProfileRequest, mode: ProfileMode = "database", *, job_id: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Run one job and yield its events as they happen (see the module doc).

        Stopping the iteration early cancels the job.
        """
        if mode == "table" and len(request.tables) != 1:
            raise SpecValueError("table profiling needs exactly one table name")
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        job = _Job(job_id or str(uuid.uuid4()), request.database_id, queue.put_nowait)
        task = asyncio.create_task(self._run_job(job, request))
        try:
            while (event := await queue.get()) is not None:
                yield event
            await task
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _progress(self, job: _Job, status: str, table: str | None = None) -> None:
        record = job.status(status, table)
        job.emit({"type": "progress", "status": record})
        if self.status_kv is not None:
            with contextlib.suppress(Exception):
                await self.status_kv.put(
                    self.backends.scope.kv_tenant,
                    job_status_key(job.job_id),
                    record,
                    ttl_ms=JOB_STATUS_TTL_MS,
                )

    async def _run_job(self, job: _Job, request: ProfileRequest) -> None:
        try:
            job.emit({"type": "started", "jobId": job.job_id})
            await self._progress(job, "queued")
            await self._progress(job, "discovering")
            schema = request.schema or self.reader.default_schema
            listed = await self.reader.list_tables(schema)
            selected = await _select_tables(self.reader, schema, request.tables, listed)
            job.totals["tablesDiscovered"] = len(selected)
            context = await self._context(schema, listed)
            run = ProfilingRun(
                job.job_id, request.database_id, utc_millis(), self.target_fingerprint
            )
            limit = asyncio.Semaphore(_CONCURRENCY)

            async def one(name: str, kind: TableKind) -> None:
                async with limit:
                    await self._table(job, run, request, context, schema, name, kind)

            await asyncio.gather(*(one(name, kind) for name, kind in selected))
            await self._progress(job, "failed" if job.totals["tablesFailed"] else "completed")
            job.emit({"type": "completed", "summary": job.summary()})
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = self.scrub(_describe(exc))
            await self._progress(job, "failed")
            job.emit({"type": "error", "message": message})
        finally:
            job.emit(None)

    async def _context(
        self, schema: str, listed: Sequence[tuple[str, TableKind]]
    ) -> DatabaseContext:
        """Describe every table of the schema, for joins the enricher may infer across them."""
        limit = asyncio.Semaphore(_CONCURRENCY)

        async def describe(name: str, kind: TableKind) -> TableSchema | None:
            async with limit:
                try:
                    return await self.reader.describe_table(schema, name, kind)
                except HarnessError:
                    return None  # a table that cannot be described fails when profiled

        found = await asyncio.gather(*(describe(name, kind) for name, kind in listed))
        return DatabaseContext({t.name: t for t in found if t is not None})

    async def _table(
        self,
        job: _Job,
        run: ProfilingRun,
        request: ProfileRequest,
        context: DatabaseContext,
        schema: str,
        name: str,
        kind: TableKind,
    ) -> None:
        started = time.monotonic()
        try:
            await self._progress(job, "profiling", name)
            table = context.tables.get(name) or await self.reader.describe_table(schema, name, kind)
            target = require_target(self.backends)
            profile = await profile_table(target, table, sample_size=request.sample_size)
            job.emit(
                {
                    "type": "tableProfiled",
                    "tableName": name,
                    "columns": len(profile.columns),
                    "durationMs": _ms(started),
                }
            )
            await self._progress(job, "enriching", name)
            enrichment = await self.enricher.enrich(profile, context)
            if enrichment.fallback_reason:
                # the reason lands in the entries' provenance too, not only in the event
                reason = self.scrub(enrichment.fallback_reason)
                enrichment = replace(enrichment, fallback_reason=reason)
            enriched: dict[str, Any] = {
                "type": "tableEnriched",
                "tableName": name,
                "source": enrichment.source,
            }
            if enrichment.fallback_reason:
                enriched["fallbackReason"] = enrichment.fallback_reason
            job.emit(enriched)
            await self._progress(job, "extracting", name)
            entries = build_table_entries(profile, enrichment, run)
            await self._progress(job, "indexing", name)
            await self._write(entries, schema, name, request.database_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            job.totals["tablesFailed"] += 1
            job.emit(
                {"type": "tableFailed", "tableName": name, "error": self.scrub(_describe(exc))}
            )
            return
        self._count(job, entries, enrichment.source, bool(enrichment.fallback_reason))
        summary = {**entries.summary(), "durationMs": _ms(started)}
        job.emit({"type": "tableCompleted", "tableName": name, "summary": summary})

    async def _write(self, entries: TableEntries, schema: str, name: str, database_id: str) -> None:
        catalog = self.backends.catalog
        assert catalog is not None
        stale = await stale_entry_ids(
            catalog, self.backends.scope, entries, schema, name, database_id
        )
        await self.backends.write_entries(entries.entries, self.kv)
        if stale:
            await self.backends.delete_entries(stale, self.kv)

    @staticmethod
    def _count(job: _Job, entries: TableEntries, source: str, degraded: bool) -> None:
        totals = job.totals
        totals["tablesCompleted"] += 1
        totals["columnsProfiled"] += entries.columns
        totals["enumsExtracted"] += entries.enums
        totals["relationshipsFound"] += entries.relationships
        totals["catalogItemsIndexed"] += len(entries.entries)
        key = {"fresh": "enrichmentFresh", "cached": "enrichmentCacheHits"}.get(
            source, "enrichmentFallbacks"
        )
        totals[key] += 1
        if degraded:
            totals["enrichmentDegraded"] += 1


def _describe(exc: BaseException) -> str:
    if isinstance(exc, HarnessError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def job_status_key(job_id: str) -> str:
    """The KV key of a job's status record."""
    return f"ingest:status:{job_id}"
