"""Compatibility of what the Studio stores about a chat run (one test per behaviour)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.studio.studio_apps import parse_sse

from .studio_fakes import (
    COORDINATOR,
    WAIT_FOREVER,
    ReplayRuntime,
    W,
    client_for,
    replay_app,
    sub_agent,
    text,
    tool,
)


def _chat(turn: list[dict[str, Any]], body: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    with client_for(replay_app(ReplayRuntime(turn))) as client:
        body = {"threadId": "t-1", **body}
        frames = parse_sse(client.post(f"{W}/agents/{COORDINATOR}/stream", json=body).text)
        messages = client.get(f"{W}/threads/t-1/messages").json()["messages"]
    return frames, messages


# ---------------------------------------------------------------- CH-1


def test_a_prompt_is_stored_with_legacy_messages_false() -> None:
    _, messages = _chat([text("Hi")], {"prompt": "Hello", "metadata": {"source": "ui"}})
    assert (messages[0]["role"], messages[0]["content"]) == ("user", "Hello")
    assert messages[0]["metadata"] == {"legacyMessages": False}


def test_a_prompt_from_the_messages_list_is_stored_with_legacy_messages_true() -> None:
    history = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second"},
    ]
    _, messages = _chat([text("Hi")], {"messages": history})
    assert (messages[0]["content"], messages[0]["metadata"]) == ("second", {"legacyMessages": True})


# ---------------------------------------------------------------- CH-2


def test_assistant_parts_are_appended_in_completion_order() -> None:
    turn = [
        text("Let me "),
        text("check. "),
        tool("c1", "call_agent", "call", args={"agent": "insights", "prompt": "Dig"}),
        sub_agent("insights", "c1", "call"),
        text("nested text stays out"),
        sub_agent("insights", "c1", "result"),
        tool("c1", "call_agent", "result", result={"response": "found"}),
        text("Here it is."),
        {"type": "finish", "finishReason": "stop"},
    ]
    _, messages = _chat(turn, {"prompt": "Go"})
    answer = messages[1]
    assert answer["role"] == "assistant"
    assert answer["content"] == "Let me check. Here it is."
    assert answer["metadata"] == {
        "runId": answer["metadata"]["runId"],
        "parts": [
            {"type": "text", "text": "Let me check. "},
            {"type": "tool-agent", "toolCallId": "c1", "agentName": "insights", "state": "result"},
            {
                "type": "tool-invocation",
                "toolCallId": "c1",
                "toolName": "call_agent",
                "args": {"agent": "insights", "prompt": "Dig"},
                "state": "result",
                "result": {"response": "found"},
            },
            {"type": "text", "text": "Here it is."},
        ],
    }


def test_the_entrypoint_agents_own_lifecycle_does_not_split_the_text() -> None:
    turn = [
        sub_agent(COORDINATOR, "inv-1", "call"),
        text("One "),
        text("answer."),
        sub_agent(COORDINATOR, "inv-1", "result"),
    ]
    _, messages = _chat(turn, {"prompt": "Go"})
    assert messages[1]["metadata"]["parts"] == [{"type": "text", "text": "One answer."}]


def test_calls_still_open_on_cancel_are_appended_last_in_start_order() -> None:
    turn = [
        text("Working. "),
        tool("c1", "call_agent", "call", args={"agent": "insights"}),
        sub_agent("insights", "c1", "call"),
        tool("c2", "search", "call", args={"q": "x"}),
        tool("c2", "search", "result", result=[]),
        tool("c3", "lookup", "call", args={"sku": "A"}),
        WAIT_FOREVER,
    ]
    with client_for(replay_app(ReplayRuntime(turn))) as client:
        body = {"prompt": "Go", "threadId": "t-1", "runId": "run-1"}
        with client.stream("POST", f"{W}/agents/{COORDINATOR}/stream", json=body) as stream:
            lines = stream.iter_lines()
            next(line for line in lines if "lookup" in line)
            client.post(f"{W}/runs/run-1/cancel")
            list(lines)
        answer = client.get(f"{W}/threads/t-1/messages").json()["messages"][1]
    metadata = answer["metadata"]
    assert metadata["status"] == "cancelled"
    assert [
        (p["type"], p.get("toolName", p.get("agentName")), p.get("state"))
        for p in metadata["parts"]
    ] == [
        ("text", None, None),
        ("tool-invocation", "search", "result"),
        ("tool-invocation", "call_agent", "cancelled"),
        ("tool-agent", "insights", "cancelled"),
        ("tool-invocation", "lookup", "cancelled"),
    ]
    assert answer["content"] == "Working. "


# ---------------------------------------------------------------- CH-3


def test_a_runtime_stream_without_cancel_ends_normally_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="flowai_harness.studio"):
        frames, messages = _chat([text("Plain generator.")], {"prompt": "Go"})
    assert frames[-1]["event"] == "run.completed"
    assert messages[1]["content"] == "Plain generator."
    assert [r.getMessage() for r in caplog.records if r.name.startswith("flowai_harness")] == []
