"""The approval gate shared by the tool channel and the plan channel.

:func:`wait_for_decision` is the live algorithm: register the pending approval before anything
is emitted (so an immediate answer always finds it), emit ``approval-required``, wait, and emit
``approval-decision``. Each step is recorded as an audit record ``approval:<id>`` in the
runtime's key-value store (:mod:`flowai_harness.engine.approval_records`) with a
compare-and-set, best effort: a store failure is logged, never fatal.

The run's journal (:mod:`flowai_harness.engine.journal`) is told about each step. A durable
run's journal writes the gate to the store before the request is shown, indexes it while it
waits, also takes a decision made by another process, and keeps the approval pending in the
store when the stream is dropped (suspended, not cancelled).

A resumed run that reaches a gate it had opened takes :func:`_resume` instead: it reuses the
approval id; a decision already in the store is applied at once (``approval-decision``
follows, nothing waits); otherwise the gate shows its ``approval-required`` again, with the
same id and its original sequence number, and waits as usual. If what the gate would show now
differs from what the approval showed (a plan stored again meanwhile), the old approval does
not apply: a new one is asked for, and from there on the run is live (its events are numbered
after the logged ones).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from flowai_harness.engine.approval_records import (
    close_in_store,
    decision_wire,
    open_in_store,
    read_audit,
    read_shown_usage,
)
from flowai_harness.engine.approvals import Decision
from flowai_harness.engine.context import AgentScope, RunContext
from flowai_harness.engine.journal import GateKind
from flowai_harness.events import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalRequired,
    RuntimeEvent,
    json_copy,
)

__all__ = ["GateClosed", "wait_for_decision"]

log = logging.getLogger("flowai_harness.approvals")


class GateClosed(Exception):
    """The consumer was gone before the approval request could be shown."""


@dataclass(frozen=True, slots=True)
class _Gate:
    """One approval asked for by one tool call or plan execution."""

    scope: AgentScope
    kind: GateKind
    fields: dict[str, Any]
    then_emit: Sequence[RuntimeEvent]

    @property
    def run(self) -> RunContext:
        return self.scope.run


async def wait_for_decision(
    scope: AgentScope,
    *,
    kind: GateKind,
    target: str,
    payload: Any,
    correlation_id: str,
    then_emit: Sequence[RuntimeEvent] = (),
) -> Decision:
    """Ask the host for a decision and wait for it.

    Args:
        scope: The agent invocation that needs the approval.
        kind: ``"tool"`` or ``"plan"``.
        target: The tool name or plan id.
        payload: The tool arguments or the stored plan.
        correlation_id: The tool call id or the plan id.
        then_emit: Events to emit right after ``approval-required`` (the plan gate's
            ``draft -> pending_approval`` status change).

    Returns:
        The host's decision (the ``approval-decision`` event has been emitted).

    Raises:
        GateClosed: the stream's consumer is gone; the approval has expired.
        asyncio.CancelledError: the run was cancelled while waiting; the approval has expired
            (a suspended durable run leaves it pending in the store).
    """
    fields = {
        "kind": kind,
        "target": target,
        "payload": payload,
        "resource_id": scope.run.tenant,
        "thread_id": scope.thread_id,
        "correlation_id": correlation_id,
        "run_usage": scope.run.usage.to_dict(),
    }
    gate = _Gate(scope, kind, fields, then_emit)
    approval_id = scope.journal.recorded_gate(kind)
    wait = _ask(gate) if approval_id is None else _resume(gate, approval_id)
    return await scope.run.runtime.observer.approval(scope, kind, target, wait)


async def _ask(gate: _Gate, resumed_id: str | None = None) -> Decision:
    """Register, record and show the request, then wait for the host's decision."""
    run = gate.run
    journal = run.journal
    request, future = run.approvals.register(gate.fields, resumed_id)
    if resumed_id is None:
        gate.scope.journal.record_gate(gate.kind, request.id)
    try:
        await journal.set_status("waiting_approval")  # before anyone can answer it
        await _audit(run, request, {"status": "pending"})
        # A resumed gate that waits again shows its request again, to the new consumer.
        with journal.redelivering() if resumed_id is not None else nullcontext():
            await _show(gate, request)
        await journal.checkpoint(record=True)
        decision = await journal.decision(request.id, future)
    except asyncio.CancelledError:
        if not _release_suspended(run, request):
            await _expire(run, request, "cancelled", final=True)
        raise
    except ConnectionError:
        if _release_suspended(run, request):
            raise
        await _expire(run, request, "host_shutdown")
        raise GateClosed(request.id) from None
    run.approvals.expire(request.id)  # a decision from the store: no local answer is taken
    await _audit(run, request, {"status": "resolved", "decision": decision_wire(decision)})
    return await _decided(run, request, decision)


async def _resume(gate: _Gate, approval_id: str) -> Decision:
    """A resumed run back at a gate it had opened before it stopped."""
    run = gate.run
    shown, decided = await read_audit(run.runtime.kv, run.tenant, approval_id)
    if shown is not None and shown != json_copy(gate.fields["payload"]):
        # What the reviewer saw has changed since (a plan stored again while the run was
        # stopped): the old approval does not cover it. The new request is new history.
        run.journal.go_live()
        return await _ask(gate)
    # The request shows again as it was shown: with the usage the run had then.
    gate.fields["run_usage"] = await read_shown_usage(run.runtime.kv, run.tenant, approval_id)
    if decided is None:
        return await _ask(gate, approval_id)
    # Decided while the run was stopped. The first stream delivered the request already; the
    # sink numbers these events again and skips them.
    request = ApprovalRequest(id=approval_id, **gate.fields)
    await _show(gate, request)
    return await _decided(run, request, decided)


async def _show(gate: _Gate, request: ApprovalRequest) -> None:
    sink = gate.run.sink
    await sink.emit(ApprovalRequired(request))
    for event in gate.then_emit:
        await sink.emit(event)


async def _decided(run: RunContext, request: ApprovalRequest, decision: Decision) -> Decision:
    await run.journal.set_status("running")
    await run.sink.emit(
        ApprovalDecision(request.id, decision.outcome, decision.feedback, decision.partial)
    )
    return decision


def _release_suspended(run: RunContext, request: ApprovalRequest) -> bool:
    """Let go of the approval of a suspended run, which stays pending in the durable store
    where another process may answer it; say whether the run was suspended."""
    if not run.journal.suspended:
        return False
    run.approvals.release(request.id)
    return True


async def _expire(
    run: RunContext, request: ApprovalRequest, reason: str, *, final: bool = False
) -> None:
    run.approvals.expire(request.id)
    await _audit(run, request, {"status": "expired", "reason": reason}, final=final)


async def _audit(
    run: RunContext, request: ApprovalRequest, status: dict[str, Any], *, final: bool = False
) -> None:
    """Record a step of the gate; every step is a compare-and-set, so a decision already in
    the store (answered from another process, or before this gate wrote ``pending``) is never
    overwritten: the gate then takes that decision while it waits."""
    record: dict[str, Any] = {"request": request.to_dict(), "status": status}
    if run.run_id is not None:
        record["runId"] = run.run_id
    kv = run.runtime.kv
    try:
        if status["status"] == "pending":
            if await open_in_store(kv, run.tenant, request.id, record) is None:
                await run.journal.approval_pending(request.id, record["request"])
        else:
            await close_in_store(kv, run.tenant, request.id, record)
            await run.journal.approval_closed(request.id)
    except asyncio.CancelledError:
        # While recording the expiry of a cancelled run, a second cancellation must not prolong
        # it (the caller re-raises the first); anywhere else, cancellation propagates.
        if not final:
            raise
    except Exception as exc:
        log.warning(
            "could not record approval %s as %s: %s: %s",
            request.id,
            status["status"],
            type(exc).__name__,
            exc,
        )
