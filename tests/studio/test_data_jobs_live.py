"""Profiling streams live (src/flowai_harness/studio/data_jobs.py ``stream_job``): on a real
uvicorn server each event reaches the browser while the job is still running, the job goes on
when the browser leaves, and its events are recorded as a run. Loopback only."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx

from flowai_harness import create_runtime
from flowai_harness.ports import ModelPart, ModelRequest
from flowai_harness.studio import define_app
from flowai_harness.studio.server import studio_server
from flowai_harness.testing import ScriptedModel
from flowai_harness.testing.fake_model import ModelTurn

from .studio_apps import chat_spec, data_environment, wait_for
from .test_server_live import free_port

D = "/api/workspaces/default/data"


class GatedModel(ScriptedModel):
    """A live model whose enrichment answer waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__(
            respond=lambda _request: ModelTurn(text='{"description": "Orders of the shop."}'),
            live=True,
        )
        self.gate = threading.Event()
        self.asked = threading.Event()
        self.answered = threading.Event()

    async def stream_turn(self, request: ModelRequest) -> AsyncIterator[ModelPart]:
        self.asked.set()
        await asyncio.to_thread(self.gate.wait, 10)
        self.answered.set()
        async for part in super().stream_turn(request):
            yield part


def _frames(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


def _serve(tmp_path: Path, model: GatedModel) -> Iterator[str]:
    spec = chat_spec()
    app = define_app(
        name="live-profile",
        runtime_spec=spec,
        data_environment=data_environment(tmp_path),
        runtime_factory=lambda: create_runtime(spec, interpreter=model),
    )
    port = free_port()
    server = studio_server(
        app, host="127.0.0.1", port=port, store_path=tmp_path / "s.db", log_level="warning"
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        model.gate.set()
        server.should_exit = True
        thread.join(10)


def test_profiling_events_arrive_while_the_table_is_still_being_enriched(
    tmp_path: Path,
) -> None:
    model = GatedModel()
    for url in _serve(tmp_path, model):
        with (
            httpx.Client(base_url=url, timeout=20) as client,
            client.stream("POST", f"{D}/profile/table", json={"tableName": "orders"}) as response,
        ):
            seen: list[str] = []
            for frame in _frames(response):
                seen.append(frame["type"])
                if frame["type"] == "tableProfiled":
                    # The profile reached the browser before the model answered.
                    assert model.asked.wait(10) and not model.answered.is_set()
                    assert frame["kind"] == "profile.table.profiled"
                    assert frame["tableName"] == "orders" and frame["columns"]
                    model.gate.set()
        assert seen[0] == "started" and seen[-1] == "completed"
        assert "tableEnriched" in seen and model.asked.is_set()


def test_a_profile_the_browser_left_runs_to_its_end_and_is_recorded(tmp_path: Path) -> None:
    model = GatedModel()
    for url in _serve(tmp_path, model):
        with httpx.Client(base_url=url, timeout=20) as client:
            with client.stream(
                "POST", f"{D}/profile/table", json={"tableName": "orders"}
            ) as response:
                first = next(_frames(response))
            assert first["type"] == "started"
            run_id = first["runId"]
            assert model.asked.wait(10)
            model.gate.set()  # the browser is gone; the job finishes anyway

            def recorded(run_id: str = run_id) -> list[dict[str, Any]] | None:
                answer = client.get(f"/api/workspaces/default/runs/{run_id}/events").json()
                events = answer.get("events", [])
                return events if events and events[-1]["kind"] == "completed" else None

            events = wait_for(recorded, timeout=10)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert any(e["kind"] == "tableEnriched" for e in events)
