"""Compatibility with what the reference's example projects need (the apps are stand-ins in
tests/compat/fixtures)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowai_harness.studio import FlowAIApp, StudioStore

from .studio_fakes import client_for

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- EX-1


def test_an_example_app_factory_resolves_through_the_import_resolver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flowai_harness.studio.import_resolver import resolve_app_reference

    monkeypatch.syspath_prepend(str(FIXTURES))
    monkeypatch.setenv("INVENTORY_SCENARIO_DIR", str(tmp_path))
    app = resolve_app_reference("inventory_scenario.app:runtime")
    assert isinstance(app, FlowAIApp)
    environment = app.default_binding().data_environment
    assert environment is not None
    assert environment["catalogSearch"]["writeThrough"] is False
    with client_for(app) as client:
        source = client.get("/api/workspaces/acme/data/sources").json()["sources"][0]
    assert (source["databaseType"], source["databaseName"]) == ("sqlite", "inventory.db")


# ---------------------------------------------------------------- EX-2


def test_the_eval_seeding_script_stores_its_cases_where_the_studio_reads_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(FIXTURES), str(REPO / "src")]),
    }
    seeded = subprocess.run(
        [sys.executable, "-m", "coordinator_planner_executor.seed_eval_tests"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.splitlines() == ["price-drop-p-001"]

    path = tmp_path / ".flowai" / "studio.db"
    store = StudioStore(path)
    row = store.get_test_case(
        app_id="coordinator_planner_executor",
        workspace_key="acme",
        test_case_id="price-drop-p-001",
    )
    store.close()
    ground_truth = row["testCase"]["structuredGroundTruth"]
    assert ground_truth["data"]["plannedActions"] == [
        {"type": "price_change", "payload": {"productId": "p-001", "newPrice": 6.49}}
    ]
    assert ground_truth["data"]["executedActions"] == []

    monkeypatch.syspath_prepend(str(FIXTURES))
    from coordinator_planner_executor.app import app

    served = StudioStore(path)
    with client_for(app, served) as client:
        tests = client.get("/api/workspaces/acme/tests").json()["tests"]
    served.close()
    assert [t["id"] for t in tests] == ["price-drop-p-001"]
