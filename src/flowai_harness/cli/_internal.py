"""The command-line delegate: every command :func:`flowai_harness.cli.main` does not run itself.

``main`` handles ``dev``, ``serve`` and ``mcp python`` when they are the first arguments and
passes anything else here, through the module attribute, so a test can replace
``flowai_harness.cli._internal.run_cli`` and see the arguments unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from flowai_harness.cli.commands import run_to_exit_code

__all__ = ["run_cli"]


def run_cli(argv: Sequence[str]) -> int:
    """Run the command line ``argv`` (program name first) and return its exit code.

    Args:
        argv: The full argument vector, e.g. ``["flowai-harness", "data", "catalog", "export",
            "--out", "catalog.json"]``; ``argv[0]`` is ignored.

    Returns:
        0 on success and for ``--help`` / ``--version``, 1 when the command fails, 2 for a usage
        error.
    """
    return run_to_exit_code(list(argv)[1:])
