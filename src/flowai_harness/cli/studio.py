"""``flowai-harness dev`` and ``flowai-harness serve``: run the Studio.

Both serve the API under ``/api`` and the UI on one port (``127.0.0.1:4111`` by default) for
the app named by ``--app package.module:symbol``; Studio state goes to ``.flowai/studio.db``
under the current directory. ``dev`` can also run the UI's dev server from source
(``--studio-dir``, with ``bun``); its origin is then allowed to call the API.

A ``--host`` other than a loopback address needs ``--token`` (or ``FLOWAI_STUDIO_TOKEN``).
With a token, the start-up line prints the one URL that carries it
(``http://host:port/#token=...``); the token is printed nowhere else. ``--allow-origin`` and
``--allowed-host`` (repeatable) open CORS to other browser origins and accept other ``Host``
names; ``--max-body-mb`` caps request bodies.

Usage errors use the wording of the reference CLI (an argparse program): an unknown flag is
reported as ``unrecognized arguments: --flag value``, and ``dev``'s frontend flags as
``--frontend-host and --frontend-port require --studio-dir``. Every usage error is found before
the app is imported.

Exit codes: 0 when the server stops normally; 1 when the address cannot be bound or the
``studio`` extra (FastAPI, uvicorn) is missing; 2 for usage errors (conflicting or unknown
flags, a network ``--host`` without a token, a malformed security option), an app reference
that cannot be imported (its error envelope is printed as JSON on stderr), a missing ``bun`` or
``package.json``, or a UI dev server that dies at once.
"""

from __future__ import annotations

import importlib
import json
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from flowai_harness.cli.app import GlobalOptions, global_options
from flowai_harness.cli.patch_points import current_patch_points
from flowai_harness.cli.studio_launch import (
    DevServerOptions,
    run_studio_server,
    start_frontend_dev_server,
    terminate_frontend_dev_server,
)

__all__ = ["TOKEN_ENV", "dev_command", "serve_command"]

#: Environment variable read by ``--token``.
TOKEN_ENV = "FLOWAI_STUDIO_TOKEN"

_STUDIO_EXTRA_HINT = "pip install 'flowai-harness[studio]'"
_DEFAULT_MAX_BODY_MB = 10.0
_SOURCE_FLAGS = ("studio_dir", "frontend_host", "frontend_port")
# Unknown flags are collected (not refused by click) so they can be reported as argparse does.
_ARGPARSE_STYLE = {"ignore_unknown_options": True, "allow_extra_args": True}


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def _given(ctx: click.Context, *names: str) -> list[str]:
    return [
        _flag(name)
        for name in names
        if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
    ]


def _refuse_unrecognized(ctx: click.Context) -> None:
    if ctx.args:
        raise click.UsageError(f"unrecognized arguments: {' '.join(ctx.args)}", ctx=ctx)


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
                default=_DEFAULT_MAX_BODY_MB,
                show_default=True,
                help="Largest accepted request body, in MiB.",
            ),
        ]
    ):
        command = option(command)
    return command


@dataclass(frozen=True)
class _Exposure:
    """Who may reach the server: the security flags of ``dev`` and ``serve``."""

    host: str
    port: int
    token: str | None = field(repr=False)
    allow_origins: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    max_body_mb: float

    def server_options(self, log_level: str) -> dict[str, Any]:
        """Keyword arguments of ``run_studio_server``: host, port, and each security option
        only when it differs from the default, so a replacement with the reference's
        signature ``(app, *, host, port, serve_studio)`` keeps working."""
        options: dict[str, Any] = {"host": self.host, "port": self.port}
        if self.token is not None:
            options["token"] = self.token
        if self.allow_origins:
            options["allowed_origins"] = list(self.allow_origins)
        if self.allowed_hosts:
            options["allowed_hosts"] = list(self.allowed_hosts)
        if self.max_body_mb != _DEFAULT_MAX_BODY_MB:
            options["max_body_bytes"] = int(self.max_body_mb * 1024 * 1024)
        if log_level != "info":
            options["log_level"] = log_level
        return options


def _exposure(ctx: click.Context, params: dict[str, Any]) -> _Exposure:
    """Check the security flags before anything starts (exit 2 with the reason)."""
    from flowai_harness._mcp_serving.exposure import (
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
        max_body_mb=params["max_body_mb"],
    )


def _require_studio_extra() -> None:
    """Fail with one line naming the extra when the web stack is not installed."""
    for module in ("fastapi", "uvicorn"):
        try:
            importlib.import_module(module)
        except ImportError:
            raise click.ClickException(
                f"the Studio needs the 'studio' extra ({module} is not installed): "
                f"{_STUDIO_EXTRA_HINT}"
            ) from None


def _load_app(ctx: click.Context, reference: str) -> Any:
    from flowai_harness.studio.import_resolver import AppImportError, resolve_app_reference

    try:
        return resolve_app_reference(reference)
    except AppImportError as exc:
        options = ctx.find_root().obj
        text_mode = not isinstance(options, GlobalOptions) or options.output == "text"
        if text_mode and exc.__cause__ is not None:
            # A person reads text mode: the failure and where it happened, then the envelope
            # (always the last line, for tools that parse it).
            click.echo(f"error: {exc.message}", err=True)
            trace = traceback.format_exception(exc.__cause__)
            click.echo("".join(trace).rstrip("\n"), err=True)
        click.echo(json.dumps(exc.to_error_response()), err=True)
        ctx.exit(2)


def _log_level(ctx: click.Context) -> str:
    options = ctx.find_root().obj
    return options.effective_log_level if isinstance(options, GlobalOptions) else "info"


def _serve(ctx: click.Context, app: Any, exposure: _Exposure, no_studio: bool) -> None:
    """Run the Studio server until it stops; a start-up failure exits 1 with its message."""
    from flowai_harness.errors import HarnessError

    try:
        run = current_patch_points().run_studio_server or run_studio_server
        run(app, serve_studio=not no_studio, **exposure.server_options(_log_level(ctx)))
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from None


@click.command(name="serve", context_settings=_ARGPARSE_STYLE)
@_server_options
@global_options
@click.pass_context
def serve_command(
    ctx: click.Context, /, app_reference: str, no_studio: bool, **params: Any
) -> None:
    """Serve the Studio (API and UI) for an app."""
    _refuse_unrecognized(ctx)
    exposure = _exposure(ctx, params)
    _require_studio_extra()
    _serve(ctx, _load_app(ctx, app_reference), exposure, no_studio)


@click.command(name="dev", context_settings=_ARGPARSE_STYLE)
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
    _refuse_unrecognized(ctx)
    _check_frontend_flags(ctx, no_studio=no_studio, no_frontend=no_frontend)
    exposure = _exposure(ctx, params)
    frontend: DevServerOptions | None = None
    if studio_dir is not None:
        frontend = DevServerOptions(
            host=exposure.host,
            port=exposure.port or _free_port(exposure.host),
            frontend_host=frontend_host,
            frontend_port=frontend_port,
            studio_dir=studio_dir,
        )
        exposure = _with_frontend_origin(replace(exposure, port=frontend.port), frontend)
    _require_studio_extra()
    app = _load_app(ctx, app_reference)
    process = None if frontend is None else _start_frontend(ctx, frontend)
    try:
        _serve(ctx, app, exposure, no_studio)
    finally:
        if process is not None:
            stop = current_patch_points().terminate_frontend_dev_server
            (stop or terminate_frontend_dev_server)(process)


def _check_frontend_flags(ctx: click.Context, *, no_studio: bool, no_frontend: bool) -> None:
    """The flag combinations ``dev`` refuses, in the reference CLI's words."""
    source = _given(ctx, *_SOURCE_FLAGS)
    if no_studio and (no_frontend or source):
        given = ", ".join([*(["--no-frontend"] if no_frontend else []), *source])
        raise click.UsageError(
            f"--no-studio cannot be combined with source frontend options (got {given})",
            ctx=ctx,
        )
    if no_frontend and source:
        raise click.UsageError(
            f"--no-frontend cannot be combined with source frontend options "
            f"(got {', '.join(source)})",
            ctx=ctx,
        )
    if _given(ctx, "frontend_host", "frontend_port") and not _given(ctx, "studio_dir"):
        raise click.UsageError("--frontend-host and --frontend-port require --studio-dir", ctx=ctx)


def _free_port(host: str) -> int:
    """A free port for ``--port 0`` when the UI dev server must be told the API's port
    before the API binds it."""
    from flowai_harness.errors import HarnessError
    from flowai_harness.studio.server import bind_studio_socket

    try:
        with bind_studio_socket(host, 0) as sock:
            return int(sock.getsockname()[1])
    except HarnessError as exc:
        raise click.ClickException(str(exc)) from None


def _with_frontend_origin(exposure: _Exposure, frontend: DevServerOptions) -> _Exposure:
    """Allow the UI dev server's origin: its proxy forwards the browser's ``Origin``."""
    host, port = frontend.frontend_host.strip(), frontend.frontend_port
    names = ("127.0.0.1", "localhost") if host in ("127.0.0.1", "localhost") else (host,)
    shown = [f"http://{f'[{n}]' if ':' in n else n}:{port}" for n in names]
    return replace(exposure, allow_origins=tuple(dict.fromkeys([*exposure.allow_origins, *shown])))


def _start_frontend(ctx: click.Context, options: DevServerOptions) -> Any:
    from flowai_harness.errors import HarnessError

    try:
        start = current_patch_points().start_frontend_dev_server or start_frontend_dev_server
        return start(options)
    except HarnessError as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(2)
