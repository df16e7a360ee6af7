"""The Studio server: the FastAPI app serving the API under ``/api`` and the UI, and running it
with uvicorn.

:func:`create_studio_app` assembles the route modules (:mod:`flowai_harness.studio.routes`)
around one :class:`~flowai_harness.studio.context.StudioContext`; nothing is shared between two
apps. Every request first goes through
:class:`~flowai_harness.studio.request_guard.StudioRequestGuard`: the ``Host`` check
(DNS rebinding), the bearer token when one is configured, the same-origin and JSON
``Content-Type`` rules for state-changing requests, and the body size and JSON depth caps.

The server binds ``127.0.0.1`` by default. Any other bind address (a network interface or the
``0.0.0.0`` wildcard) needs a token. CORS is closed unless ``allowed_origins`` names origins.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from flowai_harness._mcp_serving.exposure import (
    BindTarget,
    HostPolicy,
    check_allowed_hosts,
    check_allowed_origins,
    check_token,
    require_token_for_network,
    resolve_bind_host,
)
from flowai_harness.errors import MissingDependencyError, RunError, SpecTypeError, SpecValueError
from flowai_harness.studio.apps import FlowAIApp
from flowai_harness.studio.request_guard import (
    CSP_REPORT_ONLY,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_JSON_DEPTH,
    GuardSettings,
    StudioRequestGuard,
)
from flowai_harness.studio.store import DEFAULT_STORE_PATH, StudioStore

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from flowai_harness.studio.context import StudioContext

__all__ = [
    "CSP_REPORT_ONLY",
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_JSON_DEPTH",
    "DEFAULT_PORT",
    "bind_studio_socket",
    "create_studio_app",
    "create_studio_server",
    "run_studio_server",
    "studio_server",
    "studio_url",
]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 4111
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


def create_studio_app(
    app: FlowAIApp,
    *,
    serve_studio: bool = True,
    store: StudioStore | None = None,
    store_path: str | Path | Any | None = _UNSET,
    static_dir: str | Path | None = None,
    bind_host: str = DEFAULT_HOST,
    token: str | None = None,
    allowed_origins: Iterable[str] | None = None,
    allowed_hosts: Iterable[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
) -> FastAPI:
    """Build the Studio ASGI app for ``app``.

    Args:
        app: The Studio app (from ``define_app`` or ``resolve_app_reference``).
        serve_studio: Serve the UI; ``False`` answers UI paths with 503 (API only).
        store: A :class:`StudioStore` to use (the caller closes it).
        store_path: Without ``store``: the SQLite file to open (default
            ``.flowai/studio.db`` under the current directory); ``None`` keeps state in memory.
        static_dir: A UI build folder to serve instead of the packaged one.
        bind_host: The address the server listens on; it decides the accepted ``Host``
            headers (loopback names only for a loopback or wildcard bind) and whether a token
            is required (any address but loopback).
        token: Bearer token every ``/api`` request must carry (``Authorization: Bearer``).
        allowed_origins: Browser origins, besides the Studio's own, allowed to call the API
            (CORS) and change state: ``scheme://host:port`` or ``scheme://host:*``. Default
            none.
        allowed_hosts: ``Host`` names accepted besides those of ``bind_host`` (for example
            the DNS name of a network bind).
        max_body_bytes: Largest accepted request body (413 above it).
        max_json_depth: Deepest accepted JSON nesting of a request body (400 above it).

    Returns:
        The FastAPI app; its lifespan stops live runs and closes what it opened.

    Raises:
        SpecTypeError: ``app`` is not a ``FlowAIApp``, ``store`` is not a ``StudioStore``, or
            a security option has the wrong type.
        SpecValueError: Both ``store`` and ``store_path`` are given, or a security option is
            malformed (``bind_host`` that does not resolve, bad origin, host or limit).
        ConfigurationError: ``bind_host`` is reachable from the network and ``token`` is unset.
        MissingDependencyError: FastAPI or uvicorn is not installed.
        StoreError: The store file cannot be opened.
    """
    if not isinstance(app, FlowAIApp):
        raise SpecTypeError(f"app must be a FlowAIApp (from define_app), got {type(app).__name__}")
    if store is not None and not isinstance(store, StudioStore):
        raise SpecTypeError(f"store must be a StudioStore, got {type(store).__name__}")
    if store is not None and store_path is not _UNSET:
        raise SpecValueError("pass either store or store_path to create_studio_app, not both")
    settings = _guard_settings(
        _bind_target(bind_host),
        token=token,
        allowed_origins=allowed_origins,
        allowed_hosts=allowed_hosts,
        max_body_bytes=max_body_bytes,
        max_json_depth=max_json_depth,
    )
    _require_web_stack()
    from flowai_harness.studio.context import StudioContext

    owns_store = store is None
    if store is None:
        path = DEFAULT_STORE_PATH if store_path is _UNSET else store_path
        store = StudioStore(None if path is None else Path(path).resolve())
    context = StudioContext(app, store, serve_studio=bool(serve_studio), static_dir=static_dir)
    return _build_api(app, context, settings, store if owns_store else None)


def _build_api(
    app: FlowAIApp, context: StudioContext, settings: GuardSettings, owned_store: StudioStore | None
) -> FastAPI:
    """The FastAPI app around ``context``; its lifespan closes the context and ``owned_store``
    (the store the app opened itself)."""
    from fastapi import FastAPI

    from flowai_harness._version import installed_version
    from flowai_harness.studio.api_errors import install_error_handlers
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

    @contextlib.asynccontextmanager
    async def lifespan(_api: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await context.aclose()
            if owned_store is not None:
                owned_store.close()

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
    api.add_middleware(StudioRequestGuard, settings=settings)
    if settings.allowed_origins:
        _add_cors(api, settings.allowed_origins)
    return api


#: Alias of :func:`create_studio_app` (the reference exports both names).
create_studio_server = create_studio_app


async def _stream_chat(workspace: Any, agent_id: str, body: Any) -> Any:
    """Start a chat run and return its event-stream response (the chat route's handler)."""
    from flowai_harness.studio.routes.chat import start_chat

    return await start_chat(workspace, agent_id, body)


def _bind_target(bind_host: object) -> BindTarget:
    if not isinstance(bind_host, str):
        raise SpecTypeError(f"bind_host must be a string, got {type(bind_host).__name__}")
    return resolve_bind_host(bind_host)


def _guard_settings(
    target: BindTarget,
    *,
    token: object,
    allowed_origins: object,
    allowed_hosts: object,
    max_body_bytes: object,
    max_json_depth: object,
) -> GuardSettings:
    checked_token = check_token(token)
    require_token_for_network(
        target,
        checked_token,
        server="the Studio",
        remedy="token= (CLI: --token or FLOWAI_STUDIO_TOKEN)",
    )
    return GuardSettings(
        hosts=HostPolicy.for_bind(target, check_allowed_hosts(allowed_hosts)),
        token=checked_token,
        allowed_origins=check_allowed_origins(allowed_origins),
        max_body_bytes=_positive_int(max_body_bytes, "max_body_bytes"),
        max_json_depth=_positive_int(max_json_depth, "max_json_depth"),
    )


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecTypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise SpecValueError(f"{name} must be a positive integer, got {value}")
    return value


def _add_cors(api: FastAPI, origins: tuple[str, ...]) -> None:
    from fastapi.middleware.cors import CORSMiddleware

    exact = [origin for origin in origins if not origin.endswith(":*")]
    any_port = [re.escape(origin[:-1]) + r"\d+" for origin in origins if origin.endswith(":*")]
    api.add_middleware(
        CORSMiddleware,
        allow_origins=exact,
        allow_origin_regex="|".join(any_port) or None,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Accept", "Last-Event-ID"],
        expose_headers=["X-FlowAI-Run-Id", "X-FlowAI-Thread-Id"],
    )


def bind_studio_socket(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> socket.socket:
    """Bind and listen on ``host:port`` (``0`` picks a free port) for :meth:`Server.run`.

    Binding first lets the caller print the real address before the server starts.

    Raises:
        SpecValueError: ``host`` does not resolve.
        RunError: the address cannot be bound (in use, not an address of this machine).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise SpecValueError(
            f"invalid Studio bind address {host!r}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise RunError(f"cannot bind the Studio to {host}:{port}: {exc.strerror or exc}") from None
    return sock


def studio_url(host: str, port: int, token: str | None = None) -> str:
    """The URL to open the Studio bound to ``host:port`` (loopback for a wildcard bind), with
    the token in the fragment (``#token=...``) when one is set: browsers never send the
    fragment to the server, and the UI moves it to session storage."""
    from urllib.parse import quote

    shown = resolve_bind_host(host).shown_host()
    url = f"http://{shown}:{port}/"
    return f"{url}#token={quote(token, safe='')}" if token else url


def studio_server(
    app: FlowAIApp,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    serve_studio: bool = True,
    store_path: str | Path | Any | None = _UNSET,
    log_level: str = "info",
    token: str | None = None,
    allowed_origins: Iterable[str] | None = None,
    allowed_hosts: Iterable[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> uvicorn.Server:
    """Build (without starting) the uvicorn server of a Studio app.

    ``host`` is both the bind address and the ``bind_host`` of :func:`create_studio_app`;
    ``token``, ``allowed_origins``, ``allowed_hosts`` and ``max_body_bytes`` are passed to it.
    Run it with ``server.run()``, or ``server.run(sockets=[bind_studio_socket(host, port)])``
    to know the bound port first.

    Raises:
        SpecValueError: ``port`` is outside 0-65535 (0 picks a free port), or an option of
            :func:`create_studio_app` is malformed.
        ConfigurationError: ``host`` is reachable from the network and ``token`` is unset.
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
        bind_host=host,
        token=token,
        allowed_origins=allowed_origins,
        allowed_hosts=allowed_hosts,
        max_body_bytes=max_body_bytes,
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
    token: str | None = None,
    allowed_origins: Iterable[str] | None = None,
    allowed_hosts: Iterable[str] | None = None,
) -> None:
    """Serve the Studio for ``app`` with uvicorn until interrupted (blocking).

    Args:
        app: The Studio app.
        host: Bind address (``127.0.0.1``: local only; anything else needs ``token``).
        port: Port for both the UI and the API.
        serve_studio: Serve the UI (``False``: API only, UI paths answer 503).
        store_path: SQLite file of the Studio state (default ``.flowai/studio.db``).
        token: Bearer token the API requires.
        allowed_origins: Browser origins allowed besides the Studio's own (CORS).
        allowed_hosts: ``Host`` names accepted besides the bind address.

    Raises:
        ConfigurationError: ``host`` is reachable from the network and ``token`` is unset.
    """
    studio_server(
        app,
        host=host,
        port=port,
        serve_studio=serve_studio,
        store_path=store_path,
        token=token,
        allowed_origins=allowed_origins,
        allowed_hosts=allowed_hosts,
    ).run()
