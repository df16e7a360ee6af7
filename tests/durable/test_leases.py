"""Leased runs across workers: fencing of a stale owner, recovery after ``kill -9``, the
reconciliation of an interrupted dispatch, one run per thread fleet-wide, and how fast an
answer from another process wakes a gate.

Workers that must die for real are spawned processes killed with SIGKILL; the worker that
recovers is this test's process. Stores: SQLite and the real PostgreSQL (``shared_kv``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import os
import signal
import statistics
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.engine.leases import LEASE_PREFIX, THREAD_PREFIX, RunLease
from flowai_harness.errors import PlanStateError
from flowai_harness.handle import Runtime
from tests.durable.lease_workers import (
    answer_approvals,
    fleet_runtime,
    hold_thread,
    pause_on_thread,
    plan_flow,
    run_and_log,
    tool_flow,
)
from tests.waiting import wait_until

TENANT = "acme"
SPAWN = multiprocessing.get_context("spawn")


def effects_of(path: Path, kind: str | None = None) -> list[list[Any]]:
    """The side effects every process wrote to ``path`` (``[kind, value, pid, time]``)."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row for row in rows if kind is None or row[0] == kind]


def seen_events(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """The run id and the events a killed worker's client had received."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines[0]["runId"], lines[1:]


async def kill_when(worker: Any, effects: Path, kind: str) -> None:
    """SIGKILL ``worker`` as soon as it has had the side effect ``kind``."""
    try:
        await wait_until(lambda: effects_of(effects, kind), timeout=60, message=f"no {kind} effect")
    finally:  # killed even when the wait fails: no worker outlives its test
        os.kill(worker.pid, signal.SIGKILL)
        await asyncio.to_thread(worker.join, 30)
    assert worker.exitcode == -signal.SIGKILL


async def recovered(runtime: Runtime, run_id: str) -> dict[str, Any]:
    """Recover ``run_id`` in ``runtime`` (once its dead worker's lease expires); return the
    record once the run has ended."""

    async def claim() -> bool:
        if run_id in await runtime.recover_runs():
            return True
        # The runtime's own sweeper (started by the first call) may have claimed it first.
        record = await runtime.get_run(run_id)
        return record is not None and record["resumeCount"] >= 1

    await wait_until(claim, timeout=30, interval=0.05, message=f"{run_id} never recovered")

    async def ended() -> dict[str, Any] | None:
        record = await runtime.get_run(run_id)
        return record if record is not None and record["status"] != "running" else None

    return await wait_until(ended, timeout=60, interval=0.05, message=f"{run_id} never ended")


def start_killed_run(
    kv: dict[str, Any], tmp_path: Path, *, specialist: bool, prompt: str
) -> tuple[Any, Path, Path]:
    effects, seen = tmp_path / "effects.jsonl", tmp_path / "seen.jsonl"
    worker = SPAWN.Process(
        target=run_and_log,
        args=(kv, str(effects), str(seen), specialist, prompt, "t-1", 0.5),
    )
    worker.start()
    return worker, effects, seen


# --------------------------------------------------------------------------- fencing


async def test_a_stale_owner_writes_nothing_after_another_worker_claimed_its_run(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.jsonl"
    first = fleet_runtime(shared_kv, str(effects), durability={"lease_secs": 30, "recover": False})
    second = fleet_runtime(shared_kv, str(effects), durability={"recover": False})
    prompt = tool_flow(("audit", "o-1"), ("block", "o-2"), ("audit", "o-3"))
    stream = first.run_specialist("w", prompt, "t-1")
    run_id = str(stream.run_id)
    consumer = asyncio.ensure_future(_collect(stream))
    await wait_until(lambda: effects_of(effects, "block"), message="block never started")
    kv = second._compiled.kv

    # The owner is alive: an explicit resume elsewhere is refused, naming it.
    refused = [e async for e in second.resume_run(run_id)]
    assert [e["type"] for e in refused] == ["error"]
    assert "is running it (its lease is live)" in refused[0]["error"]["message"]

    # Another worker takes the lease over (as recovery does when it presumes the owner dead).
    other = RunLease(kv, TENANT, run_id, "other-worker", lease_secs=0.3)
    current = await other.read()
    assert current is not None and current["epoch"] == 1 and current["state"] == "held"
    assert await other.claim(current)
    log_keys = await kv.list_keys(TENANT, f"run-log:{run_id}:")
    record_before = await kv.get(TENANT, f"run:{run_id}")

    (tmp_path / "effects.jsonl.go").touch()  # the stale owner's tool returns
    events = await asyncio.wait_for(consumer, 30)
    assert events[-1]["type"] == "error" and events[-1]["error"]["code"] == "run_taken_over"
    assert "taken over by another worker" in events[-1]["error"]["message"]
    assert await kv.list_keys(TENANT, f"run-log:{run_id}:") == log_keys
    assert await kv.get(TENANT, f"run:{run_id}") == record_before
    assert (await kv.get(TENANT, f"{LEASE_PREFIX}{run_id}"))["owner"] == "other-worker"
    assert effects_of(effects, "audit") == [effects_of(effects, "audit")[0]]  # o-3 not here

    # The new owner's lease lapses in turn; recovery finishes the run, with no tool run twice.
    record = await recovered(second, run_id)
    assert record["status"] == "completed"
    assert [row[1] for row in effects_of(effects, "audit")] == ["o-1", "o-3"]
    assert [row[1] for row in effects_of(effects, "block")] == ["o-2"]
    results = [e for e in await second.run_events(run_id) if e.get("toolName") == "block"]
    assert "Interrupted" in json.dumps(results[-1]["result"])
    assert await kv.get(TENANT, f"{LEASE_PREFIX}{run_id}") is None  # deleted with the end
    await first.aclose()
    await second.aclose()


async def _collect(stream: Any) -> list[dict[str, Any]]:
    return [event async for event in stream]


# --------------------------------------------------------------------------- recovery


async def test_a_run_whose_worker_was_killed_is_completed_by_recover_runs_elsewhere(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    prompt = tool_flow(("audit", "o-1"), ("block", "o-2"), ("audit", "o-3"))
    worker, effects, seen = start_killed_run(shared_kv, tmp_path, specialist=True, prompt=prompt)
    await kill_when(worker, effects, "block")
    run_id, delivered = seen_events(seen)
    assert delivered, "the killed worker's client saw no event"

    survivor = fleet_runtime(shared_kv, str(effects), durability={"lease_secs": 0.5})
    try:
        record = await recovered(survivor, run_id)
        assert (record["status"], record["resumeCount"]) == ("completed", 1)
        logged = {e["sequence"]: e for e in await survivor.run_events(run_id)}
        # Every event the client saw before the kill is in the log with the same content.
        for event in delivered:
            assert logged.get(event["sequence"]) == event
        assert list(logged) == list(range(1, len(logged) + 1))
        assert [row[1] for row in effects_of(effects, "audit")] == ["o-1", "o-3"]
        assert len(effects_of(effects, "block")) == 1  # never run again: its effect is unknown
        assert await survivor.recover_runs() == []  # nothing left to claim
    finally:
        await survivor.aclose()


async def test_recovery_is_off_without_a_durable_store_and_a_sweeper_recovers_by_itself(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    memory = fleet_runtime_on_memory(tmp_path)
    assert await memory.recover_runs() == []
    assert memory._fleet.sweeper is None
    await memory.aclose()

    prompt = tool_flow(("block", "o-1"), ("audit", "o-2"))
    worker, effects, seen = start_killed_run(shared_kv, tmp_path, specialist=True, prompt=prompt)
    await kill_when(worker, effects, "block")
    run_id, _ = seen_events(seen)
    survivor = fleet_runtime(shared_kv, str(effects), durability={"lease_secs": 0.5})
    try:
        # Nobody calls recover_runs: the sweeper, started with the runtime's first run, does.
        assert [e["type"] async for e in survivor.run_specialist("w", "hello", "t-2")]

        async def done() -> bool:
            record = await survivor.get_run(run_id)
            return record is not None and record["status"] == "completed"

        await wait_until(done, timeout=60, interval=0.05, message="the sweeper never recovered")
        assert [row[1] for row in effects_of(effects, "audit")] == ["o-2"]
    finally:
        await survivor.aclose()


def fleet_runtime_on_memory(tmp_path: Path) -> Runtime:
    from flowai_harness import create_runtime, define_runtime, define_specialist
    from tests.engine.durable_helpers import MODEL
    from tests.engine.durable_helpers import TENANT as SPEC_TENANT

    spec = define_runtime(SPEC_TENANT, agents=[define_specialist("w", model=MODEL, prompt="w")])
    return create_runtime(spec, interpreter="scripted", durability={"recover": True})


# --------------------------------------------------------------------------- plans


async def test_a_dispatch_cut_by_kill_9_needs_reconciliation_and_is_settled_once(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    prompt = plan_flow("p-1")
    worker, effects, seen = start_killed_run(shared_kv, tmp_path, specialist=False, prompt=prompt)
    await kill_when(worker, effects, "dispatch")
    run_id, _ = seen_events(seen)

    survivor = fleet_runtime(shared_kv, str(effects), durability={"lease_secs": 0.5})
    try:
        assert (await survivor.get_plan("p-1"))["status"] == "executing"
        record = await recovered(survivor, run_id)
        assert record["status"] == "completed"
        events = await survivor.run_events(run_id)
        moves = [
            (e["data"]["from"], e["data"]["to"])
            for e in events
            if e["type"] == "plan-status-change"
        ]
        assert moves[-1] == ("executing", "needs_reconciliation")
        results = [
            e["result"] for e in events if e.get("toolName") == "executePlan" and "result" in e
        ]
        assert "Dispatch interrupted" in json.dumps(results[-1])
        plan = await survivor.get_plan("p-1")
        assert plan is not None and plan["status"] == "needs_reconciliation"
        assert len(effects_of(effects, "dispatch")) == 1  # not dispatched again

        settled = await survivor.settle_plan("p-1", "executed", note="found in the ledger")
        assert settled["status"] == "executed"
        assert settled["outcome"] == {
            "state": "executed",
            "settledBy": "host",
            "note": "found in the ledger",
        }
        assert (await survivor.get_plan("p-1")) == settled
        with pytest.raises(PlanStateError, match="is executed; only a plan in needs_rec"):
            await survivor.settle_plan("p-1", "failed")
        with pytest.raises(PlanStateError, match="plan not found: nope"):
            await survivor.settle_plan("nope", "failed")
        with pytest.raises(PlanStateError, match="outcome must be 'executed' or 'failed'"):
            await survivor.settle_plan("p-1", "done")
        assert await survivor.get_plan("nope") is None
    finally:
        await survivor.aclose()


# --------------------------------------------------------------------------- threads


async def test_queries_on_one_thread_from_two_processes_never_overlap(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.jsonl"
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    workers = [
        SPAWN.Process(
            target=pause_on_thread, args=(shared_kv, str(effects), "t-shared", 3, barrier, results)
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    lasts = [await asyncio.to_thread(results.get, True, 120) for _ in range(6)]
    for worker in workers:
        await asyncio.to_thread(worker.join, 60)
        assert worker.exitcode == 0
    assert lasts == ["tool-agent"] * 6, lasts
    starts = {row[1]: row[3] for row in effects_of(effects, "pause-start")}
    ends = {row[1]: row[3] for row in effects_of(effects, "pause-end")}
    assert len(starts) == len(ends) == 6
    spans = sorted((starts[order], ends[order]) for order in starts)
    for (_, previous_end), (next_start, _) in itertools.pairwise(spans):
        assert next_start >= previous_end, spans
    assert len({row[2] for row in effects_of(effects, "pause-start")}) == 2  # both processes ran


async def test_the_reject_policy_fails_fast_while_another_process_holds_the_thread(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.jsonl"
    holder = SPAWN.Process(target=hold_thread, args=(shared_kv, str(effects), "t-busy"))
    holder.start()
    await wait_until(lambda: effects_of(effects, "block"), timeout=60, message="no holder")
    runtime = fleet_runtime(shared_kv, str(effects), durability={"thread_policy": "reject"})
    try:
        events = [e async for e in runtime.run_specialist("w", "hi", "t-busy")]
        assert [(e["type"], e.get("error", {}).get("code")) for e in events] == [
            ("error", "thread_busy")
        ]
        assert "thread 't-busy' is busy" in events[0]["error"]["message"]
        assert "thread_policy" in events[0]["error"]["message"]
        (tmp_path / "effects.jsonl.go").touch()
        await asyncio.to_thread(holder.join, 60)
        assert holder.exitcode == 0
        kv = runtime._compiled.kv
        assert await kv.get(TENANT, f"{THREAD_PREFIX}t-busy") is None  # released at its end
        events = [e async for e in runtime.run_specialist("w", "hi", "t-busy")]
        assert events[-1]["type"] != "error"
    finally:
        await runtime.aclose()


async def test_a_second_local_query_on_a_busy_thread_is_rejected_under_reject(
    tmp_path: Path,
) -> None:
    effects = tmp_path / "effects.jsonl"
    kv = {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'kv.db'}"}
    runtime = fleet_runtime(kv, str(effects), durability={"thread_policy": "reject"})
    try:
        first = asyncio.ensure_future(
            _collect(runtime.run_specialist("w", tool_flow(("block", "a")), "t"))
        )
        await wait_until(lambda: effects_of(effects, "block"), message="no first run")
        events = [e async for e in runtime.run_specialist("w", "hi", "t")]
        assert [(e["type"], e.get("error", {}).get("code")) for e in events] == [
            ("error", "thread_busy")
        ]
        (tmp_path / "effects.jsonl.go").touch()
        assert (await asyncio.wait_for(first, 30))[-1]["type"] == "tool-agent"
    finally:
        await runtime.aclose()


# --------------------------------------------------------------------------- wake-up latency

ROUNDS = 20


async def test_an_answer_from_another_process_wakes_the_waiting_gate_quickly(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.jsonl"
    requests, answered = SPAWN.Queue(), SPAWN.Queue()
    answerer = SPAWN.Process(
        target=answer_approvals, args=(shared_kv, str(effects), requests, answered)
    )
    answerer.start()
    assert (await asyncio.to_thread(answered.get, True, 120))[0] == "ready"
    # The gate's fallback look in the store comes after 1 s: anything faster is the wake-up.
    runtime = fleet_runtime(shared_kv, str(effects))
    latencies = []
    try:
        for number in range(ROUNDS):
            prompt = tool_flow(("refund", f"o-{number}"))
            stream = runtime.run_specialist("w", prompt, f"t-{number}")
            async for event in stream:
                if event["type"] == "approval-required":
                    requests.put(event["data"]["id"])
                elif event["type"] == "approval-decision":
                    woke = asyncio.get_running_loop().time()
                    _, started = await asyncio.to_thread(answered.get, True, 60)
                    latencies.append(_wall(woke) - started)
        requests.put(None)
        await asyncio.to_thread(answerer.join, 60)
    finally:
        await runtime.aclose()
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(
        f"gate wake-up across processes ({shared_kv['kind']}): p50 "
        f"{statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
    assert p95 < 0.5, sorted(latencies)


def _wall(loop_time: float) -> float:
    """Turn a loop-clock reading taken just now into wall-clock time."""
    import time

    return time.time() - (asyncio.get_running_loop().time() - loop_time)
