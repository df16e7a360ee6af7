"""Serving the Studio UI: the config script, ``index.html``, assets, and the
503 answer when no UI is packaged or the server runs with ``--no-studio``.

The packaged build (made from ``studio-ui/`` with Vite) names its assets by content hash, so
``/assets/*`` is cached for a year (``immutable``); ``index.html`` and the other unhashed files
are ``no-cache`` (the browser revalidates them, so a new build is picked up at once). Text files
ship with a gzip copy next to them (``app.js.gz``), sent to clients that accept gzip.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from flowai_harness.studio.api_errors import NO_STORE, StudioApiError, error_body
from flowai_harness.studio.apps import STUDIO_API_VERSION
from flowai_harness.studio.context import StudioContext, studio_context

__all__ = ["PACKAGED_UI_DIR", "router"]

#: Where a packaged UI build lives (``index.html`` plus ``assets/``).
PACKAGED_UI_DIR: Final = Path(__file__).resolve().parent.parent / "static"
_IMMUTABLE: Final = {"Cache-Control": "public, max-age=31536000, immutable"}
_REVALIDATE: Final = {"Cache-Control": "no-cache"}


def _ui_dir(context: StudioContext) -> Path | None:
    if not context.serve_studio:
        return None
    root = Path(context.static_dir) if context.static_dir is not None else PACKAGED_UI_DIR
    return root.resolve() if (root / "index.html").is_file() else None


def _unavailable(context: StudioContext) -> JSONResponse:
    reason = (
        "The Studio UI is disabled (--no-studio); the API is served under /api."
        if not context.serve_studio
        else "No Studio UI build is installed; the API is served under /api."
    )
    body = {"message": reason, "api": "/api/status", "studioApiVersion": STUDIO_API_VERSION}
    return JSONResponse(body, status_code=503, headers=NO_STORE)


def _inside(root: Path, relative: str) -> Path | None:
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        return None  # traversal outside the UI folder
    return candidate if candidate.is_file() else None


def _accepts_gzip(request: Request) -> bool:
    codings = request.headers.get("accept-encoding", "")
    return any(part.split(";")[0].strip() in ("gzip", "*") for part in codings.split(","))


def _file(path: Path, request: Request, cache: dict[str, str]) -> Response:
    """``path``, or its pre-compressed ``.gz`` copy when there is one and the client takes it;
    304 when the client's ``If-None-Match`` names the current version."""
    headers = dict(cache)
    served, media_type = path, None
    compressed = path.with_name(path.name + ".gz")
    if compressed.is_file():
        headers["Vary"] = "Accept-Encoding"
        if _accepts_gzip(request):
            served = compressed
            media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            headers["Content-Encoding"] = "gzip"
    stat = served.stat()
    headers["ETag"] = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    if headers["ETag"] in request.headers.get("if-none-match", ""):
        headers.pop("Content-Encoding", None)
        return Response(status_code=304, headers=headers)
    return FileResponse(served, headers=headers, media_type=media_type)


async def config_js(context: StudioContext = Depends(studio_context)) -> Response:
    return Response(
        context.app.config_js("/api"),
        media_type="application/javascript",
        headers=NO_STORE,
    )


async def serve_ui(
    path: str, request: Request, context: StudioContext = Depends(studio_context)
) -> Any:
    if path == "api" or path.startswith("api/"):
        raise StudioApiError(
            404,
            "route.not_found",
            f"No Studio API route matches {request.method} /{path}.",
        )
    root = _ui_dir(context)
    if root is None:
        return _unavailable(context)
    if path in ("", "index.html"):
        return _file(root / "index.html", request, _REVALIDATE)
    found = _inside(root, path)
    if found is not None:
        return _file(found, request, _IMMUTABLE if path.startswith("assets/") else _REVALIDATE)
    if "." in path.rsplit("/", 1)[-1] or ".." in path.split("/"):
        return JSONResponse(
            error_body("static.not_found", f"`/{path}` was not found."),
            status_code=404,
            headers=NO_STORE,
        )
    return _file(root / "index.html", request, _REVALIDATE)


def router() -> APIRouter:
    """Build the UI routes (register last: the catch-all serves client-side routes)."""
    api = APIRouter(include_in_schema=False)
    api.add_api_route("/__flowai_config.js", config_js, methods=["GET"])
    api.add_api_route("/{path:path}", serve_ui, methods=["GET", "HEAD"])
    return api
