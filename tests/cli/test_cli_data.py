"""``flowai-harness data ...`` (src/flowai_harness/cli/data*.py), in process with click's runner
on SQLite files in a temporary directory."""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flowai_harness.cli.app import GlobalOptions, cli
from flowai_harness.cli.data_common import mask_secrets
from flowai_harness.cli.data_output import EventOutput, summary_table
from tests.data.sample_catalog import create_target_database
from tests.providers.fakes.anthropic_server import FakeAnthropic, anthropic_reply

SECRET_KEY = "sk-test-SECRET-cli-0123456789"
PASSWORD = "pg-SECRET-hunter2"


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    base = {"ANTHROPIC_API_KEY": "", "ANTHROPIC_BASE_URL": "", "NO_COLOR": "1"}
    return CliRunner(env={**base, **(env or {})}).invoke(
        cli, list(args), prog_name="flowai-harness", catch_exceptions=False
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    create_target_database(tmp_path / "target.db")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text("Refunds within 30 days.", encoding="utf-8")
    (docs / "shipping.md").write_text("Ships in 2 days.", encoding="utf-8")
    return tmp_path


def write_env(directory: Path, name: str = "env.json", **overrides: Any) -> Path:
    env: dict[str, Any] = {
        "tenant_id": "acme",
        "kv": {"kind": "sqlite", "url": f"sqlite:{directory / 'kv.db'}"},
        "catalog": {"kind": "sqlite", "url": f"sqlite:{directory / 'catalog.db'}"},
        "catalog_search": {"index_path": str(directory / "index")},
        "target_database": {"kind": "sqlite", "url": f"sqlite:{directory / 'target.db'}"},
    }
    env.update(overrides)
    env = {key: value for key, value in env.items() if value is not None}
    path = directory / name
    path.write_text(json.dumps(env), encoding="utf-8")
    return path


def profile(env: Path, *extra: str) -> Result:
    return invoke(
        "--data-environment",
        str(env),
        "data",
        "profile",
        "database",
        "--database-id",
        "shop",
        "--schema-only",
        *extra,
    )


def lines(text: str) -> dict[str, str]:
    """The ``key: value`` lines of a text output."""
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and not line.startswith(" "):
            found[key] = value
    return found


# ------------------------------------------------------------------------ environment


def test_data_commands_need_a_data_environment() -> None:
    result = invoke("data", "catalog", "export", "--out", "x.json")
    assert result.exit_code == 2
    assert "pass --data-environment PATH" in result.stderr


def test_a_toml_environment_and_flags_after_the_command_work(workdir: Path) -> None:
    toml = workdir / "env.toml"
    toml.write_text(
        f'tenant_id = "acme"\n[catalog]\nkind = "sqlite"\nurl = "sqlite:{workdir / "c.db"}"\n',
        encoding="utf-8",
    )
    result = invoke(
        "data",
        "catalog",
        "export",
        "--out",
        str(workdir / "o.json"),
        "--data-environment",
        str(toml),
        "--output",
        "json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tenantId"] == "acme"


def test_an_invalid_environment_is_an_error_that_masks_passwords(workdir: Path) -> None:
    env = write_env(
        workdir,
        catalog={"kind": "postgres", "url": f"postgresql://u:{PASSWORD}@127.0.0.1:1/x", "x": 1},
    )
    result = invoke("--data-environment", str(env), "data", "catalog", "index", "doctor")
    assert result.exit_code == 1
    assert "invalid data environment" in result.stderr
    assert PASSWORD not in result.output


def test_an_environment_with_mistakes_lists_each_with_its_fix(workdir: Path) -> None:
    env = write_env(workdir, kv=None, kv_store={"kind": "memory"}, catalog={"kind": "sqlit"})
    result = invoke("--data-environment", str(env), "data", "catalog", "index", "doctor")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: invalid data environment {env}: ")
    assert "does not support kind 'sqlit'; expected one of: empty, inline, postgres, sqlite; " in (
        result.stderr
    )
    assert "did you mean 'sqlite'?" in result.stderr
    env = write_env(workdir, kv=None, kv_store={"kind": "memory"}, catalog_serch={})
    result = invoke("--data-environment", str(env), "data", "catalog", "index", "doctor")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:4] == [
        f"Error: invalid data environment {env}:",
        "data_environment: 2 problems:",
        "  - unknown key 'kv_store'; did you mean 'kv'? (valid keys: tenant_id, workspace_id, kv, "
        "catalog, catalog_search, target_database, target_database_url, target_database_schema)",
        "  - unknown key 'catalog_serch'; did you mean 'catalog_search'? (valid keys: tenant_id, "
        "workspace_id, kv, catalog, catalog_search, target_database, target_database_url, "
        "target_database_schema)",
    ]


def test_a_url_given_as_the_environment_file_says_where_urls_go() -> None:
    url = f"postgresql://u:{PASSWORD}@127.0.0.1/x"
    result = invoke("--data-environment", url, "data", "profile", "estimate", "--database-id", "x")
    assert result.exit_code == 2
    assert "'postgresql://u:***@127.0.0.1/x' is a URL, not a file" in result.stderr
    assert "connection URLs go inside it" in result.stderr
    assert PASSWORD not in result.output


def test_connection_errors_never_show_the_password(workdir: Path) -> None:
    env = write_env(
        workdir,
        target_database={"kind": "postgres", "url": f"postgresql://u:{PASSWORD}@127.0.0.1:1/x"},
    )
    result = invoke(
        "--data-environment", str(env), "data", "profile", "estimate", "--database-id", "shop"
    )
    assert result.exit_code == 1
    assert "cannot connect" in result.stderr
    assert "u:***@127.0.0.1:1" in result.stderr
    assert PASSWORD not in result.output


def test_mask_secrets_redacts_urls_inside_any_message() -> None:
    text = f"failed on redis://:{PASSWORD}@127.0.0.1:6379/0 and key {SECRET_KEY}"
    masked = mask_secrets(text, [SECRET_KEY])
    assert PASSWORD not in masked and SECRET_KEY not in masked
    assert "redis://:***@127.0.0.1:6379/0" in masked


# ---------------------------------------------------------------------------- profile


def test_estimate_prints_counts_and_no_cost(workdir: Path) -> None:
    result = invoke(
        "--data-environment",
        str(write_env(workdir)),
        "data",
        "profile",
        "estimate",
        "--database-id",
        "shop",
        "--table",
        "orders",
        "--table",
        "customers",
    )
    assert result.exit_code == 0, result.output
    found = lines(result.stdout)
    assert found["model_id"] == "unpriced"
    assert (found["tables"], found["columns"]) == ("2", "8")
    assert found["estimated_cost_usd"] == "unavailable"
    assert found["estimated_duration_secs"] == "16"
    assert {"estimated_input_tokens", "estimated_output_tokens", "estimated_cached_tokens"} <= set(
        found
    )


def test_schema_only_profiling_prints_events_then_the_summary(workdir: Path) -> None:
    result = profile(write_env(workdir))
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0].startswith("started profiling job ")
    assert "profiled orders: 4 columns in" in result.stdout
    assert "enriched orders: fallback" in result.stdout
    tail = out[out.index("completed profiling run") :]
    found = lines("\n".join(tail))
    assert found["tables_discovered"] == "3"
    assert found["columns_profiled"] == "11"
    assert found["catalog_items_indexed"] == "20"
    assert found["enrichment_fallbacks"] == "3"
    assert "the catalog search index is unavailable; run 'flowai-harness data catalog index " in (
        result.stderr
    )


def test_quiet_keeps_only_the_summary(workdir: Path) -> None:
    result = profile(write_env(workdir), "--quiet")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "completed profiling run"


def test_ndjson_streams_one_event_per_line(workdir: Path) -> None:
    result = profile(write_env(workdir), "--output", "ndjson")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["type"] == "started"
    assert events[-1]["type"] == "completed"
    assert {e["type"] for e in events} >= {"progress", "tableProfiled", "tableCompleted"}


def test_json_buffers_the_events_into_one_array_and_warns(workdir: Path) -> None:
    result = profile(write_env(workdir), "--output", "json")
    events = json.loads(result.stdout)
    assert isinstance(events, list) and events[-1]["type"] == "completed"
    assert "--output json prints every event at the end" in result.stderr


def test_enrichment_without_a_key_names_the_fix(workdir: Path) -> None:
    result = invoke(
        "--data-environment",
        str(write_env(workdir)),
        "data",
        "profile",
        "table",
        "--database-id",
        "shop",
        "--table",
        "orders",
    )
    assert result.exit_code == 1
    assert (
        "ANTHROPIC_API_KEY is required for LLM enrichment; pass --schema-only for deterministic "
        "fallback"
    ) in result.stderr


async def test_enrichment_calls_the_model_named_by_the_environment(workdir: Path) -> None:
    answer = '{"description": "Orders placed in the shop.", "shortDescription": "Orders"}'
    async with FakeAnthropic(respond=lambda request: anthropic_reply(text=answer)) as server:
        env = {
            "ANTHROPIC_API_KEY": SECRET_KEY,
            "ANTHROPIC_BASE_URL": server.url,
            "FLOWAI_PROFILE_ANTHROPIC_MODEL": "claude-sonnet-4-6",
        }
        args = ("data", "profile", "table", "--database-id", "shop", "--table", "orders")
        result = await asyncio.to_thread(
            invoke,
            "--data-environment",
            str(write_env(workdir)),
            *args,
            "--output",
            "json",
            env=env,
        )
        [request] = [r for r in server.requests if r.path.startswith("/v1/messages")]
    assert result.exit_code == 0, result.output
    enriched = [e for e in json.loads(result.stdout) if e["type"] == "tableEnriched"]
    assert enriched == [{"type": "tableEnriched", "tableName": "orders", "source": "fresh"}]
    assert request.json["model"] == "claude-sonnet-4-6"
    assert request.json["max_tokens"] == 4096
    # the SDK decides the auth header (x-api-key or a bearer token)
    auth = request.headers.get("x-api-key") or request.headers.get("authorization", "")
    assert auth.endswith(SECRET_KEY)
    assert SECRET_KEY not in result.output


def test_schema_only_with_an_explicit_key_is_a_usage_error(workdir: Path) -> None:
    result = profile(write_env(workdir), "--anthropic-api-key", SECRET_KEY)
    assert result.exit_code == 2
    assert "--schema-only does not call a model" in result.stderr
    assert SECRET_KEY not in result.output


def test_a_blank_database_id_is_refused(workdir: Path) -> None:
    result = invoke(
        "--data-environment",
        str(write_env(workdir)),
        "data",
        "profile",
        "database",
        "--database-id",
        " ",
        "--schema-only",
    )
    assert result.exit_code == 1
    assert "catalog profiling database_id must not be blank" in result.stderr


def test_unknown_tables_fail_after_the_output(workdir: Path) -> None:
    result = profile(write_env(workdir), "--table", "nope")
    assert result.exit_code == 1
    assert "error: requested tables not found in schema: nope" in result.stderr


def test_profiling_into_an_inline_catalog_is_refused(workdir: Path) -> None:
    env = write_env(workdir, catalog={"kind": "inline", "entries": []})
    result = profile(env)
    assert result.exit_code == 1
    assert "kind=inline is read-only" in result.stderr


# --------------------------------------------------------------------------- knowledge


def ingest(env: Path, folder: Path, *extra: str) -> Result:
    return invoke(
        "--data-environment",
        str(env),
        "data",
        "knowledge",
        "ingest",
        "--local-dir",
        str(folder),
        "--database-id",
        "shop",
        *extra,
    )


def test_ingest_prints_progress_lines_and_counts(workdir: Path) -> None:
    env = write_env(workdir)
    result = ingest(env, workdir / "docs")
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[:3] == [
        "discovered 2 documents",
        "ingesting 1/2: refunds.md",
        "ingesting 2/2: shipping.md",
    ]
    found = lines(result.stdout)
    assert (found["scanned"], found["new"], found["skipped_duplicate"], found["errors"]) == (
        "2",
        "2",
        "0",
        "0",
    )
    again = lines(ingest(env, workdir / "docs").stdout)
    assert (again["new"], again["skipped_duplicate"]) == ("0", "2")


def test_unreadable_and_escaping_files_are_reported_and_exit_1(workdir: Path) -> None:
    docs = workdir / "docs"
    (docs / "away.md").symlink_to(workdir / "target.db")
    (docs / "blob.bin").write_bytes(b"\x00\x01")
    result = ingest(write_env(workdir), docs)
    assert result.exit_code == 1
    found = lines(result.stdout)
    assert (found["new"], found["errors"], found["skipped"]) == ("2", "1", "1")
    assert "error: away.md: resolves outside the folder" in result.stderr


def test_ingest_needs_kv_and_an_existing_folder(workdir: Path) -> None:
    no_kv = write_env(workdir, name="nokv.json", kv=None)
    result = ingest(no_kv, workdir / "docs")
    assert result.exit_code == 1
    assert "knowledge ingestion requires data_environment.kv" in result.stderr
    missing = ingest(write_env(workdir), workdir / "nope")
    assert missing.exit_code == 1
    assert "does not exist" in missing.stderr


def test_extraction_without_a_key_names_the_variable(workdir: Path) -> None:
    result = ingest(write_env(workdir), workdir / "docs", "--extract-knowledge")
    assert result.exit_code == 1
    assert "ANTHROPIC_API_KEY is required when --extract-knowledge is enabled" in result.stderr


async def test_extraction_calls_the_model_given_by_the_flags(workdir: Path) -> None:
    answer = '{"items": [{"name": "refund window", "knowledgeType": "business_rule"}]}'
    async with FakeAnthropic(respond=lambda request: anthropic_reply(text=answer)) as server:
        flags = ("--anthropic-api-key", SECRET_KEY, "--anthropic-base-url", server.url)
        result = await asyncio.to_thread(
            ingest,
            write_env(workdir),
            workdir / "docs",
            "--extract-knowledge",
            "--anthropic-model",
            "claude-haiku-4-5",
            *flags,
        )
        bodies = [r.json for r in server.requests if r.path.startswith("/v1/messages")]
    assert result.exit_code == 0, result.output
    assert lines(result.stdout)["knowledge_items_extracted"] == "2"
    assert [body["model"] for body in bodies] == ["claude-haiku-4-5"] * 2
    assert "orders" in bodies[0]["messages"][0]["content"][0]["text"]
    assert SECRET_KEY not in result.output


def test_a_base_url_that_is_not_http_is_refused_before_any_work(workdir: Path) -> None:
    result = ingest(
        write_env(workdir),
        workdir / "docs",
        "--extract-knowledge",
        "--anthropic-api-key",
        SECRET_KEY,
        "--anthropic-base-url",
        "ftp://127.0.0.1/v1",
    )
    assert result.exit_code == 1
    assert "baseUrl must be an http(s) URL" in result.stderr
    assert "discovered" not in result.stdout and SECRET_KEY not in result.output


def test_ext_values_with_a_dot_are_refused(workdir: Path) -> None:
    result = ingest(write_env(workdir), workdir / "docs", "--ext", ".md")
    assert result.exit_code == 1
    assert "without its dot" in result.stderr


# ----------------------------------------------------------------------------- catalog


def test_export_is_byte_stable_and_prints_key_value_lines(workdir: Path) -> None:
    env = write_env(workdir)
    assert profile(env).exit_code == 0
    first = invoke(
        "--data-environment",
        str(env),
        "data",
        "catalog",
        "export",
        "--out",
        str(workdir / "out" / "a.json"),
    )
    second = invoke(
        "--data-environment",
        str(env),
        "data",
        "catalog",
        "export",
        "--out",
        str(workdir / "out" / "b.json"),
    )
    assert first.exit_code == second.exit_code == 0
    assert (workdir / "out" / "a.json").read_bytes() == (workdir / "out" / "b.json").read_bytes()
    out = first.stdout.splitlines()
    assert out[:2] == ["tenant_id: acme", "workspace_id: default"]
    assert out[2] == f"output_path: {workdir / 'out' / 'a.json'}"
    assert out[3] == "entries_written: 15"
    assert out[4:] == ["  table: 3", "  column: 11", "  relationship: 1"]


def test_exporting_an_empty_scope_warns(workdir: Path) -> None:
    result = invoke(
        "--data-environment",
        str(write_env(workdir)),
        "data",
        "catalog",
        "export",
        "--out",
        str(workdir / "e.json"),
        "--workspace-id",
        "nobody",
    )
    assert result.exit_code == 0
    assert "entries_written: 0" in result.stdout
    assert "warning: the catalog has no exportable entries" in result.stderr


def test_scope_flags_must_not_be_blank(workdir: Path) -> None:
    result = invoke(
        "--data-environment",
        str(write_env(workdir)),
        "data",
        "catalog",
        "export",
        "--out",
        str(workdir / "e.json"),
        "--tenant-id",
        " ",
    )
    assert result.exit_code == 2


def test_index_rebuild_then_doctor_reports_a_ready_index(workdir: Path) -> None:
    env = write_env(workdir)
    assert profile(env).exit_code == 0
    assert ingest(env, workdir / "docs").exit_code == 0
    rebuilt = invoke("--data-environment", str(env), "data", "catalog", "index", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    found = lines(rebuilt.stdout)
    assert (found["indexed_entries"], found["skipped_entries"]) == ("22", "0")
    doctor = invoke(
        "--data-environment", str(env), "data", "catalog", "index", "doctor", "--output", "json"
    )
    report = json.loads(doctor.stdout)
    assert report["health"] == "ready"
    assert report["relations"]["orphanedRelations"] == 0
    assert report["relations"]["totalRelations"] > 0


def test_doctor_names_orphaned_links_and_a_stale_index(workdir: Path) -> None:
    env = write_env(workdir)
    assert profile(env).exit_code == 0
    assert (
        invoke("--data-environment", str(env), "data", "catalog", "index", "rebuild").exit_code == 0
    )
    assert profile(env).exit_code == 0  # a write after the rebuild: the index is stale
    import sqlite3

    with closing(sqlite3.connect(workdir / "catalog.db")) as conn, conn:
        conn.execute(
            "UPDATE catalog_relations SET target_id = 'gone' WHERE relation_type = "
            "'belongs_to' AND rowid = (SELECT MIN(rowid) FROM catalog_relations "
            "WHERE relation_type = 'belongs_to')"
        )
    result = invoke("--data-environment", str(env), "data", "catalog", "index", "doctor")
    found = lines(result.stdout)
    assert found["health"] == "stale"
    assert found["reason"] == "rebuild required after catalog write"
    assert found["orphaned_relations"] == "1"
    assert "  missing_target: " in result.stdout and "-[belongs_to]-> gone" in result.stdout


def test_graph_json_and_self_contained_html(workdir: Path) -> None:
    env = write_env(workdir)
    assert profile(env).exit_code == 0
    as_json = invoke(
        "--data-environment",
        str(env),
        "data",
        "catalog",
        "graph",
        "--format",
        "json",
        "--max-nodes",
        "2",
    )
    graph = json.loads(as_json.stdout)
    assert len(graph["nodes"]) == 2 and graph["summary"]["truncated"] is True
    assert "raise --max-nodes" in as_json.stderr
    target = workdir / "graph" / "catalog.html"
    html = invoke(
        "--data-environment",
        str(env),
        "data",
        "catalog",
        "graph",
        "--include-columns",
        "--output-file",
        str(target),
    )
    assert html.exit_code == 0, html.output
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "src=" not in page and "href=" not in page
    assert '"kind": "enum_value"' in page
    assert lines(html.stdout)["truncated"] == "false"


# ------------------------------------------------------------------------ progress, table


def test_progress_and_summary_table_draw_on_a_terminal_console() -> None:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, no_color=True)
    output = EventOutput(GlobalOptions(), console=console)
    output.start_progress("ingesting documents", 2)
    output.update_progress(completed=2, description="done")
    output.finish([])
    output.table("knowledge ingestion", ["result", "files"], [["new", 2]])
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buffer.getvalue())
    assert "done" in drawn and "2/2" in drawn
    assert "ingestion" in drawn and "│ new" in drawn


def test_no_console_is_drawn_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary_table(GlobalOptions(), "t", ["a"], [["b"]])
    output = EventOutput(GlobalOptions())
    output.start_progress("x", 1)
    assert output.console is None
    assert capsys.readouterr().err == ""


def test_the_console_script_runs_a_data_command(workdir: Path) -> None:
    script = Path(sys.executable).with_name("flowai-harness")
    completed = subprocess.run(
        [
            str(script),
            "--data-environment",
            str(write_env(workdir)),
            "--output",
            "ndjson",
            "data",
            "profile",
            "estimate",
            "--database-id",
            "shop",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["tables"] == 3


def test_verbose_adds_status_lines(workdir: Path) -> None:
    result = profile(write_env(workdir), "--verbose")
    assert result.exit_code == 0
    assert "status: queued" in result.stdout
    assert "status: indexing (orders)" in result.stdout


def test_results_without_events_print_one_json_object(workdir: Path) -> None:
    env = str(write_env(workdir))
    pretty = invoke(
        "--data-environment",
        env,
        "--output",
        "json",
        "data",
        "profile",
        "estimate",
        "--database-id",
        "shop",
    )
    assert json.loads(pretty.stdout)["columns"] == 11
    compact = invoke(
        "--data-environment",
        env,
        "--output",
        "ndjson",
        "data",
        "profile",
        "estimate",
        "--database-id",
        "shop",
    )
    assert len(compact.stdout.splitlines()) == 1
