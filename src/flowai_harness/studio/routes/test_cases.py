"""Test cases: CRUD, offline validation, the tool palette, drafts from chat.

A test body is validated as an ``EvalTestCase`` and stored as its normalised wire dump (so
``groundTruth`` input is stored as ``structuredGroundTruth``); rows are
``{id, testCase, createdAt, updatedAt}`` and also carry the contract's ``TestCaseSummary``
fields (``testId``, ``name`` = the id, ``status`` = ``ready``, ``tags``). Saving answers 200,
whether the id is new or not. A test drafted from a chat thread is saved too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from flowai_harness.errors import HarnessError
from flowai_harness.studio.api_errors import StudioApiError, not_found
from flowai_harness.studio.context import Workspace, mint_id, workspace_scope
from flowai_harness.studio.events_map import as_mapping
from flowai_harness.studio.inspection import tool_inventory
from flowai_harness.studio.transcripts import draft_test_case, thread_trace

__all__ = ["router", "test_view"]

W = "/api/workspaces/{workspace_key}"


def test_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored test row with the contract's ``TestCaseSummary`` fields added."""
    case = as_mapping(row.get("testCase"))
    return {
        **row,
        "testId": row["id"],
        "name": row["id"],
        "status": "ready",
        "tags": list(case.get("tags") or []),
    }


def _validation_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "test case"
        return f"Invalid test case: {where}: {first.get('msg', '')}"
    return f"Invalid test case: {exc}"


def _check_test(body: Any, *, default_id: str | None) -> dict[str, Any]:
    from flowai_harness.specs.evals.cases import EvalTestCase

    if not isinstance(body, Mapping):
        raise StudioApiError(400, "test.invalid", "A test case must be a JSON object.")
    data = dict(body)
    if data.get("id") in (None, "") and default_id is not None:
        data["id"] = default_id
    try:
        return EvalTestCase.model_validate(data).to_wire()
    except (ValidationError, ValueError, TypeError) as exc:
        raise StudioApiError(400, "test.invalid", _validation_message(exc)) from None


async def _json(request: Request, code: str) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise StudioApiError(400, code, "The request body must be valid JSON.") from None


async def _existing(workspace: Workspace, test_id: str) -> dict[str, Any]:
    try:
        return await workspace.store.get_test_case(test_id)
    except KeyError:
        raise not_found(workspace.key, "test", "testId", test_id) from None


async def _thread_or_404(workspace: Workspace, thread_id: str) -> None:
    try:
        await workspace.store.get_thread(thread_id)
    except KeyError:
        raise not_found(workspace.key, "thread", "threadId", thread_id) from None


def _saved(workspace: Workspace, row: dict[str, Any]) -> dict[str, Any]:
    view = test_view(row)
    return {"workspaceKey": workspace.key, **view, "test": view}


def _score(case: Mapping[str, Any], body: Any) -> dict[str, Any]:
    from flowai_harness.evals.scoring import score_sample

    if body is None:
        body = {}
    if not isinstance(body, Mapping):
        raise StudioApiError(400, "test.invalid_sample", "The request body must be an object.")
    sample = body.get("sample") or {}
    try:
        scored = score_sample(
            dict(case),
            sample,
            mode=body.get("mode"),
            scorer_preset=body.get("scorerPreset", body.get("scorer_preset")),
        )
    except (ValidationError, HarnessError, ValueError, TypeError) as exc:
        message = _validation_message(exc).replace("Invalid test case", "Cannot score")
        raise StudioApiError(400, "test.invalid_sample", message) from None
    return scored.to_wire()


async def list_tests(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    rows = await workspace.store.list_test_cases()
    return {"workspaceKey": workspace.key, "tests": [test_view(row) for row in rows]}


async def create_test(
    request: Request, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    case = _check_test(await _json(request, "test.invalid"), default_id=mint_id("tc-", 8))
    return _saved(workspace, await workspace.store.upsert_test_case(case["id"], case))


async def list_test_tools(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    tools = tool_inventory(workspace.binding.runtime_spec)
    return {
        "workspaceKey": workspace.key,
        "tools": [{"name": tool.name, "agents": list(tool.agents)} for tool in tools],
    }


async def draft_from_chat(
    request: Request, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    body = await _json(request, "test.invalid")
    if not isinstance(body, Mapping) or not isinstance(body.get("threadId"), str):
        raise StudioApiError(400, "test.invalid", "The request needs a `threadId` string.")
    thread_id = body["threadId"]
    await _thread_or_404(workspace, thread_id)
    input_text = body.get("input") if isinstance(body.get("input"), str) else None
    given_id = body.get("id")
    test_id = given_id if isinstance(given_id, str) and given_id else mint_id("tc-", 8)
    try:
        case = await draft_test_case(workspace, thread_id, input_text=input_text, test_id=test_id)
    except (ValidationError, ValueError) as exc:
        raise StudioApiError(400, "test.invalid", _validation_message(exc)) from None
    return _saved(workspace, await workspace.store.upsert_test_case(case["id"], case))


async def test_cassette(
    test_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    """The recorded model turns of the chat a test was drafted from (see ``cassettes``):
    ``{available, runs, cassette}``, with ``reason`` saying why when there is none."""
    from flowai_harness.studio.cassettes import runtime_cassette, thread_cassette

    case = (await _existing(workspace, test_id))["testCase"]
    thread_id = case.get("sourceThreadId") if isinstance(case, Mapping) else None
    answer: dict[str, Any] = {"workspaceKey": workspace.key, "testId": test_id, "runs": 0}
    answer.update(threadId=thread_id, available=False, cassette="")
    path = runtime_cassette(await workspace.runtime())
    if not isinstance(thread_id, str) or not thread_id:
        answer["reason"] = f"Test `{test_id}` was not drafted from a chat, so it has no cassette."
    elif path is None:
        answer["reason"] = (
            "This workspace's runtime does not record: create it with "
            "create_runtime(..., record='<file>.jsonl') to keep a cassette of each chat."
        )
    else:
        try:
            text, runs = thread_cassette(path, thread_id)
        except OSError as exc:
            raise StudioApiError(409, "test.cassette_unreadable", f"{exc}") from None
        answer.update(runs=runs, cassette=text, available=runs > 0)
        if not runs:
            answer["reason"] = (
                f"The runtime's cassette has no run of thread `{thread_id}` (it starts again "
                "with the runtime, so chats from before a restart are not in it)."
            )
    return answer


async def builder_trace(
    thread_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    await _thread_or_404(workspace, thread_id)
    trace = await thread_trace(workspace, thread_id)
    return {"workspaceKey": workspace.key, "threadId": thread_id, "trace": trace}


async def get_test(test_id: str, workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    view = test_view(await _existing(workspace, test_id))
    return {"workspaceKey": workspace.key, **view, "test": view}


async def replace_test(
    test_id: str, request: Request, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    body = await _json(request, "test.invalid")
    if isinstance(body, Mapping) and body.get("id") not in (None, "", test_id):
        raise StudioApiError(
            400,
            "test.id_mismatch",
            f"The body's id {body.get('id')!r} does not match the path's {test_id!r}.",
            {"testId": test_id},
        )
    case = _check_test(body, default_id=test_id)
    return _saved(workspace, await workspace.store.upsert_test_case(test_id, case))


async def delete_test(
    test_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    await _existing(workspace, test_id)
    await workspace.store.delete_test_case(test_id)
    return {"workspaceKey": workspace.key, "testId": test_id, "deleted": True}


async def validate_test(
    test_id: str, request: Request, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    row = await _existing(workspace, test_id)
    raw = await request.body()
    body = None if not raw.strip() else await _json(request, "test.invalid_sample")
    scored = _score(row["testCase"], body)
    return {"workspaceKey": workspace.key, "testId": test_id, "scored": scored}


def router() -> APIRouter:
    """Build the test routes."""
    api = APIRouter(tags=["tests"])
    api.add_api_route(f"{W}/tests", list_tests, methods=["GET"])
    api.add_api_route(f"{W}/tests", create_test, methods=["POST"])
    api.add_api_route(f"{W}/tests/tools", list_test_tools, methods=["GET"])
    api.add_api_route(f"{W}/tests/from-chat", draft_from_chat, methods=["POST"])
    api.add_api_route(f"{W}/tests/{{test_id}}/cassette", test_cassette, methods=["GET"])
    api.add_api_route(
        f"{W}/tests/builder/threads/{{thread_id}}/trace", builder_trace, methods=["GET"]
    )
    api.add_api_route(f"{W}/tests/{{test_id}}", get_test, methods=["GET"])
    api.add_api_route(f"{W}/tests/{{test_id}}", replace_test, methods=["PUT"])
    api.add_api_route(f"{W}/tests/{{test_id}}", delete_test, methods=["DELETE"])
    api.add_api_route(f"{W}/tests/{{test_id}}/validate", validate_test, methods=["POST"])
    return api
