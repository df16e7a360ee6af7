"""Find the fenced code blocks of a markdown file, and run its Python blocks as one script.

The blocks of one file share a namespace and run in order, so a page can build a runtime in one
block and use it in the next. A block may ``await`` at the top level (the blocks of a file share
one event loop, not running between blocks, so a block may also call ``asyncio.run``).

Run as a script (``python markdown_blocks.py PAGE.md``) it executes the page's Python blocks in
the current directory and exits non-zero naming the first block that failed.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CodeBlock", "code_blocks", "run_python_blocks"]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """One fenced block: its language tag, its first line number (1-based) and its code."""

    language: str
    line: int
    code: str


def code_blocks(text: str) -> list[CodeBlock]:
    """Return every fenced code block of ``text`` in order (nested fences are not parsed)."""
    blocks: list[CodeBlock] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        language = match["info"].strip().split(" ")[0] if match["info"].strip() else ""
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            body.append(lines[end][indent:] if lines[end][:indent].isspace() else lines[end])
            end += 1
        if end == len(lines):
            raise ValueError(f"line {index + 1}: a code fence is never closed")
        blocks.append(CodeBlock(language, index + 2, "\n".join(body) + "\n"))
        index = end + 1
    return blocks


def run_python_blocks(path: Path) -> None:
    """Run the ``python`` blocks of the markdown file ``path`` in one namespace, in order."""
    # A real module, so that pydantic can resolve the names a page's models refer to.
    module = types.ModuleType("__docs__")
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    loop = asyncio.new_event_loop()
    try:
        for block in code_blocks(path.read_text(encoding="utf-8")):
            if block.language != "python":
                continue
            # Line numbers in tracebacks match the markdown file.
            source = "\n" * (block.line - 1) + block.code
            code = compile(
                source,
                str(path),
                "exec",
                flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                dont_inherit=True,  # not this module's ``from __future__ import annotations``
            )
            result = eval(code, namespace)
            if inspect.isawaitable(result):
                loop.run_until_complete(result)
    finally:
        # As asyncio.run does: cancel what the page left running, then close the loop.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


if __name__ == "__main__":
    try:
        run_python_blocks(Path(sys.argv[1]))
    except BaseException:
        traceback.print_exc()
        sys.exit(1)
