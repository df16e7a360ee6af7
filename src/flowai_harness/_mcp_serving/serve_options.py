"""Checked arguments of the MCP serve methods (shared by the Python API and the CLI).

Everything here is pure: no SDK, no sockets. Each check raises a ``ValueError`` subclass
(``SpecValueError``) for a bad value and a ``TypeError`` subclass (``SpecTypeError``) for a
wrong type, naming the argument and what would be accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from flowai_harness._mcp_serving.exposure import (
    check_allowed_hosts,
    check_allowed_origins,
    check_token,
)
from flowai_harness.errors import SpecTypeError, SpecValueError

__all__ = [
    "DEFAULT_CALL_TIMEOUT_SECS",
    "DEFAULT_HOST",
    "DEFAULT_PATH",
    "DEFAULT_PORT",
    "HTTP_TRANSPORT",
    "HttpOptions",
    "check_call_timeout",
    "check_http_options",
]

DEFAULT_CALL_TIMEOUT_SECS = 30.0
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_PATH = "/mcp"
HTTP_TRANSPORT = "streamable-http"


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """Where and how the Streamable HTTP server listens.

    Attributes:
        host: The bind address (an IP address or a host name that resolves to one).
        port: The TCP port; ``0`` picks a free one.
        path: The endpoint path, starting with ``/``.
        allowed_origins: Browser origins allowed to call the server (exact ``Origin`` values,
            or ``scheme://host:*`` for any port).
        require_origin: Whether the ``Origin`` header is checked (DNS-rebinding protection).
        bearer_token: When set, every request must carry ``Authorization: Bearer <token>``.
            Required when ``host`` is reachable from the network.
        allowed_hosts: Extra ``Host`` header names to accept besides the bind address (for
            example the DNS name clients use to reach a network bind).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    path: str = DEFAULT_PATH
    allowed_origins: tuple[str, ...] = ()
    require_origin: bool = True
    bearer_token: str | None = field(default=None, repr=False)
    allowed_hosts: tuple[str, ...] = ()


def check_call_timeout(value: object) -> float:
    """Return ``call_timeout_secs`` as a float.

    Raises:
        SpecTypeError: not a number.
        SpecValueError: zero, negative, NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecTypeError(
            f"call_timeout_secs must be a number of seconds; got {type(value).__name__}"
        )
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise SpecValueError(
            f"call_timeout_secs must be a positive, finite number of seconds; got {value!r}"
        )
    return seconds


def check_http_options(
    *,
    host: object,
    port: object,
    path: object,
    transport: object,
    allowed_origins: object,
    require_origin: object,
    bearer_token: object,
    allowed_hosts: object = None,
) -> HttpOptions:
    """Check the arguments of ``serve_mcp_http`` and return them as :class:`HttpOptions`.

    Raises:
        SpecValueError: an unsupported transport, a blank host, a port outside 0-65535, a path
            not starting with ``/``, a malformed origin or host name, or an empty token.
        SpecTypeError: an argument has the wrong type.
    """
    if transport != HTTP_TRANSPORT:
        raise SpecValueError(
            f"unsupported MCP transport {transport!r} for serve_mcp_http; only "
            f"'{HTTP_TRANSPORT}' is supported (use serve_mcp_stdio for stdio)"
        )
    if not isinstance(host, str):
        raise SpecTypeError(f"host must be a string; got {type(host).__name__}")
    if not host.strip():
        raise SpecValueError("host must be a non-empty bind address such as '127.0.0.1'")
    if isinstance(port, bool) or not isinstance(port, int):
        raise SpecTypeError(f"port must be an integer; got {type(port).__name__}")
    if not 0 <= port <= 65535:
        raise SpecValueError(f"port must be between 0 and 65535 (0 = any free port); got {port}")
    if not isinstance(path, str):
        raise SpecTypeError(f"path must be a string; got {type(path).__name__}")
    if not path.startswith("/") or any(ch.isspace() for ch in path):
        raise SpecValueError(f"path must start with '/' and contain no spaces; got {path!r}")
    if not isinstance(require_origin, bool):
        raise SpecTypeError(f"require_origin must be a bool; got {type(require_origin).__name__}")
    return HttpOptions(
        host=host.strip(),
        port=port,
        path=path,
        allowed_origins=check_allowed_origins(allowed_origins),
        require_origin=require_origin,
        bearer_token=check_token(bearer_token, name="bearer_token"),
        allowed_hosts=check_allowed_hosts(allowed_hosts),
    )
