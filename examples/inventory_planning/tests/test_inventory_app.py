"""The Studio app: loads by reference, carries the data environment, chats offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from inventory_planning.app import APP_NAME, create_app
from inventory_planning.planning_platform import PlanningPlatform
from inventory_planning.workdir import TENANT, WorkDir

from flowai_harness.studio import AppImportError, create_studio_app, resolve_app_reference

W = "/api/workspaces/default"


def test_app_reference_reads_the_working_directory_from_the_environment(
    workdir: WorkDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVENTORY_PLANNING_DIR", str(workdir.root))
    app = resolve_app_reference("inventory_planning.app:app")
    assert app.app_id == APP_NAME
    binding = app.default_binding()
    assert binding.runtime_constructed is False
    assert binding.resource_id == TENANT
    environment = binding.data_environment
    assert environment["tenantId"] == TENANT
    assert environment["catalogSearch"]["indexPath"] == str(workdir.root / "catalog-index")
    assert environment["targetDatabase"]["url"] == f"sqlite:{workdir.target_db}"


def test_an_unprepared_directory_fails_with_the_command_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVENTORY_PLANNING_DIR", str(tmp_path / "empty"))
    with pytest.raises(AppImportError) as caught:
        resolve_app_reference("inventory_planning.app:app")
    assert caught.value.code == "app_import.factory_failed"
    assert "python -m inventory_planning.seed_db --dir" in str(caught.value)


def test_studio_chat_answers_from_the_data_offline(workdir: WorkDir) -> None:
    with PlanningPlatform() as platform:
        app = create_app(workdir, platform=platform, interpreter="offline")
        studio = create_studio_app(app, store_path=None)
        with TestClient(studio, base_url="http://127.0.0.1") as client:
            agents = json.dumps(client.get(f"{W}/agents").json())
            response = client.post(
                f"{W}/agents/inventory_coordinator/stream",
                json={"prompt": "What are the days of cover by channel?"},
            )
    for name in ("inventory_coordinator", "inventory_analyst", "replenishment_planner"):
        assert name in agents
    frames = [
        dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        for block in response.text.split("\n\n")
        if "event: " in block
    ]
    assert frames[-1]["event"] == "run.completed"
    text = "".join(
        json.loads(f["data"])["payload"].get("text", "")
        for f in frames
        if f["event"] == "message.delta"
    )
    assert "- online: " in text and "days of cover" in text
