"""Tests for the runtime -> Studio event mapping (src/flowai_harness/studio/events_map.py)."""

from __future__ import annotations

from typing import Any

from flowai_harness.studio.events_map import (
    AssistantTranscript,
    ChatEventMapper,
    StudioEvent,
    envelope,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _tool(call_id: str, name: str, state: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "tool-invocation",
        "toolInvocationId": call_id,
        "toolName": name,
        "args": extra.pop("args", {}),
        "state": state,
        **extra,
    }


def _agent(name: str, call_id: str, state: str) -> dict[str, Any]:
    return {"type": "tool-agent", "agentName": name, "toolInvocationId": call_id, "state": state}


def _map_all(mapper: ChatEventMapper, raws: list[dict[str, Any]]) -> list[StudioEvent]:
    return [event for raw in raws if (event := mapper.map(raw)) is not None]


def test_text_tool_calls_and_finish_map_to_their_kinds() -> None:
    clock = Clock()
    mapper = ChatEventMapper("coord", "t1", clock=clock)
    text = mapper.map({"type": "text", "text": "Hi"})
    assert text == StudioEvent(
        "message.delta", {"role": "assistant", "text": "Hi"}, raw={"type": "text", "text": "Hi"}
    )
    started = mapper.map(_tool("c1", "lookup", "call", args={"sku": "A"}))
    assert started is not None and started.kind == "tool.call.started"
    assert started.payload == {"toolCallId": "c1", "toolName": "lookup", "arguments": {"sku": "A"}}
    clock.now += 0.084
    done = mapper.map(_tool("c1", "lookup", "result", result={"price": 4.5}))
    assert done is not None and done.kind == "tool.call.completed"
    assert done.payload["status"] == "completed"
    assert done.payload["result"] == {"price": 4.5}
    assert done.payload["durationMs"] == 84
    assert done.payload["isError"] is False
    finish = mapper.map(
        {
            "type": "finish",
            "finishReason": "stop",
            "usage": {"promptTokens": 5, "completionTokens": 2},
        }
    )
    assert finish is not None and finish.kind == "runtime.finish"
    other = mapper.map({"type": "step-start"})
    assert other is not None and (other.kind, other.payload) == (
        "runtime.event",
        {"raw": {"type": "step-start"}},
    )
    completed = mapper.completed()
    assert completed.kind == "run.completed" and completed.terminal
    assert completed.payload["raw"]["finishReason"] == "stop"
    assert completed.payload["usage"] == {"inputTokens": 5, "outputTokens": 2}


def test_duplicate_lifecycle_events_are_dropped() -> None:
    mapper = ChatEventMapper("coord", "t1")
    raws = [
        _tool("c1", "lookup", "call"),
        _tool("c1", "lookup", "call"),
        _tool("c1", "lookup", "result", result=1),
        _tool("c1", "lookup", "result", result=1),
    ]
    assert [e.kind for e in _map_all(mapper, raws)] == ["tool.call.started", "tool.call.completed"]


def test_entry_agent_events_are_recorded_but_not_sent() -> None:
    mapper = ChatEventMapper("coord", "t1")
    first = mapper.map(_agent("coord", "inv-1", "call"))
    assert first is not None and first.kind == "sub_agent.call.started" and not first.send
    assert not mapper.nested


def test_nested_sub_agent_text_is_hidden_and_its_errors_are_not_terminal() -> None:
    mapper = ChatEventMapper("coord", "t1")
    events = _map_all(
        mapper,
        [
            _tool("c1", "call_agent", "call", args={"agent": "pricing", "prompt": "price it"}),
            _agent("pricing", "c1", "call"),
            {"type": "text", "text": "nested"},
            {"type": "error", "error": {"message": "tool broke"}},
            _agent("pricing", "c1", "result"),
            {"type": "text", "text": "top"},
        ],
    )
    kinds = [e.kind for e in events]
    assert kinds == [
        "tool.call.started",
        "sub_agent.call.started",
        "runtime.event",
        "runtime.event",
        "sub_agent.call.completed",
        "message.delta",
    ]
    started = events[1]
    assert started.send
    assert started.payload == {
        "toolCallId": "c1",
        "targetAgentId": "pricing",
        "message": "price it",
        "childThreadId": "t1-pricing",
    }
    assert events[4].payload["result"] == {"response": "nested"}


def test_a_top_level_error_fails_the_run_and_request_cancelled_cancels_it() -> None:
    mapper = ChatEventMapper("coord", "t1")
    failed = mapper.map({"type": "error", "error": {"message": "agent failed: x", "code": "max"}})
    assert failed is not None and failed.kind == "run.failed" and failed.terminal
    assert failed.payload == {
        "error": {
            "code": "runtime.error",
            "message": "agent failed: x",
            "retryable": False,
            "details": {"code": "max"},
        }
    }
    cancelled = mapper.map({"type": "error", "error": {"message": "request cancelled"}})
    assert cancelled is not None and cancelled.kind == "run.cancelled"
    assert mapper.failed("boom").payload["error"]["code"] == "studio.stream_error"


def test_approval_events_carry_id_kind_title_and_status() -> None:
    mapper = ChatEventMapper("coord", "t1")
    required = mapper.map(
        {
            "type": "approval-required",
            "data": {
                "id": "a1",
                "kind": "tool",
                "target": "lookup",
                "payload": {"sku": "A"},
                "threadId": "t1-pricing",
                "runUsage": {"totalTokens": 120, "costUsd": 0.0042, "modelCalls": 2},
            },
        }
    )
    assert required is not None and required.kind == "approval.required"
    assert required.payload["approvalId"] == "a1"
    assert required.payload["runUsage"] == {"totalTokens": 120, "costUsd": 0.0042, "modelCalls": 2}
    assert required.payload["kind"] == "tool"
    assert required.payload["title"] == "lookup"
    assert required.payload["toolName"] == "lookup"
    untitled = mapper.map({"type": "approval-required", "data": {"id": "a2"}})
    assert untitled is not None
    assert (untitled.payload["kind"], untitled.payload["title"]) == ("custom", "Approval required")
    decision = mapper.map(
        {"type": "approval-decision", "data": {"id": "a1", "outcome": {"outcome": "reject"}}}
    )
    assert decision is not None and decision.kind == "approval.decision"
    assert decision.payload == {
        "approvalId": "a1",
        "status": "reject",
        "raw": {"id": "a1", "outcome": {"outcome": "reject"}},
    }


def test_envelope_has_the_studio_event_shape() -> None:
    event = StudioEvent("message.delta", {"role": "assistant", "text": "x"})
    wire = envelope(
        event, seq=3, workspace_key="default", run_id="r", thread_id="t", agent_id="coord"
    )
    assert wire == {
        "schemaVersion": "harness-studio/v1",
        "workspaceKey": "default",
        "runId": "r",
        "threadId": "t",
        "agentId": "coord",
        "seq": 3,
        "kind": "message.delta",
        "payload": {"role": "assistant", "text": "x"},
    }


def test_transcript_joins_text_and_keeps_tool_and_agent_parts_in_order() -> None:
    mapper = ChatEventMapper("coord", "t1")
    transcript = AssistantTranscript()
    for event in _map_all(
        mapper,
        [
            _agent("coord", "inv", "call"),
            {"type": "text", "text": "Look"},
            {"type": "text", "text": "ing. "},
            _tool("c1", "call_agent", "call", args={"agent": "pricing", "prompt": "p"}),
            _agent("pricing", "c1", "call"),
            _tool("c2", "lookup", "call", args={"sku": "A"}),
            {"type": "text", "text": "hidden"},
        ],
    ):
        transcript.add(event)
    content, metadata = transcript.message("r1", "cancelled")
    assert content == "Looking. "
    assert metadata["runId"] == "r1" and metadata["status"] == "cancelled"
    parts = metadata["parts"]
    assert [p["type"] for p in parts] == [
        "text",
        "tool-invocation",
        "tool-agent",
        "tool-invocation",
    ]
    assert parts[1]["state"] == "cancelled" and parts[3]["state"] == "cancelled"
    assert parts[2] == {
        "type": "tool-agent",
        "toolCallId": "c1",
        "agentName": "pricing",
        "state": "cancelled",
    }
    completed = AssistantTranscript()
    completed.add(
        StudioEvent("tool.call.completed", {"toolCallId": "x", "toolName": "t", "result": 1})
    )
    assert completed.message("r2")[1]["parts"][0]["state"] == "result"
    assert "status" not in completed.message("r2")[1]
