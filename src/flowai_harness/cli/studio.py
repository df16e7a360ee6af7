"""``flowai-harness dev`` and ``flowai-harness serve``: run the Studio (studio.md §2, guides §8).

Both serve the API under ``/api`` and the UI on one port (``127.0.0.1:4111`` by default) for
the app named by ``--app package.module:symbol``; Studio state goes to ``.flowai/studio.db``
under the current directory. ``dev`` can also run the UI's dev server from source
(``--studio-dir``, with ``bun``).

Exit codes: 0 when the server stops normally; 2 for usage errors (conflicting flags), an app
reference that cannot be imported (its error envelope is printed as JSON on stderr), a missing
``bun`` or ``package.json``, or a UI dev server that dies at once.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from flowai_harness.cli.app import GlobalOptions, global_options

__all__ = ["dev_command", "serve_command"]

_SOURCE_FLAGS = ("studio_dir", "frontend_host", "frontend_port")
_UVICORN_LEVELS = {
    "trace": "trace",
    "debug": "debug",
    "info": "info",
    "warn": "warning",
    "error": "error",
}


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def _given(ctx: click.Context, *names: str) -> list[str]:
    return [
        _flag(name)
        for name in names
        if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
    ]


def _server_options(command: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--app",
                "app_reference",
                required=True,
                metavar="MODULE:SYMBOL",
                help="The FlowAIApp to serve (or a zero-argument factory returning one).",
            ),
            click.option("--host", default="127.0.0.1", show_default=True, help="Bind address."),
            click.option(
                "--port",
                type=click.IntRange(0, 65535),
                default=4111,
                show_default=True,
                help="Port of the UI and the API.",
            ),
            click.option(
                "--no-studio",
                is_flag=True,
                help="Serve the API only; UI paths answer 503.",
            ),
        ]
    ):
        command = option(command)
    return command


def _load_app(reference: str) -> Any:
    from flowai_harness.studio.apps import AppImportError, resolve_app_reference

    try:
        return resolve_app_reference(reference)
    except AppImportError as exc:
        click.echo(json.dumps(exc.to_envelope()), err=True)
        sys.exit(2)


class _StopRequested(Exception):
    """SIGTERM arrived after the server had shut down."""


def _stop_requested(_signum: int, _frame: Any) -> None:
    raise _StopRequested


def _serve(app: Any, host: str, port: int, no_studio: bool, frontend: Any = None) -> None:
    from flowai_harness.studio.server import studio_server

    options = click.get_current_context().find_root().obj
    level = options.effective_log_level if isinstance(options, GlobalOptions) else "info"
    server = studio_server(
        app,
        host=host,
        port=port,
        serve_studio=not no_studio,
        log_level=_UVICORN_LEVELS.get(level, "info"),
    )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(
        f"FlowAI Studio for '{app.name}' on http://{shown}:{port} "
        f"(API http://{shown}:{port}/api/status"
        f"{', UI disabled' if no_studio else ''})",
        err=True,
    )
    previous = signal.getsignal(signal.SIGTERM)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: turn it into a
    # normal exit (status 0) instead of "Aborted!" or death by signal.
    signal.signal(signal.SIGTERM, _stop_requested)
    try:
        server.run()
    except (KeyboardInterrupt, _StopRequested):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if frontend is not None:
            frontend.stop()


@click.command(name="serve")
@_server_options
@global_options
def serve_command(app_reference: str, host: str, port: int, no_studio: bool) -> None:
    """Serve the Studio (API and UI) for an app."""
    _serve(_load_app(app_reference), host, port, no_studio)


@click.command(name="dev")
@_server_options
@click.option(
    "--studio-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run the Studio UI dev server from this source folder (needs bun).",
)
@click.option("--frontend-host", default="127.0.0.1", show_default=True, help="UI dev host.")
@click.option(
    "--frontend-port",
    type=click.IntRange(1, 65535),
    default=3000,
    show_default=True,
    help="UI dev port.",
)
@click.option("--no-frontend", is_flag=True, help="Do not run or serve a UI dev server.")
@global_options
@click.pass_context
def dev_command(
    ctx: click.Context,
    /,
    app_reference: str,
    host: str,
    port: int,
    no_studio: bool,
    studio_dir: Path | None,
    frontend_host: str,
    frontend_port: int,
    no_frontend: bool,
) -> None:
    """Serve the Studio for an app while developing (optionally with the UI from source)."""
    source = _given(ctx, *_SOURCE_FLAGS)
    if no_studio and (no_frontend or source):
        conflicting = ["--no-frontend"] if no_frontend else []
        raise click.UsageError(
            f"--no-studio serves the API only; drop {', '.join([*conflicting, *source])}", ctx=ctx
        )
    if no_frontend and source:
        raise click.UsageError(
            f"--no-frontend runs no UI dev server; drop {', '.join(source)}", ctx=ctx
        )
    frontend_only = _given(ctx, "frontend_host", "frontend_port")
    if frontend_only and studio_dir is None:
        raise click.UsageError(f"{', '.join(frontend_only)} need --studio-dir", ctx=ctx)
    app = _load_app(app_reference)
    frontend = None
    if studio_dir is not None:
        from flowai_harness.errors import HarnessError
        from flowai_harness.studio.frontend import FrontendProcess, backend_url

        try:
            frontend = FrontendProcess(
                studio_dir, backend=backend_url(host, port), host=frontend_host, port=frontend_port
            )
            frontend.start()
        except HarnessError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        click.echo(
            f"Studio UI dev server on http://{frontend_host}:{frontend_port} "
            f"(pid {frontend.process.pid if frontend.process else '?'})",
            err=True,
        )
    _serve(app, host, port, no_studio, frontend)
