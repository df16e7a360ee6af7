"""The Studio on a real uvicorn server (src/flowai_harness/studio/server.py): SSE read as it
streams, a browser that disconnects leaves its run going (re-attach with Last-Event-ID), and
the Host check of ``run_studio_server``. Loopback only."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from flowai_harness.errors import ConfigurationError, SpecValueError
from flowai_harness.studio.server import studio_server
from flowai_harness.studio.store import StudioStore

from .studio_apps import chat_app, wait_for

W = "/api/workspaces/default"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    server = studio_server(
        chat_app(),
        host="127.0.0.1",
        port=port,
        store_path=tmp_path / "studio.db",
        log_level="warning",
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive()


def _events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    frame: dict[str, Any] = {}
    for line in response.iter_lines():
        if not line:
            if frame:
                yield frame
            frame = {}
            continue
        field, _, value = line.partition(": ")
        frame[field] = json.loads(value) if field == "data" else value


def test_events_arrive_while_the_run_is_still_going_and_approval_resumes_it(
    live_url: str,
) -> None:
    with httpx.Client(base_url=live_url, timeout=10) as client:
        with client.stream(
            "POST", f"{W}/agents/coord/stream", json={"prompt": "price?", "runId": "run_live1"}
        ) as response:
            seen = []
            for frame in _events(response):
                seen.append(frame["event"])
                if frame["event"] == "approval.required":
                    # the run is waiting: we got this event before the stream ended
                    approval_id = frame["data"]["payload"]["approvalId"]
                    answer = client.post(
                        f"{W}/approvals/{approval_id}/respond", json={"outcome": "approve"}
                    )
                    assert answer.status_code == 200
        status = client.get(f"{W}/runs/run_live1").json()["status"]
    assert seen[-1] == "run.completed"
    assert seen.index("approval.required") < seen.index("approval.decision")
    assert status == "completed"


def test_a_browser_that_disconnects_leaves_its_run_running_and_answerable(
    live_url: str,
) -> None:
    with httpx.Client(base_url=live_url, timeout=10) as client:
        with client.stream(
            "POST",
            f"{W}/agents/coord/stream",
            json={"prompt": "price?", "runId": "run_gone", "threadId": "t-gone"},
        ) as response:
            for frame in _events(response):
                if frame["event"] == "approval.required":
                    approval_id = frame["data"]["payload"]["approvalId"]
                    last_seq = int(frame["id"])
                    break
        # the browser is gone: the run still waits for its approval, which the inbox answers
        waiting = client.get(f"{W}/runs/run_gone").json()
        pending = client.get(f"{W}/approvals").json()["approvals"]
        answer = client.post(f"{W}/approvals/{approval_id}/respond", json={"outcome": "approve"})
        run = wait_for(
            lambda: (r := client.get(f"{W}/runs/run_gone").json())["status"] == "completed" and r
        )
        # a returning browser re-attaches after the last event it saw and gets the rest
        with client.stream(
            "GET", f"{W}/runs/run_gone/stream", headers={"Last-Event-ID": str(last_seq)}
        ) as replay:
            rest = list(_events(replay))
        messages = client.get(f"{W}/threads/t-gone/messages").json()["messages"]
    assert waiting["status"] == "waiting"
    assert [(row["approvalId"], row["status"]) for row in pending] == [(approval_id, "pending")]
    assert answer.status_code == 200
    assert run["lastKind"] == "run.completed"
    assert int(rest[0]["id"]) == last_seq + 1
    assert rest[-1]["event"] == "run.completed"
    assert "approval.decision" in [frame["event"] for frame in rest]
    assert messages[-1]["content"].endswith("The price is 4.50")
    assert "status" not in messages[-1]["metadata"]


def test_the_server_refuses_foreign_host_headers(live_url: str) -> None:
    with httpx.Client(base_url=live_url, timeout=10) as client:
        refused = client.get("/api/status", headers={"Host": "attacker.example"})
        allowed = client.get("/api/status", headers={"Host": "localhost"})
    assert refused.status_code == 421 and allowed.status_code == 200


@pytest.mark.parametrize("declared", [True, False])
def test_an_oversized_body_is_refused_without_reading_it_all(live_url: str, declared: bool) -> None:
    total = 300 * 1024 * 1024
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        chunk = b"a" * 65536
        while sent < total:
            sent += len(chunk)
            yield chunk

    headers = {"Content-Type": "application/json"}
    if declared:
        headers["Content-Length"] = str(total)
    with httpx.Client(base_url=live_url, timeout=30) as client:
        refused = client.post(f"{W}/tools/echo/execute", content=body(), headers=headers)
    with httpx.Client(base_url=live_url, timeout=10) as client:
        after = client.post(f"{W}/tools/echo/execute", json={"input": {"text": "alive"}})
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "request.body_too_large"
    assert sent < 100 * 1024 * 1024  # the server closed the connection long before the end
    assert after.json()["result"]["data"] == {"echo": "alive"}


def test_port_and_network_bind_checks() -> None:
    with pytest.raises(SpecValueError, match="port"):
        studio_server(chat_app(), port=70000)
    with pytest.raises(ConfigurationError, match="without a token"):
        studio_server(chat_app(), host="0.0.0.0", port=0, store_path=None)


def test_the_server_stops_live_runs_on_shutdown(tmp_path: Path) -> None:
    port = free_port()
    server = studio_server(chat_app(), port=port, store_path=tmp_path / "s.db", log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10)
    url = f"http://127.0.0.1:{port}"
    frames: list[str] = []

    def chat() -> None:
        with (
            httpx.Client(base_url=url, timeout=20) as client,
            client.stream(
                "POST", f"{W}/agents/coord/stream", json={"prompt": "price?", "runId": "run_stop"}
            ) as response,
        ):
            try:
                frames.extend(frame["event"] for frame in _events(response))
            except httpx.HTTPError:
                pass

    reader = threading.Thread(target=chat, daemon=True)
    reader.start()
    wait_for(lambda: "approval.required" in frames or len(frames) > 5, timeout=10)
    started = time.monotonic()
    server.should_exit = True
    thread.join(20)
    reader.join(20)
    assert not thread.is_alive()
    assert time.monotonic() - started < 15
    store = StudioStore(tmp_path / "s.db")
    run = asyncio.run(store.workspace("studio-test", "default").get_run("run_stop"))
    store.close()
    assert run is not None and run["status"] == "cancelled"
