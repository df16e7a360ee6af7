"""The complete ``flowai-harness`` command tree, and running it on a list of arguments.

:mod:`flowai_harness.cli.app` defines the root group; this module registers the sub-command
groups on it, so the command modules depend on ``app`` and nothing depends back on them.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from flowai_harness.cli.app import PROG_NAME, cli
from flowai_harness.cli.data import data_group
from flowai_harness.cli.mcp import mcp_group
from flowai_harness.cli.studio import dev_command, serve_command

__all__ = ["cli", "exit_code_of", "run_command_line", "run_to_exit_code"]

for _command in (data_group, mcp_group, dev_command, serve_command):
    cli.add_command(_command)


def run_command_line(args: Sequence[str]) -> None:
    """Parse ``args`` (without the program name) and run the command, as click's
    standalone mode does: usage errors print the usage and exit 2, failures print
    ``Error: ...`` and exit 1.

    Raises:
        SystemExit: Always, with the command's exit code.
    """
    cli.main(args=list(args), prog_name=PROG_NAME, standalone_mode=True)


def exit_code_of(exc: SystemExit) -> int:
    """The process exit status ``exc`` stands for, as the interpreter would compute it.

    ``None`` is success; a non-integer code (a message) is printed to stderr and means 1.
    """
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    click.echo(exc.code, err=True)
    return 1


def run_to_exit_code(args: Sequence[str]) -> int:
    """Run the command line like :func:`run_command_line` but return the exit code."""
    try:
        run_command_line(args)
    except SystemExit as exc:
        return exit_code_of(exc)
    return 0
