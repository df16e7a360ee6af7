"""``Runtime.prune``: ended runs' records, logs and journals go; running and waiting runs stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.engine.runlog import LOG_PREFIX
from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.handle import Runtime
from tests.durable.lease_workers import fleet_runtime, tool_flow
from tests.storage.conftest import kv_descriptor

TENANT_KEYS = ("run:", LOG_PREFIX)


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
def kv(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    return kv_descriptor(str(request.param), request, tmp_path)


async def finished_run(runtime: Runtime, thread: str) -> str:
    stream = runtime.run_specialist("w", tool_flow(("audit", thread)), thread)
    events = [event async for event in stream]
    assert events
    return str(stream.run_id)


async def waiting_run(runtime: Runtime, thread: str) -> str:
    stream = runtime.run_specialist("w", tool_flow(("refund", thread)), thread)
    async for event in stream:
        if event["type"] == "approval-required":
            break
    return str(stream.run_id)


async def test_prune_removes_ended_runs_and_keeps_the_rest(
    kv: dict[str, Any], tmp_path: Path
) -> None:
    runtime = fleet_runtime(kv, str(tmp_path / "effects.jsonl"), durability={"recover": False})
    try:
        done = [await finished_run(runtime, f"t-{n}") for n in range(3)]
        waiting = await waiting_run(runtime, "t-wait")
        assert await runtime.prune(timedelta(hours=1)) == 0  # too recent
        assert await runtime.prune(0) == 3
        for run_id in done:
            assert await runtime.get_run(run_id) is None
            with pytest.raises(SpecValueError, match="run not found"):
                await runtime.run_events(run_id)
        status = (await runtime.get_run(waiting) or {}).get("status")
        assert status in {"running", "waiting_approval"}  # in memory a gate does not record
        assert [r["runId"] for r in await runtime.list_runs()] == [waiting]
        if runtime.durable_runs:
            store = runtime._compiled.kv
            for run_id in done:
                assert (
                    await store.list_keys(runtime._compiled.resource_id, f"{LOG_PREFIX}{run_id}:")
                    == []
                )
            assert await runtime.run_events(waiting)
        assert await runtime.prune(0) == 0
    finally:
        await runtime.aclose()


async def test_prune_takes_its_default_age_from_retention_days(tmp_path: Path) -> None:
    kv = {"kind": "sqlite", "url": f"sqlite:{tmp_path / 'kv.db'}"}
    kept = fleet_runtime(kv, str(tmp_path / "e"), durability={"retention_days": 1})
    bare = fleet_runtime(kv, str(tmp_path / "e"))
    try:
        await finished_run(kept, "t-1")
        assert await kept.prune() == 0  # ended less than a day ago
        with pytest.raises(SpecValueError, match="prune needs older_than"):
            await bare.prune()
        with pytest.raises(SpecTypeError, match="older_than must be a timedelta"):
            await bare.prune("1d")  # type: ignore[arg-type]
        with pytest.raises(SpecValueError, match="older_than must be 0 or more"):
            await bare.prune(-1)
    finally:
        await kept.aclose()
        await bare.aclose()
