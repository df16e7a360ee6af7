"""Compatibility of ``StudioStore``: a synchronous, keyword-only store scoped by app and
workspace, where a missing row raises ``KeyError`` (one test per behaviour)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.studio import StudioStore
from flowai_harness.studio.store_db import utc_now

APP = {"app_id": "inventory", "workspace_key": "acme"}
OTHER_WORKSPACE = {"app_id": "inventory", "workspace_key": "beta"}
OTHER_APP = {"app_id": "pricing", "workspace_key": "acme"}


def _next_tick() -> None:
    """Wait (polling, with a deadline) until the store clock has moved on."""
    start = utc_now()
    deadline = time.monotonic() + 5
    while utc_now() == start:
        assert time.monotonic() < deadline, "the clock did not move"


@pytest.fixture
def store() -> Any:
    opened = StudioStore()
    yield opened
    opened.close()


# ---------------------------------------------------------------- ST-1 construction


def test_store_without_a_path_keeps_rows_in_memory() -> None:
    store = StudioStore()
    store.upsert_thread(**APP, thread_id="t1", title="Hello")
    assert store.path is None
    assert [t["threadId"] for t in store.list_threads(**APP)] == ["t1"]
    store.close()
    assert [t["threadId"] for t in StudioStore().list_threads(**APP)] == []


@pytest.mark.parametrize("as_keyword", [False, True])
def test_store_with_a_path_writes_a_sqlite_file_creating_its_directory(
    tmp_path: Path, as_keyword: bool
) -> None:
    path = str(tmp_path / "nested" / ".flowai" / "studio.db")
    store = StudioStore(path=path) if as_keyword else StudioStore(path)
    store.upsert_thread(**APP, thread_id="t1", title="Kept")
    store.close()
    reopened = StudioStore(path)
    assert reopened.get_thread(**APP, thread_id="t1")["title"] == "Kept"
    reopened.close()


def test_store_methods_take_keyword_arguments_only(store: StudioStore) -> None:
    with pytest.raises(TypeError):
        store.list_threads("inventory", "acme")  # type: ignore[misc]


def test_rows_of_one_workspace_are_invisible_to_other_workspaces_and_apps(
    store: StudioStore,
) -> None:
    store.upsert_thread(**APP, thread_id="t1", title="Mine")
    store.append_message(**APP, thread_id="t1", role="user", content="hi")
    store.append_run_event(
        **APP, thread_id="t1", run_id="r1", seq=1, kind="run.completed", event={}
    )
    store.upsert_trace(**APP, trace={"traceId": "trace-1", "scope": {}})
    store.upsert_approval_ref(**APP, thread_id="t1", run_id="r1", approval_id="a1", payload={})
    store.upsert_test_case(**APP, test_case_id="tc-1", payload={"id": "tc-1"})
    store.upsert_eval_run(**APP, eval_id="e1", config={}, test_case_ids=[])
    store.append_eval_artifact(**APP, eval_id="e1", run_id="run-1", artifact={})
    for foreign in (OTHER_WORKSPACE, OTHER_APP):
        assert store.list_threads(**foreign) == []
        assert store.list_messages(**foreign, thread_id="t1") == []
        assert store.list_runs(**foreign) == []
        assert store.list_traces(**foreign) == []
        assert store.list_approvals(**foreign) == []
        assert store.list_test_cases(**foreign) == []
        assert store.list_eval_runs(**foreign) == []
        assert store.list_eval_artifacts(**foreign, eval_id="e1") == []
        lookups = [
            lambda f=foreign: store.get_thread(**f, thread_id="t1"),
            lambda f=foreign: store.get_run(**f, run_id="r1"),
            lambda f=foreign: store.get_trace(**f, trace_id="trace-1"),
            lambda f=foreign: store.get_approval(**f, approval_id="a1"),
            lambda f=foreign: store.get_test_case(**f, test_case_id="tc-1"),
            lambda f=foreign: store.get_eval_run(**f, eval_id="e1"),
            lambda f=foreign: store.get_eval_artifact(**f, eval_id="e1", run_id="run-1"),
        ]
        for lookup in lookups:
            with pytest.raises(KeyError):
                lookup()


# ---------------------------------------------------------------- ST-2 threads


def test_upsert_thread_returns_the_row_and_keeps_an_existing_title(store: StudioStore) -> None:
    first = store.upsert_thread(**APP, thread_id="t1", title="First title")
    assert set(first) == {"threadId", "title", "createdAt", "updatedAt"}
    assert (first["threadId"], first["title"]) == ("t1", "First title")
    again = store.upsert_thread(**APP, thread_id="t1", title="Another title")
    assert again["title"] == "First title"
    assert again["createdAt"] == first["createdAt"]
    assert again["updatedAt"] >= first["updatedAt"]


def test_threads_are_listed_most_recently_updated_first(store: StudioStore) -> None:
    for thread_id in ("t1", "t2", "t3"):
        store.upsert_thread(**APP, thread_id=thread_id, title=thread_id)
        _next_tick()
    store.touch_thread(**APP, thread_id="t1")
    assert [t["threadId"] for t in store.list_threads(**APP)] == ["t1", "t3", "t2"]


def test_get_touch_and_delete_of_a_missing_thread_raise_key_error(store: StudioStore) -> None:
    for call in (store.get_thread, store.touch_thread, store.delete_thread):
        with pytest.raises(KeyError):
            call(**APP, thread_id="nope")


def test_deleting_a_thread_removes_its_messages_events_approvals_and_traces(
    store: StudioStore,
) -> None:
    store.upsert_thread(**APP, thread_id="t1", title="Doomed")
    store.append_message(**APP, thread_id="t1", role="user", content="hi")
    store.append_run_event(**APP, thread_id="t1", run_id="r1", seq=1, kind="text", event={})
    store.upsert_approval_ref(**APP, thread_id="t1", run_id="r1", approval_id="a1", payload={})
    store.upsert_trace(**APP, trace={"traceId": "trace-1", "scope": {"threadId": "t1"}})
    store.upsert_test_case(**APP, test_case_id="tc-1", payload={"id": "tc-1"})
    assert store.delete_thread(**APP, thread_id="t1") is None
    assert store.list_messages(**APP, thread_id="t1") == []
    assert store.list_thread_run_events(**APP, thread_id="t1") == []
    assert store.list_approvals(**APP) == []
    assert store.list_traces(**APP) == []
    assert store.get_test_case(**APP, test_case_id="tc-1")["id"] == "tc-1"
    with pytest.raises(KeyError):
        store.get_run(**APP, run_id="r1")


# ---------------------------------------------------------------- ST-3 messages


def test_append_message_returns_the_row_with_empty_metadata_by_default(
    store: StudioStore,
) -> None:
    store.upsert_thread(**APP, thread_id="t1", title="Chat")
    row = store.append_message(**APP, thread_id="t1", role="user", content="hello")
    assert set(row) == {"messageId", "threadId", "role", "content", "metadata", "createdAt"}
    assert (row["threadId"], row["role"], row["content"], row["metadata"]) == (
        "t1",
        "user",
        "hello",
        {},
    )
    with_metadata = store.append_message(
        **APP, thread_id="t1", role="assistant", content="hi", metadata={"runId": "r1"}
    )
    assert with_metadata["metadata"] == {"runId": "r1"}


def test_messages_are_listed_oldest_first_and_bump_their_thread(store: StudioStore) -> None:
    store.upsert_thread(**APP, thread_id="t1", title="Old")
    store.upsert_thread(**APP, thread_id="t2", title="New")
    _next_tick()
    for content in ("one", "two", "three"):
        store.append_message(**APP, thread_id="t1", role="user", content=content)
    assert [m["content"] for m in store.list_messages(**APP, thread_id="t1")] == [
        "one",
        "two",
        "three",
    ]
    assert store.list_threads(**APP)[0]["threadId"] == "t1"


# ---------------------------------------------------------------- ST-4 run events


def test_run_events_are_listed_by_seq_with_their_envelope_and_raw_event(
    store: StudioStore,
) -> None:
    for seq in (2, 1, 3):
        store.append_run_event(
            **APP,
            thread_id="t1",
            run_id="r1",
            seq=seq,
            kind="message.delta",
            event={"seq": seq, "kind": "message.delta"},
            raw_event={"type": "text", "n": seq},
        )
    events = store.list_run_events(**APP, run_id="r1")
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert set(events[0]) == {"seq", "kind", "event", "raw", "createdAt"}
    assert events[0]["event"] == {"seq": 1, "kind": "message.delta"}
    assert events[0]["raw"] == {"type": "text", "n": 1}
    assert [e["seq"] for e in store.list_run_events(**APP, run_id="r1", since_seq=1)] == [2, 3]


def test_a_run_event_without_a_raw_event_reads_back_an_empty_raw(store: StudioStore) -> None:
    assert (
        store.append_run_event(
            **APP, thread_id="t1", run_id="r1", seq=1, kind="run.completed", event={"seq": 1}
        )
        is None
    )
    assert store.list_run_events(**APP, run_id="r1")[0]["raw"] == {}


def test_thread_run_events_come_in_insertion_order_across_runs(store: StudioStore) -> None:
    for run_id, seq in (("r1", 1), ("r2", 1), ("r1", 2)):
        store.append_run_event(
            **APP, thread_id="t1", run_id=run_id, seq=seq, kind=f"{run_id}-{seq}", event={}
        )
    kinds = [e["kind"] for e in store.list_thread_run_events(**APP, thread_id="t1")]
    assert kinds == ["r1-1", "r2-1", "r1-2"]


# ---------------------------------------------------------------- ST-5 runs


def test_a_run_row_is_computed_from_its_first_and_last_events(store: StudioStore) -> None:
    store.append_run_event(
        **APP,
        thread_id="eval:e1",
        run_id="r1",
        seq=1,
        kind="evalStarted",
        event={},
        operation="eval",
        agent_id="coordinator",
    )
    store.append_run_event(**APP, thread_id="eval:e1", run_id="r1", seq=2, kind="x", event={})
    store.append_run_event(
        **APP, thread_id="eval:e1", run_id="r1", seq=3, kind="evalCompleted", event={}
    )
    run = store.get_run(**APP, run_id="r1")
    assert {
        "runId",
        "operation",
        "threadId",
        "agentId",
        "status",
        "firstSeq",
        "lastSeq",
        "eventCount",
        "createdAt",
        "updatedAt",
    } <= set(run)
    assert (run["runId"], run["operation"], run["threadId"], run["agentId"]) == (
        "r1",
        "eval",
        "eval:e1",
        "coordinator",
    )
    assert (run["status"], run["firstSeq"], run["lastSeq"], run["eventCount"]) == (
        "completed",
        1,
        3,
        3,
    )


def test_a_run_without_operation_or_agent_is_a_chat_run_with_an_empty_agent(
    store: StudioStore,
) -> None:
    store.append_run_event(**APP, thread_id="t1", run_id="r1", seq=1, kind="text", event={})
    run = store.get_run(**APP, run_id="r1")
    assert (run["operation"], run["agentId"], run["status"]) == ("chat", "", "running")


@pytest.mark.parametrize(
    ("last_kind", "status"),
    [
        ("run.completed", "completed"),
        ("evalCompleted", "completed"),
        ("runtime.finish", "completed"),
        ("finish", "completed"),
        ("completed", "completed"),
        ("run.failed", "failed"),
        ("evalFailed", "failed"),
        ("error", "failed"),
        ("run.cancelled", "cancelled"),
        ("evalCancelled", "cancelled"),
        ("approval.required", "running"),
        ("tool.call.started", "running"),
    ],
)
def test_run_status_comes_from_the_kind_of_the_last_event(
    store: StudioStore, last_kind: str, status: str
) -> None:
    store.append_run_event(**APP, thread_id="t1", run_id="r1", seq=1, kind="text", event={})
    store.append_run_event(**APP, thread_id="t1", run_id="r1", seq=2, kind=last_kind, event={})
    assert store.get_run(**APP, run_id="r1")["status"] == status


def test_runs_are_listed_most_recent_first_and_a_missing_run_raises(store: StudioStore) -> None:
    for run_id in ("r1", "r2"):
        store.append_run_event(**APP, thread_id="t", run_id=run_id, seq=1, kind="k", event={})
    assert [r["runId"] for r in store.list_runs(**APP)] == ["r2", "r1"]
    with pytest.raises(KeyError):
        store.get_run(**APP, run_id="nope")


# ---------------------------------------------------------------- ST-6 traces


TRACE = {
    "traceId": "trace-1",
    "workspaceId": "acme",
    "stage": "runtime",
    "status": "completed",
    "scope": {
        "evalRunId": "eval-run-1",
        "testCaseId": "tc-1",
        "threadId": "eval-run-1-tc-1-0",
        "sampleIndex": 0,
    },
    "steps": [],
}


def test_a_trace_is_indexed_by_the_ids_of_its_scope_and_returned_verbatim(
    store: StudioStore,
) -> None:
    row = store.upsert_trace(**APP, trace=TRACE)
    assert row["traceId"] == "trace-1"
    assert (row["evalRunId"], row["testCaseId"], row["threadId"], row["sampleIndex"]) == (
        "eval-run-1",
        "tc-1",
        "eval-run-1-tc-1-0",
        0,
    )
    assert row["trace"] == TRACE
    assert {"createdAt", "updatedAt"} <= set(row)
    assert store.get_trace(**APP, trace_id="trace-1")["trace"] == TRACE


def test_traces_are_filtered_by_eval_run_test_case_and_thread(store: StudioStore) -> None:
    store.upsert_trace(**APP, trace=TRACE)
    other = {**TRACE, "traceId": "trace-2", "scope": {**TRACE["scope"], "testCaseId": "tc-2"}}
    store.upsert_trace(**APP, trace=other)

    def ids(**filters: str) -> list[str]:
        return [t["traceId"] for t in store.list_traces(**APP, **filters)]

    assert ids() == ["trace-1", "trace-2"]
    assert ids(eval_run_id="eval-run-1", test_case_id="tc-2") == ["trace-2"]
    assert ids(thread_id="eval-run-1-tc-1-0") == ["trace-1", "trace-2"]
    assert ids(eval_run_id="other") == []


def test_a_trace_without_trace_id_is_refused(store: StudioStore) -> None:
    with pytest.raises(ValueError, match="trace must include traceId"):
        store.upsert_trace(**APP, trace={"scope": {}})


def test_a_missing_trace_raises_key_error(store: StudioStore) -> None:
    with pytest.raises(KeyError):
        store.get_trace(**APP, trace_id="nope")


# ---------------------------------------------------------------- ST-7 approvals


def test_an_approval_ref_is_recorded_pending_and_re_recording_changes_only_its_payload(
    store: StudioStore,
) -> None:
    row = store.upsert_approval_ref(
        **APP, thread_id="t1", run_id="r1", approval_id="a1", payload={"v": 1}
    )
    assert set(row) == {
        "approvalId",
        "threadId",
        "runId",
        "status",
        "payload",
        "createdAt",
        "updatedAt",
    }
    assert (row["approvalId"], row["threadId"], row["runId"], row["status"]) == (
        "a1",
        "t1",
        "r1",
        "pending",
    )
    store.update_approval_ref(**APP, approval_id="a1", status="approve")
    store.upsert_approval_ref(
        **APP, thread_id="t9", run_id="r9", approval_id="a1", payload={"v": 2}
    )
    again = store.get_approval(**APP, approval_id="a1")
    assert (again["status"], again["payload"], again["threadId"], again["runId"]) == (
        "approve",
        {"v": 2},
        "t1",
        "r1",
    )


def test_approvals_are_listed_pending_first_then_most_recently_updated(
    store: StudioStore,
) -> None:
    for approval_id in ("a1", "a2", "a3"):
        store.upsert_approval_ref(
            **APP, thread_id="t", run_id="r", approval_id=approval_id, payload={}
        )
    store.update_approval_ref(**APP, approval_id="a1", status="reject")
    _next_tick()
    store.update_approval_ref(**APP, approval_id="a3", status="approve")
    assert [a["approvalId"] for a in store.list_approvals(**APP)] == ["a2", "a3", "a1"]


def test_a_missing_approval_raises_key_error(store: StudioStore) -> None:
    with pytest.raises(KeyError):
        store.get_approval(**APP, approval_id="nope")
    with pytest.raises(KeyError):
        store.update_approval_ref(**APP, approval_id="nope", status="approve")


# ---------------------------------------------------------------- ST-8 test cases


def test_a_test_case_is_stored_as_given_and_updated_in_place(store: StudioStore) -> None:
    payload = {"id": "tc-1", "input": "Hi", "tags": ["a"], "expectedTrajectory": None}
    row = store.upsert_test_case(**APP, test_case_id="tc-1", payload=payload)
    assert set(row) == {"id", "testCase", "createdAt", "updatedAt"}
    assert (row["id"], row["testCase"]) == ("tc-1", payload)
    updated = store.upsert_test_case(
        **APP, test_case_id="tc-1", payload={**payload, "input": "Hello"}
    )
    assert updated["createdAt"] == row["createdAt"]
    assert [t["testCase"]["input"] for t in store.list_test_cases(**APP)] == ["Hello"]
    assert store.get_test_case(**APP, test_case_id="tc-1")["testCase"]["input"] == "Hello"


def test_deleting_a_test_case_and_a_missing_one(store: StudioStore) -> None:
    store.upsert_test_case(**APP, test_case_id="tc-1", payload={"id": "tc-1"})
    assert store.delete_test_case(**APP, test_case_id="tc-1") is None
    for call in (store.get_test_case, store.delete_test_case):
        with pytest.raises(KeyError):
            call(**APP, test_case_id="tc-1")


# ---------------------------------------------------------------- ST-9 eval runs


def test_an_eval_run_starts_created_and_returns_its_config_as_given(store: StudioStore) -> None:
    config = {"mode": "specialist", "targetAgentId": "insights", "samplesPerCase": 2}
    row = store.upsert_eval_run(**APP, eval_id="e1", config=config, test_case_ids=["a", "b"])
    assert {"id", "config", "testCaseIds", "status", "createdAt", "updatedAt"} <= set(row)
    assert (row["id"], row["config"], row["testCaseIds"], row["status"]) == (
        "e1",
        config,
        ["a", "b"],
        "created",
    )
    assert store.get_eval_run(**APP, eval_id="e1")["config"] == config
    assert [e["id"] for e in store.list_eval_runs(**APP)] == ["e1"]


def test_an_eval_run_status_update_and_a_missing_eval(store: StudioStore) -> None:
    store.upsert_eval_run(**APP, eval_id="e1", config={}, test_case_ids=[])
    store.update_eval_run_status(**APP, eval_id="e1", status="running")
    assert store.get_eval_run(**APP, eval_id="e1")["status"] == "running"
    with pytest.raises(KeyError):
        store.update_eval_run_status(**APP, eval_id="nope", status="running")
    with pytest.raises(KeyError):
        store.get_eval_run(**APP, eval_id="nope")


def test_deleting_an_eval_run_deletes_its_artifacts(store: StudioStore) -> None:
    store.upsert_eval_run(**APP, eval_id="e1", config={}, test_case_ids=[])
    store.append_eval_artifact(**APP, eval_id="e1", run_id="run-1", artifact={"runId": "run-1"})
    assert store.delete_eval_run(**APP, eval_id="e1") is None
    assert store.list_eval_artifacts(**APP, eval_id="e1") == []
    with pytest.raises(KeyError):
        store.delete_eval_run(**APP, eval_id="e1")


# ---------------------------------------------------------------- ST-10 eval artifacts


def test_an_eval_artifact_row_and_the_same_run_overwriting_it(store: StudioStore) -> None:
    row = store.append_eval_artifact(
        **APP, eval_id="e1", run_id="run-1", artifact={"summary": {"passRate": 0.5}}
    )
    assert set(row) == {"evalId", "runId", "artifact", "createdAt"}
    assert (row["evalId"], row["runId"]) == ("e1", "run-1")
    store.append_eval_artifact(
        **APP, eval_id="e1", run_id="run-1", artifact={"summary": {"passRate": 1.0}}
    )
    artifacts = store.list_eval_artifacts(**APP, eval_id="e1")
    assert [a["artifact"] for a in artifacts] == [{"summary": {"passRate": 1.0}}]
    found = store.get_eval_artifact(**APP, eval_id="e1", run_id="run-1")
    assert found["artifact"] == {"summary": {"passRate": 1.0}}


def test_eval_artifacts_are_listed_oldest_first(store: StudioStore) -> None:
    for run_id in ("run-b", "run-a", "run-c"):
        store.append_eval_artifact(
            **APP, eval_id="e1", run_id=run_id, artifact={"summary": {"id": run_id}}
        )
        _next_tick()
    runs = [a["runId"] for a in store.list_eval_artifacts(**APP, eval_id="e1")]
    assert runs == ["run-b", "run-a", "run-c"]


def test_an_artifact_is_found_by_its_run_and_the_latest_summary_is_the_newest(
    store: StudioStore,
) -> None:
    assert store.latest_eval_summary(**APP, eval_id="e1") is None
    store.append_eval_artifact(**APP, eval_id="e2", run_id="run-9", artifact={"summary": {"n": 1}})
    _next_tick()
    store.append_eval_artifact(**APP, eval_id="e2", run_id="run-1", artifact={"summary": {"n": 2}})
    assert store.get_eval_artifact_by_run(**APP, run_id="run-9")["evalId"] == "e2"
    assert store.latest_eval_summary(**APP, eval_id="e2") == {"n": 2}
    with pytest.raises(KeyError):
        store.get_eval_artifact(**APP, eval_id="e2", run_id="nope")
    with pytest.raises(KeyError):
        store.get_eval_artifact_by_run(**APP, run_id="nope")


# ---------------------------------------------------------------- ST-11 legacy run_events


def test_a_legacy_run_events_table_gains_operation_and_agent_columns(tmp_path: Path) -> None:
    path = tmp_path / "studio.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE run_events (id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, "
        "workspace_key TEXT NOT NULL, thread_id TEXT NOT NULL, run_id TEXT NOT NULL, "
        "seq INTEGER NOT NULL, kind TEXT NOT NULL, event_json TEXT NOT NULL, "
        "raw_json TEXT NOT NULL, created_at TEXT NOT NULL)"
    )
    conn.execute(
        "INSERT INTO run_events (app_id, workspace_key, thread_id, run_id, seq, kind, "
        "event_json, raw_json, created_at) VALUES ('inventory', 'acme', 't1', 'legacy', 1, "
        "'run.completed', '{\"seq\": 1}', '{}', '2026-01-01T00:00:00Z')"
    )
    conn.commit()
    conn.close()
    store = StudioStore(path)
    legacy = store.get_run(**APP, run_id="legacy")
    assert (legacy["operation"], legacy["agentId"], legacy["status"]) == (
        "chat",
        "",
        "completed",
    )
    store.append_run_event(
        **APP,
        thread_id="eval:e1",
        run_id="new",
        seq=1,
        kind="evalStarted",
        event={},
        operation="eval",
        agent_id="coordinator",
    )
    new = store.get_run(**APP, run_id="new")
    assert (new["operation"], new["agentId"], new["status"]) == ("eval", "coordinator", "running")
    assert store.list_run_events(**APP, run_id="legacy")[0]["event"] == {"seq": 1}
    store.close()
