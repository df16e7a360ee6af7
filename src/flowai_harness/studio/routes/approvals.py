"""Approvals: the inbox, one approval, and answering it.

Rows are captured from recorded ``approval.required`` events. An approval's ``status`` is
``pending``, the decision verb once answered (``approve`` / ``reject`` / ``revise``), or
``expired`` when its run ended without an answer. Answering accepts ``approved`` /
``rejected`` for the verbs. There is no ``.../decision`` route.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Final

from fastapi import APIRouter, Depends, Request

from flowai_harness.errors import ApprovalAlreadyResolvedError, ApprovalNotFoundError
from flowai_harness.studio.api_errors import StudioApiError, not_found
from flowai_harness.studio.context import Workspace, workspace_scope
from flowai_harness.studio.events_map import as_mapping
from flowai_harness.studio.payloads import ApprovalSummary
from flowai_harness.studio.store_db import utc_now

__all__ = ["approval_summary", "router"]

W = "/api/workspaces/{workspace_key}"

_OUTCOMES: Final = {
    "approve": "approve",
    "reject": "reject",
    "revise": "revise",
    "approved": "approve",
    "rejected": "reject",
}


def approval_summary(workspace_key: str, row: Mapping[str, Any]) -> ApprovalSummary:
    """An approval row in the contract's ``ApprovalSummary`` shape (plus the row fields)."""
    payload = as_mapping(row.get("payload"))
    kind = payload.get("kind")
    summary: ApprovalSummary = {
        "workspaceKey": workspace_key,
        "approvalId": row["approvalId"],
        "threadId": row.get("threadId", ""),
        "runId": row.get("runId", ""),
        "status": str(row.get("status", "pending")),
        "kind": "tool" if kind == "tool" else "plan" if kind == "plan" else "custom",
        "agentId": payload.get("agentId", ""),
        "title": payload.get("title", "Approval required"),
        "payload": dict(payload),
        "createdAt": row.get("createdAt", utc_now()),
        "updatedAt": row.get("updatedAt", utc_now()),
    }
    return summary


def _runtime_pending(workspace: Workspace, known: set[str]) -> list[dict[str, Any]]:
    """Pending approvals the runtime holds that no Studio run recorded (host-started runs)."""
    if not workspace.binding.runtime_constructed:
        return []
    runtime = workspace.binding.get_runtime()
    pending = getattr(runtime, "pending_approvals", None)
    rows: list[dict[str, Any]] = []
    for request in pending() if callable(pending) else []:
        if not isinstance(request, Mapping) or request.get("id") in known:
            continue
        rows.append(
            {
                "approvalId": request["id"],
                "threadId": request.get("threadId", ""),
                "runId": "",
                "status": "pending",
                "payload": {
                    "approvalId": request["id"],
                    "kind": request.get("kind", "custom"),
                    "title": request.get("target") or "Approval required",
                    "payload": request.get("payload"),
                },
            }
        )
    return rows


def _invalid(code: str, message: str) -> StudioApiError:
    return StudioApiError(400, code, message)


def _parse_response(body: Any) -> tuple[str, str | None, Any]:
    if not isinstance(body, Mapping):
        raise _invalid("approval.invalid_request", "The request body must be a JSON object.")
    raw = body.get("outcome", body.get("decision"))
    if not isinstance(raw, str):
        raise _invalid(
            "approval.invalid_request",
            "The request needs `outcome`: approve, reject, revise, approved or rejected.",
        )
    outcome = _OUTCOMES.get(raw)
    if outcome is None:
        raise _invalid(
            "approval.invalid_outcome",
            f"Unknown approval outcome {raw!r}; expected approve, reject, revise, approved "
            f"or rejected.",
        )
    feedback = body.get("feedback", body.get("reason"))
    if feedback is not None and not isinstance(feedback, str):
        raise _invalid("approval.invalid_request", "`feedback` must be a string.")
    partial = body.get("partial")
    if partial is not None and not isinstance(partial, Mapping):
        raise _invalid("approval.invalid_request", "`partial` must be an object.")
    return outcome, feedback, partial


async def respond(workspace: Workspace, approval_id: str, body: Any) -> ApprovalSummary:
    """Answer an approval on the runtime, then record the decision."""
    outcome, feedback, partial = _parse_response(body)
    store = workspace.store
    try:
        row: dict[str, Any] | None = await store.get_approval(approval_id)
    except KeyError:
        row = None
    runtime = await workspace.runtime()
    try:
        answered = runtime.respond_to_approval(
            approval_id, outcome, feedback=feedback, partial=partial
        )
        if inspect.isawaitable(answered):
            await answered
    except ApprovalAlreadyResolvedError:
        raise StudioApiError(
            409,
            "approval.already_resolved",
            f"Approval `{approval_id}` was already answered.",
            {"approvalId": approval_id},
        ) from None
    except ApprovalNotFoundError:
        if row is None:
            raise not_found(workspace.key, "approval", "approvalId", approval_id) from None
        if row["status"] == "pending":
            # Recorded, but the runtime no longer waits for it (its run ended or the server
            # restarted with an in-memory store).
            await store.update_approval_ref(approval_id, "expired")
        raise StudioApiError(
            409,
            "approval.expired",
            f"Approval `{approval_id}` is no longer waiting for a decision.",
            {"approvalId": approval_id},
        ) from None
    if row is None:
        # Answered on the runtime although no Studio run recorded the request.
        await store.upsert_approval_ref(
            thread_id="", run_id="", approval_id=approval_id, payload={}
        )
    updated = await store.update_approval_ref(approval_id, outcome, feedback)
    return approval_summary(workspace.key, updated)


async def list_approvals(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    rows = await workspace.store.list_approvals()
    extra = _runtime_pending(workspace, {row["approvalId"] for row in rows})
    summaries = [approval_summary(workspace.key, row) for row in [*extra, *rows]]
    summaries.sort(key=lambda summary: summary["status"] != "pending")
    return {"workspaceKey": workspace.key, "approvals": summaries}


async def get_approval(
    approval_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    row: dict[str, Any] | None
    try:
        row = await workspace.store.get_approval(approval_id)
    except KeyError:
        found = _runtime_pending(workspace, set())
        row = next((r for r in found if r["approvalId"] == approval_id), None)
    if row is None:
        raise not_found(workspace.key, "approval", "approvalId", approval_id)
    summary = approval_summary(workspace.key, row)
    return {**summary, "approval": summary}


async def respond_to_approval(
    approval_id: str, request: Request, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _invalid("approval.invalid_request", "The request body must be valid JSON.") from None
    return dict(await respond(workspace, approval_id, body))


def router() -> APIRouter:
    """Build the approval routes."""
    api = APIRouter(tags=["approvals"])
    api.add_api_route(f"{W}/approvals", list_approvals, methods=["GET"])
    api.add_api_route(f"{W}/approvals/{{approval_id}}", get_approval, methods=["GET"])
    api.add_api_route(
        f"{W}/approvals/{{approval_id}}/respond", respond_to_approval, methods=["POST"]
    )
    return api
