"""The layer rules of DESIGN.md §2 and the cheap-import promise, checked on the real package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Top-level distributions that must not load on `import flowai_harness` (DESIGN.md §3).
HEAVY_MODULES = (
    "anthropic",
    "openai",
    "fastapi",
    "uvicorn",
    "psycopg",
    "redis",
    "tantivy",
    "sqlglot",
    "jsonschema",
    "mcp",
    "rich",
    "click",
)


def _lint_imports_command() -> list[str]:
    script = Path(sys.executable).with_name("lint-imports")
    if script.exists():
        return [str(script)]
    found = shutil.which("lint-imports")
    assert found is not None, "import-linter is not installed (pip install -e '.[dev]')"
    return [found]


def _heavy_modules_loaded_by(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the heavy top-level modules it loaded."""
    probe = (
        f"{code}\n"
        "import json, sys\n"
        "print(json.dumps(sorted({name.partition('.')[0] for name in sys.modules})))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )
    assert completed.returncode == 0, completed.stderr
    loaded = set(json.loads(completed.stdout.splitlines()[-1]))
    return sorted(loaded.intersection(HEAVY_MODULES))


def test_import_linter_contracts_are_kept() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    completed = subprocess.run(
        [*_lint_imports_command(), "--no-cache", "--no-logo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO_ROOT,
        env=env,
    )
    report = completed.stdout + completed.stderr
    assert completed.returncode == 0, report
    assert "0 broken" in report, report


def test_importing_the_package_loads_no_heavy_dependency() -> None:
    assert _heavy_modules_loaded_by("import flowai_harness") == []


@pytest.mark.parametrize(
    "names",
    [
        "define_tenant, define_coordinator, define_specialist, define_runtime",
        "define_tenant, define_coordinator, define_specialist, define_runtime, create_runtime",
    ],
)
def test_typical_authoring_imports_load_no_heavy_dependency(names: str) -> None:
    assert _heavy_modules_loaded_by(f"from flowai_harness import {names}") == []


def test_importing_the_studio_declaration_loads_no_heavy_dependency() -> None:
    code = "from flowai_harness.studio import define_app, define_workspace_runtime, FlowAIApp"
    assert _heavy_modules_loaded_by(code) == []
