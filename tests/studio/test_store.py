"""Tests for the Studio store (src/flowai_harness/studio/store.py, store_records.py)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from flowai_harness.errors import SpecValueError, StoreError
from flowai_harness.studio.store import StudioStore, thread_title, utc_now
from flowai_harness.studio.store_records import run_status


def _event(seq: int, kind: str) -> dict[str, object]:
    return {"seq": seq, "kind": kind, "payload": {}}


async def test_threads_and_messages_round_trip_newest_thread_first() -> None:
    store = StudioStore()
    ws = store.workspace("app", "default")
    await ws.upsert_thread("t1", "First")
    await ws.upsert_thread("t2", "Second")
    message = await ws.add_message("t1", "user", "hello", {"runId": "r1"})
    assert message["messageId"].startswith("msg_")
    assert message["metadata"] == {"runId": "r1"}
    threads = await ws.list_threads()
    assert {t["threadId"] for t in threads} == {"t1", "t2"}
    await ws.upsert_thread("t1", "Renamed?")
    assert (await ws.get_thread("t1"))["title"] == "First"  # an existing title is kept
    messages = await ws.list_messages("t1")
    assert [(m["role"], m["content"]) for m in messages] == [("user", "hello")]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", messages[0]["createdAt"])


async def test_a_message_creates_its_thread_and_bumps_updated_at() -> None:
    ws = StudioStore().workspace("app", "default")
    await ws.add_message("t9", "user", "x" * 100)
    thread = await ws.get_thread("t9")
    assert thread is not None
    assert thread["title"] == "x" * 77 + "..."


def test_thread_title_cuts_long_prompts_to_80_characters() -> None:
    assert thread_title("short") == "short"
    assert thread_title("a" * 80) == "a" * 80
    assert thread_title("a" * 81) == "a" * 77 + "..."


async def test_workspaces_and_apps_never_see_each_others_rows() -> None:
    store = StudioStore()
    a, b, other_app = (
        store.workspace("app", "default"),
        store.workspace("app", "sales"),
        store.workspace("other", "default"),
    )
    await a.add_message("t1", "user", "mine")
    await a.put_test("tc-1", {"id": "tc-1", "input": "q"})
    await a.append_event(run_id="r1", thread_id="t1", seq=1, kind="run.completed", envelope={})
    for foreign in (b, other_app):
        assert await foreign.list_threads() == []
        assert await foreign.list_messages("t1") == []
        assert await foreign.list_tests() == []
        assert await foreign.list_runs() == []
        assert await foreign.get_run("r1") is None


async def test_runs_are_computed_from_their_events() -> None:
    ws = StudioStore().workspace("app", "default")
    await ws.append_event(
        run_id="r1",
        thread_id="t1",
        seq=1,
        kind="message.delta",
        envelope=_event(1, "x"),
        agent_id="coord",
    )
    run = await ws.get_run("r1")
    assert run is not None
    assert (run["status"], run["operation"], run["agentId"], run["eventCount"]) == (
        "running",
        "chat",
        "coord",
        1,
    )
    assert "completedAt" not in run
    await ws.append_event(run_id="r1", thread_id="t1", seq=2, kind="run.completed", envelope={})
    run = await ws.get_run("r1")
    assert run is not None
    assert (run["status"], run["firstSeq"], run["lastSeq"]) == ("completed", 1, 2)
    assert run["completedAt"] == run["updatedAt"]
    await ws.append_event(
        run_id="job",
        thread_id="data:x",
        seq=1,
        kind="completed",
        envelope={},
        operation="data.profile.table",
    )
    runs = await ws.list_runs()
    assert [r["runId"] for r in runs] == ["job", "r1"]
    assert runs[0]["operation"] == "profile"
    assert runs[0]["operationName"] == "data.profile.table"
    assert runs[0]["status"] == "completed"


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("run.completed", "completed"),
        ("evalCompleted", "completed"),
        ("finish", "completed"),
        ("run.failed", "failed"),
        ("evalFailed", "failed"),
        ("error", "failed"),
        ("run.cancelled", "cancelled"),
        ("evalCancelled", "cancelled"),
        ("approval.required", "waiting"),
        ("message.delta", "running"),
    ],
)
def test_run_status_follows_the_last_event_kind(kind: str, status: str) -> None:
    assert run_status(kind, "chat") == status


async def test_events_list_since_seq_ascending_and_sent_only() -> None:
    ws = StudioStore().workspace("app", "default")
    for seq in (1, 2, 3):
        await ws.append_event(
            run_id="r",
            thread_id="t",
            seq=seq,
            kind="k",
            envelope={"seq": seq},
            raw={"n": seq},
            sent=seq != 2,
        )
    assert [e["seq"] for e in await ws.list_events("r", 1)] == [2, 3]
    assert [e["seq"] for e in await ws.list_events("r", 0, sent_only=True)] == [1, 3]
    assert (await ws.list_events("r"))[0]["raw"] == {"n": 1}


async def test_deleting_a_thread_cascades_to_messages_events_approvals_and_traces() -> None:
    ws = StudioStore().workspace("app", "default")
    await ws.add_message("t1", "user", "hi")
    await ws.append_event(run_id="r1", thread_id="t1", seq=1, kind="k", envelope={})
    await ws.upsert_approval("a1", thread_id="t1", run_id="r1", status="pending", payload={})
    await ws.put_trace({"traceId": "tr1", "threadId": "t1", "steps": []})
    await ws.put_test("tc-1", {"id": "tc-1"})
    assert await ws.delete_thread("t1") is True
    assert await ws.get_thread("t1") is None
    assert await ws.list_messages("t1") == []
    assert await ws.get_run("r1") is None
    assert await ws.get_approval("a1") is None
    assert await ws.get_trace("tr1") is None
    assert await ws.get_test("tc-1") is not None  # tests are not part of a thread
    assert await ws.delete_thread("t1") is False


async def test_approvals_pending_first_and_expiry_of_a_runs_pending_ones() -> None:
    ws = StudioStore().workspace("app", "default")
    await ws.upsert_approval("a1", thread_id="t", run_id="r1", status="approve", payload={})
    await ws.upsert_approval("a2", thread_id="t", run_id="r1", status="pending", payload={"k": 1})
    rows = await ws.list_approvals()
    assert [r["approvalId"] for r in rows] == ["a2", "a1"]
    assert await ws.expire_pending_approvals("r1") == 1
    assert (await ws.get_approval("a2"))["status"] == "expired"
    assert await ws.set_approval_status("missing", "approve") is False


async def test_tests_evals_and_artifacts() -> None:
    ws = StudioStore().workspace("app", "default")
    row, created = await ws.put_test("tc-1", {"id": "tc-1", "input": "q", "tags": ["a"]})
    assert created and row["testCase"]["tags"] == ["a"]
    row2, created2 = await ws.put_test("tc-1", {"id": "tc-1", "input": "q2"})
    assert not created2 and row2["createdAt"] == row["createdAt"]
    assert await ws.delete_test("tc-1") is True
    assert await ws.delete_test("tc-1") is False
    ev = await ws.put_eval(
        "e1",
        config={"mode": "sequential"},
        scorer_preset=None,
        test_case_ids=["a"],
        status="queued",
    )
    assert (ev["config"], ev["testCaseIds"], ev["status"]) == (
        {"mode": "sequential"},
        ["a"],
        "queued",
    )
    await ws.put_artifact("e1", "run-1", {"runId": "run-1", "summary": {"passed": 1}})
    await ws.put_artifact("e1", "run-1", {"runId": "run-1", "summary": {"passed": 2}})
    artifacts = await ws.list_artifacts("e1")
    assert len(artifacts) == 1 and artifacts[0]["artifact"]["summary"] == {"passed": 2}
    assert (await ws.find_artifact("run-1"))["evalId"] == "e1"
    assert await ws.set_eval_status("e1", "completed") is True
    assert await ws.delete_eval("e1") is True
    assert await ws.list_artifacts("e1") == []


async def test_traces_filter_by_every_given_field() -> None:
    ws = StudioStore().workspace("app", "default")
    await ws.put_trace({"traceId": "a", "evalRunId": "e", "testCaseId": "c1", "threadId": "t1"})
    await ws.put_trace(
        {"traceId": "b", "evalRunId": "e", "testCaseId": "c2", "threadId": "t2", "sampleIndex": 1}
    )
    assert [t["traceId"] for t in await ws.list_traces(eval_run_id="e")] == ["a", "b"]
    assert [t["traceId"] for t in await ws.list_traces(test_case_id="c2")] == ["b"]
    row = await ws.get_trace("b")
    assert row is not None and row["sampleIndex"] == 1 and row["trace"]["threadId"] == "t2"


async def test_state_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / ".flowai" / "studio.db"
    store = StudioStore(path)
    ws = store.workspace("app", "default")
    await ws.add_message("t1", "user", "persist me")
    await ws.append_event(run_id="r1", thread_id="t1", seq=1, kind="run.completed", envelope={})
    store.close()
    reopened = StudioStore(path).workspace("app", "default")
    assert [m["content"] for m in await reopened.list_messages("t1")] == ["persist me"]
    run = await reopened.get_run("r1")
    assert run is not None and run["status"] == "completed"


async def test_a_legacy_run_events_table_gains_operation_and_agent_columns(tmp_path: Path) -> None:
    path = tmp_path / "studio.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE run_events (id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, "
        "workspace_key TEXT NOT NULL, thread_id TEXT NOT NULL, run_id TEXT NOT NULL, "
        "seq INTEGER NOT NULL, kind TEXT NOT NULL, envelope TEXT NOT NULL, raw TEXT NOT NULL, "
        "created_at TEXT NOT NULL)"
    )
    conn.execute(
        "INSERT INTO run_events (app_id, workspace_key, thread_id, run_id, seq, kind, envelope, "
        "raw, created_at) VALUES ('app', 'default', 't', 'old', 1, 'run.completed', '{}', "
        "'null', ?)",
        (utc_now(),),
    )
    conn.commit()
    conn.close()
    ws = StudioStore(path).workspace("app", "default")
    run = await ws.get_run("old")
    assert run is not None
    assert (run["operation"], run["agentId"], run["status"]) == ("chat", "", "completed")
    assert [e["seq"] for e in await ws.list_events("old", sent_only=True)] == [1]


async def test_a_closed_store_refuses_work_and_bad_arguments_are_named(tmp_path: Path) -> None:
    store = StudioStore(tmp_path / "s.db")
    ws = store.workspace("app", "default")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        await ws.list_threads()
    with pytest.raises(SpecValueError, match="workspace_key"):
        store.workspace("app", "")
    with pytest.raises(TypeError, match="path"):
        StudioStore(42)  # type: ignore[arg-type]
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="cannot open"):
        StudioStore(tmp_path / "dir.db")
