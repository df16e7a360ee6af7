"""Evals: saved definitions, runs (synchronous or streamed), cancel, compare.

Rows are ``{id, config, scorerPreset, testCaseIds, status, latestSummary, createdAt,
updatedAt}`` plus the contract's ``EvalSummary`` fields (``evalId``, ``mode``, ``summary``).
Saving answers 200 with the row; a saved eval that never ran has status ``created``. A run's
artifacts are listed oldest first. Cancelling records ``cancelled`` on the eval and stops the
runs of it that are live in this server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError

from flowai_harness.studio.api_errors import StudioApiError, not_found
from flowai_harness.studio.context import Workspace, mint_id, workspace_scope
from flowai_harness.studio.eval_run import EvalRun, prepare_eval_run
from flowai_harness.studio.events_map import eval_record_thread
from flowai_harness.studio.live_runs import Frame, LiveRun, Subscription
from flowai_harness.studio.sse import sse_response

__all__ = ["eval_view", "router"]

W = "/api/workspaces/{workspace_key}"


def eval_view(row: Mapping[str, Any], latest: Mapping[str, Any] | None) -> dict[str, Any]:
    """An eval row with its latest artifact's summary and the contract's ``EvalSummary``
    fields."""
    summary = None
    if latest is not None:
        summary = (latest.get("artifact") or {}).get("summary")
    config = row.get("config") or {}
    return {
        **row,
        "evalId": row["id"],
        "mode": config.get("mode", "sequential"),
        "latestSummary": summary,
        "summary": summary or {},
        "latestRunId": None if latest is None else latest.get("runId"),
    }


def _invalid_config(message: str) -> StudioApiError:
    return StudioApiError(400, "eval.invalid_config", message)


def _check_definition(body: Any) -> tuple[str | None, dict[str, Any], list[str], Any]:
    from flowai_harness.specs.evals.config import EvalConfig

    if not isinstance(body, Mapping):
        raise _invalid_config("The eval definition must be a JSON object.")
    eval_id = body.get("id")
    if eval_id is not None and (not isinstance(eval_id, str) or not eval_id.strip()):
        raise _invalid_config("`id` must be a non-empty string.")
    try:
        config = EvalConfig.model_validate(body.get("config") or {}).to_wire()
    except (ValidationError, ValueError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "config"
            message = f"Invalid eval config: {where}: {first.get('msg', '')}"
        else:
            message = f"Invalid eval config: {exc}"
        raise _invalid_config(message) from None
    ids = body.get("testCaseIds", body.get("test_case_ids"))
    if ids is None:
        ids = config.get("testCaseIds") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) and i.strip() for i in ids):
        raise _invalid_config("`testCaseIds` must be a list of test ids.")
    preset = body.get("scorerPreset", body.get("scorer_preset"))
    if preset is not None and not isinstance(preset, str | Mapping):
        raise _invalid_config("`scorerPreset` must be a preset name or object.")
    return eval_id, config, list(dict.fromkeys(ids)), preset


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise _invalid_config("The request body must be valid JSON.") from None


async def _eval_or_404(workspace: Workspace, eval_id: str) -> dict[str, Any]:
    try:
        return await workspace.store.get_eval_run(eval_id)
    except KeyError:
        raise not_found(workspace.key, "eval", "evalId", eval_id) from None


async def _start(workspace: Workspace, row: Mapping[str, Any]) -> tuple[LiveRun, EvalRun]:
    stream, entry = await prepare_eval_run(workspace, row)
    driver = EvalRun(workspace, row["id"], stream, entry)
    live = LiveRun(workspace.key, driver.run_id, "eval", driver.thread_id)
    return live, driver


async def _stream_frames(subscription: Subscription, live: LiveRun) -> AsyncIterator[Frame]:
    try:
        async for frame in subscription:
            yield frame
    finally:
        subscription.close()
        if not live.done.is_set():
            live.cancel("client disconnected")


def _case_scores(artifact: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(case.get("testCaseId")): case.get("aggregateScore")
        for case in artifact.get("testCases") or []
    }


def _compare(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    left_scores, right_scores = _case_scores(left["artifact"]), _case_scores(right["artifact"])
    cases = []
    for case_id in dict.fromkeys([*left_scores, *right_scores]):
        a, b = left_scores.get(case_id), right_scores.get(case_id)
        delta = b - a if isinstance(a, int | float) and isinstance(b, int | float) else None
        cases.append({"testCaseId": case_id, "left": a, "right": b, "delta": delta})
    return {"left": dict(left), "right": dict(right), "testCases": cases}


async def list_evals(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    views = []
    for row in await workspace.store.list_eval_runs():
        artifacts = await workspace.store.list_eval_artifacts(row["id"])
        views.append(eval_view(row, artifacts[-1] if artifacts else None))
    return {"workspaceKey": workspace.key, "evals": views}


async def create_eval(
    request: Request, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    eval_id, config, ids, preset = _check_definition(await _json(request))
    eval_id = eval_id or mint_id("eval-")
    try:
        status = (await workspace.store.get_eval_run(eval_id))["status"]
    except KeyError:
        status = "created"
    row = await workspace.store.upsert_eval_run(
        eval_id, config=config, test_case_ids=ids, status=status, scorer_preset=preset
    )
    artifacts = await workspace.store.list_eval_artifacts(eval_id)
    view = eval_view(row, artifacts[-1] if artifacts else None)
    return {"workspaceKey": workspace.key, **view, "eval": view}


async def compare_evals(
    workspace: Workspace = Depends(workspace_scope),
    left: str = Query(...),
    right: str = Query(...),
) -> dict[str, Any]:
    found = []
    for run_id in (left, right):
        try:
            found.append(await workspace.store.get_eval_artifact_by_run(run_id))
        except KeyError:
            raise StudioApiError(
                404,
                "eval.run_not_found",
                f"Eval run `{run_id}` has no stored artifact in workspace `{workspace.key}`.",
                {"runId": run_id},
            ) from None
    return {"workspaceKey": workspace.key, "comparison": _compare(found[0], found[1])}


async def get_eval(eval_id: str, workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    row = await _eval_or_404(workspace, eval_id)
    runs = await workspace.store.list_eval_artifacts(eval_id)
    view = eval_view(row, runs[-1] if runs else None)
    return {"workspaceKey": workspace.key, **view, "eval": view, "runs": runs}


async def _run_now(eval_id: str, workspace: Workspace) -> dict[str, Any]:
    row = await _eval_or_404(workspace, eval_id)
    live, driver = await _start(workspace, row)
    workspace.runs.start(live, driver.drive)
    await live.wait()
    if driver.artifact is None and live.cancel_requested:
        # Cancelled on purpose: an answer, not an error (the eval row says cancelled).
        return {
            "workspaceKey": workspace.key,
            "evalId": eval_id,
            "runId": driver.run_id,
            "status": "cancelled",
            "artifact": None,
        }
    if driver.artifact is None:
        raise StudioApiError(
            400,
            "eval.run_failed",
            f"Eval `{eval_id}` did not complete: {driver.error or 'unknown error'}",
            {"evalId": eval_id, "runId": driver.run_id},
        )
    return {
        "workspaceKey": workspace.key,
        "evalId": eval_id,
        "runId": driver.run_id,
        "artifact": driver.artifact,
    }


async def run_eval(eval_id: str, workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    return await _run_now(eval_id, workspace)


async def rerun_eval(
    eval_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    return await _run_now(eval_id, workspace)


async def stream_eval(eval_id: str, workspace: Workspace = Depends(workspace_scope)) -> Any:
    row = await _eval_or_404(workspace, eval_id)
    live, driver = await _start(workspace, row)
    subscription = live.subscribe(lossless=True)
    workspace.runs.start(live, driver.drive)
    response = sse_response(_stream_frames(subscription, live))
    response.headers["X-FlowAI-Run-Id"] = driver.run_id
    return response


async def cancel_eval(
    eval_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    await _eval_or_404(workspace, eval_id)
    cancelled = False
    for live in workspace.runs.for_thread(workspace.key, eval_record_thread(eval_id)):
        cancelled = live.cancel("cancelled from the Studio") or cancelled
        await live.wait(10.0)
    # Recorded after the live runs stopped, so no run can overwrite it with its own end.
    await workspace.store.update_eval_run_status(eval_id, "cancelled")
    return {
        "workspaceKey": workspace.key,
        "evalId": eval_id,
        "status": "cancelled",
        "cancelled": cancelled,
    }


async def delete_eval(
    eval_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    await _eval_or_404(workspace, eval_id)
    for live in workspace.runs.for_thread(workspace.key, eval_record_thread(eval_id)):
        live.cancel("eval deleted")
        await live.wait(10.0)
    await workspace.store.delete_eval_run(eval_id)
    return {"workspaceKey": workspace.key, "evalId": eval_id, "deleted": True}


def router() -> APIRouter:
    """Build the eval routes."""
    api = APIRouter(tags=["evals"])
    api.add_api_route(f"{W}/evals", list_evals, methods=["GET"])
    api.add_api_route(f"{W}/evals", create_eval, methods=["POST"])
    api.add_api_route(f"{W}/evals/compare", compare_evals, methods=["GET"])
    api.add_api_route(f"{W}/evals/{{eval_id}}", get_eval, methods=["GET"])
    api.add_api_route(f"{W}/evals/{{eval_id}}/run", run_eval, methods=["POST"])
    api.add_api_route(f"{W}/evals/{{eval_id}}/rerun", rerun_eval, methods=["POST"])
    api.add_api_route(f"{W}/evals/{{eval_id}}/stream", stream_eval, methods=["GET"])
    api.add_api_route(f"{W}/evals/{{eval_id}}/cancel", cancel_eval, methods=["POST"])
    api.add_api_route(f"{W}/evals/{{eval_id}}", delete_eval, methods=["DELETE"])
    return api
