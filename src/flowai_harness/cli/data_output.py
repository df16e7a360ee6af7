"""How the data commands print.

* ``text``: one line per event on stdout (not with ``--quiet``), then ``key: value`` summary
  lines (always). When stderr is a terminal and ``--quiet`` is off, a ``rich`` progress bar and
  a summary table are drawn on stderr as well.
* ``ndjson``: one compact JSON object per event, written as it happens; a command without events
  writes its result as one line.
* ``json``: the events are buffered and printed at the end as one pretty JSON array (a warning
  on stderr says so); a command without events prints its result as one pretty object.

Warnings and errors go to stderr. ``rich`` is imported only when something is drawn.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import IO, Any

import click

from flowai_harness.cli.app import GlobalOptions

__all__ = ["EventOutput", "print_result", "summary_table", "warn"]


def _json_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _json_pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def warn(options: GlobalOptions, message: str) -> None:
    """Print ``warning: message`` on stderr unless the log level hides warnings."""
    if options.effective_log_level != "error":
        click.echo(f"warning: {message}", err=True)


def print_result(options: GlobalOptions, payload: Any, lines: Sequence[str]) -> None:
    """Print a command's result: ``lines`` in text mode, else ``payload`` as JSON."""
    if options.output == "json":
        click.echo(_json_pretty(payload))
    elif options.output == "ndjson":
        click.echo(_json_line(payload))
    else:
        for line in lines:
            click.echo(line)


def _interactive(options: GlobalOptions, stream: IO[str]) -> bool:
    if options.output != "text" or options.quiet:
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class EventOutput:
    """Prints the events of one job in the chosen output mode, with progress when interactive.

    Args:
        options: The global options (output mode, quiet, color).
        console: A ``rich`` console for progress and tables; by default one on stderr, created
            only when stderr is a terminal (tests pass their own).
    """

    def __init__(self, options: GlobalOptions, console: Any = None) -> None:
        self.options = options
        self.events: list[dict[str, Any]] = []
        self.console = console
        if console is None and _interactive(options, sys.stderr):
            from rich.console import Console

            self.console = Console(stderr=True, no_color=not options.color, highlight=False)
        self._progress: Any = None
        self._task: Any = None
        self._stdout_is_terminal = _interactive(options, sys.stdout)
        if options.output == "json":
            warn(
                options,
                "--output json prints every event at the end, as one array; use --output "
                "ndjson to stream them",
            )

    # ------------------------------------------------------------------ events

    def emit(self, event: dict[str, Any], line: str | None) -> None:
        """Record one event; print it now (text, ndjson) or at :meth:`finish` (json)."""
        if self.options.output == "ndjson":
            click.echo(_json_line(event))
        elif self.options.output == "json":
            self.events.append(event)
        elif line is not None and not self.options.quiet:
            self.line(line)

    def line(self, text: str) -> None:
        """Print a text line on stdout, above the progress bar when one is drawn there."""
        if self._progress is not None and self._stdout_is_terminal:
            from rich.text import Text

            self._progress.console.print(Text(text))
        else:
            click.echo(text)

    def finish(self, summary_lines: Sequence[str]) -> None:
        """Stop the progress bar; print the summary lines (text) or the buffered array (json)."""
        self.stop_progress()
        if self.options.output == "json":
            click.echo(_json_pretty(self.events))
        elif self.options.output == "text":
            for text in summary_lines:
                click.echo(text)

    # ---------------------------------------------------------------- progress

    def start_progress(self, description: str, total: int | None) -> None:
        """Show a progress bar on the console (nothing when not interactive)."""
        if self.console is None or self._progress is not None:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def update_progress(
        self,
        *,
        total: int | None = None,
        completed: int | None = None,
        description: str | None = None,
    ) -> None:
        """Move the progress bar (no-op when none is drawn)."""
        if self._progress is None:
            return
        changes: dict[str, Any] = {}
        if total is not None:
            changes["total"] = total
        if completed is not None:
            changes["completed"] = completed
        if description is not None:
            changes["description"] = description
        self._progress.update(self._task, **changes)

    def stop_progress(self) -> None:
        """Remove the live display (the last state stays on screen)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Draw a summary table on the console (nothing when not interactive)."""
        if self.console is not None:
            _draw_table(self.console, title, columns, rows)


def _draw_table(
    console: Any, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    if not rows:
        return
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for index, name in enumerate(columns):
        table.add_column(name, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console.print(table)


def summary_table(
    options: GlobalOptions,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    console: Any = None,
) -> None:
    """Draw a summary table on stderr when it is a terminal (text mode, not ``--quiet``)."""
    if console is None:
        if not _interactive(options, sys.stderr):
            return
        from rich.console import Console

        console = Console(stderr=True, no_color=not options.color, highlight=False)
    _draw_table(console, title, columns, rows)
