"""Prepare one working directory per test session by running the README's command block.

``prepared`` runs the block as written (only ``.inventory`` becomes a temporary directory):
seed, profile, ingest, index rebuild and the smoke run. Tests that need a ready data
environment use its working directory; the README test checks each step's output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# the example's sources, and this folder for the inventory_steps helpers
for folder in (Path(__file__).resolve().parents[1] / "src", Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from inventory_planning.workdir import WorkDir  # noqa: E402
from inventory_steps import Prepared, readme_commands, run_step  # noqa: E402


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    root = tmp_path_factory.mktemp("inventory") / "work"
    steps = []
    for command in readme_commands():
        steps.append(run_step(command, root))
        if steps[-1].returncode != 0:
            break
    return Prepared(WorkDir.at(root), steps)


@pytest.fixture
def workdir(prepared: Prepared) -> WorkDir:
    failed = [step for step in prepared.steps if step.returncode != 0]
    assert not failed, f"README step failed: {failed[0].command}\n{failed[0].stderr}"
    return prepared.workdir
