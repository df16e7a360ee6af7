"""``flowai-harness data knowledge ingest``.

One document per file of ``--local-dir`` (recursive, sorted; ``--ext`` filters by extension),
deduplicated by SHA-256, stored in the environment's KV store and projected into the catalog
when one is configured. Files that cannot be ingested are reported without stopping the run;
the command then exits 1 after its output (binary and non-UTF-8 files are only reported as
skipped). ``--extract-knowledge`` asks Claude for knowledge items per document, grounded in the
target database's tables and columns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from flowai_harness.cli.app import global_options
from flowai_harness.cli.data_common import (
    DataCommandContext,
    anthropic_client,
    anthropic_options,
    finish_catalog_job,
    load_data_context,
    run_command,
    scope_options,
)
from flowai_harness.cli.data_output import EventOutput

if TYPE_CHECKING:
    from flowai_harness.ports import ModelClient

__all__ = ["knowledge_group"]

MODEL_ENV = "FLOWAI_KNOWLEDGE_ANTHROPIC_MODEL"
_EXTRACTION_TIMEOUT_S = 90.0


@click.group(name="knowledge")
@global_options
def knowledge_group() -> None:
    """Ingest knowledge documents into the workspace."""


@knowledge_group.command(name="ingest")
@click.option(
    "--local-dir",
    required=True,
    type=click.Path(file_okay=True, dir_okay=True, path_type=Path),
    help="Folder to ingest (walked recursively).",
)
@click.option("--database-id", required=True, help="Logical id of the target database.")
@click.option(
    "--ext",
    "extensions",
    multiple=True,
    metavar="EXT",
    help="Only files with this extension, without the dot (repeatable).",
)
@click.option("--extract-knowledge", is_flag=True, help="Extract knowledge items with Claude.")
@anthropic_options(
    key_help="Anthropic API key for --extract-knowledge.", model_help="Extraction model."
)
@scope_options
@global_options
@click.pass_context
def knowledge_ingest(
    ctx: click.Context,
    /,
    local_dir: Path,
    database_id: str,
    extensions: tuple[str, ...],
    extract_knowledge: bool,
    anthropic_api_key: str | None,
    anthropic_model: str | None,
    anthropic_base_url: str | None,
    tenant_id: str | None,
    workspace_id: str | None,
) -> None:
    """Ingest every file of --local-dir as one document (SHA-256 deduplicated)."""
    from flowai_harness.data.knowledge.ingestion import IngestRequest

    data = load_data_context(ctx, tenant_id, workspace_id)
    try:
        request = IngestRequest(local_dir, database_id, extensions)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not data.has("kv"):
        raise click.ClickException("knowledge ingestion requires data_environment.kv")
    model: tuple[ModelClient, str] | None = None
    if extract_knowledge:
        model = _extraction_model(data, anthropic_api_key, anthropic_model, anthropic_base_url)
    output = EventOutput(data.options)
    report = _IngestReport(output)

    async def work() -> None:
        from flowai_harness.data.environment import DataBackends
        from flowai_harness.data.knowledge.ingestion import KnowledgeIngestor
        from flowai_harness.storage.factory import open_key_value_store

        backends = DataBackends(data.env, data.tenant, workspace=data.workspace)
        kv = open_key_value_store(data.env)
        try:
            extractor = await _extractor(data, backends, model) if model else None
            ingestor = KnowledgeIngestor(backends, kv, extractor=extractor, scrub=data.mask)
            await backends.ensure_started(kv)
            async for event in ingestor.run(request):
                report.event(event)
            if backends.index is not None:
                report.index_health = (await backends.index_status()).health
        finally:
            output.stop_progress()
            await backends.aclose()
            await kv.close()

    run_command(data, work)
    report.finish()
    finish_catalog_job(ctx, data, index_health=report.index_health, failures=report.failures)


def _extraction_model(
    data: DataCommandContext, key: str | None, model: str | None, base_url: str | None
) -> tuple[ModelClient, str]:
    """The extraction model: its client and id."""
    from flowai_harness.data.profiling.profiler import DEFAULT_ENRICHMENT_MODEL

    chosen = model or os.environ.get(MODEL_ENV) or DEFAULT_ENRICHMENT_MODEL
    client = anthropic_client(
        data,
        key,
        base_url=base_url,
        missing_key="ANTHROPIC_API_KEY is required when --extract-knowledge is enabled",
        timeout_s=_EXTRACTION_TIMEOUT_S,
    )
    if not (data.has("targetDatabase") or data.has("targetDatabaseUrl")):
        raise click.ClickException(
            "--extract-knowledge requires data_environment.target_database (its tables and "
            "columns ground the extraction)"
        )
    return client, chosen.strip()


async def _extractor(
    data: DataCommandContext, backends: Any, model: tuple[ModelClient, str]
) -> Any:
    from flowai_harness.data.knowledge.extraction import KnowledgeExtractor, schema_outline
    from flowai_harness.data.profiling.profiler import require_target
    from flowai_harness.data.profiling.schema import open_schema_reader

    reader = open_schema_reader(data.env, require_target(backends))
    client, model_id = model
    return KnowledgeExtractor(client, model_id, await schema_outline(reader))


class _IngestReport:
    """Turns ingestion events into output lines, progress and the final summary."""

    def __init__(self, output: EventOutput) -> None:
        self.output = output
        self.failures: list[str] = []
        self.index_health: str | None = None
        self.completed: dict[str, Any] | None = None

    def event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        line: str | None = None
        if kind == "discovered":
            total = int(event["total"])
            line = f"discovered {total} documents"
            self.output.start_progress("ingesting documents", total)
        elif kind == "ingesting":
            line = f"ingesting {event['current']}/{event['total']}: {event['name']}"
            self.output.update_progress(
                completed=int(event["current"]) - 1, description=event["name"]
            )
        elif kind == "completed":
            self.completed = event
            self.output.update_progress(completed=int(event["scanned"]), description="done")
            self.failures += [f"{e['path']}: {e['error']}" for e in event["errors"]]
        elif kind == "error":
            self.failures.append(str(event["message"]))
            line = f"error: {event['message']}"
        self.output.emit(event, line)

    def finish(self) -> None:
        lines: list[str] = []
        done = self.completed
        if done is not None:
            lines = [
                f"scanned: {done['scanned']}",
                f"new: {done['new']}",
                f"skipped_duplicate: {done['skippedDuplicate']}",
                f"errors: {len(done['errors'])}",
                *(f"  {e['path']}: {e['error']}" for e in done["errors"]),
                f"skipped: {len(done['skipped'])}",
                *(f"  {s['path']}: {s['error']}" for s in done["skipped"]),
                f"knowledge_items_extracted: {done['knowledgeItemsExtracted']}",
                f"documents_projected: {done['documentsProjected']}",
            ]
        self.output.finish(lines)
        if done is not None:
            self.output.table(
                "knowledge ingestion",
                ["result", "files"],
                [
                    ["scanned", done["scanned"]],
                    ["new", done["new"]],
                    ["skipped (duplicate)", done["skippedDuplicate"]],
                    ["skipped (binary / not UTF-8)", len(done["skipped"])],
                    ["errors", len(done["errors"])],
                ],
            )
