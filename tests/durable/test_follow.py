"""``Runtime.follow_run``: a run's committed events, then its live tail, from any process.

The run being followed is started in a spawned worker process (the client there logs every
event it sees); this test's process follows it through the shared store.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.handle import Runtime
from tests.durable.lease_workers import fleet_runtime, run_and_log, tool_flow
from tests.waiting import wait_until

SPAWN = multiprocessing.get_context("spawn")


def seen_by_client(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    if not path.exists():
        return None, []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return (lines[0]["runId"] if lines else None), lines[1:]


def effects_of(path: Path, kind: str) -> list[Any]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row for row in rows if row[0] == kind]


async def follow_all(runtime: Runtime, run_id: str, after: int = 0) -> list[dict[str, Any]]:
    return [event async for event in runtime.follow_run(run_id, after_sequence=after)]


async def test_a_second_process_follows_a_run_live_to_its_end(
    shared_kv: dict[str, Any], tmp_path: Path
) -> None:
    effects, seen = tmp_path / "effects.jsonl", tmp_path / "seen.jsonl"
    prompt = tool_flow(("audit", "o-1"), ("block", "o-2"), ("audit", "o-3"))
    worker = SPAWN.Process(
        target=run_and_log,
        args=(shared_kv, str(effects), str(seen), True, prompt, "t-follow", 30.0),
    )
    worker.start()
    follower = fleet_runtime(shared_kv, str(effects), durability={"recover": False})
    try:
        run_id = await wait_until(lambda: seen_by_client(seen)[0], timeout=60)
        # The run id is known to the client at once; the store knows the run once its record
        # is committed.
        await wait_until(lambda: follower.get_run(run_id), timeout=60)
        followed: list[dict[str, Any]] = []

        async def follow() -> None:
            async for event in follower.follow_run(run_id):
                followed.append(event)

        task = asyncio.ensure_future(follow())
        await wait_until(lambda: effects_of(effects, "block"), timeout=60, message="no block")
        # The run is blocked inside a tool: the follower already has what was committed
        # before it (the first tool's result), and is still following.
        await wait_until(
            lambda: any(
                e.get("type") == "tool-invocation" and e.get("state") == "result" for e in followed
            ),
            message="the committed audit result never reached the follower",
        )
        assert not task.done()
        (tmp_path / "effects.jsonl.go").touch()
        await asyncio.wait_for(task, 60)
        await asyncio.to_thread(worker.join, 60)
        assert worker.exitcode == 0
        logged = await follower.run_events(run_id)
        assert (await follower.get_run(run_id) or {}).get("status") == "completed"
    finally:
        if worker.is_alive():
            worker.kill()
        await follower.aclose()
    _, client = seen_by_client(seen)
    assert followed == client  # same events, same numbers, same content
    assert [e["sequence"] for e in followed] == list(range(1, len(followed) + 1))
    assert followed == logged


async def test_following_again_after_a_disconnect_sees_the_same_events(
    durable_kv: dict[str, Any], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.jsonl"
    (tmp_path / "effects.jsonl.go").touch()
    runtime = fleet_runtime(durable_kv, str(effects), durability={"recover": False})
    try:
        prompt = tool_flow(("audit", "o-1"), ("block", "o-2"), ("audit", "o-3"))
        stream = runtime.run_specialist("w", prompt, "t-again")
        delivered = [event async for event in stream]
        run_id = str(stream.run_id)
        whole = await follow_all(runtime, run_id)
        assert whole == delivered
        cut = len(whole) // 2
        first: list[dict[str, Any]] = []
        async for event in runtime.follow_run(run_id):
            first.append(event)
            if len(first) == cut:
                break  # the follower disconnects
        rest = await follow_all(runtime, run_id, after=first[-1]["sequence"])
        assert first + rest == whole
        assert await follow_all(runtime, run_id, after=whole[-1]["sequence"]) == []
    finally:
        await runtime.aclose()


async def test_follow_run_checks_its_arguments(durable_kv: dict[str, Any], tmp_path: Path) -> None:
    runtime = fleet_runtime(durable_kv, str(tmp_path / "effects.jsonl"))
    try:
        with pytest.raises(SpecValueError, match="run not found: run-nope"):
            await follow_all(runtime, "run-nope")
        with pytest.raises(SpecTypeError, match="run_id must be a string"):
            runtime.follow_run(42)  # type: ignore[arg-type]
        with pytest.raises(SpecValueError, match="after_sequence must be 0 or more"):
            runtime.follow_run("run-x", after_sequence=-1)
    finally:
        await runtime.aclose()


async def test_an_in_memory_runtime_has_nothing_to_follow(tmp_path: Path) -> None:
    runtime = fleet_runtime(None, str(tmp_path / "effects.jsonl"))  # type: ignore[arg-type]
    try:
        with pytest.raises(SpecValueError, match="follow_run needs a durable store"):
            runtime.follow_run("run-x")
    finally:
        await runtime.aclose()
