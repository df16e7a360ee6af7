"""The layer rules, the absence of import cycles, and the cheap-import promise, checked on the
real package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Top-level distributions that must not load on `import flowai_harness` (import stays cheap).
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


# --------------------------------------------------------------------------- import cycles

#: every package is checked; these must exist, so the check cannot pass by finding nothing
PACKAGES = (
    "flowai_harness.engine",
    "flowai_harness.data",
    "flowai_harness.cli",
    "flowai_harness.studio",
    "flowai_harness.evals",
    "flowai_harness.mcp",
    "flowai_harness.providers",
    "flowai_harness.storage",
    "flowai_harness.specs",
    "flowai_harness.specs.evals",
)


def _import_graph() -> grimp.ImportGraph:
    # Imports inside functions and under TYPE_CHECKING count, as they do for import-linter.
    return grimp.build_graph("flowai_harness", cache_dir=None)


def _sibling_cycles(graph: grimp.ImportGraph, package: str) -> list[frozenset[str]]:
    """The import cycles between the direct children of ``package`` (a child stands for its
    whole subtree), as sets of child names."""
    children = sorted(graph.find_children(package))
    prefix = len(package) + 1

    def child_of(module: str) -> str | None:
        for child in children:
            if module == child or module.startswith(child + "."):
                return child[prefix:]
        return None

    edges: dict[str, set[str]] = {child[prefix:]: set() for child in children}
    for module in graph.find_descendants(package):
        source = child_of(module)
        for imported in graph.find_modules_directly_imported_by(module):
            target = child_of(imported)
            if source is not None and target is not None and target != source:
                edges[source].add(target)
    return _strongly_connected(edges)


def _strongly_connected(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's algorithm; only components of two or more nodes (cycles) are returned."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_and_nothing_else() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _strongly_connected(edges) == [frozenset({"a", "b", "c"})]


def test_no_package_has_an_import_cycle() -> None:
    graph = _import_graph()
    packages = sorted(m for m in graph.modules if graph.find_children(m))
    assert set(PACKAGES) <= set(packages), sorted(set(PACKAGES) - set(packages))
    cycles = {
        package: [sorted(cycle) for cycle in found]
        for package in packages
        if (found := _sibling_cycles(graph, package))
    }
    assert cycles == {}, f"import cycles (modules importing each other): {cycles}"


def test_the_import_linter_contract_forbids_a_cycle_in_every_package() -> None:
    # The contract makes lint-imports (and so the checks before a commit) refuse a new cycle
    # too; a package added later must be listed there.
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        contracts = tomllib.load(file)["tool"]["importlinter"]["contracts"]
    covered = {
        ancestor
        for contract in contracts
        if contract["type"] == "acyclic_siblings"
        for ancestor in contract["ancestors"]
    }
    graph = _import_graph()
    packages = {m for m in graph.modules if graph.find_children(m)}
    assert packages <= covered, sorted(packages - covered)
