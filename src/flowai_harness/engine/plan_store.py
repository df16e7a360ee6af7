"""Stored plans: the status machine, the compare-and-set moves, and ``storePlan`` / ``getPlan``.

Plans are stored through the key-value port under ``plan:<planId>`` in the runtime tenant's
namespace; a plan whose ``owner`` is another tenant is treated as missing. Stored statuses move
only along :data:`TRANSITIONS` (``draft -> approved -> executing -> executed | failed``, and
``executing -> needs_reconciliation -> executed | failed`` when the worker dispatching a plan
died: see :func:`reconcile_interrupted` and :func:`settle`); :func:`transition` is the one place
that changes a status, and every move is a compare-and-set over the plan as it was read.
:mod:`flowai_harness.engine.plans` tells the whole story.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from flowai_harness._clock import utc_seconds
from flowai_harness.engine.context import RunContext, ToolCall
from flowai_harness.errors import HarnessError, PlanStateError
from flowai_harness.event_dicts import PlanStatusChangeEventDict
from flowai_harness.events import PlanStatusChange
from flowai_harness.ports import KeyValueStore, ToolOutcome, error_outcome

__all__ = [
    "NEEDS_RECONCILIATION",
    "PENDING_APPROVAL",
    "TRANSITIONS",
    "AliasedPlanStatusChange",
    "InvalidTransition",
    "get_plan",
    "idempotency_key",
    "invalid_state",
    "load",
    "move",
    "read_plan",
    "settle",
    "status_change",
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
        ("executing", "needs_reconciliation"),
        ("needs_reconciliation", "executed"),
        ("needs_reconciliation", "failed"),
    }
)
#: The status of a plan whose dispatch was cut short by the death of its worker: whether its
#: actions took effect is unknown until someone settles it (``Runtime.settle_plan``).
NEEDS_RECONCILIATION = "needs_reconciliation"
#: The display-only status shown in events while a plan gate waits.
PENDING_APPROVAL = "pending_approval"
_TIMESTAMP_OF = {
    "approved": "approvedAt",
    "executing": "startedAt",
    "executed": "completedAt",
    "failed": "failedAt",
    "needs_reconciliation": "interruptedAt",
}
#: statuses a new ``storePlan`` of the same id may not replace
_PROTECTED = frozenset({"executing", NEEDS_RECONCILIATION})


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

    def _wire(self) -> PlanStatusChangeEventDict:
        out = PlanStatusChange._wire(self)
        data = out["data"]
        if self.from_alias is not None:
            data["fromAlias"] = self.from_alias
        if self.to_alias is not None:
            data["toAlias"] = self.to_alias
        return out


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


def status_change(
    run: RunContext, plan: Mapping[str, Any], from_status: str, to_status: str
) -> PlanStatusChange:
    spec = run.runtime.plans.get(plan.get("specName", ""))
    aliases: Mapping[str, str] = spec.display_aliases if spec is not None else {}
    return AliasedPlanStatusChange(
        plan["id"], from_status, to_status, aliases.get(from_status), aliases.get(to_status)
    )


def key(plan_id: str) -> str:
    """The store key of plan ``plan_id``."""
    return f"plan:{plan_id}"


async def read_plan(kv: KeyValueStore, tenant: str, plan_id: str) -> dict[str, Any] | None:
    """The stored plan ``plan_id`` of ``tenant``, or ``None`` (unknown, or another tenant's)."""
    plan = await kv.get(tenant, key(plan_id))
    if not isinstance(plan, dict) or plan.get("owner") != tenant:
        return None
    return plan


async def load(run: RunContext, plan_id: str) -> dict[str, Any] | None:
    """The stored plan ``plan_id`` of the run's tenant, or ``None``."""
    return await read_plan(run.runtime.kv, run.tenant, plan_id)


async def _move_in(
    kv: KeyValueStore, tenant: str, plan: dict[str, Any], to_status: str, **fields: Any
) -> dict[str, Any] | None:
    moved = transition(plan, to_status, **fields)
    if await kv.compare_and_set(tenant, key(plan["id"]), plan, moved):
        return moved
    return None


async def move(
    run: RunContext, plan: dict[str, Any], to_status: str, **fields: Any
) -> dict[str, Any] | None:
    """Move ``plan`` (as it was read) to ``to_status`` with a compare-and-set on the store.

    Returns:
        The moved plan, or ``None`` when the stored plan changed since it was read (another
        call, in this process or another one sharing the store, moved or replaced it).
    """
    return await _move_in(run.runtime.kv, run.tenant, plan, to_status, **fields)


#: how many times :func:`settle` reads the plan again after a compare-and-set it lost
_SETTLE_ATTEMPTS = 4


async def settle(
    kv: KeyValueStore, tenant: str, plan_id: str, outcome: str, note: str | None
) -> dict[str, Any]:
    """Settle a plan whose dispatch was interrupted (``needs_reconciliation``) as ``outcome``.

    The host checked the downstream system and says whether the actions took effect. The move
    is a compare-and-set, so of two hosts settling one plan at once exactly one succeeds.

    Returns:
        The settled plan.

    Raises:
        PlanStateError: ``outcome`` is not ``executed`` or ``failed``, the plan is unknown, or
            it is not (or no longer) ``needs_reconciliation``.
    """
    if outcome not in ("executed", "failed"):
        raise PlanStateError(f"outcome must be 'executed' or 'failed'; got {outcome!r}")
    if note is not None and not isinstance(note, str):
        raise PlanStateError(f"note must be a string or None; got {type(note).__name__}")
    for _ in range(_SETTLE_ATTEMPTS):
        plan = await read_plan(kv, tenant, plan_id)
        if plan is None:
            raise PlanStateError(f"plan not found: {plan_id}")
        if plan["status"] != NEEDS_RECONCILIATION:
            raise PlanStateError(
                f"plan '{plan_id}' is {plan['status']}; only a plan in {NEEDS_RECONCILIATION} "
                f"(its dispatch was interrupted) can be settled"
            )
        result: dict[str, Any] = (
            {"state": "executed", "settledBy": "host", "note": note}
            if outcome == "executed"
            else {
                "state": "failed",
                "message": note or "settled as failed by the host after an interrupted dispatch",
                "code": "reconciled",
                "details": None,
            }
        )
        moved = await _move_in(kv, tenant, plan, outcome, outcome=result)
        if moved is not None:
            return moved
    raise PlanStateError(f"plan '{plan_id}' kept changing while it was being settled; try again")


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
            raw = await run.runtime.kv.get(run.tenant, key(plan_id))
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
            if await run.runtime.kv.compare_and_set(run.tenant, key(plan_id), raw, plan):
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
    return ToolOutcome(await load(call.scope.run, args["planId"]))


def invalid_state(plan: Mapping[str, Any]) -> str:
    """Why ``executePlan`` refuses a plan in its status (``Invalid plan state for ...``)."""
    status, plan_id = plan["status"], plan["id"]
    why = {
        "draft": f"plan '{plan_id}' is not approved",
        "executing": f"plan '{plan_id}' is being dispatched by another call; an approved plan "
        f"is dispatched at most once",
        "executed": f"plan '{plan_id}' was already dispatched; an approved plan is dispatched "
        f"at most once; store the plan again (a new draft) to act again",
        "failed": f"plan '{plan_id}' failed ({(plan.get('outcome') or {}).get('message')}); "
        f"store the plan again (a new draft) to try again",
        NEEDS_RECONCILIATION: f"plan '{plan_id}' was being dispatched when its worker stopped; "
        f"whether it took effect is unknown until the host settles it (Runtime.settle_plan)",
    }.get(status, f"plan '{plan_id}' has unknown status {status!r}")
    return f"Invalid plan state for execution: {status} ({why})"
