"""Plans: ``storePlan`` / ``getPlan`` / ``executePlan`` and the plan status machine.

Stored statuses move only along :data:`TRANSITIONS`; ``pending_approval`` is a display label
that appears in events while a plan gate waits, never in storage. An approved plan is dispatched
at most once: ``executePlan`` on an executing, executed or failed plan is refused, and the
status check and the move to ``executing`` happen under a per-plan lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from flowai_harness.engine.approvals import approval_required
from flowai_harness.engine.context import AgentScope, ToolCall
from flowai_harness.engine.jsonvalues import to_json
from flowai_harness.errors import HarnessError
from flowai_harness.events import ApprovalDecision, ApprovalRequired, PlanStatusChange
from flowai_harness.ports import ToolOutcome

__all__ = ["TRANSITIONS", "InvalidTransition", "execute_plan", "get_plan", "store_plan",
           "transition"]

#: the only legal moves between stored statuses
TRANSITIONS: frozenset[tuple[str, str]] = frozenset({
    ("draft", "approved"),
    ("approved", "executing"),
    ("executing", "executed"),
    ("executing", "failed"),
})
_TIMESTAMP_OF = {"approved": "approvedAt", "executing": "startedAt", "executed": "completedAt",
                 "failed": "failedAt"}
_DISPATCH_KEYS = ("entitiesAffected", "summary", "details")


class InvalidTransition(HarnessError, ValueError):
    """A plan was asked to move between two statuses the status machine does not connect."""


def transition(plan: dict[str, Any], to_status: str, **fields: Any) -> dict[str, Any]:
    """Return a copy of ``plan`` moved to ``to_status`` (with its timestamp and ``fields``).

    Raises:
        InvalidTransition: the move is not in :data:`TRANSITIONS`.
    """
    from_status = plan["status"]
    if (from_status, to_status) not in TRANSITIONS:
        raise InvalidTransition(
            f"plan '{plan['id']}' cannot move from {from_status} to {to_status}"
        )
    moved = dict(plan, status=to_status, **fields)
    moved[_TIMESTAMP_OF[to_status]] = _now()
    return moved


def _error(message: str) -> ToolOutcome:
    return ToolOutcome({"error": message}, is_error=True)


def _key(plan_id: str) -> str:
    return f"plan:{plan_id}"


async def store_plan(call: ToolCall, args: Any) -> ToolOutcome:
    """Validate a planner's body against its plan spec and store it as a draft."""
    run = call.scope.run
    spec_name, plan_id, body = args["specName"], args["planId"], args["body"]
    spec = run.runtime.plans.get(spec_name)
    if spec is None:
        return _error(f"unknown plan spec: {spec_name} (declared: {sorted(run.runtime.plans)})")
    problems = spec.validator.errors(body)
    if problems:
        return _error(f"schema validation failed for spec '{spec_name}': {problems}")
    actions, problem = _decode_actions(spec_name, body)
    if problem:
        return _error(problem)
    async with run.plan_locks.hold(plan_id):
        existing = await run.runtime.kv.get(run.tenant, _key(plan_id))
        if isinstance(existing, dict) and existing.get("status") not in ("draft", "approved"):
            return _error(
                f"plan '{plan_id}' is already {existing.get('status')} and cannot be replaced; "
                f"store the revision under a new planId"
            )
        plan = {
            "id": plan_id, "owner": run.tenant, "specName": spec_name, "actions": actions,
            "status": "draft", "description": None,
            "context": {k: v for k, v in body.items() if k != "actions"},
            "createdAt": _now(), "approvedAt": None, "startedAt": None, "completedAt": None,
            "failedAt": None, "approvedBy": None, "outcome": None,
        }
        await run.runtime.kv.put(run.tenant, _key(plan_id), plan)
    return ToolOutcome(plan)


def _decode_actions(spec: str, body: Any) -> tuple[list[dict[str, Any]], str | None]:
    if not isinstance(body, dict) or "actions" not in body:
        return [], f"planner output for spec '{spec}' is missing the required `actions` field"
    raw = body["actions"]
    if not isinstance(raw, list):
        return [], f"`actions` for spec '{spec}' must be a JSON array"
    if not raw:
        return [], f"planner output for spec '{spec}' produced an empty action sequence"
    actions = []
    for index, item in enumerate(raw):
        prefix = f"action #{index} for spec '{spec}' failed to decode"
        if not isinstance(item, dict):
            return [], f"{prefix}: action must be a JSON object"
        kind = item.get("kind")
        if not isinstance(kind, str):
            return [], f"{prefix}: missing string field `kind`"
        refs = item.get("references", [])
        if not isinstance(refs, list) or not all(
            isinstance(r, dict) and isinstance(r.get("kind"), str) and isinstance(r.get("id"), str)
            for r in refs
        ):
            return [], f"{prefix}: `references` must be a list of {{kind, id}} objects"
        payload = {k: v for k, v in item.items() if k not in ("kind", "references")}
        actions.append({"kind": kind, "payload": payload,
                        "references": [{"kind": r["kind"], "id": r["id"]} for r in refs]})
    return actions, None


async def get_plan(call: ToolCall, args: Any) -> ToolOutcome:
    """Return the stored plan, or ``null`` when unknown (or owned by another tenant)."""
    run = call.scope.run
    plan = await run.runtime.kv.get(run.tenant, _key(args["planId"]))
    if not isinstance(plan, dict) or plan.get("owner") != run.tenant:
        return ToolOutcome(None)
    return ToolOutcome(plan)


async def execute_plan(call: ToolCall, args: Any) -> ToolOutcome:
    """Pass the plan gate (if any) and dispatch an approved plan's actions to the host."""
    scope = call.scope
    run = scope.run
    plan_id = args["planId"]
    plan = await run.runtime.kv.get(run.tenant, _key(plan_id))
    if not isinstance(plan, dict) or plan.get("owner") != run.tenant:
        return _error(f"plan not found: {plan_id}")
    if plan["status"] == "draft":
        gate = await _plan_gate(scope, plan)
        if gate is not None:
            return gate
    async with run.plan_locks.hold(plan_id):
        plan = await run.runtime.kv.get(run.tenant, _key(plan_id))
        if not isinstance(plan, dict) or plan.get("status") != "approved":
            status = plan.get("status") if isinstance(plan, dict) else "missing"
            return _error(f"Invalid plan state for execution: {status}")
        plan = transition(plan, "executing")
        await run.runtime.kv.put(run.tenant, _key(plan_id), plan)
    return await _dispatch(scope, plan)


async def _plan_gate(scope: AgentScope, plan: dict[str, Any]) -> ToolOutcome | None:
    """Approve a draft plan (automatically or through the host); ``None`` means approved."""
    run = scope.run
    plan_id = plan["id"]
    required = run.approval_mode != "bypass" and approval_required(
        scope.agent.plan_rule, run.runtime.predicates, kind="plan", target=plan_id, args=plan,
        tenant=run.tenant,
    )
    if not required:
        await _approve(scope, plan, "draft")
        return None
    if run.approval_mode == "refuse":
        return _error(f"Plan {plan_id} requires approval, which is not available in this mode")
    request, future = run.approvals.register({
        "kind": "plan", "target": plan_id, "payload": plan, "resource_id": run.tenant,
        "thread_id": scope.thread_id, "correlation_id": plan_id,
    })
    try:
        await run.emit(ApprovalRequired(request))
        await run.emit(PlanStatusChange(plan_id, "draft", "pending_approval"))
        decision = await future
    except asyncio.CancelledError:
        run.approvals.expire(request.id)
        raise
    except ConnectionError:
        run.approvals.expire(request.id)
        return _error(f"Plan {plan_id} approval channel closed before resolution")
    await run.emit(ApprovalDecision(request.id, decision.outcome, decision.feedback,
                                    decision.partial))
    if decision.outcome == "approve":
        await _approve(scope, plan, "pending_approval")
        return None
    await run.emit(PlanStatusChange(plan_id, "pending_approval", "draft"))
    if decision.outcome == "reject":
        return _error(f"Plan {plan_id} rejected: {decision.feedback or 'Plan rejected'}")
    return ToolOutcome({"rejected": True, "should_revise": True, "plan_id": plan_id,
                        "partial": decision.partial, "feedback": decision.feedback})


async def _approve(scope: AgentScope, plan: dict[str, Any], shown_from: str) -> None:
    run = scope.run
    async with run.plan_locks.hold(plan["id"]):
        current = await run.runtime.kv.get(run.tenant, _key(plan["id"]))
        if isinstance(current, dict) and current.get("status") == "draft":
            await run.runtime.kv.put(run.tenant, _key(plan["id"]),
                                     transition(current, "approved", approvedBy="runtime"))
    await run.emit(PlanStatusChange(plan["id"], shown_from, "approved"))


async def _dispatch(scope: AgentScope, plan: dict[str, Any]) -> ToolOutcome:
    run = scope.run
    try:
        resolved = await _hydrate(scope, plan["actions"])
        result = await _call_dispatcher(scope, plan["actions"], resolved)
    except _DispatchFailure as exc:
        failed = transition(plan, "failed", outcome={
            "state": "failed", "message": str(exc), "code": None, "details": None})
        await run.runtime.kv.put(run.tenant, _key(plan["id"]), failed)
        return _error(f"Dispatch failed: {exc}")
    resolved_actions = [{"type": a["kind"], "payload": a["payload"]} for a in plan["actions"]]
    details = result["details"]
    if details is None:
        details = {"resolvedActions": resolved_actions}
    elif isinstance(details, dict):
        details = {"resolvedActions": resolved_actions, **details}
    else:
        details = {"result": details, "resolvedActions": resolved_actions}
    final = {"entitiesAffected": result["entitiesAffected"], "summary": result["summary"],
             "details": details, "resolvedActions": resolved_actions}
    executed = transition(plan, "executed", outcome={"state": "executed", **final})
    await run.runtime.kv.put(run.tenant, _key(plan["id"]), executed)
    return ToolOutcome(final)


class _DispatchFailure(Exception):
    pass


async def _hydrate(scope: AgentScope, actions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    run = scope.run
    wanted = {(r["kind"], r["id"]) for a in actions for r in a["references"]}
    resolved: dict[str, dict[str, Any]] = {}
    for kind, ref_id in sorted(wanted):
        try:
            record = await run.references.read(run.tenant, kind, ref_id)
        except HarnessError as exc:
            raise _DispatchFailure(
                f"reference required by plan is missing: kind={kind} id={ref_id} ({exc})"
            ) from exc
        resolved.setdefault(kind, {})[ref_id] = record["value"]
    return resolved


async def _call_dispatcher(scope: AgentScope, actions: list[dict[str, Any]],
                           resolved: dict[str, dict[str, Any]]) -> dict[str, Any]:
    dispatcher = scope.run.runtime.action_dispatcher
    if dispatcher is None:
        return {"entitiesAffected": 0, "summary": None, "details": None}
    ctx = {"resolved_refs": resolved}
    payload = to_json(actions)
    try:
        if asyncio.iscoroutinefunction(dispatcher):
            value = await dispatcher(payload, ctx)
        else:
            value = await asyncio.to_thread(dispatcher, payload, ctx)
            if hasattr(value, "__await__"):
                value = await value
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise _DispatchFailure(f"inner dispatcher failed: {type(exc).__name__}: {exc}") from exc
    return _check_dispatch_result(value)


def _check_dispatch_result(value: Any) -> dict[str, Any]:
    if value is None:
        return {"entitiesAffected": 0, "summary": None, "details": None}
    if not isinstance(value, Mapping):
        raise _DispatchFailure(
            "action_dispatcher must return None or an object with entitiesAffected, summary "
            f"and details; got {type(value).__name__}"
        )
    for key in value:
        if key not in _DISPATCH_KEYS:
            raise _DispatchFailure(
                f"action_dispatcher returned unexpected field '{key}' "
                f"(allowed: {', '.join(_DISPATCH_KEYS)})"
            )
    count = value.get("entitiesAffected")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _DispatchFailure(
            f"action_dispatcher field 'entitiesAffected' must be a non-negative integer, "
            f"got {count!r}"
        )
    summary = value.get("summary")
    if summary is not None and not isinstance(summary, str):
        raise _DispatchFailure(
            f"action_dispatcher field 'summary' must be a string or null, got "
            f"{type(summary).__name__}"
        )
    try:
        details = to_json(value.get("details"))
    except (TypeError, ValueError) as exc:
        raise _DispatchFailure(f"action_dispatcher field 'details' is not JSON: {exc}") from exc
    return {"entitiesAffected": count, "summary": summary, "details": details}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
