"""``create_runtime(durability=...)``: the options are checked up front, and a gate parks its
run's lease while it waits, so a worker dying there leaves the run to whoever answers it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.engine.leases import LEASE_PREFIX
from flowai_harness.errors import ConfigurationError, SpecTypeError
from flowai_harness.specs.durability import DurabilityOptions
from tests.durable.lease_workers import fleet_runtime, run_and_log, tool_flow
from tests.durable.test_leases import SPAWN, TENANT, effects_of, seen_events
from tests.engine.durable_helpers import at_tool_gate, crash, run_until
from tests.waiting import wait_until


@pytest.mark.parametrize(
    ("durability", "error", "message"),
    [
        ({"lease_secs": 0}, ConfigurationError, "durability.lease_secs: Input should be greater"),
        ({"lease_secs": float("nan")}, ConfigurationError, "durability.lease_secs"),
        ({"lease_secs": "30"}, ConfigurationError, "durability.lease_secs"),
        ({"recover": "yes"}, ConfigurationError, "durability.recover: Input should be a valid"),
        ({"thread_policy": "queue"}, ConfigurationError, "'enqueue' or 'reject'"),
        ({"lease": 3}, ConfigurationError, "unknown key(s) ['lease']; the keys are lease_secs"),
        (30, SpecTypeError, "durability must be a mapping"),
    ],
)
def test_bad_durability_options_are_refused_naming_the_key(
    tmp_path: Path, durability: Any, error: type[Exception], message: str
) -> None:
    kv = {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'kv.db'}"}
    with pytest.raises(error) as caught:
        fleet_runtime(kv, str(tmp_path / "e.jsonl"), durability=durability)
    assert message in str(caught.value)


def test_durability_options_take_snake_or_camel_case_and_have_defaults() -> None:
    assert DurabilityOptions() == DurabilityOptions(
        lease_secs=30.0, recover=None, thread_policy="enqueue"
    )
    camel = DurabilityOptions.model_validate({"leaseSecs": 2, "threadPolicy": "reject"})
    assert (camel.lease_secs, camel.thread_policy) == (2.0, "reject")


async def test_a_run_parked_at_a_gate_by_a_killed_worker_is_recovered_once_answered(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    effects, seen = tmp_path / "effects.jsonl", tmp_path / "seen.jsonl"
    prompt = tool_flow(("audit", "o-1"), ("refund", "o-1"))
    worker = SPAWN.Process(
        target=run_and_log, args=(shared_kv, str(effects), str(seen), True, prompt, "t-1", 0.5)
    )
    worker.start()

    survivor = fleet_runtime(
        shared_kv, str(effects), durability={"lease_secs": 0.5, "recover": False}
    )
    kv = survivor._compiled.kv

    async def parked() -> bool:
        if not seen.exists() or not seen.read_text().strip():
            return False
        run_id = json.loads(seen.read_text().splitlines()[0])["runId"]
        lease = await kv.get(TENANT, f"{LEASE_PREFIX}{run_id}")
        return isinstance(lease, dict) and lease.get("state") == "parked"

    try:
        await wait_until(parked, timeout=60, message="the worker never parked at its gate")
    finally:  # killed even when the wait fails: no worker outlives its test
        os.kill(worker.pid, signal.SIGKILL)
        await asyncio.to_thread(worker.join, 30)
    run_id, delivered = seen_events(seen)
    approval = next(e["data"]["id"] for e in delivered if e["type"] == "approval-required")

    try:
        lease = await kv.get(TENANT, f"{LEASE_PREFIX}{run_id}")
        assert (lease["state"], lease["approvalId"]) == ("parked", approval)
        assert await survivor.recover_runs() == []  # nobody answered: the run just waits
        await survivor.respond_to_approval(approval, "approve")

        async def claimed() -> bool:
            return run_id in await survivor.recover_runs()

        # Left to its own worker for one lease after the answer, then claimed.
        await wait_until(claimed, timeout=30, interval=0.05, message="never recovered")

        async def completed() -> bool:
            record = await survivor.get_run(run_id)
            return record is not None and record["status"] == "completed"

        await wait_until(completed, timeout=60, interval=0.05, message="never completed")
        assert [row[1] for row in effects_of(effects, "refund")] == ["o-1"]
        assert [row[1] for row in effects_of(effects, "audit")] == ["o-1"]
        logged = {e["sequence"]: e for e in await survivor.run_events(run_id)}
        for event in delivered:
            assert logged.get(event["sequence"]) == event
        assert any(e["type"] == "approval-decision" for e in logged.values())
    finally:
        await survivor.aclose()


async def test_a_worker_closing_hands_its_recovered_runs_to_the_fleet_at_once(
    tmp_path: Path,
) -> None:
    effects = tmp_path / "effects.jsonl"
    kv = {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'kv.db'}"}
    lease = {"lease_secs": 30, "recover": False}
    dead, first, second = (fleet_runtime(kv, str(effects), durability=lease) for _ in range(3))
    store = second._compiled.kv
    stream = dead.run_specialist("w", tool_flow(("refund", "o-1")), "t-1")
    run_id = str(stream.run_id)
    await run_until(stream, at_tool_gate)
    del stream
    await crash(dead)  # the stream dropped: the run is left suspended at its gate...
    await store.put(  # ... and its lease made that of a worker that died
        TENANT,
        f"{LEASE_PREFIX}{run_id}",
        {"runId": run_id, "owner": "dead", "epoch": 1, "state": "held", "leaseUntil": 0},
    )
    try:
        assert await first.recover_runs() == [run_id]

        async def parked_by_first() -> bool:
            lease = await store.get(TENANT, f"{LEASE_PREFIX}{run_id}")
            return lease["state"] == "parked" and lease["epoch"] == 2

        await wait_until(parked_by_first, message="the recovered run never reached its gate")
        await first.aclose()  # hands the run back: its lease is left expired, not suspended
        handed = await store.get(TENANT, f"{LEASE_PREFIX}{run_id}")
        assert (handed["state"], handed["leaseUntil"], handed["epoch"]) == ("held", 0, 2)
        assert await second.recover_runs() == [run_id]  # at once, no lease to wait out
        [pending] = await second.list_pending_approvals()
        await second.respond_to_approval(pending["id"], "approve")

        async def completed() -> bool:
            record = await second.get_run(run_id)
            return record is not None and record["status"] == "completed"

        await wait_until(completed, message="the handed-off run never completed")
        assert [row[1] for row in effects_of(effects, "refund")] == ["o-1"]
    finally:
        await second.aclose()
