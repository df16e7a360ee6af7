"""Approval gates: rule evaluation, pending approvals, and the host's decisions.

A gate registers its pending approval with the :class:`ApprovalBroker` *before* it emits
``approval-required``, so a decision given immediately always finds it. ``respond`` may be called
from any task (or thread); it wakes the waiting gate on the gate's own loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flowai_harness.errors import (
    ApprovalAlreadyResolvedError,
    ApprovalError,
    ApprovalNotFoundError,
)
from flowai_harness.events import ApprovalRequest

__all__ = ["OUTCOMES", "ApprovalBroker", "Decision", "approval_required"]

log = logging.getLogger("flowai_harness.approvals")

Outcome = Literal["approve", "reject", "revise"]
OUTCOMES: tuple[Outcome, ...] = ("approve", "reject", "revise")


@dataclass(frozen=True, slots=True)
class Decision:
    """The host's answer to one approval request."""

    outcome: Outcome
    feedback: str | None = None
    partial: Any = None


@dataclass(slots=True)
class _Pending:
    request: ApprovalRequest
    future: asyncio.Future[Decision]
    loop: asyncio.AbstractEventLoop


def approval_required(
    rule: Mapping[str, Any],
    predicates: Mapping[str, Callable[..., Any]],
    *,
    kind: str,
    target: str,
    args: Any,
    tenant: str,
) -> bool:
    """Evaluate an approval rule; dynamic predicates fail closed (error or non-bool: required)."""
    rule_kind = rule.get("kind")
    if rule_kind == "never":
        return False
    if rule_kind != "dynamic":
        return True
    predicate = predicates.get(rule.get("value", ""))
    if predicate is None:
        return True
    try:
        answer = predicate(args, {"kind": kind, "target": target, "tenant": tenant})
    except Exception as exc:
        log.warning("approval predicate %r raised %s: %s; approval required",
                    rule.get("value"), type(exc).__name__, exc)
        return True
    if not isinstance(answer, bool):
        if asyncio.iscoroutine(answer):
            answer.close()
        log.warning("approval predicate %r returned %s, not a bool; approval required",
                    rule.get("value"), type(answer).__name__)
        return True
    return answer


class ApprovalBroker:
    """Pending approvals of one runtime, and the ids already resolved."""

    __slots__ = ("_pending", "_resolved")

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}
        self._resolved: set[str] = set()

    def register(self, request_fields: dict[str, Any]) -> tuple[ApprovalRequest, asyncio.Future[Decision]]:
        """Register a new pending approval (fresh UUID id) and return it with its future."""
        loop = asyncio.get_running_loop()
        request = ApprovalRequest(id=str(uuid.uuid4()), **request_fields)
        future: asyncio.Future[Decision] = loop.create_future()
        self._pending[request.id] = _Pending(request, future, loop)
        return request, future

    def expire(self, approval_id: str) -> None:
        """Drop a pending approval that can no longer be answered (cancelled run, closed sink)."""
        if self._pending.pop(approval_id, None) is not None:
            self._resolved.add(approval_id)

    def pending(self, tenant: str | None = None) -> list[ApprovalRequest]:
        """Return the approvals waiting for a decision (optionally of one tenant)."""
        return [p.request for p in self._pending.values()
                if tenant is None or p.request.resource_id == tenant]

    def respond(self, tenant: str, approval_id: str, decision: Decision) -> None:
        """Resolve a pending approval and wake its gate.

        Raises:
            ApprovalNotFoundError: no pending approval has that id in this tenant.
            ApprovalAlreadyResolvedError: the id was already answered or expired.
        """
        pending = self._pending.get(approval_id)
        if pending is None:
            if approval_id in self._resolved:
                raise ApprovalAlreadyResolvedError(f"approval already resolved: {approval_id}")
            raise ApprovalNotFoundError(f"approval not found: {approval_id}")
        if pending.request.resource_id != tenant:
            raise ApprovalNotFoundError(f"approval not found: {approval_id}")
        del self._pending[approval_id]
        self._resolved.add(approval_id)
        future = pending.future

        def wake() -> None:
            if not future.done():
                future.set_result(decision)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is pending.loop:
            wake()
        elif pending.loop.is_closed():
            raise ApprovalError(f"approval {approval_id} belongs to a run that has ended")
        else:
            pending.loop.call_soon_threadsafe(wake)
