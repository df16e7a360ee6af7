"""Every plan transition is a compare-and-set: a plan stored as a draft and approved
automatically inside ``executePlan`` is dispatched at most once, even when eight calls in four
processes race for it (the step ``draft -> approved`` can no longer overwrite ``executing``)."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import Counter
from pathlib import Path
from typing import Any

from flowai_harness.testing import collect_events
from tests.durable.race_workers import execute_plans, plan_runtime_on
from tests.engine.plan_helpers import flow, store

PLANS = 30
PROCESSES = 4
CONTENDERS_PER_PROCESS = 2


async def stored_drafts(kv: dict[str, Any], count: int) -> list[str]:
    """Store ``count`` draft plans through ``storePlan``; return their ids."""
    ids = [f"p-{number}" for number in range(count)]
    runtime = plan_runtime_on(kv, None)
    try:
        await collect_events(runtime.query(flow(*(store(i) for i in ids)), "t-store"), runtime)
        for plan_id in ids:
            plan = await runtime._compiled.kv.get("acme", f"plan:{plan_id}")
            assert plan is not None and plan["status"] == "draft"
    finally:
        await runtime.aclose()
    return ids


async def test_a_plan_is_dispatched_at_most_once_under_eight_contenders_in_four_processes(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    ids = await stored_drafts(shared_kv, PLANS)
    effects = tmp_path / "dispatched.txt"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(
            target=execute_plans,
            args=(shared_kv, ids, CONTENDERS_PER_PROCESS, barrier, results, str(effects), f"w{n}"),
        )
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    calls = PLANS * PROCESSES * CONTENDERS_PER_PROCESS
    collected = [await asyncio.to_thread(results.get, True, 300) for _ in range(calls)]
    for worker in workers:
        await asyncio.to_thread(worker.join, 60)
        assert worker.exitcode == 0

    dispatched = Counter(line.split(":")[0] for line in effects.read_text().splitlines())
    assert dispatched == Counter(dict.fromkeys(ids, 1))
    succeeded = Counter(plan_id for _, plan_id, result in collected if "error" not in result)
    assert succeeded == Counter(dict.fromkeys(ids, 1))
    refusals = [result["error"] for _, _, result in collected if "error" in result]
    assert len(refusals) == calls - PLANS
    assert all(r.startswith("Invalid plan state for execution") for r in refusals), refusals

    runtime = plan_runtime_on(shared_kv, None)
    try:
        for plan_id in ids:
            plan = await runtime._compiled.kv.get("acme", f"plan:{plan_id}")
            assert plan["status"] == "executed"
    finally:
        await runtime.aclose()
