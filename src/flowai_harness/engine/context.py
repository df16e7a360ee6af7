"""Per-request state and the ``ctx`` object handed to Python tool handlers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flowai_harness.engine.budget import NO_BUDGET, BudgetMeter, RunUsage, UnlimitedMeter
from flowai_harness.engine.emit import EventSink
from flowai_harness.engine.journal import (
    NULL_INVOCATION,
    NULL_JOURNAL,
    InvocationJournal,
    RunJournal,
)
from flowai_harness.engine.locks import KeyedLocks
from flowai_harness.errors import MissingServiceError
from flowai_harness.specs._problems import closest

if TYPE_CHECKING:
    from flowai_harness.engine.approvals import ApprovalBroker
    from flowai_harness.engine.compiled import CompiledAgent, CompiledRuntime
    from flowai_harness.engine.references import ReferenceRegistry

__all__ = ["AgentScope", "ReferenceClient", "RunContext", "ToolCall", "ToolContext"]

RESERVED_CONTEXT_KEYS = frozenset({"tool_use_id", "services", "references"})


@dataclass(slots=True)
class RunStats:
    """Timing counters of one agent invocation, for latency summaries."""

    tool_time_ms: float = 0.0
    sub_agent_time_ms: float = 0.0
    timings: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class RunContext:
    """Shared by every agent invocation of one request."""

    runtime: CompiledRuntime
    sink: EventSink
    request_thread: str
    approvals: ApprovalBroker
    references: ReferenceRegistry
    plan_locks: KeyedLocks
    cancelled: bool = False
    #: "interactive" waits for the host; "bypass" skips gates (evals); "refuse" fails them (MCP)
    approval_mode: Literal["interactive", "bypass", "refuse"] = "interactive"
    #: the run's id (``None`` outside a run, e.g. direct MCP tool calls)
    run_id: str | None = None
    #: what the run tells about itself as it goes (a durable run's journal records it)
    journal: RunJournal = NULL_JOURNAL
    #: what the run has used so far, across all its agent invocations
    usage: RunUsage = field(default_factory=RunUsage)
    #: checks ``usage`` against the run's budget before each model and tool call
    meter: BudgetMeter | UnlimitedMeter = NO_BUDGET
    #: one lock per (thread, agent) memory: sub-agents of one run may end at the same time
    memory_locks: KeyedLocks = field(default_factory=KeyedLocks)

    @property
    def tenant(self) -> str:
        """The runtime tenant (resource id)."""
        return self.runtime.resource_id


@dataclass(slots=True)
class AgentScope:
    """One running agent invocation: which agent, on which thread."""

    run: RunContext
    agent: CompiledAgent
    thread_id: str
    stats: RunStats = field(default_factory=RunStats)
    #: this invocation's part of the run's journal
    journal: InvocationJournal = NULL_INVOCATION


@dataclass(slots=True)
class ToolCall:
    """One tool dispatch: the scope it runs in and the call id."""

    scope: AgentScope
    call_id: str
    tool_name: str


class ReferenceClient:
    """``ctx.references``: create, resolve and glimpse references for the runtime tenant."""

    __slots__ = ("_registry", "_tenant")

    def __init__(self, registry: ReferenceRegistry, tenant: str) -> None:
        self._registry = registry
        self._tenant = tenant

    async def create(self, reference: Any, value: Any, glimpse: Any = None) -> dict[str, Any]:
        """Store ``value`` as a reference of ``reference`` (a ``ReferenceSpec`` or kind name)."""
        return await self._registry.create_from_host(self._tenant, reference, value, glimpse)

    async def resolve(self, ref: Any) -> Any:
        """Return the full stored value of ``ref`` (a ``{"kind", "id"}`` handle)."""
        return await self._registry.resolve_handle(self._tenant, ref)

    async def glimpse(self, ref: Any) -> Any:
        """Return the stored glimpse of ``ref``."""
        return await self._registry.glimpse_handle(self._tenant, ref)


class ToolContext(Mapping[str, Any]):
    """The read-only ``ctx`` of a Python tool handler.

    Keys: ``tool_use_id``, ``services`` (the whole mapping), ``references`` (a
    :class:`ReferenceClient`), plus every service under its own name. Attribute and item access
    both work: ``ctx.db``, ``ctx["db"]``, ``ctx.get("db")``. A missing service raises
    :class:`~flowai_harness.errors.MissingServiceError` (a ``KeyError`` and an
    ``AttributeError``) naming the ``services=`` argument of ``create_runtime``.
    """

    __slots__ = ("_values",)

    def __init__(
        self, tool_use_id: str, services: Mapping[str, Any], references: ReferenceClient
    ) -> None:
        values = dict(services)
        values["tool_use_id"] = tool_use_id
        values["services"] = services
        values["references"] = references
        object.__setattr__(self, "_values", values)

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise MissingServiceError(self._missing(key)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and friends probing for hooks
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise MissingServiceError(self._missing(name)) from None

    def _missing(self, key: object) -> str:
        """What to say when a tool reads a service the runtime was not given."""
        services = sorted(str(name) for name in self._values["services"])
        match = closest(str(key), services)
        guess = f"; did you mean {match!r}?" if match else "."
        return (
            f"the tool context has no service {key!r}{guess} Services given: {services!r}. "
            f"Services come from create_runtime(spec, services={{{key!r}: ...}})"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the tool context is read-only")

    def as_dict(self) -> dict[str, Any]:
        """Return a shallow copy of every key."""
        return dict(self._values)

    def __repr__(self) -> str:
        return f"ToolContext(keys={sorted(self._values)!r})"
