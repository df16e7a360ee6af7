"""``flowai-harness data catalog export | graph | index rebuild | index doctor``.

These commands read the catalog (and the search index); none needs a target database or a key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from flowai_harness.cli.app import global_options
from flowai_harness.cli.data_common import (
    DataCommandContext,
    load_data_context,
    run_command,
    scope_options,
)
from flowai_harness.cli.data_output import print_result, summary_table, warn

__all__ = ["catalog_group"]


def _catalog(data: DataCommandContext, what: str) -> None:
    if not data.has("catalog"):
        raise click.ClickException(f"{what} requires data_environment.catalog")


@click.group(name="catalog")
@global_options
def catalog_group() -> None:
    """Export, draw and index the catalog of a scope."""


@catalog_group.command(name="export")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Artifact path (parent directories are created).",
)
@scope_options
@global_options
@click.pass_context
def catalog_export(
    ctx: click.Context, /, out: Path, tenant_id: str | None, workspace_id: str | None
) -> None:
    """Write the scope's catalog as a byte-stable JSON array (loads as an inline catalog)."""
    data = load_data_context(ctx, tenant_id, workspace_id)
    _catalog(data, "catalog export")

    async def work() -> Any:
        from flowai_harness.data.catalog.export import export_catalog
        from flowai_harness.data.catalog.factory import open_catalog
        from flowai_harness.data.catalog.store import CatalogScope

        catalog = open_catalog(data.env["catalog"])
        try:
            return await export_catalog(catalog, CatalogScope(data.tenant, data.workspace), out)
        finally:
            await catalog.close()

    summary = run_command(data, work)
    lines = [
        f"tenant_id: {summary.tenant_id}",
        f"workspace_id: {summary.workspace_id}",
        f"output_path: {summary.output_path}",
        f"entries_written: {summary.entries_written}",
        *(f"  {kind}: {count}" for kind, count in summary.counts_by_kind.items()),
    ]
    print_result(data.options, summary.to_dict(), lines)
    if summary.entries_written == 0:
        warn(
            data.options,
            f"the catalog has no exportable entries for tenant {summary.tenant_id!r}, workspace "
            f"{summary.workspace_id!r}; check --tenant-id / --workspace-id",
        )
    summary_table(
        data.options,
        "catalog export",
        ["kind", "entries"],
        [[kind, count] for kind, count in summary.counts_by_kind.items()],
    )


@catalog_group.group(name="index")
@global_options
def index_group() -> None:
    """Rebuild or check the scope's catalog search index."""


def _backends(data: DataCommandContext) -> Any:
    from flowai_harness.data.environment import DataBackends

    return DataBackends(data.env, data.tenant, workspace=data.workspace)


@index_group.command(name="rebuild")
@scope_options
@global_options
@click.pass_context
def index_rebuild(ctx: click.Context, /, tenant_id: str | None, workspace_id: str | None) -> None:
    """Rebuild the scope's search index from the catalog (document bodies from KV)."""
    data = load_data_context(ctx, tenant_id, workspace_id)

    async def work() -> Any:
        from flowai_harness.storage.factory import open_key_value_store

        backends = _backends(data)
        kv = open_key_value_store(data.env) if data.has("kv") else None
        try:
            return backends, await backends.rebuild_index(kv)
        finally:
            await backends.aclose()
            if kv is not None:
                await kv.close()

    backends, report = run_command(data, work)
    warnings = [data.mask(w) for w in report.warnings]
    payload = {
        "tenantId": data.tenant,
        "workspaceId": data.workspace,
        "indexPath": str(backends.index.path),
        "indexedEntries": report.indexed,
        "skippedEntries": report.skipped,
        "warnings": warnings,
        "health": report.status.health if report.status else None,
    }
    lines = [
        f"index_path: {backends.index.path}",
        f"indexed_entries: {report.indexed}",
        f"skipped_entries: {report.skipped}",
        *(f"warning: {w}" for w in warnings),
    ]
    print_result(data.options, payload, lines)


@index_group.command(name="doctor")
@scope_options
@global_options
@click.pass_context
def index_doctor(ctx: click.Context, /, tenant_id: str | None, workspace_id: str | None) -> None:
    """Report the index health and relation problems (orphaned links, database mismatches)."""
    data = load_data_context(ctx, tenant_id, workspace_id)

    async def work() -> Any:
        from flowai_harness.data.catalog.doctor import diagnose_relations

        backends = _backends(data)
        try:
            status = await backends.index_status()
            if backends.catalog is None:
                raise click.ClickException("index doctor requires data_environment.catalog")
            relations = await diagnose_relations(backends.catalog, backends.scope)
            return backends.index.path, status, relations
        finally:
            await backends.aclose()

    path, status, relations = run_command(data, work)
    diagnostics = relations.to_dict()
    payload = {
        "tenantId": data.tenant,
        "workspaceId": data.workspace,
        "indexPath": str(path),
        "health": status.health,
        "reason": status.reason,
        "documents": status.documents,
        "relations": diagnostics,
    }
    lines = [f"index_path: {path}", f"health: {status.health}"]
    if status.reason:
        lines.append(f"reason: {data.mask(status.reason)}")
    if status.health == "ready":
        lines.append(f"documents: {status.documents}")
    lines += [
        f"total_relations: {diagnostics['totalRelations']}",
        f"orphaned_relations: {diagnostics['orphanedRelations']}",
        f"database_mismatched_relations: {diagnostics['databaseMismatchedRelations']}",
        f"invalid_relationships: {diagnostics['invalidRelationships']}",
        *(
            f"  {s['issue']}: {s['sourceId']} -[{s['relationKind']}]-> {s['targetId']}"
            for s in diagnostics["samples"]
        ),
    ]
    print_result(data.options, payload, lines)


@catalog_group.command(name="graph")
@click.option(
    "--format",
    "graph_format",
    type=click.Choice(["html", "json"]),
    default="html",
    show_default=True,
    help="Self-contained HTML page or JSON {nodes, edges, summary}.",
)
@click.option(
    "--output-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the graph here instead of stdout.",
)
@click.option("--include-columns", is_flag=True, help="Also draw columns and enum values.")
@click.option(
    "--max-nodes",
    type=click.IntRange(min=1),
    default=750,
    show_default=True,
    help="Keep at most this many nodes.",
)
@scope_options
@global_options
@click.pass_context
def catalog_graph(
    ctx: click.Context,
    /,
    graph_format: str,
    output_file: Path | None,
    include_columns: bool,
    max_nodes: int,
    tenant_id: str | None,
    workspace_id: str | None,
) -> None:
    """Draw the catalog: tables, relationships, metrics, documents, knowledge, findings."""
    import json

    data = load_data_context(ctx, tenant_id, workspace_id)
    _catalog(data, "catalog graph")

    async def work() -> Any:
        from flowai_harness.data.catalog.factory import open_catalog
        from flowai_harness.data.catalog.graph import build_graph
        from flowai_harness.data.catalog.store import CatalogScope

        catalog = open_catalog(data.env["catalog"])
        try:
            scope = CatalogScope(data.tenant, data.workspace)
            return await build_graph(
                catalog, scope, include_columns=include_columns, max_nodes=max_nodes
            )
        finally:
            await catalog.close()

    graph = run_command(data, work)
    if graph_format == "html":
        from flowai_harness.data.catalog.graph import render_html

        document = render_html(graph, f"Catalog of {data.tenant} / {data.workspace}")
    else:
        document = json.dumps(graph.to_dict(), ensure_ascii=False, indent=2) + "\n"
    summary = graph.summary
    if summary["truncated"]:
        warn(
            data.options,
            f"the graph was cut at {max_nodes} of {summary['totalNodes']} nodes; raise "
            "--max-nodes to see more",
        )
    if output_file is None:
        click.echo(document, nl=False)
        return
    try:
        output_file.parent.mkdir(parents=True, exist_ok=True)
        output_file.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output_file}: {exc.strerror or exc}") from None
    payload = {"outputPath": str(output_file), "format": graph_format, "summary": summary}
    lines = [
        f"output_path: {output_file}",
        f"format: {graph_format}",
        f"nodes: {summary['nodeCount']}",
        f"edges: {summary['edgeCount']}",
        f"truncated: {str(summary['truncated']).lower()}",
        *(f"  {kind}: {count}" for kind, count in summary["countsByKind"].items()),
    ]
    print_result(data.options, payload, lines)
