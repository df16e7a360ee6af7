"""``flowai-harness data profile estimate | table | database``.

``estimate`` only reads the schema. ``table`` and ``database`` profile into the catalog: the
target database, a writable catalog and ``--database-id`` are required; enrichment uses Claude
unless ``--schema-only`` (then nothing leaves the machine). A failed table or job makes the
command exit 1 after its output.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import click
from click.core import ParameterSource

from flowai_harness.cli.app import global_options, option_group
from flowai_harness.cli.data_common import (
    DataCommandContext,
    anthropic_client,
    anthropic_options,
    finish_catalog_job,
    load_data_context,
    non_blank,
    run_command,
    scope_options,
)
from flowai_harness.cli.data_output import EventOutput, print_result

__all__ = ["profile_group"]

MODEL_ENV = "FLOWAI_PROFILE_ANTHROPIC_MODEL"
_ENRICHMENT_TIMEOUT_S = 60.0
_ENRICH_FLAGS = ("anthropic_api_key", "anthropic_model", "anthropic_base_url")
_MISSING_KEY = (
    "ANTHROPIC_API_KEY is required for LLM enrichment; pass --schema-only for deterministic "
    "fallback"
)


_common_options = option_group(
    scope_options,
    click.option(
        "--database-id",
        required=True,
        help="Logical id of the target database (reuse it in every linked command).",
    ),
    click.option(
        "--schema",
        default=None,
        callback=non_blank,
        help="Schema to profile [default: main for SQLite, the target's for PostgreSQL].",
    ),
    click.option("--model", default=None, callback=non_blank, help="Enrichment model."),
    click.option(
        "--sample-size",
        type=click.IntRange(1, 100),
        default=10,
        show_default=True,
        help="Rows sampled per table.",
    ),
)


_enrich_options = option_group(
    click.option(
        "--schema-only",
        is_flag=True,
        help="Deterministic enrichment from the schema and statistics; no network.",
    ),
    anthropic_options(
        key_help="Anthropic API key for LLM enrichment.", model_help="Enrichment model."
    ),
)


def _model(*candidates: str | None) -> str:
    from flowai_harness.data.profiling.profiler import DEFAULT_ENRICHMENT_MODEL

    for candidate in (*candidates, os.environ.get(MODEL_ENV)):
        if candidate and candidate.strip():
            return candidate.strip()
    return DEFAULT_ENRICHMENT_MODEL


def _request(database_id: str, schema: str | None, tables: Sequence[str], sample_size: int) -> Any:
    from flowai_harness.data.profiling.profiler import ProfileRequest

    try:
        return ProfileRequest(database_id, schema, tuple(tables), sample_size)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(name="profile")
@global_options
def profile_group() -> None:
    """Profile a target database into the catalog (or estimate the cost first)."""


@profile_group.command(name="estimate")
@_common_options
@click.option("--table", "tables", multiple=True, callback=non_blank, help="Only this table.")
@global_options
@click.pass_context
def profile_estimate(
    ctx: click.Context,
    /,
    database_id: str,
    schema: str | None,
    model: str | None,
    sample_size: int,
    tables: tuple[str, ...],
    tenant_id: str | None,
    workspace_id: str | None,
) -> None:
    """Count tables and columns and estimate tokens and duration (no writes, no network)."""
    data = load_data_context(ctx, tenant_id, workspace_id)
    request = _request(database_id, schema, tables, sample_size)
    model_id = _model(model)

    async def work() -> Any:
        from flowai_harness.data.environment import DataBackends
        from flowai_harness.data.profiling.profiler import estimate_profile, require_target
        from flowai_harness.data.profiling.schema import open_schema_reader

        backends = DataBackends(data.env, data.tenant, workspace=data.workspace)
        try:
            reader = open_schema_reader(data.env, require_target(backends))
            return await estimate_profile(reader, request, model_id=model_id)
        finally:
            await backends.aclose()

    estimate = run_command(data, work)
    cost = estimate.estimated_cost_usd
    print_result(
        data.options,
        estimate.to_dict(),
        [
            f"model_id: {estimate.model_id if cost is not None else 'unpriced'}",
            f"tables: {estimate.tables}",
            f"columns: {estimate.columns}",
            f"estimated_input_tokens: {estimate.estimated_input_tokens}",
            f"estimated_output_tokens: {estimate.estimated_output_tokens}",
            f"estimated_cached_tokens: {estimate.estimated_cached_tokens}",
            f"estimated_cost_usd: {'unavailable' if cost is None else f'{cost:.6f}'}",
            f"estimated_duration_secs: {estimate.estimated_duration_secs}",
        ],
    )


@profile_group.command(name="table")
@_common_options
@click.option("--table", required=True, callback=non_blank, help="The table to profile.")
@_enrich_options
@global_options
@click.pass_context
def profile_table(ctx: click.Context, /, table: str, **params: Any) -> None:
    """Profile one table into the catalog."""
    _profile(ctx, "table", (table,), params)


@profile_group.command(name="database")
@_common_options
@click.option(
    "--table", "tables", multiple=True, callback=non_blank, help="Only this table (repeatable)."
)
@_enrich_options
@global_options
@click.pass_context
def profile_database(ctx: click.Context, /, tables: tuple[str, ...], **params: Any) -> None:
    """Profile every table of a schema (or the --table ones) into the catalog, four at a time."""
    _profile(ctx, "database", tables, params)


def _enricher(ctx: click.Context, data: DataCommandContext, params: dict[str, Any]) -> Any:
    from flowai_harness.data.profiling.enrichment import FallbackEnricher, ModelEnricher

    if params["schema_only"]:
        given = [
            f"--{name.replace('_', '-')}"
            for name in _ENRICH_FLAGS
            if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
        ]
        if given:
            raise click.UsageError(f"--schema-only does not call a model; drop {', '.join(given)}")
        return FallbackEnricher()
    client = anthropic_client(
        data,
        params["anthropic_api_key"],
        base_url=params["anthropic_base_url"],
        missing_key=_MISSING_KEY,
        timeout_s=_ENRICHMENT_TIMEOUT_S,
    )
    return ModelEnricher(client, _model(params["anthropic_model"], params["model"]))


def _profile(ctx: click.Context, mode: str, tables: Sequence[str], params: dict[str, Any]) -> None:
    data = load_data_context(ctx, params["tenant_id"], params["workspace_id"])
    request = _request(params["database_id"], params["schema"], tables, params["sample_size"])
    enricher = _enricher(ctx, data, params)
    output = EventOutput(data.options)
    report = _ProfileReport(output, verbose=data.options.verbose)

    async def work() -> None:
        from flowai_harness.data.environment import DataBackends
        from flowai_harness.data.profiling.profiler import (
            Profiler,
            require_target,
            target_fingerprint,
        )
        from flowai_harness.data.profiling.schema import open_schema_reader
        from flowai_harness.storage.factory import open_key_value_store

        backends = DataBackends(data.env, data.tenant, workspace=data.workspace)
        kv = open_key_value_store(data.env) if data.has("kv") else None
        status_kv = open_key_value_store(None)
        try:
            reader = open_schema_reader(data.env, require_target(backends))
            profiler = Profiler(
                backends,
                reader,
                enricher,
                kv=kv,
                status_kv=status_kv,
                target_fingerprint=target_fingerprint(data.env),
                scrub=data.mask,
            )
            await backends.ensure_started(kv)
            async for event in profiler.run(request, "table" if mode == "table" else "database"):
                report.event(event)
            if backends.index is not None:
                report.index_health = (await backends.index_status()).health
        finally:
            output.stop_progress()
            await backends.aclose()
            if kv is not None:
                await kv.close()

    run_command(data, work)
    report.finish()
    finish_catalog_job(ctx, data, index_health=report.index_health, failures=report.failures)


class _ProfileReport:
    """Turns profiling events into output lines, progress and the final summary."""

    def __init__(self, output: EventOutput, *, verbose: bool) -> None:
        self.output = output
        self.verbose = verbose
        self.failures: list[str] = []
        self.index_health: str | None = None
        self.summary: dict[str, Any] | None = None
        self.job_id: str | None = None
        self.rows: dict[str, list[Any]] = {}
        self.done = 0

    def event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        name = str(event.get("tableName", ""))
        line: str | None = None
        if kind == "started":
            self.job_id = str(event["jobId"])
            line = f"started profiling job {self.job_id}"
            self.output.start_progress("discovering tables", None)
        elif kind == "progress":
            status = event["status"]
            total = int(status.get("tablesTotal") or 0)
            if total:
                self.output.update_progress(total=total, description=self._label())
            if self.verbose:
                where = f" ({status['tableName']})" if status.get("tableName") else ""
                line = f"status: {status['status']}{where}"
        elif kind == "tableProfiled":
            line = f"profiled {name}: {event['columns']} columns in {event['durationMs']} ms"
            self.rows[name] = [name, event["columns"], "", "", "", "", "profiled"]
        elif kind == "tableEnriched":
            reason = (
                f" (fallback reason: {event['fallbackReason']})"
                if "fallbackReason" in event
                else ""
            )
            line = f"enriched {name}: {event['source']}{reason}"
            self.rows.setdefault(name, [name, "", "", "", "", "", ""])[6] = event["source"]
        elif kind == "tableCompleted":
            summary = event["summary"]
            self.done += 1
            row = self.rows.setdefault(name, [name, "", "", "", "", "", ""])
            row[1:6] = [
                summary["columnsProfiled"],
                summary["enumsExtracted"],
                summary["relationshipsFound"],
                summary["catalogItemsIndexed"],
                summary["durationMs"],
            ]
            line = f"completed {name}: {summary['catalogItemsIndexed']} catalog items"
            self.output.update_progress(completed=self.done, description=f"profiled {name}")
        elif kind == "tableFailed":
            self.done += 1
            self.failures.append(f"table {name} failed: {event['error']}")
            self.rows.setdefault(name, [name, "", "", "", "", "", ""])[6] = "failed"
            line = f"failed {name}: {event['error']}"
            self.output.update_progress(completed=self.done, description=f"failed {name}")
        elif kind == "completed":
            self.summary = dict(event["summary"])
        elif kind == "error":
            self.failures.append(str(event["message"]))
            line = f"error: {event['message']}"
        self.output.emit(event, line)

    def _label(self) -> str:
        return "profiling tables" if not self.done else "profiling"

    def finish(self) -> None:
        from flowai_harness.data.catalog.metadata import snake_case

        lines: list[str] = []
        if self.summary is not None:
            lines.append("completed profiling run")
            if self.job_id:
                lines.append(f"job_id: {self.job_id}")
            lines += [f"{snake_case(key)}: {value}" for key, value in self.summary.items()]
        self.output.finish(lines)
        self.output.table(
            "profiling summary",
            ["table", "columns", "enums", "relationships", "entries", "ms", "enrichment"],
            [self.rows[name] for name in sorted(self.rows)],
        )
