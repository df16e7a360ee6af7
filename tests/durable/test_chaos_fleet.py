"""Chaos suite: four worker processes share one store (SQLite, PostgreSQL) and run many jobs
with Python tools, approval gates and plan dispatches, while killing (SIGKILL) or freezing
(SIGSTOP past the lease) themselves at random hook points: inside a tool, mid-turn while the
model streams, during a dispatch, at a gate (see ``chaos_fleet.py``).

The test supervises the fleet: a dead worker is replaced by a fresh process, which starts the
jobs of its slot that never got a run record and otherwise recovers and answers like the
others; a frozen worker gets SIGCONT once two leases have passed, and wakes up as a stale
owner; a plan left ``needs_reconciliation`` is settled from the effects file. After
``FLOWAI_CHAOS_CALM_SECS`` the hooks stop firing so the fleet can finish. Then the checker
(``chaos_check.py``) looks at the effects file, every client transcript and the store.

Scale it with ``FLOWAI_CHAOS_JOBS`` (default 40), ``FLOWAI_CHAOS_RATE`` (probability of each
hook firing, default 0.02) and ``FLOWAI_CHAOS_CALM_SECS`` (default 20).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.engine.memory import load_history
from flowai_harness.handle import Runtime
from tests.durable.chaos_check import (
    check_at_most_once,
    check_follow,
    check_memory,
    check_runs_ended,
    check_thread_turns,
    check_transcript_content,
    check_transcript_prefix,
    read_effects,
    read_transcripts,
    split_woken,
    thread_interleavings,
)
from tests.durable.chaos_fleet import (
    chaos_worker,
    die_after_memory,
    make_jobs,
    note,
    quiet_runtime,
    script,
)
from tests.durable.lease_workers import fleet_runtime
from tests.waiting import wait_until

JOBS = int(os.environ.get("FLOWAI_CHAOS_JOBS", "40"))
RATE = float(os.environ.get("FLOWAI_CHAOS_RATE", "0.02"))
CALM_SECS = float(os.environ.get("FLOWAI_CHAOS_CALM_SECS", "20"))
SLOTS = 4
LEASE_SECS = 1.0
SPAWN = multiprocessing.get_context("spawn")
#: what the thread property finds at scale (reproduced by test_chaos_fencing.py, strict xfail)
THREAD_BUG = (
    "a worker woken from a freeze past its lease goes on with its run although another "
    "query took the run's thread meanwhile (losing the thread lease only logs a warning)"
)


def _state(pid: int) -> str:
    """The scheduler state letter of ``pid`` (``T`` when stopped), ``""`` when gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as file:
            return file.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return ""


class Fleet:
    """The worker processes of one chaos run, and what the test did to them."""

    def __init__(self, kv: dict[str, Any], root: Path, jobs: list[dict[str, Any]]) -> None:
        self.kv, self.root, self.jobs = kv, root, jobs
        self.seeds = random.Random()
        self.workers: list[Any] = [self._spawn(slot) for slot in range(SLOTS)]
        self.frozen: dict[int, float] = {}
        self.kills = self.freezes = 0

    def _spawn(self, slot: int) -> Any:
        mine = [job for job in self.jobs if job["slot"] == slot]
        worker = SPAWN.Process(
            target=chaos_worker,
            args=(self.kv, str(self.root), mine, RATE, self.seeds.randrange(1 << 30), LEASE_SECS),
        )
        worker.start()
        return worker

    def tend(self) -> None:
        """Replace the dead workers; wake the frozen ones two leases after they froze."""
        for slot, worker in enumerate(self.workers):
            if not worker.is_alive():
                assert worker.exitcode == -signal.SIGKILL, f"worker died: {worker.exitcode}"
                self.kills += 1
                self.workers[slot] = self._spawn(slot)
            elif _state(worker.pid) == "T":
                since = self.frozen.setdefault(worker.pid, time.monotonic())
                if time.monotonic() - since > 2 * LEASE_SECS:
                    del self.frozen[worker.pid]
                    self.freezes += 1
                    note(str(self.root / "effects.jsonl"), ev="cont", target=worker.pid)
                    os.kill(worker.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Ask every worker to stop; kill the ones that do not within a minute."""
        (self.root / "stop").touch()
        for worker in self.workers:
            if worker.is_alive():
                os.kill(worker.pid, signal.SIGCONT)
            worker.join(60)
            if worker.is_alive():
                worker.kill()
                worker.join(10)


async def _settle_plans(observer: Runtime, jobs: list[dict[str, Any]], root: Path) -> None:
    """Settle each plan left ``needs_reconciliation`` as the effects file says it went."""
    dispatched = {e["plan"] for e in read_effects(root) if e["ev"] == "dispatch"}
    for job in jobs:
        if job["kind"] != "plan":
            continue
        plan_id = f"plan-{job['job']}"
        plan = await observer.get_plan(plan_id)
        if plan is not None and plan["status"] == "needs_reconciliation":
            outcome = "executed" if plan_id in dispatched else "failed"
            await observer.settle_plan(plan_id, outcome, note="settled by the chaos test")


async def _all_ended(observer: Runtime, jobs: list[dict[str, Any]], root: Path) -> bool:
    done = set()
    for t in read_transcripts(root):
        record = await observer.get_run(t.run_id)
        if record is not None and record["status"] in ("completed", "failed", "cancelled"):
            done.add(t.job)
    return done >= {job["job"] for job in jobs}


async def test_a_fleet_killed_and_frozen_at_random_keeps_every_guarantee(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    root = tmp_path
    (root / "transcripts").mkdir()
    jobs = make_jobs(JOBS, SLOTS)
    observer = fleet_runtime(shared_kv, str(root / "observer.jsonl"), durability={"recover": False})
    started = time.monotonic()
    fleet = Fleet(shared_kv, root, jobs)

    async def settled() -> bool:
        fleet.tend()
        if time.monotonic() - started > CALM_SECS:
            (root / "calm").touch()
        await _settle_plans(observer, jobs, root)
        return await _all_ended(observer, jobs, root)

    try:
        await wait_until(
            settled,  # type: ignore[arg-type]  # mypy infers T poorly from a coroutine function
            timeout=CALM_SECS + 60 + JOBS,
            interval=0.2,
            message="every job ended",
        )
    finally:
        fleet.stop()
    await _settle_plans(observer, jobs, root)
    effects, transcripts = read_effects(root), read_transcripts(root)
    incidents = _incidents(effects)
    print(
        f"\nchaos ({shared_kv['kind']}): {JOBS} jobs, {fleet.kills} kills, {fleet.freezes} "
        f"freezes {incidents}, {time.monotonic() - started:.1f} s, "
        f"{len(thread_interleavings(effects))} runs overtaken on their thread"
    )
    try:
        assert check_at_most_once(effects) == []
        assert await check_runs_ended(observer, jobs, transcripts) == []
        assert await check_transcript_content(observer, transcripts) == []
        assert await check_transcript_prefix(observer, transcripts) == []
        assert await check_follow(observer, transcripts) == []
        # A worker that loses its thread lease (frozen past it, or starved on a loaded machine)
        # only logs it: every overlap is that one open bug until the thread hand-off is fenced.
        overlaps, woken_overlaps = split_woken(check_thread_turns(effects))
        completed = {
            t.job
            for t in transcripts
            if (record := await observer.get_run(t.run_id)) and record["status"] == "completed"
        }
        if RATE > 0:
            assert fleet.kills + fleet.freezes >= 1, "no worker was hit: the run proved nothing"
        # Conversation memory is written in the run's fenced checkpoint that notes it: each
        # turn of a completed run is in memory exactly once.
        assert await check_memory(observer, jobs, completed) == []
        # A known bug, shown as xfail when the chaos hits it; any other failure fails the test.
        if woken_overlaps or overlaps:
            pytest.xfail(f"{THREAD_BUG}: {(woken_overlaps + overlaps)[:5]}")
    finally:
        await observer.aclose()


def _incidents(effects: list[dict[str, Any]]) -> dict[str, int]:
    """How many times each hook point fired (kill or stop)."""
    counts: dict[str, int] = {}
    for e in effects:
        if e["ev"] in ("kill", "stop"):
            name = f"{e['ev']}@{e['point']}"
            counts[name] = counts.get(name, 0) + 1
    return counts


async def test_a_worker_killed_after_a_memory_append_leaves_the_turn_in_memory_once(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    prompt = script("m1", [])
    worker = SPAWN.Process(
        target=die_after_memory, args=(shared_kv, str(tmp_path), "t-memory", prompt)
    )
    worker.start()
    await asyncio.to_thread(worker.join, 60)
    assert worker.exitcode == -signal.SIGKILL
    runtime = quiet_runtime(shared_kv, str(tmp_path), 0.5)
    try:

        async def completed() -> bool:
            await runtime.recover_runs()
            runs = await runtime.list_runs("t-memory")
            return bool(runs) and runs[-1]["status"] == "completed"

        await wait_until(completed, timeout=30, interval=0.1, message="the run was recovered")  # type: ignore[arg-type]
        kv, tenant = runtime._compiled.kv, runtime.resource_id
        history = await load_history(kv, tenant, "t-memory", "c")
        assert [m.content for m in history if m.role == "user"] == [prompt]
    finally:
        await runtime.aclose()
