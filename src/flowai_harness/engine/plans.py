"""Plans: ``storePlan`` / ``getPlan`` / ``executePlan``, the status machine and the dispatcher.

Plans are stored through the key-value port under ``plan:<planId>`` in the runtime tenant's
namespace; a plan whose ``owner`` is another tenant is treated as missing.

Status machine. Stored statuses move only along :data:`TRANSITIONS`
(``draft -> approved -> executing -> executed | failed``); :func:`transition` is the one place
that changes a status. ``pending_approval`` is a display label used in events while a plan gate
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

At most once. Re-storing a plan id replaces it with a new draft that needs its own approval
(an ``executed`` or ``failed`` plan included: each stored version is dispatched at most once);
only an ``executing`` plan cannot be replaced (docs/decisions.md). Every move, and storing a
new version, is a compare-and-set on the store over the plan as it was read (under a per-plan
lock that spares calls of one process the contention), so a move never overwrites what another
call wrote meanwhile: of concurrent ``executePlan`` calls, in one process or in several sharing
a durable store, exactly one dispatches; ``executePlan`` on an ``executing``, ``executed`` or
``failed`` plan is refused. A dispatcher that declares an ``idempotency_key`` parameter gets a
key naming the stored version it dispatches. An approval applies to the plan content the
reviewer saw: if the plan was stored again while its gate waited, the approval does
not carry over to the new content.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from flowai_harness._clock import utc_seconds
from flowai_harness.engine.approvals import approval_required
from flowai_harness.engine.context import AgentScope, RunContext, ToolCall
from flowai_harness.engine.gates import GateClosed, wait_for_decision
from flowai_harness.engine.jsonvalues import to_json
from flowai_harness.engine.user_code import describe_failure, is_user_failure
from flowai_harness.errors import HarnessError, ReferenceNotFoundError, ReferenceValidationError
from flowai_harness.events import PlanStatusChange
from flowai_harness.ports import ToolOutcome, error_outcome

__all__ = [
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

#: The only legal moves between stored statuses.
TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("draft", "approved"),
        ("approved", "executing"),
        ("executing", "executed"),
        ("executing", "failed"),
    }
)
#: The display-only status shown in events while a plan gate waits.
PENDING_APPROVAL = "pending_approval"
_TIMESTAMP_OF = {
    "approved": "approvedAt",
    "executing": "startedAt",
    "executed": "completedAt",
    "failed": "failedAt",
}
_DISPATCH_KEYS = ("entitiesAffected", "summary", "details")
#: statuses a new ``storePlan`` of the same id may not replace
_PROTECTED = frozenset({"executing"})

log = logging.getLogger("flowai_harness.plans")


class InvalidTransition(HarnessError, ValueError):
    """A plan was asked to move between two statuses the status machine does not connect."""


@dataclass(slots=True)
class AliasedPlanStatusChange(PlanStatusChange):
    """A ``plan-status-change`` event carrying the plan kind's display aliases, when it has any.

    Wire form: ``{"type": "plan-status-change", "data": {"planId", "from", "to",
    "fromAlias"?, "toAlias"?}}``; an alias key is present only when the status has an alias.
    """

    type: ClassVar[str] = "plan-status-change"
    from_alias: str | None = None
    to_alias: str | None = None

    def _fields(self) -> dict[str, Any]:
        fields = PlanStatusChange._fields(self)
        data = fields["data"]
        if self.from_alias is not None:
            data["fromAlias"] = self.from_alias
        if self.to_alias is not None:
            data["toAlias"] = self.to_alias
        return fields


def transition(plan: Mapping[str, Any], to_status: str, **fields: Any) -> dict[str, Any]:
    """Return a copy of ``plan`` moved to ``to_status``, stamped, with ``fields`` set.

    Args:
        plan: A stored plan (its ``status`` is the move's origin).
        to_status: The stored status to move to.
        **fields: Other plan fields to set (``approvedBy``, ``outcome``).

    Returns:
        The moved plan; its timestamp field for ``to_status`` is set to now.

    Raises:
        InvalidTransition: ``(plan["status"], to_status)`` is not in :data:`TRANSITIONS`.
    """
    from_status = plan["status"]
    if (from_status, to_status) not in TRANSITIONS:
        legal = sorted(to for (origin, to) in TRANSITIONS if origin == from_status)
        raise InvalidTransition(
            f"plan '{plan['id']}' cannot move from {from_status} to {to_status} "
            f"(from {from_status} it can move to: {', '.join(legal) or 'nothing, it is final'})"
        )
    moved = dict(plan, status=to_status, **fields)
    moved[_TIMESTAMP_OF[to_status]] = utc_seconds()
    return moved


def _status_change(
    run: RunContext, plan: Mapping[str, Any], from_status: str, to_status: str
) -> PlanStatusChange:
    spec = run.runtime.plans.get(plan.get("specName", ""))
    aliases: Mapping[str, str] = spec.display_aliases if spec is not None else {}
    return AliasedPlanStatusChange(
        plan["id"], from_status, to_status, aliases.get(from_status), aliases.get(to_status)
    )


def _key(plan_id: str) -> str:
    return f"plan:{plan_id}"


async def _load(run: RunContext, plan_id: str) -> dict[str, Any] | None:
    plan = await run.runtime.kv.get(run.tenant, _key(plan_id))
    if not isinstance(plan, dict) or plan.get("owner") != run.tenant:
        return None
    return plan


async def _move(
    run: RunContext, plan: dict[str, Any], to_status: str, **fields: Any
) -> dict[str, Any] | None:
    """Move ``plan`` (as it was read) to ``to_status`` with a compare-and-set on the store.

    Returns:
        The moved plan, or ``None`` when the stored plan changed since it was read (another
        call, in this process or another one sharing the store, moved or replaced it).
    """
    moved = transition(plan, to_status, **fields)
    if await run.runtime.kv.compare_and_set(run.tenant, _key(plan["id"]), plan, moved):
        return moved
    return None


def idempotency_key(plan: Mapping[str, Any]) -> str:
    """The key the dispatcher gets for one stored version of a plan: ``<planId>:<digest>``.

    The digest covers what ``storePlan`` stored (spec, actions, context, creation time), not
    the status, so it stays the same from approval to dispatch and differs for every version
    stored under the same plan id with other content or at another time.
    """
    stored = {name: plan.get(name) for name in ("specName", "actions", "context", "createdAt")}
    digest = hashlib.sha256(orjson.dumps(stored, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{plan['id']}:{digest[:16]}"


# --------------------------------------------------------------------------- storePlan


async def store_plan(call: ToolCall, args: Any) -> ToolOutcome:
    """``storePlan``: validate a planner's body against its plan spec and store it as a draft.

    The body is checked against the plan kind's JSON Schema (a ``TaggedUnion`` of actions is a
    ``oneOf`` in that schema), then its ``actions`` are split into ``{kind, payload,
    references}``; the other top-level fields are kept as the plan ``context``. Every problem is
    a retryable error result with the spec's message.

    Args:
        call: The dispatch of this tool call.
        args: ``{"specName", "planId", "body"}`` (already checked against the input schema).

    Returns:
        The stored plan, or an error result.
    """
    run = call.scope.run
    spec_name, plan_id, body = args["specName"], args["planId"], args["body"]
    spec = run.runtime.plans.get(spec_name)
    if spec is None:
        return error_outcome(
            f"unknown plan spec: {spec_name} (declared: {sorted(run.runtime.plans)})"
        )
    problems = spec.validator.errors(body)
    if problems:
        listed = json.dumps(problems, ensure_ascii=False)
        return error_outcome(f"schema validation failed for spec '{spec_name}': {listed}")
    actions, problem = _decode_actions(spec_name, body)
    if problem is not None:
        return error_outcome(problem)
    plan = {
        "id": plan_id,
        "owner": run.tenant,
        "specName": spec_name,
        "actions": actions,
        "status": "draft",
        "description": None,
        "context": {k: v for k, v in body.items() if k != "actions"},
        "createdAt": utc_seconds(),
        "approvedAt": None,
        "startedAt": None,
        "completedAt": None,
        "failedAt": None,
        "approvedBy": None,
        "outcome": None,
    }
    async with run.plan_locks.hold(plan_id):
        while True:
            raw = await run.runtime.kv.get(run.tenant, _key(plan_id))
            existing = raw if isinstance(raw, dict) and raw.get("owner") == run.tenant else None
            # A finished plan may be replaced by a new draft, which needs its own approval
            # before it runs, so each stored version is still dispatched at most once. Only a
            # plan being dispatched right now (or whose dispatch is unsettled) is protected; the
            # compare-and-set keeps a claim made meanwhile by another process.
            if existing is not None and existing["status"] in _PROTECTED:
                return error_outcome(
                    f"plan '{plan_id}' is already {existing['status']} and cannot be "
                    f"replaced; store the revision under a new planId"
                )
            if await run.runtime.kv.compare_and_set(run.tenant, _key(plan_id), raw, plan):
                return ToolOutcome(plan)


def _decode_actions(spec: str, body: Any) -> tuple[list[dict[str, Any]], str | None]:
    if not isinstance(body, dict) or "actions" not in body:
        return [], f"planner output for spec '{spec}' is missing the required `actions` field"
    raw = body["actions"]
    if not isinstance(raw, list):
        return [], f"`actions` for spec '{spec}' must be a JSON array"
    actions = []
    for index, item in enumerate(raw):
        prefix = f"action #{index} for spec '{spec}' failed to decode"
        if not isinstance(item, dict):
            return [], f"{prefix}: action must be a JSON object"
        kind = item.get("kind")
        if not isinstance(kind, str):
            return [], f"{prefix}: missing string field `kind`"
        refs = item.get("references")
        if refs is None:
            refs = []
        if not isinstance(refs, list) or not all(
            isinstance(r, dict) and isinstance(r.get("kind"), str) and isinstance(r.get("id"), str)
            for r in refs
        ):
            return [], f"{prefix}: `references` must be a list of {{kind, id}} objects"
        actions.append(
            {
                "kind": kind,
                "payload": {k: v for k, v in item.items() if k not in ("kind", "references")},
                "references": [{"kind": r["kind"], "id": r["id"]} for r in refs],
            }
        )
    if not actions:
        return [], f"planner output for spec '{spec}' produced an empty action sequence"
    return actions, None


# --------------------------------------------------------------------------- getPlan


async def get_plan(call: ToolCall, args: Any) -> ToolOutcome:
    """``getPlan``: return the stored plan, or ``null`` when unknown or owned by another tenant.

    Args:
        call: The dispatch of this tool call.
        args: ``{"planId"}``.

    Returns:
        The plan JSON, or ``None`` content.
    """
    return ToolOutcome(await _load(call.scope.run, args["planId"]))


# --------------------------------------------------------------------------- executePlan


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
        plan = await _load(run, plan_id)
        if plan is None:
            return error_outcome(f"plan not found: {plan_id}")
        gated = plan["status"] == "draft" and _plan_approval_required(scope, plan)
        auto_approved = None
        if plan["status"] == "draft" and not gated:
            # Lost: another call approved, claimed or replaced it; _run_approved says which.
            auto_approved = await _move(run, plan, "approved", approvedBy="runtime")
    if auto_approved is not None:
        await run.sink.emit(_status_change(run, auto_approved, "draft", "approved"))
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
            then_emit=[_status_change(run, plan, "draft", PENDING_APPROVAL)],
        )
    except GateClosed:
        return error_outcome(f"Plan {plan_id} approval channel closed before resolution")
    if decision.outcome == "approve":
        return await _approve_as_shown(run, plan)
    await run.sink.emit(_status_change(run, plan, PENDING_APPROVAL, "draft"))
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
        current = await _load(run, plan_id)
        if current is None:
            return error_outcome(f"plan not found: {plan_id}")
        status = current["status"]
        replaced = status == "draft" and current != shown
        if status == "draft" and not replaced:
            if await _move(run, current, "approved", approvedBy="runtime") is not None:
                status = "approved"
            else:
                # Another call moved it first, or it was stored again (a draft once more).
                latest = await _load(run, plan_id)
                status = "missing" if latest is None else latest["status"]
                replaced = status == "draft"
    if replaced:
        await run.sink.emit(_status_change(run, shown, PENDING_APPROVAL, "draft"))
        return error_outcome(
            f"Plan {plan_id} was stored again while awaiting approval, so the approval does not "
            f"apply to its new content; call executePlan again to review the new version"
        )
    if status == "approved":
        await run.sink.emit(_status_change(run, shown, PENDING_APPROVAL, "approved"))
    # executing / executed / failed: a concurrent executePlan got there first and
    # _run_approved refuses this one.
    return None


async def _run_approved(scope: AgentScope, plan_id: str) -> ToolOutcome:
    run = scope.run
    async with run.plan_locks.hold(plan_id):
        plan = await _load(run, plan_id)
        if plan is None:
            return error_outcome(f"plan not found: {plan_id}")
        if plan["status"] != "approved":
            return error_outcome(_invalid_state(plan))
        # The lock only orders calls of this process; the compare-and-set is what lets exactly
        # one process sharing the store claim the plan.
        claimed = await _move(run, plan, "executing")
        if claimed is None:
            return error_outcome(await _lost_claim(run, plan_id))
        plan = claimed
    await run.sink.emit(_status_change(run, plan, "approved", "executing"))
    return await _dispatch(scope, plan)


async def _lost_claim(run: RunContext, plan_id: str) -> str:
    """Say why the claim ``approved -> executing`` failed: the plan changed since it was read."""
    current = await _load(run, plan_id)
    if current is None:
        return f"plan not found: {plan_id}"
    if current["status"] == "approved":
        return (
            f"Invalid plan state for execution: approved (plan '{plan_id}' changed while it "
            f"was being claimed for dispatch; call executePlan again)"
        )
    return _invalid_state(current)


def _invalid_state(plan: Mapping[str, Any]) -> str:
    status, plan_id = plan["status"], plan["id"]
    why = {
        "draft": f"plan '{plan_id}' is not approved",
        "executing": f"plan '{plan_id}' is being dispatched by another call; an approved plan "
        f"is dispatched at most once",
        "executed": f"plan '{plan_id}' was already dispatched; an approved plan is dispatched "
        f"at most once; store the plan again (a new draft) to act again",
        "failed": f"plan '{plan_id}' failed ({(plan.get('outcome') or {}).get('message')}); "
        f"store the plan again (a new draft) to try again",
    }.get(status, f"plan '{plan_id}' has unknown status {status!r}")
    return f"Invalid plan state for execution: {status} ({why})"


# --------------------------------------------------------------------------- dispatch


class _DispatchFailure(Exception):
    """Hydration or the host dispatcher failed; the message is the failure reason."""


async def _dispatch(scope: AgentScope, plan: dict[str, Any]) -> ToolOutcome:
    """Hydrate references, call the host dispatcher, and settle the plan as executed or failed."""
    run = scope.run
    try:
        resolved = await _hydrate(run, plan["actions"])
        dispatch = _call_dispatcher(run, plan["actions"], resolved, idempotency_key(plan))
        observe = run.runtime.observer.plan_dispatch
        result = await observe(run, plan["id"], len(plan["actions"]), dispatch)
    except _DispatchFailure as exc:
        await _fail(run, plan, str(exc))
        await run.sink.emit(_status_change(run, plan, "executing", "failed"))
        return error_outcome(f"Dispatch failed: {exc}")
    except asyncio.CancelledError:
        # The actions may be partly applied; never leave the plan executing forever.
        await asyncio.shield(
            _fail(run, plan, "dispatch cancelled: the run ended while the dispatcher was running")
        )
        raise
    resolved_actions = [{"type": a["kind"], "payload": a["payload"]} for a in plan["actions"]]
    final = {
        "entitiesAffected": result["entitiesAffected"],
        "summary": result["summary"],
        "details": _with_resolved_actions(result["details"], resolved_actions),
        "resolvedActions": resolved_actions,
    }
    await _settle(run, plan, "executed", {"state": "executed", **final})
    await run.sink.emit(_status_change(run, plan, "executing", "executed"))
    return ToolOutcome(final)


async def _fail(run: RunContext, plan: dict[str, Any], message: str) -> None:
    outcome = {"state": "failed", "message": message, "code": None, "details": None}
    await _settle(run, plan, "failed", outcome)


async def _settle(run: RunContext, plan: dict[str, Any], to_status: str, outcome: Any) -> None:
    """Record the end of this call's own dispatch; only the claim it made can be settled."""
    if await _move(run, plan, to_status, outcome=outcome) is None:
        log.warning(
            "plan %s: its dispatch ended (%s) but the stored plan is no longer the one this "
            "call claimed; the outcome was not recorded",
            plan["id"],
            to_status,
        )


def _with_resolved_actions(details: Any, resolved_actions: list[dict[str, Any]]) -> Any:
    if details is None:
        return {"resolvedActions": resolved_actions}
    if isinstance(details, dict):
        return {"resolvedActions": resolved_actions, **details}
    return {"result": details, "resolvedActions": resolved_actions}


async def _hydrate(run: RunContext, actions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Read every distinct reference of the plan (concurrently), grouped by kind and id."""
    wanted = sorted({(r["kind"], r["id"]) for a in actions for r in a["references"]})
    records = await asyncio.gather(
        *(run.references.read(run.tenant, kind, ref_id) for kind, ref_id in wanted),
        return_exceptions=True,
    )
    resolved: dict[str, dict[str, Any]] = {}
    for (kind, ref_id), record in zip(wanted, records, strict=True):
        if isinstance(record, ReferenceValidationError):
            raise _DispatchFailure(
                f"reference kind required by plan is not declared: kind={kind} id={ref_id} "
                f"({record})"
            )
        if isinstance(record, ReferenceNotFoundError):
            raise _DispatchFailure(
                f"reference required by plan is missing: kind={kind} id={ref_id} "
                f"(never created, expired, or owned by another tenant)"
            )
        if isinstance(record, Exception):
            raise _DispatchFailure(
                f"reading reference kind={kind} id={ref_id} failed: "
                f"{type(record).__name__}: {record}"
            )
        if isinstance(record, BaseException):
            raise record
        resolved.setdefault(kind, {})[ref_id] = record["value"]
    return resolved


async def _call_dispatcher(
    run: RunContext, actions: list[dict[str, Any]], resolved: dict[str, dict[str, Any]], key: str
) -> dict[str, Any]:
    """Call the host's ``action_dispatcher(actions, ctx)`` and check what it returns.

    A dispatcher that declares an ``idempotency_key`` parameter (or ``**kwargs``) gets the key
    of the stored version it dispatches (:func:`idempotency_key`) as that keyword argument,
    for a downstream system that deduplicates; ``(actions, ctx)`` dispatchers are called as
    before.

    A sync dispatcher runs on a worker thread; if it returns an awaitable, that is awaited on
    the run's loop. Cancelling the run cannot stop a sync dispatcher that is already running.
    """
    dispatcher = run.runtime.action_dispatcher
    if dispatcher is None:
        return {"entitiesAffected": 0, "summary": None, "details": None}
    ctx = {"resolved_refs": resolved}
    extra = {"idempotency_key": key} if _takes_idempotency_key(dispatcher) else {}
    payload = to_json(actions)
    try:
        if asyncio.iscoroutinefunction(dispatcher):
            value = await dispatcher(payload, ctx, **extra)
        else:
            value = await asyncio.to_thread(dispatcher, payload, ctx, **extra)
            if hasattr(value, "__await__"):
                value = await value
    except BaseException as exc:  # SystemExit and friends too: the host must survive
        if not is_user_failure(exc):
            raise  # the run is being cancelled
        raise _DispatchFailure(f"inner dispatcher failed: {describe_failure(exc)}") from exc
    return _check_dispatch_result(value)


def _takes_idempotency_key(dispatcher: Any) -> bool:
    try:
        parameters = inspect.signature(dispatcher).parameters.values()
    except (TypeError, ValueError):  # a builtin or C callable without a signature
        return False
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        or (p.name == "idempotency_key" and p.kind is not inspect.Parameter.POSITIONAL_ONLY)
        for p in parameters
    )


def _check_dispatch_result(value: Any) -> dict[str, Any]:
    if value is None:
        return {"entitiesAffected": 0, "summary": None, "details": None}
    if not isinstance(value, Mapping):
        raise _DispatchFailure(
            "action_dispatcher must return None or an object with required field "
            "`entitiesAffected`, optional `summary`, and optional `details`; "
            f"got {type(value).__name__}"
        )
    for key in value:
        if key not in _DISPATCH_KEYS:
            raise _DispatchFailure(
                f"action_dispatcher returned unexpected field `{key}`; "
                "put domain-specific data under `details`"
            )
    if "entitiesAffected" not in value:
        raise _DispatchFailure(
            "action_dispatcher must return None or an object with required field "
            "`entitiesAffected` as a non-negative integer"
        )
    count = value["entitiesAffected"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _DispatchFailure(
            "action_dispatcher field `entitiesAffected` must be a non-negative integer, "
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
        raise _DispatchFailure(f"action_dispatcher field 'details' must be JSON: {exc}") from exc
    except BaseException as exc:  # a model_dump of the host's that raises anything else
        if not is_user_failure(exc):
            raise
        raise _DispatchFailure(
            f"action_dispatcher field 'details' could not be converted to JSON: "
            f"{describe_failure(exc)}"
        ) from exc
    return {"entitiesAffected": count, "summary": summary, "details": details}
