"""The ``Runtime`` handle: start runs, answer approvals, work with references."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from typing import Any, Literal

from flowai_harness.engine.approvals import OUTCOMES, ApprovalBroker, Decision
from flowai_harness.engine.compiled import CompiledRuntime
from flowai_harness.engine.context import EventSink, RunContext
from flowai_harness.engine.locks import KeyedLocks
from flowai_harness.engine.references import ReferenceRegistry
from flowai_harness.engine.run import AgentFailed, invoke_agent
from flowai_harness.engine.stream import RuntimeEventStream
from flowai_harness.errors import ApprovalError
from flowai_harness.events import ApprovalRequest, ErrorEvent

__all__ = ["Runtime"]

ApprovalMode = Literal["interactive", "bypass", "refuse"]


class Runtime:
    """A live runtime built by ``create_runtime``; share one per application.

    Requests on different threads run concurrently; requests on the same ``thread_id`` are
    serialized, so no turn of conversation memory is lost.
    """

    def __init__(self, compiled: CompiledRuntime, *, stream_capacity: int = 256) -> None:
        self._compiled = compiled
        self._approvals = ApprovalBroker()
        self._references = ReferenceRegistry(compiled.references, compiled.kv)
        self._thread_locks = KeyedLocks()
        self._plan_locks = KeyedLocks()
        self._stream_capacity = stream_capacity

    @property
    def resource_id(self) -> str:
        """The tenant every piece of state of this runtime belongs to."""
        return self._compiled.resource_id

    @property
    def agent_names(self) -> list[str]:
        """The names of the registered agents, in declaration order."""
        return list(self._compiled.agents)

    # ------------------------------------------------------------------ runs

    def query(self, prompt: str, thread_id: str, resume: str | None = None) -> RuntimeEventStream:
        """Start a request at the coordinator; iterate the returned stream to run it.

        ``resume`` is accepted for compatibility and has no effect: approvals resume in-stream.
        """
        coordinator = self._compiled.coordinator
        if coordinator is None:
            return self._error_stream("no coordinator agent registered in the spec")
        return self._stream(coordinator, prompt, thread_id)

    def run_specialist(
        self, specialist: str, prompt: str, thread_id: str | None = None
    ) -> RuntimeEventStream:
        """Start a request directly at the specialist ``specialist``."""
        agent = self._compiled.agents.get(specialist)
        if agent is None:
            return self._error_stream(f"specialist '{specialist}' not found")
        if agent.role != "specialist":
            return self._error_stream(f"agent '{specialist}' is not a specialist")
        return self._stream(specialist, prompt, thread_id or f"specialist-{uuid.uuid4()}")

    def _stream(
        self,
        agent: str,
        prompt: str,
        thread_id: str,
        *,
        invocation_id: str | None = None,
        approval_mode: ApprovalMode = "interactive",
    ) -> RuntimeEventStream:
        async def body(sink: EventSink) -> None:
            run = RunContext(
                self._compiled,
                sink,
                thread_id,
                self._approvals,
                self._references,
                self._plan_locks,
                approval_mode=approval_mode,
            )
            async with self._thread_locks.hold(thread_id):
                try:
                    await invoke_agent(
                        run, agent, prompt, thread_id=thread_id, invocation_id=invocation_id
                    )
                except AgentFailed as exc:
                    await sink.emit(ErrorEvent(f"agent failed: {exc}"))
                except (asyncio.CancelledError, ConnectionError):
                    raise
                except Exception as exc:  # an engine defect still ends the stream cleanly
                    await sink.emit(
                        ErrorEvent(f"internal error: {type(exc).__name__}: {exc}", code="internal")
                    )

        return RuntimeEventStream(body, self._compiled.event_hooks, capacity=self._stream_capacity)

    def _error_stream(self, message: str) -> RuntimeEventStream:
        async def body(sink: EventSink) -> None:
            await sink.emit(ErrorEvent(message))

        return RuntimeEventStream(body, self._compiled.event_hooks)

    # ------------------------------------------------------------------ approvals

    def respond_to_approval(
        self, approval_id: str, outcome: str, feedback: str | None = None, partial: Any = None
    ) -> Awaitable[None]:
        """Answer a pending approval; the waiting gate resumes its run.

        The outcome is checked at call time; the returned awaitable applies the decision.

        Raises:
            ValueError: ``outcome`` is not ``"approve"``, ``"reject"`` or ``"revise"``.
            ApprovalNotFoundError: no pending approval has that id (when awaited).
            ApprovalAlreadyResolvedError: the id was already answered (when awaited).
        """
        if outcome not in OUTCOMES:
            raise ApprovalError(
                f"approval outcome must be one of 'approve', 'reject', 'revise'; got {outcome!r}"
            )
        if feedback is not None and not isinstance(feedback, str):
            raise ApprovalError(
                f"approval feedback must be a string or None; got {type(feedback).__name__}"
            )
        decision = Decision(outcome, feedback, partial)

        async def apply() -> None:
            self._approvals.respond(self.resource_id, approval_id, decision)

        return apply()

    def pending_approvals(self) -> list[dict[str, Any]]:
        """Return the approvals of this runtime that wait for a decision (wire form)."""
        return [r.to_dict() for r in self._approvals.pending(self.resource_id)]

    def _pending_requests(self) -> list[ApprovalRequest]:
        return self._approvals.pending(self.resource_id)

    # ------------------------------------------------------------------ references

    async def create_reference(
        self, reference: Any, value: Any, glimpse: Any = None
    ) -> dict[str, Any]:
        """Store ``value`` as a reference; return ``{"kind", "id", "glimpse"}``.

        ``reference`` is a ``ReferenceSpec`` (its glimpse callback runs once on the original
        value unless ``glimpse`` is given) or a declared kind name (glimpse defaults to ``{}``).
        """
        return await self._references.create_from_host(self.resource_id, reference, value, glimpse)

    async def resolve_reference(self, reference: Any) -> Any:
        """Return the stored value of a ``{"kind", "id"}`` handle."""
        return await self._references.resolve_handle(self.resource_id, reference)

    async def reference_glimpse(self, reference: Any) -> Any:
        """Return the stored glimpse of a ``{"kind", "id"}`` handle."""
        return await self._references.glimpse_handle(self.resource_id, reference)

    async def aclose(self) -> None:
        """Release the runtime's stores (connections, files). The runtime is unusable after."""
        await self._compiled.kv.close()

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Runtime(resource_id={self.resource_id!r}, agents={self.agent_names!r})"
