"""``flowai-harness dev`` and ``flowai-harness serve``: run the Studio (studio.md §2, guides §8).

Both serve the API under ``/api`` and the UI on one port (``127.0.0.1:4111`` by default) for
the app named by ``--app package.module:symbol``; Studio state goes to ``.flowai/studio.db``
under the current directory. ``dev`` can also run the UI's dev server from source
(``--studio-dir``, with ``bun``); its origin is then allowed to call the API.

A ``--host`` other than a loopback address needs ``--token`` (or ``FLOWAI_STUDIO_TOKEN``).
With a token, the start-up line prints the one URL that carries it
(``http://host:port/#token=...``); the token is printed nowhere else. ``--allow-origin`` and
``--allowed-host`` (repeatable) open CORS to other browser origins and accept other ``Host``
names; ``--max-body-mb`` caps request bodies.

Exit codes: 0 when the server stops normally; 1 when the address cannot be bound; 2 for usage
errors (conflicting flags, a network ``--host`` without a token, a malformed security option),
an app reference that cannot be imported (its error envelope is printed as JSON on stderr), a
missing ``bun`` or ``package.json``, or a UI dev server that dies at once.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from flowai_harness.cli.app import GlobalOptions, global_options

__all__ = ["TOKEN_ENV", "dev_command", "serve_command"]

#: Environment variable read by ``--token``.
TOKEN_ENV = "FLOWAI_STUDIO_TOKEN"

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
            click.option(
                "--token",
                envvar=TOKEN_ENV,
                default=None,
                help=(
                    f"Bearer token the API requires; mandatory for a non-loopback --host "
                    f"[env: {TOKEN_ENV}]."
                ),
            ),
            click.option(
                "--allow-origin",
                "allow_origins",
                multiple=True,
                metavar="ORIGIN",
                help="Browser origin allowed to call the API, e.g. http://localhost:5173 "
                "(repeatable; default: none).",
            ),
            click.option(
                "--allowed-host",
                "allowed_hosts",
                multiple=True,
                metavar="HOST",
                help="Host header name accepted besides the bind address (repeatable).",
            ),
            click.option(
                "--max-body-mb",
                type=click.FloatRange(min=0, min_open=True),
                default=10.0,
                show_default=True,
                help="Largest accepted request body, in MiB.",
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


@dataclass(frozen=True)
class _Exposure:
    """Who may reach the server: the security flags of ``dev`` and ``serve``."""

    host: str
    port: int
    token: str | None = field(repr=False)
    allow_origins: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    max_body_bytes: int


def _exposure(ctx: click.Context, params: dict[str, Any]) -> _Exposure:
    """Check the security flags before anything starts (exit 2 with the reason)."""
    from flowai_harness.mcp.exposure import (
        check_allowed_hosts,
        check_allowed_origins,
        check_token,
        require_token_for_network,
        resolve_bind_host,
    )

    try:
        token = check_token(params["token"], name="--token")
        require_token_for_network(
            resolve_bind_host(params["host"]),
            token,
            server="the Studio",
            remedy=f"--token or {TOKEN_ENV}",
        )
        origins = check_allowed_origins(params["allow_origins"], name="--allow-origin")
        hosts = check_allowed_hosts(params["allowed_hosts"], name="--allowed-host")
    except (ValueError, TypeError) as exc:
        raise click.UsageError(str(exc), ctx=ctx) from None
    return _Exposure(
        host=params["host"],
        port=params["port"],
        token=token,
        allow_origins=origins,
        allowed_hosts=hosts,
        max_body_bytes=int(params["max_body_mb"] * 1024 * 1024),
    )


def _bind(exposure: _Exposure) -> socket.socket:
    from flowai_harness.errors import HarnessError
    from flowai_harness.studio.server import bind_studio_socket

    try:
        return bind_studio_socket(exposure.host, exposure.port)
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from None


class _StopRequested(Exception):
    """SIGTERM arrived after the server had shut down."""


def _stop_requested(_signum: int, _frame: Any) -> None:
    raise _StopRequested


def _serve(
    app: Any, exposure: _Exposure, sock: socket.socket, no_studio: bool, frontend: Any = None
) -> None:
    from flowai_harness.studio.server import studio_server, studio_url

    options = click.get_current_context().find_root().obj
    level = options.effective_log_level if isinstance(options, GlobalOptions) else "info"
    port = int(sock.getsockname()[1])
    server = studio_server(
        app,
        host=exposure.host,
        port=port,
        serve_studio=not no_studio,
        log_level=_UVICORN_LEVELS.get(level, "info"),
        token=exposure.token,
        allowed_origins=exposure.allow_origins,
        allowed_hosts=exposure.allowed_hosts,
        max_body_bytes=exposure.max_body_bytes,
    )
    url = studio_url(exposure.host, port, exposure.token)
    api = studio_url(exposure.host, port) + "api/status"
    notes = [f"API {api}"]
    if exposure.token:
        notes.append("the API needs 'Authorization: Bearer <token>'")
    if exposure.host.strip() in ("0.0.0.0", "::", "[::]", ""):
        notes.append(f"listening on every interface, port {port}")
    if no_studio:
        notes.append("UI disabled")
    click.echo(f"FlowAI Studio for '{app.name}' on {url} ({'; '.join(notes)})", err=True)
    previous = signal.getsignal(signal.SIGTERM)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: turn it into a
    # normal exit (status 0) instead of "Aborted!" or death by signal.
    signal.signal(signal.SIGTERM, _stop_requested)
    try:
        server.run(sockets=[sock])
    except (KeyboardInterrupt, _StopRequested):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
        if frontend is not None:
            frontend.stop()


@click.command(name="serve")
@_server_options
@global_options
@click.pass_context
def serve_command(
    ctx: click.Context, /, app_reference: str, no_studio: bool, **params: Any
) -> None:
    """Serve the Studio (API and UI) for an app."""
    exposure = _exposure(ctx, params)
    app = _load_app(app_reference)
    _serve(app, exposure, _bind(exposure), no_studio)


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
    no_studio: bool,
    studio_dir: Path | None,
    frontend_host: str,
    frontend_port: int,
    no_frontend: bool,
    **params: Any,
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
    exposure = _exposure(ctx, params)
    if studio_dir is not None:
        exposure = _with_frontend_origin(exposure, frontend_host, frontend_port)
    app = _load_app(app_reference)
    sock = _bind(exposure)
    frontend = None
    if studio_dir is not None:
        frontend = _start_frontend(studio_dir, exposure, sock, frontend_host, frontend_port)
    _serve(app, exposure, sock, no_studio, frontend)


def _with_frontend_origin(exposure: _Exposure, host: str, port: int) -> _Exposure:
    """Allow the UI dev server's origin: its proxy forwards the browser's ``Origin``."""
    from dataclasses import replace

    names = ("127.0.0.1", "localhost") if host.strip() in ("127.0.0.1", "localhost") else (host,)
    shown = [f"http://{f'[{n}]' if ':' in n else n}:{port}" for n in names]
    return replace(exposure, allow_origins=tuple(dict.fromkeys([*exposure.allow_origins, *shown])))


def _start_frontend(
    studio_dir: Path, exposure: _Exposure, sock: socket.socket, host: str, port: int
) -> Any:
    from flowai_harness.errors import HarnessError
    from flowai_harness.studio.frontend import FrontendProcess, backend_url

    backend = backend_url(exposure.host, int(sock.getsockname()[1]))
    try:
        frontend = FrontendProcess(studio_dir, backend=backend, host=host, port=port)
        frontend.start()
    except HarnessError as exc:
        sock.close()
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    click.echo(
        f"Studio UI dev server on http://{host}:{port} "
        f"(pid {frontend.process.pid if frontend.process else '?'})",
        err=True,
    )
    return frontend
