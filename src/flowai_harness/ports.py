"""The seams between the engine and the outside world.

Each outside dependency sits behind one narrow Protocol here: the model (``ModelClient``), and
the stores. Vendor types and vendor errors stop at the adapters; the engine sees only these
types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from flowai_harness.events import FinishReason, LatencySummary, TokenUsage

__all__ = [
    "KeyValueStore",
    "Message",
    "ModelClient",
    "ModelError",
    "ModelFinish",
    "ModelLatency",
    "ModelPart",
    "ModelReasoning",
    "ModelRequest",
    "ModelText",
    "ModelToolCall",
    "RunStore",
    "ToolDefinition",
    "ToolInteraction",
    "ToolOutcome",
    "error_outcome",
]


# --------------------------------------------------------------------------- model port


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A tool as offered to a model."""

    name: str
    description: str
    input_schema: Mapping[str, Any]


@dataclass(slots=True)
class ToolInteraction:
    """One tool call and its result, as kept in agent memory."""

    call_id: str
    tool_name: str
    arguments: Any
    result: Any
    is_error: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the stored form (``callId``, ``toolName``, ``arguments``, ``result``)."""
        return {
            "callId": self.call_id,
            "toolName": self.tool_name,
            "arguments": self.arguments,
            "result": self.result,
        }


@dataclass(slots=True)
class Message:
    """A conversation message; assistant messages may carry the tool calls they made."""

    role: Literal["user", "assistant"]
    content: str
    tool_interactions: list[ToolInteraction] | None = None


@dataclass(slots=True)
class ToolOutcome:
    """The result of one tool dispatch: JSON content, and whether it is an error."""

    content: Any
    is_error: bool = False


#: Error messages quote exceptions and invalid values, which a hostile tool or model can make
#: as large as it likes; past this many characters the rest is cut.
_ERROR_CHARS = 16384


def error_outcome(message: str) -> ToolOutcome:
    """Return the error result ``{"error": message}`` (cut after 16,384 characters)."""
    if len(message) > _ERROR_CHARS:
        cut = len(message) - _ERROR_CHARS
        message = f"{message[:_ERROR_CHARS]}... ({cut} more characters not shown)"
    return ToolOutcome({"error": message}, is_error=True)


@dataclass(slots=True)
class ModelRequest:
    """Everything a model needs for one turn of one agent invocation.

    ``history`` is the stored conversation of a stateful agent, ``prompt`` the current user
    message, and ``turns`` the tool calls already made in this invocation (one list per earlier
    turn). ``tool_results`` is filled by the engine while the turn streams: a client that yields
    a :class:`ModelToolCall` finds its outcome there (keyed by call id) when it resumes.
    """

    agent: str
    model: str
    provider: str
    system_prompt: str
    prompt: str
    history: Sequence[Message]
    tools: Sequence[ToolDefinition]
    turn: int
    max_turns: int
    turns: list[list[ToolInteraction]] = field(default_factory=list)
    assistant_texts: list[str] = field(default_factory=list)
    tool_results: dict[str, ToolOutcome] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelText:
    """A text delta."""

    text: str


@dataclass(frozen=True, slots=True)
class ModelReasoning:
    """A reasoning delta."""

    text: str


@dataclass(frozen=True, slots=True)
class ModelToolCall:
    """A complete tool call; the engine dispatches it before the client resumes."""

    id: str
    name: str
    args: Any


@dataclass(frozen=True, slots=True)
class ModelLatency:
    """A latency summary the client computed itself (the deterministic mock does)."""

    summary: LatencySummary


@dataclass(frozen=True, slots=True)
class ModelFinish:
    """End of the turn: why it stopped and what it used.

    ``reason == "tool-calls"`` asks the engine for another turn with the tool results; any
    other reason ends the invocation.
    """

    reason: FinishReason
    usage: TokenUsage = field(default_factory=TokenUsage)
    retry_count: int = 0


@dataclass(frozen=True, slots=True)
class ModelError:
    """The model failed; the invocation ends with an ``error`` event carrying ``message``."""

    message: str
    code: str | None = None


ModelPart = ModelText | ModelReasoning | ModelToolCall | ModelLatency | ModelFinish | ModelError


@runtime_checkable
class ModelClient(Protocol):
    """One model backend: deterministic interpreters and live providers alike."""

    #: live clients get cost and latency summaries from the engine; deterministic ones do not
    live: bool

    def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        """Stream the parts of one model turn."""
        ...


# --------------------------------------------------------------------------- storage ports


@runtime_checkable
class KeyValueStore(Protocol):
    """A tenant-namespaced JSON key-value store with optional TTL."""

    async def get(self, tenant: str, key: str) -> Any | None:
        """Return the stored JSON value, or ``None`` when missing or expired."""
        ...

    async def put(self, tenant: str, key: str, value: Any, ttl_ms: int | None = None) -> None:
        """Store ``value`` (JSON) under ``key``; ``ttl_ms`` of ``None`` never expires."""
        ...

    async def delete(self, tenant: str, key: str) -> bool:
        """Delete ``key``; return whether it existed."""
        ...

    async def compare_and_set(
        self, tenant: str, key: str, expected: Any | None, value: Any, ttl_ms: int | None = None
    ) -> bool:
        """Atomically store ``value`` if the live value of ``key`` equals ``expected``.

        Equality is JSON equality: numbers compare by value (``1 == 1.0``), booleans are not
        numbers, object key order does not matter. ``expected=None`` matches what ``get``
        reports as ``None``: a missing or expired key (or a stored JSON ``null``). The check
        and the write are one atomic step across every process sharing the store.

        Args:
            tenant: The tenant namespace.
            key: The key to write.
            expected: The value the caller last read, or ``None`` for "absent".
            value: The JSON value to store.
            ttl_ms: Expiry of the new value, as in :meth:`put`.

        Returns:
            Whether ``value`` was written.
        """
        ...

    async def list_keys(self, tenant: str, prefix: str) -> list[str]:
        """Return the live keys of ``tenant`` that start with ``prefix``, sorted."""
        ...

    async def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class RunStore(KeyValueStore, Protocol):
    """A key-value store that can also batch, scan, prune and signal: what durable runs need.

    Every built-in store (memory, SQLite, Postgres, Redis) implements it. Batches commit
    atomically; ``scan`` reads many keys in one statement; ``notify`` / ``wait_notify`` let a
    process wait for another's write instead of polling the data.
    """

    async def write_batch(
        self,
        tenant: str,
        puts: Sequence[tuple[str, Any]],
        *,
        deletes: Sequence[str] = (),
        guard: tuple[str, Any] | None = None,
        notify: Sequence[str] = (),
    ) -> bool:
        """Write every put and delete in one transaction (one round trip where possible).

        Args:
            tenant: The tenant namespace.
            puts: ``(key, JSON value)`` pairs, stored without expiry; a key listed twice keeps
                its last value.
            deletes: Keys to delete; a key may not be both put and deleted.
            guard: ``(key, expected)``: write only if the live value of ``key`` JSON-equals
                ``expected`` at commit time (``None`` = absent), as in ``compare_and_set``.
            notify: Channels signalled once the batch has committed (see :meth:`notify`).

        Returns:
            Whether the batch was written (``False`` only when the guard did not hold; then
            nothing was written and nobody was signalled).
        """
        ...

    async def get_many(self, tenant: str, keys: Sequence[str]) -> dict[str, Any]:
        """Return the live values of those ``keys`` that exist, read in one statement."""
        ...

    async def scan(
        self,
        tenant: str,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        where: Mapping[str, str] | None = None,
    ) -> list[tuple[str, Any]]:
        """Return ``(key, value)`` of the live keys starting with ``prefix``, by key.

        Args:
            tenant: The tenant namespace.
            prefix: Key prefix (``""`` for every key of the tenant).
            start_after: Only keys ordered after this one (code-point order): the last key of
                the previous page.
            limit: At most this many pairs (``None``: all).
            where: Keep only values that are JSON objects whose top-level field equals the
                given string, for every field given (``{"status": "pending"}``). Postgres and
                SQLite index the fields ``threadId`` and ``status``.
        """
        ...

    async def delete_prefix(
        self, tenant: str, prefix: str, *, updated_before_ms: int | None = None
    ) -> int:
        """Delete the live keys starting with ``prefix``; return how many went.

        Args:
            tenant: The tenant namespace.
            prefix: Key prefix; ``""`` is refused unless ``updated_before_ms`` is given.
            updated_before_ms: Only keys last written before this epoch-millisecond instant.
        """
        ...

    def wait_notify(self, tenant: str, channel: str, timeout: float) -> Awaitable[bool]:
        """Start waiting for ``channel``; await the result: ``True`` once it is signalled.

        The wait starts when this method is called (not when its result is awaited), so a
        caller can register, then read the store, then await without missing a signal sent
        in between. A signal sent by any process sharing the store counts. Returns ``False``
        after ``timeout`` seconds without one. A wake-up may be spurious (a reconnect): the
        caller reads the store again either way.
        """
        ...

    async def notify(self, tenant: str, channel: str) -> None:
        """Signal ``channel`` to every waiter of every process sharing the store."""
        ...
