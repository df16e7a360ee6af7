"""The approval gate shared by the tool channel and the plan channel.

:func:`wait_for_decision` registers the pending approval before anything is emitted (so an
immediate answer always finds it), emits ``approval-required``, waits, and emits
``approval-decision``. Each step is recorded as an audit record ``approval:<id>``
(``{"request", "status", "runId"}``) in the runtime's key-value store (engine.md §8.1), best
effort: a store failure is logged, never fatal.

Durable runs (DESIGN.md D6; the runtime's store is durable, see
:mod:`flowai_harness.engine.runlog`) add:

* the gate's approval id is journaled and written before the request is shown, and an index
  record ``approval-pending:<id>`` (``{"request", "runId"}``) exists while it waits;
* while it waits, the gate also reads its audit record, every ``poll_secs`` at first and backing
  off to every ``8 * poll_secs``: a decision that :func:`record_decision_in_store` wrote from
  another process wakes it;
* when the stream is dropped (suspended, not cancelled) the approval stays pending in the store;
* a resumed run reaching a journaled gate reuses its approval id: a decision already in the
  store is applied at once (``approval-decision`` follows, nothing waits); otherwise the gate
  shows its ``approval-required`` again, with the same id and its original sequence number,
  and waits as usual. If what the gate would show now differs from what the approval showed
  (a plan stored again meanwhile), the old approval does not apply: a new one is asked for,
  and from there on the run is live (its events are numbered after the logged ones).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Literal

from flowai_harness.engine.approvals import OUTCOMES, Decision
from flowai_harness.engine.context import AgentScope, RunContext
from flowai_harness.errors import ApprovalAlreadyResolvedError, ApprovalNotFoundError
from flowai_harness.events import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalRequired,
    RuntimeEvent,
    json_copy,
)
from flowai_harness.ports import KeyValueStore

__all__ = [
    "GateClosed",
    "list_pending_in_store",
    "record_decision_in_store",
    "wait_for_decision",
]

log = logging.getLogger("flowai_harness.approvals")

_AUDIT_PREFIX = "approval:"
_PENDING_PREFIX = "approval-pending:"
#: a waiting gate reads its audit record every ``poll_secs``, backing off to this many times that
_POLL_BACKOFF = 8


class GateClosed(Exception):
    """The consumer was gone before the approval request could be shown."""


async def wait_for_decision(
    scope: AgentScope,
    *,
    kind: Literal["tool", "plan"],
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
    run = scope.run
    fields = {
        "kind": kind,
        "target": target,
        "payload": payload,
        "resource_id": run.tenant,
        "thread_id": scope.thread_id,
        "correlation_id": correlation_id,
    }
    resumed_id = scope.journal.recorded_gate(kind) if scope.journal is not None else None
    again = resumed_id is not None
    if resumed_id is not None:
        shown, stored = await _read_audit(run, resumed_id)
        if shown is not None and shown != json_copy(payload) and run.journal is not None:
            # What the reviewer saw has changed since (a plan stored again while the run was
            # stopped): the old approval does not cover it. The new request is new history.
            run.journal.recorder.go_live()
            resumed_id = None
            again = False
        elif stored is not None:
            request = ApprovalRequest(id=resumed_id, **fields)
            return await _replay_decided(run, request, stored, then_emit)
    request, future = run.approvals.register(fields, resumed_id)
    if scope.journal is not None and resumed_id is None:
        scope.journal.record_gate(kind, request.id)
    try:
        if run.journal is not None:  # the gate is in the store before anyone can answer it
            await run.journal.set_status("waiting_approval")
        await _audit(run, request, {"status": "pending"})
        await _show(run, request, then_emit, again=again)
        if run.journal is not None:
            await run.journal.checkpoint(record=True)
        decision = await _decision(run, request, future)
    except asyncio.CancelledError:
        if _suspended(run):
            run.approvals.release(request.id)
            raise
        run.approvals.expire(request.id)
        await _audit(run, request, {"status": "expired", "reason": "cancelled"}, final=True)
        raise
    except ConnectionError:
        if _suspended(run):
            run.approvals.release(request.id)
            raise
        run.approvals.expire(request.id)
        await _audit(run, request, {"status": "expired", "reason": "host_shutdown"})
        raise GateClosed(request.id) from None
    await _audit(run, request, {"status": "resolved", "decision": decision_wire(decision)})
    if run.journal is not None:
        await run.journal.set_status("running")
    await run.sink.emit(
        ApprovalDecision(request.id, decision.outcome, decision.feedback, decision.partial)
    )
    return decision


def _suspended(run: RunContext) -> bool:
    return run.journal is not None and run.journal.suspended


async def _show(
    run: RunContext, request: ApprovalRequest, then_emit: Sequence[RuntimeEvent], *, again: bool
) -> None:
    """Emit the request; a resumed gate that must wait shows it again to the new consumer."""
    recorder = run.journal.recorder if again and run.journal is not None else None
    if recorder is not None:
        recorder.redeliver = True
    try:
        await run.sink.emit(ApprovalRequired(request))
        for event in then_emit:
            await run.sink.emit(event)
    finally:
        if recorder is not None:
            recorder.redeliver = False


async def _decision(
    run: RunContext, request: ApprovalRequest, future: asyncio.Future[Decision]
) -> Decision:
    """Wait for the local answer; a durable run also watches the store for a remote one."""
    journal = run.journal
    if journal is None:
        return await future
    delay = journal.poll_secs
    while True:
        done, _ = await asyncio.wait((future,), timeout=delay)
        if done:
            return future.result()
        stored = await _stored_decision(run, request.id)
        if stored is not None and not future.done():
            run.approvals.expire(request.id)
            return stored
        # Quick answers are seen quickly; a long wait costs the store little.
        delay = min(delay * 2, journal.poll_secs * _POLL_BACKOFF)


async def _replay_decided(
    run: RunContext,
    request: ApprovalRequest,
    decision: Decision,
    then_emit: Sequence[RuntimeEvent],
) -> Decision:
    """A resumed gate whose decision was recorded while the run was stopped."""
    # The first stream delivered these already; the sink numbers them and skips them.
    await run.sink.emit(ApprovalRequired(request))
    for event in then_emit:
        await run.sink.emit(event)
    if run.journal is not None:
        await run.journal.set_status("running")
    await run.sink.emit(
        ApprovalDecision(request.id, decision.outcome, decision.feedback, decision.partial)
    )
    return decision


# --------------------------------------------------------------------------- audit records


def decision_wire(decision: Decision) -> dict[str, Any]:
    """The stored form of a decision: ``{"outcome": {"outcome", "partial"?}, "feedback"}``."""
    outcome: dict[str, Any] = {"outcome": decision.outcome}
    if decision.outcome == "revise":
        outcome["partial"] = decision.partial
    return {"outcome": outcome, "feedback": decision.feedback}


def _decision_of(status: Any) -> Decision | None:
    """The decision of a ``resolved`` audit status, or ``None`` for anything else."""
    if not isinstance(status, dict) or status.get("status") != "resolved":
        return None
    wire = status.get("decision")
    if not isinstance(wire, dict) or not isinstance(wire.get("outcome"), dict):
        return None
    outcome: dict[str, Any] = wire["outcome"]
    name = outcome.get("outcome")
    if name not in OUTCOMES:
        return None
    feedback = wire.get("feedback")
    return Decision(name, feedback if isinstance(feedback, str) else None, outcome.get("partial"))


async def _read_audit(run: RunContext, approval_id: str) -> tuple[Any, Decision | None]:
    """The payload an approval showed (``None`` if unknown) and its decision, if resolved."""
    try:
        stored = await run.runtime.kv.get(run.tenant, f"{_AUDIT_PREFIX}{approval_id}")
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("could not read approval %s: %s: %s", approval_id, type(exc).__name__, exc)
        return None, None
    if not isinstance(stored, dict):
        return None, None
    request = stored.get("request")
    shown = request.get("payload") if isinstance(request, dict) else None
    return shown, _decision_of(stored.get("status"))


async def _stored_decision(run: RunContext, approval_id: str) -> Decision | None:
    return (await _read_audit(run, approval_id))[1]


async def _audit(
    run: RunContext, request: ApprovalRequest, status: dict[str, Any], *, final: bool = False
) -> None:
    kv = run.runtime.kv
    record: dict[str, Any] = {"request": request.to_dict(), "status": status}
    if run.run_id is not None:
        record["runId"] = run.run_id
    try:
        await kv.put(run.tenant, f"{_AUDIT_PREFIX}{request.id}", record)
        if run.journal is not None:
            pending_key = f"{_PENDING_PREFIX}{request.id}"
            if status["status"] == "pending":
                index = {"request": record["request"], "runId": run.run_id}
                await kv.put(run.tenant, pending_key, index)
            else:
                await kv.delete(run.tenant, pending_key)
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


async def record_decision_in_store(
    kv: KeyValueStore, tenant: str, approval_id: str, decision: Decision
) -> None:
    """Answer an approval that no gate of this process waits for, through the durable store.

    The waiting gate (another process polling the store), or the run resumed later, applies it.

    Raises:
        ApprovalNotFoundError: the store has no approval with that id for this tenant.
        ApprovalAlreadyResolvedError: it was already answered or has expired.
    """
    key = f"{_AUDIT_PREFIX}{approval_id}"
    stored = await kv.get(tenant, key)
    if not isinstance(stored, dict):
        raise ApprovalNotFoundError(f"approval not found: {approval_id}")
    request = stored.get("request")
    if not isinstance(request, dict) or request.get("resourceId") != tenant:
        raise ApprovalNotFoundError(f"approval not found: {approval_id}")
    status = stored.get("status")
    if not isinstance(status, dict) or status.get("status") != "pending":
        raise ApprovalAlreadyResolvedError(f"approval already resolved: {approval_id}")
    resolved = {"status": "resolved", "decision": decision_wire(decision)}
    await kv.put(tenant, key, {**stored, "status": resolved})
    await kv.delete(tenant, f"{_PENDING_PREFIX}{approval_id}")


async def list_pending_in_store(kv: KeyValueStore, tenant: str) -> list[dict[str, Any]]:
    """Return the approvals of durable runs that wait for a decision (request wire form plus
    ``runId``), oldest key first."""
    keys = await kv.list_keys(tenant, _PENDING_PREFIX)
    values = await asyncio.gather(*(kv.get(tenant, key) for key in keys))
    out = []
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("request"), dict):
            out.append({**value["request"], "runId": value.get("runId")})
    return out
