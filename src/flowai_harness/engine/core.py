"""The engine core: start and resume runs, answer approvals, work with references.

:class:`EngineCore` is what the public ``flowai_harness.Runtime`` handle is built on.

Every run has a run id (``stream.run_id``) and a record (:mod:`flowai_harness.engine.runlog`).
With a durable key-value store (SQLite, Postgres, Redis) the record, the event log and the
journal live in the store, pending approvals can be answered from any process, and a run that
stopped (its process died, or its stream was dropped) can be resumed from any process with
``resume_run(run_id)`` or ``query(prompt, thread_id, resume=run_id)``
(:mod:`flowai_harness.engine.durable_journal` says how). Each durable run is leased by the worker
running it, and a worker that dies gives its runs to the others' recovery
(:mod:`flowai_harness.engine.fleet`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Mapping
from typing import Any, Literal, Self

from flowai_harness.engine.approvals import OUTCOMES, ApprovalBroker, Decision
from flowai_harness.engine.budget import RunBudget, meter_for
from flowai_harness.engine.compiled import CompiledRuntime
from flowai_harness.engine.context import RunContext
from flowai_harness.engine.emit import EventSink
from flowai_harness.engine.entry_errors import NO_COORDINATOR, not_a_specialist, unknown_specialist
from flowai_harness.engine.fleet import Fleet, RunBody
from flowai_harness.engine.journal import NULL_JOURNAL, RunJournal
from flowai_harness.engine.leases import RunLease
from flowai_harness.engine.locks import KeyedLocks
from flowai_harness.engine.references import ReferenceRegistry
from flowai_harness.engine.resumes import (
    give_back,
    report_takeover,
    require_str,
    resume_problem,
    run_id_arg,
    unreadable,
)
from flowai_harness.engine.run import AgentFailed, invoke_agent
from flowai_harness.engine.runbooks import MemoryRunBook, RunBook, StoreRunBook
from flowai_harness.engine.runlog import (
    RunRecord,
    RunStatus,
    new_run_id,
    store_is_durable,
)
from flowai_harness.engine.stream import RuntimeEventStream
from flowai_harness.engine.user_code import describe_failure, is_user_failure
from flowai_harness.errors import (
    ApprovalError,
    ApprovalNotFoundError,
    SpecTypeError,
    SpecValueError,
    StoreError,
    ThreadBusyError,
    UnknownAgentError,
)
from flowai_harness.event_dicts import ApprovalRequestDict
from flowai_harness.events import ApprovalRequest, ErrorEvent
from flowai_harness.specs._problems import closest
from flowai_harness.specs.durability import DurabilityOptions, parse_durability

__all__ = ["EngineCore"]

_UNKNOWN_APPROVAL_HINT = (
    "the approvals waiting for an answer are listed by `await runtime.list_pending_approvals()` "
    "(answer one by its 'id', the data.id of its approval-required event)"
)

ApprovalMode = Literal["interactive", "bypass", "refuse"]


class EngineCore:
    """The runs, approvals and references of one compiled runtime (the base of ``Runtime``).

    Requests on different threads run concurrently; requests on the same ``thread_id`` are
    serialized, so no turn of conversation memory is lost: in this process and, with a durable
    store, across every worker sharing it.
    """

    def __init__(
        self,
        compiled: CompiledRuntime,
        *,
        stream_capacity: int = 256,
        durable_runs: bool | None = None,
        approval_poll_secs: float = 1.0,
        durability: DurabilityOptions | Mapping[str, Any] | None = None,
    ) -> None:
        """Build the handle over a compiled runtime (``create_runtime`` does this).

        Args:
            compiled: The checked configuration.
            stream_capacity: Events buffered per stream before the run waits for its consumer.
            durable_runs: Journal runs in the key-value store so they can be resumed; ``None``
                decides from the store (durable for SQLite, Postgres and Redis).
            approval_poll_secs: How often a gate of a durable run looks in the store for a
                decision made by another process when no notification came (at first; it
                backs off to 8 times that).
            durability: Leases, recovery and thread policy (see ``DurabilityOptions``).
        """
        options = parse_durability(durability)
        self._durability = options
        self._compiled = compiled
        self._approvals = ApprovalBroker()
        self._references = ReferenceRegistry(compiled.references, compiled.kv)
        self._thread_locks = KeyedLocks()
        self._plan_locks = KeyedLocks()
        self._stream_capacity = stream_capacity
        if durable_runs is None:
            durable_runs = store_is_durable(compiled.kv, compiled.data_environment)
        self._runs: RunBook = (
            StoreRunBook(
                compiled.kv,
                compiled.resource_id,
                poll_secs=approval_poll_secs,
                lease_secs=options.lease_secs,
                flush_window=options.flush_window_ms / 1000,
            )
            if durable_runs
            else MemoryRunBook()
        )
        recover = durable_runs if options.recover is None else options.recover
        self._fleet = Fleet(
            self._runs,
            thread_policy=options.thread_policy,
            recover=recover,
            stream_capacity=stream_capacity,
            locks=self._thread_locks,
        )
        self._active_runs: set[str] = set()

    @property
    def resource_id(self) -> str:
        """The tenant every piece of state of this runtime belongs to."""
        return self._compiled.resource_id

    @property
    def agent_names(self) -> list[str]:
        """The names of the registered agents, in declaration order."""
        return list(self._compiled.agents)

    @property
    def durable_runs(self) -> bool:
        """Whether runs are journaled in a durable store (and so can be resumed)."""
        return self._runs.durable

    # ------------------------------------------------------------------ runs

    def query(
        self,
        prompt: str,
        thread_id: str,
        resume: str | None = None,
        *,
        budget: Mapping[str, Any] | None = None,
    ) -> RuntimeEventStream:
        """Start a request at the coordinator; iterate the returned stream to run it.

        Args:
            prompt: The user message.
            thread_id: The conversation thread.
            resume: The id of a stopped run to resume instead (see :meth:`resume_run`); its
                ``thread_id`` must match, and ``prompt`` must be the run's prompt or empty.
            budget: Limits of this run, replacing the runtime's per key (``None`` for a key
                removes that limit), e.g. ``{"max_tokens": 20000}``.

        Raises:
            SpecTypeError: (a ``TypeError``) an argument is not a string (``resume``: nor
                ``None``), or ``budget`` is not a mapping of numbers. Other problems arrive as
                an ``error`` event on the stream.
            ConfigurationError: (a ``ValueError``) ``budget`` has an unknown key or a limit
                that is not positive.
        """
        require_str("prompt", prompt)
        require_str("thread_id", thread_id)
        require_str("resume", resume, optional=True)
        run_budget = self._compiled.budget.merged(budget)
        if resume is not None:
            return self._resume_stream(resume, thread_id=thread_id, prompt=prompt)
        coordinator = self._compiled.coordinator
        if coordinator is None:
            return self._error_stream(NO_COORDINATOR)
        return self._stream(coordinator, prompt, thread_id, budget=run_budget)

    def run_specialist(
        self,
        specialist: str,
        prompt: str,
        thread_id: str | None = None,
        *,
        budget: Mapping[str, Any] | None = None,
    ) -> RuntimeEventStream:
        """Start a request directly at the specialist ``specialist``.

        Args:
            specialist: The name of a specialist agent (an agent of another role arrives as an
                ``error`` event on the stream).
            prompt: The user message.
            thread_id: The conversation thread (``specialist-<uuid4>`` when ``None``).
            budget: Limits of this run, replacing the runtime's per key (see :meth:`query`).

        Raises:
            SpecTypeError: (a ``TypeError``) an argument is not a string (``thread_id``: nor
                ``None``), or ``budget`` is not a mapping of numbers.
            ConfigurationError: (a ``ValueError``) ``budget`` has an unknown key or a limit
                that is not positive.
            UnknownAgentError: (a ``ValueError``) the runtime has no agent of that name; the
                message suggests the closest specialist name.
        """
        require_str("specialist", specialist)
        require_str("prompt", prompt)
        require_str("thread_id", thread_id, optional=True)
        run_budget = self._compiled.budget.merged(budget)
        agent = self._compiled.agents.get(specialist)
        if agent is None:
            specialists = (n for n, a in self._compiled.agents.items() if a.role == "specialist")
            raise UnknownAgentError(unknown_specialist(specialist, specialists))
        if agent.role != "specialist":
            return self._error_stream(not_a_specialist(specialist, agent.role))
        thread = thread_id or f"specialist-{uuid.uuid4()}"
        return self._stream(specialist, prompt, thread, budget=run_budget)

    def resume_run(self, run_id: str) -> RuntimeEventStream:
        """Resume a durable run that stopped (its process died, or its stream was dropped).

        The run is re-driven from its journal: model turns and tool results it had are replayed,
        not redone (no tool runs twice, no plan is dispatched twice), and it goes on live from
        where it stopped. A gate it was waiting at applies the decision recorded meanwhile
        (``respond_to_approval`` from any process), or waits again. The stream carries only the
        events the first stream had not logged, numbered after them; a gate that waits again
        shows its ``approval-required`` again with its original sequence number. Problems
        (unknown run, a run that ended, a store that is not durable) arrive as one ``error``
        event.

        Resuming claims the run's lease: a run whose worker is alive (its lease is live) is
        refused with an ``error`` event naming that worker; the worker of a claimed run that
        was only presumed dead stops it (its stream ends with a ``run_taken_over`` error).

        Raises:
            SpecTypeError: (a ``TypeError``) ``run_id`` is not a string.
        """
        require_str("run_id", run_id)
        return self._resume_stream(run_id, thread_id=None, prompt=None)

    def _stream(
        self,
        agent: str,
        prompt: str,
        thread_id: str,
        *,
        invocation_id: str | None = None,
        approval_mode: ApprovalMode = "interactive",
        budget: RunBudget | None = None,
    ) -> RuntimeEventStream:
        run_budget = self._compiled.budget if budget is None else budget
        record = RunRecord(
            new_run_id(), agent, thread_id, prompt, invocation_id or f"inv-{uuid.uuid4()}"
        )
        # Only interactive runs are recorded: eval samples and MCP calls are not resumable.
        recorded = approval_mode == "interactive"

        async def body(sink: EventSink) -> None:
            self._fleet.start_sweeper(self._recover_runs)
            # An in-process record is listed from the start, even while the run waits its turn.
            early = self._runs.open(record) if recorded and not self._runs.durable else None
            try:
                async with self._fleet.thread(thread_id, record.run_id, leased=recorded) as held:
                    journal = early or (
                        self._runs.open(record, thread=held) if recorded else NULL_JOURNAL
                    )
                    await self._run_entry(sink, record, journal, approval_mode, run_budget)
            except (ThreadBusyError, StoreError) as exc:
                code = "thread_busy" if isinstance(exc, ThreadBusyError) else "store_error"
                await sink.emit(ErrorEvent(str(exc), code=code))

        return RuntimeEventStream(
            body, self._compiled.event_hooks, capacity=self._stream_capacity, run_id=record.run_id
        )

    def _resume_stream(
        self, run_id: Any, *, thread_id: str | None, prompt: str | None
    ) -> RuntimeEventStream:
        if not isinstance(run_id, str) or not run_id.strip():
            return self._error_stream(
                f"resume must be the id of a run (a non-empty string); got {run_id!r}"
            )
        body = self._resume_body(run_id, thread_id=thread_id, prompt=prompt)
        return RuntimeEventStream(
            body, self._compiled.event_hooks, capacity=self._stream_capacity, run_id=run_id
        )

    def _resume_body(
        self,
        run_id: str,
        *,
        thread_id: str | None,
        prompt: str | None,
        lease: RunLease | None = None,
    ) -> RunBody:
        """The body of a resumed run; ``lease``: the run was claimed already (recovery)."""

        async def body(sink: EventSink) -> None:
            self._fleet.start_sweeper(self._recover_runs)
            if run_id in self._active_runs:
                await sink.emit(ErrorEvent(f"run {run_id} is already running in this process"))
                return
            try:
                stored = await self._runs.load(run_id)
            except Exception as exc:  # the store is down: say so, like any resume problem
                await sink.emit(ErrorEvent(unreadable(run_id, exc)))
                return
            problem = resume_problem(
                run_id,
                stored,
                thread_id,
                prompt,
                durable=self._runs.durable,
                agents=self._compiled.agents,
            )
            claimed = lease
            if problem is None and claimed is None:
                claimed, problem = await self._fleet.claim(run_id)
            if problem is not None or stored is None:
                await give_back(claimed, stored)
                await sink.emit(ErrorEvent(problem or f"run not found: {run_id}"))
                return
            record = stored.record
            try:
                async with self._fleet.thread(record.thread_id or run_id, run_id) as held:
                    record.status = "running"
                    record.resume_count += 1
                    record.last_sequence = stored.last_sequence
                    journal = self._runs.open(record, stored, lease=claimed, thread=held)
                    await self._run_entry(sink, record, journal, "interactive")
            except (ThreadBusyError, StoreError) as exc:
                await give_back(claimed, stored)
                code = "thread_busy" if isinstance(exc, ThreadBusyError) else "store_error"
                await sink.emit(ErrorEvent(str(exc), code=code))

        return body

    async def _run_entry(
        self,
        sink: EventSink,
        record: RunRecord,
        journal: RunJournal,
        approval_mode: ApprovalMode,
        budget: RunBudget | None = None,
    ) -> None:
        """Run the entry invocation of ``record`` (a new or a resumed run) to its end."""
        run = RunContext(
            self._compiled,
            sink,
            record.thread_id,
            self._approvals,
            self._references,
            self._plan_locks,
            approval_mode=approval_mode,
            run_id=record.run_id,
            journal=journal,
            meter=meter_for(self._compiled.budget if budget is None else budget),
        )
        self._active_runs.add(record.run_id)
        status: RunStatus = "failed"
        cassette = self._compiled.cassette
        cassette.run_started(
            record.entry_agent,
            record.prompt,
            record.thread_id,
            via_query=record.entry_agent == self._compiled.coordinator,
        )
        try:
            await journal.start(sink)
            entry = invoke_agent(
                run,
                record.entry_agent,
                record.prompt,
                thread_id=record.thread_id,
                invocation_id=record.entry_invocation_id,
            )
            await self._compiled.observer.run(run, record.entry_agent, entry)
            status = "completed"
        except AgentFailed as exc:
            record.reason = run.meter.exceeded
            await sink.emit(ErrorEvent(f"agent failed: {exc}"))
        except BaseException as exc:
            if journal.taken_over:
                # Another worker claimed the run (this one was presumed dead): it goes on
                # there; this stream ends with the reason, nothing more is written here.
                status = "cancelled"
                await report_takeover(sink, record.run_id)
                return
            if isinstance(exc, ConnectionError) or not is_user_failure(exc):
                # Cancelled, or the consumer left. The journal of a durable run whose stream was
                # dropped records nothing more: the run stays as a crash leaves it, resumable.
                status = "cancelled"
                raise
            # An engine defect (or user code that slipped past its guard) still ends the
            # stream cleanly, and never the host process.
            await sink.emit(ErrorEvent(f"internal error: {describe_failure(exc)}", code="internal"))
        finally:
            self._active_runs.discard(record.run_id)
            cassette.run_ended(status)
            await journal.finish(status)

    # ------------------------------------------------------------------ the fleet

    async def _recover_runs(self) -> list[str]:
        """Claim the runs whose worker died and resume them here (``Runtime.recover_runs``)."""
        self._fleet.start_sweeper(self._recover_runs)
        return await self._fleet.recover(self._recovered_body, self._active_runs)

    def _recovered_body(self, run_id: str, lease: RunLease) -> RunBody:
        return self._resume_body(run_id, thread_id=None, prompt=None, lease=lease)

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
            TypeError: ``approval_id`` is not a string.
            ValueError: ``outcome`` is not ``"approve"``, ``"reject"`` or ``"revise"``.
            ApprovalNotFoundError: no pending approval has that id (when awaited).
            ApprovalAlreadyResolvedError: the id was already answered (when awaited).
        """
        require_str("approval_id", approval_id)
        if outcome not in OUTCOMES:
            match = closest(str(outcome), OUTCOMES)
            raise ApprovalError(
                f"approval outcome must be one of 'approve', 'reject', 'revise'; got {outcome!r}"
                + (f"; did you mean {match!r}?" if match else "")
            )
        if feedback is not None and not isinstance(feedback, str):
            raise ApprovalError(
                f"approval feedback must be a string or None; got {type(feedback).__name__}"
            )
        decision = Decision(outcome, feedback, partial)

        async def apply() -> None:
            try:
                if self._runs.durable:
                    await self._answer_in_store(approval_id, decision)
                    return
                try:
                    self._approvals.respond(self.resource_id, approval_id, decision)
                except ApprovalNotFoundError:
                    await self._runs.record_decision(approval_id, decision)
            except ApprovalNotFoundError as error:
                raise ApprovalNotFoundError(f"{error}; {_UNKNOWN_APPROVAL_HINT}") from None

        return apply()

    async def _answer_in_store(self, approval_id: str, decision: Decision) -> None:
        """Answer an approval of a durable runtime: the store's compare-and-set decides which
        of racing answers (from any process) is taken; a local gate is then woken at once
        instead of at its next look in the store."""
        waiting = self._approvals.waiting(self.resource_id, approval_id)
        local = None if waiting is None else dict(waiting.to_dict())
        await self._runs.record_decision(approval_id, decision, local)
        if waiting is not None:
            # The store holds the decision; a gate gone meanwhile takes it on resume.
            with contextlib.suppress(ApprovalError):
                self._approvals.respond(self.resource_id, approval_id, decision)

    def pending_approvals(self) -> list[ApprovalRequestDict]:
        """Return the approvals that gates of this process wait for (wire form).

        :meth:`list_pending_approvals` also lists those of durable runs in other processes and
        of stopped runs.
        """
        return [r.to_dict() for r in self._approvals.pending(self.resource_id)]

    async def list_pending_approvals(self) -> list[dict[str, Any]]:
        """Return every approval of this tenant that waits for a decision.

        Those of this process, plus, with a durable store, those of runs in other processes or
        of stopped runs (answer them with :meth:`respond_to_approval`, then resume the run).
        Each item is the ``approval-required`` data with its ``runId`` added.
        """
        local = {r.id: r for r in self._approvals.pending(self.resource_id)}
        out = []
        for item in await self._runs.pending_approvals():
            local.pop(str(item.get("id")), None)
            out.append(item)
        out[:0] = [dict(r.to_dict()) for r in local.values()]
        return out

    def _pending_requests(self) -> list[ApprovalRequest]:
        return self._approvals.pending(self.resource_id)

    # ------------------------------------------------------------------ run records

    async def get_run(self, run_id: str) -> dict[str, Any] | None:
        """Return the record of run ``run_id`` (``None`` when unknown).

        ``{"runId", "entryAgent", "threadId", "prompt", "entryInvocationId", "status",
        "createdAt", "updatedAt", "lastSequence", "durable", "resumeCount"}``; ``status`` is
        ``running``, ``waiting_approval``, ``completed``, ``failed`` or ``cancelled``. The record
        exists once the run's stream has started. Without a durable store the most recent
        1,000 runs of this process are kept.

        Raises:
            SpecTypeError: ``run_id`` is not a string.
        """
        record = await self._runs.get(run_id_arg(run_id))
        return None if record is None else record.to_dict()

    async def list_runs(self, thread_id: str | None = None) -> list[dict[str, Any]]:
        """Return the records of every run (of one ``thread_id``), oldest first.

        Raises:
            SpecTypeError: ``thread_id`` is not a string or ``None``.
        """
        if thread_id is not None and not isinstance(thread_id, str):
            raise SpecTypeError(
                f"thread_id must be a string or None; got {type(thread_id).__name__}"
            )
        return [record.to_dict() for record in await self._runs.records(thread_id)]

    async def run_events(self, run_id: str, after_sequence: int = 0) -> list[dict[str, Any]]:
        """Return the logged events of a run with a sequence above ``after_sequence``, in order.

        Only durable runs have an event log (written at checkpoints: tool calls, approval gates,
        turn ends, the end of the run); without a durable store the list is empty.

        Raises:
            SpecTypeError: ``run_id`` is not a string or ``after_sequence`` not an integer.
            SpecValueError: ``after_sequence`` is negative, or the run is unknown
                (``run not found: <id>``).
        """
        run_id = run_id_arg(run_id)
        if isinstance(after_sequence, bool) or not isinstance(after_sequence, int):
            raise SpecTypeError(
                f"after_sequence must be an integer; got {type(after_sequence).__name__}"
            )
        if after_sequence < 0:
            raise SpecValueError(f"after_sequence must be 0 or more; got {after_sequence}")
        if await self._runs.get(run_id) is None:
            raise SpecValueError(f"run not found: {run_id}")
        return await self._runs.events(run_id, after_sequence)

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
        """Release the runtime's stores (connections, files). The runtime is unusable after.

        Runs recovered in the background are handed back to the fleet first: their leases are
        left expired, so another worker's recovery takes them at once.
        """
        await self._fleet.close()
        await self._compiled.kv.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(resource_id={self.resource_id!r}, agents={self.agent_names!r})"
