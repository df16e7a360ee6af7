"""Who may reach a local HTTP server: the rules shared by the MCP HTTP server and the Studio.

Pure standard library (``ipaddress``, ``socket`` for name resolution, ``hmac``), so both
servers, their CLIs and their tests use one implementation:

* :func:`resolve_bind_host` says whether a bind address is loopback, a wildcard, or reachable
  from the network; :func:`require_token_for_network` refuses a network-reachable bind without
  a bearer token.
* :class:`HostPolicy` is the ``Host`` check (DNS-rebinding protection). Loopback names
  (``localhost``, ``127.0.0.1``, ``::1``, and ``0.0.0.0``) are accepted only for a loopback or
  wildcard bind, and only on a connection that really arrived on a loopback interface; a
  server bound to a network address accepts that address, its configured name and explicitly
  allowed host names.
* :func:`origin_allowed`, :func:`same_origin` and :func:`bearer_token_matches` are the
  ``Origin`` and ``Authorization`` checks.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from flowai_harness.errors import ConfigurationError, SpecTypeError, SpecValueError

__all__ = [
    "LOOPBACK_NAMES",
    "BindTarget",
    "HostPolicy",
    "bearer_token_matches",
    "check_allowed_hosts",
    "check_allowed_origins",
    "check_token",
    "host_name",
    "origin_allowed",
    "require_token_for_network",
    "resolve_bind_host",
    "same_origin",
]

#: Host names that always mean "this machine".
LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})

_WILDCARDS: Final = frozenset({"", "0.0.0.0", "::"})
_TOKEN_CHARS: Final = re.compile(r"[\x21-\x7e]+")
_HOST_NAME: Final = re.compile(r"[a-z0-9._\-:]+")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True, slots=True)
class BindTarget:
    """A bind address and what it exposes.

    Attributes:
        host: The address as configured (lowercased, IPv6 brackets removed).
        addresses: The IP addresses it resolves to (the bound address once a socket exists).
    """

    host: str
    addresses: tuple[str, ...]

    @property
    def wildcard(self) -> bool:
        """Whether the server listens on every interface (``0.0.0.0``, ``::``)."""
        return self.host in _WILDCARDS or any(
            (ip := _ip(a)) is not None and ip.is_unspecified for a in self.addresses
        )

    @property
    def loopback(self) -> bool:
        """Whether only this machine can connect (every address is a loopback address)."""
        if self.wildcard or not self.addresses:
            return False
        return all((ip := _ip(a)) is not None and ip.is_loopback for a in self.addresses)

    def shown_host(self) -> str:
        """The host to print in a URL a local user can open (loopback for a wildcard)."""
        if self.wildcard:
            return "127.0.0.1"
        return _bracketed(self.addresses[0] if self.addresses else self.host)


def resolve_bind_host(host: str, bound_address: str | None = None) -> BindTarget:
    """Describe the bind address ``host``.

    Args:
        host: The configured bind address (IP literal, wildcard or host name).
        bound_address: The address a socket was actually bound to, when one exists; it then
            replaces name resolution.

    Raises:
        SpecValueError: ``host`` is not an IP address and does not resolve.
    """
    name = host.strip().lower().strip("[]")
    if bound_address is not None:
        return BindTarget(name, (bound_address.lower(),))
    if name in _WILDCARDS or _ip(name) is not None:
        return BindTarget(name, (name or "0.0.0.0",))
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise SpecValueError(
            f"invalid bind address {host!r}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    addresses = tuple(dict.fromkeys(str(info[4][0]).lower() for info in infos))
    return BindTarget(name, addresses)


def require_token_for_network(
    target: BindTarget, token: str | None, *, server: str, remedy: str
) -> None:
    """Refuse to serve on a network-reachable address without a bearer token.

    Args:
        target: The bind address.
        token: The configured token, if any.
        server: What is being served, for the message (``"the Studio"``).
        remedy: How to pass a token, for the message (``"--token or FLOWAI_STUDIO_TOKEN"``).

    Raises:
        ConfigurationError: ``target`` is not loopback-only and ``token`` is empty.
    """
    if token or target.loopback:
        return
    where = "every interface" if target.wildcard else ", ".join(target.addresses) or target.host
    raise ConfigurationError(
        f"refusing to serve {server} on {target.host or '0.0.0.0'} ({where}) without a token: "
        f"anyone who can reach that address could use it. Pass a bearer token with {remedy}, "
        f"or bind 127.0.0.1"
    )


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The ``Host`` header values a server answers.

    Attributes:
        names: Accepted host names; ``None`` accepts any (a wildcard bind with a token and no
            explicitly allowed hosts: the token, not the name, keeps rebinding pages out).
        loopback: Whether loopback names are accepted (on loopback connections only).
    """

    names: frozenset[str] | None
    loopback: bool

    @classmethod
    def for_bind(cls, target: BindTarget, extra_hosts: Iterable[str] = ()) -> HostPolicy:
        """The policy of a server bound to ``target`` that also answers ``extra_hosts``."""
        extra = {h.strip().lower().strip("[]") for h in extra_hosts if h.strip()}
        if target.wildcard:
            return cls(frozenset(extra) if extra else None, loopback=True)
        names = {target.host, *target.addresses, *extra}
        return cls(frozenset(names), loopback=target.loopback)

    def allows(self, host_header: str | None, local_address: str | None = None) -> bool:
        """Whether a request with ``Host: host_header`` that arrived on ``local_address``
        (the server side of the connection; ``None`` or a non-IP when unknown) is accepted."""
        name = host_name(host_header)
        if name is None:
            return False
        ip = _ip(name)
        if name in LOOPBACK_NAMES or (ip is not None and (ip.is_loopback or ip.is_unspecified)):
            if not self.loopback:
                return False
            local = _ip(local_address) if local_address else None
            return local is None or local.is_loopback
        return self.names is None or name in self.names


def host_name(header: str | None) -> str | None:
    """The host part of a ``Host`` header (IPv6 brackets and port removed), lowercased."""
    if not header:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else None
    name, _sep, _port = value.partition(":")
    return name or None


def _origin_parts(origin: str) -> tuple[str, str, int | None] | None:
    scheme, sep, rest = origin.strip().lower().partition("://")
    if not sep or not scheme or not rest or "/" in rest:
        return None
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            return None
        host, port_text = rest[1:end], rest[end + 1 :].removeprefix(":")
    else:
        host, _sep, port_text = rest.partition(":")
    if not port_text:
        return scheme, host, _DEFAULT_PORTS.get(scheme)
    return (scheme, host, int(port_text)) if port_text.isdigit() else None


def same_origin(origin: str, scheme: str, host_header: str | None) -> bool:
    """Whether ``origin`` is ``scheme://<Host header>`` (default ports normalised)."""
    if not host_header:
        return False
    own = _origin_parts(f"{scheme}://{host_header.strip()}")
    given = _origin_parts(origin)
    return own is not None and own == given


def origin_allowed(origin: str, allowed: Iterable[str]) -> bool:
    """Whether ``origin`` matches an allowed origin (exact, or ``scheme://host:*``)."""
    cleaned = origin.strip().rstrip("/").lower()
    for pattern in allowed:
        pattern = pattern.lower()
        if cleaned == pattern:
            return True
        wildcard_port = pattern.endswith(":*") and cleaned.startswith(pattern[:-1])
        if wildcard_port and cleaned[len(pattern) - 1 :].isdigit():
            return True
    return False


def bearer_token_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>`` (constant-time)."""
    scheme, _sep, given = (authorization or "").strip().partition(" ")
    ok_scheme = scheme.lower() == "bearer"
    return hmac.compare_digest(given.strip().encode(), token.encode()) and ok_scheme


def check_token(value: object, *, name: str = "token") -> str | None:
    """Return a bearer token, or ``None``.

    Raises:
        SpecTypeError: not a string.
        SpecValueError: empty, or with spaces or control characters (it travels in a header).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpecTypeError(f"{name} must be a string or None; got {type(value).__name__}")
    if not value.strip():
        raise SpecValueError(f"{name} must be a non-empty string when given")
    if _TOKEN_CHARS.fullmatch(value) is None:
        raise SpecValueError(
            f"{name} must be printable ASCII without spaces (it is sent in an HTTP header)"
        )
    return value


def check_allowed_origins(value: object, *, name: str = "allowed_origins") -> tuple[str, ...]:
    """Return a list of browser origins (``scheme://host[:port]`` or ``scheme://host:*``).

    Raises:
        SpecTypeError: not a list of strings.
        SpecValueError: ``*`` or a value that is not an origin.
    """
    origins: list[str] = []
    for origin in _strings(value, name, "'http://localhost:3000'"):
        cleaned = origin.strip().rstrip("/")
        if cleaned == "*":
            raise SpecValueError(
                f"{name} does not accept '*'; list each origin, or for MCP turn the check off "
                f"with require_origin=False (--no-origin-check)"
            )
        probe = cleaned[:-1] + "1" if cleaned.endswith(":*") else cleaned
        if _origin_parts(probe) is None:
            raise SpecValueError(
                f"allowed origin {origin!r} is not an origin; expected scheme://host[:port] "
                f"(for example 'http://localhost:3000' or 'http://localhost:*')"
            )
        origins.append(cleaned)
    return tuple(dict.fromkeys(origins))


def check_allowed_hosts(value: object, *, name: str = "allowed_hosts") -> tuple[str, ...]:
    """Return a list of host names or IP addresses accepted in the ``Host`` header.

    Raises:
        SpecTypeError: not a list of strings.
        SpecValueError: a value with a scheme, path, port or spaces, or ``*``.
    """
    hosts: list[str] = []
    for host in _strings(value, name, "'studio.example.com'"):
        cleaned = host.strip().lower()
        bare = cleaned.strip("[]")
        if not bare or _HOST_NAME.fullmatch(bare) is None or (":" in bare and _ip(bare) is None):
            raise SpecValueError(
                f"allowed host {host!r} is not a host name; expected a bare name or IP address "
                f"such as 'studio.example.com' or '192.168.1.20' (no scheme, port or '*')"
            )
        hosts.append(bare)
    return tuple(dict.fromkeys(hosts))


def _strings(value: object, name: str, example: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise SpecTypeError(
            f"{name} must be a list of strings such as {example} or None; "
            f"got {type(value).__name__}"
        )
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise SpecTypeError(f"{name} must contain strings; got {item!r}")
    return items
