"""``python -m pricing_promotions.smoke`` runs offline and prints the updated commerce store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1]


def _offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EXAMPLE / "src"), env.get("PYTHONPATH")]))
    return env


def test_smoke_runs_coordinator_planner_executor_and_prints_the_store() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pricing_promotions.smoke"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=EXAMPLE,
        env=_offline_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    order = [
        "agent call   pricing_coordinator",
        "agent call   pricing_planner",
        "tool  result list_products",
        "tool  result select_products",
        "tool  result storePlan",
        "agent call   pricing_executor",
        "approval required: plan pricing-plan-1",
        "approval decision: approve",
        "plan pricing-plan-1: executing -> executed",
        "tool  result executePlan",
        "agent result pricing_coordinator",
        "commerce service now holds:",
        "p-001 Sparkling Water 12pk   6.49 (was 5.99)",
        "promo-1 'Snacks 15% off' 15% off p-003, p-004, p-005",
    ]
    positions = [out.find(line) for line in order]
    assert all(p >= 0 for p in positions), list(zip(order, positions, strict=True))
    assert positions == sorted(positions)
    assert "ERROR" not in out


def test_smoke_exits_1_when_nothing_changes(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pricing_promotions.smoke",
            "--request",
            "Set p-004 to 0.50.",
            "--db",
            str(tmp_path / "commerce.db"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=EXAMPLE,
        env=_offline_env(),
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "is not above its unit cost" in result.stdout
    assert "(none)" in result.stdout
    assert (tmp_path / "commerce.db").exists()
