"""Studio API errors: the one error envelope every failing route answers with.

``{"error": {"code", "message", "retryable": false, "details": {...}}}`` with
``Cache-Control: no-store``. Routes raise :class:`StudioApiError`; the server
installs :func:`install_error_handlers` so framework errors (unknown routes, malformed bodies,
defects) get the same envelope, with secrets scrubbed from every message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from flowai_harness.errors import HarnessError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

__all__ = [
    "NO_STORE",
    "StudioApiError",
    "error_body",
    "install_error_handlers",
    "scrub_secrets",
]

NO_STORE: Final = {"Cache-Control": "no-store"}

logger = logging.getLogger("flowai_harness.studio")

_URL_WITH_CREDENTIALS: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)([^/\s@:]+)(:[^/\s@]*)?@")
_KEY_LIKE: Final = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,})")


def scrub_secrets(text: str) -> str:
    """Mask URL credentials and API-key-looking tokens in a message meant for a client."""
    text = _URL_WITH_CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2)}:***@", text)
    return _KEY_LIKE.sub("***", text)


class StudioApiError(HarnessError):
    """A Studio route refuses a request; rendered as the error envelope with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = dict(details or {})

    def body(self) -> dict[str, Any]:
        """The error envelope of this error."""
        return error_body(self.code, self.message, self.details)


def not_found(workspace_key: str, entity: str, id_field: str, item_id: str) -> StudioApiError:
    """The 404 for an item missing from a workspace, e.g. ``not_found(k, "run", "runId", id)``.

    Code ``<entity>.not_found``; message ``<Entity> `<id>` was not found in workspace `<key>`.``
    """
    return StudioApiError(
        404,
        f"{entity}.not_found",
        f"{entity.capitalize()} `{item_id}` was not found in workspace `{workspace_key}`.",
        {"workspaceKey": workspace_key, id_field: item_id},
    )


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return ``{"error": {code, message, retryable: false, details}}`` (message scrubbed)."""
    return {
        "error": {
            "code": code,
            "message": scrub_secrets(message),
            "retryable": False,
            "details": dict(details or {}),
        }
    }


def _response(status: int, body: dict[str, Any]) -> JSONResponse:
    from fastapi.responses import JSONResponse

    return JSONResponse(body, status_code=status, headers=NO_STORE)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error of ``app`` as the Studio error envelope."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def studio_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StudioApiError)
        return _response(exc.status, exc.body())

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (404, 405) and request.url.path.startswith("/api"):
            message = f"No Studio API route matches {request.method} {request.url.path}."
            return _response(404, error_body("route.not_found", message, {}))
        if exc.status_code == 404:
            return _response(404, error_body("static.not_found", "Not found.", {}))
        return _response(exc.status_code, error_body("http.error", str(exc.detail), {}))

    async def invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            {"location": [str(p) for p in error.get("loc", ())], "message": error.get("msg", "")}
            for error in exc.errors()
        ]
        body = error_body(
            "request.invalid_body", "The request is not valid.", {"problems": problems}
        )
        return _response(400, body)

    async def defect(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("Studio request failed")
        message = f"Studio request failed: {type(exc).__name__}: {exc}"
        return _response(500, error_body("studio.internal_error", message, {}))

    app.add_exception_handler(StudioApiError, studio_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, defect)
