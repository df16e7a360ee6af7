"""Tests for the chat routes (src/flowai_harness/studio/routes/chat.py, chat_run.py)."""

from __future__ import annotations

from typing import Any

import pytest

from .studio_apps import (
    BackgroundRequest,
    chat_app,
    parse_sse,
    pending_approval,
    studio_client,
    wait_for,
)

W = "/api/workspaces/default"


def _kinds(frames: list[dict[str, Any]]) -> list[str]:
    return [frame["event"] for frame in frames]


def test_a_chat_streams_studio_events_and_records_the_thread() -> None:
    with studio_client(chat_app()) as client:
        response = client.post(f"{W}/agents/coord/stream", json={"prompt": "hi there"})
        frames = parse_sse(response.text)
        thread_id = frames[0]["data"]["threadId"]
        threads = client.get(f"{W}/threads").json()["threads"]
        thread = client.get(f"{W}/threads/{thread_id}").json()["thread"]
        messages = client.get(f"{W}/threads/{thread_id}/messages").json()["messages"]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-accel-buffering"] == "no"
    assert thread_id.startswith("thread_") and len(thread_id) == len("thread_") + 32
    run_id = frames[0]["data"]["runId"]
    assert run_id.startswith("run_") and len(run_id) == len("run_") + 32
    seqs = [int(frame["id"]) for frame in frames]
    assert seqs == sorted(set(seqs)) and seqs[0] >= 1
    assert all(frame["data"]["seq"] == int(frame["id"]) for frame in frames)
    assert "message.delta" in _kinds(frames)
    assert _kinds(frames)[-1] == "run.completed"
    delta = next(f for f in frames if f["event"] == "message.delta")["data"]
    assert delta["payload"] == {"role": "assistant", "text": "Hello: hi there"}
    assert delta["agentId"] == "coord" and delta["schemaVersion"] == "harness-studio/v1"
    assert threads[0]["threadId"] == thread_id and thread["title"] == "hi there"
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "hi there"),
        ("assistant", "Hello: hi there"),
    ]
    assert messages[1]["metadata"]["runId"] == run_id
    assert messages[1]["parts"] == [{"type": "text", "text": "Hello: hi there"}]


@pytest.mark.parametrize(
    "body",
    [
        {"message": "hi there", "thread_id": "t-alias", "run_id": "run_given"},
        {
            "messages": [
                {"role": "user", "content": "old"},
                {"role": "assistant", "content": "x"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "hi "}, {"type": "text", "text": "there"}],
                },
            ],
            "threadId": "t-alias",
            "runId": "run_given",
        },
    ],
)
def test_prompt_comes_from_message_or_the_last_user_message(body: dict[str, Any]) -> None:
    with studio_client(chat_app()) as client:
        frames = parse_sse(client.post(f"{W}/agents/coord/stream", json=body).text)
    delta = next(f for f in frames if f["event"] == "message.delta")["data"]
    assert delta["payload"]["text"] == "Hello: hi there"
    assert (delta["threadId"], delta["runId"]) == ("t-alias", "run_given")


def test_the_default_alias_route_and_a_specialist_chat() -> None:
    with studio_client(chat_app()) as client:
        alias = parse_sse(client.post("/api/agents/coord/stream", json={"prompt": "hi"}).text)
        specialist = parse_sse(
            client.post(f"{W}/agents/helper/stream", json={"prompt": "ping"}).text
        )
    assert alias[-1]["data"]["workspaceKey"] == "default"
    kinds = _kinds(specialist)
    assert kinds.index("tool.call.started") < kinds.index("tool.call.completed")
    completed = next(f for f in specialist if f["event"] == "tool.call.completed")["data"]
    assert completed["payload"]["result"] == {"echo": "ping"}
    assert kinds[-1] == "run.completed"


@pytest.mark.parametrize(
    ("agent", "body", "status", "code"),
    [
        ("ghost", {"prompt": "x"}, 404, "agent.not_found"),
        ("planner", {"prompt": "x"}, 409, "agent.unsupported_entrypoint"),
        ("coord", {}, 400, "chat.invalid_request"),
        ("coord", {"prompt": "  "}, 400, "chat.invalid_request"),
        ("coord", {"messages": "nope"}, 400, "chat.invalid_request"),
        ("coord", {"prompt": "x", "threadId": 5}, 400, "chat.invalid_request"),
        ("coord", {"prompt": "x", "metadata": []}, 400, "chat.invalid_request"),
        ("coord", ["not", "an", "object"], 400, "chat.invalid_request"),
    ],
)
def test_bad_chat_requests_get_the_documented_errors(
    agent: str, body: Any, status: int, code: str
) -> None:
    with studio_client(chat_app()) as client:
        response = client.post(f"{W}/agents/{agent}/stream", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_invalid_json_is_a_chat_invalid_request() -> None:
    with studio_client(chat_app()) as client:
        response = client.post(
            f"{W}/agents/coord/stream",
            content=b"{nope",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "chat.invalid_request"


def test_sub_agent_approval_flow_streams_and_records_everything() -> None:
    with studio_client(chat_app()) as client:
        chat = BackgroundRequest(
            lambda: client.post(
                f"{W}/agents/coord/stream", json={"prompt": "price?", "threadId": "t-price"}
            )
        )
        approval = pending_approval(client)
        assert approval["kind"] == "tool" and approval["threadId"] == "t-price"
        assert approval["payload"]["toolName"] == "lookup"
        answer = client.post(
            f"{W}/approvals/{approval['approvalId']}/respond", json={"outcome": "approved"}
        )
        frames = parse_sse(chat.join().text)
        messages = client.get(f"{W}/threads/t-price/messages").json()["messages"]
        after = client.get(f"{W}/approvals/{approval['approvalId']}").json()
    assert answer.status_code == 200 and answer.json()["status"] == "approve"
    kinds = _kinds(frames)
    assert "sub_agent.call.started" in kinds and "sub_agent.call.completed" in kinds
    assert "approval.required" in kinds and "approval.decision" in kinds
    started = next(f for f in frames if f["event"] == "sub_agent.call.started")["data"]
    assert started["payload"]["targetAgentId"] == "pricing"
    assert started["payload"]["message"] == "price of A-1"
    # the chatting agent's own bracket is recorded, not sent; nested text is not a delta
    assert all(f["data"]["payload"].get("targetAgentId") != "coord" for f in frames)
    deltas = [f["data"]["payload"]["text"] for f in frames if f["event"] == "message.delta"]
    assert deltas == ["Routing. ", "The price is 4.50"]
    assert kinds[-1] == "run.completed"
    # parts in completion order: the nested lookup, the sub-agent, then the call_agent call
    answer_parts = messages[1]["parts"]
    assert [(p["type"], p.get("toolName", p.get("agentName"))) for p in answer_parts] == [
        ("text", None),
        ("tool-invocation", "lookup"),
        ("tool-agent", "pricing"),
        ("tool-invocation", "call_agent"),
        ("text", None),
    ]
    assert answer_parts[1]["args"] == {"sku": "A-1"}
    assert answer_parts[1]["result"] == {"sku": "A-1", "price": 4.5}
    assert after["status"] == "approve"


def test_cancel_route_ends_a_waiting_run_keeps_the_partial_answer_and_expires_approvals() -> None:
    with studio_client(chat_app()) as client:
        chat = BackgroundRequest(
            lambda: client.post(
                f"{W}/agents/coord/stream",
                json={"prompt": "price?", "threadId": "t-cancel", "runId": "run_cancel_me"},
            )
        )
        approval = pending_approval(client)
        cancelled = client.post(f"{W}/runs/run_cancel_me/cancel").json()
        frames = parse_sse(chat.join().text)
        again = client.post(f"{W}/runs/run_cancel_me/cancel").json()
        unknown = client.post(f"{W}/runs/run_never/cancel")
        messages = client.get(f"{W}/threads/t-cancel/messages").json()["messages"]
        run = client.get(f"{W}/runs/run_cancel_me").json()
        expired = client.get(f"{W}/approvals/{approval['approvalId']}").json()
        late = client.post(
            f"{W}/approvals/{approval['approvalId']}/respond", json={"outcome": "approve"}
        )
    assert cancelled == {
        "workspaceKey": "default",
        "runId": "run_cancel_me",
        "status": "cancelled",
        "cancelled": True,
    }
    assert again["cancelled"] is False
    assert unknown.status_code == 200 and unknown.json()["cancelled"] is False
    assert _kinds(frames)[-1] == "run.cancelled"
    assert _kinds(frames).count("run.cancelled") == 1
    answer = messages[-1]
    assert answer["role"] == "assistant" and answer["content"] == "Routing. "
    assert answer["metadata"]["status"] == "cancelled"
    open_parts = [p for p in answer["parts"] if p["type"] in ("tool-invocation", "tool-agent")]
    assert open_parts and all(p["state"] == "cancelled" for p in open_parts)
    assert run["status"] == "cancelled"
    assert expired["status"] == "expired"
    assert late.status_code == 409


def test_a_failing_model_ends_the_run_with_run_failed() -> None:
    with studio_client(chat_app()) as client:
        frames = parse_sse(client.post(f"{W}/agents/coord/stream", json={"prompt": "fail"}).text)
        run = client.get(f"{W}/runs/{frames[-1]['data']['runId']}").json()
    failed = frames[-1]
    assert failed["event"] == "run.failed"
    assert failed["data"]["payload"]["error"]["code"] == "runtime.error"
    assert "model exploded" in failed["data"]["payload"]["error"]["message"]
    assert run["status"] == "failed"


def test_threads_are_scoped_to_their_workspace_and_can_be_deleted() -> None:
    with studio_client(chat_app()) as client:
        client.post(f"{W}/agents/coord/stream", json={"prompt": "hi", "threadId": "t-mine"})
        sales = client.get("/api/workspaces/sales/threads").json()["threads"]
        foreign = client.get("/api/workspaces/sales/threads/t-mine")
        deleted = client.delete(f"{W}/threads/t-mine").json()
        gone = client.get(f"{W}/threads/t-mine")
        gone_messages = client.get(f"{W}/threads/t-mine/messages")
        delete_again = client.delete(f"{W}/threads/t-mine")
        runs = client.get(f"{W}/runs").json()["runs"]
    assert sales == []
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "thread.not_found"
    assert deleted == {"workspaceKey": "default", "threadId": "t-mine", "deleted": True}
    assert gone.status_code == 404 and gone_messages.status_code == 404
    assert delete_again.status_code == 404
    assert runs == []


def test_the_same_thread_keeps_its_title_and_grows() -> None:
    with studio_client(chat_app()) as client:
        for prompt in ("first question", "second question"):
            client.post(f"{W}/agents/coord/stream", json={"prompt": prompt, "threadId": "t-2"})
        thread = client.get(f"{W}/threads/t-2").json()["thread"]
        messages = client.get(f"{W}/threads/t-2/messages").json()["messages"]
        runs = wait_for(lambda: client.get(f"{W}/runs").json()["runs"])
    assert thread["title"] == "first question"
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert len(runs) == 2 and all(r["threadId"] == "t-2" for r in runs)
