"""The runnable examples of the docs pages run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["budgets.md", "record-replay.md", "telemetry.md"]


def _first_python_block(page: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)
    assert blocks, f"docs/{page} has no python example"
    return str(blocks[0])


@pytest.mark.parametrize("page", PAGES)
def test_the_docs_example_runs(page: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(_first_python_block(page))
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the example printed nothing"
