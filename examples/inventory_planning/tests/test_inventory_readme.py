"""The README's command block runs as written and each step reports what the README says."""

from __future__ import annotations

import re

from inventory_steps import Prepared, readme_commands, run_step


def test_readme_block_is_seed_profile_ingest_index_then_smoke() -> None:
    commands = readme_commands()
    assert [c.split(" data ")[-1].split(" --")[0] if " data " in c else c for c in commands] == [
        "python -m inventory_planning.seed_db --dir .inventory",
        "profile database",
        "knowledge ingest",
        "catalog index rebuild",
        "python -m inventory_planning.smoke --dir .inventory",
    ]


def test_every_step_succeeds_and_reports_its_work(prepared: Prepared) -> None:
    for step in prepared.steps:
        assert step.returncode == 0, f"{step.command}\n{step.stdout}\n{step.stderr}"
    seed, profile, ingest, rebuild, smoke = (step.stdout for step in prepared.steps)
    assert "fact_daily_demand: 672 rows" in seed
    assert "tables_discovered: 6" in profile and "columns_profiled: 23" in profile
    assert "discovered 3 documents" in ingest and "new: 3" in ingest
    indexed = re.search(r"indexed_entries: (\d+)", rebuild)
    assert indexed is not None and int(indexed.group(1)) > 50
    assert "skipped_entries: 0" in rebuild
    assert "- online: " in smoke and "- retail: " in smoke
    assert "approval required: plan replenishment-plan-" in smoke
    last = smoke.strip().splitlines()[-1]
    assert last.startswith(f"smoke ok: target database {prepared.workdir.target_db}; ")
    assert "catalog query ok; platform orders placed: 3;" in last


def test_ingesting_the_same_documents_again_skips_them(prepared: Prepared) -> None:
    ingest = next(c for c in readme_commands() if "knowledge ingest" in c)
    again = run_step(ingest, prepared.workdir.root)
    assert again.returncode == 0, again.stderr
    assert "new: 0" in again.stdout and "skipped_duplicate: 3" in again.stdout
