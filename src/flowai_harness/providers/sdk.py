"""What the SDK-backed providers share: one SDK client per event loop, SDK errors translated.

Both live providers talk to their API through an official SDK (``anthropic``, ``openai``) over
``httpx2``. :class:`SdkSession` owns that seam for one provider entry:

* the SDK is imported on first use (a missing one raises :class:`MissingDependencyError` naming
  the extra to install);
* each event loop gets its own SDK client, built with the SDK's own retries off (retries are
  :func:`~flowai_harness.providers.retry.resilient_turn`'s), the configured timeout (connect at
  most 10 s) and keep-alive off, so a cancelled run or a finished loop leaves no pooled socket;
* :meth:`SdkSession.stream_parts` turns every SDK, HTTP and malformed-JSON failure of a streamed
  call into an :class:`~flowai_harness.providers.retry.AttemptFailed`, with the API key masked;
* a base URL with credentials (``https://user:password@proxy/v1``) reaches the SDK without
  them: the SDK and its HTTP library log and report the URL they were given, so the user and
  password travel as the HTTP client's basic auth instead (the same ``Authorization`` header
  the URL would have produced).
"""

from __future__ import annotations

import importlib
import json
import os
import weakref
from asyncio import AbstractEventLoop, get_running_loop
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from flowai_harness.errors import MissingDependencyError
from flowai_harness.ports import ModelPart
from flowai_harness.providers.retry import AttemptFailed, SdkErrors, failure_from_error

if TYPE_CHECKING:
    from flowai_harness.providers.settings import ProviderSettings

__all__ = ["SdkBinding", "SdkSession", "split_userinfo"]


@dataclass(frozen=True, slots=True)
class SdkBinding:
    """Which official SDK a provider uses.

    Attributes:
        module: The SDK's import name, also the extra that installs it (``"anthropic"``).
        client_class: The SDK's asyncio client class (``"AsyncAnthropic"``).
        provider: The provider's display name in the missing-SDK error (``"Anthropic"``).
        placeholder_key: Sent when the entry has no API key (local OpenAI-compatible servers
            need none, but the ``openai`` SDK insists on one); ``None`` lets the SDK decide.
    """

    module: str
    client_class: str
    provider: str
    placeholder_key: str | None = None


class SdkSession:
    """The SDK clients (one per event loop) and SDK error classes of one provider entry."""

    def __init__(self, settings: ProviderSettings, binding: SdkBinding) -> None:
        self.settings = settings
        self.binding = binding
        self._clients: weakref.WeakKeyDictionary[AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._errors: SdkErrors | None = None

    def client(self) -> Any:
        """Return the SDK client of the running event loop, creating it on first use.

        Raises:
            MissingDependencyError: The SDK is not installed.
        """
        loop = get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._new_client()
            self._clients[loop] = client
        return client

    async def stream_parts(
        self,
        open_stream: Callable[[], Awaitable[Any]],
        feed: Callable[[Any], Iterable[ModelPart]],
    ) -> AsyncGenerator[ModelPart, None]:
        """Open one streamed SDK call and yield the parts ``feed`` makes of its events.

        Args:
            open_stream: Starts the call (``sdk.messages.create(..., stream=True)``); the
                awaited stream is an async context manager iterating raw events.
            feed: Turns one raw event into the model parts it completes.

        Raises:
            AttemptFailed: The SDK or its HTTP library failed, or the stream carried malformed
                JSON; the API key never appears in the message.
        """
        try:
            stream = await open_stream()
            async with stream:
                async for event in stream:
                    for part in feed(event):
                        yield part
        except json.JSONDecodeError as exc:
            raise AttemptFailed(
                f"the stream carried malformed JSON ({exc.msg})",
                code="invalid_response",
                retryable=True,
            ) from None
        except Exception as exc:
            assert self._errors is not None  # set with the client that opened the stream
            failure = failure_from_error(
                exc,
                self._errors,
                timeout_secs=self.settings.timeout_secs,
                secret=self.settings.api_key,
            )
            if failure is None:
                raise
            raise failure from None

    def _new_client(self) -> Any:
        binding = self.binding
        try:
            sdk = importlib.import_module(binding.module)
            import httpx2
        except ImportError as exc:  # pragma: no cover - checked at create_runtime
            raise MissingDependencyError(
                f"the {binding.provider} provider needs the {binding.module} SDK: "
                f"pip install 'flowai-harness[{binding.module}]'"
            ) from exc
        if self._errors is None:
            self._errors = SdkErrors(
                api_error=sdk.APIError,
                status_error=sdk.APIStatusError,
                connection_error=sdk.APIConnectionError,
                timeout_error=sdk.APITimeoutError,
                transport_error=httpx2.TransportError,
                transport_timeout=httpx2.TimeoutException,
            )
        timeout = self.settings.timeout_secs
        base_url, credentials = self.settings.base_url, self.settings.base_auth
        if base_url is None:
            # The SDK would read its *_BASE_URL variable itself, and log any password in it.
            base_url, credentials = split_userinfo(
                os.environ.get(f"{binding.module.upper()}_BASE_URL") or None
            )
            if credentials is None:
                base_url = None  # keep the SDK's own handling of its variable and default
        client_class = getattr(sdk, binding.client_class)
        return client_class(
            api_key=self.settings.api_key or binding.placeholder_key,
            base_url=base_url,  # None: the SDK's *_BASE_URL variable or default
            max_retries=0,  # retries are ours: counted, reported, never after output
            timeout=httpx2.Timeout(timeout, connect=min(timeout, 10.0)),
            http_client=sdk.DefaultAsyncHttpxClient(
                limits=httpx2.Limits(max_connections=100, max_keepalive_connections=0),
                auth=None if credentials is None else httpx2.BasicAuth(*credentials),
            ),
        )


def split_userinfo(url: str | None) -> tuple[str | None, tuple[str, str] | None]:
    """Split the credentials out of a URL.

    Returns:
        The URL without ``user:password@``, and ``(user, password)`` percent-decoded (``None``
        when the URL has no credentials).
    """
    if url is None:
        return None, None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))
