"""The Studio app: resolvable by ``--app``, chat works offline, seeded cases show up in Tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pricing_promotions import seed_eval_tests
from pricing_promotions.app import APP_NAME, create_app
from pricing_promotions.commerce import CommerceService
from pricing_promotions.eval_cases import all_cases

from flowai_harness.studio import FlowAIApp, StudioStore, create_studio_app, resolve_app_reference

W = "/api/workspaces/default"


def _sse_events(body: str) -> list[dict[str, Any]]:
    frames = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            frames.append({"event": fields["event"], "data": json.loads(fields["data"])})
    return frames


def test_app_reference_resolves_to_the_app_without_building_the_runtime() -> None:
    app = resolve_app_reference("pricing_promotions.app:app")
    assert isinstance(app, FlowAIApp)
    assert app.app_id == APP_NAME
    binding = app.default_binding()
    assert binding.runtime_constructed is False
    assert binding.resource_id == "pricing-desk"


def test_studio_lists_the_agents_and_chats_with_the_offline_model() -> None:
    with CommerceService() as commerce:
        app = create_app(commerce, interpreter="offline")
        studio = create_studio_app(app, store_path=None)
        with TestClient(studio, base_url="http://127.0.0.1") as client:
            agents = client.get(f"{W}/agents").json()
            response = client.post(
                f"{W}/agents/pricing_coordinator/stream",
                json={"prompt": "Which product brings in the most revenue?"},
            )
    names = json.dumps(agents)
    for agent in ("pricing_coordinator", "pricing_insights", "pricing_planner", "pricing_executor"):
        assert agent in names
    frames = _sse_events(response.text)
    assert frames[-1]["event"] == "run.completed"
    text = "".join(
        f["data"]["payload"].get("text", "") for f in frames if f["event"] == "message.delta"
    )
    assert "Sparkling Water 12pk" in text


def test_seeding_writes_every_case_once_and_studio_lists_them(tmp_path: Path, capsys) -> None:
    store_path = tmp_path / "studio.db"
    assert seed_eval_tests.main(["--store", str(store_path)]) == 0
    assert seed_eval_tests.main(["--store", str(store_path)]) == 0  # updates in place
    out = capsys.readouterr().out
    assert "seeded plan-price-change (mode:planner, price-change)" in out
    store = StudioStore(store_path)
    try:
        rows = store.list_test_cases(app_id=APP_NAME, workspace_key="default")
    finally:
        store.close()
    expected = {case.id: case.model_dump(by_alias=True, mode="json") for case in all_cases()}
    assert {row["id"]: row["testCase"] for row in rows} == expected
    app = create_app(interpreter="offline")  # the runtime is never built: no database opened
    with TestClient(
        create_studio_app(app, store_path=store_path), base_url="http://127.0.0.1"
    ) as client:
        listed = client.get(f"{W}/tests").json()
    assert app.default_binding().runtime_constructed is False
    assert {item["id"]: item["testCase"] for item in listed["tests"]} == expected


def test_seeding_an_unknown_workspace_names_it() -> None:
    store = StudioStore()
    try:
        with pytest.raises(KeyError, match="staging"):
            seed_eval_tests.seed(store, "staging")
    finally:
        store.close()
