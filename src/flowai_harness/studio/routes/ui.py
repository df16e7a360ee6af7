"""Serving the Studio UI: the config script, ``index.html``, assets, and the
503 answer when no UI is packaged or the server runs with ``--no-studio``."""

from __future__ import annotations

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


def router() -> APIRouter:
    """Build the UI routes (register last: the catch-all serves client-side routes)."""
    api = APIRouter(include_in_schema=False)

    @api.get("/__flowai_config.js")
    async def config_js(context: StudioContext = Depends(studio_context)) -> Response:
        return Response(
            context.app.config_js("/api"),
            media_type="application/javascript",
            headers=NO_STORE,
        )

    @api.api_route("/{path:path}", methods=["GET", "HEAD"])
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
            return FileResponse(root / "index.html", headers=NO_STORE)
        found = _inside(root, path)
        if found is not None:
            headers = _IMMUTABLE if path.startswith("assets/") else NO_STORE
            return FileResponse(found, headers=headers)
        if "." in path.rsplit("/", 1)[-1] or ".." in path.split("/"):
            return JSONResponse(
                error_body("static.not_found", f"`/{path}` was not found."),
                status_code=404,
                headers=NO_STORE,
            )
        return FileResponse(root / "index.html", headers=NO_STORE)

    return api
