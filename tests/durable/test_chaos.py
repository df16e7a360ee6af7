"""Chaos: worker processes that kill themselves (SIGKILL) at random hook points, while runs
with tools, approval gates and plan dispatches go on across them.

Three worker slots share the runs; a worker that dies is replaced by a fresh process, which
starts the runs of its slot that never got a record and otherwise recovers and answers like
the others. Approvals are answered by random workers. The checks, over the effects file every
process appends to: each tool call and each plan dispatch took effect at most once, every run
ended (completed), no plan is left ``executing``, and each thread had exactly one run.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.durable.chaos_workers import chaos_worker, run_prompt
from tests.durable.lease_workers import fleet_runtime

#: raise them for a longer soak: FLOWAI_CHAOS_RUNS=60 FLOWAI_CHAOS_KILL_RATE=0.3
RUNS = int(os.environ.get("FLOWAI_CHAOS_RUNS", "12"))
SLOTS = 3
KILL_RATE = float(os.environ.get("FLOWAI_CHAOS_KILL_RATE", "0.12"))
LEASE_SECS = 0.5
DEADLINE_SECS = 120 + 5 * RUNS
SPAWN = multiprocessing.get_context("spawn")


def _effects(path: Path) -> list[list[Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_runs_survive_random_worker_kills_with_every_effect_at_most_once(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    effects, stop = tmp_path / "effects.jsonl", tmp_path / "stop"
    seeds = random.Random()
    shares = [[n for n in range(RUNS) if n % SLOTS == slot] for slot in range(SLOTS)]

    def spawn(slot: int) -> Any:
        worker = SPAWN.Process(
            target=chaos_worker,
            args=(
                shared_kv,
                str(effects),
                shares[slot],
                KILL_RATE,
                seeds.randrange(1 << 30),
                str(stop),
                LEASE_SECS,
            ),
        )
        worker.start()
        return worker

    observer = fleet_runtime(
        shared_kv, str(tmp_path / "observer.jsonl"), durability={"recover": False}
    )
    workers = [spawn(slot) for slot in range(SLOTS)]
    kills = 0
    started = time.monotonic()
    try:
        while True:
            for slot, worker in enumerate(workers):
                if not worker.is_alive():
                    assert worker.exitcode == -signal.SIGKILL, f"worker died: {worker.exitcode}"
                    kills += 1
                    workers[slot] = spawn(slot)
            records = [await observer.list_runs(f"chaos-{n}") for n in range(RUNS)]
            if all(r and r[-1]["status"] in ("completed", "failed", "cancelled") for r in records):
                break
            elapsed = time.monotonic() - started
            assert elapsed < DEADLINE_SECS, f"runs still going after {elapsed:.0f} s: {records}"
            await asyncio.sleep(0.2)
    finally:
        stop.touch()
        for worker in workers:
            await asyncio.to_thread(worker.join, 60)
            if worker.is_alive():
                worker.kill()

    print(
        f"chaos ({shared_kv['kind']}): {RUNS} runs, {kills} worker kills, "
        f"{time.monotonic() - started:.1f} s"
    )
    try:
        for number in range(RUNS):
            runs = await observer.list_runs(f"chaos-{number}")
            assert [r["status"] for r in runs] == ["completed"], (number, runs)
        rows = _effects(effects)
        counted = Counter((kind, key) for kind, key, *_ in rows)
        assert all(count == 1 for count in counted.values()), counted
        for number in range(RUNS):
            specialist, _ = run_prompt(number)
            if not specialist:
                plan = await observer.get_plan(f"plan-{number}")
                assert plan is not None and plan["status"] != "executing", plan
                if plan["status"] == "executed":
                    assert counted[("dispatch", f"plan-{number}")] == 1
        assert kills >= 1, "no worker was killed: the test proved nothing"
    finally:
        await observer.aclose()
