"""Dispatching an approved plan: hydrate its references, call the host's dispatcher, settle it.

:func:`dispatch` runs once per claimed plan version (``executePlan`` in
:mod:`flowai_harness.engine.plans` makes the claim); it records the outcome with a
compare-and-set over the plan it claimed, so a plan moved meanwhile (settled after its worker
was presumed dead) is never overwritten.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Mapping
from typing import Any

from flowai_harness.engine.context import AgentScope, RunContext
from flowai_harness.engine.jsonvalues import to_json
from flowai_harness.engine.plan_store import idempotency_key, move, status_change
from flowai_harness.engine.user_code import describe_failure, is_user_failure
from flowai_harness.errors import ReferenceNotFoundError, ReferenceValidationError
from flowai_harness.ports import ToolOutcome, error_outcome

__all__ = ["dispatch"]

log = logging.getLogger("flowai_harness.plans")

_DISPATCH_KEYS = ("entitiesAffected", "summary", "details")


class _DispatchFailure(Exception):
    """Hydration or the host dispatcher failed; the message is the failure reason."""


async def dispatch(scope: AgentScope, plan: dict[str, Any]) -> ToolOutcome:
    """Hydrate references, call the host dispatcher, and settle the plan as executed or failed."""
    run = scope.run
    try:
        resolved = await _hydrate(run, plan["actions"])
        dispatch = _call_dispatcher(run, plan["actions"], resolved, idempotency_key(plan))
        observe = run.runtime.observer.plan_dispatch
        result = await observe(run, plan["id"], len(plan["actions"]), dispatch)
    except _DispatchFailure as exc:
        await _fail(run, plan, str(exc))
        await run.sink.emit(status_change(run, plan, "executing", "failed"))
        return error_outcome(f"Dispatch failed: {exc}")
    except asyncio.CancelledError:
        # The actions may be partly applied; never leave the plan executing forever. A run
        # taken over by another worker leaves it: that worker reconciles it.
        if not run.journal.taken_over:
            await asyncio.shield(
                _fail(
                    run, plan, "dispatch cancelled: the run ended while the dispatcher was running"
                )
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
    await run.sink.emit(status_change(run, plan, "executing", "executed"))
    return ToolOutcome(final)


async def _fail(run: RunContext, plan: dict[str, Any], message: str) -> None:
    outcome = {"state": "failed", "message": message, "code": None, "details": None}
    await _settle(run, plan, "failed", outcome)


async def _settle(run: RunContext, plan: dict[str, Any], to_status: str, outcome: Any) -> None:
    """Record the end of this call's own dispatch; only the claim it made can be settled."""
    if await move(run, plan, to_status, outcome=outcome) is None:
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
