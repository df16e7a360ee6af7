"""The ``flowai-harness`` command line. Entry point: :func:`main`.

``main`` runs ``dev``, ``serve`` and ``mcp python`` itself when they are the first arguments and
hands every other command line to ``_internal.run_cli``. The Studio and MCP commands call the
functions named below through this module's attributes, read at each call, so tests may
replace them with ``monkeypatch``: ``run_studio_server``, ``_start_frontend_dev_server``,
``_terminate_frontend_dev_server``, ``_load_runtime_target`` and ``_internal.run_cli``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from flowai_harness.cli import _internal
from flowai_harness.cli.commands import run_command_line, run_to_exit_code
from flowai_harness.cli.mcp import load_runtime_target as _load_runtime_target
from flowai_harness.cli.patch_points import PatchPoints, patch_points_installed
from flowai_harness.cli.studio_launch import run_studio_server
from flowai_harness.cli.studio_launch import (
    start_frontend_dev_server as _start_frontend_dev_server,
)
from flowai_harness.cli.studio_launch import (
    terminate_frontend_dev_server as _terminate_frontend_dev_server,
)

__all__ = ["main", "run_studio_server"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``flowai-harness`` command line; the console script is ``sys.exit(main())``.

    Args:
        argv: The full argument vector, program name first (``["flowai-harness", "--help"]``);
            ``None`` means ``sys.argv``.

    Returns:
        The exit code: 0 on success and for ``--help`` / ``--version``, 1 when a command fails,
        2 for usage errors (including an app reference that cannot be imported).

    Raises:
        SystemExit: Only for ``mcp python``, whose every exit (``--help`` included) is raised
            rather than returned, as the reference CLI does.
    """
    args = list(sys.argv if argv is None else argv)
    command = args[1:]
    points = PatchPoints(
        run_studio_server=run_studio_server,
        start_frontend_dev_server=_start_frontend_dev_server,
        terminate_frontend_dev_server=_terminate_frontend_dev_server,
        load_runtime_target=_load_runtime_target,
    )
    with patch_points_installed(points):
        if command[:2] == ["mcp", "python"]:
            run_command_line(command)
            return 0
        if command[:1] in (["dev"], ["serve"]):
            return run_to_exit_code(command)
        return _internal.run_cli(args)
