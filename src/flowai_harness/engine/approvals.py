"""Approval rules, pending approvals, and the host's decisions.

A rule is :class:`Never`, :class:`Always` or :class:`Predicate` (the spec's ``never``,
``always`` and ``dynamic`` rules, with the predicate looked up once). Which rule applies is
decided once, when the runtime is compiled (:mod:`flowai_harness.engine.compiled`), in the
spec's precedence order, most specific last:

* tools channel: runtime floor ``approval_policies.tools`` (or, when ``define_runtime`` got no
  ``approval_policies``, the defaults patched by the coordinator's ``approval=``) -> the agent's
  patch -> the bound Python tool's own rule -> ``approval_overrides.tools[agent][tool]``;
* plans channel: floor ``plans`` -> the agent's patch ``plans``, for the agent calling
  ``executePlan``.

A ``"default"`` channel in a ``define_*`` helper's ``approval=`` is dropped, so it inherits.
This module evaluates the resulting rule for one call (:func:`approval_required`) and keeps the
pending approvals (:class:`ApprovalBroker`).

A gate registers its pending approval with the broker *before* it emits ``approval-required``,
so a decision given immediately always finds it. ``respond`` may be called from any task (or
thread); it wakes the waiting gate on the gate's own loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from flowai_harness.engine.jsonvalues import json_copy
from flowai_harness.engine.user_code import describe_failure, is_user_failure
from flowai_harness.errors import (
    ApprovalAlreadyResolvedError,
    ApprovalError,
    ApprovalNotFoundError,
)
from flowai_harness.events import ApprovalRequest

__all__ = [
    "ALWAYS",
    "NEVER",
    "OUTCOMES",
    "Always",
    "ApprovalBroker",
    "ApprovalRule",
    "Decision",
    "Never",
    "Outcome",
    "Predicate",
    "approval_required",
]

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


@dataclass(frozen=True, slots=True)
class Never:
    """A rule under which calls never wait for a human decision."""


@dataclass(frozen=True, slots=True)
class Always:
    """A rule under which every call waits for a human decision."""


@dataclass(frozen=True, slots=True)
class Predicate:
    """A rule decided per call by a registered predicate (the wire's ``dynamic`` rule)."""

    #: the id the rule names (``{"kind": "dynamic", "value": predicate_id}``)
    predicate_id: str
    #: the host's ``(args, ctx) -> bool``; ``True`` means approval is required
    predicate: Callable[[Any, dict[str, Any]], Any] = field(compare=False)


#: An approval rule as the engine holds it, resolved once when the runtime is compiled.
ApprovalRule = Never | Always | Predicate
NEVER = Never()
ALWAYS = Always()


def approval_required(
    rule: ApprovalRule,
    *,
    kind: Literal["tool", "plan"],
    target: str,
    args: Any,
    tenant: str,
) -> bool:
    """Evaluate one approval rule for one tool call or plan execution.

    :class:`Never` is not required, :class:`Always` is. A :class:`Predicate` is called
    synchronously as ``predicate(args, {"kind", "target", "tenant"})``; ``True`` means approval
    is required. The predicate gets a deep copy of ``args``, so it cannot change what the tool
    or the dispatcher later receives. A predicate that fails fails closed (approval required):
    one that raises (anything, ``SystemExit`` included), or one that returns something other
    than a ``bool`` (a coroutine included; it is closed unawaited). The reason is logged as a
    warning on the ``flowai_harness.approvals`` logger.

    Args:
        rule: The compiled rule.
        kind: ``"tool"`` or ``"plan"``.
        target: The tool name, or the plan id.
        args: The tool arguments, or the whole stored plan.
        tenant: The runtime tenant (resource id).

    Returns:
        Whether the call must wait for a human decision.
    """
    match rule:
        case Never():
            return False
        case Always():
            return True
        case Predicate(predicate_id, predicate):
            pass
    try:
        answer = predicate(json_copy(args), {"kind": kind, "target": target, "tenant": tenant})
    except BaseException as exc:  # SystemExit and friends too: the host must survive
        if not is_user_failure(exc):
            raise
        log.warning(
            "approval predicate %r raised %s; approval required",
            predicate_id,
            describe_failure(exc),
        )
        return True
    if not isinstance(answer, bool):
        if asyncio.iscoroutine(answer):
            answer.close()
        log.warning(
            "approval predicate %r returned %s, not a bool; approval required",
            predicate_id,
            type(answer).__name__,
        )
        return True
    return answer


class ApprovalBroker:
    """Pending approvals of one runtime, and the ids already resolved.

    Each id takes exactly one decision: once answered (or expired because its run ended) it is
    remembered as resolved, and answering it again raises
    :class:`~flowai_harness.errors.ApprovalAlreadyResolvedError`.
    """

    __slots__ = ("_pending", "_resolved")

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}
        self._resolved: set[str] = set()

    def register(
        self, request_fields: dict[str, Any], approval_id: str | None = None
    ) -> tuple[ApprovalRequest, asyncio.Future[Decision]]:
        """Register a pending approval and return it with the future its gate awaits.

        Args:
            request_fields: The :class:`~flowai_harness.events.ApprovalRequest` fields other
                than ``id``.
            approval_id: The id of an approval a resumed run waits for again; a fresh UUID
                when ``None``.

        Returns:
            The request (to emit as ``approval-required``) and the future the gate awaits.
        """
        loop = asyncio.get_running_loop()
        request = ApprovalRequest(id=approval_id or str(uuid.uuid4()), **request_fields)
        self._resolved.discard(request.id)
        future: asyncio.Future[Decision] = loop.create_future()
        self._pending[request.id] = _Pending(request, future, loop)
        return request, future

    def expire(self, approval_id: str) -> None:
        """Drop a pending approval that can no longer be answered (cancelled run, closed sink)."""
        if self._pending.pop(approval_id, None) is not None:
            self._resolved.add(approval_id)

    def release(self, approval_id: str) -> None:
        """Drop the local waiter of an approval that stays pending elsewhere (a suspended run's
        approval lives on in the durable store, where another process may answer it)."""
        self._pending.pop(approval_id, None)

    def pending(self, tenant: str | None = None) -> list[ApprovalRequest]:
        """Return the approvals waiting for a decision (optionally of one tenant)."""
        return [
            p.request
            for p in list(self._pending.values())
            if tenant is None or p.request.resource_id == tenant
        ]

    def waiting(self, tenant: str, approval_id: str) -> ApprovalRequest | None:
        """Return the request of ``approval_id`` if a gate of this process waits for it."""
        pending = self._pending.get(approval_id)
        if pending is None or pending.request.resource_id != tenant:
            return None
        return pending.request

    def respond(self, tenant: str, approval_id: str, decision: Decision) -> None:
        """Resolve a pending approval and wake its gate.

        Safe to call from any task or thread: the gate is woken on its own event loop.

        Args:
            tenant: The tenant of the runtime answering; it must own the approval.
            approval_id: The ``data.id`` of the ``approval-required`` event.
            decision: The host's decision.

        Raises:
            ApprovalNotFoundError: no pending approval has that id in this tenant.
            ApprovalAlreadyResolvedError: the id was already answered or expired.
            ApprovalError: the run waiting for it has ended with its event loop.
        """
        pending = self._pending.get(approval_id)
        if pending is None:
            if approval_id in self._resolved:
                raise ApprovalAlreadyResolvedError(f"approval already resolved: {approval_id}")
            raise ApprovalNotFoundError(f"approval not found: {approval_id}")
        if pending.request.resource_id != tenant:
            raise ApprovalNotFoundError(f"approval not found: {approval_id}")
        # pop, not del: another thread (or the gate expiring) may have won the race
        if self._pending.pop(approval_id, None) is None:
            raise ApprovalAlreadyResolvedError(f"approval already resolved: {approval_id}")
        self._resolved.add(approval_id)
        future = pending.future

        def wake() -> None:
            if not future.done():
                future.set_result(decision)

        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is pending.loop:
            wake()
            return
        try:
            pending.loop.call_soon_threadsafe(wake)
        except RuntimeError as exc:  # the loop is closed
            raise ApprovalError(
                f"approval {approval_id} belongs to a run that has ended with its event loop"
            ) from exc
