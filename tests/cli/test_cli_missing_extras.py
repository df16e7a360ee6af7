"""Commands whose optional dependencies are not installed print one line naming the extra.

Each case runs ``main`` in a fresh interpreter where the dependency cannot be imported (a
``None`` entry in ``sys.modules`` makes ``import`` raise ``ImportError``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.data.sample_catalog import create_target_database

REPO = Path(__file__).resolve().parents[2]

APP_MODULE = textwrap.dedent(
    """
    from flowai_harness import (
        TestingConfig, create_runtime, define_coordinator, define_runtime, define_specialist,
        define_tenant,
    )
    from flowai_harness.studio import define_app

    spec = define_runtime(
        define_tenant("acme", "v1"),
        agents=[
            define_coordinator("coord", model="claude-sonnet-4-6", routes=["helper"],
                               prompt="Route."),
            define_specialist("helper", model="claude-haiku-4-5", prompt="Help."),
        ],
    )
    app = define_app(
        name="extras-app",
        runtime_spec=spec,
        runtime_factory=lambda: create_runtime(spec, testing=TestingConfig(mock_response="ok")),
    )
    """
)


def run_without(missing: str, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"sys.modules[{missing!r}] = None\n"
        "from flowai_harness.cli import main\n"
        f"sys.exit(main({['flowai-harness', *argv]!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def error_lines(completed: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in completed.stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("missing", ["fastapi", "uvicorn"])
@pytest.mark.parametrize("command", ["serve", "dev"])
def test_studio_commands_without_the_web_stack_print_one_line_naming_the_extra(
    missing: str, command: str, tmp_path: Path
) -> None:
    (tmp_path / "extras_app.py").write_text(APP_MODULE, encoding="utf-8")
    completed = run_without(missing, [command, "--app", "extras_app:app", "--port", "0"], tmp_path)
    lines = error_lines(completed)
    assert completed.returncode == 1, completed.stderr
    assert len(lines) == 1, completed.stderr
    assert missing in lines[0]
    assert "pip install 'flowai-harness[studio]'" in lines[0]


def test_mcp_python_without_the_sdk_prints_one_line_naming_the_extra() -> None:
    completed = run_without(
        "mcp", ["mcp", "python", "tests.mcp.sample_app:runtime", "--agent", "tools"], REPO
    )
    # The sample app prints one line while it loads; on stdio that goes to stderr too.
    lines = [line for line in error_lines(completed) if line != "sample_app loaded"]
    assert completed.returncode == 1, completed.stderr
    assert len(lines) == 1, completed.stderr
    assert "pip install 'flowai-harness[mcp]'" in lines[0]


def test_mcp_toolkit_without_the_sdk_prints_one_line_naming_the_extra(tmp_path: Path) -> None:
    environment = tmp_path / "env.json"
    environment.write_text(json.dumps({"tenant_id": "flowai-mcp"}), encoding="utf-8")
    argv = ["--data-environment", str(environment), "mcp", "toolkit", "--toolkit", "plans"]
    completed = run_without("mcp", argv, tmp_path)
    lines = error_lines(completed)
    assert completed.returncode == 1, completed.stderr
    assert len(lines) == 1, completed.stderr
    assert "pip install 'flowai-harness[mcp]'" in lines[0]


def test_profiling_into_a_searchable_catalog_without_tantivy_fails_before_any_table(
    tmp_path: Path,
) -> None:
    create_target_database(tmp_path / "target.db")
    environment = tmp_path / "env.json"
    environment.write_text(
        json.dumps(
            {
                "tenant_id": "acme",
                "catalog": {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'catalog.db'}"},
                "catalog_search": {"index_path": str(tmp_path / "index")},
                "target_database": {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'target.db'}"},
            }
        ),
        encoding="utf-8",
    )
    argv = ["--data-environment", str(environment), "data", "profile", "database"]
    completed = run_without("tantivy", [*argv, "--database-id", "shop", "--schema-only"], REPO)
    lines = error_lines(completed)
    assert completed.returncode == 1, completed.stderr
    assert len(lines) == 1, completed.stderr
    assert "pip install 'flowai-harness[search]'" in lines[0]
    assert completed.stdout == ""  # no job started, no table profiled
    assert not (tmp_path / "catalog.db").exists()
