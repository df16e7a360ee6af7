"""The root ``flowai-harness`` command group, its global options and the ``version`` command.

The other commands are registered on :data:`cli` by :mod:`flowai_harness.cli.commands`.

Global options are accepted before the command name and, on commands decorated
with :func:`global_options`, after it too. Their values live in one :class:`GlobalOptions` object
on the root click context (``ctx.obj``); later values on the command line win.

Keep this module light: heavy libraries (rich, the engine, the web stack) are imported inside the
commands that use them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import click
from click.core import ParameterSource

from flowai_harness._version import installed_version

__all__ = [
    "LOG_LEVELS",
    "GlobalOptions",
    "LogLevel",
    "OptionDecorator",
    "OutputFormat",
    "cli",
    "global_options",
    "option_group",
]

PROG_NAME = "flowai-harness"

OutputFormat = Literal["text", "json", "ndjson"]
LogLevel = Literal["trace", "debug", "info", "warn", "error"]

#: The stdlib ``logging`` level of each ``--log-level`` value.
LOG_LEVELS: Mapping[LogLevel, int] = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

_F = TypeVar("_F", bound=Callable[..., Any])

OptionDecorator = Callable[[Callable[..., Any]], Callable[..., Any]]
"""What ``click.option(...)`` returns: adds one option to a command callback."""


def option_group(*options: OptionDecorator) -> OptionDecorator:
    """Combine options into one decorator; ``--help`` lists them in the order given."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@dataclasses.dataclass(frozen=True, slots=True)
class GlobalOptions:
    """The global command-line options, as seen by every subcommand through ``ctx.obj``.

    Attributes:
        data_environment: ``--data-environment PATH`` (a JSON or TOML file), if given.
        output: ``--output``: ``text`` (default), ``json`` or ``ndjson``.
        quiet: ``--quiet``: suppress progress lines.
        verbose: ``--verbose``: more detail.
        log_level: ``--log-level`` when given explicitly, else ``None``.
        color: ``False`` with ``--no-color`` or when the ``NO_COLOR`` environment variable is set.
    """

    data_environment: Path | None = None
    output: OutputFormat = "text"
    quiet: bool = False
    verbose: bool = False
    log_level: LogLevel | None = None
    color: bool = True

    @property
    def effective_log_level(self) -> LogLevel:
        """The log level to use: explicit ``--log-level``, else error/debug/info by verbosity."""
        if self.log_level is not None:
            return self.log_level
        if self.quiet:
            return "error"
        if self.verbose:
            return "debug"
        return "info"


def _root_options(ctx: click.Context) -> GlobalOptions:
    root = ctx.find_root()
    if not isinstance(root.obj, GlobalOptions):
        root.obj = GlobalOptions(color=not os.environ.get("NO_COLOR"))
    return root.obj


def _record(field: str, transform: Callable[[Any], Any] = lambda value: value) -> Any:
    """Build an option callback that stores an explicitly given value on ``ctx.obj``."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        options = _root_options(ctx)
        assert param.name is not None
        source = ctx.get_parameter_source(param.name)
        if source in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
            return
        options = dataclasses.replace(options, **{field: transform(value)})
        if options.quiet and options.verbose:
            raise click.UsageError("--quiet and --verbose are mutually exclusive", ctx=ctx)
        # Sub-contexts copy ``obj`` when created: update the whole chain so none is stale.
        current: click.Context | None = ctx
        while current is not None:
            current.obj = options
            current = current.parent

    return callback


def _global_option(
    name: str,
    *,
    field: str | None = None,
    transform: Callable[[Any], Any] = lambda value: value,
    **attrs: Any,
) -> OptionDecorator:
    """A global option: its value goes to ``ctx.obj`` (field named after the option by
    default), never to the command's parameters."""
    field = field or name.removeprefix("--").replace("-", "_")
    return click.option(name, expose_value=False, callback=_record(field, transform), **attrs)


class _EnvironmentFile(click.Path):
    """The ``--data-environment`` file; a URL given instead says where URLs belong."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and _URL.match(value):
            from flowai_harness.specs.data_environment import redact_url

            self.fail(
                f"'{redact_url(value)}' is a URL, not a file. --data-environment takes the path "
                "of a JSON or TOML file describing the data environment; connection URLs go "
                'inside it, e.g. {"kv": {"kind": "postgres", "url_env": "KV_DATABASE_URL"}}',
                param,
                ctx,
            )
        return super().convert(value, param, ctx)


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]+:/")

_with_global_options = option_group(
    _global_option(
        "--data-environment",
        type=_EnvironmentFile(exists=True, dir_okay=False, path_type=Path),
        metavar="PATH",
        help="Data environment file (.json, .toml, or JSON then TOML).",
    ),
    _global_option(
        "--output",
        type=click.Choice(get_args(OutputFormat)),
        default="text",
        show_default=True,
        help="Output format.",
    ),
    _global_option(
        "--quiet",
        is_flag=True,
        help="Only print results and errors (log level error). Excludes --verbose.",
    ),
    _global_option(
        "--verbose",
        is_flag=True,
        help="Print more detail (log level debug). Excludes --quiet.",
    ),
    _global_option(
        "--log-level",
        type=click.Choice(get_args(LogLevel)),
        default=None,
        help="Log level for stderr logs [default: info].",
    ),
    _global_option(
        "--no-color",
        field="color",
        transform=lambda flag: not flag,
        is_flag=True,
        help="Disable colored output.",
    ),
)


def global_options(command: _F) -> _F:
    """Accept the global options on ``command`` as well (they are "accepted anywhere").

    Args:
        command: A click command callback (apply before ``@group.command()``).

    Returns:
        The callback with the global options attached; their values land on ``ctx.obj``.
    """
    return _with_global_options(command)  # type: ignore[return-value]


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"{PROG_NAME} {installed_version()}")
    ctx.exit()


@click.group(name=PROG_NAME, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version and exit.",
)
@global_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """flowai-harness: build, run and inspect multi-step, tool-using data agents."""
    _root_options(ctx)


@cli.command()
@global_options
@click.pass_context
def version(ctx: click.Context) -> None:
    """Print the installed flowai-harness version."""
    options = _root_options(ctx)
    current = installed_version()
    if options.output == "text":
        click.echo(f"{PROG_NAME} {current}")
    else:
        click.echo(json.dumps({"name": PROG_NAME, "version": current}))
