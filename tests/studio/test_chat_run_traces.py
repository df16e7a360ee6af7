"""The trace route answers a chat run's trace (src/flowai_harness/studio/routes/runs.py): by its
Studio run id, or by the runtime's run id, built from the runtime's run traces."""

from __future__ import annotations

from typing import Any

from .studio_apps import chat_app, studio_client

W = "/api/workspaces/default"


def _names(node: dict[str, Any]) -> list[str]:
    out = [f"{node['type']} {node['name']}"]
    for child in node["children"]:
        out += ["  " + line for line in _names(child)]
    return out


def test_a_chat_run_trace_is_found_by_its_studio_run_id() -> None:
    with studio_client(chat_app()) as client:
        thread = {"threadId": "thread_t1"}
        client.post(f"{W}/agents/coord/stream", json={"prompt": "hi", "runId": "run_a", **thread})
        client.post(
            f"{W}/agents/helper/stream", json={"prompt": "ping", "runId": "run_b", **thread}
        )
        first = client.get(f"{W}/traces/run_a")
        second = client.get(f"{W}/traces/run_b").json()["trace"]
        again = client.get(f"{W}/traces/run_b").json()["trace"]
        listed = client.get(f"{W}/traces", params={"threadId": "thread_t1"}).json()["traces"]
        by_runtime_id = client.get(f"{W}/traces/{second['trace']['runId']}")
        missing = client.get(f"{W}/traces/run_none")
    assert first.status_code == 200
    row = first.json()["trace"]
    trace = row["trace"]
    assert row["traceId"] == trace["traceId"] == "run_a" and row["threadId"] == "thread_t1"
    assert trace["kind"] == "run" and trace["status"] == "completed"
    assert trace["runId"].startswith("run-") and trace["entryAgent"] == "coord"
    assert _names(trace["root"]) == ["run coord", "  agent coord", "    turn turn 1"]

    assert second["trace"]["entryAgent"] == "helper"
    assert second["trace"]["runId"] != trace["runId"]
    assert _names(second["trace"]["root"]) == [
        "run helper",
        "  agent helper",
        "    turn turn 1",
        "      tool echo",
        "    turn turn 2",
    ]
    [tool] = second["trace"]["root"]["children"][0]["children"][0]["children"]
    assert tool["arguments"]["value"] == {"text": "ping"}
    assert again == second  # stored once finished, answered from the store
    assert sorted(t["traceId"] for t in listed) == ["run_a", "run_b"]
    # the runtime's own run id finds the same run
    assert by_runtime_id.status_code == 200
    assert by_runtime_id.json()["trace"]["trace"]["root"] == second["trace"]["root"]
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "trace.not_found"
