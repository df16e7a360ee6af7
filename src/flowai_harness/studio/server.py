"""The Studio server: the FastAPI app serving the API under ``/api`` and the UI, and running it
with uvicorn (studio.md §2-§3).

:func:`create_studio_app` assembles the route modules (:mod:`flowai_harness.studio.routes`)
around one :class:`~flowai_harness.studio.context.StudioContext`; nothing is shared between two
apps. The server is meant for local use: it binds ``127.0.0.1`` by default, allows browser
origins ``127.0.0.1`` / ``localhost`` on ports 3000 and 4111 (plus the port it serves on), and
:func:`run_studio_server` refuses ``Host`` headers other than loopback names or the bound host,
which keeps DNS-rebinding pages out. Every response carries a report-only Content Security
Policy.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flowai_harness.errors import MissingDependencyError, SpecTypeError, SpecValueError
from flowai_harness.studio.apps import FlowAIApp
from flowai_harness.studio.store import DEFAULT_STORE_PATH, StudioStore

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

__all__ = [
    "CSP_REPORT_ONLY",
    "DEFAULT_CORS_ORIGINS",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "create_studio_app",
    "create_studio_server",
    "loopback_hosts",
    "run_studio_server",
    "studio_server",
]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 4111
DEFAULT_CORS_ORIGINS: Final = tuple(
    f"http://{host}:{port}" for host in ("127.0.0.1", "localhost") for port in (3000, 4111)
)
CSP_REPORT_ONLY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
    "object-src 'none'; frame-src 'none'; frame-ancestors 'none'; base-uri 'self'"
)
#: How long a stopping server waits for open connections (event streams) before dropping them.
SHUTDOWN_GRACE_SECS: Final = 3
_INSTALL_HINT: Final = "pip install 'flowai-harness[studio]'"
_UNSET: Final = object()


def _require_web_stack() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            f"the Studio server needs FastAPI and uvicorn ({exc.name} is missing); "
            f"install them with: {_INSTALL_HINT}"
        ) from exc


class _SecurityHeaders:
    """ASGI middleware: the CSP header on every response, and the ``Host`` check."""

    def __init__(self, app: Any, allowed_hosts: frozenset[str] | None) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.allowed_hosts is not None and not self._host_allowed(scope):
            await self._refuse(send)
            return

        async def send_with_csp(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy-report-only", CSP_REPORT_ONLY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_csp)

    def _host_allowed(self, scope: Any) -> bool:
        host = ""
        for name, value in scope.get("headers", []):
            if name == b"host":
                host = value.decode("latin-1").strip().lower()
                break
        if host.startswith("["):
            host = host[1:].split("]", 1)[0]
        else:
            host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        assert self.allowed_hosts is not None
        return host in self.allowed_hosts

    @staticmethod
    async def _refuse(send: Any) -> None:
        body = (
            b'{"error":{"code":"request.host_not_allowed","message":"This Studio server only '
            b'answers requests addressed to its own host.","retryable":false,"details":{}}}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"cache-control", b"no-store"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def loopback_hosts(bind_host: str) -> frozenset[str] | None:
    """The ``Host`` names a server bound to ``bind_host`` answers, or ``None`` for any.

    A wildcard bind (``0.0.0.0``, ``::``) was asked for on purpose: every host is accepted.
    """
    names = {"127.0.0.1", "localhost", "::1"}
    host = bind_host.strip().lower().strip("[]")
    if host in ("0.0.0.0", "::", ""):
        return None
    names.add(host)
    return frozenset(names)


def create_studio_app(
    app: FlowAIApp,
    *,
    serve_studio: bool = True,
    store: StudioStore | None = None,
    store_path: str | Path | Any | None = _UNSET,
    static_dir: str | Path | None = None,
    cors_origins: Iterable[str] | None = None,
    allowed_hosts: Iterable[str] | None = None,
) -> FastAPI:
    """Build the Studio ASGI app for ``app``.

    Args:
        app: The Studio app (from ``define_app`` or ``resolve_app_reference``).
        serve_studio: Serve the UI; ``False`` answers UI paths with 503 (API only).
        store: A :class:`StudioStore` to use (the caller closes it).
        store_path: Without ``store``: the SQLite file to open (default
            ``.flowai/studio.db`` under the current directory); ``None`` keeps state in memory.
        static_dir: A UI build folder to serve instead of the packaged one.
        cors_origins: Browser origins allowed to call the API (default: ``127.0.0.1`` and
            ``localhost`` on ports 3000 and 4111).
        allowed_hosts: ``Host`` header names to accept; ``None`` accepts any (the server
            started by :func:`run_studio_server` passes the loopback names).

    Returns:
        The FastAPI app; its lifespan stops live runs and closes what it opened.

    Raises:
        SpecTypeError: ``app`` is not a ``FlowAIApp`` or ``store`` is not a ``StudioStore``.
        SpecValueError: Both ``store`` and ``store_path`` are given.
        MissingDependencyError: FastAPI or uvicorn is not installed.
        StoreError: The store file cannot be opened.
    """
    if not isinstance(app, FlowAIApp):
        raise SpecTypeError(f"app must be a FlowAIApp (from define_app), got {type(app).__name__}")
    if store is not None and not isinstance(store, StudioStore):
        raise SpecTypeError(f"store must be a StudioStore, got {type(store).__name__}")
    if store is not None and store_path is not _UNSET:
        raise SpecValueError("pass either store or store_path to create_studio_app, not both")
    _require_web_stack()
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    from flowai_harness._version import installed_version
    from flowai_harness.studio.api_errors import install_error_handlers
    from flowai_harness.studio.context import StudioContext
    from flowai_harness.studio.routes import (
        approvals,
        chat,
        data,
        discovery,
        evals,
        runs,
        test_cases,
        tools,
        ui,
    )

    owns_store = store is None
    if store is None:
        path = DEFAULT_STORE_PATH if store_path is _UNSET else store_path
        store = StudioStore(None if path is None else Path(path).resolve())
    context = StudioContext(app, store, serve_studio=bool(serve_studio), static_dir=static_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_api: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await context.aclose()
            if owns_store:
                store.close()

    api = FastAPI(
        title=f"{app.name} — FlowAI Harness Studio API",
        version=installed_version(),
        docs_url="/api/docs",
        redoc_url="/api/redoc",
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    api.state.flowai_studio = context
    install_error_handlers(api)
    for module in (discovery, chat, runs, approvals, test_cases, evals, tools, data, ui):
        api.include_router(module.router())
    api.add_middleware(
        CORSMiddleware,
        allow_origins=list(DEFAULT_CORS_ORIGINS if cors_origins is None else cors_origins),
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["X-FlowAI-Run-Id", "X-FlowAI-Thread-Id"],
    )
    hosts = None if allowed_hosts is None else frozenset(h.lower() for h in allowed_hosts)
    api.add_middleware(_SecurityHeaders, allowed_hosts=hosts)
    return api


#: Alias of :func:`create_studio_app` (the reference exports both names).
create_studio_server = create_studio_app


async def _stream_chat(workspace: Any, agent_id: str, body: Any) -> Any:
    """Start a chat run and return its event-stream response (the chat route's handler)."""
    from flowai_harness.studio.routes.chat import start_chat

    return await start_chat(workspace, agent_id, body)


def _origins_for(host: str, port: int) -> list[str]:
    origins = list(DEFAULT_CORS_ORIGINS)
    for name in ("127.0.0.1", "localhost"):
        origin = f"http://{name}:{port}"
        if origin not in origins:
            origins.append(origin)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host not in ("", "localhost"):
            origins.append(f"http://{host}:{port}")
    return origins


def studio_server(
    app: FlowAIApp,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    serve_studio: bool = True,
    store_path: str | Path | Any | None = _UNSET,
    log_level: str = "info",
) -> uvicorn.Server:
    """Build (without starting) the uvicorn server of a Studio app.

    Raises:
        SpecValueError: ``port`` is outside 0-65535 (0 picks a free port).
        MissingDependencyError: FastAPI or uvicorn is not installed.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise SpecValueError(f"port must be an integer between 0 and 65535, got {port!r}")
    _require_web_stack()
    import uvicorn

    kwargs: dict[str, Any] = {} if store_path is _UNSET else {"store_path": store_path}
    asgi = create_studio_app(
        app,
        serve_studio=serve_studio,
        cors_origins=_origins_for(host, port),
        allowed_hosts=loopback_hosts(host),
        **kwargs,
    )
    # Open event streams would hold a graceful shutdown forever: after a short grace period
    # uvicorn drops them, which cancels their runs (recorded as run.cancelled).
    config = uvicorn.Config(
        asgi,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECS,
    )
    return uvicorn.Server(config)


def run_studio_server(
    app: FlowAIApp,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    serve_studio: bool = True,
    store_path: str | Path | Any | None = _UNSET,
) -> None:
    """Serve the Studio for ``app`` with uvicorn until interrupted (blocking).

    Args:
        app: The Studio app.
        host: Bind address (``127.0.0.1``: local only).
        port: Port for both the UI and the API.
        serve_studio: Serve the UI (``False``: API only, UI paths answer 503).
        store_path: SQLite file of the Studio state (default ``.flowai/studio.db``).
    """
    studio_server(app, host=host, port=port, serve_studio=serve_studio, store_path=store_path).run()
