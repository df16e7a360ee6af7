"""The approval gate shared by the tool channel and the plan channel.

:func:`wait_for_decision` registers the pending approval before anything is emitted (so an
immediate answer always finds it), emits ``approval-required``, waits, and emits
``approval-decision``. Each step is recorded as an audit record ``approval:<id>`` in the
runtime's key-value store (engine.md §8.1), best effort: a store failure is logged, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Literal

from flowai_harness.engine.approvals import Decision
from flowai_harness.engine.context import AgentScope, RunContext
from flowai_harness.events import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalRequired,
    RuntimeEvent,
)

__all__ = ["GateClosed", "wait_for_decision"]

log = logging.getLogger("flowai_harness.approvals")


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
        asyncio.CancelledError: the run was cancelled while waiting; the approval has expired.
    """
    run = scope.run
    request, future = run.approvals.register(
        {
            "kind": kind,
            "target": target,
            "payload": payload,
            "resource_id": run.tenant,
            "thread_id": scope.thread_id,
            "correlation_id": correlation_id,
        }
    )
    try:
        await _audit(run, request, {"status": "pending"})
        await run.sink.emit(ApprovalRequired(request))
        for event in then_emit:
            await run.sink.emit(event)
        decision = await future
    except asyncio.CancelledError:
        run.approvals.expire(request.id)
        await _audit(run, request, {"status": "expired", "reason": "cancelled"}, final=True)
        raise
    except ConnectionError:
        run.approvals.expire(request.id)
        await _audit(run, request, {"status": "expired", "reason": "host_shutdown"})
        raise GateClosed(request.id) from None
    await _audit(run, request, {"status": "resolved", "decision": _decision_wire(decision)})
    await run.sink.emit(
        ApprovalDecision(request.id, decision.outcome, decision.feedback, decision.partial)
    )
    return decision


def _decision_wire(decision: Decision) -> dict[str, Any]:
    outcome: dict[str, Any] = {"outcome": decision.outcome}
    if decision.outcome == "revise":
        outcome["partial"] = decision.partial
    return {"outcome": outcome, "feedback": decision.feedback}


async def _audit(
    run: RunContext, request: ApprovalRequest, status: dict[str, Any], *, final: bool = False
) -> None:
    try:
        await run.runtime.kv.put(
            run.tenant, f"approval:{request.id}", {"request": request.to_dict(), "status": status}
        )
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
