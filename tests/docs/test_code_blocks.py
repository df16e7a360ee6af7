"""Every ```python block of the docs and the README runs, offline, as written.

Each page runs in its own process and a fresh temporary directory, so files a page writes
(a SQLite store, a cassette) never leak into the repository or into another page. Provider
keys are set to dummies and provider base URLs point at a closed loopback port: a page may
configure a live provider, but a page that really called one fails instead of reaching out.
The example apps' sources are on the path, as if installed (``pip install -e examples/...``),
so that the tutorials can import them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.markdown_blocks import code_blocks

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("markdown_blocks.py")
PAGES = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
PYTHON_PAGES = [
    page for page in PAGES if any(b.language == "python" for b in code_blocks(page.read_text()))
]


def _offline_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_API_KEY") and not key.endswith("_BASE_URL")
    }
    closed = "http://127.0.0.1:9"
    env.update(
        ANTHROPIC_API_KEY="sk-ant-docs-offline",
        OPENAI_API_KEY="sk-docs-offline",
        ANTHROPIC_BASE_URL=closed,
        OPENAI_BASE_URL=closed,
        PYTHONPATH=os.pathsep.join(
            [
                str(REPO),
                str(REPO / "src"),
                str(REPO / "examples" / "pricing_promotions" / "src"),
                str(REPO / "examples" / "inventory_planning" / "src"),
            ]
        ),
    )
    return env


def test_the_docs_have_python_blocks_to_run() -> None:
    names = {page.relative_to(REPO).as_posix() for page in PYTHON_PAGES}
    assert {"README.md", "docs/getting-started.md", "docs/concepts/plans.md"} <= names


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(RUNNER), str(page)],
        cwd=tmp_path,
        env=_offline_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"{page.relative_to(REPO)}:\n{result.stderr[-4000:]}"


def test_every_block_that_is_not_run_says_why() -> None:
    """A block tagged ``py`` is highlighted as Python but not run: it is kept for code that
    needs a package or a service the test environment does not have, and the line right above
    it must say so in an HTML comment (``<!-- not run: ... -->``, invisible on the site)."""
    unexplained = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        for block in code_blocks(page.read_text()):
            above = lines[block.line - 3].strip() if block.line >= 3 else ""
            if block.language == "py" and not re.fullmatch(r"<!-- not run: .+ -->", above):
                unexplained.append(f"{page.relative_to(REPO)}:{block.line - 1}")
    assert unexplained == [], "add '<!-- not run: <why> -->' above these blocks, or tag them python"


def test_code_fences_are_read_with_their_language_and_line() -> None:
    text = "intro\n\n```python\nx = 1\n```\n\n  ```bash\n  echo hi\n  ```\n"
    blocks = code_blocks(text)
    assert [(b.language, b.line, b.code) for b in blocks] == [
        ("python", 4, "x = 1\n"),
        ("bash", 8, "echo hi\n"),
    ]


def test_an_unclosed_fence_is_an_error() -> None:
    with pytest.raises(ValueError, match="line 1: a code fence is never closed"):
        code_blocks("```python\nx = 1\n")


def test_a_failing_block_fails_its_page(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nvalue = 41\n```\n\n```python\nassert value == 42\n```\n")
    result = subprocess.run(
        [sys.executable, str(RUNNER), str(page)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert f'File "{page}", line 6' in result.stderr


def test_blocks_share_one_event_loop_and_may_await(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nimport asyncio\nawait asyncio.sleep(0)\n"
        "loop = asyncio.get_running_loop()\n```\n\n"
        "```python\nawait asyncio.sleep(0)\nassert asyncio.get_running_loop() is loop\n```\n"
    )
    result = subprocess.run(
        [sys.executable, str(RUNNER), str(page)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
