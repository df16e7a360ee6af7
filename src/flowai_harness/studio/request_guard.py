"""The one ASGI middleware that decides whether a request may reach the Studio's routes.

Checks, in order (each refusal is the Studio error envelope, ``Cache-Control: no-store``):

1. ``Host`` must name this server (421 ``request.host_not_allowed``): DNS-rebinding pages
   reach the server under their own name and are refused here.
2. With a token configured, every ``/api`` request and every request that is not a ``GET`` or
   ``HEAD`` needs ``Authorization: Bearer <token>`` (401 ``auth.token_required`` /
   ``auth.invalid_token`` with ``WWW-Authenticate: Bearer``). The UI's static files stay public.
3. State-changing requests (``POST``, ``PUT``, ``PATCH``, ``DELETE``) must come from the
   Studio's own origin: an ``Origin`` header, when present, must equal ``scheme://Host`` or
   an allowed origin, or the browser must vouch ``Sec-Fetch-Site: same-origin``; a request
   the browser marks ``cross-site``/``same-site`` without an ``Origin`` is refused too (403
   ``request.cross_origin``).
4. A state-changing request with a body must declare ``Content-Type: application/json`` (415
   ``request.unsupported_media_type``). HTML forms and ``fetch(..., {mode: "no-cors"})`` can
   only send ``text/plain``, form or multipart bodies, so this also keeps out cross-site
   requests from browsers that send no ``Origin``.
5. The body is read here, chunk by chunk, and refused as soon as it passes ``max_body_bytes``
   (413 ``request.body_too_large``; a ``Content-Length`` above the cap is refused before
   reading). A JSON body nested deeper than ``max_json_depth`` is refused (400
   ``request.json_too_deep``) before any route parses it. The routes then read the buffered
   body as usual.

Every response also carries the report-only Content Security Policy.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from itertools import accumulate, count
from operator import sub
from typing import Any, Final

import orjson

from flowai_harness._mcp_serving.exposure import (
    HostPolicy,
    bearer_token_matches,
    origin_allowed,
    same_origin,
)
from flowai_harness.studio.api_errors import error_body

__all__ = [
    "CSP_REPORT_ONLY",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_JSON_DEPTH",
    "GuardSettings",
    "StudioRequestGuard",
    "json_nesting_exceeds",
]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Request bodies above this many bytes are refused (413).
DEFAULT_MAX_BODY_BYTES: Final = 10 * 1024 * 1024
#: JSON bodies nested deeper than this many arrays/objects are refused (400).
DEFAULT_MAX_JSON_DEPTH: Final = 64
CSP_REPORT_ONLY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
    "object-src 'none'; frame-src 'none'; frame-ancestors 'none'; base-uri 'self'"
)

_STATE_CHANGING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_READ_ONLY: Final = frozenset({"GET", "HEAD"})
_REALM: Final = 'Bearer realm="flowai-studio"'
# A JSON string, escapes included; an unterminated one runs to the end of the body. Possessive
# quantifiers keep the scan linear whatever the input.
_JSON_STRING: Final = re.compile(rb'"(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKET: Final = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_WEIGHT: Final = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def json_nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether the JSON text ``body`` opens more than ``limit`` nested arrays/objects.

    Works on raw bytes, valid JSON or not, without recursion: brackets inside strings do not
    count, and the scan stops at the first bracket past the limit.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    # With openers weighing 2 and closers 0, the depth after the i-th bracket (from 1) is the
    # running sum minus i: computed by C-level iterators, not a Python loop per byte.
    weights = brackets.translate(_BRACKET_WEIGHT)
    return any(map(limit.__lt__, map(sub, accumulate(weights), count(1))))


@dataclass(frozen=True, slots=True)
class GuardSettings:
    """What :class:`StudioRequestGuard` enforces.

    Attributes:
        hosts: The accepted ``Host`` values.
        token: The bearer token the API requires, or ``None``.
        allowed_origins: Browser origins besides the Studio's own that may change state.
        max_body_bytes: The largest accepted request body.
        max_json_depth: The deepest accepted JSON nesting.
    """

    hosts: HostPolicy
    token: str | None = field(default=None, repr=False)
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH


@dataclass(frozen=True, slots=True)
class _Refusal:
    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    headers: tuple[tuple[bytes, bytes], ...] = ()


class StudioRequestGuard:
    """ASGI middleware enforcing :class:`GuardSettings` (see the module docstring)."""

    def __init__(self, app: Any, settings: GuardSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_csp(send)
        headers = _headers(scope)
        state_changing = str(scope.get("method", "GET")).upper() in _STATE_CHANGING
        refusal = self._check_headers(scope, headers)
        # A state-changing request is always read here: HTTP/2 may carry a body without
        # Content-Length or Transfer-Encoding.
        if refusal is None and (state_changing or _declares_body(headers)):
            body, refusal = await self._read_body(receive)
            if body is None and refusal is None:
                return  # the client went away while sending
            if refusal is None:
                refusal = self._check_body(body or b"", headers, state_changing)
            receive = _replay(body or b"", receive)
        if refusal is not None:
            await _refuse(send, refusal)
            return
        await self.app(scope, receive, send)

    def _check_headers(self, scope: Message, headers: dict[str, str]) -> _Refusal | None:
        server = scope.get("server")
        if not self.settings.hosts.allows(headers.get("host"), str(server[0]) if server else None):
            return _Refusal(
                421,
                "request.host_not_allowed",
                "This Studio server only answers requests addressed to its own host.",
            )
        method = str(scope.get("method", "GET")).upper()
        refusal = self._check_token(method, str(scope.get("path", "")), headers)
        if refusal is None and method in _STATE_CHANGING:
            refusal = self._check_origin(str(scope.get("scheme", "http")), headers)
        if refusal is None:
            refusal = self._check_length(headers)
        return refusal

    def _check_token(self, method: str, path: str, headers: dict[str, str]) -> _Refusal | None:
        token = self.settings.token
        if token is None:
            return None
        first_segment = next((part for part in path.split("/") if part), "")
        if method in _READ_ONLY and first_segment.lower() != "api":
            return None  # the UI's static files hold no data
        given = headers.get("authorization")
        if bearer_token_matches(given, token):
            return None
        if given is None:
            code, message, challenge = (
                "auth.token_required",
                "This Studio requires its access token: send 'Authorization: Bearer <token>' "
                "(open the URL printed when the server started, which carries the token).",
                _REALM,
            )
        else:
            code, message, challenge = (
                "auth.invalid_token",
                "The access token of this request is not the Studio's token.",
                f'{_REALM}, error="invalid_token"',
            )
        return _Refusal(401, code, message, headers=((b"www-authenticate", challenge.encode()),))

    def _check_origin(self, scheme: str, headers: dict[str, str]) -> _Refusal | None:
        origin = headers.get("origin")
        fetch_site = headers.get("sec-fetch-site", "").lower()
        if origin is None:
            if fetch_site in ("cross-site", "same-site"):
                return _Refusal(
                    403,
                    "request.cross_origin",
                    "Cross-site requests cannot change this Studio's state.",
                    {"secFetchSite": fetch_site},
                )
            return None
        if (
            same_origin(origin, scheme, headers.get("host"))
            or origin_allowed(origin, self.settings.allowed_origins)
            or fetch_site == "same-origin"
        ):
            return None
        return _Refusal(
            403,
            "request.cross_origin",
            f"Requests from origin `{origin[:200]}` cannot change this Studio's state: only "
            f"the Studio's own pages and configured allowed origins can.",
            {"origin": origin[:200]},
        )

    def _check_length(self, headers: dict[str, str]) -> _Refusal | None:
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > self.settings.max_body_bytes:
            return self._too_large()
        return None

    def _too_large(self) -> _Refusal:
        limit = self.settings.max_body_bytes
        return _Refusal(
            413,
            "request.body_too_large",
            f"The request body is larger than this Studio accepts ({limit} bytes).",
            {"maxBytes": limit},
            # The rest of the body is never read: close instead of draining it.
            headers=((b"connection", b"close"),),
        )

    async def _read_body(self, receive: Receive) -> tuple[bytes | None, _Refusal | None]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None, None
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > self.settings.max_body_bytes:
                return None, self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), None

    def _check_body(
        self, body: bytes, headers: dict[str, str], state_changing: bool
    ) -> _Refusal | None:
        if not body:
            return None
        if state_changing and not _is_json(headers):
            return _unsupported_media_type(headers.get("content-type"))
        depth = self.settings.max_json_depth
        if _is_json(headers) and json_nesting_exceeds(body, depth):
            return _Refusal(
                400,
                "request.json_too_deep",
                f"The JSON body nests arrays/objects deeper than {depth} levels.",
                {"maxDepth": depth},
            )
        return None


def _headers(scope: Message) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        # A repeated header keeps its first value: enough for the checks made here.
        found.setdefault(name, raw_value.decode("latin-1"))
    return found


def _declares_body(headers: dict[str, str]) -> bool:
    declared = headers.get("content-length", "").strip()
    return "transfer-encoding" in headers or (declared != "" and declared != "0")


def _is_json(headers: dict[str, str]) -> bool:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json"


def _unsupported_media_type(given: str | None) -> _Refusal:
    shown = f"`{given[:100]}`" if given else "no Content-Type"
    return _Refusal(
        415,
        "request.unsupported_media_type",
        f"Requests that change state must send a JSON body with "
        f"'Content-Type: application/json'; got {shown}.",
        {"contentType": given[:100] if given else None},
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()  # later calls wait for the client's disconnect
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _with_csp(send: Send) -> Send:
    async def send_with_csp(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            headers.append((b"content-security-policy-report-only", CSP_REPORT_ONLY.encode()))
            message = {**message, "headers": headers}
        await send(message)

    return send_with_csp


async def _refuse(send: Send, refusal: _Refusal) -> None:
    body = orjson.dumps(error_body(refusal.code, refusal.message, refusal.details))
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"cache-control", b"no-store"),
                (b"content-length", str(len(body)).encode()),
                *refusal.headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
