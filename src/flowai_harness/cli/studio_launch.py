"""Running what ``flowai-harness dev`` and ``serve`` start: the Studio server and the UI dev
server.

:mod:`flowai_harness.cli` re-exports these functions under the names the reference CLI uses
(``run_studio_server``, ``_start_frontend_dev_server``, ``_terminate_frontend_dev_server``),
which tests may replace.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

__all__ = [
    "DevServerOptions",
    "run_studio_server",
    "start_frontend_dev_server",
    "terminate_frontend_dev_server",
]

_UVICORN_LEVELS = {"warn": "warning"}
_WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")


@dataclass(frozen=True, slots=True)
class DevServerOptions:
    """Where ``dev --studio-dir`` runs the UI dev server, and where the API it calls listens.

    Attributes:
        host: The API's bind address (a wildcard becomes ``127.0.0.1`` for the UI).
        port: The API's port.
        frontend_host: Address of the UI dev server.
        frontend_port: Port of the UI dev server.
        studio_dir: The UI source folder (with ``package.json``).
    """

    host: str
    port: int
    frontend_host: str
    frontend_port: int
    studio_dir: Path


class _StopRequested(Exception):
    """SIGTERM arrived: stop serving and exit normally."""


def _stop_requested(_signum: int, _frame: Any) -> None:
    raise _StopRequested


def run_studio_server(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 4111,
    serve_studio: bool = True,
    token: str | None = None,
    allowed_origins: Iterable[str] = (),
    allowed_hosts: Iterable[str] = (),
    max_body_bytes: int | None = None,
    log_level: str = "info",
) -> None:
    """Serve the Studio for ``app`` until SIGINT or SIGTERM (blocking).

    Binds ``host:port`` (``0`` picks a free port), prints one start-up line on stderr with the
    URL to open (carrying ``#token=`` when a token is set), then serves with uvicorn.

    Args:
        app: The ``FlowAIApp`` to serve.
        host: Bind address; anything but a loopback address needs ``token``.
        port: Port of the UI and the API.
        serve_studio: Serve the UI; ``False`` answers UI paths with 503.
        token: Bearer token every API request must carry.
        allowed_origins: Browser origins allowed to call the API besides the Studio's own.
        allowed_hosts: ``Host`` names accepted besides the bind address.
        max_body_bytes: Largest accepted request body; ``None`` keeps the server's default.
        log_level: ``trace``, ``debug``, ``info``, ``warn`` or ``error``.

    Raises:
        MissingDependencyError: FastAPI or uvicorn is not installed (the ``studio`` extra).
        RunError: The address cannot be bound.
        ConfigurationError: A network ``host`` without ``token``.
    """
    from flowai_harness.studio.server import bind_studio_socket, studio_server, studio_url

    limits = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
    server = studio_server(
        app,
        host=host,
        port=port,
        serve_studio=serve_studio,
        log_level=_UVICORN_LEVELS.get(log_level, log_level),
        token=token,
        allowed_origins=tuple(allowed_origins),
        allowed_hosts=tuple(allowed_hosts),
        **limits,
    )
    sock = bind_studio_socket(host, port)
    bound_port = int(sock.getsockname()[1])
    notes = [f"API {studio_url(host, bound_port)}api/status"]
    if token:
        notes.append("the API needs 'Authorization: Bearer <token>'")
    if host.strip() in _WILDCARD_HOSTS:
        notes.append(f"listening on every interface, port {bound_port}")
    if not serve_studio:
        notes.append("UI disabled")
    click.echo(
        f"FlowAI Studio for '{app.name}' on {studio_url(host, bound_port, token)} "
        f"({'; '.join(notes)})",
        err=True,
    )
    previous = signal.getsignal(signal.SIGTERM)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: turn it into a
    # normal return (exit status 0) instead of "Aborted!" or death by signal.
    signal.signal(signal.SIGTERM, _stop_requested)
    try:
        server.run(sockets=[sock])
    except (KeyboardInterrupt, _StopRequested):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


def start_frontend_dev_server(options: DevServerOptions) -> Any:
    """Start the Studio UI dev server (``bun run dev``) from ``options.studio_dir``.

    Returns:
        The running :class:`~flowai_harness.studio.frontend.FrontendProcess`.

    Raises:
        ConfigurationError: ``bun`` is not on ``PATH`` or the folder has no ``package.json``.
        RunError: The dev server could not start or exited at once.
    """
    from flowai_harness.studio.frontend import FrontendProcess, backend_url

    frontend = FrontendProcess(
        options.studio_dir,
        backend=backend_url(options.host, options.port),
        host=options.frontend_host,
        port=options.frontend_port,
    )
    frontend.start()
    pid = frontend.process.pid if frontend.process is not None else "?"
    click.echo(
        f"Studio UI dev server on http://{options.frontend_host}:{options.frontend_port} "
        f"(pid {pid})",
        err=True,
    )
    return frontend


def terminate_frontend_dev_server(process: Any) -> None:
    """Stop the UI dev server started by :func:`start_frontend_dev_server` (its whole
    process group: SIGTERM, then SIGKILL after a grace period)."""
    process.stop()
