"""Plans: ``storePlan`` / ``getPlan`` / ``executePlan``, the status machine and the dispatcher.

The stored plan and its moves live in :mod:`~flowai_harness.engine.plan_store`, the
dispatcher call in :mod:`~flowai_harness.engine.plan_dispatch`; this module is ``executePlan``.

Plans are stored through the key-value port under ``plan:<planId>`` in the runtime tenant's
namespace; a plan whose ``owner`` is another tenant is treated as missing.

Status machine. Stored statuses move only along :data:`TRANSITIONS`
(``draft -> approved -> executing -> executed | failed``); :func:`transition` is the one place
that changes a status. A dispatch cut short by the death of its worker is never left
``executing``: the run, resumed by another worker, finds its own claim of an older lease epoch
and moves the plan to ``needs_reconciliation`` (with a ``plan-status-change`` event); the host
then says what happened with ``Runtime.settle_plan`` (``executed`` or ``failed``).
``pending_approval`` is a display label used in events while a plan gate
waits; it is never stored (the plan stays ``draft``).

Events. Every move emits a ``plan-status-change`` event, including ``approved -> executing``
and ``executing -> executed | failed``. The reference emits nothing for those three; we emit
at every transition (docs/decisions.md). Storing a plan (``-> draft``)
is not a transition between statuses and emits only the ``storePlan`` tool result. When a plan
fails, the reason is in the ``executePlan`` tool result event (``{"error": "Dispatch failed:
..."}``), right after the ``executing -> failed`` status event; the status event carries no
reason, which keeps it inside the reference vocabulary. Each tool call and result is reported
once, not twice as the reference did.

Display aliases. A ``PlanSpec``'s display aliases are presentation-only: they never change a
stored status or the ``from`` / ``to`` values of an event. They are added to
``plan-status-change`` data as ``fromAlias`` / ``toAlias`` for statuses that have one (the keys
are omitted otherwise, so a plan without aliases produces exactly the reference wire form).

At most once. Re-storing a plan id replaces it with a new draft that needs its own approval (an
``executed`` or ``failed`` plan included: each stored version is dispatched at most once); only
an ``executing`` or ``needs_reconciliation`` plan cannot be replaced (docs/decisions.md). Every
move, and storing a new version, is a compare-and-set on the store over the plan as it was read
(under a per-plan lock that spares calls of one process the contention), so a move never
overwrites what another call wrote meanwhile: of concurrent ``executePlan`` calls, in one
process or in several sharing a durable store, exactly one dispatches; ``executePlan`` on an
``executing``, ``executed``, ``failed`` or ``needs_reconciliation`` plan is refused. A
dispatcher that declares an ``idempotency_key`` parameter gets a key naming the stored version
it dispatches. An approval applies to the plan content the reviewer saw: if the plan was stored
again while its gate waited, the approval does not carry over to the new content.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowai_harness.engine.approvals import approval_required
from flowai_harness.engine.context import AgentScope, RunContext, ToolCall
from flowai_harness.engine.gates import GateClosed, wait_for_decision
from flowai_harness.engine.plan_dispatch import dispatch
from flowai_harness.engine.plan_store import (
    NEEDS_RECONCILIATION,
    PENDING_APPROVAL,
    TRANSITIONS,
    AliasedPlanStatusChange,
    InvalidTransition,
    get_plan,
    idempotency_key,
    invalid_state,
    load,
    move,
    status_change,
    store_plan,
    transition,
)
from flowai_harness.ports import ToolOutcome, error_outcome

__all__ = [
    "NEEDS_RECONCILIATION",
    "PENDING_APPROVAL",
    "TRANSITIONS",
    "AliasedPlanStatusChange",
    "InvalidTransition",
    "execute_plan",
    "get_plan",
    "idempotency_key",
    "store_plan",
    "transition",
]


async def execute_plan(call: ToolCall, args: Any) -> ToolOutcome:
    """``executePlan``: pass the plan gate if needed, then dispatch the approved plan once.

    A ``draft`` plan is approved automatically when the agent's plans rule does not require
    approval; otherwise the gate waits for the host (approve: continue; reject: error result,
    plan stays draft; revise: a ``should_revise`` result carrying the reviewer's feedback and
    partial). An ``approved`` plan runs without a gate. ``executing``, ``executed`` and
    ``failed`` plans are refused, so an approved plan is dispatched at most once.

    Args:
        call: The dispatch of this tool call.
        args: ``{"planId"}``.

    Returns:
        The dispatch result ``{"entitiesAffected", "summary", "details", "resolvedActions"}``,
        the revise result, or an error result.
    """
    scope = call.scope
    run = scope.run
    plan_id: str = args["planId"]
    async with run.plan_locks.hold(plan_id):
        plan = await load(run, plan_id)
        if plan is None:
            return error_outcome(f"plan not found: {plan_id}")
        gated = plan["status"] == "draft" and _plan_approval_required(scope, plan)
        auto_approved = None
        if plan["status"] == "draft" and not gated:
            # Lost: another call approved, claimed or replaced it; _run_approved says which.
            auto_approved = await move(run, plan, "approved", approvedBy="runtime")
    if auto_approved is not None:
        await run.sink.emit(status_change(run, auto_approved, "draft", "approved"))
    elif gated:
        refusal = await _plan_gate(scope, plan)
        if refusal is not None:
            return refusal
    return await _run_approved(scope, plan_id)


def _plan_approval_required(scope: AgentScope, plan: dict[str, Any]) -> bool:
    run = scope.run
    if run.approval_mode == "bypass":
        return False
    if scope.journal.has_gate("plan"):
        return True  # a resumed run takes the gate it had opened, whatever a predicate says now
    return approval_required(
        scope.agent.plan_rule,
        kind="plan",
        target=plan["id"],
        args=plan,
        tenant=run.tenant,
    )


async def _plan_gate(scope: AgentScope, plan: dict[str, Any]) -> ToolOutcome | None:
    """Wait for the host's decision on a draft plan; ``None`` means approved."""
    run = scope.run
    plan_id = plan["id"]
    if run.approval_mode == "refuse":
        return error_outcome(
            f"Plan {plan_id} requires approval, which is not available in this mode"
        )
    try:
        decision = await wait_for_decision(
            scope,
            kind="plan",
            target=plan_id,
            payload=plan,
            correlation_id=plan_id,
            then_emit=[status_change(run, plan, "draft", PENDING_APPROVAL)],
        )
    except GateClosed:
        return error_outcome(f"Plan {plan_id} approval channel closed before resolution")
    if decision.outcome == "approve":
        return await _approve_as_shown(run, plan)
    await run.sink.emit(status_change(run, plan, PENDING_APPROVAL, "draft"))
    if decision.outcome == "reject":
        return error_outcome(f"Plan {plan_id} rejected: {decision.feedback or 'Plan rejected'}")
    # The reference omits the feedback here; we keep it so the model can act on it.
    return ToolOutcome(
        {
            "rejected": True,
            "should_revise": True,
            "plan_id": plan_id,
            "partial": decision.partial,
            "feedback": decision.feedback,
        }
    )


async def _approve_as_shown(run: RunContext, shown: dict[str, Any]) -> ToolOutcome | None:
    """Store the approval of the plan the reviewer saw; ``None`` means it is approved."""
    plan_id = shown["id"]
    async with run.plan_locks.hold(plan_id):
        current = await load(run, plan_id)
        if current is None:
            return error_outcome(f"plan not found: {plan_id}")
        status = current["status"]
        replaced = status == "draft" and current != shown
        if status == "draft" and not replaced:
            if await move(run, current, "approved", approvedBy="runtime") is not None:
                status = "approved"
            else:
                # Another call moved it first, or it was stored again (a draft once more).
                latest = await load(run, plan_id)
                status = "missing" if latest is None else latest["status"]
                replaced = status == "draft"
    if replaced:
        await run.sink.emit(status_change(run, shown, PENDING_APPROVAL, "draft"))
        return error_outcome(
            f"Plan {plan_id} was stored again while awaiting approval, so the approval does not "
            f"apply to its new content; call executePlan again to review the new version"
        )
    if status == "approved":
        await run.sink.emit(status_change(run, shown, PENDING_APPROVAL, "approved"))
    # executing / executed / failed: a concurrent executePlan got there first and
    # _run_approved refuses this one.
    return None


async def _run_approved(scope: AgentScope, plan_id: str) -> ToolOutcome:
    run = scope.run
    async with run.plan_locks.hold(plan_id):
        plan = await load(run, plan_id)
        if plan is None:
            return error_outcome(f"plan not found: {plan_id}")
        if _interrupted_here(run, plan):
            return await _needs_reconciliation(run, plan)
        if plan["status"] != "approved":
            return error_outcome(invalid_state(plan))
        # The lock only orders calls of this process; the compare-and-set is what lets exactly
        # one process sharing the store claim the plan.
        epoch = run.journal.lease_epoch
        claim = {"claim": {"runId": run.run_id, "epoch": epoch}} if epoch else {}
        claimed = await move(run, plan, "executing", **claim)
        if claimed is None:
            return error_outcome(await _lost_claim(run, plan_id))
        plan = claimed
    await run.sink.emit(status_change(run, plan, "approved", "executing"))
    return await dispatch(scope, plan)


def _interrupted_here(run: RunContext, plan: Mapping[str, Any]) -> bool:
    """Whether ``plan`` is ``executing`` under a claim this run made under an older lease
    epoch: its worker died (or lost the run) while the dispatcher ran, and this worker resumed
    the run at that very call."""
    claim = plan.get("claim")
    if plan["status"] != "executing" or not isinstance(claim, dict):
        return False
    epoch = claim.get("epoch")
    return (
        claim.get("runId") == run.run_id
        and isinstance(epoch, int)
        and epoch < run.journal.lease_epoch
    )


async def _needs_reconciliation(run: RunContext, plan: dict[str, Any]) -> ToolOutcome:
    """Mark an interrupted dispatch for the host to settle; never dispatch it again."""
    plan_id = plan["id"]
    moved = await move(run, plan, NEEDS_RECONCILIATION)
    if moved is None:
        return error_outcome(await _lost_claim(run, plan_id))
    await run.sink.emit(status_change(run, moved, "executing", NEEDS_RECONCILIATION))
    return error_outcome(
        f"Dispatch interrupted: the worker dispatching plan '{plan_id}' stopped before it "
        f"recorded the outcome, so whether its actions took effect is unknown; it was not "
        f"dispatched again. The plan is {NEEDS_RECONCILIATION} until the host settles it "
        f"(Runtime.settle_plan)"
    )


async def _lost_claim(run: RunContext, plan_id: str) -> str:
    """Say why the claim ``approved -> executing`` failed: the plan changed since it was read."""
    current = await load(run, plan_id)
    if current is None:
        return f"plan not found: {plan_id}"
    if current["status"] == "approved":
        return (
            f"Invalid plan state for execution: approved (plan '{plan_id}' changed while it "
            f"was being claimed for dispatch; call executePlan again)"
        )
    return invalid_state(current)
