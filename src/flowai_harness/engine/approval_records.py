"""Approval records in the key-value store: the audit trail, and the index of pending approvals.

Every gate keeps an audit record ``approval:<id>`` (``{"request", "status", "runId"}``) in the
runtime tenant's namespace, written best effort at each step: ``pending``, then ``resolved``
(with the decision) or ``expired``. A durable run also keeps ``approval-pending:<id>``
(``{"request", "runId"}``) while its gate waits, so that any process sharing the store can list
its pending approvals (:func:`list_pending_in_store`) and answer them
(:func:`record_decision_in_store`); the waiting gate, or the run resumed later, reads the
decision back from the audit record (:func:`read_audit`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from flowai_harness.engine.approvals import OUTCOMES, Decision
from flowai_harness.errors import (
    ApprovalAlreadyResolvedError,
    ApprovalNotFoundError,
    StoreError,
)
from flowai_harness.ports import KeyValueStore, RunStore

__all__ = [
    "close_in_store",
    "decided_at",
    "decision_wire",
    "list_pending_in_store",
    "open_in_store",
    "read_audit",
    "read_shown_usage",
    "record_decision_in_store",
    "remove_pending",
    "write_pending",
]

log = logging.getLogger("flowai_harness.approvals")

_AUDIT_PREFIX = "approval:"
_PENDING_PREFIX = "approval-pending:"


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


async def read_audit(
    kv: KeyValueStore, tenant: str, approval_id: str
) -> tuple[Any, Decision | None]:
    """Return the payload an approval showed (``None`` if unknown) and its decision, if any.

    A store that cannot be read is logged and reads as unknown.
    """
    try:
        stored = await kv.get(tenant, f"{_AUDIT_PREFIX}{approval_id}")
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


async def read_shown_usage(kv: KeyValueStore, tenant: str, approval_id: str) -> Any:
    """Return the ``runUsage`` an approval showed (``None`` if unknown or unreadable)."""
    try:
        stored = await kv.get(tenant, f"{_AUDIT_PREFIX}{approval_id}")
    except asyncio.CancelledError:
        raise
    except Exception:  # read_audit has just logged the same failure
        return None
    request = stored.get("request") if isinstance(stored, dict) else None
    return request.get("runUsage") if isinstance(request, dict) else None


async def write_pending(
    kv: KeyValueStore, tenant: str, approval_id: str, request: Any, run_id: str | None
) -> None:
    """Index ``approval_id`` as waiting for a decision (``request`` in its wire form)."""
    await kv.put(tenant, f"{_PENDING_PREFIX}{approval_id}", {"request": request, "runId": run_id})


async def remove_pending(kv: KeyValueStore, tenant: str, approval_id: str) -> None:
    """Drop ``approval_id`` from the index of pending approvals."""
    await kv.delete(tenant, f"{_PENDING_PREFIX}{approval_id}")


#: how many times a compare-and-set on an approval record is retried when the record changed
#: under it but is still open (its gate wrote it again); a decided record is never retried
_CAS_ATTEMPTS = 8


def _is_open(stored: Any) -> bool:
    """Whether an audit record still takes a decision (missing, pending, or expired)."""
    if not isinstance(stored, dict):
        return True
    status = stored.get("status")
    return not isinstance(status, dict) or status.get("status") != "resolved"


async def open_in_store(
    kv: KeyValueStore, tenant: str, approval_id: str, record: dict[str, Any]
) -> Decision | None:
    """Write the ``pending`` audit record of a gate unless a decision is already stored.

    The step is a compare-and-set over what was read, so a decision written meanwhile (by
    another process, or by this one before the gate got this far) is never overwritten.

    Returns:
        The stored decision when the approval was already answered, else ``None``.
    """
    key = f"{_AUDIT_PREFIX}{approval_id}"
    for _ in range(_CAS_ATTEMPTS):
        stored = await kv.get(tenant, key)
        if isinstance(stored, dict) and not _is_open(stored):
            return _decision_of(stored.get("status"))
        if await kv.compare_and_set(tenant, key, stored, record):
            return None
    raise StoreError(f"approval {approval_id}: its record kept changing; could not open it")


async def close_in_store(
    kv: KeyValueStore, tenant: str, approval_id: str, record: dict[str, Any]
) -> bool:
    """Replace an open audit record by ``record`` (``resolved`` or ``expired``), once.

    Returns:
        Whether ``record`` was written; ``False`` when a decision was already stored.
    """
    key = f"{_AUDIT_PREFIX}{approval_id}"
    for _ in range(_CAS_ATTEMPTS):
        stored = await kv.get(tenant, key)
        if not _is_open(stored):
            return False
        if await kv.compare_and_set(tenant, key, stored, record):
            return True
    raise StoreError(f"approval {approval_id}: its record kept changing; could not close it")


async def record_decision_in_store(
    kv: KeyValueStore,
    tenant: str,
    approval_id: str,
    decision: Decision,
    local_request: dict[str, Any] | None = None,
) -> None:
    """Answer an approval through the durable store: a compare-and-set from ``pending`` to
    ``resolved``, so of two answers racing (in one process or in many) exactly one is taken.

    The waiting gate (this process or another one polling the store), or the run resumed later,
    applies it.

    Args:
        kv: The runtime's store.
        tenant: The tenant answering; it must own the approval.
        approval_id: The approval to answer.
        decision: The host's decision.
        local_request: The request (wire form) of a gate of this process that has registered
            the approval but not yet written it to the store; the answer then creates the
            record, and the gate finds it decided.

    Raises:
        ApprovalNotFoundError: the store has no approval with that id for this tenant.
        ApprovalAlreadyResolvedError: it was already answered or has expired.
    """
    key = f"{_AUDIT_PREFIX}{approval_id}"
    resolved = {
        "status": "resolved",
        "decision": decision_wire(decision),
        "decidedAt": int(time.time() * 1000),
    }
    for _ in range(_CAS_ATTEMPTS):
        stored = await kv.get(tenant, key)
        if not isinstance(stored, dict):
            if local_request is None:
                raise ApprovalNotFoundError(f"approval not found: {approval_id}")
            created = {"request": local_request, "status": resolved}
            if await kv.compare_and_set(tenant, key, None, created):
                await _wake_gate(kv, tenant, approval_id)
                return
            continue
        request = stored.get("request")
        if not isinstance(request, dict) or request.get("resourceId") != tenant:
            raise ApprovalNotFoundError(f"approval not found: {approval_id}")
        status = stored.get("status")
        if not isinstance(status, dict) or status.get("status") != "pending":
            raise ApprovalAlreadyResolvedError(f"approval already resolved: {approval_id}")
        if await kv.compare_and_set(tenant, key, stored, {**stored, "status": resolved}):
            await remove_pending(kv, tenant, approval_id)
            await _wake_gate(kv, tenant, approval_id)
            return
    raise ApprovalAlreadyResolvedError(f"approval already resolved: {approval_id}")


async def _wake_gate(kv: KeyValueStore, tenant: str, approval_id: str) -> None:
    """Signal ``approval:<id>`` so the gate waiting for it, in any process, wakes now."""
    if not isinstance(kv, RunStore):
        return
    try:
        await kv.notify(tenant, f"approval:{approval_id}")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the gate still finds the decision at its next look
        log.warning("could not signal approval %s: %s: %s", approval_id, type(exc).__name__, exc)


async def decided_at(kv: KeyValueStore, tenant: str, approval_id: str) -> int | None:
    """When the approval was answered (epoch ms), or ``None`` while it is not."""
    stored = await kv.get(tenant, f"{_AUDIT_PREFIX}{approval_id}")
    status = stored.get("status") if isinstance(stored, dict) else None
    if not isinstance(status, dict) or status.get("status") != "resolved":
        return None
    at = status.get("decidedAt")
    return at if isinstance(at, int) else 0


async def list_pending_in_store(kv: KeyValueStore, tenant: str) -> list[dict[str, Any]]:
    """Return the approvals of durable runs that wait for a decision (request wire form plus
    ``runId``), oldest key first."""
    if isinstance(kv, RunStore):  # one statement
        values = [value for _, value in await kv.scan(tenant, _PENDING_PREFIX)]
    else:
        keys = await kv.list_keys(tenant, _PENDING_PREFIX)
        values = await asyncio.gather(*(kv.get(tenant, key) for key in keys))
    out = []
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("request"), dict):
            out.append({**value["request"], "runId": value.get("runId")})
    return out
