"""The main job (examples/quickstart.py) runs end to end offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quickstart_main_job_runs_offline_and_dispatches_the_approved_plan() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "examples.quickstart", "--interpreter", "scripted"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "glimpse: {'itemCount': 3, 'preview': ['item-1', 'item-2', 'item-3']}" in out
    order = [
        "agent call   change_coordinator",
        "agent call   change_planner",
        "tool  result search_items",
        "tool  result storePlan",
        "agent call   change_executor",
        "approval required: plan change-plan-1",
        "dispatcher: applying 1 action(s) to 3 item(s)",
        "tool  result executePlan",
        "agent result change_coordinator",
    ]
    positions = [out.find(line) for line in order]
    assert all(p >= 0 for p in positions), list(zip(order, positions, strict=True))
    # the decision event and the dispatcher run concurrently with the consumer: only require
    # that the decision is reported between the request and the executePlan result
    decision = out.find("approval decision: {'outcome': 'approve'}")
    assert positions[5] < decision < positions[7]
    assert "ERROR" not in out
