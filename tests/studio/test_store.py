"""Tests for the Studio store (src/flowai_harness/studio/store.py, store_db.py, store_chat.py,
store_records.py, workspace_store.py): the server's coroutine view, what only the server uses
(sent-only replays, approval expiry, run limits), migrations of older files and failures.

The keyword-only synchronous API is pinned fact by fact in tests/compat.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from flowai_harness.errors import SpecValueError, StoreError
from flowai_harness.studio.store import StudioStore, thread_title, utc_now
from flowai_harness.studio.store_chat import run_status
from flowai_harness.studio.store_db import SCHEMA_VERSION


async def test_the_server_view_and_the_keyword_api_share_one_database() -> None:
    store = StudioStore()
    ws = store.workspace("app", "default")
    await ws.append_message("t1", "user", "from the server")
    store.append_message(
        app_id="app", workspace_key="default", thread_id="t1", role="assistant", content="hi"
    )
    assert [m["content"] for m in await ws.list_messages("t1")] == ["from the server", "hi"]
    listed = store.list_messages(app_id="app", workspace_key="default", thread_id="t1")
    assert [m["role"] for m in listed] == ["user", "assistant"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", listed[0]["createdAt"])


def test_thread_title_cuts_long_prompts_to_80_characters() -> None:
    assert thread_title("short") == "short"
    assert thread_title("a" * 80) == "a" * 80
    assert thread_title("a" * 81) == "a" * 77 + "..."
    assert thread_title("two\n  lines") == "two lines"


async def test_a_message_creates_its_thread_titled_by_the_message() -> None:
    ws = StudioStore().workspace("app", "default")
    await ws.append_message("t9", "user", "x" * 100)
    assert (await ws.get_thread("t9"))["title"] == "x" * 77 + "..."


@pytest.mark.parametrize(
    ("kind", "status"),
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
        ("message.delta", "running"),
    ],
)
def test_run_status_follows_the_last_event_kind(kind: str, status: str) -> None:
    assert run_status(kind) == status


async def test_replays_read_only_the_events_the_browser_was_sent() -> None:
    ws = StudioStore().workspace("app", "default")
    for seq in (1, 2, 3):
        await ws.append_run_event(
            thread_id="t", run_id="r", seq=seq, kind="k", event={"seq": seq}, sent=seq != 2
        )
    assert [e["seq"] for e in await ws.list_run_events("r", sent_only=True)] == [1, 3]
    assert [e["seq"] for e in await ws.list_run_events("r", 1, sent_only=True)] == [3]


async def test_runs_are_listed_most_recent_first_up_to_a_limit() -> None:
    ws = StudioStore().workspace("app", "default")
    for run_id in ("r1", "r2", "r3"):
        await ws.append_run_event(
            thread_id="t", run_id=run_id, seq=1, kind="run.completed", event={}
        )
    assert [r["runId"] for r in await ws.list_runs(2)] == ["r3", "r2"]


async def test_a_runs_pending_approvals_expire_and_answered_ones_stay() -> None:
    ws = StudioStore().workspace("app", "default")
    for approval_id in ("a1", "a2"):
        await ws.upsert_approval_ref(
            thread_id="t", run_id="r1", approval_id=approval_id, payload={}
        )
    await ws.update_approval_ref("a1", "approve")
    assert await ws.expire_pending_approvals("r1") == 1
    assert (await ws.get_approval("a1"))["status"] == "approve"
    assert (await ws.get_approval("a2"))["status"] == "expired"
    with pytest.raises(KeyError):
        await ws.update_approval_ref("missing", "approve")


async def test_a_revision_keeps_its_feedback_on_the_approval_row() -> None:
    ws = StudioStore().workspace("app", "default")
    await ws.upsert_approval_ref(
        thread_id="t", run_id="r1", approval_id="a1", payload={"title": "Run tool lookup"}
    )
    await ws.update_approval_ref("a1", "revise", "use the EU price list")
    # The run's own decision event later sets the status again, without feedback.
    await ws.update_approval_ref("a1", "revise")
    row = await ws.get_approval("a1")
    assert row["status"] == "revise"
    assert row["payload"] == {"title": "Run tool lookup", "feedback": "use the EU price list"}


async def test_state_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / ".flowai" / "studio.db"
    store = StudioStore(path)
    ws = store.workspace("app", "default")
    await ws.append_message("t1", "user", "persist me")
    await ws.append_run_event(thread_id="t1", run_id="r1", seq=1, kind="run.completed", event={})
    store.close()
    reopened = StudioStore(path).workspace("app", "default")
    assert [m["content"] for m in await reopened.list_messages("t1")] == ["persist me"]
    assert (await reopened.get_run("r1"))["status"] == "completed"


def _columns(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute("PRAGMA table_info(run_events)")]
    finally:
        conn.close()


async def test_a_file_from_an_earlier_version_is_migrated_to_the_current_columns(
    tmp_path: Path,
) -> None:
    # The run_events table as the first Studio release of this package wrote it.
    path = tmp_path / "studio.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE run_events (id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, "
        "workspace_key TEXT NOT NULL, thread_id TEXT NOT NULL, run_id TEXT NOT NULL, "
        "seq INTEGER NOT NULL, kind TEXT NOT NULL, operation TEXT NOT NULL DEFAULT 'chat', "
        "agent_id TEXT NOT NULL DEFAULT '', envelope TEXT NOT NULL, raw TEXT NOT NULL, "
        "created_at TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 1)"
    )
    conn.execute(
        "INSERT INTO run_events (app_id, workspace_key, thread_id, run_id, seq, kind, operation, "
        "agent_id, envelope, raw, created_at, sent) VALUES ('app', 'default', 't', 'old', 1, "
        "'message.delta', 'chat', 'coord', '{\"seq\": 1}', '{\"type\": \"text\"}', ?, 0)",
        (utc_now(),),
    )
    conn.commit()
    conn.close()
    store = StudioStore(path)
    ws = store.workspace("app", "default")
    events = await ws.list_run_events("old")
    assert [(e["event"], e["raw"]) for e in events] == [({"seq": 1}, {"type": "text"})]
    assert await ws.list_run_events("old", sent_only=True) == []
    assert (await ws.get_run("old"))["agentId"] == "coord"
    await ws.append_run_event(thread_id="t", run_id="old", seq=2, kind="run.completed", event={})
    assert (await ws.get_run("old"))["status"] == "completed"
    store.close()
    columns = _columns(path)
    assert {"event_json", "raw_json"} <= set(columns)
    assert not {"envelope", "raw"} & set(columns)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    StudioStore(path).close()  # migrating twice is a no-op


async def test_a_closed_store_refuses_work_and_bad_arguments_are_named(tmp_path: Path) -> None:
    store = StudioStore(tmp_path / "s.db")
    ws = store.workspace("app", "default")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        await ws.list_threads()
    with pytest.raises(SpecValueError, match="workspace_key"):
        store.workspace("app", "")
    with pytest.raises(SpecValueError, match="app_id"):
        store.list_threads(app_id="", workspace_key="default")
    with pytest.raises(TypeError, match="path"):
        StudioStore(42)  # type: ignore[arg-type]
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="cannot open"):
        StudioStore(tmp_path / "dir.db")
