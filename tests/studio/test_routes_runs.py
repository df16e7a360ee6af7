"""Tests for runs, run events, replay and traces (src/flowai_harness/studio/routes/runs.py)
and for the approval routes (routes/approvals.py)."""

from __future__ import annotations

from pathlib import Path

from flowai_harness.studio import create_studio_app
from flowai_harness.studio.store import StudioStore

from .studio_apps import (
    BackgroundRequest,
    chat_app,
    parse_sse,
    pending_approval,
    studio_client,
    wait_for,
)

W = "/api/workspaces/default"


def test_runs_list_detail_and_events_since_seq() -> None:
    with studio_client(chat_app()) as client:
        client.post(f"{W}/agents/coord/stream", json={"prompt": "hi", "runId": "run_a"})
        runs = client.get(f"{W}/runs").json()["runs"]
        detail = client.get(f"{W}/runs/run_a").json()
        events = client.get(f"{W}/runs/run_a/events").json()
        later = client.get(f"{W}/runs/run_a/events", params={"since_seq": 3}).json()
        missing = client.get(f"{W}/runs/run_zzz")
        missing_events = client.get(f"{W}/runs/run_zzz/events")
    assert [r["runId"] for r in runs] == ["run_a"]
    run = runs[0]
    assert (run["status"], run["operation"], run["agentId"]) == ("completed", "chat", "coord")
    assert run["eventCount"] == len(events["events"]) and run["firstSeq"] == 1
    assert detail["run"] == run and detail["runId"] == "run_a" and detail["startedAt"]
    seqs = [e["seq"] for e in events["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert events["events"][0]["kind"] == "sub_agent.call.started"  # recorded, not sent
    assert events["events"][-1]["event"]["kind"] == "run.completed"
    assert [e["seq"] for e in later["events"]] == seqs[3:]
    for answer in (missing, missing_events):
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "run.not_found"


def test_run_stream_replays_sent_events_after_last_event_id() -> None:
    with studio_client(chat_app()) as client:
        sent = parse_sse(
            client.post(f"{W}/agents/coord/stream", json={"prompt": "hi", "runId": "run_r"}).text
        )
        replay = parse_sse(client.get(f"{W}/runs/run_r/stream").text)
        resumed = parse_sse(
            client.get(f"{W}/runs/run_r/stream", headers={"Last-Event-ID": sent[1]["id"]}).text
        )
        bad = client.get(f"{W}/runs/run_r/stream", headers={"Last-Event-ID": "x"})
        unknown = client.get(f"{W}/runs/run_none/stream")
    assert [f["id"] for f in replay] == [f["id"] for f in sent]
    assert [f["data"] for f in replay] == [f["data"] for f in sent]
    assert [f["id"] for f in resumed] == [f["id"] for f in sent[2:]]
    assert bad.status_code == 400
    assert unknown.status_code == 404


def test_run_stream_follows_a_live_run_to_its_end() -> None:
    with studio_client(chat_app()) as client:
        chat = BackgroundRequest(
            lambda: client.post(
                f"{W}/agents/coord/stream", json={"prompt": "price?", "runId": "run_live"}
            )
        )
        approval = pending_approval(client)
        watcher = BackgroundRequest(lambda: client.get(f"{W}/runs/run_live/stream"))
        run = wait_for(
            lambda: (r := client.get(f"{W}/runs/run_live").json())["status"] == "waiting" and r
        )
        client.post(f"{W}/approvals/{approval['approvalId']}/respond", json={"outcome": "approve"})
        sent = parse_sse(chat.join().text)
        watched = parse_sse(watcher.join().text)
    assert run["status"] == "waiting"
    assert [f["id"] for f in watched] == [f["id"] for f in sent]
    assert watched[-1]["event"] == "run.completed"


def test_approvals_list_get_respond_and_errors() -> None:
    with studio_client(chat_app()) as client:
        chat = BackgroundRequest(
            lambda: client.post(f"{W}/agents/coord/stream", json={"prompt": "price?"})
        )
        approval = pending_approval(client)
        approval_id = approval["approvalId"]
        one = client.get(f"{W}/approvals/{approval_id}").json()
        bad_outcome = client.post(f"{W}/approvals/{approval_id}/respond", json={"outcome": "meh"})
        bad_body = client.post(f"{W}/approvals/{approval_id}/respond", json={"feedback": "x"})
        bad_json = client.post(
            f"{W}/approvals/{approval_id}/respond",
            content=b"{",
            headers={"content-type": "application/json"},
        )
        not_found = client.post(f"{W}/approvals/nope/respond", json={"outcome": "approve"})
        get_missing = client.get(f"{W}/approvals/nope")
        rejected = client.post(
            f"{W}/approvals/{approval_id}/respond",
            json={"decision": "rejected", "reason": "too pricey"},
        ).json()
        again = client.post(f"{W}/approvals/{approval_id}/respond", json={"outcome": "approve"})
        frames = parse_sse(chat.join().text)
        listed = client.get(f"{W}/approvals").json()["approvals"]
        other = client.get("/api/workspaces/sales/approvals").json()["approvals"]
    assert one["approval"]["approvalId"] == approval_id and one["status"] == "pending"
    assert one["kind"] == "tool" and one["title"] == "lookup"
    assert bad_outcome.status_code == 400
    assert bad_outcome.json()["error"]["code"] == "approval.invalid_outcome"
    assert bad_body.json()["error"]["code"] == "approval.invalid_request"
    assert bad_json.json()["error"]["code"] == "approval.invalid_request"
    assert (
        not_found.status_code == 404 and not_found.json()["error"]["code"] == "approval.not_found"
    )
    assert get_missing.status_code == 404
    assert rejected["status"] == "reject"
    assert again.status_code == 409
    decision = next(f for f in frames if f["event"] == "approval.decision")
    assert decision["data"]["payload"]["status"] == "reject"
    assert [a["approvalId"] for a in listed] == [approval_id]
    assert listed[0]["status"] == "reject"
    assert other == []


def test_traces_list_and_get_with_not_found() -> None:
    store = StudioStore()
    app = chat_app()
    store.upsert_trace(
        app_id=app.app_id,
        workspace_key="default",
        trace={
            "traceId": "tr-1",
            "scope": {
                "evalRunId": "eval-x",
                "testCaseId": "c1",
                "threadId": "t1",
                "sampleIndex": 0,
            },
            "steps": [],
            "status": "passed",
        },
    )
    from fastapi.testclient import TestClient

    with TestClient(create_studio_app(app, store=store), base_url="http://127.0.0.1") as client:
        listed = client.get(f"{W}/traces", params={"evalRunId": "eval-x"}).json()["traces"]
        none = client.get(f"{W}/traces", params={"testCaseId": "other"}).json()["traces"]
        one = client.get(f"{W}/traces/tr-1").json()["trace"]
        missing = client.get(f"{W}/traces/nope")
    assert [t["traceId"] for t in listed] == ["tr-1"] and none == []
    assert one["trace"]["status"] == "passed" and one["sampleIndex"] == 0
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "trace.not_found"
    store.close()


def test_history_survives_a_server_restart_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / ".flowai" / "studio.db"
    with studio_client(chat_app(), store_path=path) as client:
        client.post(f"{W}/agents/coord/stream", json={"prompt": "remember", "threadId": "t-keep"})
    with studio_client(chat_app(), store_path=path) as client:
        threads = client.get(f"{W}/threads").json()["threads"]
        messages = client.get(f"{W}/threads/t-keep/messages").json()["messages"]
        runs = client.get(f"{W}/runs").json()["runs"]
    assert [t["threadId"] for t in threads] == ["t-keep"]
    assert [m["content"] for m in messages] == ["remember", "Hello: remember"]
    assert runs[0]["status"] == "completed"
