"""Chat routes: stream a run, cancel it, and read or delete threads.

The user message of a chat turn is stored with the metadata ``{"legacyMessages": bool}``:
``true`` when its text came from the last user item of ``messages[]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request

from flowai_harness.studio.api_errors import StudioApiError, not_found
from flowai_harness.studio.chat_run import ChatRun
from flowai_harness.studio.context import (
    Workspace,
    default_workspace_scope,
    mint_id,
    workspace_scope,
)
from flowai_harness.studio.live_runs import Frame, LiveRun, Subscription
from flowai_harness.studio.sse import sse_response
from flowai_harness.studio.store_chat import thread_title
from flowai_harness.studio.transcripts import message_view

__all__ = ["ChatRequest", "parse_chat_request", "router"]

W = "/api/workspaces/{workspace_key}"
_CHAT_ROLES = ("coordinator", "specialist")


def _invalid(message: str) -> StudioApiError:
    return StudioApiError(400, "chat.invalid_request", message)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type", "text") == "text"
        ]
        return "".join(texts)
    return ""


def _last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        raise _invalid("`messages` must be a list of chat messages.")
    for item in reversed(messages):
        if isinstance(item, Mapping) and item.get("role", "user") == "user":
            text = _text_of(item.get("content"))
            if not text and "parts" in item:
                text = _text_of(item.get("parts"))
            return text
    return ""


class ChatRequest:
    """A parsed chat request body (``legacy_messages``: the prompt came from ``messages[]``)."""

    __slots__ = ("legacy_messages", "prompt", "run_id", "thread_id")

    def __init__(
        self, prompt: str, thread_id: str | None, run_id: str | None, *, legacy_messages: bool
    ) -> None:
        self.prompt = prompt
        self.thread_id = thread_id
        self.run_id = run_id
        self.legacy_messages = legacy_messages


def _optional_id(body: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise _invalid(f"`{names[0]}` must be a non-empty string.")
        return value.strip()
    return None


def parse_chat_request(body: Any) -> ChatRequest:
    """Read ``{prompt | message | messages[], threadId?, runId?, metadata?}`` (snake ok).

    ``metadata``, when given, must be an object; it is accepted for compatibility and not
    stored.

    Raises:
        StudioApiError: 400 ``chat.invalid_request``.
    """
    if not isinstance(body, Mapping):
        raise _invalid("The chat request body must be a JSON object.")
    prompt: Any = None
    legacy_messages = False
    for key in ("prompt", "message"):
        if body.get(key) is not None:
            prompt = body[key]
            break
    else:
        if body.get("messages") is not None:
            prompt = _last_user_text(body["messages"])
            legacy_messages = True
    if not isinstance(prompt, str) or not prompt.strip():
        raise _invalid(
            "The chat request needs a non-empty `prompt`, `message`, or a user message in "
            "`messages`."
        )
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise _invalid("`metadata` must be an object.")
    return ChatRequest(
        prompt,
        _optional_id(body, "threadId", "thread_id"),
        _optional_id(body, "runId", "run_id"),
        legacy_messages=legacy_messages,
    )


async def _json_body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise _invalid("The chat request body must be valid JSON.") from None


async def _frames(subscription: Subscription) -> AsyncIterator[Frame]:
    try:
        async for frame in subscription:
            yield frame
    finally:
        # The browser went away (or the run ended): stop listening. The run belongs to the
        # server and goes on (a pending approval stays answerable); the browser re-attaches
        # with GET .../runs/{id}/stream and Last-Event-ID. Only the cancel route stops it.
        subscription.close()


async def start_chat(workspace: Workspace, agent_id: str, body: Any) -> Any:
    """Validate a chat request, record the user turn and stream the run (SSE response)."""
    spec = workspace.binding.runtime_spec
    agent = next((a for a in spec.agents if a.name == agent_id), None)
    if agent is None:
        raise not_found(workspace.key, "agent", "agentId", agent_id)
    if agent.role not in _CHAT_ROLES:
        raise StudioApiError(
            409,
            "agent.unsupported_entrypoint",
            f"Agent `{agent_id}` is a {agent.role}; only coordinator and specialist agents "
            f"can be chatted with.",
            {"agentId": agent_id, "role": agent.role},
        )
    chat = parse_chat_request(body)
    run_id = chat.run_id or mint_id("run_")
    if workspace.runs.running(workspace.key, run_id):
        raise StudioApiError(
            409, "run.already_running", f"Run `{run_id}` is already running.", {"runId": run_id}
        )
    runtime = await workspace.runtime()
    thread_id = chat.thread_id or mint_id("thread_")
    store = workspace.store
    await store.upsert_thread(thread_id, thread_title(chat.prompt))
    await store.append_message(
        thread_id, "user", chat.prompt, {"legacyMessages": chat.legacy_messages}
    )
    if agent.role == "coordinator":
        stream = runtime.query(chat.prompt, thread_id)
    else:
        stream = runtime.run_specialist(agent.name, chat.prompt, thread_id)
    live = LiveRun(workspace.key, run_id, "chat", thread_id)
    subscription = live.subscribe(lossless=True)
    driver = ChatRun(
        store=store, stream=stream, agent_id=agent.name, thread_id=thread_id, run_id=run_id
    )
    workspace.runs.start(live, driver.drive)
    response = sse_response(_frames(subscription))
    response.headers["X-FlowAI-Run-Id"] = run_id
    response.headers["X-FlowAI-Thread-Id"] = thread_id
    return response


async def _thread_or_404(workspace: Workspace, thread_id: str) -> dict[str, Any]:
    try:
        return await workspace.store.get_thread(thread_id)
    except KeyError:
        raise not_found(workspace.key, "thread", "threadId", thread_id) from None


async def stream_agent(
    agent_id: str, request: Request, workspace: Workspace = Depends(workspace_scope)
) -> Any:
    return await start_chat(workspace, agent_id, await _json_body(request))


async def stream_default_agent(
    agent_id: str, request: Request, workspace: Workspace = Depends(default_workspace_scope)
) -> Any:
    return await start_chat(workspace, agent_id, await _json_body(request))


async def cancel_run(
    run_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    live = workspace.runs.get(workspace.key, run_id)
    cancelled = live is not None and live.cancel("cancelled from the Studio")
    if cancelled and live is not None:
        await live.wait(5.0)
    return {
        "workspaceKey": workspace.key,
        "runId": run_id,
        "status": "cancelled",
        "cancelled": cancelled,
    }


async def list_threads(workspace: Workspace = Depends(workspace_scope)) -> dict[str, Any]:
    return {"workspaceKey": workspace.key, "threads": await workspace.store.list_threads()}


async def get_thread(
    thread_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    return {"workspaceKey": workspace.key, "thread": await _thread_or_404(workspace, thread_id)}


async def list_messages(
    thread_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    await _thread_or_404(workspace, thread_id)
    messages = await message_view(workspace, thread_id)
    return {"workspaceKey": workspace.key, "threadId": thread_id, "messages": messages}


async def delete_thread(
    thread_id: str, workspace: Workspace = Depends(workspace_scope)
) -> dict[str, Any]:
    await _thread_or_404(workspace, thread_id)
    for live_run in workspace.runs.for_thread(workspace.key, thread_id):
        live_run.cancel("thread deleted")
        await live_run.wait(5.0)
    await workspace.store.delete_thread(thread_id)
    return {"workspaceKey": workspace.key, "threadId": thread_id, "deleted": True}


def router() -> APIRouter:
    """Build the chat and thread routes."""
    api = APIRouter(tags=["chat"])
    api.add_api_route(f"{W}/agents/{{agent_id}}/stream", stream_agent, methods=["POST"])
    api.add_api_route("/api/agents/{agent_id}/stream", stream_default_agent, methods=["POST"])
    api.add_api_route(f"{W}/runs/{{run_id}}/cancel", cancel_run, methods=["POST"])
    api.add_api_route(f"{W}/threads", list_threads, methods=["GET"])
    api.add_api_route(f"{W}/threads/{{thread_id}}", get_thread, methods=["GET"])
    api.add_api_route(f"{W}/threads/{{thread_id}}/messages", list_messages, methods=["GET"])
    api.add_api_route(f"{W}/threads/{{thread_id}}", delete_thread, methods=["DELETE"])
    return api
