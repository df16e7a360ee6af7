"""The UI's protocol module is generated from the Python definitions
(src/flowai_harness/studio/protocol_export.py) and must not go stale; the constants it exports
are the ones the server really produces."""

from __future__ import annotations

import re
from pathlib import Path

from flowai_harness.studio.eval_run import EVAL_EVENT_KINDS
from flowai_harness.studio.events_map import (
    APPROVAL_STATUSES,
    RUN_STATUSES,
    TERMINAL_KINDS,
    UI_ERROR_CODES,
    ChatEventMapper,
    StudioEventKind,
)
from flowai_harness.studio.protocol_export import DEFAULT_OUTPUT, main, render_protocol

from .studio_apps import chat_app, pending_approval, studio_client

STUDIO_SOURCES = Path(__file__).resolve().parents[2] / "src" / "flowai_harness" / "studio"
W = "/api/workspaces/default"


def test_the_committed_protocol_module_is_the_generated_one() -> None:
    assert DEFAULT_OUTPUT.is_file(), f"{DEFAULT_OUTPUT} is missing"
    assert DEFAULT_OUTPUT.read_text(encoding="utf-8") == render_protocol(), (
        "studio-ui/src/protocol.gen.ts is stale: run "
        "`python -m flowai_harness.studio.protocol_export` and rebuild the UI"
    )


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    target = tmp_path / "protocol.gen.ts"
    assert main(["--output", str(target), "--check"]) == 1
    assert main(["--output", str(target)]) == 0
    assert main(["--output", str(target), "--check"]) == 0
    target.write_text(target.read_text() + "// edited\n")
    assert main(["--output", str(target), "--check"]) == 1


def test_every_kind_the_chat_mapper_emits_is_exported() -> None:
    raw_events = [
        {"type": "text", "text": "hi"},
        {"type": "tool-invocation", "toolInvocationId": "t1", "toolName": "x", "state": "call"},
        {"type": "tool-invocation", "toolInvocationId": "t1", "toolName": "x", "state": "result"},
        {"type": "tool-invocation", "toolInvocationId": "t2", "toolName": "x", "state": "odd"},
        {"type": "tool-agent", "agentName": "a", "toolInvocationId": "s1", "state": "call"},
        {"type": "tool-agent", "agentName": "a", "toolInvocationId": "s1", "state": "result"},
        {"type": "tool-agent", "agentName": "a", "toolInvocationId": "s2", "state": "odd"},
        {"type": "approval-required", "data": {"id": "ap1", "kind": "tool", "target": "x"}},
        {"type": "approval-decision", "data": {"id": "ap1", "outcome": {"outcome": "revise"}}},
        {"type": "plan-status-change", "data": {"planId": "p", "from": "draft", "to": "approved"}},
        {"type": "finish", "finishReason": "stop", "usage": {}},
        {"type": "error", "error": {"message": "boom"}},
    ]
    mapper = ChatEventMapper("coord", "thread-1")
    kinds = {event.kind for event in map(mapper.map, raw_events) if event is not None}
    kinds |= {mapper.completed().kind, mapper.failed("x").kind, mapper.cancelled().kind}
    exported = {kind.value for kind in StudioEventKind}
    assert kinds <= exported
    assert kinds == exported  # and nothing exported is dead
    assert {"run.completed", "run.failed", "run.cancelled"} == set(TERMINAL_KINDS)
    assert "run.aborted" not in render_protocol()


def test_eval_envelope_types_cover_the_eval_stream_vocabulary() -> None:
    from flowai_harness.specs.evals import EvalEventType

    assert set(EVAL_EVENT_KINDS) == set(EvalEventType.__args__)  # type: ignore[attr-defined]


def test_statuses_seen_on_a_real_chat_are_exported() -> None:
    with studio_client(chat_app()) as client:
        client.post(f"{W}/agents/coord/stream", json={"prompt": "hi", "runId": "run_a"})
        done = client.get(f"{W}/runs/run_a").json()["status"]
        with client.stream(
            "POST", f"{W}/agents/coord/stream", json={"prompt": "price?", "runId": "run_b"}
        ):
            row = pending_approval(client)
            waiting = client.get(f"{W}/runs/run_b").json()["status"]
            client.post(f"{W}/approvals/{row['approvalId']}/respond", json={"outcome": "revise"})
        decided = client.get(f"{W}/approvals/{row['approvalId']}").json()["approval"]["status"]
    assert {done, waiting} <= set(RUN_STATUSES)
    assert {row["status"], decided} <= set(APPROVAL_STATUSES)
    assert decided == "revise"


def test_every_error_code_the_ui_reacts_to_is_produced_by_the_server() -> None:
    declared_in = {"events_map.py", "protocol_export.py"}
    source = "\n".join(
        path.read_text() for path in STUDIO_SOURCES.rglob("*.py") if path.name not in declared_in
    )
    not_found_kinds = set(re.findall(r'not_found\(\s*[\w.]+,\s*"(\w+)"', source))
    for code in UI_ERROR_CODES:
        kind, _, rest = code.partition(".")
        assert f'"{code}"' in source or (rest == "not_found" and kind in not_found_kinds), code
