"""Connection settings shared by the durable backends, and keeping their secrets out of messages.

A :class:`ConnectionTarget` carries a connection URL together with its redacted form and the
secrets it holds, so every error a backend raises can be scrubbed before it leaves the adapter:
driver messages sometimes echo the DSN, and a password must never reach an event or a log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from flowai_harness.errors import DataEnvironmentError, MissingDependencyError
from flowai_harness.specs.data_environment import redact_url, resolve_url

__all__ = [
    "ConnectionTarget",
    "connection_target",
    "require_psycopg",
    "sqlite_path",
]

_SECRET_PARAMS = frozenset({"password", "apikey", "api_key", "token", "access_token"})


def sqlite_path(url: str) -> str:
    """Return the file path of an SQLite URL: the ``sqlite:`` prefix stripped, the rest a path."""
    return url[len("sqlite:") :] if url.startswith("sqlite:") else url


@dataclass(frozen=True, slots=True)
class ConnectionTarget:
    """A connection URL, its redacted form, and the secret strings to scrub from messages."""

    url: str = field(repr=False)
    redacted: str
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def scrub(self, text: str) -> str:
        """Return ``text`` with the URL replaced by its redacted form and every secret masked."""
        text = text.replace(self.url, self.redacted)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def error(self, section: str, what: str, exc: BaseException | str) -> DataEnvironmentError:
        """Return a :class:`DataEnvironmentError` naming the section, the redacted URL and why."""
        detail = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        return DataEnvironmentError(
            f"data_environment.{section} ({self.redacted}): {what}: {self.scrub(detail)}"
        )


def _secrets_of(url: str) -> tuple[str, ...]:
    found: list[str] = []
    try:
        parts = urlsplit(url)
        password = parts.password
        if password:
            found += [password, unquote(password)]
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if key.strip().lower() in _SECRET_PARAMS and value:
                found.append(value)
    except ValueError:
        pass
    # Longest first, so a secret containing another is masked whole.
    return tuple(sorted({s for s in found if len(s) >= 2}, key=len, reverse=True))


def connection_target(descriptor: Mapping[str, Any], *, section: str) -> ConnectionTarget:
    """Resolve a descriptor's ``url`` / ``urlEnv`` into a :class:`ConnectionTarget`.

    Raises:
        DataEnvironmentError: Neither is set, or the named environment variable is unset.
    """
    url = resolve_url(descriptor, section=section)
    return ConnectionTarget(url=url, redacted=redact_url(url), secrets=_secrets_of(url))


def require_psycopg(feature: str) -> Any:
    """Import and return :mod:`psycopg`, or raise naming the extra to install."""
    try:
        import psycopg
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs psycopg; install it with: pip install 'flowai-harness[postgres]'"
        ) from exc
    return psycopg
